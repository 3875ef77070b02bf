"""The derivation as data: ordered, named, SymPy definitions in terms of earlier symbols."""

from __future__ import annotations

import sympy

from symderiv import derive
from symderiv.steps import Kind


def test_steps_only_use_earlier_steps():
    d = derive("rnn-text")
    seen = set()
    for step in d.steps:
        assert all(i in seen for i in step.inputs), step.name
        seen.add(step.name)


def test_hidden_state_defined_through_previous_one():
    d = derive("rnn-timeseries")
    definition = d.definition("a_3")
    names = {str(s) for s in definition.free_symbols}
    assert {"W_xh", "x_3", "W_hh", "h_2", "b_h"} <= names
    assert "h_1" not in names
    assert d.definition("h_3") == sympy.Function("tanh")(sympy.MatrixSymbol("a_3", 1, 1))


def test_bptt_keeps_per_time_contributions_and_recursion():
    d = derive("rnn-text")
    total = d["dL/dW_hh"]
    assert total.kind == Kind.GRADIENT
    assert total.inputs == ("dL/dW_hh(t=1)", "dL/dW_hh(t=2)", "dL/dW_hh(t=3)")
    assert d["dL/dh_2"].inputs == ("W_hh", "dL/da_3")
    assert d["dL/da_2"].inputs == ("dL/dh_2", "dh_2/da_2")
    assert d["dL/da_2"].chain == (r"\frac{\partial L}{\partial h_{2}}", r"\frac{\partial h_{2}}{\partial a_{2}}")


def test_gradients_along_several_paths_are_summed_in_one_step():
    """A value used twice gets two contributions; mixed operations are added by a sum the derivation
    defines, its formula the members' formulas side by side (as micrograd's += accumulates)."""
    from symderiv.numbers import Num
    from symderiv.steps import Builder

    b = Builder()
    b.given("W", "W", Kind.PARAMETER, [[Num.rational(2), Num.rational(-1)]])
    b.given("x", "x", Kind.INPUT, [Num.rational(3), Num.rational(5)])
    b.given("m", "m", Kind.CONSTANT, [Num.rational("1/2"), Num.rational(4)])
    b.compute("u", "u", Kind.FORWARD, "matvec", ["W", "x"])          # u = W x   (x used here ...)
    b.compute("v", "v", Kind.FORWARD, "hadamard", ["x", "m"])        # v = x ⊙ m (... and here)
    b.given("dL/du", "g_u", Kind.BACKWARD, [Num.rational(7)])
    b.given("dL/dv", "g_v", Kind.BACKWARD, [Num.rational(1), Num.rational(-2)])
    b.contribute("x", "u", 1, "dL/du", ("a", "b"))
    b.contribute("x", "v", 0, "dL/dv", ("c", "d"))
    step = b.gradient("x", "dL/dx", "g_x", Kind.BACKWARD)
    # Wᵀ g_u + g_v ⊙ m = [14, −7] + [1/2, −8]
    assert [n.exact for n in step.value] == [sympy.Rational(29, 2), -15]
    assert step.formula == r"{0:T} {1} + {2} \odot {3}"
    assert step.inputs == ("W", "dL/du", "dL/dv", "m")
    assert step.chain == ("ab + cd",)
    assert b.ops[step.op].forward(*(b.value(i) for i in step.inputs))[1].exact == -15


def test_a_single_path_keeps_its_operation_and_chain():
    d = derive("cnn-image")
    assert d["dL/dh'''"].op == "matvec_t" and d["dL/dh'''"].inputs == ("W", "dL/dz")
    assert d["dL/dh'''"].chain == (r"\frac{\partial L}{\partial z}", r"\frac{\partial z}{\partial h'''}")
