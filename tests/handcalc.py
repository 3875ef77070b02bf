"""The lecture's three worked examples computed by hand with mpmath, for the claims-checker tests.

Written from the equations with scalar loops, sharing nothing with symderiv but the quantity
names (``a_2``, ``dL/dW_xh(t=3)``), so the checker's verdicts can be judged against it.
Values are nested lists of mpf in the shape of the quantity (row-major, like ``derive --json``).
"""

from __future__ import annotations

from mpmath import mp, mpf

mp.dps = 50


def _tanh_prime(a):
    return 1 / mp.cosh(a) ** 2


def rnn_h1(xs, w_xh, w_hh, w_hz, y, lr, *, output: str, denorm=None, offset: int = 0) -> dict:
    """A one-unit Elman RNN (b_h = b_z = h_0 = 0) read at the last step: every quantity by name."""
    T, D, K = len(xs), len(xs[0]), len(w_hz)
    q = {}
    h = [mpf(0)]
    a = [None]
    for t in range(1, T + 1):
        at = sum(w_xh[d] * xs[t - 1][d] for d in range(D)) + w_hh * h[t - 1]
        a.append(at)
        h.append(mp.tanh(at))
        q[f"a_{t}"], q[f"h_{t}"] = [at], [h[t]]
    k = T + offset
    z = [w_hz[i] * h[T] for i in range(K)]
    q[f"z_{k}"] = z
    if output == "softmax":
        e = [mp.exp(v) for v in z]
        yhat = [v / sum(e) for v in e]
        q[f"yhat_{k}"] = yhat
        q["L"] = -sum(y[i] * mp.log(yhat[i]) for i in range(K) if y[i] != 0)
        dz = [yhat[i] - y[i] for i in range(K)]
    else:                                   # linear output, de-normalised, mean squared error
        lo, hi = denorm
        yhat = [lo + v * (hi - lo) for v in z]
        q[f"yhat_{k}"] = yhat
        q["L"] = sum((yhat[i] - y[i]) ** 2 for i in range(K)) / K
        dyhat = [2 * (yhat[i] - y[i]) / K for i in range(K)]
        q[f"dL/dyhat_{k}"] = dyhat
        dz = [g * (hi - lo) for g in dyhat]
    q[f"dL/dz_{k}"] = dz
    q["dL/dW_hz"] = [[dz[i] * h[T]] for i in range(K)]
    q["dL/db_z"] = dz
    dh = sum(w_hz[i] * dz[i] for i in range(K))
    totals = {"W_xh": [mpf(0)] * D, "W_hh": mpf(0), "b_h": mpf(0)}
    for t in range(T, 0, -1):
        q[f"dL/dh_{t}"] = [dh]
        local = _tanh_prime(a[t])
        q[f"dh_{t}/da_{t}"] = [local]
        da = dh * local
        q[f"dL/da_{t}"] = [da]
        q[f"dL/dW_xh(t={t})"] = [[da * xs[t - 1][d] for d in range(D)]]
        q[f"dL/dW_hh(t={t})"] = [[da * h[t - 1]]]
        q[f"dL/db_h(t={t})"] = [da]
        totals["W_xh"] = [totals["W_xh"][d] + da * xs[t - 1][d] for d in range(D)]
        totals["W_hh"] += da * h[t - 1]
        totals["b_h"] += da
        dh = w_hh * da
    q["dL/dW_xh"] = [totals["W_xh"]]
    q["dL/dW_hh"] = [[totals["W_hh"]]]
    q["dL/db_h"] = [totals["b_h"]]
    q["W_xh'"] = [[w_xh[d] - lr * totals["W_xh"][d] for d in range(D)]]
    q["W_hh'"] = [[w_hh - lr * totals["W_hh"]]]
    q["W_hz'"] = [[w_hz[i] - lr * q["dL/dW_hz"][i][0]] for i in range(K)]
    return q


def rnn_timeseries() -> dict:
    return rnn_h1([[mpf(15)], [mpf(16)], [mpf("15.5")]], [mpf("0.6")], mpf("0.4"), [mpf(1)], [mpf(15)],
                  mpf("0.1"), output="linear", denorm=(mpf(15), mpf(16)), offset=1)


def rnn_text() -> dict:
    eye = [[mpf(int(i == j)) for j in range(4)] for i in range(4)]
    return rnn_h1(eye[:3], [mpf("0.5"), mpf("-0.4"), mpf("0.3"), mpf("0.1")], mpf("0.2"),
                  [mpf("0.1"), mpf("0.2"), mpf("0.3"), mpf("0.4")], eye[3], mpf("0.1"), output="softmax")


def forecast() -> dict:
    """The lecturer-repo example: the time series with normalised inputs."""
    return rnn_h1([[mpf(0)], [mpf(1)], [mpf("0.5")]], [mpf("0.6")], mpf("0.4"), [mpf(1)], [mpf(15)],
                  mpf("0.1"), output="linear", denorm=(mpf(15), mpf(16)), offset=1)


TWO_UNITS_SPEC = """
[example]
name = "rnn-two-units"
kind = "rnn"
[network]
hidden_size = 2
output_activation = "linear"
loss = "mse"
[input]
sequence = [[1, 0], [0.5, -1], [0, 2]]
[target]
value = 0.5
[parameters]
W_xh = [[0.1, -0.2], [0.3, 0.4]]
W_hh = [[0.5, 0.0], [-0.1, 0.2]]
W_hz = [[1.0, -0.5]]
b_h = [0.1, 0]
b_z = [0.2]
[training]
learning_rate = 0.5
"""


def rnn_two_units() -> dict:
    """TWO_UNITS_SPEC by hand: a tanh RNN with two hidden units read at t = 3, linear output, squared error
    (one output, so the mean is the square): the forward pass and the gradient back to h_2."""
    xs = [[mpf(1), mpf(0)], [mpf("0.5"), mpf(-1)], [mpf(0), mpf(2)]]
    w_xh = [[mpf("0.1"), mpf("-0.2")], [mpf("0.3"), mpf("0.4")]]
    w_hh = [[mpf("0.5"), mpf(0)], [mpf("-0.1"), mpf("0.2")]]
    w_hz, b_h, b_z, y = [mpf(1), mpf("-0.5")], [mpf("0.1"), mpf(0)], mpf("0.2"), mpf("0.5")
    q, h, a = {}, [mpf(0), mpf(0)], []
    for t in range(1, 4):
        at = [sum(w_xh[i][d] * xs[t - 1][d] for d in range(2)) + sum(w_hh[i][j] * h[j] for j in range(2)) + b_h[i]
              for i in range(2)]
        a.append(at)
        h = [mp.tanh(v) for v in at]
        q[f"a_{t}"], q[f"h_{t}"] = at, h
    z = sum(w_hz[i] * h[i] for i in range(2)) + b_z
    q["z_3"], q["L"] = [z], (z - y) ** 2
    dz = 2 * (z - y)
    q["dL/dz_3"] = [dz]
    dh3 = [w_hz[i] * dz for i in range(2)]
    da3 = [dh3[i] * _tanh_prime(a[2][i]) for i in range(2)]
    q["dL/dh_3"], q["dL/da_3"] = dh3, da3
    q["dL/dh_2"] = [sum(w_hh[j][i] * da3[j] for j in range(2)) for i in range(2)]     # W_hhᵀ dL/da_3
    q["W_hh dL/da_3"] = [sum(w_hh[i][j] * da3[j] for j in range(2)) for i in range(2)]   # the slip: no transpose
    return q


IMAGE = [[1, 0, 2, 3, 0], [4, 6, 6, 8, 1], [3, 1, 1, 0, 2], [1, 2, 2, 4, 1], [2, 4, 0, 1, 3]]
KERNEL = [[1, 0, -1], [1, 0, -1], [1, 0, -1]]
DENSE_W = [["0.2", "0.4", "0.1", "-0.5"], ["-0.3", "0.6", "0.2", "0.1"]]
DENSE_B = ["0.1", "-0.2"]


def cnn_image(output: str = "softmax") -> dict:
    """Conv 3×3 (valid, stride 1), ReLU, max pool 2×2 stride 1 (first maximum wins a tie), dense,
    softmax + cross-entropy (or sigmoid + binary cross-entropy summed), target [0, 1]."""
    x = [[mpf(v) for v in row] for row in IMAGE]
    k = [[mpf(v) for v in row] for row in KERNEL]
    W = [[mpf(v) for v in row] for row in DENSE_W]
    b = [mpf(v) for v in DENSE_B]
    y = [mpf(0), mpf(1)]
    h = [[sum(x[i + r][j + c] * k[r][c] for r in range(3) for c in range(3)) for j in range(3)] for i in range(3)]
    relu = [[max(v, mpf(0)) for v in row] for row in h]
    pooled, argmax = [], []
    for i in range(2):
        row = []
        for j in range(2):
            cells = [(relu[i + r][j + c], (i + r, j + c)) for r in range(2) for c in range(2)]
            best = max(v for v, _ in cells)
            row.append(best)
            argmax.append(next(pos for v, pos in cells if v == best))
        pooled.append(row)
    flat = [pooled[0][0], pooled[0][1], pooled[1][0], pooled[1][1]]
    z = [sum(W[u][i] * flat[i] for i in range(4)) + b[u] for u in range(2)]
    if output == "softmax":
        e = [mp.exp(v) for v in z]
        yhat = [v / sum(e) for v in e]
        L = -sum(y[u] * mp.log(yhat[u]) for u in range(2))
    else:
        yhat = [1 / (1 + mp.exp(-v)) for v in z]
        L = -sum(y[u] * mp.log(yhat[u]) + (1 - y[u]) * mp.log(1 - yhat[u]) for u in range(2))
    dz = [yhat[u] - y[u] for u in range(2)]
    dW = [[dz[u] * flat[i] for i in range(4)] for u in range(2)]
    dflat = [sum(W[u][i] * dz[u] for u in range(2)) for i in range(4)]
    dpooled = [[dflat[0], dflat[1]], [dflat[2], dflat[3]]]
    drelu = [[mpf(0)] * 3 for _ in range(3)]
    for n, (r, c) in enumerate(argmax):
        drelu[r][c] += dflat[n]
    dh = [[drelu[i][j] if h[i][j] > 0 else mpf(0) for j in range(3)] for i in range(3)]
    dk = [[sum(dh[i][j] * x[i + r][j + c] for i in range(3) for j in range(3)) for c in range(3)] for r in range(3)]
    return {"h": [h], "h'": [relu], "h''": [pooled], "h'''": flat, "z": z, "yhat": yhat, "L": L, "dL/dz": dz,
            "dL/db": dz, "dL/dW": dW, "dL/dh'''": dflat, "dL/dh''": [dpooled], "dL/dh'": [drelu], "dL/dh": [dh],
            "dL/dk": dk}


def element(value, index):
    """An element of a nested list by a full index."""
    for i in index:
        value = value[i]
    return value


def flat(value) -> list:
    if isinstance(value, list):
        return [v for item in value for v in flat(item)]
    return [value]
