"""Candidates: seeded draws from the grids, each written as a full spec (TOML text).

A variant's spec is the original spec file with the varied fields' values replaced, written by
``tomlkit`` (a style-preserving TOML library): its comments, order and layout stay as the author
wrote them, and ``symderiv derive`` of it reproduces every number of the variant.

The generator is NumPy's PCG64 bit generator seeded through a ``SeedSequence``: its raw 64-bit
stream is fixed for a given seed on every machine and NumPy version (NEP 19 keeps bit streams
stable; only the distribution methods of ``Generator`` may change), and indices are taken from it
here by rejection, without bias. Each candidate draws every varied field in the rules' order, each
entry row-major; a draw that repeats an earlier one is skipped, so candidates are pairwise different.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import tomlkit

from symderiv.variants.rules import Rules, Varied, format_fraction

_TWO_64 = 1 << 64


@dataclass(frozen=True)
class Candidate:
    serial: int          # its place among the distinct candidates, from 0
    key: tuple           # the grid indices drawn (what makes two candidates the same)
    text: str            # the full spec, TOML


class Sampler:
    """Distinct candidates of a spec's variants, in a fixed order for a given seed."""

    def __init__(self, text: str, rules: Rules, seed: int):
        self.rules = rules
        self.base = base_spec(text, rules)
        self.bits = np.random.PCG64(np.random.SeedSequence(seed))
        self.draws = 0
        self._seen: set[tuple] = set()
        self._serial = 0

    def _index(self, n: int) -> int:
        """A uniform index in [0, n) from the raw stream (rejecting the last, incomplete block)."""
        limit = _TWO_64 - _TWO_64 % n
        while True:
            r = int(self.bits.random_raw())
            if r < limit:
                return r % n

    def next(self, max_draws: int) -> Candidate | None:
        """The next candidate unlike every earlier one; ``None`` once ``max_draws`` draws are spent."""
        while self.draws < max_draws:
            self.draws += 1
            key = tuple(tuple(self._index(len(v.values)) for _ in range(v.entries)) for v in self.rules.vary)
            if key in self._seen:
                continue
            self._seen.add(key)
            candidate = Candidate(self._serial, key, spec_text(self.base, self.rules.vary, key))
            self._serial += 1
            return candidate
        return None


def base_spec(text: str, rules: Rules) -> str:
    """The spec every variant starts from, as TOML text: without its ``[variants]`` table, with the
    variants' title and description when the rules give them (an example's own text may quote its numbers)."""
    doc = tomlkit.parse(text)
    doc.pop("variants", None)
    example = doc["example"]
    # The title is written out even when the spec leaves it to the name, so every variant's
    # documents share one preamble (and one precompiled format).
    title = rules.title or example.get("title") or example.get("name", "")
    if example.get("title") != title:
        example["title"] = title
    if rules.description is not None:
        example["description"] = rules.description
        exam = doc.get("exam")
        if exam is not None and "setup" in exam:
            exam.pop("setup")            # the example's set-up quotes its own numbers; the variants' text replaces it
    lines = tomlkit.dumps(doc).splitlines()
    while lines and (not lines[-1].strip() or lines[-1].lstrip().startswith("#")):
        lines.pop()                      # the comments that stood above [variants] go with it
    return "\n".join(lines) + "\n"


def spec_text(base: str, vary: tuple[Varied, ...], key: tuple) -> str:
    """The TOML text ``base`` with each varied field's entries replaced by the drawn grid values."""
    doc = tomlkit.parse(base)
    for varied, indices in zip(vary, key):
        *parents, last = varied.keys
        holder = doc
        for k in parents:
            holder = holder[k]
        old = holder[last]
        drawn = [varied.values[i] for i in indices]
        if isinstance(drawn[0], tuple):              # a whole value of the field
            new = _refill(_as_lists(drawn[0]), iter(_leaves(drawn[0])))
        else:
            new = _refill(old, iter(drawn))
        written_on_lines = "\n" in old.as_string().strip() if hasattr(old, "as_string") else False
        holder[last] = _multiline(new) if isinstance(new, list) and written_on_lines else new
    return tomlkit.dumps(doc)


def _multiline(rows: list):
    """A list of rows as a TOML array written one row a line, as the spec wrote it."""
    array = tomlkit.array()
    for row in rows:
        array.append(row)
    return array.multiline(True)


def _as_lists(value):
    return [_as_lists(v) for v in value] if isinstance(value, tuple) else value


def _leaves(value) -> list:
    return [leaf for v in value for leaf in _leaves(v)] if isinstance(value, tuple) else [value]


def _refill(shape_of, values):
    """``shape_of``'s nesting with its entries taken from ``values`` in row-major order."""
    if isinstance(shape_of, list):
        return [_refill(item, values) for item in shape_of]
    return toml_value(next(values))


def toml_value(value):
    """A grid value as the spec should read it, exactly: an integer, a decimal TOML number that reads
    back to itself (``0.3``), otherwise a string the spec reads exactly (``"1/3"``); texts as they are."""
    if not isinstance(value, Fraction):
        return value
    if value.denominator == 1:
        return value.numerator
    text = format_fraction(value)
    if "/" not in text and repr(float(text)) == text:
        return float(text)
    return text


def variant_spec_text(body: str, example: str, number: int, seed: int) -> str:
    """The ``spec.toml`` of a variant: a comment saying where it comes from, then the spec."""
    return (f"# Variant {number} of {example}, written by `symderiv variants` with seed {seed}.\n"
            f"# `symderiv derive spec.toml` derives every number of this variant's documents and answers.\n"
            + body)
