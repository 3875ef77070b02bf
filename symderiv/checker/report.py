"""A checked claims file: the verdicts, their counts, and the words that explain each one.

The words are built here once (plain text with step names) and reused by every output format,
so the terminal, Markdown, LaTeX and JSON reports cannot tell different stories.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import mpmath

from symderiv.checker.analysis import OK, ROUNDING, WRONG, Result, analyse, exactly
from symderiv.checker.claims import BoundClaim, ClaimsFile, Printed, bind
from symderiv.display import show
from symderiv.numbers import Num, mp
from symderiv.steps import Derivation


@dataclass
class Report:
    """Everything ``symderiv check`` prints, in every format."""

    derivation: Derivation
    claims_file: ClaimsFile
    results: list[Result]
    lints: list = field(default_factory=list)
    note: str = ""                 # e.g. that the command line chose another example than the file

    @property
    def by_id(self) -> dict[int, Result]:
        return {r.id: r for r in self.results}

    def count(self, status: str, cause: str | None = None) -> int:
        return sum(1 for r in self.results if r.status == status and (cause is None or r.cause == cause))

    @property
    def wrong(self) -> list[Result]:
        return [r for r in self.results if r.status == WRONG]

    @property
    def exit_status(self) -> int:
        """0 when every claim holds (rounding included), 1 when any is wrong."""
        return 1 if self.wrong else 0

    def summary(self) -> str:
        n = len(self.results)
        text = (f"{n} claim{'s' if n != 1 else ''}: {self.count(OK)} ok, {self.count(ROUNDING)} rounding, "
                f"{self.count(WRONG)} wrong")
        if self.wrong:
            text += (f" ({self.count(WRONG, 'root')} root error{'s' if self.count(WRONG, 'root') != 1 else ''}, "
                     f"{self.count(WRONG, 'inherited')} inherited)")
        return text

    # -- words ------------------------------------------------------------------------------------------
    def label(self, cid: int) -> str:
        return self.by_id[cid].label

    def labels(self, ids) -> str:
        return _join([self.label(i) for i in ids])

    def printed_text(self, r: Result) -> str:
        return printed_text(r.bound)

    def truth_text(self, r: Result) -> str:
        return values_text(r.truth, r.bound.shape, _distinguishing_digits(r.truth, r.printed))

    def verdict(self, r: Result) -> str:
        """The explanation after the claim, one sentence or a few joined by semicolons."""
        if r.status == OK:
            if r.note == "approx-zero":
                nonzero = tuple(t for t, p in zip(r.truth, r.printed) if p.value == 0 and not exactly(t, p.value))
                shape = (len(nonzero),) if len(nonzero) > 1 else ()
                return f"the value is {values_text(nonzero, shape, 4)}: '≈ 0' holds only to the digits printed"
            if all(exactly(t, p.value) for t, p in zip(r.truth, r.printed)):
                return ""
            return f"is {self.truth_text(r)}"
        parts = [self._what_is_wrong(r)]
        if r.uniform:
            parts.append(self._why(r, r.parts))
        else:
            groups: dict = {}
            for part in r.parts:
                groups.setdefault((part.verdict, part.carried), []).append(part)
            for group in groups.values():
                names = _join([element_label(r.bound, p.position) for p in group])
                parts.append(f"{names}: {self._why(r, group)}")
        if r.origins and set(r.origins) - set(r.inherited_from) - {r.id}:
            parts.append(f"first wrong step: {self.labels(r.origins)}")
        if r.note == "ties":
            parts.append(tie_note(self.derivation, r))
        if r.hint:
            parts.append(r.hint)
        return "; ".join(p for p in parts if p)

    def _what_is_wrong(self, r: Result) -> str:
        truth = self.truth_text(r)
        if "zero" in r.problems:
            return f"the true value is {truth}, not zero"
        if "value" in r.problems:
            rounded = rounded_text(r)
            extra = f" ({rounded} to the digits printed)" if rounded and rounded not in truth else ""
            if "exact" in r.problems or any(p.relation == "=" and p.value != 0 and not exactly(t, p.value)
                                            for t, p in zip(r.truth, r.printed)):
                extra += ", and '=' claims an exact value"
            return f"the true value is {truth}{extra}"
        return f"the true value is {truth}: right to the digits printed, but not exact (write ≈)"

    def _why(self, r: Result, parts: list) -> str:
        first = parts[0]
        used_ids = _union(p.used for p in parts)
        n = len(used_ids)
        used = f"the printed {self.labels(used_ids)} give{'s' if n == 1 else ''}" if used_ids else "its inputs give"
        shown = self._recomputed(r, parts)
        if first.verdict == "rounding":
            return f"explained by rounding: {used} {shown}"
        if first.verdict == "inherited":
            how = "within the rounding of those inputs" if first.within_rounding else "as printed"
            return f"inherited from {self.labels(_union(p.inherited_from for p in parts))}: {used} {shown}, {how}"
        problems = {k for p in parts for k in p.problems}
        if "value" in problems:
            where = "root error: the numbers part from the truth here"
        elif "zero" in problems:
            where = "root error: the value is first taken as exactly 0 here"
        else:
            where = "root error: a rounded value is first written with '=' here"
        if r.unclaimed and "value" in problems:
            where += f" (or in {_join(list(r.unclaimed))}, which no claim covers)"
        exact_ids = _union(p.taken_as_exact for p in parts)
        if exact_ids:
            items = []
            for cid in exact_ids:
                other = self.by_id[cid]
                items.append(f"{other.label} were exactly {printed_text(other.bound, relation=False)} "
                             f"(it is {self.truth_text(other)})")
            what = "0" if "zero" in problems else printed_text(r.bound, relation=False)
            return f"{where}: {what} would be exact only if {_join(items)}"
        if shown and used_ids and (problems & {"value", "zero"}):
            return f"{where}; {used} {shown}"
        return where

    def _recomputed(self, r: Result, parts: list) -> str:
        carried = parts[0].carried
        values = r.recomputed.get(bool(carried)) if carried is not None else None
        if values is None:
            return ""
        positions = [p.position for p in parts]
        digits = _digits(r.printed)
        if len(positions) == len(r.printed) or len(r.printed) == 1:
            return values_text(values, r.bound.shape, digits)
        picked = tuple(values[k] for k in positions)
        return values_text(picked, (len(picked),) if len(picked) > 1 else (), digits)

    def line(self, r: Result) -> str:
        verdict = self.verdict(r)
        head = f"{r.label} {self.printed_text(r)}"
        return f"{r.status:<9} {head}" + (f": {verdict}" if verdict else "")


def check(claims_file: ClaimsFile, derivation: Derivation, lints=(), note: str = "") -> Report:
    """Bind the claims to the derivation and judge each one."""
    bound = bind(claims_file, derivation)
    return Report(derivation, claims_file, analyse(derivation, bound), list(lints), note)


# -- numbers as text ------------------------------------------------------------------------------------
def tie_note(derivation: Derivation, r: Result) -> str:
    """Why a max-pooling gradient is convention-dependent where a window's maximum is tied."""
    step = derivation[r.bound.step]
    pooled_out = step.meta.get("forward") or step.name
    pooled_in = derivation[pooled_out].inputs[0] if pooled_out in derivation and derivation[pooled_out].inputs else "its input"
    cells = _join([f"{pooled_out}[{','.join(str(i) for i in t[1:])}]" for t in step.meta["ties"]])
    return (f"{cells} {'is a tie' if len(step.meta['ties']) == 1 else 'are ties'}: several cells of "
            f"{pooled_in} share the maximum; here the first gets the gradient (conventions differ on "
            "which cell does, but one of them does)")


def _union(groups) -> tuple[int, ...]:
    out: list[int] = []
    for group in groups:
        out += [i for i in group if i not in out]
    return tuple(out)


def element_label(b: BoundClaim, position: int) -> str:
    """``dL/dk[1,1]``: the quantity and the element's index, leaving out axes of length 1."""
    if len(b.elements) == 1:
        return b.label
    index, _ = b.elements[position]
    kept = [str(i) for i, n in zip(index, b.step_shape) if n != 1]
    return f"{b.claim.quantity}[{','.join(kept)}]"


def _join(items: list[str]) -> str:
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _distinguishing_digits(truth, printed) -> int:
    """Enough significant digits that a true value which is not the printed one does not look like it
    (9.6999999984, never 9.700 next to a printed "= 9.7")."""
    digits = _digits(printed)
    while digits < 30:
        if all(exactly(t, p.value) or _parsed(show(t, digits).decimal) != p.value
               for t, p in zip(truth, printed)):
            break
        digits += 1
    return digits


def _parsed(decimal: str):
    import sympy
    try:
        return sympy.Rational(decimal.replace("e", "E")) if "e" not in decimal else sympy.Rational(
            sympy.Float(decimal, 40))
    except (TypeError, ValueError):
        return None


def _digits(printed: tuple[Printed, ...]) -> int:
    """Significant digits for the true value: one more than the claim printed, at least 4."""
    most = 0
    for p in printed:
        digits = len(p.text.lstrip("+-").split("e")[0].replace(".", "").lstrip("0")) or 1
        most = max(most, digits)
    return max(4, most + 1)


def printed_text(b: BoundClaim, relation: bool = True) -> str:
    """The claim as printed: ``≈ 0.462``, ``= [0, 0, 0]``, ``[≈ 0.1, = 0]`` when relations differ."""
    printed = [p for _, p in b.elements]
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
    texts = [s.decimal for s in shown]
    rel = "=" if all(s.relation == "=" for s in shown) else "≈"
    body = texts[0] if (shape == () or len(texts) == 1) else _nest(texts, shape)
    return body if rel == "=" else f"≈ {body}"


def _nest(texts: list[str], shape) -> str:
    shape = tuple(s for s in shape if s != 1) or (len(texts),)
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
    unit = mp.mpf(10) ** p.last_digit
    k = int(mpmath.nint(num.approx / unit))
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
