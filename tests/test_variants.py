"""``symderiv variants`` end to end: different variants whose specs derive to the answer key, the same bytes
from the same seed, constraints that hold when checked apart from the program, a Moodle quiz read back."""

from __future__ import annotations

import csv
import json
import math
import tomllib
import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from autodiff_rnn import gradients
from conftest import run_cli

COUNT = 4


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """The issue's command, twice, into two directories."""
    dirs = []
    for name in ("a", "b"):
        out = tmp_path_factory.mktemp(name) / "D"
        proc = run_cli("variants", "rnn-text", "--count", COUNT, "--seed", 7, "--jobs", 2, "--out", out,
                       "--moodle", out / "quiz.xml", check=True)
        assert proc.stderr == ""                      # no progress bar off a terminal
        dirs.append(out)
    return dirs


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".symderiv-latex" not in p.parts}


def answers(out: Path) -> list[dict]:
    return json.loads((out / "answers.json").read_text(encoding="utf-8"))["rows"]


def test_the_same_command_gives_the_same_bytes(made):
    a, b = (files(d) for d in made)
    assert sorted(a) == sorted(b)
    assert a == b
    folders = [f"rnn-text-v0{n}" for n in range(1, COUNT + 1)]
    for folder in folders:
        assert {f"{folder}/spec.toml", f"{folder}/questions.tex", f"{folder}/solutions.tex"} <= set(a)
    assert {"answers.csv", "answers.json", "quiz.xml"} <= set(a)


def test_the_variants_are_pairwise_different(made):
    specs = [tomllib.loads((made[0] / f"rnn-text-v0{n}" / "spec.toml").read_text()) for n in range(1, COUNT + 1)]
    keys = {json.dumps([s["input"], s["target"], s["parameters"]], sort_keys=True) for s in specs}
    assert len(keys) == COUNT
    rows = answers(made[0])
    per_variant = {n: tuple(r["value"] for r in rows if r["variant"] == n) for n in range(1, COUNT + 1)}
    assert len(set(per_variant.values())) == COUNT


def test_each_spec_derives_to_exactly_the_answer_key(made):
    rows = answers(made[0])
    for n in range(1, COUNT + 1):
        folder = made[0] / f"rnn-text-v0{n}"
        derived = json.loads(run_cli("derive", folder / "spec.toml", "--json", check=True).stdout)["quantities"]
        mine = [r for r in rows if r["variant"] == n]
        # the default: the loss and every entry of every parameter's gradient
        assert [r["quantity"] for r in mine][:1] == ["L"]
        assert len(mine) == 1 + 4 + 4 + 4 + 1 + 1          # L, W_hz (4×1), b_z, W_xh (1×4), W_hh, b_h
        for r in mine:
            name, _, index = r["quantity"].partition("[")
            value = derived[name]
            for i in (int(k) for k in index.rstrip("]").split(",") if index):
                value = value[i]
            while isinstance(value, list):                  # a one-entry quantity asked as a whole
                (value,) = value
            assert r["value"] == value, r                   # the same float64, bit for bit


def test_the_answers_agree_with_an_independent_autograd_computation(made):
    rows = answers(made[0])
    for n in range(1, COUNT + 1):
        data = tomllib.loads((made[0] / f"rnn-text-v0{n}" / "spec.toml").read_text())
        loss, grads = gradients(data)
        mine = {r["quantity"]: r for r in rows if r["variant"] == n}
        assert math.isclose(mine["L"]["value"], loss, rel_tol=1e-9)
        for (i, j), g in np.ndenumerate(grads["W_xh"]):
            assert math.isclose(mine[f"dL/dW_xh[{i},{j}]"]["value"], g, rel_tol=1e-9, abs_tol=1e-15)
        assert math.isclose(mine["dL/dW_hh"]["value"], grads["W_hh"].item(), rel_tol=1e-9)


def test_tolerances_follow_the_rules(made):
    for r in answers(made[0]):
        wanted = max(0.0005, 0.01 * abs(r["value"]))          # rnn-text's rules: the defaults
        assert wanted <= r["tolerance"] <= wanted * 1.1 + 1e-12, r


def test_csv_and_json_hold_the_same_rows(made):
    with open(made[0] / "answers.csv", encoding="utf-8", newline="") as f:
        table = list(csv.DictReader(f))
    rows = answers(made[0])
    assert len(table) == len(rows) == COUNT * 15
    for line, row in zip(table, rows):
        assert (int(line["variant"]), line["folder"], line["quantity"]) == (row["variant"], row["folder"],
                                                                           row["quantity"])
        assert float(line["value"]) == row["value"] and float(line["tolerance"]) == row["tolerance"]


def test_the_rules_constraints_hold(made):
    """rnn-text's rules, checked from each spec.toml with plain arithmetic: no saturated tanh (tanh' ≥ 1 % of
    its peak), a_1 exact with at most one decimal, answers at most 10 and exactly 0 or at least 0.001."""
    for n in range(1, COUNT + 1):
        data = tomllib.loads((made[0] / f"rnn-text-v0{n}" / "spec.toml").read_text())
        vocab, par = data["input"]["vocabulary"], data["parameters"]
        w_xh = [Fraction(str(v)) for v in par["W_xh"][0]]
        w_hh = Fraction(str(par["W_hh"][0][0]))
        a1 = w_xh[vocab.index(data["input"]["tokens"][0])]          # h_0 = 0, b_h = 0
        assert (a1 * 10).denominator == 1
        h = 0.0
        for token in data["input"]["tokens"]:
            a = float(w_xh[vocab.index(token)]) + float(w_hh) * h
            h = math.tanh(a)
            assert 1 - h * h >= 0.01
    for r in answers(made[0]):
        assert abs(r["value"]) <= 10
        assert r["value"] == 0 or abs(r["value"]) >= 0.001


def test_the_moodle_quiz_reads_back(made):
    root = ET.parse(made[0] / "quiz.xml").getroot()
    assert root.tag == "quiz"
    questions = root.findall("question[@type='numerical']")
    categories = [q.findtext("category/text") for q in root.findall("question[@type='category']")]
    assert categories == [f"$course$/top/symderiv/rnn-text seed 7/variant 0{n}" for n in range(1, COUNT + 1)]
    rows = answers(made[0])
    assert len(questions) == len(rows)
    for question, row in zip(questions, rows):
        assert question.findtext("name/text") == f"{row['folder']}: {row['quantity']}"
        answer = question.find("answer")
        assert answer.get("fraction") == "100"
        assert float(answer.findtext("text")) == row["value"]
        assert float(answer.findtext("tolerance")) == row["tolerance"]
        text = question.findtext("questiontext/text")
        assert question.find("questiontext").get("format") == "html"
        spec = tomllib.loads((made[0] / row["folder"] / "spec.toml").read_text())
        w_hh = spec["parameters"]["W_hh"][0][0]
        # the variant's own values, in LaTeX for MathJax, HTML-escaped (a matrix's & is &amp;)
        assert f"\\(W_{{hh}} = {w_hh:g}\\)" in text, text
        assert "\\begin{bmatrix}" in text and " &amp; " in text and "<li>" in text
        assert all(f"the token “{t}”" in text for t in spec["input"]["tokens"])


def test_the_variants_do_not_depend_on_the_number_of_workers(made, tmp_path):
    out = tmp_path / "one"
    run_cli("variants", "rnn-text", "--count", COUNT, "--seed", 7, "--jobs", 1, "--out", out,
            "--moodle", out / "quiz.xml", check=True)
    assert files(out) == files(made[0])


def test_more_variants_keep_the_first_ones(made, tmp_path):
    out = tmp_path / "more"
    run_cli("variants", "rnn-text", "--count", COUNT + 2, "--seed", 7, "--jobs", 2, "--out", out, check=True)
    for n in range(1, COUNT + 1):
        folder = f"rnn-text-v0{n}"
        assert (out / folder / "spec.toml").read_bytes() == (made[0] / folder / "spec.toml").read_bytes()


def test_a_rerun_builds_only_what_is_missing_or_changed(made, tmp_path):
    import shutil

    out = tmp_path / "again"
    shutil.copytree(made[0], out)
    (out / "rnn-text-v02" / "solutions.tex").unlink()
    (out / "rnn-text-v03" / "questions.tex").write_text("edited by hand", encoding="utf-8")
    proc = run_cli("variants", "rnn-text", "--count", COUNT, "--seed", 7, "--out", out, "--moodle", out / "quiz.xml",
                   check=True)
    assert "(2 built, 2 already up to date)" in proc.stdout
    assert files(out) == files(made[0])
    proc = run_cli("variants", "rnn-text", "--count", COUNT, "--seed", 7, "--out", out, check=True)
    assert "(0 built, 4 already up to date)" in proc.stdout
    proc = run_cli("variants", "rnn-text", "--count", COUNT, "--seed", 7, "--digits", 6, "--out", out, check=True)
    assert "(4 built, 0 already up to date)" in proc.stdout          # another option: another build


@pytest.mark.parametrize("example", ["rnn-timeseries", "cnn-image", "cnn-image-sigmoid", "cnn-two-conv",
                                     "mlp-sigmoid", "mlp-softsign", "mlp-batch", "lstm-sequence", "gru-sequence"])
def test_every_built_in_example_has_rules_that_thirty_variants_meet(example):
    """Screening only (documents of LSTM and GRU cells are not rendered yet): the rules are valid and 30
    different variants meet them within the budget."""
    from symderiv.api import derive_spec
    from symderiv.spec.load import builtin_text, parse_spec_text
    from symderiv.variants.answers import asked_entries
    from symderiv.variants.jobs import runner, screen_in_order
    from symderiv.variants.rules import parse_rules
    from symderiv.variants.sample import Sampler

    text = builtin_text(example)
    rules = parse_rules(tomllib.loads(text))
    entries = tuple(asked_entries(derive_spec(parse_spec_text(text)), rules.ask))
    run = runner(1)
    accepted = screen_in_order(run, Sampler(text, rules, 1), 30, rules.constraints, entries, rules.budget)
    assert len(accepted) == 30
    assert len({a.text for a in accepted}) == 30
    for a in accepted:
        assert parse_spec_text(a.text).name == example
