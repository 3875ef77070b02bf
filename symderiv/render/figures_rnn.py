"""Figures of a recurrent network, unrolled through time, with the example's values on the nodes.

The structure is read from the layers' records (which step is a pre-activation, a hidden state, an
output), so stacked layers, many-to-many outputs and renamed parameters draw without special cases:

* ``architecture``: inputs, initial state, weights on the edges, target (set-up slide);
* ``forward``: the same picture with every hidden state, output and the loss filled in;
* ``backward``: the gradient reaching each hidden state, flowing right to left, so a
  vanishing gradient is visible at a glance.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from symderiv.render.escape import Tex, check_math, escape_tex
from symderiv.render.figures import compact, relation
from symderiv.render.substitute import inline_fractions
from symderiv.render.viewmodel import Figure
from symderiv.layers.feedforward import TimeDistributedDense
from symderiv.layers.head import Head
from symderiv.layers.recurrent import Recurrent
from symderiv.steps import Derivation, Step


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


def unrolled(d: Derivation) -> Unrolled:
    """The unrolled network as its layers recorded it."""
    found = d.layers_of(Recurrent)
    if not found:
        return Unrolled([], [])
    rnn, names = found[0], found[0].names
    u = Unrolled(list(range(1, rnn.steps + 1)), list(range(1, rnn.levels + 1)))
    for t in u.times:
        u.inputs[t] = d[rnn.inputs[t]]
        for layer in u.layers:
            u.pre[(t, layer)] = d[names.a(t, layer)[0]]
            u.hidden[(t, layer)] = d[names.h(t, layer)[0]]
    for layer in u.layers:
        u.initial[layer] = d[names.h(0, layer)[0]]
        u.w_in[layer] = d[rnn.param("W_xh", layer).name]
        u.w_rec[layer] = d[rnn.param("W_hh", layer).name]
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


def _math(d: Derivation, step: Step) -> str:
    symbol = str(check_math(step.symbol, f"example {d.example['name']}: symbol of {step.name}"))
    return inline_fractions(symbol)


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


def _spacing(u: Unrolled) -> float:
    """Column distance in cm, so the whole picture is about 13.5 cm wide."""
    return max(2.0, min(3.3, 13.5 / (len(u.times) + 1.7)))


PREAMBLE = r"""\begin{tikzpicture}[>=Stealth, font=\footnotesize,
  var/.style={draw, rounded corners=2pt, align=center, inner sep=2pt, minimum height=0.8cm, minimum width=1.1cm,
    fill=white},
  rnnin/.style={var, fill=blue!7}, rnnhid/.style={var, fill=orange!12}, rnnout/.style={var, fill=green!10},
  rnnloss/.style={var, fill=red!8}, rnnfix/.style={var, fill=black!5},
  wlab/.style={font=\scriptsize, inner sep=1.5pt, align=center}, grad/.style={->, thick, red!70!black}]"""


def _layout(u: Unrolled, dx: float) -> dict:
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
    last = max(u.outputs) if u.outputs else max(u.times)
    pos[("L",)] = ((last + 0.85) * dx, top if len(u.outputs) == 1 else top + 1.6)
    return pos


def _at(p: tuple[float, float]) -> str:
    return f"({p[0]:.2f},{p[1]:.2f})"


def _node_id(key: tuple) -> str:
    return "-".join(str(k) for k in key)


def _output_text(d: Derivation, u: Unrolled, t: int, values: bool) -> str:
    z = u.outputs[t]
    lines = [f"${_math(d, z)}$" + (f" ${_value(z)}$" if values else "")]
    if t in u.predictions:
        p = u.predictions[t]
        lines.append(f"${_math(d, p)}$" + (f" ${_value(p)}$" if values else ""))
    if t in u.targets:
        y = u.targets[t]
        token = y.token
        target = f"target ${_math(d, y)} {_value(y)}$" if not token else \
            rf"target ${_math(d, y)}$: ``{escape_tex(token)}''"
        lines.append(r"{\color{black!60}" + target + "}")
    return r"\\ ".join(lines)


def _input_text(d: Derivation, step: Step) -> str:
    token = step.token
    if token:
        return rf"${_math(d, step)}$\\ ``{escape_tex(token)}''"
    return _node(d, step)


def _gradient_node(d: Derivation, step: Step) -> str:
    name = f"dL/d{step.name}"
    if name not in d:
        return f"${_math(d, step)}$"
    return _node(d, d[name])


def _picture(d: Derivation, u: Unrolled, mode: str) -> tuple[str, float]:
    dx = _spacing(u)
    pos = _layout(u, dx)
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
            text = _gradient_node(d, h) if backward else _node(d, h, values)
            out.append(rf"\node[rnnhid] ({_node_id(('h', t, layer))}) at {_at(pos[('h', t, layer)])} {{{text}}};")
    for t in sorted(u.outputs):
        text = _gradient_node(d, u.outputs[t]) if backward else _output_text(d, u, t, values)
        out.append(rf"\node[rnnout] ({_node_id(('z', t))}) at {_at(pos[('z', t)])} {{{text}}};")
    if u.loss is not None:
        if u.outputs:
            last = _node_id(("z", max(u.outputs)))
            out.append(rf"\node[rnnloss, right=7mm of {last}] (L) {{{_node(d, u.loss, values)}}};")
        else:
            out.append(rf"\node[rnnloss] (L) at {_at(pos[('L',)])} {{{_node(d, u.loss, values)}}};")
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
        bend = "" if t == max(u.outputs) else "[bend right=25]"
        if backward:
            out.append(rf"\draw[grad] ({z}) -- ({h});")
            if u.loss is not None:
                out.append(rf"\draw[grad] (L) to{bend} ({z});")
            continue
        label = _weight_label(d, u.w_out) if u.w_out is not None else ""
        out.append(rf"\draw[->] ({h}) -- node[wlab, right] {{{label}}} ({z});")
        if u.loss is not None:
            out.append(rf"\draw[->] ({z}) to{bend.replace('right', 'left')} (L);")
    out.append(r"\end{tikzpicture}")
    height = 10 * (1.9 * (max(u.layers) + 1) + 0.3) + 22 + (16 if len(u.outputs) > 1 else 0)
    return "\n".join(out), height


def figures(d: Derivation, digits: int) -> dict:
    u = unrolled(d)
    if not u.times:
        return {}
    figs = {}
    for key, caption in (
        ("architecture", "The network unrolled through time, with the given values."),
        ("forward", "The forward pass at a glance: every state computed on the previous slides."),
        ("backward", "The backward pass at a glance: the gradient reaching each state flows right to left; "
                     "each step back multiplies it by a local derivative (and the recurrent weight)."),
    ):
        tikz, height = _picture(d, u, key)
        figs[key] = Figure(key, caption, Tex(tikz), height)
    return figs


def place(section: str, items: list, figs: dict, d: Derivation) -> list:
    """The forward summary closes the forward pass; the backward summary closes the backward pass."""
    if section == "forward" and "forward" in figs:
        return items + [figs["forward"]]
    if section == "backward" and "backward" in figs:
        return items + [figs["backward"]]
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
    act = check_math(spec.notation.activation, f"example {d.example['name']}: notation.activation")
    out.append(("activation", Tex(f"{act}\\ (\\text{{{escape_tex(spec.activation)}}})")))
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
