"""The CNN derivation against independent values: loops and closed forms by hand, HIPS autograd, random specs."""

from __future__ import annotations

import json
import tomllib
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autodiff_cnn import gradients, network
from conftest import assert_close, derive_json, run_cli
from specgen import ACTIVATIONS, activation_toml
from mpnp import assert_agrees, to_mp
from symderiv import derive_text
from symderiv.spec.load import builtin_text
from symderiv.steps import Kind
from symderiv.verify import verify

mpmath.mp.dps = 50

IMAGE = [[1, 0, 2, 3, 0], [4, 6, 6, 8, 1], [3, 1, 1, 0, 2], [1, 2, 2, 4, 1], [2, 4, 0, 1, 3]]
KERNEL = [[1, 0, -1], [1, 0, -1], [1, 0, -1]]
W = [[Fraction("0.2"), Fraction("0.4"), Fraction("0.1"), Fraction("-0.5")],
     [Fraction("-0.3"), Fraction("0.6"), Fraction("0.2"), Fraction("0.1")]]
B = [Fraction("0.1"), Fraction("-0.2")]


def _autograd_check(toml_text: str, result_gradients: dict, rtol=1e-9):
    """Every gradient against autograd's float64; where float64 runs out of digits (an exact 0 that float64
    sees as 1e-17, p − y with p near 1), against the same model at 50 digits."""
    data = tomllib.loads(toml_text)
    names = {"k": "k", "b_conv": "b_conv", "W": "W", "b": "b", **data.get("names", {})}
    loss, grads, dx = gradients(data)
    image, params, loss_of = network(data)
    image_mp = to_mp({"x": image})["x"]
    for role, g in grads.items():
        got = np.asarray(result_gradients[f"dL/d{names[role]}"], dtype=float)
        assert got.shape == g.shape, (role, got.shape, g.shape)
        assert_agrees(f"dL/d{names[role]}", got, g, lambda p, xp: loss_of(image_mp, p, xp), params, role, loss, rtol)
    return loss, dx


# -- the lecture's example, by hand -------------------------------------------------------------
def conv_by_loops(image, kernel):
    """Valid cross-correlation, stride 1, written out cell by cell."""
    n = len(kernel)
    size = len(image) - n + 1
    return [[sum(Fraction(image[i + u][j + v]) * kernel[u][v] for u in range(n) for v in range(n))
             for j in range(size)] for i in range(size)]


def patch(image, i, j, n=3):
    return [[image[i + u][j + v] for v in range(n)] for u in range(n)]


@pytest.fixture(scope="module")
def hand():
    """Every value of the lecture's example, from loops over the lecture's inputs and closed forms."""
    h = conv_by_loops(IMAGE, KERNEL)
    relu = [[max(v, 0) for v in row] for row in h]
    windows = {(i, j): [(i + u, j + v) for u in range(2) for v in range(2)] for i in range(2) for j in range(2)}
    argmax = {}
    for key, cells in windows.items():
        best = cells[0]
        for c in cells[1:]:
            if relu[c[0]][c[1]] > relu[best[0]][best[1]]:
                best = c
        argmax[key] = best
    pooled = [[relu[argmax[(i, j)][0]][argmax[(i, j)][1]] for j in range(2)] for i in range(2)]
    flat = [v for row in pooled for v in row]
    z = [sum(W[r][c] * flat[c] for c in range(4)) + B[r] for r in range(2)]
    return dict(h=h, relu=relu, argmax=argmax, pooled=pooled, flat=flat, z=z)


class TestCnnImage:
    """cnn-image: softmax + categorical cross-entropy, the model behind the lecture's numbers."""

    @pytest.fixture(scope="class")
    def result(self):
        return derive_json("cnn-image")

    @pytest.fixture(scope="class")
    def derivation(self):
        from symderiv import derive
        return derive("cnn-image")

    def test_forward_is_exact(self, result, hand):
        q, exact = result["quantities"], result["exact"]
        assert q["h"] == [[[float(v) for v in row] for row in hand["h"]]]
        assert exact["h"] == [[[str(v) for v in row] for row in hand["h"]]]
        assert q["h'"] == [[[float(v) for v in row] for row in hand["relu"]]]
        assert q["h''"] == [[[float(v) for v in row] for row in hand["pooled"]]]
        assert q["h'''"] == [float(v) for v in hand["flat"]]
        assert exact["z"] == [str(hand["z"][0]), str(hand["z"][1])] == ["3/10", "9/2"]
        assert q["size(h)"] == [3.0, 3.0] and q["size(h'')"] == [2.0, 2.0]

    def test_output_and_loss_closed_form(self, result, hand):
        mp = mpmath.mp
        z1, z2 = (mp.mpf(v.numerator) / v.denominator for v in hand["z"])
        p1 = 1 / (1 + mp.exp(z2 - z1))            # softmax of two scores
        assert_close(result["quantities"]["yhat"], [float(p1), float(1 - p1)], rtol=1e-14)
        assert_close(result["quantities"]["L"], float(mp.log(1 + mp.exp(z1 - z2))), rtol=1e-14)
        assert_close(result["quantities"]["dL/dz"], [float(p1), float(-p1)], rtol=1e-13)

    def test_backward_by_hand(self, result, hand):
        mp = mpmath.mp
        z1, z2 = (mp.mpf(v.numerator) / v.denominator for v in hand["z"])
        a = float(1 / (1 + mp.exp(z2 - z1)))      # ∂L/∂z = [a, −a]
        g, q = result["gradients"], result["quantities"]
        assert_close(g["dL/dW"], [[a * float(v) for v in hand["flat"]], [-a * float(v) for v in hand["flat"]]],
                     rtol=1e-13)
        assert_close(g["dL/db"], [a, -a], rtol=1e-13)
        dflat = [a * float(W[0][c] - W[1][c]) for c in range(4)]
        assert_close(q["dL/dh'''"], dflat, rtol=1e-13)
        assert_close(q["dL/dh''"], [[dflat[:2], dflat[2:]]], rtol=1e-13)
        routed = np.zeros((3, 3))
        for (i, j), (r, c) in hand["argmax"].items():
            routed[r, c] += dflat[2 * i + j]
        assert_close(q["dL/dh'"], [routed], rtol=1e-13)
        # the all-zero window's gradient goes to its first cell, h'[0,0] ...
        assert routed[0, 0] != 0
        # ... where ReLU blocks it (h[0,0] = -1), as it blocks every cell with h <= 0
        masked = np.where(np.array(hand["h"], dtype=float) > 0, routed, 0.0)
        assert_close(q["dL/dh"], [masked], rtol=1e-13)
        dk = np.zeros((3, 3))
        for i in range(3):
            for j in range(3):
                dk += masked[i, j] * np.array(patch(IMAGE, i, j), dtype=float)
        assert_close(g["dL/dk"], dk, rtol=1e-13)
        # the same sum, written as on the slides: −a (0.2 P[0,2] + 0.6 P[1,2] + 0.1 P[2,0])
        assert_close(g["dL/dk"], -a * np.array([[4.3, 5.5, 0.7], [1.9, 1.8, 1.6], [1.6, 2.8, 1.0]]), rtol=1e-13)

    def test_kernel_gradient_terms(self, derivation):
        parts = derivation["dL/dk(h[i,j])"]
        assert parts.kind == Kind.BACKWARD and parts.shape == (9, 3, 3)
        conv = derivation.layer(parts.owner)
        assert conv.positions == [(0, i, j) for i in range(3) for j in range(3)]
        assert conv.nonzero == [2, 5, 6]          # h[0,2], h[1,2], h[2,0]
        dh = parts.value
        total = sum(np.vectorize(float)(dh[p]) for p in range(9))
        assert_close(total, derivation["dL/dk"].floats, rtol=1e-14)
        assert conv.parts == "dL/dk(h[i,j])"

    def test_layer_records_for_the_renderer(self, derivation):
        conv = derivation.layer(derivation["h"].owner)
        assert (conv.input, conv.kernel.name, conv.bias, conv.stride, conv.padding) == ("x", "k", None, 1, 0)
        assert (tuple(conv.kernel_size), conv.filters, conv.channels) == ((3, 3), 1, 1)
        pool = derivation.layer(derivation["h''"].owner)
        assert pool.mode == "max" and tuple(pool.size) == (2, 2) and pool.stride == 1 and pool.input == "h'"
        assert pool.chosen == [(0, 0, 0), (0, 0, 2), (0, 2, 0), (0, 1, 2)]
        assert pool.ties == [(0, 0, 0)]
        assert derivation["size(h)"].kind == Kind.SIZE
        assert r"\operatorname{ReLU}'(0)" in derivation["dh'/dh"].note

    def test_update(self, result):
        g, u, q = result["gradients"], result["updated"], result["quantities"]
        assert set(u) == {"k", "W", "b"} and set(g) == {"dL/dk", "dL/dW", "dL/db"}
        for name in u:
            assert_close(u[name], np.array(q[name]) - 0.1 * np.array(g[f"dL/d{name}"]), rtol=1e-14, atol=1e-17)
        assert np.shape(u["k"]) == (3, 3) and np.shape(u["W"]) == (2, 4) and np.shape(u["b"]) == (2,)

    def test_agrees_with_autograd(self, result):
        loss, _dx = _autograd_check(builtin_text("cnn-image"), result["gradients"])
        assert_close(result["quantities"]["L"], loss, rtol=1e-12)

    def test_checks_passed(self, result):
        assert result["checks"]["passed"] is True
        assert result["checks"]["unchecked"] == []
        assert result["checks"]["numpy"]["max_rel_diff"] < 1e-12

    def test_where_the_lecture_went_wrong(self, result):
        """Values the lecture prints wrongly; the expectations are the hand computations above."""
        g, q = result["gradients"], result["quantities"]
        assert g["dL/dW"][1][3] < 0                       # printed as +0.074
        assert len(g["dL/dW"][0]) == 4                    # printed with three entries
        assert q["dL/dh'"][0][0][0] > 0.007               # printed as 0 (the tie of four zeros)
        assert round(g["dL/dk"][1][1], 3) == -0.027       # printed as −0.030
        assert round(g["dL/dk"][2][0], 3) == -0.024       # printed as −0.023
        assert q["L"] < 0.0149 and result["quantities"]["z"] == [0.3, 4.5]


class TestCnnImageSigmoid:
    """cnn-image-sigmoid: one sigmoid per output unit and binary cross-entropy summed, as the text says."""

    @pytest.fixture(scope="class")
    def result(self):
        return derive_json("cnn-image-sigmoid")

    def test_output_loss_and_gradient_closed_form(self, result):
        mp = mpmath.mp
        s1, s2 = 1 / (1 + mp.exp(-mp.mpf("0.3"))), 1 / (1 + mp.exp(-mp.mpf("4.5")))
        q = result["quantities"]
        assert_close(q["yhat"], [float(s1), float(s2)], rtol=1e-14)
        assert_close(q["L"], float(-mp.log(1 - s1) - mp.log(s2)), rtol=1e-14)
        assert_close(q["dL/dz"], [float(s1), float(s2 - 1)], rtol=1e-13)
        # not the lecture's printed ŷ ≈ [0.015, 0.985]: the numbers there come from a softmax
        assert abs(q["yhat"][0] - 0.015) > 0.5

    def test_agrees_with_autograd(self, result):
        loss, _dx = _autograd_check(builtin_text("cnn-image-sigmoid"), result["gradients"])
        assert_close(result["quantities"]["L"], loss, rtol=1e-12)
        assert result["checks"]["passed"] is True and result["checks"]["unchecked"] == []


def test_input_gradient_when_asked():
    text = builtin_text("cnn-image").replace("input_gradient = false", "input_gradient = true")
    derivation = derive_text(text)
    verification = verify(derivation)
    assert verification.passed and not verification.unchecked
    _loss, _grads, dx = gradients(tomllib.loads(text))
    assert_close(derivation["dL/dx"].floats, dx, rtol=1e-9, atol=1e-15)
    assert derivation["dL/dx"].shape == (5, 5)
    assert "dL/dx" not in derive_text(builtin_text("cnn-image"))


def test_renamed_parameters_and_conv_bias():
    text = builtin_text("cnn-image").replace(
        "[parameters]\nk = ", '[names]\nk = "K1"\nW = "V"\nb = "c"\nb_conv = "beta"\n\n[parameters]\nbeta = 0.5\nK1 = ')
    text = text.replace("W = [[", "V = [[").replace("b = [0.1", "c = [0.1")
    derivation = derive_text(text)
    assert {s.name for s in derivation.of_kind(Kind.GRADIENT)} == {"dL/dK1", "dL/dV", "dL/dc", "dL/dbeta"}
    assert derivation["beta"].shape == ()                 # a single number stays a single number
    assert derivation.layer(derivation["h"].owner).bias.name == "beta"
    assert verify(derivation).passed
    _autograd_check(text, {s.name: s.floats for s in derivation.of_kind(Kind.GRADIENT)})


def test_cli_text_and_list():
    out = run_cli("derive", "cnn-image", check=True).stdout
    assert "== Forward pass ==" in out and "dL/dk = " in out and "verified:" in out
    names = [line.split("\t")[0] for line in run_cli("list", check=True).stdout.splitlines()]
    assert "cnn-image" in names and "cnn-image-sigmoid" in names


def test_steps_are_tensors_not_cells():
    """A bigger image adds no steps: each layer is one step whatever its size."""
    def count(size):
        image = [[Fraction((3 * i + 5 * j) % 7 - 3, 4) for j in range(size)] for i in range(size)]
        text = random_cnn_toml(image=[image], kernel=[[[[Fraction(1, 2), Fraction(-1, 4)], [Fraction(1, 4), 1]]]],
                               conv_bias=None, stride=1, padding=0, activation="relu", pooling=("max", 2, 2),
                               dropout=None, out_act="softmax", loss="cross_entropy", target=[0, 1],
                               W=[[Fraction(1, 10)] * (((size - 1) // 2) ** 2)] * 2, b=[0, 0], input_gradient=False)
        return len(derive_text(text))
    assert count(9) == count(15)


# -- property tests: random small CNNs ------------------------------------------------------------
def _lit(v) -> str:
    """A TOML number as a lecturer writes it (0.25); every value drawn here has a short decimal."""
    v = Fraction(v)
    return str(v.numerator) if v.denominator == 1 else repr(float(v))


def _nested(value) -> str:
    return "[" + ", ".join(_nested(v) for v in value) + "]" if isinstance(value, list) else _lit(value)


def random_cnn_toml(*, image, kernel, conv_bias, stride, padding, activation, pooling, dropout, out_act, loss,
                    target, W, b, input_gradient) -> str:
    """A CNN spec's TOML text; image channels × rows × cols, kernel filters × channels × n × m."""
    n, m = len(kernel[0][0]), len(kernel[0][0][0])
    lines = ["[example]", 'name = "random"', 'kind = "cnn"', "", "[input]", f"image = {_nested(image)}", "",
             "[convolution]", f"filters = {len(kernel)}", f"kernel_size = [{n}, {m}]", f"stride = {stride}",
             f"padding = {padding}", f"activation = {activation_toml(activation)}", ""]
    if pooling:
        mode, size, pstride = pooling
        lines += ["[pooling]", f'mode = "{mode}"', f"size = {size}", f"stride = {pstride}", ""]
    if dropout:
        p, mask = dropout
        lines += ["[dropout]", f"p = {_lit(p)}", f"mask = {_nested(mask)}", ""]
    lines += ["[output]", f'activation = "{out_act}"', f'loss = "{loss}"', "", "[target]",
              f"value = {_nested(target)}", "", "[parameters]", f"k = {_nested(kernel)}", f"W = {_nested(W)}",
              f"b = {_nested(b)}"]
    if conv_bias is not None:
        lines.append(f"b_conv = {_nested(conv_bias)}")
    lines += ["", "[training]", 'learning_rate = 0.1', f"input_gradient = {str(input_gradient).lower()}", ""]
    return "\n".join(lines)


tenths = st.integers(-10, 10).map(lambda n: Fraction(n, 10))


@st.composite
def cnn_specs(draw):
    C, F = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    rows, cols = draw(st.integers(3, 6)), draw(st.integers(3, 6))
    padding = draw(st.integers(0, 1))
    stride = draw(st.integers(1, 2))
    n = draw(st.integers(1, min(3, rows + 2 * padding)))
    m = draw(st.integers(1, min(3, cols + 2 * padding)))
    Ho, Wo = (rows + 2 * padding - n) // stride + 1, (cols + 2 * padding - m) // stride + 1
    activation = draw(st.sampled_from(ACTIVATIONS))
    pooling = None
    if draw(st.booleans()):
        size = draw(st.integers(1, min(2, Ho, Wo)))
        pooling = (draw(st.sampled_from(["max", "avg"])), size, draw(st.integers(1, 2)))
        Ho, Wo = (Ho - size) // pooling[2] + 1, (Wo - size) // pooling[2] + 1
    dropout = None
    if draw(st.booleans()):
        mask = [[[draw(st.integers(0, 1)) for _ in range(Wo)] for _ in range(Ho)] for _ in range(F)]
        dropout = (draw(st.sampled_from([Fraction(0), Fraction(1, 4), Fraction(1, 2)])), mask)
    out_act, loss = draw(st.sampled_from([("softmax", "cross_entropy"), ("softmax", "mse"), ("sigmoid", "bce"),
                                          ("sigmoid", "bce_mean"), ("sigmoid", "mse"), ("linear", "mse"),
                                          ("linear", "sse")]))
    K = draw(st.integers(2, 3)) if out_act == "softmax" else draw(st.integers(1, 3))
    if loss == "cross_entropy":
        hot = draw(st.integers(0, K - 1))
        target = [int(i == hot) for i in range(K)]
    elif out_act == "sigmoid":
        target = [Fraction(draw(st.integers(0, 4)), 4) for _ in range(K)]
    else:
        target = [draw(tenths) * 2 for _ in range(K)]
    image = [[[draw(tenths) * 3 for _ in range(cols)] for _ in range(rows)] for _ in range(C)]
    kernel = [[[[draw(tenths) for _ in range(m)] for _ in range(n)] for _ in range(C)] for _ in range(F)]
    conv_bias = [draw(tenths) for _ in range(F)] if draw(st.booleans()) else None
    W = [[draw(tenths) for _ in range(F * Ho * Wo)] for _ in range(K)]
    b = [draw(tenths) for _ in range(K)]
    return random_cnn_toml(image=image, kernel=kernel, conv_bias=conv_bias, stride=stride, padding=padding,
                           activation=activation, pooling=pooling, dropout=dropout, out_act=out_act, loss=loss,
                           target=target, W=W, b=b, input_gradient=draw(st.booleans()))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cnn_specs())
def test_random_cnn_gradients_agree_with_autograd_numpy_and_fd(text):
    derivation = derive_text(text)
    verification = verify(derivation)
    assert verification.passed, (verification.summary(), text)
    grads = {s.name: s.floats for s in derivation.of_kind(Kind.GRADIENT)}
    _loss, dx = _autograd_check(text, grads)
    if "dL/dx" in derivation:
        largest = max(float(np.max(np.abs(dx))), max(float(np.max(np.abs(g))) for g in grads.values()))
        assert_close(derivation["dL/dx"].floats, dx, rtol=1e-9, atol=1e-12 * largest + 1e-300, what="dL/dx")


def test_json_contract():
    data = json.loads(run_cli("derive", "cnn-image-sigmoid", "--json", check=True).stdout)
    assert data["kind"] == "cnn" and data["parameters"] == ["k", "W", "b"]
    assert np.shape(data["gradients"]["dL/dk"]) == (3, 3)
    assert np.shape(data["gradients"]["dL/dW"]) == (2, 4)
    assert np.shape(data["quantities"]["h"]) == (1, 3, 3)


def test_verification_catches_a_different_tie_rule(monkeypatch):
    """The float reference is independent: routing a tie to the *last* maximum is caught at dL/dh'."""
    from symderiv.layers import feedforward
    from symderiv.ops import conv

    def last_maximum(h, size, stride):
        chosen, ties = [], []
        for out_cell, cells in conv.pool_windows(h.shape, size, stride):
            best = cells[0]
            for cell in cells[1:]:
                if h[cell].approx >= h[best].approx:
                    best = cell
            chosen.append(best)
        return chosen, ties

    monkeypatch.setattr(conv, "pool_choices", last_maximum)
    monkeypatch.setattr(feedforward, "pool_choices", last_maximum)
    verification = verify(derive_text(builtin_text("cnn-image")), finite_differences=False)
    assert not verification.passed
    assert verification.summary()["numpy"]["failed"][0] == "dL/dh'"
