"""The Elman-RNN preset: an RNN spec as layers (a recurrent layer, the output layer at the output times,
the head), with the step names the lecture uses (``a_2``, ``h_3``, ``z_4``, ``dL/dW_hh(t=3)``).

Every hidden state is a named step, so ``h_3`` is defined through ``h_2`` and each step costs the
same whatever T is.
"""

from __future__ import annotations

from symderiv.layers.base import Param
from symderiv.layers.feedforward import TimeDistributedDense
from symderiv.layers.head import Head, HeadNames
from symderiv.layers.recurrent import ElmanCell, GRUCell, LSTMCell, Recurrent
from symderiv.models.rnn_spec import RNNSpec, parse_rnn as parse  # noqa: F401  (the preset's parser)
from symderiv.network import Given, Sequence
from symderiv.ops import OpTable
from symderiv.ops.elementwise import use_activation


class RNNNames:
    """Plain names and LaTeX symbols of the unrolled quantities (one place for the convention)."""

    def __init__(self, spec: RNNSpec):
        self.spec = spec
        self.n = spec.notation

    def _layer(self, layer: int) -> tuple[str, str]:
        if self.spec.layers == 1:
            return "", ""
        return f"^({layer})", f"^{{({layer})}}"

    def x(self, t):
        return f"x_{t}", f"{self.n.input}_{{{t}}}"

    def a(self, t, layer):
        p, s = self._layer(layer)
        return f"a_{t}{p}", f"{self.n.preactivation}{s}_{{{t}}}"

    def h(self, t, layer):
        p, s = self._layer(layer)
        return f"h_{t}{p}", f"{self.n.hidden}{s}_{{{t}}}"

    def state(self, base, t, layer):
        """A state or gate of a cell: h, c (LSTM cell state), f, i, g, o, u, r, n."""
        if base == "h":
            return self.h(t, layer)
        p, s = self._layer(layer)
        return f"{base}_{t}{p}", f"{base}{s}_{{{t}}}"

    def gate_pre(self, gate, t, layer):
        """A gate's pre-activation: af_2, written a^{f}_{2} (a^{f,(2)}_{2} in a stack)."""
        p, _ = self._layer(layer)
        level = f",({layer})" if self.spec.layers > 1 else ""
        return f"a{gate}_{t}{p}", f"{self.n.preactivation}^{{{gate}{level}}}_{{{t}}}"

    def squashed(self, t, layer):
        """tanh(c_t) in an LSTM."""
        p, _ = self._layer(layer)
        return f"tanh_c_{t}{p}", rf"\tanh\left({self.state('c', t, layer)[1]}\right)"

    def reset(self, t, layer):
        """The GRU's reset product: r ⊙ h_{t−1} (or U_n h_{t−1} + b_hn with the reset after)."""
        p, s = self._layer(layer)
        if self.spec.gru_reset == "after":
            return f"m_{t}{p}", f"m{s}_{{{t}}}"
        return f"rh_{t}{p}", rf"\left(r \odot h\right){s}_{{{t}}}"

    def output(self, t, many: bool) -> HeadNames:
        k = t + self.n.output_offset
        loss, loss_symbol = (f"L_{k}", f"{self.n.loss}_{{{k}}}") if many else ("L", self.n.loss)
        return HeadNames(f"z_{k}", f"{self.n.output}_{{{k}}}", f"yhat_{k}", f"{self.n.prediction}_{{{k}}}",
                         f"y_{k}", loss, loss_symbol)

    def y(self, t):
        k = t + self.n.output_offset
        return f"y_{k}", f"{self.n.target}_{{{k}}}"


def network(spec: RNNSpec) -> Sequence:
    """The layers of an Elman-RNN spec."""
    names = RNNNames(spec)
    T = spec.steps
    many = spec.output == "every"
    times = list(range(1, T + 1)) if many else [T]
    ops = OpTable()
    act = use_activation(ops, spec.activation, spec.activation_params)
    symbols = spec.notation.symbols

    def param(role, layer=1):
        name = spec.name_of(role, layer)
        return Param(name, role, (), symbols[name], spec.parameters[name])

    if spec.cell == "lstm":
        cell = LSTMCell()
    elif spec.cell == "gru":
        cell = GRUCell(spec.gru_form, spec.gru_reset)
    else:
        cell = ElmanCell(spec.activation, spec.notation.activation, act.forward_pattern(spec.notation.activation),
                         act.derivative_pattern(spec.notation.activation), act.values)
    initial = tuple(f"{state}0" for state in cell.states)
    params = {(role, layer): param(role, layer) for layer in range(1, spec.layers + 1)
              for role in cell.roles + initial}
    recurrent = Recurrent("recurrent", cell, spec.layers, T, params, names, spec.notation.loss)
    output_layer = TimeDistributedDense("output", param("W_hz"), param("b_z"), spec.notation.loss)
    head = Head("head", spec.output_activation, spec.loss, spec.notation.loss, spec.notation.prediction,
                spec.denormalise, loss_notes=False)
    inputs = [Given(*names.x(t), spec.inputs[t - 1], time=t, token=spec.tokens[t - 1] if spec.tokens else None)
              for t in range(1, T + 1)]
    targets = {t: Given(*names.y(t), spec.targets[i], time=t,
                        token=spec.target_tokens[i] if spec.target_tokens else None) for i, t in enumerate(times)}
    example = {"name": spec.name, "title": spec.title, "description": spec.description, "kind": "rnn"}
    return Sequence(example, ops, inputs, recurrent, output_layer, head, {t: names.output(t, many) for t in times},
                    targets, spec.learning_rate, spec.notation.learning_rate, spec, times, many)

