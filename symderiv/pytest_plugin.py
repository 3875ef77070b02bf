"""pytest plugin: each ``*.claims.toml`` file is a test file, and each claim in it a test.

A lecturer's repository keeps a spec (``rnn.toml``) and, beside it, the numbers the slides print
(``rnn.claims.toml``); ``pytest`` then fails one test per wrong printed number, with the
checker's explanation. Registered through the ``pytest11`` entry point; set ``symderiv_claims =
false`` in the pytest configuration to turn collection off, and ``symderiv_strict = true`` to fail
inexact claims too ("=" before a value that is only rounded; they pass by default). The claims
files shipped inside the symderiv package (the reference lecture, mistakes included) are never
collected.
"""

from __future__ import annotations

from pathlib import Path

import pytest

SUFFIX = ".claims.toml"


def pytest_addoption(parser) -> None:
    parser.addini("symderiv_claims", type="bool", default=True,
                  help="collect *.claims.toml files as tests of printed numbers (symderiv)")
    parser.addini("symderiv_strict", type="bool", default=False,
                  help="fail a printed number that is right to its digits but written with '=' "
                       "though only rounded (symderiv; default: it passes)")


def pytest_collect_file(file_path: Path, parent):
    if not file_path.name.endswith(SUFFIX):
        return None
    if not parent.config.getini("symderiv_claims") or _shipped(file_path):
        return None
    return ClaimsTestFile.from_parent(parent, path=file_path)


def _shipped(path: Path) -> bool:
    package = Path(__file__).resolve().parent
    return package in path.resolve().parents


class ClaimsTestFile(pytest.File):
    """One claims file: parsed at collection, checked (once) when its first claim runs."""

    def collect(self):
        from symderiv.checker.claims import read_claims
        from symderiv.errors import SymderivError

        try:
            self.claims_file = read_claims(self.path)
        except SymderivError as err:
            raise self.CollectError(f"symderiv: error: {err}") from None
        self._report = None
        self._error = None
        names: set[str] = set()
        for index, claim in enumerate(self.claims_file.claims):
            name = claim.key
            if name in names and claim.where:
                name = f"{claim.key} ({claim.where})"
            base, n = name, 2
            while name in names:
                name, n = f"{base} #{n}", n + 1
            names.add(name)
            yield ClaimItem.from_parent(self, name=name, index=index)

    def report(self):
        from symderiv.errors import SpecError, SymderivError
        from symderiv.testing import check_claims

        if self._report is None and self._error is None:
            try:
                if self.claims_file.reference is None:
                    stem = self.path.name[: -len(SUFFIX)]
                    raise SpecError("example", f'example = "NAME", spec = "FILE", or a spec {stem}.toml beside '
                                    "the claims file", "none of them", str(self.path))
                self._report = check_claims(None, self.path, strict=self.config.getini("symderiv_strict"))
            except SymderivError as err:
                self._error = f"symderiv: error: {err}"
        if self._error:
            raise ClaimsError(self._error)
        return self._report


class ClaimsError(Exception):
    """A claims file that cannot be checked, or a printed number that is wrong: shown as one message."""


class ClaimItem(pytest.Item):
    """One claim: passes when it holds (or is only rounding, or inexact unless strict), fails with the
    checker's line otherwise."""

    def __init__(self, *, index: int, **kwargs):
        super().__init__(**kwargs)
        self.index = index

    def runtest(self) -> None:
        report = self.parent.report()
        from symderiv.checker.report import fails

        result = report.results[self.index]
        if fails(result.status, report.strict):
            raise ClaimsError(report.line(result))

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, ClaimsError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        # the claim's key as the domain: failure headlines name the printed number
        return self.path, None, self.name
