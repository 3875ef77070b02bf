"""Which characters pdflatex prints with our preamble, found by compiling them (not by reading tables).

``symderiv/render/glyphs.py`` lists the code points whose LaTeX from pylatexenc prints a real glyph
under the packages the documents load (T1 + TS1 Latin Modern, amsmath/amssymb). This module makes
that list and checks it: each character is typeset in a Beamer frame and an article, in the
contexts user text appears in (a section title, plain, bold, sans, typewriter, italic, inside
``\\text`` in math), and a character counts only when no context gives an error, a warning or a
"Missing character" line in the log (hyperref leaving a command out of a PDF bookmark is fine).

Regenerate the table after a pylatexenc or TeX Live upgrade:
``PYTHONPATH=. python3 tests/glyph_probe.py`` prints the ``TYPESET_RANGES`` literal.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHUNK = 60          # characters per document: pdflatex stops after 100 errors


def preamble(document_class: str) -> str:
    """The documents' own preamble (``common/packages.tex.j2``) under a Beamer or article class."""
    from symderiv.render.env import environment
    packages = environment().get_template("common/packages.tex.j2").render()
    if document_class == "beamer":
        return "\\documentclass[11pt,aspectratio=169]{beamer}\n" + packages + "\\usefonttheme[onlymath]{serif}\n"
    return "\\documentclass[11pt]{article}\n" + packages


def _uses(latex: str) -> str:
    """One character's LaTeX in every context user text is printed in."""
    return (f"{latex} \\textbf{{{latex}}} \\textsf{{{latex}}} \\texttt{{{latex}}} $\\text{{{latex}}}$ "
            f"\\textit{{{latex}}}\\par")


def failing(items: list[tuple[int, str]], document_class: str, workdir: Path, chunk_size: int = CHUNK,
            frame_each: bool = True) -> set[int]:
    """The code points among ``items`` (code point, LaTeX) that do not print cleanly.

    pdflatex gives up after 100 errors; the characters it did not reach are probed again. In Beamer
    each character gets a frame (and frame title) of its own unless ``frame_each`` is false: then one
    frame holds them all, faster, but an error may be blamed on a later character.
    """
    bad: set[int] = set()
    pre = preamble(document_class)
    queue = list(items)
    while queue:
        chunk, queue = queue[:chunk_size], queue[chunk_size:]
        if document_class == "beamer" and not frame_each:
            body = ("\n".join(f"\\typeout{{CP {cp:X}}}\\section{{{latex}}}" for cp, latex in chunk)
                    + "\n\\begin{frame}[allowframebreaks]{Probe}\n"
                    + "\n".join(f"\\typeout{{CP {cp:X}}}{_uses(latex)}" for cp, latex in chunk) + "\n\\end{frame}")
        elif document_class == "beamer":     # a frame each (its title too), as the deck's examples have
            body = "\n".join(f"\\typeout{{CP {cp:X}}}\\section{{{latex}}}\\begin{{frame}}{{{latex}}}{_uses(latex)}"
                             "\\end{frame}" for cp, latex in chunk)
        else:
            body = "\n".join(f"\\typeout{{CP {cp:X}}}\\section{{{latex}}}{_uses(latex)}" for cp, latex in chunk)
        tex = workdir / "probe.tex"
        tex.write_text(pre + "\\begin{document}\\tracinglostchars=1\n" + body + "\n\\typeout{CP END}\n\\end{document}\n",
                       encoding="utf-8")
        subprocess.run(["pdflatex", "-interaction=nonstopmode", "-no-shell-escape", tex.name], cwd=workdir,
                       capture_output=True, timeout=300)
        current, seen, finished = None, [], False
        for line in (workdir / "probe.log").read_text(encoding="latin-1").splitlines():
            mark = re.match(r"CP ([0-9A-F]+|END)$", line)
            if mark:
                finished = mark.group(1) == "END"
                current = None if finished else int(mark.group(1), 16)
                if current is not None:
                    seen.append(current)
            elif current is not None and (line.startswith("!") or "Missing character" in line
                                          or ("Warning" in line and not _bookmark_only(line))):
                bad.add(current)
        if not finished:
            if not seen:
                raise RuntimeError(f"pdflatex stopped before the first character; see {workdir / 'probe.log'}")
            bad.add(seen[-1])                 # where pdflatex gave up
            queue = [item for item in chunk if item[0] not in seen] + queue
    return bad


def _bookmark_only(warning: str) -> bool:
    """hyperref leaving a command out of a PDF bookmark (the outline, not the page): not a missing glyph."""
    return "hyperref Warning: Token not allowed in a PDF string" in warning


def candidates() -> list[tuple[int, str]]:
    """Every code point pylatexenc has a LaTeX spelling for (its default rules), with that spelling."""
    from pylatexenc.latexencode import get_builtin_uni2latex_dict
    from symderiv.render.glyphs import pylatexenc_text
    out = []
    for cp in sorted(get_builtin_uni2latex_dict()):
        ch = chr(cp)
        if cp < 0x80 or unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Mn", "Me", "Mc"):
            continue
        latex = pylatexenc_text(ch)
        if latex is not None:
            out.append((cp, latex))
    return out


def typeset(items: list[tuple[int, str]]) -> list[int]:
    """The code points of ``items`` that print cleanly in both document classes.

    One character's error can spill into the next ones (an unclosed group, a math shift), so the
    characters a first pass flags are probed again in ever smaller groups until each flagged one
    fails on its own.
    """
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        bad = set()
        for document_class in ("article", "beamer"):
            flagged = failing(items, document_class, workdir)
            bad |= _confirm([item for item in items if item[0] in flagged], document_class, workdir)
    return [cp for cp, _ in items if cp not in bad]


def check(items: list[tuple[int, str]]) -> set[int]:
    """The code points of ``items`` that do not print cleanly in one of the document classes.

    For a table expected to be all clean: large documents, no second pass (a failure anywhere fails).
    """
    with tempfile.TemporaryDirectory() as tmp:
        return (failing(items, "article", Path(tmp), chunk_size=600)
                | failing(items, "beamer", Path(tmp), chunk_size=600, frame_each=False))


def _confirm(items: list[tuple[int, str]], document_class: str, workdir: Path) -> set[int]:
    if not items or not failing(items, document_class, workdir):
        return set()
    if len(items) == 1:
        return {items[0][0]}
    half = len(items) // 2
    return _confirm(items[:half], document_class, workdir) | _confirm(items[half:], document_class, workdir)


def ranges(code_points: list[int]) -> list[tuple[int, int]]:
    out: list[list[int]] = []
    for cp in sorted(code_points):
        if out and cp == out[-1][1] + 1:
            out[-1][1] = cp
        else:
            out.append([cp, cp])
    return [tuple(r) for r in out]


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    found = ranges(typeset(candidates()))
    print("TYPESET_RANGES = (")
    line = "   "
    for lo, hi in found:
        item = f" (0x{lo:04X}, 0x{hi:04X}),"
        if len(line) + len(item) > 110:
            print(line)
            line = "   "
        line += item
    print(line)
    print(")")
