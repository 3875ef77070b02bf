"""The ``[variants]`` table of a spec: what varies over which grid, what is asked, what a variant must meet.

```toml
[variants]
ask = ["L", "dL/dW_hh"]                     # default: the loss and every parameter's gradient
tolerance = { relative = 0.01, absolute = 0.0005 }
budget = 100                                # candidates drawn per variant before giving up
fixed = ["parameters.b_h"]                  # optional: fields that must not vary (a check)
title = "..."                               # optional: the variants' title and description
description = "..."

[variants.vary]                             # a field of the spec -> the grid of each of its entries
"parameters.W_xh" = { from = -1, to = 1, step = 0.1, exclude = [0] }
"input.tokens" = ["hello", "world", "my", "name"]   # or { values = [...] }
"target.value" = [[0, 1], [1, 0]]           # lists: the whole field is one of them

[variants.constraints]
forbid = ["saturation", "dead-relu", "pooling-tie", "exploding"]   # teaching lints no variant may have
answer_max = 10                             # every asked value at most this in absolute value
answer_min = 0.001                          # ... and exactly 0 or at least this
preactivation_decimals = 2                  # rational pre-activations have at most 2 decimals
```

Every mistake is one :class:`~symderiv.errors.SpecError` naming the field. Grid values are exact
fractions (:class:`fractions.Fraction`), so 0.1 is one tenth and the variants' specs say so.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from fractions import Fraction

from symderiv.errors import SpecError
from symderiv.spec import fields
from symderiv.spec.fields import Table, describe

#: The lints a variant may not have unless its rules say otherwise: each makes a hand computation teach
#: the wrong thing (a vanishing factor, a unit that passes nothing, a gradient routed by convention, huge numbers).
DEFAULT_FORBID = ("saturation", "dead-relu", "pooling-tie", "exploding")
DEFAULT_TOLERANCE = (Fraction(1, 100), Fraction(5, 10000))       # relative, absolute
DEFAULT_BUDGET = 100
MAX_BUDGET = 100_000
MAX_GRID = 1_000_000
GRID_KEYS = ("from", "to", "step", "exclude", "values")
_SEGMENT = re.compile(r"(?P<key>[A-Za-z0-9_-]+)(?P<index>(?:\[\d+\])*)$")


@dataclass(frozen=True)
class Varied:
    """One field that varies: its path in the spec, its grid, and how many entries it has."""

    path: str                       # as written: "parameters.W_xh", "layer[2].p"
    keys: tuple                     # the path parsed: ("parameters", "W_xh"), ("layer", 2, "p")
    values: tuple                   # the grid: Fractions, or texts (tokens), or whole values (nested tuples)
    entries: int                    # entries drawn per variant (1 for a number, 4 for a 1 × 4 matrix;
                                    # 1 when the grid lists whole values)


@dataclass(frozen=True)
class Constraints:
    """What every variant must meet; ``None`` switches a check off."""

    forbid: tuple[str, ...] = DEFAULT_FORBID
    answer_max: Fraction | None = None
    answer_min: Fraction | None = None
    preactivation_decimals: int | None = None


@dataclass(frozen=True)
class Asked:
    """An asked quantity: a step's name and, optionally, one element of it (every element otherwise)."""

    name: str
    index: tuple[int, ...] | None = None
    field: str = "variants.ask"


@dataclass(frozen=True)
class Rules:
    vary: tuple[Varied, ...]
    constraints: Constraints
    ask: tuple[Asked, ...] | None           # None: the loss and every parameter's gradient
    relative: Fraction
    absolute: Fraction
    budget: int
    title: str | None = None
    description: str | None = None

    @property
    def combinations(self) -> int:
        """How many different draws the grids allow."""
        total = 1
        for varied in self.vary:
            total *= len(varied.values) ** varied.entries
        return total


def parse_rules(data: dict) -> Rules:
    """The validated rules of a spec given as its parsed TOML (``data``); the spec itself is checked apart."""
    if "variants" not in data:
        raise SpecError("variants", "a [variants] table saying which fields vary (README: \"Exam variants\")",
                        "nothing (the table is missing)")
    table = Table(data["variants"], "variants")
    table.allow_only(("vary", "constraints", "ask", "tolerance", "budget", "fixed", "title", "description"))
    vary = _parse_vary(table, data)
    fixed = _parse_fixed(table, data)
    for path, field in fixed:
        clash = next((v for v in vary if _overlaps(v.keys, _keys(path, field))), None)
        if clash is not None:
            raise SpecError(field, "a field that does not vary (fixed and vary contradict each other)",
                            f"'{path}', which variants.vary varies")
    relative, absolute = _parse_tolerance(table)
    budget = fields.integer(table.raw("budget", DEFAULT_BUDGET), table.field("budget"), minimum=1,
                            maximum=MAX_BUDGET)
    title = fields.text(table.raw("title"), table.field("title")) if table.has("title") else None
    description = (fields.text(table.raw("description"), table.field("description"), allow_empty=True)
                   if table.has("description") else None)
    return Rules(tuple(vary), _parse_constraints(table), _parse_ask(table), relative, absolute, budget, title,
                 description)


# -- paths ------------------------------------------------------------------------------------------
def _keys(path: str, field: str) -> tuple:
    """``"layer[2].p"`` -> ``("layer", 2, "p")``."""
    keys = []
    for part in path.split("."):
        match = _SEGMENT.match(part)
        if not match:
            raise SpecError(field, "a field of the spec written as a dotted path (parameters.W_xh, layer[2].p)",
                            describe(path))
        keys.append(match["key"])
        keys.extend(int(i) for i in re.findall(r"\[(\d+)\]", match["index"]))
    return tuple(keys)


def lookup(data, keys: tuple):
    """The value at ``keys`` in the parsed spec, or raise ``KeyError``."""
    for key in keys:
        if isinstance(key, int):
            if not isinstance(data, list) or key >= len(data):
                raise KeyError(key)
        elif not isinstance(data, dict) or key not in data:
            raise KeyError(key)
        data = data[key]
    return data


def _overlaps(a: tuple, b: tuple) -> bool:
    """One path is the other or lies inside it."""
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def _leaf_paths(data, prefix: str = "") -> list[str]:
    """Every path of the spec that could vary (numbers, texts and lists of them), for suggestions."""
    out = []
    if isinstance(data, dict):
        for key, value in data.items():
            if key in ("example", "variants"):
                continue
            out += _leaf_paths(value, f"{prefix}.{key}" if prefix else key)
    elif isinstance(data, list) and data and all(isinstance(v, dict) for v in data):
        for i, value in enumerate(data):
            out += _leaf_paths(value, f"{prefix}[{i}]")
    elif prefix:
        out.append(prefix)
    return out


# -- the grids --------------------------------------------------------------------------------------
def _flatten_vary(table: Table) -> list[tuple[str, object, str]]:
    """(path, grid, field) for every entry of ``[variants.vary]``, written as quoted dotted keys
    (``"parameters.W_xh" = ...``) or as nested tables (``parameters.W_xh = ...``)."""
    out = []

    def walk(value, path: str, field: str) -> None:
        # a grid has one of the grid's keys holding a value (not a table): ``{ from = -1, ... }``
        is_grid = not isinstance(value, dict) or any(
            key in GRID_KEYS and not isinstance(inner, dict) for key, inner in value.items())
        if is_grid:
            out.append((path, value, field))
            return
        for key, inner in value.items():
            walk(inner, f"{path}.{key}", f"{field}.{_quoted(key)}")

    for key, value in table.data.items():
        walk(value, key, f"{table.path}.{_quoted(key)}")
    return out


def _quoted(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else f'"{key}"'


def _parse_vary(table: Table, data: dict) -> list[Varied]:
    vary = table.table("vary", required=False)
    entries = _flatten_vary(vary)
    if not entries:
        raise SpecError(vary.path, "at least one field to vary, e.g. \"parameters.W_xh\" = { from = -1, to = 1, "
                                   "step = 0.1 }", "none")
    out = []
    for path, grid, field in entries:
        keys = _keys(path, field)
        if keys[0] in ("example", "variants"):
            raise SpecError(field, "a field of the example's network, data or training to vary",
                            f"'{path}', which is part of [{keys[0]}]")
        try:
            current = lookup(data, keys)
        except KeyError:
            close = difflib.get_close_matches(path, _leaf_paths(data), n=3, cutoff=0.4)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise SpecError(field, f"a field the spec writes out{hint}", f"no field '{path}' in the spec") from None
        kind, entries_count = _leaves(current, field, path)
        values = _parse_grid(grid, field, kind)
        if isinstance(values[0], tuple):          # whole values of the field: one draw picks one of them
            entries_count = 1
        if any(o.keys == keys for o in out):
            raise SpecError(field, "each field varied once", f"'{path}' twice")
        clash = next((o for o in out if _overlaps(o.keys, keys)), None)
        if clash is not None:
            raise SpecError(field, "fields that do not contain one another", f"'{path}' and '{clash.path}'")
        out.append(Varied(path, keys, values, entries_count))
    return out


def _leaves(value, field: str, path: str) -> tuple[str, int]:
    """("number" or "text", how many entries) of the spec's value at a varied path."""
    flat = []

    def walk(v) -> None:
        if isinstance(v, list):
            for item in v:
                walk(item)
        else:
            flat.append(v)

    walk(value)
    if not flat or any(isinstance(v, (dict, bool)) for v in flat):
        raise SpecError(field, "a field holding a number, a text or a list of them",
                        f"'{path}', which holds {describe(value)}")
    numeric = [_is_number(v) for v in flat]
    if not any(numeric) and all(isinstance(v, str) for v in flat):
        return "text", len(flat)
    if all(numeric):
        return "number", len(flat)
    raise SpecError(field, "a field holding only numbers or only texts", f"'{path}', which mixes them")


def _is_number(value) -> bool:
    """Whether the spec reads ``value`` as a number (``0.6``, ``"3/5"``)."""
    try:
        fields.number(value, "")
    except SpecError:
        return False
    return True


def _parse_grid(raw, field: str, kind: str) -> tuple:
    """The grid's values, in order: an explicit list, or the multiples of ``step`` in [from, to]."""
    if isinstance(raw, list):
        raw = {"values": raw}
    if not isinstance(raw, dict):
        raise SpecError(field, "a grid: { from = -1, to = 1, step = 0.1 } or a list of values", describe(raw))
    grid = Table(raw, field)
    grid.allow_only(GRID_KEYS)
    if grid.has("values"):
        for key in ("from", "to", "step"):
            if grid.has(key):
                raise SpecError(grid.field(key), "either values = [...] or from, to and step, not both",
                                "both")
        listed = grid.raw("values")
        if not isinstance(listed, list):
            raise SpecError(grid.field("values"), "a list of values", describe(listed))
        values = [_value(v, f"{grid.field('values')}[{i}]", kind) for i, v in enumerate(listed)]
        if len({isinstance(v, tuple) for v in values}) > 1:
            raise SpecError(grid.field("values"), "single values (each entry drawn apart) or lists (whole values "
                                                  "of the field), not both", "both")
        seen = []
        for v in values:
            if v not in seen:
                seen.append(v)
        values = seen
        why = "the list is empty"
    else:
        if kind == "text":
            raise SpecError(field, "a list of texts to choose from (the field holds texts)", "from, to and step")
        lo = _fraction(grid.require("from", "the smallest value (a number)"), grid.field("from"))
        hi = _fraction(grid.require("to", "the largest value (a number)"), grid.field("to"))
        step = _fraction(grid.require("step", "the spacing of the values (a positive number)"), grid.field("step"))
        if step <= 0:
            raise SpecError(grid.field("step"), "a positive number", describe(grid.raw("step")))
        first, last = -((-lo) // step), hi // step       # the multiples of step in [lo, hi]
        if last - first + 1 > MAX_GRID:
            raise SpecError(field, f"a grid of at most {MAX_GRID:,} values", f"{last - first + 1:,} values")
        values = [k * step for k in range(int(first), int(last) + 1)]
        why = (f"'from' ({_plain(lo)}) is above 'to' ({_plain(hi)})" if lo > hi
               else f"no multiple of {_plain(step)} lies in [{_plain(lo)}, {_plain(hi)}]")
    if grid.has("exclude"):
        excluded = grid.raw("exclude")
        if not isinstance(excluded, list):
            raise SpecError(grid.field("exclude"), "a list of values", describe(excluded))
        drop = [_value(v, f"{grid.field('exclude')}[{i}]", kind) for i, v in enumerate(excluded)]
        if values and all(v in drop for v in values):
            why = "every value of the grid is excluded"
        values = [v for v in values if v not in drop]
    if not values:
        raise SpecError(field, "a grid with at least one value", f"an empty grid ({why})")
    return tuple(values)


def _value(raw, field: str, kind: str):
    """One grid value: a number, a text, or (a list) a whole value of the field, as nested tuples."""
    if isinstance(raw, list):
        return tuple(_value(v, f"{field}[{i}]", kind) for i, v in enumerate(raw))
    if kind == "text":
        return fields.text(raw, field)
    return _fraction(raw, field)


def _fraction(raw, field: str) -> Fraction:
    r = fields.number(raw, field)
    return Fraction(int(r.p), int(r.q))


def _plain(x: Fraction) -> str:
    return str(x.numerator) if x.denominator == 1 else format_fraction(x)


def format_fraction(x: Fraction) -> str:
    """A decimal when it terminates (``0.3``), else ``p/q``."""
    if x.denominator == 1:
        return str(x.numerator)
    q, places = x.denominator, 0
    for prime in (2, 5):
        while q % prime == 0:
            q //= prime
    if q != 1:
        return f"{x.numerator}/{x.denominator}"
    while (x * 10**places).denominator != 1:
        places += 1
    scaled = abs(x.numerator) * 10**places // x.denominator
    digits = str(scaled).rjust(places + 1, "0")
    return ("-" if x < 0 else "") + digits[:-places] + "." + digits[-places:]


# -- the rest ---------------------------------------------------------------------------------------
def _parse_fixed(table: Table, data: dict) -> list[tuple[str, str]]:
    raw = table.raw("fixed", [])
    if not isinstance(raw, list) or not all(isinstance(p, str) for p in raw):
        raise SpecError(table.field("fixed"), "a list of fields of the spec (\"parameters.b_h\")", describe(raw))
    out = []
    for i, path in enumerate(raw):
        field = f"{table.field('fixed')}[{i}]"
        try:
            lookup(data, _keys(path, field))
        except KeyError:
            raise SpecError(field, "a field the spec writes out", f"no field '{path}' in the spec") from None
        out.append((path, field))
    return out


def _parse_tolerance(table: Table) -> tuple[Fraction, Fraction]:
    if not table.has("tolerance"):
        return DEFAULT_TOLERANCE
    tol = table.table("tolerance")
    tol.allow_only(("relative", "absolute"))
    rel = _fraction(tol.raw("relative", 0), tol.field("relative"))
    absolute = _fraction(tol.raw("absolute", 0), tol.field("absolute"))
    for key, value in (("relative", rel), ("absolute", absolute)):
        if value < 0:
            raise SpecError(tol.field(key), "a number ≥ 0", describe(tol.raw(key)))
    if rel == 0 and absolute == 0:
        raise SpecError(tol.path, "a relative or an absolute tolerance above 0", "both 0 (or missing)")
    if rel >= 1:
        raise SpecError(tol.field("relative"), "a relative tolerance below 1 (0.01 is 1 %)",
                        describe(tol.raw("relative")))
    return rel, absolute


def _parse_constraints(table: Table) -> Constraints:
    from symderiv.lints import LINTS

    if not table.has("constraints"):
        return Constraints()
    c = table.table("constraints")
    c.allow_only(("forbid", "answer_max", "answer_min", "preactivation_decimals"))
    forbid = c.raw("forbid", list(DEFAULT_FORBID))
    if not isinstance(forbid, list):
        raise SpecError(c.field("forbid"), "a list of teaching-lint names", describe(forbid))
    for i, name in enumerate(forbid):
        if name not in LINTS:
            close = difflib.get_close_matches(str(name), list(LINTS), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise SpecError(f"{c.field('forbid')}[{i}]", f"the name of a teaching lint ({', '.join(LINTS)}){hint}",
                            describe(name))
    top = _fraction(c.raw("answer_max"), c.field("answer_max")) if c.has("answer_max") else None
    low = _fraction(c.raw("answer_min"), c.field("answer_min")) if c.has("answer_min") else None
    if top is not None and top <= 0:
        raise SpecError(c.field("answer_max"), "a positive number", describe(c.raw("answer_max")))
    if low is not None and low < 0:
        raise SpecError(c.field("answer_min"), "a number ≥ 0", describe(c.raw("answer_min")))
    if top is not None and low is not None and low > top:
        raise SpecError(c.field("answer_min"), f"at most answer_max = {_plain(top)} (no answer can be both)",
                        describe(c.raw("answer_min")))
    decimals = None
    if c.has("preactivation_decimals"):
        decimals = fields.integer(c.raw("preactivation_decimals"), c.field("preactivation_decimals"), minimum=0,
                                  maximum=12)
    return Constraints(tuple(dict.fromkeys(forbid)), top, low, decimals)


_ASKED = re.compile(r"^(?P<name>.+?)(?:\[(?P<index>\s*\d+\s*(?:,\s*\d+\s*)*)\])?$")


def _parse_ask(table: Table) -> tuple[Asked, ...] | None:
    if not table.has("ask"):
        return None
    raw = table.raw("ask")
    if not isinstance(raw, list) or not raw:
        raise SpecError(table.field("ask"), "a non-empty list of quantity names (\"L\", \"dL/dW_hh\", \"dL/dk[0,1]\")",
                        describe(raw))
    out = []
    for i, item in enumerate(raw):
        field = f"{table.field('ask')}[{i}]"
        text = fields.text(item, field)
        match = _ASKED.match(text.strip())
        index = tuple(int(n) for n in match["index"].split(",")) if match["index"] else None
        out.append(Asked(match["name"].strip(), index, field))
    return tuple(out)
