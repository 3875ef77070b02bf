"""An activation field: a name (``"tanh"``) or a table with the activation's parameters
(``{ name = "leaky_relu", alpha = 0.2 }``), checked against what each activation declares."""

from __future__ import annotations

import sympy

from symderiv.errors import SpecError
from symderiv.spec import fields
from symderiv.spec.fields import describe


def parse_activation(raw, path: str) -> tuple[str, tuple]:
    """(name, ((parameter, exact value), ...)) of an activation; parameters not given take their defaults."""
    from symderiv.ops.elementwise import BUILTIN_ACTIVATIONS
    if isinstance(raw, dict):
        if "name" not in raw:
            raise SpecError(f"{path}.name", "the activation's name", "no name")
        name = fields.choice(raw["name"], f"{path}.name", BUILTIN_ACTIVATIONS)
        declared = dict(BUILTIN_ACTIVATIONS[name].params)
        for key in raw:
            if key != "name" and key not in declared:
                allowed = ", ".join(declared) or "none"
                raise SpecError(f"{path}.{key}", f"a parameter of {name} ({allowed})", f"'{key}'")
        values = tuple((key, fields.number(raw[key], f"{path}.{key}")) for key in sorted(raw) if key != "name")
        return name, values
    if isinstance(raw, str) or raw is None:
        return fields.choice(raw, path, BUILTIN_ACTIVATIONS), ()
    raise SpecError(path, "an activation's name or a table { name = ..., parameter = ... }", describe(raw))


def activation_values(name: str, given: tuple) -> dict:
    """Every parameter of the activation with its value: the ones given, the defaults for the rest."""
    from symderiv.ops.elementwise import BUILTIN_ACTIVATIONS
    values = {key: sympy.Rational(default) for key, default in BUILTIN_ACTIVATIONS[name].params}
    values.update(dict(given))
    return values
