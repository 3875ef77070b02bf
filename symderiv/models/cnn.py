"""The one-convolution preset: a CNN spec as layers (convolution, activation, pooling?, dropout?,
flatten, dense, head) with the lecture's step names (``h``, ``h'``, ``h''``, ``h'''``, ``z``, ``ŷ``).

Steps are whole tensors (``h`` is every feature map, filters × rows × columns), never one step per
cell; the layers' records say how a single cell is made, so a renderer can show any cell as the slides
teach without computing it.
"""

from __future__ import annotations

from symderiv.layers.base import Param
from symderiv.layers.feedforward import Activation, Conv2D, Dense, Dropout, Flatten, Pool
from symderiv.layers.head import Head, HeadNames
from symderiv.models.cnn_spec import CNNSpec, parse_cnn as parse  # noqa: F401  (the preset's parser)
from symderiv.network import FeedForward, Given
from symderiv.ops import OpTable
from symderiv.ops.elementwise import use_activation

#: The layers' outputs: plain step name -> LaTeX symbol (the slides' h, h', h'', h''').
SYMBOLS = {"x": "x", "h": "h", "h'": "h'", "h''": "h''", "h_drop": r"\tilde{h}''", "h'''": "h'''", "z": "z",
           "yhat": r"\hat{y}", "y": "y"}


def network(spec: CNNSpec) -> FeedForward:
    """The layers of a one-convolution spec."""
    names, symbols = spec.names, spec.notation.symbols

    def param(role):
        name = names[role]
        return Param(name, role, (), symbols[name], spec.parameters[name])

    conv = Conv2D("conv", param("k"), param("b_conv") if "b_conv" in names else None, spec.stride, spec.padding,
                  spec.kernel_size, spec.filters, spec.channels, spec.input_size, input_gradient=spec.input_gradient)
    ops = OpTable()
    act = use_activation(ops, spec.activation, spec.activation_params)
    layers = [conv, Activation("activation", spec.activation, spec.notation.activation,
                               act.forward_pattern(spec.notation.activation),
                               act.derivative_pattern(spec.notation.activation), "h'", "h'",
                               derivative_note=act.activation.note,
                               blocking_note="Only cells where the activation lets the gradient through keep it."
                               if spec.activation == "relu" else "", params=act.values)]
    if spec.pooling:
        layers.append(Pool("pool", spec.pooling.mode, spec.pooling.size, spec.pooling.stride))
    if spec.dropout:
        layers.append(Dropout("dropout", spec.dropout.p, spec.dropout.mask,
                              output_symbol=SYMBOLS["h_drop"] if spec.pooling else r"\tilde{h}'"))
    layers.append(Flatten("flatten"))
    layers.append(Dense("dense", param("W"), param("b"), "z", "z",
                        weight_note=r"An outer product: row $i$ is the $i$-th output's gradient times $h'''^{\top}$."))
    head = Head("output", spec.output_activation, spec.loss, spec.notation.loss)
    outputs = HeadNames("z", "z", "yhat", SYMBOLS["yhat"], "y", "L", spec.notation.loss)
    example = {"name": spec.name, "title": spec.title, "description": spec.description, "kind": "cnn"}
    return FeedForward(example, ops, [Given("x", "x", spec.image)], layers, head, outputs,
                       [Given("y", "y", spec.target)], spec.learning_rate, spec.notation.learning_rate, spec)

