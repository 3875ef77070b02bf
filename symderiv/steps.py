"""The derivation as data: an ordered tuple of immutable steps, and the builder that records them.

A model (RNN, CNN) only *adds steps*; each step names the operation that computes it (a key of
:data:`symderiv.ops.OPS`) and the earlier steps it is computed from. The value is computed here,
once, by that operation, so the formula shown and the number shown cannot drift apart.
Verification, JSON output, the claims checker and the templates read the same steps; nothing
downstream recomputes a derivation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import sympy

from symderiv import tensors
from symderiv.ops import OPS


class Kind(StrEnum):
    """What a step is, which decides where it is shown and how it is checked."""

    INPUT = "input"          # data given by the example (x_t, y)
    PARAMETER = "parameter"  # trainable parameter (W_xh, k, ...)
    CONSTANT = "constant"    # given constant that is not trained (h_0, learning rate, y_min)
    SIZE = "size"            # a shape computation (convolution output size)
    FORWARD = "forward"      # forward-pass intermediate
    LOSS = "loss"
    LOCAL = "local"          # local derivative of one operation (dh_t/da_t)
    BACKWARD = "backward"    # gradient of the loss w.r.t. an intermediate or a contribution
    GRADIENT = "gradient"    # gradient of the loss w.r.t. a trainable parameter (total)
    UPDATE = "update"        # parameter after one gradient-descent step


@dataclass(frozen=True, eq=False)
class Step:
    """One quantity of the derivation.

    ``formula`` is a pattern over the inputs: ``{0}`` stands for input 0 (its symbol on the
    formula line, its value on the substituted line), ``{0:T}`` for its transpose. ``chain``
    holds, for gradients, the chain-rule factors (LaTeX) whose product the formula evaluates.
    """

    name: str
    symbol: str
    kind: Kind
    value: np.ndarray
    op: str | None = None
    inputs: tuple[str, ...] = ()
    formula: str = ""
    chain: tuple[str, ...] = ()
    note: str = ""
    time: int | None = None
    layer: int | None = None
    meta: dict = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.value.shape

    @property
    def floats(self):
        """The value as nested Python floats (row-major), as in the JSON output."""
        return tensors.to_floats(self.value)

    def sympy_symbol(self):
        """The step as a SymPy symbol (MatrixSymbol for vectors and matrices)."""
        return sympy_symbol(self.name, self.shape)


def sympy_symbol(name: str, shape: tuple[int, ...]):
    if shape == ():
        return sympy.Symbol(name)
    rows = shape[0]
    cols = int(np.prod(shape[1:])) if len(shape) > 1 else 1
    return sympy.MatrixSymbol(name, rows, cols)


class Derivation:
    """An example's ordered steps, with lookup by name; immutable once built."""

    def __init__(self, example: dict, steps: tuple[Step, ...], model: object = None):
        self.example = example          # name, title, description, kind, ...
        self.steps = steps
        self.model = model              # the validated spec the steps were built from
        self._index = {s.name: s for s in steps}

    def __getitem__(self, name: str) -> Step:
        return self._index[name]

    def __contains__(self, name: str) -> bool:
        return name in self._index

    def __iter__(self):
        return iter(self.steps)

    def __len__(self) -> int:
        return len(self.steps)

    def of_kind(self, *kinds: Kind) -> list[Step]:
        return [s for s in self.steps if s.kind in kinds]

    @property
    def parameters(self) -> list[Step]:
        return self.of_kind(Kind.PARAMETER)

    def gradient_of(self, parameter: str) -> Step:
        return self[f"dL/d{parameter}"]

    def updated(self, parameter: str) -> Step:
        return self[f"{parameter}'"]

    def definition(self, name: str):
        """The step's SymPy definition in terms of the symbols of the steps it is made from."""
        step = self[name]
        if step.op is None:
            return step.sympy_symbol()
        args = [self[i].sympy_symbol() for i in step.inputs]
        return OPS[step.op].sympy(*args)


class Builder:
    """Records steps in order; computes each value through the operation table."""

    def __init__(self):
        self._steps: list[Step] = []
        self._index: dict[str, Step] = {}

    def __getitem__(self, name: str) -> Step:
        return self._index[name]

    def __contains__(self, name: str) -> bool:
        return name in self._index

    def value(self, name: str) -> np.ndarray:
        return self._index[name].value

    def given(self, name: str, symbol: str, kind: Kind, value, **extra) -> Step:
        """A value the example states (input, parameter, constant)."""
        return self._record(Step(name=name, symbol=symbol, kind=kind, value=tensors.tensor(value), **extra))

    def compute(self, name: str, symbol: str, kind: Kind, op: str, inputs: tuple[str, ...] | list[str],
                *, formula: str | None = None, **extra) -> Step:
        """A value computed by ``OPS[op]`` from the named earlier steps."""
        inputs = tuple(inputs)
        missing = [i for i in inputs if i not in self._index]
        if missing:
            raise KeyError(f"step {name!r} uses unknown steps {missing}")
        operation = OPS[op]
        value = operation.forward(*(self._index[i].value for i in inputs))
        pattern = formula if formula is not None else operation.pattern_for(len(inputs))
        return self._record(Step(name=name, symbol=symbol, kind=kind, value=value, op=op,
                                 inputs=inputs, formula=pattern, **extra))

    def _record(self, step: Step) -> Step:
        if step.name in self._index:
            raise ValueError(f"duplicate step name {step.name!r}")
        self._steps.append(step)
        self._index[step.name] = step
        return step

    def build(self, example: dict, model: object = None) -> Derivation:
        return Derivation(example, tuple(self._steps), model)
