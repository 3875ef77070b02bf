"""Shared test helpers: run the CLI as a user would, and compare numbers with honest tolerances."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import Phase, settings

ROOT = Path(__file__).resolve().parent.parent

# Property tests: reproducible in CI (the same examples every run, no example database, no shrinking
# that could take minutes after a failure), exploring new examples on a developer's machine.
settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True,
                          phases=(Phase.explicit, Phase.generate))
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


def run_cli(*args, cwd=None, check=False) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "symderiv", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd or ROOT, env=env, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"symderiv {' '.join(map(str, args))} failed ({proc.returncode}):\n{proc.stderr}")
    return proc


def derive_json(example: str) -> dict:
    return json.loads(run_cli("derive", example, "--json", check=True).stdout)


def assert_close(actual, expected, rtol=1e-9, atol=0.0, what=""):
    actual = np.asarray(actual, dtype=float)
    expected = np.asarray(expected, dtype=float)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=what)


@pytest.fixture
def cli():
    return run_cli
