"""The documents of one build: the deck, the solutions and the questions, as .tex text.

This is the render stage's entry point: example views (:mod:`symderiv.render.viewmodel`) are
laid out into frames (:mod:`symderiv.render.layout`), overlay numbers are assigned for
``--reveal``, and the templates print the result. Writing files and compiling them is the
caller's business (:mod:`symderiv.render.compile`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from symderiv.display import DEFAULT_DIGITS
from symderiv.render import layout, themes
from symderiv.render.env import environment
from symderiv.render.viewmodel import ExampleView, Note, Section, example_view, safe_label

#: Rows of the verification table per slide.
CHECK_ROWS_PER_FRAME = 9
#: ... and at most this many on the last one when the summary sentence goes below them.
CHECK_ROWS_WITH_NOTE = 5
#: Height of the given-values table's rows per slide at most, in mm (a row is 4.3 mm, a matrix row 4 mm more).
GIVEN_HEIGHT = 58.0
#: Height of the tallest equation the solutions print in one piece, in mm: an A4 page's text is 253 mm
#: tall, and a display cannot break across pages (what is taller runs off the page).
SOLUTIONS_PAGE_HEIGHT = 230.0
#: Height of one given-values table in the solutions, in mm: a table cannot break across pages (a stacked
#: LSTM's 45 given values, 390 mm, ran off the page), so a longer one is cut into tables of about equal length.
SOLUTIONS_GIVEN_HEIGHT = 200.0



@dataclass(frozen=True)
class Options:
    slides: bool = True
    solutions: bool = True
    questions: bool = False
    reveal: bool = False
    digits: int = DEFAULT_DIGITS
    templates: Path | None = None
    detail: str = "full"                 # "full" | "compact" (see viewmodel.compact_section)
    theme: str = ""                      # a Beamer theme ("" : symderiv's own plain look)


@dataclass
class DeckExample:
    view: ExampleView
    label: str
    frames: list = field(default_factory=list)
    check_pages: list = field(default_factory=list)
    solution_sections: list = field(default_factory=list)   # the sections as the solutions print them
    solution_given: list = field(default_factory=list)      # the given values' rows, a table per page


def _pages(items: list, height_of, budget: float) -> list[list]:
    """Items in order on as few pages as hold them, the pages filled about equally (no short last page)."""
    total = sum(height_of(item) for item in items)
    count = 1
    while True:
        pages = _fill(items, height_of, budget, total / count)
        if len(pages) <= count:
            return pages
        count += 1


def _fill(items: list, height_of, budget: float, target: float) -> list[list]:
    """Pages of at most ``budget``, each closed once it holds ``target`` (a share of the whole)."""
    pages, current, used = [], [], 0.0
    for item in items:
        h = height_of(item)
        if current and (used + h > budget or used >= target - 1e-9):
            pages.append(current)
            current, used = [], 0.0
        current.append(item)
        used += h
    if current:
        pages.append(current)
    return pages


def _given_height(row) -> float:
    """mm a row of the given-values table takes (\\small; a matrix its rows)."""
    return 4.3 + 4.0 * (row.rows - 1) + (1.0 if row.rows > 1 else 0.0)


def _note_height(note: Note) -> float:
    """mm a note block takes on the summary slide: its title bar and its lines (about 105 characters each)."""
    from symderiv.render.viewmodel import _note_height as block_note
    return block_note(note, 105)


def _assign_overlays(frames: list) -> None:
    """Line by line: every line of every block in a frame gets the next slide number."""
    for frame in frames:
        n = 1
        for item in frame.items:
            if item.type != "block":
                continue
            for line in item.lines:
                line.overlay = n
                n += 1
            item.last_overlay = n - 1


class _WholeItem:
    """What the layout and the template read of an item that is not a derivation step."""

    @property
    def height_mm(self) -> str:
        return f"{self.height:.0f}"

    @property
    def topic(self) -> str:
        return ""


@dataclass
class NoteItem(_WholeItem):
    """A note of the example's summary ("What this example teaches") as an item of its slides."""

    note: Note
    height: float
    label: str
    group: str = "summary"
    type: str = "note"
    time: int | None = None


@dataclass
class GivenItem(_WholeItem):
    """Rows of the given-values table as an item of the slides (a long table is cut into several)."""

    rows: list
    height: float
    width: float
    label: str
    group: str = "given"
    type: str = "given"
    time: int | None = None
    height_narrow: float = 0.0


#: mm the given-values table takes besides its rows (head and rules).
GIVEN_HEAD = 8.0


def _even(rows: list, count: int) -> list[list]:
    """``rows`` on ``count`` pages in order, the first ones holding one more where they do not divide."""
    size, extra = divmod(len(rows), count)
    pages, start = [], 0
    for k in range(count):
        end = start + size + (1 if k < extra else 0)
        pages.append(rows[start:end])
        start = end
    return pages


def check_pages(rows: list) -> list[list]:
    """The verification table's rows per slide: as few slides as hold them, filled about equally (no
    slide with a row or two), the last one short enough for the summary sentence below it. When the
    rows fill their slides too well to leave that room, they take one slide more rather than leave the
    sentence alone on a slide of its own."""
    if len(rows) <= CHECK_ROWS_WITH_NOTE:
        return [rows]
    count = -(-len(rows) // CHECK_ROWS_PER_FRAME)
    if CHECK_ROWS_PER_FRAME * (count - 1) + CHECK_ROWS_WITH_NOTE < len(rows):
        count += 1
    last = min(CHECK_ROWS_WITH_NOTE, -(-len(rows) // count))
    return _even(rows[:-last], count - 1) + [rows[-last:]]


def solution_sections(view: ExampleView) -> list[Section]:
    """The sections as the solutions print them: a step taller than a page cut between its lines
    (continued under the same caption), since an equation cannot break across pages."""
    return [replace(section, items=[piece for item in section.items
                                    for piece in layout.split_tall(item, SOLUTIONS_PAGE_HEIGHT)])
            for section in view.sections]


def deck_example(view: ExampleView, frame_height: float = layout.FRAME_HEIGHT) -> DeckExample:
    ex = DeckExample(view, safe_label(view.name))
    chunks = _pages(view.given, _given_height, GIVEN_HEIGHT) if view.given else []
    given = [GivenItem(rows, sum(_given_height(r) for r in rows) + GIVEN_HEAD, max(r.width for r in rows),
                       f"{ex.label}-given-{k + 1}") for k, rows in enumerate(chunks)]
    # the given values, the steps and the summary's notes are packed together (a short table shares its slide)
    sections = ([Section("given", "Given values", given)] if given else []) + list(view.sections)
    if view.summary:        # the summary's notes are packed like the steps (after the update, if they fit)
        items = [NoteItem(note, _note_height(note) + 5.0, f"{ex.label}-summary-{k + 1}")
                 for k, note in enumerate(view.summary)]
        sections.append(Section("summary", "What this example teaches", items))
    ex.frames = layout.frames_for(sections, view.title, frame_height)
    _assign_overlays(ex.frames)
    ex.check_pages = check_pages(view.checks)
    ex.solution_sections = solution_sections(view)
    ex.solution_given = _pages(view.given, _given_height, SOLUTIONS_GIVEN_HEIGHT) if view.given else []
    return ex


def render(title: str, examples: list[tuple], options: Options) -> dict[str, str]:
    """``{"deck": tex, "solutions": tex, "questions": tex}`` for the selected documents.

    ``examples`` holds ``(derivation, verification, lints)`` triples in the order they are shown.
    """
    views = [example_view(d, v, lints, digits=options.digits, index=i + 1, detail=options.detail)
             for i, (d, v, lints) in enumerate(examples)]
    deck_examples = [deck_example(v, themes.frame_height(options.theme)) for v in views]
    env = environment(options.templates)
    short = title if len(title) <= 40 else title[:37] + "..."
    common = {"title": title, "short_title": short, "examples": deck_examples,
              "subtitle": "Worked examples: every step derived exactly and checked"}
    out = {}
    if options.slides:
        out["deck"] = env.get_template("deck.tex.j2").render(reveal=options.reveal, theme=options.theme,
                                                             body_height=f"{themes.BODY_HEIGHT[options.theme]:.1f}",
                                                             appendix=options.detail == "full",
                                                             compact=options.detail == "compact", **common)
    if options.solutions:
        out["solutions"] = env.get_template("solutions.tex.j2").render(questions_only=False, **common)
    if options.questions:
        out["questions"] = env.get_template("solutions.tex.j2").render(questions_only=True, **common)
    return out
