"""The stack preset: a stack spec's layers as they are written, with names by the number of their layer
with parameters (z1 = W1 x + b1, a1 = σ(z1), z2 = W2 a1 + b2, ŷ = σ(z2))."""

from __future__ import annotations

from symderiv.layers.base import Param, d
from symderiv.layers.feedforward import Activation, Conv2D, Dense, Dropout, Flatten, Pool
from symderiv.layers.head import Head, HeadNames
from symderiv.models.stack_spec import StackSpec, parse_stack as parse  # noqa: F401  (the preset's parser)
from symderiv.network import FeedForward, Given
from symderiv.ops import OpTable
from symderiv.ops.elementwise import BUILTIN_ACTIVATIONS, formula_activation, use_activation

OUTPUT = {"dense": ("z", "z"), "conv": ("z", "z"), "activation": ("a", "a"), "pool": ("p", "p"),
          "dropout": ("d", r"\tilde{a}"), "flatten": ("f", "f")}


def network(spec: StackSpec) -> FeedForward:
    """The layers of a stack spec, each named after its stage (the layer with parameters it follows)."""
    ops = OpTable()
    layers, used = [], set()
    size_step = "size(x)"
    for i, ls in enumerate(spec.layers):
        letter, symbol_letter = OUTPUT[ls.type]
        name = f"{letter}{ls.stage}" if ls.stage else letter + "0"
        while name in used:
            name += "b"
        used.add(name)
        symbol = f"{symbol_letter}^{{({ls.stage})}}" if ls.stage else symbol_letter
        first = i == 0
        layer, size_step = _layer(spec, ls, i, name, symbol, first, ops, size_step)
        layers.append(layer)
    last = layers[-1].output
    last_symbol = layers[-1].output_symbol
    L = spec.loss_symbol
    outputs = HeadNames(last, last_symbol, "yhat", r"\hat{y}", "y", "L", L)
    head = Head("output", spec.output_activation or "linear", spec.loss or "mse", L)
    batch = spec.batch

    def given(base, symbol, value, n):
        return Given(f"{base}(n={n})" if batch else base, f"{{{symbol}}}^{{[{n}]}}" if batch else symbol, value)

    inputs = [given("x", "x", x, n) for n, x in enumerate(spec.inputs, 1)]
    targets = [given("y", "y", y, n) for n, y in enumerate(spec.targets, 1)]
    upstream = [given(f"dL/d{last}", d(L, last_symbol), g, n) for n, g in enumerate(spec.upstream, 1)]
    example = {"name": spec.name, "title": spec.title, "description": spec.description, "kind": "stack"}
    return FeedForward(example, ops, inputs, layers, head, outputs, targets, spec.learning_rate,
                       spec.learning_rate_symbol, spec, spec.steps, spec.reduction, upstream)


def _param(spec: StackSpec, name: str, role: str) -> Param:
    return Param(name, role, (), spec.symbols[name], spec.parameters[name])


def _layer(spec: StackSpec, ls, i: int, name: str, symbol: str, first: bool, ops: OpTable, size_step: str):
    s = ls.settings
    layer_id = f"layer{i + 1}"
    if ls.type == "dense":
        bias = _param(spec, ls.params["bias"], "bias") if s["bias"] else None
        return Dense(layer_id, _param(spec, ls.params["weight"], "weight"), bias, name, symbol,
                     input_gradient=not first or spec.input_gradient), None
    if ls.type == "activation":
        if "formula" in s:
            op = s["name"]
            ops.define(op, ("formula", s["formula"], s["constants"], s["symbol"] or "f"))
            bound = formula_activation(s["formula"], s["constants"], s["symbol"] or "f").bind({})
            sym = s["symbol"] or "f"
            note = rf"$f(a) = {_latex(bound.formula)}$, as the spec gives it; its derivative comes from SymPy."
            params, text = (), s["formula"]
        else:
            op = s["name"]
            bound = use_activation(ops, op, s["values"])
            sym = s["symbol"] or BUILTIN_ACTIVATIONS[op].symbol
            note, params, text = bound.activation.note, bound.values, ""
        return Activation(layer_id, op, sym, bound.forward_pattern(sym), bound.derivative_pattern(sym), name, symbol,
                          derivative_note=note, params=params, formula=text,
                          formula_constants=s.get("constants", ()),
                          formula_field=f"layer[{i}].function.formula" if text else ""), size_step
    if ls.type == "conv":
        n = ls.stage
        bias = _param(spec, ls.params["bias"], "bias") if s["bias"] else None
        pads = s["padding"]
        padding = pads[0] if len(set(pads)) == 1 else pads
        conv = Conv2D(layer_id, _param(spec, ls.params["kernel"], "kernel"), bias, s["stride"], padding,
                      s["kernel_size"], s["filters"], s["channels"], s["input_size"], output=name,
                      output_symbol=symbol, input_gradient=not first or spec.input_gradient,
                      stride_name=f"stride{n}", padding_name=f"padding{n}", input_size_name=size_step or "size(x)",
                      kernel_size_name=f"size({ls.params['kernel']})", size_name=f"size({name})",
                      gives_input_size=size_step in (None, "size(x)"), label=str(n))
        return conv, f"size({name})"
    if ls.type == "pool":
        pool = Pool(layer_id, s["mode"], s["size"], s["stride"], output=name, output_symbol=symbol,
                    size_name=f"pool_size{i + 1}", stride_name=f"pool_stride{i + 1}", map_size_name=f"size({name})",
                    input_size_name=size_step, label=str(ls.stage))
        return pool, f"size({name})"
    if ls.type == "dropout":
        return Dropout(layer_id, s["p"], s["mask"], output=name, output_symbol=symbol, p_name=f"dropout_p{i + 1}",
                       mask_name=f"dropout_mask{i + 1}"), size_step
    return Flatten(layer_id, output=name, output_symbol=symbol), None


def _latex(expr) -> str:
    from symderiv.ops.elementwise import pattern_of
    return pattern_of(expr, "f").replace("{{", "{").replace("}}", "}").replace("{0}", "a")
