"""Teaching lints: each found where it should be (values by hand), absent where it should not, silenced by name."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest
from mpmath import mp, mpf

import handcalc as H
from conftest import ROOT
from conftest import run_cli_here as run_cli
from specgen import rnn_toml
from symderiv.api import derive, derive_text
from symderiv.errors import SpecError
from symderiv.lints import LINTS, lint_derivation
from symderiv.spec.load import builtin_text

FORECAST = ROOT / "docs" / "examples" / "lecturer-repo" / "slides" / "forecast.toml"


def lints_of(derivation) -> dict:
    return {lint.name: lint for lint in lint_derivation(derivation)}


def sci(x) -> str:
    """4 significant digits, written like 1.502e-8 (our own formatting of an mpmath value)."""
    e = int(mp.floor(mp.log10(abs(x))))
    return f"{float(x / mp.mpf(10) ** e):.3f}e{e}"


def test_saturation_says_by_how_much():
    truth = H.rnn_timeseries()
    lint = lints_of(derive("rnn-timeseries"))["saturation"]
    for t in (1, 2, 3):
        factor = truth[f"dh_{t}/da_{t}"][0]
        assert factor == pytest.approx(1 / mp.cosh(truth[f"a_{t}"][0]) ** 2)
        assert f"tanh'(a_{t}) ≈ {sci(factor)}" in lint.message
    assert f"dL/dW_xh ≈ {sci(truth['dL/dW_xh'][0][0])}" in lint.message
    assert set(lint.steps) == {"dh_1/da_1", "dh_2/da_2", "dh_3/da_3"}


def test_no_saturation_in_moderate_examples():
    assert "saturation" not in lints_of(derive("rnn-text"))
    assert "saturation" not in lints_of(derive(str(FORECAST)))


def test_scale_mismatch_of_raw_temperatures():
    lint = lints_of(derive("rnn-timeseries"))["scale-mismatch"]
    # (x - 15) / (16 - 15) for x = 15, 16, 15.5
    assert "raw values (15, 16, 15.5)" in lint.message and "would be 0, 1, 0.5" in lint.message
    assert "scale-mismatch" not in lints_of(derive(str(FORECAST)))     # the inputs there are normalised


def test_dead_relu_units_and_pooling_tie():
    cnn = H.cnn_image()
    conv = cnn["h"][0]
    dead = [(i, j) for i in range(3) for j in range(3) if conv[i][j] <= 0]
    found = lints_of(derive("cnn-image"))
    lint = found["dead-relu"]
    assert f"{len(dead)} of the 9 entries of h" in lint.message
    for i, j in dead:
        assert f"h[{i},{j}] = {int(conv[i][j])}" in lint.message
    relu = cnn["h'"][0]
    window = [relu[r][c] for r in range(2) for c in range(2)]
    assert window.count(max(window)) == 4
    tie = found["pooling-tie"]
    assert "the window of h''[0,0] has its maximum 0 in 4 cells of h'" in tie.message
    assert "h'[0,0] gets its gradient" in tie.message
    assert tie.steps == ("h''", "dL/dh'")
    assert "pooling-tie" not in lints_of(derive("rnn-text"))


def _rnn(out_act: str, loss: str, K: int = 2, w_hz=Fraction(1, 2)) -> str:
    ys = [[Fraction(int(i == K - 1)) for i in range(K)]]
    params = {"W_xh": [[Fraction(1, 2)]], "W_hh": [[Fraction(1, 5)]], "b_h": [Fraction(0)], "h0": [Fraction(0)],
              "W_hz": [[w_hz] for _ in range(K)], "b_z": [Fraction(0)] * K}
    return rnn_toml(H=1, D=1, T=2, K=K, layers=1, activation="tanh", output="last", output_activation=out_act,
                    loss=loss, params=params, xs=[[Fraction(1)], [Fraction(1, 2)]], ys=ys)


@pytest.mark.parametrize("out_act, loss, words", [
    ("softmax", "mse", "mean squared error after softmax"),
    ("softmax", "bce", "binary cross-entropy after softmax"),
    ("sigmoid", "cross_entropy", "categorical cross-entropy after sigmoid"),
    ("sigmoid", "mse", "mean squared error after sigmoid"),
])
def test_loss_that_does_not_match_the_output(out_act, loss, words):
    lint = lints_of(derive_text(_rnn(out_act, loss)))["loss-mismatch"]
    assert words in lint.message and lint.steps == ("L",)


@pytest.mark.parametrize("out_act, loss", [("softmax", "cross_entropy"), ("sigmoid", "bce"), ("linear", "mse")])
def test_matching_losses_are_quiet(out_act, loss):
    assert "loss-mismatch" not in lints_of(derive_text(_rnn(out_act, loss)))


def test_exploding_values():
    text = _rnn("linear", "mse", K=1, w_hz=Fraction(5000))
    found = lints_of(derive_text(text))
    # h_2 = tanh(0.25 + 0.2 tanh(0.5)), z_2 = 5000 h_2
    z = 5000 * mp.tanh(mpf("0.25") + mpf("0.2") * mp.tanh(mpf("0.5")))
    assert z > 1000
    lint = found["exploding"]
    assert "z_2" in lint.steps and f"z_2 ≈ {int(z)}" in lint.message
    assert f"L ≈ {sci((z - 1) ** 2)}" in lint.message        # L = (ŷ - y)² with ŷ = z_2, y = 1
    assert "exploding" not in lints_of(derive("rnn-text"))


def test_silenced_by_name_in_rnn_and_cnn_specs():
    text = builtin_text("rnn-timeseries") + '\n[lints]\nsilence = ["saturation"]\n'
    assert set(lints_of(derive_text(text))) == {"scale-mismatch"}
    text = builtin_text("cnn-image") + '\n[lints]\nsilence = ["dead-relu", "pooling-tie"]\n'
    assert lints_of(derive_text(text)) == {}


def test_unknown_lint_name_is_bad_input(tmp_path):
    text = builtin_text("rnn-text") + '\n[lints]\nsilence = ["saturaton"]\n'
    with pytest.raises(SpecError) as info:
        lint_derivation(derive_text(text))
    assert str(info.value) == ("field 'lints.silence': expected names of teaching lints (" + ", ".join(LINTS)
                               + "); did you mean 'saturation'?, found 'saturaton'")
    spec = tmp_path / "s.toml"
    spec.write_text(text)
    proc = run_cli("derive", spec, "--no-fd")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1


def test_derive_reports_lints():
    data = json.loads(run_cli("derive", "rnn-timeseries", "--json", "--no-fd", check=True).stdout)
    assert [l["name"] for l in data["lints"]] == ["saturation", "scale-mismatch"]
    out = run_cli("derive", "cnn-image", "--no-fd", check=True).stdout
    assert "note [dead-relu]:" in out and "note [pooling-tie]:" in out


def test_a_saturated_gate_is_noted_but_a_forget_gate_near_one_is_not():
    """LSTM with W_f = 9 (the forget gate stays near 1: it keeps the memory) and W_i = −9 (the input gate
    is shut: σ′(−9) = e^9/(1 + e^9)² ≈ 1.234e-4 < 1 % of σ′'s largest value 1/4)."""
    text = builtin_text("lstm-sequence").replace("W_f = [[0.5]]", "W_f = [[9]]").replace("W_i = [[0.4]]",
                                                                                        "W_i = [[-9]]")
    lints = {lint.name: lint for lint in lint_derivation(derive_text(text))}
    message = lints["saturation"].message
    assert "sigmoid'(ai_1) ≈ 1.234e-4 where ai_1 = -9 (the input gate i_1)" in message
    assert "af_" not in message and "forget" not in message
