"""Judging a candidate: is it fit for a hand-computed exam? Run by the workers, a batch at a time.

Cheap checks first: the candidate's spec is read and derived forward only (no backward pass), and
the forbidden teaching lints that the forward pass already shows (a pooling tie, exploding values)
and the pre-activations' decimals are checked. A survivor is derived in full: the remaining lints
(saturation and dead ReLUs read the local derivatives of the backward pass) and the sizes of the
asked answers decide. The lints are the teaching lints of :mod:`symderiv.lints`, called by name even
where the spec silences them for its own documents.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from symderiv.errors import SpecError, SymderivError
from symderiv.variants.answers import Answer, answers_of
from symderiv.variants.rules import Constraints


@dataclass(frozen=True)
class Batch:
    """Candidates to judge, as (serial, spec text), with what every one must meet."""

    candidates: tuple[tuple[int, str], ...]
    constraints: Constraints
    entries: tuple                   # the asked entries: (step name, full index)


@dataclass(frozen=True)
class Verdict:
    serial: int
    problem: str | None = None        # why it is not fit (a constraint's name), None when it is
    invalid: str | None = None        # the candidate is not a valid spec at all (a bad grid): the error
    derivation: object = None         # the full derivation of a fit candidate (it pickles)
    answers: tuple[Answer, ...] = ()


def screen(batch: Batch) -> list[Verdict]:
    """A verdict for every candidate of the batch, in order."""
    return [_judge(serial, text, batch.constraints, batch.entries) for serial, text in batch.candidates]


def _judge(serial: int, text: str, constraints: Constraints, entries: tuple) -> Verdict:
    from symderiv.api import derive_spec
    from symderiv.spec.load import parse_spec_text

    try:
        spec = parse_spec_text(text)
    except SpecError as err:
        return Verdict(serial, invalid=str(err))
    try:
        forward = derive_spec(spec, forward_only=True)
        problem = lint_problem(forward, constraints.forbid) or preactivation_problem(forward, constraints)
        if problem:
            return Verdict(serial, problem)
        full = derive_spec(spec)
    except SymderivError as err:          # e.g. a value float64 cannot hold: not fit, whatever the rules
        return Verdict(serial, f"not derivable ({err})")
    problem = lint_problem(full, constraints.forbid)
    if problem:
        return Verdict(serial, problem)
    answers = answers_of(full, list(entries))
    problem = answer_problem(answers, constraints)
    if problem:
        return Verdict(serial, problem)
    return Verdict(serial, derivation=full, answers=answers)


def lint_problem(derivation, forbid: tuple[str, ...]) -> str | None:
    """The first forbidden teaching lint the derivation has, by name."""
    from symderiv.lints import LINTS

    return next((name for name in forbid if LINTS[name](derivation)), None)


def preactivation_problem(derivation, constraints: Constraints) -> str | None:
    """Pre-activations (the inputs of activation functions) that are rational but need more decimals than
    allowed. Those that are not rational (through tanh of an earlier step) are not a hand's exact work."""
    limit = constraints.preactivation_decimals
    if limit is None:
        return None
    for step in derivation.steps:
        if step.op is None or derivation.ops[step.op].family != "elementwise":
            continue
        for num in derivation[step.inputs[0]].value.flat:
            if num.is_rational and _decimals(Fraction(int(num.exact.p), int(num.exact.q))) > limit:
                return "preactivation_decimals"
    return None


def _decimals(x: Fraction) -> float:
    """Decimals a rational needs (infinitely many for 1/3)."""
    places = 0
    while (x * 10**places).denominator != 1:
        places += 1
        if places > 12:
            return float("inf")
    return places


def answer_problem(answers: tuple[Answer, ...], constraints: Constraints) -> str | None:
    """An asked value too large, or too small without being exactly 0."""
    top, low = constraints.answer_max, constraints.answer_min
    for answer in answers:
        if top is not None and abs(answer.value) > top:
            return "answer_max"
        if low is not None and not answer.is_zero and abs(answer.value) < low:
            return "answer_min"
    return None
