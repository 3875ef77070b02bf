"""Reading the figures back for the tests: the nodes a TikZ picture draws and the numbers they print,
and independent float64 forward passes of the figure cases (written here from the equations, reading
the specs' TOML data, so they share nothing with the code under test)."""

from __future__ import annotations

import re
import tomllib
from fractions import Fraction
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
FIGURE_CASES = ROOT / "figure_cases"
ISSUE_CASES = ROOT / "cases"


def spec_data(reference: str) -> dict:
    """A spec's TOML data: a file path, or a built-in example by name."""
    path = Path(reference)
    if not path.exists():
        path = ROOT.parent / "symderiv" / "examples" / f"{reference}.toml"
    return tomllib.loads(path.read_text(encoding="utf-8"))


def nodes(tikz: str) -> dict[str, str]:
    """name -> text of every named node (``\\node[...] (name) at (...) {text};``)."""
    out = {}
    for m in re.finditer(r"\\node\[[^\]]*\] \(([^)]+)\) at \([^)]*\) \{", tikz):
        start, depth, k = m.end(), 1, m.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(tikz[k], 0)
            k += 1
        out[m.group(1)] = tikz[start:k - 1]
    return out


def numbers(text: str) -> list[float]:
    """The numbers a node prints, in order (``7.28 \\cdot 10^{-4}`` is one number)."""
    text = re.sub(r"(-?\d+(?:\.\d+)?)\s*\\cdot 10\^\{(-?\d+)\}",
                  lambda m: f"{float(m.group(1)) * 10 ** int(m.group(2)):.30f}", text)
    text = re.sub(r"_\{[^}]*\}|_[0-9]|\^\{[^}]*\}", "", text)        # indices and superscripts are no numbers
    found = re.findall(r"-?\d+(?:\.\d+)?", re.sub(r"\\[A-Za-z]+|[a-zA-Z]", " ", text))
    return [float(f) for f in found]


def close_to_shown(printed: float, true: float, digits: int = 3) -> bool:
    """Whether ``printed`` is ``true`` rounded to ``digits`` significant digits (or written exactly)."""
    if true == 0:
        return printed == 0
    step = 10 ** (np.floor(np.log10(abs(true))) - digits + 1)
    return abs(printed - true) <= step / 2 + 1e-12 * abs(true)


def number(value) -> float:
    return float(Fraction(str(value)))


def vector(value) -> np.ndarray:
    return np.array(value, dtype=float).ravel() if isinstance(value, list) else np.array([number(value)])


# -- independent forward passes --------------------------------------------------------------------
def _sigmoid(a):
    return 1 / (1 + np.exp(-a))


def _inputs(data: dict) -> list[np.ndarray]:
    inp = data["input"]
    if "tokens" in inp:
        vocab = inp["vocabulary"]
        return [np.eye(len(vocab))[vocab.index(t)] for t in inp["tokens"]]
    return [np.atleast_1d(np.array(v, dtype=float)) for v in inp["sequence"]]


def _parameter(data: dict, name: str, rows: int, cols: int | None = None, default: float = 0.0) -> np.ndarray:
    par = data["parameters"]
    if name not in par:
        return np.full((rows,) if cols is None else (rows, cols), default)
    arr = np.array(par[name], dtype=float)
    return arr.reshape(rows) if cols is None else arr.reshape(rows, cols)


def elman_states(data: dict) -> dict[tuple[int, int], np.ndarray]:
    """(t, layer) -> h_t of an Elman RNN (tanh or ReLU), every layer."""
    net = data["network"]
    H, layers = net["hidden_size"], net.get("layers", 1)
    act = {"tanh": np.tanh, "relu": lambda a: np.maximum(a, 0.0), "sigmoid": _sigmoid,
           "identity": lambda a: a}[net.get("activation", "tanh")]
    xs = _inputs(data)
    out = {}
    below = xs
    for layer in range(1, layers + 1):
        suffix = "" if layer == 1 else f"_{layer}"
        D = below[0].size
        W_xh, W_hh = _parameter(data, "W_xh" + suffix, H, D), _parameter(data, "W_hh" + suffix, H, H)
        b, h = _parameter(data, "b_h" + suffix, H), _parameter(data, "h0" + suffix, H)
        states = []
        for t, x in enumerate(below, start=1):
            h = act(W_xh @ x + W_hh @ h + b)
            out[(t, layer)] = h
            states.append(h)
        below = states
    return out


def lstm_states(data: dict) -> dict[tuple[int, int], dict[str, np.ndarray]]:
    """(t, layer) -> {f, i, g, o, c, h} of an LSTM."""
    net = data["network"]
    H, layers = net["hidden_size"], net.get("layers", 1)
    below = _inputs(data)
    out = {}
    for layer in range(1, layers + 1):
        suffix = "" if layer == 1 else f"_{layer}"
        D = below[0].size
        p = {f"{k}_{g}": _parameter(data, f"{k}_{g}{suffix}", H, D if k == "W" else H if k == "U" else None)
             for g in "figo" for k in "WUb"}
        h, c = _parameter(data, "h0" + suffix, H), _parameter(data, "c0" + suffix, H)
        states = []
        for t, x in enumerate(below, start=1):
            pre = {g: p[f"W_{g}"] @ x + p[f"U_{g}"] @ h + p[f"b_{g}"] for g in "figo"}
            f, i, o = _sigmoid(pre["f"]), _sigmoid(pre["i"]), _sigmoid(pre["o"])
            g = np.tanh(pre["g"])
            c = f * c + i * g
            h = o * np.tanh(c)
            out[(t, layer)] = {"f": f, "i": i, "g": g, "o": o, "c": c, "h": h}
            states.append(h)
        below = states
    return out


def gru_states(data: dict) -> dict[tuple[int, int], dict[str, np.ndarray]]:
    """(t, layer) -> {u, r, n, h} of a GRU (h = u h_prev + (1 − u) n; the reset before or after U_n h)."""
    net = data["network"]
    H = net["hidden_size"]
    after = net.get("gru_reset", "before") == "after"
    swapped = net.get("gru_form", "interpolate") == "swapped"
    xs = _inputs(data)
    D = xs[0].size
    p = {f"{k}_{g}": _parameter(data, f"{k}_{g}", H, D if k == "W" else H if k == "U" else None)
         for g in "urn" for k in "WUb"}
    b_hn = _parameter(data, "b_hn", H)
    h = _parameter(data, "h0", H)
    out = {}
    for t, x in enumerate(xs, start=1):
        u = _sigmoid(p["W_u"] @ x + p["U_u"] @ h + p["b_u"])
        r = _sigmoid(p["W_r"] @ x + p["U_r"] @ h + p["b_r"])
        if after:
            n = np.tanh(p["W_n"] @ x + p["b_n"] + r * (p["U_n"] @ h + b_hn))
        else:
            n = np.tanh(p["W_n"] @ x + p["U_n"] @ (r * h) + p["b_n"])
        h = (1 - u) * h + u * n if swapped else u * h + (1 - u) * n
        out[(t, 1)] = {"u": u, "r": r, "n": n, "h": h}
    return out


def correlate_first_cells(data: dict) -> list[float]:
    """h[f, 0, 0] of a CNN spec's convolution, for every filter: the padded input's first window times the
    filter's kernel, over every channel, plus the bias."""
    x = np.array(data["input"]["image"], dtype=float)
    x = x[None] if x.ndim == 2 else x
    conv = data["convolution"]
    F = conv.get("filters", 1)
    n = conv["kernel_size"] if isinstance(conv["kernel_size"], int) else conv["kernel_size"][0]
    m = conv["kernel_size"] if isinstance(conv["kernel_size"], int) else conv["kernel_size"][1]
    P = conv.get("padding", 0)
    k = np.array(data["parameters"]["k"], dtype=float).reshape(F, x.shape[0], n, m)
    padded = np.pad(x, ((0, 0), (P, P), (P, P)))
    bias = np.array(data["parameters"].get("b_conv", [0.0] * F), dtype=float).reshape(-1)
    bias = np.resize(bias, F)
    return [float(np.sum(padded[:, :n, :m] * k[f]) + bias[f]) for f in range(F)]
