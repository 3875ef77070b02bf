"""An operation: its forward rule, its formula pattern, its SymPy form and, per input, its backward rule.

The backward rules follow autograd's ``numpy_vjps``: for each input, one line says which operation
computes the vector-Jacobian product (the gradient reaching that input) and from which values: the
gradient arriving at the operation's output (``G``), the operation's own inputs (their index), or a
local derivative that is itself a step of the derivation (:class:`Local`). The :class:`OpTable`
holding them belongs to one derivation, so an operation a spec defines (a user's activation formula)
never leaks into another derivation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import sympy

#: In a backward rule: the gradient of the loss with respect to the operation's output.
G = "g"
#: In a backward rule: the operation's own output (softmax's Jacobian is written through ŷ).
OUT = "out"


@dataclass(frozen=True)
class Local:
    """A local derivative ∂output/∂input computed by ``op`` from the forward inputs ``args`` (indices)."""

    op: str
    args: tuple[int, ...]


@dataclass(frozen=True)
class Vjp:
    """The gradient of one input: ``op`` applied to ``args`` (each :data:`G`, :data:`OUT`, an input index or
    a :class:`Local`)."""

    op: str
    args: tuple


@dataclass(frozen=True)
class Op:
    """One operation on tensors of :class:`~symderiv.numbers.Num`.

    ``pattern`` is the formula over the inputs (``{0}``, ``{0:T}`` for a transpose; ``SUM`` and
    ``PAIRS_T`` for sums of any length); ``vjps`` holds one backward rule per input (None: no
    gradient flows to that input, e.g. a stride; a single :class:`Vjp` holds for every input of a sum);
    ``family`` groups operations for lints and the
    checker ("elementwise", "linear", "loss", "loss-gradient", "conv", "pool", ...).
    """

    forward: Callable
    pattern: str
    sympy: Callable[..., sympy.Basic]
    vjps: tuple = ()
    family: str = ""
    words: str = ""            # the formula as a reader writes it: "{0}ᵀ {1}" (see symderiv.checker.phrases)
    source: str = ""           # for an activation and its derivative: the activation's name
    peak: float | None = None  # for a saturating activation's derivative: its largest value (tanh' ≤ 1)

    def pattern_for(self, n_inputs: int) -> str:
        if self.pattern == "SUM":
            return " + ".join("{%d}" % i for i in range(n_inputs))
        if self.pattern == "MEAN":
            return rf"\frac{{{{1}}}}{{{{{n_inputs}}}}}\left(" + " + ".join("{%d}" % i for i in range(n_inputs)) + r"\right)"
        if self.pattern == "PAIRS_T":
            return " + ".join("{%d:T} {%d}" % (i, i + 1) for i in range(0, n_inputs, 2))
        return self.pattern

    def vjp(self, index: int) -> Vjp | None:
        """The backward rule of input ``index``; a single rule (not a tuple) holds for every input (sums)."""
        if isinstance(self.vjps, Vjp):
            return self.vjps
        return self.vjps[index] if index < len(self.vjps) else None


@dataclass
class OpTable:
    """The operations one derivation uses: the built-in ones, and those its spec defines.

    A defined operation is registered with the recipe that rebuilds it (a picklable tuple: the name of
    a factory in :data:`FACTORIES` and its arguments), so a derivation pickles with its table.
    """

    defined: dict = field(default_factory=dict)       # name -> recipe
    _ops: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        from symderiv.ops import builtin_ops
        self._ops = dict(builtin_ops())
        recipes, self.defined = self.defined, {}
        for name, recipe in recipes.items():
            self.define(name, recipe)

    def __getitem__(self, name: str) -> Op:
        try:
            return self._ops[name]
        except KeyError:
            from symderiv.ops import builtin_activation_names, builtin_activation_ops
            activation = builtin_activation_names().get(name)
            if activation is None:
                raise
            self._ops.update(builtin_activation_ops(activation))       # built-in activations: on first use
            return self._ops[name]

    def __contains__(self, name: str) -> bool:
        from symderiv.ops import builtin_activation_names
        return name in self._ops or name in builtin_activation_names()

    def __iter__(self):
        from symderiv.ops import builtin_activation_names
        return iter(dict.fromkeys([*self._ops, *builtin_activation_names()]))

    def define(self, name: str, recipe: tuple) -> str:
        """Add the operations ``recipe`` builds (a factory may define several, e.g. f and f'); returns ``name``."""
        if name in self.defined:
            if self.defined[name] != recipe:
                raise ValueError(f"operation {name!r} is defined twice, differently")
            return name
        from symderiv.ops import FACTORIES
        factory, *args = recipe
        for op_name, op in FACTORIES[factory](self, name, *args).items():
            self._ops[op_name] = op
        self.defined[name] = recipe
        return name

    def __reduce__(self):
        return OpTable, (dict(self.defined),)
