"""``symderiv check`` as a user runs it: exit statuses, the four formats, the LaTeX errata frame."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

import handcalc as H
from conftest import ROOT, assert_close
from conftest import run_cli_here as run_cli
from handcalc import rnn_text
from mpmath import mp

CLAIMS = ROOT / "symderiv" / "claims"


def write(tmp_path, text: str, name: str = "c.claims.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_exit_status_zero_when_every_claim_holds(tmp_path):
    path = write(tmp_path, 'example = "rnn-text"\n[claims]\na_1 = "= 0.5"\nh_1 = "≈ 0.462"\n')
    proc = run_cli("check", path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == f"2 claims of {path} checked against rnn-text"
    assert lines[1:3] == ["ok        a_1 = 0.5", "ok        h_1 ≈ 0.462: is ≈ 0.4621"]
    assert lines[3] == "2 claims: 2 ok, 0 rounding, 0 inexact, 0 wrong"


def test_exit_status_one_and_one_line_a_claim(tmp_path):
    proc = run_cli("check", "rnn-text", CLAIMS / "rnn-text.claims.toml", "--no-fd")
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    claim_lines = [l for l in lines if l.split(" ", 1)[0] in ("ok", "rounding", "inexact", "wrong")]
    assert len(claim_lines) == 26
    assert sum(1 for l in lines if l.startswith("-- ")) == 4          # the four groups of the file
    # the softmax outputs and ŷ - y written with "=" are inexact (tests/test_checker_lecture.py decides each)
    assert lines[-1] == "26 claims: 8 ok, 0 rounding, 2 inexact, 16 wrong (3 root errors, 13 inherited)"


def test_inexact_claims_pass_unless_strict(tmp_path):
    h1 = rnn_text()["h_1"][0]
    assert f"{float(h1):.3f}" == "0.462"
    path = write(tmp_path, 'example = "rnn-text"\n[claims]\nh_1 = "= 0.462"\n')
    proc = run_cli("check", path, "--no-fd")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines()[1].startswith("inexact   h_1 = 0.462: the true value is ≈ 0.4621")
    assert proc.stdout.splitlines()[2] == "1 claim: 0 ok, 0 rounding, 1 inexact, 0 wrong"
    strict = run_cli("check", path, "--no-fd", "--strict")
    assert strict.returncode == 1
    assert strict.stdout.splitlines()[0].endswith("(strict: '=' before a rounded value fails)")
    data = json.loads(run_cli("check", path, "--no-fd", "--strict", "--format", "json").stdout)
    assert (data["passed"], data["strict"], data["claims"][0]["status"]) == (False, True, "inexact")
    assert data["summary"]["inexact"] == 1


def test_lints_are_reported(tmp_path):
    path = write(tmp_path, 'example = "rnn-timeseries"\n[claims]\na_1 = "= 9"\n')
    out = run_cli("check", path, "--no-fd").stdout
    assert "note [saturation]: Saturated activation: tanh'(a_1)" in out
    assert "note [scale-mismatch]:" in out


def test_json_format(tmp_path):
    proc = run_cli("check", "rnn-text", CLAIMS / "rnn-text.claims.toml", "--format", "json", "--no-fd")
    data = json.loads(proc.stdout)
    assert data["example"] == "rnn-text" and data["passed"] is False
    assert data["summary"] == {"claims": 26, "ok": 8, "rounding": 0, "inexact": 2, "wrong": 16, "root": 3,
                               "inherited": 13}
    assert data["strict"] is False
    assert [c["key"] for c in data["claims"] if c["status"] == "inexact"] == ["yhat_3", "dL/dz_3"]
    whz = next(c for c in data["claims"] if c["key"] == "dL/dW_hz")
    truth = rnn_text()["dL/dW_hz"]
    assert_close(whz["true"], [float(r[0]) for r in truth], rtol=1e-14)     # in the shape printed (flat)
    assert whz["status"] == "wrong" and whz["cause"] == "root" and whz["problems"] == ["value"]
    assert whz["where"] == "loss and output gradients"


def test_markdown_format():
    proc = run_cli("check", "rnn-text", CLAIMS / "rnn-text.claims.toml", "--format", "md", "--no-fd")
    lines = proc.stdout.splitlines()
    assert "| verdict | quantity | printed | true value | why |" in lines
    row = next(l for l in lines if l.startswith("| **wrong** (root) | `dL/dW_hz` |"))
    assert row.count(" | ") == 4                     # five cells: no stray pipe from the text
    assert "`h_1` in place of `h_3`" in row


def test_errata_list_inexact_numbers_apart():
    proc = run_cli("check", "rnn-text", CLAIMS / "rnn-text.claims.toml", "--format", "tex", "--no-fd")
    text = proc.stdout
    wrong, _, inexact = text.partition("are right to the digits printed, but rounded")
    assert wrong.count(r"\item") == 16 and inexact.count(r"\item") == 2
    assert r"\item $\hat{y}_{3}$ (forward pass): printed $= [0.241,\allowbreak 0.247" in inexact
    assert "% 16 of 26 printed numbers are wrong, 2 rounded but written with '='." in text
    for op in ("matvec", "fused_output_grad", "mse_grad", "outer", "recurrent_affine"):
        assert op not in text


def test_output_file_is_written_whole(tmp_path):
    out = tmp_path / "errata.tex"
    proc = run_cli("check", "rnn-text", CLAIMS / "rnn-text.claims.toml", "--format", "tex", "-o", out, "--no-fd")
    assert proc.returncode == 1 and proc.stdout == ""
    text = out.read_text(encoding="utf-8")
    assert text.count(r"\begin{frame}") == 1 and text.rstrip().endswith(r"\end{frame}")
    assert list(tmp_path.iterdir()) == [out]         # no temporary file left behind
    proc = run_cli("check", "rnn-text", CLAIMS / "rnn-text.claims.toml", "-o", tmp_path / "no" / "x.txt")
    assert proc.returncode == 2 and "does not exist" in proc.stderr


def test_user_text_is_escaped_in_the_errata(tmp_path):
    source = r"50% of \input{/etc/passwd} & $x$ #1 ~ _ ^"
    path = write(tmp_path, f'example = "rnn-text"\nsource = \'{source}\'\n'
                           '[claims."slide {1} \\\\write18"]\nh_1 = "≈ 0.500"\n')
    tex = run_cli("check", path, "--format", "tex", "--no-fd").stdout
    body = "\n".join(l for l in tex.splitlines() if not l.startswith("%"))
    assert r"\input{" not in body and r"\write18" not in body
    assert r"50\% of \textbackslash{}input\{/etc/passwd\} \& \$x\$ \#1" in body
    assert r"slide \{1\} \textbackslash{}write18" in body


@pytest.mark.latex
def test_errata_frames_compile_without_shell_escape(tmp_path):
    if shutil.which("pdflatex") is None:
        pytest.fail("pdflatex is missing: make test installs TeX Live")
    inputs = []
    for name in ("rnn-text", "rnn-timeseries", "cnn-image"):
        out = tmp_path / f"{name}.tex"
        run_cli("check", name, CLAIMS / f"{name}.claims.toml", "--format", "tex", "-o", out, "--no-fd")
        inputs.append(rf"\input{{{name}.tex}}")
    # explanations with formulas: W_hh in place of W_hhᵀ, ŷ - y in place of 2(ŷ - y)
    (tmp_path / "two.toml").write_text(H.TWO_UNITS_SPEC)
    q, ts = H.rnn_two_units(), H.rnn_timeseries()
    slips = {"two": ('spec = "two.toml"\n[claims]\n"dL/da_3" = "≈ [%s, %s]"\n"dL/dh_2" = "≈ [%s, %s]"\n'
                     % (*(mp.nstr(v, 5) for v in q["dL/da_3"]), *(mp.nstr(v, 3) for v in q["W_hh dL/da_3"]))),
             "half": ('example = "rnn-timeseries"\n[claims]\nyhat_4 = "≈ %s"\n"dL/dyhat_4" = "≈ %s"\n'
                      % (mp.nstr(ts["yhat_4"][0], 10), mp.nstr(mp.mpf(mp.nstr(ts["yhat_4"][0], 10)) - 15, 8)))}
    for name, text in slips.items():
        (tmp_path / f"{name}.claims.toml").write_text(text, encoding="utf-8")
        proc = run_cli("check", tmp_path / f"{name}.claims.toml", "--format", "tex", "-o", tmp_path / f"{name}.tex",
                       "--no-fd")
        assert proc.returncode == 1 and "gives instead of" in (tmp_path / f"{name}.tex").read_text(), proc.stderr
        inputs.append(rf"\input{{{name}.tex}}")
    deck = tmp_path / "deck.tex"
    deck.write_text("\\documentclass{beamer}\n\\usepackage[T1]{fontenc}\n\\begin{document}\n"
                    "\\begin{frame}{A slide}Some slide.\\end{frame}\n" + "\n".join(inputs) + "\n\\end{document}\n")
    proc = subprocess.run(["pdflatex", "-no-shell-escape", "-interaction=nonstopmode", "-halt-on-error", deck.name],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:]
    text = subprocess.run(["pdftotext", "deck.pdf", "-"], cwd=tmp_path, capture_output=True, text=True).stdout
    assert "Errata" in text and "to the digits printed" in text
    words = " ".join(text.split())
    assert "a missing factor 2" in words and "gives instead of" in words
