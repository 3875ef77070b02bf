"""A network of layers derived: picklable (for worker processes), forward only, layers as records."""

from __future__ import annotations

import pickle

import pytest

from symderiv import derive
from symderiv.api import derive_spec
from symderiv.layers.feedforward import Conv2D, Pool
from symderiv.layers.recurrent import Recurrent
from symderiv.spec.load import load_spec
from symderiv.steps import Kind


@pytest.mark.parametrize("name", ["cnn-image", "rnn-text", "rnn-timeseries"])
def test_a_derivation_pickles(name):
    d = derive(name)
    back = pickle.loads(pickle.dumps(d))
    assert [s.name for s in back.steps] == [s.name for s in d.steps]
    for old, new in zip(d.steps, back.steps):
        assert new.floats == old.floats
        assert [str(n.exact) for n in new.value.flat] == [str(n.exact) for n in old.value.flat]
    # the operation table comes along: a step recomputed from its inputs gives its value again
    step = back["dL/dW_hz" if "dL/dW_hz" in back else "dL/dW"]
    again = back.ops[step.op].forward(*(back[i].value for i in step.inputs))
    assert [n.approx for n in again.flat] == [n.approx for n in step.value.flat]
    assert [type(layer) for layer in back.layers] == [type(layer) for layer in d.layers]


def test_a_defined_operation_pickles_with_its_derivation():
    from symderiv.api import derive_text
    from symderiv.spec.load import builtin_text
    text = builtin_text("rnn-text").replace('activation = "tanh"', 'activation = { name = "leaky_relu", alpha = 0.2 }')
    d = derive_text(text)
    back = pickle.loads(pickle.dumps(d))
    assert back.ops.defined == d.ops.defined != {}
    h = back["h_1"]
    assert back.ops[h.op].forward(back[h.inputs[0]].value)[0].exact == h.value[0].exact


def test_forward_only_stops_after_the_loss():
    spec = load_spec("cnn-image")
    full, forward = derive_spec(spec), derive_spec(spec, forward_only=True)
    assert forward.of_kind(Kind.BACKWARD, Kind.GRADIENT, Kind.UPDATE, Kind.LOCAL) == []
    assert forward["L"].floats == full["L"].floats
    assert [s.name for s in forward.steps] == [s.name for s in full.steps][:len(forward.steps)]


def test_layers_say_which_step_is_which():
    rnn = derive("rnn-text").layers_of(Recurrent)[0]
    assert rnn.names.a(2, 1)[0] == "a_2" and rnn.inputs[3] == "x_3" and rnn.param("W_hh", 1).name == "W_hh"
    d = derive("cnn-image")
    conv, pool = d.layers_of(Conv2D)[0], d.layers_of(Pool)[0]
    assert d[conv.output].owner == conv.id and conv.kernel.name == "k"
    assert pool.input == "h'" and d[f"dL/d{pool.input}"].owner == pool.id
