"""The recurrent-network spec: read and validate the TOML tables into an :class:`RNNSpec`.

Every check names the field, what was expected and what was found (see ``README.md``,
section "Spec files", for the fields).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy

from symderiv.errors import SpecError
from symderiv.ops.elementwise import BUILTIN_ACTIVATIONS as ACTIVATIONS
from symderiv.spec import fields
from symderiv.spec.exam import parse_exam
from symderiv.spec.activation import parse_activation
from symderiv.spec.fields import Table, describe

OUTPUT_ACTIVATIONS = ("linear", "softmax", "sigmoid")
LOSSES = ("mse", "sse", "cross_entropy", "bce", "bce_mean")
ROLES_PER_LAYER = ("W_xh", "W_hh", "b_h", "h0")
#: The parameters of one level of each cell (and its initial states), in the order they are given.
CELL_ROLES = {
    "elman": ROLES_PER_LAYER,
    "lstm": ("W_f", "U_f", "b_f", "W_i", "U_i", "b_i", "W_g", "U_g", "b_g", "W_o", "U_o", "b_o", "h0", "c0"),
    "gru": ("W_u", "U_u", "b_u", "W_r", "U_r", "b_r", "W_n", "U_n", "b_n", "h0"),
}
CELLS = tuple(CELL_ROLES)
OUTPUT_ROLES = ("W_hz", "b_z")

DEFAULT_SYMBOLS = {
    **{f"{kind}_{g}": f"{kind}_{{{g}}}" for kind in "WUb" for g in "figourn"},
    "b_hn": r"b_{hn}", "c0": r"c_{0}",
    "W_xh": r"W_{xh}", "W_hh": r"W_{hh}", "W_hz": r"W_{hz}", "b_h": r"b_{h}", "b_z": r"b_{z}",
    "h0": r"h_{0}",
}


@dataclass(frozen=True)
class Notation:
    """How quantities are written on slides; all LaTeX."""

    symbols: dict            # parameter name -> LaTeX symbol
    activation: str          # e.g. r"\tanh" or r"\sigma_{\tanh}"
    input: str = "x"
    preactivation: str = "a"
    hidden: str = "h"
    output: str = "z"
    prediction: str = r"\hat{y}"
    target: str = "y"
    loss: str = "L"
    learning_rate: str = r"\eta"
    output_offset: int = 0   # z_{t+offset} is the output read from h_t (the lecture's z_4 from h_3)


@dataclass(frozen=True)
class RNNSpec:
    """A validated Elman-RNN example; numbers are exact SymPy rationals."""

    kind = "rnn"

    name: str
    title: str
    description: str
    hidden_size: int
    input_size: int
    output_size: int
    layers: int
    activation: str
    output: str                          # "last" or "every"
    output_activation: str
    loss: str
    denormalise: tuple | None            # (y_min, y_max) or None
    inputs: list                         # T vectors of length D
    tokens: list | None                  # the input tokens, when one-hot encoded
    vocabulary: list | None
    targets: list                        # one vector per output step (1 for "last")
    target_tokens: list | None
    parameters: dict                     # name -> nested lists of Rationals
    roles: dict                          # name -> (role, layer)  e.g. "W_xh_2" -> ("W_xh", 2)
    names: dict                          # (role, layer) -> name
    learning_rate: sympy.Rational
    notation: Notation
    silenced_lints: tuple = field(default=())
    activation_params: tuple = ()   # (parameter, exact value) given for the activation (leaky ReLU's alpha)
    cell: str = "elman"             # elman | lstm | gru
    gru_form: str = "interpolate"   # h = u ⊙ h_prev + (1 − u) ⊙ n, or "swapped": (1 − u) ⊙ h_prev + u ⊙ n
    gru_reset: str = "before"       # n = tanh(W x + U (r ⊙ h) + b), or "after": r ⊙ (U h + b_hn) (PyTorch)
    exam: object = None             # the [exam] table (symderiv.spec.exam.ExamSpec), or None

    @property
    def steps(self) -> int:
        return len(self.inputs)

    def name_of(self, role: str, layer: int = 1) -> str:
        return self.names[(role, layer)]


def _default_name(role: str, layer: int, layers: int) -> str:
    if role in OUTPUT_ROLES or layers == 1 or layer == 1:
        return role
    return f"{role}_{layer}"


def parse_rnn(doc: Table, meta: dict) -> RNNSpec:
    """Validate the tables of an RNN spec (``[network]``, ``[input]``, ``[target]``, ...)."""
    doc.allow_only(("example", "network", "input", "target", "parameters", "training", "notation", "names",
                    "lints", "variants", "exam"))
    net = doc.table("network")
    net.allow_only(("hidden_size", "activation", "layers", "output", "output_activation", "loss", "denormalise",
                    "cell", "gru_form", "gru_reset"))
    cell = fields.choice(net.raw("cell", "elman"), net.field("cell"), CELLS)
    if cell != "elman" and net.has("activation"):
        raise SpecError(net.field("activation"), f"no activation for {_article(cell)} {cell.upper()} cell (its gates "
                        "use σ and tanh)",
                        describe(net.raw("activation")))
    for key, choices in (("gru_form", ("interpolate", "swapped")), ("gru_reset", ("before", "after"))):
        if net.has(key) and cell != "gru":
            raise SpecError(net.field(key), "a GRU setting only with cell = \"gru\"", f"cell = {cell!r}")
    gru_form = fields.choice(net.raw("gru_form", "interpolate"), net.field("gru_form"), ("interpolate", "swapped"))
    gru_reset = fields.choice(net.raw("gru_reset", "before"), net.field("gru_reset"), ("before", "after"))
    hidden = fields.integer(net.require("hidden_size", "a whole number of at least 1"), net.field("hidden_size"),
                            minimum=1, maximum=64)
    layers = fields.integer(net.raw("layers", 1), net.field("layers"), minimum=1, maximum=8)
    activation, activation_params = parse_activation(net.raw("activation", "tanh"), net.field("activation"))
    output = fields.choice(net.raw("output", "last"), net.field("output"), ("last", "every"))
    out_act = fields.choice(net.raw("output_activation", "linear"), net.field("output_activation"),
                            OUTPUT_ACTIVATIONS)
    default_loss = "cross_entropy" if out_act == "softmax" else ("bce" if out_act == "sigmoid" else "mse")
    loss = fields.choice(net.raw("loss", default_loss), net.field("loss"), LOSSES)
    denorm = None
    if net.has("denormalise"):
        d = net.table("denormalise")
        d.allow_only(("y_min", "y_max"))
        lo = fields.number(d.require("y_min", "a number"), d.field("y_min"))
        hi = fields.number(d.require("y_max", "a number"), d.field("y_max"))
        if hi <= lo:
            raise SpecError(d.field("y_max"), f"a number greater than y_min = {lo}", describe(d.raw("y_max")))
        if out_act != "linear":
            raise SpecError(net.field("denormalise"), "no denormalisation unless output_activation is 'linear'",
                            f"output_activation = {out_act!r}")
        denorm = (lo, hi)

    inputs, tokens, vocabulary = _parse_inputs(doc.table("input"))
    input_size = len(inputs[0])

    names = {}
    cell_roles = CELL_ROLES[cell] + (("b_hn",) if cell == "gru" and gru_reset == "after" else ())
    for layer in range(1, layers + 1):
        for role in cell_roles:
            names[(role, layer)] = _default_name(role, layer, layers)
    for role in OUTPUT_ROLES:
        names[(role, 1)] = role
    if doc.has("names"):
        rename = doc.table("names")
        known = {_default_name(r, l, layers): (r, l) for (r, l) in names}
        rename.allow_only(known)
        for default, new in rename.data.items():
            new_name = fields.text(new, rename.field(default))
            if not new_name.replace("_", "").isalnum():
                raise SpecError(rename.field(default), "a name of letters, digits and underscores",
                                describe(new))
            names[known[default]] = new_name
        if len(set(names.values())) != len(names):
            raise SpecError(rename.path, "distinct names for distinct parameters", "a name used twice")
    roles = {name: key for key, name in names.items()}

    target_table = doc.table("target")
    output_size, targets, target_tokens = _parse_targets(target_table, output, len(inputs), vocabulary,
                                                         out_act, loss)
    params = _parse_parameters(doc.table("parameters"), names, roles, hidden, input_size, output_size, layers, cell)

    training = doc.table("training")
    training.allow_only(("learning_rate",))
    rate = fields.positive_number(training.require("learning_rate", "a positive number"),
                                  training.field("learning_rate"))

    notation = _parse_notation(doc.table("notation", required=False), names, activation)
    lints = fields.silenced_lints(doc)
    return RNNSpec(
        name=meta["name"], title=meta["title"], description=meta["description"],
        hidden_size=hidden, input_size=input_size, output_size=output_size, layers=layers,
        activation=activation, activation_params=activation_params, output=output, output_activation=out_act,
        loss=loss, denormalise=denorm,
        inputs=inputs, tokens=tokens, vocabulary=vocabulary, targets=targets, target_tokens=target_tokens,
        parameters=params, roles=roles, names=names, learning_rate=rate, notation=notation,
        silenced_lints=lints, cell=cell, gru_form=gru_form, gru_reset=gru_reset, exam=parse_exam(doc),
    )


def _parse_inputs(table: Table):
    table.allow_only(("sequence", "tokens", "vocabulary"))
    if table.has("tokens") or table.has("vocabulary"):
        if table.has("sequence"):
            raise SpecError(table.field("sequence"), "either a numeric sequence or tokens, not both",
                            "both 'sequence' and 'tokens'")
        vocab_raw = table.require("vocabulary", "a list of distinct tokens")
        if not isinstance(vocab_raw, list) or not vocab_raw:
            raise SpecError(table.field("vocabulary"), "a non-empty list of distinct tokens", describe(vocab_raw))
        vocabulary = [fields.text(v, f"{table.field('vocabulary')}[{i}]") for i, v in enumerate(vocab_raw)]
        if len(set(vocabulary)) != len(vocabulary):
            dup = next(v for v in vocabulary if vocabulary.count(v) > 1)
            raise SpecError(table.field("vocabulary"), "distinct tokens", f"{dup!r} twice")
        tokens_raw = table.require("tokens", "a list of tokens from the vocabulary")
        if not isinstance(tokens_raw, list):
            raise SpecError(table.field("tokens"), "a list of tokens from the vocabulary", describe(tokens_raw))
        if not tokens_raw:
            raise SpecError(table.field("tokens"), "at least one token", "an empty sequence")
        tokens = []
        for i, tok in enumerate(tokens_raw):
            path = f"{table.field('tokens')}[{i}]"
            tok = fields.text(tok, path)
            if tok not in vocabulary:
                raise SpecError(path, f"a token of the vocabulary ({', '.join(vocabulary)})",
                                f"{tok!r}, which is not in it")
            tokens.append(tok)
        inputs = [_one_hot(vocabulary.index(tok), len(vocabulary)) for tok in tokens]
        return inputs, tokens, vocabulary
    raw = table.require("sequence", "a list of numbers or of equal-length vectors")
    if not isinstance(raw, list):
        raise SpecError(table.field("sequence"), "a list of numbers or of equal-length vectors", describe(raw))
    if not raw:
        raise SpecError(table.field("sequence"), "at least one time step", "an empty sequence")
    if all(isinstance(v, list) for v in raw):
        width = len(raw[0])
        inputs = [fields.vector(v, f"{table.field('sequence')}[{t}]", length=width,
                                what="every input vector has the length of the first")
                  for t, v in enumerate(raw)]
    else:
        inputs = [[fields.number(v, f"{table.field('sequence')}[{t}]")] for t, v in enumerate(raw)]
    return inputs, None, None


def _one_hot(index: int, size: int) -> list:
    return [sympy.Integer(1 if i == index else 0) for i in range(size)]


def _parse_targets(table: Table, output: str, steps: int, vocabulary, out_act: str, loss: str):
    table.allow_only(("value", "token", "values", "tokens"))
    count = 1 if output == "last" else steps
    if table.has("token") or table.has("tokens"):
        if vocabulary is None:
            raise SpecError(table.field("token" if table.has("token") else "tokens"),
                            "numeric targets (no vocabulary is given in [input])", "a token")
        key = "token" if output == "last" else "tokens"
        raw = table.require(key, "a token" if output == "last" else f"a list of {count} tokens")
        raw_list = [raw] if output == "last" else raw
        if output == "every" and (not isinstance(raw, list) or len(raw) != count):
            raise SpecError(table.field(key), f"a list of {count} tokens (one per time step)", describe(raw))
        targets, toks = [], []
        for i, tok in enumerate(raw_list):
            path = table.field(key) if output == "last" else f"{table.field(key)}[{i}]"
            tok = fields.text(tok, path)
            if tok not in vocabulary:
                raise SpecError(path, f"a token of the vocabulary ({', '.join(vocabulary)})",
                                f"{tok!r}, which is not in it")
            targets.append(_one_hot(vocabulary.index(tok), len(vocabulary)))
            toks.append(tok)
        return len(vocabulary), targets, toks
    if output == "last":
        raw = table.require("value", "a number or a vector")
        vec = fields.vector(raw, table.field("value"), length=1 if not isinstance(raw, list) else None)
        targets = [vec]
    else:
        raw = table.require("values", f"a list of {count} targets (one per time step)")
        if not isinstance(raw, list) or len(raw) != count:
            raise SpecError(table.field("values"), f"a list of {count} targets (one per time step)", describe(raw))
        targets = [fields.vector(v, f"{table.field('values')}[{i}]", length=1 if not isinstance(v, list) else None)
                   for i, v in enumerate(raw)]
        widths = {len(v) for v in targets}
        if len(widths) != 1:
            raise SpecError(table.field("values"), "targets of equal length", "targets of different lengths")
    if loss in ("cross_entropy", "bce", "bce_mean"):
        for i, vec in enumerate(targets):
            for j, v in enumerate(vec):
                if v < 0 or v > 1:
                    raise SpecError(table.field("value" if output == "last" else "values"),
                                    f"probabilities between 0 and 1 for the {loss} loss", f"{v} at position {j}")
        if loss == "cross_entropy" and any(sum(vec) != 1 for vec in targets):
            raise SpecError(table.field("value" if output == "last" else "values"),
                            "a distribution summing to 1 for the cross_entropy loss",
                            f"a target summing to {sum(targets[0])}")
    return len(targets[0]), targets, None


def _parse_parameters(table: Table, names: dict, roles: dict, hidden: int, input_size: int, output_size: int,
                      layers: int, cell: str = "elman") -> dict:
    for key in table.data:
        if key not in roles:
            other = next((c for c, rs in CELL_ROLES.items() if c != cell and key.split("_")[0] in "WUb"
                          and any(key == r or key.startswith(r + "_") for r in rs if r not in ("h0",))), None)
            if other:
                mine = ", ".join(r for r in CELL_ROLES[cell] if r not in ("h0", "c0"))
                raise SpecError(table.field(key), f"a parameter of the {cell} cell ({mine}, W_hz, b_z)",
                                f"'{key}', a parameter of {_article(other)} {other} cell")
    table.allow_only(roles)
    params = {}
    for (role, layer), name in names.items():
        in_size = input_size if layer == 1 else hidden
        path = table.field(name)
        if role == "W_xh" or (role.startswith("W_") and role != "W_hz" and cell != "elman"):
            what = "hidden size × input size" if layer == 1 else "hidden size × hidden size (the level below)"
            params[name] = fields.matrix(table.require(name, f"a {hidden} × {in_size} matrix"), path, hidden, in_size,
                                         what=what)
        elif role.startswith("U_"):
            params[name] = fields.matrix(table.require(name, f"a {hidden} × {hidden} matrix"), path, hidden, hidden,
                                         what="hidden size × hidden size")
        elif role in ("c0",) or (role.startswith("b_") and role not in ("b_h", "b_z")):
            raw = table.raw(name, [0] * hidden)
            params[name] = fields.vector(raw, path, length=hidden, what="hidden size")
        elif role == "W_hh":
            params[name] = fields.matrix(table.require(name, f"a {hidden} × {hidden} matrix"), path, hidden, hidden,
                                         what="hidden size × hidden size")
        elif role == "W_hz":
            params[name] = fields.matrix(table.require(name, f"a {output_size} × {hidden} matrix"), path,
                                         output_size, hidden, what="output size × hidden size")
        elif role in ("b_h", "h0"):
            raw = table.raw(name, [0] * hidden)
            params[name] = fields.vector(raw, path, length=hidden, what="hidden size")
        elif role == "b_z":
            raw = table.raw(name, [0] * output_size)
            params[name] = fields.vector(raw, path, length=output_size, what="output size")
    return params


def _parse_notation(table: Table, names: dict, activation: str) -> Notation:
    scalar_keys = ("activation", "input", "preactivation", "hidden", "output", "prediction", "target", "loss",
                   "learning_rate")
    param_names = set(names.values())
    table.allow_only(set(scalar_keys) | param_names | {"output_offset"})
    symbols = {}
    for (role, layer), name in names.items():
        default = DEFAULT_SYMBOLS[role]
        if layer > 1:
            default = f"{default}^{{({layer})}}"
        if name != role and layer == 1 and role in DEFAULT_SYMBOLS and names[(role, layer)] != role:
            default = (fields.symbol_from_name(name) or default) if len(name) == 1 else default
        symbols[name] = fields.math_symbol(table.raw(name, default), table.field(name))
    values = {}
    for key in scalar_keys:
        if table.has(key):
            values[key] = fields.math_symbol(table.raw(key), table.field(key))
    if "activation" not in values:
        values["activation"] = ACTIVATIONS[activation].symbol
    offset = fields.integer(table.raw("output_offset", 0), table.field("output_offset"), minimum=0, maximum=1)
    return Notation(symbols=symbols, output_offset=offset, **values)


def _article(cell: str) -> str:
    """'an' before LSTM (said "el-es-tee-em"), 'a' before GRU and Elman."""
    return "an" if cell == "lstm" else "a"
