"""The claims checker: hand-written numbers against the derivation (ok, rounding, wrong; root or inherited).

``claims`` reads claims files, ``analysis`` judges each claim, ``report`` words the verdicts and
``formats`` prints them (text, Markdown, a LaTeX errata frame, JSON).
"""

from symderiv.checker.analysis import OK, ROUNDING, WRONG, Result
from symderiv.checker.claims import ClaimsFile, parse_claims, read_claims
from symderiv.checker.report import Report, check

__all__ = ["OK", "ROUNDING", "WRONG", "Result", "ClaimsFile", "parse_claims", "read_claims", "Report", "check"]
