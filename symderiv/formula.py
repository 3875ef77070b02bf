"""Formula patterns: LaTeX with ``{i}`` for input i and ``{i:T}`` for its transpose (``{{``/``}}`` escape braces).

One function fills a pattern; the caller decides what an input becomes (its symbol on the formula
line, its value on the substituted line), so both lines come from the same pattern.
"""

from __future__ import annotations

import string
from typing import Callable

_FORMATTER = string.Formatter()


def fill(pattern: str, render: Callable[[int, bool], str]) -> str:
    """``pattern`` with every field replaced by ``render(index, transposed)``."""
    out = []
    for literal, field, spec, _conversion in _FORMATTER.parse(pattern):
        out.append(literal)
        if field is not None:
            if spec not in ("", "T"):
                raise ValueError(f"unknown format {spec!r} in formula pattern {pattern!r}")
            out.append(render(int(field), spec == "T"))
    return "".join(out)


def fields(pattern: str) -> list[tuple[int, bool]]:
    """The (index, transposed) fields of a pattern, in order."""
    return [(int(f), s == "T") for _l, f, s, _c in _FORMATTER.parse(pattern) if f is not None]
