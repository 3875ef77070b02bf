"""The report of ``symderiv check`` in each output format: terminal text, Markdown, a LaTeX errata
frame and JSON. All of them print the same :class:`~symderiv.checker.report.Report` words; the
registry at the bottom maps ``--format`` names to them.
"""

from __future__ import annotations

import json

import numpy as np

from symderiv.checker.analysis import OK, ROUNDING, WRONG
from symderiv.checker.report import Report, Style, printed_text, tex_numbers


def _header(report: Report) -> str:
    cf = report.claims_file
    what = cf.path or "claims"
    source = f" ({cf.source})" if cf.source else ""
    return (f"{len(report.results)} claims of {what}{source} checked against "
            f"{report.derivation.example['name']}")


def _groups(report: Report):
    """The results in file order, with the group (where in the material) each one starts."""
    previous = None
    for r in report.results:
        where = r.bound.claim.where
        yield (where if where != previous else None), r
        previous = where


# -- terminal ---------------------------------------------------------------------------------------------
def text(report: Report) -> str:
    lines = [_header(report)]
    if report.note:
        lines.append(report.note)
    for where, r in _groups(report):
        if where:
            lines.append(f"-- {where}")
        lines.append(report.line(r))
    lines.append(report.summary())
    lines += [f"note [{lint.name}]: {lint.message}" for lint in report.lints]
    return "\n".join(lines) + "\n"


# -- Markdown ---------------------------------------------------------------------------------------------
class MarkdownStyle(Style):
    def t(self, text: str) -> str:
        return text.replace("|", r"\|").replace("*", r"\*").replace("`", "'")

    def q(self, label, symbol=None, index=""):
        return f"`{label.replace('`', '')}`"

    def n(self, text: str) -> str:
        return text.replace("|", r"\|")


def markdown(report: Report) -> str:
    s = MarkdownStyle()
    lines = [f"### {s.t(_header(report))}", ""]
    if report.note:
        lines += [s.t(report.note), ""]
    lines += [f"**{s.t(report.summary())}**", "",
              "| verdict | quantity | printed | true value | why |", "|---|---|---|---|---|"]
    for where, r in _groups(report):
        if where:
            lines.append(f"| | **{s.t(where)}** | | | |")
        verdict = r.status if r.status != WRONG else f"**wrong** ({r.cause})"
        truth = report.correction(r, s)
        why = report.explanation(r, s) if (r.status != OK or r.note) else ""
        lines.append(f"| {verdict} | {report.claim_name(r, s)} | {s.n(printed_text(r.bound))} | {truth} | {why} |")
    if report.lints:
        lines += ["", "Teaching notes:", ""]
        lines += [f"- **{s.t(lint.name)}**: {s.t(lint.message)}" for lint in report.lints]
    return "\n".join(lines) + "\n"


# -- LaTeX errata -----------------------------------------------------------------------------------------
class TexStyle(Style):
    def __init__(self):
        from symderiv.render.escape import check_math, escape_tex
        self._escape, self._check = escape_tex, check_math

    def t(self, text: str) -> str:
        return str(self._escape(text))

    def q(self, label, symbol=None, index=""):
        if symbol:
            try:
                return f"${self._check(symbol, label)}{index}$"
            except Exception:       # a notation symbol that is not safe LaTeX: fall back to the name
                pass
        return r"\texttt{" + self.t(label) + "}"

    def n(self, text: str) -> str:
        return f"${tex_numbers(text)}$"


def tex(report: Report) -> str:
    """An errata frame for a Beamer deck: every wrong claim with its correct value and why."""
    s = TexStyle()
    wrong = [r for r in report.results if r.status == WRONG]
    source = report.claims_file.source or report.claims_file.path or "the printed material"
    lines = [
        f"% Errata for {_comment(source)}, written by `symderiv check` from {_comment(report.claims_file.path or 'claims')}:",
        f"% {len(wrong)} of {len(report.results)} printed numbers are wrong. Append this frame to a Beamer deck",
        "% (it needs amsmath, which Beamer loads); it runs no shell commands.",
        r"\begin{frame}[allowframebreaks]{" + s.t("Errata") + "}",
        r"\footnotesize",
    ]
    if not wrong:
        lines.append(s.t(f"All {len(report.results)} printed numbers checked hold."))
    else:
        lines.append(s.t(f"{len(wrong)} of the {len(report.results)} printed numbers checked are wrong "
                         f"({source}); correct values and reasons:"))
        lines.append(r"\begin{itemize}")
        for where, r in _groups(report):
            if r.status != WRONG:
                continue
            place = f" ({s.t(r.bound.claim.where)})" if r.bound.claim.where else ""
            lines.append(r"\item " + report.claim_name(r, s) + place + s.t(": printed ") + report.printed(r, s)
                         + s.t("; correct ") + report.correction(r, s) + s.t(". ")
                         + _sentence(report.explanation(r, s)) + s.t("."))
        lines.append(r"\end{itemize}")
    lines.append(r"\end{frame}")
    return "\n".join(lines) + "\n"


def tex_printed_text(report: Report) -> list[tuple[str, str]]:
    """The claims file's own text the errata frame prints, with its fields: the source and the places."""
    wrong = [r.bound.claim for r in report.results if r.status == WRONG]
    fields = [("source", report.claims_file.source)] if wrong and report.claims_file.source else []
    fields += [(c.where_field, c.where) for c in wrong if c.where]
    return list(dict.fromkeys(fields))


def _comment(text: str) -> str:
    return " ".join(str(text).split()).replace("%", "percent")


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


# -- JSON -------------------------------------------------------------------------------------------------
def to_dict(report: Report) -> dict:
    s = Style()
    claims = []
    for r in report.results:
        b = r.bound
        shape = b.shape
        claims.append({
            "key": b.label,
            "quantity": b.claim.quantity,
            "index": list(b.claim.index) if b.claim.index is not None else None,
            "where": b.claim.where,
            "printed": printed_text(b),
            "status": r.status,
            "cause": r.cause,
            "problems": list(r.problems),
            "true": _nested([float(t.approx) for t in r.truth], shape),
            "true_text": report.truth(r, s),
            "recomputed": (_nested([float(v.approx) for v in r.recomputed.get(False, ())], shape)
                           if r.recomputed.get(False) else None),
            "inherited_from": [report.by_id[i].label for i in r.inherited_from],
            "first_wrong": [report.by_id[i].label for i in r.origins],
            "explanation": report.verdict(r, s),
        })
    return {
        "example": report.derivation.example["name"],
        "claims_file": report.claims_file.path,
        "source": report.claims_file.source,
        "passed": report.exit_status == 0,
        "summary": {"claims": len(report.results), "ok": report.count(OK), "rounding": report.count(ROUNDING),
                    "wrong": report.count(WRONG), "root": report.count(WRONG, "root"),
                    "inherited": report.count(WRONG, "inherited")},
        "claims": claims,
        "lints": [lint.to_dict() for lint in report.lints],
    }


def _nested(values: list[float], shape):
    """Floats in the shape the claim was printed in (a number for a single value)."""
    if shape == ():
        return values[0]
    return np.array(values, dtype=float).reshape(shape).tolist()


def as_json(report: Report) -> str:
    return json.dumps(to_dict(report), indent=2, ensure_ascii=False) + "\n"


# --format name -> function(report) -> str
FORMATS = {
    "text": text,
    "md": markdown,
    "tex": tex,
    "json": as_json,
}
