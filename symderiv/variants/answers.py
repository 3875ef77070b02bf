"""The asked quantities of a variant, their values and tolerances, and the answer key files.

A quantity is asked by its name in ``derive --json`` (``L``, ``dL/dW_hh``), as a whole (each of its
entries becomes one answer, ``dL/dW_hz[2,0]``) or as one entry (``dL/dW_hz[2,0]``; every axis
indexed, counting from 0, as in claims files). Values are the float64 nearest the exact value, as
``derive --json`` prints them, so a variant's ``spec.toml`` derives to exactly these numbers.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from fractions import Fraction

import numpy as np

from symderiv.errors import SpecError
from symderiv.steps import Kind
from symderiv.variants.rules import Asked

CSV_COLUMNS = ("variant", "folder", "quantity", "value", "tolerance")


@dataclass(frozen=True)
class Answer:
    quantity: str          # "L", "dL/dW_hz[2,0]"
    step: str              # the step it is an entry of
    index: tuple           # the entry's full index (() for a number)
    value: float
    is_zero: bool          # exactly zero (not merely small)


def default_asked(derivation) -> tuple[Asked, ...]:
    """The loss and every parameter's gradient (of the first descent step)."""
    names = ["L"] if "L" in derivation else []
    names += [s.name for s in derivation.of_kind(Kind.GRADIENT) if s.descent == 1]
    return tuple(Asked(name) for name in names)


def asked_entries(derivation, asked: tuple[Asked, ...] | None) -> list[tuple[str, tuple]]:
    """(step name, full index) of every asked entry, in order; an unknown name or an index out of range
    is a :class:`SpecError` naming the ``ask`` entry."""
    out = []
    for item in asked if asked is not None else default_asked(derivation):
        if item.name not in derivation:
            names = [s.name for s in derivation.steps]
            close = difflib.get_close_matches(item.name, names, n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(close)}?" if close else " (symderiv derive NAME --json lists them)"
            raise SpecError(item.field, f"a quantity of the example{hint}", f"'{item.name}'")
        shape = derivation[item.name].shape
        if item.index is None:
            out += [(item.name, tuple(int(i) for i in index)) for index in np.ndindex(shape)]
            continue
        if len(item.index) != len(shape) or any(i >= n for i, n in zip(item.index, shape)):
            dims = " × ".join(map(str, shape)) if shape else "a number, without an index"
            raise SpecError(item.field, f"an index with one number per axis of {item.name} ({dims}), each from 0",
                            f"[{', '.join(map(str, item.index))}]")
        out.append((item.name, item.index))
    return out


def answers_of(derivation, entries: list[tuple[str, tuple]]) -> tuple[Answer, ...]:
    """The values of the asked entries."""
    out = []
    for name, index in entries:
        step = derivation[name]
        num = step.value[index]
        label = name if step.value.size == 1 else f"{name}[{','.join(map(str, index))}]"
        out.append(Answer(label, name, index, float(num.approx), bool(num.is_zero)))
    return tuple(out)


def tolerance(value: float, relative: Fraction, absolute: Fraction) -> float:
    """The accepted error of an answer: the larger of the absolute and the relative tolerance, rounded up
    to two significant digits (a tolerance a person can read, never below what the rules ask)."""
    tol = max(_decimal(absolute), _decimal(relative) * abs(Decimal(repr(value))))
    if tol == 0:
        return 0.0
    return float(tol.quantize(Decimal(1).scaleb(tol.adjusted() - 1), rounding=ROUND_CEILING))


def _decimal(x: Fraction) -> Decimal:
    return Decimal(x.numerator) / Decimal(x.denominator)


@dataclass(frozen=True)
class Row:
    """One line of the answer key: a variant's asked entry, its value and its tolerance."""

    variant: int
    folder: str
    answer: Answer
    tolerance: float

    @property
    def quantity(self) -> str:
        return self.answer.quantity

    @property
    def value(self) -> float:
        return self.answer.value


def csv_text(rows: list[Row]) -> str:
    """``answers.csv``: a header, then one row per variant and asked entry (values as ``repr`` floats,
    which read back to the same float64)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        writer.writerow((r.variant, r.folder, r.quantity, repr(r.value), repr(r.tolerance)))
    return out.getvalue()


def json_text(example: str, seed: int, count: int, rows: list[Row]) -> str:
    """``answers.json``: the example, the seed, the count, and the same rows as the CSV."""
    data = {"example": example, "seed": seed, "count": count,
            "rows": [{"variant": r.variant, "folder": r.folder, "quantity": r.quantity, "value": r.value,
                      "tolerance": r.tolerance} for r in rows]}
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
