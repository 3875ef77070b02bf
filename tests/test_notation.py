"""Notation symbols (spec/notation.py, spec/fields.py): checked when the spec is read, so a symbol
LaTeX cannot typeset, or one that could run something, is refused in one line naming the spec's
field and the file, exit status 2, before anything is written; Unicode that LaTeX has math for is
spelt as that math."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conftest import run_cli_here as run_cli
from symderiv.spec.load import builtin_text, parse_spec_text

CASES = Path(__file__).parent / "cases"


def _with_notation(example: str, lines: str) -> str:
    """A built-in example with ``lines`` in its [notation] table (replacing the keys they set)."""
    head, notation = builtin_text(example).split("[notation]\n", 1)
    keys = {line.split("=")[0].strip() for line in lines.splitlines()}
    kept = [line for line in notation.splitlines() if line.split("=")[0].strip() not in keys]
    return head + "[notation]\n" + lines + "\n" + "\n".join(kept) + "\n"


def _refused(tmp_path, text: str):
    spec = tmp_path / "spec.toml"
    spec.write_text(text, encoding="utf-8")
    proc = run_cli("build", spec, "--out", tmp_path / "out")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()
    return proc.stderr


def test_unicode_notation_case_is_refused_naming_the_field(tmp_path):
    out = tmp_path / "out"
    proc = run_cli("build", CASES / "unicode-notation.toml", "--pdf", "--out", out)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1
    line = proc.stderr
    assert "unicode-notation.toml: field 'notation.prediction'" in line
    for ch in "ẞ€😀":
        assert f"'{ch}' (U+{ord(ch):04X})" in line
    assert "cannot typeset in math" in line
    assert not out.exists()


@pytest.mark.parametrize("example, key", [
    ("rnn-text", "activation"), ("rnn-text", "loss"), ("rnn-text", "hidden"), ("rnn-text", "W_xh"),
    ("rnn-timeseries", "learning_rate"), ("rnn-timeseries", "target"),
    ("cnn-image", "activation"), ("cnn-image", "loss"), ("cnn-image", "k"), ("cnn-image", "learning_rate"),
])
def test_a_symbol_latex_cannot_typeset_is_refused_in_any_notation_field(tmp_path, example, key):
    line = _refused(tmp_path, _with_notation(example, f'{key} = "L€"'))
    assert f"field 'notation.{key}'" in line and "'€' (U+20AC)" in line


@pytest.mark.parametrize("latex, reason", [
    (r"\sigma_{\tanh", "unbalanced braces"),
    (r"\input{x}", r"uses \input"),
    ("a % b", "unescaped '%'"),
])
def test_notation_errors_name_the_spec_field_not_a_derived_quantity(tmp_path, latex, reason):
    line = _refused(tmp_path, _with_notation("rnn-timeseries", f"activation = '{latex}'"))
    assert "spec.toml: field 'notation.activation'" in line and reason in line
    assert "symbol of" not in line and "h_1" not in line


@pytest.mark.parametrize("typed, latex", [
    ("σ", r"{\sigma}"), ("ŷ", r"\hat{y}"), ("y\u0302", r"\hat{y}"), ("σ_{ŷ}", r"{\sigma}_{\hat{y}}"),
    ("ℓ", r"{\ell}"), ("ℝ", r"{\mathbb{R}}"), ("α̂", r"\hat{{\alpha}}"),
])
def test_unicode_with_a_math_spelling_is_accepted_as_that_math(typed, latex):
    spec = parse_spec_text(_with_notation("rnn-text", f'activation = "{typed}"'))
    assert spec.notation.activation == latex


def test_cnn_notation_in_unicode_is_spelt_as_math():
    spec = parse_spec_text(_with_notation("cnn-image", 'activation = "ψ"\nk = "κ"'))
    assert spec.notation.activation == r"{\psi}" and spec.notation.symbols["k"] == r"{\kappa}"


@pytest.mark.parametrize("kind, name, symbol", [
    ("cnn-image", "W_out", "W_{out}"),          # was "W_out": a subscript o followed by "ut"
    ("cnn-image", "a_b_c", "W"),                # a double subscript would not compile: the role's own symbol
    ("cnn-image", "Ü", r"\ddot{U}"),
    ("cnn-image", "Я", "W"),                    # no math spelling: the role's own symbol
    ("cnn-image", "Wö", "W"),
    ("cnn-image", "ω", r"{\omega}"),
])
def test_a_renamed_parameter_gets_a_symbol_latex_can_typeset(kind, name, symbol):
    text = builtin_text(kind).replace("[parameters]", f'[names]\nW = "{name}"\n\n[parameters]', 1)
    text = text.replace("\nW = [[", f'\n"{name}" = [[', 1)
    assert parse_spec_text(text).notation.symbols[name] == symbol


def test_rnn_single_letter_greek_name_is_its_letter():
    text = builtin_text("rnn-text").replace("[parameters]\nW_xh", '[names]\nW_xh = "ω"\n\n[parameters]\n"ω"')
    assert parse_spec_text(text).notation.symbols["ω"] == r"{\omega}"


@pytest.mark.latex
def test_unicode_notation_compiles(tmp_path):
    spec = tmp_path / "greek.toml"
    spec.write_text(_with_notation("rnn-text", 'activation = "σ"\nprediction = "ŷ"\nloss = "ℓ"'), encoding="utf-8")
    proc = run_cli("build", spec, "--slides", "--pdf", "--out", tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = subprocess.run(["pdftotext", str(tmp_path / "greek.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "σ" in text and "ℓ" in text
