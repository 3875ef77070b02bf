"""The exam's model solution, checked with the same tool (a dict of claims instead of a file)."""

from pathlib import Path

from symderiv.testing import assert_claims

HERE = Path(__file__).parent


def test_exam_solution_numbers():
    assert_claims(HERE / "slides" / "forecast.toml", {
        "yhat_4": "≈ 15.474",
        "L": "≈ 0.224",
        "dL/dW_hz": "≈ 0.449",
        "W_hz'": "≈ 0.955",
    })
