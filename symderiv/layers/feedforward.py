"""The layers of a feed-forward network: dense, activation, convolution, pooling, dropout, flatten.

Each turns the (base) name of its input into the name of its output (``forward``) and, going back, the
name of ∂L/∂output into ∂L/∂input (``backward``), by the backward rules of the operations it used
(:meth:`~symderiv.steps.Builder.backprop`). A :class:`~symderiv.layers.base.Pass` says which example of
a batch and which descent step the steps belong to, and so how they are named. Steps hold whole tensors
(a feature map is every filter's map at once); a layer's record (which step is its output, which kernel
it used, which cells the pooling chose) is what figures and the float64 reference read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from symderiv.errors import SpecError
from symderiv.layers.base import Layer, Param, Pass, at_time, d, nums
from symderiv.numbers import Num, mp
from symderiv.ops.conv import pool_choices
from symderiv.ops.elementwise import OutsideDomain
from symderiv.steps import Kind

#: Per-position kernel-gradient terms are kept as a step while there are at most this many output
#: positions (filters × rows × columns); beyond that only their sum is.
MAX_LISTED_POSITIONS = 36


def _given_parameters(b, params) -> None:
    for p in params:
        b.given(p.name, p.symbol, Kind.PARAMETER, nums(p.value))


@dataclass
class Dense(Layer):
    """z = W x + b (W is out × in: one row per unit); without a bias, z = W x."""

    id: str
    weight: Param
    bias: Param | None
    output: str                          # base step name of z
    output_symbol: str
    op: str = "dense"
    topic: str = "dense"
    weight_note: str = ""
    input_gradient: bool = True          # pass the gradient on to the input (not for a network's input)
    input: str = ""                      # filled by forward (base name)

    def parameters(self):
        return [self.weight] + ([self.bias] if self.bias else [])

    def given(self, b):
        _given_parameters(b, self.parameters())

    def forward(self, b, ctx: Pass, x: str) -> str:
        self.input = x
        if self.bias is not None:
            op, inputs = self.op, [ctx.param(self.weight.name), ctx.name(x), ctx.param(self.bias.name)]
        else:
            op, inputs = "matvec", [ctx.param(self.weight.name), ctx.name(x)]
        b.compute(ctx.name(self.output), ctx.symbol(self.output_symbol), Kind.FORWARD, op, inputs,
                  role="dense layer" if self.op == "dense" else "output layer", topic=self.topic, owner=self.id)
        return self.output

    def backward(self, b, ctx: Pass, grad: str) -> str | None:
        out = ctx.name(self.output)
        z = b[out]
        L = ctx.L
        indices = [(0, self.weight, self.weight_note)] + ([(2, self.bias, "")] if self.bias is not None else [])
        for index, p, note in indices:
            op, inputs = b.backprop(out, index, grad)
            ctx.param_gradient(b, p, op, inputs, (d(L, z.symbol), d(z.symbol, b[ctx.param(p.name)].symbol)),
                               note=note, owner=self.id, what="the weights" if index == 0 else "the bias")
        if not self.input_gradient:
            return None
        x = b[ctx.name(self.input)]
        b.contribute(x.name, out, 1, grad, (d(L, z.symbol), d(z.symbol, x.symbol)))
        return b.gradient(x.name, f"dL/d{x.name}", d(L, x.symbol), Kind.BACKWARD, owner=self.id,
                          role="back through the dense layer: to its input").name


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
    formula: str = ""                    # a user's formula (its source text), for the float64 reference
    formula_constants: tuple = ()        # the constants the formula names: (name, exact value)
    formula_field: str = ""              # where the spec gives the formula (layer[1].function.formula)
    input: str = ""
    topic: str = "activation"

    def forward(self, b, ctx: Pass, x: str) -> str:
        self.input = x
        try:
            b.compute(ctx.name(self.output), ctx.symbol(self.output_symbol), Kind.FORWARD, self.op, [ctx.name(x)],
                      formula=self.forward_pattern, role=_activation_role(self.op), topic=self.topic, owner=self.id)
        except OutsideDomain as err:
            raise self._outside(err, ctx.name(x)) from None
        return self.output

    def backward(self, b, ctx: Pass, grad: str) -> str:
        out, x = b[ctx.name(self.output)], b[ctx.name(self.input)]
        local = (f"d{out.name}/d{x.name}" if not ctx.suffix else f"d{self.output}/d{self.input}{ctx.suffix}",
                 d(out.symbol, x.symbol))
        try:
            op, inputs = b.backprop(out.name, 0, grad, local=local, formula=self.derivative_pattern,
                                    note=self.derivative_note, owner=self.id, role=_derivative_role(self.op))
        except OutsideDomain as err:
            raise self._outside(err, x.name) from None
        return b.compute(f"dL/d{x.name}", d(ctx.L, x.symbol), Kind.BACKWARD, op, inputs,
                         chain=(d(ctx.L, out.symbol), d(out.symbol, x.symbol)), note=self.blocking_note,
                         owner=self.id, role="back through the activation").name

    def _outside(self, err: OutsideDomain, argument: str) -> SpecError:
        what = f"{self.formula!r}, whose derivative has" if err.derivative else f"{self.formula!r}, which has"
        return SpecError(self.formula_field or "formula",
                         "a formula with a finite real value and derivative at every pre-activation",
                         f"{what} no finite real value at a = {mp.nstr(err.at.approx, 6)} (an entry of {argument})")


#: How a pooling's caption names its mode.
POOL_WORDS = {"max": "max", "avg": "average"}


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
    padding: tuple | int                 # P on every side, or (top, bottom, left, right)
    kernel_size: tuple[int, int]
    filters: int
    channels: int
    input_size: tuple[int, int]
    output: str = "h"
    output_symbol: str = "h"
    input_gradient: bool = False
    # names of the layer's given settings and sizes (the one-convolution preset's are the lecture's)
    stride_name: str = "stride"
    padding_name: str = "padding"
    input_size_name: str = "size(x)"
    kernel_size_name: str = "size(k)"
    size_name: str = "size(h)"
    gives_input_size: bool = True        # its input's size is a given value (not a size computed before)
    label: str = ""                      # subscript of its symbols S, P, X, K, H when a network has several
    input: str = ""
    parts: str = ""                                   # the kernel gradient's per-position terms, when listed
    positions: list = field(default_factory=list)     # (f, i, j) of each term
    nonzero: list = field(default_factory=list)       # which terms are not exactly zero

    def parameters(self):
        return [self.kernel] + ([self.bias] if self.bias else [])

    def given(self, b):
        _given_parameters(b, self.parameters())

    @property
    def pads(self) -> tuple[int, int, int, int]:
        """Zero padding (top, bottom, left, right)."""
        return (self.padding,) * 4 if isinstance(self.padding, int) else tuple(self.padding)

    def _sym(self, letter: str) -> str:
        return f"{letter}_{{{self.label}}}" if self.label else letter

    @property
    def asymmetric(self) -> bool:
        return len(set(self.pads)) > 1

    def constants(self, b):
        b.given(self.stride_name, self._sym("S"), Kind.CONSTANT, Num.rational(self.stride))
        if self.asymmetric:
            top, bottom, left, right = self.pads
            b.given(self.padding_name, self._sym("P"), Kind.CONSTANT, [Num.rational(p) for p in self.pads],
                    axes=("top", "bottom", "left", "right"))
            b.given(self.padding_name + "_before", self._sym("P^{-}"), Kind.CONSTANT,
                    [Num.rational(top), Num.rational(left)], axes=("top", "left"))
            b.given(self.padding_name + "_after", self._sym("P^{+}"), Kind.CONSTANT,
                    [Num.rational(bottom), Num.rational(right)], axes=("bottom", "right"))
        else:
            b.given(self.padding_name, self._sym("P"), Kind.CONSTANT, Num.rational(self.pads[0]))
        if self.gives_input_size:
            b.given(self.input_size_name, self._sym("X"), Kind.CONSTANT, [Num.rational(n) for n in self.input_size],
                    axes=("rows", "columns"))
        b.given(self.kernel_size_name, self._sym("K"), Kind.CONSTANT, [Num.rational(n) for n in self.kernel_size],
                axes=("rows", "columns"))

    def sizes(self, b):
        note = "Output size along each axis: the number of positions the kernel takes."
        if self.asymmetric:
            b.compute(self.size_name, self._sym("H"), Kind.SIZE, "conv_size_pads",
                      [self.input_size_name, self.kernel_size_name, self.padding_name + "_before",
                       self.padding_name + "_after", self.stride_name], axes=("rows", "columns"), note=note,
                      owner=self.id, role="output size of the convolution")
            return
        b.compute(self.size_name, self._sym("H"), Kind.SIZE, "conv_size",
                  [self.input_size_name, self.kernel_size_name, self.padding_name, self.stride_name],
                  axes=("rows", "columns"), note=note, owner=self.id, role="output size of the convolution")

    def forward(self, b, ctx: Pass, x: str) -> str:
        self.input = x
        inputs = [ctx.name(x), ctx.param(self.kernel.name)] + ([ctx.param(self.bias.name)] if self.bias else []) \
            + [self.stride_name, self.padding_name]
        b.compute(ctx.name(self.output), ctx.symbol(self.output_symbol), Kind.FORWARD,
                  "conv2d_bias" if self.bias else "conv2d", inputs, topic="conv", owner=self.id,
                  role="convolution" + (" plus the filter's bias" if self.bias else ""),
                  note=("Cross-correlation, as deep-learning frameworks compute it: each output cell is the sum of "
                        "the input patch under the kernel times the kernel, entry by entry"
                        + (", plus the filter's bias." if self.bias else ".")))
        return self.output

    def backward(self, b, ctx: Pass, grad: str) -> str | None:
        k, L = self.kernel, ctx.L
        out = ctx.name(self.output)
        h = b[out].symbol
        hij = _entry(h, "ij")
        ksym = b[ctx.param(k.name)].symbol
        dh = d(L, hij)
        kernel_inputs = b.backprop(out, 1, grad)[1]
        g = b.value(grad)
        self.positions = [tuple(int(i) for i in index) for index in np.ndindex(g.shape)]
        if len(self.positions) <= MAX_LISTED_POSITIONS:
            self.nonzero = [p for p, cell in enumerate(self.positions) if not g[cell].is_zero]
            base = f"dL/d{k.name}(h[i,j])" if self.filters == 1 else f"dL/d{k.name}(h[f,i,j])"
            if self.output != "h":
                base = base.replace("(h[", f"({self.output}[")
            self.parts = base
            b.compute(base + ctx.suffix, rf"{dh}\, {d(hij, ksym)}", Kind.BACKWARD, "conv2d_kernel_grad_parts",
                      kernel_inputs, chain=(dh, d(hij, ksym)), topic="conv_backward", owner=self.id,
                      role="the kernel's gradient, term by term: one term per output cell",
                      note="One term per output cell: its gradient times the input patch the kernel met there.")
        op, inputs = b.backprop(out, 1, grad)
        ctx.param_gradient(b, k, op, inputs, (rf"\sum_{{i,j}} {dh} {d(hij, ksym)}",), topic="conv_backward",
                           owner=self.id, what="the kernel",
                           note="The sum over output positions of the cell's gradient times the input patch under "
                                "the kernel.")
        if self.bias:
            op, inputs = b.backprop(out, 2, grad)
            bsym = b[ctx.param(self.bias.name)].symbol
            ctx.param_gradient(b, self.bias, op, inputs, (rf"\sum_{{i,j}} {dh} {d(hij, bsym)}",), owner=self.id,
                               what="the convolution's bias", topic="conv_backward",
                               note="Each filter's bias meets every cell of its map with weight 1.")
        if self.input_gradient:
            x = b[ctx.name(self.input)]
            op, inputs = b.backprop(out, 0, grad)
            return b.compute(f"dL/d{x.name}", d(L, x.symbol), Kind.BACKWARD, op, inputs,
                             chain=(rf"\sum_{{i,j}} {dh} {d(hij, x.symbol)}",), topic="conv_backward", owner=self.id,
                             role="back through the convolution: to its input",
                             note="Each output cell's gradient times the kernel, placed back on the patch it came "
                                  "from.").name
        return None


def _entry(symbol: str, index: str) -> str:
    """``h_{ij}``, or ``z^{(1)}_{ij}`` for a symbol with a superscript."""
    return f"{symbol}_{{{index}}}" if "^" not in symbol and "_" not in symbol else f"{{{symbol}}}_{{{index}}}"


@dataclass
class Pool(Layer):
    """Max or average pooling over p × q windows moved by the stride, no padding."""

    id: str
    mode: str                           # "max" | "avg"
    size: tuple[int, int]
    stride: int
    output: str = "h''"
    output_symbol: str = "h''"
    size_name: str = "pool_size"
    stride_name: str = "pool_stride"
    map_size_name: str = "size(h'')"
    input_size_name: str = "size(h)"
    label: str = ""
    input: str = ""
    chosen: list = field(default_factory=list)    # max: the arg-max cell of each window, row-major (first pass)
    ties: list = field(default_factory=list)      # max: output cells whose maximum is shared (first pass)

    def constants(self, b):
        tag = r"\mathrm{pool}" + (f",{self.label}" if self.label else "")
        b.given(self.size_name, rf"K_{{{tag}}}", Kind.CONSTANT, [Num.rational(n) for n in self.size],
                axes=("rows", "columns"))
        b.given(self.stride_name, rf"S_{{{tag}}}", Kind.CONSTANT, Num.rational(self.stride))

    def sizes(self, b):
        tag = r"\mathrm{pool}" + (f",{self.label}" if self.label else "")
        b.compute(self.map_size_name, rf"H_{{{tag}}}", Kind.SIZE, "pool_size",
                  [self.input_size_name, self.size_name, self.stride_name],
                  axes=("rows", "columns"), note="The pooling window slides without padding.", owner=self.id,
                  role="output size of the pooling")

    def forward(self, b, ctx: Pass, x: str) -> str:
        self.input = x
        if self.mode == "max" and not self.chosen:
            self.chosen, self.ties = pool_choices(b.value(ctx.name(x)), self.size, self.stride)
        note = ("Each window gives its largest value; on a tie the first maximum in row-major order is taken, "
                "as common frameworks do." if self.mode == "max" else "Each window gives the mean of its cells.")
        b.compute(ctx.name(self.output), ctx.symbol(self.output_symbol), Kind.FORWARD, f"{self.mode}_pool",
                  [ctx.name(x), self.size_name, self.stride_name], topic="pool", owner=self.id, note=note,
                  role=f"{POOL_WORDS[self.mode]} pooling")
        return self.output

    def backward(self, b, ctx: Pass, grad: str) -> str:
        out, x = b[ctx.name(self.output)], b[ctx.name(self.input)]
        op, inputs = b.backprop(out.name, 0, grad)
        note = ("Each window's gradient goes to the cell that was its maximum (the first one in row-major order "
                "on a tie); every other cell gets 0, and overlapping windows add up." if self.mode == "max" else
                f"Each window's gradient is shared equally, 1/{self.size[0] * self.size[1]} to each of its cells; "
                "overlapping windows add up.")
        role = ("back through the max pooling: to the cell each window chose" if self.mode == "max" else
                "back through the average pooling: shared equally over each window")
        return b.compute(f"dL/d{x.name}", d(ctx.L, x.symbol), Kind.BACKWARD, op, inputs,
                         chain=(d(ctx.L, out.symbol), d(out.symbol, x.symbol)), topic="pool_backward", owner=self.id,
                         note=note, role=role).name


@dataclass
class Dropout(Layer):
    """Inverted dropout with a given mask: h ⊙ m / (1 − p)."""

    id: str
    p: object                            # exact drop probability
    mask: list                           # 0/1, the shape of the map it follows
    output: str = "h_drop"
    output_symbol: str = r"\tilde{h}''"
    p_name: str = "dropout_p"
    mask_name: str = "dropout_mask"
    input: str = ""

    def constants(self, b):
        b.given(self.p_name, "p", Kind.CONSTANT, Num.rational(self.p))
        b.given(self.mask_name, "m", Kind.CONSTANT, nums(self.mask),
                note="The dropout mask is given, so the example is deterministic: 1 keeps a cell, 0 drops it.")

    def forward(self, b, ctx: Pass, x: str) -> str:
        self.input = x
        b.compute(ctx.name(self.output), ctx.symbol(self.output_symbol), Kind.FORWARD, "dropout",
                  [ctx.name(x), self.mask_name, self.p_name], topic="dropout", owner=self.id, role="inverted dropout",
                  note="Inverted dropout: kept cells are scaled by $1/(1 - p)$, so nothing changes at test time.")
        return self.output

    def backward(self, b, ctx: Pass, grad: str) -> str:
        out, x = b[ctx.name(self.output)], b[ctx.name(self.input)]
        local = (f"d{self.output}/d{self.input}{ctx.suffix}", d(out.symbol, x.symbol))
        op, inputs = b.backprop(out.name, 0, grad, local=local, owner=self.id, role="local derivative of dropout",
                                topic="dropout")
        return b.compute(f"dL/d{x.name}", d(ctx.L, x.symbol), Kind.BACKWARD, op, inputs,
                         chain=(d(ctx.L, out.symbol), d(out.symbol, x.symbol)), owner=self.id,
                         role="back through the dropout", topic="dropout",
                         note="Dropped cells pass no gradient; kept cells pass it scaled by $1/(1 - p)$.").name


@dataclass
class Flatten(Layer):
    """The map read row-major: the first filter's map row by row, then the next filter's."""

    id: str
    output: str = "h'''"
    output_symbol: str = "h'''"
    input: str = ""
    shape: tuple = ()

    def forward(self, b, ctx: Pass, x: str) -> str:
        self.input = x
        self.shape = tuple(b.value(ctx.name(x)).shape)
        b.compute(ctx.name(self.output), ctx.symbol(self.output_symbol), Kind.FORWARD, "flatten", [ctx.name(x)],
                  topic="flatten", owner=self.id, role="flatten: the map read row by row",
                  note="Row-major: the first filter's map row by row, then the next filter's.")
        return self.output

    def backward(self, b, ctx: Pass, grad: str) -> str:
        out, x = b[ctx.name(self.output)], b[ctx.name(self.input)]
        op, inputs = b.backprop(out.name, 0, grad)
        return b.compute(f"dL/d{x.name}", d(ctx.L, x.symbol), Kind.BACKWARD, op, inputs,
                         chain=(d(ctx.L, out.symbol), d(out.symbol, x.symbol)), owner=self.id, topic="flatten",
                         role="back through the flattening: the gradient reshaped to the map",
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
            what = "the output weights" if index == 0 else "the output bias"
            role = f"contribution to the gradient of {what}"
            contributions = []
            for t in times:
                z, zsym = outputs[t].z, outputs[t].z_symbol
                op, inputs = b.backprop(z, index, f"dL/d{z}")
                chain = (d(L, zsym), d(zsym, p.symbol))
                if len(times) == 1:
                    b.compute(f"dL/d{p.name}", d(L, p.symbol), Kind.GRADIENT, op, inputs, chain=chain, layer=1,
                              parameter=p.name, owner=self.id, role=f"gradient of {what}")
                    break
                contributions.append(b.compute(f"dL/d{p.name}(t={t})", at_time(d(L, p.symbol), t), Kind.BACKWARD, op,
                                               inputs, time=t, chain=chain, parameter=p.name, owner=self.id,
                                               role=role).name)
            if contributions:
                b.compute(f"dL/d{p.name}", d(L, p.symbol), Kind.GRADIENT, "sum", contributions, layer=1,
                          chain=(rf"\sum_{{t}} {at_time(d(L, p.symbol), 't')}",), parameter=p.name, owner=self.id,
                          role=f"gradient of {what}: the sum over time")
