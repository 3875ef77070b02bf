"""The Moodle quiz: well-formed XML that parses back to the answer key, with escaped HTML and MathJax math."""

from __future__ import annotations

import html
import xml.etree.ElementTree as ET

from symderiv.api import derive_text
from symderiv.spec.load import builtin_text
from symderiv.variants.answers import Row, answers_of, asked_entries
from symderiv.variants.moodle import quiz_xml


def quiz(title: str):
    text = builtin_text("rnn-text").replace('title = "Predicting the next word with a one-unit RNN"',
                                            f'title = "{title}"')
    d = derive_text(text)
    answers = answers_of(d, asked_entries(d, None))
    rows = [Row(1, "x-v01", a, 0.01) for a in answers]
    return d, rows, quiz_xml("x", 3, [(1, "x-v01", d)], rows)


def test_the_quiz_parses_back_to_the_answers():
    d, rows, xml = quiz("Plain")
    root = ET.fromstring(xml)
    questions = root.findall("question[@type='numerical']")
    assert len(questions) == len(rows) == 15
    for q, row in zip(questions, rows):
        assert float(q.findtext("answer/text")) == row.value == float(d[row.answer.step].value[row.answer.index].approx)
        assert q.findtext("answer/tolerance") == "0.01"
    loss = questions[0].findtext("questiontext/text")
    assert loss.endswith("<p>Compute the loss \\(L\\).</p>")
    entry = questions[3].findtext("questiontext/text")                # dL/dW_hz[2,0]
    assert "Compute the gradient \\(\\frac{\\partial L}{\\partial W_{hz}}\\), the entry at (3, 1) counting from 1" \
        in entry
    assert xml.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<quiz>\n')
    assert quiz("Plain")[2] == xml                                       # the same bytes again


def test_user_text_is_escaped_as_html_inside_xml():
    _, _, xml = quiz("Less <b>than</b> & more")
    text = ET.fromstring(xml).find("question[@type='numerical']").findtext("questiontext/text")
    assert "<p><b>Less &lt;b&gt;than&lt;/b&gt; &amp; more</b> (variant 1, seed 3)</p>" in text
    # the matrices' column separators: & in LaTeX, &amp; in the HTML, so MathJax reads & again
    assert "\\(W_{xh} = \\begin{bmatrix} 0.5 &amp; -0.4 &amp; 0.3 &amp; 0.1 \\end{bmatrix}\\)" in text
    assert html.unescape("&amp;") == "&"
