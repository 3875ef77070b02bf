"""The operation table: for each operation, its forward rule, its formula pattern and SymPy form.

Local derivatives sit beside the forward rules: every activation in :data:`ACTIVATIONS` carries
its derivative (computed from the pre-activation, so ``1 - tanh²(a)`` is evaluated as
``sech²(a)`` and keeps its digits when ``tanh(a)`` is close to 1). Backward passes of every
model are then the same kinds of steps: outer products, transposed products, Hadamard masks,
sums, all listed in :data:`OPS` at the bottom of this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
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


def activation_prime_pattern(op: str, symbol: str) -> str:
    """Formula pattern of an activation's local derivative, over the pre-activation ``{0}``.

    ``symbol`` is the lecturer's LaTeX for the activation (unescaped); the pattern writes the
    derivative through it, e.g. ``1 - \\sigma_{\\tanh}^2(a_t)``.
    """
    f = symbol.replace("{", "{{").replace("}", "}}")
    return {
        "tanh": f"1 - {f}^{{{{2}}}}\\left({{0}}\\right)",
        "sigmoid": f"{f}\\left({{0}}\\right)\\left(1 - {f}\\left({{0}}\\right)\\right)",
        "relu": r"\mathbb{{1}}\left[{0} > 0\right]",
        "identity": "1",
    }[op]


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


# -- convolutional layers --------------------------------------------------------------------
# Feature maps are (channel, row, column) and kernels (filter, channel, n, m); a one-channel
# image may be a plain matrix and a one-filter, one-channel kernel a plain n × m matrix: they
# are viewed as 3-d/4-d here, and every gradient comes back in its parameter's own shape.
# Given images and kernels are rational, and summing them as Python Fractions is exact and
# some 50 times faster than SymPy numbers, which matters for a 28 × 28 image; exact zeros
# (padding, cells masked by ReLU or not chosen by max pooling) are skipped.
def _int_of(array: np.ndarray) -> int:
    return int(tensors.as_scalar(array).exact)


def _pair_of(array: np.ndarray) -> tuple[int, int]:
    return tuple(int(n.exact) for n in array.flat)


def _maps(x: np.ndarray) -> np.ndarray:
    return x.reshape((1,) + x.shape) if x.ndim == 2 else x


def _kernels(k: np.ndarray) -> np.ndarray:
    return k.reshape((1, 1) + k.shape) if k.ndim == 2 else k


def _fraction(n: Num) -> Fraction | None:
    e = n.exact
    return Fraction(int(e.p), int(e.q)) if e is not None and e.is_Rational else None


def _num_from_fraction(f: Fraction) -> Num:
    return Num.rational(sympy.Rational(f.numerator, f.denominator))


def _exact_arrays(*arrays: np.ndarray):
    """(arrays, is_zero, to_num, zero): Fractions when every entry of every array is rational, else the Nums."""
    converted = []
    for a in arrays:
        out = np.empty(a.shape, dtype=object)
        for index, n in np.ndenumerate(a):
            f = _fraction(n)
            if f is None:
                return list(arrays), (lambda v: v.is_zero), (lambda v: v), ZERO
            out[index] = f
        converted.append(out)
    return converted, (lambda v: v == 0), _num_from_fraction, Fraction(0)


def conv_output_size(size: int, kernel: int, padding: int, stride: int) -> int:
    """⌊(X + 2P − K)/S⌋ + 1: the number of kernel positions along one axis."""
    return (size + 2 * padding - kernel) // stride + 1


def _conv_size(size_x, size_k, padding, stride) -> np.ndarray:
    P, S = _int_of(padding), _int_of(stride)
    return tensors.tensor([Num.rational(conv_output_size(int(x.exact), int(k.exact), P, S))
                           for x, k in zip(size_x.flat, size_k.flat)])


def _pool_size(size_h, size_p, stride) -> np.ndarray:
    S = _int_of(stride)
    return tensors.tensor([Num.rational(conv_output_size(int(h.exact), int(p.exact), 0, S))
                           for h, p in zip(size_h.flat, size_p.flat)])


def _patch(i: int, j: int, u: int, v: int, S: int, P: int) -> tuple[int, int]:
    """The input cell (row, column) that kernel entry (u, v) meets at output position (i, j)."""
    return i * S + u - P, j * S + v - P


def _conv(x, k, bias, stride, padding) -> np.ndarray:
    """Cross-correlation, as frameworks compute it: h[f,i,j] = Σ_{c,u,v} x[c, iS+u−P, jS+v−P] k[f,c,u,v] + b_f."""
    S, P = _int_of(stride), _int_of(padding)
    x3, k4 = _maps(x), _kernels(k)
    given = [x3, k4] + ([bias] if bias is not None else [])
    arrays, is_zero, to_num, zero = _exact_arrays(*given)
    xs, ks = arrays[0], arrays[1]
    biases = list(arrays[2].flat) if bias is not None else None
    C, R, W = x3.shape
    F, _, n, m = k4.shape
    out = np.empty((F, conv_output_size(R, n, P, S), conv_output_size(W, m, P, S)), dtype=object)
    for f, i, j in np.ndindex(out.shape):
        total = zero
        for c in range(C):
            for u in range(n):
                for v in range(m):
                    r, s = _patch(i, j, u, v, S, P)
                    if 0 <= r < R and 0 <= s < W:
                        a, w = xs[c, r, s], ks[f, c, u, v]
                        if not (is_zero(a) or is_zero(w)):
                            total = total + a * w
        if biases is not None:
            total = total + biases[f]
        out[f, i, j] = to_num(total)
    return out


def _conv_kernel_grad(g, x, k, stride, padding) -> np.ndarray:
    """∂L/∂k[f,c,u,v] = Σ_{i,j} ∂L/∂h[f,i,j] · x[c, iS+u−P, jS+v−P]: each output cell's gradient times its patch."""
    return _kernel_grad_terms(g, x, k, stride, padding, per_position=False)


def _conv_kernel_grad_parts(g, x, k, stride, padding) -> np.ndarray:
    """The terms of that sum, one kernel-shaped tensor per output position (f, i, j), row-major."""
    return _kernel_grad_terms(g, x, k, stride, padding, per_position=True)


def _kernel_grad_terms(g, x, k, stride, padding, per_position: bool) -> np.ndarray:
    S, P = _int_of(stride), _int_of(padding)
    x3, k4 = _maps(x), _kernels(k)
    (gs, xs), is_zero, to_num, zero = _exact_arrays(g, x3)
    C, R, W = x3.shape
    F, _, n, m = k4.shape
    positions = list(np.ndindex(g.shape))
    acc = np.full((len(positions) if per_position else 1,) + k4.shape, zero, dtype=object)
    for p, (f, i, j) in enumerate(positions):
        weight = gs[f, i, j]
        if is_zero(weight):
            continue
        slot = acc[p if per_position else 0, f]
        for c in range(C):
            for u in range(n):
                for v in range(m):
                    r, s = _patch(i, j, u, v, S, P)
                    if 0 <= r < R and 0 <= s < W and not is_zero(xs[c, r, s]):
                        slot[c, u, v] = slot[c, u, v] + weight * xs[c, r, s]
    out = np.empty(acc.shape, dtype=object)
    for index, value in np.ndenumerate(acc):
        out[index] = to_num(value)
    return out.reshape((len(positions),) + k.shape) if per_position else out.reshape(k.shape)


def _conv_input_grad(g, k, x, stride, padding) -> np.ndarray:
    """∂L/∂x[c,r,s] = Σ ∂L/∂h[f,i,j] · k[f,c,u,v] over the (f,i,j,u,v) whose patch cell is (r, s)."""
    S, P = _int_of(stride), _int_of(padding)
    x3, k4 = _maps(x), _kernels(k)
    (gs, ks), is_zero, to_num, zero = _exact_arrays(g, k4)
    C, R, W = x3.shape
    F, _, n, m = k4.shape
    acc = np.full(x3.shape, zero, dtype=object)
    for f, i, j in np.ndindex(g.shape):
        weight = gs[f, i, j]
        if is_zero(weight):
            continue
        for c in range(C):
            for u in range(n):
                for v in range(m):
                    r, s = _patch(i, j, u, v, S, P)
                    if 0 <= r < R and 0 <= s < W and not is_zero(ks[f, c, u, v]):
                        acc[c, r, s] = acc[c, r, s] + weight * ks[f, c, u, v]
    return tensors.elementwise(to_num, acc).reshape(x.shape)


def _conv_bias_grad(g, bias) -> np.ndarray:
    """∂L/∂b_f = Σ_{i,j} ∂L/∂h[f,i,j]: the bias meets every output cell of its filter with weight 1."""
    (gs,), _is_zero, to_num, zero = _exact_arrays(g)
    sums = [to_num(sum(gs[f].flat, zero)) for f in range(g.shape[0])]
    return tensors.tensor(sums[0] if bias.shape == () else sums)


def pool_windows(shape: tuple[int, int, int], size: tuple[int, int], stride: int):
    """Per output cell (c, i, j), row-major: the input cells of its window, row-major."""
    C, R, W = shape
    p, q = size
    for c, i, j in np.ndindex(C, conv_output_size(R, p, 0, stride), conv_output_size(W, q, 0, stride)):
        yield (c, i, j), [(c, i * stride + u, j * stride + v) for u in range(p) for v in range(q)]


def pool_choices(h: np.ndarray, size: tuple[int, int], stride: int) -> tuple[list, list]:
    """(arg-max cell per output cell, output cells whose maximum is tied): the first maximum in row-major
    order wins, as common frameworks choose; values compare at 60 digits (exact ties stay ties)."""
    chosen, ties = [], []
    for out_cell, cells in pool_windows(h.shape, size, stride):
        best = cells[0]
        for cell in cells[1:]:
            if h[cell].approx > h[best].approx:
                best = cell
        chosen.append(best)
        if sum(1 for cell in cells if h[cell].approx == h[best].approx) > 1:
            ties.append(out_cell)
    return chosen, ties


def _pool_out(h, size, stride) -> tuple[np.ndarray, tuple, int]:
    p, q = _pair_of(size)
    S = _int_of(stride)
    C, R, W = h.shape
    return np.empty((C, conv_output_size(R, p, 0, S), conv_output_size(W, q, 0, S)), dtype=object), (p, q), S


def _max_pool(h, size, stride) -> np.ndarray:
    out, pq, S = _pool_out(h, size, stride)
    chosen, _ties = pool_choices(h, pq, S)
    for index, cell in zip(np.ndindex(out.shape), chosen):
        out[index] = h[cell]
    return out


def _max_pool_route(g, h, size, stride) -> np.ndarray:
    """∂L/∂h' from ∂L/∂h'': each output cell's gradient goes to its arg-max cell (summed where windows overlap)."""
    p, q = _pair_of(size)
    chosen, _ties = pool_choices(h, (p, q), _int_of(stride))
    out = tensors.zeros(h.shape)
    for index, cell in zip(np.ndindex(g.shape), chosen):
        out[cell] = out[cell] + g[index]
    return out


def _avg_pool(h, size, stride) -> np.ndarray:
    out, (p, q), S = _pool_out(h, size, stride)
    (hs,), _is_zero, to_num, zero = _exact_arrays(h)
    for out_cell, cells in pool_windows(h.shape, (p, q), S):
        out[out_cell] = to_num(sum((hs[cell] for cell in cells), zero) / (p * q))
    return out


def _avg_pool_spread(g, h, size, stride) -> np.ndarray:
    """∂L/∂h' from ∂L/∂h'': each output cell's gradient spread equally, 1/(pq) to every cell of its window."""
    p, q = _pair_of(size)
    share = ONE / Num.rational(p * q)
    out = tensors.zeros(h.shape)
    for out_cell, cells in pool_windows(h.shape, (p, q), _int_of(stride)):
        part = g[out_cell] * share
        for cell in cells:
            out[cell] = out[cell] + part
    return out


def _dropout(h, mask, p) -> np.ndarray:
    """Inverted dropout with a given mask: h ⊙ m / (1 − p), so the expected activation is unchanged."""
    scale = ONE / (ONE - tensors.as_scalar(p))
    return tensors.elementwise(lambda v, keep: v * keep * scale, h, mask)


def _dropout_prime(mask, p) -> np.ndarray:
    """∂(dropout)/∂h = m / (1 − p), elementwise: 1/(1 − p) where the cell is kept, 0 where dropped."""
    scale = ONE / (ONE - tensors.as_scalar(p))
    return tensors.elementwise(lambda keep: keep * scale, mask)


def _dense(w, x, b) -> np.ndarray:
    """W x + b, as "affine", summed as Fractions when everything is rational (a 10 × 2704 layer is 27 040
    products: seconds as SymPy numbers, a tenth of a second as Fractions); otherwise exactly as "affine"."""
    arrays, _is_zero, to_num, zero = _exact_arrays(w, x, b)
    if not isinstance(zero, Fraction):
        return _affine(w, x, b)
    ws, xs, bs = arrays
    nonzero = [j for j in range(xs.shape[0]) if xs[j] != 0]
    return tensors.tensor([to_num(sum((ws[i, j] * xs[j] for j in nonzero), zero) + bs[i])
                           for i in range(ws.shape[0])])


def _flatten(h) -> np.ndarray:
    """Row-major: channel by channel, each channel row by row (as numpy and PyTorch flatten (C, H, W))."""
    return h.reshape(-1).copy()


def _unflatten(g, like) -> np.ndarray:
    """The gradient of a flattened vector put back in the shape of the map it was flattened from."""
    return g.reshape(like.shape).copy()


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
    # convolutional layers: forward rules, then their backward rules
    "conv_size": Op(_conv_size, r"\left\lfloor \frac{{{0} + 2 {2} - {1}}}{{{3}}} \right\rfloor + 1",
                    _sym_apply("conv_size")),
    "pool_size": Op(_pool_size, r"\left\lfloor \frac{{{0} - {1}}}{{{2}}} \right\rfloor + 1", _sym_apply("pool_size")),
    "conv2d": Op(lambda x, k, s, p: _conv(x, k, None, s, p), r"{0} \ast {1}", _sym_apply("conv2d")),
    "conv2d_bias": Op(_conv, r"{0} \ast {1} + {2}", _sym_apply("conv2d")),
    "conv2d_kernel_grad": Op(_conv_kernel_grad,
                             r"\sum_{{i,j}} \left({0}\right)_{{ij}}\, \operatorname{{patch}}_{{ij}}\left({1}\right)",
                             _sym_apply("conv2d_kernel_grad")),
    "conv2d_kernel_grad_parts": Op(_conv_kernel_grad_parts,
                                   r"\left({0}\right)_{{ij}}\, \operatorname{{patch}}_{{ij}}\left({1}\right)",
                                   _sym_apply("conv2d_kernel_grad_parts")),
    "conv2d_input_grad": Op(_conv_input_grad,
                            r"\sum_{{f,i,j}} \left({0}\right)_{{fij}}\, \operatorname{{place}}_{{ij}}\left({1}_{{f}}\right)",
                            _sym_apply("conv2d_input_grad")),
    "conv2d_bias_grad": Op(_conv_bias_grad, r"\sum_{{i,j}} \left({0}\right)_{{f,i,j}}", _sym_apply("conv2d_bias_grad")),
    "max_pool": Op(_max_pool, r"\operatorname{{maxpool}}\left({0}\right)", _sym_apply("max_pool")),
    "max_pool_route": Op(_max_pool_route, r"\operatorname{{route}}_{{\arg\max}}\left({0}\right)",
                         _sym_apply("max_pool_route")),
    "avg_pool": Op(_avg_pool, r"\operatorname{{avgpool}}\left({0}\right)", _sym_apply("avg_pool")),
    "avg_pool_spread": Op(_avg_pool_spread, r"\operatorname{{spread}}\left({0}\right)", _sym_apply("avg_pool_spread")),
    "dropout": Op(_dropout, r"\frac{{{1} \odot {0}}}{{1 - {2}}}", _sym_apply("dropout")),
    "dropout_prime": Op(_dropout_prime, r"\frac{{{0}}}{{1 - {1}}}", _sym_apply("dropout_prime")),
    "dense": Op(_dense, "{0} {1} + {2}", lambda w, x, b: w * x + b),
    "flatten": Op(_flatten, r"\operatorname{{flatten}}\left({0}\right)", _sym_apply("flatten")),
    "unflatten": Op(_unflatten, r"\operatorname{{reshape}}\left({0}\right)", _sym_apply("reshape")),
}
