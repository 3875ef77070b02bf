"""Numbers, vectors and matrices as LaTeX, on top of :mod:`symderiv.display` (which decides the digits).

Conventions a reader can rely on: a one-element vector or matrix prints as a plain number; a
column vector of more than :data:`COLUMN_MAX` entries prints as a transposed row so a slide does
not grow four lines for ``x_1``; a matrix bigger than :data:`ELIDE_AT` in either direction prints
its corners with dots. Each printed tensor also carries an estimate of its height and width, which
the layout uses to decide what fits on a slide.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import mpmath

from symderiv.display import DEFAULT_DIGITS, SCI_LOW, Shown, show
from symderiv.numbers import Num, mp

#: Column vectors with at most this many entries print as columns; longer ones as rows with ^T.
COLUMN_MAX = 3
#: Matrices with more rows or columns than this print their corners only.
ELIDE_AT = 8
ELIDE_HEAD, ELIDE_TAIL = 3, 2
#: A column vector printed as a transposed row is at most this wide (characters), else it stays a column.
ROW_MAX_WIDTH = 48.0
#: A matrix wider than this (characters) prints its first and last columns only.
MATRIX_MAX_WIDTH = 56.0
#: A matrix wider than this (characters) whose entries are all tiny gets a common power of ten.
WIDE_MATRIX = 48.0
#: Maps of several filters or channels are printed side by side up to this width (characters of
#: digits), else in a grid.
TUPLE_WIDTH = 32.0


@dataclass(frozen=True)
class TexValue:
    """A value ready for a formula: LaTeX, whether every entry is exact, and its size on the page.

    ``rows`` is the height in text lines (1 for a number), ``width`` the width in characters of
    the printed digits (an estimate; LaTeX decides the truth).
    """

    latex: str
    exact: bool
    rows: int
    width: float
    is_scalar: bool
    negative: bool = False     # a scalar that starts with a minus sign
    scientific: bool = False   # a scalar written m · 10^e


def entry(num: Num, digits: int = DEFAULT_DIGITS) -> tuple[str, bool, Shown]:
    """(LaTeX decimal, exact?, Shown) of one entry of a vector or matrix."""
    s = show(num, digits)
    return s.decimal_latex, s.relation == "=", s


def _text_width(latex: str) -> float:
    """Printed width of a number's LaTeX, in characters (\\cdot 10^{-8} is about 5)."""
    if r"\cdot 10^" in latex:
        mantissa, exponent = latex.split(r"\cdot 10^")
        return len(mantissa.strip()) + 2.5 + 0.7 * len(exponent.strip("{}"))
    return len(latex) * 1.0


def scalar(num: Num, digits: int = DEFAULT_DIGITS) -> TexValue:
    text, exact, s = entry(num, digits)
    return TexValue(text, exact, 1, _text_width(text), True, negative=text.startswith("-"),
                    scientific=r"\cdot 10^" in text)


def _matrix(rows: list[list[str]], suffix: str = "") -> str:
    body = r" \\ ".join(" & ".join(r) for r in rows)
    return rf"\begin{{bmatrix}} {body} \end{{bmatrix}}{suffix}"


def _elide(cells: list[list[str]]) -> list[list[str]]:
    """Corners of a big matrix with \\cdots / \\vdots / \\ddots between them."""
    n_rows, n_cols = len(cells), len(cells[0])

    def cols(row: list[str], filler: str) -> list[str]:
        if n_cols <= ELIDE_AT:
            return row
        return row[:ELIDE_HEAD] + [filler] + row[n_cols - ELIDE_TAIL:]

    if n_rows <= ELIDE_AT:
        return [cols(r, r"\cdots") for r in cells]
    head = [cols(r, r"\cdots") for r in cells[:ELIDE_HEAD]]
    tail = [cols(r, r"\cdots") for r in cells[n_rows - ELIDE_TAIL:]]
    middle = cols([r"\vdots"] * n_cols, r"\ddots")
    return head + [middle] + tail


def _matrix_value(array: np.ndarray, digits: int, transposed_row: bool = False, scale: int | None = None) -> TexValue:
    r"""A 2-D array as a bmatrix; ``transposed_row`` prints an n×1 column as [..]^T.

    A matrix too wide for a slide whose entries are all tiny is printed as a power of ten times a
    matrix of mantissas (``10^{-4} \cdot [-3.612 ...]``), the digits of each entry kept.
    """
    cells, exact = [], True
    for row in array:
        out = []
        for num in row:
            if scale is not None and not num.is_zero:
                num = Num.from_approx(num.approx / mp.mpf(10) ** scale)
            text, ok, _ = entry(num, digits)
            exact &= ok and scale is None
            out.append(text)
        cells.append(out)
    if transposed_row:
        cells = [[r[0] for r in cells]]
    shown = _elide(cells)
    widths = [max(_text_width(r[j]) for r in shown) for j in range(len(shown[0]))]
    width = sum(widths) + 1.2 * (len(widths) - 1) + 2.0 + (1.2 if transposed_row else 0.0)
    if scale is None and width > WIDE_MATRIX:
        common = _common_power(array)
        if common is not None:
            return _matrix_value(array, digits, transposed_row, common)
    if width > MATRIX_MAX_WIDTH and len(shown[0]) > ELIDE_HEAD + ELIDE_TAIL + 1 and r"\cdots" not in shown[0]:
        # too wide for a slide: the first and last columns, dots between (as for a big matrix)
        shown = [row[:ELIDE_HEAD] + [r"\cdots" if row[0] != r"\vdots" else r"\ddots"] + row[-ELIDE_TAIL:]
                 for row in shown]
        widths = [max(_text_width(r[j]) for r in shown) for j in range(len(shown[0]))]
        width = sum(widths) + 1.2 * (len(widths) - 1) + 2.0 + (1.2 if transposed_row else 0.0)
    latex = _matrix(shown, r"^{\top}" if transposed_row else "")
    if scale is not None:
        latex = rf"10^{{{scale}}} \cdot {latex}"
        width += 5.0
    return TexValue(latex, exact, len(shown), width, False)


def _common_power(array: np.ndarray) -> int | None:
    """The power of ten of the largest entry, when every entry is small (below 0.01: written with leading
    zeros or in scientific notation)."""
    nonzero = [abs(n.approx) for n in array.flat if not n.is_zero]
    if not nonzero or max(nonzero) >= 10 * SCI_LOW:
        return None
    return int(mpmath.floor(mpmath.log10(max(nonzero))))


def _column(column: np.ndarray, digits: int) -> TexValue:
    """A column vector: as a column while short, as a transposed row while that row is not too wide."""
    if column.shape[0] <= COLUMN_MAX:
        return _matrix_value(column, digits)
    row = _matrix_value(column, digits, transposed_row=True)
    return row if row.width <= ROW_MAX_WIDTH else _matrix_value(column, digits)


def tensor(value: np.ndarray, digits: int = DEFAULT_DIGITS, transposed: bool = False) -> TexValue:
    """Any value of a step (0-d to n-d object array of Num) as LaTeX; ``transposed`` for ``{i:T}``."""
    if value.size == 1:
        return scalar(value.flat[0], digits)
    if value.ndim == 1:
        if transposed:
            return _matrix_value(value.reshape(1, -1), digits)
        return _column(value.reshape(-1, 1), digits)
    if value.ndim == 2:
        matrix = value.T if transposed else value
        if matrix.shape[1] == 1:
            return _column(matrix, digits)
        return _matrix_value(matrix, digits)
    if value.shape[0] == 1:
        return tensor(value[0], digits, transposed)
    parts = [tensor(v, digits, transposed) for v in value]
    exact = all(p.exact for p in parts)
    if sum(p.width + 2.0 for p in parts) <= TUPLE_WIDTH:
        latex = r"\left(" + r",\ ".join(p.latex for p in parts) + r"\right)"
        return TexValue(latex, exact, max(p.rows for p in parts), sum(p.width for p in parts) + 2.0 * len(parts), False)
    # too wide side by side (several filters or channels): a grid of maps, as many per row as fit
    per_row, used = 0, 0.0
    for p in parts:
        if per_row and used + p.width + 2.0 > TUPLE_WIDTH:
            break
        per_row, used = per_row + 1, used + p.width + 2.0
    grid = [parts[i:i + per_row] for i in range(0, len(parts), per_row)]
    rows = [" & ".join(p.latex + ("," if i * per_row + j < len(parts) - 1 else "") for j, p in enumerate(row))
            for i, row in enumerate(grid)]
    latex = r"\left(\begin{matrix} " + r" \\[3pt] ".join(rows) + r" \end{matrix}\right)"
    height = sum(max(p.rows for p in row) for row in grid) + len(grid) - 1
    width = max(sum(p.width + 2.0 for p in row) for row in grid)
    return TexValue(latex, exact, height, width, False)


def result(num_or_array, digits: int = DEFAULT_DIGITS, inputs_exact: bool = True) -> tuple[str, str, float]:
    """(relation, LaTeX, width) for the last line of a derivation step.

    ``=`` only when what follows *is* the value: an exact rational, or zero; ``\\approx`` when it
    is rounded, with a short fraction in front (``= 1/3 ≈ 0.3333``) when the line before was exact.
    """
    array = num_or_array if isinstance(num_or_array, np.ndarray) else None
    if array is not None and array.size != 1:
        value = tensor(array, digits)
        return ("=" if value.exact else r"\approx"), value.latex, value.width
    num = array.flat[0] if array is not None else num_or_array
    s = show(num, digits)
    if s.relation == "=":
        return "=", s.decimal_latex, _text_width(s.decimal_latex)
    if inputs_exact and s.exact_latex is not None and num.is_rational:
        latex = rf"{s.exact_latex} \approx {s.decimal_latex}"
        return "=", latex, _text_width(s.decimal_latex) + 6
    return r"\approx", s.decimal_latex, _text_width(s.decimal_latex)


def wrap_operand(value: TexValue, before: str, after: str) -> str:
    """A scalar's LaTeX with parentheses where a reader needs them.

    A negative number or an m · 10^e number is put in parentheses when it follows an operator or
    another factor, or when a power follows it: ``0.2 \\cdot (-0.2982)``, ``(1.5 \\cdot 10^{-8})^{2}``.
    """
    if not value.is_scalar:
        return value.latex
    opening = before.rstrip()
    free_start = opening == "" or opening.endswith(("(", "[", "{", "=", ",", "&"))
    product = opening.endswith((r"\cdot", r"\odot", r"\times", r"\oslash", "/"))
    power_after = after.lstrip().startswith("^")
    if power_after and (value.negative or value.scientific or "/" in value.latex):
        return rf"\left({value.latex}\right)"
    if value.negative and not free_start:
        return rf"\left({value.latex}\right)"
    if value.scientific and product:
        return rf"\left({value.latex}\right)"
    return value.latex
