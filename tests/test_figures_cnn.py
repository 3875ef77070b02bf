"""The convolutional figures against facts computed here: every channel and filter drawn with its
values, the first cell of every filter (an independent correlation), the zero padding and the stride,
pooling and routing true to max and to average pooling, each figure after its own step."""

from __future__ import annotations

import re

import numpy as np
import pytest

from figure_facts import (FIGURE_CASES, ISSUE_CASES, close_to_shown, correlate_first_cells, nodes, numbers,
                          spec_data)
from symderiv.api import derive
from symderiv.render import figures
from symderiv.render.viewmodel import example_view, presentable
from symderiv.verify import verify

TWO_CHANNELS = str(ISSUE_CASES / "cnn-two-channels-avg-pool.toml")
STRIDE_PADDING = str(FIGURE_CASES / "cnn-stride2-pad-two-filters.toml")
RGB = str(FIGURE_CASES / "cnn-rgb-regression.toml")
CNN_CASES = ["cnn-image", TWO_CHANNELS, STRIDE_PADDING, RGB, str(FIGURE_CASES / "cnn-no-pool-dropout.toml")]


def _figures(reference: str) -> dict:
    return figures.figures_for(presentable(derive(reference), reference), 4)


def _image(reference: str) -> np.ndarray:
    x = np.array(spec_data(reference)["input"]["image"], dtype=float)
    return x[None] if x.ndim == 2 else x


@pytest.mark.parametrize("reference", CNN_CASES)
def test_the_pipeline_draws_every_channel_of_the_input(reference):
    x = _image(reference)
    drawn = nodes(str(_figures(reference)["architecture"].tikz))
    for c in range(x.shape[0]):
        grid = "m0" if x.shape[0] == 1 else f"m0-c{c + 1}"
        for i, j in np.ndindex(x.shape[1:]):
            assert numbers(drawn[f"{grid}-{i}-{j}"]) == [x[c, i, j]], (c, i, j)


@pytest.mark.parametrize("reference", [TWO_CHANNELS, STRIDE_PADDING])
def test_the_pipeline_draws_every_filter_map(reference):
    filters = spec_data(reference)["convolution"]["filters"]
    drawn = nodes(str(_figures(reference)["forward"].tikz))
    for f in range(1, filters + 1):
        assert f"m1-c{f}-0-0" in drawn                       # the convolution's map of filter f
    assert f"m1-c{filters + 1}-0-0" not in drawn


@pytest.mark.parametrize("reference", CNN_CASES)
def test_the_window_figure_gives_the_first_cell_of_every_filter(reference):
    expected = correlate_first_cells(spec_data(reference))
    drawn = nodes(str(_figures(reference)["conv-window"].tikz))
    names = ["h-0-0"] if "h-0-0" in drawn else [f"h-f{f + 1}-0-0" for f in range(len(expected))]
    assert len(names) == len(expected)
    for name, value in zip(names, expected):
        assert close_to_shown(numbers(drawn[name])[0], value, 4), (name, value)


def test_the_window_figure_shows_the_padding_and_the_stride():
    data = spec_data(STRIDE_PADDING)
    P, S = data["convolution"]["padding"], data["convolution"]["stride"]
    x = _image(STRIDE_PADDING)
    fig = _figures(STRIDE_PADDING)["conv-window"]
    tikz = str(fig.tikz)
    grid = [line for line in tikz.splitlines() if re.search(r"\(x-\d+-\d+\)", line)]
    assert len(grid) == (x.shape[1] + 2 * P) * (x.shape[2] + 2 * P)          # the padded input
    assert sum("densely dashed" in line for line in grid) == len(grid) - x.shape[1] * x.shape[2]
    assert f"stride {S}" in tikz and "rectangle" in tikz                       # the next window, S further
    assert "padding" in fig.caption and "stride" in fig.caption


@pytest.mark.parametrize("reference", [TWO_CHANNELS, RGB])
def test_average_pooling_captions_speak_of_the_mean(reference):
    figs = _figures(reference)
    for key in ("pool-windows", "routing"):
        caption = figs[key].caption.lower()
        assert "chose" not in caption and "largest" not in caption and "maximum" not in caption, caption
    assert "mean" in figs["pool-windows"].caption
    assert "shared equally" in figs["routing"].caption


def test_max_pooling_captions_speak_of_the_chosen_cell():
    figs = _figures("cnn-image")
    assert "thick border" in figs["pool-windows"].caption and "chose" in figs["routing"].caption


def test_routing_for_average_pooling_shares_each_gradient_in_every_channel():
    d = presentable(derive(TWO_CHANNELS), "case")
    spec = spec_data(TWO_CHANNELS)["pooling"]
    p, s = spec["size"], spec["stride"]
    upstream = np.array([[[float(n.approx) for n in row] for row in ch] for ch in d["dL/dh''"].value])
    expected = np.zeros((upstream.shape[0], upstream.shape[1] * s + p - s, upstream.shape[2] * s + p - s))
    for c, i, j in np.ndindex(upstream.shape):
        expected[c, i * s:i * s + p, j * s:j * s + p] += upstream[c, i, j] / (p * p)
    drawn = nodes(str(figures.figures_for(d, 4)["routing"].tikz))
    for c, i, j in np.ndindex(expected.shape):
        assert close_to_shown(numbers(drawn[f"gout-{c}-{i}-{j}"])[0], expected[c, i, j]), (c, i, j)


def test_each_layer_gets_its_own_figures_placed_after_its_own_step():
    d = derive("cnn-two-conv")
    view = example_view(d, verify(d, finite_differences=False))
    forward = next(s for s in view.sections if s.key == "forward").items
    order = [getattr(i, "key", getattr(i, "name", "")) for i in forward]
    assert order.index("conv-window") == order.index("z1") + 1
    assert order.index("conv-window-2") == order.index("z2") + 1


def test_a_figure_drawn_from_the_first_example_comes_once():
    d = derive(str(FIGURE_CASES / "stack-conv-pool-conv.toml"))
    view = example_view(d, verify(d, finite_differences=False))
    keys = [i.key for s in view.sections for i in s.items if i.type == "figure"]
    assert len(keys) == len(set(keys))
