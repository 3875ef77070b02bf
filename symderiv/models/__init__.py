"""Model families: each turns a validated spec into a :class:`~symderiv.steps.Derivation`."""

from __future__ import annotations

import importlib

# example.kind -> "module:function"; imported lazily so one family never pays for another.
MODELS = {
    "rnn": "symderiv.models.rnn:derive_rnn",
    "cnn": "symderiv.models.cnn:derive_cnn",
}


def derive_spec(spec, kind: str):
    module_name, func_name = MODELS[kind].split(":")
    return getattr(importlib.import_module(module_name), func_name)(spec)
