"""Moodle XML: one numerical question per variant and asked entry, with the answer's tolerance.

Each variant's questions go into a category of their own (``symderiv/<example> seed S/variant 03``),
so a quiz can give a student every question of one variant. The question text is HTML with the
variant's given values in LaTeX between ``\\(`` and ``\\)``, which Moodle's MathJax filter typesets;
it is HTML-escaped (a matrix's ``&`` is ``&amp;``) and then written by the standard library's
``xml.etree.ElementTree``, which escapes it again for XML. Elements and attributes are written in a
fixed order, so the same variants give the same bytes.
"""

from __future__ import annotations

import html
import xml.etree.ElementTree as ET

from symderiv.render import latexnum
from symderiv.steps import Kind
from symderiv.variants.answers import Row

#: How a question names what it asks for, by the kind of step.
WHAT = {Kind.LOSS: "the loss ", Kind.GRADIENT: "the gradient ", Kind.FORWARD: "", Kind.UPDATE: "the updated parameter "}
#: Digits of the given values in the question text (they are short exact numbers in a good variant).
GIVEN_DIGITS = 6


def quiz_xml(example: str, seed: int, variants: list[tuple[int, str, object]], rows: list[Row]) -> str:
    """The quiz: ``variants`` holds (number, folder, derivation); ``rows`` the answers of all of them."""
    quiz = ET.Element("quiz")
    by_variant: dict[int, list[Row]] = {}
    for row in rows:
        by_variant.setdefault(row.variant, []).append(row)
    for number, folder, derivation in variants:
        category = ET.SubElement(ET.SubElement(quiz, "question", type="category"), "category")
        _text(category, f"$course$/top/symderiv/{example} seed {seed}/variant {number:02d}")
        given = _given_html(derivation)
        for row in by_variant.get(number, []):
            quiz.append(_question(example, number, seed, folder, derivation, given, row))
    ET.indent(quiz, space="  ")
    body = ET.tostring(quiz, encoding="unicode", short_empty_elements=False)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def _text(parent: ET.Element, value: str) -> ET.Element:
    node = ET.SubElement(parent, "text")
    node.text = value
    return node


def _given_html(derivation) -> str:
    """The variant's given values, one list item each: ``\\(W_{xh} = \\begin{bmatrix}...\\end{bmatrix}\\)``."""
    items = []
    for step in derivation.of_kind(Kind.INPUT, Kind.PARAMETER, Kind.CONSTANT):
        if step.axes:                       # sizes (rows × columns): shown by the document's set-up
            continue
        value = latexnum.tensor(step.value, GIVEN_DIGITS).latex
        token = f" (the token “{html.escape(step.token)}”)" if step.token else ""
        items.append(f"<li>{_math(f'{step.symbol} = {value}')}{token}</li>")
    return "<ul>" + "".join(items) + "</ul>"


def _math(latex: str) -> str:
    return "\\(" + html.escape(latex, quote=False) + "\\)"


def _entry_words(step, index: tuple) -> str:
    if step.value.size == 1:
        return ""
    where = ", ".join(str(i + 1) for i in index)
    return f", the entry at ({where}) counting from 1"


def _question(example: str, number: int, seed: int, folder: str, derivation, given: str, row: Row) -> ET.Element:
    step = derivation[row.answer.step]
    title = derivation.example.get("title") or example
    text = (f"<p><b>{html.escape(title)}</b> (variant {number}, seed {seed})</p>"
            + (f"<p>{html.escape(derivation.example['description'])}</p>" if derivation.example.get("description")
               else "")
            + f"<p>Given:</p>{given}"
            + f"<p>Compute {WHAT.get(step.kind, '')}{_math(step.symbol)}{_entry_words(step, row.answer.index)}.</p>")
    question = ET.Element("question", type="numerical")
    _text(ET.SubElement(question, "name"), f"{folder}: {row.quantity}")
    _text(ET.SubElement(question, "questiontext", format="html"), text)
    _text(ET.SubElement(question, "generalfeedback", format="html"), "")
    ET.SubElement(question, "defaultgrade").text = "1"
    ET.SubElement(question, "penalty").text = "0"
    ET.SubElement(question, "hidden").text = "0"
    ET.SubElement(question, "idnumber").text = f"{folder}:{row.quantity}"
    answer = ET.SubElement(question, "answer", fraction="100", format="moodle_auto_format")
    _text(answer, repr(row.value))
    ET.SubElement(answer, "tolerance").text = repr(row.tolerance)
    _text(ET.SubElement(answer, "feedback", format="html"), "")
    ET.SubElement(question, "unitgradingtype").text = "0"
    ET.SubElement(question, "unitpenalty").text = "0"
    ET.SubElement(question, "showunits").text = "3"
    ET.SubElement(question, "unitsleft").text = "0"
    return question
