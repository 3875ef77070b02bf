"""The layers of a feed-forward network: dense, activation, convolution, pooling, dropout, flatten.

Each turns the name of its input step into the name of its output step (``forward``) and, going back,
the name of ∂L/∂output into ∂L/∂input (``backward``), by the backward rules of the operations it
used (:meth:`~symderiv.steps.Builder.backprop`). Steps hold whole tensors (a feature map is every
filter's map at once); a layer's record (which step is its output, which kernel it used, which cells
the pooling chose) is what figures and the float64 reference read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from symderiv.layers.base import Layer, Param, at_time, d, nums
from symderiv.numbers import Num
from symderiv.ops.conv import pool_choices
from symderiv.steps import Kind

#: Per-position kernel-gradient terms are kept as a step while there are at most this many output
#: positions (filters × rows × columns); beyond that only their sum is.
MAX_LISTED_POSITIONS = 36


@dataclass
class Dense(Layer):
    """z = W x + b (W is out × in: one row per unit)."""

    id: str
    weight: Param
    bias: Param
    output: str                          # step name of z
    output_symbol: str
    op: str = "dense"
    topic: str = "dense"
    weight_note: str = ""
    input: str = ""                      # filled by forward
    gradient_steps: dict = field(default_factory=dict)

    def parameters(self):
        return [self.weight, self.bias]

    def given(self, b):
        for p in (self.weight, self.bias):
            b.given(p.name, p.symbol, Kind.PARAMETER, nums(p.value))

    def forward(self, b, x: str, L: str) -> str:
        self.input = x
        b.compute(self.output, self.output_symbol, Kind.FORWARD, self.op, [self.weight.name, x, self.bias.name],
                  role="dense layer" if self.op == "dense" else "output layer", topic=self.topic, owner=self.id)
        return self.output

    def backward(self, b, grad: str, L: str) -> str:
        z = b[self.output]
        for index, p, note in ((0, self.weight, self.weight_note), (2, self.bias, "")):
            op, inputs = b.backprop(self.output, index, grad)
            b.compute(f"dL/d{p.name}", d(L, p.symbol), Kind.GRADIENT, op, inputs, chain=(d(L, z.symbol), d(z.symbol, p.symbol)),
                      parameter=p.name, note=note, owner=self.id,
                      role="contribution to a weight gradient" if op == "outer" else "contribution to a bias gradient")
        x = b[self.input]
        b.contribute(self.input, self.output, 1, grad, (d(L, z.symbol), d(z.symbol, x.symbol)))
        return b.gradient(self.input, f"dL/d{self.input}", d(L, x.symbol), Kind.BACKWARD, owner=self.id,
                          role="gradient flowing back").name


@dataclass
class Activation(Layer):
    """h' = f(h), elementwise."""

    id: str
    op: str                              # the activation's operation in the derivation's table
    symbol: str                          # the lecturer's LaTeX for f
    forward_pattern: str
    derivative_pattern: str
    output: str
    output_symbol: str
    derivative_note: str = ""
    blocking_note: str = ""              # below ∂L/∂h: where the gradient is let through
    params: tuple = ()                   # the activation's parameters: (name, exact value)
    input: str = ""

    def forward(self, b, x: str, L: str) -> str:
        self.input = x
        b.compute(self.output, self.output_symbol, Kind.FORWARD, self.op, [x], formula=self.forward_pattern,
                  role=_activation_role(self.op), topic="activation", owner=self.id)
        return self.output

    def backward(self, b, grad: str, L: str) -> str:
        out, x = b[self.output], b[self.input]
        local = (f"d{self.output}/d{self.input}", d(out.symbol, x.symbol))
        op, inputs = b.backprop(self.output, 0, grad, local=local, formula=self.derivative_pattern,
                                note=self.derivative_note, owner=self.id,
                                role=_derivative_role(self.op))
        return b.compute(f"dL/d{self.input}", d(L, x.symbol), Kind.BACKWARD, op, inputs,
                         chain=(d(L, out.symbol), d(out.symbol, x.symbol)), note=self.blocking_note, owner=self.id,
                         role="back through the activation").name


def _activation_role(op: str) -> str:
    return {"tanh": "activation", "sigmoid": "sigmoid", "relu": "ReLU", "identity": "activation (identity)"}.get(
        op, "activation")


def _derivative_role(op: str) -> str:
    return {"sigmoid": "local derivative of the sigmoid", "relu": "local derivative of ReLU"}.get(
        op, "local derivative of the activation")


@dataclass
class Conv2D(Layer):
    """h[f,i,j] = Σ_{c,u,v} x[c, iS+u−P, jS+v−P] · k[f,c,u,v] + b[f] (cross-correlation, as frameworks)."""

    id: str
    kernel: Param
    bias: Param | None
    stride: int
    padding: int
    kernel_size: tuple[int, int]
    filters: int
    channels: int
    input_size: tuple[int, int]
    output: str = "h"
    input_gradient: bool = False
    input: str = ""
    parts: str = ""                                   # the kernel gradient's per-position terms, when listed
    positions: list = field(default_factory=list)     # (f, i, j) of each term
    nonzero: list = field(default_factory=list)       # which terms are not exactly zero

    def parameters(self):
        return [self.kernel] + ([self.bias] if self.bias else [])

    def given(self, b):
        for p in self.parameters():
            b.given(p.name, p.symbol, Kind.PARAMETER, nums(p.value))

    def constants(self, b):
        b.given("stride", "S", Kind.CONSTANT, Num.rational(self.stride))
        b.given("padding", "P", Kind.CONSTANT, Num.rational(self.padding))
        b.given("size(x)", "X", Kind.CONSTANT, [Num.rational(n) for n in self.input_size], axes=("rows", "columns"))
        b.given("size(k)", "K", Kind.CONSTANT, [Num.rational(n) for n in self.kernel_size], axes=("rows", "columns"))

    def sizes(self, b):
        b.compute("size(h)", "H", Kind.SIZE, "conv_size", ["size(x)", "size(k)", "padding", "stride"],
                  axes=("rows", "columns"), note="Output size along each axis: the number of positions the kernel takes.")

    def forward(self, b, x: str, L: str) -> str:
        self.input = x
        inputs = [x, self.kernel.name] + ([self.bias.name] if self.bias else []) + ["stride", "padding"]
        b.compute(self.output, "h", Kind.FORWARD, "conv2d_bias" if self.bias else "conv2d", inputs, topic="conv",
                  owner=self.id,
                  note=("Cross-correlation, as deep-learning frameworks compute it: each output cell is the sum of "
                        "the input patch under the kernel times the kernel, entry by entry"
                        + (", plus the filter's bias." if self.bias else ".")))
        return self.output

    def backward(self, b, grad: str, L: str) -> str | None:
        k = self.kernel
        dh, kernel_inputs = d(L, "h_{ij}"), b.backprop(self.output, 1, grad)[1]
        g = b.value(grad)
        self.positions = [tuple(int(i) for i in index) for index in np.ndindex(g.shape)]
        if len(self.positions) <= MAX_LISTED_POSITIONS:
            self.nonzero = [p for p, cell in enumerate(self.positions) if not g[cell].is_zero]
            self.parts = f"dL/d{k.name}(h[i,j])" if self.filters == 1 else f"dL/d{k.name}(h[f,i,j])"
            b.compute(self.parts, rf"{dh}\, {d('h_{ij}', k.symbol)}", Kind.BACKWARD, "conv2d_kernel_grad_parts",
                      kernel_inputs, chain=(dh, d("h_{ij}", k.symbol)), topic="conv_backward", owner=self.id,
                      note="One term per output cell: its gradient times the input patch the kernel met there.")
        op, inputs = b.backprop(self.output, 1, grad)
        b.compute(f"dL/d{k.name}", d(L, k.symbol), Kind.GRADIENT, op, inputs,
                  chain=(rf"\sum_{{i,j}} {dh} {d('h_{ij}', k.symbol)}",), topic="conv_backward", owner=self.id,
                  parameter=k.name,
                  note="The sum over output positions of the cell's gradient times the input patch under the kernel.")
        if self.bias:
            op, inputs = b.backprop(self.output, 2, grad)
            b.compute(f"dL/d{self.bias.name}", d(L, self.bias.symbol), Kind.GRADIENT, op, inputs,
                      chain=(rf"\sum_{{i,j}} {dh} {d('h_{ij}', self.bias.symbol)}",), parameter=self.bias.name,
                      owner=self.id, note="Each filter's bias meets every cell of its map with weight 1.")
        if self.input_gradient:
            op, inputs = b.backprop(self.output, 0, grad)
            return b.compute(f"dL/d{self.input}", d(L, "x"), Kind.BACKWARD, op, inputs,
                             chain=(rf"\sum_{{i,j}} {dh} {d('h_{ij}', 'x')}",), topic="conv_backward", owner=self.id,
                             note="Each output cell's gradient times the kernel, placed back on the patch it came "
                                  "from.").name
        return None


@dataclass
class Pool(Layer):
    """Max or average pooling over p × q windows moved by the stride, no padding."""

    id: str
    mode: str                           # "max" | "avg"
    size: tuple[int, int]
    stride: int
    output: str = "h''"
    input: str = ""
    chosen: list = field(default_factory=list)    # max: the arg-max cell of each window, row-major
    ties: list = field(default_factory=list)      # max: output cells whose maximum is shared

    def constants(self, b):
        b.given("pool_size", r"K_{\mathrm{pool}}", Kind.CONSTANT, [Num.rational(n) for n in self.size],
                axes=("rows", "columns"))
        b.given("pool_stride", r"S_{\mathrm{pool}}", Kind.CONSTANT, Num.rational(self.stride))

    def sizes(self, b):
        b.compute("size(h'')", r"H_{\mathrm{pool}}", Kind.SIZE, "pool_size", ["size(h)", "pool_size", "pool_stride"],
                  axes=("rows", "columns"), note="The pooling window slides without padding.")

    def forward(self, b, x: str, L: str) -> str:
        self.input = x
        if self.mode == "max":
            self.chosen, self.ties = pool_choices(b.value(x), self.size, self.stride)
        note = ("Each window gives its largest value; on a tie the first maximum in row-major order is taken, "
                "as common frameworks do." if self.mode == "max" else "Each window gives the mean of its cells.")
        b.compute(self.output, "h''", Kind.FORWARD, f"{self.mode}_pool", [x, "pool_size", "pool_stride"],
                  topic="pool", owner=self.id, note=note)
        return self.output

    def backward(self, b, grad: str, L: str) -> str:
        out, x = b[self.output], b[self.input]
        op, inputs = b.backprop(self.output, 0, grad)
        note = ("Each window's gradient goes to the cell that was its maximum (the first one in row-major order "
                "on a tie); every other cell gets 0, and overlapping windows add up." if self.mode == "max" else
                f"Each window's gradient is shared equally, 1/{self.size[0] * self.size[1]} to each of its cells; "
                "overlapping windows add up.")
        return b.compute(f"dL/d{self.input}", d(L, x.symbol), Kind.BACKWARD, op, inputs,
                         chain=(d(L, out.symbol), d(out.symbol, x.symbol)), topic="pool_backward", owner=self.id,
                         note=note).name


@dataclass
class Dropout(Layer):
    """Inverted dropout with a given mask: h ⊙ m / (1 − p)."""

    id: str
    p: object                            # exact drop probability
    mask: list                           # 0/1, the shape of the map it follows (3-d)
    output: str = "h_drop"
    output_symbol: str = r"\tilde{h}''"
    input: str = ""

    def constants(self, b):
        b.given("dropout_p", "p", Kind.CONSTANT, Num.rational(self.p))
        b.given("dropout_mask", "m", Kind.CONSTANT, [[[Num.rational(v) for v in row] for row in plane]
                                                      for plane in self.mask],
                note="The dropout mask is given, so the example is deterministic: 1 keeps a cell, 0 drops it.")

    def forward(self, b, x: str, L: str) -> str:
        self.input = x
        b.compute(self.output, self.output_symbol, Kind.FORWARD, "dropout", [x, "dropout_mask", "dropout_p"],
                  topic="dropout", owner=self.id,
                  note="Inverted dropout: kept cells are scaled by 1/(1 − p), so nothing changes at test time.")
        return self.output

    def backward(self, b, grad: str, L: str) -> str:
        out, x = b[self.output], b[self.input]
        local = (f"dh_drop/d{self.input}", d(out.symbol, x.symbol))
        op, inputs = b.backprop(self.output, 0, grad, local=local, owner=self.id, role="local derivative of dropout")
        return b.compute(f"dL/d{self.input}", d(L, x.symbol), Kind.BACKWARD, op, inputs,
                         chain=(d(L, out.symbol), d(out.symbol, x.symbol)), owner=self.id,
                         role="back through the dropout",
                         note="Dropped cells pass no gradient; kept cells pass it scaled by 1/(1 − p).").name


@dataclass
class Flatten(Layer):
    """The map read row-major: the first filter's map row by row, then the next filter's."""

    id: str
    output: str = "h'''"
    input: str = ""
    shape: tuple = ()

    def forward(self, b, x: str, L: str) -> str:
        self.input = x
        self.shape = tuple(b.value(x).shape)
        b.compute(self.output, "h'''", Kind.FORWARD, "flatten", [x], topic="flatten", owner=self.id,
                  note="Row-major: the first filter's map row by row, then the next filter's.")
        return self.output

    def backward(self, b, grad: str, L: str) -> str:
        out, x = b[self.output], b[self.input]
        op, inputs = b.backprop(self.output, 0, grad)
        return b.compute(f"dL/d{self.input}", d(L, x.symbol), Kind.BACKWARD, op, inputs,
                         chain=(d(L, out.symbol), d(out.symbol, x.symbol)), owner=self.id,
                         note="The gradient reshaped back to the map's shape.").name



@dataclass
class TimeDistributedDense(Layer):
    """z_t = W h_t + b at each output time of a sequence; its gradients are summed over those times."""

    id: str
    weight: Param
    bias: Param
    loss_symbol: str = "L"
    inputs: dict = field(default_factory=dict)      # t -> the state it reads

    def parameters(self):
        return [self.weight, self.bias]

    def given(self, b):
        for p in (self.weight, self.bias):
            b.given(p.name, p.symbol, Kind.PARAMETER, nums(p.value))

    def forward_at(self, b, t: int, h: str, names) -> str:
        self.inputs[t] = h
        b.compute(names.z, names.z_symbol, Kind.FORWARD, "affine", [self.weight.name, h, self.bias.name], time=t,
                  owner=self.id, role="output layer")
        return names.z

    def backward_at(self, b, t: int, grad: str, names) -> None:
        """Pass ∂L/∂z_t on to the state it read (as one path of that state's gradient)."""
        L, h = self.loss_symbol, self.inputs[t]
        b.contribute(h, names.z, 1, grad, (d(L, names.z_symbol), d(names.z_symbol, b[h].symbol)))

    def totals(self, b, times: list[int], outputs: dict) -> None:
        L = self.loss_symbol
        for index, p in ((0, self.weight), (2, self.bias)):
            role = "contribution to a weight gradient" if index == 0 else "contribution to a bias gradient"
            contributions = []
            for t in times:
                z, zsym = outputs[t].z, outputs[t].z_symbol
                op, inputs = b.backprop(z, index, f"dL/d{z}")
                chain = (d(L, zsym), d(zsym, p.symbol))
                if len(times) == 1:
                    b.compute(f"dL/d{p.name}", d(L, p.symbol), Kind.GRADIENT, op, inputs, chain=chain, layer=1,
                              parameter=p.name, owner=self.id, role=role)
                    break
                contributions.append(b.compute(f"dL/d{p.name}(t={t})", at_time(d(L, p.symbol), t), Kind.BACKWARD, op,
                                               inputs, time=t, chain=chain, parameter=p.name, owner=self.id,
                                               role=role).name)
            if contributions:
                b.compute(f"dL/d{p.name}", d(L, p.symbol), Kind.GRADIENT, "sum", contributions, layer=1,
                          chain=(rf"\sum_{{t}} {at_time(d(L, p.symbol), 't')}",), parameter=p.name, owner=self.id,
                          role="sum of the contributions")
