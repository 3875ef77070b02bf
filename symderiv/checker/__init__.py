"""The claims checker: hand-written numbers against the derivation (ok, rounding, inexact, wrong; root or
inherited).

``claims`` reads claims files, ``analysis`` judges each claim, ``report`` words the verdicts and
``formats`` prints them (text, Markdown, a LaTeX errata frame, JSON); ``phrases`` holds what each
operation computes in the reader's notation, for the explanations.
"""

from symderiv.checker.analysis import INEXACT, OK, ROUNDING, WRONG, Result
from symderiv.checker.claims import ClaimsFile, parse_claims, read_claims
from symderiv.checker.report import Report, check

__all__ = ["OK", "ROUNDING", "INEXACT", "WRONG", "Result", "ClaimsFile", "parse_claims", "read_claims", "Report", "check"]
