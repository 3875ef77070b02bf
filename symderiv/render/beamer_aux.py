"""The auxiliary files pdflatex writes for a Beamer deck, predicted from the deck's text.

A Beamer deck needs a second pdflatex pass only because the first one cannot know what it writes
at the end: the navigation file (``.nav``: the page range of every frame and section, and the
total frame count the footer prints as "n / N"), the table of contents (``.toc``) and the PDF
bookmarks (``.out``). All of it follows from the deck's structure, which symderiv wrote: the
sections, the frames, and the overlays of each frame (``--reveal``). Given these files before
the first pass, one pass gives the final PDF.

The prediction is a first guess, never trusted: :mod:`symderiv.render.latexrun` compares what
pdflatex then writes with what it read and runs another pass when they differ. So a deck outside
the subset understood here costs a pass, never a wrong PDF; for such a deck (subsections, parts,
``\\pause``, frame breaks, a title with math, ...) :func:`predict` returns ``None`` rather than a
guess that is likely wrong. The formats are those of Beamer 3.x with hyperref (TeX Live 2022);
``tests/test_beamer_aux.py`` compares the prediction with what pdflatex writes.
"""

from __future__ import annotations

import re

#: Frame options that change neither the frame count nor the pages of a frame.
_PLAIN_FRAME_OPTIONS = {"", "t", "c", "b", "T", "plain", "squeeze", "shrink"}
#: Anything that makes the structure depend on more than sections, frames and overlay numbers.
_UNSUPPORTED = re.compile(r"\\(?:subsection|subsubsection|part|pause|framebreak|againframe|includeonlyframes|"
                          r"AtBeginSection|AtBeginSubsection|AtBeginPart|AtBeginLecture|lecture|mode|note|"
                          r"input|include|newpage|setbeameroption|addcontentsline|addtocontents)(?![A-Za-z])"
                          r"|\\usepackage(?:\[[^]]*\])?\{[^}]*(?:babel|polyglossia|bookmark|translator)")
#: ``\command<spec>`` or ``\begin{env}<spec>``: an overlay specification.
_OVERLAY = re.compile(r"(?:\\[A-Za-z]+|\\begin\{[A-Za-z*]+\})\s*<([^<>{}]*)>")
_TOKEN = re.compile(r"\\([A-Za-z]+) *|\\(.)|(.)", re.S)
#: The text-mode escapes of :mod:`symderiv.render.escape`, as the characters they print.
_PRINTS = {"textbackslash": "\\", "textasciicircum": "^", "textasciitilde": "~", "textless": "<",
           "textgreater": ">", "textbar": "|", "textquotedbl": '"'}
_SYMBOLS = set("%&#$_{} ")
#: Bytes hyperref writes as octal escapes in a bookmark string (all others literally).
_PDF_ESCAPED = set(range(0, 0x21)) | set(range(0x7F, 0x100)) | set(b"#$%&()\\^_{}~")
#: What Beamer's \appendix calls its part, in the default (English) language.
APPENDIX_NAME = "Appendix"


def predict(tex: str) -> dict[str, str] | None:
    """``{".nav": ..., ".toc": ..., ".out": ..., ".snm": ...}`` for a Beamer deck, or ``None``.

    ``None`` when ``tex`` is not a Beamer deck or uses something this prediction does not follow.
    """
    header, sep, body = tex.partition("\\begin{document}")
    if not sep or not re.search(r"\\documentclass(?:\[([^]]*)\])?\{beamer\}", header):
        return None
    options = re.search(r"\\documentclass\[([^]]*)\]", header)
    if options and {"handout", "trans", "notes"} & {o.strip() for o in options.group(1).split(",")}:
        return None
    text = _strip_comments(body.partition("\\end{document}")[0])
    if _UNSUPPORTED.search(_strip_comments(header)) or _UNSUPPORTED.search(text):
        return None
    try:
        return _Deck().run(text)
    except _Unpredictable:
        return None


class _Unpredictable(Exception):
    """The deck leaves the subset :func:`predict` follows."""


class _Deck:
    """Beamer's bookkeeping (beamerbasesection.sty, beamerbaseframe.sty), replayed from the text."""

    def __init__(self):
        self.page = 1                    # the page the next slide goes on
        self.frames = 0
        self.part = self.section = self.toc_sections = self.slide_in_section = 0
        self.part_start = self.section_start = 1
        self.nav, self.toc, self.out = [], [], []

    def run(self, text: str) -> dict[str, str]:
        pos = 0
        pattern = re.compile(r"\\begin\{frame\}|\\section(?![A-Za-z])|\\appendix(?![A-Za-z])")
        for match in pattern.finditer(text):
            if match.start() < pos:
                continue                 # inside a frame already read
            if match.group() == "\\appendix":
                self.appendix()
                pos = match.end()
            elif match.group() == "\\section":
                title, pos = _argument(text, match.end())
                self.section_entry(title)
            else:
                end = text.find("\\end{frame}", match.end())
                if end < 0:
                    raise _Unpredictable("a frame without its end")
                self.frame(text[match.end():end])
                pos = end + len("\\end{frame}")
        last = self.page - 1
        self.head(f"\\beamer@partpages {{{self.part_start}}}{{{last}}}")
        self.head(f"\\beamer@subsectionpages {{{self.section_start}}}{{{last}}}")
        self.head(f"\\beamer@sectionpages {{{self.section_start}}}{{{last}}}")
        self.head(f"\\beamer@documentpages {{{last}}}")
        self.head(f"\\gdef \\inserttotalframenumber {{{self.frames}}}")
        return {".nav": _lines(self.nav), ".toc": _lines(self.toc), ".out": _lines(self.out), ".snm": ""}

    def head(self, command: str) -> None:
        self.nav.append(f"\\headcommand {{{command}}}")

    def frame(self, inner: str) -> None:
        options = re.match(r"\s*\[([^]]*)\]", inner)
        if options and not {o.strip() for o in options.group(1).split(",")} <= _PLAIN_FRAME_OPTIONS:
            raise _Unpredictable(f"frame options [{options.group(1)}]")
        if re.match(r"\s*(?:\[[^]]*\])?\s*<", inner) or "\\begin{frame}" in inner:
            raise _Unpredictable("an overlay specification on a frame, or a nested frame")
        slides = 1
        for spec in _OVERLAY.findall(inner):
            if not re.fullmatch(r"[\d\s,\-|]*", spec) or "|" in spec:
                raise _Unpredictable(f"overlay specification <{spec}>")
            slides = max([slides, *map(int, re.findall(r"\d+", spec))])
        first, last = self.page, self.page + slides - 1
        self.frames += 1
        self.slide_in_section += 1
        self.head(f"\\slideentry {{{self.section}}}{{0}}{{{self.slide_in_section}}}{{{first}/{last}}}{{}}{{{self.part}}}")
        self.head(f"\\beamer@framepages {{{first}}}{{{last}}}")
        self.page = last + 1

    def close_section(self) -> None:
        self.head(f"\\beamer@sectionpages {{{self.section_start}}}{{{self.page - 1}}}")
        self.head(f"\\beamer@subsectionpages {{{self.section_start}}}{{{self.page - 1}}}")

    def section_entry(self, title: str) -> None:
        written, bookmark = tex_written(title), pdf_string(title)
        self.section += 1
        self.toc_sections += 1
        self.slide_in_section = 0
        self.toc.append(f"\\beamer@sectionintoc {{{self.section}}}{{{written}}}{{{self.page}}}{{{self.part}}}"
                        f"{{{self.toc_sections}}}")
        self.close_section()
        self.head(f"\\sectionentry {{{self.section}}}{{{written}}}{{{self.page}}}{{{written}}}{{{self.part}}}")
        self.section_start = self.page
        parent = f"Outline{self.part}" if self.part else ""
        self.bookmark(2, f"Outline{self.part}.{self.section}", bookmark, parent)

    def appendix(self) -> None:
        if self.part:
            raise _Unpredictable("a second appendix")
        self.head(f"\\gdef \\insertmainframenumber {{{self.frames}}}")
        self.part = 1
        self.head(f"\\partentry {{\\translate {{{APPENDIX_NAME}}}}}{{{self.part}}}")
        self.head(f"\\beamer@partpages {{{self.part_start}}}{{{self.page - 1}}}")
        self.close_section()
        self.head(f"\\beamer@appendixpages {{{self.page}}}")
        self.part_start = self.section_start = self.page
        self.bookmark(1, f"Outline{self.part}", pdf_string(APPENDIX_NAME), "")

    def bookmark(self, level: int, anchor: str, title: str, parent: str) -> None:
        self.out.append(f"\\BOOKMARK [{level}][]{{{anchor}}}{{{title}}}{{{parent}}}% {len(self.out) + 1}")


def tex_written(title: str) -> str:
    """A section title as TeX's ``\\write`` puts it in the .toc and .nav files.

    Control words get one space after them (``\\textbackslash{}`` → ``\\textbackslash {}``), runs
    of spaces become one; anything that ``\\write`` would expand (math) is refused.
    """
    out = []
    for word, symbol, char in _TOKEN.findall(" ".join(title.split())):
        if word:
            if word not in _PRINTS:
                raise _Unpredictable(f"\\{word} in a section title")
            out.append(f"\\{word} ")
        elif symbol:
            if symbol not in _SYMBOLS:
                raise _Unpredictable(f"\\{symbol} in a section title")
            out.append(f"\\{symbol}")
        elif char == "$" or char == "~":
            raise _Unpredictable("math or a tie in a section title")
        else:
            out.append(char)
    return "".join(out)


def pdf_string(title: str) -> str:
    """A section title as hyperref writes it in the .out file: UTF-16BE, octal escapes."""
    text = []
    for word, symbol, char in _TOKEN.findall(" ".join(title.split())):
        if word:
            if word not in _PRINTS:
                raise _Unpredictable(f"\\{word} in a section title")
            text.append(_PRINTS[word])
        elif symbol:
            text.append(symbol)
        elif char in "{}":
            continue                     # the group of "\textbackslash{}"
        else:
            text.append(char)
    data = "".join(text).encode("utf-16-be")
    if len(data) != 2 * len("".join(text)):
        raise _Unpredictable("a character outside the basic multilingual plane")
    return "\\376\\377" + "".join(f"\\{b:03o}" if b in _PDF_ESCAPED else chr(b) for b in data)


def _argument(text: str, pos: int) -> tuple[str, int]:
    """The brace-delimited argument starting at ``text[pos]`` (after spaces) and the position after it."""
    while pos < len(text) and text[pos] in " \n":
        pos += 1
    if pos >= len(text) or text[pos] != "{":
        raise _Unpredictable("a \\section without a plain {title}")
    depth, start = 0, pos
    while pos < len(text):
        ch = text[pos]
        if ch == "\\":
            pos += 2
            continue
        depth += {"{": 1, "}": -1}.get(ch, 0)
        pos += 1
        if depth == 0:
            return text[start + 1:pos - 1], pos
    raise _Unpredictable("an unbalanced section title")


def _strip_comments(text: str) -> str:
    """``text`` without TeX comments (a ``%`` not escaped by a backslash, to the end of its line)."""
    return re.sub(r"(?<!\\)((?:\\\\)*)%.*", r"\1", text)


def _lines(lines: list[str]) -> str:
    return "".join(line + "\n" for line in lines)
