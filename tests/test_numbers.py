"""Num: exact while short, 60 digits always, exact zeros stay exact."""

from __future__ import annotations

import mpmath
import sympy

from symderiv.numbers import MAX_EXACT_SIZE, ZERO, Num
from symderiv.ops.elementwise import scalar_function

num_tanh = scalar_function("tanh")
num_sech2 = scalar_function("tanh", derivative=True)
from symderiv.spec.fields import number


def test_spec_decimals_are_rationals_as_written():
    assert number(0.6, "x") == sympy.Rational(3, 5)
    assert number(0.1, "x") == sympy.Rational(1, 10)
    assert number("3/5", "x") == sympy.Rational(3, 5)
    assert number("1e-3", "x") == sympy.Rational(1, 1000)
    assert number(15.5, "x") == sympy.Rational(31, 2)


def test_rational_arithmetic_is_exact():
    a, b = Num.rational("0.1"), Num.rational("0.2")
    assert (a + b).exact == sympy.Rational(3, 10)
    assert (a * b - Num.rational("0.02")).is_zero


def test_transcendental_keeps_short_closed_form_and_60_digits():
    t = num_tanh(Num.rational(9))
    assert t.exact == sympy.tanh(9)
    mpmath.mp.dps = 70
    assert abs(t.approx - mpmath.tanh(9)) < mpmath.mpf(10) ** -58
    # 1 − tanh²(9) is computed as sech²(9): all 60 digits survive the cancellation
    s = num_sech2(Num.rational(9))
    assert abs(s.approx - mpmath.sech(9) ** 2) / (mpmath.sech(9) ** 2) < mpmath.mpf(10) ** -55


def test_long_closed_forms_are_dropped_but_value_kept():
    x = Num.rational("0.5")
    for _ in range(6):
        x = num_tanh(Num.rational("0.3") + Num.rational("0.2") * x)
    assert x.exact is None
    mpmath.mp.dps = 70
    y = mpmath.mpf("0.5")
    for _ in range(6):
        y = mpmath.tanh(mpmath.mpf("0.3") + mpmath.mpf("0.2") * y)
    assert abs(x.approx - y) < mpmath.mpf(10) ** -55
    assert MAX_EXACT_SIZE < 100


def test_multiplying_by_exact_zero_is_exact_zero():
    x = Num.from_approx(mpmath.mpf("0.123"))
    assert (x * ZERO).is_zero and (ZERO * x).is_zero
    assert not Num.from_approx(mpmath.mpf("1e-40")).is_zero
