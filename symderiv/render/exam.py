"""What an exam asks: its sub-questions (from the spec's ``[exam]`` table, else the whole derivation),
their marks and answer space, the answers for the solutions, and a check that the question's set-up
text does not print an answer.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

import mpmath

from symderiv.errors import SpecError
from symderiv.render.escape import Tex
from symderiv.steps import Derivation, Kind

#: Answer space in the question document, in mm: per mark, at least, at most, and without marks.
SPACE_PER_MARK = 22.0
SPACE_MIN = 28.0
SPACE_MAX = 120.0
SPACE_DEFAULT = 45.0
#: Kinds of step an exam may ask for (what is computed, not what is given).
ASKABLE = (Kind.SIZE, Kind.FORWARD, Kind.LOSS, Kind.LOCAL, Kind.BACKWARD, Kind.GRADIENT, Kind.UPDATE)


@dataclass(frozen=True)
class Task:
    """One sub-question: its text, its marks (None: not stated), the answer space (mm) and the quantities."""

    text: Tex
    marks: int | None
    space: float
    names: tuple = ()

    @property
    def space_mm(self) -> str:
        return f"{self.space:.0f}"

    @property
    def marks_text(self) -> str:
        return "" if self.marks is None else f"{self.marks} mark{'s' if self.marks != 1 else ''}"


def exam_of(derivation: Derivation):
    return getattr(derivation.model, "exam", None)


def check_exam(derivation: Derivation, source: str | None = None) -> None:
    """Every quantity ``[exam] ask`` names is one the derivation computes (else one line naming the field)."""
    exam = exam_of(derivation)
    if exam is None:
        return
    known = [s.name for s in derivation.steps if s.kind in ASKABLE and s.op is not None]
    for i, names in enumerate(exam.ask):
        for name in names:
            if name in derivation and derivation[name].kind in ASKABLE and derivation[name].op is not None:
                continue
            close = difflib.get_close_matches(name, known, n=3)
            hint = f" such as {', '.join(close)}" if close else ""
            what = "a given value" if name in derivation else "no quantity of the example"
            error = SpecError(f"exam.ask[{i}]", f"a quantity the example computes{hint}", f"'{name}' ({what})")
            raise error.with_source(source) if source else error


def tasks_for(derivation: Derivation) -> list[Task]:
    """The sub-questions: one per ``[exam] ask`` entry, else the forward pass, loss, gradients and update."""
    exam = exam_of(derivation)
    if exam is not None and exam.ask:
        return [_task(derivation, names, exam.marks_of(names)) for names in exam.ask]
    return _default_tasks(derivation)


def _symbols(derivation: Derivation, names) -> str:
    symbols = [f"${derivation[n].symbol}$" for n in names]
    return symbols[0] if len(symbols) == 1 else ", ".join(symbols[:-1]) + " and " + symbols[-1]


def _task(derivation: Derivation, names: tuple, marks: int | None) -> Task:
    kind = derivation[names[0]].kind
    symbols = _symbols(derivation, names)
    if kind == Kind.LOSS:
        text = f"Compute the loss {symbols}."
    elif kind in (Kind.LOCAL, Kind.BACKWARD):
        text = f"Compute {symbols} with the chain rule."
    elif kind == Kind.GRADIENT:
        text = f"Derive {symbols} with the chain rule and evaluate {'it' if len(names) == 1 else 'them'}."
    elif kind == Kind.UPDATE:
        eta = derivation["eta"].symbol if "eta" in derivation else r"\eta"
        text = f"Perform one gradient-descent step with learning rate ${eta}$: compute {symbols}."
    else:
        text = f"Compute {symbols}."
    space = SPACE_DEFAULT if marks is None else min(SPACE_MAX, max(SPACE_MIN, SPACE_PER_MARK * marks))
    return Task(Tex(text), marks, space, tuple(names))


def _default_tasks(derivation: Derivation) -> list[Task]:
    def names(*kinds):
        return tuple(s.name for s in derivation.steps if s.kind in kinds and s.op is not None)

    tasks = []
    for kinds, words in (((Kind.FORWARD,), "Compute the forward pass: {}."), ((Kind.LOSS,), "Compute the loss {}."),
                         ((Kind.GRADIENT,), "Derive, with the chain rule, the gradients {} and evaluate them.")):
        found = names(*kinds)
        if found:
            symbols = ", ".join(f"${derivation[n].symbol}$" for n in found)
            tasks.append(Task(Tex(words.format(symbols)), None, SPACE_DEFAULT, found))
    updates = names(Kind.UPDATE)
    if updates:
        eta = derivation["eta"].symbol if "eta" in derivation else r"\eta"
        symbols = ", ".join(f"${derivation[n].symbol}$" for n in updates)
        tasks.append(Task(Tex(rf"Perform one gradient-descent step with learning rate ${eta}$: compute {symbols}."),
                          None, SPACE_DEFAULT, updates))
    return tasks


def setup_text(derivation: Derivation) -> str:
    """The question's set-up: ``[exam] setup`` when the spec gives one, else the example's description."""
    exam = exam_of(derivation)
    if exam is not None and exam.setup:
        return exam.setup
    return derivation.example.get("description") or ""


# -- answers given away ------------------------------------------------------------------------------
_NUMBER = re.compile(r"(?<![\w.])[-−]?\d+(?:\.\d+)?(?!\w|\.\d)")      # a number, perhaps ending a sentence


def given_away(derivation: Derivation, source: str) -> list[str]:
    """Warnings for numbers in the question's set-up text that are answers: values, to the digits the text
    writes, of quantities the exam asks for (all computed ones without ``[exam] ask``) and not also given."""
    text = setup_text(derivation)
    if not text:
        return []
    exam = exam_of(derivation)
    asked = [n for names in exam.ask for n in names] if exam is not None and exam.ask else \
        [s.name for s in derivation.steps if s.kind in ASKABLE and s.kind != Kind.SIZE and s.op is not None]
    given = {n.approx for s in derivation.of_kind(Kind.INPUT, Kind.PARAMETER, Kind.CONSTANT, Kind.SIZE)
             for n in s.value.flat}
    field = "exam.setup" if exam is not None and exam.setup else "example.description"
    found = []
    for match in _NUMBER.finditer(text):
        literal = match.group(0).replace("−", "-")
        value = mpmath.mpf(literal)
        if value in given:
            continue
        for name in asked:
            if any(_reads_as(num, literal) for num in derivation[name].value.flat):
                found.append(f"{literal} ({name})")
                break
    if not found:
        return []
    return [f"{source}: field '{field}': the question's set-up text prints answers: {', '.join(found)}; "
            "write the question's text without them in [exam] setup"]


def _reads_as(num, literal: str) -> bool:
    """The value rounded to the digits ``literal`` writes is ``literal``."""
    digits = len(literal.lstrip("-").replace(".", "").lstrip("0")) or 1
    decimals = len(literal.split(".")[1]) if "." in literal else 0
    x = num.approx
    if x == 0:
        return mpmath.mpf(literal) == 0
    rounded = mpmath.nstr(x, max(digits, 1), min_fixed=-mpmath.inf, max_fixed=mpmath.inf)
    try:
        return mpmath.mpf(rounded) == mpmath.mpf(literal) and (decimals > 0 or abs(x - mpmath.mpf(literal)) < 0.5)
    except ValueError:
        return False


def answers(derivation: Derivation, blocks: dict) -> list[tuple[str, list[Tex]]]:
    """Per sub-question (its letter) the results a marker looks for: ``symbol rel value`` of each quantity
    (only for the sub-questions an ``[exam]`` table chose: the default ones ask for the whole derivation)."""
    exam = exam_of(derivation)
    if exam is None or not exam.ask:
        return []
    out = []
    for k, task in enumerate(tasks_for(derivation)):
        lines = []
        for name in task.names:
            block = blocks.get(name)
            if block is None:
                continue
            result = block.lines[-1]
            lines.append(Tex(f"{derivation[name].symbol} {result.rel} {result.rhs}"))
        out.append((chr(ord("a") + k) if k < 26 else str(k + 1), lines))
    return out

