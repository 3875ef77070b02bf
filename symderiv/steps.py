"""The derivation as data: an ordered tuple of immutable steps, and the builder that records them.

Layers only *add steps*; each step names the operation that computes it (a key of the derivation's
:class:`~symderiv.ops.OpTable`) and the earlier steps it is computed from. The value is computed here,
once, by that operation, so the formula shown and the number shown cannot drift apart.
Verification, JSON output, the claims checker and the templates read the same steps; nothing
downstream recomputes a derivation.

Backward, the builder applies each operation's own backward rule (:meth:`Builder.backprop`) and adds
up the gradients that reach one value along several paths (:meth:`Builder.contribute`,
:meth:`Builder.gradient`): a hidden state that feeds the output, the next time step and the layer
above receives three contributions, and one step sums them with the chain rule written out.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import NamedTuple
from enum import StrEnum

import numpy as np
import sympy

from symderiv import tensors
from symderiv.numbers import strip_recipes
from symderiv.ops import G, OUT, Local, OpTable
from symderiv.ops.linear import SUM_OF


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
    ``time`` and ``layer`` place the step in an unrolled recurrent network (t, stack level);
    ``role`` is what the layer that made it calls it (a caption: "pre-activation"), ``topic`` the
    part of the network the slides group it with ("conv", "pool"), ``owner`` the id of that layer;
    ``parameter`` names the parameter a gradient, contribution or update belongs to.
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
    role: str = ""
    topic: str = ""
    owner: str = ""
    parameter: str | None = None
    token: str | None = None
    axes: tuple[str, ...] = ()
    descent: int = 1              # which gradient-descent step the value belongs to (several: steps = k)

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
    """An example's ordered steps, with lookup by name; immutable once built.

    ``layers`` are the layers that made the steps (figures and the float64 reference read their
    records); ``ops`` is the operation table the steps' ``op`` names refer to.
    """

    def __init__(self, example: dict, steps: tuple[Step, ...], model: object = None, ops: OpTable | None = None,
                 layers: tuple = ()):
        self.example = example          # name, title, description, kind, ...
        self.steps = steps
        self.model = model              # the validated spec the steps were built from
        self.ops = ops if ops is not None else OpTable()
        self.layers = tuple(layers)
        self._index = {s.name: s for s in steps}

    def with_steps(self, steps) -> "Derivation":
        """The same example, network and operations with other steps (a corrupted copy in a test, the
        cosmetically cleaned steps a document prints)."""
        return Derivation(self.example, tuple(steps), self.model, self.ops, self.layers)

    def layer(self, layer_id: str):
        """The layer with this id (a step's ``owner``)."""
        return next(layer for layer in self.layers if layer.id == layer_id)

    def layers_of(self, cls) -> list:
        return [layer for layer in self.layers if isinstance(layer, cls)]

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
        return self.ops[step.op].sympy(*args)


class Contribution(NamedTuple):
    """One path by which the gradient reaches a value: ``op`` of ``inputs``, with its chain-rule factors."""

    op: str
    inputs: tuple[str, ...]
    chain: tuple[str, ...]


#: Each field's default (a step recorded under Builder.defaults takes these where it kept the default).
_FIELD_DEFAULTS = {name: field.default for name, field in Step.__dataclass_fields__.items()}


class Builder:
    """Records steps in order; computes each value through the operation table."""

    def __init__(self, ops: OpTable | None = None):
        self.ops = ops if ops is not None else OpTable()
        self._steps: list[Step] = []
        self._index: dict[str, Step] = {}
        self._contributions: dict[str, list[Contribution]] = {}
        self.defaults: dict = {}      # fields every step recorded now gets (the descent step being worked)

    def __getitem__(self, name: str) -> Step:
        return self._index[name]

    def __contains__(self, name: str) -> bool:
        return name in self._index

    def value(self, name: str) -> np.ndarray:
        return self._index[name].value

    @property
    def steps(self) -> list[Step]:
        """The steps recorded so far, in order."""
        return list(self._steps)

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
        operation = self.ops[op]
        value = operation.forward(*(self._index[i].value for i in inputs))
        pattern = formula if formula is not None else operation.pattern_for(len(inputs))
        return self._record(Step(name=name, symbol=symbol, kind=kind, value=value, op=op,
                                 inputs=inputs, formula=pattern, **extra))

    # -- backward -------------------------------------------------------------------------------
    def backprop(self, via: str, index: int, grad: str, local: tuple[str, str] | None = None,
                 **local_extra) -> tuple[str, tuple[str, ...]]:
        """(op, inputs) giving the gradient of input ``index`` of step ``via`` from ``grad`` (= ∂L/∂via),
        by that operation's backward rule. A rule through a local derivative records it first as a step
        named ``local`` = (name, symbol) (once; later calls reuse it)."""
        step = self[via]
        rule = self.ops[step.op].vjp(index)
        if rule is None:
            raise ValueError(f"no gradient flows to input {index} of {via} ({step.op})")
        args = []
        for arg in rule.args:
            if arg == G:
                args.append(grad)
            elif arg == OUT:
                args.append(via)
            elif isinstance(arg, Local):
                if local is None:
                    raise ValueError(f"the gradient through {via} ({step.op}) needs a local-derivative step")
                name, symbol = local
                if name not in self:
                    self.compute(name, symbol, Kind.LOCAL, arg.op, [step.inputs[i] for i in arg.args], **local_extra)
                args.append(name)
            else:
                args.append(step.inputs[arg])
        return rule.op, tuple(args)

    def contribute(self, target: str, via: str, index: int, grad: str, chain: tuple[str, ...], **local) -> None:
        """Record one path of the gradient to ``target`` (input ``index`` of step ``via``)."""
        op, inputs = self.backprop(via, index, grad, **local)
        self._contributions.setdefault(target, []).append(Contribution(op, inputs, chain))

    def contributions(self, target: str) -> list[Contribution]:
        return list(self._contributions.get(target, ()))

    def gradient(self, target: str, name: str, symbol: str, kind: Kind, *, as_sum: bool = False, **extra) -> Step:
        """∂L/∂target from the contributions recorded for it: one gives that operation's step (its chain
        factors as they are); several (or ``as_sum``) give one step adding them, the chain rule written
        out as a sum of products. Contributions of one kind are added by one operation (Σ Wᵢᵀ gᵢ);
        mixed ones by a sum the derivation defines."""
        parts = self._contributions.pop(target, None)
        if not parts:
            raise KeyError(f"no gradient reaches {target!r}")
        if len(parts) == 1 and not as_sum:
            (op, inputs, chain), = parts
            return self.compute(name, symbol, kind, op, inputs, chain=chain, **extra)
        inputs = tuple(i for p in parts for i in p.inputs)
        chain = (" + ".join("".join(p.chain) for p in parts),)
        kinds = {p.op for p in parts}
        if len(kinds) == 1 and next(iter(kinds)) in SUM_OF:
            op = SUM_OF[parts[0].op]
        else:
            members = tuple((p.op, len(p.inputs)) for p in parts)
            op = self.ops.define("sum[" + ",".join(m for m, _ in members) + "]", ("contribution_sum", members))
        return self.compute(name, symbol, kind, op, inputs, chain=chain, **extra)

    def _record(self, step: Step) -> Step:
        if self.defaults:
            changes = {k: v for k, v in self.defaults.items()
                       if getattr(step, k) == _FIELD_DEFAULTS[k] and v != _FIELD_DEFAULTS[k]}
            if changes:           # replace() copies the step: only when a default actually changes it
                step = replace(step, **changes)
        if step.name in self._index:
            raise ValueError(f"duplicate step name {step.name!r}")
        self._steps.append(step)
        self._index[step.name] = step
        return step

    def build(self, example: dict, model: object = None, layers: tuple = ()) -> Derivation:
        for step in self._steps:
            strip_recipes(step.value.flat)
        return Derivation(example, tuple(self._steps), model, self.ops, layers)
