"""``symderiv build`` without LaTeX: which files appear, bad input, determinism across processes."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import ROOT
from conftest import run_cli_here as run_cli

NASTY_NOTATION = """
[example]
name = "bad-notation"
kind = "rnn"

[network]
hidden_size = 1

[input]
sequence = [1.0, 2.0]

[target]
value = 1

[parameters]
W_xh = [[0.5]]
W_hh = [[0.5]]
W_hz = [[1.0]]

[training]
learning_rate = 0.1

[notation]
activation = '\\input{/etc/passwd}'
"""


def test_build_writes_deck_and_solutions_by_default(tmp_path):
    proc = run_cli("build", "rnn-timeseries", "--out", tmp_path / "out", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["rnn-timeseries-solutions.tex", "rnn-timeseries.tex"]
    deck = (tmp_path / "out" / "rnn-timeseries.tex").read_text()
    assert r"\documentclass[11pt,aspectratio=169]{beamer}" in deck
    assert r"\documentclass[11pt,a4paper]{article}" in (tmp_path / "out" / "rnn-timeseries-solutions.tex").read_text()


def test_default_output_directory_is_output_in_the_current_directory(tmp_path):
    proc = run_cli("build", "rnn-text", "--questions", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (tmp_path / "output").iterdir()) == ["rnn-text-questions.tex"]


def test_lecture_is_one_deck_of_three_examples(tmp_path):
    proc = run_cli("build", "lecture", "--slides", "--out", tmp_path)
    assert proc.returncode == 0, proc.stderr
    deck = (tmp_path / "lecture.tex").read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["lecture.tex"]
    for title in ("Forecasting a temperature", "Predicting the next word", "Classifying a 5"):
        assert f"\\section{{{title}" in deck


def test_unknown_example_is_one_line_and_writes_nothing(tmp_path):
    proc = run_cli("build", "rnn-text", "no-such-example", "--out", tmp_path / "out")
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "no-such-example" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


def test_missing_spec_file_is_one_line(tmp_path):
    proc = run_cli("build", tmp_path / "missing.toml", "--out", tmp_path / "out")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "missing.toml" in proc.stderr


def test_notation_that_could_run_latex_is_refused(tmp_path):
    spec = tmp_path / "bad.toml"
    spec.write_text(NASTY_NOTATION)
    proc = run_cli("build", spec, "--out", tmp_path / "out")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and r"\input" in proc.stderr and "not allowed" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_digits_out_of_range_is_refused(tmp_path):
    proc = run_cli("build", "rnn-text", "--digits", "40", "--out", tmp_path)
    assert proc.returncode == 2 and "--digits" in proc.stderr


def test_digits_change_the_rounding(tmp_path):
    run_cli("build", "rnn-text", "--slides", "--digits", "6", "--out", tmp_path, check=True)
    deck = (tmp_path / "rnn-text.tex").read_text()
    assert "1.35127" in deck and r"\approx 1.351\n" not in deck


def test_same_spec_gives_byte_identical_tex_across_processes(tmp_path):
    outputs = []
    for seed in ("1", "2"):
        out = tmp_path / seed
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": seed}
        subprocess.run([sys.executable, "-m", "symderiv", "build", "lecture", "--slides", "--solutions", "--questions",
                        "--out", str(out)],
                       check=True, capture_output=True, env=env, cwd=ROOT, timeout=600)
        outputs.append({p.name: p.read_bytes() for p in out.iterdir()})
    assert outputs[0] == outputs[1] and len(outputs[0]) == 3


def test_reveal_numbers_every_line(tmp_path):
    run_cli("build", "rnn-timeseries", "--slides", "--reveal", "--out", tmp_path, check=True)
    deck = (tmp_path / "rnn-timeseries.tex").read_text()
    assert r"\uncover<1->{a_{1}}" in deck and r"\uncover<3->{{}= 9}" in deck


def test_name_puts_several_specs_into_one_deck(tmp_path):
    proc = run_cli("build", "rnn-text", "cnn-image", "--name", "week5", "--slides", "--solutions", "--out", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["week5-solutions.tex", "week5.tex"]
    deck = (tmp_path / "week5.tex").read_text()
    assert deck.count(r"\section{") == 3              # two examples and the verification appendix
    assert r"\title[week5]{week5}" in deck and r"\tableofcontents" in deck


def test_title_names_the_documents(tmp_path):
    run_cli("build", "rnn-text", "cnn-image", "--name", "week5", "--title", "Week 5: backprop", "--slides",
            "--out", tmp_path, check=True)
    assert r"\title[Week 5: backprop]{Week 5: backprop}" in (tmp_path / "week5.tex").read_text()


def test_name_that_is_no_file_name_is_refused(tmp_path):
    proc = run_cli("build", "rnn-text", "--name", "a/b", "--out", tmp_path / "out")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "--name" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_theme_is_used_and_an_unknown_one_refused(tmp_path):
    run_cli("build", "rnn-text", "--slides", "--theme", "Madrid", "--out", tmp_path, check=True)
    deck = (tmp_path / "rnn-text.tex").read_text()
    assert r"\usetheme{Madrid}" in deck and r"\setbeamertemplate{footline}" not in deck
    proc = run_cli("build", "rnn-text", "--theme", "NoSuchTheme", "--out", tmp_path / "out")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "--theme" in proc.stderr and "Madrid" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_compact_detail_is_shorter_and_keeps_the_verification_in_the_solutions(tmp_path):
    run_cli("build", "lecture", "--detail", "compact", "--out", tmp_path / "c", check=True)
    run_cli("build", "lecture", "--out", tmp_path / "f", check=True)
    compact, full = ((tmp_path / d / "lecture.tex").read_text() for d in ("c", "f"))
    assert compact.count(r"\begin{frame}") < 0.6 * full.count(r"\begin{frame}")
    assert r"\section{Verification}" not in compact and r"\section{Verification}" in full
    assert r"\section{Verification}" in (tmp_path / "c" / "lecture-solutions.tex").read_text()
    proc = run_cli("build", "lecture", "--detail", "short", "--out", tmp_path / "x")
    assert proc.returncode == 2 and "--detail" in proc.stderr
