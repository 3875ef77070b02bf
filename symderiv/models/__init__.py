"""Presets: the spec formats with their own names (``kind = "rnn"``, ``kind = "cnn"``), each a module
with ``parse(doc, meta)`` (the validated spec) and ``network(spec)`` (its layers). One registry, keyed
by kind; imported lazily so deriving an RNN never imports the CNN code."""

from __future__ import annotations

import importlib

# example.kind -> module with parse() and network()
PRESETS = {
    "rnn": "symderiv.models.rnn",
    "cnn": "symderiv.models.cnn",
    "stack": "symderiv.models.stack",
}


def preset(kind: str):
    """The preset module of a spec kind."""
    return importlib.import_module(PRESETS[kind])


def network_of(spec):
    """The network (layers) a validated spec describes."""
    return preset(spec.kind).network(spec)
