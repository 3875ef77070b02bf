"""Figures of an LSTM or a GRU unrolled through time: each step's cell with its gates and their values.

The pictures are the compact unrolled pictures of :mod:`symderiv.render.figures_rnn` with a gated cell
in each column. A cell is a small table, one row per gate and state, one column per hidden unit:

* LSTM: c_t on top (the cell-state path runs along the top from cell to cell), the gates f, i, g, o,
  and h_t at the bottom (the hidden-state path runs along the bottom);
* GRU: the gates u, r, the candidate n, and h_t at the bottom (its one path).

Going backward, each cell holds the gradient reaching its states, and the arrow from one step back
to the one before carries the factor the gradient is multiplied by along that path alone: the forget
gate f_t on the LSTM's cell-state path, u_t (or 1 − u_t) on the GRU's direct path.
"""

from __future__ import annotations

import numpy as np

from symderiv.layers.recurrent import LSTMCell, Recurrent
from symderiv.render import latexnum
from symderiv.render.escape import check_math
from symderiv.render.figures import CHAR_CM, FIGURE_DIGITS, Piece, math_piece, math_width, value_piece
from symderiv.render.figures_rnn import Drawing, Path, factor_piece, facts, math_of, unrolled, unrolled_figures
from symderiv.render.figures_rnn import place as rnn_place
from symderiv.render.figures import ROW_CM
from symderiv.steps import Derivation

#: Width (cm) of the space between the columns of a cell's table.
SEP_CM = 0.22

place = rnn_place
__all__ = ["figures", "place", "facts"]


def _table(rows: list[tuple[str, np.ndarray | None]], digits: int) -> Piece:
    """A cell's table: one row per (name, value), the value's units side by side (rounded, as the caption
    says); a row without a value is its name alone, a row ("", None) an empty row."""
    units = max((v.size for _, v in rows if v is not None), default=0)
    body, sym_w, val_w = [], 0.0, [0.0] * units
    for symbol, value in rows:
        sym_w = max(sym_w, CHAR_CM * math_width(symbol))
        if value is None:
            body.append(symbol + " &" * units)
            continue
        entries = [latexnum.scalar(n, digits).latex for n in value.flat]
        for k, e in enumerate(entries):
            val_w[k] = max(val_w[k], CHAR_CM * math_width(e))
        body.append(" & ".join([symbol] + entries))
    spec = "@{}l" + r"@{\ \ }r" * units + "@{}"
    tex = r"$\begin{array}{" + spec + "}" + r" \\ ".join(body) + r"\end{array}$"
    width = sym_w + sum(val_w) + SEP_CM * units
    return Piece(tex, width, ROW_CM * len(rows))


def _row_offset(index: int, count: int) -> float:
    """cm above a table's centre of its row ``index`` (of ``count``)."""
    return ((count - 1) / 2 - index) * ROW_CM


def gated_drawing(d: Derivation, u, mode: str, digits: int = FIGURE_DIGITS) -> Drawing:
    """The cells of an LSTM or GRU: their tables, the initial states aligned with the rows they feed, the
    paths (c along the top and h along the bottom for an LSTM; h for a GRU)."""
    rnn = d.layers_of(Recurrent)[0]
    names = rnn.names
    lstm = isinstance(rnn.cell, LSTMCell)
    gates = "figo" if lstm else "urn"
    states = ["c", "h"] if lstm else ["h"]

    def step(base: str, t: int, layer: int):
        return d[names.state(base, t, layer)[0]]

    def grad(base: str, t: int, layer: int):
        name = f"dL/d{names.state(base, t, layer)[0]}"
        return d[name] if name in d else None

    hidden = rnn.names.n.hidden
    letter = {"c": "c", "h": hidden, **{g: g for g in gates}}

    def label(base: str, backward: bool = False) -> str:
        """A row's name: the quantity without its time (the column says which step it is)."""
        return rf"\partial L/\partial {letter[base]}" if backward else letter[base]

    cells, initial, paths = {}, {}, {}
    for layer in u.layers:
        for t in u.times:
            if mode == "forward":
                rows = [(label(b), step(b, t, layer).value) for b in (["c"] if lstm else []) + list(gates) + ["h"]]
            elif mode == "backward":
                rows = []
                for base in states:
                    g = grad(base, t, layer)
                    rows.append((label(base, True), g.value) if g is not None else (label(base), None))
            else:
                rows = ([(label("c"), None)] if lstm else [])
                rows += [(r",\ ".join(label(g) for g in gates), None), (label("h"), None)]
            if mode == "backward" and not lstm:      # one state: its gradient's entries stacked, as an Elman cell's
                g = grad("h", t, layer)
                cells[(t, layer)] = value_piece(g.value, label("h", True), digits) if g is not None else \
                    math_piece(label("h"))
                continue
            cells[(t, layer)] = _table(rows, digits)
        count = len(rows)
        start = {base: (math_of(d, step(base, 0, layer)), step(base, 0, layer).value) for base in states}
        top, bottom = _row_offset(0, count), _row_offset(count - 1, count)
        if mode == "backward" and not lstm:
            top = bottom = 0.0
            initial[layer] = [("h0", value_piece(start["h"][1], start["h"][0], digits), 0.0)]
        elif lstm and top - bottom >= 2 * ROW_CM + 0.2:     # each initial state beside the row it feeds
            initial[layer] = [("c0", _table([start["c"]], digits), top), ("h0", _table([start["h"]], digits), bottom)]
        elif lstm:                                          # one node holds both, its rows at the cells' rows
            initial[layer] = [("h0", _table([start[b] for b in states], digits), 0.0)]
        else:
            initial[layer] = [("h0", _table([start["h"]], digits), bottom)]
        starts = {"c": initial[layer][0][0], "h": initial[layer][-1][0]}
        layer_paths = []
        if lstm:
            back = {}
            if mode == "backward":
                for t in u.times:
                    f = step("f", t, layer)
                    back[t] = factor_piece(f.value, math_of(d, f), r"\odot", digits)
            layer_paths.append(Path(starts["c"], top, None, back))
        back = {}
        if mode == "backward" and not lstm:
            for t in u.times:
                gate = step("u", t, layer)
                if rnn.cell.form == "interpolate":
                    back[t] = factor_piece(gate.value, math_of(d, gate), r"\odot", digits)
                else:
                    back[t] = factor_piece(np.array([1 - n for n in gate.value.flat], dtype=object),
                                           rf"\left(1 - {math_of(d, gate)}\right)", r"\odot", digits)
        layer_paths.append(Path(starts["h"], bottom, None, back))
        paths[layer] = layer_paths
    return Drawing(cells, initial, paths)


def _captions(d: Derivation) -> dict:
    rnn = d.layers_of(Recurrent)[0]
    cell = rnn.cell
    many = len(unrolled(d).outputs) > 1
    stacked = rnn.levels > 1
    x, h = (str(check_math(symbol, f"example {d.example['name']}: notation"))
            for symbol in (rnn.names.n.input, rnn.names.n.hidden))
    if isinstance(cell, LSTMCell):
        what = ("The LSTM unrolled through time. At every step the gates $f$, $i$, $o$ ($\\sigma$) and the "
                f"candidate $g$ ($\\tanh$) are computed from ${x}_t$ and ${h}_{{t-1}}$; the cell state runs along the "
                "top, $c_t = f_t \\odot c_{t-1} + i_t \\odot g_t$, the hidden state along the bottom, "
                f"${h}_t = o_t \\odot \\tanh(c_t)$.")
        factor = " Along the cell-state path (top) it is multiplied only by the forget gate (red)."
        back = ("The backward pass at a glance: the gradient reaching each cell's states ($c$ on top, "
                f"${h}$ below) flows right to left. Along the cell-state path it is multiplied only by the forget "
                f"gate (red); through ${h}$ it also passes every gate.")
    else:
        mix = (rf"{h}_t = u_t \odot {h}_{{t-1}} + (1 - u_t) \odot n_t" if cell.form == "interpolate"
               else rf"{h}_t = (1 - u_t) \odot {h}_{{t-1}} + u_t \odot n_t")
        reset = (rf"$n_t = \tanh(W_n {x}_t + U_n (r_t \odot {h}_{{t-1}}) + b_n)$" if cell.reset == "before" else
                 rf"$n_t = \tanh(W_n {x}_t + b_n + r_t \odot (U_n {h}_{{t-1}} + b_{{hn}}))$")
        what = (f"The GRU unrolled through time. At every step the update gate $u$ and the reset gate $r$ "
                f"($\\sigma$) and the candidate {reset} are computed; the update gate mixes, ${mix}$.")
        gate = "$u_t$" if cell.form == "interpolate" else "$1 - u_t$"
        factor = f" Along the direct path it is multiplied by {gate} (red)."
        back = ("The backward pass at a glance: the gradient reaching each hidden state flows right to left. "
                f"Along the direct path it is multiplied by {gate} (red); through the gates and the candidate it "
                "takes the other paths.")
    if many:
        back += " Each step's output adds its own gradient."
    if stacked:
        what += " Each level reads the hidden states of the level below."
        back += " It also passes down from each level to the one below."
    forward = ("The forward pass at a glance: every gate and state at every step" + (" and level" if stacked else "")
               + (", every output" if many else ", the output") + " and the loss, with their values.")
    forward += " The entries of each cell's table are rounded."
    return {"architecture": what, "forward": forward, "backward": back, "states": "gate and state",
            "gradients": "cell's states" if isinstance(cell, LSTMCell) else "hidden state",
            "outputs": "every output" if many else "the output", "factor": factor}


def figures(d: Derivation, digits: int) -> dict:
    return unrolled_figures(d, unrolled(d), _captions(d), gated_drawing)
