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
