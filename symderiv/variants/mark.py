"""The variant's mark on every page of its documents: its number and seed, as text and as a QR code.

``segno`` computes the QR code's module matrix; the code is drawn here with TeX rules (one
``\\vrule`` per run of dark modules, rows stacked without interline glue), so no image file and no
shell escape is needed, and the same variant gives the same bytes. The mark is LaTeX placed just
after ``\\begin{document}``: the solution template includes ``common/variant-mark.tex.j2`` when the
template search path has one (:func:`write_mark_template` writes it for one variant), and a
document's preamble stays the same for every variant, so they all share one precompiled format.
"""

from __future__ import annotations

from pathlib import Path

import segno

#: The template the solution document includes right after \begin{document}, when it exists.
MARK_TEMPLATE = "common/variant-mark.tex.j2"
#: Side of one QR module: a version-2 code (25 modules) is 11 mm wide, in the right margin.
MODULE = "0.45mm"


def payload(example: str, number: int, seed: int) -> str:
    """What the QR code holds: enough to find the variant's folder and to rebuild it."""
    return f"{example} v{number:02d} seed {seed}"


def qr_matrix(text: str) -> list[list[bool]]:
    """The QR code's modules, dark as True, rows from the top (no quiet zone: the page is white)."""
    code = segno.make(text, error="m", micro=False, boost_error=False)
    return [[bool(m) for m in row] for row in code.matrix]


def qr_tex(matrix: list[list[bool]]) -> str:
    r"""The matrix as a ``\vbox`` of rows, each a ``\hbox`` of ``\symqr@r{gap}{run}`` rules (in modules)."""
    rows = []
    for row in matrix:
        runs, gap, col = [], 0, 0
        while col < len(row):
            if not row[col]:
                gap += 1
                col += 1
                continue
            start = col
            while col < len(row) and row[col]:
                col += 1
            runs.append(rf"\symqr@r{{{gap}}}{{{col - start}}}")
            gap = 0
        rows.append(r"\hbox{\vrule width\z@ height\symqr@m" + "".join(runs) + "}")
    return "\\vbox{\\offinterlineskip\n" + "\n".join(rows) + "}"


def mark_tex(example: str, number: int, seed: int) -> str:
    """The LaTeX of the mark: a running head with the variant's number and seed on every page (the title
    page too), and the QR code in the right margin beside it."""
    from symderiv.render.escape import escape_tex

    head = rf"{escape_tex(example)}\quad variant {number}\quad seed {seed}"
    return "\n".join([
        "% symderiv variants: this variant's number and seed, and a QR code of them, on every page.",
        r"\makeatletter",
        rf"\newdimen\symqr@m \symqr@m={MODULE}",
        r"\def\symqr@r#1#2{\kern#1\symqr@m\vrule width#2\symqr@m height\symqr@m depth\z@}",
        r"\newsavebox\symqr@box",
        r"\sbox\symqr@box{" + qr_tex(qr_matrix(payload(example, number, seed))) + "}",
        r"\def\symvariant@head{{\small\sffamily\color{black!70}" + head + r"}\hfil"
        r"\rlap{\hskip 5mm\smash{\raisebox{\dimexpr\ht\strutbox-\totalheight\relax}{\usebox\symqr@box}}}}",
        r"\def\ps@symvariant{\let\@mkboth\@gobbletwo\def\@oddhead{\symvariant@head}\let\@evenhead\@oddhead"
        r"\def\@oddfoot{\hfil\thepage\hfil}\let\@evenfoot\@oddfoot}",
        r"\let\ps@plain\ps@symvariant",
        r"\pagestyle{symvariant}",
        r"\makeatother",
        "",
    ])


def write_mark_template(folder: Path, example: str, number: int, seed: int) -> None:
    """Put the mark of one variant where the template search path (``Options.templates``) finds it.

    The LaTeX is wrapped in a Jinja ``raw`` block: it is printed as it is, whatever it contains.
    """
    path = folder / MARK_TEMPLATE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\\BLOCK{raw}" + mark_tex(example, number, seed) + "\\BLOCK{endraw}", encoding="utf-8")
