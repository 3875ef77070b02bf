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


# -- exact zeros from sums that cancel, and no zero that is not one ---------------------------------------
def _inexact(x: Num) -> Num:
    """A value whose exact form grew too long to keep (only its 60 digits and how they were computed)."""
    for _ in range(6):
        x = num_tanh(Num.rational("0.3") + Num.rational("0.2") * x)
    assert x.exact is None
    return x


def test_a_sum_that_cancels_exactly_is_exact_zero():
    t = _inexact(Num.rational("1/3"))
    assert t.exact is None
    s = (t * Num.rational(3) + t * Num.rational(-1)) - t * Num.rational(2)
    assert s.is_zero and s.exact == 0


def test_a_tiny_sum_that_is_not_zero_keeps_its_digits():
    """1 − t² with t = tanh(100) without its exact form: 60 digits give 0, the truth is 5.5e-87."""
    t = num_tanh(Num.rational(100))
    t = Num(None, t.approx, 0, ("fn", mpmath_tanh_in_context, Num.rational(100)))
    d = Num.rational(1) - t * t
    mpmath.mp.dps = 80
    assert not d.is_zero
    assert abs(d.approx - mpmath.sech(100) ** 2) <= mpmath.sech(100) ** 2 * mpmath.mpf("1e-50")


def mpmath_tanh_in_context(v):
    from symderiv.numbers import mp
    return mp.tanh(v)


def test_nums_pickle_with_their_digits():
    import pickle
    t = _inexact(Num.rational("2/7"))
    back = pickle.loads(pickle.dumps([t, num_tanh(Num.rational(9)), Num.rational("3/5")]))
    assert back[0].approx == t.approx and back[0].exact is None
    assert back[1].exact == sympy.tanh(9) and back[2].exact == sympy.Rational(3, 5)
    assert (back[0] + back[2]).approx == (t + Num.rational("3/5")).approx


def test_a_rational_formula_applied_again_and_again_keeps_its_exact_form_only_while_short():
    """a/(1 + a²) maps rationals to rationals whose digits double each time: the exact form is dropped
    past MAX_RATIONAL_DIGITS (it once grew until Python refused to print a 4300-digit integer), and the
    value still follows the formula to the working precision."""
    from symderiv.numbers import MAX_RATIONAL_DIGITS
    from symderiv.ops.elementwise import num_function
    from symderiv.ops.formula import parse
    f = num_function(parse("a / (1 + a * a)", "layer.function"))
    kept = []
    with mpmath.workdps(80):
        x, reference = Num.rational("3/10"), mpmath.mpf(3) / 10
        for _ in range(14):
            x = f(x)
            reference = reference / (1 + reference * reference)
            assert abs(x.approx - reference) <= abs(reference) * mpmath.mpf(10) ** -55
            kept.append(x.exact is not None)
            if x.exact is not None:
                assert len(str(x.exact.q)) <= MAX_RATIONAL_DIGITS
    assert kept[0] and not kept[-1]
