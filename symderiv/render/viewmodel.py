"""From a derivation (+ verification + lints) to plain data a template only has to print.

Everything a document shows is decided here: which steps form which section, the lines of each
step (symbol = chain rule = formula = substituted values ≈ result), the notes beside them (the
model's own notes, teaching lints, vanishing-gradient warnings), the given values, the figures
and the verification table. Every LaTeX string is a :class:`~symderiv.render.escape.Tex`; every
other string is escaped by the Jinja environment. Nothing here depends on dict or set order
beyond the derivation's own step order, so the same input gives the same document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

import mpmath
import numpy as np

from symderiv.display import show
from symderiv.numbers import Num
from symderiv.render import latexnum
from symderiv.render.escape import Tex, check_math, escape_tex
from symderiv.render.substitute import (Context, clean_chain, formula_for, inline_fractions, latex_width,
                                        split_sum)
from symderiv.steps import Derivation, Kind, Step

#: A gradient smaller than this fraction of the example's largest gradient gets a warning note.
VANISHING_RATIO = mpmath.mpf("1e-6")
#: Width (in characters of digits) of the right-hand side of a slide equation before it is broken.
SLIDE_WIDTH = 64.0


@dataclass
class Line:
    """One line of an aligned derivation: ``lhs rel rhs`` (``lhs`` empty after the first line).

    ``overlay`` is the Beamer slide number from which the line is shown (``--reveal``; 0: always).
    """

    lhs: Tex
    rel: Tex
    rhs: Tex
    overlay: int = 0


@dataclass(frozen=True)
class Note:
    """A remark next to a step: ``kind`` is "note", "warning" (vanishing gradient) or "lint"."""

    kind: str
    text: Tex
    title: str = ""
    type: str = "note"


@dataclass
class Block:
    """One derivation step as it is printed."""

    name: str
    label: str                     # a LaTeX-safe label for \label / \eqref
    caption: str                   # a few plain words: "pre-activation, t = 1"
    lines: list[Line]
    notes: list[Note]
    height: float                  # estimated height on a slide, in mm
    time: int | None
    group: str                     # consecutive blocks of a group share a slide when they fit
    kind: str                      # the step's Kind
    type: str = "block"
    last_overlay: int = 0          # --reveal: the slide on which the block's last line appears
    width: float = 0.0             # estimated width of the equation on a slide, in mm
    height_narrow: float = 0.0     # estimated height in one of two columns (notes wrap more), in mm
    line_heights: list = field(default_factory=list)   # mm per line, to split a block too tall for a slide
    continued: bool = False        # a continuation of the block on the previous slide

    @property
    def topic(self) -> str:
        return TOPICS.get(self.group.split("|")[-1], "")

    @property
    def height_mm(self) -> str:
        return f"{self.height:.0f}"


@dataclass(frozen=True)
class Figure:
    """A TikZ picture with a caption; ``height`` in mm as drawn."""

    key: str
    caption: str
    tikz: Tex
    height: float
    group: str = ""
    type: str = "figure"

    @property
    def label(self) -> str:
        return f"figure-{self.key}"

    @property
    def topic(self) -> str:
        return TOPICS.get(self.group, "")

    @property
    def height_mm(self) -> str:
        return f"{self.height:.0f}"


@dataclass
class Section:
    key: str
    title: str
    items: list                     # Block | Figure | Note, in order


@dataclass(frozen=True)
class GivenRow:
    symbol: Tex
    value: Tex
    shape: str
    role: str
    token: str | None
    rows: int


@dataclass(frozen=True)
class CheckRow:
    """One entry of one gradient in the verification appendix."""

    symbol: Tex
    exact: Tex
    numpy: Tex
    fd: Tex
    rel_numpy: Tex
    rel_fd: Tex


@dataclass
class ExampleView:
    name: str
    title: str
    description: str
    kind: str
    facts: list[tuple[str, Tex]]
    given: list[GivenRow]
    figures: dict[str, Figure]
    sections: list[Section]
    summary: list[Note]
    checks: list[CheckRow]
    tasks: list[Tex]
    check_summary: str
    index: int = 1


# a layer (step meta "layer", or a group of extra items) -> how a slide title names it
TOPICS = {
    "conv": "convolution",
    "conv-cells": "convolution",
    "activation": "activation",
    "pool": "pooling",
    "pool-cells": "pooling",
    "dropout": "dropout",
    "flatten": "flatten",
    "dense": "dense layer",
    "output": "output layer",
    "pool_backward": "through the pooling",
    "routing": "through the pooling and the activation",
    "conv_backward": "the kernel",
}

SECTIONS = (
    ("shapes", "Shapes", (Kind.SIZE,)),
    ("forward", "Forward pass", (Kind.FORWARD,)),
    ("loss", "Loss", (Kind.LOSS,)),
    ("backward", "Backward pass", (Kind.LOCAL, Kind.BACKWARD)),
    ("gradients", "Gradients of the parameters", (Kind.GRADIENT,)),
    ("update", "Gradient-descent update", (Kind.UPDATE,)),
)

# -- text with inline math ------------------------------------------------------------------------------
def text_with_math(text: str, where: str) -> Tex:
    """Plain text with ``$...$`` math: the text is escaped, the math checked (model notes, lints)."""
    parts = re.split(r"(?<!\\)\$", text)
    if len(parts) % 2 == 0:            # an unpaired $: all of it is text
        return escape_tex(text)
    out = []
    for i, part in enumerate(parts):
        out.append(f"${check_math(part, where)}$" if i % 2 else escape_tex(part))
    return Tex("".join(out))


def safe_label(text: str) -> str:
    """A label made of letters, digits and ``-`` only, unique for distinct step names."""
    out = []
    for ch in text:
        out.append(ch if ch.isascii() and ch.isalnum() else f"-{ord(ch):x}-")
    return "".join(out)


# -- numbers of one step ------------------------------------------------------------------------------
def _max_abs(value: np.ndarray):
    return max((abs(n.approx) for n in value.flat), default=mpmath.mpf(0))


def _update_digits(step: Step, derivation: Derivation, digits: int) -> int:
    """Enough digits that an updated parameter visibly differs from the old one (0.59999995, not 0.6000)."""
    if step.kind != Kind.UPDATE or not step.inputs:
        return digits
    old = derivation[step.inputs[0]].value
    needed = digits
    for new_num, old_num in zip(step.value.flat, old.flat):
        if new_num.approx == old_num.approx:
            continue
        d = digits
        while d < 16 and _printed(new_num, d) == _printed(old_num, d):
            d += 1
        needed = max(needed, d)
    return needed


def _printed(num: Num, digits: int):
    """The number a reader sees (0.6 and 0.6000 are the same number)."""
    return mpmath.mpf(show(num, digits).decimal)


def _result_line(step: Step, digits: int, inputs_exact: bool) -> tuple[str, str, int, float]:
    value = step.value
    rel, latex, width = latexnum.result(value, digits, inputs_exact)
    rows = latexnum.tensor(value, digits).rows if value.size > 1 else 1
    if value.size == 1 and step.value.flat[0].is_zero:
        rel = "="
    return rel, latex, rows, width


def _same_math(a: str, b: str) -> bool:
    def norm(s: str) -> str:
        s = s.replace(r"\odot", "").replace(r"\cdot", "").replace(r"^{\top}", "").replace(r"\,", "")
        return re.sub(r"[\s{}]", "", s)
    return norm(a) == norm(b)


def _line_height(lhs: str, rhs: str, rows: int) -> float:
    """mm a display line takes on a slide (fitted to the heights LaTeX logs for the rendered decks)."""
    tall = any(t in part for part in (lhs, rhs) for t in (r"\frac", r"\sum"))
    if rows > 1:
        return max(8.0 if tall else 0.0, 4.6 * rows + 2.5)
    if "bmatrix" in rhs:
        return 8.0 if tall else 6.6
    return 8.0 if tall else 4.6


def block_for(step: Step, derivation: Derivation, digits: int, width: float, where: str) -> Block:
    """The printed lines of one computed step."""
    ctx = Context(derivation, digits, width)
    formula = formula_for(step, ctx)
    symbol = check_math(step.symbol, f"{where}: symbol of {step.name}")
    lines: list[Line] = []
    heights: list[float] = []

    def add(rel: str, rhs: str, rows: int = 1):
        lhs = symbol if not lines else Tex("")
        rhs = clean_chain(rhs)
        lines.append(Line(lhs, Tex(rel), Tex(rhs)))
        heights.append(_line_height(lhs, rhs, rows))

    chain = clean_chain(" ".join(step.chain)) if step.chain else ""
    symbolic = formula.symbolic or ""
    if chain and not _same_math(chain, step.symbol):     # a chain that only restates the symbol is skipped
        add("=", chain)
    if symbolic and not (chain and step.value.size == 1 and _same_math(chain, symbolic)) and symbolic != chain:
        for i, part in enumerate(split_sum(symbolic, [], width)):
            if i == 0:
                add("=", part)
            else:
                add("", r"\quad " + part)
    res_digits = _update_digits(step, derivation, digits)
    if formula.lines is not None:
        for lhs, rel, rhs, rows in formula.lines:
            rhs = clean_chain(rhs)
            lines.append(Line(Tex(lhs) if lhs else (symbol if not lines else Tex("")), Tex(rel), Tex(rhs)))
            heights.append(_line_height(lhs, rhs, rows))
        return _finish_block(step, derivation, lines, heights, digits, res_digits, formula, where)
    rel, result, res_rows, _ = _result_line(step, res_digits, formula.exact)
    substituted = formula.substituted
    if substituted and not (len(substituted) == 1 and substituted[0].strip() == result.strip()) \
            and not (len(substituted) == 1 and _same_math(substituted[0], symbolic) and formula.exact):
        for i, part in enumerate(substituted):
            if i == 0:
                add("=" if formula.exact else r"\approx", part, formula.rows)
            else:
                add("", r"\quad " + part, formula.rows)
    elif not formula.exact and rel == "=" and not step.value.flat[0].is_zero:
        rel = r"\approx"
    if not formula.exact and rel == "=" and step.value.size == 1 and not step.value.flat[0].is_zero:
        rel = r"\approx"
    add(rel, result, res_rows)
    return _finish_block(step, derivation, lines, heights, digits, res_digits, formula, where)


def _finish_block(step: Step, derivation: Derivation, lines: list, heights: list, digits: int, res_digits: int,
                  formula, where: str) -> Block:
    notes = []
    if step.note:
        notes.append(Note("note", text_with_math(_sentence(step.note), f"{where}: note of {step.name}")))
    if formula.note:
        notes.append(Note("note", escape_tex(formula.note)))
    if res_digits > digits:
        notes.append(Note("note", escape_tex(
            f"The step changes this parameter only in the {_ordinal(res_digits)} significant digit, "
            "so the value is printed with that many digits.")))
    caption = step.role
    if step.time is not None and caption:
        caption = f"{caption}, t = {step.time}"
    height = sum(heights) + (8.0 if caption else 5.0)
    width = (6.5 + 1.25 * max(latex_width(line.lhs) for line in lines)
             + 1.8 * max(latex_width(line.rhs) for line in lines))
    group = f"{step.time if step.time is not None else ''}|{step.topic}"
    return Block(step.name, safe_label(f"{derivation.example['name']}:{step.name}"), caption, lines, notes, height,
                 step.time, group, str(step.kind), width=width, line_heights=list(heights))


def custom_block(name: str, label: str, caption: str, rows: list[tuple[str, str, str, int]], notes: list[str],
                 group: str, time: int | None = None, kind: str = "forward") -> Block:
    """A block that is not one step: the cells of a convolution or the windows of a pooling, line by line.

    ``rows`` are (lhs, rel, rhs, matrix rows) in LaTeX made by symderiv; ``notes`` plain text.
    """
    lines = [Line(Tex(lhs), Tex(rel), Tex(rhs)) for lhs, rel, rhs, _ in rows]
    heights = [_line_height(lhs, rhs, r) for lhs, _, rhs, r in rows]
    block_notes = [Note("note", escape_tex(n)) for n in notes if n]
    width = (6.5 + 1.25 * max(latex_width(line.lhs) for line in lines)
             + 1.8 * max(latex_width(line.rhs) for line in lines))
    height = sum(heights) + (8.0 if caption else 5.0)
    block = Block(name, safe_label(label), caption, lines, block_notes, height, time, group, kind, width=width,
                  line_heights=list(heights))
    block.height_narrow = height + sum(_note_height(n, 40) for n in block_notes)
    block.height = height + sum(_note_height(n) for n in block_notes)
    return block


def _sentence(text: str) -> str:
    text = text.strip()
    text = text[0].upper() + text[1:] if text else text
    return text if text.endswith((".", "!", "?")) else text + "."


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


# -- vanishing gradients ----------------------------------------------------------------------------------
def vanishing_notes(derivation: Derivation, digits: int) -> dict[str, Note]:
    """Warnings for gradients that have practically vanished (< 1e-6 of the largest gradient).

    Every parameter gradient that small gets one, and so does the first backward quantity that
    drops below the threshold (where the lesson starts), naming the local derivative that shrank it.
    """
    gradients = derivation.of_kind(Kind.GRADIENT)
    largest = max((_max_abs(s.value) for s in gradients), default=mpmath.mpf(0))
    if largest == 0:
        return {}
    biggest = max(gradients, key=lambda s: _max_abs(s.value))
    notes: dict[str, Note] = {}
    threshold = largest * VANISHING_RATIO
    first_flow = True
    for step in derivation.steps:
        if step.kind not in (Kind.GRADIENT, Kind.BACKWARD):
            continue
        m = _max_abs(step.value)
        if m == 0 or m >= threshold:
            continue
        ratio = _rough(m / largest)
        big = inline_fractions(biggest.symbol)
        if step.kind == Kind.GRADIENT:
            parameter = step.parameter
            owner = derivation[parameter].symbol if parameter in derivation else None
            text = (rf"This gradient is about ${ratio}$ times the largest gradient (${big}$): it has "
                    "practically vanished" + (rf", so the update leaves ${owner}$ almost where it was."
                                              if owner else "."))
            notes[step.name] = Note("warning", Tex(text), "Vanishing gradient")
        elif first_flow and step.parameter is None:
            first_flow = False
            cause = ""
            for name in step.inputs:
                inp = derivation[name]
                if inp.kind == Kind.LOCAL and 0 < _max_abs(inp.value) < mpmath.mpf("1e-3"):
                    shown = latexnum.tensor(inp.value, digits)
                    cause = (rf" It is shrunk by the local derivative ${inline_fractions(inp.symbol)} \approx "
                             rf"{shown.latex}$: the activation is saturated, its slope almost flat.")
                    break
            where = " through time" if step.time is not None else ""
            text = (rf"From here on, the gradient flowing back{where} is below $10^{{-6}}$ times the "
                    rf"largest gradient (${big}$).{cause}")
            notes[step.name] = Note("warning", Tex(text), "Vanishing gradient")
    return notes


def _rough(x) -> str:
    """One significant digit, as LaTeX: ``2 \\cdot 10^{-7}``."""
    exponent = int(mpmath.floor(mpmath.log10(x)))
    mantissa = int(mpmath.nint(x / mpmath.mpf(10) ** exponent))
    if mantissa == 10:
        mantissa, exponent = 1, exponent + 1
    return rf"{mantissa} \cdot 10^{{{exponent}}}" if mantissa != 1 else rf"10^{{{exponent}}}"


# -- given values ---------------------------------------------------------------------------------------
ROLES = {Kind.INPUT: "input", Kind.PARAMETER: "parameter (trained)", Kind.CONSTANT: "given constant"}


def given_rows(derivation: Derivation, digits: int, where: str) -> list[GivenRow]:
    targets = {s.inputs[1] for s in derivation.of_kind(Kind.LOSS) if len(s.inputs) > 1}
    rows = []
    for step in derivation.of_kind(Kind.INPUT, Kind.PARAMETER, Kind.CONSTANT):
        value = latexnum.tensor(step.value, max(digits, 6))
        if step.axes and step.value.ndim == 1:
            sizes = [latexnum.scalar(n, digits).latex for n in step.value.flat]
            value = latexnum.TexValue(r" \times ".join(sizes), True, 1, 3.0 * len(sizes), False)
        role = ROLES[step.kind]
        if step.name in targets:
            role = "target"
        elif step.kind == Kind.INPUT and step.time is not None:
            role = f"input, t = {step.time}"
        if step.kind == Kind.CONSTANT and step.role:
            role = step.role
        if step.name == "eta":
            role = "learning rate"
        shape = " × ".join(str(n) for n in step.value.shape) if step.value.shape else "scalar"
        if step.axes:
            shape = " and ".join(step.axes)
            role = "given size"
        token = step.token
        rows.append(GivenRow(check_math(step.symbol, f"{where}: symbol of {step.name}"), Tex(value.latex), shape,
                             role, token, value.rows))
    return rows


# -- verification appendix -------------------------------------------------------------------------------
def _float_tex(x: float, digits: int = 10) -> Tex:
    if x != x:                     # NaN: not probed
        return Tex("--")
    if x == 0:
        return Tex("0")
    return Tex(latexnum.scalar(Num.from_approx(mpmath.mpf(x)), digits).latex)


def _rel_tex(r: float) -> Tex:
    if r != r:
        return Tex("--")
    if r == 0:
        return Tex("0")
    exponent = int(mpmath.floor(mpmath.log10(r)))
    mantissa = r / 10.0 ** exponent
    if round(mantissa, 1) >= 10:
        mantissa, exponent = mantissa / 10, exponent + 1
    return Tex(rf"{mantissa:.1f} \cdot 10^{{{exponent}}}")


def check_rows(derivation: Derivation, verification, where: str) -> list[CheckRow]:
    rows = []
    for check in verification.checks:
        if check.kind != Kind.GRADIENT:
            continue
        step = derivation[check.name]
        symbol = inline_fractions(str(check_math(step.symbol, f"{where}: symbol of {step.name}")))
        shape = step.value.shape
        for index in np.ndindex(shape) if shape else [()]:
            num = step.value[index]
            exact_val = Tex(latexnum.scalar(num, 10).latex)
            npv = float(np.asarray(check.numpy)[index]) if np.ndim(check.numpy) else float(check.numpy)
            fdv = float(np.asarray(check.fd)[index]) if check.fd is not None and np.ndim(check.fd) else (
                float(check.fd) if check.fd is not None else float("nan"))
            ref = float(num.approx)
            rel_np = _rel(ref, npv)
            rel_fd = _rel(ref, fdv) if fdv == fdv else float("nan")
            entry = symbol if not shape or step.value.size == 1 else \
                rf"\left[{symbol}\right]_{{{','.join(str(i + 1) for i in index)}}}"
            rows.append(CheckRow(Tex(entry), exact_val, _float_tex(npv), _float_tex(fdv, 7), _rel_tex(rel_np),
                                 _rel_tex(rel_fd)))
    return rows


def _rel(a: float, b: float) -> float:
    m = max(abs(a), abs(b))
    return 0.0 if m == 0 else abs(a - b) / m


def presentable(derivation: Derivation, where: str) -> Derivation:
    """The derivation with every piece of LaTeX a step brings checked and made printable.

    Symbols, formula patterns and chains may use harmless math commands only (a spec's notation
    could otherwise run ``\\input``); the cosmetic fixes of :func:`clean_chain` are applied. The
    values are the same arrays: nothing is recomputed.
    """
    steps = []
    for step in derivation.steps:
        check_math(step.symbol, f"{where}: symbol of {step.name}")
        if step.formula:
            check_math(step.formula.replace("{{", "{").replace("}}", "}"), f"{where}: formula of {step.name}")
        for factor in step.chain:
            check_math(factor, f"{where}: chain rule of {step.name}")
        steps.append(replace(step, symbol=clean_chain(step.symbol), chain=tuple(clean_chain(c) for c in step.chain)))
    return derivation.with_steps(steps)


# -- the whole example ---------------------------------------------------------------------------------
def example_view(derivation: Derivation, verification, lints=(), digits: int = 4, index: int = 1,
                 width: float = SLIDE_WIDTH) -> ExampleView:
    from symderiv.render import figures

    ex = derivation.example
    where = f"example {ex['name']}"
    derivation = presentable(derivation, where)
    warnings = vanishing_notes(derivation, digits)
    blocks: dict[str, Block] = {}
    for step in derivation.steps:
        if step.op is None or step.kind in (Kind.INPUT, Kind.PARAMETER, Kind.CONSTANT):
            continue
        block = block_for(step, derivation, digits, width, where)
        if step.name in warnings:
            block.notes.append(warnings[step.name])
        blocks[step.name] = block
    summary: list[Note] = []
    for lint in lints:
        text = text_with_math(lint.message, f"{where}: lint {lint.name}")
        note = Note("lint", text, f"Teaching note ({lint.name})")
        target = next((s for s in lint.steps if s in blocks), None)
        if target is not None:
            blocks[target].notes.append(note)
        summary.append(note)
    for block in blocks.values():
        block.height_narrow = block.height + sum(_note_height(n, 40) for n in block.notes)
        block.height += sum(_note_height(n) for n in block.notes)

    figs = figures.figures_for(derivation, digits)
    sections = []
    for key, title, kinds in SECTIONS:
        items = [blocks[s.name] for s in derivation.steps if s.kind in kinds and s.name in blocks]
        if not items:
            continue
        items = figures.place(key, items, figs, derivation)
        sections.append(Section(key, title, items))
    vanished = [n for n in warnings if derivation[n].kind == Kind.GRADIENT]
    if vanished:
        items = []
        for name in vanished:
            step = derivation[name]
            items.append(rf"${inline_fractions(step.symbol)} \approx {latexnum.tensor(step.value, digits).latex}$"
                         if step.value.size == 1 else f"${inline_fractions(step.symbol)}$")
        text = ("These gradients have practically vanished (below $10^{-6}$ times the largest gradient): "
                + ", ".join(items) + ". One update step hardly changes the weights they belong to; "
                "the signal that reaches early time steps is too weak to learn from them.")
        summary.append(Note("warning", Tex(text), "Vanishing gradients"))
    summary_ok = verification.summary() if verification is not None else None
    check_summary = ""
    if summary_ok is not None:
        check_summary = (f"{summary_ok['numpy']['quantities']} quantities agree with an independent float64 NumPy "
                         f"computation (largest relative difference {summary_ok['numpy']['max_rel_diff']:.1e}); "
                         f"{summary_ok['finite_differences']['elements_probed']} gradient entries agree with "
                         f"central finite differences (largest relative difference "
                         f"{summary_ok['finite_differences']['max_rel_diff']:.1e}). A central difference is "
                         "accurate to about 1e-8 in absolute terms, so a tiny gradient shows a large relative "
                         "difference there while agreeing in every digit the difference can resolve.")
    return ExampleView(
        name=ex["name"], title=ex.get("title") or ex["name"], description=ex.get("description") or "",
        kind=ex["kind"], facts=figures.facts_for(derivation), given=given_rows(derivation, digits, where),
        figures=figs, sections=sections, summary=summary,
        checks=check_rows(derivation, verification, where) if verification is not None else [],
        tasks=tasks_for(derivation), check_summary=check_summary, index=index)


def _note_height(note: Note, per_line: int = 100) -> float:
    """mm a note takes on a slide: a coloured block for warnings and lints, a small line otherwise.

    ``per_line``: characters per line (about 100 across a 16:9 slide, 48 in one of two columns).
    """
    chars = len(re.sub(r"\\[A-Za-z]+|[{}$^_]", "", note.text))
    lines = 1 + chars // per_line
    return (11.0 + 4.5 * lines) if note.kind in ("warning", "lint") else 1.0 + 3.8 * lines


def tasks_for(derivation: Derivation) -> list[Tex]:
    """What an exam question asks: the quantities to compute, in the order of the solution."""
    def symbols(kinds):
        steps = [s for s in derivation.steps if s.kind in kinds and s.op is not None]
        return ", ".join(f"${s.symbol}$" for s in steps)

    tasks = []
    forward = [s for s in derivation.of_kind(Kind.FORWARD)]
    if forward:
        tasks.append(Tex("Compute the forward pass: " + symbols((Kind.FORWARD,)) + "."))
    if derivation.of_kind(Kind.LOSS):
        tasks.append(Tex("Compute the loss " + symbols((Kind.LOSS,)) + "."))
    grads = derivation.of_kind(Kind.GRADIENT)
    if grads:
        tasks.append(Tex("Derive, with the chain rule, the gradients " + symbols((Kind.GRADIENT,))
                         + " and evaluate them."))
    if derivation.of_kind(Kind.UPDATE):
        eta = derivation["eta"].symbol if "eta" in derivation else r"\eta"
        tasks.append(Tex(rf"Perform one gradient-descent step with learning rate ${eta}$: compute "
                         + symbols((Kind.UPDATE,)) + "."))
    return tasks
