"""The derivation as readable terminal text: one block per step, formula = substitution = result."""

from __future__ import annotations

import re

import numpy as np

from symderiv.display import plain, show
from symderiv.formula import fill
from symderiv.steps import Derivation, Kind, Step

SECTION = {
    Kind.INPUT: "Given", Kind.PARAMETER: "Given", Kind.CONSTANT: "Given", Kind.SIZE: "Shapes",
    Kind.FORWARD: "Forward pass", Kind.LOSS: "Loss", Kind.LOCAL: "Backward pass", Kind.BACKWARD: "Backward pass",
    Kind.GRADIENT: "Gradients", Kind.UPDATE: "Gradient-descent update",
}



def value_text(value: np.ndarray, digits: int) -> str:
    if value.shape == ():
        s = show(value[()], digits)
        return s.text if s.relation == "=" or s.exact else f"≈ {s.decimal}"
    rows = value.reshape(value.shape[0], -1) if value.ndim > 1 else value.reshape(1, -1)
    inner = "; ".join(", ".join(plain(v, digits) for v in row) for row in rows)
    return f"[{inner}]"


def formula_text(step: Step) -> str:
    """The formula with plain step names in place of the placeholders."""
    text = fill(step.formula, lambda i, transposed: step.inputs[i] + ("ᵀ" if transposed else ""))
    return re.sub(r"\\left|\\right|\\operatorname|\\mathbb", "", text).replace("\\", "")


def render_text(derivation: Derivation, digits: int = 6, lints=()) -> str:
    lines = [f"{derivation.example['title']}  ({derivation.example['name']})"]
    if derivation.example.get("description"):
        lines.append(derivation.example["description"])
    section = None
    for step in derivation.steps:
        title = SECTION[step.kind]
        if title != section:
            section = title
            lines += ["", f"== {title} =="]
        value = value_text(step.value, digits)
        if step.op is None:
            lines.append(f"  {step.name} = {value}")
        else:
            lines.append(f"  {step.name} = {formula_text(step)}")
            lines.append(f"      {'' if value.startswith(('≈', '=')) else '= '}{value}")
        if step.note:
            lines.append(f"      ({step.note})")
    for lint in lints:
        lines.append(f"note [{lint.name}]: {lint.message}")
    return "\n".join(lines)
