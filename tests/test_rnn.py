"""The RNN derivation against independent values: closed forms by hand, HIPS autograd, random specs."""

from __future__ import annotations

import tomllib
from fractions import Fraction

import mpmath
import numpy as np
import sympy
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autodiff_rnn import gradients, setup
from conftest import assert_close, derive_json
from mpnp import assert_agrees
from specgen import ACTIVATIONS, rnn_toml
from symderiv import derive_text
from symderiv.numbers import Num
from symderiv.spec.load import builtin_text
from symderiv.verify import verify

mpmath.mp.dps = 50


def _autograd_check(data_text: str, result_gradients: dict, rtol=1e-9):
    """Every gradient against autograd's float64; where float64 runs out of digits, against 50 digits."""
    data = tomllib.loads(data_text)
    loss, grads = gradients(data)
    params, loss_fn = setup(data)
    for name, g in grads.items():
        assert_agrees(f"dL/d{name}", result_gradients[f"dL/d{name}"], g, loss_fn, params, name, loss, rtol)
    return loss


class TestTimeSeries:
    """The lecture's first example, with every value recomputed by hand from closed forms."""

    @pytest.fixture(scope="class")
    def result(self):
        return derive_json("rnn-timeseries")

    @pytest.fixture(scope="class")
    def hand(self):
        mp = mpmath.mp
        x = [mp.mpf(15), mp.mpf(16), mp.mpf("15.5")]
        wx, wh = mp.mpf("0.6"), mp.mpf("0.4")
        a1 = wx * x[0]
        h1 = mp.tanh(a1)
        a2 = wx * x[1] + wh * h1
        h2 = mp.tanh(a2)
        a3 = wx * x[2] + wh * h2
        h3 = mp.tanh(a3)
        # ŷ = 15 + z (16 − 15) with z = h3, so L = (ŷ − 15)² = h3²
        L = h3**2
        dz = 2 * h3
        s1, s2, s3 = (mp.sech(a) ** 2 for a in (a1, a2, a3))
        da3 = dz * 1 * s3
        da2 = da3 * wh * s2
        da1 = da2 * wh * s1
        return dict(a1=a1, h1=h1, a2=a2, h2=h2, a3=a3, h3=h3, L=L, dz=dz, da3=da3, da2=da2, da1=da1,
                    dWxh=da3 * x[2] + da2 * x[1] + da1 * x[0], dWhh=da3 * h2 + da2 * h1 + da1 * 0,
                    dbh=da3 + da2 + da1, dWhz=dz * h3, x=x)

    def test_forward_values(self, result, hand):
        q = result["quantities"]
        for step, key in [("a_1", "a1"), ("h_1", "h1"), ("a_2", "a2"), ("h_2", "h2"), ("a_3", "a3"),
                          ("h_3", "h3"), ("z_4", "h3")]:
            assert_close(q[step], [float(hand[key])], rtol=1e-14, what=step)
        assert_close(q["yhat_4"], [15 + float(hand["h3"])], rtol=1e-14)
        assert_close(q["L"], float(hand["L"]), rtol=1e-14)
        # The lecture's L = 1 and z_4 = 1.0 are rounded: the true values are below 1.
        assert q["L"] < 1 and q["z_4"][0] < 1

    def test_exact_forms_are_kept(self, result):
        exact = result["exact"]
        assert exact["a_1"] == ["9"]
        assert exact["h_1"] == ["tanh(9)"]
        assert exact["W_xh"] == [["3/5"]]
        assert exact["x_3"] == ["31/2"]

    def test_gradients_match_closed_form(self, result, hand):
        g = result["gradients"]
        assert_close(g["dL/dW_hz"], [[float(hand["dWhz"])]], rtol=1e-13)
        assert_close(g["dL/dW_xh"], [[float(hand["dWxh"])]], rtol=1e-12)
        assert_close(g["dL/dW_hh"], [[float(hand["dWhh"])]], rtol=1e-12)
        assert_close(g["dL/db_h"], [float(hand["dbh"])], rtol=1e-12)
        q = result["quantities"]
        # Per-time-step contributions: each is ∂L/∂a_t times the input of that step.
        assert_close(q["dL/dW_xh(t=3)"], [[float(hand["da3"] * hand["x"][2])]], rtol=1e-12)
        assert_close(q["dL/dW_xh(t=1)"], [[float(hand["da1"] * hand["x"][0])]], rtol=1e-12)
        assert q["dL/dW_hh(t=1)"] == [[0.0]]           # h_0 = 0 makes this one exactly zero
        assert q["dL/dW_xh(t=1)"][0][0] != 0.0         # ... but not this one (the lecture says 0)

    def test_update(self, result, hand):
        u = result["updated"]
        assert_close(u["W_hz"], [[1 - 0.1 * float(hand["dWhz"])]], rtol=1e-14)
        assert_close(u["W_xh"], [[0.6 - 0.1 * float(hand["dWxh"])]], rtol=1e-14)
        assert set(u) == {"W_xh", "W_hh", "W_hz", "b_h", "b_z"}

    def test_agrees_with_autograd(self, result):
        loss = _autograd_check(builtin_text("rnn-timeseries"), result["gradients"])
        assert_close(result["quantities"]["L"], loss, rtol=1e-12)

    def test_checks_passed(self, result):
        assert result["checks"]["passed"] is True
        assert result["checks"]["unchecked"] == []
        assert result["checks"]["numpy"]["max_rel_diff"] < 1e-12


class TestText:
    @pytest.fixture(scope="class")
    def result(self):
        return derive_json("rnn-text")

    def test_forward_by_hand(self, result):
        mp = mpmath.mp
        h1 = mp.tanh(mp.mpf("0.5"))
        h2 = mp.tanh(mp.mpf("-0.4") + mp.mpf("0.2") * h1)
        h3 = mp.tanh(mp.mpf("0.3") + mp.mpf("0.2") * h2)
        z = [mp.mpf(w) * h3 for w in ("0.1", "0.2", "0.3", "0.4")]
        e = [mp.exp(v) for v in z]
        p = [v / sum(e) for v in e]
        q = result["quantities"]
        assert_close(q["h_3"], [float(h3)], rtol=1e-14)
        assert_close(q["yhat_3"], [float(v) for v in p], rtol=1e-14)
        assert_close(q["L"], float(-mp.log(p[3])), rtol=1e-14)
        # ∂L/∂W_hz = (ŷ − y) h_3ᵀ: a 4 × 1 matrix
        expected = [[float((p[i] - (1 if i == 3 else 0)) * h3)] for i in range(4)]
        assert_close(result["gradients"]["dL/dW_hz"], expected, rtol=1e-13)

    def test_shapes_row_major(self, result):
        g = result["gradients"]
        assert np.shape(g["dL/dW_xh"]) == (1, 4)
        assert np.shape(g["dL/dW_hh"]) == (1, 1)
        assert np.shape(g["dL/dW_hz"]) == (4, 1)
        assert np.shape(g["dL/db_h"]) == (1,)
        assert np.shape(g["dL/db_z"]) == (4,)
        # "name" never occurs in the input, so its column of W_xh gets no gradient at all
        assert g["dL/dW_xh"][0][3] == 0.0
        assert all(v != 0.0 for v in g["dL/dW_xh"][0][:3])

    def test_agrees_with_autograd(self, result):
        _autograd_check(builtin_text("rnn-text"), result["gradients"])


# -- property tests: random small RNNs -------------------------------------------------------
small = st.integers(-10, 10).map(lambda n: Fraction(n, 10))


@st.composite
def rnn_specs(draw):
    H = draw(st.integers(1, 3))
    D = draw(st.integers(1, 3))
    T = draw(st.integers(1, 4))
    layers = draw(st.integers(1, 2))
    activation = draw(st.sampled_from(ACTIVATIONS))
    output = draw(st.sampled_from(["last", "every"]))
    out_act, loss = draw(st.sampled_from([("linear", "mse"), ("linear", "sse"), ("softmax", "cross_entropy"),
                                          ("softmax", "mse"), ("sigmoid", "bce"), ("sigmoid", "bce_mean"),
                                          ("sigmoid", "mse")]))
    K = draw(st.integers(2, 3)) if out_act == "softmax" else draw(st.integers(1, 2))
    params = {}
    for l in range(1, layers + 1):
        sfx = "" if l == 1 else f"_{l}"
        params["W_xh" + sfx] = [[draw(small) for _ in range(D if l == 1 else H)] for _ in range(H)]
        params["W_hh" + sfx] = [[draw(small) for _ in range(H)] for _ in range(H)]
        params["b_h" + sfx] = [draw(small) for _ in range(H)]
        params["h0" + sfx] = [draw(small) for _ in range(H)]
    params["W_hz"] = [[draw(small) for _ in range(H)] for _ in range(K)]
    params["b_z"] = [draw(small) for _ in range(K)]
    xs = [[draw(small) * 3 for _ in range(D)] for _ in range(T)]
    n_out = T if output == "every" else 1
    if out_act == "softmax" and loss == "cross_entropy":
        ys = []
        for _ in range(n_out):
            k = draw(st.integers(0, K - 1))
            ys.append([Fraction(int(i == k)) for i in range(K)])
    elif out_act == "sigmoid" or out_act == "softmax":
        ys = [[Fraction(draw(st.integers(0, 4)), 4) for _ in range(K)] for _ in range(n_out)]
    else:
        ys = [[draw(small) * 2 for _ in range(K)] for _ in range(n_out)]
    return rnn_toml(H=H, D=D, T=T, K=K, layers=layers, activation=activation, output=output,
                    output_activation=out_act, loss=loss, params=params, xs=xs, ys=ys)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rnn_specs())
def test_random_rnn_gradients_agree_with_autograd_numpy_and_fd(text):
    derivation = derive_text(text)
    verification = verify(derivation)
    assert verification.passed, (verification.summary(), text)
    grads = {s.name: s.floats for s in derivation.steps if s.kind == "gradient"}
    _autograd_check(text, grads)


def test_step_count_is_linear_in_sequence_length():
    """Each time step adds the same number of steps: intermediates are named, never nested."""
    def count(T):
        xs = [[Fraction((t % 5) - 2, 2)] for t in range(T)]
        params = {"W_xh": [[Fraction(1, 2)]], "W_hh": [[Fraction(3, 5)]], "b_h": [Fraction(0)],
                  "h0": [Fraction(0)], "W_hz": [[Fraction(1)]], "b_z": [Fraction(0)]}
        return len(derive_text(rnn_toml(H=1, D=1, T=T, K=1, layers=1, activation="tanh", output="last",
                                        output_activation="linear", loss="mse", params=params, xs=xs,
                                        ys=[[Fraction(1)]])))
    n10, n20, n30 = count(10), count(20), count(30)
    assert n30 - n20 == n20 - n10 > 0


@pytest.mark.parametrize("alpha", ["0.2", "1/3"])
def test_leaky_relu_rnn_agrees_with_autograd(alpha):
    """Leaky ReLU with its slope as a spec parameter, against autograd's own where(a > 0, a, αa)."""
    text = builtin_text("rnn-text").replace('activation = "tanh"', f'activation = {{ name = "leaky_relu", alpha = "{alpha}" }}')
    assert "leaky_relu" in text
    d = derive_text(text)
    assert verify(d).passed
    _autograd_check(text, {s.name: s.floats for s in d.steps if s.kind == "gradient"})
    # a_1 = 0.5 > 0 has slope 1; a_2 = −0.4 + 0.2·h_1 < 0 has the slope alpha
    assert d["a_1"].value[0].exact == sympy.Rational(1, 2) and d["dh_1/da_1"].value[0].exact == 1
    assert d["a_2"].value[0] < Num.rational(0) and d["dh_2/da_2"].value[0].exact == sympy.Rational(alpha)


# -- LSTM and GRU cells -------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["lstm-sequence", "gru-sequence"])
def test_gated_examples_agree_with_autograd(name):
    result = derive_json(name)
    assert result["checks"]["passed"]
    loss = _autograd_check(builtin_text(name), result["gradients"])
    assert result["quantities"]["L"] == pytest.approx(loss, rel=1e-13)
    roles = ("W_f", "U_f", "b_f", "W_i", "U_i", "b_i", "W_g", "U_g", "b_g", "W_o", "U_o", "b_o") if "lstm" in name \
        else ("W_u", "U_u", "b_u", "W_r", "U_r", "b_r", "W_n", "U_n", "b_n")
    assert set(result["gradients"]) == {f"dL/d{r}" for r in roles + ("W_hz", "b_z")}


def test_lstm_by_hand():
    """The lstm-sequence forward pass with mpmath, from the equations."""
    sig = lambda v: 1 / (1 + mpmath.exp(-v))                                          # noqa: E731
    w = {k: mpmath.mpf(v) for k, v in dict(W_f="0.5", U_f="0.1", b_f="0.2", W_i="0.4", U_i="0.2", b_i="0",
                                             W_g="0.3", U_g="0.5", b_g="0", W_o="0.6", U_o="-0.2", b_o="0.1").items()}
    h = c = mpmath.mpf(0)
    for x in (mpmath.mpf(1), mpmath.mpf("0.5"), mpmath.mpf(2)):
        f, i = sig(w["W_f"] * x + w["U_f"] * h + w["b_f"]), sig(w["W_i"] * x + w["U_i"] * h + w["b_i"])
        g, o = mpmath.tanh(w["W_g"] * x + w["U_g"] * h + w["b_g"]), sig(w["W_o"] * x + w["U_o"] * h + w["b_o"])
        c = f * c + i * g
        h = o * mpmath.tanh(c)
    q = derive_json("lstm-sequence")["quantities"]
    assert q["h_3"][0] == pytest.approx(float(h), rel=1e-15)
    assert q["c_3"][0] == pytest.approx(float(c), rel=1e-15)
    assert q["L"] == pytest.approx(float((h - mpmath.mpf("0.5")) ** 2), rel=1e-14)


@st.composite
def gated_specs(draw):
    cell = draw(st.sampled_from(["lstm", "gru"]))
    H, D, T = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 5))
    layers = draw(st.integers(1, 2))
    output = draw(st.sampled_from(["last", "every"]))
    out_act, loss = draw(st.sampled_from([("linear", "mse"), ("softmax", "cross_entropy"), ("sigmoid", "bce")]))
    K = 2 if out_act == "softmax" else draw(st.integers(1, 2))
    small = st.integers(-9, 9).map(lambda k: Fraction(k, 10))
    options, gates = [], "figo"
    if cell == "gru":
        gates = "urn"
        form = draw(st.sampled_from(["interpolate", "swapped"]))
        reset = draw(st.sampled_from(["before", "after"]))
        options = [f'gru_form = "{form}"', f'gru_reset = "{reset}"']
    params = {}
    for layer in range(1, layers + 1):
        sfx = "" if layer == 1 else f"_{layer}"
        width = D if layer == 1 else H
        for g in gates:
            params[f"W_{g}{sfx}"] = [[draw(small) for _ in range(width)] for _ in range(H)]
            params[f"U_{g}{sfx}"] = [[draw(small) for _ in range(H)] for _ in range(H)]
            params[f"b_{g}{sfx}"] = [draw(small) for _ in range(H)]
        if cell == "gru" and reset == "after":
            params[f"b_hn{sfx}"] = [draw(small) for _ in range(H)]
        if cell == "lstm":
            params[f"c0{sfx}"] = [draw(small) for _ in range(H)]
        params[f"h0{sfx}"] = [draw(small) for _ in range(H)]
    params["W_hz"] = [[draw(small) for _ in range(H)] for _ in range(K)]
    params["b_z"] = [draw(small) for _ in range(K)]
    xs = [[draw(small) for _ in range(D)] for _ in range(T)]
    n_out = T if output == "every" else 1
    if out_act == "softmax":
        ys = [[Fraction(1), Fraction(0)] if draw(st.booleans()) else [Fraction(0), Fraction(1)] for _ in range(n_out)]
    elif loss == "bce":
        ys = [[Fraction(draw(st.integers(0, 1))) for _ in range(K)] for _ in range(n_out)]
    else:
        ys = [[draw(small) for _ in range(K)] for _ in range(n_out)]
    return rnn_toml(H=H, D=D, T=T, K=K, layers=layers, activation="tanh", output=output, output_activation=out_act,
                    loss=loss, params=params, xs=xs, ys=ys, cell=cell, cell_options=options)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(gated_specs())
def test_random_lstm_and_gru_agree_with_autograd_numpy_and_fd(text):
    derivation = derive_text(text)
    verification = verify(derivation)
    assert verification.passed, (verification.summary(), text)
    _autograd_check(text, {s.name: s.floats for s in derivation.steps if s.kind == "gradient"})


def _deep_gated_text(cell: str, steps: int = 6, layers: int = 2, H: int = 3, D: int = 2) -> str:
    """A deep gated RNN with weights of ±0.1…0.9 in a fixed pattern (no randomness)."""
    counter = iter(range(10_000))
    value = lambda: Fraction((next(counter) * 7) % 17 - 8, 10)           # noqa: E731
    gates = "figo" if cell == "lstm" else "urn"
    params = {}
    for layer in range(1, layers + 1):
        sfx = "" if layer == 1 else f"_{layer}"
        width = D if layer == 1 else H
        for g in gates:
            params[f"W_{g}{sfx}"] = [[value() for _ in range(width)] for _ in range(H)]
            params[f"U_{g}{sfx}"] = [[value() for _ in range(H)] for _ in range(H)]
            params[f"b_{g}{sfx}"] = [value() for _ in range(H)]
        if cell == "lstm":
            params[f"c0{sfx}"] = [value() for _ in range(H)]
        params[f"h0{sfx}"] = [value() for _ in range(H)]
    params["W_hz"] = [[value() for _ in range(H)] for _ in range(2)]
    params["b_z"] = [value() for _ in range(2)]
    return rnn_toml(H=H, D=D, T=steps, K=2, layers=layers, activation="tanh", output="last",
                    output_activation="linear", loss="mse", params=params,
                    xs=[[value() for _ in range(D)] for _ in range(steps)], ys=[[Fraction(1, 2)] * 2], cell=cell)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_reference_rounding_magnitudes_stay_bounded_through_deep_gated_cells(cell):
    """The float64 reference carries, per quantity, the scale of its rounding; through gates multiplied
    over time steps it must grow like the values do, not square at every product (which overflowed to
    NaN after five LSTM steps and failed a correct derivation)."""
    from symderiv.verify import reference_for
    derivation = derive_text(_deep_gated_text(cell))
    ref = reference_for(derivation)
    with np.errstate(all="raise"):
        values = ref.backward(ref.float_parameters())
    for name, magnitude in ref.magnitudes.items():
        size = max(1.0, float(np.max(np.abs(values[name]))))
        assert np.all(np.isfinite(magnitude)) and float(np.max(magnitude)) <= 1e4 * size, name
    assert verify(derivation).passed
