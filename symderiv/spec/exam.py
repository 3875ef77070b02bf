"""The ``[exam]`` table of a spec: which quantities an exam asks for, the marks, and the question's set-up.

```toml
[exam]
ask = ["yhat_4", "L", ["dL/dW_xh", "dL/dW_hh"], "W_hh'"]   # one sub-question per entry, in order;
                                                         # a list asks several quantities in one
marks = { yhat_4 = 1, L = 1, "dL/dW_xh" = 3, "dL/dW_hh" = 3, "W_hh'" = 2 }
setup = "Three daily temperatures go through one tanh unit ..."   # the question's text (default: description)
```

Only the shape of the table is checked here (every preset's parser calls :func:`parse_exam`); the
names are quantities of the derivation, checked against it by :mod:`symderiv.render.exam` before
anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass

from symderiv.errors import SpecError
from symderiv.spec import fields
from symderiv.spec.fields import Table, describe

#: The most marks one quantity may carry.
MAX_MARKS = 100


@dataclass(frozen=True)
class ExamSpec:
    """``ask``: one tuple of quantity names per sub-question; ``marks``: name -> marks; ``setup``: the
    question's own text ("" for the example's description)."""

    ask: tuple = ()
    marks: tuple = ()            # (name, marks) pairs, in the order written
    setup: str = ""

    def marks_of(self, names) -> int | None:
        """The marks of a sub-question: the sum over its quantities (None when no marks are given)."""
        table = dict(self.marks)
        if not table:
            return None
        return sum(table.get(name, 0) for name in names)


def parse_exam(doc: Table) -> ExamSpec | None:
    """The ``[exam]`` table of a spec, or None without one."""
    if not doc.has("exam"):
        return None
    exam = doc.table("exam")
    exam.allow_only(("ask", "marks", "setup"))
    ask = []
    raw = exam.raw("ask", [])
    if not isinstance(raw, list):
        raise SpecError(exam.field("ask"), "a list of quantity names (a name, or a list of names per sub-question)",
                        describe(raw))
    for i, entry in enumerate(raw):
        path = f"{exam.field('ask')}[{i}]"
        names = entry if isinstance(entry, list) else [entry]
        if not names or not all(isinstance(n, str) and n.strip() for n in names):
            raise SpecError(path, "a quantity name, or a list of quantity names", describe(entry))
        ask.append(tuple(n.strip() for n in names))
    marks = []
    if exam.has("marks"):
        table = exam.table("marks")
        asked = {n for names in ask for n in names}
        for name, value in table.data.items():
            if name not in asked:
                listed = ", ".join(sorted(asked)) or "none"
                raise SpecError(table.field(name), f"marks for a quantity that exam.ask names ({listed})",
                                "a quantity the exam does not ask for")
            marks.append((name, fields.integer(value, table.field(name), minimum=0, maximum=MAX_MARKS)))
    setup = fields.text(exam.raw("setup", ""), exam.field("setup"), allow_empty=True)
    return ExamSpec(tuple(ask), tuple(marks), setup)
