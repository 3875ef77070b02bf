"""Figures of a recurrent network, unrolled through time, with the example's values on the nodes.

The structure is read from the layers' records (which step is a pre-activation, a hidden state, an
output), so stacked layers, many-to-many outputs and renamed parameters draw without special cases:

* ``architecture``: inputs, initial state, weights on the edges, target (set-up slide);
* ``forward``: the same picture with every hidden state, output and the loss filled in;
* ``backward``: the gradient reaching each hidden state, flowing right to left (and down the stack),
  so a vanishing gradient is visible at a glance.

Two layouts. One unit in one layer over a few steps (the lecture's examples) is drawn *classic*:
wide columns, every value on one line, every weight with its value on every edge. Anything bigger
is drawn *compact*: vectors as small columns, each weight named once, columns as wide as their
widest node; when even that is wider than a slide, the middle time steps are left out (a column of
dots) and the caption says which. Cells with gates (LSTM, GRU) are drawn by
:mod:`symderiv.render.figures_gated`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from symderiv.render.escape import Tex, check_math, escape_tex
from symderiv.render.figures import (CHAR_CM, COMPACT_FONT, FIGURE_DIGITS, LINE_CM, WIDE_LINE, Piece, column_piece,
                                     compact, figure_height, lines, math_piece, relation, slide_height, text_piece,
                                     value_piece)
from symderiv.render.substitute import inline_fractions, latex_width
from symderiv.render.viewmodel import Figure
from symderiv.layers.feedforward import TimeDistributedDense
from symderiv.layers.head import Head
from symderiv.layers.recurrent import Recurrent
from symderiv.steps import Derivation, Step

#: Widest picture (cm) drawn with every time step; a slide's line is 14.4 cm, a little shrinking is fine.
MAX_WIDTH = 17.0
#: Horizontal room (cm) between the nodes of neighbouring columns, and between rows (arrows, labels).
GAP = 0.4
ROW_GAP = 0.65
#: Least room (cm) between the nodes of the classic layout (its labels sit above the nodes, not between).
CLASSIC_GAP = 0.25
#: Tallest picture (cm, as a slide shows it) drawn whole; a taller stack is drawn one level at a time.
MAX_SLIDE_HEIGHT = 5.6
#: Length (cm) of the arrows to (and from) the level above when a figure shows the lower levels only.
STUB = 0.6
#: Width (cm) of the column of dots that stands for left-out time steps.
DOTS_WIDTH = 0.7


@dataclass
class Unrolled:
    """The unrolled network: which step is which state at which time."""

    times: list[int]
    layers: list[int]
    pre: dict = field(default_factory=dict)        # (t, layer) -> pre-activation step
    hidden: dict = field(default_factory=dict)     # (t, layer) -> hidden-state step
    initial: dict = field(default_factory=dict)    # layer -> h_0 step
    inputs: dict = field(default_factory=dict)     # t -> input step
    outputs: dict = field(default_factory=dict)    # t -> output step (z)
    predictions: dict = field(default_factory=dict)  # t -> prediction step (ŷ), when there is one
    targets: dict = field(default_factory=dict)    # t -> target step
    loss: Step | None = None
    w_in: dict = field(default_factory=dict)       # layer -> input weight step
    w_rec: dict = field(default_factory=dict)      # layer -> recurrent weight step
    w_out: Step | None = None
    hidden_size: int = 1


def unrolled(d: Derivation) -> Unrolled:
    """The unrolled network as its layers recorded it (the hidden states of any cell, the Elman cell's
    pre-activations and weights)."""
    found = d.layers_of(Recurrent)
    if not found:
        return Unrolled([], [])
    rnn, names = found[0], found[0].names
    u = Unrolled(list(range(1, rnn.steps + 1)), list(range(1, rnn.levels + 1)))
    elman = "W_hh" in rnn.cell.roles
    for t in u.times:
        u.inputs[t] = d[rnn.inputs[t]]
        for layer in u.layers:
            u.hidden[(t, layer)] = d[names.h(t, layer)[0]]
            if elman:
                u.pre[(t, layer)] = d[names.a(t, layer)[0]]
    for layer in u.layers:
        u.initial[layer] = d[names.h(0, layer)[0]]
        if elman:
            u.w_in[layer] = d[rnn.param("W_xh", layer).name]
            u.w_rec[layer] = d[rnn.param("W_hh", layer).name]
    u.hidden_size = u.initial[1].value.size
    output = d.layers_of(TimeDistributedDense)
    u.w_out = d[output[0].weight.name] if output else None
    for head in d.layers_of(Head):
        for t, out in head.outputs.items():
            u.outputs[t] = d[out.z]
            if out.yhat in d:
                u.predictions[t] = d[out.yhat]
            u.targets[t] = d[out.y]
    u.loss = d["L"] if "L" in d else None
    return u


def math_of(d: Derivation, step: Step) -> str:
    """A step's symbol, checked, with fractions written inline (for a node)."""
    symbol = str(check_math(step.symbol, f"example {d.example['name']}: symbol of {step.name}"))
    return inline_fractions(symbol)


_math = math_of


def _value(step: Step) -> str:
    """``= 15`` / ``\\approx 0.462`` / ``\\in R^{4}`` for the second line of a node."""
    rel = relation(step.value)
    return f"{rel} {compact(step.value)}" if rel else str(compact(step.value))


def _node(d: Derivation, step: Step, values: bool = True) -> str:
    """Symbol, and the value on a second line."""
    return f"${_math(d, step)}$" + (rf"\\ ${_value(step)}$" if values else "")


def _weight_label(d: Derivation, step: Step) -> str:
    if step.value.size == 1:
        return f"${_math(d, step)} {_value(step)}$"
    return f"${_math(d, step)}$"


PREAMBLE = r"""\begin{tikzpicture}[>=Stealth, font=\footnotesize,
  var/.style={draw, rounded corners=2pt, align=center, inner sep=2pt, minimum height=0.8cm, minimum width=1.1cm,
    fill=white},
  rnnin/.style={var, fill=blue!7}, rnnhid/.style={var, fill=orange!12}, rnnout/.style={var, fill=green!10},
  rnnloss/.style={var, fill=red!8}, rnnfix/.style={var, fill=black!5},
  wlab/.style={font=\scriptsize, inner sep=1.5pt, align=center}, grad/.style={->, thick, red!70!black}]"""


def _at(p: tuple[float, float]) -> str:
    return f"({p[0]:.2f},{p[1]:.2f})"


def _node_id(key: tuple) -> str:
    return "-".join(str(k) for k in key)


def _target_text(d: Derivation, y: Step, word: bool = True) -> str:
    """The target in grey: ``target y_4 = 15`` or ``target y_4: "name"`` (without the word when short)."""
    lead = "target " if word else ""
    if y.token:
        return r"{\color{black!60}" + rf"{lead}${_math(d, y)}$: ``{escape_tex(y.token)}''" + "}"
    return r"{\color{black!60}" + f"{lead}${_math(d, y)} {_value(y)}$" + "}"


def _input_text(d: Derivation, step: Step) -> str:
    token = step.token
    if token:
        return rf"${_math(d, step)}$\\ ``{escape_tex(token)}''"
    return _node(d, step)


def _gradient_of(d: Derivation, step: Step) -> Step | None:
    name = f"dL/d{step.name}"
    return d[name] if name in d else None


# -- the classic layout: one unit, one layer, a few steps ---------------------------------------------
def _classic_spacing(u: Unrolled) -> float:
    """Column distance in cm, so the whole picture is about 13.5 cm wide."""
    return max(2.0, min(3.3, 13.5 / (len(u.times) + 1.7)))


def _classic_fits(d: Derivation, u: Unrolled) -> bool:
    """One unit in one layer, and every node and label of every picture fits its column."""
    if len(u.layers) != 1 or u.hidden_size != 1 or len(u.outputs) > 1 or not u.w_in:
        return False
    dx = _classic_spacing(u)
    if (len(u.times) + 1) * dx > MAX_WIDTH:
        return False
    widest = max(CHAR_CM * (len(x.token) + 2) + 0.3 if x.token else CHAR_CM * latex_width(_value(x)) + 0.3
                 for x in u.inputs.values())
    for step in list(u.hidden.values()) + [u.initial[1]]:
        widest = max(widest, CHAR_CM * latex_width(_value(step)) + 0.3)
        grad = _gradient_of(d, step)
        if grad is not None:
            widest = max(widest, CHAR_CM * latex_width(_value(grad)) + 0.3)
    return widest + CLASSIC_GAP <= dx


def _classic_layout(u: Unrolled, dx: float) -> dict:
    """Node positions: column t (0 = initial state), row 0 inputs, rows 1.. layers, then outputs."""
    dy = 1.9
    pos = {}
    for t in u.times:
        pos[("x", t)] = (t * dx, 0.0)
        for layer in u.layers:
            pos[("h", t, layer)] = (t * dx, dy * layer)
    for layer in u.layers:
        pos[("h0", layer)] = (0.0, dy * layer)
    top = dy * (max(u.layers) + 1) + 0.3
    for t in u.outputs:
        pos[("z", t)] = (t * dx, top)
    return pos


def _classic_output(d: Derivation, u: Unrolled, t: int, values: bool) -> str:
    z = u.outputs[t]
    out = [f"${_math(d, z)}$" + (f" ${_value(z)}$" if values else "")]
    if t in u.predictions:
        p = u.predictions[t]
        out.append(f"${_math(d, p)}$" + (f" ${_value(p)}$" if values else ""))
    if t in u.targets:
        out.append(_target_text(d, u.targets[t]))
    return r"\\ ".join(out)


def _classic_picture(d: Derivation, u: Unrolled, mode: str) -> tuple[str, float]:
    dx = _classic_spacing(u)
    pos = _classic_layout(u, dx)
    backward = mode == "backward"
    values = mode == "forward"
    out = [PREAMBLE]
    for layer in u.layers:
        h0 = u.initial[layer]
        out.append(rf"\node[rnnfix] ({_node_id(('h0', layer))}) at {_at(pos[('h0', layer)])} {{{_node(d, h0)}}};")
    for t in u.times:
        out.append(rf"\node[rnnin] ({_node_id(('x', t))}) at {_at(pos[('x', t)])} {{{_input_text(d, u.inputs[t])}}};")
        for layer in u.layers:
            h = u.hidden[(t, layer)]
            grad = _gradient_of(d, h)
            text = (_node(d, grad) if grad is not None else f"${_math(d, h)}$") if backward else _node(d, h, values)
            out.append(rf"\node[rnnhid] ({_node_id(('h', t, layer))}) at {_at(pos[('h', t, layer)])} {{{text}}};")
    for t in sorted(u.outputs):
        grad = _gradient_of(d, u.outputs[t])
        text = (_node(d, grad) if grad is not None else f"${_math(d, u.outputs[t])}$") if backward \
            else _classic_output(d, u, t, values)
        out.append(rf"\node[rnnout] ({_node_id(('z', t))}) at {_at(pos[('z', t)])} {{{text}}};")
    if u.loss is not None and u.outputs:
        last = _node_id(("z", max(u.outputs)))
        out.append(rf"\node[rnnloss, right=7mm of {last}] (L) {{{_node(d, u.loss, values)}}};")
    first = u.times[0]
    for layer in u.layers:
        w_in, w_rec = u.w_in[layer], u.w_rec[layer]
        for t in u.times:
            h = _node_id(("h", t, layer))
            below = _node_id(("x", t)) if layer == 1 else _node_id(("h", t, layer - 1))
            prev = _node_id(("h0", layer)) if t == first else _node_id(("h", t - 1, layer))
            if backward:
                local = f"d{u.hidden[(t, layer)].name}/d{u.pre[(t, layer)].name}"
                label = (rf"$\times\, {_math(d, d[local])}$\\ ${_value(d[local])}$" if local in d else "")
                out.append(rf"\draw[grad] ({h}) -- node[wlab, above=4.5mm, text=red!60!black] {{{label}}} ({prev});")
                out.append(rf"\draw[->, black!30] ({below}) -- ({h});")
                continue
            label = _weight_label(d, w_in) if (t == first or w_in.value.size == 1) else ""
            out.append(rf"\draw[->] ({below}) -- node[wlab, right] {{{label}}} ({h});")
            label = _weight_label(d, w_rec) if (t == first or w_rec.value.size == 1) else ""
            out.append(rf"\draw[->] ({prev}) -- node[wlab, above=4.5mm] {{{label}}} ({h});")
    top = max(u.layers)
    for t in sorted(u.outputs):
        z = _node_id(("z", t))
        h = _node_id(("h", t, top))
        if backward:
            out.append(rf"\draw[grad] ({z}) -- ({h});")
            if u.loss is not None:
                out.append(rf"\draw[grad] (L) to ({z});")
            continue
        label = _weight_label(d, u.w_out) if u.w_out is not None else ""
        out.append(rf"\draw[->] ({h}) -- node[wlab, right] {{{label}}} ({z});")
        if u.loss is not None:
            out.append(rf"\draw[->] ({z}) to (L);")
    out.append(r"\end{tikzpicture}")
    height = 10 * (1.9 * (max(u.layers) + 1) + 0.3) + 22
    return "\n".join(out), height


# -- the compact layout: vectors stacked, weights named once, columns as wide as their nodes -------------
#: A compact node's padding (both sides, cm) and least size.
NODE_PAD = 0.16
MIN_NODE_WIDTH = 0.7
MIN_NODE_HEIGHT = 0.6

COMPACT_PREAMBLE = PREAMBLE.replace(r"font=\footnotesize", COMPACT_FONT).replace(
    "minimum height=0.8cm, minimum width=1.1cm", f"minimum height={MIN_NODE_HEIGHT}cm, minimum width={MIN_NODE_WIDTH}cm"
).replace("rnnfix/.style={var, fill=black!5},", "rnnfix/.style={var, fill=black!5}, rnnbelow/.style={var, dashed},")


def node_width(piece: Piece) -> float:
    return max(MIN_NODE_WIDTH, piece.width + NODE_PAD)


def node_height(piece: Piece) -> float:
    return max(MIN_NODE_HEIGHT, piece.height + NODE_PAD)


@dataclass
class Path:
    """A state carried from one time step to the next (h; an LSTM's c too), drawn as one arrow per step.

    ``offset``: cm above the cell's centre where the arrow leaves and enters a cell; ``initial``: the
    node it starts from; ``label``: on its first edge going forward; ``back``: t -> the factor the
    gradient is multiplied by on its way from step t back to t − 1 (over the arrow), or None.
    """

    initial: str
    offset: float = 0.0
    label: Piece | None = None
    back: dict = field(default_factory=dict)


@dataclass
class Drawing:
    """What a cell contributes to the compact picture: its nodes' contents and the paths between them.

    ``cells[(t, layer)]``: the content of step t's cell; ``initial[layer]``: (node name, content, offset)
    for each initial state; ``paths[layer]``: the states carried through time; ``beside[(t, layer)]``: a
    label beside the arrow under a cell; ``up[layer]``: the label of the first arrow into a layer.
    """

    cells: dict
    initial: dict
    paths: dict
    beside: dict = field(default_factory=dict)
    up: dict = field(default_factory=dict)


def state_piece(d: Derivation, step: Step, mode: str, digits: int = FIGURE_DIGITS) -> Piece:
    """A state: its gradient going backward, its value going forward (an initial state is given, so it
    has its value in the architecture too), else its symbol."""
    if mode == "backward" and step.kind.name != "CONSTANT":
        grad = _gradient_of(d, step)
        return value_piece(grad.value, _math(d, grad), digits) if grad is not None else math_piece(_math(d, step))
    if mode == "forward" or step.kind.name == "CONSTANT":
        return value_piece(step.value, _math(d, step), digits)
    return math_piece(_math(d, step))


def _input_piece(d: Derivation, step: Step, mode: str, digits: int) -> Piece:
    if step.token:
        return lines(math_piece(_math(d, step)), text_piece(f"``{escape_tex(step.token)}''"))
    if mode == "backward":
        return math_piece(_math(d, step))
    return value_piece(step.value, _math(d, step), digits)


def _side_by_side(pieces: list[Piece]) -> Piece:
    """Node pieces next to each other (each a symbol over a column)."""
    cells = " & ".join(r"\begin{tabular}{@{}c@{}}" + p.tex + r"\end{tabular}" for p in pieces)
    spec = "@{}" + r"c@{\quad}" * (len(pieces) - 1) + "c@{}"
    return Piece(rf"\begin{{tabular}}{{{spec}}}{cells}\end{{tabular}}",
                 sum(p.width for p in pieces) + 0.3 * (len(pieces) - 1), max(p.height for p in pieces))


def _target_piece(d: Derivation, y: Step, word: bool) -> Piece:
    lead = "target " if word else ""
    if y.token:
        body = rf"{lead}${_math(d, y)}$: ``{escape_tex(y.token)}''"
        return Piece(r"{\color{black!60}" + body + "}", text_piece(body).width, LINE_CM)
    shown = math_piece(f"{_math(d, y)} {_value(y)}")
    return Piece(r"{\color{black!60}" + lead + shown.tex + "}", shown.width + (0.75 if word else 0.0), LINE_CM)


def _output_piece(d: Derivation, u: Unrolled, t: int, mode: str, many: bool, digits: int) -> Piece:
    z = u.outputs[t]
    if mode == "backward":
        grad = _gradient_of(d, z)
        return value_piece(grad.value, _math(d, grad), digits) if grad is not None else math_piece(_math(d, z))
    steps = [z] + ([u.predictions[t]] if t in u.predictions else [])
    if many and len(steps) > 1 and z.value.size > 1:
        steps = steps[1:]                        # one column per step: the prediction
    if mode == "forward":
        parts = [value_piece(s.value, _math(d, s), digits) for s in steps]
        if len(parts) > 1 and z.value.size > 1:
            parts = [_side_by_side(parts)]
    else:
        parts = [math_piece(", ".join(_math(d, s) for s in steps))]
    if t in u.targets:
        parts.append(_target_piece(d, u.targets[t], word=not many))
    return lines(*parts)


def factor_piece(value, symbol: str = "", operator: str = r"\times", digits: int = FIGURE_DIGITS) -> Piece:
    """A factor written beside an arrow: ``× 0.96``, or the operator over a bracketed column."""
    if value.size == 1:
        if not symbol:
            return math_piece(rf"{operator} {compact(value, digits)}")
        one_line = math_piece(rf"{operator} {symbol} {relation(value, digits)} {compact(value, digits)}")
        if one_line.width <= WIDE_LINE:
            return one_line
        return lines(math_piece(rf"{operator} {symbol} {relation(value, digits)}"), math_piece(compact(value, digits)))
    col = column_piece(value, digits, brackets=True)
    if symbol:
        return lines(math_piece(rf"{operator} {symbol}"), Piece(f"${col.tex}$", col.width, col.height))
    return Piece(rf"${operator} {col.tex}$", col.width + 0.35, col.height)


def weight_piece(d: Derivation, step: Step) -> Piece:
    if step.value.size == 1:
        return math_piece(f"{_math(d, step)} {_value(step)}")
    return math_piece(_math(d, step))


def _label(piece: Piece | None, where: str, colour: str = "") -> str:
    if piece is None:
        return ""
    text = f", text={colour}" if colour else ""
    return rf"node[wlab, {where}{text}] {{{piece.tex}}} "


def elman_drawing(d: Derivation, u: Unrolled, mode: str, digits: int = FIGURE_DIGITS) -> Drawing:
    """The Elman cell: one state h, the weights W_xh (up) and W_hh (along) named on their first edges; going
    backward, each step's local derivative ∂h_t/∂a_t beside the arrow under it."""
    cells = {(t, layer): state_piece(d, u.hidden[(t, layer)], mode, digits) for t in u.times for layer in u.layers}
    initial = {layer: [("h0", state_piece(d, u.initial[layer], mode, digits), 0.0)] for layer in u.layers}
    forward = mode != "backward"
    paths = {layer: [Path("h0", 0.0, weight_piece(d, u.w_rec[layer]) if forward else None)] for layer in u.layers}
    up = {layer: weight_piece(d, u.w_in[layer]) for layer in u.layers} if forward else {}
    beside = {}
    if not forward:
        for (t, layer), step in u.hidden.items():
            local = f"d{step.name}/d{u.pre[(t, layer)].name}"
            if local in d:
                beside[(t, layer)] = factor_piece(d[local].value, digits=digits)
    return Drawing(cells, initial, paths, beside, up)


@dataclass
class _Layout:
    """Where the compact picture puts its columns (x of each time step shown; ``None`` the dots) and rows."""

    shown: list
    xs: dict
    ys: dict
    heights: dict
    width: float
    height: float


def _layout(u: Unrolled, levels: list, drawing: Drawing, inputs: dict, outputs: dict, loss: Piece | None,
            shown: list, many: bool) -> _Layout:
    """Columns as wide as their widest node (a label beside an arrow starts at the column's centre), apart by
    the labels over the arrows between them, spread out when there is room; rows as tall as their tallest
    node, apart by the labels between them."""
    def extent(t) -> tuple[float, float]:
        if t is None:
            return DOTS_WIDTH / 2, DOTS_WIDTH / 2
        half = max([node_width(inputs[t]) / 2] + [node_width(drawing.cells[(t, layer)]) / 2 for layer in levels]
                   + ([node_width(outputs[t]) / 2] if many and t in outputs else []))
        beside = [p.width + 0.15 for (time, layer), p in drawing.beside.items() if time == t and layer in levels]
        return half, max([half] + beside)

    def gap_before(t) -> float:
        over = [p.back.get(t) for layer in levels for p in drawing.paths[layer]]
        over = [w.width + 0.3 for w in over if w is not None]
        if t == shown[0]:
            over += [p.label.width + 0.35 for layer in levels for p in drawing.paths[layer] if p.label is not None]
        return max([GAP] + over)

    first = max(node_width(piece) for layer in levels for _, piece, _ in drawing.initial[layer])
    extents = [extent(t) for t in shown]
    gaps = [gap_before(t) if t is not None else GAP for t in shown]
    natural = first + sum(a + b for a, b in extents) + sum(gaps)
    spread = min(2.6 - GAP, (12.5 - natural) / max(1, len(shown) - 1)) if natural < 12.5 else 0.0
    xs = {0: 0.0}
    x = first / 2
    for k, (t, (left, right), gap) in enumerate(zip(shown, extents, gaps)):
        x += gap + (spread if k else 0.0)
        xs[t] = x + left
        x += left + right
    right = x
    outs = [t for t in outputs if t in xs]
    if outs and not many:
        right = max(right, xs[outs[-1]] + node_width(outputs[outs[-1]]) / 2 + 0.7
                    + (node_width(loss) if loss is not None else 0.0))
    elif outs and loss is not None:
        right += 0.7 + node_width(loss)
    rows = ["x"] + [("h", layer) for layer in levels] + (["z"] if outputs else [])
    heights = {"x": max(node_height(inputs[t]) for t in shown if t is not None)}
    for layer in levels:
        heights[("h", layer)] = max([node_height(drawing.cells[(t, layer)]) for t in shown if t is not None]
                                    + [2 * abs(off) + node_height(p) for _, p, off in drawing.initial[layer]])
    if outputs:
        heights["z"] = max(node_height(outputs[t]) for t in outs)
    ys, y = {}, 0.0
    for k, row in enumerate(rows):
        if k:
            under = [p.height for (t, layer), p in drawing.beside.items() if row == ("h", layer)]
            over = [p.back[t].height + abs(p.offset) for layer in levels for p in drawing.paths[layer]
                    for t in p.back if p.back[t] is not None and rows[k - 1] == ("h", layer)]
            room = max([ROW_GAP] + [h + 0.25 for h in under] + [h - heights[rows[k - 1]] / 2 + 0.3 for h in over])
            y += heights[rows[k - 1]] / 2 + room + heights[row] / 2
        ys[row] = y
    above = 0.5 if many and loss is not None else (STUB if levels[-1] != max(u.layers) else 0.0)
    height = y + heights[rows[0]] / 2 + heights[rows[-1]] / 2 + above
    return _Layout(shown, xs, ys, heights, right + first / 2, height)


def compact_picture(d: Derivation, u: Unrolled, mode: str, drawing_of, levels: list | None = None
                    ) -> tuple[str, tuple, list[int]]:
    """(TikZ, (width, height) in cm, time steps left out) of the compact layout of ``levels`` (default all):
    every time step with three significant digits if that fits, else two, else three with the middle steps
    left out. ``drawing_of(d, u, mode, digits)`` gives the cells' :class:`Drawing`."""
    first = None
    for digits in (FIGURE_DIGITS, FIGURE_DIGITS - 1):
        drawn = _compact_picture(d, u, mode, drawing_of(d, u, mode, digits), digits, levels or list(u.layers))
        if not drawn[2]:
            return drawn
        first = first or drawn
    return first


def _below_piece(d: Derivation, u: Unrolled, t: int, level: int) -> Piece:
    """The input of a level drawn without the levels below it: the state of the level under it."""
    return math_piece(_math(d, u.hidden[(t, level - 1)]))


def _compact_picture(d: Derivation, u: Unrolled, mode: str, drawing: Drawing, digits: int, levels: list
                     ) -> tuple[str, tuple, list[int]]:
    backward = mode == "backward"
    many = len(u.outputs) > 1
    top = max(u.layers)
    bottom = levels[0]
    if bottom == 1:
        inputs = {t: _input_piece(d, u.inputs[t], mode, digits) for t in u.times}
    else:
        inputs = {t: _below_piece(d, u, t, bottom) for t in u.times}
    with_outputs = levels[-1] == top
    outputs = {t: _output_piece(d, u, t, mode, many, digits) for t in u.outputs} if with_outputs else {}
    loss = None
    if u.loss is not None and with_outputs:
        loss = (value_piece(u.loss.value, _math(d, u.loss), digits) if mode == "forward"
                else math_piece(_math(d, u.loss)))
    grid = _layout(u, levels, drawing, inputs, outputs, loss, list(u.times), many)
    keep = len(u.times)
    while grid.width > MAX_WIDTH and keep > 3:
        keep -= 1
        head = max(1, (keep - 1) // 2)
        shown = u.times[:head] + [None] + u.times[len(u.times) - (keep - 1 - head):]
        grid = _layout(u, levels, drawing, inputs, outputs, loss, shown, many)
    shown, xs, ys = grid.shown, grid.xs, grid.ys
    left_out = [t for t in u.times if t not in shown]

    out = [COMPACT_PREAMBLE]
    for layer in levels:
        for name, piece, offset in drawing.initial[layer]:
            out.append(rf"\node[rnnfix] ({name}-{layer}) at {_at((xs[0], ys[('h', layer)] + offset))} {{{piece.tex}}};")
    input_style = "rnnin" if bottom == 1 else "rnnbelow"
    for t in shown:
        if t is None:
            for row in ["x"] + [("h", layer) for layer in levels] + (["z"] if many and outputs else []):
                name = "dots-" + (row if isinstance(row, str) else f"h-{row[1]}")
                out.append(rf"\node ({name}) at {_at((xs[None], ys[row]))} {{$\cdots$}};")
            continue
        out.append(rf"\node[{input_style}] (x-{t}) at {_at((xs[t], ys['x']))} {{{inputs[t].tex}}};")
        for layer in levels:
            out.append(rf"\node[rnnhid, minimum height={grid.heights[('h', layer)] - 0.02:.2f}cm] (h-{t}-{layer}) "
                       rf"at {_at((xs[t], ys[('h', layer)]))} {{{drawing.cells[(t, layer)].tex}}};")
        if t in outputs:
            out.append(rf"\node[rnnout] (z-{t}) at {_at((xs[t], ys['z']))} {{{outputs[t].tex}}};")
    outs = [t for t in sorted(outputs) if t in shown]
    if loss is not None and outs:
        out.append(rf"\node[rnnloss, right=7mm of z-{outs[-1]}] (L) {{{loss.tex}}};")

    def end(name: str, side: str, offset: float) -> str:
        return f"([yshift={offset:.2f}cm]{name}.{side})" if offset else f"({name})"

    def dots_end(layer: int, side: int, offset: float) -> str:
        """A point beside the dots, at a path's height (side -1: left of them, +1: right)."""
        return _at((xs[None] + side * 0.3, ys[("h", layer)] + offset))

    own = {f"{name}-{layer}": offset for layer in levels for name, _, offset in drawing.initial[layer]}
    for layer in levels:
        for k, t in enumerate(shown):
            if t is None:
                continue
            h = f"h-{t}-{layer}"
            below = f"x-{t}" if layer == bottom else f"h-{t}-{layer - 1}"
            beside = drawing.beside.get((t, layer))
            if backward:
                out.append(rf"\draw[->, black!30] ({below}) -- {_label(beside, 'right', 'red!60!black')}({h});"
                           if layer == 1 else rf"\draw[grad] ({h}) -- {_label(beside, 'right', 'red!60!black')}"
                                              rf"({below});")
            else:
                up = drawing.up.get(layer) if k == 0 else None
                out.append(rf"\draw[->] ({below}) -- {_label(up, 'right')}({h});")
            previous = shown[k - 1] if k else 0
            for path in drawing.paths[layer]:
                if previous is None:
                    src, style = dots_end(layer, 1, path.offset), ", densely dotted"
                else:
                    source = f"{path.initial}-{layer}" if previous == 0 else f"h-{previous}-{layer}"
                    src = end(source, "east", path.offset - own.get(source, 0.0))
                    style = ""
                dst = end(h, "west", path.offset)
                if backward:
                    factor = _label(path.back.get(t), "above", "red!60!black")
                    out.append(rf"\draw[grad{style}] {dst} -- {factor}{src};")
                else:
                    out.append(rf"\draw[->{style}] {src} -- {_label(path.label, 'above') if k == 0 else ''}{dst};")
        if None in shown:
            before = shown[shown.index(None) - 1]
            for path in drawing.paths[layer]:
                src = end(f"h-{before}-{layer}", "east", path.offset)
                out.append(rf"\draw[grad, densely dotted] {dots_end(layer, -1, path.offset)} -- {src};" if backward
                           else rf"\draw[->, densely dotted] {src} -- {dots_end(layer, -1, path.offset)};")
    if with_outputs:
        bus = ys["z"] + max((node_height(outputs[t]) for t in outs), default=0.0) / 2 + 0.3 if outputs else 0.0
        _output_edges(d, u, out, outs, backward, many, top, bus)
    else:          # the level above, drawn in its own figure: arrows out of (going forward) or into each cell
        upper = levels[-1] + 1
        for k, t in enumerate(t for t in shown if t is not None):
            note = _label(text_piece(f"level {upper}"), "right") if k == 0 else ""
            cell = f"h-{t}-{levels[-1]}.north"
            out.append(rf"\draw[grad] ({cell}) ++(0,{STUB:.2f}) -- {note}({cell});" if backward else
                       rf"\draw[->] ({cell}) -- {note}++(0,{STUB:.2f});")
    out.append(r"\end{tikzpicture}")
    return "\n".join(out), (grid.width, grid.height), left_out


def _output_edges(d: Derivation, u: Unrolled, out: list, outs: list, backward: bool, many: bool, top: int,
                  bus: float) -> None:
    """Hidden state to output, output to loss (a line over the outputs collects them all)."""
    for k, t in enumerate(outs):
        z, h = f"z-{t}", f"h-{t}-{top}"
        if backward:
            out.append(rf"\draw[grad] ({z}) -- ({h});")
            continue
        labelled = u.w_out is not None and k == (0 if many else len(outs) - 1)
        out.append(rf"\draw[->] ({h}) -- {_label(weight_piece(d, u.w_out) if labelled else None, 'right')}({z});")
    if u.loss is None or not outs:
        return
    if not many:
        out.append(rf"\draw[grad] (L) -- (z-{outs[-1]});" if backward else rf"\draw[->] (z-{outs[-1]}) -- (L);")
        return
    # a line 3 mm over the outputs collects them into the loss (and hands its gradient back to each)
    out.append(rf"\coordinate (bus) at (0,{bus:.2f});")
    out.append(r"\coordinate (bus-end) at (L.north |- bus);")
    if backward:
        out.append(rf"\draw[red!70!black, thick] (L.north) -- (bus-end) -- (z-{outs[0]}.north |- bus);")
        for t in outs:
            out.append(rf"\draw[grad] (z-{t}.north |- bus) -- (z-{t}.north);")
    else:
        for t in outs:
            out.append(rf"\draw (z-{t}.north) -- (z-{t}.north |- bus);")
        out.append(rf"\draw[->] (z-{outs[0]}.north |- bus) -- (bus-end) -- (L.north);")


# -- the figures ---------------------------------------------------------------------------------------
def left_out_sentence(left_out: list[int]) -> str:
    """Says which time steps a picture leaves out (the derivation's steps give their values)."""
    if not left_out:
        return ""
    span = f"t = {left_out[0]}" if len(left_out) == 1 else f"t = {left_out[0]} to {left_out[-1]}"
    return f" Steps {span} are left out (dots)."


def _captions(d: Derivation, u: Unrolled, classic: bool) -> dict:
    many = len(u.outputs) > 1
    stacked = len(u.layers) > 1
    weights_shown = classic or all(w.value.size == 1 for w in list(u.w_in.values()) + list(u.w_rec.values()))
    arch = ("The network unrolled through time, with the given values." if weights_shown else
            "The network unrolled through time, with the given inputs and initial state; each weight matrix is "
            "named on the first edge it labels and is the same at every step.")
    forward = "The forward pass at a glance: every hidden state" + (" of every layer" if stacked else "") + \
        (", every prediction" if many else ", the output") + " and the loss, with their values."
    arrive = "the gradient reaching each hidden state flows right to left"
    if many:
        arrive += ", adding what comes from that step's output"
    if stacked:
        arrive += "; it also passes down from each layer to the layer below (red arrows down)"
    if classic:
        back = ("The backward pass at a glance: the gradient reaching each state flows right to left; each step "
                "back multiplies it by a local derivative (and the recurrent weight).")
    else:
        local = ""
        if u.pre:
            first = f"d{u.hidden[(1, 1)].name}/d{u.pre[(1, 1)].name}"
            symbol = _math(d, d[first]) if first in d else ""
            which = f", ${symbol}$ at t = 1" if symbol and not stacked else ""
            local = (f" Each step back multiplies it by the local derivative (red{which}) and by the transposed "
                     "recurrent weight.")
        back = f"The backward pass at a glance: {arrive}.{local}"
    return {"architecture": arch, "forward": forward, "backward": back, "states": "hidden state",
            "gradients": "hidden state",
            "outputs": "every prediction" if many else "the output",
            "factor": local if not classic else ""}


def unrolled_figures(d: Derivation, u: Unrolled, captions: dict, drawing_of) -> dict:
    """The compact pictures with their captions; a stack too tall for a slide is drawn one level at a time
    going forward (bottom level first) and backward (top level first), the set-up picture whole."""
    figs = {}
    for key in ("architecture", "forward", "backward"):
        tikz, size, left_out = compact_picture(d, u, key, drawing_of)
        if key == "architecture" or len(u.layers) == 1 or slide_height(*size) <= MAX_SLIDE_HEIGHT:
            caption = captions[key] + left_out_sentence(left_out)
            figs[key] = Figure(key, _caption(caption), Tex(tikz), figure_height(*size, caption))
            continue
        groups, start = [], 1
        while start <= len(u.layers):          # as many levels as fit, bottom up
            end = start
            while end < len(u.layers) and slide_height(*compact_picture(
                    d, u, key, drawing_of, list(range(start, end + 2)))[1]) <= MAX_SLIDE_HEIGHT:
                end += 1
            groups.append(list(range(start, end + 1)))
            start = end + 1
        if key == "backward":
            groups.reverse()
        for k, levels in enumerate(groups):
            tikz, size, left_out = compact_picture(d, u, key, drawing_of, levels)
            name = key if k == 0 else f"{key}-level{levels[0]}"
            caption = _level_caption(captions, key, levels, len(u.layers)) + left_out_sentence(left_out)
            figs[name] = Figure(name, _caption(caption), Tex(tikz), figure_height(*size, caption))
    return figs


def _level_caption(captions: dict, key: str, levels: list, total: int) -> str:
    """The caption of a figure showing some levels of a stack: what it shows, and where the rest is."""
    which = f"level {levels[0]}" if len(levels) == 1 else f"levels {levels[0]} to {levels[-1]}"
    top, states = levels[-1] == total, captions["states"]
    if key == "forward":
        return (f"The forward pass at a glance, {which} of {total}: every {states}"
                + (f", {captions['outputs']} and the loss, with their values; dashed: the level below."
                   if top else f" with its value; the arrows up lead to level {levels[-1] + 1}."))
    where = (f"; the red arrows down lead to level {levels[0] - 1}." if top else
             f"; the red arrows from above bring what level {levels[-1] + 1} sends down.")
    return (f"The backward pass at a glance, {which} of {total}: the gradient reaching each {captions['gradients']} "
            f"flows right to left" + where + captions["factor"])


def _caption(text: str):
    return Tex(text) if "$" in text else text


def figures(d: Derivation, digits: int) -> dict:
    u = unrolled(d)
    if not u.times:
        return {}
    classic = _classic_fits(d, u)
    captions = _captions(d, u, classic)
    if not classic:
        return unrolled_figures(d, u, captions, elman_drawing)
    figs = {}
    for key in ("architecture", "forward", "backward"):
        tikz, height = _classic_picture(d, u, key)
        figs[key] = Figure(key, captions[key], Tex(tikz), height)
    return figs


def place(section: str, items: list, figs: dict, d: Derivation) -> list:
    """The forward summary closes the forward pass; the backward summary closes the backward pass (a stack
    drawn level by level: each level's figure, in the order made)."""
    if section in ("forward", "backward"):
        return items + [f for key, f in figs.items() if key == section or key.startswith(f"{section}-level")]
    return items


def facts(d: Derivation) -> list:
    spec = d.model
    out = []
    if spec is None:
        return out
    out.append(("time steps", Tex(f"T = {spec.steps}")))
    out.append(("input size", Tex(f"D = {spec.input_size}")))
    out.append(("hidden size", Tex(f"H = {spec.hidden_size}") if spec.layers == 1
                else Tex(f"H = {spec.hidden_size},\\ {spec.layers}\\text{{ layers}}")))
    out.append(("outputs", Tex(f"K = {spec.output_size}")))
    if getattr(spec, "cell", "elman") == "elman":
        act = check_math(spec.notation.activation, f"example {d.example['name']}: notation.activation")
        out.append(("activation", Tex(f"{act}\\ (\\text{{{escape_tex(spec.activation)}}})")))
    else:
        out.append(("cell", Tex(r"\text{" + {"lstm": "LSTM: gates } \\sigma\\text{, candidate } \\tanh",
                                             "gru": "GRU: gates } \\sigma\\text{, candidate } \\tanh"}[spec.cell])))
    out.append(("output", Tex(r"\text{" + escape_tex(
        {"linear": "linear", "softmax": "softmax", "sigmoid": "sigmoid"}.get(spec.output_activation,
                                                                             spec.output_activation)
        + (", de-normalised" if spec.denormalise else "")
        + ("; one output per time step" if spec.output == "every" else "; one output after the last step"))
        + "}")))
    out.append(("loss", Tex(r"\text{" + escape_tex(LOSS_NAMES.get(spec.loss, spec.loss)) + "}")))
    return out


LOSS_NAMES = {"mse": "mean squared error", "sse": "sum of squared errors", "cross_entropy": "cross-entropy",
              "bce": "binary cross-entropy (summed)", "bce_mean": "binary cross-entropy (mean)"}
