"""Slides from sections: items packed into frames of a fixed height, with explicit continuation frames.

``allowframebreaks`` would let LaTeX cut a derivation anywhere (even inside a step); here a frame
break can only fall between two items. The items of an example (all its sections, in order) are
split into frames by dynamic programming over the break positions, so that the deck has few frames
and none of them is left nearly empty: each frame costs :data:`FRAME_COST`, a frame filled less than
:data:`SHORT_FILL` (whose content would end above the middle of the page) costs
:data:`SHORT_COST` more, and a frame mixing two sections, time steps or layers costs a little, so
breaks fall between them when that costs no extra frame. Narrow steps sit in two columns (read left
column first). A step is cut between its lines only when it does not fit on a slide of its own, not
even one font size smaller. Heights and widths are estimates in millimetres (see
:mod:`symderiv.render.viewmodel`), fitted to what LaTeX logs for the rendered decks; the tests check
that no frame overflows and how full the pages of the PDFs are.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

#: Height of a 16:9 frame body under a title and subtitle that the packing plans with, in mm (LaTeX
#: has 70.8 mm; the estimates may be a little short).
FRAME_HEIGHT = 66.5
#: A step estimated within this much (mm) of a full frame is set one size smaller: a tall step's estimate
#: is a few per cent short, and one that fills a frame has no room for the difference.
NEAR_FULL = 2.0
#: One font size smaller (\small under the 11 pt body): what the height of a block becomes.
SMALL_SCALE = 10.0 / 11.0
#: Columns are filled this much (mm) less than a frame: steps in a column are estimated a little short.
COLUMN_MARGIN = 1.5
#: A step at most this wide (mm) may go into one of two columns (a column is about 69 mm).
NARROW = 68.0
#: Content shorter than this (mm, below title and subtitle) ends above the middle of a 90 mm page.
SHORT_FILL = 36.0
FRAME_COST = 100.0
SHORT_COST = 400.0
SECTION_MIX_COST = 30.0
GROUP_MIX_COST = 4.0
#: At most this many items on one frame (the packing is tried for each run of items).
MAX_ITEMS = 24


@dataclass
class Part:
    """Full-width items, or two columns of items."""

    kind: str                         # "full" or "columns"
    columns: list = field(default_factory=list)   # one list ("full") or two lists ("columns")

    @property
    def height(self) -> float:
        if self.kind == "full":
            return sum(_h(i) for i in self.columns[0])
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

    @property
    def height(self) -> float:
        return sum(p.height for p in self.parts)


#: A figure is drawn at most this tall on a slide, its caption included (\symfigure{0.72\textheight}), in mm.
FIGURE_CAP = 64.0
FIGURE_MARGIN = 1.2


def _h(item, narrow: bool = False) -> float:
    if getattr(item, "type", "") == "figure":       # figures come out a little taller than drawn (caption)
        return min(item.height * FIGURE_MARGIN, FIGURE_CAP)
    return (getattr(item, "height_narrow", 0.0) or item.height) if narrow else item.height


def _narrow(item, budget: float = FRAME_HEIGHT) -> bool:
    """A block that fits in one of two columns: narrow enough, and not too tall once its notes wrap."""
    if getattr(item, "type", "") not in ("block", "table", "given"):
        return False
    return 0 < item.width <= NARROW and _h(item, narrow=True) <= 0.85 * budget


def pack(items: list, budget: float) -> list[Part] | None:
    """The parts of one frame holding ``items`` in order (narrow ones side by side), or None if they
    do not fit in ``budget`` mm: one pair of columns where that holds them, else the lowest stack of
    full-width runs and pairs of columns (see :func:`_stacked`)."""
    parts = _greedy(items, budget)
    return parts if parts is not None else _stacked(items, budget)


def _greedy(items: list, budget: float) -> list[Part] | None:
    """Narrow items filling a left column, then a right one; wide items full width between them."""
    parts: list[Part] = []
    open_part: Part | None = None      # a two-column part being filled
    side = 0

    def close() -> None:
        nonlocal open_part
        if open_part is not None and not open_part.columns[1]:
            open_part.kind, open_part.columns = "full", [open_part.columns[0]]
        open_part = None

    for item in items:
        if not _narrow(item, budget):
            close()
            if parts and parts[-1].kind == "full":
                parts[-1].columns[0].append(item)
            else:
                parts.append(Part("full", [[item]]))
            continue
        h = _h(item, narrow=True)
        if open_part is not None:
            room = budget - COLUMN_MARGIN - sum(p.height for p in parts if p is not open_part)
            column = open_part.columns[side]
            if sum(_h(i, True) for i in column) + h <= room:
                column.append(item)
                continue
            if side == 0 and h <= room:
                side = 1
                open_part.columns[1].append(item)
                continue
            return None
        open_part = Part("columns", [[item], []])
        side = 0
        parts.append(open_part)
    close()
    if sum(p.height for p in parts) > budget:
        return None
    return parts


def _stacked(items: list, budget: float) -> list[Part] | None:
    """The lowest arrangement of ``items``, in order, as a stack of parts: a full-width item, or a run
    of narrow items of one group (time step, layer, example) split into a left and a right column.
    Steps of about a third of a frame each (an LSTM's backward pass at one time step) fill one pair
    of columns only half (31 | 34 + 26 mm, the next 26 mm fitting neither column), while two rows of
    pairs hold all four (31 | 34 over 26 | 26); steps of different layers keep the simpler layouts."""
    n = len(items)
    full = [_h(i) for i in items]
    narrow = [_h(i, narrow=True) if _narrow(i, budget) else None for i in items]
    best: list = [None] * (n + 1)        # best[k]: (height planned, parts) of the first k items
    best[0] = (0.0, [])
    for k in range(n):
        if best[k] is None:
            continue
        used, parts = best[k]
        options = [(full[k], k + 1, Part("full", [[items[k]]]))]
        group = getattr(items[k], "group", "")
        for split in range(k + 1, n):               # left column items[k:split], right items[split:end]
            if narrow[split - 1] is None or getattr(items[split - 1], "group", "") != group:
                break
            left = sum(narrow[k:split])
            if left > budget:
                break
            right = 0.0
            for end in range(split + 1, n + 1):
                if narrow[end - 1] is None or getattr(items[end - 1], "group", "") != group:
                    break
                right += narrow[end - 1]
                if right > budget:
                    break
                options.append((max(left, right) + COLUMN_MARGIN, end,
                                Part("columns", [list(items[k:split]), list(items[split:end])])))
        for height, end, part in options:
            if used + height <= budget and (best[end] is None or used + height < best[end][0]):
                best[end] = (used + height, parts + [part])
    if best[n] is None:
        return None
    merged: list[Part] = []                          # consecutive full-width items are one part
    for part in best[n][1]:
        if merged and part.kind == "full" and merged[-1].kind == "full":
            merged[-1] = Part("full", [merged[-1].columns[0] + part.columns[0]])
        else:
            merged.append(part)
    return merged


def fit_alone(item, budget: float = FRAME_HEIGHT) -> list:
    """An item as it goes on frames: whole (one size smaller if that is what it takes), or cut between
    its lines into pieces that fit when it does not fit a frame of its own even so."""
    alone = budget - NEAR_FULL
    if item.height <= alone or getattr(item, "type", "") != "block":
        return [item]
    if item.height * SMALL_SCALE <= alone:
        return [replace(item, small=True, height=item.height * SMALL_SCALE,
                        height_narrow=_h(item, True) * SMALL_SCALE)]
    return split_tall(item, alone)


def split_tall(item, budget: float) -> list:
    """A block taller than a slide, cut between its lines into blocks that fit (notes go with the last)."""
    if getattr(item, "type", "") != "block" or item.height <= budget or len(item.lines) < 2:
        return [item]
    overhead = item.height - sum(item.line_heights) - sum(_note_heights(item))
    notes = sum(_note_heights(item))

    # in a listing (cells, windows, terms: several lines with a left side) an entry stays with its
    # continuation lines; in one derivation a relation (=, ≈) or a sum's next term (+ ...) may start a
    # frame, but not the rest of a product broken for width ("· [matrix]" after "≈ 10^{-3}")
    listing = sum(1 for line in item.lines if str(line.lhs)) > 1
    units: list = []
    for line, h in zip(item.lines, item.line_heights):
        if units and not str(line.lhs) and (listing or _continues_product(line)):
            units[-1].append((line, h))
        else:
            units.append([(line, h)])
    # an entry taller than a frame is cut between its lines after all
    units = [part for unit in units for part in
             ([[pair] for pair in unit] if overhead + sum(h for _, h in unit) > budget else [unit])]

    def cut(target: float) -> list:
        pieces, current, used = [], [], overhead        # current: the units of the piece being filled
        for unit in units:
            h = sum(uh for _, uh in unit)
            if current and (used + h > budget or used >= target):
                pieces.append(current)
                current, used = [], overhead
            current.append(unit)
            used += h
        if used + notes > budget and len(current) > 1:   # the notes go with the last piece: make room
            pieces.append(current[:-1])
            current = current[-1:]
        pieces.append(current)
        return [[pair for unit in piece for pair in unit] for piece in pieces]

    # as few pieces as hold the lines, about equally full (no short last piece)
    count = 2
    while True:
        pieces = cut((item.height + overhead * (count - 1)) / count)
        if len(pieces) <= count or count >= len(item.lines):
            break
        count += 1
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


def _continues_product(line) -> bool:
    """A line holding the rest of a product broken for width: no relation, and no sign starting a term."""
    rest = str(line.rhs).removeprefix(r"\quad").lstrip()
    return not str(line.rel) and not rest.startswith(("+", "-"))


def _note_heights(item) -> list[float]:
    from symderiv.render.viewmodel import _note_height
    return [_note_height(n) for n in item.notes]


# -- breaking an example into frames ----------------------------------------------------------------
def _cost(entries: list, parts: list[Part]) -> float:
    """What one frame holding ``entries`` (section, item) costs: see the module's docstring."""
    fill = sum(p.height for p in parts)
    cost = FRAME_COST
    if fill < SHORT_FILL:
        cost += SHORT_COST * (SHORT_FILL - fill) / SHORT_FILL + SHORT_COST / 4
    sections = {id(s) for s, _ in entries}
    cost += SECTION_MIX_COST * (len(sections) - 1)
    groups = 0
    for (s1, a), (s2, b) in zip(entries, entries[1:]):
        if s1 is s2 and getattr(a, "group", "") != getattr(b, "group", ""):
            groups += 1
    return cost + GROUP_MIX_COST * groups


def _breaks(entries: list, budget: float) -> list[tuple[int, int, list[Part]]]:
    """The frames (start, end, parts) of the cheapest split of ``entries`` into frames."""
    n = len(entries)
    best = [0.0] * (n + 1)
    choice: list = [None] * (n + 1)
    for i in range(n - 1, -1, -1):
        best[i] = float("inf")
        for j in range(i + 1, min(n, i + MAX_ITEMS) + 1):
            items = [item for _, item in entries[i:j]]
            parts = pack(items, budget)
            if parts is None:
                if j == i + 1:                # an item alone that does not fit: it gets a frame anyway
                    parts = [Part("full", [items])]
                else:
                    break
            cost = _cost(entries[i:j], parts) + best[j]
            if cost < best[i]:
                best[i], choice[i] = cost, (j, parts)
    out, i = [], 0
    while i < n:
        j, parts = choice[i]
        out.append((i, j, parts))
        i = j
    return out


def frames_for(sections, subtitle: str, height: float = FRAME_HEIGHT) -> list[Frame]:
    """The frames of an example's sections (or of one section): the cheapest split, never inside an item
    that fits on a frame."""
    if not isinstance(sections, (list, tuple)):
        sections = [sections]
    entries = [(section, piece) for section in sections for item in section.items
               for piece in fit_alone(item, height)]
    frames = []
    for start, end, parts in _breaks(entries, height):
        owners = []
        for section, _ in entries[start:end]:
            if section not in owners:
                owners.append(section)
        frames.append(Frame(_title(owners, [item for _, item in entries[start:end]]), subtitle, parts,
                            owners[0].key))
    number_runs(frames)
    return frames


def _title(sections: list, items: list) -> str:
    """A frame's title: its sections, then the descent step, example, time steps or layers it shows."""
    headings = [sections[0].title] + [s.title[0].lower() + s.title[1:] for s in sections[1:]]
    base = headings[0] if len(headings) == 1 else ", ".join(headings[:-1]) + " and " + headings[-1]
    qualifiers = []
    descents = {s.descent for s in sections if s.descent}
    if len(descents) == 1:
        qualifiers.append(f"descent step {descents.pop()}")
    examples = []
    for item in items:
        n = getattr(item, "example", None)
        if n is not None and n not in examples:
            examples.append(n)
    if len(examples) == 1:
        qualifiers.append(f"example {examples[0]}")
    elif len(examples) > 1:
        qualifiers.append(f"examples {examples[0]} to {examples[-1]}")
    times = [i.time for i in items if getattr(i, "time", None) is not None]
    title = ", ".join([base] + qualifiers)
    if times:
        first, last = times[0], times[-1]
        return f"{title}, t = {first}" if len(set(times)) == 1 else f"{title}, t = {first} to {last}"
    topics = []
    for item in items:
        topic = getattr(item, "topic", "")
        if topic and topic not in topics:
            topics.append(topic)
    from symderiv.render.viewmodel import CONVOLUTION, TOPICS
    if CONVOLUTION in topics:             # the kernel is the convolution's: one name says both
        topics = [t for t in topics if t != TOPICS["conv_backward"]]
    if topics and len(sections) == 1:
        return f"{title}: {', '.join(topics[:2])}" + (", ..." if len(topics) > 2 else "")
    return title


def number_runs(frames: list) -> None:
    """Consecutive frames with the same title are counted: "Backward pass, t = 3 (1/2)", "(2/2)"."""
    i = 0
    while i < len(frames):
        j = i
        while j + 1 < len(frames) and frames[j + 1].title == frames[i].title:
            j += 1
        if j > i:
            base = frames[i].title
            for k in range(i, j + 1):
                frames[k].title = f"{base} ({k - i + 1}/{j - i + 1})"
        i = j + 1

