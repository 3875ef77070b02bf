"""Which characters pdflatex prints with our preamble, found by compiling them (not by reading tables).

``symderiv/render/glyphs.py`` lists the code points whose LaTeX from pylatexenc prints a real glyph
under the packages the documents load (T1 + TS1 Latin Modern, amsmath/amssymb). This module makes
that list and checks it: each character is typeset in a Beamer frame and an article, in the
contexts user text appears in (plain, bold, sans, typewriter, inside ``\\text`` in math, in a
section title), and a character counts only when no context gives an error, a warning or a
"Missing character" line in the log.

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


def failing(items: list[tuple[int, str]], document_class: str, workdir: Path) -> set[int]:
    """The code points among ``items`` (code point, LaTeX) that do not print cleanly."""
    bad: set[int] = set()
    pre = preamble(document_class)
    for start in range(0, len(items), CHUNK):
        chunk = items[start:start + CHUNK]
        body = "\n".join(f"\\typeout{{CP {cp:X}}}{_uses(latex)}" for cp, latex in chunk)
        if document_class == "beamer":
            body = "\\begin{frame}[allowframebreaks]{Probe}\n" + body + "\n\\end{frame}"
        else:
            body = "\n".join(f"\\typeout{{CP {cp:X}}}\\section{{{latex}}}" for cp, latex in chunk) + "\n" + body
        tex = workdir / "probe.tex"
        tex.write_text(pre + "\\begin{document}\\tracinglostchars=1\n" + body + "\n\\typeout{CP END}\n\\end{document}\n",
                       encoding="utf-8")
        subprocess.run(["pdflatex", "-interaction=nonstopmode", "-no-shell-escape", tex.name], cwd=workdir,
                       capture_output=True, timeout=300)
        current = None
        for line in (workdir / "probe.log").read_text(encoding="latin-1").splitlines():
            mark = re.match(r"CP ([0-9A-F]+|END)$", line)
            if mark:
                current = None if mark.group(1) == "END" else int(mark.group(1), 16)
            elif current is not None and (line.startswith("!") or "Missing character" in line
                                          or "Warning" in line):
                bad.add(current)
    return bad


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
    """The code points of ``items`` that print cleanly in both document classes."""
    with tempfile.TemporaryDirectory() as tmp:
        bad = failing(items, "article", Path(tmp)) | failing(items, "beamer", Path(tmp))
    return [cp for cp, _ in items if cp not in bad]


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
