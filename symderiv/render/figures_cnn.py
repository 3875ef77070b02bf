"""Figures of a convolutional network, drawn cell by cell from the example's own numbers.

* ``architecture`` / ``forward``: the pipeline image → convolution → activation → pooling →
  flatten → dense → output, with the given values (set-up) or every computed map (forward);
* ``conv-window``: the first output cell: its input window highlighted, the kernel beside it,
  the cell it produces;
* ``pool-windows``: every pooling window with the cell it chooses;
* ``routing``: the gradient routed back through the pooling (each window's gradient to its
  chosen cell, same colour) and masked by the activation's derivative.

The layers are found through their records and the steps' topics (conv, activation, pool,
dropout, flatten, dense, output, pool_backward), so a spec without pooling or with dropout draws
without special cases. :func:`place` also adds the cell-by-cell blocks of
:mod:`symderiv.render.cnnrules` after the convolution and pooling steps.
"""

from __future__ import annotations

import numpy as np

from symderiv.render import latexnum
from symderiv.render.cnnrules import cell_label, conv_cells, maps, pool_cells, pool_windows
from symderiv.render.escape import Tex, check_math, escape_tex
from symderiv.render.figures import FIGURE_DIGITS
from symderiv.render.substitute import inline_fractions
from symderiv.render.viewmodel import Figure, custom_block
from symderiv.layers.feedforward import Activation, Conv2D, Dense, Dropout, Pool
from symderiv.layers.head import Head
from symderiv.steps import Derivation, Kind, Step

#: Maps with a side longer than this are drawn as shaded squares without numbers.
MAX_DRAWN_SIDE = 8
#: Pooling windows drawn one by one (small multiples); beyond that only the first ones.
MAX_WINDOWS = 6
CELL_H = 0.5
COLOURS = ("orange!45", "cyan!35", "green!35", "magenta!30", "yellow!60", "blue!25", "red!30", "teal!35",
           "violet!30")

PREAMBLE = r"""\begin{tikzpicture}[>=Stealth, font=\footnotesize,
  cell/.style={draw=black!55, inner sep=0pt, align=center, anchor=center},
  lab/.style={font=\scriptsize, align=center}, op/.style={font=\scriptsize, align=center, above}]"""


def _layer(d: Derivation, topic: str, kinds=(Kind.FORWARD,)) -> Step | None:
    """The step of the given kind that a layer of this topic made (its output)."""
    for s in d.steps:
        if s.kind in kinds and s.topic == topic:
            return s
    return None


def _math(d: Derivation, step: Step) -> str:
    return inline_fractions(str(check_math(step.symbol, f"example {d.example['name']}: symbol of {step.name}")))


def _entry(num) -> str:
    return latexnum.scalar(num, FIGURE_DIGITS).latex


def _cell_width(values: np.ndarray | None) -> float:
    if values is None:
        return CELL_H
    widest = max((len(_entry(n).replace(r"\cdot 10^", "e").replace("{", "").replace("}", ""))
                  for n in values.flat), default=1)
    return max(CELL_H, 0.13 * widest + 0.16)


def _grid(name: str, values: np.ndarray | None, shape: tuple[int, int], x0: float, fills: dict | None = None,
          bold: set | None = None, w: float | None = None, yc: float = 0.0) -> tuple[list[str], float]:
    """Cells of one map (rows × columns) centred on y = yc with its left edge at x0; (TikZ, width in cm)."""
    rows, cols = shape
    fills, bold = fills or {}, bold or set()
    if max(rows, cols) > MAX_DRAWN_SIDE:
        side = 2.2
        height = side * rows / max(rows, cols)
        width = side * cols / max(rows, cols)
        return [rf"\node[cell, minimum width={width:.2f}cm, minimum height={height:.2f}cm, fill=black!8] "
                rf"({name}) at ({x0 + width / 2:.3f},{yc:.3f}) {{}};",
                rf"\coordinate ({name}-west) at ({name}.west); \coordinate ({name}-east) at ({name}.east);",
                rf"\coordinate ({name}-south) at ({name}.south); \coordinate ({name}-north) at ({name}.north);"], width
    w = w if w is not None else _cell_width(values)
    out = []
    top = rows * CELL_H / 2
    for i in range(rows):
        for j in range(cols):
            style = f"cell, minimum width={w:.2f}cm, minimum height={CELL_H:.2f}cm"
            if (i, j) in fills:
                style += f", fill={fills[(i, j)]}"
            if (i, j) in bold:
                style += ", very thick, draw=red!70!black"
            text = "" if values is None else rf"\tiny ${_entry(values[i, j])}$"
            out.append(rf"\node[{style}] ({name}-{i}-{j}) at ({x0 + (j + 0.5) * w:.3f},"
                       rf"{yc + top - (i + 0.5) * CELL_H:.3f}) {{{text}}};")
    out.append(rf"\coordinate ({name}-west) at ({x0:.3f},{yc:.3f}); "
               rf"\coordinate ({name}-east) at ({x0 + cols * w:.3f},{yc:.3f});")
    out.append(rf"\coordinate ({name}-south) at ({x0 + cols * w / 2:.3f},{yc - top:.3f}); "
               rf"\coordinate ({name}-north) at ({x0 + cols * w / 2:.3f},{yc + top:.3f});")
    return out, cols * w


def _as_2d(value: np.ndarray) -> np.ndarray:
    """A map, vector or matrix as rows × columns (first channel of a multi-channel map, vectors as columns)."""
    if value.ndim == 3:
        return value[0]
    if value.ndim == 1:
        return value.reshape(-1, 1)
    if value.ndim == 0:
        return value.reshape(1, 1)
    return value


def _label(name: str, text: str, below: bool = True) -> str:
    anchor = "south" if below else "north"
    where = "below" if below else "above"
    return rf"\node[lab, {where}=1mm] at ({name}-{anchor}) {{{text}}};"


# -- the pipeline ------------------------------------------------------------------------------------
def _first(d: Derivation, base: str) -> Step | None:
    """A layer's output as the first example of the first step has it (``z1``, or ``z1(n=1)`` in a batch)."""
    for name in (base, f"{base}(n=1)"):
        if name in d:
            return d[name]
    return None


def _stages(d: Derivation) -> list[tuple[str, Step, str]]:
    """(operation on the arrow into it, step, label) for each map of the forward pass, input first, read
    from the layers in order."""
    stages = [("", _first(d, "x"), "")]
    for layer in d.layers:
        if isinstance(layer, Head):
            yhat = _first(d, layer.outputs_base.yhat) if layer.outputs_base else None
            if yhat is not None:
                stages.append((escape_tex(yhat.op), yhat, ""))
            continue
        step = _first(d, layer.output)
        if step is None:
            continue
        if isinstance(layer, Conv2D):
            op = rf"$\ast\ {_math(d, d[layer.kernel.name])}$"
        elif isinstance(layer, Activation):
            op = "$" + step.formula.split(r"\left")[0].replace("{{", "{").replace("}}", "}") + "$"
        elif isinstance(layer, Pool):
            p, q = layer.size
            op = (f"{escape_tex(layer.mode)} pool", rf"${p} \times {q}$")
        elif isinstance(layer, Dense):
            bias = ",\\ " + _math(d, d[layer.bias.name]) if layer.bias is not None else ""
            op = ("dense", f"${_math(d, d[layer.weight.name])}{bias}$")
        else:
            op = escape_tex("dropout" if isinstance(layer, Dropout) else "flatten")
        stages.append((op, step, ""))
    return stages


def _pipeline(d: Derivation, values: bool) -> tuple[str, float]:
    """The maps left to right; when that is wider than a slide, the vector part on a second row."""
    gap, max_width = 1.25, 13.8
    stages = []
    for op, step, _ in _stages(d):
        value = _as_2d(step.value)
        shown = value if (values or step.kind == Kind.INPUT) else None
        big = max(value.shape) > MAX_DRAWN_SIDE
        width = 2.2 * value.shape[1] / max(value.shape) if big else value.shape[1] * _cell_width(shown)
        height = 2.2 * value.shape[0] / max(value.shape) if big else value.shape[0] * CELL_H
        stages.append((op, step, value, shown, width, height))
    total = sum(s[4] for s in stages) + gap * len(stages) + 2.0
    split = len(stages)
    if total > max_width:
        split = next((i for i, s in enumerate(stages) if s[1].topic == "flatten"), len(stages) // 2)
    rows = [stages[:split], stages[split:]] if split < len(stages) else [stages]
    out = [PREAMBLE]
    names, y = [], 0.0
    row_heights = [max(s[5] for s in row) for row in rows if row]
    k = 0
    for r, row in enumerate(rows):
        if r > 0:
            y -= row_heights[r - 1] / 2 + row_heights[r] / 2 + 1.7
        x0 = 0.0 if r == 0 else 0.9
        for op, step, value, shown, width, _h in row:
            name = f"m{k}"
            cells, width = _grid(name, shown, value.shape, x0, yc=y)
            out += cells
            shape = r" \times ".join(str(n) for n in step.value.shape)
            out.append(_label(name, f"${_math(d, step)}$\\\\[-1pt]{{\\tiny ${shape}$}}"))
            if names:
                prev = names[-1]
                if r > 0 and step is row[0][1]:
                    mid = y + row_heights[r] / 2 + 0.85
                    above, below = op if isinstance(op, tuple) else (op, "")
                    out.append(rf"\draw[->, rounded corners=4pt] ({prev}-east) -- ++(0.3,0) |- (0.3,{mid:.2f}) "
                               rf"node[op, pos=0.75] {{{above} {below}}} -- (0.3,{y:.2f}) -- ({name}-west);")
                else:
                    above, below = op if isinstance(op, tuple) else (op, "")
                    out.append(rf"\draw[->] ({prev}-east) ++(0.08,0) -- node[op] {{{above}}} "
                               + (rf"node[op, below] {{{below}}} " if below else "")
                               + rf"($({name}-west)+(-0.08,0)$);")
            names.append(name)
            x0 += width + (gap + 0.8 if k == 0 else gap)
            k += 1
    previous = names[-1] if names else None
    loss = d["L"] if "L" in d else None
    if loss is not None and previous is not None:
        text = f"${_math(d, loss)}$"
        if values:
            rel = "=" if latexnum.scalar(loss.value.flat[0], FIGURE_DIGITS).exact else r"\approx"
            text = f"${_math(d, loss)} {rel} {_entry(loss.value.flat[0])}$"
        target = d[loss.inputs[1]] if len(loss.inputs) > 1 and loss.kind == Kind.LOSS \
            and d.ops[loss.op].family == "loss" else None
        if target is not None:
            t = ", ".join(_entry(n) for n in target.value.flat)
            text += rf"\\{{\scriptsize target ${_math(d, target)} = ({t})$}}"
        out.append(rf"\node[draw, rounded corners=2pt, fill=red!8, align=center, right={gap - 0.2:.2f}cm of "
                   rf"{previous}-east] (L) {{{text}}};")
        out.append(rf"\draw[->] ({previous}-east) ++(0.08,0) -- (L);")
    conv = _layer(d, "conv")
    if conv is not None and len(names) > 1:
        kernel = d[d.layer(conv.owner).kernel.name]
        kv = _as_2d(kernel.value) if kernel.value.ndim <= 2 else None
        if kv is not None and max(kv.shape) <= MAX_DRAWN_SIDE:
            w = _cell_width(kv)
            drop = kv.shape[0] * CELL_H / 2 + 0.3
            out.append(rf"\begin{{scope}}[shift={{($(m0-east)!0.5!(m1-west)+(0,{-drop:.2f})$)}}]")
            cells, width = _grid("kern", kv, kv.shape, -kv.shape[1] * w / 2)
            out += cells
            out.append(_label("kern", f"${_math(d, kernel)}$"))
            out.append(r"\end{scope}")
    out.append(r"\end{tikzpicture}")
    height = 10 * (sum(row_heights) + 1.7 * (len(rows) - 1)) + 18 + 10 * CELL_H * 3
    return "\n".join(out), height


# -- one convolution window --------------------------------------------------------------------------
def _conv_window(d: Derivation, conv: Step, f: int = 0, i: int = 0, j: int = 0) -> tuple[str, float] | None:
    layer = d.layer(conv.owner)
    x = maps(d[layer.input].value)
    k = d[layer.kernel.name].value
    if x.shape[1] > MAX_DRAWN_SIDE or x.shape[2] > MAX_DRAWN_SIDE or k.ndim != 2:
        return None
    n, m = k.shape
    stride, padding = layer.stride, any(layer.pads)
    if padding:
        return None
    window = {(i * stride + u, j * stride + v): "yellow!55" for u in range(n) for v in range(m)}
    out = [PREAMBLE]
    xv = x[0]
    w = max(_cell_width(xv), _cell_width(k))
    cells, width = _grid("x", xv, xv.shape, 0.0, fills=window, w=w)
    out += cells
    out.append(_label("x", f"${_math(d, d[layer.input])}$"))
    x1 = width + 0.9
    cells, kw = _grid("k", k, k.shape, x1, fills={(u, v): "yellow!55" for u in range(n) for v in range(m)}, w=w)
    out += cells
    out.append(_label("k", f"${_math(d, d[layer.kernel.name])}$"))
    out.append(rf"\node at ($(x-east)!0.5!(k-west)$) {{$\odot$}};")
    hv = conv.value[f]
    x2 = x1 + kw + 1.6
    cells, _ = _grid("h", hv, hv.shape, x2, fills={(i, j): "orange!45"})
    out += cells
    out.append(_label("h", f"${_math(d, conv)}$"))
    label = cell_label(f, i, j, conv.value.shape[0])
    out.append(rf"\draw[->, thick] ($(k-east)+(0.1,0)$) -- node[op] {{sum}} ($(h-west)+(-0.1,0)$);")
    out.append(rf"\node[lab, below=5mm] at (h-south) {{${conv.symbol}_{{{label}}} = "
               rf"{_entry(hv[i, j])}$}};")
    out.append(r"\end{tikzpicture}")
    return "\n".join(out), 10 * xv.shape[0] * CELL_H + 16


# -- pooling windows ------------------------------------------------------------------------------------
def _pool_figure(d: Derivation, pool: Step) -> tuple[str, float] | None:
    layer = d.layer(pool.owner)
    h = maps(d[layer.input].value)
    if max(h.shape[1:]) > MAX_DRAWN_SIDE:
        return None
    windows = list(pool_windows(layer, h.shape))[:MAX_WINDOWS]
    chosen = [tuple(c) for c in layer.chosen]
    w = _cell_width(h[0])
    out = [PREAMBLE]
    x0 = 0.0
    for n, ((c, i, j), cells) in enumerate(windows):
        fills = {(r, s): "cyan!30" for (_c, r, s) in cells}
        bold = {chosen[n][1:]} if layer.mode == "max" and n < len(chosen) else set()
        grid, width = _grid(f"p{n}", h[c], h.shape[1:], x0, fills=fills, bold=bold, w=w)
        out += grid
        lab = cell_label(c, i, j, pool.value.shape[0])
        rel = "=" if latexnum.scalar(pool.value[c, i, j], FIGURE_DIGITS).exact else r"\approx"
        out.append(_label(f"p{n}", rf"${pool.symbol}_{{{lab}}} {rel} {_entry(pool.value[c, i, j])}$"))
        x0 += width + 0.5
    out.append(r"\end{tikzpicture}")
    return "\n".join(out), 10 * h.shape[1] * CELL_H + 14


# -- gradient routing ---------------------------------------------------------------------------------------
def _routing(d: Derivation) -> tuple[str, float, str] | None:
    route = _layer(d, "pool_backward", kinds=(Kind.BACKWARD,))
    if route is None:
        return None
    pool = d.layer(route.owner)
    activation = next((a for a in d.layers_of(Activation) if a.output == pool.input), None)
    masked = d[f"dL/d{activation.input}"] if activation is not None else None
    g_in = d[route.inputs[0]]
    g_out = route.value
    if max(g_out.shape[1:]) > MAX_DRAWN_SIDE:
        return None
    chosen = [tuple(c) for c in pool.chosen]
    windows = list(pool_windows(pool, g_out.shape))
    colours = {}
    src_fill, dst_fill = {}, {}
    for n, ((c, i, j), cells) in enumerate(windows):
        colour = COLOURS[n % len(COLOURS)]
        if c != 0:
            continue
        src_fill[(i, j)] = colour
        if pool.mode == "max" and n < len(chosen):
            dst = chosen[n][1:]
            dst_fill[dst] = colour if dst not in dst_fill else "black!20"
        colours[(i, j)] = colour
    gi, go = _as_2d(g_in.value), _as_2d(g_out)
    w = max(_cell_width(gi), _cell_width(go))
    out = [PREAMBLE]
    cells, width = _grid("gin", gi, gi.shape, 0.0, fills=src_fill, w=w)
    out += cells
    out.append(_label("gin", f"${_math(d, g_in)}$"))
    x = width + 1.5
    cells, width = _grid("gout", go, go.shape, x, fills=dst_fill, w=w)
    out += cells
    out.append(_label("gout", f"${_math(d, route)}$"))
    out.append(rf"\draw[->] ($(gin-east)+(0.1,0)$) -- node[op] {{route}} ($(gout-west)+(-0.1,0)$);")
    height = 10 * go.shape[0] * CELL_H + 16
    if masked is not None and len(masked.inputs) > 1:
        mask = d[masked.inputs[1]]
        mv = _as_2d(mask.value)
        x += width + 1.9
        res = _as_2d(masked.value)
        fills = {cell: ("black!12" if mv[cell].is_zero else colour) for cell, colour in dst_fill.items()}
        fills.update({(r, c): "black!12" for r, c in np.ndindex(mv.shape) if mv[r, c].is_zero})
        cells, width = _grid("res", res, res.shape, x, fills=fills, w=w)
        out += cells
        out.append(_label("res", f"${_math(d, masked)}$"))
        out.append(rf"\draw[->] ($(gout-east)+(0.1,0)$) -- node[op] {{$\odot\ {_math(d, mask)}$}} "
                   rf"($(res-west)+(-0.1,0)$);")
    out.append(r"\end{tikzpicture}")
    ties = pool.ties
    caption = ("The gradient routed back: each pooled cell's gradient goes to the cell its window chose "
               "(same colour), cells no window chose get 0; then the activation's derivative zeroes the cells "
               "where the activation was flat (grey).")
    if ties:
        caption += (f" {len(ties)} window(s) had a tie; the first maximum in row-major order receives the "
                    "gradient, as frameworks do.")
    return "\n".join(out), height, caption


def figures(d: Derivation, digits: int) -> dict:
    figs = {}
    tikz, height = _pipeline(d, values=False)
    figs["architecture"] = Figure("architecture", "The network, layer by layer, with the given values.",
                                  Tex(tikz), height)
    tikz, height = _pipeline(d, values=True)
    figs["forward"] = Figure("forward", "The forward pass at a glance: every map computed on the previous slides.",
                             Tex(tikz), height)
    conv = _layer(d, "conv")
    if conv is not None:
        drawn = _conv_window(d, conv)
        if drawn:
            figs["conv-window"] = Figure("conv-window", "The first output cell: the kernel laid on the highlighted "
                                         "window, multiplied entry by entry and summed.", Tex(drawn[0]), drawn[1],
                                         group="conv")
    pool = _layer(d, "pool")
    if pool is not None:
        drawn = _pool_figure(d, pool)
        if drawn:
            figs["pool-windows"] = Figure("pool-windows", "Every pooling window and the cell it passes on "
                                          "(thick border)." if d.layer(pool.owner).mode == "max" else
                                          "Every pooling window; each passes on the mean of its cells.",
                                          Tex(drawn[0]), drawn[1], group="pool")
    drawn = _routing(d)
    if drawn:
        figs["routing"] = Figure("routing", drawn[2], Tex(drawn[0]), drawn[1], group="routing")
    return figs


def place(section: str, items: list, figs: dict, d: Derivation) -> list:
    """Cell-by-cell blocks and figures after the convolution and the pooling; summaries at the ends."""
    out = []
    digits = 4
    for item in items:
        out.append(item)
        if item.type != "block" or item.name not in d:
            continue
        step = d[item.name]
        layer = step.topic
        if layer == "conv":
            if "conv-window" in figs:
                out.append(figs["conv-window"])
            rows, note = conv_cells(d, step, digits)
            out.append(custom_block(f"{step.name}:cells", f"{d.example['name']}:{step.name}:cells",
                                    "every cell of the feature map: input window times kernel, summed", rows,
                                    [note], group="conv-cells"))
        elif layer == "pool":
            if "pool-windows" in figs:
                out.append(figs["pool-windows"])
            rows, note = pool_cells(d, step, digits)
            out.append(custom_block(f"{step.name}:windows", f"{d.example['name']}:{step.name}:windows",
                                    "every pooling window", rows, [note], group="pool-cells"))
        elif section == "backward" and "routing" in figs and step.owner \
                and isinstance(d.layer(step.owner), Activation) and step.kind == Kind.BACKWARD \
                and any(d[i].topic == "pool_backward" for i in step.inputs):
            out.append(figs["routing"])
    if section == "forward" and "forward" in figs:
        out.append(figs["forward"])
    return out


def facts(d: Derivation) -> list:
    """Sizes and choices for the set-up slide, layer by layer (numbered where a kind comes twice)."""
    body = [layer for layer in d.layers if not isinstance(layer, Head)]
    count = {}
    for layer in body:
        count[type(layer)] = count.get(type(layer), 0) + 1
    seen: dict = {}
    x = _first(d, "x")
    first_conv = isinstance(body[0], Conv2D) if body else False
    out = []
    if first_conv:
        conv = body[0]
        channels = conv.channels
        out.append(("image", Tex(rf"{conv.input_size[0]} \times {conv.input_size[1]}"
                                 + (rf",\ {channels}\text{{ channels}}" if channels > 1 else ""))))
    else:
        out.append(("input", Tex(r" \times ".join(str(n) for n in x.value.shape))))
    for layer in body:
        seen[type(layer)] = seen.get(type(layer), 0) + 1
        number = f" {seen[type(layer)]}" if count[type(layer)] > 1 else ""
        if isinstance(layer, Conv2D):
            padding = layer.pads[0] if len(set(layer.pads)) == 1 else "(" + ",".join(map(str, layer.pads)) + ")"
            out.append(("convolution" + number,
                        Tex(rf"{layer.filters}\text{{ filter{'s' if layer.filters > 1 else ''} of }} "
                            rf"{layer.kernel_size[0]} \times {layer.kernel_size[1]},\ S = {layer.stride},\ "
                            rf"P = {padding}")))
        elif isinstance(layer, Activation):
            symbol = check_math(layer.symbol, f"example {d.example['name']}: notation.activation")
            out.append(("activation" + number, Tex(rf"{symbol}\ (\text{{{escape_tex(layer.op)}}})")))
        elif isinstance(layer, Pool):
            out.append(("pooling" + number, Tex(rf"\text{{{escape_tex(layer.mode)}}}\ {layer.size[0]} \times "
                                                rf"{layer.size[1]},\ \text{{stride }} {layer.stride}")))
        elif isinstance(layer, Dropout):
            out.append(("dropout" + number, Tex(rf"p = {latexnum.scalar(d[layer.p_name].value.flat[0], 4).latex}"
                                                r"\ \text{(mask given)}")))
        elif isinstance(layer, Dense):
            rows, cols = d[layer.weight.name].value.shape
            out.append(("dense layer" + number, Tex(rf"{cols} \to {rows}")))
    head = next((layer for layer in d.layers if isinstance(layer, Head)), None)
    if head is not None and not head.given_gradient:
        from symderiv.ops.losses import LOSSES
        out.append(("output", Tex(rf"\text{{{escape_tex(head.activation)}}}")))
        out.append(("loss", Tex(rf"\text{{{escape_tex(LOSSES[head.loss].title)}}}")))
    elif head is not None:
        out.append(("output gradient", Tex(r"\text{given}")))
    if head is not None and head.examples > 1:
        out.append(("batch", Tex(rf"{head.examples}\text{{ examples; the {head.reduction} of their losses}}")))
    if head is not None and head.descent_steps > 1:
        out.append(("descent steps", Tex(str(head.descent_steps))))
    return out
