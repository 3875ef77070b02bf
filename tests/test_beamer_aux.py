"""The predicted Beamer auxiliary files: equal to what pdflatex writes, or no prediction at all.

The decisive test compiles real decks with plain pdflatex (two passes, as LaTeX needs without a
prediction) and compares the .nav, .toc, .out and .snm it wrote with :func:`predict`.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from conftest import run_cli
from symderiv.render.beamer_aux import pdf_string, predict, tex_written
from symderiv.render.latexrun import environment

HEAD = "\\documentclass[11pt,aspectratio=169]{beamer}\n\\title{T}\n\\begin{document}\n"


def _deck(body: str, head: str = HEAD) -> str:
    return head + body + "\n\\end{document}\n"


def test_frames_overlays_sections_and_the_total():
    tex = _deck("\\begin{frame}\\titlepage\\end{frame}\n"
                "\\section{One}\n"
                "\\begin{frame}[t]{A}\n\\uncover<2->{x} \\begin{uncoverenv}<4->y\\end{uncoverenv}\n\\end{frame}\n"
                "% \\begin{frame} a comment is not a frame \\end{frame}\n"
                "\\begin{frame}{B} $a < b$ and $c > d$ \\end{frame}\n")
    nav = predict(tex)[".nav"].splitlines()
    slides = [line for line in nav if "\\slideentry" in line]
    assert slides == ["\\headcommand {\\slideentry {0}{0}{1}{1/1}{}{0}}",
                      "\\headcommand {\\slideentry {1}{0}{1}{2/5}{}{0}}",     # 4 overlays: pages 2 to 5
                      "\\headcommand {\\slideentry {1}{0}{2}{6/6}{}{0}}"]
    assert nav[-1] == "\\headcommand {\\gdef \\inserttotalframenumber {3}}"
    assert predict(tex)[".toc"] == "\\beamer@sectionintoc {1}{One}{2}{0}{1}\n"


@pytest.mark.parametrize("body", [
    "\\section{A}\\subsection{B}\\begin{frame}x\\end{frame}",
    "\\begin{frame}a\\pause b\\end{frame}",
    "\\begin{frame}[allowframebreaks]x\\end{frame}",
    "\\begin{frame}<2>x\\end{frame}",
    "\\begin{frame}\\uncover<+->{x}\\end{frame}",
    "\\section{$x^2$}\\begin{frame}x\\end{frame}",
    "\\section[short]{Long}\\begin{frame}x\\end{frame}",
])
def test_what_it_does_not_follow_gets_no_prediction(body):
    assert predict(_deck(body)) is None


def test_no_prediction_for_other_classes_or_handouts():
    assert predict("\\documentclass{article}\n\\begin{document}\nx\n\\end{document}\n") is None
    assert predict(_deck("\\begin{frame}x\\end{frame}", HEAD.replace("[11pt,", "[handout,11pt,"))) is None


def test_titles_as_tex_writes_them_and_as_bookmarks():
    assert tex_written(r"50\% of \textbackslash{}x  y") == r"50\% of \textbackslash {}x y"
    # UTF-16BE, each byte an octal escape unless a plain printable character
    assert pdf_string("Hi (5 × 5)") == ("\\376\\377\\000H\\000i\\000\\040\\000\\050\\0005\\000\\040\\000\\327"
                                        "\\000\\040\\0005\\000\\051")
    assert pdf_string(r"a\_b\textless{}") == "\\376\\377\\000a\\000\\137\\000b\\000<"


SPEC = r"""
[example]
name = "odd"
kind = "rnn"
title = '''Odd_title 100% & $5 #1 {braces} \ ^caret ~tilde a.b,c:d;e(f)g[h]i/j'k!m?n<y>z=+*@|`x é–—‘’“”…·× "q"'''

[network]
hidden_size = 1
output_activation = "softmax"
loss = "cross_entropy"

[input]
vocabulary = ["a", "b", "c", "d"]
tokens = ["a", "b", "c"]

[target]
token = "d"

[parameters]
W_xh = [[0.5, -0.4, 0.3, 0.1]]
W_hh = [[0.2]]
W_hz = [[0.1], [0.2], [0.3], [0.4]]

[training]
learning_rate = 0.1
"""


@pytest.mark.latex
@pytest.mark.parametrize("case", ["lecture", "odd-reveal"])
def test_prediction_equals_what_pdflatex_writes(tmp_path, case):
    if case == "lecture":
        run_cli("build", "lecture", "--slides", "--out", tmp_path, check=True)
        stem = "lecture"
    else:
        spec = tmp_path / "odd.toml"
        spec.write_text(SPEC)
        run_cli("build", spec, "--slides", "--reveal", "--out", tmp_path, check=True)
        stem = "odd"
    tex = (tmp_path / f"{stem}.tex").read_text(encoding="utf-8")
    predicted = predict(tex)
    assert predicted is not None
    for _ in range(2):                       # what LaTeX writes once it has read its own files
        subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", f"{stem}.tex"], cwd=tmp_path,
                       env=environment(), check=True, capture_output=True, stdin=subprocess.DEVNULL)
    for suffix, text in predicted.items():
        assert (tmp_path / f"{stem}{suffix}").read_text(encoding="utf-8") == text, suffix
    frames = len(re.findall(r"\\begin\{frame\}", tex))
    assert f"\\inserttotalframenumber {{{frames}}}" in predicted[".nav"]
