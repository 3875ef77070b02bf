"""Teaching lints: what a worked example teaches by accident (saturation, dead units, ties, ...).

Each lint has a name, a message and the steps it concerns; a spec silences lints by name
(``[lints] silence = ["saturation"]``). The checks read the derivation's steps, what their
operations are (a saturating activation's derivative, ReLU's) and the layers' records (a pooling's
ties, the head's output activation and loss), never the spec's model family, so every network is
linted by the same code. The registry at the bottom lists the checks.
"""

from __future__ import annotations

import difflib
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
    name: str
    message: str
    steps: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"name": self.name, "message": self.message, "steps": list(self.steps)}


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
def _num(num, digits: int = 4) -> str:
    """``= 9`` or ``≈ 1.502e-8``: the value with its relation."""
    s = show(num, digits)
    return f"{s.relation} {s.decimal}"


def _big(num) -> str:
    """``≈ 2.713e6`` for a large value (4 significant digits), else as :func:`_num` writes it."""
    x = num.approx
    if abs(x) < 1e4:
        return _num(num)
    exponent = int(mpmath.floor(mpmath.log10(abs(x))))
    mantissa = mpmath.nstr(x / mpmath.mpf(10) ** exponent, 4, strip_zeros=False)
    return f"≈ {mantissa}e{exponent}"


def _plain(num, digits: int = 4) -> str:
    """The decimal alone, for lists of values (15, 16, 15.5)."""
    return show(num, digits).decimal


def _element(step, index) -> str:
    """``h_1`` for a one-element step, ``h[0,2]`` for an element (axes of length 1 left out)."""
    if step.value.size == 1:
        return step.name
    kept = [str(i) for i, n in zip(index, step.shape) if n != 1]
    return f"{step.name}[{','.join(kept)}]"


def _largest(step):
    return max((abs(n.approx) for n in step.value.flat), default=0)


def _descendants(derivation, names: set[str]) -> set[str]:
    """Steps computed, directly or not, from any of ``names``."""
    reached = set(names)
    for step in derivation.steps:
        if any(i in reached for i in step.inputs):
            reached.add(step.name)
    return reached - set(names)


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


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
        gate = _gate_of(derivation, pre)
        for index in np.ndindex(step.shape):
            factor = step.value[index]
            if float(factor.approx) < SATURATED_SHARE * top:
                if gate is not None and gate.role == "forget gate" and float(gate.value[index].approx) > 0.5:
                    continue            # a forget gate near 1 keeps the memory: that is its job, not a fault
                name = _element(pre, index)
                what = f" (the {gate.role} {_element(gate, index)})" if gate is not None else ""
                found.append(f"{act}'({name}) {_num(factor)} where {name} {_num(pre.value[index], 3)}{what}")
                if step.name not in steps:
                    steps.append(step.name)
    if not found:
        return []
    affected = [s for s in derivation.of_kind(Kind.GRADIENT) if s.name in _descendants(derivation, set(steps))]
    tiny = [f"{s.name} {_num(_max_num(s))}" for s in affected if _largest(s) < 1e-3]
    tail = f"; the gradients that reach the parameters only through them are tiny ({_join(tiny)})" if tiny else ""
    return [Lint("saturation",
                 f"Saturated activation: {_join(found)}. Every gradient through these units is multiplied by "
                 f"that factor and practically vanishes{tail}.", tuple(steps))]


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
        cells = [f"{_element(pre, i)} {_num(pre.value[i])}" for i in dead]
        shown = _join(cells[:6]) + (f" and {len(cells) - 6} more" if len(cells) > 6 else "")
        whole = len(dead) == step.value.size
        at_zero = any(pre.value[i].is_zero for i in dead)
        message = (f"Inactive ReLU units: {len(dead)} of the {step.value.size} entries of {pre.name} have a "
                   f"pre-activation ≤ 0 ({shown}), so ReLU' = 0 there and no gradient flows back through them"
                   + (": nothing below this layer learns from this example" if whole else "")
                   + ("; at exactly 0 the derivative is taken as 0, as frameworks do" if at_zero else "") + ".")
        out.append(Lint("dead-relu", message, (step.name,)))
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
            chosen = f", and {_element(source, argmax[pos])} gets its gradient" if pos < len(argmax) else ""
            parts.append(f"the window of {_element(step, tie)} has its maximum {_plain(top)} in {count} cells "
                         f"of {source.name}{chosen}")
        backward = [name for name in (f"dL/d{pool.input}",) if name in derivation]
        out.append(Lint("pooling-tie",
                        f"Tie in max pooling: {_join(parts)}. The first maximum is used by convention; another "
                        "framework may route the gradient to another of the tied cells (max is not "
                        "differentiable at a tie).", (step.name, *backward)))
    return out


def exploding(derivation) -> list[Lint]:
    """Values so large that they swamp the example (and would make training unstable)."""
    kinds = (Kind.FORWARD, Kind.LOSS, Kind.LOCAL, Kind.BACKWARD, Kind.GRADIENT)
    big = [s for s in derivation.of_kind(*kinds) if _largest(s) >= EXPLODING]
    if not big:
        return []
    shown = [f"{s.name} {_big(_max_num(s))}" for s in big[:5]]
    listed = ", ".join(shown) + f" and {len(big) - 5} more" if len(big) > 5 else _join(shown)
    return [Lint("exploding",
                 f"Exploding values: {listed} reach {EXPLODING:g} or more in absolute value. "
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
        raw = ", ".join(_plain(n) for n in values[:8]) + (", ..." if len(values) > 8 else "")
        span = hi - lo
        scaled = ", ".join(_plain((n - lo) / span) for n in values[:8]) + (", ..." if len(values) > 8 else "")
        first = next((t.name for t in derivation.of_kind(Kind.FORWARD) if set(t.inputs) & {s.name for s in inputs}),
                     None)
        message = (f"Inputs and output on different scales: the output is min-max normalised ({step.name} = "
                   f"{_plain(lo)} + {step.inputs[0]}·({_plain(hi)} − {_plain(lo)}), so {step.inputs[0]} is on a 0–1 "
                   f"scale), but the inputs are raw values ({raw}). Normalised the same way they would be "
                   f"{scaled}; raw inputs this large drive the hidden units into saturation.")
        out.append(Lint("scale-mismatch", message, tuple(n for n in (first, step.name) if n)))
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
            out.append(Lint("loss-mismatch", f"Loss and output activation do not match: "
                            f"{loss.words} after {head.activation}. {reason}", losses))
    return out


# (output activation op, loss family) -> why the pair teaches the wrong habit
MISMATCHES = {
    ("softmax", "squared"): "The gradient then carries the softmax Jacobian and shrinks when a wrong class is "
                            "confident; cross-entropy cancels it and gives ŷ − y.",
    ("softmax", "bce"): "Binary cross-entropy treats each softmax output as an independent yes/no probability, "
                        "but the outputs share one distribution; categorical cross-entropy is the matching loss.",
    ("sigmoid", "cross_entropy"): "Categorical cross-entropy only rewards the true unit and never pushes the "
                                  "other independent sigmoids down; binary cross-entropy is the matching loss.",
    ("sigmoid", "squared"): "The gradient then carries σ'(z), which vanishes when a unit is confidently wrong; "
                            "binary cross-entropy cancels it and gives ŷ − y.",
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
