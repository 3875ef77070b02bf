"""Verification catches a wrong value and names it; a correct derivation passes."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

from symderiv import derive
from symderiv.errors import VerificationError
from symderiv.numbers import Num
from symderiv.steps import Derivation
from symderiv.tensors import elementwise
from symderiv.verify import probe_indices, verify


def _corrupt(derivation: Derivation, name: str, factor: str) -> Derivation:
    steps = tuple(
        dataclasses.replace(s, value=elementwise(lambda n: n * Num.rational(factor), s.value)) if s.name == name else s
        for s in derivation.steps)
    return derivation.with_steps(steps)


def test_correct_derivation_passes():
    v = verify(derive("rnn-text"))
    assert v.passed and not v.unchecked
    assert v.fd_elements == 4 + 1 + 4 + 1 + 4


@pytest.mark.parametrize("name", ["h_2", "dL/dW_hh(t=2)", "dL/dW_hz", "W_xh'"])
def test_wrong_value_is_named(name):
    bad = _corrupt(derive("rnn-text"), name, "1.000001")
    v = verify(bad)
    assert not v.passed
    assert [c.name for c in v.checks if not c.ok] == [name]
    with pytest.raises(VerificationError, match=re.escape(f"verification failed for {name}")):
        v.raise_if_failed()


def test_wrong_gradient_caught_by_finite_differences_too():
    bad = _corrupt(derive("rnn-timeseries"), "dL/dW_hz", "1.001")
    check = verify(bad).by_name("dL/dW_hz")
    assert not check.fd_ok and not check.ok


def test_saturated_gradients_verified_relatively():
    """The time-series gradients of W_xh are ~1e-7 and ~1e-23 per step: checked relative, not absolute."""
    v = verify(derive("rnn-timeseries"))
    c = v.by_name("dL/dW_xh(t=1)")
    assert 0 < abs(c.exact.item()) < 1e-20
    assert c.max_rel_diff < 1e-12


def test_probe_indices_spread_and_cover_small_tensors():
    assert probe_indices((2, 3)) == [(i, j) for i in range(2) for j in range(3)]
    big = probe_indices((10, 676), limit=48)
    assert len(big) == 48 and big[0] == (0, 0) and big[-1] == (9, 675)


def test_huge_inputs_are_verified_where_float64_holds_them(tmp_path):
    """x_1 = 1e200 saturates tanh (its derivative is 10^(−8.7e199)); the loss and the gradients are
    ordinary numbers, so the example derives and is verified (a valid input is never refused)."""
    from conftest import run_cli
    spec = tmp_path / "huge.toml"
    spec.write_text('[example]\nname = "huge"\nkind = "rnn"\n[network]\nhidden_size = 1\n[input]\n'
                    'sequence = [1e200, 2]\n[target]\nvalue = 1\n[parameters]\nW_xh = [[1]]\nW_hh = [[1]]\n'
                    'W_hz = [[1]]\n[training]\nlearning_rate = 0.1\n')
    proc = run_cli("derive", spec)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert "10^-8.686e+199" in proc.stdout


def test_a_loss_beyond_float64_is_refused(tmp_path):
    """L ≈ 1e400 has no float64 value at all: the independent check cannot be made; one line, exit 2."""
    from conftest import run_cli
    spec = tmp_path / "huge.toml"
    spec.write_text('[example]\nname = "huge"\nkind = "rnn"\n[network]\nhidden_size = 1\n[input]\n'
                    'sequence = [1, 2]\n[target]\nvalue = 1\n[parameters]\nW_xh = [[1]]\nW_hh = [[1]]\n'
                    'W_hz = [[1e200]]\n[training]\nlearning_rate = 0.1\n')
    proc = run_cli("derive", spec)
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("symderiv: error: L reaches about 1e399: values beyond 1e150 cannot be "
                                   "verified by the independent float64 check (their products overflow); "
                                   "scale the example's numbers down")


def test_compare_all_matches_compare_item_by_item():
    """The all-at-once comparison (entries laid end to end) decides exactly as comparing each step alone:
    worst difference, verdict, worst index, per-entry differences; with and without magnitudes, exact zeros
    against float noise, scalars and non-finite items."""
    from symderiv.verify import compare, compare_all
    rng = np.random.default_rng(7)
    items = []
    for k in range(400):
        shape = [(), (3,), (2, 3), (1,), (4, 1)][k % 5]
        exact = rng.normal(size=shape) * 10.0 ** rng.integers(-3, 4)
        ref = exact * (1 + rng.normal(size=shape) * 10.0 ** rng.integers(-15, -6)) if k % 3 else exact.copy()
        if k % 7 == 0:
            ref = ref + 1e-13
        if k % 11 == 0:
            exact, ref = exact * 0, exact * 0 + 1e-17 * (k % 2)
        if k % 37 == 0:
            ref = np.full_like(ref, np.inf)
        magnitude = None if k % 2 else np.abs(exact) * 10.0 ** rng.integers(0, 6)
        items.append((exact, ref, magnitude))
    together = compare_all(items)
    verdicts = []
    for (exact, ref, magnitude), got in zip(items, together):
        want = compare(exact, ref, magnitude)
        assert got[1] == want[1] and got[2] == want[2]
        assert got[0] == pytest.approx(want[0], rel=1e-15) or got[0] == want[0]
        if want[3] is not None:
            np.testing.assert_allclose(got[3], want[3], rtol=1e-15)
        verdicts.append(want[1])
    assert 0 < sum(verdicts) < len(verdicts)          # both verdicts occur
