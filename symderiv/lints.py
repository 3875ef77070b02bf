"""Teaching lints: what a worked example teaches by accident (saturation, dead units, ties, ...).

Each lint has a name, a message and the steps it concerns; a spec silences lints by name
(``[lints] silence = ["saturation"]``). The checks read the derivation's steps, what their
operations are (a saturating activation's derivative, ReLU's) and the layers' records (a pooling's
ties, the head's output activation and loss), never the spec's model family, so every network is
linted by the same code. The registry at the bottom lists the checks.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

import mpmath
import numpy as np

from symderiv.display import show
from symderiv.errors import SpecError
from symderiv.layers.feedforward import Pool
from symderiv.layers.head import Head
from symderiv.ops.losses import LOSSES
from symderiv.steps import Kind

#: A local derivative below this share of its largest possible value counts as saturated.
SATURATED_SHARE = 0.01
#: A value this large (in absolute value) is reported as exploding.
EXPLODING = 1e3
#: Inputs beyond this magnitude are not on the [0, 1] scale of a min-max normalised output.
NORMALISED_LIMIT = 1.5


@dataclass(frozen=True)
class Lint:
    """A teaching note: ``message`` in plain text (the terminal, JSON, the claims checker: quantity names,
    0-based indices as in claims files), ``latex`` the same words for the documents (text with ``$...$``
    math: the slides' symbols and 1-based indices, h_{13} for h[0,2])."""

    name: str
    message: str
    steps: tuple[str, ...] = ()
    latex: str = ""

    def to_dict(self) -> dict:
        return {"name": self.name, "message": self.message, "steps": list(self.steps)}


@dataclass(frozen=True)
class Say:
    """Words in two forms at once: ``plain`` and ``tex`` (text with ``$...$`` math); ``+`` joins them,
    and a ``str`` joined to a Say reads the same in both."""

    plain: str
    tex: str

    def __add__(self, other) -> "Say":
        other = _say(other)
        return Say(self.plain + other.plain, self.tex + other.tex)

    def __radd__(self, other) -> "Say":
        return _say(other) + self


def _say(text) -> Say:
    return text if isinstance(text, Say) else Say(text, text)


def _lint(name: str, say: Say, steps) -> Lint:
    return Lint(name, say.plain, tuple(steps), say.tex)


def lint_derivation(derivation) -> list[Lint]:
    """All lints of the derivation that its spec does not silence."""
    silenced = set(getattr(derivation.model, "silenced_lints", ()))
    for name in sorted(silenced):
        if name not in LINTS:
            close = difflib.get_close_matches(name, list(LINTS), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise SpecError("lints.silence", f"names of teaching lints ({', '.join(LINTS)}){hint}", f"'{name}'")
    found = []
    for name, check in LINTS.items():
        if name in silenced:
            continue
        found.extend(check(derivation))
    return found


# -- helpers ------------------------------------------------------------------------------------------
def _value(num, digits: int = 4) -> tuple[str, str]:
    r"""(plain, math) of a value with its relation: ``≈ 1.502e-8`` and ``\approx 1.502 \cdot 10^{-8}``."""
    s = show(num, digits)
    return f"{s.relation} {s.decimal}", f"{'=' if s.relation == '=' else chr(92) + 'approx'} {s.decimal_latex}"


def _num(num, digits: int = 4) -> Say:
    """``= 9`` or ``≈ 1.502e-8``: the value with its relation."""
    plain, math = _value(num, digits)
    return Say(plain, f"${math}$")


def _big(num) -> Say:
    """``≈ 2.713e6`` for a large value (4 significant digits), else as :func:`_num` writes it."""
    x = num.approx
    if abs(x) < 1e4:
        return _num(num)
    exponent = int(mpmath.floor(mpmath.log10(abs(x))))
    mantissa = mpmath.nstr(x / mpmath.mpf(10) ** exponent, 4, strip_zeros=False)
    return Say(f"≈ {mantissa}e{exponent}", rf"$\approx {mantissa} \cdot 10^{{{exponent}}}$")


def _plain(num, digits: int = 4) -> Say:
    """The decimal alone, for lists of values (15, 16, 15.5)."""
    s = show(num, digits)
    return Say(s.decimal, f"${s.decimal_latex}$")


def _entry_math(step, index) -> str:
    """An element as the slides write it: the step's symbol with 1-based indices (axes of length 1 left
    out), ``h_{13}``, ``h_{2,13}`` (filter 2), ``h_{1,2}`` (unit 2 of h_1)."""
    if step.value.size == 1:
        return step.symbol
    kept = [i + 1 for i, n in zip(index, step.shape) if n != 1]
    if len(kept) >= 2 and all(k < 10 for k in kept[-2:]):
        label = ",".join([str(k) for k in kept[:-2]] + [f"{kept[-2]}{kept[-1]}"])
    else:
        label = ",".join(str(k) for k in kept)
    symbol = step.symbol
    match = re.fullmatch(r"(.*)_\{([^{}]*)\}", symbol)
    if match and "^" not in match.group(1):
        return rf"{match.group(1)}_{{{match.group(2)},{label}}}"
    if re.fullmatch(r"(\\[A-Za-z]+|[A-Za-z])(\{[^{}]*\})?('*|\^\{[^{}]*\})", symbol):
        return rf"{symbol}_{{{label}}}"
    return rf"\left[{symbol}\right]_{{{label}}}"


def _element(step, index) -> Say:
    """``h_1`` for a one-element step, ``h[0,2]`` for an element (axes of length 1 left out); on the
    slides ``$h_{13}$``."""
    if step.value.size == 1:
        plain = step.name
    else:
        kept = [str(i) for i, n in zip(index, step.shape) if n != 1]
        plain = f"{step.name}[{','.join(kept)}]"
    return Say(plain, f"${_entry_math(step, index)}$")


def _name(step) -> Say:
    """A quantity: its name, on the slides its symbol (fractions inline)."""
    return Say(step.name, f"${_inline(step.symbol)}$")


def _inline(symbol: str) -> str:
    r"""``\frac{\partial L}{\partial W}`` as ``\partial L/\partial W`` (for a sentence)."""
    group = r"((?:[^{}]|\{[^{}]*\})*)"          # braces one level deep: \partial W_{xh}
    return re.sub(r"\\frac\{" + group + r"\}\{" + group + r"\}", r"\1/\2", symbol)


def _largest(step):
    return max((abs(n.approx) for n in step.value.flat), default=0)


def _descendants(derivation, names: set[str]) -> set[str]:
    """Steps computed, directly or not, from any of ``names``."""
    reached = set(names)
    for step in derivation.steps:
        if any(i in reached for i in step.inputs):
            reached.add(step.name)
    return reached - set(names)


def _join(items: list) -> Say:
    items = [_say(i) for i in items]
    if len(items) == 1:
        return items[0]
    out = items[0]
    for item in items[1:-1]:
        out = out + ", " + item
    return out + " and " + items[-1]


def _list(items: list) -> Say:
    """Items joined by commas only."""
    out = _say(items[0])
    for item in items[1:]:
        out = out + ", " + item
    return out


#: How the saturating activations are written on the slides.
ACTIVATION_MATH = {"tanh": r"\tanh", "sigmoid": r"\sigma"}


# -- the checks ---------------------------------------------------------------------------------------
def saturation(derivation) -> list[Lint]:
    """tanh or sigmoid units so deep in their flat tails that the gradient through them vanishes."""
    position = {s.name: i for i, s in enumerate(derivation.steps)}
    found, steps = [], []
    for step in sorted(derivation.of_kind(Kind.LOCAL), key=lambda s: position[s.inputs[0]] if s.inputs else 0):
        op = derivation.ops[step.op]
        top = op.peak
        if top is None:
            continue
        pre = derivation[step.inputs[0]]
        act = op.source
        act_math = ACTIVATION_MATH.get(act, rf"\operatorname{{{act}}}")
        gate = _gate_of(derivation, pre)
        for index in np.ndindex(step.shape):
            factor = step.value[index]
            if float(factor.approx) < SATURATED_SHARE * top:
                if gate is not None and gate.role == "forget gate" and float(gate.value[index].approx) > 0.5:
                    continue            # a forget gate near 1 keeps the memory: that is its job, not a fault
                name = _element(pre, index)
                entry = _entry_math(pre, index)
                what = (Say(f" (the {gate.role} ", f" (the {gate.role} ") + _element(gate, index) + ")"
                        if gate is not None else "")
                factor_plain, factor_math = _value(factor)
                pre_plain, pre_math = _value(pre.value[index], 3)
                found.append(Say(f"{act}'({name.plain}) {factor_plain} where {name.plain} {pre_plain}",
                                 f"${act_math}'({entry}) {factor_math}$ where ${entry} {pre_math}$") + what)
                if step.name not in steps:
                    steps.append(step.name)
    if not found:
        return []
    affected = [s for s in derivation.of_kind(Kind.GRADIENT) if s.name in _descendants(derivation, set(steps))]
    tiny = [_name(s) + " " + _num(_max_num(s)) for s in affected if _largest(s) < 1e-3]
    tail = ("; the gradients that reach the parameters only through them are tiny (" + _join(tiny) + ")"
            if tiny else "")
    return [_lint("saturation", "Saturated activation: " + _join(found) + ". Every gradient through these units is "
                  "multiplied by that factor and practically vanishes" + tail + ".", steps)]


def _gate_of(derivation, pre):
    """The gate of a gated cell (LSTM, GRU) that this pre-activation feeds, or None."""
    for step in derivation.of_kind(Kind.FORWARD):
        if step.inputs == (pre.name,) and step.role.endswith("gate"):
            return step
    return None


def _max_num(step):
    return max(step.value.flat, key=lambda n: abs(n.approx))


def dead_relu(derivation) -> list[Lint]:
    """ReLU units whose pre-activation is ≤ 0: they pass no gradient for this example."""
    out = []
    for step in derivation.of_kind(Kind.LOCAL):
        if derivation.ops[step.op].source != "relu" or derivation.ops[step.op].family != "elementwise-derivative":
            continue
        pre = derivation[step.inputs[0]]
        dead = [index for index in np.ndindex(step.shape) if step.value[index].is_zero]
        if not dead:
            continue
        cells = [_element(pre, i) + " " + _num(pre.value[i]) for i in dead]
        shown = _join(cells[:6]) + (f" and {len(cells) - 6} more" if len(cells) > 6 else "")
        whole = len(dead) == step.value.size
        at_zero = any(pre.value[i].is_zero for i in dead)
        message = (f"Inactive ReLU units: {len(dead)} of the {step.value.size} entries of " + _name(pre)
                   + Say(" have a pre-activation ≤ 0 (", " have a pre-activation $\\le 0$ (") + shown
                   + Say("), so ReLU' = 0 there", "), so $\\operatorname{ReLU}' = 0$ there")
                   + " and no gradient flows back through them"
                   + (": nothing below this layer learns from this example" if whole else "")
                   + ("; at exactly 0 the derivative is taken as 0, as frameworks do" if at_zero else "") + ".")
        out.append(_lint("dead-relu", message, (step.name,)))
    return out


def pooling_tie(derivation) -> list[Lint]:
    """Max-pooling windows whose maximum is shared by several cells: the gradient's route is a convention."""
    out = []
    for pool in derivation.layers_of(Pool):
        if pool.mode != "max" or not pool.ties:
            continue
        step, source = derivation[pool.output], derivation[pool.input]
        size, stride, argmax = pool.size, pool.stride, pool.chosen
        parts = []
        for tie in pool.ties:
            c, i, j = tie
            window = source.value[c, i * stride:i * stride + size[0], j * stride:j * stride + size[1]]
            top = step.value[tie]
            count = sum(1 for n in window.flat if n.equals(top))
            pos = int(np.ravel_multi_index(tie, step.shape))
            chosen = (", and " + _element(source, argmax[pos]) + " gets its gradient") if pos < len(argmax) else ""
            parts.append("the window of " + _element(step, tie) + " has its maximum " + _plain(top)
                         + f" in {count} cells of " + _name(source) + chosen)
        backward = [name for name in (f"dL/d{pool.input}",) if name in derivation]
        out.append(_lint("pooling-tie", "Tie in max pooling: " + _join(parts) + ". The first maximum is used by "
                         "convention; another framework may route the gradient to another of the tied cells (max "
                         "is not differentiable at a tie).", (step.name, *backward)))
    return out


def exploding(derivation) -> list[Lint]:
    """Values so large that they swamp the example (and would make training unstable)."""
    kinds = (Kind.FORWARD, Kind.LOSS, Kind.LOCAL, Kind.BACKWARD, Kind.GRADIENT)
    big = [s for s in derivation.of_kind(*kinds) if _largest(s) >= EXPLODING]
    if not big:
        return []
    shown = [_name(s) + " " + _big(_max_num(s)) for s in big[:5]]
    listed = _list(shown) + f" and {len(big) - 5} more" if len(big) > 5 else _join(shown)
    return [_lint("exploding", "Exploding values: " + listed + f" reach {EXPLODING:g} or more in absolute value. "
                  "A gradient this large makes one update step overshoot; smaller weights or inputs keep the "
                  "example readable.", tuple(s.name for s in big))]


def scale_mismatch(derivation) -> list[Lint]:
    """Raw inputs fed into a network whose output is min-max normalised."""
    out = []
    # one note per network: the first output stands for every time step's
    predictions = [next(iter(head.outputs.values())).yhat for head in derivation.layers_of(Head)
                   if head.denormalise and head.outputs]
    for step in (derivation[name] for name in predictions):
        lo, hi = (derivation[n].value[()] for n in step.inputs[1:3])
        inputs = [s for s in derivation.of_kind(Kind.INPUT)
                  if any(s.name in t.inputs for t in derivation.of_kind(Kind.FORWARD))]
        values = [n for s in inputs for n in s.value.flat]
        if not values or max(abs(float(n.approx)) for n in values) <= NORMALISED_LIMIT:
            continue
        more = ", ..." if len(values) > 8 else ""
        raw = _list([_plain(n) for n in values[:8]]) + more
        span = hi - lo
        scaled = _list([_plain((n - lo) / span) for n in values[:8]]) + more
        first = next((t.name for t in derivation.of_kind(Kind.FORWARD) if set(t.inputs) & {s.name for s in inputs}),
                     None)
        z = derivation[step.inputs[0]]
        lo_s, hi_s = show(lo), show(hi)
        formula = Say(f"{step.name} = {lo_s.decimal} + {z.name}·({hi_s.decimal} − {lo_s.decimal})",
                      f"${step.symbol} = {lo_s.decimal_latex} + {z.symbol} \\cdot ({hi_s.decimal_latex} - "
                      f"{lo_s.decimal_latex})$")
        message = ("Inputs and output on different scales: the output is min-max normalised (" + formula
                   + ", so " + _name(z) + Say(" is on a 0–1 scale)", " is on a scale from 0 to 1)")
                   + ", but the inputs are raw values (" + raw + "). Normalised the same way they would be "
                   + scaled + "; raw inputs this large drive the hidden units into saturation.")
        out.append(_lint("scale-mismatch", message, tuple(n for n in (first, step.name) if n)))
    return out


def loss_mismatch(derivation) -> list[Lint]:
    """A loss that does not fit the output activation (MSE after softmax, BCE after softmax, ...)."""
    out = []
    for head in derivation.layers_of(Head):
        loss = LOSSES[head.loss]
        reason = MISMATCHES.get((head.activation, loss.family))
        if not reason:
            continue
        losses = tuple(names.loss for names in head.outputs.values())
        if losses:
            out.append(_lint("loss-mismatch", f"Loss and output activation do not match: {loss.words} after "
                             f"{head.activation}. " + reason, losses))
    return out


# (output activation op, loss family) -> why the pair teaches the wrong habit
MISMATCHES = {
    ("softmax", "squared"): Say("The gradient then carries the softmax Jacobian and shrinks when a wrong class is "
                                "confident; cross-entropy cancels it and gives ŷ − y.",
                                "The gradient then carries the softmax Jacobian and shrinks when a wrong class is "
                                r"confident; cross-entropy cancels it and gives $\hat{y} - y$."),
    ("softmax", "bce"): _say("Binary cross-entropy treats each softmax output as an independent yes/no probability, "
                             "but the outputs share one distribution; categorical cross-entropy is the matching loss."),
    ("sigmoid", "cross_entropy"): _say("Categorical cross-entropy only rewards the true unit and never pushes the "
                                       "other independent sigmoids down; binary cross-entropy is the matching loss."),
    ("sigmoid", "squared"): Say("The gradient then carries σ'(z), which vanishes when a unit is confidently wrong; "
                                "binary cross-entropy cancels it and gives ŷ − y.",
                                r"The gradient then carries $\sigma'(z)$, which vanishes when a unit is confidently "
                                r"wrong; binary cross-entropy cancels it and gives $\hat{y} - y$."),
}


# name -> function(derivation) -> list[Lint]
LINTS: dict = {
    "saturation": saturation,
    "dead-relu": dead_relu,
    "pooling-tie": pooling_tie,
    "exploding": exploding,
    "scale-mismatch": scale_mismatch,
    "loss-mismatch": loss_mismatch,
}
