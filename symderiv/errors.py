"""The errors symderiv reports to a user: each one line, naming what was wrong and where."""

from __future__ import annotations

import sys


def warn(message: str) -> None:
    """A warning as one line on stderr; the command goes on (a character no font has, say)."""
    print(f"symderiv: warning: {message}", file=sys.stderr)


class SymderivError(Exception):
    """Base class: an error the CLI prints as one line and exits with status 2."""

    exit_status = 2


class SpecError(SymderivError):
    """A spec (or claims file) that does not describe a valid example.

    ``field`` is the dotted path inside the file (``parameters.W_xh``), ``expected`` what a valid
    value looks like, ``found`` what was there.
    """

    def __init__(self, field: str, expected: str, found: str, source: str | None = None):
        self.field = field
        self.expected = expected
        self.found = found
        self.source = source
        where = f"{source}: " if source else ""
        super().__init__(f"{where}field '{field}': expected {expected}, found {found}")

    def with_source(self, source: str) -> "SpecError":
        return SpecError(self.field, self.expected, self.found, source)


class VerificationError(SymderivError):
    """A derived value that the independent NumPy computation or finite differences contradict."""

    exit_status = 3


class UsageError(SymderivError):
    """A command line that names something that does not exist (an unknown example, a missing file)."""
