"""The reader's phrase for each operation (its ``words`` in the operation table): every operation has one,
none shows an internal name, and each one's LaTeX is harmless math."""

from __future__ import annotations

import pytest
import sympy

from symderiv.checker.formats import TexStyle
from symderiv.checker.phrases import factor_text, formula
from symderiv.checker.report import Style
from symderiv.ops import OpTable
from symderiv.render.escape import check_math

OPS = OpTable()
OPS.define("leaky_relu", ("activation", "leaky_relu", (("alpha", "1/5"),)))
PHRASES = {name: OPS[name].words for name in OPS}

INPUTS = [("W_hh", "W_{hh}"), ("dL/da_3", r"\frac{\partial L}{\partial a_{3}}"), ("b_h", "b_{h}"),
          ("x_3", "x_{3}"), ("eta", r"\eta"), ("h'", "h'")]


def test_every_operation_has_a_phrase():
    # an operation added to (or renamed in) the table needs its phrase beside it, or hints leave it out
    assert all(PHRASES.values()), sorted(name for name, words in PHRASES.items() if not words)


@pytest.mark.parametrize("op", sorted(PHRASES))
def test_phrases_speak_in_formulas_not_op_names(op):
    pieces = formula(PHRASES[op], INPUTS, 4)
    assert pieces is not None
    text = Style().f(pieces)
    # activations are named as mathematics names them (softplus(a)); no other operation's name may show
    names = [name for name in OPS if len(name) > 4 and name not in ("softmax", "flatten")
             and not OPS[name].family.startswith("elementwise")]
    assert not any(name in text for name in names), text
    tex = TexStyle().f(pieces)
    assert tex.startswith("$") and tex.endswith("$")
    check_math(tex[1:-1], op)                  # only whitelisted math commands, balanced braces


@pytest.mark.parametrize("op, size, text", [
    ("mse_grad", 1, "2(W_hh − dL/da_3)"),                        # one output: the mean is the sum
    ("mse_grad", 4, "(1/2)(W_hh − dL/da_3)"),
    ("fused_output_grad_mean", 1, "W_hh − dL/da_3"),
    ("fused_output_grad_mean", 2, "(1/2)(W_hh − dL/da_3)"),
    ("matvec", 4, "W_hh dL/da_3"),
    ("matvec_t_sum", 4, "W_hhᵀ dL/da_3 + b_hᵀ x_3"),
    ("sum", 4, "W_hh + dL/da_3 + b_h + x_3 + eta + h'"),
    ("sgd", 4, "W_hh − dL/da_3 b_h"),
])
def test_phrases_with_the_steps_inputs(op, size, text):
    inputs = INPUTS[:4] if op == "matvec_t_sum" else INPUTS
    assert Style().f(formula(PHRASES[op], inputs, size)) == text


def test_the_transpose_in_latex():
    tex = TexStyle().f(formula(PHRASES["matvec_t_sum"], INPUTS[:2], 1))
    assert tex == r"${W_{hh}}^{\top} {\frac{\partial L}{\partial a_{3}}}$"


def test_a_phrase_naming_an_input_the_step_lacks_is_left_out():
    assert formula(PHRASES["affine"], INPUTS[:2], 1) is None
    assert formula("", INPUTS, 1) is None


@pytest.mark.parametrize("factor, text", [
    (sympy.Rational(1, 2), "a missing factor 2"),
    (sympy.Integer(3), "an extra factor 3"),
    (sympy.Integer(-1), "the sign flipped"),
    (sympy.Rational(-1, 2), "the sign flipped and a missing factor 2"),
    (sympy.Rational(3, 2), "3/2 times the right size"),
    (None, ""),
])
def test_factor_text(factor, text):
    assert factor_text(factor) == text
