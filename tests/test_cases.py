"""Inputs users reported (tests/cases/, see its README), each as a class: the file and other members of it.

Values are computed here with mpmath from the equations, never taken from symderiv's output.
"""

from __future__ import annotations

import json

import mpmath
import pytest

from conftest import CASES, run_cli
from symderiv.api import derive_text
from symderiv.spec.load import builtin_text
from symderiv.verify import verify

mpmath.mp.dps = 50


def _json(path_or_name) -> dict:
    proc = run_cli("derive", path_or_name, "--json")
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    return json.loads(proc.stdout)


# -- sums that cancel exactly ----------------------------------------------------------------------------
def test_exact_zero_kernel_gradient_is_zero_everywhere(tmp_path):
    """Three pooling windows choose one cell; its kernel-gradient terms cancel: exactly 0, and k' = 2."""
    data = _json(CASES / "exact-zero-kernel-gradient.toml")
    assert data["gradients"]["dL/dk"][1][0] == 0.0
    assert data["exact"]["dL/dk"][1][0] == "0"
    assert data["updated"]["k"][1][0] == 2.0 and data["exact"]["k'"][1][0] == "2"
    run_cli("build", CASES / "exact-zero-kernel-gradient.toml", "--solutions", "--out", tmp_path, check=True)
    tex = (tmp_path / "exact-zero-kernel-gradient-solutions.tex").read_text()
    row = next(line for line in tex.splitlines() if line.startswith(r"\left[\partial L/\partial k\right]_{2,1} &"))
    cells = [c.strip() for c in row.rstrip("\\ ").split("&")]
    assert cells[1] == "0"                       # exact
    assert "10^{-1}" not in cells[4] and cells[4] != "1.0"      # no false 100 % difference against NumPy
    assert "cdot 10^{-63}" not in tex and "cdot 10^{-62}" not in tex


def test_softmax_outputs_summing_to_one_cancel_exactly():
    """Equal rows of W_hz: Wᵀ(ŷ − y) = 0.1 (ŷ₁ + ŷ₂ − 1) = 0 exactly, and so is everything behind it."""
    text = builtin_text("rnn-text").replace("W_hz = [[0.1], [0.2], [0.3], [0.4]]", "W_hz = [[0.1], [0.1], [0.1], [0.1]]")
    d = derive_text(text)
    for name in ("dL/dh_3", "dL/dh_1", "dL/dW_xh", "dL/dW_hh", "dL/db_h"):
        assert all(n.is_zero for n in d[name].value.flat), name
    assert verify(d).passed


def test_equal_columns_of_w_cancel_in_the_cnn():
    """Equal columns of W and softmax: Wᵀ(ŷ − y) is exactly 0 in every entry, the kernel gradient too."""
    text = builtin_text("cnn-image").replace("W = [[0.2, 0.4, 0.1, -0.5], [-0.3, 0.6, 0.2, 0.1]]",
                                             "W = [[0.2, 0.2, 0.2, 0.2], [0.2, 0.2, 0.2, 0.2]]")
    assert "W = [[0.2, 0.2" in text
    d = derive_text(text)
    assert all(n.is_zero for n in d["dL/dh'''"].value.flat)
    assert all(n.is_zero for n in d["dL/dk"].value.flat)
    assert verify(d).passed


# -- saturated outputs: the float64 check as robust as the derivation --------------------------------------
def test_saturated_sigmoid_bce_derives():
    data = _json(CASES / "saturated-sigmoid-bce.toml")
    assert data["quantities"]["L"] == pytest.approx(125.01571097659452, rel=1e-15)
    assert data["checks"]["passed"]


def _bce(z: list, y: list, mean=False):
    """Binary cross-entropy of σ(z) from the logits, at 50 digits."""
    terms = [t * mpmath.log1p(mpmath.exp(-v)) + (1 - t) * mpmath.log1p(mpmath.exp(v)) for v, t in zip(z, y)]
    return sum(terms) / (len(terms) if mean else 1)


def _cross_entropy(z: list, y: list):
    top = max(z)
    lse = top + mpmath.log(sum(mpmath.exp(v - top) for v in z))
    return -sum(t * (v - lse) for v, t in zip(z, y))


@pytest.mark.parametrize("output, loss, expected", [
    ("sigmoid", "bce", lambda z: _bce(z, [0, 1])),
    ("sigmoid", "bce_mean", lambda z: _bce(z, [0, 1], mean=True)),
    ("softmax", "cross_entropy", lambda z: _cross_entropy(z, [1, 0])),
    ("softmax", "bce", None),          # p = 1 − 1e-183 in float64 is 1: BCE's log(1 − p) from the logits
])
def test_saturated_cnn_outputs_derive(tmp_path, output, loss, expected):
    """cnn-image with W and b scaled by 100: z = [30, 450], every output saturated."""
    text = builtin_text("cnn-image").replace(
        "W = [[0.2, 0.4, 0.1, -0.5], [-0.3, 0.6, 0.2, 0.1]]", "W = [[20, 40, 10, -50], [-30, 60, 20, 10]]")
    text = text.replace("b = [0.1, -0.2]", "b = [10, -20]")
    text = text.replace('activation = "softmax"\nloss = "cross_entropy"', f'activation = "{output}"\nloss = "{loss}"')
    target = "[0, 1]" if output == "sigmoid" else "[1, 0]"
    text = text.replace("value = [0, 1]", f"value = {target}")
    assert f'loss = "{loss}"' in text and "b = [10, -20]" in text
    spec = tmp_path / "saturated.toml"
    spec.write_text(text)
    data = _json(spec)
    assert data["quantities"]["z"] == [30.0, 450.0]
    if expected is not None:
        assert data["quantities"]["L"] == pytest.approx(float(expected([30, 450])), rel=1e-14)
    else:       # −[log p₁ + log(1 − p₂)] with p = softmax(z), at 500 digits (1 − p₂ = e^−420/(1 + e^−420))
        with mpmath.workdps(500):
            p = [mpmath.exp(v) / (mpmath.exp(30) + mpmath.exp(450)) for v in (30, 450)]
            L = -mpmath.log(p[0]) - mpmath.log(1 - p[1])
        assert data["quantities"]["L"] == pytest.approx(float(L), rel=1e-14)
    assert data["checks"]["passed"]


def test_saturated_rnn_softmax_with_bce_derives(tmp_path):
    """rnn-text's softmax saturated (W_hz scaled by 1000) under binary cross-entropy."""
    text = builtin_text("rnn-text").replace("W_hz = [[0.1], [0.2], [0.3], [0.4]]",
                                            "W_hz = [[-400], [200], [300], [900]]")
    text = text.replace('loss = "cross_entropy"', 'loss = "bce"') if 'loss = "cross_entropy"' in text else \
        text.replace('output_activation = "softmax"', 'output_activation = "softmax"\nloss = "bce"')
    spec = tmp_path / "rnn.toml"
    spec.write_text(text)
    data = _json(spec)
    assert data["checks"]["passed"]
    h3 = mpmath.mpf(data["quantities"]["h_3"][0])
    assert abs(h3) > 0.1                 # the scaled outputs are saturated
