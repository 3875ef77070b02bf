"""Beamer themes for --theme: each is installed, and the body heights the layout plans with are true.

The body height of a theme is measured as the tallest rule a frame with a title and a subtitle holds
without an overfull box, in a deck with sections and frames around it (themes whose headline shows
the sections or the frames need those, and a second pass, to draw it).
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from conftest import run_cli
from symderiv.render import themes

pytestmark = pytest.mark.latex


def test_every_theme_offered_is_installed():
    if shutil.which("kpsewhich") is None:
        pytest.fail("TeX Live is missing: run `make setup` (make test installs it)")
    for name in themes.names():
        found = subprocess.run(["kpsewhich", f"beamertheme{name}.sty"], capture_output=True, text=True).stdout
        assert found.strip(), name


def test_the_layout_plans_less_than_each_theme_holds():
    for name in themes.names():
        assert themes.frame_height(name) < themes.BODY_HEIGHT[name] - 3.0, name


def _frames(n: int) -> str:
    return "".join("\\begin{frame}{F}\nx\n\\end{frame}\n" for _ in range(n))


def _overflows(tmp_path, preamble: str, mm: float) -> bool:
    body = ("\\section{Forecasting a temperature with a one-unit RNN}\n" + _frames(8)
            + "\\begin{frame}[t]{Backward pass, t = 3 (1/3)}\n\\framesubtitle{Forecasting a temperature}\n"
            + f"\\rule{{1pt}}{{{mm:.2f}mm}}\n\\end{{frame}}\n" + _frames(8) + "\\section{Classifying}\n" + _frames(8))
    tex = tmp_path / "probe.tex"
    tex.write_text(preamble + "\\begin{document}\n" + body + "\\end{document}\n")
    for _ in range(2):
        subprocess.run(["pdflatex", "-interaction=nonstopmode", tex.name], cwd=tmp_path, capture_output=True,
                       timeout=300)
    return "Overfull \\vbox" in tex.with_suffix(".log").read_text(encoding="latin-1")


@pytest.mark.parametrize("theme", ["", "Madrid", "Warsaw"])
def test_measured_body_heights_hold(tmp_path, theme):
    run_cli("build", "rnn-text", "--slides", *(["--theme", theme] if theme else []), "--out", tmp_path, check=True,
            cwd=tmp_path)
    preamble = (tmp_path / "rnn-text.tex").read_text().split(r"\begin{document}")[0]
    height = themes.BODY_HEIGHT[theme]
    assert not _overflows(tmp_path, preamble, height - 0.5)       # what the layout counts on is there
    if not theme:                                                  # and no more (a theme's headline varies
        assert _overflows(tmp_path, preamble, height + 1.5)        # with the titles; measured on a long one)


def test_a_themed_deck_compiles_without_overflow(tmp_path):
    proc = run_cli("build", "rnn-text", "--slides", "--theme", "Warsaw", "--pdf", "--out", tmp_path, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    log = (tmp_path / "rnn-text.log").read_text(encoding="latin-1")
    assert "Overfull \\vbox" not in log and "shrunk" not in log
