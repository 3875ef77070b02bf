"""Typed reading of spec fields, each failure a :class:`SpecError` naming the field's path.

Numbers become exact rationals *as written*: TOML's ``0.6`` is read back through its shortest
decimal form and becomes 3/5, never the binary float 0.59999999999999997779...; strings such
as ``"3/5"`` or ``"1e-3"`` are accepted too.
"""

from __future__ import annotations

import math
import re

import sympy

from symderiv.errors import SpecError
from symderiv.spec import notation

_RATIONAL_TEXT = re.compile(r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?(\s*/\s*\d+)?\s*$")


def describe(value) -> str:
    """A short description of what was found, for error messages."""
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:37] + "..."
        return f"the text {text!r}"
    if isinstance(value, list):
        if value and all(isinstance(v, list) for v in value):
            lengths = sorted({len(v) for v in value})
            if len(lengths) == 1:
                return f"a {len(value)} × {lengths[0]} matrix"
            return f"a list of {len(value)} rows of lengths {', '.join(map(str, lengths))}"
        return f"a list of {len(value)} item{'s' if len(value) != 1 else ''}"
    if isinstance(value, dict):
        return "a table"
    if value is None:
        return "nothing (the field is missing)"
    return f"a {type(value).__name__}"


def number(value, path: str) -> sympy.Rational:
    """An exact rational from a TOML int, float or numeric string."""
    if isinstance(value, bool):
        raise SpecError(path, "a number", describe(value))
    if isinstance(value, int):
        return sympy.Integer(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise SpecError(path, "a finite number", describe(value).replace("the number ", ""))
        return sympy.Rational(repr(value))
    if isinstance(value, str):
        if _RATIONAL_TEXT.match(value):
            if "/" in value:
                num, den = value.split("/")
                if sympy.Rational(den.strip()) == 0:
                    raise SpecError(path, "a number", f"{describe(value)} (division by zero)")
                return sympy.Rational(num.strip()) / sympy.Rational(den.strip())
            return sympy.Rational(value.strip())
        raise SpecError(path, "a number", describe(value))
    raise SpecError(path, "a number", describe(value))


def positive_number(value, path: str) -> sympy.Rational:
    n = number(value, path)
    if n <= 0:
        raise SpecError(path, "a positive number", describe(value))
    return n


def integer(value, path: str, minimum: int | None = None, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(path, "a whole number", describe(value))
    if minimum is not None and value < minimum:
        raise SpecError(path, f"a whole number of at least {minimum}", describe(value))
    if maximum is not None and value > maximum:
        raise SpecError(path, f"a whole number of at most {maximum}", describe(value))
    return value


def text(value, path: str, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise SpecError(path, "a text string", describe(value))
    if not allow_empty and not value.strip():
        raise SpecError(path, "a non-empty text", "an empty text")
    return value


def choice(value, path: str, options) -> str:
    options = list(options)
    if not isinstance(value, str) or value not in options:
        listed = ", ".join(repr(o) for o in options)
        raise SpecError(path, f"one of {listed}", describe(value))
    return value


def boolean(value, path: str) -> bool:
    if not isinstance(value, bool):
        raise SpecError(path, "true or false", describe(value))
    return value


def vector(value, path: str, length: int | None = None, what: str = "") -> list[sympy.Rational]:
    """A list of numbers; a bare number counts as a vector of length 1."""
    label = f" ({what})" if what else ""
    if not isinstance(value, list):
        if length == 1 and not isinstance(value, (dict, str, bool)) and value is not None:
            return [number(value, path)]
        expected = f"a list of {length} numbers{label}" if length is not None else "a list of numbers"
        raise SpecError(path, expected, describe(value))
    if length is not None and len(value) != length:
        raise SpecError(path, f"a list of {length} numbers{label}", describe(value))
    if not value:
        raise SpecError(path, "a non-empty list of numbers", "an empty list")
    return [number(v, f"{path}[{i}]") for i, v in enumerate(value)]


def matrix(value, path: str, rows: int | None = None, cols: int | None = None,
           what: str = "") -> list[list[sympy.Rational]]:
    """A list of rows; with one row or one column expected, a flat list is accepted too."""
    label = f" ({what})" if what else ""
    expected = (f"a {rows} × {cols} matrix{label}" if rows is not None and cols is not None
                else "a matrix (a list of rows of numbers)")
    if not isinstance(value, list) or not value:
        if rows == 1 and cols == 1 and isinstance(value, (int, float, str)) and not isinstance(value, bool):
            return [[number(value, path)]]
        raise SpecError(path, expected, describe(value) if value != [] else "an empty list")
    if all(not isinstance(v, list) for v in value):
        # A flat list: a single row, or a single column when that is what fits.
        if rows == 1 and (cols is None or len(value) == cols):
            return [vector(value, path)]
        if cols == 1 and (rows is None or len(value) == rows):
            return [[n] for n in vector(value, path)]
        raise SpecError(path, expected, describe(value))
    if not all(isinstance(v, list) for v in value):
        raise SpecError(path, expected, "a list mixing numbers and rows")
    widths = {len(r) for r in value}
    if len(widths) != 1:
        raise SpecError(path, expected, describe(value))
    width = widths.pop()
    if (rows is not None and len(value) != rows) or (cols is not None and width != cols):
        raise SpecError(path, expected, f"a {len(value)} × {width} matrix")
    return [[number(v, f"{path}[{i}][{j}]") for j, v in enumerate(row)] for i, row in enumerate(value)]


class Table:
    """A TOML table with its dotted path, so every error can name the field."""

    def __init__(self, data, path: str = ""):
        if not isinstance(data, dict):
            raise SpecError(path or "(top level)", "a table", describe(data))
        self.data = data
        self.path = path

    def field(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def has(self, key: str) -> bool:
        return key in self.data

    def raw(self, key: str, default=None):
        return self.data.get(key, default)

    def require(self, key: str, expected: str):
        if key not in self.data:
            raise SpecError(self.field(key), expected, "nothing (the field is missing)")
        return self.data[key]

    def table(self, key: str, required: bool = True) -> "Table":
        if key not in self.data:
            if required:
                raise SpecError(self.field(key), "a table", "nothing (the table is missing)")
            return Table({}, self.field(key))
        return Table(self.data[key], self.field(key))

    def allow_only(self, keys) -> None:
        """Reject unknown keys: a typo should not silently fall back to a default."""
        allowed = set(keys)
        for key in self.data:
            if key not in allowed:
                listed = ", ".join(sorted(allowed))
                raise SpecError(self.field(key), f"one of the known fields ({listed})", "an unknown field")


def silenced_lints(doc: Table) -> tuple:
    """The ``[lints] silence = [...]`` list of a spec (names are checked against the registry later)."""
    if not doc.has("lints"):
        return ()
    lints = doc.table("lints")
    lints.allow_only(("silence",))
    silence = lints.raw("silence", [])
    if not isinstance(silence, list) or not all(isinstance(s, str) for s in silence):
        raise SpecError(lints.field("silence"), "a list of lint names", describe(silence))
    return tuple(silence)


_NAME_SYMBOL = re.compile(r"(?P<base>[A-Za-z][A-Za-z0-9]*?)(?:_(?P<sub>[A-Za-z0-9]+))?")
MATH_EXPECTED = "LaTeX math such as '\\hat{y}' (Greek letters and math symbols may be typed as they are: σ, ŷ, ∑)"


def math_symbol(value, path: str) -> str:
    """A notation symbol: LaTeX math that runs nothing and that pdflatex can typeset.

    Characters outside ASCII are spelt as LaTeX math (``σ`` is ``\\sigma``, ``ŷ`` is ``\\hat{y}``);
    one with no math spelling (``€``, ``😀``) is refused here, naming the field, before anything
    is derived or written.
    """
    latex, untypeset = notation.unicode_math(text(value, path))
    if untypeset:
        raise SpecError(path, MATH_EXPECTED, f"{describe(value)}, whose {notation.listed_chars(untypeset)} "
                                             "LaTeX cannot typeset in math")
    problem = notation.math_problem(latex)
    if problem:
        raise SpecError(path, MATH_EXPECTED, f"{describe(value)}, which {problem}")
    return latex


def symbol_from_name(name: str) -> str | None:
    """The math symbol a renamed parameter gets by default (``U``, ``W_{out}``, ``σ`` -> ``\\sigma``), or None
    when its name does not make a clean symbol."""
    match = _NAME_SYMBOL.fullmatch(name)
    if match:
        return match["base"] + (f"_{{{match['sub']}}}" if match["sub"] else "")
    latex, untypeset = notation.unicode_math(name)
    return latex if len(name) == 1 and not untypeset else None
