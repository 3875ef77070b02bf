"""What every layer shares: its declared parameters, and the LaTeX of partial derivatives.

A layer is a small record (its parameters, the names of the steps it makes) with methods that emit
its steps through the :class:`~symderiv.steps.Builder`: ``given`` (its parameters), ``constants``
(its given sizes and settings), ``sizes`` (shape computations), ``forward`` and ``backward``. After
the derivation the same record tells figures and the float64 reference which step is which.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from symderiv.numbers import Num
from symderiv.steps import Kind


@dataclass(frozen=True)
class Param:
    """A parameter a layer declares: its name (as the spec calls it), what it is, its shape, its symbol."""

    name: str
    role: str                   # "weight", "bias", "kernel", "initial state", ...
    shape: tuple[int, ...]
    symbol: str
    value: object = None        # nested lists of exact rationals, as the spec gives them
    trained: bool = True


def d(num: str, den: str) -> str:
    """LaTeX of a partial derivative ∂num/∂den."""
    return rf"\frac{{\partial {num}}}{{\partial {den}}}"


def at_time(symbol: str, t) -> str:
    """A per-time-step contribution: ``∂L/∂W`` evaluated at ``t``."""
    return rf"\left.{symbol}\right|_{{t={t}}}"


def nums(nested):
    """Exact Nums from nested lists of rationals."""
    if isinstance(nested, list):
        return [nums(v) for v in nested]
    return Num.rational(nested)


@dataclass
class Pass:
    """One example of a batch in one gradient-descent step: how the steps made for it are named.

    With one example and one step every name is the plain one (``z1``); otherwise a suffix says which
    (``z1(n=2)``, ``z1(step=2)``, ``z1(n=2,step=2)``) and the symbols carry the example in brackets
    (``z^{(1)[2]}``, as layer ``(l)`` and example ``[n]`` are written together). ``params`` maps each
    parameter to the step holding its value in this descent step (``W1'`` in step 2); ``grads`` collects
    what reaches each parameter from this example (summed over the batch afterwards).
    """

    example: int | None = None
    step: int = 1
    params: dict = field(default_factory=dict)
    loss_symbol: str = "L"
    batch: bool = False
    grads: dict = field(default_factory=dict)

    @property
    def suffix(self) -> str:
        parts = ([f"n={self.example}"] if self.example is not None else []) + \
            ([f"step={self.step}"] if self.step > 1 else [])
        return f"({','.join(parts)})" if parts else ""

    def name(self, base: str) -> str:
        """A value's name in this pass; the network's input is the same in every descent step."""
        if base == "x" and self.step > 1:
            return Pass(self.example).name(base)
        return base + self.suffix

    def symbol(self, symbol: str) -> str:
        return symbol if self.example is None else f"{{{symbol}}}^{{[{self.example}]}}"

    def param(self, name: str) -> str:
        return self.params.get(name, name)

    @property
    def L(self) -> str:
        """The loss this pass differentiates: L, or the example's own L^[n] in a batch."""
        return self.symbol(self.loss_symbol)

    def param_gradient(self, b, p: "Param", op: str, inputs, chain: tuple, what: str = "", **extra):
        """What reaches parameter ``p`` from this pass: its gradient itself, or (in a batch) this
        example's contribution, summed over the examples afterwards. ``what`` names the parameter in the
        caption ("the weights", "the kernel"): "gradient of the weights", or in a batch "example 2's
        contribution to the gradient of the weights"."""
        symbol = b[self.param(p.name)].symbol
        if what and "role" not in extra:
            extra["role"] = (f"example {self.example}'s contribution to the gradient of {what}" if self.batch
                             else f"gradient of {what}")
        if not self.batch:
            name = f"dL/d{p.name}" + self.suffix
            return b.compute(name, d(self.L, symbol), Kind.GRADIENT, op, inputs, chain=chain, parameter=p.name,
                             **extra)
        step = b.compute(f"dL/d{p.name}" + self.suffix, d(self.L, symbol), Kind.BACKWARD, op, inputs, chain=chain,
                         parameter=p.name, **extra)
        self.grads.setdefault(p.name, []).append(step.name)
        return step


class Layer:
    """Base of every layer: by default it declares nothing and passes nothing on."""


    def parameters(self) -> list[Param]:
        return []

    def given(self, b) -> None:
        """Record the layer's parameters (and initial states)."""

    def constants(self, b) -> None:
        """Record the layer's given settings (stride, padding, window sizes, masks)."""

    def sizes(self, b) -> None:
        """Record the layer's shape computations."""
