"""Malformed CNN specs, tried as a new user would: one line naming the field, exit 2, no traceback."""

from __future__ import annotations

import pytest

from conftest import run_cli_here as run_cli
from symderiv.spec.load import builtin_text

IMAGE = builtin_text("cnn-image")
W_LINE = "W = [[0.2, 0.4, 0.1, -0.5], [-0.3, 0.6, 0.2, 0.1]]"
K_LINE = "k = [[1, 0, -1], [1, 0, -1], [1, 0, -1]]"
IMAGE_BLOCK = IMAGE[IMAGE.index("image = ["):IMAGE.index("\n\n[convolution]")]
DROPOUT = "[dropout]\np = 0.5\nmask = [[1, 0], [1, 1]]\n\n[output]"

CASES = [
    ("kernel larger than the padded input", "kernel_size = 3", "kernel_size = 7",
     "field 'convolution.kernel_size': expected a kernel no larger than the padded input (5 × 5: the 5 × 5 "
     "image with padding 0), found a 7 × 7 kernel"),
    ("stride 0", "stride = 1\npadding", "stride = 0\npadding",
     "field 'convolution.stride': expected a whole number of at least 1, found the number 0"),
    ("negative padding", "padding = 0", "padding = -1",
     "field 'convolution.padding': expected a whole number of at least 0, found the number -1"),
    ("pooling window larger than the map", "size = 2", "size = 4",
     "field 'pooling.size': expected a window no larger than the 3 × 3 feature map the convolution gives, "
     "found a 4 × 4 window"),
    ("pooling stride 0", 'size = 2\nstride = 1', 'size = 2\nstride = 0',
     "field 'pooling.stride': expected a whole number of at least 1, found the number 0"),
    ("non-square window without stride", 'size = 2\nstride = 1', 'size = [2, 1]',
     "field 'pooling.stride': expected a stride (there is no default for a 2 × 1 window), "
     "found nothing (the field is missing)"),
    ("unknown pooling mode", 'mode = "max"', 'mode = "min"',
     "field 'pooling.mode': expected one of 'max', 'avg', found the text 'min'"),
    ("W not classes × flattened size", W_LINE, "W = [[0.2, 0.4, 0.1], [-0.3, 0.6, 0.2]]",
     "field 'parameters.W': expected a 2 × 4 matrix (classes × flattened size; flattening 1 filter × 2 × 2 "
     "pooled map gives 4), found a 2 × 3 matrix"),
    ("W with a row too few", W_LINE, "W = [[0.2, 0.4, 0.1, -0.5]]",
     "field 'parameters.W': expected a 2 × 4 matrix (classes × flattened size; flattening 1 filter × 2 × 2 "
     "pooled map gives 4), found a 1 × 4 matrix"),
    ("W after more filters", "filters = 1", "filters = 2",
     "field 'parameters.k': expected a 2 × 1 × 3 × 3 array (filters × channels × kernel rows × kernel columns), "
     "found a 3 × 3 matrix"),
    ("kernel of the wrong shape", K_LINE, "k = [[1, 0], [1, 0], [1, 0]]",
     "field 'parameters.k': expected a 3 × 3 matrix (kernel rows × kernel columns), found a 3 × 2 matrix"),
    ("ragged kernel", K_LINE, "k = [[1, 0, -1], [1, 0], [1, 0, -1]]",
     "field 'parameters.k': expected a 3 × 3 matrix (kernel rows × kernel columns), found a ragged list "
     "(rows of different lengths)"),
    ("conv bias per filter", K_LINE, K_LINE + "\nb_conv = [0.1, 0.2]",
     "field 'parameters.b_conv': expected a list of 1 numbers (one bias per filter), found a list of 2 items"),
    ("dense bias per class", "b = [0.1, -0.2]", "b = [0.1]",
     "field 'parameters.b': expected a list of 2 numbers (one bias per class), found a list of 1 item"),
    ("dropout mask of the wrong shape", "[output]", DROPOUT.replace("[[1, 0], [1, 1]]", "[[1, 0, 1], [1, 1, 1]]"),
     "field 'dropout.mask': expected a 2 × 2 matrix (the pooled map: 1 filter × 2 × 2), found a 2 × 3 matrix"),
    ("dropout mask not 0/1", "[output]", DROPOUT.replace("[[1, 0], [1, 1]]", "[[1, 0.5], [1, 1]]"),
     "field 'dropout.mask[0][1]': expected 0 (dropped) or 1 (kept), found the number 0.5"),
    ("dropout p = 1", "[output]", DROPOUT.replace("p = 0.5", "p = 1"),
     "field 'dropout.p': expected a drop probability at least 0 and below 1, found the number 1"),
    ("dropout p negative", "[output]", DROPOUT.replace("p = 0.5", "p = -0.1"),
     "field 'dropout.p': expected a drop probability at least 0 and below 1, found the number -0.1"),
    ("dropout p text", "[output]", DROPOUT.replace("p = 0.5", 'p = "half"'),
     "field 'dropout.p': expected a number, found the text 'half'"),
    ("NaN in the image", "[4, 6, 6, 8, 1]", "[4, 6, nan, 8, 1]",
     "field 'input.image[1][2]': expected a finite number, found nan"),
    ("infinity in the kernel", K_LINE, "k = [[1, 0, -1], [1, inf, -1], [1, 0, -1]]",
     "field 'parameters.k[1][1]': expected a finite number, found inf"),
    ("text in W", W_LINE, 'W = [[0.2, "a", 0.1, -0.5], [-0.3, 0.6, 0.2, 0.1]]',
     "field 'parameters.W[0][1]': expected a number, found the text 'a'"),
    ("ragged image", "[4, 6, 6, 8, 1]", "[4, 6, 6, 8]",
     "field 'input.image': expected a matrix of numbers (rows × columns) or a list of equal-sized matrices "
     "(channels × rows × columns), found a ragged list (rows of different lengths)"),
    ("image as a number", IMAGE_BLOCK, "image = 3",
     "field 'input.image': expected a matrix of numbers (rows × columns) or a list of equal-sized matrices "
     "(channels × rows × columns), found the number 3"),
    ("learning rate text", "learning_rate = 0.1", 'learning_rate = "fast"',
     "field 'training.learning_rate': expected a number, found the text 'fast'"),
    ("input gradient not a boolean", "input_gradient = false", 'input_gradient = "yes"',
     "field 'training.input_gradient': expected true or false, found the text 'yes'"),
    ("target not a distribution", "value = [0, 1]", "value = [1, 1]",
     "field 'target.value': expected a distribution summing to 1 for the cross_entropy loss, found a target "
     "summing to 2"),
    ("target as text", "value = [0, 1]", 'value = "cat"',
     "field 'target.value': expected a list of target values (one per class or output unit), found the text 'cat'"),
    ("softmax over one class", "value = [0, 1]", "value = [1]",
     "field 'target.value': expected at least 2 classes for a softmax output, found 1 value"),
    ("misspelt convolution field", "kernel_size = 3", "kernel = 3",
     "field 'convolution.kernel': expected one of the known fields (activation, filters, kernel_size, padding, "
     "stride), found an unknown field"),
    ("missing kernel size", "kernel_size = 3\n", "",
     "field 'convolution.kernel_size': expected a whole number or a list [rows, columns], "
     "found nothing (the field is missing)"),
    ("unknown activation", 'activation = "relu"', 'activation = "swoosh"',
     "field 'convolution.activation': expected one of 'tanh', 'sigmoid', 'relu', 'identity', 'elu', 'softplus', 'gelu', 'swish', 'softsign', 'leaky_relu', found the text 'swoosh'"),
    ("unknown output activation", 'activation = "softmax"', 'activation = "softplus"',
     "field 'output.activation': expected one of 'softmax', 'sigmoid', 'linear', found the text 'softplus'"),
    ("parameter renamed to a step's name", "[parameters]", '[names]\nW = "x"\n\n[parameters]',
     "field 'names.W': expected a name the derivation does not use for a step of its own, found 'x'"),
]


@pytest.mark.parametrize("label,old,new,message", CASES, ids=[c[0] for c in CASES])
def test_malformed_cnn_spec_gets_one_clear_line(tmp_path, label, old, new, message):
    assert old in IMAGE, "the test's base text changed"
    spec = tmp_path / "bad.toml"
    spec.write_text(IMAGE.replace(old, new, 1))
    proc = run_cli("derive", spec, "--json")
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert lines[0] == f"symderiv: error: {spec}: {message}"


def test_multichannel_shapes_are_named(tmp_path):
    """With 2 channels and 2 filters the kernel is 4-d, and the error says which axis is which."""
    text = IMAGE.replace("image = [", "image = [[\n  [1, 0, 2, 3, 0],\n  [4, 6, 6, 8, 1],\n  [3, 1, 1, 0, 2],\n"
                         "  [1, 2, 2, 4, 1],\n  [2, 4, 0, 1, 3],\n], [", 1).replace("]\n\n[convolution]",
                                                                               "]]\n\n[convolution]", 1)
    text = text.replace("filters = 1", "filters = 2")
    spec = tmp_path / "channels.toml"
    spec.write_text(text)
    proc = run_cli("derive", spec)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        f"symderiv: error: {spec}: field 'parameters.k': expected a 2 × 2 × 3 × 3 array (filters × channels × "
        "kernel rows × kernel columns), found a 3 × 3 matrix")
