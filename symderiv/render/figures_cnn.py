"""Figures of a convolutional network, drawn cell by cell from the example's own numbers.

* ``architecture`` / ``forward``: the pipeline image → convolution → activation → pooling →
  flatten → dense → output, with the given values (set-up) or every computed map (forward); a map
  with several channels or filters is drawn as a stack, one grid per channel (a long stack: its first
  and last grids with dots between), each small kernel below the arrow of its convolution;
* ``conv-window`` (one per convolution): the first output cell of every filter: its input window in
  every channel (the zero padding shaded, the next window dashed when the stride is more than 1),
  the filter's kernel slices beside them, the cell they produce;
* ``pool-windows`` (one per pooling): every pooling window with what it passes on (max: the chosen
  cell; average: the mean of the window);
* ``routing`` (one per pooling): the gradient routed back through the pooling in every channel (max:
  to the chosen cell; average: shared by the window's cells) and multiplied by the activation's
  derivative.

The layers are found through their records and the steps' topics (conv, activation, pool, dropout,
flatten, dense, output, pool_backward), so a spec without pooling or with dropout draws without
special cases. :func:`place` also adds the cell-by-cell blocks of :mod:`symderiv.render.cnnrules`
after the convolution and pooling steps.
"""

from __future__ import annotations

import re

import numpy as np

from symderiv.render import latexnum
from symderiv.render.cnnrules import cell_label, conv_cells, kernels, maps, pool_cells, pool_windows
from symderiv.render.escape import Tex, check_math, escape_tex
from symderiv.render.figures import CHAR_CM, FIGURE_DIGITS, figure_height, math_width
from symderiv.render.substitute import index_symbol, inline_fractions
from symderiv.render.viewmodel import Figure, custom_block
from symderiv.layers.feedforward import Activation, Conv2D, Dense, Dropout, Pool
from symderiv.layers.head import Head
from symderiv.steps import Derivation, Kind, Step

#: Maps with a side longer than this are drawn as shaded squares without numbers.
MAX_DRAWN_SIDE = 8
#: Grids of one stack drawn; a longer stack shows its first ones and its last, with dots between.
MAX_STACK = 4
#: Vectors longer than this are drawn as a row; longer than MAX_VECTOR, its first three and last two entries.
MAX_COLUMN = 4
MAX_VECTOR = 8
#: Pooling windows drawn one by one (small multiples) per row, and in all.
WINDOWS_PER_ROW = 6
MAX_WINDOWS = 12
CELL_H = 0.5
#: Height (cm) a figure of stacked channels aims at; their cells get smaller to keep to it.
MAX_FIGURE_CM = 4.6
#: Width (cm) of a digit in a cell's \tiny numbers.
TINY_CHAR_CM = 0.13
COLOURS = ("orange!45", "cyan!35", "green!35", "magenta!30", "yellow!60", "blue!25", "red!30", "teal!35",
           "violet!30")

PREAMBLE = r"""\begin{tikzpicture}[>=Stealth, font=\footnotesize,
  cell/.style={draw=black!55, inner sep=0pt, align=center, anchor=center},
  lab/.style={font=\scriptsize, align=center}, op/.style={font=\scriptsize, align=center, above}]"""
#: What a padding cell looks like: dashed, grey, its 0 in grey.
PAD_STYLE = "draw=black!35, densely dashed, fill=black!6"


def _math(d: Derivation, step: Step) -> str:
    return inline_fractions(str(check_math(step.symbol, f"example {d.example['name']}: symbol of {step.name}")))


def _entry(num) -> str:
    return latexnum.scalar(num, FIGURE_DIGITS).latex


def _cell_width(values: np.ndarray | None, height: float = CELL_H) -> float:
    if values is None:
        return height
    widest = max((math_width(_entry(n)) for n in values.flat), default=1.0)
    return max(height, TINY_CHAR_CM * widest + 0.12)


def _grid(name: str, values: np.ndarray | None, shape: tuple[int, int], x0: float, fills: dict | None = None,
          bold: set | None = None, w: float | None = None, yc: float = 0.0, h: float = CELL_H,
          styles: dict | None = None, texts: dict | None = None) -> tuple[list[str], float]:
    """Cells of one map (rows × columns) centred on y = yc with its left edge at x0; (TikZ, width in cm).

    ``fills``: cell -> colour; ``bold``: cells with a thick red border; ``styles``: cell -> extra TikZ
    style; ``texts``: cell -> LaTeX instead of its value.
    """
    rows, cols = shape
    fills, bold, styles, texts = fills or {}, bold or set(), styles or {}, texts or {}
    if max(rows, cols) > MAX_DRAWN_SIDE:
        side = 2.2
        height = side * rows / max(rows, cols)
        width = side * cols / max(rows, cols)
        return [rf"\node[cell, minimum width={width:.2f}cm, minimum height={height:.2f}cm, fill=black!8] "
                rf"({name}) at ({x0 + width / 2:.3f},{yc:.3f}) {{}};",
                rf"\coordinate ({name}-west) at ({name}.west); \coordinate ({name}-east) at ({name}.east);",
                rf"\coordinate ({name}-south) at ({name}.south); \coordinate ({name}-north) at ({name}.north);"], width
    w = w if w is not None else _cell_width(values, h)
    out = []
    top = rows * h / 2
    for i in range(rows):
        for j in range(cols):
            style = f"cell, minimum width={w:.2f}cm, minimum height={h:.2f}cm"
            if (i, j) in styles:
                style += ", " + styles[(i, j)]
            if (i, j) in fills:
                style += f", fill={fills[(i, j)]}"
            if (i, j) in bold:
                style += ", very thick, draw=red!70!black"
            if (i, j) in texts:
                text = texts[(i, j)]
            else:
                text = "" if values is None else rf"\tiny ${_entry(values[i, j])}$"
            out.append(rf"\node[{style}] ({name}-{i}-{j}) at ({x0 + (j + 0.5) * w:.3f},"
                       rf"{yc + top - (i + 0.5) * h:.3f}) {{{text}}};")
    out.append(rf"\coordinate ({name}-west) at ({x0:.3f},{yc:.3f}); "
               rf"\coordinate ({name}-east) at ({x0 + cols * w:.3f},{yc:.3f});")
    out.append(rf"\coordinate ({name}-south) at ({x0 + cols * w / 2:.3f},{yc - top:.3f}); "
               rf"\coordinate ({name}-north) at ({x0 + cols * w / 2:.3f},{yc + top:.3f});")
    return out, cols * w


def _label(name: str, text: str, below: bool = True, gap: str = "1mm") -> str:
    anchor = "south" if below else "north"
    where = "below" if below else "above"
    return rf"\node[lab, {where}={gap}] at ({name}-{anchor}) {{{text}}};"


def _grid_height(shape: tuple[int, int], h: float = CELL_H) -> float:
    rows, cols = shape
    return 2.2 * rows / max(rows, cols) if max(rows, cols) > MAX_DRAWN_SIDE else rows * h


def _grid_width(values: np.ndarray | None, shape: tuple[int, int], h: float = CELL_H) -> float:
    rows, cols = shape
    return 2.2 * cols / max(rows, cols) if max(rows, cols) > MAX_DRAWN_SIDE else cols * _cell_width(values, h)


# -- stacks: a map of several channels, or a long vector --------------------------------------------------
STACK_GAP = 0.22


class _Stack:
    """What one stage of the pipeline draws: its grids (one per channel shown) or a vector as a column."""

    def __init__(self, value: np.ndarray, shown: bool, h: float):
        self.h = h
        self.texts = None
        if value.ndim == 3:
            chosen = list(range(value.shape[0]))
            if len(chosen) > MAX_STACK:
                chosen = chosen[:MAX_STACK - 1] + [None, chosen[-1]]
            self.grids = [(c, value[c] if c is not None else None) for c in chosen]
        elif value.ndim == 1 and value.size > MAX_COLUMN:       # a long vector lies down
            keep = list(range(value.size)) if value.size <= MAX_VECTOR else [0, 1, 2, None, value.size - 2,
                                                                             value.size - 1]
            row = np.array([[value[k] if k is not None else value[0] for k in keep]], dtype=object)
            self.texts = {(0, r): r"$\cdots$" for r, k in enumerate(keep) if k is None}
            self.grids = [(0, row)]
        else:
            matrix = value.reshape(-1, 1) if value.ndim == 1 else value.reshape(1, 1) if value.ndim == 0 else value
            self.grids = [(0, matrix)]
        self.shown = shown
        drawn = [g for _, g in self.grids if g is not None]
        self.cell_w = max(_cell_width(g if shown else None, h) for g in drawn)
        big = any(max(g.shape) > MAX_DRAWN_SIDE for g in drawn)
        self.width = max(_grid_width(g if shown else None, g.shape, h) for g in drawn) if big else \
            max(g.shape[1] for g in drawn) * self.cell_w
        self.heights = [_grid_height(g.shape, h) if g is not None else 0.35 for _, g in self.grids]
        self.height = sum(self.heights) + STACK_GAP * (len(self.grids) - 1)

    def draw(self, name: str, x0: float, yc: float) -> list[str]:
        """The grids top to bottom, named ``name`` (one grid) or ``name-c1``, ``name-c2`` (a stack), with
        the stack's own west/east/north/south coordinates."""
        out = []
        y = yc + self.height / 2
        several = len(self.grids) > 1
        for (c, grid), gh in zip(self.grids, self.heights):
            centre = y - gh / 2
            if grid is None:
                out.append(rf"\node[lab] at ({x0 + self.width / 2:.3f},{centre:.3f}) {{$\vdots$}};")
            else:
                part = f"{name}-c{c + 1}" if several else name
                cells, _ = _grid(part, grid if self.shown else None, grid.shape, x0 + (self.width - grid.shape[1]
                                 * self.cell_w) / 2, w=self.cell_w, yc=centre, h=self.h, texts=self.texts)
                out += cells
                if several:
                    out.append(rf"\node[lab, left=0.5mm, inner sep=0.5pt, text=black!50] at ({part}-west) "
                               rf"{{\tiny {c + 1}}};")
            y -= gh + STACK_GAP
        if several:
            out.append(rf"\coordinate ({name}-west) at ({x0:.3f},{yc:.3f}); "
                       rf"\coordinate ({name}-east) at ({x0 + self.width:.3f},{yc:.3f});")
            out.append(rf"\coordinate ({name}-south) at ({x0 + self.width / 2:.3f},{yc - self.height / 2:.3f}); "
                       rf"\coordinate ({name}-north) at ({x0 + self.width / 2:.3f},{yc + self.height / 2:.3f});")
        return out


# -- the pipeline ------------------------------------------------------------------------------------
def first_step(d: Derivation, base: str) -> Step | None:
    """A layer's output as the first example of the first step has it (``z1``, or ``z1(n=1)`` in a batch)."""
    for name in (base, f"{base}(n=1)"):
        if name in d:
            return d[name]
    return None


def _stages(d: Derivation) -> list[tuple]:
    """(operation on the arrow into it, step, layer) for each map of the forward pass, input first, read
    from the layers in order."""
    stages = [("", first_step(d, "x"), None)]
    for layer in d.layers:
        if isinstance(layer, Head):
            yhat = first_step(d, layer.outputs_base.yhat) if layer.outputs_base else None
            if yhat is not None:
                stages.append((escape_tex(yhat.op), yhat, layer))
            continue
        step = first_step(d, layer.output)
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
        stages.append((op, step, layer))
    return stages


def _kernel_block(d: Derivation, layer: Conv2D, h: float) -> tuple[list, float, float] | None:
    """The kernel's slices (filters down, channels across) when they are few and small: (arrays, width,
    height) in cm, with its label below."""
    k = kernels(d[layer.kernel.name].value, layer)
    F, C, n, m = k.shape
    if F * C > 1 or max(n, m) > 5:
        return None
    w = max(_cell_width(k[f, c], h) for f in range(F) for c in range(C))
    return [[k[f, c] for c in range(C)] for f in range(F)], C * m * w + 0.15 * (C - 1), F * n * h + 0.15 * (F - 1)


LABEL_H = 0.75      # a map's label below it: symbol and shape, two lines
ROW_GAP = 1.2       # between the rows of a pipeline: the arrow that wraps and its label


def _op_width(op) -> float:
    """cm the label over (and under) an arrow of the pipeline needs."""
    parts = op if isinstance(op, tuple) else (op,)
    widest = 0.0
    for part in parts:
        text = part.replace("$", "")
        plain = re.sub(r"\\[A-Za-z]+|[{}^_]", "", text) if "$" not in part else ""
        widest = max(widest, CHAR_CM * (0.95 * len(plain) if plain else math_width(text)))
    return widest


def _pipeline(d: Derivation, values: bool) -> tuple[str, tuple[float, float]]:
    """The maps left to right; when that is wider than a slide, the vector part on a second row."""
    gap, max_width = 1.25, 13.8
    raw = _stages(d)
    stack_rows = [sum(min(v.shape[1], MAX_DRAWN_SIDE) for _ in range(min(v.shape[0], MAX_STACK)))
                  + 0.44 * (min(v.shape[0], MAX_STACK) - 1) for _, s, _ in raw for v in [s.value] if v.ndim == 3]
    h = CELL_H if not stack_rows or max(stack_rows) * CELL_H <= 3.4 else max(0.3, 3.4 / max(stack_rows))
    stages, layer_of = [], {}
    for k, (op, step, layer) in enumerate(raw):
        stack = _Stack(step.value, values or step.kind == Kind.INPUT, h)
        kernel = _kernel_block(d, layer, h) if isinstance(layer, Conv2D) else None
        stages.append((op, step, stack, kernel))
        layer_of[f"m{k}"] = layer
    widths = [s[2].width for s in stages]
    total = sum(widths) + gap * len(stages) + 2.0
    split = len(stages)
    if total > max_width:
        split = next((i for i, s in enumerate(stages) if s[1].topic == "flatten"), len(stages) // 2)
    rows = [stages[:split], stages[split:]] if split < len(stages) else [stages]

    def below(stage) -> float:      # how far a stage reaches under the arrow's line
        _, _, stack, kernel = stage
        return max(stack.height / 2 + LABEL_H, (0.3 + kernel[2] + 0.5) if kernel else 0.0)

    out = [PREAMBLE]
    names, y, k = [], 0.0, 0
    ys = []
    for r, row in enumerate(rows):
        if r > 0:
            previous = ys[-1] - max(below(s) for s in rows[r - 1])
            y = previous - ROW_GAP - max(s[2].height / 2 for s in row)
        ys.append(y)
        x0 = 0.0 if r == 0 else 0.9
        for op, step, stack, kernel in row:
            name = f"m{k}"
            if names and not (r > 0 and step is row[0][1]):
                room = max(_op_width(op) + 0.5 + (0.3 if len(stack.grids) > 1 else 0.0),
                           (kernel[1] + 0.4) if kernel is not None else 0.0)
                x0 += max(0.0, room - gap)                  # room for the arrow's label, the kernel under it
            out += stack.draw(name, x0, y)
            shape = r" \times ".join(str(n) for n in step.value.shape)
            out.append(_label(name, f"${_math(d, step)}$\\\\[-1pt]{{\\tiny ${shape}$}}"))
            if names:
                prev = names[-1]
                above, under = op if isinstance(op, tuple) else (op, "")
                if r > 0 and step is row[0][1]:
                    mid = y + max(s[2].height / 2 for s in row) + 0.4
                    out.append(rf"\draw[->, rounded corners=4pt] ({prev}-east) -- ++(0.3,0) |- (0.3,{mid:.2f}) "
                               rf"-- (0.3,{y:.2f}) -- ({name}-west);")
                    out.append(rf"\node[op] at ({(x0 + 3.0) / 2:.2f},{mid:.2f}) {{{above} {under}}};")
                else:
                    out.append(rf"\draw[->] ({prev}-east) ++(0.08,0) -- node[op] {{{above}}} "
                               + (rf"node[op, below] {{{under}}} " if under else "")
                               + rf"($({name}-west)+(-0.08,0)$);")
                if kernel is not None:
                    out += _kernel_drawing(_math(d, d[layer_of[name].kernel.name]), prev, name, kernel, h)
            names.append(name)
            x0 += stack.width + (gap + 0.8 if k == 0 else gap)
            k += 1
    previous = names[-1] if names else None
    loss = d["L"] if "L" in d else None
    width = x0 - gap
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
        width += gap + 2.8
    out.append(r"\end{tikzpicture}")
    top = max(s[2].height / 2 for s in rows[0])
    height = top - (ys[-1] - max(below(s) for s in rows[-1]))
    return "\n".join(out), (width, height)


def _kernel_drawing(symbol: str, prev: str, name: str, kernel: tuple, h: float) -> list[str]:
    """The kernel's slices under the arrow from ``prev`` to ``name``, filters down, channels across."""
    slices, width, height = kernel
    out = [rf"\begin{{scope}}[shift={{($({prev}-east)!0.5!({name}-west)+({-width / 2:.2f},-0.3)$)}}]"]
    y = 0.0
    for f, row in enumerate(slices):
        x = 0.0
        n = row[0].shape[0]
        for c, grid in enumerate(row):
            w = max(_cell_width(g, h) for r in slices for g in r)
            cells, gw = _grid(f"kern-{name}-{f}-{c}", grid, grid.shape, x, w=w, yc=y - n * h / 2, h=h)
            out += cells
            x += gw + 0.15
        y -= n * h + 0.15
    out.append(rf"\node[lab, below=1mm] at ({width / 2:.2f},{y + 0.15:.2f}) {{${symbol}$}};")
    out.append(r"\end{scope}")
    return out


# -- one convolution window --------------------------------------------------------------------------
def _conv_window(d: Derivation, conv: Step) -> tuple[str, tuple[float, float], str] | None:
    """The first output cell of every filter (TikZ, size, caption), or None when the input is too big to draw."""
    layer = d.layer(conv.owner)
    x = maps(d[layer.input].value)
    k = kernels(d[layer.kernel.name].value, layer)
    F, C, n, m = k.shape
    top, bottom, left, right = layer.pads
    R, W = x.shape[1] + top + bottom, x.shape[2] + left + right
    if max(R, W) > MAX_DRAWN_SIDE + 2 or C > 3:
        return None
    S = layer.stride
    h = CELL_H if R * max(C, 1) * CELL_H <= 4.6 else max(0.32, 4.6 / (R * C))
    padded = np.empty((C, R, W), dtype=object)
    styles, texts = {}, {}
    for c, i, j in np.ndindex(C, R, W):
        inside = top <= i < top + x.shape[1] and left <= j < left + x.shape[2]
        padded[c, i, j] = x[c, i - top, j - left] if inside else x[c, 0, 0]
        if not inside:
            styles[(i, j)] = PAD_STYLE
            texts[(i, j)] = r"\tiny\color{black!45}$0$"
    window = {(u, v): "yellow!55" for u in range(n) for v in range(m)}
    nxt = S < W - m + 1 and S > 1 and conv.value.shape[2] > 1
    w = max(max(_cell_width(padded[c], h) for c in range(C)), max(_cell_width(k[f, c], h)
                                                                   for f in range(F) for c in range(C)))
    x_sym, k_sym = _math(d, d[layer.input]), _math(d, d[layer.kernel.name])
    out = [PREAMBLE]
    grid_h = R * h
    # the input, one channel under the other
    ys = [-(c * (grid_h + 0.75)) for c in range(C)]
    for c in range(C):
        name = "x" if C == 1 else f"x-c{c + 1}"
        cells, width = _grid(name, padded[c], (R, W), 0.0, fills=window, w=w, yc=ys[c], h=h,
                             styles={**styles, **{cell: PAD_STYLE for cell in window if cell in styles}},
                             texts=texts)
        out += cells
        out.append(_label(name, f"${x_sym}$" + (f", channel {c + 1}" if C > 1 else "")))
        if nxt:
            x0, y0 = S * w, ys[c] + grid_h / 2
            out.append(rf"\draw[blue!70!black, densely dashed, thick] ({x0:.3f},{y0:.3f}) rectangle "
                       rf"({x0 + m * w:.3f},{y0 - n * h:.3f});")
            if c == 0:
                out.append(rf"\draw[<->, blue!70!black] (0,{y0 + 0.15:.3f}) -- node[op] {{stride {S}}} "
                           rf"({x0:.3f},{y0 + 0.15:.3f});")
    x_right = W * w
    bias = d[layer.bias.name].value if layer.bias is not None else None
    if F == 1 and C == 1:
        # x ⊙ k → sum → h: the lecture's picture
        kx = x_right + 0.9
        cells, kw = _grid("k", k[0, 0], (n, m), kx, fills={(u, v): "yellow!55" for u in range(n) for v in range(m)},
                          w=w, yc=ys[0], h=h)
        out += cells
        out.append(_label("k", f"${k_sym}$"))
        out.append(r"\node at ($(x-east)!0.5!(k-west)$) {$\odot$};")
        hv = conv.value[0]
        hx = kx + m * w + 1.6
        cells, _ = _grid("h", hv, hv.shape, hx, fills={(0, 0): "orange!45"}, h=h)
        out += cells
        out.append(_label("h", f"${_math(d, conv)}$"))
        total = "sum" + (r" $+\,b$" if bias is not None else "")
        out.append(rf"\draw[->, thick] ($(k-east)+(0.1,0)$) -- node[op] {{{total}}} ($(h-west)+(-0.1,0)$);")
        label = index_symbol(conv.symbol, cell_label(0, 0, 0, 1))
        out.append(rf"\node[lab, below=6mm] at (h-south) {{${label} = {_entry(hv[0, 0])}$}};")
        width = hx + hv.shape[1] * _cell_width(hv, h)
        height = grid_h + 0.9 + (0.4 if nxt else 0.0)
    else:
        # a row per filter: its kernel slices (one per channel) laid on the windows, summed into its map
        kx = x_right + 2.1
        rows_h = [max(n * h, conv.value.shape[1] * h) + 0.95 for _ in range(F)]
        stack_top = ys[0] + grid_h / 2
        block = sum(rows_h)
        centre = (stack_top + ys[-1] - grid_h / 2) / 2
        y = centre + block / 2
        for f in range(F):
            yc = y - rows_h[f] / 2 + 0.2
            cx = kx
            for c in range(C):
                name = f"k-f{f + 1}-c{c + 1}"
                cells, kw = _grid(name, k[f, c], (n, m), cx, fills={(u, v): "yellow!55" for u in range(n)
                                                                      for v in range(m)}, w=w, yc=yc, h=h)
                out += cells
                out.append(_label(name, f"${k_sym}$" if C == 1 else f"ch. {c + 1}"))
                cx += kw + 0.25
            out.append(rf"\node[lab, left=1mm] at (k-f{f + 1}-c1-west) {{filter {f + 1}}};")
            hv = conv.value[f]
            hw = _cell_width(hv, h)
            hx = cx + 1.5
            cells, _ = _grid(f"h-f{f + 1}", hv, hv.shape, hx, fills={(0, 0): "orange!45"}, yc=yc, h=h)
            out += cells
            total = "sum" + (r" $+\,b$" if bias is not None else "")
            out.append(rf"\draw[->, thick] ({cx - 0.15:.3f},{yc:.3f}) -- node[op] {{{total}}} "
                       rf"({hx - 0.1:.3f},{yc:.3f});")
            label = index_symbol(conv.symbol, cell_label(f, 0, 0, F))
            out.append(_label(f"h-f{f + 1}", f"${label} = {_entry(hv[0, 0])}$"))
            y -= rows_h[f]
        width = hx + hv.shape[1] * hw
        height = max(C * grid_h + (C - 1) * 0.75 + 0.5, block) + (0.45 if nxt else 0.0)
    out.append(r"\end{tikzpicture}")
    return "\n".join(out), (width, height), _conv_caption(layer, F, C, bias is not None, nxt, any(layer.pads))


def _conv_caption(layer: Conv2D, filters: int, channels: int, bias: bool, stride_shown: bool, padded: bool) -> str:
    which = "The first output cell" + (" of every filter" if filters > 1 else "")
    text = f"{which}: the kernel laid on the highlighted window"
    text += (", channel by channel," if channels > 1 else ",") + " multiplied entry by entry and summed"
    text += (" over the channels" if channels > 1 else "") + (", plus the bias." if bias else ".")
    if padded:
        text += " Dashed grey cells are the zero padding."
    if stride_shown:
        text += f" The next cell's window (dashed) starts {layer.stride} columns further right: the stride."
    return text


# -- pooling windows ------------------------------------------------------------------------------------
def _overlapping(pool: Pool) -> bool:
    return pool.stride < max(pool.size)


def _pool_figure(d: Derivation, pool_step: Step) -> tuple[str, tuple[float, float], str] | None:
    layer = d.layer(pool_step.owner)
    h = maps(d[layer.input].value)
    if max(h.shape[1:]) > MAX_DRAWN_SIDE:
        return None
    windows = list(pool_windows(layer, h.shape))
    chosen = [tuple(c) for c in layer.chosen]
    channels = h.shape[0]
    out = [PREAMBLE]
    cell = min(CELL_H, max(0.32, (MAX_FIGURE_CM - 1.0 * channels) / (channels * h.shape[1])))
    if _overlapping(layer):
        cell = CELL_H
    w = max(_cell_width(h[c], cell) for c in range(channels))
    rows_cm = h.shape[1] * cell
    maximum = layer.mode == "max"
    if not _overlapping(layer):
        # windows side by side: one grid per channel, each window its own colour, the pooled map beside it
        y = 0.0
        for c in range(channels):
            fills, bold = {}, set()
            for n, ((cc, i, j), cells) in enumerate(windows):
                if cc != c:
                    continue
                colour = COLOURS[(i * pool_step.value.shape[2] + j) % len(COLOURS)]
                fills.update({(r, s): colour for (_c, r, s) in cells})
                if maximum and n < len(chosen):
                    bold.add(chosen[n][1:])
            name = f"in-{c}"
            grid, width = _grid(name, h[c], h.shape[1:], 0.0, fills=fills, bold=bold, w=w, yc=y, h=cell)
            out += grid
            out.append(_label(name, f"${_math(d, d[layer.input])}$" + (f", channel {c + 1}" if channels > 1 else "")))
            pooled = pool_step.value[c]
            outs = {(i, j): COLOURS[(i * pooled.shape[1] + j) % len(COLOURS)] for i, j in np.ndindex(pooled.shape)}
            grid, _ = _grid(f"out-{c}", pooled, pooled.shape, width + 1.6, fills=outs, yc=y, h=cell)
            out += grid
            out.append(_label(f"out-{c}", f"${_math(d, pool_step)}$"))
            out.append(rf"\draw[->] ($({name}-east)+(0.1,0)$) -- node[op] {{{'max' if maximum else 'mean'}}} "
                       rf"($(out-{c}-west)+(-0.1,0)$);")
            y -= rows_cm + 1.0
        size = (width + 1.6 + pool_step.value.shape[2] * _cell_width(pool_step.value[0], cell) + 0.2,
                channels * (rows_cm + 1.0) - 0.3)
        out.append(r"\end{tikzpicture}")
        kind = ("each window (one colour) passes on its largest cell (thick border)" if maximum
                else "each window (one colour) passes on the mean of its cells")
        caption = f"Every pooling window{' of every channel' if channels > 1 else ''}: {kind}."
        return "\n".join(out), size, caption
    drawn = windows[:MAX_WINDOWS]
    per_row = min(WINDOWS_PER_ROW, len(drawn))
    width = h.shape[2] * w
    for n, ((c, i, j), cells) in enumerate(drawn):
        fills = {(r, s): "cyan!30" for (_c, r, s) in cells}
        bold = {chosen[n][1:]} if maximum and n < len(chosen) else set()
        x0 = (n % per_row) * (width + 0.5)
        yc = -(n // per_row) * (rows_cm + 0.95)
        grid, _ = _grid(f"p{n}", h[c], h.shape[1:], x0, fills=fills, bold=bold, w=w, yc=yc)
        out += grid
        lab = index_symbol(pool_step.symbol, cell_label(c, i, j, pool_step.value.shape[0]))
        rel = "=" if latexnum.scalar(pool_step.value[c, i, j], FIGURE_DIGITS).exact else r"\approx"
        out.append(_label(f"p{n}", rf"${lab} {rel} {_entry(pool_step.value[c, i, j])}$"))
    out.append(r"\end{tikzpicture}")
    rows = (len(drawn) + per_row - 1) // per_row
    size = (per_row * (width + 0.5) - 0.5, rows * (rows_cm + 0.95) - 0.35)
    what = ("and the cell it passes on (thick border)" if maximum else "; each passes on the mean of its cells")
    if len(drawn) == len(windows):
        caption = f"Every pooling window{' of every channel' if channels > 1 else ''} {what}."
    else:
        caption = (f"The first {len(drawn)} of the {len(windows)} pooling windows {what}; the others are listed "
                   "below.")
    caption = caption.replace(" ;", ";")
    return "\n".join(out), size, caption


# -- gradient routing ---------------------------------------------------------------------------------------
def _routing(d: Derivation, route: Step) -> tuple[str, tuple[float, float], str] | None:
    pool = d.layer(route.owner)
    activation = next((a for a in d.layers_of(Activation) if a.output == pool.input), None)
    masked_name = f"dL/d{activation.input}" if activation is not None else ""
    suffix = route.name[route.name.index("("):] if "(" in route.name else ""
    masked = d[masked_name + suffix] if masked_name + suffix in d else None
    g_in = d[route.inputs[0]]
    g_out = maps(route.value)
    gi_all = maps(g_in.value.reshape(g_out.shape[0], -1, g_in.value.shape[-1]) if g_in.value.ndim == 3
                  else g_in.value)
    if max(g_out.shape[1:]) > MAX_DRAWN_SIDE:
        return None
    maximum = pool.mode == "max"
    overlapping = _overlapping(pool)
    chosen = [tuple(c) for c in pool.chosen]
    windows = list(pool_windows(pool, g_out.shape))
    channels = g_out.shape[0]
    mask = maps(d[masked.inputs[1]].value) if masked is not None and len(masked.inputs) > 1 else None
    res = maps(masked.value) if mask is not None else None
    rows = max(g_out.shape[1], gi_all.shape[1])
    h = min(CELL_H, max(0.32, (MAX_FIGURE_CM - 0.8 * channels) / (channels * rows)))
    w = max(_cell_width(gi_all, h), _cell_width(g_out, h), _cell_width(res, h) if res is not None else 0.0)
    out = [PREAMBLE]
    y, row_h = 0.0, rows * h
    width = 0.0
    for c in range(channels):
        src_fill, dst_fill = {}, {}
        for n, ((cc, i, j), cells) in enumerate(windows):
            if cc != c:
                continue
            colour = COLOURS[(i * gi_all.shape[2] + j) % len(COLOURS)]
            src_fill[(i, j)] = colour
            if maximum and n < len(chosen):
                dst = chosen[n][1:]
                dst_fill[dst] = colour if dst not in dst_fill else "black!20"
            elif not maximum and not overlapping:
                dst_fill.update({(r, s): colour for (_c, r, s) in cells})
        tag = f"-{c}" if channels > 1 else ""
        cells, gw = _grid(f"gin{tag}", gi_all[c], gi_all.shape[1:], 0.0, fills=src_fill, w=w, yc=y, h=h)
        out += cells
        out.append(_label(f"gin{tag}", f"${_math(d, g_in)}$" + (f", channel {c + 1}" if channels > 1 else "")))
        x = gw + 1.5
        cells, ow = _grid(f"gout{tag}", g_out[c], g_out.shape[1:], x, fills=dst_fill, w=w, yc=y, h=h)
        out += cells
        out.append(_label(f"gout{tag}", f"${_math(d, route)}$"))
        out.append(rf"\draw[->] ($(gin{tag}-east)+(0.1,0)$) -- node[op] {{route}} ($(gout{tag}-west)+(-0.1,0)$);")
        x += ow
        if mask is not None:
            factor = rf"$\odot\ {_math(d, d[masked.inputs[1]])}$"
            x += max(1.9, CHAR_CM * math_width(factor.strip("$")) + 0.5)
            fills = {cell: ("black!12" if mask[c][cell].is_zero else colour) for cell, colour in dst_fill.items()}
            fills.update({(r, s): "black!12" for r, s in np.ndindex(mask[c].shape) if mask[c][r, s].is_zero})
            cells, rw = _grid(f"res{tag}", res[c], res.shape[1:], x, fills=fills, w=w, yc=y, h=h)
            out += cells
            out.append(_label(f"res{tag}", f"${_math(d, masked)}$"))
            out.append(rf"\draw[->] ($(gout{tag}-east)+(0.1,0)$) -- node[op] {{{factor}}} "
                       rf"($(res{tag}-west)+(-0.1,0)$);")
            x += rw
        width = max(width, x)
        y -= row_h + 0.8
    out.append(r"\end{tikzpicture}")
    if maximum:
        caption = ("The gradient routed back: each pooled cell's gradient goes to the cell its window chose "
                   "(same colour), cells no window chose get 0")
    elif overlapping:
        p, q = pool.size
        caption = (f"The gradient routed back: each pooled cell's gradient is shared equally by the {p * q} cells "
                   "of its window (overlapping windows add up)")
    else:
        p, q = pool.size
        caption = (f"The gradient routed back: each pooled cell's gradient is shared equally by the {p * q} cells "
                   "of its window (same colour)")
    if channels > 1:
        caption += ", channel by channel"
    if mask is not None:
        flat = any(n.is_zero for n in mask.flat)
        caption += ("; then the activation's derivative zeroes the cells where the activation was flat (grey)."
                    if flat else "; then each cell is multiplied by the activation's derivative.")
    else:
        caption += "."
    ties = pool.ties if maximum else []
    if ties:
        windows = "1 window" if len(ties) == 1 else f"{len(ties)} windows"
        caption += (f" {windows} had a tie; the first maximum in row-major order receives the "
                    "gradient, as frameworks do.")
    return "\n".join(out), (width, channels * (row_h + 0.8) - 0.1), caption


# -- the figures -------------------------------------------------------------------------------------
def _numbered(base: str, k: int) -> str:
    return base if k == 0 else f"{base}-{k + 1}"


def figures(d: Derivation, digits: int) -> dict:
    figs = {}
    tikz, size = _pipeline(d, values=False)
    caption = "The network, layer by layer, with the given values."
    figs["architecture"] = Figure("architecture", caption, Tex(tikz), figure_height(*size, caption))
    tikz, size = _pipeline(d, values=True)
    caption = "The forward pass at a glance: every map with its values."
    figs["forward"] = Figure("forward", caption, Tex(tikz), figure_height(*size, caption))
    for k, step in enumerate(_first_steps(d, "conv")):
        drawn = _conv_window(d, step)
        if drawn:
            key = _numbered("conv-window", k)
            figs[key] = Figure(key, drawn[2], Tex(drawn[0]), figure_height(*drawn[1], drawn[2]), group="conv")
    for k, step in enumerate(_first_steps(d, "pool")):
        drawn = _pool_figure(d, step)
        if drawn:
            key = _numbered("pool-windows", k)
            figs[key] = Figure(key, drawn[2], Tex(drawn[0]), figure_height(*drawn[1], drawn[2]), group="pool")
    for k, step in enumerate(_first_steps(d, "pool_backward", Kind.BACKWARD)):
        drawn = _routing(d, step)
        if drawn:
            key = _numbered("routing", k)
            figs[key] = Figure(key, drawn[2], Tex(drawn[0]), figure_height(*drawn[1], drawn[2]), group="routing")
    return figs


def _first_steps(d: Derivation, topic: str, kind: Kind = Kind.FORWARD) -> list[Step]:
    """Per layer of this topic, in the network's order, the first step it made of this kind (the first
    example of the first descent step)."""
    seen, out = set(), []
    for s in d.steps:
        if s.kind == kind and s.topic == topic and s.owner not in seen:
            seen.add(s.owner)
            out.append(s)
    return out


def place(section: str, items: list, figs: dict, d: Derivation) -> list:
    """Cell-by-cell blocks after the convolution and the pooling, each figure after the step it was drawn
    from; the forward summary at the end of the forward pass."""
    drawn_from = {}
    for base, topic, kind in (("conv-window", "conv", Kind.FORWARD), ("pool-windows", "pool", Kind.FORWARD)):
        for k, step in enumerate(_first_steps(d, topic, kind)):
            drawn_from[step.name] = _numbered(base, k)
    routed = {}
    for k, step in enumerate(_first_steps(d, "pool_backward", Kind.BACKWARD)):
        routed[step.name] = _numbered("routing", k)
    out = []
    digits = 4
    pending_routing = None
    for item in items:
        out.append(item)
        if item.type != "block" or item.name not in d:
            continue
        step = d[item.name]
        layer = step.topic
        if layer == "conv":
            if drawn_from.get(step.name) in figs:
                out.append(figs[drawn_from[step.name]])
            rows, note = conv_cells(d, step, digits)
            out.append(custom_block(f"{step.name}:cells", f"{d.example['name']}:{step.name}:cells",
                                    "every cell of the feature map: input window times kernel, summed", rows,
                                    [note], group="conv-cells"))
        elif layer == "pool":
            if drawn_from.get(step.name) in figs:
                out.append(figs[drawn_from[step.name]])
            rows, note = pool_cells(d, step, digits)
            out.append(custom_block(f"{step.name}:windows", f"{d.example['name']}:{step.name}:windows",
                                    "every pooling window", rows, [note], group="pool-cells"))
        elif section == "backward" and step.name in routed and routed[step.name] in figs:
            pending_routing = figs[routed[step.name]]
            if not _masked_after(d, step):
                out.append(pending_routing)
                pending_routing = None
        elif section == "backward" and pending_routing is not None and step.owner \
                and isinstance(d.layer(step.owner), Activation) and step.kind == Kind.BACKWARD:
            out.append(pending_routing)
            pending_routing = None
    if pending_routing is not None:
        out.append(pending_routing)
    if section == "forward" and "forward" in figs:
        out.append(figs["forward"])
    return out


def _masked_after(d: Derivation, route: Step) -> bool:
    """Whether an activation's backward step follows the routing (the figure then goes after it)."""
    pool = d.layer(route.owner)
    return any(a.output == pool.input for a in d.layers_of(Activation))


def facts(d: Derivation) -> list:
    """Sizes and choices for the set-up slide, layer by layer (numbered where a kind comes twice)."""
    body = [layer for layer in d.layers if not isinstance(layer, Head)]
    count = {}
    for layer in body:
        count[type(layer)] = count.get(type(layer), 0) + 1
    seen: dict = {}
    x = first_step(d, "x")
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
