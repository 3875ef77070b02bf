"""Deterministic spec TOML texts for the benchmarks, so that two runs time the same numbers.

Values are drawn from a seeded generator and written with two decimals, as a lecturer would
write them; the RNN format is the one of ``tests/specgen.py`` (README, section "rnn-spec").
"""

from __future__ import annotations

import random

VOCABULARY = ("the", "cat", "sat", "on", "a", "mat", "and", "slept")


def _two_decimals(rng: random.Random, bound: float = 0.5) -> str:
    """A number in [-bound, bound] with two decimals, never 0 (so no weight vanishes)."""
    k = 0
    while k == 0:
        k = rng.randint(-int(bound * 100), int(bound * 100))
    return f"{k / 100:.2f}"


def _vec(rng, n, bound=0.5) -> str:
    return "[" + ", ".join(_two_decimals(rng, bound) for _ in range(n)) + "]"


def _mat(rng, rows, cols, bound=0.5) -> str:
    return "[" + ", ".join(_vec(rng, cols, bound) for _ in range(rows)) + "]"


def rnn_bench_toml(T: int, H: int = 4, D: int = 8, seed: int = 6) -> str:
    """A one-layer tanh RNN reading T one-hot tokens over D words, softmax + cross-entropy at the end."""
    rng, token_rng = random.Random(seed), random.Random(seed + 1)
    vocab = VOCABULARY[:D] if D <= len(VOCABULARY) else tuple(f"w{i}" for i in range(D))
    # Same weights and target for every T, and each sequence is a prefix of the longer ones.
    tokens = [vocab[token_rng.randrange(D)] for _ in range(T)]
    target = vocab[rng.randrange(D)]
    quoted = lambda words: "[" + ", ".join(f'"{w}"' for w in words) + "]"  # noqa: E731
    return "\n".join([
        "[example]", f'name = "bench-rnn-T{T}"', 'kind = "rnn"', "",
        "[network]", f"hidden_size = {H}", 'activation = "tanh"', 'output = "last"',
        'output_activation = "softmax"', 'loss = "cross_entropy"', "",
        "[input]", f"vocabulary = {quoted(vocab)}", f"tokens = {quoted(tokens)}", "",
        "[target]", f'token = "{target}"', "",
        "[parameters]",
        f"W_xh = {_mat(rng, H, D)}",
        f"W_hh = {_mat(rng, H, H)}",
        f"W_hz = {_mat(rng, D, H)}",
        f"b_h = {_vec(rng, H, 0.1)}",
        f"b_z = {_vec(rng, D, 0.1)}",
        "",
        "[training]", "learning_rate = 0.1", "",
    ])


def cnn_bench_toml(N: int, filters: int = 1, classes: int = 10, seed: int = 6) -> str:
    """An N × N grayscale image, ``filters`` 3 × 3 ReLU filters, 2 × 2 max pooling (stride 2), a dense
    layer to ``classes`` classes, softmax + cross-entropy (README, section "cnn-spec")."""
    rng = random.Random(seed)
    image = "[" + ",\n  ".join("[" + ", ".join(f"{rng.randint(0, 10) / 10:.1f}" for _ in range(N)) + "]"
                               for _ in range(N)) + "]"
    kernels = [_mat(rng, 3, 3) for _ in range(filters)]
    k = kernels[0] if filters == 1 else "[" + ", ".join(f"[{kernel}]" for kernel in kernels) + "]"
    pooled = ((N - 2) - 2) // 2 + 1
    flat = filters * pooled * pooled
    target = [0] * classes
    target[rng.randrange(classes)] = 1
    return "\n".join([
        "[example]", f'name = "bench-cnn-N{N}-F{filters}"', 'kind = "cnn"', "",
        "[input]", f"image = {image}", "",
        "[convolution]", f"filters = {filters}", "kernel_size = 3", "stride = 1", "padding = 0",
        'activation = "relu"', "",
        "[pooling]", 'mode = "max"', "size = 2", "stride = 2", "",
        "[output]", 'activation = "softmax"', 'loss = "cross_entropy"', "",
        "[target]", f"value = {target}", "",
        "[parameters]", f"k = {k}", f"W = {_mat(rng, classes, flat, 0.1)}", f"b = {_vec(rng, classes, 0.1)}", "",
        "[training]", "learning_rate = 0.1", "",
    ])
