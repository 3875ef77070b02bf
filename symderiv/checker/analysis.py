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
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import sympy

from symderiv.checker.claims import BoundClaim, Printed
from symderiv.numbers import Num, mp
from symderiv.steps import Derivation, Kind

OK, ROUNDING, WRONG = "ok", "rounding", "wrong"
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
    inherited_from: tuple[int, ...] = ()          # the wrong ones among them
    taken_as_exact: tuple[int, ...] = ()          # rounded claims a printed "=" treats as exact
    within_rounding: bool = False                 # reproduced only within the inputs' rounding


@dataclass
class Result:
    """The verdict on one claim, and the evidence for it."""

    bound: BoundClaim
    status: str                                   # ok | rounding | wrong
    truth: tuple[Num, ...] = ()                   # the true value of each printed number
    parts: list[Part] = field(default_factory=list)   # one per printed number that does not hold
    recomputed: dict = field(default_factory=dict)    # carried? -> the claim recomputed from printed inputs
    cause: str | None = None                      # wrong claims: "root" or "inherited"
    origins: tuple[int, ...] = ()                 # where the human's numbers part from the truth
    unclaimed: tuple[str, ...] = ()               # computed inputs nobody claimed (an error may hide there)
    hint: tuple = ()                              # ("swap", used, in place of) or ("op", ops, instead of)
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
        return any(("value" in p.problems or "zero" in p.problems) and p.verdict != "rounding" for p in self.parts)

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
        return len({(p.verdict, p.carried, p.within_rounding) for p in self.parts}) <= 1


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
class World:
    """Step values as the human has them: printed where claimed, recomputed from those elsewhere."""

    def __init__(self, derivation: Derivation, overrides: dict[str, dict[tuple, tuple]]):
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
        for index, (num, cid, _) in claimed.items():
            value[index] = num
            if cid >= 0:        # a negative id marks the truth put back in place of a claim
                ids.add(cid)
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


def _overrides(bound: list[BoundClaim]) -> dict:
    """step -> {element index: (printed value as an exact Num, claim id, Printed)}; the first claim wins."""
    out: dict[str, dict] = {}
    for b in bound:
        table = out.setdefault(b.step, {})
        for index, p in b.elements:
            table.setdefault(index, (Num.rational(p.value), b.id, p))
    return out


# -- the verdicts ---------------------------------------------------------------------------------------
def analyse(derivation: Derivation, bound: list[BoundClaim]) -> list[Result]:
    """One :class:`Result` per claim, in the order of the claims file."""
    position = {s.name: i for i, s in enumerate(derivation.steps)}
    overrides = _overrides(bound)
    world = World(derivation, overrides)
    results: dict[int, Result] = {}
    for b in sorted(bound, key=lambda b: (position[b.step], b.id)):
        results[b.id] = _verdict(derivation, b, world, overrides, results, position)
    return [results[b.id] for b in bound]


def _verdict(d: Derivation, b: BoundClaim, world: World, overrides: dict, results: dict, position: dict) -> Result:
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
        got = world.recompute(b.step, carried)
        if got is None:
            continue
        values = tuple(got[0][index] for index, _ in b.elements)
        attempts.append((carried, values, got[1]))
        result.recomputed[carried] = values
    judge = _Judge(d, b, overrides, results, position, attempts)
    result.parts = [judge.part(k, problems) for k, problems in bad]
    verdicts = {p.verdict for p in result.parts}
    if verdicts == {"rounding"}:
        result.status = ROUNDING
        return result
    origins = set()
    for cid in result.inherited_from:
        origins |= set(results[cid].origins)
    if "root" in verdicts:
        result.cause = "root"
        origins.add(b.id)
        if any("value" in p.problems for p in result.parts if p.verdict == "root"):
            result.unclaimed = tuple(i for i in step.inputs if d[i].op is not None and i not in overrides)
            if step.op is not None:
                result.hint = _hint(d, b, world, position)
    else:
        result.cause = "inherited"
    if origins:
        first = min(position[results[o].bound.step] if o != b.id else position[b.step] for o in origins)
        origins = {o for o in origins if (position[results[o].bound.step] if o != b.id else position[b.step]) == first}
    result.origins = tuple(sorted(origins))
    if result.cause == "root" and tied_pool(d, step) is not None:
        result.note = "ties"
    return result


class _Judge:
    """Explains one wrong printed number of a claim from the recomputations of its step."""

    def __init__(self, d, b, overrides, results, position, attempts):
        self.d, self.b, self.overrides = d, b, overrides
        self.results, self.position, self.attempts = results, position, attempts

    def part(self, k: int, problems: tuple[str, ...]) -> Part:
        value_problem = "value" in problems
        for carried, values, sources in self.attempts:
            if sources and self._match(values[k], k, exact=not value_problem):
                used = self._order(self._affecting(k, carried, sources, values[k]))
                needed = self._order(self._needed(k, carried, sources, exact=not value_problem))
                wrong = tuple(s for s in needed if self._relevant(s, value_problem)) or \
                    tuple(s for s in used if self._relevant(s, value_problem))
                if wrong:
                    return Part(k, "inherited", problems, carried, used, wrong)
                if value_problem:
                    return Part(k, "rounding", problems, carried, used)
                rounded = tuple(s for s in needed if _rounded(self.results.get(s)))
                return Part(k, "root", problems, carried, used, taken_as_exact=rounded)
        if value_problem:
            # printed from more precise hidden values? only to blame a wrong input, never to excuse
            for carried, values, sources in self.attempts:
                used = self._order(self._affecting(k, carried, sources, values[k]))
                wrong = tuple(s for s in used if self._relevant(s, True))
                if wrong and self._within_propagated(k, carried, values[k]):
                    return Part(k, "inherited", problems, carried, used, wrong, within_rounding=True)
        if not self.attempts:
            return Part(k, "root", problems, None, ())
        carried, values, sources = self.attempts[0]
        return Part(k, "root", problems, carried, self._order(sources))

    def _match(self, r: Num, k: int, exact: bool) -> bool:
        p = self.b.elements[k][1]
        if exact and p.relation == "=":
            return exactly(r, p.value)
        return within(r, p)

    def _relevant(self, cid: int, value_problem: bool) -> bool:
        other = self.results.get(cid)
        if other is None or other.status != WRONG:
            return False
        return other.value_wrong if value_problem else True

    def _order(self, ids) -> tuple[int, ...]:
        known = [i for i in ids if i in self.results]
        return tuple(sorted(known, key=lambda i: (self.position[self.results[i].bound.step], i)))

    def _with_truth_for(self, cid: int) -> dict:
        return {name: {i: (self.d[name].value[i], -1, None) if v[1] == cid else v for i, v in table.items()}
                for name, table in self.overrides.items()}

    def _element(self, overrides: dict, carried: bool, k: int) -> Num | None:
        got = World(self.d, overrides).recompute(self.b.step, carried)
        return None if got is None else got[0][self.b.elements[k][0]]

    def _needed(self, k, carried, sources, exact) -> set[int]:
        """The claims the reproduction depends on: with the truth in place of one, the match is lost."""
        needed = set()
        for cid in sources:
            other = self._element(self._with_truth_for(cid), carried, k)
            if other is None or not self._match(other, k, exact):
                needed.add(cid)
        return needed

    def _affecting(self, k, carried, sources, base: Num) -> set[int]:
        """The claims whose printed value changes this number at all (all of them if none alone does)."""
        return {cid for cid in sources if self._affects(k, carried, cid, base)} or set(sources)

    def _affects(self, k, carried, cid, base: Num) -> bool:
        other = self._element(self._with_truth_for(cid), carried, k)
        return other is None or abs(other.approx - base.approx) > _EXACT_TOL * max(1, abs(base.approx))

    def _within_propagated(self, k: int, carried: bool, r: Num) -> bool:
        """|printed − recomputed| ≤ its half unit + Σ |effect of moving one printed input by its half unit|."""
        spread = mp.mpf(0)
        for name, index in _upstream_claims(self.d, self.b.step, self.overrides, carried):
            num, cid, p = self.overrides[name][index]
            if p.relation == "=" or p.half_unit == 0:
                continue
            effect = mp.mpf(0)
            for sign in (1, -1):
                moved = {n: dict(t) for n, t in self.overrides.items()}
                moved[name][index] = (Num.from_approx(num.approx + sign * _mpf(p.half_unit)), cid, p)
                other = self._element(moved, carried, k)
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
    ops = [name for name in d.ops if name != step.op and _reproduces(d, name, args, step.shape, b)]
    if 1 <= len(ops) <= 2:
        return ("op", tuple(ops), step.op)
    return ()


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
