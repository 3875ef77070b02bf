"""User text made literal for LaTeX, and the check that keeps model/notation LaTeX harmless.

Two kinds of strings reach a template. *User text* (titles, descriptions, vocabulary tokens,
file names) must print exactly as typed, so every special character is replaced by a command
that prints it: ``\\input{x}`` becomes ``\\textbackslash{}input\\{x\\}`` and runs nothing.
*LaTeX* produced by symderiv (numbers, matrices, figures) and the notation symbols of a spec is
marked :class:`Tex`; the Jinja environment escapes every value that is *not* a ``Tex``, so a
template that forgets the filter cannot open a hole. Notation symbols are LaTeX by design, so
they are checked against a whitelist of math commands instead (:func:`check_math`).
"""

from __future__ import annotations

import re
import unicodedata

from symderiv.errors import SymderivError
from symderiv.spec.notation import ALLOWED_COMMANDS, math_problem  # noqa: F401  (ALLOWED_COMMANDS: re-exported)


class Tex(str):
    """A string that is already LaTeX (produced or checked by symderiv): printed as it is."""

    __slots__ = ()

    def __add__(self, other):  # Tex + Tex stays Tex; Tex + plain text does not
        if isinstance(other, Tex):
            return Tex(str.__add__(self, other))
        return NotImplemented if not isinstance(other, str) else str.__add__(self, other)


_TEXT_ESCAPES = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "$": r"\$",
    "&": r"\&",
    "#": r"\#",
    "%": r"\%",
    "_": r"\_",
    "^": r"\textasciicircum{}",
    "~": r"\textasciitilde{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
    '"': r"\textquotedbl{}",
    "\n": " ",
    "\r": " ",
    "\t": " ",
}
#: Typographic characters LaTeX's utf8 input prints as they are (kept raw, as the documents always had them).
_UNICODE_OK = set("äöüÄÖÜßéèêëàâçîïôûùÿñáíóúÉÈÀÇŁłŚśŻżŹźĆćŃńĘęĄąÓó–—‘’“”…·×")
#: Symbols symderiv's own sentences use, spelt the way the documents have always printed them.
_UNICODE_MAP = {"−": "-", "≈": r"$\approx$", "→": r"$\rightarrow$", "←": r"$\leftarrow$", "≤": r"$\leq$",
                "≥": r"$\geq$", "∂": r"$\partial$", "⊙": r"$\odot$", "∑": r"$\sum$", "√": r"$\surd$"}
#: Combining accents LaTeX can put on any letter (q + U+0302 -> \^{q}); precomposed letters go through pylatexenc.
_COMBINING = {"\u0300": "`", "\u0301": "'", "\u0302": "^", "\u0303": "~", "\u0304": "=", "\u0306": "u",
              "\u0307": ".", "\u0308": '"', "\u030A": "r", "\u030B": "H", "\u030C": "v", "\u0323": "d",
              "\u0327": "c", "\u0328": "k", "\u0331": "b"}
#: Characters no font of ours has, for which LaTeX itself prints something close (T1 has no capital ẞ).
_CLOSE = {"ẞ": (r"\SS{}", "SS")}


def _stand_in(ch: str) -> tuple[str, str]:
    """A visible stand-in for a character no font has: its code point in a box. (LaTeX, as described.)"""
    if ch in _CLOSE:
        return _CLOSE[ch]
    code = f"U+{ord(ch):04X}"
    return rf"\framebox{{\tiny {code}}}", f"{code} in a box"   # \framebox, unlike \fbox, survives titles


def latex_text(text) -> tuple[Tex, tuple[str, ...]]:
    """User text as LaTeX that prints literally, and the characters no font has (in order, once each).

    Special ASCII characters become the commands that print them; other characters are spelt by
    pylatexenc where our fonts have them (:mod:`symderiv.render.glyphs`); a character with no
    glyph becomes a visible stand-in (:func:`_stand_in`) and is returned, so the caller can warn.
    """
    out: list[str] = []
    missing: list[str] = []
    for ch in unicodedata.normalize("NFC", str(text)):
        if ch in _TEXT_ESCAPES:
            out.append(_TEXT_ESCAPES[ch])
        elif ch.isascii():
            out.append(ch if ch.isprintable() else " ")
        elif ch in _UNICODE_OK:
            out.append(ch)
        elif ch in _UNICODE_MAP:
            out.append(_UNICODE_MAP[ch])
        elif unicodedata.combining(ch) and ch in _COMBINING and out and re.fullmatch(r"[A-Za-z]", out[-1]):
            out[-1] = f"\\{_COMBINING[ch]}{{{out[-1]}}}"
        elif unicodedata.category(ch) == "Cf" or unicodedata.name(ch, "").startswith("VARIATION SELECTOR"):
            continue                     # joiners, soft hyphens, emoji/text style selectors: nothing to print
        elif ch.isspace() or unicodedata.category(ch) == "Cc":
            out.append(" ")
        elif (latex := _glyphs().text_latex(ch)) is not None:
            out.append(latex)
        else:
            out.append(_stand_in(ch)[0])
            if ch not in missing:
                missing.append(ch)
    return Tex("".join(out)), tuple(missing)


def escape_tex(text) -> Tex:
    """Text that prints literally in LaTeX text mode (see :func:`latex_text`).

    >>> escape_tex(r"50% of \\input{x}")
    '50\\\\% of \\\\textbackslash{}input\\\\{x\\\\}'
    """
    return latex_text(text)[0]


def missing_glyphs(fields, source: str | None = None) -> list[str]:
    """One warning line per field whose text has characters no font has, naming them and their stand-ins.

    ``fields`` holds ``(field, text)`` pairs (``("example.title", "Title: 😀")``).
    """
    lines = []
    where = f"{source}: " if source else ""
    for field, text in fields:
        missing = latex_text(text)[1]
        if missing:
            chars = " or ".join(f"'{ch}' ({_describe_char(ch)}, printed as {_stand_in(ch)[1]})" for ch in missing)
            lines.append(f"{where}field '{field}': no font of the documents has {chars}")
    return lines


def _describe_char(ch: str) -> str:
    name = unicodedata.name(ch, "")
    return f"U+{ord(ch):04X} {name}" if name else f"U+{ord(ch):04X}"


def _glyphs():
    from symderiv.render import glyphs      # loads pylatexenc's tables only when a text needs them
    return glyphs


def escape_texttt(text) -> Tex:
    """Text for a typewriter font (names of steps and files): escaped, with break points after ``_``."""
    return Tex(str(escape_tex(text)).replace(r"\_", r"\_\allowbreak{}"))


# -- LaTeX from notation and models: a whitelist of harmless math commands (symderiv/spec/notation.py) ----
def check_math(latex: str, where: str) -> Tex:
    """``latex`` marked safe, after checking it only uses harmless math commands and is balanced.

    Notation symbols come from a spec and are LaTeX by design (``\\sigma_{\\tanh}``); a symbol
    such as ``\\input{/etc/passwd}`` or ``\\def`` is refused with one line naming where it was.
    """
    text = str(latex)
    problem = math_problem(text)
    if problem:
        raise SymderivError(f"{where}: the LaTeX {text!r} {problem}")
    return Tex(text)
