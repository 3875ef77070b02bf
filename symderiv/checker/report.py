"""A checked claims file: the verdicts, their counts, and the words that explain each one.

The words are built here once and printed through a :class:`Style` (plain text, Markdown,
LaTeX), so the terminal, the Markdown table and the LaTeX errata cannot tell different stories:
a style only decides how a word, a quantity name and a number are written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import mpmath
import sympy

from symderiv.checker.analysis import (INEXACT, OK, ROUNDING, WRONG, Result, analyse, exactly, explanation_key,
                                       tied_pool)
from symderiv.checker.claims import BoundClaim, ClaimsFile, Printed, bind
from symderiv.checker.phrases import op_hint
from symderiv.display import show
from symderiv.numbers import Num, mp
from symderiv.steps import Derivation


class Style:
    """Plain text: words, quantity names and numbers as they are."""

    def t(self, text: str) -> str:          # words
        return text

    def q(self, label: str, symbol: str | None = None, index: str = "") -> str:   # a quantity
        return label

    def n(self, text: str) -> str:          # a number, a vector or a matrix: "≈ [0.1, -0.2]"
        return text

    def f(self, pieces) -> str:             # a formula: text pieces and (label, symbol) quantities
        return "".join(self.t(p) if isinstance(p, str) else self.q(*p) for p in pieces)


@dataclass
class Report:
    """Everything ``symderiv check`` prints, in every format."""

    derivation: Derivation
    claims_file: ClaimsFile
    results: list[Result]
    lints: list = field(default_factory=list)
    note: str = ""                 # e.g. that the command line chose another example than the file
    strict: bool = False           # an inexact claim ("=" before a rounded value) fails too

    def __post_init__(self):
        self.by_id = {r.id: r for r in self.results}

    def count(self, status: str, cause: str | None = None) -> int:
        return sum(1 for r in self.results if r.status == status and (cause is None or r.cause == cause))

    @property
    def wrong(self) -> list[Result]:
        return [r for r in self.results if r.status == WRONG]

    @property
    def inexact(self) -> list[Result]:
        return [r for r in self.results if r.status == INEXACT]

    @property
    def failed(self) -> list[Result]:
        """The claims that fail: the wrong ones, and with ``strict`` the inexact ones too."""
        return [r for r in self.results if fails(r.status, self.strict)]

    @property
    def exit_status(self) -> int:
        """0 when every claim holds (rounding and inexact included, unless strict), 1 otherwise."""
        return 1 if self.failed else 0

    def summary(self) -> str:
        n = len(self.results)
        text = (f"{n} claim{'s' if n != 1 else ''}: {self.count(OK)} ok, {self.count(ROUNDING)} rounding, "
                f"{self.count(INEXACT)} inexact, {self.count(WRONG)} wrong")
        if self.wrong:
            roots = self.count(WRONG, "root")
            text += f" ({roots} root error{'s' if roots != 1 else ''}, {self.count(WRONG, 'inherited')} inherited)"
        return text

    # -- words ------------------------------------------------------------------------------------------
    def claim_name(self, r: Result, s: Style) -> str:
        b = r.bound
        return s.q(b.label, self.derivation[b.step].symbol, _index_text(b.claim.index))

    def names(self, ids, s: Style) -> str:
        """The claims' names, each once (two claims of one quantity, ``≈`` and ``=``, are one name)."""
        return _join(self._distinct_names(ids, s), s)

    def _distinct_names(self, ids, s: Style) -> list[str]:
        return list(dict.fromkeys(self.claim_name(self.by_id[i], s) for i in ids))

    def printed(self, r: Result, s: Style) -> str:
        return s.n(printed_text(r.bound))

    def truth(self, r: Result, s: Style) -> str:
        return s.n(values_text(r.truth, r.bound.shape, _distinguishing_digits(r.truth, r.printed)))

    def line(self, r: Result) -> str:
        """One line of the terminal report."""
        s = Style()
        verdict = self.verdict(r, s)
        return f"{r.status:<9} {r.label} {printed_text(r.bound)}" + (f": {verdict}" if verdict else "")

    def verdict(self, r: Result, s: Style) -> str:
        """What is wrong and why, as one sentence or a few joined by semicolons ("" for a plain ok)."""
        if r.status == OK:
            return self._ok(r, s)
        return self._what_is_wrong(r, s) + s.t("; ") + self.explanation(r, s)

    def explanation(self, r: Result, s: Style) -> str:
        """Why a claim that does not hold is wrong (root or inherited) or only rounding."""
        if r.status == OK:
            return self._ok(r, s)
        parts = []
        if r.uniform:
            parts.append(self._why(r, r.parts, s))
        else:
            groups: dict = {}
            for part in r.parts:
                groups.setdefault(explanation_key(part), []).append(part)
            for group in groups.values():
                names = _join([self._element_name(r, p.position, s) for p in group], s)
                parts.append(names + s.t(": ") + self._why(r, group, s))
        if r.origins and set(r.origins) - set(r.inherited_from) - {r.id}:
            first = "first inexact step: " if r.status == INEXACT else "first wrong step: "
            parts.append(s.t(first) + self.names(r.origins, s))
        if r.note == "ties":
            parts.append(self._tie_note(r, s))
        hint = self._hint(r, s) if r.hint else ""
        if hint:
            parts.append(hint)
        return s.t("; ").join(parts)

    def _ok(self, r: Result, s: Style) -> str:
        if r.note == "approx-zero":
            nonzero = tuple(t for t, p in zip(r.truth, r.printed) if p.value == 0 and not exactly(t, p.value))
            shape = (len(nonzero),) if len(nonzero) > 1 else ()
            return (s.t("the value is ") + s.n(values_text(nonzero, shape, 4))
                    + s.t(": '≈ 0' holds only to the digits printed"))
        if all(exactly(t, p.value) for t, p in zip(r.truth, r.printed)):
            return ""
        return s.t("is ") + self.truth(r, s)

    def _what_is_wrong(self, r: Result, s: Style) -> str:
        return s.t("the true value is ") + self.correction(r, s)

    def correction(self, r: Result, s: Style) -> str:
        """The true value, with what is wrong about the printed one: ``≈ 0.05689 (0.057 to the digits printed)``."""
        truth = self.truth(r, s)
        if r.status == OK:
            return truth
        if "zero" in r.problems:
            return truth + s.t(", not zero")
        if "value" in r.problems:
            out = truth
            rounded = rounded_text(r)
            shown = values_text(r.truth, r.bound.shape, _distinguishing_digits(r.truth, r.printed))
            if rounded and rounded != shown.removeprefix("≈ "):
                out += s.t(" (") + s.n(rounded) + s.t(" to the digits printed)")
            if any(p.relation == "=" and p.value != 0 and not exactly(t, p.value) for t, p in zip(r.truth, r.printed)):
                out += s.t(", and '=' claims an exact value")
            return out
        return truth + s.t(": right to the digits printed, but not exact (write ≈)")

    def _why(self, r: Result, parts: list, s: Style) -> str:
        first = parts[0]
        used_ids = _union(p.used for p in parts)
        verb = "gives" if len(self._distinct_names(used_ids, s)) == 1 else "give"
        used = (s.t("the printed ") + self.names(used_ids, s) + s.t(f" {verb} ")) if used_ids else s.t("its inputs give ")
        shown = self._recomputed(r, parts)
        if first.verdict == "rounding":
            return s.t("explained by rounding: ") + used + s.n(shown)
        if first.verdict == "inherited":
            how = "within the rounding of those inputs" if first.within_rounding else "as printed"
            return (s.t("inherited from ") + self.names(_union(p.inherited_from for p in parts), s) + s.t(": ")
                    + used + s.n(shown) + s.t(f", {how}"))
        problems = {k for p in parts for k in p.problems}
        if "value" in problems:
            where = s.t("root error: the numbers part from the truth here")
        elif "zero" in problems:
            where = s.t("root error: the value is first taken as exactly 0 here")
        elif all(p.status == INEXACT for p in parts):
            where = s.t("a rounded value is first written with '=' here")
        else:
            where = s.t("root error: a rounded value is first written with '=' here")
        if r.unclaimed and "value" in problems:
            unclaimed = _join([s.q(n, self.derivation[n].symbol) for n in r.unclaimed], s)
            where += s.t(" (or in ") + unclaimed + s.t(", which no claim covers)")
        exact_ids = _union(p.taken_as_exact for p in parts)
        if exact_ids:
            items = []
            for cid in exact_ids:
                other = self.by_id[cid]
                items.append(self.claim_name(other, s) + s.t(" were exactly ")
                             + s.n(printed_text(other.bound, relation=False)) + s.t(" (it is ")
                             + self.truth(other, s) + s.t(")"))
            what = "0" if "zero" in problems else printed_text(r.bound, relation=False)
            return where + s.t(": ") + s.n(what) + s.t(" would be exact only if ") + _join(items, s)
        if shown and used_ids and (problems & {"value", "zero"}):
            return where + s.t("; ") + used + s.n(shown)
        return where

    def _recomputed(self, r: Result, parts: list) -> str:
        values = parts[0].recomputed
        if values is None:
            return ""
        positions = [p.position for p in parts]
        digits = _digits(r.printed)
        if r.uniform or len(positions) == len(r.printed) or len(r.printed) == 1:
            return values_text(values, r.bound.shape, digits)
        picked = tuple(values[k] for k in positions)
        return values_text(picked, (len(picked),) if len(picked) > 1 else (), digits)

    def _element_name(self, r: Result, position: int, s: Style) -> str:
        b = r.bound
        if len(b.elements) == 1:
            return self.claim_name(r, s)
        index, _ = b.elements[position]
        kept = [str(i) for i, n in zip(index, b.step_shape) if n != 1]
        label = f"{b.claim.quantity}[{','.join(kept)}]"
        return s.q(label, self.derivation[b.step].symbol, f"[{','.join(kept)}]")

    def _tie_note(self, r: Result, s: Style) -> str:
        """Why a max-pooling gradient depends on a convention where a window's maximum is tied."""
        pool = tied_pool(self.derivation, self.derivation[r.bound.step])
        out = pool.output
        source = pool.input
        cells = _join([s.q(f"{out}[{','.join(map(str, t[1:]))}]", self.derivation[out].symbol,
                           f"[{','.join(map(str, t[1:]))}]") for t in pool.ties], s)
        many = len(pool.ties) > 1
        where = (s.q(source, self.derivation[source].symbol) if source else s.t("its input"))
        return (cells + s.t(" are ties" if many else " is a tie") + s.t(": several cells of ") + where
                + s.t(" share the maximum; here the first gets the gradient (conventions differ on which cell "
                      "does, but one of them does)"))

    def _hint(self, r: Result, s: Style) -> str:
        hint = r.hint
        if hint[0] == "swap":
            _, cand, name = hint
            return (s.t("the printed numbers are what ") + s.q(cand, self.derivation[cand].symbol)
                    + s.t(" in place of ") + s.q(name, self.derivation[name].symbol) + s.t(" gives"))
        _, ops, op, factor = hint
        return op_hint(self.derivation, r.bound, ops, op, factor, s)


def fails(status: str, strict: bool = False) -> bool:
    """A verdict that fails a check: wrong, and with ``strict`` also inexact."""
    return status == WRONG or (strict and status == INEXACT)


def check(claims_file: ClaimsFile, derivation: Derivation, lints=(), note: str = "", strict: bool = False) -> Report:
    """Bind the claims to the derivation and judge each one (``strict``: inexact claims fail too)."""
    bound = bind(claims_file, derivation)
    return Report(derivation, claims_file, analyse(derivation, bound), list(lints), note, strict)


# -- numbers as text ------------------------------------------------------------------------------------
def _index_text(index) -> str:
    return "" if index is None else "[" + ",".join(map(str, index)) + "]"


def _union(groups) -> tuple[int, ...]:
    """Claim ids of several groups, once each, in the order of the claims file."""
    return tuple(sorted({i for group in groups for i in group}))


def _join(items: list[str], s: Style | None = None) -> str:
    s = s or Style()
    if len(items) <= 2:
        return s.t(" and ").join(items)
    return s.t(", ").join(items[:-1]) + s.t(" and ") + items[-1]


def _distinguishing_digits(truth, printed) -> int:
    """Enough significant digits that a true value which is not the printed one does not look like it
    (9.699999998, never 9.700 next to a printed "= 9.7")."""
    digits = _digits(printed)
    while digits < 30:
        if all(exactly(t, p.value) or _parsed(show(t, digits).decimal) != p.value for t, p in zip(truth, printed)):
            break
        digits += 1
    return digits


def _parsed(decimal: str):
    try:
        return sympy.Rational(decimal) if "e" not in decimal else None
    except (TypeError, ValueError):
        return None


def _digits(printed: tuple[Printed, ...]) -> int:
    """Significant digits for a true value: one more than the claim printed, at least 4."""
    most = 0
    for p in printed:
        digits = len(p.text.lstrip("+-").split("e")[0].replace(".", "").lstrip("0")) or 1
        most = max(most, digits)
    return max(4, most + 1)


def printed_text(b: BoundClaim, relation: bool = True) -> str:
    """The claim as printed: ``≈ 0.462``, ``= [0, 0, 0]``, ``[≈ 0.1, = 0]`` when relations differ."""
    printed = [p for _, p in b.elements]
    if b.broadcast:                 # one printed 0 for every element: shown as printed
        return printed[0].shown() if relation else printed[0].text
    rels = {p.relation for p in printed}
    common = rels.pop() if len(rels) == 1 else None
    texts = [p.text if (common is not None or not relation) else p.shown() for p in printed]
    body = texts[0] if b.shape == () else _nest(texts, b.shape)
    return f"{common} {body}" if (relation and common) else body


def values_text(values, shape, digits: int) -> str:
    """``≈ 0.05689`` or ``≈ [0.05689, -0.1748]``; ``=`` only when every value is shown exactly."""
    if values is None:
        return ""
    shown = [show(v, digits) for v in values]
    texts = [x.decimal for x in shown]
    exact = all(x.relation == "=" for x in shown)
    body = texts[0] if (shape == () or len(texts) == 1) else _nest(texts, shape)
    return body if exact else f"≈ {body}"


def _nest(texts: list[str], shape) -> str:
    shape = tuple(n for n in shape if n != 1) or (len(texts),)
    if len(shape) == 1:
        return "[" + ", ".join(texts) + "]"
    step = len(texts) // shape[0]
    return "[" + "; ".join(", ".join(texts[i:i + step]) for i in range(0, len(texts), step)) + "]"


def rounded_text(r: Result) -> str:
    """The true values rounded to the digits the claim printed (what should have been printed)."""
    out = []
    for t, p in zip(r.truth, r.printed):
        if p.last_digit is None:
            return ""
        out.append(round_to(t, p))
    if all(o == p.text for o, p in zip(out, r.printed)):
        return ""
    return out[0] if len(out) == 1 else _nest(out, r.bound.shape)


def round_to(num: Num, p: Printed) -> str:
    """``num`` written with the same last digit as ``p`` (and in its exponent style)."""
    k = int(mpmath.nint(num.approx / mp.mpf(10) ** p.last_digit))
    if "e" in p.text.lower():
        exponent = int(p.text.lower().split("e")[1])
        places = exponent - p.last_digit
        return f"{k if places == 0 else _fixed(k, places)}e{exponent}"
    places = max(0, -p.last_digit)
    if places == 0:
        return str(k * 10 ** p.last_digit)
    return _fixed(k, places)


def _fixed(k: int, places: int) -> str:
    sign = "-" if k < 0 else ""
    digits = str(abs(k)).rjust(places + 1, "0")
    return f"{sign}{digits[:-places]}.{digits[-places:]}"


_SCI = re.compile(r"(-?\d+(?:\.\d+)?)e([+-]?\d+)")


def tex_numbers(text: str) -> str:
    """A number text as math: ``≈ [1.5e-8; 2]`` -> ``\\approx [1.5 \\cdot 10^{-8};\\allowbreak\\ 2]``
    (plain brackets and break points, so a long vector can wrap inside a paragraph)."""
    out = _SCI.sub(lambda m: rf"{m.group(1)} \cdot 10^{{{int(m.group(2))}}}", text)
    return out.replace("≈", r"\approx").replace(", ", r",\allowbreak ").replace("; ", r";\allowbreak\ ")
