"""What a user would write in plain NumPy float64: forward, BPTT / convolution backward, gradients only.

Written for the benchmark from the equations (not from symderiv's steps or its verification
reference), so that the symderiv/NumPy ratio compares against the cheapest honest alternative.
"""

from __future__ import annotations

import tomllib

import numpy as np


def rnn_arrays(toml_text: str) -> dict:
    """Parameters and one-hot data of a bench RNN spec (see ``specs.rnn_bench_toml``) as float64 arrays."""
    doc = tomllib.loads(toml_text)
    vocab = doc["input"]["vocabulary"]
    eye = np.eye(len(vocab))
    p = {k: np.array(v, dtype=float) for k, v in doc["parameters"].items()}
    p.setdefault("h0", np.zeros(p["W_hh"].shape[0]))
    return {"params": p, "xs": [eye[vocab.index(t)] for t in doc["input"]["tokens"]],
            "y": eye[vocab.index(doc["target"]["token"])]}


def rnn_gradients(data: dict) -> tuple[float, dict]:
    """Loss and gradients of a tanh RNN with a softmax + cross-entropy output after the last step."""
    p, xs, y = data["params"], data["xs"], data["y"]
    W_xh, W_hh, W_hz, b_h, b_z = p["W_xh"], p["W_hh"], p["W_hz"], p["b_h"], p["b_z"]
    hs = [p["h0"]]
    for x in xs:
        hs.append(np.tanh(W_xh @ x + W_hh @ hs[-1] + b_h))
    z = W_hz @ hs[-1] + b_z
    e = np.exp(z - z.max())
    yhat = e / e.sum()
    loss = float(-np.log(yhat[y > 0]) @ y[y > 0])
    dz = yhat - y
    g = {"W_hz": np.outer(dz, hs[-1]), "b_z": dz, "W_xh": np.zeros_like(W_xh), "W_hh": np.zeros_like(W_hh),
         "b_h": np.zeros_like(b_h)}
    dh = W_hz.T @ dz
    for t in range(len(xs), 0, -1):
        da = dh * (1.0 - hs[t] ** 2)
        g["W_xh"] += np.outer(da, xs[t - 1])
        g["W_hh"] += np.outer(da, hs[t - 1])
        g["b_h"] += da
        dh = W_hh.T @ da
    return loss, g


def cnn_arrays(toml_text: str) -> dict:
    """Image, kernels (filters × 3 × 3), dense layer and one-hot target of a bench CNN spec as float64."""
    doc = tomllib.loads(toml_text)
    p = doc["parameters"]
    k = np.array(p["k"], dtype=float)
    return {"x": np.array(doc["input"]["image"], dtype=float), "k": k.reshape((-1,) + k.shape[-2:]),
            "W": np.array(p["W"], dtype=float), "b": np.array(p["b"], dtype=float),
            "y": np.array(doc["target"]["value"], dtype=float)}


def cnn_gradients(data: dict) -> tuple[float, dict]:
    """Loss and gradients of conv 3 × 3 (no bias) → ReLU → 2 × 2 max pool (stride 2) → dense → softmax + CE."""
    x, k, W, b, y = data["x"], data["k"], data["W"], data["b"], data["y"]
    F, n, m = k.shape
    patches = np.lib.stride_tricks.sliding_window_view(x, (n, m))           # rows × cols × n × m
    # The bench specs give pixels in tenths and kernels in hundredths, so every exact value is a multiple
    # of 1/1000: rounding keeps exact ties tied (max pooling picks the first maximum, as symderiv does).
    a = np.round(np.einsum("ijuv,fuv->fij", patches, k), 9)
    h = np.maximum(a, 0.0)
    q = h.shape[1] // 2
    windows = h[:, :2 * q, :2 * q].reshape(F, q, 2, q, 2).transpose(0, 1, 3, 2, 4).reshape(F, q, q, 4)
    winner = windows.argmax(axis=-1)                                        # first maximum, row-major
    pooled = np.take_along_axis(windows, winner[..., None], axis=-1)[..., 0]
    z = W @ pooled.reshape(-1) + b
    e = np.exp(z - z.max())
    yhat = e / e.sum()
    loss = float(-np.log(yhat[y > 0]) @ y[y > 0])
    dz = yhat - y
    dpooled = (W.T @ dz).reshape(F, q, q)
    dwindows = np.zeros_like(windows)
    np.put_along_axis(dwindows, winner[..., None], dpooled[..., None], axis=-1)
    dh = np.zeros_like(h)
    dh[:, :2 * q, :2 * q] = dwindows.reshape(F, q, q, 2, 2).transpose(0, 1, 3, 2, 4).reshape(F, 2 * q, 2 * q)
    da = dh * (a > 0)
    return loss, {"k": np.einsum("fij,ijuv->fuv", da, patches), "W": np.outer(dz, pooled.reshape(-1)), "b": dz}
