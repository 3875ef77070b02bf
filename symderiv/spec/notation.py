"""What a notation symbol may be: LaTeX math that runs nothing and that pdflatex can typeset.

A spec's ``[notation]`` symbols are LaTeX by design (``\\sigma_{\\tanh}``, ``\\hat{y}``), so instead of
being escaped they are checked against a whitelist of harmless math commands (:func:`math_problem`),
when the spec is read, so a bad symbol is refused naming its field before anything is derived or
written; the renderer checks every symbol again before printing it (``render/escape.py``).
Characters outside ASCII are spelt as LaTeX math where LaTeX has a spelling (σ is ``\\sigma``,
ŷ is ``\\hat{y}``; :func:`unicode_math`); any other (€, 😀) cannot be typeset in math.

This module imports nothing of the renderer unless a symbol has such a character, so ``derive``
stays free of LaTeX code.
"""

from __future__ import annotations

import re
import unicodedata

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


def math_problem(text: str) -> str | None:
    """Why ``text`` may not be printed as a math symbol ("uses \\input, which is ..."), or None."""
    if "^^" in text:
        return "contains '^^', which is not allowed in documents"
    for bad in ("%", "$", "&", "#"):
        stripped = text.replace("\\" + bad, "")
        if bad in stripped:
            return f"contains an unescaped '{bad}', which is not allowed in a symbol"
    for match in _COMMAND.finditer(text):
        name = match.group(1)
        if name.isalpha():
            if name not in ALLOWED_COMMANDS and name not in _unicode_math_commands():
                return ("uses \\" + name + ", which is not allowed in documents "
                        "(only math symbols, accents, fonts and operators are)")
        elif name not in ALLOWED_SYMBOLS:
            return "uses \\" + name + ", which is not allowed in documents"
        if name == "\\":
            return "contains a line break '\\\\', which is not allowed in a symbol"
    untypeset = [ch for ch in dict.fromkeys(text) if not ch.isascii()]
    if untypeset:
        return f"contains {listed_chars(untypeset)}, which LaTeX cannot typeset in math"
    depth = 0
    plain = _COMMAND.sub(lambda m: "" if not m.group(1).isalpha() else " ", text)
    for ch in plain:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            break
    if depth != 0:
        return "has unbalanced braces"
    if re.search(r"\\begin\{(?!bmatrix|pmatrix|matrix|vmatrix)", text):
        return "opens an environment, which is not allowed in a symbol"
    return None


def _unicode_math_commands() -> frozenset:
    """Math commands that spell a character of ours (``\\hbar`` for ℏ): symbols, harmless like the list above."""
    return _glyphs().math_commands()


def _glyphs():
    from symderiv.render import glyphs      # pylatexenc's tables, loaded only for characters outside ASCII
    return glyphs


#: Combining accents as math accents, for notation typed as Unicode (y + U+0302, or ŷ, -> \hat{y}).
_MATH_ACCENTS = {"\u0300": "grave", "\u0301": "acute", "\u0302": "hat", "\u0303": "tilde", "\u0304": "bar",
                 "\u0305": "bar", "\u0306": "breve", "\u0307": "dot", "\u0308": "ddot", "\u030C": "check",
                 "\u20D7": "vec"}


def unicode_math(text: str) -> tuple[str, tuple[str, ...]]:
    """A notation symbol with its non-ASCII characters spelt as LaTeX math, and those LaTeX has no math for.

    ``σ_1`` -> ``{\\sigma}_1``, ``ŷ`` -> ``\\hat{y}``, ``ℝ`` -> ``{\\mathbb{R}}``; ``€`` or ``😀`` cannot be
    typeset in math and are returned (once each, in order). ASCII is left as it is.
    """
    out: list[str] = []
    untypeset: list[str] = []
    for ch in unicodedata.normalize("NFD", str(text)):
        if ch.isascii():
            out.append(ch)
        elif ch in _MATH_ACCENTS and out and (re.fullmatch(r"[A-Za-z0-9]", out[-1]) or out[-1].startswith("{\\")):
            out[-1] = f"\\{_MATH_ACCENTS[ch]}{{{out[-1]}}}"
        elif (latex := _glyphs().math_latex(ch)) is not None:
            out.append("{" + latex + "}")
        elif ch not in untypeset:
            untypeset.append(ch)
    return "".join(out), tuple(untypeset)


def listed_chars(chars) -> str:
    """'ẞ' (U+1E9E), '€' (U+20AC) and '😀' (U+1F600)."""
    items = [f"'{ch}' (U+{ord(ch):04X})" for ch in chars]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
