"""The ``[variants]`` rules: grids, asked quantities, constraints; every bad rule one line, nothing written."""

from __future__ import annotations

from fractions import Fraction

import pytest

from conftest import run_cli_here as run_cli
from symderiv.errors import SpecError
from symderiv.spec.toml_text import load_toml
from symderiv.variants.rules import DEFAULT_FORBID, parse_rules

SPEC = """
[example]
name = "tiny"
kind = "rnn"

[network]
hidden_size = 1

[input]
vocabulary = ["a", "b"]
tokens = ["a", "b"]

[target]
value = 0.5

[parameters]
W_xh = [[0.5, -0.4]]
W_hh = [[0.2]]
W_hz = [[0.3]]

[training]
learning_rate = 0.1
"""


def rules(variants: str):
    return parse_rules(load_toml(SPEC + variants))


def error(variants: str) -> str:
    with pytest.raises(SpecError) as info:
        rules(variants)
    return str(info.value)


def test_a_grid_is_the_multiples_of_its_step_in_the_range():
    r = rules('[variants.vary]\n"parameters.W_hh" = { from = -0.25, to = 0.3, step = 0.1, exclude = [0] }\n')
    (varied,) = r.vary
    assert varied.values == tuple(Fraction(k, 10) for k in (-2, -1, 1, 2, 3))
    assert varied.entries == 1
    assert r.combinations == 5


def test_entries_are_counted_and_texts_and_whole_values_are_grids_too():
    r = rules('[variants.vary]\n"parameters.W_xh" = [0.1, 0.2, 0.1]\n"input.tokens" = ["a", "b"]\n'
              '"target.value" = { values = [[1], [2]] }\n')
    w, tokens, target = r.vary
    assert (w.values, w.entries) == ((Fraction(1, 10), Fraction(1, 5)), 2)     # a repeated value counts once
    assert (tokens.values, tokens.entries) == (("a", "b"), 2)
    assert (target.values, target.entries) == (((Fraction(1),), (Fraction(2),)), 1)
    assert r.combinations == 2**2 * 2**2 * 2


def test_nested_tables_name_the_same_fields_as_dotted_keys():
    r = rules("[variants.vary.parameters]\nW_hh = { from = 0, to = 1, step = 0.5 }\n")
    assert r.vary[0].path == "parameters.W_hh"
    assert r.vary[0].values == (0, Fraction(1, 2), 1)


def test_defaults():
    r = rules('[variants.vary]\n"parameters.W_hh" = [1, 2]\n')
    assert r.constraints.forbid == DEFAULT_FORBID
    assert r.ask is None and r.budget == 100
    assert (r.relative, r.absolute) == (Fraction(1, 100), Fraction(5, 10000))


def test_asked_quantities_and_constraints_are_read():
    r = rules('ask = ["L", "dL/dW_xh[0, 1]"]\ntolerance = { absolute = 0.01 }\n'
              '[variants.vary]\n"parameters.W_hh" = [1, 2]\n'
              '[variants.constraints]\nforbid = ["dead-relu"]\nanswer_max = 5\nanswer_min = 0.01\n'
              'preactivation_decimals = 2\n'.replace("ask", "[variants]\nask", 1))
    assert [(a.name, a.index) for a in r.ask] == [("L", None), ("dL/dW_xh", (0, 1))]
    assert (r.relative, r.absolute) == (0, Fraction(1, 100))
    c = r.constraints
    assert (c.forbid, c.answer_max, c.answer_min, c.preactivation_decimals) == (("dead-relu",), 5, Fraction(1, 100), 2)


@pytest.mark.parametrize("variants, field, found", [
    ("[variants]\ncolour = 1\n[variants.vary]\n\"parameters.W_hh\" = [1]\n", "variants.colour", "an unknown field"),
    ('[variants.vary]\n"parameters.W_hh" = { from = 1, to = 0, step = 0.1 }\n', 'variants.vary."parameters.W_hh"',
     "an empty grid ('from' (1) is above 'to' (0))"),
    ('[variants.vary]\n"parameters.W_hh" = { from = 0.1, to = 0.2, step = 0.3 }\n',
     'variants.vary."parameters.W_hh"', "an empty grid (no multiple of 0.3 lies in [0.1, 0.2])"),
    ('[variants.vary]\n"parameters.W_hh" = { values = [0], exclude = [0] }\n', 'variants.vary."parameters.W_hh"',
     "an empty grid (every value of the grid is excluded)"),
    ('[variants.vary]\n"parameters.W_hh" = []\n', 'variants.vary."parameters.W_hh"',
     "an empty grid (the list is empty)"),
    ('[variants.vary]\n"parameters.W_hh" = { from = 0, to = 1, step = 0.1, size = 3 }\n',
     'variants.vary."parameters.W_hh".size', "an unknown field"),
    ('[variants.vary]\n"parameters.W_hx" = [1]\n', 'variants.vary."parameters.W_hx"',
     "no field 'parameters.W_hx' in the spec"),
    ('[variants.vary]\n"input.tokens" = [1, 2]\n', 'variants.vary."input.tokens".values[0]', "the number 1"),
    ('[variants.vary]\n"parameters" = [1, 2]\n', 'variants.vary.parameters', "which holds a table"),
    ("[variants]\n", "variants.vary", "none"),
    ('[variants]\nfixed = ["parameters.W_hh"]\n[variants.vary]\n"parameters.W_hh" = [1, 2]\n',
     "variants.fixed[0]", "'parameters.W_hh', which variants.vary varies"),
    ('[variants.vary]\n"parameters.W_hh" = [1]\n[variants.constraints]\nanswer_min = 2\nanswer_max = 1\n',
     "variants.constraints.answer_min", "the number 2"),
    ('[variants.vary]\n"parameters.W_hh" = [1]\n[variants.constraints]\nforbid = ["saturaton"]\n',
     "variants.constraints.forbid[0]", "the text 'saturaton'"),
    ('[variants]\ntolerance = { relative = 0 }\n[variants.vary]\n"parameters.W_hh" = [1]\n', "variants.tolerance",
     "both 0 (or missing)"),
    ('[variants]\nbudget = 0\n[variants.vary]\n"parameters.W_hh" = [1]\n', "variants.budget", "the number 0"),
])
def test_bad_rules_name_the_field(variants, field, found):
    message = error(variants)
    assert f"field '{field}'" in message, message
    assert found in message, message
    assert "\n" not in message


def test_a_misspelt_lint_gets_a_suggestion():
    message = error('[variants.vary]\n"parameters.W_hh" = [1]\n[variants.constraints]\nforbid = ["saturaton"]\n')
    assert "did you mean 'saturation'?" in message


def test_a_spec_without_rules_is_told_what_is_missing():
    with pytest.raises(SpecError, match=r"field 'variants': expected a \[variants\] table"):
        parse_rules(load_toml(SPEC))


# -- through the command line: one line, exit status 2, nothing written ----------------------------------
@pytest.mark.parametrize("variants, expected", [
    ("[variants]\ncolour = 1\n[variants.vary]\n\"parameters.W_hh\" = [1]\n",
     "field 'variants.colour': expected one of the known fields"),
    ('[variants.vary]\n"parameters.W_hh" = { from = 1, to = 0, step = 0.1 }\n', "an empty grid"),
    ('[variants.vary]\n"parameters.W_hh" = [1]\n[variants.constraints]\nanswer_min = 2\nanswer_max = 1\n',
     "no answer can be both"),
    # contradictory in effect: no answer is that small, which only sampling can tell (within the budget)
    ('[variants]\nbudget = 5\n[variants.vary]\n"parameters.W_hh" = { from = -1, to = 1, step = 0.1 }\n'
     "[variants.constraints]\nanswer_max = 1e-9\n",
     "field 'variants': expected rules that 3 different variants meet within the budget (5 draws per variant), "
     "found 0 among 5 candidates judged; rejected: 5 answer_max"),
    ('[variants.vary]\n"parameters.W_hh" = [1, 2]\n', "field 'variants.vary': expected grids that allow at least 3 "
                                                      "different variants (--count 3), found 2 in all"),
    ('[variants]\nask = ["dL/dW_hx"]\n[variants.vary]\n"parameters.W_hh" = [1, 2, 3]\n',
     "field 'variants.ask[0]': expected a quantity of the example; did you mean dL/dW_xh"),
    ('[variants]\nask = ["dL/dW_xh[1,0]"]\n[variants.vary]\n"parameters.W_hh" = [1, 2, 3]\n',
     "field 'variants.ask[0]': expected an index with one number per axis of dL/dW_xh (1 × 2), each from 0"),
    ('[variants.vary]\n"target.value" = ["1/0", 1, 2]\n', "division by zero"),
])
def test_the_command_says_one_line_and_writes_nothing(tmp_path, variants, expected):
    spec = tmp_path / "tiny.toml"
    spec.write_text(SPEC + variants, encoding="utf-8")
    out = tmp_path / "out"
    proc = run_cli("variants", spec, "--count", "3", "--jobs", "1", "--out", out)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"symderiv: error: {spec}: "), proc.stderr
    assert expected in lines[0], lines[0]
    assert not out.exists()


def test_a_grid_that_makes_invalid_specs_is_one_line(tmp_path):
    spec = tmp_path / "tiny.toml"
    # cross-entropy after softmax needs a target distribution: drawing the target breaks the spec
    spec.write_text(SPEC.replace("value = 0.5", "value = [0, 1]").replace("W_hz = [[0.3]]", "W_hz = [[0.3], [0.1]]")
                    .replace("hidden_size = 1", "hidden_size = 1\noutput_activation = \"softmax\"")
                    + '[variants.vary]\n"target.value" = [0, 0.5, 1]\n', encoding="utf-8")
    proc = run_cli("variants", spec, "--count", "2", "--jobs", "1", "--out", tmp_path / "out")
    assert proc.returncode == 2
    line, = proc.stderr.strip().splitlines()
    assert "field 'variants.vary': expected grids whose every draw is a valid spec, found a draw the spec refuses " \
           "(field 'target.value': expected a distribution summing to 1" in line


def test_a_spec_without_rules_through_the_command(tmp_path):
    spec = tmp_path / "tiny.toml"
    spec.write_text(SPEC, encoding="utf-8")
    proc = run_cli("variants", spec, "--count", "2", "--out", tmp_path / "out")
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"symderiv: error: {spec}: field 'variants': expected a [variants] table saying "
                                   "which fields vary (README: \"Exam variants\"), "
                                   "found nothing (the table is missing)")


@pytest.mark.parametrize("args, expected", [
    (["--count", "0"], "--count: expected a whole number from 1 to 9999, found 0"),
    (["--count", "2", "--seed", "-1"], "--seed: expected a whole number ≥ 0, found -1"),
    (["--count", "2", "--jobs", "0"], "--jobs: expected a whole number ≥ 1, found 0"),
])
def test_bad_options(tmp_path, args, expected):
    proc = run_cli("variants", "rnn-text", *args, "--out", tmp_path / "out")
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"symderiv: error: {expected}"
