"""Frames from sections: the cheapest split into frames, consecutive counters, titles, tall items.

The items here are stand-ins with a height and a width (what the layout reads), so each case says
exactly what it tests; the decks of real specs are checked in test_render_decks.py and, as PDFs, in
test_build_pdf.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest

from symderiv.render.layout import (FRAME_HEIGHT, SHORT_FILL, fit_alone, frames_for, number_runs, pack,
                                    split_tall)
from symderiv.render.viewmodel import Line, Section
from symderiv.render.escape import Tex


@dataclass
class Item:
    name: str
    height: float
    width: float = 120.0              # too wide for a column unless said otherwise
    group: str = ""
    time: int | None = None
    type: str = "block"
    height_narrow: float = 0.0
    lines: list = field(default_factory=list)
    line_heights: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    caption: str = ""
    label: str = ""
    continued: bool = False
    small: bool = False

    @property
    def topic(self) -> str:
        return ""


def _names(frames) -> list[list[str]]:
    return [[i.name for i in f.items] for f in frames]


def test_items_fill_frames_in_order_without_overflow():
    items = [Item(f"s{k}", 30.0) for k in range(7)]                  # two fit a frame, three do not
    frames = frames_for(Section("forward", "Forward pass", items), "x")
    assert sorted(len(f.items) for f in frames) == [1, 2, 2, 2]
    assert all(f.height <= FRAME_HEIGHT for f in frames)


def test_a_small_section_joins_its_neighbour_instead_of_a_frame_of_its_own():
    forward = Section("forward", "Forward pass", [Item("a", 40.0)])
    loss = Section("loss", "Loss", [Item("L", 20.0)])
    frames = frames_for([forward, loss], "x")
    assert _names(frames) == [["a", "L"]]
    assert frames[0].title == "Forward pass and loss"


def test_no_frame_is_left_nearly_empty_when_the_items_can_be_shared_out():
    # filled greedily: 20 + 20 + 20 | 30, the last frame ending above the middle of the page
    items = [Item("a", 20.0), Item("b", 20.0), Item("c", 20.0), Item("d", 30.0)]
    frames = frames_for(Section("backward", "Backward pass", items), "x")
    assert _names(frames) == [["a", "b"], ["c", "d"]]
    assert min(f.height for f in frames) >= SHORT_FILL


def test_narrow_items_sit_in_two_columns():
    items = [Item(f"n{k}", 30.0, width=60.0) for k in range(4)]
    frames = frames_for(Section("backward", "Backward pass", items), "x")
    assert len(frames) == 1 and frames[0].parts[0].kind == "columns"
    assert [[i.name for i in col] for col in frames[0].parts[0].columns] == [["n0", "n1"], ["n2", "n3"]]


def test_narrow_steps_too_tall_for_one_pair_of_columns_stack_as_two_pairs():
    # an LSTM's backward pass: 32 | 34 + 26 fills one pair of columns only half and leaves 26 for the
    # next frame; two rows of pairs (32 | 34 over 26 | 26) hold all four in 34 + 26 mm and the margins
    items = [Item("b", 32.0, width=60.0), Item("g", 34.0, width=60.0), Item("dg", 26.0, width=60.0),
             Item("ag", 26.0, width=60.0)]
    parts = pack(items, FRAME_HEIGHT)
    assert parts is not None
    assert [(p.kind, [[i.name for i in col] for col in p.columns]) for p in parts] == [
        ("columns", [["b"], ["g"]]), ("columns", [["dg"], ["ag"]])]
    frames = frames_for(Section("backward", "Backward pass", items * 2), "x")
    assert len(frames) == 2


def test_pack_refuses_what_does_not_fit():
    assert pack([Item("a", 40.0), Item("b", 40.0)], FRAME_HEIGHT) is None
    assert pack([Item("a", 40.0), Item("b", 20.0)], FRAME_HEIGHT) is not None


def test_counters_number_consecutive_frames_only():
    @dataclass
    class F:
        title: str

    frames = [F("A"), F("A"), F("B"), F("A"), F("C"), F("C"), F("C")]
    number_runs(frames)
    assert [f.title for f in frames] == ["A (1/2)", "A (2/2)", "B", "A", "C (1/3)", "C (2/3)", "C (3/3)"]


def test_titles_say_the_time_steps_in_the_order_shown():
    items = [Item("x3", 30.0, time=3, group="3"), Item("x2", 30.0, time=2, group="2")]
    frames = frames_for(Section("backward", "Backward pass", items), "x")
    assert frames[0].title == "Backward pass, t = 3 to 2"


def _block(heights: list[float]) -> Item:
    lines = [Line(Tex("L" if k == 0 else ""), Tex("="), Tex(f"v{k}")) for k in range(len(heights))]
    return Item("tall", sum(heights) + 5.0, lines=lines, line_heights=list(heights), caption="loss", label="tall")


def test_a_step_that_fits_a_slide_alone_is_never_cut():
    block = _block([9.0] * 6)                                         # 59 mm: alone on its frame
    assert fit_alone(block) == [block]
    full = _block([10.0] * 6 + [1.0])                                 # 66 mm: too close to call, one size smaller
    assert fit_alone(full)[0].small and len(fit_alone(full)[0].lines) == 7
    slightly = _block([10.0] * 6 + [5.0])                             # 70 mm: one size smaller fits
    (small,) = fit_alone(slightly)
    assert small.small and small.height < FRAME_HEIGHT and len(small.lines) == 7


def test_a_step_taller_than_a_slide_is_cut_between_lines_each_equal_to_its_symbol():
    block = _block([10.0] * 12)
    pieces = fit_alone(block)
    assert len(pieces) == 3 and sum(len(p.lines) for p in pieces) == 12
    counts = [len(p.lines) for p in pieces]
    assert max(counts) - min(counts) <= 1                             # cut evenly, no short last piece
    assert all(str(p.lines[0].lhs) == "L" for p in pieces)
    assert pieces[1].continued and pieces[2].continued and all(p.height <= FRAME_HEIGHT for p in pieces)
    assert split_tall(block, 40.0)[0].height <= 40.0


def test_a_line_broken_for_width_is_never_cut_between_its_pieces():
    # "≈ 10^{-3}" and its continuation "· [six-row matrix]" (no relation of its own): cut between them,
    # the next frame would start with a bare "·" and the first would end on a number that is no result
    lines = [Line(Tex("L"), Tex("="), Tex("a")), Line(Tex(""), Tex("="), Tex("b")),
             Line(Tex(""), Tex(r"\approx"), Tex("s")), Line(Tex(""), Tex(""), Tex(r"\quad \cdot M")),
             Line(Tex(""), Tex(r"\approx"), Tex("r"))]
    heights = [15.0, 15.0, 5.5, 30.0, 10.0]
    block = Item("tall", sum(heights) + 5.0, lines=lines, line_heights=heights, caption="c", label="tall")
    pieces = split_tall(block, 60.0)
    assert len(pieces) == 2
    assert all(str(p.lines[0].rel) != "" for p in pieces)
    assert [str(line.rhs) for line in pieces[1].lines][:2] == ["s", r"\quad \cdot M"]


@pytest.mark.parametrize("count", [1, 2, 5, 13])
def test_every_item_is_placed_once_in_order(count):
    items = [Item(f"i{k}", 12.0 + 7 * (k % 5), width=60.0 if k % 3 else 120.0, group=str(k // 4)) for k in range(count)]
    frames = frames_for(Section("forward", "Forward pass", items), "x")
    placed = [i.name for f in frames for part in f.parts for col in part.columns for i in col]
    assert sorted(placed, key=lambda n: int(n[1:])) == [i.name for i in items]
    for frame in frames:
        assert re.fullmatch(r"Forward pass( \(\d+/\d+\))?", frame.title)


def test_a_fraction_of_batch_symbols_is_as_wide_as_its_wider_part():
    # a batch's symbols nest braces two deep ({z^{(2)}}^{[1]}); such a fraction was counted as its
    # numerator and denominator side by side, so every batch step seemed too wide for a column
    from symderiv.render.substitute import latex_width
    top, bottom = r"\partial {L}^{[1]}", r"\partial {z^{(2)}}^{[1]}"
    assert latex_width(rf"\frac{{{top}}}{{{bottom}}}") == int(max(latex_width(top), latex_width(bottom)) + 1)
    assert latex_width(rf"\frac{{{top}}}{{{bottom}}}") < latex_width(top) + latex_width(bottom)


def test_batch_steps_narrow_enough_for_a_column_sit_in_two_columns():
    from symderiv.api import derive
    from symderiv.render.layout import NARROW
    from symderiv.render.viewmodel import example_view
    view = example_view(derive("mlp-batch"), None)
    bias = next(i for s in view.sections for i in s.items if getattr(i, "name", "") == "dL/db2(n=1)")
    # its widest line, the chain rule: two fractions of about 12 characters each, about 50 mm in all
    assert bias.width <= NARROW
