"""TOML syntax errors (spec/toml_text.py): a key or table defined twice is named by its dotted path,
in spec files (RNN and CNN) and claims files alike, in one line with exit status 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import run_cli_here as run_cli
from symderiv.errors import SpecError
from symderiv.spec.load import builtin_text
from symderiv.spec.toml_text import load_toml

CASES = Path(__file__).parent / "cases"


def test_duplicate_key_case_names_the_key(tmp_path):
    proc = run_cli("derive", CASES / "duplicate-key.toml")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert ("duplicate-key.toml: field 'network.hidden_size': expected a key defined once, "
            "found it defined twice (the second time at line 10)") in proc.stderr
    assert "Cannot overwrite" not in proc.stderr


def _again(text: str, after: str, line: str) -> tuple[str, int]:
    """``text`` with ``line`` inserted after the header ``after``, and the (1-based) number of the
    line that defines its key the second time: the example's own definition, further down."""
    lines = text.splitlines()
    at = lines.index(after) + 1
    lines.insert(at, line)
    key = line.split("=")[0].strip()
    second = next(i for i in range(at + 1, len(lines)) if lines[i].split("=")[0].strip() == key)
    return "\n".join(lines) + "\n", second + 1


@pytest.mark.parametrize("example, after, line, field", [
    ("rnn-text", "[parameters]", "W_hh = [[0.3]]", "parameters.W_hh"),
    ("rnn-text", "[training]", "learning_rate = 0.2", "training.learning_rate"),
    ("rnn-text", "[example]", 'name = "again"', "example.name"),
    ("rnn-timeseries", "[network]", "activation = 'relu'", "network.activation"),
    ("cnn-image", "[convolution]", "stride = 2", "convolution.stride"),
    ("cnn-image", "[parameters]", "b = [0, 0]", "parameters.b"),
])
def test_a_key_defined_twice_is_named_in_any_table(tmp_path, example, after, line, field):
    text, number = _again(builtin_text(example), after, line)
    spec = tmp_path / "spec.toml"
    spec.write_text(text, encoding="utf-8")
    proc = run_cli("derive", spec)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert f"spec.toml: field '{field}': expected a key defined once, found it defined twice " \
           f"(the second time at line {number})" in proc.stderr


def test_a_table_declared_twice_is_named(tmp_path):
    text = builtin_text("cnn-image") + "\n[pooling]\nmode = \"avg\"\n"
    spec = tmp_path / "spec.toml"
    spec.write_text(text, encoding="utf-8")
    proc = run_cli("derive", spec)
    assert proc.returncode == 2 and "field 'pooling': expected a table declared once, found [pooling] declared " \
                                    "twice" in proc.stderr


@pytest.mark.parametrize("claims, field", [
    ('example = "rnn-text"\n[claims."forward pass"]\nh_1 = "≈ 0.462"\n"h_1" = "≈ 0.5"\n', 'claims."forward pass".h_1'),
    ('example = "rnn-text"\n[claims]\n"dL/dz_3" = "≈ 0.2"\n"dL/dz_3" = "≈ 0.3"\n', 'claims."dL/dz_3"'),
    ('example = "rnn-text"\n[claims]\nL = { value = "1.35", value = "1.4" }\n', "claims.L.value"),
    ('example = "rnn-text"\nexample = "cnn-image"\n[claims]\nL = "1.35"\n', "example"),
])
def test_claims_files_name_a_duplicated_key_too(tmp_path, claims, field):
    path = tmp_path / "x.claims.toml"
    path.write_text(claims, encoding="utf-8")
    proc = run_cli("check", path)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert f"x.claims.toml: field '{field}': expected a key defined once" in proc.stderr


@pytest.mark.parametrize("text, field, line", [
    ('[a]\nk = """\n[b]\nk = 1\n"""\nk = 2\n', "a.k", 6),           # a header inside a string is not one
    ("[p]\nW = [1]\nW = [\n  1,\n  2]\n", "p.W", 5),                 # the second value spans lines
    ("[[layer]]\nn = 1\nn = 2\n", "layer.n", 3),
    ("[network]\nhidden_size = 2\n[network.hidden_size]\n", "network.hidden_size", 3),
])
def test_the_path_is_found_around_multiline_values_and_arrays(text, field, line):
    with pytest.raises(SpecError) as err:
        load_toml(text, "f.toml")
    assert err.value.field == field and f"at line {line})" in str(err.value)


def test_other_syntax_errors_keep_tomls_own_words():
    with pytest.raises(SpecError) as err:
        load_toml("x = = 1\n", "f.toml")
    assert err.value.field == "(file)" and "Invalid value (at line 1, column 5)" in str(err.value)
