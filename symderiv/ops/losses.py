"""Losses in one registry: each loss's forward operation, its gradient with respect to the prediction, the
fused ∂L/∂z it simplifies to after its matching output activation, and the words the documents use.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import sympy

from symderiv import tensors
from symderiv.numbers import ONE, ZERO, Num
from symderiv.ops.core import Op, Vjp
from symderiv.ops.linear import num_log


def _sym(name):
    return lambda *args: sympy.Function(name)(*args)


def _cross_entropy(yhat: np.ndarray, y: np.ndarray) -> np.ndarray:
    total = ZERO
    for p, t in zip(yhat.flat, y.flat):
        if not t.is_zero:
            total = total - t * num_log(p)
    return tensors.scalar(total)


def _bce(yhat: np.ndarray, y: np.ndarray, mean: bool) -> np.ndarray:
    total = ZERO
    for p, t in zip(yhat.flat, y.flat):
        if not t.is_zero:
            total = total - t * num_log(p)
        if not (ONE - t).is_zero:
            total = total - (ONE - t) * num_log(ONE - p)
    if mean:
        total = total / Num.rational(yhat.size)
    return tensors.scalar(total)


def _squared_error(yhat: np.ndarray, y: np.ndarray, mean: bool) -> np.ndarray:
    total = ZERO
    for p, t in zip(yhat.flat, y.flat):
        d = p - t
        total = total + d * d
    if mean:
        total = total / Num.rational(yhat.size)
    return tensors.scalar(total)


def _half_squared_error(yhat: np.ndarray, y: np.ndarray) -> np.ndarray:
    """½ Σ (ŷ − y)²: the textbooks' loss whose gradient is ŷ − y itself."""
    return tensors.scalar(tensors.as_scalar(_squared_error(yhat, y, False)) / Num.rational(2))


def _squared_error_grad(yhat: np.ndarray, y: np.ndarray, mean: bool) -> np.ndarray:
    scale = Num.rational(2) / Num.rational(yhat.size) if mean else Num.rational(2)
    return tensors.elementwise(lambda p, t: scale * (p - t), yhat, y)


def _bce_grad_wrt_yhat(yhat: np.ndarray, y: np.ndarray, mean: bool) -> np.ndarray:
    n = Num.rational(yhat.size) if mean else ONE
    return tensors.elementwise(lambda p, t: (p - t) / (p * (ONE - p) * n), yhat, y)


def _ce_grad_wrt_yhat(yhat: np.ndarray, y: np.ndarray) -> np.ndarray:
    return tensors.elementwise(lambda p, t: ZERO if t.is_zero else -t / p, yhat, y)


def _fused_grad(yhat: np.ndarray, y: np.ndarray, scale: Num = ONE) -> np.ndarray:
    return tensors.elementwise(lambda p, t: (p - t) * scale, yhat, y)


@dataclass(frozen=True)
class Loss:
    """One loss: operations, the fused gradient after its matching output activation, and its words."""

    name: str                  # as a spec writes it
    op: str                    # L from (prediction, target)
    grad_op: str               # ∂L/∂prediction from (prediction, target)
    family: str                # squared | cross_entropy | bce (which output activation it matches)
    title: str                 # for the set-up slide: "mean squared error"
    words: str                 # in a sentence: "mean squared error"
    note: str                  # below the loss step
    caption: str               # above the loss step
    fused: dict = field(default_factory=dict)   # output activation -> op giving ∂L/∂z directly
    note_one: str = ""         # the note when the prediction is one unit ("over the output units" is not true)

    def note_for(self, units: int) -> str:
        """The note below the loss step of a prediction of ``units`` entries."""
        return self.note_one if units == 1 and self.note_one else self.note


LOSSES: dict[str, Loss] = {
    "mse": Loss("mse", "mse", "mse_grad", "squared", "mean squared error", "mean squared error",
                "Mean squared error over the output units.", "loss: mean squared error",
                note_one="With one output unit, the mean squared error is its squared error."),
    "sse": Loss("sse", "sse", "sse_grad", "squared", "sum of squared errors", "squared error",
                "Sum of squared errors over the output units.", "loss: sum of squared errors",
                note_one="With one output unit, the sum of squared errors is its squared error."),
    "half_sse": Loss("half_sse", "half_sse", "half_sse_grad", "squared", "half the sum of squared errors",
                     "half the squared error", r"Half the sum of squared errors, so that its gradient is $\hat{y} - y$.",
                     "loss: half the sum of squared errors"),
    "cross_entropy": Loss("cross_entropy", "cross_entropy", "cross_entropy_grad", "cross_entropy", "cross-entropy",
                          "categorical cross-entropy",
                          "Categorical cross-entropy: minus the log of the probability given to the target class.",
                          "loss: cross-entropy", {"softmax": "fused_output_grad"}),
    "bce": Loss("bce", "bce_sum", "bce_sum_grad", "bce", "binary cross-entropy (summed)", "binary cross-entropy",
                "Binary cross-entropy summed over the output units.", "loss: binary cross-entropy",
                {"sigmoid": "fused_output_grad"}, note_one="Binary cross-entropy of the one output unit."),
    "bce_mean": Loss("bce_mean", "bce_mean", "bce_mean_grad", "bce", "binary cross-entropy (mean)",
                     "binary cross-entropy", "Binary cross-entropy averaged over the output units.",
                     "loss: binary cross-entropy (mean)", {"sigmoid": "fused_output_grad_mean"},
                     note_one="Binary cross-entropy of the one output unit (the mean over one unit is itself)."),
}

def _loss_op(forward, pattern, name, grad_op, words):
    return Op(forward, pattern, _sym(name), (Vjp(grad_op, (0, 1)), None), "loss", words)


LOSS_OPS: dict[str, Op] = {
    "mse": _loss_op(lambda p, t: _squared_error(p, t, True), r"\frac{{1}}{{K}} \sum_k ({0}_k - {1}_k)^2", "mse",
                    "mse_grad", "{1/K}Σ ({0} − {1})²"),
    "sse": _loss_op(lambda p, t: _squared_error(p, t, False), r"\sum_k ({0}_k - {1}_k)^2", "sse", "sse_grad",
                    "Σ ({0} − {1})²"),
    "cross_entropy": _loss_op(_cross_entropy, r"-\sum_k {1}_k \log {0}_k", "cross_entropy", "cross_entropy_grad",
                              "−Σ {1} log {0}"),
    "bce_sum": _loss_op(lambda p, t: _bce(p, t, False),
                        r"-\sum_k \left[{1}_k \log {0}_k + (1 - {1}_k) \log(1 - {0}_k)\right]", "bce",
                        "bce_sum_grad", "−Σ ({1} log {0} + (1 − {1}) log(1 − {0}))"),
    "bce_mean": _loss_op(lambda p, t: _bce(p, t, True),
                         r"-\frac{{1}}{{K}}\sum_k \left[{1}_k \log {0}_k + (1 - {1}_k) \log(1 - {0}_k)\right]",
                         "bce_mean", "bce_mean_grad", "−{1/K}Σ ({1} log {0} + (1 − {1}) log(1 − {0}))"),
    "half_sse": _loss_op(_half_squared_error, r"\frac{{1}}{{2}} \sum_k ({0}_k - {1}_k)^2", "half_sse",
                         "half_sse_grad", "(1/2)Σ ({0} − {1})²"),
    "half_sse_grad": Op(lambda p, t: tensors.elementwise(lambda a, b: a - b, p, t), "{0} - {1}", lambda p, t: p - t,
                        (), "loss-gradient", "{0} − {1}"),
    "mse_grad": Op(lambda p, t: _squared_error_grad(p, t, True), r"\frac{{2}}{{K}} \left({0} - {1}\right)",
                   _sym("mse_grad"), (), "loss-gradient", "{2/K}({0} − {1})"),
    "sse_grad": Op(lambda p, t: _squared_error_grad(p, t, False), r"2 \left({0} - {1}\right)", _sym("sse_grad"), (),
                   "loss-gradient", "2({0} − {1})"),
    "cross_entropy_grad": Op(_ce_grad_wrt_yhat, r"-{1} \oslash {0}", _sym("cross_entropy_grad"), (),
                             "loss-gradient", "−{1} / {0}"),
    "bce_sum_grad": Op(lambda p, t: _bce_grad_wrt_yhat(p, t, False), r"\frac{{{0} - {1}}}{{{0} (1 - {0})}}",
                       _sym("bce_grad"), (), "loss-gradient", "({0} − {1}) / ({0}(1 − {0}))"),
    "bce_mean_grad": Op(lambda p, t: _bce_grad_wrt_yhat(p, t, True), r"\frac{{{0} - {1}}}{{K\, {0} (1 - {0})}}",
                        _sym("bce_mean_grad"), (), "loss-gradient", "{1/K}({0} − {1}) / ({0}(1 − {0}))"),
    "fused_output_grad": Op(_fused_grad, "{0} - {1}", lambda p, t: p - t, (), "loss-gradient", "{0} − {1}"),
    "fused_output_grad_mean": Op(lambda p, t: _fused_grad(p, t, ONE / Num.rational(p.size)),
                                 r"\frac{{1}}{{K}}\left({0} - {1}\right)",
                                 lambda p, t: (p - t) / sympy.Symbol("K"), (), "loss-gradient", "{1/K}({0} − {1})"),
}
