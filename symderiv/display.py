"""How a number is written, as a careful author writes it; shared by the terminal, JSON and LaTeX output.

Rules: an exact form is shown when it is short (``3/5`` as 0.6, ``tanh(9)``); a decimal gets
``=`` only when it *is* the value and ``≈`` when it is rounded; a non-zero value is never written
as 0 (significant digits, switching to scientific notation ``1.5 · 10⁻⁸`` for small magnitudes).
"""

from __future__ import annotations

from dataclasses import dataclass

import mpmath
import sympy

from symderiv.numbers import Num, mp

DEFAULT_DIGITS = 4
#: An exact non-rational form is shown beside its decimal while it has at most this many nodes.
SHOWN_EXACT_SIZE = 6
#: A fraction is shown as p/q while q has at most this many digits (and has no terminating decimal).
SHOWN_FRACTION_DIGITS = 3
#: Magnitudes outside [SCI_LOW, SCI_HIGH) are written in scientific notation.
SCI_LOW = mpmath.mpf("1e-3")
SCI_HIGH = mpmath.mpf("1e6")


@dataclass(frozen=True)
class Shown:
    """A number ready to print: ``relation`` is "=" or "≈" in front of ``decimal``."""

    relation: str
    decimal: str          # plain text: 0.6, -0.3082, 1.502e-8
    decimal_latex: str    # 0.6, -0.3082, 1.502 \cdot 10^{-8}
    exact: str | None     # a short exact form distinct from the decimal (tanh(9), 1/3), else None
    exact_latex: str | None
    is_zero: bool

    @property
    def text(self) -> str:
        """``tanh(9) ≈ 1.000`` / ``= 0.6`` style, without the left-hand side."""
        if self.exact is not None:
            return f"{self.exact} {self.relation} {self.decimal}" if self.relation == "≈" else self.exact
        return f"{self.relation} {self.decimal}" if self.relation == "≈" else self.decimal


def _terminating_decimal(r: sympy.Rational, digits: int) -> str | None:
    """The exact decimal of a rational, if it terminates within ``digits`` significant digits."""
    q = int(r.q)
    twos = fives = 0
    while q % 2 == 0:
        q //= 2
        twos += 1
    while q % 5 == 0:
        q //= 5
        fives += 1
    if q != 1:
        return None
    places = max(twos, fives)
    scaled = abs(int(r.p)) * 10**places // int(r.q)
    text = str(scaled).rjust(places + 1, "0")
    int_part, frac_part = text[: len(text) - places] if places else text, text[len(text) - places:] if places else ""
    significant = len((int_part + frac_part).lstrip("0"))
    if significant > digits:
        return None
    sign = "-" if r.p < 0 else ""
    return sign + int_part + ("." + frac_part if frac_part else "")


def decimal_text(value, digits: int = DEFAULT_DIGITS) -> tuple[str, str, bool]:
    """(plain, LaTeX, is_exact) of an mpf with ``digits`` significant digits.

    A value that would round to a whole number it is not (tanh(9) to 1.000) gets more digits,
    up to 30, until the difference shows: 0.99999997, never a misleading 1.000.
    """
    x = mp.mpf(value)
    if x != 0 and abs(x) >= SCI_LOW:
        while digits < 30:
            rounded = mp.mpf(mpmath.nstr(x, digits, min_fixed=-mpmath.inf, max_fixed=mpmath.inf))
            if rounded != mpmath.nint(rounded) or rounded == x:
                break
            digits += 1
    return _decimal_text(x, digits)


def _decimal_text(x, digits: int) -> tuple[str, str, bool]:
    if x == 0:
        return "0", "0", True
    magnitude = abs(x)
    if magnitude < SCI_LOW or magnitude >= SCI_HIGH:
        power = mpmath.log10(magnitude)
        if abs(power) > 10 ** 12:
            # beyond any decimal mantissa (tanh'(10^200)): only the power of ten is known, to its digits
            shown = mpmath.nstr(power, digits)
            sign = "-" if x < 0 else ""
            return f"{sign}10^{shown}", rf"{sign}10^{{{_latex_e(shown)}}}", False
        exponent = int(mpmath.floor(power))
        mantissa = x / mp.mpf(10) ** exponent
        m_text = mpmath.nstr(mantissa, digits, strip_zeros=False, min_fixed=-mpmath.inf, max_fixed=mpmath.inf)
        if m_text.lstrip("-").startswith("10"):     # 9.9996 rounded up to 10.00
            exponent += 1
            m_text = mpmath.nstr(x / mp.mpf(10) ** exponent, digits, strip_zeros=False,
                                 min_fixed=-mpmath.inf, max_fixed=mpmath.inf)
        return f"{m_text}e{exponent}", rf"{m_text} \cdot 10^{{{exponent}}}", False
    text = mpmath.nstr(x, digits, strip_zeros=False, min_fixed=-mpmath.inf, max_fixed=mpmath.inf)
    if "." in text:
        # keep trailing zeros only to the precision shown: 1.000 means "rounded to 4 digits"
        pass
    return text, text, False


def _latex_e(text: str) -> str:
    r"""``-8.686e+199`` as LaTeX: ``-8.686 \cdot 10^{199}``."""
    mantissa, _, exponent = text.partition("e")
    return rf"{mantissa} \cdot 10^{{{int(exponent)}}}" if exponent else mantissa


def show(num: Num, digits: int = DEFAULT_DIGITS) -> Shown:
    """How to print ``num`` with ``digits`` significant digits."""
    if num.exact is not None and num.exact.is_Rational:
        r = num.exact
        if r == 0:
            return Shown("=", "0", "0", None, None, True)
        term = _terminating_decimal(r, max(digits, 8))
        if term is not None:
            return Shown("=", term, term, None, None, False)
        dec, dec_latex, _ = decimal_text(num.approx, digits)
        if len(str(r.q)) <= SHOWN_FRACTION_DIGITS and len(str(abs(r.p))) <= SHOWN_FRACTION_DIGITS + 2:
            return Shown("≈", dec, dec_latex, f"{r.p}/{r.q}", _rational_latex(r), False)
        return Shown("≈", dec, dec_latex, None, None, False)
    dec, dec_latex, _ = decimal_text(num.approx, digits)
    if num.exact is not None and num.size <= SHOWN_EXACT_SIZE:
        return Shown("≈", dec, dec_latex, _plain_exact(num.exact), sympy.latex(num.exact), num.approx == 0)
    return Shown("≈", dec, dec_latex, None, None, False)


def _rational_latex(r: sympy.Rational) -> str:
    sign = "-" if r.p < 0 else ""
    return rf"{sign}\frac{{{abs(r.p)}}}{{{r.q}}}"


def _plain_exact(expr: sympy.Expr) -> str:
    return sympy.sstr(expr).replace("**", "^")


def plain(num: Num, digits: int = DEFAULT_DIGITS) -> str:
    """Compact text for tables: the exact decimal, or the rounded decimal with a leading ≈."""
    s = show(num, digits)
    return s.decimal if s.relation == "=" else f"≈{s.decimal}"
