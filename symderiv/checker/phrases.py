"""What each operation computes, in the reader's notation, for the checker's explanations.

When a root error's printed numbers are what another operation gives (ŷ − y where the step
computes 2(ŷ − y)), the checker says so in formulas a student reads, never by the internal
operation names. Each operation's formula is written once, beside its rules in the operation table
(its ``words``); an operation without one is simply not named in a hint.
"""

from __future__ import annotations

import re

import sympy

# An operation's formula in the reader's notation is its ``words`` in the derivation's operation table
# (symderiv/ops/): ``{0}``, ``{1}``, ... are the step's inputs in order; ``{pairs}`` is A₁ᵀ B₁ + A₂ᵀ B₂ + …
# over its inputs taken two by two; ``{terms}`` is its inputs added up; ``{2/K}`` and ``{1/K}`` are that
# factor for K entries of the first input (left out when it is 1).
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def formula(template: str, inputs: list[tuple[str, str | None]], first_size: int) -> list | None:
    """A phrase as pieces: text, and (label, symbol) for each input it names; None when there is no
    phrase (an empty template) or the phrase names an input the step does not have."""
    if not template:
        return None
    pieces: list = []
    pos, skip = 0, set()          # skip: the brackets of 1·(ŷ − y), written ŷ − y

    def text(start: int, end: int) -> str:
        return "".join(ch for i, ch in enumerate(template[start:end], start) if i not in skip)

    for m in _PLACEHOLDER.finditer(template):
        pieces.append(text(pos, m.start()))
        pos = m.end()
        name = m.group(1)
        if name.isdigit():
            if int(name) >= len(inputs):
                return None
            pieces.append(inputs[int(name)])
        elif name == "terms":
            for i, q in enumerate(inputs):
                pieces += ([" + "] if i else []) + [q]
        elif name == "pairs":
            if len(inputs) % 2:
                return None
            for i in range(0, len(inputs), 2):
                pieces += ([" + "] if i else []) + [inputs[i], "ᵀ ", inputs[i + 1]]
        elif name in ("1/K", "2/K"):
            factor = sympy.Rational(int(name[0]), max(1, first_size))
            pieces.append("" if factor == 1 else str(factor) if factor.q == 1 else f"({factor})")
            if factor == 1 and _closes_at_end(template, pos):
                skip |= {pos, len(template) - 1}
        else:
            raise KeyError(f"unknown placeholder {{{name}}} in the phrase {template!r}")
    pieces.append(text(pos, len(template)))
    return [p for p in pieces if p != ""]


def _closes_at_end(template: str, pos: int) -> bool:
    """The bracket opening at ``pos`` closes at the end of the template (it holds the whole rest)."""
    if not template.startswith("(", pos):
        return False
    depth = 0
    for i in range(pos, len(template)):
        depth += {"(": 1, ")": -1}.get(template[i], 0)
        if depth == 0:
            return i == len(template) - 1
    return False


def factor_text(factor) -> str:
    """How the printed numbers relate to the right ones: "a missing factor 2", "the sign flipped", ..."""
    if factor is None or factor == 1:
        return ""
    words = []
    if factor < 0:
        words.append("the sign flipped")
        factor = -factor
    if factor != 1:
        if factor.p == 1:
            words.append(f"a missing factor {factor.q}")
        elif factor.q == 1:
            words.append(f"an extra factor {factor.p}")
        else:
            words.append(f"{factor} times the right size")
    return " and ".join(words)


def op_hint(derivation, bound, ops: tuple[str, ...], op: str, factor, s) -> str:
    """``the printed numbers are what yhat_4 − y_4 gives instead of 2(yhat_4 − y_4): a missing factor 2``,
    in the style ``s``; "" when an operation has no phrase (no internal name is ever shown)."""
    step = derivation[bound.step]
    inputs = [(name, derivation[name].symbol) for name in step.inputs]
    size = derivation[step.inputs[0]].value.size if step.inputs else 1
    expected = formula(derivation.ops[op].words, inputs, size)
    found = []
    for other in ops:
        pieces = formula(derivation.ops[other].words, inputs, size)
        if pieces is None:
            return ""
        if pieces not in found and pieces != expected:
            found.append(pieces)
    if expected is None or not found:
        return ""
    text = s.t("the printed numbers are what ") + s.f(found[0])
    if len(found) > 1:
        text += s.t(" (or ") + s.f(found[1]) + s.t(")")
    text += s.t(" gives instead of ") + s.f(expected)
    remark = factor_text(factor)
    return text + (s.t(": " + remark) if remark else "")


# -- LaTeX --------------------------------------------------------------------------------------------------
_TEX_CHARS = {"ᵀ": r"^{\top}", "−": "-", "⊙": r"\odot ", "σ": r"\sigma ", "Σ": r"\sum ", "²": "^{2}",
              "⌊": r"\lfloor ", "⌋": r"\rfloor ", "∗": r"\ast ", "·": r"\cdot ", "′": "'"}
_TEX_FUNCTIONS = {"tanh": r"\tanh ", "log": r"\log "}
_WORDS = re.compile(r"[A-Za-z][A-Za-z0-9-]*(?: [A-Za-z][A-Za-z0-9-]*)*")
_ASCII_MATH = set("0123456789()[]+-/=<>., ")


def tex_text(text: str) -> str:
    """A text piece of a phrase as math: operators as commands, names upright, words in \\text."""
    out, pos = [], 0
    for m in _WORDS.finditer(text):
        out.append(_tex_symbols(text[pos:m.start()]))
        word = m.group(0)
        if word in _TEX_FUNCTIONS:
            out.append(_TEX_FUNCTIONS[word])
        elif " " not in word and len(word) > 1:
            out.append(r"\operatorname{" + word + "}")
        elif len(word) == 1:
            out.append(word)
        else:
            out.append(r"\text{ " + word + " }")
        pos = m.end()
    out.append(_tex_symbols(text[pos:]))
    return "".join(out)


def _tex_symbols(text: str) -> str:
    out = []
    for ch in text:
        if ch in _TEX_CHARS:
            out.append(_TEX_CHARS[ch])
        elif ch in _ASCII_MATH:
            out.append(ch)
        else:
            raise ValueError(f"no LaTeX for {ch!r} in a phrase")
    return "".join(out)
