"""Shared test helpers: run the CLI as a user would, and compare numbers with honest tolerances."""

from __future__ import annotations

import json
import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import Phase, settings

ROOT = Path(__file__).resolve().parent.parent
CASES = Path(__file__).resolve().parent / "cases"
#: inputs users reported (their claims files are inputs of the tests, not tests of their own)
collect_ignore_glob = ["cases/*"]

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


def run_cli_here(*args, cwd=None, check=False) -> subprocess.CompletedProcess:
    """``symderiv ARGS`` run in this process: what :func:`run_cli` returns, without the half second an
    interpreter and SymPy cost to start. For the many one-line error cases; the exit status, stdout and
    stderr are the CLI's own (an exception that escapes it fails the test, as a traceback would)."""
    from symderiv.cli import main

    out, err = io.StringIO(), io.StringIO()
    here = os.getcwd()
    try:
        os.chdir(cwd or ROOT)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main([str(a) for a in args])
            except SystemExit as exit_:           # argparse's usage errors
                code = exit_.code if isinstance(exit_.code, int) else 1
    finally:
        os.chdir(here)
    if check and code != 0:
        raise AssertionError(f"symderiv {' '.join(map(str, args))} failed ({code}):\n{err.getvalue()}")
    return subprocess.CompletedProcess(["symderiv", *map(str, args)], code, out.getvalue(), err.getvalue())


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


#: Module-scoped fixtures that compile PDFs (5-30 s each). pytest-xdist runs a module fixture once in
#: every worker that runs one of its tests; `make test` runs with ``--dist loadgroup``, and these groups
#: send all the tests of one such fixture to one worker, so each is built once.
SHARED_BUILDS = ("lecture_build", "decks", "tall_solutions", "made", "built")


@pytest.hookimpl(tryfirst=True)          # before xdist's own hook reads the groups
def pytest_collection_modifyitems(config, items):
    for item in items:
        shared = [name for name in SHARED_BUILDS if name in getattr(item, "fixturenames", ())]
        if shared:
            item.add_marker(pytest.mark.xdist_group(shared[0]))
