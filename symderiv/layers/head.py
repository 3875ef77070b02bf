"""The output head: output activation (softmax, sigmoid, de-normalisation or none), loss, and ∂L/∂z.

Where the loss matches its output activation (cross-entropy after softmax, binary cross-entropy after
sigmoid) the product of the loss gradient and the activation's Jacobian simplifies to ŷ − y, and
the head writes that one step instead of the two (as the slides do). In a recurrent network the head
works at each output time; ``time`` names the step's time and ``suffix`` its index (z_4, ŷ_4).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from symderiv.layers.base import Layer, d
from symderiv.numbers import Num
from symderiv.ops.losses import LOSSES
from symderiv.steps import Kind

OUTPUT_ROLES = {"softmax": "softmax: scores to probabilities", "sigmoid": "sigmoid",
                "denormalise": "back to the original scale"}
LOCAL_ROLES = {"softmax": "local derivative of the softmax (its Jacobian)",
               "sigmoid": "local derivative of the sigmoid",
               "denormalise": "local derivative of the de-normalisation"}
FUSED_NOTES = {
    "softmax": r"With softmax and cross-entropy the Jacobian product simplifies to $\hat{y} - y$.",
    "sigmoid": r"With sigmoid outputs and binary cross-entropy the product simplifies to $\hat{y} - y$.",
}


@dataclass
class Head(Layer):
    """ŷ = act(z), L = loss(ŷ, y), and ∂L/∂z."""

    id: str
    activation: str                     # "linear" | "softmax" | "sigmoid"
    loss: str                           # a key of LOSSES
    loss_symbol: str = "L"
    prediction_symbol: str = r"\hat{y}"
    denormalise: tuple | None = None    # (y_min, y_max): ŷ = y_min + z (y_max − y_min)
    loss_notes: bool = True             # the loss step says which loss it is
    outputs: dict = field(default_factory=dict)   # time, or the pass's suffix in a feed-forward network -> names
    # how a feed-forward network was run (the float64 reference repeats it)
    examples: int = 1
    descent_steps: int = 1
    reduction: str = "mean"
    given_gradient: bool = False
    outputs_base: object = None

    def constants(self, b):
        if self.denormalise:
            b.given("y_min", r"y_{\min}", Kind.CONSTANT, Num.rational(self.denormalise[0]))
            b.given("y_max", r"y_{\max}", Kind.CONSTANT, Num.rational(self.denormalise[1]))

    def _op(self) -> str | None:
        if self.activation in ("softmax", "sigmoid"):
            return self.activation
        return "denormalise" if self.denormalise else None

    def forward(self, b, z: str, target: str, names: "HeadNames", time: int | None = None) -> str:
        """ŷ (when there is an output activation) and the loss; returns the loss step's name."""
        self.outputs[time if time is not None else names.z] = names
        prediction = z
        op = self._op()
        if op is not None:
            inputs = [z, "y_min", "y_max"] if op == "denormalise" else [z]
            note = "The network outputs min-max normalised values; this maps z back." if op == "denormalise" else ""
            prediction = b.compute(names.yhat, names.yhat_symbol, Kind.FORWARD, op, inputs, time=time, note=note,
                                   topic="output" if time is None else "", owner=self.id, role=OUTPUT_ROLES[op]).name
        loss = LOSSES[self.loss]
        return b.compute(names.loss, names.loss_symbol, Kind.LOSS, loss.op, [prediction, target], time=time,
                         note=loss.note_for(b[prediction].value.size) if self.loss_notes else "", owner=self.id,
                         role=loss.caption).name

    def backward(self, b, names: "HeadNames", time: int | None = None) -> str:
        """∂L/∂z, through the output activation or fused with it; returns its name."""
        L = self.loss_symbol
        loss = LOSSES[self.loss]
        z, zsym = names.z, names.z_symbol
        yhat, ysym = names.yhat, names.yhat_symbol
        chain = (d(L, ysym), d(ysym, zsym))
        fused = loss.fused.get(self.activation)
        if fused:
            note = FUSED_NOTES[self.activation]
            if self.loss == "bce_mean":
                note = note.removesuffix(".") + ", divided by the number of units."
            return b.compute(f"dL/d{z}", d(L, zsym), Kind.BACKWARD, fused, [yhat, names.y], chain=chain, time=time,
                             note=note, owner=self.id, role="loss and output activation together").name
        op = self._op()
        prediction, psym = (yhat, ysym) if op else (z, zsym)
        grad_op, inputs = b.backprop(names.loss, 0, "")
        b.compute(f"dL/d{prediction}", d(L, psym), Kind.BACKWARD, grad_op, inputs, time=time, owner=self.id,
                  role="derivative of the loss")
        if op is None:
            return f"dL/d{z}"
        local = (f"d{yhat}/d{z}", d(ysym, zsym))
        vjp, inputs = b.backprop(yhat, 0, f"dL/d{yhat}", local=local, time=time, owner=self.id,
                                 role=LOCAL_ROLES[op])
        role = {"softmax": "back through the softmax", "sigmoid": "back through the sigmoid",
                "denormalise": "back through the de-normalisation"}[op]
        return b.compute(f"dL/d{z}", d(L, zsym), Kind.BACKWARD, vjp, inputs, chain=chain, time=time, owner=self.id,
                         role=role).name


@dataclass(frozen=True)
class HeadNames:
    """Step names and symbols of one output (z, ŷ, y, L), e.g. z_4, yhat_4, y_4, L_4 in an RNN."""

    z: str
    z_symbol: str
    yhat: str
    yhat_symbol: str
    y: str
    loss: str
    loss_symbol: str
