"""The render stage without LaTeX: escaping, numbers, substituted lines, notes, layout, determinism.

Expected numbers are computed here with mpmath from the example's own definition, never read
from the renderer's output.
"""

from __future__ import annotations

import re

import jinja2
import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from symderiv.api import derive, derive_text
from symderiv.errors import SymderivError
from symderiv.numbers import Num
from symderiv.render import Options, render
from symderiv.render import latexnum
from symderiv.render.env import environment
from symderiv.render.escape import Tex, check_math, escape_tex
from symderiv.render.layout import FRAME_HEIGHT, frames_for, split_tall
from symderiv.render.viewmodel import example_view
from symderiv.spec.load import builtin_text
from symderiv.verify import verify

mpmath.mp.dps = 40


@pytest.fixture(scope="module")
def views():
    out = {}
    for name in ("rnn-timeseries", "rnn-text", "cnn-image"):
        d = derive(name)
        out[name] = (d, example_view(d, verify(d, finite_differences=False), []))
    return out


def _block(view, name):
    return next(i for s in view.sections for i in s.items if getattr(i, "name", None) == name)


def _text(block) -> str:
    return " \\\\ ".join(f"{l.lhs} {l.rel} {l.rhs}" for l in block.lines)


# -- escaping -------------------------------------------------------------------------------------------
NASTY = r"50% of $x_1$ & #2 {a} \input{/etc/passwd} ^ ~ \\"


def test_escape_makes_every_special_character_literal():
    out = escape_tex(NASTY)
    assert r"\%" in out and r"\$" in out and r"\&" in out and r"\#" in out and r"\_" in out
    assert r"\{" in out and r"\}" in out and r"\textasciicircum{}" in out and r"\textasciitilde{}" in out
    # no command survives: every backslash starts one of the printing commands above
    commands = set(re.findall(r"\\([A-Za-z]+)", out))
    assert commands <= {"textbackslash", "textasciicircum", "textasciitilde"}
    assert "input" not in commands


@pytest.mark.parametrize("latex", [r"\input{/etc/passwd}", r"\write18{ls}", r"^^5cinput", r"a % b", r"\def\x{1}",
                                   r"{x", r"\immediate", r"\catcode", r"\begin{document}", "x \\\\ y"])
def test_notation_latex_that_could_run_something_is_refused(latex):
    with pytest.raises(SymderivError) as err:
        check_math(latex, "notation.activation")
    assert str(err.value).startswith("notation.activation:") and "\n" not in str(err.value)


@pytest.mark.parametrize("latex", [r"\sigma_{\tanh}", r"\hat{y}_{4}", r"W_{xh}^{(2)}", r"\mathrm{ReLU}", r"\eta"])
def test_ordinary_notation_is_accepted(latex):
    assert check_math(latex, "x") == latex


def test_jinja_escapes_plain_text_and_keeps_latex(tmp_path):
    (tmp_path / "t.tex.j2").write_text(r"\VAR{a} \VAR{b} \BLOCK{if c}yes\BLOCK{endif} 100% {braces} \#{gone}")
    env = environment(tmp_path)
    out = env.get_template("t.tex.j2").render(a="x_1 & y", b=Tex(r"\frac{1}{2}"), c=True)
    assert out == r"x\_1 \& y \frac{1}{2} yes 100% {braces} "


def test_jinja_undefined_name_is_an_error(tmp_path):
    (tmp_path / "t.tex.j2").write_text(r"\VAR{missing}")
    with pytest.raises(jinja2.UndefinedError):
        environment(tmp_path).get_template("t.tex.j2").render()


# -- numbers ---------------------------------------------------------------------------------------------
def test_exact_short_fraction_is_shown_with_equals_then_rounded():
    rel, latex, _ = latexnum.result(Num.rational("1/3"), 4, inputs_exact=True)
    assert rel == "=" and latex == r"\frac{1}{3} \approx 0.3333"
    assert latexnum.result(Num.rational("3/5"), 4) [:2] == ("=", "0.6")


def test_tiny_value_is_never_zero():
    a = mpmath.mpf("9.7")
    num = Num.from_exact(1 - __import__("sympy").tanh(__import__("sympy").Rational(97, 10)) ** 2)
    rel, latex, _ = latexnum.result(num, 4, inputs_exact=True)
    mantissa = mpmath.sech(a) ** 2 / mpmath.mpf("1e-8")
    assert rel == r"\approx" and latex == rf"{float(mantissa):.3f} \cdot 10^{{-8}}"


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=-300, max_value=300), st.floats(min_value=1.0, max_value=9.99),
       st.booleans(), st.integers(min_value=2, max_value=8))
def test_a_nonzero_value_never_prints_as_zero(exponent, mantissa, negative, digits):
    x = mpmath.mpf(mantissa) * mpmath.mpf(10) ** int(exponent) * (-1 if negative else 1)
    rel, latex, _ = latexnum.result(Num.from_approx(x), digits, inputs_exact=False)
    assert rel == r"\approx"
    assert re.fullmatch(r"-?0(\.0*)?", latex) is None
    printed = float(latex.replace(r" \cdot 10^{", "e").rstrip("}"))
    assert printed != 0 and (printed < 0) == negative


def test_matrices_print_readably():
    col = np.array([Num.rational(v) for v in (1, 2, 3, 4)], dtype=object)
    assert latexnum.tensor(col).latex == r"\begin{bmatrix} 1 & 2 & 3 & 4 \end{bmatrix}^{\top}"
    assert latexnum.tensor(col[:2]).latex == r"\begin{bmatrix} 1 \\ 2 \end{bmatrix}"
    one = np.array([[Num.rational("0.6")]], dtype=object)
    assert latexnum.tensor(one).latex == "0.6" and latexnum.tensor(one).is_scalar
    big = np.array([[Num.rational(i * 10 + j) for j in range(12)] for i in range(12)], dtype=object)
    text = latexnum.tensor(big).latex
    assert r"\cdots" in text and r"\vdots" in text and r"\ddots" in text and "55" not in text


# -- the lines of a step --------------------------------------------------------------------------------
def test_negative_value_after_an_operator_gets_parentheses(views):
    d, view = views["rnn-text"]
    h2 = mpmath.tanh(mpmath.mpf("-0.4") + mpmath.mpf("0.2") * mpmath.tanh(mpmath.mpf("0.5")))
    text = _text(_block(view, "a_3"))
    assert rf"0.2 \cdot \left({mpmath.nstr(h2, 4)}\right)" in text


def test_forward_step_reads_formula_then_values_then_result(views):
    d, view = views["rnn-timeseries"]
    lines = _block(view, "a_1").lines
    assert [str(l.rel) for l in lines] == ["=", "=", "="]
    assert lines[0].rhs == r"W_{xh} x_{1} + W_{hh} h_{0} + b_{h}"
    assert lines[1].rhs == r"0.6 \cdot 15 + 0.4 \cdot 0 + 0" and lines[2].rhs == "9"


def test_local_derivative_is_symbolic_then_substituted(views):
    d, view = views["rnn-timeseries"]
    a1 = mpmath.mpf(9)
    a2 = mpmath.mpf("9.6") + mpmath.mpf("0.4") * mpmath.tanh(a1)
    a3 = mpmath.mpf("9.3") + mpmath.mpf("0.4") * mpmath.tanh(a2)
    lines = _block(view, "dh_3/da_3").lines
    assert lines[0].rhs == r"1 - \sigma_{\tanh}^{2}\left(a_{3}\right)"
    assert lines[1].rel == r"\approx" and mpmath.nstr(a3, 4) in lines[1].rhs
    value = mpmath.sech(a3) ** 2
    assert lines[-1].rhs == rf"{float(value / mpmath.mpf('1e-8')):.3f} \cdot 10^{{-8}}"


def test_a_squared_symbol_with_a_superscript_is_parenthesised():
    # GELU's derivative holds a²: in a stack the argument is z^{(1)}, and z^{(1)}^{2} is a LaTeX error
    text = builtin_text("mlp-sigmoid").replace('function = "sigmoid"', 'function = "gelu"', 1)
    d = derive_text(text)
    view = example_view(d, verify(d, finite_differences=False), [])
    formula = _block(view, "da1/dz1").lines[0].rhs
    assert r"\left(z^{(1)}\right)^{2}" in formula
    assert not re.search(r"\^\{[^{}]*\}\^", formula)


def test_bptt_total_shows_sum_over_time(views):
    d, view = views["rnn-timeseries"]
    lines = _block(view, "dL/dW_hh").lines
    assert r"\sum_{t}" in lines[0].rhs and "t=t" not in lines[0].rhs
    assert r"\right|_{t=1}" in lines[1].rhs and r"\right|_{t=3}" in lines[1].rhs


def test_update_shows_enough_digits_to_see_the_change(views):
    d, view = views["rnn-timeseries"]
    # dL/dW_xh by hand: only t = 3, 2, 1 contributions through the chain, in mpmath
    x = [mpmath.mpf(15), mpmath.mpf(16), mpmath.mpf("15.5")]
    wx, wh = mpmath.mpf("0.6"), mpmath.mpf("0.4")
    h, a = [mpmath.mpf(0)], []
    for t in range(3):
        a.append(wx * x[t] + wh * h[-1])
        h.append(mpmath.tanh(a[-1]))
    dh = 2 * (15 + h[3] - 15)
    grad = mpmath.mpf(0)
    for t in (2, 1, 0):
        da = dh * mpmath.sech(a[t]) ** 2
        grad += da * x[t]
        dh = wh * da
    updated = wx - mpmath.mpf("0.1") * grad
    result = _block(view, "W_xh'").lines[-1].rhs
    assert result == mpmath.nstr(updated, 8) == "0.59999995"
    assert any("8th significant digit" in n.text for n in _block(view, "W_xh'").notes)


def test_vanishing_gradients_are_flagged_only_where_they_vanish(views):
    _d, view = views["rnn-timeseries"]
    warned = {b.name for s in view.sections for b in s.items
              if getattr(b, "notes", None) and any(n.kind == "warning" for n in b.notes)}
    assert {"dL/dW_xh", "dL/dW_hh", "dL/db_h"} <= warned
    assert not warned & {"dL/dW_hz", "dL/db_z"}
    _d, text_view = views["rnn-text"]
    assert not any(n.kind == "warning" for s in text_view.sections for b in s.items for n in getattr(b, "notes", []))


def test_cnn_cells_are_written_out(views):
    d, view = views["cnn-image"]
    cells = _block(view, "h:cells")
    image = [[1, 0, 2, 3, 0], [4, 6, 6, 8, 1], [3, 1, 1, 0, 2], [1, 2, 2, 4, 1], [2, 4, 0, 1, 3]]
    kernel = [[1, 0, -1]] * 3
    first = sum(image[u][v] * kernel[u][v] for u in range(3) for v in range(3))
    assert cells.lines[0].lhs == "h_{11}" and cells.lines[0].rhs.endswith(f"= {first}")
    assert r"2 \cdot \left(-1\right)" in cells.lines[0].rhs
    size = _block(view, "size(h)")
    assert any(r"5 + 2 \cdot 0 - 3" in l.rhs for l in size.lines)


def test_every_computed_step_has_a_block(views):
    for name, (d, view) in views.items():
        shown = {b.name for s in view.sections for b in s.items if getattr(b, "type", "") == "block"}
        computed = {s.name for s in d.steps if s.op is not None}
        assert computed <= shown, (name, computed - shown)


# -- layout and determinism -----------------------------------------------------------------------------
def test_no_frame_is_planned_taller_than_a_slide(views):
    for _name, (_d, view) in views.items():
        for section in view.sections:
            for frame in frames_for(section, "x"):
                for part in frame.parts:
                    assert part.height <= FRAME_HEIGHT + 1e-9 or len(part.items) == 1


def test_a_block_taller_than_a_slide_is_split_between_lines(views):
    _d, view = views["cnn-image"]
    block = _block(view, "dL/dk")
    pieces = split_tall(block, 40.0)
    assert len(pieces) > 1 and sum(len(p.lines) for p in pieces) == len(block.lines)
    assert pieces[-1].notes == block.notes and all(not p.notes for p in pieces[:-1])
    assert all(p.height <= 40.0 or len(p.lines) == 1 for p in pieces)


def test_same_input_gives_identical_tex():
    def once():
        d = derive("rnn-text")
        return render("t", [(d, verify(d, finite_differences=False), [])], Options(questions=True))
    assert once() == once()


def test_question_document_leaves_out_the_working():
    d = derive("rnn-text")
    docs = render("t", [(d, verify(d, finite_differences=False), [])], Options(questions=True))
    assert r"\begin{equation}" in docs["solutions"] and r"\begin{equation}" not in docs["questions"]
    assert "Compute the loss $L$." in docs["questions"] and r"\answerspace" in docs["questions"]
    assert r"\answerspace{" not in docs["solutions"].split(r"\begin{document}")[1]
