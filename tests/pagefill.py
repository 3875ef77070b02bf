"""How full the pages of a Beamer deck are, read from the PDF's pixels (a test helper and a small tool).

A page "ends above the middle" when the lowest drawn pixel of its body (everything above the footer
band) lies in the upper half of the page. Pixels, not text, so a figure counts as much as an
equation. Each page is rendered with ``pdftoppm`` in grey at a low resolution; a pixel is ink when it
is darker than :data:`INK` (the light fill of a note block counts too). The footer band is the
bottom :data:`FOOTER_MM`; anything drawn there left of the footline's own text (the short title and
the page number, right-aligned) is content running into the footer.

Pages that are allowed to be short (the title page, the table of contents, and an example's opening
page) are recognised from the ``.tex`` beside the PDF: one page per frame (decks built without
``--reveal``), and those frames are the ones holding ``\\titlepage``, ``\\tableofcontents`` or the
marker comment ``% symderiv: opening frame``.

    python3 tests/pagefill.py output/lecture.pdf      # one line per short page, then the summary
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Grey level (0 black .. 255 white) below which a pixel counts as drawn.
INK = 245
#: Height of the footer band, in mm from the bottom of the page.
FOOTER_MM = 6.0
#: Share of the page width, from the left, where the footer band must stay empty.
FOOTER_CLEAR = 0.5
DPI = 50
MM_PER_INCH = 25.4


@dataclass(frozen=True)
class PageFill:
    number: int                  # 1-based page number
    bottom_mm: float             # lowest ink of the body, in mm from the top (0: empty page)
    height_mm: float
    exempt: bool                 # a title, contents or opening page
    footer_intrusion: bool       # ink in the left part of the footer band

    @property
    def short(self) -> bool:
        """The body ends above the middle of the page."""
        return self.bottom_mm < self.height_mm / 2


def _read_pgm(path: Path) -> np.ndarray:
    data = path.read_bytes()
    # P5 header: magic, width, height, maxval, each separated by whitespace
    fields = re.match(rb"P5\s+(\d+)\s+(\d+)\s+(\d+)\s", data)
    width, height = int(fields.group(1)), int(fields.group(2))
    return np.frombuffer(data[fields.end():fields.end() + width * height], dtype=np.uint8).reshape(height, width)


def exempt_pages(tex: str) -> set[int]:
    """1-based numbers of the frames that may end early (title, contents, opening frames)."""
    frames = re.split(r"\\begin\{frame\}", tex)[1:]
    out = set()
    for number, (before, body) in enumerate(zip(re.split(r"\\begin\{frame\}", tex)[:-1], frames), start=1):
        body = body.split(r"\end{frame}", 1)[0]
        opening = before.rstrip().endswith("% symderiv: opening frame")
        if opening or r"\titlepage" in body or r"\tableofcontents" in body:
            out.add(number)
    return out


def measure(pdf: Path, tex: Path | None = None) -> list[PageFill]:
    """The fill of every page of ``pdf``; ``tex`` (default: beside it) names the exempt pages."""
    pdf = Path(pdf)
    tex = Path(tex) if tex is not None else pdf.with_suffix(".tex")
    exempt = exempt_pages(tex.read_text()) if tex.exists() else set()
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["pdftoppm", "-gray", "-r", str(DPI), str(pdf), f"{tmp}/p"], check=True)
        for number, page in enumerate(sorted(Path(tmp).glob("p-*.pgm"), key=lambda p: int(p.stem[2:])), start=1):
            pixels = _read_pgm(page)
            height, width = pixels.shape
            mm = MM_PER_INCH / DPI
            footer = height - int(round(FOOTER_MM / mm))
            ink_rows = np.nonzero((pixels[:footer] < INK).any(axis=1))[0]
            bottom = (ink_rows[-1] + 1) * mm if ink_rows.size else 0.0
            intrusion = bool((pixels[footer:, : int(width * FOOTER_CLEAR)] < INK).any())
            out.append(PageFill(number, bottom, height * mm, number in exempt, intrusion))
    return out


def short_pages(fills: list[PageFill]) -> list[PageFill]:
    """The pages that count against the deck: not exempt, and ending above the middle."""
    return [f for f in fills if not f.exempt and f.short]


def short_share(fills: list[PageFill]) -> float:
    """Share of a deck's pages (all of them, the exempt ones included) that end above the middle."""
    return len(short_pages(fills)) / len(fills) if fills else 0.0


def main(argv: list[str]) -> int:
    for name in argv:
        fills = measure(Path(name))
        shorts = short_pages(fills)
        for f in shorts:
            print(f"{name}: page {f.number} ends at {f.bottom_mm:.0f} of {f.height_mm:.0f} mm")
        for f in fills:
            if f.footer_intrusion:
                print(f"{name}: page {f.number}: ink in the footer band")
        print(f"{name}: {len(fills)} pages, {len(shorts)} end above the middle ({100 * short_share(fills):.1f} %), "
              f"{sum(f.footer_intrusion for f in fills)} with ink in the footer")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
