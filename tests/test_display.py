"""Numbers as a careful author writes them."""

from __future__ import annotations

import mpmath
import sympy

from symderiv.display import show
from symderiv.numbers import Num
from symderiv.ops.elementwise import scalar_function

num_tanh = scalar_function("tanh")
num_sech2 = scalar_function("tanh", derivative=True)


def test_terminating_rational_is_an_exact_decimal():
    s = show(Num.rational("3/5"))
    assert (s.relation, s.decimal) == ("=", "0.6")


def test_repeating_rational_is_a_fraction_and_rounded_decimal():
    s = show(Num.rational("1/3"), digits=4)
    assert s.exact == "1/3" and s.relation == "≈" and s.decimal == "0.3333"


def test_tiny_value_never_shows_as_zero():
    s = show(num_sech2(Num.rational("9.7")), digits=4)
    expected = mpmath.sech(mpmath.mpf("9.7")) ** 2   # 1.5022...e-8
    mantissa = float(expected / mpmath.mpf(10) ** -8)
    assert s.relation == "≈"
    assert s.decimal == f"{mantissa:.3f}e-8"
    assert s.decimal_latex == rf"{mantissa:.3f} \cdot 10^{{-8}}"


def test_saturated_tanh_is_not_rounded_to_one():
    s = show(num_tanh(Num.rational(9)), digits=4)
    assert s.exact == "tanh(9)"
    assert s.decimal == "0.99999997"       # tanh(9) = 0.9999999695...


def test_zero_is_exact():
    s = show(Num.rational(0))
    assert (s.relation, s.decimal, s.is_zero) == ("=", "0", True)


def test_exact_latex_of_closed_form():
    s = show(num_tanh(Num.rational("0.5")))
    assert s.exact_latex == sympy.latex(sympy.tanh(sympy.Rational(1, 2)))
