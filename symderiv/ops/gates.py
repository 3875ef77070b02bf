"""The gated cells' own operations (LSTM cell update, GRU mixing), each with its backward rules.

c_t = f ⊙ c_{t−1} + i ⊙ g sends g ⊙ c_{t−1}... to each factor its partner (``hadamard``); the GRU's
h_t = u ⊙ h_{t−1} + (1 − u) ⊙ n sends ∂h_t/∂u = h_{t−1} − n and ∂h_t/∂n = 1 − u as local derivatives
of their own, so the slides show them.
"""

from __future__ import annotations

import sympy

from symderiv import tensors
from symderiv.numbers import ONE
from symderiv.ops.core import G, Local, Op, Vjp


def _sym(name):
    return lambda *args: sympy.Function(name)(*args)


def _gated_sum(f, c, i, g):
    return tensors.elementwise(lambda a, b, p, q: a * b + p * q, f, c, i, g)


def _mix(u, a, b):
    return tensors.elementwise(lambda w, x, y: w * x + (ONE - w) * y, u, a, b)


def _one_minus(u):
    return tensors.elementwise(lambda w: ONE - w, u)


def _difference(a, b):
    return tensors.elementwise(lambda x, y: x - y, a, b)


def _candidate(w, x, r, m, b):
    """W x + r ⊙ m + b: the PyTorch GRU's candidate pre-activation (the reset gate after U_n h + b_hn)."""
    return tensors.add(tensors.matvec(w, x), tensors.elementwise(lambda p, q: p * q, r, m), b)


GATE_OPS: dict[str, Op] = {
    "gated_sum": Op(_gated_sum, r"{0} \odot {1} + {2} \odot {3}", _sym("gated_sum"),
                    (Vjp("hadamard", (G, 1)), Vjp("hadamard", (G, 0)), Vjp("hadamard", (G, 3)),
                     Vjp("hadamard", (G, 2))), "gate", "{0} ⊙ {1} + {2} ⊙ {3}"),
    "gru_mix": Op(_mix, r"{0} \odot {1} + \left(1 - {0}\right) \odot {2}", _sym("gru_mix"),
                  (Vjp("hadamard", (G, Local("difference", (1, 2)))), Vjp("hadamard", (G, 0)),
                   Vjp("hadamard", (G, Local("one_minus", (0,))))), "gate", "{0} ⊙ {1} + (1 − {0}) ⊙ {2}"),
    "one_minus": Op(_one_minus, r"1 - {0}", lambda u: 1 - u, (), "gate", "1 − {0}"),
    "difference": Op(_difference, r"{0} - {1}", lambda a, b: a - b, (), "gate", "{0} − {1}"),
    "gru_candidate": Op(_candidate, r"{0} {1} + {2} \odot {3} + {4}", _sym("gru_candidate"),
                        (Vjp("outer", (G, 1)), Vjp("matvec_t", (0, G)), Vjp("hadamard", (G, 3)),
                         Vjp("hadamard", (G, 2)), Vjp("copy", (G,))), "linear", "{0} {1} + {2} ⊙ {3} + {4}"),
}
