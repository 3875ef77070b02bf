"""An independent float64 convolutional network in NumPy: forward, backward and the loss of parameters.

Written from the equations with whole-array NumPy (sliding windows and einsum), not from the
derivation's steps or operation table, so it can catch their mistakes. It names its quantities as
the steps do (``h''``, ``dL/dh'``, ``dL/dk``), which is the only thing it shares with
:mod:`symderiv.models.cnn`.

Beside each value it carries its *magnitude*: the same computation done on absolute values
(Σ|x·k| + |b| for a convolution cell), which bounds float64's rounding error at about
n·1e-16 times it. Verification allows 1e-12 of it, so a value that is exactly 0 in the
derivation (ŷ − y with ŷ = y, Wᵀ(ŷ − y) with equal columns of W) but 1e-17 here is not a
false alarm, while a wrong value, off by more than a rounding error of its own terms, still is.

Max pooling takes the first maximum in row-major order. A tie that is exact in the derivation
can come out of float64 arithmetic as two values a rounding error apart (0.3 + 0.6 against 0.9),
so values within 1e-12 (relative) of the window's maximum count as tied here; otherwise the
float check would route a gradient to a different cell than exact arithmetic does. For the same
reason a convolution output within 1e-12 of its magnitude is taken as the exact 0 it is, so that
ReLU's derivative there is 0, as in the derivation, not a coin toss.

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
#: Kernel-gradient terms are named one by one up to this many output positions (as the derivation does).
MAX_LISTED_POSITIONS = 36


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


# name -> (f, f', bound on |f'|); every |f''| here is at most 1
ACT = {
    "tanh": (np.tanh, lambda a: 1.0 / np.cosh(a) ** 2, 1.0),
    "sigmoid": (_sigmoid, lambda a: np.exp(-a) / (1.0 + np.exp(-a)) ** 2, 0.25),
    "relu": (lambda a: np.where(a > 0, a, 0.0), lambda a: (a > 0).astype(float), 1.0),
    "identity": (lambda a: a, lambda a: np.ones_like(a), 1.0),
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
        self.magnitudes: dict[str, np.ndarray] = {}

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

    def _near_top(self, windows: np.ndarray) -> np.ndarray:
        top = windows.max(axis=-1, keepdims=True)
        return windows >= top - TIE_RTOL * np.maximum(1.0, np.abs(top))

    def forward(self, params: dict[str, np.ndarray], kinks: dict | None = None) -> dict:
        """Every forward quantity by step name; ``kinks`` holds decisions kept from the given parameters."""
        return self._forward(params, kinks)[0]

    def _forward(self, params, kinks=None) -> tuple[dict, dict]:
        spec, out, mag = self.spec, {}, {}
        names = spec.names
        patches = self._patches(self.x)
        k4 = self._kernel(params)
        h = np.einsum("fcuv,cijuv->fij", k4, patches)
        size = np.einsum("fcuv,cijuv->fij", np.abs(k4), np.abs(patches))
        if "b_conv" in names:
            bias = params[names["b_conv"]].reshape(-1)[:, None, None]
            h, size = h + bias, size + np.abs(bias)
        h = np.where(np.abs(h) <= TIE_RTOL * size, 0.0, h)
        out["size(h)"], mag["size(h)"] = np.array(h.shape[1:], dtype=float), 0.0
        out["h"], mag["h"] = h, size
        out["dead"] = h == 0
        f, _fp, lip = ACT[spec.activation]
        a = f(h)
        if kinks is not None and spec.activation == "relu":
            a = np.where(kinks["dead"], 0.0, a)
        out["h'"], mag["h'"] = a, np.abs(a) + lip * size
        current, current_mag = a, mag["h'"]
        if spec.pooling:
            windows, mags = self._windows(a), self._windows(mag["h'"])
            if spec.pooling.mode == "max":
                near = self._near_top(windows)
                choice = np.argmax(near, axis=-1)
                out["tied"] = near.sum(axis=-1) > 1
                if kinks is not None:
                    choice = np.where(kinks["tied"], kinks["choice"], choice)
                out["choice"] = choice
                pooled = np.take_along_axis(windows, choice[..., None], axis=-1)[..., 0]
                pooled_mag = np.take_along_axis(mags, choice[..., None], axis=-1)[..., 0]
            else:
                pooled, pooled_mag = windows.mean(axis=-1), mags.mean(axis=-1)
            out["size(h'')"], mag["size(h'')"] = np.array(pooled.shape[1:], dtype=float), 0.0
            out["h''"], mag["h''"] = current, current_mag = pooled, pooled_mag
        if spec.dropout:
            scale = 1.0 / (1.0 - float(spec.dropout.p))
            current, current_mag = current * self.mask * scale, current_mag * self.mask * scale
            out["h_drop"], mag["h_drop"] = current, current_mag
        out["h'''"], mag["h'''"] = flat, flat_mag = current.reshape(-1), current_mag.reshape(-1)
        W, b = params[names["W"]], params[names["b"]]
        z = W @ flat + b
        out["z"], mag["z"] = z, np.abs(W) @ flat_mag + np.abs(b)
        if spec.output_activation == "softmax":
            e = np.exp(z - z.max())
            yhat = e / e.sum()
            out["yhat"], mag["yhat"] = yhat, yhat + yhat * (mag["z"] + yhat @ mag["z"])
        elif spec.output_activation == "sigmoid":
            yhat = _sigmoid(z)
            out["yhat"], mag["yhat"] = yhat, yhat + 0.25 * mag["z"]
        p = out.get("yhat", z)
        p_mag = mag.get("yhat", mag["z"])
        out["L"], mag["L"] = np.array(self._loss(p, self.y, z)), self._loss_magnitude(p, p_mag)
        return out, mag

    def _loss(self, p, y, z) -> float:
        """The loss; log ŷ and log(1 − ŷ) are taken from z where ŷ = softmax(z) or σ(z), since for a
        saturated unit 1 − σ(z) has lost its digits (and finite differences of the loss with it)."""
        spec = self.spec
        kind = spec.loss
        if kind == "mse":
            return float(np.mean((p - y) ** 2))
        if kind == "sse":
            return float(np.sum((p - y) ** 2))
        if spec.output_activation == "softmax":
            log_p = z - z.max() - np.log(np.sum(np.exp(z - z.max())))
            log_q = np.log1p(-p)
        elif spec.output_activation == "sigmoid":
            log_p, log_q = -np.logaddexp(0.0, -z), -np.logaddexp(0.0, z)
        else:
            log_p, log_q = np.log(p), np.log1p(-p)
        if kind == "cross_entropy":
            return float(-np.sum(np.where(y > 0, y * log_p, 0.0)))
        terms = -(np.where(y > 0, y * log_p, 0.0) + np.where(y < 1, (1 - y) * log_q, 0.0))
        return float(terms.sum() if kind == "bce" else terms.mean())

    def _loss_magnitude(self, p, p_mag) -> float:
        y, kind = self.y, self.spec.loss
        if kind in ("mse", "sse"):
            return float(np.sum((np.abs(p) + p_mag + np.abs(y)) ** 2))
        terms = np.abs(np.log(p)) + p_mag / p
        if kind != "cross_entropy":
            terms = terms + np.abs(np.log1p(-p)) + p_mag / (1 - p)
        return float(np.sum(terms))

    def loss(self, params: dict[str, np.ndarray]) -> float:
        """The loss near the given parameters, along the branch the derivation takes at a kink."""
        if not hasattr(self, "_kinks"):
            base = self.forward(self.float_parameters())
            self._kinks = {key: base[key] for key in ("dead", "tied", "choice") if key in base}
        return float(self.forward(params, self._kinks)["L"])

    # -- backward --------------------------------------------------------------------------
    def _dloss_dz(self, fwd: dict, mag: dict, out: dict) -> tuple[np.ndarray, np.ndarray]:
        """∂L/∂z and its magnitude; also ∂L/∂ŷ and ∂ŷ/∂z where the derivation shows them."""
        spec = self.spec
        z, y = fwd["z"], self.y
        yhat = fwd.get("yhat", z)
        y_mag = mag.get("yhat", mag["z"]) + np.abs(y)        # of ŷ − y
        K = z.size
        key = (spec.output_activation, spec.loss)
        if key in (("softmax", "cross_entropy"), ("sigmoid", "bce"), ("sigmoid", "bce_mean")):
            n = K if spec.loss == "bce_mean" else 1
            return (yhat - y) / n, y_mag / n
        if spec.loss in ("mse", "sse"):
            n = K if spec.loss == "mse" else 1
            g, g_mag = 2 * (yhat - y) / n, 2 * y_mag / n
        elif spec.loss == "cross_entropy":
            g = np.where(y > 0, -y / yhat, 0.0)
            g_mag = np.abs(g) * (1 + mag["yhat"] / yhat)
        else:
            n = K if spec.loss == "bce_mean" else 1
            g = (yhat - y) / (yhat * (1 - yhat)) / n
            g_mag = (y_mag + np.abs(yhat - y)) / (yhat * (1 - yhat)) / n
        if spec.output_activation == "linear":
            return g, g_mag
        out["dL/dyhat"], mag["dL/dyhat"] = g, g_mag
        if spec.output_activation == "softmax":
            dz = yhat * (g - yhat @ g)
            return dz, yhat * (g_mag + yhat @ g_mag) + mag["yhat"] * (np.abs(g) + yhat @ np.abs(g))
        local = np.exp(-z) / (1.0 + np.exp(-z)) ** 2
        out["dyhat/dz"], mag["dyhat/dz"] = local, local + mag["z"]
        return g * local, g_mag * local + np.abs(g) * mag["z"]

    def backward(self, params: dict[str, np.ndarray]) -> dict:
        """Forward quantities plus every gradient, by step name; magnitudes in :attr:`magnitudes`."""
        spec = self.spec
        names = spec.names
        fwd, mag = self._forward(params)
        for key in ("dead", "tied", "choice"):
            fwd.pop(key, None)
        self.magnitudes = mag
        out = dict(fwd)
        W, b, k = names["W"], names["b"], names["k"]
        dz, dz_mag = self._dloss_dz(fwd, mag, out)
        out["dL/dz"], mag["dL/dz"] = dz, dz_mag
        grads = {W: np.outer(dz, fwd["h'''"]), b: dz.copy()}
        grad_mags = {W: np.outer(dz_mag, np.abs(fwd["h'''"])) + np.outer(np.abs(dz), mag["h'''"]), b: dz_mag}
        g, g_mag = params[W].T @ dz, np.abs(params[W]).T @ dz_mag
        out["dL/dh'''"], mag["dL/dh'''"] = g, g_mag

        # flatten, dropout, pooling (the map that was flattened is the last of h', h'', h_drop)
        current = "h_drop" if spec.dropout else ("h''" if spec.pooling else "h'")
        g, g_mag = g.reshape(fwd[current].shape), g_mag.reshape(fwd[current].shape)
        out[f"dL/d{current}"], mag[f"dL/d{current}"] = g, g_mag
        if spec.dropout:
            below = "h''" if spec.pooling else "h'"
            local = self.mask / (1.0 - float(spec.dropout.p))
            out[f"dh_drop/d{below}"], mag[f"dh_drop/d{below}"] = local, local
            g, g_mag = g * local, g_mag * local
            out[f"dL/d{below}"], mag[f"dL/d{below}"] = g, g_mag
        if spec.pooling:
            g, g_mag = self._pool_backward(fwd["h'"], g), self._pool_backward(fwd["h'"], g_mag)
            out["dL/dh'"], mag["dL/dh'"] = g, g_mag
        _f_, fprime, _lip = ACT[spec.activation]
        local = fprime(fwd["h"])
        local_mag = local if spec.activation == "relu" else np.abs(local) + mag["h"]
        out["dh'/dh"], mag["dh'/dh"] = local, local_mag
        dh, dh_mag = g * local, g_mag * np.abs(local) + np.abs(g) * local_mag
        out["dL/dh"], mag["dL/dh"] = dh, dh_mag

        # convolution
        patches = self._patches(self.x)
        k_shape = params[k].shape
        grads[k] = np.einsum("fij,cijuv->fcuv", dh, patches).reshape(k_shape)
        grad_mags[k] = np.einsum("fij,cijuv->fcuv", dh_mag, np.abs(patches)).reshape(k_shape)
        F, Ho, Wo = dh.shape
        if F * Ho * Wo <= MAX_LISTED_POSITIONS:
            name = f"dL/d{k}(h[i,j])" if F == 1 else f"dL/d{k}(h[f,i,j])"
            out[name], mag[name] = self._kernel_terms(dh, patches, k_shape), \
                self._kernel_terms(dh_mag, np.abs(patches), k_shape)
        if "b_conv" in names:
            bc = names["b_conv"]
            grads[bc] = dh.sum(axis=(1, 2)).reshape(params[bc].shape)
            grad_mags[bc] = dh_mag.sum(axis=(1, 2)).reshape(params[bc].shape)
        if spec.input_gradient:
            k4 = self._kernel(params)
            out["dL/dx"], mag["dL/dx"] = self._input_gradient(dh, k4), self._input_gradient(dh_mag, np.abs(k4))

        rate = float(spec.learning_rate)
        for name, grad in grads.items():
            out[f"dL/d{name}"], mag[f"dL/d{name}"] = grad, grad_mags[name]
            out[f"{name}'"], mag[f"{name}'"] = params[name] - rate * grad, np.abs(params[name]) + rate * grad_mags[name]
        return out

    def _kernel_terms(self, dh: np.ndarray, patches: np.ndarray, k_shape) -> np.ndarray:
        """One kernel-shaped term per output position (f, i, j), row-major: ∂L/∂h[f,i,j] times its patch."""
        F, Ho, Wo = dh.shape
        C, n, m = patches.shape[0], *self.spec.kernel_size
        terms = np.zeros((F, Ho, Wo, F, C, n, m))
        for f, i, j in np.ndindex(F, Ho, Wo):
            terms[f, i, j, f] = dh[f, i, j] * patches[:, i, j]
        return terms.reshape((F * Ho * Wo,) + k_shape)

    def _pool_backward(self, a: np.ndarray, g: np.ndarray) -> np.ndarray:
        pool = self.spec.pooling
        (p, q), s = pool.size, pool.stride
        F, Hp, Wp = g.shape
        out = np.zeros_like(a)
        if pool.mode == "max":
            choice = np.argmax(self._near_top(self._windows(a)), axis=-1)
            f, i, j = np.indices((F, Hp, Wp))
            np.add.at(out, (f, i * s + choice // q, j * s + choice % q), g)
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
