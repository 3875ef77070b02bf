"""A network as a list of layers, and :func:`derive`: given values, forward, loss, backward, update.

Two shapes of network share the stages: a feed-forward stack (``FeedForward``: layer after layer, then
the head) and a sequence network (``Sequence``: a recurrent layer unrolled through time, with the
layers after it and the head applied at each output time). Either way the steps come in the order
the slides teach: what is given, the shapes, the forward pass, the loss, the backward pass (through
time for a sequence), the parameters' gradients and one gradient-descent step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from symderiv.layers.base import nums
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
    """x → layers → head."""

    example: dict
    ops: OpTable
    input: Given
    layers: list
    head: Head
    outputs: HeadNames
    target: Given
    learning_rate: object
    learning_rate_symbol: str = r"\eta"
    model: object = None

    def all_layers(self) -> list:
        return self.layers + [self.head]

    def forward(self, b) -> None:
        current = self.input.name
        for layer in self.layers:
            current = layer.forward(b, current, self.head.loss_symbol)
        self.head.forward(b, current, self.target.name, self.outputs)

    def backward(self, b) -> None:
        grad = self.head.backward(b, self.outputs)
        for layer in reversed(self.layers):
            grad = layer.backward(b, grad, self.head.loss_symbol)
            if grad is None:
                break

    def inputs(self) -> list[Given]:
        return [self.input]

    def targets(self) -> list[Given]:
        return [self.target]

    def totals(self, b) -> None:
        """Every parameter here is used once: its gradient was written by its layer."""


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

    def backward(self, b) -> None:
        for t in self.output_times:
            grad = self.head.backward(b, self.outputs[t], time=t)
            self.output_layer.backward_at(b, t, grad, self.outputs[t])
        for t in range(self.recurrent.steps, 0, -1):
            self.recurrent.backward_at(b, t)

    def totals(self, b) -> None:
        self.output_layer.totals(b, self.output_times, self.outputs)
        self.recurrent.totals(b)


def derive(network, forward_only: bool = False) -> Derivation:
    """All steps of the network's example; ``forward_only`` stops after the loss (cheap, for sampling
    exam variants). The network's layers keep the records of what they made."""
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
    network.forward(b)
    if not forward_only:
        network.backward(b)
        network.totals(b)
        for step in [s for s in b.steps if s.kind == Kind.PARAMETER]:
            b.compute(f"{step.name}'", f"{step.symbol}'", Kind.UPDATE, "sgd", [step.name, "eta", f"dL/d{step.name}"],
                      layer=step.layer, parameter=step.name, role="one gradient-descent step")
    return b.build(network.example, network.model, tuple(network.all_layers()))


