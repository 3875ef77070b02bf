"""The command line as a user runs it: list, derive (text and JSON contract)."""

from __future__ import annotations

import json

import numpy as np

from conftest import run_cli


def test_list_names_first():
    proc = run_cli("list", check=True)
    names = [line.split("\t")[0] for line in proc.stdout.strip().splitlines()]
    assert "rnn-timeseries" in names and "rnn-text" in names
    assert names == sorted(names)


def test_derive_json_contract():
    data = json.loads(run_cli("derive", "rnn-text", "--json", check=True).stdout)
    assert data["example"] == "rnn-text"
    for key in ("quantities", "gradients", "updated", "checks"):
        assert isinstance(data[key], dict)
    params = {"W_xh": (1, 4), "W_hh": (1, 1), "W_hz": (4, 1), "b_h": (1,), "b_z": (4,)}
    for name, shape in params.items():
        assert np.shape(data["gradients"][f"dL/d{name}"]) == shape
        assert np.shape(data["updated"][name]) == shape
        # the update is W − η ∂L/∂W, element by element
        np.testing.assert_allclose(data["updated"][name],
                                   np.array(data["quantities"][name]) - 0.1 * np.array(data["gradients"][f"dL/d{name}"]),
                                   rtol=1e-14, atol=1e-17)
    assert data["checks"]["passed"] is True


def test_derive_text_is_readable():
    out = run_cli("derive", "rnn-timeseries", check=True).stdout
    assert "== Forward pass ==" in out and "== Backward pass ==" in out
    assert "dL/dW_hh(t=3)" in out
    assert "verified:" in out
    # a saturated tanh is not printed as a misleading 1.0
    h1_line = out.splitlines()[out.splitlines().index("  h_1 = sigma_tanh(a_1)") + 1]
    assert "0.99999997" in h1_line


def test_custom_parameter_names(tmp_path):
    from symderiv.spec.load import builtin_text
    text = builtin_text("rnn-text").replace("[parameters]\nW_xh", '[names]\nW_xh = "U"\nW_hh = "W"\nW_hz = "V"\n\n[parameters]\nU')
    text = text.replace("W_hh = [[0.2]]", "W = [[0.2]]").replace("W_hz = [[0.1]", "V = [[0.1]")
    spec = tmp_path / "named.toml"
    spec.write_text(text)
    data = json.loads(run_cli("derive", spec, "--json", check=True).stdout)
    assert {"dL/dU", "dL/dW", "dL/dV", "dL/db_h", "dL/db_z"} == set(data["gradients"])
    assert set(data["updated"]) == {"U", "W", "V", "b_h", "b_z"}
