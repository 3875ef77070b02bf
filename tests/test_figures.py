"""Every figure of every example and figure case: the right family draws it, its caption holds in slides
and in the solutions alike, and (compiled with pdflatex) no two of its nodes overlap, it needs no more
shrinking than a reader can bear, and the layout's estimate of its height is not short."""

from __future__ import annotations

import shutil

import pytest

from figure_facts import FIGURE_CASES, ISSUE_CASES
from figure_probe import PT_PER_MM, SLIDE_HEIGHT_PT, SLIDE_WIDTH_PT, measure
from symderiv.api import derive
from symderiv.render import figures
from symderiv.render.figures import figure_height, math_width, slide_height
from symderiv.render.viewmodel import presentable
from symderiv.spec.load import builtin_names

CASES = sorted(builtin_names()) + [str(p) for p in sorted(FIGURE_CASES.glob("*.toml"))] + [
    str(ISSUE_CASES / name) for name in ("rnn-two-units.toml", "rnn-many-to-many.toml",
                                         "cnn-two-channels-avg-pool.toml")]
#: The least a slide may shrink a figure: its \scriptsize numbers stay above 6 pt.
MIN_SCALE = 0.75


def _figures(reference: str) -> dict:
    return figures.figures_for(presentable(derive(reference), reference), 4)


@pytest.mark.parametrize("reference,family", [
    ("rnn-text", "figures_rnn"), ("lstm-sequence", "figures_gated"), ("gru-sequence", "figures_gated"),
    ("mlp-batch", "figures_stack"), ("cnn-image", "figures_cnn"), ("cnn-two-conv", "figures_cnn"),
    (str(FIGURE_CASES / "mlp-deep-regression.toml"), "figures_stack")])
def test_each_network_is_drawn_by_its_family(reference, family):
    assert figures._family(derive(reference)).__name__.endswith(family)


@pytest.mark.parametrize("reference", CASES)
def test_captions_hold_in_the_solutions_too(reference):
    for figure in _figures(reference).values():
        caption = str(figure.caption).lower()
        assert "slide" not in caption and "previous" not in caption, caption
        assert caption.rstrip().endswith("."), caption


def test_a_narrow_picture_is_scaled_up_to_the_least_width_and_a_tall_one_down():
    assert slide_height(4.32, 1.0) == pytest.approx(2.0)          # 0.6 of 14.4 cm is twice 4.32 cm
    assert slide_height(28.8, 4.0) == pytest.approx(2.0)          # twice the line: half the height
    assert slide_height(10.0, 12.78) == pytest.approx(6.39)       # 0.72 of the frame's text height at most
    assert figure_height(14.4, 5.0, "short.") == pytest.approx(50 + 4 + 4.2)


def test_math_widths_count_digits_operators_and_scripts():
    assert math_width("0.5") == pytest.approx(2.55)
    assert math_width("-0.5") == pytest.approx(math_width("0.5") + 1.55)        # a unary minus
    assert math_width("1 - 2") == pytest.approx(2 + 2.6)                        # a binary one, with space
    assert math_width("h_{1}") == pytest.approx(1.15 + 0.7)


#: The cases in groups of about equal compile time, one pdflatex run each: the groups run side by side
#: under pytest-xdist (one run of all 90-odd figures took half a minute on one core).
FIGURE_GROUPS = 4


@pytest.mark.latex
@pytest.mark.parametrize("group", range(FIGURE_GROUPS))
def test_every_figure_compiles_readable_without_overlaps(tmp_path, group):
    if shutil.which("pdflatex") is None:
        pytest.fail("TeX Live is missing: run `make setup` (make test installs it)")
    drawn = {}
    for k, reference in list(enumerate(CASES))[group::FIGURE_GROUPS]:
        for key, figure in _figures(reference).items():
            drawn[f"{k}-{key}"] = (reference, figure)
    measured = measure({key: figure for key, (_, figure) in drawn.items()}, tmp_path)
    assert set(measured) == set(drawn)
    problems = []
    for key, m in measured.items():
        reference, figure = drawn[key]
        where = f"{reference} {figure.key}"
        if m.overlaps():
            problems.append(f"{where}: overlapping nodes {m.overlaps()[:3]}")
        if m.scale < MIN_SCALE:
            problems.append(f"{where}: shrunk to {m.scale:.2f} on a slide")
        scale = max(1.0, 0.6 * SLIDE_WIDTH_PT / m.width)
        shown = m.height * min(scale, SLIDE_WIDTH_PT / m.width, SLIDE_HEIGHT_PT / m.height) / PT_PER_MM
        if figure.height < shown:
            problems.append(f"{where}: {shown:.0f} mm on a slide, the layout expects {figure.height:.0f} mm")
    assert problems == []
