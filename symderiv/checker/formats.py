"""The report of ``symderiv check`` in each output format: terminal text, Markdown, a LaTeX errata
frame and JSON. All of them print the same :class:`~symderiv.checker.report.Report` words; the
registry at the bottom maps ``--format`` names to them.
"""

from __future__ import annotations

import json

import numpy as np

from symderiv.checker.analysis import INEXACT, OK, ROUNDING, WRONG
from symderiv.checker.phrases import tex_text
from symderiv.checker.report import Report, Style, printed_text, tex_numbers


def _header(report: Report) -> str:
    cf = report.claims_file
    what = cf.path or "claims"
    source = f" ({cf.source})" if cf.source else ""
    n = len(report.results)
    strict = " (strict: '=' before a rounded value fails)" if report.strict else ""
    return (f"{n} claim{'s' if n != 1 else ''} of {what}{source} checked against "
            f"{report.derivation.example['name']}{strict}")


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
        verdict = f"**wrong** ({r.cause})" if r.status == WRONG else r.status
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
        math = self._math(label, symbol)
        return f"${math}{index}$" if math else self._name(label)

    def n(self, text: str) -> str:
        return f"${tex_numbers(text)}$"

    def f(self, pieces) -> str:
        """A formula as one piece of math: the quantities' symbols (checked), the operators as commands."""
        return "$" + "".join(tex_text(p) if isinstance(p, str) else self._operand(*p) for p in pieces) + "$"

    def _operand(self, label: str, symbol: str | None) -> str:
        math = self._math(label, symbol)
        return "{" + math + "}" if math else self._name(label)

    def _math(self, label: str, symbol: str | None) -> str | None:
        """The notation symbol, checked; None when there is none or it is not safe LaTeX."""
        if symbol:
            try:
                return str(self._check(symbol, label))
            except Exception:       # a notation symbol that is not safe LaTeX: the name is shown instead
                pass
        return None

    def _name(self, label: str) -> str:
        return r"\texttt{" + self.t(label) + "}"


def tex(report: Report) -> str:
    """An errata frame for a Beamer deck: every wrong claim with its correct value and why, then the
    rounded values printed with '=' (milder: right to their digits, but not exact)."""
    s = TexStyle()
    wrong, inexact = report.wrong, report.inexact
    n = len(report.results)
    source = report.claims_file.source or report.claims_file.path or "the printed material"
    lines = [
        f"% Errata for {_comment(source)}, written by `symderiv check` from {_comment(report.claims_file.path or 'claims')}:",
        f"% {len(wrong)} of {n} printed numbers are wrong, {len(inexact)} rounded but written with '='. Append this",
        "% frame to a Beamer deck (it needs amsmath, which Beamer loads); it runs no shell commands.",
        r"\begin{frame}[allowframebreaks]{" + s.t("Errata") + "}",
        r"\footnotesize",
    ]
    if not wrong and not inexact:
        lines.append(s.t(f"All {n} printed numbers checked hold."))
    if wrong:
        lines.append(s.t(f"{len(wrong)} of the {n} printed numbers checked are wrong ({source}); "
                         "correct values and reasons:"))
        lines += _items(report, wrong, s, reasons=True)
    elif inexact:
        lines.append(s.t(f"None of the {n} printed numbers checked is wrong ({source})."))
    if inexact:
        lines.append(s.t(f"{len(inexact)} {'are' if len(inexact) != 1 else 'is'} right to the digits printed, but "
                         "rounded, so '≈' rather than '=':"))
        lines += _items(report, inexact, s, reasons=False)
    lines.append(r"\end{frame}")
    return "\n".join(lines) + "\n"


def _items(report: Report, results, s: Style, reasons: bool) -> list[str]:
    lines = [r"\begin{itemize}"]
    for r in results:
        place = f" ({s.t(r.bound.claim.where)})" if r.bound.claim.where else ""
        line = r"\item " + report.claim_name(r, s) + place + s.t(": printed ") + report.printed(r, s)
        if reasons:
            line += (s.t("; correct ") + report.correction(r, s) + s.t(". ")
                     + _sentence(report.explanation(r, s)) + s.t("."))
        else:
            line += s.t("; the value is ") + report.truth(r, s) + s.t(".")
        lines.append(line)
    lines.append(r"\end{itemize}")
    return lines


def tex_printed_text(report: Report) -> list[tuple[str, str]]:
    """The claims file's own text the errata frame prints, with its fields: the source and the places."""
    listed = [r.bound.claim for r in (*report.wrong, *report.inexact)]        # as tex() lists them
    fields = [("source", report.claims_file.source)] if listed and report.claims_file.source else []
    fields += [(c.where_field, c.where) for c in listed if c.where]
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
            "inherited_from": _labels(report, r.inherited_from),
            "first_wrong": _labels(report, r.origins),
            "explanation": report.verdict(r, s),
        })
    return {
        "example": report.derivation.example["name"],
        "claims_file": report.claims_file.path,
        "source": report.claims_file.source,
        "passed": report.exit_status == 0,
        "strict": report.strict,
        "summary": {"claims": len(report.results), "ok": report.count(OK), "rounding": report.count(ROUNDING),
                    "inexact": report.count(INEXACT), "wrong": report.count(WRONG),
                    "root": report.count(WRONG, "root"), "inherited": report.count(WRONG, "inherited")},
        "claims": claims,
        "lints": [lint.to_dict() for lint in report.lints],
    }


def _labels(report: Report, ids) -> list[str]:
    """The claims' keys, each once (a quantity printed twice, with ≈ and with =, is one name)."""
    return list(dict.fromkeys(report.by_id[i].label for i in ids))


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
