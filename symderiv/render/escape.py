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
#: Typographic characters pdflatex's T1/utf8 set-up prints; everything else non-ASCII is dropped
#: to a '?' rather than risking an "unicode character not set up" error.
_UNICODE_OK = set("äöüÄÖÜßéèêëàâçîïôûùÿñáíóúÉÈÀÇŁłŚśŻżŹźĆćŃńĘęĄąÓó–—‘’“”…·×")
_UNICODE_MAP = {"−": "-", "≈": r"$\approx$", "→": r"$\rightarrow$", "←": r"$\leftarrow$", "≤": r"$\leq$",
                "≥": r"$\geq$", "∂": r"$\partial$", "⊙": r"$\odot$", "∑": r"$\sum$", "√": r"$\surd$"}


def escape_tex(text) -> Tex:
    """Text that prints literally in LaTeX text mode.

    >>> escape_tex(r"50% of \\input{x}")
    '50\\\\% of \\\\textbackslash{}input\\\\{x\\\\}'
    """
    out = []
    for ch in str(text):
        if ch in _TEXT_ESCAPES:
            out.append(_TEXT_ESCAPES[ch])
        elif ch.isascii():
            out.append(ch if ch.isprintable() else " ")
        elif ch in _UNICODE_OK:
            out.append(ch)
        elif ch in _UNICODE_MAP:
            out.append(_UNICODE_MAP[ch])
        elif _greek(ch):
            out.append(_greek(ch))
        else:
            base = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
            out.append("".join(_TEXT_ESCAPES.get(c, c) for c in base) if base.isprintable() and base else "?")
    return Tex("".join(out))


def _greek(ch: str) -> str | None:
    """A Greek letter as math (σ -> $\\sigma$), so Greek in a title prints instead of failing."""
    name = unicodedata.name(ch, "")
    if not name.startswith("GREEK ") or " LETTER " not in name:
        return None
    word = name.rsplit(" ", 1)[-1].lower().replace("lamda", "lambda")
    if "CAPITAL" in name:
        word = word.capitalize()
    return rf"$\{word}$" if word in ALLOWED_COMMANDS else None


def escape_texttt(text) -> Tex:
    """Text for a typewriter font (names of steps and files): escaped, with break points after ``_``."""
    return Tex(str(escape_tex(text)).replace(r"\_", r"\_\allowbreak{}"))


# -- LaTeX from notation and models: a whitelist of harmless math commands ----------------------------
_GREEK = ("alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu nu xi pi "
          "varpi rho varrho sigma varsigma tau upsilon phi varphi chi psi omega Gamma Delta Theta Lambda Xi Pi "
          "Sigma Upsilon Phi Psi Omega")
_MATH = ("hat widehat tilde widetilde bar overline underline vec dot ddot check breve acute grave mathring "
         "mathrm mathbf mathit mathsf mathtt mathcal mathbb mathfrak boldsymbol bm operatorname text textrm "
         "textit textbf textsf texttt mbox "
         "frac dfrac tfrac partial nabla sum prod int log ln exp sin cos tan tanh sinh cosh sech max min sup "
         "inf arg argmax argmin lim det tr sgn "
         "left right big Big bigg Bigg bigl bigr Bigl Bigr middle "
         "cdot times odot oslash otimes oplus circ ast star bullet pm mp div setminus "
         "top intercal prime dagger ell infty emptyset "
         "leq geq le ge neq approx equiv sim simeq propto in notin subset subseteq to mapsto rightarrow "
         "leftarrow Rightarrow Leftarrow "
         "lbrack rbrack langle rangle lvert rvert lVert rVert vert Vert lfloor rfloor lceil rceil "
         "ldots cdots vdots ddots dots quad qquad "
         "sqrt mathstrut phantom vphantom hphantom smash "
         "begin end bmatrix pmatrix matrix vmatrix "
         "displaystyle textstyle scriptstyle limits nolimits")
ALLOWED_COMMANDS = frozenset((_GREEK + " " + _MATH).split())
#: control symbols (backslash + one non-letter) that only space or print a character
ALLOWED_SYMBOLS = frozenset(r", ; ! : { } | _ \ # % & $ . ( ) [ ]".split() + [" "])
_COMMAND = re.compile(r"\\([A-Za-z]+|.)", re.S)


def check_math(latex: str, where: str) -> Tex:
    """``latex`` marked safe, after checking it only uses harmless math commands and is balanced.

    Notation symbols come from a spec and are LaTeX by design (``\\sigma_{\\tanh}``); a symbol
    such as ``\\input{/etc/passwd}`` or ``\\def`` is refused with one line naming where it was.
    """
    text = str(latex)
    if "^^" in text:
        raise SymderivError(f"{where}: the LaTeX {text!r} contains '^^', which is not allowed in documents")
    for bad in ("%", "$", "&", "#"):
        stripped = text.replace("\\" + bad, "")
        if bad in stripped:
            raise SymderivError(f"{where}: the LaTeX {text!r} contains an unescaped '{bad}', "
                                "which is not allowed in a symbol")
    for match in _COMMAND.finditer(text):
        name = match.group(1)
        if name.isalpha():
            if name not in ALLOWED_COMMANDS:
                raise SymderivError(f"{where}: the LaTeX {text!r} uses \\{name}, which is not allowed in documents "
                                    "(only math symbols, accents, fonts and operators are)")
        elif name not in ALLOWED_SYMBOLS:
            raise SymderivError(f"{where}: the LaTeX {text!r} uses \\{name}, which is not allowed in documents")
        if name == "\\":
            raise SymderivError(f"{where}: the LaTeX {text!r} contains a line break '\\\\', "
                                "which is not allowed in a symbol")
    depth = 0
    plain = _COMMAND.sub(lambda m: "" if not m.group(1).isalpha() else " ", text)
    for ch in plain:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            break
    if depth != 0:
        raise SymderivError(f"{where}: the LaTeX {text!r} has unbalanced braces")
    if re.search(r"\\begin\{(?!bmatrix|pmatrix|matrix|vmatrix)", text):
        raise SymderivError(f"{where}: the LaTeX {text!r} opens an environment, which is not allowed in a symbol")
    return Tex(text)
