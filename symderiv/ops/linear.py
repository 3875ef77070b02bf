"""Linear algebra, output activations and the update: forward rules with their backward rules beside them.

Every backward rule is one line per input (see :mod:`symderiv.ops.core`): ``W x + b`` sends
``g xᵀ`` to ``W`` (``outer``), ``Wᵀ g`` to ``x`` (``matvec_t``) and ``g`` to ``b`` (``copy``).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import sympy

from symderiv import tensors
from symderiv.numbers import Num, apply, mp
from symderiv.ops.core import G, OUT, Op, Vjp


def _sym(name):
    return lambda *args: sympy.Function(name)(*args)


def num_exp(x: Num) -> Num:
    return apply(sympy.exp, mp.exp, x)


def num_log(x: Num) -> Num:
    return apply(sympy.log, mp.log, x)


def _matvec_t(matrix: np.ndarray, vector: np.ndarray) -> np.ndarray:
    return tensors.matvec(matrix.T, vector)


def _affine(w: np.ndarray, x: np.ndarray, b: np.ndarray) -> np.ndarray:
    return tensors.add(tensors.matvec(w, x), b)


def _recurrent_affine(w_x, x, w_h, h, b) -> np.ndarray:
    return tensors.add(tensors.matvec(w_x, x), tensors.matvec(w_h, h), b)


def exact_arrays(*arrays: np.ndarray):
    """(arrays, is_zero, to_num, zero): Fractions when every entry of every array is rational, else the Nums.

    Given images, kernels and weights are rational, and summing them as Python Fractions is exact and
    some 50 times faster than SymPy numbers, which matters for a 28 × 28 image.
    """
    converted = []
    for a in arrays:
        out = np.empty(a.shape, dtype=object)
        for index, n in np.ndenumerate(a):
            f = _fraction(n)
            if f is None:
                return list(arrays), (lambda v: v.is_zero), (lambda v: v), Num.rational(0)
            out[index] = f
        converted.append(out)
    return converted, (lambda v: v == 0), _num_from_fraction, Fraction(0)


def _fraction(n: Num) -> Fraction | None:
    e = n.exact
    return Fraction(int(e.p), int(e.q)) if e is not None and e.is_Rational else None


def _num_from_fraction(f: Fraction) -> Num:
    return Num.rational(sympy.Rational(f.numerator, f.denominator))


def _dense(w, x, b) -> np.ndarray:
    """W x + b, as "affine", summed as Fractions when everything is rational (a 10 × 2704 layer is 27 040
    products: seconds as SymPy numbers, a tenth of a second as Fractions); otherwise exactly as "affine"."""
    arrays, _is_zero, to_num, zero = exact_arrays(w, x, b)
    if not isinstance(zero, Fraction):
        return _affine(w, x, b)
    ws, xs, bs = arrays
    nonzero = [j for j in range(xs.shape[0]) if xs[j] != 0]
    return tensors.tensor([to_num(sum((ws[i, j] * xs[j] for j in nonzero), zero) + bs[i])
                           for i in range(ws.shape[0])])


def _matvec_t_sum(*pairs):
    """Σ_i W_iᵀ g_i: a gradient arriving along several edges (output, next time step, layer above)."""
    parts = [_matvec_t(pairs[i], pairs[i + 1]) for i in range(0, len(pairs), 2)]
    return tensors.add(*parts) if len(parts) > 1 else parts[0]


def _sym_matvec_t_sum(*pairs):
    return sympy.Add(*(pairs[i].T * pairs[i + 1] for i in range(0, len(pairs), 2)))


def _softmax(z: np.ndarray) -> np.ndarray:
    exps = tensors.elementwise(num_exp, z)
    denom = tensors.total(exps)
    return tensors.elementwise(lambda e: e / denom, exps)


def _softmax_vjp(yhat: np.ndarray, g: np.ndarray) -> np.ndarray:
    """(∂ŷ/∂z)ᵀ g for softmax: ŷ_j (g_j − Σ_i ŷ_i g_i)."""
    s = tensors.dot(yhat, g)
    return tensors.elementwise(lambda p, gj: p * (gj - s), yhat, g)


def _denormalise(z, y_min, y_max) -> np.ndarray:
    lo, hi = tensors.as_scalar(y_min), tensors.as_scalar(y_max)
    return tensors.elementwise(lambda v: lo + v * (hi - lo), z)


def _denormalise_grad(g, y_min, y_max) -> np.ndarray:
    lo, hi = tensors.as_scalar(y_min), tensors.as_scalar(y_max)
    return tensors.elementwise(lambda v: v * (hi - lo), g)


def _sgd(param: np.ndarray, rate: np.ndarray, grad: np.ndarray) -> np.ndarray:
    eta = tensors.as_scalar(rate)
    return tensors.elementwise(lambda w, g: w - eta * g, param, grad)


def _hadamard(a, b):
    return tensors.elementwise(lambda x, y: x * y, a, b)


_OUTER_X, _BACK_W, _COPY = Vjp("outer", (G, 1)), Vjp("matvec_t", (0, G)), Vjp("copy", (G,))

# name -> operation; one entry a line (the backward rules name other entries of the table)
LINEAR_OPS: dict[str, Op] = {
    "affine": Op(_affine, "{0} {1} + {2}", lambda w, x, b: w * x + b, (_OUTER_X, _BACK_W, _COPY), "linear",
                 "{0} {1} + {2}"),
    "dense": Op(_dense, "{0} {1} + {2}", lambda w, x, b: w * x + b, (_OUTER_X, _BACK_W, _COPY), "linear",
                "{0} {1} + {2}"),
    "recurrent_affine": Op(_recurrent_affine, "{0} {1} + {2} {3} + {4}", lambda wx, x, wh, h, b: wx * x + wh * h + b,
                           (_OUTER_X, _BACK_W, Vjp("outer", (G, 3)), Vjp("matvec_t", (2, G)), _COPY), "linear",
                           "{0} {1} + {2} {3} + {4}"),
    "matvec": Op(tensors.matvec, "{0} {1}", lambda w, x: w * x, (_OUTER_X, _BACK_W), "linear", "{0} {1}"),
    "matvec_t": Op(_matvec_t, "{0:T} {1}", lambda w, g: w.T * g, (), "linear", "{0}ᵀ {1}"),
    "matvec_t_sum": Op(_matvec_t_sum, "PAIRS_T", _sym_matvec_t_sum, (), "linear", "{pairs}"),
    "outer": Op(tensors.outer, "{0} {1:T}", lambda g, v: g * v.T, (), "linear", "{0} {1}ᵀ"),
    "hadamard": Op(_hadamard, r"{0} \odot {1}", lambda a, b: sympy.HadamardProduct(a, b),
                   (Vjp("hadamard", (G, 1)), Vjp("hadamard", (G, 0))), "elementwise-product", "{0} ⊙ {1}"),
    "sum": Op(tensors.add, "SUM", lambda *xs: sympy.Add(*xs) if len(xs) > 1 else xs[0], _COPY, "sum", "{terms}"),
    "copy": Op(lambda a: a, "{0}", lambda a: a, (_COPY,), "copy", "{0}"),
    "softmax": Op(_softmax, r"\operatorname{{softmax}}\left({0}\right)", _sym("softmax"),
                  (Vjp("softmax_vjp", (OUT, G)),), "output-activation", "softmax({0})"),
    "softmax_vjp": Op(_softmax_vjp, r"\hat{{y}} \odot \left({1} - ({0}^\top {1})\right)", _sym("softmax_vjp"), (),
                      "output-activation-backward", "{0} ⊙ ({1} − {0}ᵀ {1})"),
    "denormalise": Op(_denormalise, r"{1} + {0} \left({2} - {1}\right)", lambda z, lo, hi: lo + z * (hi - lo),
                      (Vjp("denormalise_grad", (G, 1, 2)), None, None), "output-activation",
                      "{1} + {0} ({2} − {1})"),
    "denormalise_grad": Op(_denormalise_grad, r"{0} \left({2} - {1}\right)", lambda g, lo, hi: g * (hi - lo), (),
                           "output-activation-backward", "{0} ({2} − {1})"),
    "sgd": Op(_sgd, r"{0} - {1} {2}", lambda w, eta, g: w - eta * g, (), "update", "{0} − {1} {2}"),
}

#: The op that adds up several contributions of one kind in one step (Σ Wᵢᵀ gᵢ for ``matvec_t``).
SUM_OF = {"matvec_t": "matvec_t_sum"}
