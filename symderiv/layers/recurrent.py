"""A recurrent layer: a cell run through time (stacked ``levels`` deep) and backpropagation through time.

The cell says what one time step computes (the Elman cell: a_t = W_xh x_t + W_hh h_{t−1} + b_h,
h_t = f(a_t)); the layer unrolls it and runs BPTT once for every cell: going back in time (and down
the stack), the gradient reaching each state is the sum of what arrives from the output, the next
time step and the level above (:meth:`~symderiv.steps.Builder.gradient`), then flows back through the
cell's steps by their operations' own backward rules. What reaches a parameter at time t is a step of
its own (∂L/∂W_hh at t = 3), and the gradient of a parameter is the sum of those over time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from symderiv.layers.base import Layer, Param, at_time, d, escaped, nums
from symderiv.steps import Kind


@dataclass
class ElmanCell:
    """a_t = W_xh x_t + W_hh h_{t−1} + b_h, h_t = f(a_t)."""

    activation: str                 # the activation's operation
    activation_symbol: str          # the lecturer's LaTeX for f
    forward_pattern: str
    derivative_pattern: str
    params: tuple = ()              # the activation's parameters: (name, exact value)
    roles: tuple = ("W_xh", "W_hh", "b_h")
    states: tuple = ("h",)

    def forward(self, b, layer: "Recurrent", t: int, level: int, below: str) -> None:
        names = layer.names
        params = [layer.param(role, level).name for role in self.roles]
        a, a_sym = names.a(t, level)
        h, h_sym = names.h(t, level)
        b.compute(a, a_sym, Kind.FORWARD, "recurrent_affine",
                  [params[0], below, params[1], names.h(t - 1, level)[0], params[2]], time=t, layer=level,
                  owner=layer.id, role="pre-activation")
        b.compute(h, h_sym, Kind.FORWARD, self.activation, [a], time=t, layer=level, formula=self.forward_pattern,
                  owner=layer.id, role=_activation_role(self.activation))

    def steps(self, layer: "Recurrent", t: int, level: int) -> list[str]:
        """The cell's steps at (t, level), in forward order (BPTT goes through them backwards)."""
        return [layer.names.a(t, level)[0], layer.names.h(t, level)[0]]

    def local(self, b, step: str) -> dict:
        """How a local derivative through ``step`` is written (the lecturer's symbol for f)."""
        return {"formula": self.derivative_pattern, "role": _derivative_role(self.activation)}

    def state_note(self, t: int, T: int) -> str:
        return "recursion through the recurrent weight" if t < T else ""


def _activation_role(op: str) -> str:
    return {"tanh": "activation", "sigmoid": "sigmoid", "relu": "ReLU", "identity": "activation (identity)"}.get(
        op, "activation")


def _derivative_role(op: str) -> str:
    return {"sigmoid": "local derivative of the sigmoid", "relu": "local derivative of ReLU"}.get(
        op, "local derivative of the activation")


@dataclass
class Recurrent(Layer):
    """A cell unrolled over ``steps`` time steps, ``levels`` cells stacked; BPTT through all of them."""

    id: str
    cell: ElmanCell
    levels: int
    steps: int
    params: dict                    # (role, level) -> Param; role "h0" for the initial state
    names: object                   # step names and symbols of the unrolled quantities
    loss_symbol: str = "L"
    inputs: dict = field(default_factory=dict)     # t -> the input step of level 1

    def param(self, role: str, level: int) -> Param:
        return self.params[(role, level)]

    def parameters(self) -> list[Param]:
        return [self.params[(role, level)] for level in range(1, self.levels + 1)
                for role in self.cell.roles + ("h0",)]

    def given(self, b) -> None:
        for level in range(1, self.levels + 1):
            for role in self.cell.roles:
                p = self.param(role, level)
                b.given(p.name, p.symbol, Kind.PARAMETER, nums(p.value), layer=level)
            h0 = self.param("h0", level)
            name, symbol = self.names.h(0, level)
            b.given(name, symbol, Kind.CONSTANT, nums(h0.value), layer=level, time=0, role="initial hidden state")

    def forward_at(self, b, t: int, x: str) -> str:
        """Every level at time t; returns the top level's state."""
        self.inputs[t] = x
        below = x
        for level in range(1, self.levels + 1):
            self.cell.forward(b, self, t, level, below)
            below = self.names.h(t, level)[0]
        return below

    def backward_at(self, b, t: int) -> None:
        """BPTT at time t, top level first: ∂L/∂h_t from every path, then back through the cell."""
        L = self.loss_symbol
        for level in range(self.levels, 0, -1):
            h, h_sym = self.names.h(t, level)
            if not b.contributions(h):
                continue
            b.gradient(h, f"dL/d{h}", d(L, h_sym), Kind.BACKWARD, as_sum=True, time=t, layer=level, owner=self.id,
                       note=self.cell.state_note(t, self.steps), role="gradient reaching the hidden state")
            self._through_cell(b, t, level)

    def _through_cell(self, b, t: int, level: int) -> None:
        L = self.loss_symbol
        cell_steps = self.cell.steps(self, t, level)
        trained = {self.param(role, level).name: self.param(role, level) for role in self.cell.roles}
        previous = {self.names.h(t - 1, level)[0]} if t > 1 else set()
        below = self.names.h(t, level - 1)[0] if level > 1 else None
        for name in reversed(cell_steps):
            step = b[name]
            if name != cell_steps[-1]:
                b.gradient(name, f"dL/d{name}", d(L, step.symbol), Kind.BACKWARD, time=t, layer=level,
                           owner=self.id, role=_backward_role(b, name))
            for index, source in enumerate(step.inputs):
                rule = b.ops[step.op].vjp(index)
                if rule is None:
                    continue
                src = b[source]
                chain = (d(L, step.symbol), d(step.symbol, src.symbol))
                local = {"local": (f"d{name}/d{source}", d(step.symbol, src.symbol)), "time": t, "layer": level,
                         "owner": self.id, **self.cell.local(b, name)}
                if source in trained:
                    p = trained[source]
                    op, inputs = b.backprop(name, index, f"dL/d{name}", **local)
                    b.compute(f"dL/d{p.name}(t={t})", at_time(d(L, p.symbol), t), Kind.BACKWARD, op, inputs,
                              time=t, layer=level, chain=(d(L, step.symbol), d(step.symbol, p.symbol)),
                              parameter=p.name, owner=self.id, role=_contribution_role(op))
                elif source in cell_steps or source in previous or source == below:
                    b.contribute(source, name, index, f"dL/d{name}", chain, **local)

    def totals(self, b) -> None:
        """∂L/∂θ = Σ_t ∂L/∂θ at t, for every trained parameter of every level."""
        L = self.loss_symbol
        for level in range(1, self.levels + 1):
            for role in self.cell.roles:
                p = self.param(role, level)
                b.compute(f"dL/d{p.name}", d(L, p.symbol), Kind.GRADIENT, "sum",
                          [f"dL/d{p.name}(t={t})" for t in range(1, self.steps + 1)], layer=level,
                          chain=(rf"\sum_{{t}} {at_time(d(L, p.symbol), 't')}",), parameter=p.name, owner=self.id,
                          role="sum of the contributions")


def _contribution_role(op: str) -> str:
    return {"outer": "contribution to a weight gradient", "copy": "contribution to a bias gradient"}.get(op, "")


def _backward_role(b, name: str) -> str:
    op = b.contributions(name)[0].op if b.contributions(name) else ""
    return {"hadamard": "back through the activation"}.get(op, "")


__all__ = ["ElmanCell", "Recurrent", "escaped"]
