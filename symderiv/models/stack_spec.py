"""The stack spec (``kind = "stack"``): a network written as its layers in order, checked layer by layer.

Shapes are inferred through the stack, so every size mismatch is told where it comes from ("flattening
2 filters × 2 × 2 gives 8"). Parameter names are the spec's own (``W1``, ``b1``, ``k2``: by default the
kind of parameter and the number of the layer with parameters, counted from 1).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy

from symderiv.errors import SpecError
from symderiv.models.cnn_spec import array, describe_array, nested_shape
from symderiv.ops.conv import conv_output_size
from symderiv.ops.losses import LOSSES
from symderiv.spec import fields
from symderiv.spec.exam import parse_exam
from symderiv.spec.activation import parse_activation
from symderiv.spec.fields import Table, describe

LAYER_TYPES = ("dense", "activation", "conv", "pool", "dropout", "flatten")
OUTPUT_ACTIVATIONS = ("linear", "softmax", "sigmoid")
MAX_UNITS = 64
MAX_SIDE = 64
MAX_LAYERS = 16
MAX_BATCH = 16
MAX_STEPS = 5


@dataclass(frozen=True)
class LayerSpec:
    """One validated layer: its type, settings, parameter names and the shape it gives."""

    type: str
    stage: int                          # the number of the layer with parameters it belongs to (1, 2, ...)
    settings: dict                      # per type: units, bias, filters, kernel_size, stride, padding, ...
    params: dict                        # role -> parameter name ("weight": "W1", "bias": "b1", "kernel": "k1")
    shape_in: tuple
    shape_out: tuple


@dataclass(frozen=True)
class StackSpec:
    """A validated layer stack; numbers are exact SymPy rationals, shapes as written."""

    kind = "stack"

    name: str
    title: str
    description: str
    inputs: list                        # one example per entry (one without a batch)
    input_shape: tuple
    layers: list                        # LayerSpec
    output_activation: str | None       # None: no head, the output gradient is given
    loss: str | None
    targets: list                       # one per example (empty without a head)
    upstream: list                      # ∂L/∂output per example, without a head
    parameters: dict                    # name -> nested lists of Rationals
    symbols: dict                       # parameter name -> LaTeX
    learning_rate: sympy.Rational
    steps: int
    reduction: str
    input_gradient: bool
    batch: bool
    loss_symbol: str = "L"
    learning_rate_symbol: str = r"\eta"
    silenced_lints: tuple = field(default=())
    exam: object = None             # the [exam] table (symderiv.spec.exam.ExamSpec), or None


def _dims(shape) -> str:
    return " × ".join(map(str, shape))


def _what(shape) -> str:
    """A shape in words: 'a vector of 4', 'a 2 × 3 × 3 map'."""
    if len(shape) == 1:
        return f"a vector of {shape[0]}"
    if len(shape) == 2:
        return f"a {_dims(shape)} map"
    return f"{shape[0]} map{'s' if shape[0] > 1 else ''} of {shape[1]} × {shape[2]}"


def default_symbol(name: str) -> str:
    """``W1`` -> ``W^{(1)}``, ``W`` -> ``W``, ``W_out`` -> ``W_{out}``, anything else upright."""
    head, digits = name.rstrip("0123456789"), name[len(name.rstrip("0123456789")):]
    if len(head) == 1 and head.isalpha() and digits:
        return f"{head}^{{({digits})}}"
    if len(name) == 1 and name.isalpha():
        return name
    first, _, rest = name.partition("_")
    if len(first) == 1 and first.isalpha() and rest.isalnum():
        return f"{first}_{{{rest}}}"
    return rf"\mathrm{{{name.replace('_', '')}}}"


def parse_stack(doc: Table, meta: dict) -> StackSpec:
    """Validate a stack spec: ``[input]``, ``[[layer]]``, ``[output]``, ``[target]``, ``[parameters]``, ..."""
    doc.allow_only(("example", "input", "layer", "output", "target", "parameters", "training", "notation",
                    "lints", "variants", "exam"))
    inputs, shape, batch = _parse_inputs(doc.table("input"))
    raw_layers = doc.raw("layer")
    if not isinstance(raw_layers, list) or not raw_layers:
        raise SpecError("layer", "one [[layer]] table per layer, in order", describe(raw_layers))
    if len(raw_layers) > MAX_LAYERS:
        raise SpecError("layer", f"at most {MAX_LAYERS} layers", f"{len(raw_layers)} layers")
    layers, stage, used = [], 0, set()
    for i, raw in enumerate(raw_layers):
        table = Table(raw, f"layer[{i}]")
        layer = _parse_layer(table, shape, stage, used, first=not layers)
        if layer.type == "dense" and layers and layers[-1].type == "flatten":
            layer.settings["why"] = layers[-1].settings["why"]
        stage = layer.stage
        layers.append(layer)
        shape = layer.shape_out

    out = doc.table("output")
    out.allow_only(("activation", "loss", "gradient", "gradients"))
    upstream, targets = [], []
    if out.has("gradient") or out.has("gradients"):
        if out.has("activation") or out.has("loss") or doc.has("target"):
            raise SpecError(out.field("gradient"), "either a given output gradient or an output activation, loss "
                            "and target, not both", "both")
        upstream = _examples(out, "gradient", "gradients", shape, batch, len(inputs), "the network's output")
        out_act = loss = None
    else:
        out_act = fields.choice(out.raw("activation", "linear"), out.field("activation"), OUTPUT_ACTIVATIONS)
        default = {"softmax": "cross_entropy", "sigmoid": "bce"}.get(out_act, "mse")
        loss = fields.choice(out.raw("loss", default), out.field("loss"), LOSSES)
        if out_act == "softmax" and len(shape) != 1:
            raise SpecError(out.field("activation"), "a softmax over a vector (end the stack with a dense layer)",
                            f"an output that is {_what(shape)}")
        target_table = doc.table("target")
        target_table.allow_only(("value", "values"))
        targets = _examples(target_table, "value", "values", shape, batch, len(inputs), "the output")
        _check_targets(target_table, targets, out_act, loss)

    parameters, symbols = _parse_parameters(doc.table("parameters"), layers, doc.table("notation", required=False))
    training = doc.table("training")
    training.allow_only(("learning_rate", "steps", "reduction", "input_gradient"))
    rate = fields.positive_number(training.require("learning_rate", "a positive number"),
                                  training.field("learning_rate"))
    steps = fields.integer(training.raw("steps", 1), training.field("steps"), minimum=1, maximum=MAX_STEPS)
    reduction = fields.choice(training.raw("reduction", "mean"), training.field("reduction"), ("mean", "sum"))
    input_gradient = fields.boolean(training.raw("input_gradient", False), training.field("input_gradient"))
    notation = doc.table("notation", required=False)
    loss_symbol = fields.text(notation.raw("loss", "L"), notation.field("loss"))
    rate_symbol = fields.text(notation.raw("learning_rate", r"\eta"), notation.field("learning_rate"))
    return StackSpec(meta["name"], meta["title"], meta["description"], inputs, tuple(_shape_of(inputs[0])), layers,
                     out_act, loss, targets, upstream, parameters, symbols, rate, steps, reduction, input_gradient,
                     batch, loss_symbol, rate_symbol, fields.silenced_lints(doc), parse_exam(doc))


def _shape_of(value) -> tuple:
    return nested_shape(value)


def _parse_inputs(table: Table):
    table.allow_only(("x", "batch"))
    if table.has("x") == table.has("batch"):
        raise SpecError(table.field("x"), "either x (one example) or batch (a list of examples)",
                        "both" if table.has("x") else "neither")
    if table.has("x"):
        raw = table.raw("x")
        shape = nested_shape(raw)
        if shape is None or len(shape) not in (1, 2, 3) or 0 in shape:
            raise SpecError(table.field("x"), "a vector, a matrix (rows × columns) or channels × rows × columns",
                            describe_array(raw))
        return [array(raw, table.field("x"), [shape])], shape, False
    raw = table.raw("batch")
    if not isinstance(raw, list) or len(raw) < 2:
        raise SpecError(table.field("batch"), "a list of at least 2 examples", describe(raw))
    if len(raw) > MAX_BATCH:
        raise SpecError(table.field("batch"), f"at most {MAX_BATCH} examples", f"{len(raw)} examples")
    shape = nested_shape(raw[0])
    if shape is None or len(shape) not in (1, 2, 3) or 0 in shape:
        raise SpecError(f"{table.field('batch')}[0]", "a vector, a matrix or channels × rows × columns",
                        describe_array(raw[0]))
    inputs = [array(x, f"{table.field('batch')}[{n}]", [shape],
                    f"every example has the shape of the first, {_dims(shape)}") for n, x in enumerate(raw)]
    return inputs, shape, True


def _examples(table: Table, one: str, many: str, shape: tuple, batch: bool, count: int, what: str) -> list:
    """One value of the output's shape per example: ``one`` without a batch, ``many`` (a list) with one."""
    key = many if batch else one
    wrong = one if batch else many
    if table.has(wrong):
        raise SpecError(table.field(wrong), f"'{key}' ({'one per example' if batch else 'one example'})",
                        f"'{wrong}'")
    expected = f"{_what(shape)} ({what})" if not batch else f"a list of {count} values, each {_what(shape)}"
    raw = table.require(key, expected)
    if not batch:
        if len(shape) == 1 and not isinstance(raw, list):
            raw = [raw]
        return [array(raw, table.field(key), [shape], what)]
    if not isinstance(raw, list) or len(raw) != count:
        raise SpecError(table.field(key), f"{count} values, one per example of the batch", describe(raw))
    return [array([v] if len(shape) == 1 and not isinstance(v, list) else v, f"{table.field(key)}[{n}]", [shape], what)
            for n, v in enumerate(raw)]


def _check_targets(table: Table, targets: list, out_act: str, loss: str) -> None:
    if loss not in ("cross_entropy", "bce", "bce_mean"):
        return
    for n, target in enumerate(targets):
        flat = _flat(target)
        path = table.field("values") + f"[{n}]" if len(targets) > 1 else table.field("value")
        for j, v in enumerate(flat):
            if v < 0 or v > 1:
                raise SpecError(path, f"probabilities between 0 and 1 for the {loss} loss", f"{v} at position {j}")
        if loss == "cross_entropy" and sum(flat) != 1:
            raise SpecError(path, "a distribution summing to 1 for the cross_entropy loss",
                            f"a target summing to {sum(flat)}")


def _flat(nested) -> list:
    return [v for item in nested for v in _flat(item)] if isinstance(nested, list) else [nested]


# -- layers -----------------------------------------------------------------------------------------
def _parse_layer(table: Table, shape: tuple, stage: int, used: set, first: bool) -> LayerSpec:
    kind = fields.choice(table.require("type", f"one of {', '.join(map(repr, LAYER_TYPES))}"), table.field("type"),
                         LAYER_TYPES)
    return {"dense": _dense, "activation": _activation, "conv": _conv, "pool": _pool, "dropout": _dropout,
            "flatten": _flatten}[kind](table, shape, stage, used)


def _names(table: Table, roles: dict, stage: int, used: set) -> dict:
    """Parameter names: the spec's (``names = { weight = "W" }``) or the role's letter and the stage."""
    given = table.raw("names", {})
    if not isinstance(given, dict):
        raise SpecError(table.field("names"), "a table of parameter names, e.g. { weight = \"W\" }", describe(given))
    for key in given:
        if key not in roles:
            raise SpecError(f"{table.field('names')}.{key}", f"one of {', '.join(roles)}", f"'{key}'")
    names = {}
    for role, letter in roles.items():
        name = fields.text(given.get(role, f"{letter}{stage}"), f"{table.field('names')}.{role}")
        if not name.replace("_", "").isalnum() or not name[0].isalpha():
            raise SpecError(f"{table.field('names')}.{role}", "a name of letters, digits and underscores",
                            repr(name))
        if name in used:
            raise SpecError(f"{table.field('names')}.{role}", "a name no other parameter has", f"'{name}' again")
        used.add(name)
        names[role] = name
    return names


def _dense(table: Table, shape: tuple, stage: int, used: set) -> LayerSpec:
    table.allow_only(("type", "units", "bias", "names"))
    if len(shape) != 1:
        raise SpecError(table.field("type"), "a dense layer after a vector (put a flatten layer before it)",
                        f"its input is {_what(shape)}")
    units = fields.integer(table.require("units", "a whole number of units"), table.field("units"), 1, MAX_UNITS)
    bias = fields.boolean(table.raw("bias", True), table.field("bias"))
    stage += 1
    names = _names(table, {"weight": "W", "bias": "b"} if bias else {"weight": "W"}, stage, used)
    return LayerSpec("dense", stage, {"units": units, "bias": bias}, names, shape, (units,))


def _activation(table: Table, shape: tuple, stage: int, used: set) -> LayerSpec:
    table.allow_only(("type", "function", "symbol"))
    raw = table.require("function", "an activation's name, a table with its parameters, or { formula = \"...\" }")
    settings = {"symbol": fields.text(table.raw("symbol"), table.field("symbol")) if table.has("symbol") else None}
    if isinstance(raw, dict) and "formula" in raw:
        from symderiv.ops.formula import parse
        path = table.field("function")
        constants = {}
        for key, value in raw.items():
            if key not in ("formula", "name"):
                constants[key] = fields.number(value, f"{path}.{key}")
        parse(raw["formula"], f"{path}.formula", constants)
        settings.update(formula=raw["formula"], constants=tuple(sorted(constants.items())),
                        name=fields.text(raw.get("name", "f"), f"{path}.name"))
    else:
        name, values = parse_activation(raw, table.field("function"))
        settings.update(name=name, values=values)
    return LayerSpec("activation", stage, settings, {}, shape, shape)


def _map_shape(shape: tuple) -> tuple:
    return (1,) + shape if len(shape) == 2 else shape


def _pair(value, path: str, what: str) -> tuple[int, int]:
    if isinstance(value, list):
        if len(value) != 2:
            raise SpecError(path, f"a whole number or [rows, columns] ({what})", describe(value))
        return tuple(fields.integer(v, f"{path}[{i}]", 1, MAX_SIDE) for i, v in enumerate(value))
    n = fields.integer(value, path, 1, MAX_SIDE)
    return n, n


def _padding(raw, path: str, size: tuple, kernel: tuple, stride: int) -> tuple[int, int, int, int]:
    """(top, bottom, left, right): a number for every side, four numbers, or "same" (the output keeps
    ⌈X/S⌉ cells; an odd total puts the extra zero at the bottom and right, as frameworks do)."""
    if raw == "same":
        pads = []
        for x, k in zip(size, kernel):
            total = max((-(-x // stride) - 1) * stride + k - x, 0)
            pads += [total // 2, total - total // 2]
        return pads[0], pads[1], pads[2], pads[3]
    if isinstance(raw, list):
        if len(raw) != 4:
            raise SpecError(path, "a number, [top, bottom, left, right] or \"same\"", describe(raw))
        return tuple(fields.integer(v, f"{path}[{i}]", 0, MAX_SIDE) for i, v in enumerate(raw))
    if isinstance(raw, str):
        raise SpecError(path, "a number, [top, bottom, left, right] or \"same\"", describe(raw))
    p = fields.integer(raw, path, 0, MAX_SIDE)
    return p, p, p, p


def _conv(table: Table, shape: tuple, stage: int, used: set) -> LayerSpec:
    table.allow_only(("type", "filters", "kernel_size", "stride", "padding", "bias", "names"))
    if len(shape) == 1:
        raise SpecError(table.field("type"), "a convolution over a map (rows × columns or channels × rows × "
                        "columns)", f"its input is {_what(shape)}")
    channels, rows, cols = _map_shape(shape)
    filters = fields.integer(table.raw("filters", 1), table.field("filters"), 1, 32)
    kernel = _pair(table.require("kernel_size", "a whole number or [rows, columns]"), table.field("kernel_size"),
                   "the kernel's rows and columns")
    stride = fields.integer(table.raw("stride", 1), table.field("stride"), 1, MAX_SIDE)
    pads = _padding(table.raw("padding", 0), table.field("padding"), (rows, cols), kernel, stride)
    if kernel[0] > rows + pads[0] + pads[1] or kernel[1] > cols + pads[2] + pads[3]:
        raise SpecError(table.field("kernel_size"),
                        f"a kernel no larger than its padded input ({rows + pads[0] + pads[1]} × "
                        f"{cols + pads[2] + pads[3]}: {_what(shape)} with its padding)",
                        f"a {kernel[0]} × {kernel[1]} kernel")
    bias = fields.boolean(table.raw("bias", True), table.field("bias"))
    stage += 1
    names = _names(table, {"kernel": "k", "bias": "b"} if bias else {"kernel": "k"}, stage, used)
    out = (filters, conv_output_size(rows, kernel[0], pads[0], stride, pads[1]),
           conv_output_size(cols, kernel[1], pads[2], stride, pads[3]))
    settings = {"filters": filters, "kernel_size": kernel, "stride": stride, "padding": pads, "channels": channels,
                "bias": bias, "input_size": (rows, cols)}
    return LayerSpec("conv", stage, settings, names, shape, out)


def _pool(table: Table, shape: tuple, stage: int, used: set) -> LayerSpec:
    table.allow_only(("type", "mode", "size", "stride"))
    if len(shape) == 1:
        raise SpecError(table.field("type"), "pooling over a map", f"its input is {_what(shape)}")
    channels, rows, cols = _map_shape(shape)
    mode = fields.choice(table.raw("mode", "max"), table.field("mode"), ("max", "avg"))
    p, q = _pair(table.require("size", "a whole number or [rows, columns]"), table.field("size"), "the window")
    if p > rows or q > cols:
        raise SpecError(table.field("size"), f"a window no larger than the {rows} × {cols} map it pools",
                        f"a {p} × {q} window")
    if table.has("stride") or p != q:
        stride = fields.integer(table.require("stride", f"a stride (no default for a {p} × {q} window)"),
                                table.field("stride"), 1, MAX_SIDE)
    else:
        stride = p
    out = (channels, conv_output_size(rows, p, 0, stride), conv_output_size(cols, q, 0, stride))
    return LayerSpec("pool", stage, {"mode": mode, "size": (p, q), "stride": stride}, {}, shape, out)


def _dropout(table: Table, shape: tuple, stage: int, used: set) -> LayerSpec:
    table.allow_only(("type", "p", "mask"))
    p = fields.number(table.require("p", "a drop probability at least 0 and below 1"), table.field("p"))
    if p < 0 or p >= 1:
        raise SpecError(table.field("p"), "a drop probability at least 0 and below 1", describe(table.raw("p")))
    mask = array(table.require("mask", f"a 0/1 mask of the shape of its input, {_what(shape)}"), table.field("mask"),
                 [shape], f"the shape of its input, {_what(shape)}")
    for index, v in enumerate(_flat(mask)):
        if v not in (0, 1):
            raise SpecError(table.field("mask"), "0 (dropped) or 1 (kept) in every cell", f"{v} (entry {index})")
    return LayerSpec("dropout", stage, {"p": p, "mask": mask}, {}, shape, shape)


def _flatten(table: Table, shape: tuple, stage: int, used: set) -> LayerSpec:
    table.allow_only(("type",))
    size = 1
    for n in shape:
        size *= n
    maps = f"{shape[0]} filter{'s' if shape[0] > 1 else ''} × {shape[1]} × {shape[2]}" if len(shape) == 3 \
        else _dims(shape)
    return LayerSpec("flatten", stage, {"why": f"flattening {maps} gives {size}"}, {}, shape, (size,))


# -- parameters ----------------------------------------------------------------------------------------
def _parse_parameters(table: Table, layers: list, notation: Table) -> tuple[dict, dict]:
    expected_names = [name for layer in layers for name in layer.params.values()]
    table.allow_only(expected_names)
    params, symbols = {}, {}
    for layer in layers:
        for role, name in layer.params.items():
            shapes, what = _parameter_shapes(layer, role)
            path = table.field(name)
            if role == "bias" and not table.has(name):
                params[name] = _zeros(shapes[0])
            else:
                params[name] = array(table.require(name, _expected(shapes[0], what)), path, shapes, what)
            symbols[name] = default_symbol(name)
    notation.allow_only(set(expected_names) | {"loss", "learning_rate"})
    for name in expected_names:
        if notation.has(name):
            symbols[name] = fields.text(notation.raw(name), notation.field(name))
    return params, symbols


def _expected(shape, what) -> str:
    if len(shape) == 0:
        return f"a number ({what})"
    if len(shape) == 1:
        return f"a list of {shape[0]} numbers ({what})"
    return f"a {_dims(shape)} {'matrix' if len(shape) == 2 else 'array'} ({what})"


def _zeros(shape):
    if not shape:
        return sympy.Integer(0)
    return [_zeros(shape[1:]) for _ in range(shape[0])]


def _parameter_shapes(layer: LayerSpec, role: str) -> tuple[list, str]:
    s = layer.settings
    if layer.type == "dense":
        units, inputs = s["units"], layer.shape_in[0]
        if role == "weight":
            why = f"; {s['why']}" if s.get("why") else ""
            return [(units, inputs)], f"units × inputs{why}"
        return [(units,)], f"one per unit: {units}"
    filters, channels, (n, m) = s["filters"], s["channels"], s["kernel_size"]
    if role == "kernel":
        shapes = [(filters, channels, n, m)] + ([(n, m)] if filters == 1 and channels == 1 else [])
        if filters == 1 and channels == 1:
            shapes.reverse()
        return shapes, f"filters × channels × rows × columns: {filters} × {channels} × {n} × {m}"
    return ([(), (1,)] if filters == 1 else [(filters,)]), f"one per filter: {filters}"
