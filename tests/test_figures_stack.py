"""The neuron diagrams of the MLP examples against facts computed here: a node per unit, an edge per
weight (with its value where it fits), every unit's values from an independent float64 forward pass."""

from __future__ import annotations

import numpy as np
import pytest

from figure_facts import FIGURE_CASES, close_to_shown, nodes, numbers, spec_data
from symderiv.api import derive
from symderiv.render import figures
from symderiv.render.viewmodel import presentable

MLPS = ["mlp-sigmoid", "mlp-softsign", "mlp-batch", str(FIGURE_CASES / "mlp-3-4-2.toml"),
        str(FIGURE_CASES / "mlp-deep-regression.toml")]
ACT = {"sigmoid": lambda a: 1 / (1 + np.exp(-a)), "tanh": np.tanh, "relu": lambda a: np.maximum(a, 0.0),
       "softsign": lambda a: a / (1 + np.abs(a))}


def _forward(data: dict) -> list[list[np.ndarray]]:
    """Per column: the input; each dense layer's z with its activation; (for the first example)."""
    inp = data["input"]
    x = np.array(inp["x"] if "x" in inp else inp["batch"][0], dtype=float)
    columns, number = [[x]], 0
    for layer in data["layer"]:
        if layer["type"] == "dense":
            number += 1
            names = layer.get("names", {})
            W = np.array(data["parameters"][names.get("weight", f"W{number}")], dtype=float)
            b = np.array(data["parameters"].get(names.get("bias", f"b{number}"), [0.0] * W.shape[0]), dtype=float)
            z = W @ columns[-1][-1] + b
            columns.append([z])
        else:
            function = layer["function"]
            name = function if isinstance(function, str) else function.get("name")
            columns[-1].append(ACT[name](columns[-1][-1]))
    out = data["output"]["activation"]
    z = columns[-1][-1]
    if out == "sigmoid":
        columns[-1].append(1 / (1 + np.exp(-z)))
    elif out == "softmax":
        columns[-1].append(np.exp(z) / np.exp(z).sum())
    return columns


def _figures(reference: str) -> dict:
    return figures.figures_for(presentable(derive(reference), reference), 4)


@pytest.mark.parametrize("reference", MLPS)
def test_a_node_per_unit_and_an_edge_per_weight(reference):
    columns = _forward(spec_data(reference))
    tikz = str(_figures(reference)["architecture"].tikz)
    units = [name for name in nodes(tikz) if name.startswith("u-")]
    assert len(units) == sum(c[0].size for c in columns)
    edges = [line for line in tikz.splitlines() if line.startswith(r"\draw[->, black!60] (u-")]
    assert len(edges) == sum(a[0].size * b[0].size for a, b in zip(columns, columns[1:]))


@pytest.mark.parametrize("reference", MLPS)
def test_every_unit_prints_its_values(reference):
    columns = _forward(spec_data(reference))
    drawn = nodes(str(_figures(reference)["forward"].tikz))
    for k, column in enumerate(columns):
        for i in range(column[0].size):
            printed = numbers(drawn[f"u-{k}-{i}"])
            expected = [v[i] for v in column]
            assert len(printed) == len(expected), (k, i, printed)
            assert all(close_to_shown(p, e) for p, e in zip(printed, expected)), (k, i, printed, expected)


def test_the_weights_stand_on_their_edges_where_they_fit():
    data = spec_data("mlp-sigmoid")
    tikz = str(_figures("mlp-sigmoid")["architecture"].tikz)
    for number, name in ((1, "W1"), (2, "W2")):
        W = np.array(data["parameters"][name], dtype=float)
        for j, i in np.ndindex(W.shape):
            line = next(line for line in tikz.splitlines()
                        if line.startswith(rf"\draw[->, black!60] (u-{number - 1}-{i}) --")
                        and line.endswith(f"(u-{number}-{j});"))
            assert numbers(line.split("{", 1)[1].split("}", 1)[0]) == [W[j, i]]
    crowded = str(_figures(str(FIGURE_CASES / "mlp-3-4-2.toml"))["architecture"].tikz)
    assert "node[w]" not in crowded and "W^{(1)}" in crowded       # named over the gap instead


def test_a_batch_says_which_example_it_shows():
    caption = _figures("mlp-batch")["forward"].caption
    assert "first example" in caption and "before the first update" in caption
