"""The JSON form of a derivation: values by step name, gradients, updated parameters and checks."""

from __future__ import annotations

import json

import numpy as np

from symderiv import tensors
from symderiv.steps import Derivation, Kind
from symderiv.verify import Verification


def _exact_forms(value: np.ndarray):
    """Nested strings of the exact forms (null for an entry without a short one), or None when no entry
    has one."""
    if all(n.exact is None for n in value.flat):
        return None
    if value.shape == ():
        return str(value[()].exact)
    return np.vectorize(lambda n: None if n.exact is None else str(n.exact), otypes=[object])(value).tolist()


def to_dict(derivation: Derivation, verification: Verification | None = None, lints=()) -> dict:
    """``{"example", "quantities", "gradients", "updated", "exact", "checks", "lints"}``."""
    quantities, exact = {}, {}
    for step in derivation.steps:
        quantities[step.name] = step.floats
        forms = _exact_forms(step.value)
        if forms is not None:
            exact[step.name] = forms
    # several descent steps: the gradients of the first, the parameters after the last
    gradients = {s.name: s.floats for s in derivation.of_kind(Kind.GRADIENT) if s.descent == 1}
    updated = {s.parameter: s.floats for s in derivation.of_kind(Kind.UPDATE)}
    return {
        "example": derivation.example["name"],
        "title": derivation.example["title"],
        "kind": derivation.example["kind"],
        "parameters": [s.name for s in derivation.parameters],
        "quantities": quantities,
        "gradients": gradients,
        "updated": updated,
        "exact": exact,
        "checks": verification.summary() if verification is not None else {"passed": None},
        "lints": [lint.to_dict() for lint in lints],
    }


def dumps(derivation: Derivation, verification: Verification | None = None, lints=()) -> str:
    return json.dumps(to_dict(derivation, verification, lints), indent=2, sort_keys=False)


def floats(array: np.ndarray):
    return tensors.to_floats(array)
