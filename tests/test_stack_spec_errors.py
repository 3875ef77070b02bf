"""Malformed stack specs, tried as a new user would: one line naming the field, exit 2, nothing written."""

from __future__ import annotations

import pytest

from conftest import run_cli_here as run_cli
from symderiv.spec.load import builtin_text

MLP = builtin_text("mlp-sigmoid")
CNN = builtin_text("cnn-two-conv")
BATCH = builtin_text("mlp-batch")

CASES = [
    ("dense after a conv without flatten", CNN, '[[layer]]\ntype = "flatten"\n\n', "",
     "field 'layer[4].type': expected a dense layer after a vector (put a flatten layer before it), found its input "
     "is 1 map of 2 × 2"),
    ("kernel larger than its input", CNN, "filters = 1\nkernel_size = 3", "filters = 1\nkernel_size = 5",
     "field 'layer[2].kernel_size': expected a kernel no larger than its padded input (4 × 4: 2 maps of 4 × 4 with "
     "its padding), found a 5 × 5 kernel"),
    ("a formula that imports", MLP, 'function = "sigmoid"', 'function = { formula = "__import__(\'os\')" }',
     "field 'layer[1].function.formula': expected one of the functions exp, log, tanh, sigmoid, sqrt, abs, erf, "
     "max, min, found the function '__import__'"),
    ("a formula with another name", MLP, 'function = "sigmoid"', 'function = { formula = "a * b" }',
     "field 'layer[1].function.formula': expected the argument or a declared constant (a), found the name 'b'"),
    ("a malformed formula", MLP, 'function = "sigmoid"', 'function = { formula = "a * (1 +" }',
     "field 'layer[1].function.formula': expected a formula such as \"a / (1 + abs(a))\", found a syntax error at "
     "column 5 in 'a * (1 +'"),
    ("an attribute in a formula", MLP, 'function = "sigmoid"', 'function = { formula = "a.__class__" }',
     "field 'layer[1].function.formula': expected numbers, + − * / **, the argument and the functions exp, log, "
     "tanh, sigmoid, sqrt, abs, erf, max, min, found 'a.__class__'"),
    ("batch targets that do not match", BATCH, "values = [[1, 0], [0, 1]]", "values = [[1, 0]]",
     "field 'target.values': expected 2 values, one per example of the batch, found a 1 × 2 matrix"),
    ("W not units × inputs after flatten", CNN, "W = [[0.2, -0.1, 0.3, 0.1], [-0.2, 0.4, 0.1, -0.3]]",
     "W = [[0.2, -0.1, 0.3], [-0.2, 0.4, 0.1]]",
     "field 'parameters.W': expected a 2 × 4 matrix (units × inputs; flattening 1 filter × 2 × 2 gives 4), "
     "found a 2 × 3 matrix"),
    ("W1 of the wrong shape", MLP, "W1 = [[0.2, -0.3], [0.4, 0.1]]", "W1 = [[0.2, -0.3, 0.1], [0.4, 0.1, 0]]",
     "field 'parameters.W1': expected a 2 × 2 matrix (units × inputs), found a 2 × 3 matrix"),
    ("unknown layer type", MLP, 'type = "activation"', 'type = "attention"',
     "field 'layer[1].type': expected one of 'dense', 'activation', 'conv', 'pool', 'dropout', 'flatten', found "
     "the text 'attention'"),
    ("softmax over a map", CNN, '[[layer]]\ntype = "flatten"\n\n[[layer]]\ntype = "dense"\nunits = 2\n'
     'names = { weight = "W", bias = "b" }\n', "",
     "field 'output.activation': expected a softmax over a vector (end the stack with a dense layer), found an "
     "output that is 1 map of 2 × 2"),
    ("both x and batch", MLP, "x = [0.1, 0.5]", "x = [0.1, 0.5]\nbatch = [[0.1, 0.5], [1, 2]]",
     "field 'input.x': expected either x (one example) or batch (a list of examples), found both"),
    ("examples of different shapes", BATCH, "batch = [[0.1, 0.5], [0.6, -0.2]]", "batch = [[0.1, 0.5], [0.6]]",
     "field 'input.batch[1]': expected a list of 2 numbers (every example has the shape of the first, 2), found a "
     "list of 1 item"),
    ("an activation parameter that does not exist", MLP, 'function = "sigmoid"',
     'function = { name = "leaky_relu", beta = 2 }',
     "field 'layer[1].function.beta': expected a parameter of leaky_relu (alpha), found 'beta'"),
    # z1 = [-0.03, -0.01]: a formula outside its domain there is the spec's error, found by the derivation
    ("a square root of a negative pre-activation", MLP, 'function = "sigmoid"', 'function = { formula = "sqrt(a)" }',
     "field 'layer[1].function.formula': expected a formula with a finite real value and derivative at every "
     "pre-activation, found 'sqrt(a)', which has no finite real value at a = -0.03 (an entry of z1)"),
    ("a logarithm of a negative pre-activation", MLP, 'function = "sigmoid"', 'function = { formula = "log(a)" }',
     "field 'layer[1].function.formula': expected a formula with a finite real value and derivative at every "
     "pre-activation, found 'log(a)', which has no finite real value at a = -0.03 (an entry of z1)"),
    ("a derivative that is infinite", MLP, 'function = "sigmoid"', 'function = { formula = "sqrt(a + 0.03)" }',
     "field 'layer[1].function.formula': expected a formula with a finite real value and derivative at every "
     "pre-activation, found 'sqrt(a + 0.03)', whose derivative has no finite real value at a = -0.03 (an entry of "
     "z1)"),
    ("a power too high to compute exactly", MLP, 'function = "sigmoid"', 'function = { formula = "a ** 101" }',
     "field 'layer[1].function.formula': expected an exponent from -100 to 100, found the exponent 101"),
    ("too many steps", MLP, "learning_rate = 0.5", "learning_rate = 0.5\nsteps = 9",
     "field 'training.steps': expected a whole number of at most 5, found the number 9"),
]


@pytest.mark.parametrize("label, text, old, new, message", CASES, ids=[c[0] for c in CASES])
def test_bad_stack_gets_one_clear_line(tmp_path, label, text, old, new, message):
    assert old in text, label
    spec = tmp_path / "bad.toml"
    spec.write_text(text.replace(old, new, 1))
    out = tmp_path / "out"
    proc = run_cli("build", spec, "--out", out)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == f"symderiv: error: {spec}: {message}"
    assert "Traceback" not in proc.stderr and not out.exists()
