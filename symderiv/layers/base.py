"""What every layer shares: its declared parameters, and the LaTeX of partial derivatives.

A layer is a small record (its parameters, the names of the steps it makes) with methods that emit
its steps through the :class:`~symderiv.steps.Builder`: ``given`` (its parameters), ``constants``
(its given sizes and settings), ``sizes`` (shape computations), ``forward`` and ``backward``. After
the derivation the same record tells figures and the float64 reference which step is which.
"""

from __future__ import annotations

from dataclasses import dataclass

from symderiv.numbers import Num


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


def escaped(latex: str) -> str:
    """LaTeX made safe inside a formula pattern (braces doubled)."""
    return latex.replace("{", "{{").replace("}", "}}")


def nums(nested):
    """Exact Nums from nested lists of rationals."""
    if isinstance(nested, list):
        return [nums(v) for v in nested]
    return Num.rational(nested)


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
