"""What LaTeX makes of the figures: each picture's natural size and the box of every node in it.

The figures are compiled alone, under the documents' own preamble (``common/packages.tex.j2`` in
a 16:9 Beamer frame), with a TikZ hook that logs every node's bounding box after it is drawn and
the picture's bounding box at its end, all in the picture's own coordinates. Tests then check what
a reader would see: no two nodes (values, labels, cells) overlap, and the figure needs no more
shrinking to fit a slide than a reader can bear.

``PYTHONPATH=. python3 tests/figure_probe.py SPEC...`` prints each figure's size, the scale a slide
gives it and any overlapping nodes (a developer's view of the same checks).
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PT_PER_MM = 72.27 / 25.4
#: What the deck gives a figure (``\symfigure``): the frame's line width, 0.72 of its text height.
SLIDE_WIDTH_PT = 409.7197
SLIDE_HEIGHT_PT = 0.72 * 252.0748
#: Two boxes overlap when they share more than this in both directions (a drawn border is 0.4 pt).
TOUCH_PT = 1.0

HOOK = r"""
\makeatletter
\newcommand\probenode{\begingroup\pgftransformreset
  \pgfpointanchor{\tikzlastnode}{south west}\pgfgetlastxy\pax\pay
  \pgfpointanchor{\tikzlastnode}{north east}\pgfgetlastxy\pbx\pby
  \typeout{symnode \tikzlastnode\space\pax\space\pay\space\pbx\space\pby}\endgroup}
\newcommand\probepicture{\begingroup\pgftransformreset
  \pgfpointanchor{current bounding box}{south west}\pgfgetlastxy\pax\pay
  \pgfpointanchor{current bounding box}{north east}\pgfgetlastxy\pbx\pby
  \typeout{sympicture \pax\space\pay\space\pbx\space\pby}\endgroup}
\makeatother
\newsavebox\probebox
"""


@dataclass(frozen=True)
class Box:
    name: str
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def empty(self) -> bool:
        return self.x1 - self.x0 < 0.5 or self.y1 - self.y0 < 0.5


@dataclass
class Measured:
    """One figure as LaTeX set it (points)."""

    key: str
    width: float
    height: float
    nodes: list[Box] = field(default_factory=list)

    @property
    def scale(self) -> float:
        """The factor ``\\symfigure`` applies on a slide (never above 1 for a wide or tall figure)."""
        return min(1.0, SLIDE_WIDTH_PT / self.width, SLIDE_HEIGHT_PT / self.height)

    def overlaps(self) -> list[tuple[str, str]]:
        """Pairs of nodes whose boxes overlap (borders that merely touch do not count)."""
        boxes = [b for b in self.nodes if not b.empty]
        out = []
        for i, a in enumerate(boxes):
            for b in boxes[i + 1:]:
                dx = min(a.x1, b.x1) - max(a.x0, b.x0)
                dy = min(a.y1, b.y1) - max(a.y0, b.y0)
                if dx > TOUCH_PT and dy > TOUCH_PT:
                    out.append((a.name, b.name))
        return out


def _document(figures: dict) -> str:
    from symderiv.render.env import environment
    packages = environment().get_template("common/packages.tex.j2").render()
    body = []
    for key, figure in figures.items():
        body.append(
            "\\begin{frame}\n\\typeout{symbegin " + key + "}\n"
            "\\sbox\\probebox{\\tikzset{every node/.append style={append after command={\\pgfextra{\\probenode}}},"
            "every picture/.append style={execute at end picture={\\probepicture}}}%\n"
            + str(figure.tikz) + "}\n"
            "\\typeout{symsize \\the\\wd\\probebox\\space\\the\\ht\\probebox\\space\\the\\dp\\probebox}\n"
            "\\symfigure{0.72\\textheight}{" + str(figure.tikz) + "}\n\\end{frame}\n")
    return ("\\documentclass[11pt,aspectratio=169]{beamer}\n" + packages + "\\usefonttheme[onlymath]{serif}\n"
            "\\setbeamersize{text margin left=8mm, text margin right=8mm}\n" + HOOK
            + "\\begin{document}\n" + "".join(body) + "\\end{document}\n")


def measure(figures: dict, workdir: Path | None = None) -> dict[str, Measured]:
    """Compile ``figures`` (key -> Figure) and read back their sizes and node boxes.

    Raises ``AssertionError`` with the log's error lines when LaTeX fails.
    """
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(workdir or tmp)
        (work / "probe.tex").write_text(_document(figures), encoding="utf-8")
        proc = subprocess.run(["pdflatex", "-no-shell-escape", "-interaction=nonstopmode", "-halt-on-error",
                               "probe.tex"], cwd=work, capture_output=True, text=True, timeout=300)
        log = (work / "probe.log").read_text(encoding="latin-1")
        if proc.returncode != 0:
            errors = [line for line in log.splitlines() if line.startswith("!")]
            raise AssertionError(f"LaTeX failed on the figures: {errors}")
    return parse(log)


def parse(log: str) -> dict[str, Measured]:
    out: dict[str, Measured] = {}
    current = None
    number = r"(-?[\d.]+)pt"
    for line in log.splitlines():
        if line.startswith("symbegin "):
            current = Measured(line.split()[1], 0.0, 0.0)
            out[current.key] = current
        elif line.startswith("symnode ") and current is not None:
            m = re.match(rf"symnode (\S+) {number} {number} {number} {number}", line)
            if m:
                current.nodes.append(Box(m.group(1), *map(float, m.groups()[1:])))
        elif line.startswith("symsize ") and current is not None:
            w, h, d = map(float, re.findall(number, line))
            current.width, current.height = w, h + d
    return out


def unnamed_nodes(tikz: str) -> list[str]:
    """The text of each node TikZ names ``tikz@f@N`` (those given no name), in the order it numbers them."""
    out = []
    for m in re.finditer(r"(\\node|\bnode)(\[[^\]]*\])?\s*(\([^)]*\))?\s*(at\s*\([^)]*\))?\s*\{", str(tikz)):
        if m.group(3) is None:
            start, depth = m.end(), 1
            k = start
            while depth and k < len(tikz):
                depth += {"{": 1, "}": -1}.get(tikz[k], 0)
                k += 1
            out.append(tikz[start:k - 1][:60])
    return out


def main(specs: list[str], keep: str | None = None) -> None:
    """Print each figure's measures; with ``keep``, leave the compiled figures (one page each) there."""
    sys.path.insert(0, str(ROOT))
    from symderiv.api import derive
    from symderiv.render import figures
    from symderiv.render.viewmodel import presentable
    for spec in specs:
        d = presentable(derive(spec), spec)
        figs = figures.figures_for(d, 4)
        where = None
        if keep:
            where = Path(keep) / Path(spec).stem
            where.mkdir(parents=True, exist_ok=True)
        for key, m in measure(figs, where).items():
            texts = unnamed_nodes(str(figs[key].tikz))

            numbers = [int(b.name[7:]) for b in m.nodes if b.name.startswith("tikz@f@")]
            base = min(numbers, default=1) - 1          # TikZ numbers unnamed nodes across the document

            def named(n: str) -> str:
                if n.startswith("tikz@f@") and 0 < int(n[7:]) - base <= len(texts):
                    return f"{n}[{texts[int(n[7:]) - base - 1]}]"
                return n
            print(f"{spec} {key}: {m.width / PT_PER_MM:.0f} x {m.height / PT_PER_MM:.0f} mm, slide scale "
                  f"{m.scale:.2f}, {len(m.nodes)} nodes, estimate {figs[key].height:.0f} mm; "
                  f"overlaps: {[(named(a), named(b)) for a, b in m.overlaps()[:6]]}")


if __name__ == "__main__":
    arguments = sys.argv[1:]
    kept = None
    if arguments[:1] == ["--keep"]:
        kept, arguments = arguments[1], arguments[2:]
    main(arguments, kept)
