"""The convolutional-network spec: read and validate the TOML tables into a :class:`CNNSpec`.

One convolution (several filters, stride, zero padding), an activation, optional pooling and
dropout, flatten, one dense output layer. Every check names the field, what was expected and
what was found; shapes are checked against the sizes the layers produce, so a wrong ``W`` is told
what the flattened size is and where it comes from (README, section "Spec files: convolutional
networks").
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy

from symderiv.errors import SpecError
from symderiv.ops.conv import conv_output_size
from symderiv.ops.elementwise import BUILTIN_ACTIVATIONS as ACTIVATIONS
from symderiv.spec import fields
from symderiv.spec.exam import parse_exam
from symderiv.spec.activation import parse_activation
from symderiv.spec.fields import Table, describe

OUTPUT_ACTIVATIONS = ("softmax", "sigmoid", "linear")
LOSSES = ("cross_entropy", "bce", "bce_mean", "mse", "sse")
POOL_MODES = ("max", "avg")
ROLES = ("k", "b_conv", "W", "b")
DEFAULT_SYMBOLS = {"k": "k", "b_conv": r"b_{\mathrm{conv}}", "W": "W", "b": "b"}
#: Plain names of the derivation's own steps, which a renamed parameter must not take.
RESERVED_NAMES = frozenset({"x", "h", "h'", "h''", "h_drop", "h'''", "z", "yhat", "y", "L", "eta", "stride",
                            "padding", "size(x)", "size(k)", "size(h)", "size(h'')", "pool_size", "pool_stride",
                            "dropout_p", "dropout_mask"})
MAX_SIDE = 64
MAX_CHANNELS = 16
MAX_FILTERS = 32


@dataclass(frozen=True)
class Pooling:
    mode: str                      # "max" or "avg"
    size: tuple[int, int]          # window rows × columns
    stride: int


@dataclass(frozen=True)
class Dropout:
    p: sympy.Rational              # drop probability, 0 ≤ p < 1
    mask: list                     # filters × rows × columns of 0/1 (always 3-d here)


@dataclass(frozen=True)
class Notation:
    """How quantities are written on slides; all LaTeX."""

    symbols: dict                  # parameter name -> LaTeX symbol
    activation: str                # e.g. r"\operatorname{ReLU}" or r"\sigma_{ReLU}"
    loss: str = "L"
    learning_rate: str = r"\eta"


@dataclass(frozen=True)
class CNNSpec:
    """A validated one-convolution network; numbers are exact SymPy rationals, shapes as written."""

    kind = "cnn"

    name: str
    title: str
    description: str
    image: list                    # rows × columns (one channel) or channels × rows × columns, as written
    channels: int
    input_size: tuple[int, int]    # rows, columns
    filters: int
    kernel_size: tuple[int, int]   # n, m
    stride: int
    padding: int
    activation: str
    conv_size: tuple[int, int]     # rows, columns of each feature map
    pooling: Pooling | None
    dropout: Dropout | None
    map_size: tuple[int, int]      # rows, columns of each map that is flattened
    output_activation: str
    loss: str
    target: list
    parameters: dict               # name -> nested lists of Rationals, in the shape the spec gives
    names: dict                    # role ("k", "b_conv", "W", "b") -> name; "b_conv" absent without a conv bias
    learning_rate: sympy.Rational
    input_gradient: bool
    notation: Notation
    silenced_lints: tuple = field(default=())
    activation_params: tuple = ()   # (parameter, exact value) given for the activation (leaky ReLU's alpha)
    exam: object = None             # the [exam] table (symderiv.spec.exam.ExamSpec), or None

    @property
    def classes(self) -> int:
        return len(self.target)

    @property
    def flat_size(self) -> int:
        return self.filters * self.map_size[0] * self.map_size[1]

    def name_of(self, role: str) -> str | None:
        return self.names.get(role)


# -- nested arrays ---------------------------------------------------------------------------
def nested_shape(value) -> tuple[int, ...] | None:
    """The shape of a rectangular nested list of non-lists, () for a scalar, None when ragged."""
    if not isinstance(value, list):
        return ()
    if not value:
        return (0,)
    shapes = {nested_shape(v) for v in value}
    if len(shapes) != 1:
        return None
    inner = shapes.pop()
    return None if inner is None else (len(value),) + inner


def describe_array(value) -> str:
    """What was found, for an array field: 'a 3 × 2 matrix', 'a 2 × 3 × 3 array', 'a ragged list'."""
    shape = nested_shape(value)
    if shape is None:
        return "a ragged list (rows of different lengths)"
    if len(shape) >= 3:
        return f"a {' × '.join(map(str, shape))} array"
    return describe(value)


def _dims(shape: tuple[int, ...]) -> str:
    return " × ".join(map(str, shape))


def _expected_array(shape: tuple[int, ...], what: str) -> str:
    label = f" ({what})" if what else ""
    if len(shape) == 0:
        return f"a number{label}"
    if len(shape) == 1:
        return f"a list of {shape[0]} numbers{label}"
    if len(shape) == 2:
        return f"a {_dims(shape)} matrix{label}"
    return f"a {_dims(shape)} array{label}"


def array(value, path: str, shapes: list[tuple[int, ...]], what: str = "") -> list:
    """Nested lists of exact rationals in one of the allowed ``shapes`` (the first is named in errors)."""
    shape = nested_shape(value)
    if shape not in shapes:
        if isinstance(value, list) and shape is not None and len(shape) == 1 and shape[0] == 0:
            raise SpecError(path, _expected_array(shapes[0], what), "an empty list")
        if shape is None and isinstance(value, list) and any(isinstance(v, list) for v in value) \
                and not all(isinstance(v, list) for v in value):
            raise SpecError(path, _expected_array(shapes[0], what), "a list mixing numbers and rows")
        raise SpecError(path, _expected_array(shapes[0], what), describe_array(value))
    return _numbers(value, path)


def _numbers(value, path: str):
    if isinstance(value, list):
        return [_numbers(v, f"{path}[{i}]") for i, v in enumerate(value)]
    return fields.number(value, path)


def _pair(value, path: str, what: str, minimum: int = 1, maximum: int = MAX_SIDE) -> tuple[int, int]:
    """A size given as one whole number (square) or as [rows, columns]."""
    if isinstance(value, list):
        if len(value) != 2:
            raise SpecError(path, f"a whole number or a list [rows, columns] ({what})", describe(value))
        return tuple(fields.integer(v, f"{path}[{i}]", minimum, maximum) for i, v in enumerate(value))
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(path, f"a whole number or a list [rows, columns] ({what})", describe(value))
    n = fields.integer(value, path, minimum, maximum)
    return n, n


# -- the spec --------------------------------------------------------------------------------
def parse_cnn(doc: Table, meta: dict) -> CNNSpec:
    """Validate the tables of a CNN spec (``[input]``, ``[convolution]``, ``[pooling]``, ...)."""
    doc.allow_only(("example", "input", "convolution", "pooling", "dropout", "output", "target", "parameters",
                    "training", "names", "notation", "lints", "variants", "exam"))
    image, channels, (rows, cols) = _parse_image(doc.table("input"))

    conv = doc.table("convolution")
    conv.allow_only(("filters", "kernel_size", "stride", "padding", "activation"))
    filters = fields.integer(conv.raw("filters", 1), conv.field("filters"), minimum=1, maximum=MAX_FILTERS)
    n, m = _pair(conv.require("kernel_size", "a whole number or a list [rows, columns]"),
                 conv.field("kernel_size"), "the kernel's rows and columns")
    stride = fields.integer(conv.raw("stride", 1), conv.field("stride"), minimum=1, maximum=MAX_SIDE)
    padding = fields.integer(conv.raw("padding", 0), conv.field("padding"), minimum=0, maximum=MAX_SIDE)
    activation, activation_params = parse_activation(conv.raw("activation", "relu"), conv.field("activation"))
    if n > rows + 2 * padding or m > cols + 2 * padding:
        raise SpecError(conv.field("kernel_size"),
                        f"a kernel no larger than the padded input ({rows + 2 * padding} × {cols + 2 * padding}: "
                        f"the {rows} × {cols} image with padding {padding})", f"a {n} × {m} kernel")
    conv_size = (conv_output_size(rows, n, padding, stride), conv_output_size(cols, m, padding, stride))

    pooling, map_size = None, conv_size
    if doc.has("pooling"):
        pooling = _parse_pooling(doc.table("pooling"), conv_size)
        map_size = (conv_output_size(conv_size[0], pooling.size[0], 0, pooling.stride),
                    conv_output_size(conv_size[1], pooling.size[1], 0, pooling.stride))
    dropout = _parse_dropout(doc.table("dropout"), filters, map_size, pooling) if doc.has("dropout") else None

    out = doc.table("output")
    out.allow_only(("activation", "loss"))
    out_act = fields.choice(out.require("activation", f"one of {', '.join(map(repr, OUTPUT_ACTIVATIONS))}"),
                            out.field("activation"), OUTPUT_ACTIVATIONS)
    default_loss = {"softmax": "cross_entropy", "sigmoid": "bce"}.get(out_act, "mse")
    loss = fields.choice(out.raw("loss", default_loss), out.field("loss"), LOSSES)
    target = _parse_target(doc.table("target"), out_act, loss)

    names = _parse_names(doc)
    params = doc.table("parameters")
    has_conv_bias = params.has(names["b_conv"])
    if not has_conv_bias:
        del names["b_conv"]
    parameters = _parse_parameters(params, names, channels, filters, (n, m), map_size, len(target), pooling,
                                   dropout is not None)

    training = doc.table("training")
    training.allow_only(("learning_rate", "input_gradient"))
    rate = fields.positive_number(training.require("learning_rate", "a positive number"),
                                  training.field("learning_rate"))
    input_gradient = fields.boolean(training.raw("input_gradient", False), training.field("input_gradient"))

    notation = _parse_notation(doc.table("notation", required=False), names, activation)
    return CNNSpec(
        name=meta["name"], title=meta["title"], description=meta["description"],
        image=image, channels=channels, input_size=(rows, cols), filters=filters, kernel_size=(n, m),
        stride=stride, padding=padding, activation=activation, activation_params=activation_params,
        conv_size=conv_size, pooling=pooling,
        dropout=dropout, map_size=map_size, output_activation=out_act, loss=loss, target=target,
        parameters=parameters, names=names, learning_rate=rate, input_gradient=input_gradient,
        notation=notation, silenced_lints=fields.silenced_lints(doc), exam=parse_exam(doc),
    )


def _parse_image(table: Table):
    table.allow_only(("image",))
    raw = table.require("image", "a matrix (rows × columns) or channels × rows × columns")
    expected = "a matrix of numbers (rows × columns) or a list of equal-sized matrices (channels × rows × columns)"
    shape = nested_shape(raw)
    if shape is None or len(shape) not in (2, 3) or 0 in shape:
        found = "an empty list" if raw == [] else describe_array(raw)
        if shape is not None and len(shape) == 4:
            found = f"a {_dims(shape)} array"
        raise SpecError(table.field("image"), expected, found)
    if len(shape) == 3 and shape[0] > MAX_CHANNELS:
        raise SpecError(table.field("image"), f"at most {MAX_CHANNELS} channels", f"{shape[0]} channels")
    rows, cols = shape[-2:]
    if rows > MAX_SIDE or cols > MAX_SIDE:
        raise SpecError(table.field("image"), f"an image of at most {MAX_SIDE} × {MAX_SIDE}",
                        f"a {rows} × {cols} image")
    return _numbers(raw, table.field("image")), (shape[0] if len(shape) == 3 else 1), (rows, cols)


def _parse_pooling(table: Table, conv_size: tuple[int, int]) -> Pooling:
    table.allow_only(("mode", "size", "stride"))
    mode = fields.choice(table.raw("mode", "max"), table.field("mode"), POOL_MODES)
    p, q = _pair(table.require("size", "a whole number or a list [rows, columns]"), table.field("size"),
                 "the pooling window's rows and columns")
    if p > conv_size[0] or q > conv_size[1]:
        raise SpecError(table.field("size"),
                        f"a window no larger than the {conv_size[0]} × {conv_size[1]} feature map the convolution "
                        "gives", f"a {p} × {q} window")
    if table.has("stride"):
        stride = fields.integer(table.raw("stride"), table.field("stride"), minimum=1, maximum=MAX_SIDE)
    elif p == q:
        stride = p
    else:
        raise SpecError(table.field("stride"), f"a stride (there is no default for a {p} × {q} window)",
                        "nothing (the field is missing)")
    return Pooling(mode, (p, q), stride)


def _parse_dropout(table: Table, filters: int, map_size: tuple[int, int], pooling) -> Dropout:
    table.allow_only(("p", "mask"))
    path = table.field("p")
    p = fields.number(table.require("p", "a drop probability at least 0 and below 1"), path)
    if p < 0 or p >= 1:
        raise SpecError(path, "a drop probability at least 0 and below 1", describe(table.raw("p")))
    rows, cols = map_size
    where = "pooled map" if pooling else "feature map"
    shapes = [(filters, rows, cols)] + ([(rows, cols)] if filters == 1 else [])
    what = f"the {where}: {filters} filter{'s' if filters > 1 else ''} × {rows} × {cols}"
    if filters == 1:
        shapes.reverse()
    mask = array(table.require("mask", _expected_array(shapes[0], what)), table.field("mask"), shapes, what)
    if filters == 1 and nested_shape(mask) == (rows, cols):
        mask = [mask]
    for f, plane in enumerate(mask):
        for i, row in enumerate(plane):
            for j, v in enumerate(row):
                if v not in (0, 1):
                    index = f"[{i}][{j}]" if nested_shape(table.raw("mask")) == (rows, cols) else f"[{f}][{i}][{j}]"
                    raise SpecError(f"{table.field('mask')}{index}", "0 (dropped) or 1 (kept)",
                                    describe(_raw_at(table.raw("mask"), index)))
    return Dropout(p, mask)


def _raw_at(raw, index: str):
    for part in index.strip("[]").split("]["):
        raw = raw[int(part)]
    return raw


def _parse_target(table: Table, out_act: str, loss: str) -> list:
    table.allow_only(("value",))
    expected = "a list of target values (one per class or output unit)"
    raw = table.require("value", expected)
    if isinstance(raw, (str, bool, dict)):
        raise SpecError(table.field("value"), expected, describe(raw))
    target = fields.vector(raw, table.field("value"), length=1 if not isinstance(raw, list) else None)
    if out_act == "softmax" and len(target) < 2:
        raise SpecError(table.field("value"), "at least 2 classes for a softmax output",
                        f"{len(target)} value")
    if loss in ("cross_entropy", "bce", "bce_mean"):
        for j, v in enumerate(target):
            if v < 0 or v > 1:
                raise SpecError(table.field("value"), f"probabilities between 0 and 1 for the {loss} loss",
                                f"{v} at position {j}")
        if loss == "cross_entropy" and sum(target) != 1:
            raise SpecError(table.field("value"), "a distribution summing to 1 for the cross_entropy loss",
                            f"a target summing to {sum(target)}")
    return target


def _parse_names(doc: Table) -> dict:
    names = {role: role for role in ROLES}
    if not doc.has("names"):
        return names
    rename = doc.table("names")
    rename.allow_only(ROLES)
    for role, new in rename.data.items():
        new_name = fields.text(new, rename.field(role))
        if not new_name.replace("_", "").isalnum():
            raise SpecError(rename.field(role), "a name of letters, digits and underscores", describe(new))
        if new_name in RESERVED_NAMES:
            raise SpecError(rename.field(role), "a name the derivation does not use for a step of its own",
                            f"{new_name!r}")
        names[role] = new_name
    if len(set(names.values())) != len(names):
        raise SpecError(rename.path, "distinct names for distinct parameters", "a name used twice")
    return names


def _parse_parameters(table: Table, names: dict, channels: int, filters: int, kernel: tuple[int, int],
                      map_size: tuple[int, int], classes: int, pooling, dropout: bool) -> dict:
    table.allow_only(names.values())
    n, m = kernel
    params = {}
    k = names["k"]
    four = (filters, channels, n, m)
    if filters == 1 and channels == 1:
        shapes, what = [(n, m), four], "kernel rows × kernel columns"
    else:
        shapes, what = [four], "filters × channels × kernel rows × kernel columns"
    params[k] = array(table.require(k, _expected_array(shapes[0], what)), table.field(k), shapes, what)
    if "b_conv" in names:
        bc = names["b_conv"]
        shapes = [(filters,)] + ([()] if filters == 1 else [])
        params[bc] = array(table.raw(bc), table.field(bc), shapes, "one bias per filter")
    rows, cols = map_size
    flat = filters * rows * cols
    source = "pooled map" if pooling else "feature map"
    if dropout:
        source += " after dropout"
    why = (f"classes × flattened size; flattening {filters} filter{'s' if filters > 1 else ''} × "
           f"{rows} × {cols} {source} gives {flat}")
    W = names["W"]
    params[W] = fields.matrix(table.require(W, f"a {classes} × {flat} matrix"), table.field(W), classes, flat,
                              what=why)
    b = names["b"]
    params[b] = fields.vector(table.raw(b, [0] * classes), table.field(b), length=classes,
                              what="one bias per class")
    return params


def _parse_notation(table: Table, names: dict, activation: str) -> Notation:
    params = set(names.values())
    table.allow_only(params | {"activation", "loss", "learning_rate"})
    symbols = {}
    for role, name in names.items():
        default = DEFAULT_SYMBOLS[role] if name == role else (fields.symbol_from_name(name) or DEFAULT_SYMBOLS[role])
        symbols[name] = fields.math_symbol(table.raw(name, default), table.field(name))
    values = {key: fields.math_symbol(table.raw(key), table.field(key)) for key in ("loss", "learning_rate")
              if table.has(key)}
    act = fields.math_symbol(table.raw("activation", ACTIVATIONS[activation].symbol), table.field("activation"))
    return Notation(symbols=symbols, activation=act, **values)


