"""Claims files: the numbers a human printed, read as written (a string keeps its printed precision).

A claims file names the example it is about and lists, under ``[claims]``, quantities by the
names of ``derive --json`` (``h_2``, ``dL/dW_hz``, ``W_hz'``), optionally with an element index
(``dL/dW_hz[2,0]``), each with the value as printed: ``"≈ 0.462"``, ``"= 0"``, ``"-0.342"``, or a
whole vector or matrix in one string, as the checker itself prints it (``"≈ [0.015, 0.985]"``,
``"[1, 2; 3, 4]"``) or as NumPy does (``"[[1. 2.] [3. 4.]]"``).
Parsing happens in two stages: :func:`parse_claims` checks what can be checked without the
example (TOML, keys, number syntax); :func:`bind` then checks names, indices and shapes against
the derivation. Every failure is one :class:`~symderiv.errors.SpecError` line naming the field.
"""

from __future__ import annotations

import difflib
import itertools
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sympy

from symderiv.errors import SpecError, UsageError
from symderiv.spec.fields import describe
from symderiv.spec.toml_text import dotted, load_toml

#: The relations a printed value may start with ("~" is the ASCII spelling of "≈").
RELATIONS = {"=": "=", "≈": "≈", "~": "≈"}
TOP_LEVEL = ("example", "spec", "source", "claims")
CLAIM_TABLE = ("value", "relation", "where")

_NUMBER = re.compile(r"^(?P<sign>[+-]?)(?P<int>\d*)(?:\.(?P<frac>\d*))?(?:[eE](?P<exp>[+-]?\d+))?$")
_FRACTION = re.compile(r"^(?P<num>[+-]?\d+)\s*/\s*(?P<den>\d+)$")
_KEY = re.compile(r"^(?P<name>.*?)\s*(?:\[(?P<index>[^\[\]]*)\])?$")
#: A printed vector or matrix in one string: brackets, separators, relations and number tokens.
_ARRAY_TOKEN = re.compile(r"\[|\]|;|,|\s+|[=≈~]|[^\s\[\];,=≈~]+")
#: Significant digits a float64 is guaranteed to hold (C's DBL_DIG). A longer printout (NumPy's
#: 17-digit ``0.46211715726000974``) is judged at these digits: its 16th and 17th digits are the
#: binary rounding of the float, not a claim about the true value.
FLOAT64_DIGITS = 15


@dataclass(frozen=True)
class Printed:
    """One number as printed: its exact value, half a unit of its last digit, its relation."""

    text: str                      # the number as written, without the relation: "-0.342"
    value: sympy.Rational
    last_digit: int | None         # power of ten of the last printed digit (-3 for "0.462"); None: a fraction
    relation: str | None           # "=", "≈", or None when the claim does not say
    significant: int = 0           # significant digits printed (3 for "0.462", 17 for a float64 repr)

    @property
    def judged_digit(self) -> int | None:
        """Power of ten of the last digit the number is judged at: the last printed one, or for a
        printout longer than float64 holds, the last of :data:`FLOAT64_DIGITS` significant digits."""
        if self.last_digit is None:
            return None
        return self.last_digit + max(0, self.significant - FLOAT64_DIGITS)

    @property
    def half_unit(self) -> sympy.Rational:
        """Half a unit of the last digit judged (0.0005 for "0.462"); 0 for an exact fraction."""
        if self.judged_digit is None:
            return sympy.Integer(0)
        return sympy.Rational(1, 2) * sympy.Rational(10) ** self.judged_digit

    def shown(self) -> str:
        return f"{self.relation} {self.text}" if self.relation else self.text


@dataclass(frozen=True)
class Claim:
    """One entry of ``[claims]`` before it meets the example: key, printed values, place."""

    key: str                       # as written: "dL/dW_hz[2,0]"
    quantity: str                  # "dL/dW_hz"
    index: tuple[int, ...] | None  # (2, 0), or None for the whole quantity
    values: object                 # a Printed, or nested lists of Printed
    field: str                     # where it is in the file, for error messages
    where: str                     # the group it is listed under, or its own `where`
    order: int                     # position in the file
    where_field: str = ""          # the field `where` was written in (the group's, or the claim's own)


@dataclass(frozen=True)
class ClaimsFile:
    """A parsed claims file: which example it is about, and its claims in file order."""

    reference: str | None          # a built-in example name or a spec path (resolved), or None
    source: str                    # a free text naming the material (shown in reports)
    claims: tuple[Claim, ...]
    path: str | None = None        # the file, when read from one


@dataclass(frozen=True)
class BoundClaim:
    """A claim checked against a derivation: the elements of the step it is about."""

    claim: Claim
    id: int
    step: str
    elements: tuple[tuple[tuple[int, ...], Printed], ...]   # (index into step.value, printed)
    shape: tuple[int, ...]        # the shape the printed values were written in (or stand for)
    step_shape: tuple[int, ...]   # the shape of the quantity
    broadcast: bool = False       # one printed 0 standing for every element ("= 0" for a zero matrix)

    @property
    def label(self) -> str:
        return self.claim.key


# -- reading ----------------------------------------------------------------------------------------
def read_claims(path: str | Path) -> ClaimsFile:
    """Parse a claims file; its example reference is resolved relative to the file's folder."""
    path = Path(path)
    if not path.exists():
        raise UsageError(f"'{path}' does not exist (expected a claims file, e.g. lecture.claims.toml)")
    if path.is_dir():
        raise UsageError(f"'{path}' is a directory, not a claims file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SpecError("(file)", "a UTF-8 TOML text file", "bytes that are not UTF-8 text", str(path)) from None
    data = load_toml(text, str(path))
    try:
        parsed = parse_claims(data, base=path.parent, default_name=_stem(path))
    except SpecError as err:
        raise err.with_source(str(path)) from None
    return ClaimsFile(parsed.reference, parsed.source, parsed.claims, str(path))


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".claims.toml", ".toml"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def parse_claims(data: dict, base: Path | None = None, default_name: str | None = None) -> ClaimsFile:
    """A claims document (parsed TOML) to a :class:`ClaimsFile`; a bare table of claims works too.

    ``{"h_1": "≈ 0.462"}`` is read as the ``[claims]`` table of a document that names no example.
    """
    if not isinstance(data, dict):
        raise SpecError("(top level)", "a table of claims", describe(data))
    if "claims" not in data and not any(k in data for k in ("example", "spec", "source")):
        data = {"claims": data}
    for key in data:
        if key not in TOP_LEVEL:
            raise SpecError(_path("", key), f"one of the known fields ({', '.join(TOP_LEVEL)})", "an unknown field")
    reference = _reference(data, base, default_name)
    source = data.get("source", "")
    if not isinstance(source, str):
        raise SpecError("source", "a text naming the material", describe(source))
    table = data.get("claims")
    if not isinstance(table, dict):
        raise SpecError("claims", "a table of claims (quantity = \"value as printed\")",
                        describe(table) if "claims" in data else "nothing (the table is missing)")
    claims: list[Claim] = []
    for key, value in table.items():
        field = _path("claims", key)
        if isinstance(value, dict) and "value" not in value:
            # a group: the place in the material where these numbers are printed
            if not value:
                raise SpecError(field, "claims (quantity = \"value as printed\") in this group", "an empty table")
            for inner_key, inner in value.items():
                if isinstance(inner, dict) and "value" not in inner:
                    raise SpecError(_path(field, inner_key), "a claim (groups do not nest)", "a table")
                claims.append(_claim(inner_key, inner, _path(field, inner_key), (key, field), len(claims)))
        else:
            claims.append(_claim(key, value, field, ("", ""), len(claims)))
    if not claims:
        raise SpecError("claims", "at least one claim", "an empty table")
    return ClaimsFile(reference, source, tuple(claims))


def _reference(data: dict, base: Path | None, default_name: str | None) -> str | None:
    if "example" in data and "spec" in data:
        raise SpecError("spec", "either 'example' (a built-in example) or 'spec' (a spec file), not both",
                        "both")
    if "example" in data:
        name = data["example"]
        if not isinstance(name, str) or not name.strip():
            raise SpecError("example", "the name of a built-in example", describe(name))
        return name
    if "spec" in data:
        spec = data["spec"]
        if not isinstance(spec, str) or not spec.strip():
            raise SpecError("spec", "the path of a spec file, relative to the claims file", describe(spec))
        path = (base / spec) if base is not None else Path(spec)
        if not path.is_file():
            raise SpecError("spec", "the path of a spec file, relative to the claims file",
                            f"'{spec}', which does not exist")
        return str(path)
    if base is not None and default_name:
        beside = base / f"{default_name}.toml"
        if beside.is_file():
            return str(beside)
        from symderiv.spec.load import builtin_names
        if default_name in builtin_names():
            return default_name
    return None


def _path(parent: str, key: str) -> str:
    shown = dotted([key])
    return f"{parent}.{shown}" if parent else shown


def _claim(key: str, value, field: str, group: tuple[str, str], order: int) -> Claim:
    """One claim; ``group`` is the (name, field) of the group it is listed under, or ("", "")."""
    match = _KEY.match(key.strip())
    name, index_text = match.group("name"), match.group("index")
    if not name:
        raise SpecError(field, "a quantity name such as h_2 or dL/dW_hz[2,0]", f"the key {key!r}")
    index = None
    if index_text is not None:
        try:
            index = tuple(int(part) for part in index_text.split(","))
        except ValueError:
            raise SpecError(field, "an element index of whole numbers, e.g. [2,0]",
                            f"[{index_text}]") from None
        if any(i < 0 for i in index):
            raise SpecError(field, "an element index counted from 0 (no negative numbers)", f"[{index_text}]")
    where, where_field = group
    relation = None
    if isinstance(value, dict):
        unknown = [k for k in value if k not in CLAIM_TABLE]
        if unknown:
            raise SpecError(_path(field, unknown[0]), f"one of the known fields ({', '.join(CLAIM_TABLE)})",
                            "an unknown field")
        if "relation" in value:
            rel = value["relation"]
            if not isinstance(rel, str) or rel.strip() not in RELATIONS:
                raise SpecError(_path(field, "relation"), "'=' (exact) or '≈' (rounded; '~' works too)",
                                describe(rel))
            relation = RELATIONS[rel.strip()]
        if "where" in value:
            if not isinstance(value["where"], str):
                raise SpecError(_path(field, "where"), "a text naming the place (slide, page)",
                                describe(value["where"]))
            where, where_field = value["where"], _path(field, "where")
        field = _path(field, "value")
        value = value["value"]
    values = _values(value, field, relation)
    return Claim(key=key.strip(), quantity=name, index=index, values=values, field=field, where=where,
                 order=order, where_field=where_field)


def _values(value, field: str, relation: str | None):
    """A printed string, or nested lists of them (all rows of a level equally long)."""
    if isinstance(value, str):
        if "[" in value or "]" in value:
            return parse_printed_array(value, field, relation)
        return parse_printed(value, field, relation)
    if isinstance(value, list):
        if not value:
            raise SpecError(field, "values as printed (strings)", "an empty list")
        items = [_values(v, f"{field}[{i}]", relation) for i, v in enumerate(value)]
        shapes = {_shape(item) for item in items}
        if len(shapes) != 1:
            raise SpecError(field, "rows of equal length", describe(value))
        return items
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise SpecError(field, 'the value as printed, as a string (e.g. "0.462"), so its precision is kept',
                        describe(value))
    raise SpecError(field, 'the value as printed, as a string (e.g. "≈ 0.462")', describe(value))


def _shape(values) -> tuple[int, ...]:
    if isinstance(values, Printed):
        return ()
    return (len(values),) + _shape(values[0])


def _flat(values) -> list[Printed]:
    if isinstance(values, Printed):
        return [values]
    return [p for v in values for p in _flat(v)]


def parse_printed(text: str, field: str, relation: str | None = None) -> Printed:
    """``"≈ 0.462"`` -> Printed(0.462, half unit 0.0005, "≈"); ``"1/3"`` is exact."""
    raw = text
    s = text.strip().replace("\u2212", "-")
    for symbol, rel in RELATIONS.items():
        if s.startswith(symbol):
            relation = rel
            s = s[len(symbol):].strip()
            break
    s = s.replace(" ", "")
    frac = _FRACTION.match(s)
    if frac:
        den = int(frac.group("den"))
        if den == 0:
            raise SpecError(field, "a number as printed", f"{describe(raw)} (division by zero)")
        return Printed(s, sympy.Rational(int(frac.group("num")), den), None, relation)
    m = _NUMBER.match(s)
    if not m or not (m.group("int") or m.group("frac")):
        raise SpecError(field, 'a number as printed, e.g. "0.462", "≈ -0.342", "= 0", "1.5e-8"', describe(raw))
    digits = (m.group("int") or "") + (m.group("frac") or "")
    places = len(m.group("frac") or "")
    exponent = int(m.group("exp") or 0)
    value = sympy.Integer(int(digits)) * sympy.Rational(10) ** (exponent - places)
    if m.group("sign") == "-":
        value = -value
    return Printed(s, value, exponent - places, relation, len(digits.lstrip("0")))


_ARRAY_EXPECTED = ('a vector or matrix as printed, e.g. "≈ [0.015, 0.985]", "[1, 2; 3, 4]" (rows separated '
                   'by ";") or "[[1, 2], [3, 4]]"')


def parse_printed_array(text: str, field: str, relation: str | None = None):
    """``"≈ [0.1, -0.2]"`` -> [Printed, Printed]; ``"[1, 2; 3, 4]"`` and ``"[[1 2] [3 4]]"`` -> rows.

    The form the checker prints (a relation before the brackets applies to every entry; an entry may
    carry its own, ``[≈ 0.1, = 0]``; rows separated by ``;``) and NumPy's (nested brackets, entries
    separated by spaces) are both read.
    """
    tokens = [t for t in _ARRAY_TOKEN.findall(text.replace("\u2212", "-")) if not t.isspace()]
    if tokens and tokens[0] in RELATIONS:
        relation = RELATIONS[tokens.pop(0)]

    def fail(why: str):
        raise SpecError(field, _ARRAY_EXPECTED, f"{describe(text)} ({why})")

    def parse(pos: int):
        """The bracketed list opening at tokens[pos]: (rows or entries, position after its ']')."""
        rows, pending, pos = [[]], None, pos + 1
        while pos < len(tokens):
            token = tokens[pos]
            if token == "]":
                if pending is not None:
                    fail(f"'{pending}' before ']'")
                if len(rows) > 1:
                    if any(not row for row in rows):
                        fail("an empty row")
                    if any(not isinstance(x, Printed) for row in rows for x in row):
                        fail("';' between rows of nested lists")
                    return rows, pos + 1
                if not rows[0]:
                    fail("an empty list")
                return rows[0], pos + 1
            if token == "[":
                item, pos = parse(pos)
                rows[-1].append(item)
                continue
            if token == ";":
                rows.append([])
            elif token in RELATIONS:
                pending = RELATIONS[token]
            elif token != ",":
                try:
                    rows[-1].append(parse_printed(token, field, pending or relation))
                except SpecError:
                    fail(f"'{token}' is not a number")
                pending = None
            pos += 1
        fail("a '[' without its ']'")

    if not tokens or tokens[0] != "[":
        fail("it does not start with '['")
    values, end = parse(0)
    if end != len(tokens):
        fail(f"'{tokens[end]}' after the closing ']'")
    levels = {_array_shape(v) for v in values} if isinstance(values, list) else set()
    if len(levels) > 1 or None in levels:
        fail("rows of different lengths")
    return values


def _array_shape(values):
    """The shape of nested lists of Printed, or None when the levels are ragged or mixed."""
    if isinstance(values, Printed):
        return ()
    inner = {_array_shape(v) for v in values}
    if len(inner) != 1 or None in inner:
        return None
    return (len(values),) + inner.pop()


# -- meeting the example ------------------------------------------------------------------------------
def bind(claims_file: ClaimsFile, derivation) -> list[BoundClaim]:
    """Check every claim's quantity, index and shape against the derivation."""
    names = [s.name for s in derivation.steps]
    bound = []
    for i, claim in enumerate(claims_file.claims):
        try:
            bound.append(_bind_one(claim, i, derivation, names))
        except SpecError as err:
            raise err.with_source(claims_file.path) if claims_file.path else err from None
    return bound


def _bind_one(claim: Claim, cid: int, derivation, names: list[str]) -> BoundClaim:
    key_field = claim.field[: -len(".value")] if claim.field.endswith(".value") else claim.field
    if claim.quantity not in derivation:
        close = difflib.get_close_matches(claim.quantity, names, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else f" (symderiv derive {derivation.example['name']} --json lists them)"
        raise SpecError(key_field, f"a quantity of example {derivation.example['name']}{hint}",
                        f"'{claim.quantity}'")
    step = derivation[claim.quantity]
    full = step.shape
    positions = np.arange(int(np.prod(full, dtype=int))).reshape(full)
    if claim.index is None:
        target = positions.squeeze() if positions.ndim else positions
    else:
        target = _select(positions, claim.index, claim.quantity, key_field)
    target = np.asarray(target)
    printed = claim.values
    pshape = _shape(printed)
    want = tuple(s for s in target.shape if s != 1)
    have = tuple(s for s in pshape if s != 1)
    broadcast = False
    if pshape == () and target.size > 1 and printed.value == 0:
        # "= 0" for a zero vector or matrix: the one printed 0 stands for every element
        printed, pshape, broadcast = [printed] * target.size, want, True
    elif not _same_layout(want, have):
        shape = full if claim.index is None else target.shape
        what = "one value" if target.size == 1 else f"{target.size} values in the shape {_dims(shape)}"
        found = "one value" if pshape == () else f"values in the shape {_dims(pshape)}"
        if pshape == () and target.size > 1:
            found += " (only a 0 may stand for a whole vector or matrix)"
        raise SpecError(claim.field, f"{what} ({claim.key} is {_shape_text(shape)})", found)
    flat_pos = target.reshape(-1)
    flat_printed = _flat(printed)
    elements = tuple((tuple(int(i) for i in np.unravel_index(int(p), full)) if full else (), pr)
                     for p, pr in zip(flat_pos, flat_printed))
    return BoundClaim(claim=claim, id=cid, step=step.name, elements=elements, shape=pshape, step_shape=full,
                      broadcast=broadcast)


def _same_layout(want: tuple[int, ...], have: tuple[int, ...]) -> bool:
    """Printed values fit a quantity: the same shape up to axes of length 1, or the checker's own way of
    printing a 3-D array (``[a, b, c, d; e, f, g, h]``: one row per filter, row-major within it)."""
    if want == have:
        return True
    return (len(have) == 2 and len(want) > 2 and have[0] == want[0]
            and int(np.prod(want[1:], dtype=int)) == have[1])


def _select(positions: np.ndarray, index: tuple[int, ...], quantity: str, field: str) -> np.ndarray:
    """The element (or, for a shorter index, the sub-array) an index names; axes of length 1 may be left out.

    An index with a number for every axis is read as NumPy reads it. A shorter one first leaves out every
    axis of length 1 (``[2]`` on a 4 × 1 matrix, ``[0,2]`` on a 1 × 3 × 3 map) and then names the leading
    axes that remain (``[0]`` on a 2 × 4 matrix is its first row); one with more numbers than that names
    every longer axis and some of length 1 (``[0]`` on a 1 × 1 matrix). Every reading that fits must
    name the same elements.
    """
    full = positions.shape
    found = f"[{', '.join(map(str, index))}]"
    what = f"{quantity}, {_shape_text(full)}"
    if len(index) > len(full):
        raise SpecError(field, f"an index of at most {len(full)} number{'s' if len(full) != 1 else ''} for "
                        f"{what}" + (" (a number has no index)" if not full else ""), found)
    if len(index) == len(full):
        readings = [tuple(range(len(full)))]
    else:
        longer = tuple(axis for axis, n in enumerate(full) if n != 1)
        if len(index) <= len(longer):
            readings = [longer[: len(index)]]
        else:
            ones = [axis for axis, n in enumerate(full) if n == 1]
            readings = [tuple(sorted(longer + extra)) for extra in itertools.combinations(ones, len(index) - len(longer))]
    picked, first_miss = [], None
    for axes in readings:
        miss = next(((k, full[a]) for k, a in enumerate(axes) if index[k] >= full[a]), None)
        if miss is not None:
            first_miss = first_miss or miss
            continue
        key = [0 if n == 1 else slice(None) for n in full]   # the longer axes not named: a sub-array
        for k, a in enumerate(axes):
            key[a] = index[k]
        picked.append(positions[tuple(key)])
    if not picked:
        k, size = first_miss
        if len(readings) == 1 and len(index) == len(full):
            detail = f"index {k} runs from 0 to {size - 1}"
        elif len(readings) == 1:
            detail = f"axes of length 1 left out, index {k} runs from 0 to {size - 1}"
        else:
            detail = "an axis of length 1 takes only the index 0"
        raise SpecError(field, f"an index within {what} ({detail})", found)
    if any(p.shape != picked[0].shape or (p != picked[0]).any() for p in picked[1:]):
        raise SpecError(field, f"an index that names one place in {what} (write one number for every axis)",
                        f"{found}, which could mean more than one")
    return picked[0]


def _dims(shape) -> str:
    return " × ".join(map(str, shape)) if shape else "scalar"


def _shape_text(shape) -> str:
    if shape == ():
        return "a number"
    if len(shape) == 1:
        return f"a vector of {shape[0]}"
    return f"a {' × '.join(map(str, shape))} array" if len(shape) > 2 else f"a {shape[0]} × {shape[1]} matrix"
