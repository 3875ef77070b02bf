"""The operations a derivation is built from, each with its forward and backward rules.

:func:`builtin_ops` assembles the flat table of the built-in operations (linear algebra, activations,
losses, convolutional layers); a derivation's own :class:`OpTable` starts from it and adds the
operations its spec defines, through the factories in :data:`FACTORIES`.
"""

from __future__ import annotations

from functools import lru_cache

from symderiv.ops.core import G, OUT, Local, Op, OpTable, Vjp


@lru_cache(maxsize=1)
def builtin_ops() -> dict[str, Op]:
    """Every built-in operation by name (built once) except the activations' (see
    :func:`builtin_activation_ops`)."""
    from symderiv.ops.conv import CONV_OPS
    from symderiv.ops.gates import GATE_OPS
    from symderiv.ops.linear import LINEAR_OPS
    from symderiv.ops.losses import LOSS_OPS
    return {**LINEAR_OPS, **LOSS_OPS, **CONV_OPS, **GATE_OPS}


@lru_cache(maxsize=1)
def builtin_activation_names() -> dict[str, str]:
    """Operation name -> the built-in activation it belongs to (``tanh`` and ``tanh_prime`` -> ``tanh``)."""
    from symderiv.ops.elementwise import BUILTIN_ACTIVATIONS
    return {op: name for name in BUILTIN_ACTIVATIONS for op in (name, f"{name}_prime")}


@lru_cache(maxsize=None)
def builtin_activation_ops(activation: str) -> dict[str, Op]:
    """The operations of one built-in activation at its default parameters, built on first use: SymPy
    differentiates and prints each one, a tenth of a second for all ten that an example mostly does not use."""
    from symderiv.ops.elementwise import BUILTIN_ACTIVATIONS, activation_ops
    return activation_ops(activation, BUILTIN_ACTIVATIONS[activation].bind({}))


def _contribution_sum(table: OpTable, name: str, members: tuple) -> dict:
    """One step adding gradients that arrive by different operations: Σ of each member's own formula."""
    import re

    import sympy

    from symderiv import tensors
    from symderiv.formula import fill

    arities = [n for _op, n in members]
    starts = [sum(arities[:i]) for i in range(len(arities))]
    parts, readings = [], []
    for (op, n), start in zip(members, starts):
        pattern = table[op].pattern_for(n)
        parts.append(fill(pattern, lambda i, t, start=start: "{%d%s}" % (start + i, ":T" if t else "")))
        readings.append(re.sub(r"\{(\d+)\}", lambda m, start=start: "{%d}" % (start + int(m.group(1))), table[op].words))

    def forward(*args):
        values = [table[op].forward(*args[s:s + n]) for (op, n), s in zip(members, starts)]
        return tensors.add(*values) if len(values) > 1 else values[0]

    return {name: Op(forward, " + ".join(parts), lambda *args: sympy.Function(name)(*args), (), "sum",
                     " + ".join(readings))}


def _activation(table: OpTable, name: str, activation: str, values: tuple) -> dict:
    from symderiv.ops.elementwise import define_activation
    return define_activation(table, name, activation, values)


def _formula(table: OpTable, name: str, text: str, constants: tuple, symbol: str) -> dict:
    from symderiv.ops.elementwise import define_formula
    return define_formula(table, name, text, constants, symbol)


#: recipe head -> factory(table, name, *args) -> {op name: Op}
FACTORIES = {
    "activation": _activation,
    "formula": _formula,
    "contribution_sum": _contribution_sum,
}

__all__ = ["G", "OUT", "Local", "Op", "OpTable", "Vjp", "builtin_ops", "builtin_activation_names",
           "builtin_activation_ops", "FACTORIES"]
