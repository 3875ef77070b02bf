"""An independent float64 convolutional network in NumPy: forward, backward and the loss of parameters.

Written from the equations with whole-array NumPy (sliding windows and einsum), not from the
derivation's steps or operation table, so it can catch their mistakes. It names its quantities as
the steps do (``h''``, ``dL/dh'``, ``dL/dk``), which is the only thing it shares with
:mod:`symderiv.models.cnn`.

Max pooling takes the first maximum in row-major order. A tie that is exact in the derivation
can come out of float64 arithmetic as two values a rounding error apart (0.3 + 0.6 against 0.9),
so values within 1e-12 (relative) of the window's maximum count as tied here; otherwise the
float check would route a gradient to a different cell than exact arithmetic does. For the same
reason a convolution output within 1e-12 of the size of its terms (Σ|x·k| + |b|) is taken as the
exact 0 it is, so that ReLU's derivative there is 0, as in the derivation, not a coin toss.

Such points are kinks: a pre-activation exactly at 0 under ReLU, or a max-pooling window whose
maximum is tied between cells that still pass a gradient. There the loss has no derivative and
the derivation (like every framework) gives the one of the branch its rules choose; so the loss
that finite differences perturb, :meth:`CNNReference.loss`, keeps those few decisions as they are
at the given parameters and lets every other cell move freely.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

TIE_RTOL = 1e-12

ACT = {
    "tanh": (np.tanh, lambda a: 1.0 / np.cosh(a) ** 2),
    "sigmoid": (lambda a: 1.0 / (1.0 + np.exp(-a)), lambda a: np.exp(-a) / (1.0 + np.exp(-a)) ** 2),
    "relu": (lambda a: np.where(a > 0, a, 0.0), lambda a: (a > 0).astype(float)),
    "identity": (lambda a: a, lambda a: np.ones_like(a)),
}


def _f(nested) -> np.ndarray:
    return np.array(_floats(nested), dtype=float)


def _floats(nested):
    return [_floats(v) for v in nested] if isinstance(nested, list) else float(nested)


class CNNReference:
    """Float64 forward and backward of the network a CNN spec describes."""

    def __init__(self, spec):
        self.spec = spec
        x = _f(spec.image)
        self.x_shape = x.shape
        self.x = x[None] if x.ndim == 2 else x
        self.y = _f(spec.target)
        self.mask = _f(spec.dropout.mask) if spec.dropout else None

    def float_parameters(self) -> dict[str, np.ndarray]:
        return {name: _f(value) for name, value in self.spec.parameters.items()}

    # -- forward ---------------------------------------------------------------------------
    def _patches(self, x3: np.ndarray) -> np.ndarray:
        """(C, Ho, Wo, n, m): the input patch under the kernel at every output position."""
        spec = self.spec
        P, S = spec.padding, spec.stride
        padded = np.pad(x3, ((0, 0), (P, P), (P, P)))
        return sliding_window_view(padded, spec.kernel_size, axis=(1, 2))[:, ::S, ::S]

    def _kernel(self, params) -> np.ndarray:
        k = params[self.spec.names["k"]]
        return k.reshape((1, 1) + k.shape) if k.ndim == 2 else k

    def _windows(self, a: np.ndarray) -> np.ndarray:
        """(F, Hp, Wp, p·q): the pooling windows, each flattened row-major."""
        pool = self.spec.pooling
        win = sliding_window_view(a, pool.size, axis=(1, 2))[:, ::pool.stride, ::pool.stride]
        return win.reshape(win.shape[:3] + (-1,))

    def _first_max(self, windows: np.ndarray) -> np.ndarray:
        top = windows.max(axis=-1, keepdims=True)
        near = windows >= top - TIE_RTOL * np.maximum(1.0, np.abs(top))
        return np.argmax(near, axis=-1)

    def _tied(self, windows: np.ndarray) -> np.ndarray:
        top = windows.max(axis=-1, keepdims=True)
        near = windows >= top - TIE_RTOL * np.maximum(1.0, np.abs(top))
        return near.sum(axis=-1) > 1

    def forward(self, params: dict[str, np.ndarray], kinks: dict | None = None) -> dict:
        """Every forward quantity by step name; ``kinks`` holds decisions kept from the given parameters."""
        spec, out = self.spec, {}
        names = spec.names
        patches = self._patches(self.x)
        k4 = self._kernel(params)
        h = np.einsum("fcuv,cijuv->fij", k4, patches)
        size = np.einsum("fcuv,cijuv->fij", np.abs(k4), np.abs(patches))
        if "b_conv" in names:
            bias = params[names["b_conv"]].reshape(-1)[:, None, None]
            h, size = h + bias, size + np.abs(bias)
        h = np.where(np.abs(h) <= TIE_RTOL * size, 0.0, h)
        out["size(h)"] = np.array(h.shape[1:], dtype=float)
        out["h"] = h
        out["dead"] = h == 0
        a = ACT[spec.activation][0](h)
        if kinks is not None and spec.activation == "relu":
            a = np.where(kinks["dead"], 0.0, a)
        out["h'"] = a
        current = a
        if spec.pooling:
            windows = self._windows(a)
            if spec.pooling.mode == "max":
                choice = self._first_max(windows)
                out["tied"] = self._tied(windows)
                if kinks is not None:
                    choice = np.where(kinks["tied"], kinks["choice"], choice)
                out["choice"] = choice
                pooled = np.take_along_axis(windows, choice[..., None], axis=-1)[..., 0]
            else:
                pooled = windows.mean(axis=-1)
            out["size(h'')"] = np.array(pooled.shape[1:], dtype=float)
            out["h''"] = current = pooled
        if spec.dropout:
            current = current * self.mask / (1.0 - float(spec.dropout.p))
            out["h_drop"] = current
        flat = current.reshape(-1)
        out["h'''"] = flat
        z = params[names["W"]] @ flat + params[names["b"]]
        out["z"] = z
        if spec.output_activation == "softmax":
            e = np.exp(z - z.max())
            out["yhat"] = e / e.sum()
        elif spec.output_activation == "sigmoid":
            out["yhat"] = 1.0 / (1.0 + np.exp(-z))
        out["L"] = np.array(self._loss(out.get("yhat", z), self.y))
        return out

    def _loss(self, p, y) -> float:
        kind = self.spec.loss
        if kind == "mse":
            return float(np.mean((p - y) ** 2))
        if kind == "sse":
            return float(np.sum((p - y) ** 2))
        if kind == "cross_entropy":
            return float(-np.sum(y[y > 0] * np.log(p[y > 0])))
        terms = -(np.where(y > 0, y * np.log(p), 0.0) + np.where(y < 1, (1 - y) * np.log1p(-p), 0.0))
        return float(terms.sum() if kind == "bce" else terms.mean())

    def loss(self, params: dict[str, np.ndarray]) -> float:
        """The loss near the given parameters, along the branch the derivation takes at a kink."""
        if not hasattr(self, "_kinks"):
            base = self.forward(self.float_parameters())
            self._kinks = {key: base[key] for key in ("dead", "tied", "choice") if key in base}
        return float(self.forward(params, self._kinks)["L"])

    # -- backward --------------------------------------------------------------------------
    def _dloss_dz(self, fwd: dict, out: dict) -> np.ndarray:
        """∂L/∂z; also ∂L/∂ŷ and ∂ŷ/∂z where the derivation shows them."""
        spec = self.spec
        z, y = fwd["z"], self.y
        yhat = fwd.get("yhat", z)
        K = z.size
        key = (spec.output_activation, spec.loss)
        if key in (("softmax", "cross_entropy"), ("sigmoid", "bce")):
            return yhat - y
        if key == ("sigmoid", "bce_mean"):
            return (yhat - y) / K
        if spec.loss in ("mse", "sse"):
            g = 2 * (yhat - y) / (K if spec.loss == "mse" else 1)
        elif spec.loss == "cross_entropy":
            g = np.where(y > 0, -y / yhat, 0.0)
        else:
            g = (yhat - y) / (yhat * (1 - yhat)) / (K if spec.loss == "bce_mean" else 1)
        if spec.output_activation == "linear":
            return g
        out["dL/dyhat"] = g
        if spec.output_activation == "softmax":
            return yhat * (g - yhat @ g)
        out["dyhat/dz"] = np.exp(-z) / (1.0 + np.exp(-z)) ** 2
        return g * out["dyhat/dz"]

    def backward(self, params: dict[str, np.ndarray]) -> dict:
        """Forward quantities plus every gradient, by step name."""
        spec = self.spec
        names = spec.names
        fwd = self.forward(params)
        for key in ("dead", "tied", "choice"):
            fwd.pop(key, None)
        out = dict(fwd)
        W, b, k = names["W"], names["b"], names["k"]
        dz = self._dloss_dz(fwd, out)
        out["dL/dz"] = dz
        grads = {W: np.outer(dz, fwd["h'''"]), b: dz.copy()}
        out["dL/dh'''"] = params[W].T @ dz

        # flatten, dropout, pooling (the map that was flattened is the last of h', h'', h_drop)
        current = "h_drop" if spec.dropout else ("h''" if spec.pooling else "h'")
        g = out["dL/dh'''"].reshape(fwd[current].shape)
        out[f"dL/d{current}"] = g
        if spec.dropout:
            below = "h''" if spec.pooling else "h'"
            local = self.mask / (1.0 - float(spec.dropout.p))
            out[f"dh_drop/d{below}"] = local
            g = g * local
            out[f"dL/d{below}"] = g
        if spec.pooling:
            g = self._pool_backward(fwd["h'"], g)
            out["dL/dh'"] = g
        local = ACT[spec.activation][1](fwd["h"])
        out["dh'/dh"] = local
        dh = g * local
        out["dL/dh"] = dh

        # convolution
        patches = self._patches(self.x)
        k_shape = params[k].shape
        grads[k] = np.einsum("fij,cijuv->fcuv", dh, patches).reshape(k_shape)
        F, Ho, Wo = dh.shape
        if F * Ho * Wo <= 36:
            C, n, m = patches.shape[0], *spec.kernel_size
            parts = np.zeros((F, Ho, Wo, F, C, n, m))
            for f, i, j in np.ndindex(F, Ho, Wo):
                parts[f, i, j, f] = dh[f, i, j] * patches[:, i, j]
            out[f"dL/d{k}(h[i,j])" if F == 1 else f"dL/d{k}(h[f,i,j])"] = parts.reshape((F * Ho * Wo,) + k_shape)
        if "b_conv" in names:
            bc = names["b_conv"]
            grads[bc] = dh.sum(axis=(1, 2)).reshape(params[bc].shape)
        if spec.input_gradient:
            out["dL/dx"] = self._input_gradient(dh, self._kernel(params))

        for name, grad in grads.items():
            out[f"dL/d{name}"] = grad
            out[f"{name}'"] = params[name] - float(spec.learning_rate) * grad
        return out

    def _pool_backward(self, a: np.ndarray, g: np.ndarray) -> np.ndarray:
        pool = self.spec.pooling
        (p, q), s = pool.size, pool.stride
        F, Hp, Wp = g.shape
        out = np.zeros_like(a)
        if pool.mode == "max":
            choice = self._first_max(self._windows(a))
            f, i, j = np.indices((F, Hp, Wp))
            rows = i * s + choice // q
            cols = j * s + choice % q
            np.add.at(out, (f, rows, cols), g)
        else:
            for u in range(p):
                for v in range(q):
                    out[:, u:u + s * Hp:s, v:v + s * Wp:s] += g / (p * q)
        return out

    def _input_gradient(self, dh: np.ndarray, k4: np.ndarray) -> np.ndarray:
        spec = self.spec
        P, S = spec.padding, spec.stride
        C, R, Wd = self.x.shape
        _F, Ho, Wo = dh.shape
        padded = np.zeros((C, R + 2 * P, Wd + 2 * P))
        n, m = spec.kernel_size
        for u in range(n):
            for v in range(m):
                padded[:, u:u + S * Ho:S, v:v + S * Wo:S] += np.einsum("fij,fc->cij", dh, k4[:, :, u, v])
        return padded[:, P:P + R, P:P + Wd].reshape(self.x_shape)
