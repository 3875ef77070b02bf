"""The naive SymPy approach a user would write: unroll the loss into one expression, ``sympy.diff``
for each weight, substitute the numbers.

Run as a script (``python bench/naive_sympy.py rnn 5``), it prints one JSON line with the time
and the gradients as floats; :func:`run_capped` runs it in a child process that is killed at the
time cap, because an unrolled expression can take hours to differentiate and substitute.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import sympy

HERE = Path(__file__).resolve().parent


def _matrix(name: str, rows: int, cols: int) -> sympy.Matrix:
    return sympy.Matrix(rows, cols, lambda i, j: sympy.Symbol(f"{name}_{i}_{j}"))


def _values(symbols: sympy.Matrix, numbers) -> dict:
    flat = [v for row in numbers for v in row] if isinstance(numbers[0], list) else list(numbers)
    return {s: sympy.Rational(str(v)) for s, v in zip(symbols, flat)}


def _softmax_cross_entropy(z: sympy.Matrix, target: int):
    return -sympy.log(sympy.exp(z[target]) / sum(sympy.exp(zk) for zk in z))


def rnn_problem(toml_text: str):
    """The unrolled loss of a bench RNN spec as one SymPy expression, its weight symbols and their values."""
    doc = tomllib.loads(toml_text)
    vocab = doc["input"]["vocabulary"]
    p = doc["parameters"]
    H, D = len(p["W_hh"]), len(vocab)
    W_xh, W_hh, W_hz = _matrix("W_xh", H, D), _matrix("W_hh", H, H), _matrix("W_hz", D, H)
    b_h, b_z = _matrix("b_h", H, 1), _matrix("b_z", D, 1)
    h = sympy.zeros(H, 1)
    for token in doc["input"]["tokens"]:
        x = sympy.zeros(D, 1)
        x[vocab.index(token)] = 1
        h = (W_xh * x + W_hh * h + b_h).applyfunc(sympy.tanh)
    loss = _softmax_cross_entropy(W_hz * h + b_z, vocab.index(doc["target"]["token"]))
    weights = {"W_xh": W_xh, "W_hh": W_hh, "W_hz": W_hz, "b_h": b_h, "b_z": b_z}
    values = {}
    for name, symbols in weights.items():
        values.update(_values(symbols, p[name]))
    return loss, weights, values


def cnn_problem(toml_text: str):
    """The loss of a bench CNN spec (conv 3 × 3, ReLU, 2 × 2 max pooling, dense, softmax + CE) as one expression."""
    doc = tomllib.loads(toml_text)
    p = doc["parameters"]
    image = sympy.Matrix([[sympy.Rational(str(v)) for v in row] for row in doc["input"]["image"]])
    kernels = [f[0] for f in p["k"]] if isinstance(p["k"][0][0], list) else [p["k"]]   # F × 1 × 3 × 3 or 3 × 3
    F, N = len(kernels), image.rows
    ks = [_matrix(f"k{f}", 3, 3) for f in range(F)]
    pooled = []
    for k in ks:
        relu = sympy.Matrix(N - 2, N - 2, lambda i, j: sympy.Max(0, sum(image[i + u, j + v] * k[u, v]
                                                                       for u in range(3) for v in range(3))))
        q = (N - 2) // 2
        pooled += [sympy.Max(*(relu[2 * i + u, 2 * j + v] for u in range(2) for v in range(2)))
                   for i in range(q) for j in range(q)]
    classes = len(doc["target"]["value"])
    W, b = _matrix("W", classes, len(pooled)), _matrix("b", classes, 1)
    loss = _softmax_cross_entropy(W * sympy.Matrix(pooled) + b, doc["target"]["value"].index(1))
    weights = {**{f"k{f}": k for f, k in enumerate(ks)}, "W": W, "b": b}
    values = {}
    for f, k in enumerate(ks):
        values.update(_values(k, kernels[f]))
    values.update(_values(W, p["W"]))
    values.update(_values(b, p["b"]))
    return loss, weights, values


PROBLEMS = {"rnn": rnn_problem, "cnn": cnn_problem}


def solve(kind: str, toml_text: str, progress=None) -> dict:
    """Differentiate the unrolled loss by each weight, substitute, evaluate; gradients as nested floats.

    ``progress(done, total)`` is called after each weight, so a killed run still tells how far it got.
    """
    start = time.perf_counter()
    loss, weights, values = PROBLEMS[kind](toml_text)
    total, done, gradients = sum(len(s) for s in weights.values()), 0, {}
    for name, symbols in weights.items():
        grad = []
        for s in symbols:
            grad.append(float(sympy.diff(loss, s).subs(values).evalf(30)))
            done += 1
            if progress:
                progress(done, total)
        gradients[name] = [grad[i * symbols.cols:(i + 1) * symbols.cols] for i in range(symbols.rows)]
    return {"seconds": time.perf_counter() - start, "gradients": gradients, "total": total}


def run_capped(kind: str, toml_text: str, cap: float) -> dict:
    """Solve in a child process killed after ``cap`` seconds.

    Returns the solution (``seconds``, ``gradients``) or, when the cap was reached, ``{"capped": True,
    "done": weights differentiated so far, "total": ...}``.
    """
    proc = subprocess.Popen([sys.executable, str(HERE / "naive_sympy.py"), kind], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(toml_text, timeout=cap)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        done, total = 0, None
        for line in out.splitlines():
            if line.startswith("progress "):
                done, total = (int(v) for v in line.split()[1:3])
        return {"capped": True, "done": done, "total": total}
    if proc.returncode != 0:
        last = err.strip().splitlines()[-1] if err.strip() else f"exit status {proc.returncode}"
        raise RuntimeError(f"naive SymPy run failed: {last}")
    return json.loads(out.strip().splitlines()[-1])


def _report(done: int, total: int) -> None:
    print(f"progress {done} {total}", flush=True)


if __name__ == "__main__":
    print(json.dumps(solve(sys.argv[1], sys.stdin.read(), _report)))
