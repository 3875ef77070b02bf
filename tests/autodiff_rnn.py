"""An independent RNN for the tests, differentiated by HIPS autograd (not by symderiv, not by hand).

It reads the *TOML data* of a spec directly, so it shares neither the spec parser nor the
derivation with the code under test. The loss takes its array namespace (``xp``): autograd's NumPy for
float64 gradients, :mod:`mpnp` for the same model at 50 digits.
"""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np
from autograd import grad

ACT = {
    "tanh": lambda a, xp: xp.tanh(a),
    "sigmoid": lambda a, xp: 1 / (1 + xp.exp(-a)),
    "relu": lambda a, xp: xp.where(a > 0, a, 0.0),   # gradient 0 at 0, as frameworks take it
    "identity": lambda a, xp: a,
}


def activation(spec) -> tuple[str, object, object]:
    """(name, f(a, xp), the branch below its kink at 0 or None) of a spec's activation field: a name, or a
    table with the name and its alpha. At the kink the branch below is taken (ReLU'(0) = 0)."""
    name = spec if isinstance(spec, str) else spec["name"]
    if name == "leaky_relu":
        alpha = float(eval_number(spec.get("alpha", "1/100") if isinstance(spec, dict) else "1/100"))
        return name, lambda a, xp: xp.where(a > 0, a, alpha * a), lambda a: alpha * a
    return name, ACT[name], (lambda a: 0.0 * a) if name == "relu" else None


def eval_number(value) -> float:
    from fractions import Fraction
    return float(Fraction(str(value)))


def _matrix(value, rows, cols):
    arr = np.array(value, dtype=float)
    return arr.reshape(rows, cols)


def setup(data: dict):
    """(params, loss_fn) from a spec's TOML data: single-layer or stacked Elman RNN."""
    net, inp, tgt, par = data["network"], data["input"], data["target"], data["parameters"]
    H, layers = net["hidden_size"], net.get("layers", 1)
    if "tokens" in inp:
        vocab = inp["vocabulary"]
        xs = [np.eye(len(vocab))[vocab.index(t)] for t in inp["tokens"]]
    else:
        xs = [np.atleast_1d(np.array(v, dtype=float)) for v in inp["sequence"]]
    D = xs[0].size
    every = net.get("output", "last") == "every"
    if "token" in tgt or "tokens" in tgt:
        vocab = inp["vocabulary"]
        toks = tgt["tokens"] if every else [tgt["token"]]
        ys = [np.eye(len(vocab))[vocab.index(t)] for t in toks]
    else:
        raw = tgt["values"] if every else [tgt["value"]]
        ys = [np.atleast_1d(np.array(v, dtype=float)) for v in raw]
    K = ys[0].size
    params = {}
    cell = net.get("cell", "elman")
    gates = {"elman": "", "lstm": "figo", "gru": "urn"}[cell]
    reset_after = net.get("gru_reset", "before") == "after"
    for l in range(1, layers + 1):
        sfx = "" if l == 1 else f"_{l}"
        if cell == "elman":
            params["W_xh" + sfx] = _matrix(par["W_xh" + sfx], H, D if l == 1 else H)
            params["W_hh" + sfx] = _matrix(par["W_hh" + sfx], H, H)
            params["b_h" + sfx] = np.array(par.get("b_h" + sfx, [0] * H), dtype=float)
        for g in gates:
            params[f"W_{g}{sfx}"] = _matrix(par[f"W_{g}{sfx}"], H, D if l == 1 else H)
            params[f"U_{g}{sfx}"] = _matrix(par[f"U_{g}{sfx}"], H, H)
            params[f"b_{g}{sfx}"] = np.array(par.get(f"b_{g}{sfx}", [0] * H), dtype=float)
        if reset_after:
            params[f"b_hn{sfx}"] = np.array(par.get(f"b_hn{sfx}", [0] * H), dtype=float)
    c0 = {l: np.array(par.get("c0" if l == 1 else f"c0_{l}", [0] * H), dtype=float) for l in range(1, layers + 1)}
    swapped = net.get("gru_form", "interpolate") == "swapped"
    params["W_hz"] = _matrix(par["W_hz"], K, H)
    params["b_z"] = np.array(par.get("b_z", [0] * K), dtype=float)
    h0 = {l: np.array(par.get("h0" if l == 1 else f"h0_{l}", [0] * H), dtype=float) for l in range(1, layers + 1)}
    _name, f, _below = activation(net.get("activation", "tanh"))
    out_act = net.get("output_activation", "linear")
    loss_kind = net.get("loss", {"softmax": "cross_entropy", "sigmoid": "bce"}.get(out_act, "mse"))
    denorm = net.get("denormalise")

    def sig(a, xp):
        return 1 / (1 + xp.exp(-a))

    def step(p, sfx, below, h, c, xp):
        """One cell, from the textbook equations: (h_t, c_t)."""
        if cell == "elman":
            return f(xp.dot(p["W_xh" + sfx], below) + xp.dot(p["W_hh" + sfx], h) + p["b_h" + sfx], xp), c
        pre = {g: xp.dot(p[f"W_{g}{sfx}"], below) + p[f"b_{g}{sfx}"] for g in gates}
        if cell == "lstm":
            fg, ig, og = (sig(pre[g] + xp.dot(p[f"U_{g}{sfx}"], h), xp) for g in "fio")
            gg = xp.tanh(pre["g"] + xp.dot(p[f"U_g{sfx}"], h))
            c = fg * c + ig * gg
            return og * xp.tanh(c), c
        u = sig(pre["u"] + xp.dot(p[f"U_u{sfx}"], h), xp)
        r = sig(pre["r"] + xp.dot(p[f"U_r{sfx}"], h), xp)
        if reset_after:
            n = xp.tanh(pre["n"] + r * (xp.dot(p[f"U_n{sfx}"], h) + p[f"b_hn{sfx}"]))
        else:
            n = xp.tanh(pre["n"] + xp.dot(p[f"U_n{sfx}"], r * h))
        return ((1 - u) * h + u * n if swapped else u * h + (1 - u) * n), c

    def loss_fn(p, xp=anp):
        h = dict(h0)
        c = dict(c0)
        total = 0.0
        T = len(xs)
        for t in range(T):
            below = xs[t]
            for l in range(1, layers + 1):
                sfx = "" if l == 1 else f"_{l}"
                h[l], c[l] = step(p, sfx, below, h[l], c[l], xp)
                below = h[l]
            if every or t == T - 1:
                y = ys[t if every else 0]
                z = xp.dot(p["W_hz"], below) + p["b_z"]
                if out_act == "softmax":
                    e = xp.exp(z - xp.max(z))
                    yhat = e / xp.sum(e)
                elif out_act == "sigmoid":
                    yhat = 1 / (1 + xp.exp(-z))
                elif denorm:
                    yhat = denorm["y_min"] + z * (denorm["y_max"] - denorm["y_min"])
                else:
                    yhat = z
                if loss_kind == "mse":
                    total = total + xp.mean((yhat - y) ** 2)
                elif loss_kind == "sse":
                    total = total + xp.sum((yhat - y) ** 2)
                elif loss_kind == "cross_entropy":
                    total = total - xp.sum(y * xp.log(yhat))
                else:
                    terms = -(y * xp.log(yhat) + (1 - y) * xp.log(1 - yhat))
                    total = total + (xp.sum(terms) if loss_kind == "bce" else xp.mean(terms))
        return total

    return params, loss_fn


def gradients(data: dict) -> tuple[float, dict]:
    params, loss_fn = setup(data)
    g = grad(loss_fn)(params)
    return float(loss_fn(params)), {k: np.asarray(v) for k, v in g.items()}
