"""Float64 layers in NumPy, written from the equations (not from the derivation's operations).

Each function returns a value and its *magnitude*: the same computation on absolute values (Σ|w·x| +
|b| for a dense cell), which bounds float64's rounding error at about n·1e-16 times it; verification
allows 1e-12 of it, so an exact 0 in the derivation against float64's 1e-17 is not a false alarm,
while a wrong value (off by more than a rounding error of its own terms) still is.

Every function accepts parameters and activations with leading batch axes (``...``), so the finite
differences of a parameter run as one vectorised forward pass over all its perturbed copies.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

#: Values within this relative distance of a window's maximum count as tied; a pre-activation within
#: it of its magnitude counts as the exact 0 it is in the derivation (a kink).
TIE_RTOL = 1e-12


def _sigmoid(a):
    return 0.5 * (1.0 + np.tanh(0.5 * a))          # no overflow of exp(−a) for very negative a


def _sigmoid_prime(a):
    s = _sigmoid(a)
    return np.where(a >= 0, np.exp(-np.abs(a)) * s * s, s * (1.0 - s))


# name -> (f(a, p), f'(a, p), bound on |f'|, the branch below a kink at 0 or None); one line an activation.
# At a kink the derivation takes the branch below it (ReLU'(0) = 0); finite differences stay on it.
ACTIVATIONS = {
    "tanh": (lambda a, p: np.tanh(a), lambda a, p: 1.0 / np.cosh(a) ** 2, 1.0, None),
    "sigmoid": (lambda a, p: _sigmoid(a), lambda a, p: _sigmoid_prime(a), 0.25, None),
    "relu": (lambda a, p: np.where(a > 0, a, 0.0), lambda a, p: (a > 0).astype(float), 1.0, lambda a, p: 0.0 * a),
    "identity": (lambda a, p: a, lambda a, p: np.ones_like(a), 1.0, None),
    "leaky_relu": (lambda a, p: np.where(a > 0, a, p["alpha"] * a), lambda a, p: np.where(a > 0, 1.0, p["alpha"]),
                   1.0, lambda a, p: p["alpha"] * a),
    "elu": (lambda a, p: np.where(a > 0, a, p["alpha"] * np.expm1(np.minimum(a, 0))),
            lambda a, p: np.where(a > 0, 1.0, p["alpha"] * np.exp(np.minimum(a, 0))), 1.0,
            lambda a, p: p["alpha"] * np.expm1(a)),
    "softplus": (lambda a, p: np.logaddexp(0.0, a), lambda a, p: _sigmoid(a), 1.0, None),
    "gelu": (lambda a, p: 0.5 * a * (1 + _erf(a / np.sqrt(2))),
             lambda a, p: 0.5 * (1 + _erf(a / np.sqrt(2))) + a * np.exp(-a * a / 2) / np.sqrt(2 * np.pi), 1.2, None),
    "swish": (lambda a, p: a * _sigmoid(a), lambda a, p: _sigmoid(a) * (1 + a * (1 - _sigmoid(a))), 1.1, None),
    "softsign": (lambda a, p: a / (1 + np.abs(a)), lambda a, p: 1 / (1 + np.abs(a)) ** 2, 1.0, None),
}


def _erf(x):
    import math
    return np.vectorize(math.erf, otypes=[float])(x)


def mv(W, x):
    """W x with any leading batch axes on either."""
    return np.einsum("...ij,...j->...i", W, x)


def mv_t(W, g):
    """Wᵀ g with any leading batch axes on either."""
    return np.einsum("...ji,...j->...i", W, g)


def outer(g, v):
    return np.einsum("...i,...j->...ij", g, v)


# -- elementwise ------------------------------------------------------------------------------------
def _entry(name: str, formula=None):
    """(f, f', bound, branch below its kink) of a built-in activation or of a user's formula."""
    return user_formula(formula) if formula else ACTIVATIONS[name]


def activation(name: str, params: dict, a, a_mag, held=None, formula=None):
    """f(a) and its magnitude; where ``held`` (a mask of units at their kink at the given parameters) the
    branch below the kink is followed, as the derivation's derivative is."""
    f, _fp, bound, below = _entry(name, formula)
    out = f(a, params)
    if held is not None and below is not None:
        out = np.where(held, below(a, params), out)
    return out, np.abs(out) + bound * a_mag


def activation_prime(name: str, params: dict, a, a_mag, formula=None):
    """f'(a) and its magnitude (every |f''| of a built-in activation is at most 1)."""
    _f, fp, _bound, below = _entry(name, formula)
    local = fp(a, params)
    return local, np.abs(local) if below is not None else np.abs(local) + a_mag


def at_kink(name: str, a, a_mag, formula=None):
    """Units exactly at a kink in exact arithmetic (within float64 noise of it), or None for a smooth f."""
    if _entry(name, formula)[3] is None:
        return None
    return np.abs(a - nearest_kink(a, formula)) <= TIE_RTOL * np.maximum(a_mag, 1e-300)


def nearest_kink(a, formula=None):
    """Where a kinked activation bends nearest to each unit (0 for the built-in ones; a user's formula
    may have several kinks, as the clip min(max(a, −1), 1))."""
    points = np.asarray(user_formula_kinks(formula) if formula else [], dtype=float)
    if points.size == 0:
        return np.zeros_like(a, dtype=float)
    a = np.asarray(a, dtype=float)
    return points[np.argmin(np.abs(a[..., None] - points), axis=-1)]


def user_formula(text: str):
    """(f, f', bound, branch below the kink or None) of a user's formula, in NumPy, from the same safe
    parser that reads it for the derivation (its derivative by SymPy; the finite differences of the loss
    check every gradient independently)."""
    from symderiv.ops.formula import numpy_functions
    return numpy_functions(text)


def user_formula_kinks(text: str) -> list:
    from symderiv.ops.formula import kinks
    return [float(k) for k in kinks(text)]


def uses_logs(loss: str) -> bool:
    """The loss takes logarithms of the predictions (and so is computed from the logits)."""
    return loss not in ("mse", "sse", "half_sse")


# -- output activations and losses -------------------------------------------------------------------
def softmax(z, z_mag):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    y = e / e.sum(axis=-1, keepdims=True)
    return y, y + y * (z_mag + np.sum(y * z_mag, axis=-1, keepdims=True))


def _logsumexp(z):
    """log Σ e^{z} over the last axis (kept), shifted by the largest entry."""
    top = np.max(z, axis=-1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    return top + np.log(np.sum(np.exp(z - top), axis=-1, keepdims=True))


def log_probabilities(activation: str, z, p):
    """(log ŷ, log(1 − ŷ)) from the logits where ŷ = softmax(z) or σ(z): a saturated unit's 1 − ŷ has lost
    its digits in float64, its logarithm taken from z has not."""
    with np.errstate(divide="ignore"):
        if activation == "softmax":
            lse = _logsumexp(z)
            # log(1 − p_k) = log Σ_{j≠k} e^{z_j} − log Σ_j e^{z_j}: no 1 − p that rounds to 0
            others = np.where(np.eye(z.shape[-1], dtype=bool), -np.inf, z[..., None, :])
            return z - lse, _logsumexp(others)[..., 0] - lse
        if activation == "sigmoid":
            return -np.logaddexp(0.0, -z), -np.logaddexp(0.0, z)
        return np.log(p), np.log1p(-p)


def loss(kind: str, activation: str, p, y, z):
    """The loss from the prediction p (and, after softmax or sigmoid, from the logits z)."""
    K = p.shape[-1]
    if kind == "mse":
        return np.sum((p - y) ** 2, axis=-1) / K
    if kind == "sse":
        return np.sum((p - y) ** 2, axis=-1)
    if kind == "half_sse":
        return 0.5 * np.sum((p - y) ** 2, axis=-1)
    log_p, log_q = log_probabilities(activation, z, p)
    if kind == "cross_entropy":
        return -np.sum(np.where(y > 0, y * log_p, 0.0), axis=-1)
    terms = -(np.where(y > 0, y * log_p, 0.0) + np.where(y < 1, (1 - y) * log_q, 0.0))
    return terms.sum(axis=-1) if kind == "bce" else terms.sum(axis=-1) / K


def loss_magnitude(kind: str, p, p_mag, y, log_p=None, log_q=None) -> float:
    if not uses_logs(kind):
        return float(np.sum((np.abs(p) + p_mag + np.abs(y)) ** 2))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_p = np.log(p) if log_p is None else log_p
        log_q = np.log1p(-p) if log_q is None else log_q
        terms = np.abs(log_p) + p_mag / p
        if kind != "cross_entropy":
            terms = terms + np.abs(log_q) + p_mag * np.exp(-log_q)
    return float(np.nansum(np.where(np.isfinite(terms), terms, 0.0)))


def loss_gradient(kind: str, p, p_mag, y, q=None):
    """∂L/∂ŷ and its magnitude; ``q`` is 1 − ŷ where it is known from the logits (a saturated ŷ rounds
    to 1 in float64, its 1 − ŷ taken from z does not)."""
    K = p.shape[-1]
    q = 1 - p if q is None else q
    diff_mag = p_mag + np.abs(y)
    if not uses_logs(kind):
        factor = {"mse": 2 / K, "sse": 2.0, "half_sse": 1.0}[kind]
        return factor * (p - y), factor * diff_mag
    if kind == "cross_entropy":
        g = np.where(y > 0, -y / p, 0.0)
        return g, np.abs(g) * (1 + p_mag / p)
    n = K if kind == "bce_mean" else 1
    # (ŷ − y)/(ŷ(1 − ŷ)) = (1 − y)/(1 − ŷ) − y/ŷ, with 1 − ŷ from the logits
    g = ((1 - y) / q - y / p) / n
    return g, (diff_mag + np.abs(p - y)) / (p * q) / n


# -- convolution and pooling --------------------------------------------------------------------------
def maps(x):
    """An image or map as (..., channels, rows, columns): a plain matrix is one channel."""
    return x[..., None, :, :] if x.ndim == 2 else x


def batched(array, base_ndim: int, shape: tuple):
    """``array`` (with leading batch axes beyond its ``base_ndim`` own ones) viewed with its own axes as ``shape``."""
    return array.reshape(array.shape[:array.ndim - base_ndim] + tuple(shape))


def _pads(padding) -> tuple[int, int, int, int]:
    return (padding,) * 4 if isinstance(padding, int) else tuple(padding)


def patches(x3, size, stride: int, padding):
    """(..., C, Ho, Wo, n, m): the input patch under the kernel at every output position; ``padding`` is
    P on every side or (top, bottom, left, right)."""
    top, bottom, left, right = _pads(padding)
    pad = [(0, 0)] * (x3.ndim - 2) + [(top, bottom), (left, right)]
    padded = np.pad(x3, pad)
    windows = sliding_window_view(padded, tuple(size), axis=(-2, -1))
    return windows[..., ::stride, ::stride, :, :]


def conv(x3, x_mag, k4, b, stride: int, padding):
    """h[f,i,j] = Σ_{c,u,v} x[c, iS+u−P, jS+v−P] k[f,c,u,v] + b[f], and its magnitude."""
    size = k4.shape[-2:]
    P, Pm = patches(x3, size, stride, padding), patches(x_mag, size, stride, padding)
    h = np.einsum("...fcuv,...cijuv->...fij", k4, P)
    mag = np.einsum("...fcuv,...cijuv->...fij", np.abs(k4), np.abs(P) + Pm)
    if b is not None:                  # (..., F): one bias per filter
        bias = b[..., :, None, None]
        h, mag = h + bias, mag + np.abs(bias)
    return h, mag


def pool_windows(a, size, stride: int):
    """(..., C, Hp, Wp, p·q): the pooling windows, each flattened row-major."""
    win = sliding_window_view(a, tuple(size), axis=(-2, -1))[..., ::stride, ::stride, :, :]
    return win.reshape(win.shape[:-2] + (-1,))


def near_top(windows):
    top = windows.max(axis=-1, keepdims=True)
    return windows >= top - TIE_RTOL * np.maximum(1.0, np.abs(top))


def pool_backward(mode: str, shape, g, size, stride: int, choice=None):
    """The gradient of the pooling's input: max sends each window's gradient to its chosen cell, average
    shares it equally; overlapping windows add up."""
    p, q = size
    Hp, Wp = g.shape[-2:]
    out = np.zeros(g.shape[:-2] + tuple(shape[-2:]))
    for u in range(p):
        for v in range(q):
            share = (choice == u * q + v) if mode == "max" else 1.0 / (p * q)
            out[..., u:u + stride * Hp:stride, v:v + stride * Wp:stride] += g * share
    return out


def conv_input_gradient(dh, k4, x_shape3, stride: int, padding):
    """∂L/∂x: each output cell's gradient times the kernel, placed back on its patch."""
    C, R, W = x_shape3
    top, bottom, left, right = _pads(padding)
    Ho, Wo = dh.shape[-2:]
    n, m = k4.shape[-2:]
    padded = np.zeros(dh.shape[:-3] + (C, R + top + bottom, W + left + right))
    for u in range(n):
        for v in range(m):
            padded[..., :, u:u + stride * Ho:stride, v:v + stride * Wo:stride] += \
                np.einsum("...fij,...fc->...cij", dh, k4[..., :, :, u, v])
    return padded[..., :, top:top + R, left:left + W]
