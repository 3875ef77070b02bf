"""Figures of a multi-layer perceptron: its units as nodes, drawn from the example's own numbers.

A stack of dense layers and activations on a vector input with a few units per layer is drawn as a
neuron diagram, one column per layer:

* ``architecture``: the input's values, each unit with its bias, each edge with its weight (where
  they fit: up to 12 edges between two layers; otherwise the weight matrix is named over the gap),
  the target beside the outputs;
* ``forward``: every unit's pre-activation and activation (the output units: z and ŷ), the loss.

In a batch or over several descent steps the figures show the first example of the first step, and
say so. Bigger stacks, and anything with a convolution, are drawn by :mod:`figures_cnn`.
"""

from __future__ import annotations

from symderiv.layers.feedforward import Activation, Dense
from symderiv.layers.head import Head
from symderiv.render import latexnum
from symderiv.render.escape import Tex, check_math
from symderiv.render.figures import FIGURE_DIGITS, figure_height
from symderiv.render.figures_cnn import facts, first_step, place  # noqa: F401  (facts and placing as any stack's)
from symderiv.render.substitute import inline_fractions
from symderiv.render.viewmodel import Figure
from symderiv.steps import Derivation, Kind

#: The most units in a layer (and inputs) drawn as nodes; more, and the stack is drawn as maps.
MAX_UNITS = 6
#: The most edges between two layers that carry their weights.
MAX_LABELLED_EDGES = 6
#: Distance between columns and between units (cm), at most; a wide or tall stack gets less.
COLUMN_CM = 3.5
UNIT_CM = 1.6

PREAMBLE = r"""\begin{tikzpicture}[>=Stealth, font=\footnotesize,
  unit/.style={draw, rounded corners=3pt, align=center, inner sep=2pt, minimum width=1.3cm, minimum height=0.85cm},
  inp/.style={unit, fill=blue!7}, hid/.style={unit, fill=orange!12}, outp/.style={unit, fill=green!10},
  loss/.style={unit, fill=red!8}, head/.style={align=center, font=\footnotesize},
  w/.style={font=\scriptsize, fill=white, inner sep=0.6pt, pos=0.7}]"""


def drawable(d: Derivation) -> bool:
    """A few dense layers (with activations) on a vector: drawn as units and edges."""
    body = [layer for layer in d.layers if not isinstance(layer, Head)]
    if not body or not all(isinstance(layer, (Dense, Activation)) for layer in body):
        return False
    x = first_step(d, "x")
    if x is None or x.value.ndim != 1 or x.value.size > MAX_UNITS:
        return False
    return all(d[layer.weight.name].value.shape[0] <= MAX_UNITS for layer in body if isinstance(layer, Dense))


def _math(d: Derivation, step) -> str:
    return inline_fractions(str(check_math(step.symbol, f"example {d.example['name']}: symbol of {step.name}")))


def _number(num) -> str:
    shown = latexnum.scalar(num, FIGURE_DIGITS)
    return ("=" if shown.exact else r"\approx") + " " + shown.latex


def _columns(d: Derivation) -> list[dict]:
    """Per column: its steps (the input; each dense layer's z with the activation that follows it; the
    output's z and ŷ) and the dense layer that feeds it."""
    body = [layer for layer in d.layers if not isinstance(layer, Head)]
    head = next((layer for layer in d.layers if isinstance(layer, Head)), None)
    columns = [{"steps": [first_step(d, "x")], "dense": None}]
    for layer in body:
        if isinstance(layer, Dense):
            columns.append({"steps": [first_step(d, layer.output)], "dense": layer})
        else:
            columns[-1]["steps"].append(first_step(d, layer.output))
    if head is not None and head.outputs_base is not None:
        yhat = first_step(d, head.outputs_base.yhat)
        if yhat is not None and yhat.value.shape == columns[-1]["steps"][-1].value.shape:
            columns[-1]["steps"].append(yhat)
    return columns


def _labelled(weights) -> bool:
    """Whether the edges of a weight matrix carry their weights: the labels, 70 % of the way to each unit,
    stay clear of each other when one side has at most two units and there are at most six edges."""
    return min(weights.shape) <= 2 and weights.size <= MAX_LABELLED_EDGES


def _weights_on_edges(d: Derivation) -> bool:
    return all(c["dense"] is None or _labelled(d[c["dense"].weight.name].value) for c in _columns(d))


def _picture(d: Derivation, values: bool) -> tuple[str, tuple[float, float]]:
    columns = _columns(d)
    tallest = max(c["steps"][0].value.size for c in columns)
    dy = max(0.95, min(UNIT_CM, 4.6 / tallest))
    dx = min(COLUMN_CM, 11.0 / (len(columns) + 0.3))
    top = (tallest - 1) / 2 * dy + 0.55            # the headings stand on this line
    out = [PREAMBLE]
    for k, column in enumerate(columns):
        steps = column["steps"]
        n = steps[0].value.size
        style = "inp" if k == 0 else ("outp" if k == len(columns) - 1 else "hid")
        header = r"\\ ".join(f"${_math(d, s)}$" for s in steps)
        out.append(rf"\node[head, anchor=south] (head-{k}) at ({k * dx:.2f},{top:.2f}) {{{header}}};")
        bias = d[column["dense"].bias.name].value if column["dense"] is not None and column["dense"].bias else None
        for i in range(n):
            y = ((n - 1) / 2 - i) * dy
            if values or k == 0:
                text = r"\\ ".join(f"${_number(s.value.flat[i])}$" for s in steps)
            else:
                text = f"$b {_number(bias.flat[i])}$" if bias is not None else ""
            out.append(rf"\node[{style}] (u-{k}-{i}) at ({k * dx:.2f},{y:.2f}) {{{text}}};")
    for k in range(1, len(columns)):
        dense = columns[k]["dense"]
        weights = d[dense.weight.name].value
        n_out, n_in = weights.shape
        labelled = not values and _labelled(weights)
        for j in range(n_out):
            for i in range(n_in):
                label = rf"node[w] {{${latexnum.scalar(weights[j, i], FIGURE_DIGITS).latex}$}} " if labelled else ""
                out.append(rf"\draw[->, black!60] (u-{k - 1}-{i}) -- {label}(u-{k}-{j});")
        if not labelled:
            out.append(rf"\node[head, anchor=south] at ({(k - 0.5) * dx:.2f},{top:.2f}) "
                       rf"{{${_math(d, d[dense.weight.name])}$}};")
    last = len(columns) - 1
    outputs = columns[last]["steps"][0].value.size
    loss = d["L(n=1)"] if "L(n=1)" in d else first_step(d, "L")       # the first example's loss in a batch
    target = d[loss.inputs[1]] if loss is not None and loss.kind == Kind.LOSS and len(loss.inputs) > 1 else None
    right = last * dx
    if target is not None:            # the targets, a column of their own beside the outputs
        right += dx * 0.7
        out.append(rf"\node[head, anchor=south] at ({right:.2f},{top:.2f}) {{${_math(d, target)}$}};")
        for j in range(outputs):
            y = ((outputs - 1) / 2 - j) * dy
            out.append(rf"\node[text=black!60] (t-{j}) at ({right:.2f},{y:.2f}) "
                       rf"{{${_number(target.value.flat[j])}$}};")
    if loss is not None:
        text = f"${_math(d, loss)}" + (f" {_number(loss.value.flat[0])}$" if values else "$")
        right += dx * 0.6
        out.append(rf"\node[loss, anchor=west] (L) at ({right:.2f},0) {{{text}}};")
        for j in range(outputs):
            source = f"t-{j}" if target is not None else f"u-{last}-{j}"
            out.append(rf"\draw[->, black!60] ({source}) -- (L);")
        right += 2.0
    out.append(r"\end{tikzpicture}")
    lines = max(len(c["steps"]) for c in columns)
    return "\n".join(out), (right + 0.6, tallest * dy + 0.5 + 0.4 * lines)


def figures(d: Derivation, digits: int) -> dict:
    one = ""
    head = next((layer for layer in d.layers if isinstance(layer, Head)), None)
    if head is not None and (head.examples > 1 or head.descent_steps > 1):
        one = " The first example" + (" of the batch" if head.examples > 1 else "") + \
            (", before the first update" if head.descent_steps > 1 else "") + " is shown."
    figs = {}
    tikz, size = _picture(d, values=False)
    biases = any(isinstance(layer, Dense) and layer.bias is not None for layer in d.layers)
    parts = ["the input's values"] + (["each unit's bias"] if biases else []) + \
        (["each edge's weight"] if _weights_on_edges(d) else ["each weight matrix named over its edges"])
    caption = "The network, unit by unit: " + ", ".join(parts[:-1]) + " and " + parts[-1] + "." + one
    figs["architecture"] = Figure("architecture", caption, Tex(tikz), figure_height(*size, caption))
    tikz, size = _picture(d, values=True)
    caption = ("The forward pass at a glance: each unit's values, in the order its column's heading gives (one "
               "entry of each vector per unit), and the loss." + one)
    figs["forward"] = Figure("forward", caption, Tex(tikz), figure_height(*size, caption))
    return figs
