"""Check printed numbers from a test suite: ``assert_claims(example, claims)`` fails with the checker's words.

    from symderiv.testing import assert_claims

    def test_lecture_numbers():
        assert_claims("rnn-text", "slides/rnn-text.claims.toml")

The example may be a built-in name, a spec file, a derivation, or None (the one the claims file
names); the claims a claims file or a dict (a whole claims document, or just its ``[claims]``
table). Derivations are cached per spec, so many checks against one example derive it once.
"""

from __future__ import annotations

import functools
from pathlib import Path

from symderiv.steps import Derivation


def check_claims(example_or_spec, claims, finite_differences: bool = False, strict: bool = False):
    """The :class:`~symderiv.checker.report.Report` of ``claims`` against the example (nothing raised
    for wrong claims; bad input raises :class:`~symderiv.errors.SymderivError`). ``strict``: the
    report counts inexact claims ('=' before a rounded value) as failing."""
    from symderiv.checker.claims import parse_claims, read_claims
    from symderiv.checker.report import check
    from symderiv.errors import SpecError
    from symderiv.lints import lint_derivation

    if isinstance(claims, dict):
        claims_file = parse_claims(claims, base=Path.cwd())
    else:
        claims_file = read_claims(claims)
    if isinstance(example_or_spec, Derivation):
        derivation = example_or_spec
    else:
        reference = str(example_or_spec) if example_or_spec is not None else claims_file.reference
        if reference is None:
            raise SpecError("example", "the example the claims are about (a name, a spec file or a derivation)",
                            "nothing", claims_file.path)
        derivation = derive_verified(reference, finite_differences)
    return check(claims_file, derivation, lint_derivation(derivation), strict=strict)


def assert_claims(example_or_spec, claims, finite_differences: bool = False, strict: bool = False):
    """Fail (AssertionError) when any claim is wrong (``strict``: or inexact), with one line per failing
    claim; return the report. An inexact claim is right to its digits but printed with '='."""
    report = check_claims(example_or_spec, claims, finite_differences, strict)
    failed = report.failed
    if failed:
        lines = [report.line(r) for r in failed]
        where = report.claims_file.path or "claims"
        what = "wrong" if not report.inexact or not strict else "wrong or inexact"
        raise AssertionError(f"{len(failed)} of {len(report.results)} printed numbers in {where} are {what} "
                             f"(checked against {report.derivation.example['name']}):\n" + "\n".join(lines))
    return report


def derive_verified(reference: str, finite_differences: bool = False) -> Derivation:
    """Derive and verify (against the NumPy reference; finite differences on request), once per spec."""
    path = Path(reference)
    stamp = path.stat().st_mtime_ns if path.is_file() else None
    key = str(path.resolve()) if path.is_file() else reference
    return _derive(key, stamp, finite_differences)


@functools.lru_cache(maxsize=32)
def _derive(reference: str, stamp, finite_differences: bool) -> Derivation:
    from symderiv.api import derive
    from symderiv.verify import verify

    derivation = derive(reference)
    verify(derivation, finite_differences=finite_differences).raise_if_failed()
    return derivation
