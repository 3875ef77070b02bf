"""Write small random spec TOML texts for property tests (RNN here; CNN specs in their own module)."""

from __future__ import annotations

from fractions import Fraction


def num(value: Fraction) -> str:
    """A TOML literal for a rational given with at most two decimals (as a lecturer would write it)."""
    return repr(float(value)) if value.denominator != 1 else str(value.numerator)


def vec(values) -> str:
    return "[" + ", ".join(num(v) for v in values) + "]"


def mat(rows) -> str:
    return "[" + ", ".join(vec(r) for r in rows) + "]"


def activation_toml(activation: str) -> str:
    """An activation field: a name, or (given as ``{ ... }``) an inline table with its parameters."""
    return activation if activation.startswith("{") else f'"{activation}"'


#: Activations the property tests draw from (leaky ReLU with a slope of its own).
ACTIVATIONS = ["tanh", "sigmoid", "relu", "identity", '{ name = "leaky_relu", alpha = 0.2 }']


def rnn_toml(*, H, D, T, K, layers, activation, output, output_activation, loss, params, xs, ys,
             denormalise=None, tokens=None, vocabulary=None, lr=Fraction(1, 10), cell="elman", cell_options=()) -> str:
    lines = ["[example]", 'name = "random"', 'kind = "rnn"', "", "[network]", f"hidden_size = {H}",
             f"layers = {layers}", f'output = "{output}"',
             f'output_activation = "{output_activation}"', f'loss = "{loss}"']
    lines += [f"activation = {activation_toml(activation)}"] if cell == "elman" else [f'cell = "{cell}"']
    lines += list(cell_options)
    if denormalise:
        lines += ["[network.denormalise]", f"y_min = {num(denormalise[0])}", f"y_max = {num(denormalise[1])}"]
    lines += ["", "[input]"]
    if tokens:
        lines += ["vocabulary = [" + ", ".join(f'"{v}"' for v in vocabulary) + "]",
                  "tokens = [" + ", ".join(f'"{t}"' for t in tokens) + "]"]
    else:
        lines += ["sequence = [" + ", ".join(vec(x) for x in xs) + "]"]
    lines += ["", "[target]"]
    if output == "last":
        lines += [f"value = {vec(ys[0])}"]
    else:
        lines += ["values = [" + ", ".join(vec(y) for y in ys) + "]"]
    lines += ["", "[parameters]"]
    for name, value in params.items():
        lines.append(f"{name} = {mat(value) if isinstance(value[0], list) else vec(value)}")
    lines += ["", "[training]", f"learning_rate = {num(lr)}"]
    return "\n".join(lines) + "\n"
