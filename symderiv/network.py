"""A network as a list of layers, and :func:`derive`: given values, forward, loss, backward, update.

Two shapes of network share the stages: a feed-forward stack (``FeedForward``: layer after layer, then
the head) and a sequence network (``Sequence``: a recurrent layer unrolled through time, with the
layers after it and the head applied at each output time). Either way the steps come in the order
the slides teach: what is given, the shapes, the forward pass, the loss, the backward pass (through
time for a sequence), the parameters' gradients and one gradient-descent step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from symderiv.gcpause import without_gc_pauses
from symderiv.layers.base import Pass, d, nums
from symderiv.layers.head import Head, HeadNames
from symderiv.layers.recurrent import Recurrent
from symderiv.numbers import Num
from symderiv.ops import OpTable
from symderiv.steps import Builder, Derivation, Kind


@dataclass(frozen=True)
class Given:
    """A value the example gives (an input or a target): its step name, symbol and exact value."""

    name: str
    symbol: str
    value: object
    time: int | None = None
    token: str | None = None


@dataclass
class FeedForward:
    """x → layers → head, for one example or a batch, over one or several gradient-descent steps.

    With a batch the loss is the mean (or sum) of the examples' losses, each example's gradient reaches
    the parameters as a contribution of its own, and their mean (or sum) is the gradient. Without a head
    (``upstream`` given) the network's output gradient ∂L/∂output is given instead of a loss.
    """

    example: dict
    ops: OpTable
    inputs_given: list                  # Given per example
    layers: list
    head: Head
    outputs: HeadNames                  # base names of z, ŷ, y, L
    targets_given: list                 # Given per example (empty without a head)
    learning_rate: object
    learning_rate_symbol: str = r"\eta"
    model: object = None
    steps: int = 1
    reduction: str = "mean"             # over a batch: "mean" | "sum"
    upstream: list = field(default_factory=list)   # Given per example: ∂L/∂output, for a network without a head
    passes: list = field(default_factory=list)     # the passes made (the float64 reference repeats them)

    @property
    def batch(self) -> bool:
        return len(self.inputs_given) > 1

    def all_layers(self) -> list:
        return self.layers + [self.head]

    def inputs(self) -> list[Given]:
        return list(self.inputs_given) + list(self.upstream)

    def targets(self) -> list[Given]:
        return list(self.targets_given)

    def __post_init__(self):
        # the head records how the network was run, for the float64 reference that repeats it
        self.head.examples = len(self.inputs_given)
        self.head.descent_steps = self.steps
        self.head.reduction = self.reduction
        self.head.given_gradient = bool(self.upstream)
        self.head.outputs_base = self.outputs

    def _pass(self, n: int | None, step: int, params: dict) -> Pass:
        return Pass(n, step, params, self.head.loss_symbol, self.batch)

    def _head_names(self, ctx: Pass) -> HeadNames:
        o = self.outputs
        given = Pass(ctx.example, 1)          # targets and given gradients do not change from step to step
        return HeadNames(ctx.name(o.z), ctx.symbol(o.z_symbol), ctx.name(o.yhat), ctx.symbol(o.yhat_symbol),
                         given.name(o.y), ctx.name(o.loss) if self.batch else o.loss + ctx.suffix,
                         ctx.symbol(o.loss_symbol))

    def run(self, b, forward_only: bool) -> None:
        params = {p.name: p.name for layer in self.layers for p in layer.parameters()}
        examples = list(range(1, len(self.inputs_given) + 1)) if self.batch else [None]
        for step in range(1, self.steps + 1):
            b.defaults = {"descent": step}
            passes = [self._pass(n, step, dict(params)) for n in examples]
            self.passes.extend(passes)
            for ctx in passes:
                current = self.inputs_given[0].name if ctx.example is None else "x"
                for layer in self.layers:
                    current = layer.forward(b, ctx, current)
                if not self.upstream:
                    self.head.forward(b, ctx.name(current), self._head_names(ctx).y, self._head_names(ctx))
            if self.batch and not self.upstream:
                self._total_loss(b, passes, step)
            if forward_only:
                break
            for ctx in passes:
                grad = self._upstream(b, ctx)
                for layer in reversed(self.layers):
                    grad = layer.backward(b, ctx, grad)
                    if grad is None:
                        break
            if self.batch:
                self._totals(b, passes, step)
            params = self._update(b, params, step)
        b.defaults = {}

    def _upstream(self, b, ctx: Pass) -> str:
        if self.upstream:
            return Pass(ctx.example, 1).name(f"dL/d{self.outputs.z}")
        return self.head.backward(b, self._head_names(ctx))

    def _total_loss(self, b, passes: list, step: int) -> None:
        suffix = Pass(None, step).suffix
        op = "mean" if self.reduction == "mean" else "sum"
        b.compute("L" + suffix, self.head.loss_symbol, Kind.LOSS, op, [self._head_names(c).loss for c in passes],
                  owner=self.head.id, role="loss of the batch: the mean over its examples" if op == "mean"
                  else "loss of the batch: the sum over its examples")

    def _totals(self, b, passes: list, step: int) -> None:
        suffix = Pass(None, step).suffix
        L = self.head.loss_symbol
        for layer in self.layers:
            for p in layer.parameters():
                parts = [name for ctx in passes for name in ctx.grads.get(p.name, [])]
                if not parts:
                    continue
                symbol = b[passes[0].param(p.name)].symbol
                op = "mean" if self.reduction == "mean" else "sum"
                over = rf"\frac{{1}}{{{len(passes)}}}\sum_{{n}}" if op == "mean" else r"\sum_{n}"
                b.compute(f"dL/d{p.name}{suffix}", d(L, symbol), Kind.GRADIENT, op, parts, parameter=p.name,
                          chain=(rf"{over} {d(L + '^{[n]}', symbol)}",), owner=layer.id,
                          role="the batch's gradient: the mean of the examples'" if op == "mean"
                          else "the batch's gradient: the sum of the examples'")

    def _update(self, b, params: dict, step: int) -> dict:
        updated = {}
        suffix = Pass(None, step).suffix
        for name, current in params.items():
            old = b[current]
            new = current + "'"
            b.compute(new, f"{old.symbol}'", Kind.UPDATE, "sgd", [current, "eta", f"dL/d{name}{suffix}"],
                      parameter=name, role="one gradient-descent step")
            updated[name] = new
        return updated


@dataclass
class Sequence:
    """x_1 … x_T → recurrent layer; at each output time: dense → head; losses summed over time."""

    example: dict
    ops: OpTable
    inputs_by_time: list                # Given per time step
    recurrent: Recurrent
    output_layer: object                # a Dense applied at every output time
    head: Head
    outputs: dict                       # time -> HeadNames
    targets_by_time: dict               # time -> Given
    learning_rate: object
    learning_rate_symbol: str = r"\eta"
    model: object = None
    output_times: list = field(default_factory=list)
    many: bool = False                  # a loss at every time step (summed), not one after the last

    def all_layers(self) -> list:
        return [self.recurrent, self.output_layer, self.head]

    @property
    def layers(self) -> list:
        return [self.recurrent, self.output_layer]

    def inputs(self) -> list[Given]:
        return list(self.inputs_by_time)

    def targets(self) -> list[Given]:
        return [self.targets_by_time[t] for t in self.output_times]

    def forward(self, b) -> None:
        for t in range(1, self.recurrent.steps + 1):
            top = self.recurrent.forward_at(b, t, self.inputs_by_time[t - 1].name)
            if t in self.output_times:
                z = self.output_layer.forward_at(b, t, top, self.outputs[t])
                self.head.forward(b, z, self.targets_by_time[t].name, self.outputs[t], time=t)
        if self.many:
            b.compute("L", self.head.loss_symbol, Kind.LOSS, "sum", [self.outputs[t].loss for t in self.output_times],
                      note="The losses of all time steps are summed.", owner=self.head.id,
                      role="total loss: the sum over time")

    def run(self, b, forward_only: bool) -> None:
        self.forward(b)
        if forward_only:
            return
        for t in self.output_times:
            grad = self.head.backward(b, self.outputs[t], time=t)
            self.output_layer.backward_at(b, t, grad, self.outputs[t])
        for t in range(self.recurrent.steps, 0, -1):
            self.recurrent.backward_at(b, t)
        self.output_layer.totals(b, self.output_times, self.outputs)
        self.recurrent.totals(b)
        for step in [s for s in b.steps if s.kind == Kind.PARAMETER]:
            b.compute(f"{step.name}'", f"{step.symbol}'", Kind.UPDATE, "sgd", [step.name, "eta", f"dL/d{step.name}"],
                      layer=step.layer, parameter=step.name, role="one gradient-descent step")


@without_gc_pauses
def derive(network, forward_only: bool = False) -> Derivation:
    """All steps of the network's example; ``forward_only`` stops after the (first) loss (cheap, for
    sampling exam variants). The network's layers keep the records of what they made."""
    b = Builder(network.ops)
    for given in network.inputs():
        b.given(given.name, given.symbol, Kind.INPUT, nums(given.value), time=given.time, token=given.token)
    for layer in network.all_layers():
        layer.given(b)
    for given in network.targets():
        b.given(given.name, given.symbol, Kind.INPUT, nums(given.value), time=given.time, token=given.token)
    b.given("eta", network.learning_rate_symbol, Kind.CONSTANT, Num.rational(network.learning_rate))
    for layer in network.all_layers():
        layer.constants(b)
    for layer in network.all_layers():
        layer.sizes(b)
    network.run(b, forward_only)
    return b.build(network.example, network.model, tuple(network.all_layers()))


