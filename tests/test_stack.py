"""Layer stacks (MLPs, several convolutions, batches, descent steps) against HIPS autograd and by hand."""

from __future__ import annotations

import json
import tomllib
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from autodiff_stack import setup
from conftest import derive_json, run_cli
from mpnp import assert_agrees
from symderiv import derive_text
from symderiv.spec.load import builtin_text
from symderiv.verify import verify

mpmath.mp.dps = 50
STACKS = ["mlp-sigmoid", "mlp-softsign", "mlp-batch", "cnn-two-conv"]


def _against_autograd(text: str, result: dict, rtol=1e-9):
    """The first step's gradients and the parameters after the last step, against autograd."""
    data = tomllib.loads(text)
    params, loss_of, run = setup(data)
    grads, after = run(params)
    loss = float(loss_of(params))
    for name, g in grads[0].items():
        got = np.asarray(result["gradients"][f"dL/d{name}"], dtype=float).reshape(g.shape)
        scale = float(np.max(np.abs(g))) if g.size else 0.0
        np.testing.assert_allclose(got, g, rtol=rtol, atol=1e-12 * max(scale, abs(loss)) + 1e-300,
                                   err_msg=f"dL/d{name}")
    for name, value in after[-1].items():
        np.testing.assert_allclose(np.asarray(result["updated"][name], dtype=float).reshape(value.shape), value,
                                   rtol=rtol, atol=1e-12, err_msg=f"{name} after the last step")
    return loss


@pytest.mark.parametrize("name", STACKS)
def test_builtin_stacks_agree_with_autograd(name):
    result = derive_json(name)
    assert result["checks"]["passed"]
    loss = _against_autograd(builtin_text(name), result)
    L = result["quantities"]["L"]
    assert L == pytest.approx(loss, rel=1e-12)


def test_mlp_sigmoid_by_hand():
    """The 2-2-2 network with mpmath, from the equations."""
    sig = lambda v: 1 / (1 + mpmath.exp(-v))                                   # noqa: E731
    x = [mpmath.mpf("0.1"), mpmath.mpf("0.5")]
    W1 = [["0.2", "-0.3"], ["0.4", "0.1"]]
    b1, W2, b2 = ["0.1", "-0.1"], [["0.5", "-0.6"], ["0.3", "0.2"]], ["0.05", "-0.05"]
    z1 = [sum(mpmath.mpf(W1[i][j]) * x[j] for j in range(2)) + mpmath.mpf(b1[i]) for i in range(2)]
    a1 = [sig(v) for v in z1]
    z2 = [sum(mpmath.mpf(W2[i][j]) * a1[j] for j in range(2)) + mpmath.mpf(b2[i]) for i in range(2)]
    yhat = [sig(v) for v in z2]
    y = [1, 0]
    L = sum((p - t) ** 2 for p, t in zip(yhat, y)) / 2
    dz2 = [(p - t) * p * (1 - p) for p, t in zip(yhat, y)]
    result = derive_json("mlp-sigmoid")
    q = result["quantities"]
    assert q["z1"] == pytest.approx([float(v) for v in z1], rel=1e-15)
    assert q["yhat"] == pytest.approx([float(v) for v in yhat], rel=1e-15)
    assert q["L"] == pytest.approx(float(L), rel=1e-15)
    assert result["gradients"]["dL/db2"] == pytest.approx([float(v) for v in dz2], rel=1e-14)
    assert result["exact"]["z1"] == ["-3/100", "-1/100"]


def test_batch_and_steps_are_named_and_reported():
    result = derive_json("mlp-batch")
    q = result["quantities"]
    for name in ("x(n=1)", "z1(n=2)", "L(n=1)", "L", "dL/dW1(n=2)", "z1(n=1,step=2)", "L(step=2)", "W1''"):
        assert name in q, name
    assert q["L"] == pytest.approx((q["L(n=1)"] + q["L(n=2)"]) / 2, rel=1e-15)
    assert set(result["gradients"]) == {"dL/dW1", "dL/db1", "dL/dW2", "dL/db2"}       # the first step's
    np.testing.assert_allclose(q["dL/dW1"], (np.array(q["dL/dW1(n=1)"]) + np.array(q["dL/dW1(n=2)"])) / 2,
                               rtol=1e-14)
    assert result["updated"]["W1"] == q["W1''"]                                    # after the last step


def test_a_layer_alone_with_a_given_gradient_and_the_input_gradient(tmp_path):
    """Backprop through one dense layer and a leaky ReLU: ∂L/∂output given, ∂L/∂x asked for."""
    spec = tmp_path / "layer.toml"
    spec.write_text('[example]\nname = "layer"\nkind = "stack"\n[input]\nx = [1, 2, -1]\n'
                    '[[layer]]\ntype = "dense"\nunits = 2\nbias = false\n'
                    '[[layer]]\ntype = "activation"\nfunction = { name = "leaky_relu", alpha = 0.1 }\n'
                    '[output]\ngradient = [0.5, -1]\n[parameters]\nW1 = [[0.1, 0.2, 0.3], [-0.4, 0.5, 0.6]]\n'
                    '[training]\nlearning_rate = 0.1\ninput_gradient = true\n')
    result = json.loads(run_cli("derive", spec, "--json", check=True).stdout)
    W = np.array([[0.1, 0.2, 0.3], [-0.4, 0.5, 0.6]])
    x = np.array([1.0, 2.0, -1.0])
    z = W @ x                                                           # [0.2, 0.0]: the second unit at its kink
    slope = np.where(z > 0, 1.0, 0.1)                                   # at 0 the branch below: alpha
    g = np.array([0.5, -1.0]) * slope
    np.testing.assert_allclose(result["gradients"]["dL/dW1"], np.outer(g, x), rtol=1e-15)
    np.testing.assert_allclose(result["quantities"]["dL/dx"], W.T @ g, rtol=1e-15)
    assert "L" not in result["quantities"]


# -- random stacks --------------------------------------------------------------------------------------
def _n(v: Fraction) -> str:
    return repr(float(v)) if v.denominator != 1 else str(v.numerator)


def _mat(value) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_mat(v) for v in value) + "]"
    return _n(value)


small = st.integers(-9, 9).map(lambda k: Fraction(k, 10))
ACTS = ["tanh", "sigmoid", "relu", "identity", '{ name = "leaky_relu", alpha = 0.2 }', '{ name = "elu", alpha = 0.5 }',
        '"softplus"', '"gelu"', '"swish"', '"softsign"', '{ formula = "a / (1 + a * a)" }']


def _act(draw) -> str:
    a = draw(st.sampled_from(ACTS))
    return a if a.startswith(("{", '"')) else f'"{a}"'


@st.composite
def stacks(draw):
    conv = draw(st.booleans())
    batch = draw(st.integers(1, 2))
    lines = ['[example]', 'name = "random"', 'kind = "stack"', "", "[input]"]
    layers, params = [], {}
    if conv:
        size = draw(st.integers(3, 5))
        shape_in = (size, size)
        xs = [[[draw(st.integers(-2, 3)) for _ in range(size)] for _ in range(size)] for _ in range(batch)]
        F = draw(st.integers(1, 2))
        n = draw(st.integers(1, 2))
        pad = draw(st.sampled_from([0, 1, '"same"']))
        layers.append(f'[[layer]]\ntype = "conv"\nfilters = {F}\nkernel_size = {n}\npadding = {pad}')
        params["k1"] = [[[[draw(small) for _ in range(n)] for _ in range(n)]] for _ in range(F)]
        params["b1"] = [draw(small) for _ in range(F)]
        p = 0 if pad == 0 else (1 if pad == 1 else None)
        side = size + 2 * p - n + 1 if p is not None else size
        layers.append(f'[[layer]]\ntype = "activation"\nfunction = {_act(draw)}')
        if side >= 2 and draw(st.booleans()):
            layers.append(f'[[layer]]\ntype = "pool"\nmode = "{draw(st.sampled_from(["max", "avg"]))}"\nsize = 2\n'
                          'stride = 1')
            side -= 1
        layers.append('[[layer]]\ntype = "flatten"')
        width = F * side * side
        stage = 2
    else:
        width_in = draw(st.integers(1, 3))
        xs = [[draw(small) for _ in range(width_in)] for _ in range(batch)]
        hidden = draw(st.integers(1, 3))
        layers.append(f'[[layer]]\ntype = "dense"\nunits = {hidden}')
        params["W1"] = [[draw(small) for _ in range(width_in)] for _ in range(hidden)]
        params["b1"] = [draw(small) for _ in range(hidden)]
        layers.append(f'[[layer]]\ntype = "activation"\nfunction = {_act(draw)}')
        width = hidden
        stage = 2
    out_act, loss = draw(st.sampled_from([("linear", "mse"), ("linear", "half_sse"), ("sigmoid", "bce"),
                                          ("softmax", "cross_entropy"), ("sigmoid", "half_sse"),
                                          ("softmax", "mse"), ("linear", "sse")]))
    K = 2 if out_act == "softmax" else draw(st.integers(1, 2))
    layers.append(f'[[layer]]\ntype = "dense"\nunits = {K}')
    params[f"W{stage}"] = [[draw(small) for _ in range(width)] for _ in range(K)]
    params[f"b{stage}"] = [draw(small) for _ in range(K)]
    if out_act == "softmax":
        ys = [[1, 0] if draw(st.booleans()) else [0, 1] for _ in range(batch)]
    elif loss == "bce":
        ys = [[draw(st.sampled_from([0, 1])) for _ in range(K)] for _ in range(batch)]
    else:
        ys = [[draw(small) for _ in range(K)] for _ in range(batch)]
    lines.append(f"x = {_mat(xs[0])}" if batch == 1 else f"batch = {_mat(xs)}")
    lines += [""] + layers + ["", "[output]", f'activation = "{out_act}"', f'loss = "{loss}"', "", "[target]"]
    lines.append(f"value = {_mat(ys[0])}" if batch == 1 else f"values = {_mat(ys)}")
    lines += ["", "[parameters]"] + [f"{k} = {_mat(v)}" for k, v in params.items()]
    steps = draw(st.integers(1, 2))
    lines += ["", "[training]", "learning_rate = 0.1", f"steps = {steps}",
              f'reduction = "{draw(st.sampled_from(["mean", "sum"]))}"']
    return "\n".join(lines) + "\n"



# Found by exploration. Softsign's second derivative jumps at 0, where a central difference is only
# first-order accurate (the check extrapolates); ELU at its kink takes the branch below, f'(0) = α.
SOFTSIGN_AT_ZERO = """[example]
name = "random"
kind = "stack"

[input]
batch = [[[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 2]], [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]]

[[layer]]
type = "conv"
filters = 2
kernel_size = 2
padding = 0
[[layer]]
type = "activation"
function = "softsign"
[[layer]]
type = "flatten"
[[layer]]
type = "dense"
units = 2

[output]
activation = "softmax"
loss = "cross_entropy"

[target]
values = [[0, 1], [0, 1]]

[parameters]
k1 = [[[[0, 0], [0, 0]]], [[[0, 0], [0, 0]]]]
b1 = [0, 0]
W2 = [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.1], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]]
b2 = [0, 0]

[training]
learning_rate = 0.1
steps = 1
reduction = "mean"
"""
ELU_AT_KINK = """[example]
name = "random"
kind = "stack"

[input]
batch = [[[0, 0, 0], [0, 0, 0], [0, 0, 0]], [[0, 0, 0], [0, 0, 0], [0, 0, 0]]]

[[layer]]
type = "conv"
filters = 2
kernel_size = 1
padding = 0
[[layer]]
type = "activation"
function = { name = "elu", alpha = 0.5 }
[[layer]]
type = "pool"
mode = "max"
size = 2
stride = 1
[[layer]]
type = "flatten"
[[layer]]
type = "dense"
units = 1

[output]
activation = "linear"
loss = "mse"

[target]
values = [[0], [0.1]]

[parameters]
k1 = [[[[0]]], [[[0]]]]
b1 = [0, 0]
W2 = [[0, 0, 0, 0, 0, 0, 0, 0.1]]
b2 = [0]

[training]
learning_rate = 0.1
steps = 1
reduction = "mean"
"""

@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stacks())
@example(SOFTSIGN_AT_ZERO)
@example(ELU_AT_KINK)
def test_random_stacks_agree_with_autograd_numpy_and_fd(text):
    derivation = derive_text(text)
    verification = verify(derivation)
    assert verification.passed, (verification.summary(), text)
    from symderiv.jsonout import to_dict
    result = to_dict(derivation)
    data = tomllib.loads(text)
    params, loss_of, run = setup(data)
    grads, _after = run(params, steps=1)
    loss = float(loss_of(params))

    def loss_fn(p, xp):       # the 50-digit tie-breaker needs the same model in mpmath: only where float64 fails
        raise AssertionError("float64 disagreed with the derivation beyond its rounding")

    for name, g in grads[0].items():
        got = np.asarray(result["gradients"][f"dL/d{name}"], dtype=float).reshape(g.shape)
        scale = max(float(np.max(np.abs(g))), abs(loss), 1.0)
        np.testing.assert_allclose(got, g, rtol=1e-8, atol=1e-11 * scale, err_msg=f"dL/d{name}\n{text}")


CLIP = """
[example]
name = "clip"
kind = "stack"
[input]
x = [1.0, -2.0, 0.5]
[[layer]]
type = "dense"
units = 2
[[layer]]
type = "activation"
function = { formula = "max(min(a, 0.3), -0.3)" }
[[layer]]
type = "dense"
units = 1
[output]
activation = "linear"
loss = "half_sse"
[target]
value = [1.5]
[parameters]
W1 = [[0.5, 0.1, -0.2], [-0.3, 0.4, 0.6]]
b1 = [0.1, 0.2]
W2 = [[0.7, -0.5]]
[training]
learning_rate = 0.1
"""


def test_a_formula_with_a_kink_inside_a_kink_takes_the_branch_below_each_kink():
    """A clip max(min(a, 0.3), −0.3) nests one Piecewise in another and has two kinks; z1 = [0.3, −0.6]
    puts the first unit exactly on the upper kink, where the branch below (slope 1) is taken."""
    d = derive_text(CLIP)
    verify(d)                                   # NumPy and finite differences agree at the kink too
    value = {s.name: s.value for s in d.steps}
    as_float = lambda t: [float(v.approx) for v in np.asarray(t, dtype=object).ravel()]   # noqa: E731
    assert as_float(value["z1"]) == pytest.approx([0.3, -0.6], rel=1e-15)
    assert as_float(value["a1"]) == pytest.approx([0.3, -0.3], rel=1e-15)
    assert as_float(value["da1/dz1"]) == [1.0, 0.0]
    g = (0.7 * 0.3 + 0.5 * 0.3) - 1.5                          # dL/dz2 = ŷ − y
    assert as_float(value["dL/dW1"]) == pytest.approx([0.7 * g * 1.0, 0.7 * g * -2.0, 0.7 * g * 0.5, 0, 0, 0],
                                                       rel=1e-14)
