"""The unrolled RNN figures (Elman, LSTM, GRU) against facts computed here: which nodes are drawn, the
values they print (from an independent float64 forward pass), the time steps left out, the gradient
passing down a stack, the factors on the backward paths of gated cells."""

from __future__ import annotations

import re

import pytest

from figure_facts import (FIGURE_CASES, ISSUE_CASES, close_to_shown, elman_states, gru_states, lstm_states, nodes,
                          numbers, spec_data)
from symderiv.api import derive
from symderiv.render import figures
from symderiv.render.viewmodel import presentable

ELMAN = [str(ISSUE_CASES / "rnn-two-units.toml"), str(ISSUE_CASES / "rnn-many-to-many.toml"),
         str(FIGURE_CASES / "rnn-h4-t10.toml"), str(FIGURE_CASES / "rnn-vocab5-m2m.toml"),
         str(FIGURE_CASES / "rnn-two-layers.toml"), str(FIGURE_CASES / "rnn-three-layers-m2m.toml")]


def _figures(reference: str) -> dict:
    return figures.figures_for(presentable(derive(reference), reference), 4)


def _drawn(figs: dict, kind: str) -> dict[str, str]:
    """Every node of the ``kind`` figures (a stack drawn level by level has several)."""
    out = {}
    for key, fig in figs.items():
        if key == kind or key.startswith(f"{kind}-level"):
            out.update(nodes(str(fig.tikz)))
    return out


def _left_out(caption: str) -> list[int]:
    m = re.search(r"Steps t = (\d+)(?: to (\d+))? are left out", caption)
    if not m:
        return []
    return list(range(int(m.group(1)), int(m.group(2) or m.group(1)) + 1))


@pytest.mark.parametrize("reference", ELMAN)
def test_every_hidden_state_drawn_is_a_node_with_its_values(reference):
    data = spec_data(reference)
    T = len(data["input"].get("sequence", data["input"].get("tokens", [])))
    H, layers = data["network"]["hidden_size"], data["network"].get("layers", 1)
    figs = _figures(reference)
    states = elman_states(data)
    drawn = _drawn(figs, "forward")
    left_out = sorted({t for key, f in figs.items() if key.startswith("forward") for t in _left_out(f.caption)})
    shown = [t for t in range(1, T + 1) if t not in left_out]
    hidden = [name for name in drawn if re.fullmatch(r"h-\d+-\d+", name)]
    assert len(hidden) == len(shown) * layers                 # H·T values in T·layers nodes
    for t in shown:
        for layer in range(1, layers + 1):
            printed = numbers(drawn[f"h-{t}-{layer}"])
            assert len(printed) == H, (t, layer, printed)
            assert all(close_to_shown(p, v) for p, v in zip(printed, states[(t, layer)])), (t, layer, printed)
    assert 1 in shown and T in shown                          # the first and the last step are always drawn
    assert left_out == list(range(left_out[0], left_out[-1] + 1)) if left_out else True


def test_ten_steps_of_four_units_leave_out_only_a_few_middle_steps():
    figs = _figures(str(FIGURE_CASES / "rnn-h4-t10.toml"))
    left_out = _left_out(figs["forward"].caption)
    assert 0 < len(left_out) <= 4 and 1 < left_out[0] and left_out[-1] < 10
    tikz = str(figs["forward"].tikz)
    assert r"\cdots" in tikz                                   # the dots stand for them


def test_a_stack_passes_the_gradient_down_between_layers():
    figs = _figures(str(FIGURE_CASES / "rnn-two-layers.toml"))
    lines = [line for k, f in figs.items() if k.startswith("backward") for line in str(f.tikz).splitlines()]
    for t in range(1, 5):
        # from level 2 down: to level 1, or (a stack drawn level by level) to the stand-in for level 1 ...
        assert any(line.startswith(rf"\draw[grad] (h-{t}-2) --") and line.endswith((f"(h-{t}-1);", f"(x-{t});"))
                   for line in lines), t
        # ... which the figure of level 1 shows arriving from above
        assert any(line.startswith(rf"\draw[grad] (h-{t}-1.north)") for line in lines) or \
            any(line.endswith(f"(h-{t}-1);") and f"(h-{t}-2)" in line for line in lines), t
    # the local derivative of every step and level stands beside the arrow under its state
    assert sum(line.count(r"\times") for line in lines) == 2 * 4


@pytest.mark.parametrize("reference", ELMAN)
def test_weights_are_named_once_per_layer(reference):
    figs = _figures(reference)
    tikz = str(figs["architecture"].tikz)
    layers = spec_data(reference)["network"].get("layers", 1)
    assert tikz.count("W_{hh}") == layers and tikz.count("W_{xh}") == layers


@pytest.mark.parametrize("reference", ["lstm-sequence", str(FIGURE_CASES / "lstm-h2-t4-classes.toml"),
                                       str(FIGURE_CASES / "lstm-h2-t5-two-levels-m2m.toml")])
def test_each_lstm_cell_prints_its_gates_and_states(reference):
    data = spec_data(reference)
    H = data["network"]["hidden_size"]
    figs = _figures(reference)
    states = lstm_states(data)
    drawn = _drawn(figs, "forward")
    cells = [name for name in drawn if re.fullmatch(r"h-\d+-\d+", name)]
    assert cells
    for name in cells:
        _, t, layer = name.split("-")
        text = drawn[name]
        rows = [row for row in text.split(r"\\") if row.strip()]
        names = [re.sub(r"\\begin\{array\}\{(?:[^{}]|\{[^{}]*\})*\}|\$", "", row).split("&")[0].strip()
                 for row in rows]
        assert names == list("cfigoh")
        values = states[(int(t), int(layer))]
        for row, gate in zip(rows, "cfigoh"):
            printed = numbers(row.split("&", 1)[1])
            assert len(printed) == H
            assert all(close_to_shown(p, v, 2) for p, v in zip(printed, values[gate])), (name, gate, printed)


def test_the_lstm_cell_state_path_carries_the_forget_gate_backward():
    data = spec_data("lstm-sequence")
    states = lstm_states(data)
    tikz = str(_figures("lstm-sequence")["backward"].tikz)
    for t in (1, 2, 3):
        label = re.search(re.escape(rf"{{$\odot f_{{{t}}} \approx") + r"(?:\$\\\\ \$)?\s*([^$]*)\$\}", tikz)
        assert label, t
        assert close_to_shown(numbers(label.group(1))[0], states[(t, 1)]["f"][0])


@pytest.mark.parametrize("reference", ["gru-sequence", str(FIGURE_CASES / "gru-h2-t5.toml")])
def test_each_gru_cell_prints_its_gates(reference):
    data = spec_data(reference)
    figs = _figures(reference)
    states = gru_states(data)
    drawn = _drawn(figs, "forward")
    cells = [name for name in drawn if re.fullmatch(r"h-\d+-1", name)]
    assert cells
    for name in cells:
        t = int(name.split("-")[1])
        rows = [row for row in drawn[name].split(r"\\") if row.strip()]
        for row, gate in zip(rows, "urnh"):
            printed = numbers(row.split("&", 1)[1])
            assert all(close_to_shown(p, v, 2) for p, v in zip(printed, states[(t, 1)][gate])), (name, gate)


def test_the_lecture_keeps_its_classic_pictures():
    for name in ("rnn-timeseries", "rnn-text"):
        figs = _figures(name)
        tikz = str(figs["forward"].tikz)
        assert r"font=\footnotesize" in tikz and "W_{hh} = " in tikz     # every weight with its value
        assert set(figs) == {"architecture", "forward", "backward"}


def test_gated_facts_name_the_cell():
    facts = dict(figures.facts_for(derive("lstm-sequence")))
    assert "LSTM" in facts["cell"] and "activation" not in facts
