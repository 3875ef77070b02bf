"""Slides from sections: items packed into frames of a fixed height, with explicit continuation frames.

``allowframebreaks`` would let LaTeX cut a derivation anywhere (even inside a step); here a
frame break can only fall between two items, a new group (a time step, a layer) prefers a new
frame, and each continuation frame says so in its title. Narrow steps sit in two columns (read
left column first), so a slide holds as much as a lecturer would write on it. Heights and widths
are estimates in millimetres (see :mod:`symderiv.render.viewmodel`), fitted to what LaTeX logs for
the rendered decks; the tests check that no frame overflows.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

#: Usable height of a 16:9 frame body with title and subtitle, in mm (LaTeX's limit is about 70).
FRAME_HEIGHT = 66.0
#: A step at most this wide (mm) may go into one of two columns (a column is about 69 mm).
NARROW = 68.0
#: Start a new frame for a new group when the current one is already this full.
GROUP_BREAK = 0.45


@dataclass
class Part:
    """Full-width items, or two columns of items."""

    kind: str                         # "full" or "columns"
    columns: list = field(default_factory=list)   # one list ("full") or two lists ("columns")

    @property
    def height(self) -> float:
        if self.kind == "full":
            return sum(i.height for i in self.columns[0])
        return max(sum(_h(i, narrow=True) for i in col) for col in self.columns)

    @property
    def items(self) -> list:
        return [i for col in self.columns for i in col]


@dataclass
class Frame:
    title: str
    subtitle: str
    parts: list
    section: str
    type: str = "frame"

    @property
    def items(self) -> list:
        return [i for p in self.parts for i in p.items]


def _h(item, narrow: bool = False) -> float:
    return getattr(item, "height_narrow", 0.0) or item.height if narrow else item.height


def _narrow(item, budget: float = FRAME_HEIGHT) -> bool:
    """A block that fits in one of two columns: narrow enough, and not too tall once its notes wrap."""
    if getattr(item, "type", "") != "block":
        return False
    return 0 < item.width <= NARROW and _h(item, narrow=True) <= 0.85 * budget


class _Packer:
    def __init__(self, budget: float):
        self.budget = budget
        self.pages: list[list[Part]] = []
        self.parts: list[Part] = []
        self.open: Part | None = None     # an open two-column part
        self.side = 0                     # the column being filled

    def used(self) -> float:
        return sum(p.height for p in self.parts)

    def new_frame(self) -> None:
        self.close()
        if self.parts:
            self.pages.append(self.parts)
        self.parts = []

    def close(self) -> None:
        """An open column part with an empty right column becomes a full-width part."""
        if self.open is not None and not self.open.columns[1]:
            self.open.kind, self.open.columns = "full", [self.open.columns[0]]
        self.open = None

    def add(self, item) -> None:
        if not _narrow(item, self.budget):
            self.close()
            if self.parts and self.used() + item.height > self.budget:
                self.new_frame()
            if self.parts and self.parts[-1].kind == "full":
                self.parts[-1].columns[0].append(item)
            else:
                self.parts.append(Part("full", [[item]]))
            return
        h = _h(item, narrow=True)
        if self.open is not None:
            room = self.budget - sum(p.height for p in self.parts if p is not self.open)
            column = self.open.columns[self.side]
            if sum(_h(i, True) for i in column) + h <= room:
                column.append(item)
                return
            if self.side == 0 and h <= room:
                self.side = 1
                self.open.columns[1].append(item)
                return
            self.new_frame()
        elif self.parts and self.used() + h > self.budget:
            self.new_frame()
        self.open = Part("columns", [[item], []])
        self.side = 0
        self.parts.append(self.open)

    def finish(self) -> list[list[Part]]:
        self.new_frame()
        return self.pages


def split_tall(item, budget: float) -> list:
    """A block taller than a slide, cut between its lines into blocks that fit (notes go with the last)."""
    if getattr(item, "type", "") != "block" or item.height <= budget or len(item.lines) < 2:
        return [item]
    overhead = item.height - sum(item.line_heights) - sum(_note_heights(item))
    pieces, current, used = [], [], overhead
    for line, h in zip(item.lines, item.line_heights):
        if current and used + h > budget:
            pieces.append(current)
            current, used = [], overhead
        current.append((line, h))
        used += h
    if current:
        pieces.append(current)
    if sum(h for _, h in pieces[-1]) + overhead + sum(_note_heights(item)) > budget and len(pieces[-1]) > 1:
        last = pieces.pop()
        pieces += [last[:-1], last[-1:]]
    out = []
    for k, piece in enumerate(pieces):
        lines = [line for line, _ in piece]
        if k > 0 and lines[0].lhs == "" and lines[0].rel != "":
            lines = [replace(lines[0], lhs=item.lines[0].lhs)] + lines[1:]   # each line equals the symbol
        last = k == len(pieces) - 1
        notes = item.notes if last else []
        height = overhead + sum(h for _, h in piece) + (sum(_note_heights(item)) if last else 0.0)
        out.append(replace(item, lines=lines, notes=notes, height=height, height_narrow=height,
                           line_heights=[h for _, h in piece], continued=k > 0,
                           caption=(item.caption + " (continued)") if k > 0 and item.caption else item.caption,
                           label=item.label if k == 0 else f"{item.label}-{k + 1}"))
    return out


def _note_heights(item) -> list[float]:
    from symderiv.render.viewmodel import _note_height
    return [_note_height(n) for n in item.notes]


def _title(section_title: str, items: list) -> str:
    times = [i.time for i in items if getattr(i, "time", None) is not None]
    distinct = sorted(set(times))
    if len(distinct) == 1:
        return f"{section_title}, t = {distinct[0]}"
    if len(distinct) > 1:
        first, last = times[0], times[-1]
        return f"{section_title}, t = {first} to {last}"
    topics = []
    for item in items:
        topic = getattr(item, "topic", "")
        if topic and topic not in topics:
            topics.append(topic)
    if topics:
        return f"{section_title}: {', '.join(topics[:2])}" + (", ..." if len(topics) > 2 else "")
    return section_title


def frames_for(section, subtitle: str, height: float = FRAME_HEIGHT) -> list[Frame]:
    """The frames of one section: greedy packing, never splitting an item."""
    packer = _Packer(height)
    previous = None
    items = [piece for item in section.items for piece in split_tall(item, height)]
    for item in items:
        group = getattr(item, "group", "")
        if previous is not None and group != previous:
            packer.close()
            if packer.used() > GROUP_BREAK * height or item.type == "figure":
                packer.new_frame()
        packer.add(item)
        previous = group
    frames = [Frame("", subtitle, parts, section.key) for parts in packer.finish()]
    bases = [_title(section.title, f.items) for f in frames]
    for i, (frame, base) in enumerate(zip(frames, bases)):
        same = [j for j, b in enumerate(bases) if b == base]
        frame.title = f"{base} ({same.index(i) + 1}/{len(same)})" if len(same) > 1 else base
    return frames


def chunk(rows: list, size: int) -> list[list]:
    """Rows of a long table split into pages of ``size`` rows (the verification appendix)."""
    return [rows[i:i + size] for i in range(0, len(rows), size)] or [[]]
