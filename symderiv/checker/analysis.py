"""Compare printed claims with a derivation and explain each disagreement.

A claim *holds* when every printed number is the true value to the digits printed, and a
printed ``=`` is an exact equality. When it does not, the step is recomputed, with the step's
own operation, from the numbers the human had: first from the printed values of its direct
inputs (the truth where an input is not claimed), then from the human's values carried through
unclaimed steps. If that reproduces the claim to its printed digits, the claim follows from its
inputs: it is *rounding* when those inputs are right (to their digits), and an *inherited* error
when some of them are wrong. Otherwise it is a *root* error: the human's numbers part from the
truth at this step. An inherited claim computed from more precise hidden values (a printed
input may be anywhere within half a unit of its last digit) is recognised by first-order
propagation of that half unit, but only to attribute an error to a wrong input, never to
excuse a claim as rounding.

A printed ``=`` before a value that is right to its digits but not exact (``= 0.462`` for
tanh(0.5)) is a notation slip, not a wrong number: such a claim is *inexact*, whether the ``=``
starts there or is carried over from another inexact claim. A claim carried over from a wrong
one stays wrong, and so does ``= 0`` for a value that is not zero (a statement that nothing flows,
not a rounding).

The human's world does not depend on the order of the claims: where several claims print the
same element, every claim printing the value used is a source of it, and where they print
different values, each of them is tried (see :func:`_variants`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import sympy

from symderiv.checker.claims import BoundClaim, Printed
from symderiv.numbers import Num, mp
from symderiv.steps import Derivation, Kind

OK, ROUNDING, INEXACT, WRONG = "ok", "rounding", "inexact", "wrong"
#: Verdicts from the mildest to the gravest.
STATUSES = (OK, ROUNDING, INEXACT, WRONG)
#: A difference below this (relative to max(1, |value|)) is beyond what 60 digits resolve: equal.
_EXACT_TOL = mp.mpf("1e-45")
_SLACK = mp.mpf("1e-12")


@dataclass
class Part:
    """The verdict on one printed number of a claim that does not hold."""

    position: int                                 # which printed number of the claim
    verdict: str                                  # "rounding", "root" or "inherited"
    problems: tuple[str, ...]                     # of "zero", "value", "exact"
    carried: bool | None = None                   # the recomputation that explains it (None: none does)
    used: tuple[int, ...] = ()                    # claims whose printed values it follows from
    inherited_from: tuple[int, ...] = ()          # the wrong (or inexact) ones among them
    taken_as_exact: tuple[int, ...] = ()          # rounded claims a printed "=" treats as exact
    within_rounding: bool = False                 # reproduced only within the inputs' rounding
    recomputed: tuple | None = None               # the claim's values from that recomputation
    attempt: int | None = None                    # which recomputation (see _verdict)
    status: str = WRONG                           # what this number alone amounts to: rounding, inexact, wrong


@dataclass
class Result:
    """The verdict on one claim, and the evidence for it."""

    bound: BoundClaim
    status: str                                   # ok | rounding | inexact | wrong
    truth: tuple[Num, ...] = ()                   # the true value of each printed number
    parts: list[Part] = field(default_factory=list)   # one per printed number that does not hold
    recomputed: dict = field(default_factory=dict)    # carried? -> the claim recomputed from printed inputs
    cause: str | None = None                      # wrong and inexact claims: "root" or "inherited"
    origins: tuple[int, ...] = ()                 # where the human's numbers part from the truth
    unclaimed: tuple[str, ...] = ()               # computed inputs nobody claimed (an error may hide there)
    hint: tuple = ()                              # ("swap", used, in place of) or ("op", ops, instead of, factor)
    note: str = ""                                # "approx-zero" (an ok "≈ 0"), "ties" (max pooling)

    @property
    def id(self) -> int:
        return self.bound.id

    @property
    def label(self) -> str:
        return self.bound.label

    @property
    def printed(self) -> tuple[Printed, ...]:
        return tuple(p for _, p in self.bound.elements)

    @property
    def problems(self) -> tuple[str, ...]:
        found = {k for part in self.parts for k in part.problems}
        return tuple(k for k in ("zero", "value", "exact") if k in found)

    @property
    def value_wrong(self) -> bool:
        """Some printed number is wrong in its digits (or a false exact 0), not only in its '='."""
        return self.status == WRONG and any(
            ("value" in p.problems or "zero" in p.problems) and p.verdict != "rounding" for p in self.parts)

    def _union(self, attr: str, verdicts=("root", "inherited", "rounding")) -> tuple[int, ...]:
        out: set[int] = set()
        for part in self.parts:
            if part.verdict in verdicts:
                out |= set(getattr(part, attr))
        return tuple(sorted(out))          # claim ids: the order of the file

    @property
    def inherited_from(self) -> tuple[int, ...]:
        return self._union("inherited_from", ("inherited",))

    @property
    def used(self) -> tuple[int, ...]:
        return self._union("used")

    @property
    def taken_as_exact(self) -> tuple[int, ...]:
        return self._union("taken_as_exact", ("root",))

    @property
    def within_rounding(self) -> bool:
        return any(p.within_rounding for p in self.parts if p.verdict == "inherited")

    @property
    def uniform(self) -> bool:
        """Every printed number that does not hold has the same verdict, from the same recomputation."""
        return len({explanation_key(p) for p in self.parts}) <= 1


def explanation_key(part: Part) -> tuple:
    """Parts with the same key are explained by one sentence."""
    return (part.verdict, part.carried, part.within_rounding, part.attempt)


# -- comparing numbers ----------------------------------------------------------------------------------
def _finite(x) -> bool:
    return isinstance(x, mp.mpf) and mp.isfinite(x)


def _mpf(r: sympy.Rational):
    return mp.mpf(int(r.p)) / int(r.q)


def within(num: Num, printed: Printed, half=None) -> bool:
    """The number rounds to the printed one: |num − printed| ≤ half a unit of the last digit."""
    c = _mpf(printed.value)
    half = printed.half_unit if half is None else half
    limit = _mpf(sympy.Rational(half)) * (1 + _SLACK) + _EXACT_TOL * max(1, abs(c))
    return abs(num.approx - c) <= limit


def exactly(num: Num, value: sympy.Rational) -> bool:
    """The number *is* the rational: exactly where both are exact, else to 60 digits."""
    if num.exact is not None and num.exact.is_Rational:
        return num.exact == value
    c = _mpf(value)
    return abs(num.approx - c) <= _EXACT_TOL * max(1, abs(c))


def _element_problems(t: Num, p: Printed) -> set[str]:
    problems = set()
    value_ok = within(t, p)
    if p.relation == "=" and p.value == 0 and not exactly(t, p.value):
        problems.add("zero")
    if not value_ok:
        problems.add("value")
    elif p.relation == "=" and p.value != 0 and not exactly(t, p.value):
        problems.add("exact")
    return problems


def _matches(values: list[Num], bound: BoundClaim, exact_needed: bool) -> bool:
    """The recomputed values reproduce the printed ones (to their digits; exactly for "=" if needed)."""
    for r, (_, p) in zip(values, bound.elements):
        if exact_needed and p.relation == "=":
            if not exactly(r, p.value):
                return False
        elif not within(r, p):
            return False
    return True


# -- the human's world ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Held:
    """One element as the human has it: a printed value and every claim that prints that value."""

    num: Num
    claims: frozenset             # ids of the claims printing it (empty: the truth put back in its place)
    half_unit: sympy.Rational     # half a unit of its least precise printing (0 for exact fractions)
    exact: bool                   # every claim printing it says "="


class World:
    """Step values as the human has them: printed where claimed, recomputed from those elsewhere."""

    def __init__(self, derivation: Derivation, overrides: dict[str, dict[tuple, Held]]):
        self.d = derivation
        self.overrides = overrides
        self._memo: dict[str, tuple[np.ndarray, frozenset]] = {}
        self._touched: dict[str, bool] = {}

    def touched(self, name: str) -> bool:
        """Some claim is on this step or upstream of it."""
        if name not in self._touched:
            step = self.d[name]
            self._touched[name] = name in self.overrides or any(self.touched(i) for i in step.inputs)
        return self._touched[name]

    def own(self, name: str) -> tuple[np.ndarray, frozenset]:
        """The step's true value with its own claimed elements put in (no propagation)."""
        return self._override(name, self.d[name].value, frozenset())

    def carried(self, name: str) -> tuple[np.ndarray, frozenset]:
        """The step's value computed from the human's values of everything before it."""
        if name in self._memo:
            return self._memo[name]
        step = self.d[name]
        if not self.touched(name):
            out = (step.value, frozenset())
        elif step.op is None or (name in self.overrides and len(self.overrides[name]) == step.value.size):
            out = self.own(name)
        else:
            args, sources = [], frozenset()
            for i in step.inputs:
                v, s = self.carried(i)
                args.append(v)
                sources |= s
            out = self._override(name, self.d.ops[step.op].forward(*args), sources)
        self._memo[name] = out
        return out

    def _override(self, name, value, sources):
        claimed = self.overrides.get(name)
        if not claimed:
            return value, sources
        value = value.copy()
        ids = set(sources)
        for index, held in claimed.items():
            value[index] = held.num
            ids |= held.claims
        return value, frozenset(ids)

    def recompute(self, name: str, carried: bool) -> tuple[np.ndarray, frozenset] | None:
        """The step's operation applied to its inputs as the human has them; None when the step is
        given (no operation) or the human's numbers leave the operation's domain (log 0, 1/0)."""
        step = self.d[name]
        if step.op is None:
            return None
        try:
            args, sources = [], frozenset()
            for i in step.inputs:
                v, s = self.carried(i) if carried else self.own(i)
                args.append(v)
                sources |= s
            value = self.d.ops[step.op].forward(*args)
        except (ArithmeticError, ValueError, TypeError):
            return None
        if not all(isinstance(n, Num) and _finite(n.approx) for n in value.flat):
            return None
        return value, sources


def _variants(bound: list[BoundClaim]) -> list[dict]:
    """The human's printed values, as override tables step -> {element index: Held}.

    Nothing here depends on the order of the claims. Claims printing the same value for an element
    are all its sources. Where claims print different values for one element (``yhat_3[3] = 0.26``
    beside ``yhat_3 = [..., 0.25891]``), the human had both, so two tables are made: one with the most
    precise printing of every element, one with the least precise (ties: the smaller value first);
    a claim is explained if either reproduces it. Without such a conflict there is one table.
    """
    printed: dict[str, dict[tuple, dict]] = {}
    for b in bound:
        for index, p in b.elements:
            printed.setdefault(b.step, {}).setdefault(index, {}).setdefault(p.value, []).append((b.id, p))
    tables = ({}, {})
    for step, elements in printed.items():
        for index, by_value in elements.items():
            held = sorted((_held(value, group) for value, group in by_value.items()),
                          key=lambda h: (_precision(h), h.num.approx))
            tables[0].setdefault(step, {})[index] = held[0]
            tables[1].setdefault(step, {})[index] = held[-1]
    return [tables[0]] if tables[0] == tables[1] else list(tables)


def _held(value: sympy.Rational, group: list) -> Held:
    return Held(Num.rational(value), frozenset(cid for cid, _ in group),
                max(p.half_unit for _, p in group), all(p.relation == "=" for _, p in group))


def _precision(held: Held):
    """Sort key: the most precise printing first (an exact fraction before any decimal)."""
    return _mpf(held.half_unit)


def _truth(num: Num) -> Held:
    """The true value put back in place of a claim."""
    return Held(num, frozenset(), sympy.Integer(0), True)


# -- the verdicts ---------------------------------------------------------------------------------------
def analyse(derivation: Derivation, bound: list[BoundClaim]) -> list[Result]:
    """One :class:`Result` per claim, in the order of the claims file.

    Claims are judged in the order of the derivation (a claim's inputs before it); claims on one step
    never read each other's verdicts, so the order of the file changes nothing but the order of lines.
    """
    position = {s.name: i for i, s in enumerate(derivation.steps)}
    worlds = [World(derivation, table) for table in _variants(bound)]
    results: dict[int, Result] = {}
    for b in sorted(bound, key=lambda b: (position[b.step], b.id)):
        results[b.id] = _verdict(derivation, b, worlds, results, position)
    return [results[b.id] for b in bound]


@dataclass(frozen=True)
class Attempt:
    """One recomputation of a claim's step from the numbers the human had."""

    carried: bool                 # through unclaimed steps (True) or from the direct inputs only
    overrides: dict               # the human's values used (one of the variants)
    values: tuple                 # the claim's elements, recomputed
    sources: frozenset            # the claims those values read


def _verdict(d: Derivation, b: BoundClaim, worlds: list[World], results: dict, position: dict) -> Result:
    step = d[b.step]
    truth = tuple(step.value[index] for index, _ in b.elements)
    bad = []
    for k, (t, (_, p)) in enumerate(zip(truth, b.elements)):
        problems = _element_problems(t, p)
        if problems:
            bad.append((k, tuple(x for x in ("zero", "value", "exact") if x in problems)))
    if not bad:
        return Result(b, OK, truth=truth, note=_zero_note(truth, b))
    result = Result(b, WRONG, truth=truth)
    attempts = []
    for carried in (False, True):
        for world in worlds:
            got = world.recompute(b.step, carried)
            if got is None:
                continue
            values = tuple(got[0][index] for index, _ in b.elements)
            attempts.append(Attempt(carried, world.overrides, values, got[1]))
            result.recomputed.setdefault(carried, values)
    judge = _Judge(d, b, results, position, attempts)
    result.parts = [judge.part(k, problems) for k, problems in bad]
    for part in result.parts:
        part.status = _part_status(part, results)
    result.status = max((p.status for p in result.parts), key=STATUSES.index)
    if result.status == ROUNDING:
        return result
    deciding = [p for p in result.parts if p.status == result.status]
    origins = set()
    for part in deciding:
        for cid in part.inherited_from:
            if results[cid].status == result.status:
                origins |= set(results[cid].origins)
    if any(p.verdict == "root" for p in deciding):
        result.cause = "root"
        origins.add(b.id)
        if any("value" in p.problems for p in deciding if p.verdict == "root"):
            result.unclaimed = tuple(i for i in step.inputs if d[i].op is not None and i not in worlds[0].overrides)
            if step.op is not None:
                result.hint = _hint(d, b, worlds[0], position)
    else:
        result.cause = "inherited"
    if origins:
        first = min(position[results[o].bound.step] if o != b.id else position[b.step] for o in origins)
        origins = {o for o in origins if (position[results[o].bound.step] if o != b.id else position[b.step]) == first}
    result.origins = tuple(sorted(origins))
    if result.cause == "root" and tied_pool(d, step) is not None:
        result.note = "ties"
    return result


def _part_status(part: Part, results: dict) -> str:
    """What one printed number that does not hold amounts to.

    Off in its digits but reproduced from right inputs: rounding. Right to its digits with an '=' it
    cannot have (and not a false exact 0): inexact, where the '=' starts or where it is carried over
    from inexact claims only. Anything else: wrong.
    """
    if part.verdict == "rounding":
        return ROUNDING
    if "value" in part.problems or "zero" in part.problems:
        return WRONG
    if any(results[cid].status == WRONG for cid in part.inherited_from):
        return WRONG
    return INEXACT


class _Judge:
    """Explains one wrong printed number of a claim from the recomputations of its step."""

    def __init__(self, d, b, results, position, attempts: list[Attempt]):
        self.d, self.b = d, b
        self.results, self.position, self.attempts = results, position, attempts

    def part(self, k: int, problems: tuple[str, ...]) -> Part:
        value_problem = "value" in problems
        for n, a in enumerate(self.attempts):
            if a.sources and self._match(a.values[k], k, exact=not value_problem):
                used = self._order(self._affecting(k, a, a.values[k]))
                needed = self._order(self._needed(k, a, exact=not value_problem))
                wrong = tuple(s for s in needed if self._relevant(s, value_problem)) or \
                    tuple(s for s in used if self._relevant(s, value_problem))
                found = dict(carried=a.carried, used=used, recomputed=a.values, attempt=n)
                if wrong:
                    return Part(k, "inherited", problems, inherited_from=wrong, **found)
                if value_problem:
                    return Part(k, "rounding", problems, **found)
                rounded = tuple(s for s in needed if _rounded(self.results.get(s)))
                return Part(k, "root", problems, taken_as_exact=rounded, **found)
        if value_problem:
            # printed from more precise hidden values? only to blame a wrong input, never to excuse
            for n, a in enumerate(self.attempts):
                used = self._order(self._affecting(k, a, a.values[k]))
                wrong = tuple(s for s in used if self._relevant(s, True))
                if wrong and self._within_propagated(k, a):
                    return Part(k, "inherited", problems, a.carried, used, wrong, within_rounding=True,
                                recomputed=a.values, attempt=n)
        if not self.attempts:
            return Part(k, "root", problems, None, ())
        a = self.attempts[0]
        return Part(k, "root", problems, a.carried, self._order(a.sources), recomputed=a.values, attempt=0)

    def _match(self, r: Num, k: int, exact: bool) -> bool:
        p = self.b.elements[k][1]
        if exact and p.relation == "=":
            return exactly(r, p.value)
        return within(r, p)

    def _relevant(self, cid: int, value_problem: bool) -> bool:
        """An input claim to blame: wrong in its digits for a number off in its digits; wrong or
        inexact for an '=' (or a 0) that holds only because an input was taken as exact."""
        other = self.results.get(cid)
        if other is None:
            return False
        if value_problem:
            return other.value_wrong
        return other.status in (WRONG, INEXACT)

    def _order(self, ids) -> tuple[int, ...]:
        known = [i for i in ids if i in self.results]
        return tuple(sorted(known, key=lambda i: (self.position[self.results[i].bound.step], i)))

    def _with_truth_for(self, overrides: dict, cid: int) -> dict:
        return {name: {i: _truth(self.d[name].value[i]) if cid in h.claims else h for i, h in table.items()}
                for name, table in overrides.items()}

    def _element(self, overrides: dict, carried: bool, k: int) -> Num | None:
        got = World(self.d, overrides).recompute(self.b.step, carried)
        return None if got is None else got[0][self.b.elements[k][0]]

    def _needed(self, k, a: Attempt, exact) -> set[int]:
        """The claims the reproduction depends on: with the truth in place of one, the match is lost."""
        needed = set()
        for cid in a.sources:
            other = self._element(self._with_truth_for(a.overrides, cid), a.carried, k)
            if other is None or not self._match(other, k, exact):
                needed.add(cid)
        return needed

    def _affecting(self, k, a: Attempt, base: Num) -> set[int]:
        """The claims whose printed value changes this number at all (all of them if none alone does)."""
        return {cid for cid in a.sources if self._affects(k, a, cid, base)} or set(a.sources)

    def _affects(self, k, a: Attempt, cid, base: Num) -> bool:
        other = self._element(self._with_truth_for(a.overrides, cid), a.carried, k)
        return other is None or abs(other.approx - base.approx) > _EXACT_TOL * max(1, abs(base.approx))

    def _within_propagated(self, k: int, a: Attempt) -> bool:
        """|printed − recomputed| ≤ its half unit + Σ |effect of moving one printed input by its half unit|."""
        r = a.values[k]
        spread = mp.mpf(0)
        for name, index in _upstream_claims(self.d, self.b.step, a.overrides, a.carried):
            held = a.overrides[name][index]
            if held.exact or held.half_unit == 0:
                continue
            effect = mp.mpf(0)
            for sign in (1, -1):
                moved = {n: dict(t) for n, t in a.overrides.items()}
                moved[name][index] = replace(held, num=Num.from_approx(held.num.approx + sign * _mpf(held.half_unit)))
                other = self._element(moved, a.carried, k)
                if other is None:
                    return False
                effect = max(effect, abs(other.approx - r.approx))
            spread += effect
        p = self.b.elements[k][1]
        return abs(_mpf(p.value) - r.approx) <= _mpf(p.half_unit) + spread * mp.mpf("1.01") + _EXACT_TOL


def _rounded(result: Result | None) -> bool:
    """A claim whose printed value is not exactly the true one (a rounding the human kept using)."""
    if result is None:
        return False
    return any(not exactly(t, p.value) for t, p in zip(result.truth, result.printed))


def _zero_note(truth, b: BoundClaim) -> str:
    """ "approx-zero" when a printed "≈ 0" (or a bare 0) stands for a value that is not zero."""
    for t, (_, p) in zip(truth, b.elements):
        if p.value == 0 and p.relation != "=" and not exactly(t, p.value):
            return "approx-zero"
    return ""


def _upstream_claims(d, name, overrides, carried):
    """(step, element index) of the claimed elements the recomputation of ``name`` reads."""
    seen, out, todo = set(), [], list(d[name].inputs)
    while todo:
        n = todo.pop()
        if n in seen:
            continue
        seen.add(n)
        if n in overrides:
            out.extend((n, index) for index in overrides[n])
            if len(overrides[n]) == d[n].value.size:
                continue
        if carried:
            todo.extend(d[n].inputs)
    return out


# -- hints for root errors ----------------------------------------------------------------------------
def _hint(d: Derivation, b: BoundClaim, world: World, position: dict) -> tuple:
    """What the printed numbers are, when it is a common slip: an earlier quantity in place of an
    input (h_1 for h_3), or a neighbouring operation (softmax for sigmoid). Only a unique match counts."""
    step = d[b.step]
    args = [world.own(i)[0] for i in step.inputs]
    found = []
    for pos, name in enumerate(step.inputs):
        original = d[name]
        if original.kind in (Kind.CONSTANT, Kind.SIZE):
            continue
        for cand in d.steps[: position[b.step]]:
            if cand.name == name or cand.shape != original.shape or cand.kind == Kind.SIZE:
                continue
            value = world.own(cand.name)[0]
            if all(n.is_zero for n in value.flat) or _same(value, args[pos]):
                continue
            trial = list(args)
            trial[pos] = value
            if _reproduces(d, step.op, trial, step.shape, b):
                found.append(("swap", cand.name, name))
    if len(found) > 1:
        # several quantities with the same value (z_4 = h_3 when W_hz = 1): prefer the kin of the input
        kin = [f for f in found if f[1].split("_")[0] == f[2].split("_")[0]]
        found = kin if len(kin) == 1 else found
    if len(found) == 1:
        return found[0]
    if found:
        return ()
    ops = []
    for name in d.ops:
        if name != step.op and _reproduces(d, name, args, step.shape, b):
            if not any(_same(d.ops[name].forward(*args), d.ops[other].forward(*args)) for other in ops):
                ops.append(name)     # two operations that agree here (ŷ − y and its mean for K = 1) are one
    if 1 <= len(ops) <= 2:
        factors = {_factor(d, name, step.op, args, b) for name in ops}
        return ("op", tuple(ops), step.op, factors.pop() if len(factors) == 1 else None)
    return ()


def _factor(d: Derivation, found: str, op: str, args, b: BoundClaim):
    """The constant ratio found / right (a Rational with a small denominator) of the two operations on the
    human's inputs at the claimed elements, or None when there is none (a missing factor 2, a sign)."""
    try:
        got, right = d.ops[found].forward(*args), d.ops[op].forward(*args)
    except Exception:        # as in _reproduces: an operation that does not take these inputs
        return None
    ratios = set()
    for index, _ in b.elements:
        g, r = got[index].approx, right[index].approx
        if abs(r) <= _EXACT_TOL:
            if abs(g) > _EXACT_TOL:
                return None
            continue
        ratio = sympy.Rational(str(mp.nstr(g / r, 40))).limit_denominator(12)
        if abs(_mpf(ratio) - g / r) > mp.mpf("1e-30") * max(1, abs(g / r)):
            return None
        ratios.add(ratio)
    return ratios.pop() if len(ratios) == 1 else None


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and all(x.approx == y.approx for x, y in zip(a.flat, b.flat))


def tied_pool(d: Derivation, step):
    """The max pooling whose tied windows decide where this step's gradient goes, if any."""
    from symderiv.layers.feedforward import Pool
    if not step.owner:
        return None
    layer = d.layer(step.owner)
    if isinstance(layer, Pool) and layer.ties and step.name == f"dL/d{layer.input}":
        return layer
    return None


def _reproduces(d: Derivation, op: str, args, shape, b: BoundClaim) -> bool:
    try:
        value = d.ops[op].forward(*args)
    except Exception:        # another operation may not accept these inputs at all: no match
        return False
    if not isinstance(value, np.ndarray) or value.shape != shape:
        return False
    picked = [value[index] for index, _ in b.elements]
    if not all(isinstance(v, Num) for v in picked):
        return False
    return _matches(picked, b, exact_needed=False)
