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
    """A scalar as ``tanh(9) ≈ 0.99999997``; a matrix as ``[a, b; c, d]``; feature maps channel by channel."""
    if value.shape == ():
        s = show(value[()], digits)
        return s.text if s.relation == "=" or s.exact else f"≈ {s.decimal}"
    if value.ndim >= 3:
        maps = value.reshape(-1, value.shape[-2], value.shape[-1])
        return " | ".join(value_text(m, digits) for m in maps)
    rows = value if value.ndim == 2 else value.reshape(1, -1)
    inner = "; ".join(", ".join(plain(v, digits) for v in row) for row in rows)
    return f"[{inner}]"


_TEXT_REPLACEMENTS = [
    (re.compile(r"\\frac\{([^{}]*)\}\{([^{}]*)\}"), r"(\1)/(\2)"),
    (re.compile(r"\\(left|right|operatorname|mathbb|mathrm)"), ""),
    (re.compile(r"\\lfloor"), "⌊"), (re.compile(r"\\rfloor"), "⌋"),
    (re.compile(r"\\odot"), "⊙"), (re.compile(r"\\cdot"), "·"), (re.compile(r"\\sum"), "Σ"),
    (re.compile(r"\\ast"), "*"), (re.compile(r"\\top"), "ᵀ"),
    (re.compile(r"\{([^{}]*)\}"), r"\1"),
    (re.compile(r"\\"), ""),
]


def formula_text(step: Step) -> str:
    """The formula with plain step names in place of the placeholders."""
    text = fill(step.formula, lambda i, transposed: step.inputs[i] + ("ᵀ" if transposed else ""))
    for pattern, replacement in _TEXT_REPLACEMENTS:
        for _ in range(3):          # nested braces unwrap from the inside out
            text = pattern.sub(replacement, text)
    return text


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
