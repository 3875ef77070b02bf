"""TikZ figures drawn from an example's own numbers, chosen by the network's shape.

A network unrolled through time (it has a recurrent layer) is drawn by :mod:`figures_rnn`, a
feed-forward stack by :mod:`figures_cnn`. Each provides ``figures(derivation, digits) -> dict[key,
Figure]`` (drawn from the layers' records and the steps, never from numbers typed into a template),
``place(section, items, figures, derivation)`` (where in a section a figure goes) and
``facts(derivation)`` (sizes and choices for the set-up slide).
"""

from __future__ import annotations

import importlib

import numpy as np

from symderiv.render import latexnum
from symderiv.render.escape import Tex

#: Significant digits of the values written inside figure nodes (display rules still apply).
FIGURE_DIGITS = 3


def _family(derivation):
    from symderiv.layers.recurrent import Recurrent
    unrolled = any(isinstance(layer, Recurrent) for layer in derivation.layers)
    return importlib.import_module(FAMILIES["sequence" if unrolled else "feed-forward"])


def figures_for(derivation, digits: int) -> dict:
    return _family(derivation).figures(derivation, digits)


def place(section: str, items: list, figures: dict, derivation) -> list:
    return _family(derivation).place(section, items, figures, derivation)


def facts_for(derivation) -> list:
    return _family(derivation).facts(derivation)


# -- helpers shared by the families ---------------------------------------------------------------------
def compact(value: np.ndarray, digits: int = FIGURE_DIGITS, max_entries: int = 4) -> Tex:
    """A value small enough for a figure node: a number, a short row ``(a, b, c)``, or its shape."""
    if value.size == 1:
        return Tex(latexnum.scalar(value.flat[0], digits).latex)
    if value.ndim == 1 and value.size <= max_entries:
        entries = [latexnum.scalar(n, digits).latex for n in value.flat]
        return Tex(r"\left(" + r",\ ".join(entries) + r"\right)")
    return Tex(r"\in \mathbb{R}^{" + r" \times ".join(str(n) for n in value.shape) + "}")


def relation(value: np.ndarray, digits: int = FIGURE_DIGITS) -> str:
    """``=`` when every entry prints exactly, else ``\\approx``."""
    if value.size == 1 or (value.ndim == 1 and value.size <= 4):
        exact = all(latexnum.scalar(n, digits).exact for n in value.flat)
        return "=" if exact else r"\approx"
    return ""


# the network's shape -> module with figures(), place(), facts()
FAMILIES = {
    "sequence": "symderiv.render.figures_rnn",
    "feed-forward": "symderiv.render.figures_cnn",
}
