"""An independent layer stack for the tests, differentiated by HIPS autograd (not by symderiv, not by hand).

It reads the *TOML data* of a stack spec directly (sharing neither the spec parser nor the derivation
with the code under test) and runs it as written: dense, activation, conv, pool, dropout, flatten, the
head, a batch (mean or sum of the examples' losses) and several gradient-descent steps. A user's formula
is turned into a function of ``autograd.numpy`` through SymPy's ``lambdify`` (the only shared piece: the
safe parser that reads it), so autograd, not SymPy, differentiates it.
"""

from __future__ import annotations

from fractions import Fraction

import autograd.numpy as anp
import numpy as np
from autograd import grad

def _above(a, at=0.0):
    """a > at, where float noise of an exact tie (1e-12) counts as the tie: the branch below is taken there,
    as the convention at a kink says (a sum that is exactly 0 comes out as 1e-16 in float64)."""
    return _value(a) - at > 1e-12


ACT = {
    "tanh": lambda a, p: anp.tanh(a),
    "sigmoid": lambda a, p: 1 / (1 + anp.exp(-a)),
    "relu": lambda a, p: anp.where(_above(a), a, 0.0),
    "identity": lambda a, p: a,
    "leaky_relu": lambda a, p: anp.where(_above(a), a, p.get("alpha", 0.01) * a),
    # exp of where(·) not of minimum(a, 0): autograd splits a tie of minimum's arguments, which would halve
    # the derivative of the branch below at 0 (α/2 instead of α)
    "elu": lambda a, p: anp.where(_above(a), a, p.get("alpha", 1.0) * (anp.exp(anp.where(_above(a), 0.0, a)) - 1)),
    "softplus": lambda a, p: anp.log(1 + anp.exp(a)),
    "gelu": lambda a, p: 0.5 * a * (1 + _erf(a / anp.sqrt(2.0))),
    "swish": lambda a, p: a / (1 + anp.exp(-a)),
    "softsign": lambda a, p: a / (1 + anp.abs(a)),
}


def _erf(x):
    from autograd.scipy.special import erf
    return erf(x)


def _num(v) -> float:
    return float(Fraction(str(v)))


def _arr(v) -> np.ndarray:
    return np.vectorize(_num, otypes=[float])(np.array(v, dtype=object))


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _activation(spec):
    if isinstance(spec, str):
        return lambda a: ACT[spec](a, {})
    if "formula" in spec:
        import sympy

        from symderiv.ops.formula import parse
        constants = {k: v for k, v in spec.items() if k not in ("formula", "name")}
        expr = parse(spec["formula"], "formula", constants)
        names = {"select": _select, "greater": lambda u, v: _above(u - v), "less": lambda u, v: _above(v - u),
                 "exp": anp.exp, "log": anp.log,
                 "tanh": anp.tanh, "sqrt": anp.sqrt, "erf": _erf, "nan": np.nan}
        return sympy.lambdify(sympy.Symbol("a", real=True), expr, modules=[names, "numpy"])
    params = {k: _num(v) for k, v in spec.items() if k != "name"}
    return lambda a: ACT[spec["name"]](a, params)


def _select(conditions, values, default=None):
    """numpy.select for autograd: the first condition that holds picks its value."""
    out = values[-1] if conditions[-1] is True else anp.where(conditions[-1], values[-1], np.nan)
    for cond, value in zip(reversed(conditions[:-1]), reversed(values[:-1])):
        out = anp.where(cond, value, out)
    return out


def _pads(raw, size, kernel, stride):
    if raw == "same":
        pads = []
        for x, k in zip(size, kernel):
            total = max((-(-x // stride) - 1) * stride + k - x, 0)
            pads += [total // 2, total - total // 2]
        return pads
    return [raw] * 4 if isinstance(raw, int) else list(raw)


def setup(data: dict):
    """(params {name: array}, loss(params) of one descent step, run(params) -> per-step gradients)."""
    layers, par = data["layer"], data["parameters"]
    inp = data["input"]
    xs = [_arr(x) for x in (inp["batch"] if "batch" in inp else [inp["x"]])]
    out = data.get("output", {})
    given_grad = "gradient" in out or "gradients" in out
    if given_grad:
        gs = [_arr(g) for g in (out["gradients"] if "gradients" in out else [out["gradient"]])]
    else:
        tgt = data["target"]
        ys = [_arr(y) for y in (tgt["values"] if "values" in tgt else [tgt["value"]])]
    training = data["training"]
    reduction = training.get("reduction", "mean")
    out_act = out.get("activation", "linear")
    loss_kind = out.get("loss", {"softmax": "cross_entropy", "sigmoid": "bce"}.get(out_act, "mse"))
    stage, plan, params = 0, [], {}
    shape = xs[0].shape
    for layer in layers:
        kind = layer["type"]
        names = layer.get("names", {})
        if kind == "dense":
            stage += 1
            w, b = names.get("weight", f"W{stage}"), names.get("bias", f"b{stage}")
            params[w] = _arr(par[w])
            if layer.get("bias", True):
                params[b] = _arr(par[b]) if b in par else np.zeros(layer["units"])
            plan.append(("dense", w, b if layer.get("bias", True) else None))
            shape = (layer["units"],)
        elif kind == "conv":
            stage += 1
            k, b = names.get("kernel", f"k{stage}"), names.get("bias", f"b{stage}")
            C, R, W = (1,) + shape if len(shape) == 2 else shape
            F = layer.get("filters", 1)
            n, m = _pair(layer["kernel_size"])
            S = layer.get("stride", 1)
            pads = _pads(layer.get("padding", 0), (R, W), (n, m), S)
            params[k] = _arr(par[k])
            if layer.get("bias", True):
                params[b] = _arr(par[b]) if b in par else np.zeros(F)
            plan.append(("conv", k, b if layer.get("bias", True) else None, (F, C, n, m), S, pads, (C, R, W)))
            Ho = (R + pads[0] + pads[1] - n) // S + 1
            Wo = (W + pads[2] + pads[3] - m) // S + 1
            shape = (F, Ho, Wo)
        elif kind == "activation":
            plan.append(("act", _activation(layer["function"])))
        elif kind == "pool":
            p, q = _pair(layer["size"])
            s = layer.get("stride", p)
            plan.append(("pool", layer.get("mode", "max"), (p, q), s))
            C, R, W = (1,) + shape if len(shape) == 2 else shape
            shape = (C, (R - p) // s + 1, (W - q) // s + 1)
        elif kind == "dropout":
            plan.append(("dropout", _arr(layer["mask"]), _num(layer["p"])))
        else:
            plan.append(("flatten",))
            shape = (int(np.prod(shape)),)

    def forward(p, x):
        a = x
        for item in plan:
            if item[0] == "dense":
                a = anp.dot(p[item[1]], a) + (p[item[2]] if item[2] else 0.0)
            elif item[0] == "conv":
                a = _conv(a, p[item[1]], p[item[2]] if item[2] else None, *item[3:])
            elif item[0] == "act":
                a = item[1](a)
            elif item[0] == "pool":
                a = _pool(a, *item[1:])
            elif item[0] == "dropout":
                a = a * item[1].reshape(_value(a).shape) / (1 - item[2])
            else:
                a = anp.reshape(a, (-1,))
        return a

    def loss_of(p):
        total = 0.0
        for n, x in enumerate(xs):
            z = forward(p, x)
            if given_grad:
                total = total + anp.sum(z * gs[n])
                continue
            total = total + _loss(z, ys[n], out_act, loss_kind)
        return total / len(xs) if (reduction == "mean" and len(xs) > 1) else total

    def run(p0, steps=None):
        """The gradients of every descent step (a list of dicts), the parameters after each step."""
        rate = _num(training["learning_rate"])
        p, grads, params_after = dict(p0), [], []
        for _ in range(steps or training.get("steps", 1)):
            g = grad(loss_of)(p)
            grads.append({k: np.asarray(v) for k, v in g.items()})
            p = {k: p[k] - rate * np.asarray(g[k]) for k in p}
            params_after.append(p)
        return grads, params_after

    return params, loss_of, run


def _loss(z, y, out_act, loss_kind):
    if out_act == "softmax":
        log_p = z - anp.max(z) - anp.log(anp.sum(anp.exp(z - anp.max(z))))
        yhat = anp.exp(log_p)
    elif out_act == "sigmoid":
        yhat = 1 / (1 + anp.exp(-z))
    else:
        yhat = z
    if loss_kind == "mse":
        return anp.mean((yhat - y) ** 2)
    if loss_kind == "sse":
        return anp.sum((yhat - y) ** 2)
    if loss_kind == "half_sse":
        return 0.5 * anp.sum((yhat - y) ** 2)
    if out_act == "sigmoid":
        log_p, log_q = -anp.logaddexp(0.0, -z), -anp.logaddexp(0.0, z)
    elif out_act == "softmax":
        log_q = anp.log(1 - yhat)
    else:
        log_p, log_q = anp.log(yhat), anp.log(1 - yhat)
    if loss_kind == "cross_entropy":
        return -anp.sum(y * log_p)
    terms = -(y * log_p + (1 - y) * log_q)
    return anp.sum(terms) if loss_kind == "bce" else anp.mean(terms)


def _value(a):
    while hasattr(a, "_value"):
        a = a._value
    return np.asarray(a)


def _conv(x, k, b, k4, S, pads, shape3):
    F, C, n, m = k4
    x3 = anp.reshape(x, shape3)
    _, R, W = shape3
    top, bottom, left, right = pads
    if any(pads):
        x3 = anp.concatenate([anp.zeros((C, top, W)), x3, anp.zeros((C, bottom, W))], axis=1)
        x3 = anp.concatenate([anp.zeros((C, R + top + bottom, left)), x3, anp.zeros((C, R + top + bottom, right))],
                             axis=2)
    kk = anp.reshape(k, k4)
    Ho, Wo = (R + top + bottom - n) // S + 1, (W + left + right - m) // S + 1
    cells = []
    for f in range(F):
        for i in range(Ho):
            for j in range(Wo):
                cell = anp.sum(x3[:, i * S:i * S + n, j * S:j * S + m] * kk[f])
                cells.append(cell + (anp.reshape(b, (F,))[f] if b is not None else 0.0))
    return anp.reshape(anp.array(cells), (F, Ho, Wo))


def _pool(a, mode, size, s):
    p, q = size
    values = _value(a)
    a3 = a if values.ndim == 3 else anp.reshape(a, (1,) + values.shape)
    values = _value(a3)
    C, R, W = values.shape
    Hp, Wp = (R - p) // s + 1, (W - q) // s + 1
    cells = []
    for c in range(C):
        for i in range(Hp):
            for j in range(Wp):
                window = a3[c, i * s:i * s + p, j * s:j * s + q]
                if mode == "max":
                    flat = values[c, i * s:i * s + p, j * s:j * s + q].reshape(-1)
                    near = flat >= flat.max() - 1e-12 * max(1.0, abs(flat.max()))
                    u, v = divmod(int(np.argmax(near)), q)
                    cells.append(a3[c, i * s + u, j * s + v])
                else:
                    cells.append(anp.mean(window))
    return anp.reshape(anp.array(cells), (C, Hp, Wp))
