"""An independent CNN for the tests, differentiated by HIPS autograd (not by symderiv, not by hand).

It reads the *TOML data* of a spec directly, so it shares neither the spec parser, nor the
derivation, nor the NumPy reference with the code under test. The convolution is written as
explicit loops over output positions; max pooling gathers the first maximum of each window in
row-major order (autograd's own ``max`` would split a tie's gradient), and ReLU is
``where(a > 0, a, 0)`` so that its derivative at 0 is 0 (autograd's ``maximum`` would give 1/2).
A pre-activation within float noise of 0 (1e-12 of Σ|x·k| + |b|) is the exact 0 it is in the
spec's own arithmetic, and so is a pooling tie within 1e-12.
"""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np
from autograd import grad

ACT = {
    "tanh": lambda a, xp: xp.tanh(a),
    "sigmoid": lambda a, xp: 1 / (1 + xp.exp(-a)),
    "relu": lambda a, xp: xp.where(a > 0, a, 0.0),
    "identity": lambda a, xp: a,
}


def _size(value) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else tuple(value)


def _value(a) -> np.ndarray:
    """The float array inside an autograd box (for choosing a cell, never for differentiating)."""
    while hasattr(a, "_value"):
        a = a._value
    return np.asarray(a)


def _pad(x3, P: int, xp=anp):
    if not P:
        return x3
    C, R, W = _value(x3).shape
    rows = xp.zeros((C, P, W))
    x3 = xp.concatenate([rows, x3, rows], axis=1)
    cols = xp.zeros((C, R + 2 * P, P))
    return xp.concatenate([cols, x3, cols], axis=2)


def network(data: dict):
    """(image, params, loss(image, params)) for a CNN spec's TOML data; params keyed by role."""
    conv, par, out = data["convolution"], data["parameters"], data["output"]
    names = {"k": "k", "b_conv": "b_conv", "W": "W", "b": "b", **data.get("names", {})}
    image = np.array(data["input"]["image"], dtype=float)
    y = np.array(data["target"]["value"], dtype=float).reshape(-1)
    n, m = _size(conv["kernel_size"])
    S, P, F = conv.get("stride", 1), conv.get("padding", 0), conv.get("filters", 1)
    act = ACT[conv.get("activation", "relu")]
    pool, dropout = data.get("pooling"), data.get("dropout")
    out_act = out["activation"]
    loss_kind = out.get("loss", {"softmax": "cross_entropy", "sigmoid": "bce"}.get(out_act, "mse"))
    params = {"k": np.array(par[names["k"]], dtype=float), "W": np.array(par[names["W"]], dtype=float),
              "b": np.array(par.get(names["b"], [0] * y.size), dtype=float)}
    if names["b_conv"] in par:
        params["b_conv"] = np.array(par[names["b_conv"]], dtype=float)

    def conv_layer(x, p, xp):
        x3 = xp.reshape(x, (1,) + image.shape) if image.ndim == 2 else x
        C, R, W = image.shape if image.ndim == 3 else (1,) + image.shape
        padded = _pad(x3, P, xp)
        k4 = xp.reshape(p["k"], (F, C, n, m))
        Ho, Wo = (R + 2 * P - n) // S + 1, (W + 2 * P - m) // S + 1
        bias = xp.reshape(p["b_conv"], (F,)) if "b_conv" in p else None
        cells, sizes = [], []
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    patch = padded[:, i * S:i * S + n, j * S:j * S + m]
                    cell = xp.sum(patch * k4[f])
                    size = np.sum(np.abs(_value(patch)) * np.abs(_value(k4[f])))
                    if bias is not None:
                        cell, size = cell + bias[f], size + abs(_value(bias[f]))
                    cells.append(cell)
                    sizes.append(size)
        return xp.reshape(xp.array(cells), (F, Ho, Wo)), np.reshape(sizes, (F, Ho, Wo))

    def pool_layer(a, xp):
        pq = _size(pool["size"])
        s = pool.get("stride", pq[0])
        F_, Ho, Wo = _value(a).shape
        Hp, Wp = (Ho - pq[0]) // s + 1, (Wo - pq[1]) // s + 1
        values = _value(a)
        cells = []
        for f in range(F_):
            for i in range(Hp):
                for j in range(Wp):
                    if pool.get("mode", "max") == "max":
                        flat = values[f, i * s:i * s + pq[0], j * s:j * s + pq[1]].reshape(-1)
                        # first maximum in row-major order; float noise of an exact tie still ties
                        near = flat >= flat.max() - 1e-12 * max(1.0, abs(flat.max()))
                        u, v = divmod(int(np.argmax(near)), pq[1])
                        cells.append(a[f, i * s + u, j * s + v])
                    else:
                        cells.append(xp.mean(a[f, i * s:i * s + pq[0], j * s:j * s + pq[1]]))
        return xp.reshape(xp.array(cells), (F_, Hp, Wp))

    def loss(x, p, xp=anp):
        h, size = conv_layer(x, p, xp)
        a = xp.where(_value(h) > 1e-12 * size, h, 0.0) if conv.get("activation", "relu") == "relu" else act(h, xp)
        if pool:
            a = pool_layer(a, xp)
        if dropout:
            a = a * np.array(dropout["mask"], dtype=float).reshape(_value(a).shape) / (1 - dropout["p"])
        z = xp.dot(p["W"], xp.reshape(a, (-1,))) + p["b"]
        if out_act == "softmax":
            e = xp.exp(z - xp.max(z))
            yhat = e / xp.sum(e)
        elif out_act == "sigmoid":
            yhat = 1 / (1 + xp.exp(-z))
        else:
            yhat = z
        if loss_kind == "mse":
            return xp.mean((yhat - y) ** 2)
        if loss_kind == "sse":
            return xp.sum((yhat - y) ** 2)
        # log ŷ and log(1 − ŷ) from z, as a careful float64 program does: 1 − σ(17) has lost its digits
        if out_act == "softmax":
            log_p = z - xp.max(z) - xp.log(xp.sum(xp.exp(z - xp.max(z))))
            log_q = xp.log(1 - yhat)
        elif out_act == "sigmoid":
            log_p, log_q = -xp.logaddexp(0.0, -z), -xp.logaddexp(0.0, z)
        else:
            log_p, log_q = xp.log(yhat), xp.log(1 - yhat)
        if loss_kind == "cross_entropy":
            return -xp.sum(y * log_p)
        terms = -(y * log_p + (1 - y) * log_q)
        return xp.sum(terms) if loss_kind == "bce" else xp.mean(terms)

    return image, params, loss


def gradients(data: dict) -> tuple[float, dict, np.ndarray]:
    """(loss, {role: ∂L/∂parameter} in each parameter's own shape, ∂L/∂image)."""
    image, params, loss = network(data)
    g = grad(loss, 1)(image, params)
    return float(loss(image, params)), {key: np.asarray(v) for key, v in g.items()}, \
        np.asarray(grad(loss, 0)(image, params))
