"""Activations defined once by a SymPy formula: derivatives by sympy.diff, values that keep their digits,
kinks by one convention, LaTeX by SymPy's printer with the lecturer's symbol."""

from __future__ import annotations

import mpmath
import pytest
import sympy

from symderiv import tensors
from symderiv.numbers import Num
from symderiv.ops import OpTable
from symderiv.ops.elementwise import A, BUILTIN_ACTIVATIONS, F, bound_activation, num_function, scalar_function

mpmath.mp.dps = 50
POINTS = ["-7/2", "-1", "-1/10", "0", "1/3", "2", "9"]


def _value(op: str, x: str, table=None) -> Num:
    table = table or OpTable()
    return table[op].forward(tensors.tensor([Num.rational(x)]))[0]


@pytest.mark.parametrize("name", sorted(BUILTIN_ACTIVATIONS))
def test_teaching_form_of_the_derivative_is_sympys_derivative(name):
    bound = bound_activation(name)
    written = bound.teaching_derivative.replace(F, lambda arg: bound.formula.xreplace({A: arg}))
    difference = sympy.piecewise_fold(written - sympy.diff(bound.formula, A))
    assert sympy.simplify(difference) == 0


@pytest.mark.parametrize("name", sorted(BUILTIN_ACTIVATIONS))
@pytest.mark.parametrize("x", POINTS)
def test_values_are_the_formula_and_its_derivative(name, x):
    """Forward and derivative against the formula evaluated by SymPy at 50 digits (the right-hand
    limit convention aside, which the kink test checks)."""
    bound = bound_activation(name)
    point = sympy.Rational(x)
    want = sympy.N(bound.formula.xreplace({A: point}), 50)
    assert abs(_value(name, x).approx - mpmath.mpf(str(want))) <= mpmath.mpf("1e-45") * max(1, abs(want))
    slope = sympy.N(sympy.diff(bound.formula, A).xreplace({A: point}), 50)
    got = _value(f"{name}_prime", x).approx
    assert abs(got - mpmath.mpf(str(slope))) <= mpmath.mpf("1e-45") * max(1, abs(slope))


def test_saturated_derivative_keeps_its_digits():
    """1 − tanh²(100) written as it is would be 0 at 60 digits; the value is 4·e^−200/(1 + e^−200)²."""
    want = mpmath.sech(100) ** 2
    got = _value("tanh_prime", "100").approx
    assert got != 0 and abs(got - want) <= want * mpmath.mpf("1e-50")
    assert _value("tanh_prime", "100").exact == 1 - sympy.tanh(100) ** 2
    sigma = _value("sigmoid_prime", "120").approx               # e^−120 / (1 + e^−120)²
    assert abs(sigma - mpmath.exp(-120) / (1 + mpmath.exp(-120)) ** 2) <= sigma * mpmath.mpf("1e-50")


def test_a_formula_without_a_stable_form_is_computed_until_certain():
    """No stable form given: the value is raised in precision until two precisions agree."""
    f = num_function(1 - sympy.tanh(A) ** 2)
    got = f(Num.rational(100)).approx
    assert abs(got - mpmath.sech(100) ** 2) <= mpmath.sech(100) ** 2 * mpmath.mpf("1e-45")


def test_kinks_take_the_branch_below():
    """ReLU'(0) = 0 (not Heaviside's 1/2), leaky ReLU'(0) = alpha: strict Piecewise conditions."""
    assert _value("relu_prime", "0").is_zero
    assert _value("relu", "0").is_zero
    assert _value("leaky_relu_prime", "0").exact == sympy.Rational(1, 100)
    assert _value("leaky_relu_prime", "1/1000").exact == 1
    assert _value("leaky_relu", "-3").exact == sympy.Rational(-3, 100)


def test_parameters_belong_to_one_derivations_table():
    mine = OpTable()
    mine.define("leaky_relu", ("activation", "leaky_relu", (("alpha", "1/5"),)))
    assert _value("leaky_relu", "-1", mine).exact == sympy.Rational(-1, 5)
    assert _value("leaky_relu", "-1", OpTable()).exact == sympy.Rational(-1, 100)   # nothing leaked


def test_latex_comes_from_sympys_printer_with_the_lecturers_symbol():
    tanh = bound_activation("tanh")
    assert tanh.derivative_pattern(r"\sigma_{\tanh}") == r"1 - \sigma_{{\tanh}}^{{2}}\left({0}\right)"
    assert bound_activation("relu").derivative_pattern() == r"\mathbb{{1}}\left[{0} > 0\right]"
    assert bound_activation("sigmoid").derivative_pattern() == \
        r"\sigma\left({0}\right) \left(1 - \sigma\left({0}\right)\right)"
    assert bound_activation("identity").forward_pattern() == "{0}"
    assert r"\text{{ otherwise}}" in bound_activation("leaky_relu", {"alpha": "1/5"}).derivative_pattern()


def test_exact_forms_stay_while_short():
    assert scalar_function("tanh")(Num.rational(9)).exact == sympy.tanh(9)
    assert scalar_function("sigmoid")(Num.rational("3/10")).exact == 1 / (1 + sympy.exp(-sympy.Rational(3, 10)))
    assert scalar_function("relu")(Num.rational("-2/3")).is_zero


def test_built_in_activations_are_built_on_first_use_and_all_listed():
    from symderiv.ops import OpTable, builtin_activation_names, builtin_activation_ops
    from symderiv.ops.elementwise import BUILTIN_ACTIVATIONS

    table = OpTable()
    assert set(builtin_activation_names()) == {n for a in BUILTIN_ACTIVATIONS for n in (a, f"{a}_prime")}
    assert all(name in table for name in builtin_activation_names()) and set(builtin_activation_names()) <= set(table)
    assert "gelu" not in table._ops                                      # nothing built before it is asked for
    prime = table["gelu_prime"]
    assert "gelu" in table._ops and prime is builtin_activation_ops("gelu")["gelu_prime"]
    with pytest.raises(KeyError):
        table["no_such_op"]
