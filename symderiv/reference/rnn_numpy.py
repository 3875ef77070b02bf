"""An independent float64 Elman RNN in NumPy: forward, BPTT and the loss as a function of parameters.

Written from the equations, not from the derivation steps, so that it can catch the derivation's
mistakes. It names its quantities as the steps do (``a_2``, ``dL/dW_hh(t=3)``), which is the only
thing it shares with :mod:`symderiv.models.rnn`.
"""

from __future__ import annotations

import numpy as np

ACT = {
    "tanh": (np.tanh, lambda a: 1.0 / np.cosh(a) ** 2),
    "sigmoid": (lambda a: 1.0 / (1.0 + np.exp(-a)), lambda a: np.exp(-a) / (1.0 + np.exp(-a)) ** 2),
    "relu": (lambda a: np.maximum(a, 0.0), lambda a: (a > 0).astype(float)),
    "identity": (lambda a: a, lambda a: np.ones_like(a)),
}


def _f(nested) -> np.ndarray:
    return np.array([[float(v) for v in row] for row in nested]) if isinstance(nested[0], list) \
        else np.array([float(v) for v in nested])


def float_parameters(spec) -> dict[str, np.ndarray]:
    return {name: _f(value) for name, value in spec.parameters.items()}


class RNNReference:
    """Float64 forward and backward of the RNN a spec describes."""

    def __init__(self, spec):
        self.spec = spec
        self.xs = [_f(x) for x in spec.inputs]
        self.ys = [_f(y) for y in spec.targets]
        self._kinks = None
        if spec.activation == "relu":
            # ReLU'(0) is taken as 0: a unit sitting exactly at its kink counts as inactive, and the
            # finite differences must stay on that branch (a two-sided difference there sees half a slope).
            base = self.forward(float_parameters(spec))
            self._kinks = {key: value == 0 for key, value in base.items() if key.startswith("a_")}

    def _sfx(self, layer: int) -> str:
        return "" if self.spec.layers == 1 else f"^({layer})"

    def _name(self, role: str, layer: int = 1) -> str:
        return self.spec.names[(role, layer)]

    def forward(self, params: dict[str, np.ndarray], hold_kinks: bool = False):
        """All forward quantities (by step name) and the loss; ``hold_kinks`` keeps kinked ReLUs off."""
        spec, out = self.spec, {}
        f = ACT[spec.activation][0]
        T = len(self.xs)
        times = list(range(1, T + 1)) if spec.output == "every" else [T]
        off = spec.notation.output_offset
        layers = range(1, spec.layers + 1)
        h = {l: params[self._name("h0", l)] for l in layers}
        # parameters looked up once, not at every time step (finite differences run this many times)
        weights = {l: (params[self._name("W_xh", l)], params[self._name("W_hh", l)], params[self._name("b_h", l)])
                   for l in layers}
        W_hz, b_z = params[self._name("W_hz")], params[self._name("b_z")]
        output_steps = set(times)
        total = 0.0
        for t in range(1, T + 1):
            below = self.xs[t - 1]
            for l in layers:
                W_xh, W_hh, b_h = weights[l]
                a = W_xh @ below + W_hh @ h[l] + b_h
                h[l] = f(a)
                if hold_kinks and self._kinks is not None:
                    h[l] = np.where(self._kinks[f"a_{t}{self._sfx(l)}"], 0.0, h[l])
                out[f"a_{t}{self._sfx(l)}"], out[f"h_{t}{self._sfx(l)}"] = a, h[l]
                below = h[l]
            if t in output_steps:
                z = W_hz @ below + b_z
                k = t + off
                out[f"z_{k}"] = z
                yhat = self._prediction(z)
                if yhat is not z:
                    out[f"yhat_{k}"] = yhat
                loss = self._loss(yhat, self.ys[times.index(t)])
                out["L" if spec.output == "last" else f"L_{k}"] = np.array(loss)
                total += loss
        out["L"] = np.array(total)
        return out

    def _prediction(self, z):
        spec = self.spec
        if spec.output_activation == "softmax":
            e = np.exp(z - z.max())
            return e / e.sum()
        if spec.output_activation == "sigmoid":
            return 1.0 / (1.0 + np.exp(-z))
        if spec.denormalise:
            lo, hi = (float(v) for v in spec.denormalise)
            return lo + z * (hi - lo)
        return z

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

    def _dloss_dz(self, z, yhat, y, k, out):
        """∂L/∂z; also records ∂L/∂ŷ (and ∂ŷ/∂z) where the derivation shows them as steps."""
        spec = self.spec
        K = z.size
        fused = (spec.output_activation, spec.loss) in (("softmax", "cross_entropy"), ("sigmoid", "bce"),
                                                        ("sigmoid", "bce_mean"))
        if spec.loss in ("mse", "sse"):
            g = 2 * (yhat - y) / (K if spec.loss == "mse" else 1)
        elif spec.loss == "cross_entropy":
            g = np.where(y > 0, -y / yhat, 0.0)
        else:
            g = (yhat - y) / (yhat * (1 - yhat)) / (K if spec.loss == "bce_mean" else 1)
        if fused:
            return (yhat - y) / (K if spec.loss == "bce_mean" else 1)
        has_yhat = spec.output_activation != "linear" or spec.denormalise
        out[f"dL/dyhat_{k}" if has_yhat else f"dL/dz_{k}"] = g
        if spec.output_activation == "softmax":
            return yhat * (g - yhat @ g)
        if spec.output_activation == "sigmoid":
            out[f"dyhat_{k}/dz_{k}"] = np.exp(-z) / (1.0 + np.exp(-z)) ** 2
            return g * out[f"dyhat_{k}/dz_{k}"]
        if spec.denormalise:
            lo, hi = (float(v) for v in spec.denormalise)
            return g * (hi - lo)
        return g

    def backward(self, params: dict[str, np.ndarray]):
        """Forward quantities plus every gradient and per-time contribution, by step name."""
        spec = self.spec
        fwd = self.forward(params)
        out = dict(fwd)
        dact = ACT[spec.activation][1]
        T, top = len(self.xs), spec.layers
        times = list(range(1, T + 1)) if spec.output == "every" else [T]
        off = spec.notation.output_offset
        W_hz = params[self._name("W_hz")]
        grads = {name: np.zeros_like(value) for name, value in params.items()}
        dz = {}
        for t in times:
            k = t + off
            z = fwd[f"z_{k}"]
            yhat = fwd.get(f"yhat_{k}", z)
            dz[t] = self._dloss_dz(z, yhat, self.ys[times.index(t)], k, out)
            out[f"dL/dz_{k}"] = dz[t]
            h_top = fwd[f"h_{t}{self._sfx(top)}"]
            grads[self._name("W_hz")] += np.outer(dz[t], h_top)
            grads[self._name("b_z")] += dz[t]
            if len(times) > 1:
                out[f"dL/d{self._name('W_hz')}(t={t})"] = np.outer(dz[t], h_top)
                out[f"dL/d{self._name('b_z')}(t={t})"] = dz[t]
        da_next = {}
        for t in range(T, 0, -1):
            da_up = None
            for l in range(top, 0, -1):
                sfx = self._sfx(l)
                dh = np.zeros(spec.hidden_size)
                if l == top and t in dz:
                    dh = dh + W_hz.T @ dz[t]
                if t < T:
                    dh = dh + params[self._name("W_hh", l)].T @ da_next[l]
                if l < top:
                    dh = dh + params[self._name("W_xh", l + 1)].T @ da_up
                out[f"dL/dh_{t}{sfx}"] = dh
                local = dact(fwd[f"a_{t}{sfx}"])
                out[f"dh_{t}{sfx}/da_{t}{sfx}"] = local
                da = dh * local
                out[f"dL/da_{t}{sfx}"] = da
                below = self.xs[t - 1] if l == 1 else fwd[f"h_{t}{self._sfx(l - 1)}"]
                prev = fwd[f"h_{t - 1}{sfx}"] if t > 1 else params[self._name("h0", l)]
                for role, v in (("W_xh", np.outer(da, below)), ("W_hh", np.outer(da, prev)), ("b_h", da)):
                    out[f"dL/d{self._name(role, l)}(t={t})"] = v
                    grads[self._name(role, l)] += v
                da_next[l] = da
                da_up = da
        for name, g in grads.items():
            if self.spec.roles[name][0] != "h0":
                out[f"dL/d{name}"] = g
                out[f"{name}'"] = params[name] - float(spec.learning_rate) * g
        return out

    def float_parameters(self) -> dict[str, np.ndarray]:
        return float_parameters(self.spec)

    def loss(self, params: dict[str, np.ndarray]) -> float:
        return float(self.forward(params, hold_kinks=True)["L"])

    def trainable(self) -> list[str]:
        return [n for n, (role, _) in self.spec.roles.items() if role != "h0"]
