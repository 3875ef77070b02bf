"""TikZ figures drawn from an example's own numbers, chosen by the network's shape.

A network unrolled through time is drawn by :mod:`figures_rnn` (an Elman cell) or
:mod:`figures_gated` (LSTM, GRU); a few dense layers on a vector by :mod:`figures_stack` (units and
edges); any other feed-forward stack by :mod:`figures_cnn` (maps). Each provides
``figures(derivation, digits) -> dict[key, Figure]`` (drawn from the layers' records and the steps,
never from numbers typed into a template), ``place(section, items, figures, derivation)`` (where in a
section a figure goes) and ``facts(derivation)`` (sizes and choices for the set-up slide). The helpers
below size what a node holds, so a family can lay a picture out before LaTeX sets it.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass

import numpy as np

from symderiv.render import latexnum
from symderiv.render.escape import Tex

#: Significant digits of the values written inside figure nodes (display rules still apply).
FIGURE_DIGITS = 3


def _family(derivation):
    from symderiv.layers.recurrent import GRUCell, LSTMCell, Recurrent
    cells = [layer.cell for layer in derivation.layers if isinstance(layer, Recurrent)]
    if cells:
        return importlib.import_module(FAMILIES["gated" if isinstance(cells[0], (LSTMCell, GRUCell)) else "sequence"])
    units = importlib.import_module(FAMILIES["units"])
    return units if units.drawable(derivation) else importlib.import_module(FAMILIES["feed-forward"])


def figures_for(derivation, digits: int) -> dict:
    return _family(derivation).figures(derivation, digits)


def place(section: str, items: list, figures: dict, derivation) -> list:
    return _family(derivation).place(section, items, figures, derivation)


def facts_for(derivation) -> list:
    return _family(derivation).facts(derivation)


# -- helpers shared by the families ---------------------------------------------------------------------
def compact(value: np.ndarray, digits: int = FIGURE_DIGITS, max_entries: int = 4) -> Tex:
    """A value small enough for a figure node: a number, a short row ``(a, b, c)``, or its shape."""
    if value.size == 1:
        return Tex(latexnum.scalar(value.flat[0], digits).latex)
    if value.ndim == 1 and value.size <= max_entries:
        entries = [latexnum.scalar(n, digits).latex for n in value.flat]
        return Tex(r"\left(" + r",\ ".join(entries) + r"\right)")
    return Tex(r"\in \mathbb{R}^{" + r" \times ".join(str(n) for n in value.shape) + "}")


def relation(value: np.ndarray, digits: int = FIGURE_DIGITS) -> str:
    """``=`` when every entry prints exactly, else ``\\approx``."""
    if value.size == 1 or (value.ndim == 1 and value.size <= 4):
        return _relation(value, digits)
    return ""


def _relation(value: np.ndarray, digits: int = FIGURE_DIGITS) -> str:
    exact = all(latexnum.scalar(n, digits).exact for n in value.flat)
    return "=" if exact else r"\approx"


# Sizes in cm of what a figure node holds, for laying pictures out before LaTeX sets them (the tests
# compile the figures and check that the estimates kept every node clear of the others). Compact
# pictures are set in \scriptsize, where a digit is 0.149 cm wide.
CHAR_CM = 0.149
#: Height of a line of \scriptsize text in a node, and of one entry of a stacked vector.
LINE_CM = 0.36
ROW_CM = 0.285
#: A number wider than this (cm) with its symbol goes under the symbol, not beside it.
WIDE_LINE = 1.6
#: Vectors longer than this are given by their shape.
MAX_COLUMN = 6
#: TikZ options that make a picture compact: \scriptsize, and stacked vectors a little tighter.
COMPACT_FONT = r"font=\scriptsize, every node/.append style={execute at begin node={\def\arraystretch{0.85}}}"


#: Widths of math tokens in digits (fitted to what pdflatex sets in Latin Modern); a relation or a binary
#: operator includes the space around it.
_TOKEN_WIDTHS = {r"\approx": 2.8, "=": 2.8, r"\in": 2.4, r"\cdot": 1.6, r"\times": 2.6, r"\odot": 2.6, "+": 2.6,
                 r"\partial": 1.2, r"\sigma": 1.2, r"\tanh": 3.4, r"\sum": 2.2, r"\quad": 2.0, r"\,": 0.35,
                 r"\ ": 0.7, r"\mathbb": 0.0, r"\hat": 0.0, r"\left": 0.0, r"\right": 0.0, r"\top": 1.6,
                 "(": 0.8, ")": 0.8, "[": 0.6, "]": 0.6, "/": 1.0, ".": 0.55, ",": 0.55, ":": 0.55, "'": 0.6}


def math_width(latex: str) -> float:
    """Printed width of inline math, in digits: sub- and superscripts count 0.7, a minus sign after an
    operand is a binary operator (with space), one that starts a number is not."""
    width, scale, pending, depth_scales = 0.0, 1.0, None, []
    previous = ""
    for token in re.findall(r"\\[A-Za-z]+|\\.|[^\\\s]", latex):
        if token in ("^", "_"):
            pending = scale * 0.7
            continue
        current = pending if pending is not None else scale
        if token == "{":
            depth_scales.append(scale)
            scale = current
            pending = None
            continue
        if token == "}":
            scale = depth_scales.pop() if depth_scales else 1.0
            previous = token
            continue
        pending = None
        if token == "-":
            unary = previous in ("", "(", "[", "{", "=", r"\approx", ",", "^", "_") or previous.startswith("\\")
            width += current * (1.55 if unary else 2.6)
        elif token in _TOKEN_WIDTHS:
            width += current * _TOKEN_WIDTHS[token]
        elif token.isdigit():
            width += current
        elif token.isalpha() and len(token) == 1:
            width += current * ((2.1 if token in "WM" else 1.45) if token.isupper() else 1.15)
        elif token.startswith("\\"):
            width += current * 1.3
        else:
            width += current
        previous = token
    return width


@dataclass(frozen=True)
class Piece:
    """LaTeX for (part of) a node, with its estimated size in cm."""

    tex: str
    width: float
    height: float


def math_piece(latex: str) -> Piece:
    """One line of inline math."""
    return Piece(f"${latex}$", CHAR_CM * math_width(latex), LINE_CM)


def text_piece(text: str) -> Piece:
    """One line of text (already LaTeX-safe)."""
    plain = re.sub(r"\\[A-Za-z]+|[{}$]", "", text)
    return Piece(text, CHAR_CM * 0.85 * len(plain), LINE_CM)


def column_piece(value: np.ndarray, digits: int = FIGURE_DIGITS, brackets: bool = False) -> Piece:
    """A vector as its entries stacked (math, without dollars), in brackets outside a node; its shape
    when it is long."""
    if value.size > MAX_COLUMN:
        latex = r"\in \mathbb{R}^{" + str(value.size) + "}"
        return Piece(latex, CHAR_CM * math_width(latex), LINE_CM)
    entries = [latexnum.scalar(n, digits).latex for n in value.flat]
    body = r"\begin{array}{@{}r@{}}" + r" \\ ".join(entries) + r"\end{array}"
    width = CHAR_CM * max(math_width(e) for e in entries)
    if brackets:
        return Piece(r"\left(" + body + r"\right)", width + 0.1 + 0.1 * len(entries), ROW_CM * len(entries) + 0.1)
    return Piece(body, width, ROW_CM * len(entries))


def lines(*pieces: Piece) -> Piece:
    """Pieces one under the other (a node with ``align=center``)."""
    return Piece(r"\\ ".join(p.tex for p in pieces), max(p.width for p in pieces), sum(p.height for p in pieces))


def value_piece(value: np.ndarray, symbol: str = "", digits: int = FIGURE_DIGITS) -> Piece:
    """``symbol ≈ value`` as a compact node writes it: on one line for a number; for a vector the
    symbol and relation over its entries, stacked (the node's frame is the vector's bracket)."""
    rel = _relation(value, digits)
    if value.size == 1:
        number = latexnum.scalar(value.flat[0], digits).latex
        one_line = math_piece(f"{symbol} {rel} {number}".strip())
        if one_line.width <= WIDE_LINE or not symbol:
            return one_line
        return lines(math_piece(f"{symbol} {rel}"), math_piece(number))
    column = column_piece(value, digits)
    if value.size > MAX_COLUMN:
        return math_piece(f"{symbol} {column.tex}".strip())
    return lines(math_piece(f"{symbol} {rel}".strip()), Piece(f"${column.tex}$", column.width, column.height))


#: What ``\\symfigure`` allows a figure on a slide (cm): the line width, 0.72 of the text height; and the
#: least width it scales a narrow figure up to.
SLIDE_WIDTH = 14.4
SLIDE_HEIGHT = 6.39
SLIDE_MIN_WIDTH = 0.6 * SLIDE_WIDTH


def slide_height(width: float, height: float) -> float:
    """cm a picture of ``width`` × ``height`` cm takes on a slide once ``\\symfigure`` has scaled it."""
    scale = max(1.0, SLIDE_MIN_WIDTH / width)
    return height * min(scale, SLIDE_WIDTH / width, SLIDE_HEIGHT / height)


def figure_height(width: float, height: float, caption: str) -> float:
    """mm a picture of ``width`` × ``height`` cm takes on a slide once scaled, with its caption below."""
    caption_lines = 1 + len(re.sub(r"\$[^$]*\$", "xxxxxx", caption)) // 115
    return 10 * slide_height(width, height) + 4 + 4.2 * caption_lines


# the network's shape -> module with figures(), place(), facts()
FAMILIES = {
    "sequence": "symderiv.render.figures_rnn",
    "gated": "symderiv.render.figures_gated",
    "units": "symderiv.render.figures_stack",
    "feed-forward": "symderiv.render.figures_cnn",
}
