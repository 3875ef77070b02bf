"""The two middle lines of every derivation step: the formula in symbols, and with the values put in.

Both lines come from the step's formula pattern (:func:`symderiv.formula.fill`): on the symbolic
line an input becomes its symbol, on the substituted line its value. That works for most
operations; a few patterns are written over *entries* (``\\sum_k {0}_k ...``) and would print
nonsense with whole vectors plugged in, so they have their own substitution rule in
:data:`SUBSTITUTIONS` at the bottom (losses, softmax, per-entry fractions). Each rule returns
plain LaTeX plus the size estimates the layout needs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from symderiv.formula import fill
from symderiv.numbers import Num
from symderiv.render import latexnum
from symderiv.render.latexnum import TexValue
from symderiv.steps import Derivation, Step


@dataclass(frozen=True)
class Formula:
    """What sits between the symbol and the result of one step."""

    symbolic: str | None          # the pattern with symbols (None: nothing to show)
    substituted: list[str]        # the pattern with values; several lines when one would be too wide
    exact: bool                   # every value on the substituted line is exact
    rows: int                     # tallest matrix on the substituted line, in text lines
    width: float                  # estimated width of the widest substituted line, in characters
    lines: list | None = None     # (lhs, rel, rhs, rows) lines replacing the substituted and result lines
    note: str = ""                # plain text the rule adds below the step


@dataclass
class Context:
    """What a substitution rule needs besides the step."""

    derivation: Derivation
    digits: int
    max_width: float

    def symbol(self, name: str) -> str:
        return self.derivation[name].symbol

    def value(self, name: str, transposed: bool = False) -> TexValue:
        return latexnum.tensor(self.derivation[name].value, self.digits, transposed)


# -- symbols ----------------------------------------------------------------------------------------
def transpose_symbol(symbol: str) -> str:
    """``W`` -> ``{W}^{\\top}``; a fraction gets parentheses so the ``\\top`` cannot be misread."""
    if r"\frac" in symbol or r"\left" in symbol:
        return rf"\left({symbol}\right)^{{\top}}"
    if "^" in symbol:             # {\tilde{a}^{(1)}}^{\top} is a double superscript to TeX; the {} ends the first
        return rf"{{{symbol}{{}}}}^{{\top}}"
    return rf"{{{symbol}}}^{{\top}}"


def index_symbol(symbol: str, index: str) -> str:
    """An entry of a symbol: ``y_{4}`` -> ``y_{4,k}``, ``x`` -> ``x_{k}``, anything else ``[s]_{k}``."""
    match = re.fullmatch(r"(.*)_\{([^{}]*)\}", symbol)
    if match and "^" not in match.group(1):
        return rf"{match.group(1)}_{{{match.group(2)},{index}}}"
    match = re.fullmatch(r"(.*)_([A-Za-z0-9])", symbol)
    if match and "^" not in match.group(1):
        return rf"{match.group(1)}_{{{match.group(2)},{index}}}"
    if re.fullmatch(r"(\\[A-Za-z]+|[A-Za-z])(\{[^{}]*\})?'*", symbol) or re.fullmatch(r"\\hat\{[A-Za-z]\}", symbol):
        return rf"{symbol}_{{{index}}}"
    if re.fullmatch(r"(\\[A-Za-z]+\{[A-Za-z]\}|[A-Za-z])\^\{[^{}]*\}", symbol):       # z^{(1)} -> z^{(1)}_{k}
        return rf"{symbol}_{{{index}}}"
    return rf"\left[{symbol}\right]_{{{index}}}"


def _group(text: str, start: int) -> int:
    """Index just past the brace group that opens at ``text[start]``."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "{" and (i == 0 or text[i - 1] != "\\"):
            depth += 1
        elif text[i] == "}" and text[i - 1] != "\\":
            depth -= 1
            if depth == 0:
                return i + 1
    raise ValueError(f"unbalanced braces in {text!r}")


def inline_fractions(latex: str) -> str:
    """``\\frac{a}{b}`` -> ``a/b`` (parenthesised when needed), for small places: tables, figures, notes."""
    out, i = "", 0
    while True:
        j = latex.find(r"\frac{", i)
        if j < 0:
            return out + latex[i:]
        a_end = _group(latex, j + 5)
        b_end = _group(latex, a_end)
        num, den = inline_fractions(latex[j + 6:a_end - 1]), inline_fractions(latex[a_end + 1:b_end - 1])
        wrap = lambda t: t if re.fullmatch(r"(\\partial\s*)?[^+\-\s]*", t.strip()) else rf"\left({t}\right)"
        out += latex[i:j] + f"{wrap(num)}/{wrap(den)}"
        i = b_end


#: A negative number right after an operator: ``+ -0.5``, ``\cdot -2``, ``- -1`` (not the sign of a first term).
_BARE_NEGATIVE = re.compile(r"((?:^|\s)[+\-] |\\cdot |\\odot |\\times )-(\d+(?:\.\d+)?(?: \\cdot 10\^\{-?\d+\})?)")


def paren_negatives(latex: str) -> str:
    """Parentheses around a negative number that follows an operator: ``+ \\left(-0.5\\right)``."""
    return _BARE_NEGATIVE.sub(lambda m: rf"{m.group(1)}\left(-{m.group(2)}\right)", latex)


def clean_chain(latex: str) -> str:
    """Model-written LaTeX made to print well (see :data:`COSMETICS`); negative numbers after an
    operator in parentheses."""
    latex = paren_negatives(latex)
    for old, new in COSMETICS:
        latex = latex.replace(old, new)
    # a prime after a superscript (W^{(2)}') is a double superscript: move it inside (W^{(2)\prime})
    return re.sub(r"\^\{([^{}]*)\}('+)", lambda m: "^{" + m.group(1) + r"\prime" * len(m.group(2)) + "}", latex)


#: (as written by a model, as printed): a sum's running index ``t=t`` reads ``t``; amsfonts has no
#: blackboard-bold digits, so the indicator 𝟙 is printed as a bold 1.
COSMETICS = (
    (r"\right|_{t=t}", r"\right|_{t}"),
    (r"\mathbb{1}", r"\mathbf{1}"),
)


def symbolic_line(step: Step, ctx: Context, pattern: str | None = None) -> str:
    pattern = step.formula if pattern is None else pattern
    pieces = _FIELD.split(fill(pattern, lambda i, t: f"\x00{i}{'T' if t else ''}\x00"))
    out = pieces[0]
    for k in range(1, len(pieces), 3):
        symbol = ctx.symbol(step.inputs[int(pieces[k])])
        symbol = transpose_symbol(symbol) if pieces[k + 1] == "T" else symbol
        after = pieces[k + 2]
        if "^" in symbol and after.lstrip().startswith("^"):
            symbol = rf"\left({symbol}\right)"     # z^{(1)} squared: (z^{(1)})^{2}, never a double superscript
        out += symbol + after
    return out


# -- the generic substituted line --------------------------------------------------------------------
_FIELD = re.compile("\x00([0-9]+)(T?)\x00")
_OPEN_PAREN = (r"\left(", "(")


def substitute_pattern(pattern: str, value_of) -> tuple[str, list[TexValue]]:
    """``pattern`` with ``{i}`` replaced by ``value_of(i, False)`` and ``{i:T}`` by ``value_of(i, True)``.

    Adds ``\\cdot`` where a number would otherwise touch the next factor (``0.6 \\cdot 15``,
    ``2 \\cdot \\left(...\\right)``), and parentheses around negative or m·10^e numbers after an
    operator (``0.2 \\cdot \\left(-0.2982\\right)``).
    """
    marked = fill(pattern, lambda i, t: f"\x00{i}{'T' if t else ''}\x00")
    pieces = _FIELD.split(marked)          # literal, index, T, literal, index, T, ..., literal
    out = ""
    used: list[TexValue] = []
    prev: TexValue | None = None
    for k in range(0, len(pieces), 3):
        literal = pieces[k]
        more = k + 1 < len(pieces)
        value = value_of(int(pieces[k + 1]), pieces[k + 2] == "T") if more else None
        if more and value.is_scalar and re.search(r"[0-9]\s*$", literal):
            literal = literal.rstrip() + r" \cdot "            # "2 {2}" with 0 is 2 · 0, not 20
        if prev is not None and prev.is_scalar and re.match(r"\s*[0-9]", literal):
            literal = r" \cdot " + literal.lstrip()
        if prev is not None:
            if literal.strip() == "" and more and (prev.is_scalar or value.is_scalar):
                literal = r" \cdot "                     # a number beside another factor
            elif literal.strip() == r"\odot" and more and prev.is_scalar and value.is_scalar:
                literal = r" \cdot "                     # elementwise product of two numbers
            elif prev.is_scalar and literal.lstrip().startswith(_OPEN_PAREN):
                literal = r" \cdot " + literal.lstrip()  # a number before a parenthesis
        out += literal
        if not more:
            break
        after = pieces[k + 3] if k + 3 < len(pieces) else ""
        out += latexnum.wrap_operand(value, out, after)
        used.append(value)
        prev = value
    return out, used


def generic(step: Step, ctx: Context) -> Formula:
    """Symbols and values through the step's own pattern."""
    text, used = substitute_pattern(step.formula, lambda i, t: ctx.value(step.inputs[i], t))
    exact = all(v.exact for v in used)
    rows = max((v.rows for v in used), default=1)
    return Formula(symbolic_line(step, ctx), split_sum(text, used, ctx.max_width), exact, rows,
                   _width(text, used))


# -- width estimates and line splitting ----------------------------------------------------------------
def _matrix_width(match: re.Match) -> str:
    rows = [r.split("&") for r in match.group(1).split(r"\\")]
    cols = max(len(r) for r in rows)
    widths = [max(latex_width(r[j]) if j < len(r) else 0.0 for r in rows) for j in range(cols)]
    return "x" * int(round(sum(widths) + 2.2 * (cols - 1) + 2.5))


def latex_width(text: str) -> float:
    """A rough printed width of math LaTeX in characters (fractions count their wider part)."""
    text = re.sub(r"\\begin\{bmatrix\}(.*?)\\end\{bmatrix\}", _matrix_width, text, flags=re.S)
    text = _fractions_as_width(text)
    width = 0.0
    for token in re.findall(r"\\[A-Za-z]+|\\.|[^\\]", text):
        if token in (r"\left", r"\right", "{", "}", "^", "_", r"\,", r"\;", r"\!", r"\top", r"\limits"):
            width += 0.3
        elif token.startswith("\\"):
            width += {r"\cdot": 1.2, r"\odot": 2.0, r"\approx": 2.0, r"\operatorname": 0.0,
                      r"\mathbb": 0.0, r"\sigma": 1.0, r"\tanh": 3.0, r"\log": 3.0, r"\sum": 2.0,
                      r"\partial": 1.0, r"\hat": 0.0, r"\quad": 2.0}.get(token, 1.2)
        elif token == " ":
            continue
        elif token in "+-=":
            width += 2.0
        else:
            width += 1.0
    return width


def _group_end(text: str, start: int) -> int:
    """As :func:`_group`, but -1 for a group that does not close (a width estimate need not fail)."""
    try:
        return _group(text, start)
    except ValueError:
        return -1


def _fractions_as_width(text: str) -> str:
    """Each ``\\frac{a}{b}`` replaced by as many placeholder characters as its wider part is wide; its
    parts may nest braces to any depth (``\\partial {z^{(2)}}^{[1]}``, a batch's symbols)."""
    out, i = [], 0
    while True:
        start = text.find(r"\frac{", i)
        if start < 0:
            return "".join(out) + text[i:]
        top = start + len(r"\frac")
        top_end = _group_end(text, top)
        if top_end < 0 or top_end >= len(text) or text[top_end] != "{":
            out.append(text[i:top])
            i = top
            continue
        bottom_end = _group_end(text, top_end)
        if bottom_end < 0:
            return "".join(out) + text[i:]
        wide = max(latex_width(text[top + 1:top_end - 1]), latex_width(text[top_end + 1:bottom_end - 1]))
        out.append(text[i:start] + "x" * int(wide + 1))
        i = bottom_end


def _width(text: str, used: list[TexValue] | None = None) -> float:
    return latex_width(text)


def split_sum(text: str, used: list[TexValue], max_width: float) -> list[str]:
    """One line, or several broken before a top-level ``+``/``-`` when it is wider than ``max_width``."""
    if _width(text, used) <= max_width:
        return [text]
    parts = _top_level_terms(text)
    if len(parts) <= 1:
        return [text]
    lines, current = [], ""
    for part in parts:
        candidate = current + part
        if current and latex_width(candidate) > max_width:
            lines.append(current.rstrip())
            current = part.lstrip()
        else:
            current = candidate
    if current:
        lines.append(current.rstrip())
    return lines


#: Where a line too wide for a slide may be broken, in order of preference: before a sum's terms, before
#: a relation (``= ...``, ``\approx ...``), before a product's factors.
BREAKS = (("+", "-"), ("=", r"\approx"), (r"\cdot", "*", r"\odot", r"\ast"))
#: A tuple of values: ``\left(a,\ b\right)``.
TUPLE_SEPARATOR = r",\ "


def break_line(text: str, max_width: float) -> list[str]:
    """A line wider than ``max_width`` characters broken at top-level operators (see :data:`BREAKS`)
    into pieces that fit where it can; the pieces after the first start with their operator. A tuple
    too wide even so is opened: its parentheses become plain ones and it breaks after its commas."""
    if latex_width(text) <= max_width:
        return [text]
    pieces = _break_at_operators(text, max_width)
    if pieces is not None:
        return pieces
    juxtaposed = _juxtaposed(text)
    if len(juxtaposed) > 1:                # a matrix times a matrix written side by side: one per line
        return [piece for part in juxtaposed for piece in break_line(part, max_width)]
    opened = _open_tuples(text)
    if opened != text:
        lines, current = [], ""
        parts = opened.split(TUPLE_SEPARATOR)
        for k, part in enumerate(parts):
            part = part + ", " if k < len(parts) - 1 else part
            candidate = current + part
            if current and latex_width(candidate) > max_width:
                lines.append(current.rstrip())
                current = part
            else:
                current = candidate
        lines.append(current.rstrip())
        return [piece for line in lines for piece in (_break_at_operators(line, max_width) or [line])]
    return [text]


def _juxtaposed(text: str) -> list[str]:
    """``text`` split between two matrices written side by side at the top level (a product)."""
    parts, depth, start = [], 0, 0
    for i in range(len(text)):
        if text.startswith(r"\left", i) or text.startswith(r"\begin", i):
            depth += 1
        elif text.startswith(r"\right", i) or text.startswith(r"\end", i):
            depth -= 1
        elif depth == 0 and text[i] == " " and text.startswith(r"\begin{bmatrix}", i + 1) \
                and re.search(r"\\end\{bmatrix\}(\^\{\\top\})?$", text[:i]):
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _open_tuples(text: str) -> str:
    r"""Top-level ``\left( ... \right)`` groups that hold a tuple written with plain parentheses (which may
    be broken across lines); groups that are no tuples stay as they are."""
    out, i, depth = "", 0, 0
    while i < len(text):
        if depth == 0 and text.startswith(r"\left(", i):
            end, inner_depth, j = None, 0, i
            while j < len(text):
                if text.startswith(r"\left", j):
                    inner_depth += 1
                elif text.startswith(r"\right", j):
                    inner_depth -= 1
                    if inner_depth == 0:
                        end = j
                        break
                j += 1
            if end is not None and text.startswith(r"\right)", end):
                inner = text[i + 6:end]
                if _has_top_level(inner, TUPLE_SEPARATOR):
                    out += "(" + inner + ")"
                    i = end + 7
                    continue
        if text.startswith(r"\left", i):
            depth += 1
        elif text.startswith(r"\right", i):
            depth -= 1
        out += text[i]
        i += 1
    return out


def _has_top_level(text: str, token: str) -> bool:
    depth = 0
    for i in range(len(text)):
        if text.startswith(r"\left", i) or text.startswith(r"\begin", i):
            depth += 1
        elif text.startswith(r"\right", i) or text.startswith(r"\end", i):
            depth -= 1
        elif depth == 0 and text.startswith(token, i):
            return True
    return False


def _break_at_operators(text: str, max_width: float) -> list[str] | None:
    """``text`` broken before top-level operators into pieces that fit, or None if no operator helps."""
    if latex_width(text) <= max_width:
        return [text]
    for operators in BREAKS:
        parts = _top_level_terms(text, operators)
        if len(parts) <= 1:
            continue
        lines, current = [], ""
        for part in parts:
            candidate = current + part
            if current and latex_width(candidate) > max_width:
                lines.append(current.rstrip())
                current = part.lstrip()
            else:
                current = candidate
        lines.append(current.rstrip())
        if len(lines) > 1:
            return [piece for line in lines for piece in break_line(line, max_width)]
    return None


def _top_level_terms(text: str, operators=("+", "-")) -> list[str]:
    """``a + b - c`` split before each top-level ``+``/``-`` (or other ``operators`` written between
    spaces), not inside braces or \\left..\\right."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(text):
        if text.startswith(r"\left", i):
            depth += 1
            i += 5
            continue
        if text.startswith(r"\right", i):
            depth -= 1
            i += 6
            continue
        if text.startswith(r"\begin", i):
            depth += 1
        elif text.startswith(r"\end", i):
            depth -= 1
        ch = text[i]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif depth == 0 and i > 0 and text[i - 1] == " " and ch != " ":
            op = next((o for o in operators if text.startswith(o + " ", i) and (o[0] != "\\"
                       or not text[i + len(o):i + len(o) + 1].isalpha())), None)
            if op is not None and text[start:i].strip():
                parts.append(text[start:i])
                start = i
                i += len(op)
                continue
        i += 1
    parts.append(text[start:])
    return [p for p in parts if p.strip()]


# -- rules for patterns written over entries -------------------------------------------------------------
def _entries(value: np.ndarray) -> list[Num]:
    return list(value.flat)


def _num(num: Num, ctx: Context) -> TexValue:
    return latexnum.scalar(num, ctx.digits)


def _paren(v: TexValue) -> str:
    return rf"\left({v.latex}\right)" if (v.negative or v.scientific) else v.latex


def _loss_formula(symbolic: str, terms: list[str], used: list[TexValue], ctx: Context, prefix: str = "",
                  suffix: str = "") -> Formula:
    if len(terms) == 1:
        text = prefix + terms[0] + suffix
    else:
        text = prefix + r"\left(" + " + ".join(terms) + r"\right)" + suffix
    text = text.replace("+ -", "- ")
    lines = split_sum(text, used, ctx.max_width) if len(terms) > 1 else [text]
    return Formula(symbolic, lines, all(v.exact for v in used), 1, _width(text, used))


def _squared_error(step: Step, ctx: Context, mean: bool, half: bool = False) -> Formula:
    pred, target = step.inputs
    p, t = ctx.derivation[pred].value, ctx.derivation[target].value
    k = p.size
    psym, tsym = ctx.symbol(pred), ctx.symbol(target)
    used, terms = [], []
    for pn, tn in zip(_entries(p), _entries(t)):
        pv, tv = _num(pn, ctx), _num(tn, ctx)
        used += [pv, tv]
        terms.append(rf"\left({pv.latex} - {_paren(tv) if tv.negative else tv.latex}\right)^{{2}}")
    if k == 1:
        scale = r"\frac{1}{2}" if half else ""
        symbolic = rf"{scale}\left({psym} - {tsym}\right)^{{2}}"
        return _loss_formula(symbolic, terms, used, ctx, prefix=scale)
    scale = rf"\frac{{1}}{{{k}}}" if mean else (r"\frac{1}{2}" if half else "")
    symbolic = rf"{scale}\sum_{{k=1}}^{{{k}}} \left({index_symbol(psym, 'k')} - {index_symbol(tsym, 'k')}\right)^{{2}}"
    return _loss_formula(symbolic, terms, used, ctx, prefix=scale)


def _cross_entropy(step: Step, ctx: Context) -> Formula:
    pred, target = step.inputs
    p, t = ctx.derivation[pred].value, ctx.derivation[target].value
    psym, tsym = ctx.symbol(pred), ctx.symbol(target)
    k = p.size
    used, terms = [], []
    for pn, tn in zip(_entries(p), _entries(t)):
        if tn.is_zero:
            continue                                    # 0 · log p contributes nothing
        pv, tv = _num(pn, ctx), _num(tn, ctx)
        used.append(pv)
        if tn.exact == 1:
            terms.append(rf"\log {pv.latex}")
        else:
            used.append(tv)
            terms.append(rf"{_paren(tv)} \log {pv.latex}")
    symbolic = (rf"-\sum_{{k=1}}^{{{k}}} {index_symbol(tsym, 'k')} \log {index_symbol(psym, 'k')}" if k > 1
                else rf"-{tsym} \log {psym}")
    if not terms:
        return Formula(symbolic, ["0"], True, 1, 1.0)
    return _loss_formula(symbolic, terms, used, ctx, prefix="-")


def _bce(step: Step, ctx: Context, mean: bool) -> Formula:
    pred, target = step.inputs
    p, t = ctx.derivation[pred].value, ctx.derivation[target].value
    psym, tsym = ctx.symbol(pred), ctx.symbol(target)
    k = p.size
    used, terms = [], []
    for pn, tn in zip(_entries(p), _entries(t)):
        pv, tv = _num(pn, ctx), _num(tn, ctx)
        used.append(pv)
        if tn.is_zero:
            terms.append(rf"\log\left(1 - {pv.latex}\right)")
        elif tn.exact == 1:
            terms.append(rf"\log {pv.latex}")
        else:
            used.append(tv)
            terms.append(rf"{_paren(tv)} \log {pv.latex} + \left(1 - {tv.latex}\right)\log\left(1 - {pv.latex}\right)")
    if k == 1:
        symbolic = rf"-\left[{tsym} \log {psym} + \left(1 - {tsym}\right)\log\left(1 - {psym}\right)\right]"
        return _loss_formula(symbolic, terms, used, ctx, prefix="-")
    scale = rf"\frac{{1}}{{{k}}}" if mean else ""
    yk, pk = index_symbol(tsym, "k"), index_symbol(psym, "k")
    symbolic = (rf"-{scale}\sum_{{k=1}}^{{{k}}} \left[{yk} \log {pk} + \left(1 - {yk}\right)"
                rf"\log\left(1 - {pk}\right)\right]")
    return _loss_formula(symbolic, terms, used, ctx, prefix="-" + scale)


def _scaled_difference(numerator: str, mean: bool):
    """``c/K (ŷ − y)`` with K the number of outputs written as a number."""

    def rule(step: Step, ctx: Context) -> Formula:
        k = ctx.derivation[step.inputs[0]].value.size
        factor = numerator if (not mean or k == 1) else rf"\frac{{{numerator}}}{{{k}}}"
        factor = "" if factor == "1" else factor.replace("{", "{{").replace("}", "}}")
        pattern = factor + (r" \left({0} - {1}\right)" if factor else "{0} - {1}")
        formula = generic_with(step, ctx, pattern)
        return formula

    return rule


def generic_with(step: Step, ctx: Context, pattern: str) -> Formula:
    """The generic rule over another pattern (same inputs)."""
    return generic(Step(step.name, step.symbol, step.kind, step.value, step.op, step.inputs, pattern), ctx)


def _softmax(step: Step, ctx: Context) -> Formula:
    (z,) = step.inputs
    zv = ctx.derivation[z].value
    used = [_num(n, ctx) for n in _entries(zv)]
    exps = [rf"e^{{{v.latex}}}" for v in used]
    zs = ctx.symbol(z)
    symbolic = rf"\frac{{e^{{{zs}}}}}{{\sum_{{j}} e^{{{index_symbol(zs, 'j')}}}}}"
    if zv.size == 1:
        return Formula(symbolic, [rf"\frac{{{exps[0]}}}{{{exps[0]}}}"], True, 1, 10.0)
    column = zv.size <= latexnum.COLUMN_MAX
    body = (r" \\ " if column else " & ").join(exps)
    vec = rf"\begin{{bmatrix}} {body} \end{{bmatrix}}" + ("" if column else r"^{\top}")
    denominator = " + ".join(exps)
    text = rf"\frac{{1}}{{{denominator}}} {vec}"
    width = max(latex_width(denominator), 0) + sum(latex_width(e) for e in exps) + 3
    return Formula(symbolic, [text], all(v.exact for v in used), zv.size if column else 1, width)


def _softmax_vjp(step: Step, ctx: Context) -> Formula:
    pattern = r"{0} \odot \left({1} - {0:T} {1}\right)"
    return generic_with(step, ctx, pattern)


def _per_entry(template: str):
    """Substitute entry by entry into a scalar pattern; the line is a vector of filled patterns."""

    def rule(step: Step, ctx: Context) -> Formula:
        arrays = [ctx.derivation[i].value for i in step.inputs]
        pattern = template.replace("<K>", rf"{arrays[0].size} \cdot " if arrays[0].size > 1 else "")
        if arrays[0].size == 1:
            return generic_with(step, ctx, pattern)
        cells, used = [], []
        for index in np.ndindex(arrays[0].shape):
            vals = [_num(a[index] if a.shape == arrays[0].shape else a.flat[0], ctx) for a in arrays]
            text, u = substitute_pattern(pattern, lambda i, t, vals=vals: vals[i])
            cells.append(text)
            used += u
        n = len(cells)
        body = " & ".join(cells)
        text = rf"\begin{{bmatrix}} {body} \end{{bmatrix}}^{{\top}}" if n > 1 else cells[0]
        symbolic = symbolic_line(step, ctx, pattern)
        return Formula(symbolic, [text], all(v.exact for v in used), 2, sum(latex_width(c) for c in cells) + 2 * n)

    return rule


# op -> rule(step, ctx) -> Formula; every other op goes through `generic`
SUBSTITUTIONS = {
    "mse": lambda step, ctx: _squared_error(step, ctx, mean=True),
    "sse": lambda step, ctx: _squared_error(step, ctx, mean=False),
    "half_sse": lambda step, ctx: _squared_error(step, ctx, mean=False, half=True),
    "cross_entropy": _cross_entropy,
    "bce_sum": lambda step, ctx: _bce(step, ctx, mean=False),
    "bce_mean": lambda step, ctx: _bce(step, ctx, mean=True),
    "mse_grad": _scaled_difference("2", mean=True),
    "sse_grad": _scaled_difference("2", mean=False),
    "fused_output_grad_mean": _scaled_difference("1", mean=True),
    "bce_sum_grad": _per_entry(r"\frac{{{0} - {1}}}{{{0} \left(1 - {0}\right)}}"),
    "bce_mean_grad": _per_entry(r"\frac{{{0} - {1}}}{{<K>{0} \left(1 - {0}\right)}}"),
    "softmax": _softmax,
    "softmax_vjp": _softmax_vjp,
}


_ALL_SUBSTITUTIONS: dict = {}


def _substitutions() -> dict:
    """These rules and the convolution ones; imported on first use, because the convolution rules are
    built from the helpers of this module (a module-level import would be circular)."""
    if not _ALL_SUBSTITUTIONS:
        from symderiv.render.cnnrules import CNN_SUBSTITUTIONS
        _ALL_SUBSTITUTIONS.update(SUBSTITUTIONS, **CNN_SUBSTITUTIONS)
    return _ALL_SUBSTITUTIONS


def formula_for(step: Step, ctx: Context) -> Formula:
    """The symbolic and substituted lines of a computed step."""
    rule = _substitutions().get(step.op, generic)
    return rule(step, ctx)
