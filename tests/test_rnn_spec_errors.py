"""Malformed RNN specs, tried as a new user would: one line naming the field, exit 2, no traceback."""

from __future__ import annotations

import pytest

from conftest import run_cli_here as run_cli
from symderiv.spec.load import builtin_text

TEXT = builtin_text("rnn-text")
SERIES = builtin_text("rnn-timeseries")
LSTM = builtin_text("lstm-sequence")
GRU = builtin_text("gru-sequence")

CASES = [
    ("LSTM parameter of the wrong shape", LSTM, "W_f = [[0.5]]", "W_f = [[0.5, 1]]",
     "field 'parameters.W_f': expected a 1 × 1 matrix (hidden size × input size), found a 1 × 2 matrix"),
    ("GRU parameters given to an LSTM", LSTM, "W_f = [[0.5]]", "W_u = [[0.5]]",
     "field 'parameters.W_u': expected a parameter of the lstm cell (W_f, U_f, b_f, W_i, U_i, b_i, W_g, U_g, b_g, "
     "W_o, U_o, b_o, W_hz, b_z), found 'W_u', a parameter of a gru cell"),
    ("LSTM parameters given to a GRU", GRU, "W_u = [[0.5]]", "W_u = [[0.5]]\nW_o = [[1]]",
     "field 'parameters.W_o': expected a parameter of the gru cell (W_u, U_u, b_u, W_r, U_r, b_r, W_n, U_n, b_n, "
     "W_hz, b_z), found 'W_o', a parameter of an lstm cell"),
    ("an activation for an LSTM", LSTM, 'cell = "lstm"', 'cell = "lstm"\nactivation = "relu"',
     "field 'network.activation': expected no activation for an LSTM cell (its gates use σ and tanh), found the "
     "text 'relu'"),
    ("an activation for a GRU", GRU, 'cell = "gru"', 'cell = "gru"\nactivation = "relu"',
     "field 'network.activation': expected no activation for a GRU cell (its gates use σ and tanh), found the "
     "text 'relu'"),
    ("a GRU setting for an LSTM", LSTM, 'cell = "lstm"', 'cell = "lstm"\ngru_form = "swapped"',
     "field 'network.gru_form': expected a GRU setting only with cell = \"gru\", found cell = 'lstm'"),
    ("unknown cell", LSTM, 'cell = "lstm"', 'cell = "transformer"',
     "field 'network.cell': expected one of 'elman', 'lstm', 'gru', found the text 'transformer'"),
    ("W_xh shape", TEXT, "W_xh = [[0.5, -0.4, 0.3, 0.1]]", "W_xh = [[0.5, -0.4, 0.3]]",
     "field 'parameters.W_xh': expected a 1 × 4 matrix (hidden size × input size), found a 1 × 3 matrix"),
    ("token not in vocabulary", TEXT, 'tokens = ["hello", "world", "my"]', 'tokens = ["hello", "wrld", "my"]',
     "field 'input.tokens[1]': expected a token of the vocabulary (hello, world, my, name), found 'wrld', which is not in it"),
    ("empty sequence", TEXT, 'tokens = ["hello", "world", "my"]', "tokens = []",
     "field 'input.tokens': expected at least one token, found an empty sequence"),
    ("empty numeric sequence", SERIES, "sequence = [15.0, 16.0, 15.5]", "sequence = []",
     "field 'input.sequence': expected at least one time step, found an empty sequence"),
    ("learning rate text", TEXT, "learning_rate = 0.1", 'learning_rate = "fast"',
     "field 'training.learning_rate': expected a number, found the text 'fast'"),
    ("learning rate missing", TEXT, "learning_rate = 0.1", "",
     "field 'training.learning_rate': expected a positive number, found nothing (the field is missing)"),
    ("negative learning rate", TEXT, "learning_rate = 0.1", "learning_rate = -1",
     "field 'training.learning_rate': expected a positive number, found the number -1"),
    ("NaN", TEXT, "W_hh = [[0.2]]", "W_hh = [[nan]]",
     "field 'parameters.W_hh[0][0]': expected a finite number, found nan"),
    ("infinity", SERIES, "sequence = [15.0, 16.0, 15.5]", "sequence = [15.0, inf, 15.5]",
     "field 'input.sequence[1]': expected a finite number, found inf"),
    ("text in a matrix", TEXT, "W_hh = [[0.2]]", 'W_hh = [["a"]]',
     "field 'parameters.W_hh[0][0]': expected a number, found the text 'a'"),
    ("boolean for a matrix", TEXT, "W_hh = [[0.2]]", "W_hh = true",
     "field 'parameters.W_hh': expected a 1 × 1 matrix (hidden size × hidden size), found the boolean true"),
    ("ragged matrix", TEXT, "W_hz = [[0.1], [0.2], [0.3], [0.4]]", "W_hz = [[0.1], [0.2, 1], [0.3], [0.4]]",
     "field 'parameters.W_hz': expected a 4 × 1 matrix (output size × hidden size), found a list of 4 rows of lengths 1, 2"),
    ("misspelt field", TEXT, "hidden_size = 1", "hiden_size = 1",
     "field 'network.hiden_size': expected one of the known fields (activation, cell, denormalise, gru_form, "
     "gru_reset, hidden_size, layers, loss, output, output_activation), found an unknown field"),
    ("hidden size zero", TEXT, "hidden_size = 1", "hidden_size = 0",
     "field 'network.hidden_size': expected a whole number of at least 1, found the number 0"),
    ("unknown kind", TEXT, 'kind = "rnn"', 'kind = "lstm"',
     "field 'example.kind': expected one of 'rnn', 'cnn', 'stack', found the text 'lstm'"),
    ("unknown activation", TEXT, 'activation = "tanh"', 'activation = "swoosh"',
     "field 'network.activation': expected one of 'tanh', 'sigmoid', 'relu', 'identity', 'elu', 'softplus', 'gelu', 'swish', 'softsign', 'leaky_relu', found the text 'swoosh'"),
    ("target token", TEXT, 'token = "name"', 'token = "nom"',
     "field 'target.token': expected a token of the vocabulary (hello, world, my, name), found 'nom', which is not in it"),
    ("y_max below y_min", SERIES, "\ny_max = 16", "\ny_max = 14",
     "field 'network.denormalise.y_max': expected a number greater than y_min = 15, found the number 14"),
    ("h0 length", TEXT, "h0 = [0]", "h0 = [0, 0]",
     "field 'parameters.h0': expected a list of 1 numbers (hidden size), found a list of 2 items"),
    ("TOML syntax", TEXT, "hidden_size = 1", "hidden_size = ",
     "field '(file)': expected valid TOML, found a syntax error (Invalid value (at line"),
]


@pytest.mark.parametrize("label,base,old,new,message", CASES, ids=[c[0] for c in CASES])
def test_malformed_spec_gets_one_clear_line(tmp_path, label, base, old, new, message):
    assert old in base, "the test's base text changed"
    spec = tmp_path / "bad.toml"
    spec.write_text(base.replace(old, new, 1))
    proc = run_cli("derive", spec, "--json")
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert lines[0].startswith(f"symderiv: error: {spec}: ")
    assert message in lines[0]


def test_unknown_example_name():
    proc = run_cli("derive", "rnn-nonexistent")
    assert proc.returncode == 2
    line = proc.stderr.strip()
    assert line.startswith("symderiv: error: 'rnn-nonexistent' is neither a built-in example (")
    assert "rnn-text, rnn-timeseries" in line and line.endswith(") nor an existing spec file")
    assert "Traceback" not in proc.stderr


def test_not_utf8(tmp_path):
    spec = tmp_path / "bin.toml"
    spec.write_bytes(b"\xff\xfe\x00")
    proc = run_cli("derive", spec)
    assert proc.returncode == 2
    assert "expected a UTF-8 TOML text file" in proc.stderr
