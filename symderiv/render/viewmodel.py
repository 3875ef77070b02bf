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
from symderiv.render import exam, latexnum
from symderiv.render.escape import Tex, check_math, escape_tex
from symderiv.render.substitute import (Context, break_line, clean_chain, formula_for, inline_fractions,
                                        latex_width, split_sum)
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
    section: str = ""              # the key of the section it is shown in ("forward", "backward", ...)
    descent: int = 1               # the gradient-descent step it belongs to
    example: int | None = None     # the example of a batch it belongs to
    family: tuple = ()             # the same quantity at another time, example or descent step has the same family
    small: bool = False            # typeset one font size smaller (a block that fits a slide only so)
    caption_narrow: float = 0.0    # mm more its caption takes in one of two columns (it wraps)
    twin: tuple = ()               # a parameter's step: another parameter's of the same layer has the same twin

    @property
    def topic(self) -> str:
        topic = self.group.split("|")[-1]
        if topic == "conv_backward" and "kernel" not in self.caption:
            return CONVOLUTION            # its bias's gradient, the gradient to its input: not the kernel
        return TOPICS.get(topic, "")

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
    def solutions_caption(self) -> str:
        """The caption as the solution document says it (sections, not slides)."""
        return in_sections(self.caption)

    @property
    def topic(self) -> str:
        return TOPICS.get(self.group, "")

    @property
    def height_mm(self) -> str:
        return f"{self.height:.0f}"


@dataclass
class ValueTable:
    """Values of steps computed the same way as ones worked in full (``--detail compact``).

    ``rows`` hold (label, cells): the label names the instance ("t = 2", "example 2"), each cell is
    ``symbol rel value`` in LaTeX (empty where that instance has no such step).
    """

    name: str
    label: str
    caption: str
    rows: list
    height: float
    width: float
    group: str
    section: str = ""
    descent: int = 1
    time: int | None = None
    example: int | None = None
    notes: list = field(default_factory=list)
    type: str = "table"
    small: bool = False
    header: list = field(default_factory=list)      # column headings (instances), when the table has them
    grid: bool = False             # one paragraph of cells (``rows`` holds one row), wrapped where it must
    stacked: bool = False          # one column of cells per row of ``rows`` (its label the heading), side by side

    @property
    def topic(self) -> str:
        return ""

    @property
    def height_mm(self) -> str:
        return f"{self.height:.0f}"

    @property
    def columns(self) -> int:
        return max((len(cells) for _, cells in self.rows), default=0)


@dataclass
class Section:
    key: str
    title: str
    items: list                     # Block | Figure | ValueTable, in order
    descent: int = 0                # the gradient-descent step (0: the example takes only one)

    @property
    def heading(self) -> str:
        """The title with the descent step when there are several: "Forward pass (descent step 2)"."""
        return f"{self.title} (descent step {self.descent})" if self.descent else self.title


@dataclass(frozen=True)
class Fact:
    """A line of the set-up table: ``value`` is math, or (``text``) words that may wrap."""

    label: str
    value: Tex
    text: bool = False


def fact(label: str, value: Tex) -> Fact:
    """A set-up line; a value that is words only (``\\text{...}``) is set as text, so it can wrap."""
    match = re.fullmatch(r"\\text\{((?:[^{}]|\{[^{}]*\})*)\}", str(value))
    return Fact(label, Tex(match.group(1)), True) if match else Fact(label, value)


@dataclass(frozen=True)
class GivenRow:
    symbol: Tex
    value: Tex
    shape: str
    role: str
    token: str | None
    rows: int
    width: float = 0.0        # estimated width of the table's row in mm (\small)


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
    facts: list                       # Fact per line of the set-up table
    given: list[GivenRow]
    figures: dict[str, Figure]
    sections: list[Section]
    summary: list[Note]
    checks: list[CheckRow]
    tasks: list                       # symderiv.render.exam.Task, one per sub-question
    check_summary: str
    index: int = 1
    setup: str = ""                   # the question's set-up text (the description, or [exam] setup)
    answers: list = field(default_factory=list)   # (letter, [symbol rel value]) per sub-question


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
    "conv_backward": "the kernel",        # the convolution's other backward steps: see Block.topic
}

#: How a slide title names a convolution's backward steps other than the kernel's (the kernel is part of it).
CONVOLUTION = "the convolution"

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


#: Operands get at most this many digits more than asked for, to make their line add up (see below).
EXTRA_DIGITS = 3


def operand_digits(step: Step, derivation: Derivation, digits: int, res_digits: int) -> int:
    """Digits for the values substituted into a step's formula: ``digits``, or more where the numbers
    printed with ``digits`` would give another printed result than the one shown (2 · (−0.35) beside a
    result ≈ −0.69, from −0.345): a reader who redoes the line from the printed numbers gets the
    printed result. Exact operands print exactly, so they never need more."""
    if step.op is None or not step.inputs or any(name not in derivation for name in step.inputs):
        return digits
    inputs = [derivation[name].value for name in step.inputs]
    if all(n.is_rational for value in inputs for n in value.flat):
        return digits
    op = derivation.ops[step.op]
    shown = [show(n, res_digits).decimal for n in step.value.flat]
    for extra in range(EXTRA_DIGITS + 1):
        try:
            printed = [_as_printed(value, digits + extra) for value in inputs]
            redone = op.forward(*printed)
        except Exception:                     # an operation that cannot take the rounded numbers
            return digits
        if [show(n, res_digits).decimal for n in redone.flat] == shown:
            return digits + extra
    return digits


def _as_printed(value: np.ndarray, digits: int) -> np.ndarray:
    """The value as its printed decimals say (exact entries stay exact)."""
    out = np.empty(value.shape, dtype=object)
    for index, num in np.ndenumerate(value):
        out[index] = num if num.is_rational else Num.rational(show(num, digits).decimal)
    return out


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


def tex_rows(text: str) -> int:
    """Text lines a math formula takes: the rows of its tallest matrix (a grid of maps: the rows of its
    rows of maps, one line between them), else 1."""
    best, i = 1, 0
    while True:
        start = text.find(r"\begin{", i)
        if start < 0:
            return best
        env = text[start + 7:text.index("}", start)]
        end, depth, j = None, 0, start
        while j < len(text):
            if text.startswith(r"\begin{", j):
                depth += 1
            elif text.startswith(r"\end{", j):
                depth -= 1
                if depth == 0:
                    end = j
                    break
            j += 1
        if end is None:
            return best
        body = text[text.index("}", start) + 1:end]
        rows = _top_rows(body)
        if env == "matrix":
            count = sum(tex_rows(row) for row in rows) + len(rows) - 1
        else:
            count = len(rows)
        best = max(best, count)
        i = end + 1


def _top_rows(body: str) -> list[str]:
    """A matrix body split at its own row breaks (``\\``), not those of matrices inside it."""
    rows, depth, start, i = [], 0, 0, 0
    while i < len(body):
        if body.startswith(r"\begin{", i):
            depth += 1
        elif body.startswith(r"\end{", i):
            depth -= 1
        elif depth == 0 and body.startswith(r"\\", i):
            rows.append(body[start:i])
            i += 2
            start = i
            continue
        i += 1
    rows.append(body[start:])
    return rows


def _line_height(lhs: str, rhs: str, rows: int | None = None) -> float:
    """mm a display line takes on a slide: fitted (least squares) to the heights LaTeX logs for 250 steps
    of 20 decks, root-mean-square error 2.7 mm per step; matrices of three rows and more by their
    baselines, where the fit had too few of them."""
    tall = any(t in part for part in (lhs, rhs) for t in (r"\frac", r"\sum"))
    rows = max(tex_rows(lhs), tex_rows(rhs))
    if rows > 1:                       # a matrix row is a baseline (4.8 mm); two-row ones overlap the gaps
        wrapped = 2.0 if re.search(r"\\left[(\[]\s*\\begin\{bmatrix\}", rhs) else 0.0  # brackets around a matrix
        return 4.6 * rows + 1.2 + (3.6 if tall and rows == 2 else 0.0) + wrapped
    # a fraction whose symbols carry a superscript and a subscript (\partial a^{f}_{3}) stands taller
    scripted = tall and re.search(r"\\partial [^{}$]*\^\{[^{}]*\}_", lhs + rhs) is not None
    if "bmatrix" in rhs:
        return (9.0 if tall else 7.6) + (1.5 if scripted else 0.0)
    if tall:
        return 9.0 + (1.5 if scripted else 0.0)
    # parentheses sized to content with scripts stand taller: \left(-1.5 \cdot 10^{-8}\right)
    sized = re.search(r"\\left[(\[.][^$]*?[_^][^$]*?\\right", lhs + rhs) is not None
    return 6.0 if sized else 5.5


def block_overhead(caption: str) -> float:
    """mm a block takes besides its lines: the space around the equation, and the caption's line."""
    return 2.4 + (2.4 if caption else 0.0)


def block_for(step: Step, derivation: Derivation, digits: int, width: float, where: str, chain_line: bool = True
              ) -> Block:
    """The printed lines of one computed step."""
    res_digits = _update_digits(step, derivation, digits)
    ctx = Context(derivation, operand_digits(step, derivation, digits, res_digits), width)
    formula = formula_for(step, ctx)
    symbol = check_math(step.symbol, f"{where}: symbol of {step.name}")
    lines: list[Line] = []
    heights: list[float] = []

    limit = rhs_limit(symbol)

    def add(rel: str, rhs: str, rows: int = 1):
        pieces = [rhs] if rhs.startswith(r"\quad ") else break_line(clean_chain(rhs), limit)
        for k, piece in enumerate(pieces):
            lhs = symbol if not lines else Tex("")
            if k:
                rel, piece = "", r"\quad " + piece
            lines.append(Line(lhs, Tex(rel), Tex(piece)))
            heights.append(_line_height(lhs, piece, rows))

    chain = clean_chain(" ".join(step.chain)) if step.chain else ""
    symbolic = formula.symbolic or ""
    if not chain_line and symbolic and not _same_math(symbolic, step.symbol):
        chain = ""                                          # compact: the formula says how, the chain why
    if chain and not _same_math(chain, step.symbol):     # a chain that only restates the symbol is skipped
        add("=", chain)
    if symbolic and not (chain and step.value.size == 1 and _same_math(chain, symbolic)) and symbolic != chain \
            and not _same_math(symbolic, step.symbol):          # tanh(c_1) = tanh(c_1) says nothing
        for i, part in enumerate(split_sum(symbolic, [], width)):
            if i == 0:
                add("=", part)
            else:
                add("", r"\quad " + part)
    if formula.lines is not None:
        for lhs, rel, rhs, rows in formula.lines:
            rhs = clean_chain(rhs)
            for k, piece in enumerate(break_line(rhs, rhs_limit(lhs or symbol))):
                first = Tex(lhs) if lhs else (symbol if not lines else Tex(""))
                lines.append(Line(first if not k else Tex(""), Tex(rel if not k else ""),
                                  Tex(piece if not k else r"\quad " + piece)))
                heights.append(_line_height(lhs, piece, rows))
        return _finish_block(step, derivation, lines, heights, digits, res_digits, formula, where)
    rel, result, res_rows, _ = _result_line(step, res_digits, formula.exact)
    # the substituted line broken where it is too wide, and a very long one shortened
    substituted = elide_lines([piece.removeprefix(r"\quad ") for part in formula.substituted
                               for piece in break_line(clean_chain(part), limit)])
    if not chain_line and (formula.rows >= COMPACT_ROWS or len(substituted) > 1 or _maps_one_tensor(step, derivation)):
        substituted = []              # compact: values this big, or one just shown, are on the slides before
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


def _maps_one_tensor(step: Step, derivation: Derivation) -> bool:
    """The step applies a function to one vector or matrix (and given settings): its substituted line
    would only repeat that value, shown as the step before's result."""
    computed = [name for name in step.inputs if name in derivation and derivation[name].op is not None]
    return len(computed) == 1 and derivation[computed[0]].value.size > 1 and all(
        derivation[name].kind in (Kind.CONSTANT, Kind.SIZE) for name in step.inputs if name not in computed)


#: A compact deck leaves out substituted lines holding a matrix of this many rows or more.
COMPACT_ROWS = 3
#: A substituted line broken into more pieces than this shows its first and last ones, dots between.
MAX_PIECES = 4


def elide_lines(pieces: list[str]) -> list[str]:
    r"""The pieces of a very long substituted line: the first two, ``+ \dots``, the last one."""
    if len(pieces) <= MAX_PIECES:
        return pieces
    return pieces[:2] + [r"+ \dots"] + pieces[-1:]


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
    height = sum(heights) + block_overhead(caption)
    extra_narrow = caption_lines(caption, CAPTION_CHARS_NARROW) * CAPTION_LINE_MM - CAPTION_LINE_MM
    width = block_width(lines)
    example = example_of(step.name)
    group = f"{step.descent}|{example or ''}|{step.time if step.time is not None else ''}|{step.topic}"
    # the same quantity at another time, example or descent step (captions name the example: "example 2's")
    family = (str(step.kind), step.owner, re.sub(r"\d+", "#", step.role), step.layer, step.parameter, step.topic)
    # another parameter's gradient (or contribution, or update) computed the same way
    twin = (str(step.kind), step.owner) if step.parameter is not None else ()
    block = Block(step.name, safe_label(f"{derivation.example['name']}:{step.name}"), caption, lines, notes, height,
                  step.time, group, str(step.kind), width=width, line_heights=list(heights), descent=step.descent,
                  example=example, family=family, twin=twin)
    block.caption_narrow = extra_narrow
    return block


#: Characters of a caption (\\footnotesize) on a line of one of two columns, and the height of a line (mm).
CAPTION_CHARS_NARROW = 40
CAPTION_LINE_MM = 3.3


def caption_lines(caption: str, per_line: int) -> int:
    return max(1, -(-len(caption) // per_line)) if caption else 0


_EXAMPLE_SUFFIX = re.compile(r"\(n=(\d+)(?:,step=\d+)?\)$")


def example_of(name: str) -> int | None:
    """The example of a batch a step belongs to, from its name's suffix (``z1(n=2)``, ``z1(n=2,step=2)``)."""
    match = _EXAMPLE_SUFFIX.search(name)
    return int(match.group(1)) if match else None


#: How the solution document says what a slide says (figure captions are written for the slides).
SLIDE_WORDS = (("on the previous slides", "in the steps above"), ("the previous slides", "the steps above"),
               ("the previous slide", "the step above"), ("this slide", "this section"), ("slides", "sections"),
               ("slide", "section"))


def in_sections(text: str) -> str:
    """A text written for the slides, as the solution document says it."""
    for old, new in SLIDE_WORDS:
        text = text.replace(old, new)
    return text


#: Width of a slide's line for an equation, in mm, and the layout's estimate of a formula's width in mm
#: from its characters (see :func:`block_width`).
LINE_MM = 138.0


def block_width(lines) -> float:
    """Estimated width in mm of an aligned equation (left sides and right sides in characters)."""
    return (6.5 + 1.25 * max(latex_width(line.lhs) for line in lines)
            + 1.8 * max(latex_width(line.rhs) for line in lines))


def rhs_limit(lhs: str) -> float:
    """Characters a right-hand side may take beside ``lhs`` on a slide's line before it is broken."""
    return max(24.0, (LINE_MM - 6.5 - 1.25 * latex_width(lhs)) / 1.8)


def custom_block(name: str, label: str, caption: str, rows: list[tuple[str, str, str, int]], notes: list[str],
                 group: str, time: int | None = None, kind: str = "forward") -> Block:
    """A block that is not one step: the cells of a convolution or the windows of a pooling, line by line.

    ``rows`` are (lhs, rel, rhs, matrix rows) in LaTeX made by symderiv; ``notes`` plain text.
    """
    lines, heights = [], []
    limit = rhs_limit(max((lhs for lhs, _, _, _ in rows), key=latex_width))
    for lhs, rel, rhs, r in rows:
        for k, piece in enumerate(break_line(rhs, limit)):
            lines.append(Line(Tex(lhs if not k else ""), Tex(rel if not k else ""),
                              Tex(piece if not k else r"\quad " + piece)))
            heights.append(_line_height(lhs, piece, r))
    block_notes = [Note("note", escape_tex(n)) for n in notes if n]
    width = block_width(lines)
    height = sum(heights) + block_overhead(caption)
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
ROLES = {Kind.INPUT: "input", Kind.PARAMETER: "trained", Kind.CONSTANT: "constant"}


def given_rows(derivation: Derivation, digits: int, where: str, settings: bool = True) -> list[GivenRow]:
    """The table of given values; without ``settings`` the layers' sizes, strides and paddings (the
    constants the shape computations read, which the set-up slide states) are left out."""
    targets = {s.inputs[1] for s in derivation.of_kind(Kind.LOSS) if len(s.inputs) > 1}
    shaping = {name for s in derivation.of_kind(Kind.SIZE) for name in s.inputs}
    rows = []
    for step in derivation.of_kind(Kind.INPUT, Kind.PARAMETER, Kind.CONSTANT):
        if not settings and step.kind == Kind.CONSTANT and step.name in shaping:
            continue
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
            shape = " × ".join(step.axes)
            role = "size"
        token = step.token
        symbol = check_math(step.symbol, f"{where}: symbol of {step.name}")
        width = (2.0 * (latex_width(symbol) + value.width) + 1.8 * (len(shape) + len(role) + len(token or "") + 4)
                 + 14.0)
        rows.append(GivenRow(symbol, Tex(value.latex), shape, role, token, value.rows, width))
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
            rel_np = float(check.rel[index]) if check.rel is not None else _rel(float(num.approx), npv)
            rel_fd = float(check.fd_rel[index]) if check.fd_rel is not None else float("nan")
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


# -- sections -------------------------------------------------------------------------------------------
def build_sections(derivation: Derivation, blocks: dict, figs: dict) -> list[Section]:
    """The sections of an example in teaching order: shapes, then per gradient-descent step the forward
    pass, the loss, the backward pass (in time order, latest first), the gradients and the update."""
    from symderiv.render import figures

    descents = sorted({derivation[name].descent for name in blocks})
    several = len(descents) > 1
    sections = []
    for key, title, kinds in SECTIONS:
        for descent in ([descents[0]] if key == "shapes" else descents):
            steps = [s for s in derivation.steps if s.kind in kinds and s.name in blocks
                     and (key == "shapes" or s.descent == descent)]
            if not steps:
                continue
            if key == "backward":
                steps = backward_order(steps, derivation)
            items = [blocks[s.name] for s in steps]
            if descent == descents[0]:        # figures are drawn from the first step's values
                items = figures.place(key, items, figs, derivation)
            for item in items:
                if getattr(item, "type", "") in ("block", "table"):
                    item.section = key
            sections.append(Section(key, title, items, descent if several and key != "shapes" else 0))
    if several:       # one descent step after the other: forward, loss, ..., update, then the next
        order = {key: i for i, (key, _, _) in enumerate(SECTIONS)}
        sections.sort(key=lambda s: (s.descent, order[s.key]))
    return sections


def backward_order(steps: list[Step], derivation: Derivation) -> list[Step]:
    """The backward pass in the order it is computed through time: the latest time step first, and at
    each time the output's steps before the recurrent cell's (steps without a time keep their place)."""
    if not any(s.time is not None for s in steps):
        return steps
    from symderiv.layers.feedforward import TimeDistributedDense
    from symderiv.layers.head import Head

    def rank(step: Step) -> tuple:
        layer = derivation.layer(step.owner) if step.owner else None
        depth = 0 if isinstance(layer, Head) else 1 if isinstance(layer, TimeDistributedDense) else 2
        return (-(step.time if step.time is not None else 0), depth)

    return sorted(steps, key=rank)


# -- --detail compact: one instance in full, the others as tables -------------------------------------------
#: Figures that recap a whole pass (left out of a compact deck).
RECAP_FIGURES = ("forward", "backward")
#: Custom blocks that list every cell of a map (their lines are the same computation, cell by cell).
LISTING_SUFFIXES = (":cells", ":windows")


def _full_time(section: Section) -> int | None:
    """The time step worked in full: the first forward, and backward the last but one (where the
    gradient arrives through the recurrent weight as well as from the output), else the last."""
    times = sorted({i.time for i in section.items if getattr(i, "time", None) is not None})
    if not times:
        return None
    if section.key == "backward":
        return times[-2] if len(times) > 1 else times[-1]
    return times[0]


def compact_section(section: Section, derivation: Derivation, worked: dict | None = None) -> Section:
    """The section with the steps of the other time steps, examples and descent steps as tables of
    values; lists of cells cut to their first line. ``worked`` collects, per section key, the steps'
    families worked in full, so that a later descent step's section is all tables."""
    full_time = _full_time(section)

    def in_full(item) -> bool:
        return ((getattr(item, "time", None) in (None, full_time)) and getattr(item, "example", None) in (None, 1)
                and getattr(item, "descent", 1) == 1)

    shown = {i.family for i in section.items if getattr(i, "type", "") == "block" and in_full(i) and i.family}
    if worked is not None:
        shown |= worked.get(section.key, set())
        worked.setdefault(section.key, set()).update(shown)
    seen_twins = set()
    items, others, twins = [], [], []       # others: other instances' steps; twins: other parameters' (in full)
    place = twin_place = None
    for item in section.items:
        block = getattr(item, "type", "") == "block"
        if block and in_full(item) and item.twin:
            if item.twin in seen_twins:        # the same computation for another parameter: its value will do
                twins.append(item)
                twin_place = len(items) if twin_place is None else twin_place
                continue
            seen_twins.add(item.twin)
        if block and not in_full(item) and item.family in shown:
            others.append(item)
            place = len(items) if place is None else place
            continue
        if block and item.name.endswith(LISTING_SUFFIXES):
            item = first_entries(item, 1)
        elif block and item.name in derivation and derivation[item.name].op == "conv2d_kernel_grad_parts":
            item = first_entries(item, 2)
        items.append(item)
    if others:
        if section.key == "backward" or place is None:
            # after the time step worked in full, whose steps the table repeats
            place = max((k for k, i in enumerate(items) if getattr(i, "type", "") == "block" and in_full(i)
                         and i.family in {b.family for b in others}), default=len(items) - 1) + 1
        tables = value_tables(others, derivation, section.key)
        items[place:place] = tables
        if twin_place is not None and twin_place >= place:
            twin_place += len(tables)
    if twins:
        items[twin_place:twin_place] = value_tables(twins, derivation, section.key)
    return replace(section, items=items)


def first_entries(block: Block, count: int) -> Block:
    """A block listing many cells (or terms) cut to its first ``count`` entries (lines with a left side,
    with their continuation lines), with a note that the others follow the same way."""
    starts = [i for i, line in enumerate(block.lines) if str(line.lhs)] + [len(block.lines)]
    if len(starts) <= count + 1:
        return block
    end = starts[count]
    rest = len(starts) - 1 - count
    words = "window" if block.name.endswith(":windows") else "term" if "(" in block.name else "cell"
    note = Note("note", escape_tex(f"The other {rest} {words}{'s' if rest > 1 else ''} are computed the same way "
                                   f"(their values are in the result)."))
    notes = [n for n in block.notes if n.kind != "note"] + [note]
    height = sum(block.line_heights[:end]) + block_overhead(block.caption) + sum(_note_height(n) for n in notes)
    return replace(block, lines=block.lines[:end], line_heights=block.line_heights[:end], notes=notes,
                   height=height, height_narrow=height + 4.0, width=block_width(block.lines[:end]))


#: Width of a table of values on a slide, in mm, and the estimated width of one character of a cell.
TABLE_WIDTH = 140.0
CELL_MM = 1.5


def _instance_label(block: Block) -> str:
    parts = []
    if block.descent > 1:
        parts.append(f"descent step {block.descent}")
    if block.example is not None:
        parts.append(f"example {block.example}")
    if block.time is not None:
        parts.append(f"t = {block.time}")
    return ", ".join(parts)


def value_tables(blocks: list[Block], derivation: Derivation, section: str) -> list[ValueTable]:
    """Tables of the tabled blocks, each cell ``symbol rel value``: the quantities of one instance (other
    parameters' gradients) as a paragraph of cells; several instances with more quantities than instances
    as one column per instance ("t = 3"), side by side as far as they fit; else one row per instance.
    LaTeX wraps cells and columns that do not fit a line; the heights planned assume the widths estimated."""
    families, rows = [], {}
    for block in blocks:
        if block.family not in families:
            families.append(block.family)
        rows.setdefault(_instance_label(block), {})[block.family] = block
    cells = {}
    for label, by_family in rows.items():
        for family, block in by_family.items():
            result = block.lines[-1]
            symbol = inline_fractions(str(block.lines[0].lhs))
            cells[(label, family)] = Tex(f"{symbol} {result.rel} {result.rhs}")
    width_of = {key: _cell_mm(cell) for key, cell in cells.items()}
    first = blocks[0]
    key = f"{first.name}:table"
    caption = ("the same steps for the other parameters" if len(rows) == 1 and first.twin else
               "the same steps at the other time steps" if first.time is not None and first.example is None
               and first.descent == 1 else "the same steps for the other examples" if first.descent == 1
               else f"the same steps with the parameters after descent step {first.descent - 1}")

    def table(k: int, body: list, height: float, width: float, kind: str, header=()) -> ValueTable:
        return ValueTable(f"{key}{k + 1}", safe_label(f"{derivation.example['name']}:{key}{k + 1}"),
                          caption if k == 0 else f"{caption} (continued)", body, height, width,
                          group=f"table|{first.descent}", section=section, descent=first.descent,
                          header=list(header), grid=kind == "grid", stacked=kind == "columns")

    if len(rows) == 1:                      # one instance: its quantities, as many to a line as fit
        label = next(iter(rows))
        lines = _wrap([width_of[(label, f)] for f in families], TABLE_WIDTH)
        height = TABLE_CAPTION + sum(_row_mm([cells[(label, families[i])] for i in line]) for line in lines)
        return [table(0, [("", [cells[(label, f)] for f in families])], height, TABLE_WIDTH, "grid")]
    if len(families) > len(rows):           # one column per instance, as many side by side as fit
        labels = list(rows)
        # (a tenth more than estimated: a column wider than planned wraps to a line of its own, taller)
        widths = [1.1 * max([width_of[(label, f)] for f in families if (label, f) in cells] + [CELL_MM * len(label)])
                  for label in labels]
        # the quantities cut into runs short enough for a slide, each run a table of columns
        runs, run, run_mm = [], [], TABLE_HEAD
        for f in families:
            row_mm = max(_row_mm([cells[(label, f)]]) for label in labels if (label, f) in cells)
            if run and run_mm + row_mm > TABLE_HEIGHT:
                runs.append(run)
                run, run_mm = [], TABLE_HEAD
            run.append(f)
            run_mm += row_mm
        runs.append(run)
        out = []
        for run in runs:
            column_mm = {label: TABLE_HEAD + sum(_row_mm([cells[(label, f)]]) for f in run if (label, f) in cells)
                         for label in labels}
            group, used = [], 0.0
            for line in _wrap(widths, TABLE_WIDTH):
                line_labels = [labels[i] for i in line if any((labels[i], f) in cells for f in run)]
                if not line_labels:
                    continue
                line_mm = max(column_mm[label] for label in line_labels)
                if group and used + line_mm > TABLE_HEIGHT:
                    out.append((group, run, used))
                    group, used = [], 0.0
                group += line_labels
                used += line_mm
            if group:
                out.append((group, run, used))
        return [table(k, [(label, [cells[(label, f)] for f in run if (label, f) in cells]) for label in group],
                      TABLE_CAPTION + used, TABLE_WIDTH, "columns") for k, (group, run, used) in enumerate(out)]
    # one row per instance: a tabular whose columns are the quantities (cut into several when too wide)
    label_width = CELL_MM * max(len(label) for label in rows) + 4.0
    widths = {f: max(width_of[(l, f)] for l in rows if (l, f) in cells) for f in families}
    chunks = [[families[i] for i in line] for line in _wrap([widths[f] for f in families], TABLE_WIDTH - label_width)]
    tables = []
    for chunk in chunks:
        body = [(label, [cells.get((label, f), Tex("")) for f in chunk]) for label, by_family in rows.items()
                if any(f in by_family for f in chunk)]
        pieces, piece, used = [], [], 0.0
        for row in body:
            if piece and used + _row_mm(row[1]) > TABLE_HEIGHT:
                pieces.append((piece, used))
                piece, used = [], 0.0
            piece.append(row)
            used += _row_mm(row[1])
        pieces.append((piece, used))
        for piece, used in pieces:
            tables.append(table(len(tables), piece, TABLE_CAPTION + used,
                                label_width + sum(widths[f] for f in chunk), "rows"))
    return tables


#: A table of values holds rows up to this height (mm) before it continues in another; its caption, and
#: a column's heading, take this much more.
TABLE_HEIGHT = 52.0
TABLE_CAPTION = 4.0
TABLE_HEAD = 4.5


def _wrap(widths: list[float], limit: float) -> list[list[int]]:
    """Indices of items of ``widths`` in lines no wider than ``limit`` (an item wider goes alone)."""
    lines, line, used = [], [], 0.0
    for i, w in enumerate(widths):
        if line and used + w > limit:
            lines.append(line)
            line, used = [], 0.0
        line.append(i)
        used += w + 7.5          # the space between cells (2em)
    lines.append(line)
    return lines


def _row_mm(row: list) -> float:
    """mm a line of cells takes at \\small: its tallest matrix."""
    return 4.0 * max((_cell_rows(c) for c in row), default=1) + 1.5


def _cell_mm(cell: str) -> float:
    """Estimated width (mm) of a table cell at \\small: sub- and superscripts count less than the line."""
    scripts = sum(len(m) for m in re.findall(r"[_^]\{([^{}]*)\}", cell))
    return CELL_MM * (latex_width(cell) - 0.4 * scripts) + 4.0


def _cell_rows(cell: str) -> int:
    """Text lines a cell takes: a column vector or a matrix its rows."""
    match = re.search(r"\\begin\{bmatrix\}(.*?)\\end\{bmatrix\}", cell, re.S)
    return match.group(1).count(r"\\") + 1 if match else 1


# -- the whole example ---------------------------------------------------------------------------------
def example_view(derivation: Derivation, verification, lints=(), digits: int = 4, index: int = 1,
                 width: float = SLIDE_WIDTH, detail: str = "full") -> ExampleView:
    """Everything the documents show of one example; ``detail="compact"`` works one time step (one
    example of a batch, the first descent step) in full and gives the others as tables of values."""
    from symderiv.render import figures

    ex = derivation.example
    where = f"example {ex['name']}"
    derivation = presentable(derivation, where)
    warnings = vanishing_notes(derivation, digits)
    blocks: dict[str, Block] = {}
    for step in derivation.steps:
        if step.op is None or step.kind in (Kind.INPUT, Kind.PARAMETER, Kind.CONSTANT):
            continue
        block = block_for(step, derivation, digits, width, where, chain_line=detail == "full")
        if step.name in warnings and detail == "full":
            block.notes.append(warnings[step.name])
        blocks[step.name] = block
    summary: list[Note] = []
    for lint in lints:
        text = text_with_math(getattr(lint, "latex", "") or lint.message, f"{where}: lint {lint.name}")
        note = Note("lint", text, f"Teaching note ({lint.name})")
        target = next((s for s in lint.steps if s in blocks), None)
        if target is not None and detail == "full":     # compact: the notes are told once, at the end
            blocks[target].notes.append(note)
        summary.append(note)
    for block in blocks.values():
        block.height_narrow = block.height + block.caption_narrow + sum(_note_height(n, 40) for n in block.notes)
        block.height += sum(_note_height(n) for n in block.notes)

    figs = figures.figures_for(derivation, digits)
    if detail == "compact":           # the passes at a glance repeat what the slides and tables show
        figs = {key: fig for key, fig in figs.items() if key not in RECAP_FIGURES}
    sections = build_sections(derivation, blocks, figs)
    if detail == "compact":
        shown: dict = {}          # section key -> families worked in full (in the first descent step)
        sections = [compact_section(s, derivation, shown) for s in sections]
    vanished = [n for n in warnings if derivation[n].kind == Kind.GRADIENT]
    # compact: the saturation note already names the gradients that vanish through the saturated units
    told = detail == "compact" and any(lint.name == "saturation" for lint in lints)
    if vanished and not told:
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
                         f"{summary_ok['finite_differences']['max_rel_diff']:.1e}). A central difference resolves about "
                         "1e-8 of the loss, so its differences are measured against that where both values "
                         "are smaller; the NumPy differences, against the size of the terms a value is "
                         "computed from where float64 rounding is all that separates them.")
    return ExampleView(
        name=ex["name"], title=ex.get("title") or ex["name"], description=ex.get("description") or "",
        kind=ex["kind"], facts=[fact(label, value) for label, value in figures.facts_for(derivation)],
        given=given_rows(derivation, digits, where, settings=detail == "full"),
        figures=figs, sections=sections, summary=summary,
        checks=check_rows(derivation, verification, where) if verification is not None else [],
        tasks=exam.tasks_for(derivation), check_summary=check_summary, index=index,
        setup=exam.setup_text(derivation), answers=exam.answers(derivation, blocks))


def _note_height(note: Note, per_line: int = 100) -> float:
    """mm a note takes on a slide: a coloured block for warnings and lints, a small line otherwise.

    ``per_line``: characters per line (about 100 across a 16:9 slide, 48 in one of two columns).
    """
    chars = len(re.sub(r"\\[A-Za-z]+|[{}$^_]", "", note.text))
    lines = 1 + chars // per_line
    return (10.0 + 4.0 * lines) if note.kind in ("warning", "lint") else 1.0 + 3.8 * lines
