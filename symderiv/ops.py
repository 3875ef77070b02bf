"""The operation table: for each operation, its forward rule, its formula pattern and SymPy form.

Local derivatives sit beside the forward rules: every activation in :data:`ACTIVATIONS` carries
its derivative (computed from the pre-activation, so ``1 - tanh²(a)`` is evaluated as
``sech²(a)`` and keeps its digits when ``tanh(a)`` is close to 1). Backward passes of every
model are then the same kinds of steps: outer products, transposed products, Hadamard masks,
sums, all listed in :data:`OPS` at the bottom of this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import sympy

from symderiv import tensors
from symderiv.numbers import ONE, ZERO, Num, apply, mp


# -- scalar functions ------------------------------------------------------------------------
def num_tanh(x: Num) -> Num:
    return apply(sympy.tanh, mp.tanh, x)


def num_sech2(x: Num) -> Num:
    """d tanh(x)/dx, written 1 - tanh²(x) but evaluated as sech²(x) (no cancellation)."""
    return apply(lambda e: 1 - sympy.tanh(e) ** 2, lambda v: mp.sech(v) ** 2, x)


def num_sigmoid(x: Num) -> Num:
    return apply(lambda e: 1 / (1 + sympy.exp(-e)), lambda v: 1 / (1 + mp.exp(-v)), x)


def num_sigmoid_prime(x: Num) -> Num:
    s = num_sigmoid(x)
    # σ(x)(1 − σ(x)) = e^{−x}/(1+e^{−x})² without the cancellation of 1 − σ for large x.
    approx = mp.exp(-x.approx) / (1 + mp.exp(-x.approx)) ** 2
    exact = s * (ONE - s)
    return Num(exact.exact, approx, exact.size) if exact.exact is not None else Num(None, approx, 0)


def num_relu(x: Num) -> Num:
    return x if x > ZERO else ZERO


def num_relu_prime(x: Num) -> Num:
    """1 where x > 0, else 0: at exactly 0 the derivative is taken as 0 (as frameworks do)."""
    return ONE if x > ZERO else ZERO


def num_identity(x: Num) -> Num:
    return x


def num_one(x: Num) -> Num:
    return ONE


def num_exp(x: Num) -> Num:
    return apply(sympy.exp, mp.exp, x)


def num_log(x: Num) -> Num:
    return apply(sympy.log, mp.log, x)


@dataclass(frozen=True)
class Activation:
    """An elementwise activation with its derivative beside it."""

    name: str
    forward: Callable[[Num], Num]
    derivative: Callable[[Num], Num]      # as a function of the pre-activation
    latex: str                            # default symbol, e.g. r"\tanh"
    derivative_latex: str                 # pattern over the pre-activation {0}
    derivative_note: str = ""


ACTIVATIONS: dict[str, Activation] = {
    "tanh": Activation("tanh", num_tanh, num_sech2, r"\tanh", r"1 - {f}^{{2}}\left({0}\right)"),
    "sigmoid": Activation("sigmoid", num_sigmoid, num_sigmoid_prime, r"\sigma",
                          r"{f}\left({0}\right)\left(1 - {f}\left({0}\right)\right)"),
    "relu": Activation("relu", num_relu, num_relu_prime, r"\operatorname{ReLU}",
                       r"\mathbb{{1}}\left[{0} > 0\right]",
                       "ReLU'(0) is taken as 0, as deep-learning frameworks do."),
    "identity": Activation("identity", num_identity, num_one, r"\operatorname{id}", r"1"),
}


# -- array operations ------------------------------------------------------------------------
def _softmax(z: np.ndarray) -> np.ndarray:
    exps = tensors.elementwise(num_exp, z)
    denom = tensors.total(exps)
    return tensors.elementwise(lambda e: e / denom, exps)


def _cross_entropy(yhat: np.ndarray, y: np.ndarray) -> np.ndarray:
    total = ZERO
    for p, t in zip(yhat.flat, y.flat):
        if not t.is_zero:
            total = total - t * num_log(p)
    return tensors.scalar(total)


def _bce(yhat: np.ndarray, y: np.ndarray, mean: bool) -> np.ndarray:
    total = ZERO
    for p, t in zip(yhat.flat, y.flat):
        if not t.is_zero:
            total = total - t * num_log(p)
        if not (ONE - t).is_zero:
            total = total - (ONE - t) * num_log(ONE - p)
    if mean:
        total = total / Num.rational(yhat.size)
    return tensors.scalar(total)


def _squared_error(yhat: np.ndarray, y: np.ndarray, mean: bool) -> np.ndarray:
    total = ZERO
    for p, t in zip(yhat.flat, y.flat):
        d = p - t
        total = total + d * d
    if mean:
        total = total / Num.rational(yhat.size)
    return tensors.scalar(total)


def _squared_error_grad(yhat: np.ndarray, y: np.ndarray, mean: bool) -> np.ndarray:
    scale = Num.rational(2) / Num.rational(yhat.size) if mean else Num.rational(2)
    return tensors.elementwise(lambda p, t: scale * (p - t), yhat, y)


def _bce_grad_wrt_yhat(yhat: np.ndarray, y: np.ndarray, mean: bool) -> np.ndarray:
    n = Num.rational(yhat.size) if mean else ONE
    return tensors.elementwise(lambda p, t: (p - t) / (p * (ONE - p) * n), yhat, y)


def _ce_grad_wrt_yhat(yhat: np.ndarray, y: np.ndarray) -> np.ndarray:
    return tensors.elementwise(lambda p, t: ZERO if t.is_zero else -t / p, yhat, y)


def _fused_grad(yhat: np.ndarray, y: np.ndarray, scale: Num = ONE) -> np.ndarray:
    return tensors.elementwise(lambda p, t: (p - t) * scale, yhat, y)


def _sgd(param: np.ndarray, rate: np.ndarray, grad: np.ndarray) -> np.ndarray:
    eta = tensors.as_scalar(rate)
    return tensors.elementwise(lambda w, g: w - eta * g, param, grad)


def _matvec_t(matrix: np.ndarray, vector: np.ndarray) -> np.ndarray:
    return tensors.matvec(matrix.T, vector)


def _affine(w: np.ndarray, x: np.ndarray, b: np.ndarray) -> np.ndarray:
    return tensors.add(tensors.matvec(w, x), b)


def _recurrent_affine(w_x, x, w_h, h, b) -> np.ndarray:
    return tensors.add(tensors.matvec(w_x, x), tensors.matvec(w_h, h), b)


def _denormalise(z, y_min, y_max) -> np.ndarray:
    lo, hi = tensors.as_scalar(y_min), tensors.as_scalar(y_max)
    return tensors.elementwise(lambda v: lo + v * (hi - lo), z)


def _denormalise_grad(g, y_min, y_max) -> np.ndarray:
    lo, hi = tensors.as_scalar(y_min), tensors.as_scalar(y_max)
    return tensors.elementwise(lambda v: v * (hi - lo), g)


def _activation_op(name: str):
    act = ACTIVATIONS[name]
    return lambda a: tensors.elementwise(act.forward, a)


def _activation_prime_op(name: str):
    act = ACTIVATIONS[name]
    return lambda a: tensors.elementwise(act.derivative, a)


def _softmax_jacobian_vjp(yhat: np.ndarray, g: np.ndarray) -> np.ndarray:
    """(∂ŷ/∂z)ᵀ g for softmax: ŷ_j (g_j − Σ_i ŷ_i g_i)."""
    s = tensors.dot(yhat, g)
    return tensors.elementwise(lambda p, gj: p * (gj - s), yhat, g)


# -- SymPy forms ---------------------------------------------------------------------------
def _sym_apply(name):
    return lambda *args: sympy.Function(name)(*args)


@dataclass(frozen=True)
class Op:
    """One operation: forward rule on tensors of Num, formula pattern, SymPy form."""

    forward: Callable[..., np.ndarray]
    pattern: str
    sympy: Callable[..., sympy.Basic]

    def pattern_for(self, n_inputs: int) -> str:
        if self.pattern == "SUM":
            return " + ".join("{%d}" % i for i in range(n_inputs))
        if self.pattern == "PAIRS_T":
            return " + ".join("{%d:T} {%d}" % (i, i + 1) for i in range(0, n_inputs, 2))
        return self.pattern


def _sum_op(*arrays):
    return tensors.add(*arrays)


def _matvec_t_sum(*pairs):
    """Σ_i W_iᵀ g_i: a gradient arriving along several edges (output, next time step, layer above)."""
    parts = [_matvec_t(pairs[i], pairs[i + 1]) for i in range(0, len(pairs), 2)]
    return tensors.add(*parts) if len(parts) > 1 else parts[0]


def _sym_matvec_t_sum(*pairs):
    return sympy.Add(*(pairs[i].T * pairs[i + 1] for i in range(0, len(pairs), 2)))


OPS: dict[str, Op] = {
    "affine": Op(_affine, "{0} {1} + {2}", lambda w, x, b: w * x + b),
    "recurrent_affine": Op(_recurrent_affine, "{0} {1} + {2} {3} + {4}",
                           lambda wx, x, wh, h, b: wx * x + wh * h + b),
    "matvec": Op(tensors.matvec, "{0} {1}", lambda w, x: w * x),
    "matvec_t": Op(_matvec_t, "{0:T} {1}", lambda w, g: w.T * g),
    "matvec_t_sum": Op(_matvec_t_sum, "PAIRS_T", _sym_matvec_t_sum),
    "outer": Op(tensors.outer, "{0} {1:T}", lambda g, v: g * v.T),
    "hadamard": Op(lambda a, b: tensors.elementwise(lambda x, y: x * y, a, b), r"{0} \odot {1}",
                   lambda a, b: sympy.HadamardProduct(a, b)),
    "sum": Op(_sum_op, "SUM", lambda *xs: sympy.Add(*xs) if len(xs) > 1 else xs[0]),
    "copy": Op(lambda a: a, "{0}", lambda a: a),
    "tanh": Op(_activation_op("tanh"), r"\tanh\left({0}\right)", _sym_apply("tanh")),
    "sigmoid": Op(_activation_op("sigmoid"), r"\sigma\left({0}\right)", _sym_apply("sigmoid")),
    "relu": Op(_activation_op("relu"), r"\operatorname{{ReLU}}\left({0}\right)", _sym_apply("ReLU")),
    "identity": Op(_activation_op("identity"), "{0}", lambda a: a),
    "tanh_prime": Op(_activation_prime_op("tanh"), r"1 - \tanh^{{2}}\left({0}\right)", _sym_apply("tanh_prime")),
    "sigmoid_prime": Op(_activation_prime_op("sigmoid"), r"\sigma\left({0}\right)\left(1 - \sigma\left({0}\right)\right)",
                        _sym_apply("sigmoid_prime")),
    "relu_prime": Op(_activation_prime_op("relu"), r"\mathbb{{1}}\left[{0} > 0\right]", _sym_apply("relu_prime")),
    "identity_prime": Op(_activation_prime_op("identity"), "1", lambda a: sympy.Integer(1)),
    "softmax": Op(_softmax, r"\operatorname{{softmax}}\left({0}\right)", _sym_apply("softmax")),
    "softmax_vjp": Op(_softmax_jacobian_vjp, r"\hat{{y}} \odot \left({1} - ({0}^\top {1})\right)",
                      _sym_apply("softmax_vjp")),
    "denormalise": Op(_denormalise, r"{1} + {0} \left({2} - {1}\right)", lambda z, lo, hi: lo + z * (hi - lo)),
    "denormalise_grad": Op(_denormalise_grad, r"{0} \left({2} - {1}\right)", lambda g, lo, hi: g * (hi - lo)),
    "mse": Op(lambda p, t: _squared_error(p, t, True), r"\frac{{1}}{{K}} \sum_k ({0}_k - {1}_k)^2",
              _sym_apply("mse")),
    "sse": Op(lambda p, t: _squared_error(p, t, False), r"\sum_k ({0}_k - {1}_k)^2", _sym_apply("sse")),
    "mse_grad": Op(lambda p, t: _squared_error_grad(p, t, True), r"\frac{{2}}{{K}} \left({0} - {1}\right)",
                   _sym_apply("mse_grad")),
    "sse_grad": Op(lambda p, t: _squared_error_grad(p, t, False), r"2 \left({0} - {1}\right)",
                   _sym_apply("sse_grad")),
    "cross_entropy": Op(_cross_entropy, r"-\sum_k {1}_k \log {0}_k", _sym_apply("cross_entropy")),
    "cross_entropy_grad": Op(_ce_grad_wrt_yhat, r"-{1} \oslash {0}", _sym_apply("cross_entropy_grad")),
    "bce_sum": Op(lambda p, t: _bce(p, t, False),
                  r"-\sum_k \left[{1}_k \log {0}_k + (1 - {1}_k) \log(1 - {0}_k)\right]", _sym_apply("bce")),
    "bce_mean": Op(lambda p, t: _bce(p, t, True),
                   r"-\frac{{1}}{{K}}\sum_k \left[{1}_k \log {0}_k + (1 - {1}_k) \log(1 - {0}_k)\right]",
                   _sym_apply("bce_mean")),
    "bce_sum_grad": Op(lambda p, t: _bce_grad_wrt_yhat(p, t, False), r"\frac{{{0} - {1}}}{{{0} (1 - {0})}}",
                       _sym_apply("bce_grad")),
    "bce_mean_grad": Op(lambda p, t: _bce_grad_wrt_yhat(p, t, True), r"\frac{{{0} - {1}}}{{K\, {0} (1 - {0})}}",
                        _sym_apply("bce_mean_grad")),
    "fused_output_grad": Op(_fused_grad, "{0} - {1}", lambda p, t: p - t),
    "fused_output_grad_mean": Op(lambda p, t: _fused_grad(p, t, ONE / Num.rational(p.size)),
                                 r"\frac{{1}}{{K}}\left({0} - {1}\right)", lambda p, t: (p - t) / sympy.Symbol("K")),
    "sgd": Op(_sgd, r"{0} - {1} {2}", lambda w, eta, g: w - eta * g),
}
