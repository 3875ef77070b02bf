"""Whole outputs pinned: every built-in example's ``derive --json``, the checker's verdicts on the
shipped claims files, and the lecture's ``.tex`` (deck and solutions).

These files were produced by the release before the one-engine rewrite and reviewed then; the
rewrite must reproduce them byte for byte. A later intended change regenerates them with
``SYMDERIV_UPDATE_GOLDEN=1`` and shows up as a diff to review.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import ROOT, run_cli

GOLDEN = Path(__file__).parent / "golden" / "whole"
EXAMPLES = ["rnn-timeseries", "rnn-text", "cnn-image", "cnn-image-sigmoid"]
CLAIMS = ["rnn-timeseries", "rnn-text", "cnn-image"]


def _compare(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("SYMDERIV_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    expected = path.read_text(encoding="utf-8")
    if text != expected:
        lines, golden = text.splitlines(), expected.splitlines()
        first = next((i for i, (a, b) in enumerate(zip(lines, golden)) if a != b), min(len(lines), len(golden)))
        got = lines[first] if first < len(lines) else "<end>"
        want = golden[first] if first < len(golden) else "<end>"
        pytest.fail(f"{name} differs first at line {first + 1}:\n  got:  {got[:300]}\n  want: {want[:300]}")


@pytest.mark.parametrize("example", EXAMPLES)
def test_derive_json_unchanged(example):
    proc = run_cli("derive", example, "--json", check=True)
    _compare(f"{example}.json", proc.stdout)


@pytest.mark.parametrize("example", CLAIMS)
def test_claims_verdicts_unchanged(example):
    from symderiv.claims import __file__ as claims_init
    claims = Path(claims_init).parent / f"{example}.claims.toml"
    if claims.is_relative_to(ROOT):
        claims = claims.relative_to(ROOT)       # the report names the file: the same in every checkout
    proc = run_cli("check", claims)
    assert proc.returncode in (0, 1), proc.stderr
    _compare(f"{example}.claims.txt", proc.stdout)


def test_lecture_tex_unchanged(tmp_path):
    run_cli("build", "lecture", "--out", tmp_path, check=True)
    _compare("lecture.tex", (tmp_path / "lecture.tex").read_text(encoding="utf-8"))
    _compare("lecture-solutions.tex", (tmp_path / "lecture-solutions.tex").read_text(encoding="utf-8"))
