"""Elman RNN, unrolled through time: forward steps, loss, BPTT steps and one gradient-descent update.

Every hidden state is a named step, so ``h_3`` is defined through ``h_2`` and each step costs the
same whatever T is. The backward pass keeps, as steps of their own, the per-time-step
contributions (∂L/∂W_xh at t = 3, 2, 1) and the recursion ∂L/∂h_{t−1} = W_hhᵀ ∂L/∂a_t through
the recurrent weight, exactly as they are taught.
"""

from __future__ import annotations

from symderiv.models.rnn_spec import RNNSpec
from symderiv.numbers import Num
from symderiv.ops import activation_prime_pattern
from symderiv.steps import Builder, Derivation, Kind


def _nums(nested):
    if isinstance(nested, list):
        return [_nums(v) for v in nested]
    return Num.rational(nested)


def d(num: str, den: str) -> str:
    """LaTeX of a partial derivative ∂num/∂den."""
    return rf"\frac{{\partial {num}}}{{\partial {den}}}"


class _Names:
    """Plain names and LaTeX symbols of the unrolled quantities (one place for the convention)."""

    def __init__(self, spec: RNNSpec):
        self.spec = spec
        self.n = spec.notation

    def _layer(self, layer: int) -> tuple[str, str]:
        if self.spec.layers == 1:
            return "", ""
        return f"^({layer})", f"^{{({layer})}}"

    def x(self, t):
        return f"x_{t}", f"{self.n.input}_{{{t}}}"

    def a(self, t, layer):
        p, s = self._layer(layer)
        return f"a_{t}{p}", f"{self.n.preactivation}{s}_{{{t}}}"

    def h(self, t, layer):
        p, s = self._layer(layer)
        return f"h_{t}{p}", f"{self.n.hidden}{s}_{{{t}}}"

    def z(self, t):
        k = t + self.n.output_offset
        return f"z_{k}", f"{self.n.output}_{{{k}}}"

    def yhat(self, t):
        k = t + self.n.output_offset
        return f"yhat_{k}", f"{self.n.prediction}_{{{k}}}"

    def y(self, t):
        k = t + self.n.output_offset
        return f"y_{k}", f"{self.n.target}_{{{k}}}"

    def loss(self, t, many: bool):
        if not many:
            return "L", self.n.loss
        k = t + self.n.output_offset
        return f"L_{k}", f"{self.n.loss}_{{{k}}}"

    def param(self, role, layer=1):
        name = self.spec.name_of(role, layer)
        return name, self.n.symbols[name]


def derive_rnn(spec: RNNSpec) -> Derivation:
    """All steps of the example: set-up, forward, loss, backward (BPTT), update."""
    b = Builder()
    names = _Names(spec)
    T, L = spec.steps, spec.layers
    many = spec.output == "every"
    output_times = list(range(1, T + 1)) if many else [T]

    # -- set-up: what the example gives ---------------------------------------------------
    for t in range(1, T + 1):
        name, sym = names.x(t)
        token = spec.tokens[t - 1] if spec.tokens else None
        b.given(name, sym, Kind.INPUT, _nums(spec.inputs[t - 1]), time=t, meta={"token": token} if token else {})
    for layer in range(1, L + 1):
        for role in ("W_xh", "W_hh", "b_h"):
            name, sym = names.param(role, layer)
            b.given(name, sym, Kind.PARAMETER, _nums(spec.parameters[name]), layer=layer, meta={"role": role})
        h0, _ = names.param("h0", layer)
        hname, hsym = names.h(0, layer)
        b.given(hname, hsym, Kind.CONSTANT, _nums(spec.parameters[h0]), layer=layer, time=0,
                meta={"role": "h0"})
    for role in ("W_hz", "b_z"):
        name, sym = names.param(role)
        b.given(name, sym, Kind.PARAMETER, _nums(spec.parameters[name]), meta={"role": role})
    for i, t in enumerate(output_times):
        name, sym = names.y(t)
        meta = {"token": spec.target_tokens[i]} if spec.target_tokens else {}
        b.given(name, sym, Kind.INPUT, _nums(spec.targets[i]), time=t, meta=meta)
    b.given("eta", spec.notation.learning_rate, Kind.CONSTANT, Num.rational(spec.learning_rate))
    if spec.denormalise:
        b.given("y_min", r"y_{\min}", Kind.CONSTANT, Num.rational(spec.denormalise[0]))
        b.given("y_max", r"y_{\max}", Kind.CONSTANT, Num.rational(spec.denormalise[1]))

    # -- forward -------------------------------------------------------------------------
    act_op = spec.activation
    act_sym = spec.notation.activation
    for t in range(1, T + 1):
        for layer in range(1, L + 1):
            below = names.x(t)[0] if layer == 1 else names.h(t, layer - 1)[0]
            a_name, a_sym = names.a(t, layer)
            b.compute(a_name, a_sym, Kind.FORWARD, "recurrent_affine",
                      [names.param("W_xh", layer)[0], below, names.param("W_hh", layer)[0],
                       names.h(t - 1, layer)[0], names.param("b_h", layer)[0]], time=t, layer=layer)
            h_name, h_sym = names.h(t, layer)
            b.compute(h_name, h_sym, Kind.FORWARD, act_op, [a_name], time=t, layer=layer,
                      formula=_activation_formula(act_op, act_sym))
        if t in output_times:
            _forward_output(b, spec, names, t, many)
    if many:
        b.compute("L", spec.notation.loss, Kind.LOSS, "sum", [names.loss(t, True)[0] for t in output_times],
                  note="The losses of all time steps are summed.")

    # -- backward ------------------------------------------------------------------------
    top = L
    for t in output_times:
        _backward_output(b, spec, names, t, many)
    # dL/dh_t of every layer, filled going back in time (and down through the layers).
    for t in range(T, 0, -1):
        for layer in range(top, 0, -1):
            h_name, h_sym = names.h(t, layer)
            a_name, a_sym = names.a(t, layer)
            terms, chain = [], []
            if layer == top and t in output_times:
                z_name, z_sym = names.z(t)
                terms += [names.param("W_hz")[0], f"dL/d{z_name}"]
                chain.append(d(spec.notation.loss, z_sym) + d(z_sym, h_sym))
            if t < T:
                a_next, a_next_sym = names.a(t + 1, layer)
                terms += [names.param("W_hh", layer)[0], f"dL/d{a_next}"]
                chain.append(d(spec.notation.loss, a_next_sym) + d(a_next_sym, h_sym))
            if layer < top:
                a_up, a_up_sym = names.a(t, layer + 1)
                terms += [names.param("W_xh", layer + 1)[0], f"dL/d{a_up}"]
                chain.append(d(spec.notation.loss, a_up_sym) + d(a_up_sym, h_sym))
            if not terms:
                continue
            pattern = " + ".join("{%d:T} {%d}" % (2 * i, 2 * i + 1) for i in range(len(terms) // 2))
            b.compute(f"dL/d{h_name}", d(spec.notation.loss, h_sym), Kind.BACKWARD, "matvec_t_sum", terms,
                      formula=pattern, chain=(" + ".join(chain),), time=t, layer=layer,
                      note="recursion through the recurrent weight" if t < T else "")
            local = b.compute(f"d{h_name}/d{a_name}", d(h_sym, a_sym), Kind.LOCAL, f"{act_op}_prime", [a_name],
                              time=t, layer=layer, formula=activation_prime_pattern(act_op, act_sym))
            b.compute(f"dL/d{a_name}", d(spec.notation.loss, a_sym), Kind.BACKWARD, "hadamard",
                      [f"dL/d{h_name}", local.name], time=t, layer=layer,
                      chain=(d(spec.notation.loss, h_sym), d(h_sym, a_sym)))
            below = names.x(t) if layer == 1 else names.h(t, layer - 1)
            for role, source in (("W_xh", below), ("W_hh", names.h(t - 1, layer))):
                p_name, p_sym = names.param(role, layer)
                b.compute(f"dL/d{p_name}(t={t})", _at_time(d(spec.notation.loss, p_sym), t), Kind.BACKWARD,
                          "outer", [f"dL/d{a_name}", source[0]], time=t, layer=layer,
                          chain=(d(spec.notation.loss, a_sym), d(a_sym, p_sym)), meta={"parameter": p_name})
            p_name, p_sym = names.param("b_h", layer)
            b.compute(f"dL/d{p_name}(t={t})", _at_time(d(spec.notation.loss, p_sym), t), Kind.BACKWARD, "copy",
                      [f"dL/d{a_name}"], time=t, layer=layer,
                      chain=(d(spec.notation.loss, a_sym), d(a_sym, p_sym)), meta={"parameter": p_name})

    # -- totals over time, and the update --------------------------------------------------
    _total("W_hz", 1, output_times, b, names, spec)
    _total("b_z", 1, output_times, b, names, spec)
    for layer in range(1, L + 1):
        for role in ("W_xh", "W_hh", "b_h"):
            _total(role, layer, list(range(1, T + 1)), b, names, spec)
    for step in [s for s in list(b._steps) if s.kind == Kind.PARAMETER]:
        b.compute(f"{step.name}'", f"{step.symbol}'", Kind.UPDATE, "sgd", [step.name, "eta", f"dL/d{step.name}"],
                  layer=step.layer, meta={"parameter": step.name})

    example = {"name": spec.name, "title": spec.title, "description": spec.description, "kind": "rnn"}
    return b.build(example, spec)


def _at_time(symbol: str, t: int) -> str:
    return rf"\left.{symbol}\right|_{{t={t}}}"


def _activation_formula(op: str, sym: str) -> str:
    if op == "identity":
        return "{0}"
    return sym.replace("{", "{{").replace("}", "}}") + r"\left({0}\right)"


def _forward_output(b: Builder, spec: RNNSpec, names: _Names, t: int, many: bool) -> None:
    h_name = names.h(t, spec.layers)[0]
    z_name, z_sym = names.z(t)
    b.compute(z_name, z_sym, Kind.FORWARD, "affine", [names.param("W_hz")[0], h_name, names.param("b_z")[0]],
              time=t)
    prediction = z_name
    yh_name, yh_sym = names.yhat(t)
    if spec.output_activation == "softmax":
        prediction = b.compute(yh_name, yh_sym, Kind.FORWARD, "softmax", [z_name], time=t).name
    elif spec.output_activation == "sigmoid":
        prediction = b.compute(yh_name, yh_sym, Kind.FORWARD, "sigmoid", [z_name], time=t).name
    elif spec.denormalise:
        prediction = b.compute(yh_name, yh_sym, Kind.FORWARD, "denormalise", [z_name, "y_min", "y_max"], time=t,
                               note="The network outputs min-max normalised values; this maps z back.").name
    loss_name, loss_sym = names.loss(t, many)
    b.compute(loss_name, loss_sym, Kind.LOSS, LOSS_OPS[spec.loss], [prediction, names.y(t)[0]], time=t,
              meta={"prediction": prediction})


LOSS_OPS = {"mse": "mse", "sse": "sse", "cross_entropy": "cross_entropy", "bce": "bce_sum", "bce_mean": "bce_mean"}


def _backward_output(b: Builder, spec: RNNSpec, names: _Names, t: int, many: bool) -> None:
    """∂L/∂z_t for one output step, through the output activation or de-normalisation."""
    Lsym = spec.notation.loss
    z_name, z_sym = names.z(t)
    y_name = names.y(t)[0]
    yh_name, yh_sym = names.yhat(t)
    fused = {("softmax", "cross_entropy"): "fused_output_grad", ("sigmoid", "bce"): "fused_output_grad",
             ("sigmoid", "bce_mean"): "fused_output_grad_mean"}
    key = (spec.output_activation, spec.loss)
    if key in fused:
        b.compute(f"dL/d{z_name}", d(Lsym, z_sym), Kind.BACKWARD, fused[key], [yh_name, y_name], time=t,
                  chain=(d(Lsym, yh_sym), d(yh_sym, z_sym)),
                  note=("With softmax and cross-entropy the Jacobian product simplifies to "
                        r"$\hat{y} - y$." if key[0] == "softmax" else
                        "With sigmoid outputs and binary cross-entropy the product simplifies to "
                        r"$\hat{y} - y$."))
        return
    prediction = yh_name if (spec.output_activation != "linear" or spec.denormalise) else z_name
    pred_sym = yh_sym if prediction == yh_name else z_sym
    grad_op = {"mse": "mse_grad", "sse": "sse_grad", "cross_entropy": "cross_entropy_grad", "bce": "bce_sum_grad",
               "bce_mean": "bce_mean_grad"}[spec.loss]
    b.compute(f"dL/d{prediction}", d(Lsym, pred_sym), Kind.BACKWARD, grad_op, [prediction, y_name], time=t)
    if prediction == z_name:
        return
    chain = (d(Lsym, yh_sym), d(yh_sym, z_sym))
    if spec.output_activation == "softmax":
        b.compute(f"dL/d{z_name}", d(Lsym, z_sym), Kind.BACKWARD, "softmax_vjp", [yh_name, f"dL/d{yh_name}"],
                  time=t, chain=chain)
    elif spec.output_activation == "sigmoid":
        local = b.compute(f"d{yh_name}/d{z_name}", d(yh_sym, z_sym), Kind.LOCAL, "sigmoid_prime", [z_name], time=t)
        b.compute(f"dL/d{z_name}", d(Lsym, z_sym), Kind.BACKWARD, "hadamard", [f"dL/d{yh_name}", local.name],
                  time=t, chain=chain)
    else:
        b.compute(f"dL/d{z_name}", d(Lsym, z_sym), Kind.BACKWARD, "denormalise_grad",
                  [f"dL/d{yh_name}", "y_min", "y_max"], time=t, chain=chain)


def _total(role: str, layer: int, times: list[int], b: Builder, names: _Names, spec: RNNSpec) -> None:
    """∂L/∂θ: the sum of the per-time-step contributions (or the single one)."""
    p_name, p_sym = names.param(role, layer)
    Lsym = spec.notation.loss
    if role in ("W_hz", "b_z"):
        contributions = []
        for t in times:
            z_name, z_sym = names.z(t)
            h_name = names.h(t, spec.layers)[0]
            op, inputs = ("outer", [f"dL/d{z_name}", h_name]) if role == "W_hz" else ("copy", [f"dL/d{z_name}"])
            if len(times) == 1:
                b.compute(f"dL/d{p_name}", d(Lsym, p_sym), Kind.GRADIENT, op, inputs,
                          chain=(d(Lsym, z_sym), d(z_sym, p_sym)), layer=layer, meta={"parameter": p_name})
                return
            step = b.compute(f"dL/d{p_name}(t={t})", _at_time(d(Lsym, p_sym), t), Kind.BACKWARD, op, inputs,
                             time=t, chain=(d(Lsym, z_sym), d(z_sym, p_sym)), meta={"parameter": p_name})
            contributions.append(step.name)
    else:
        contributions = [f"dL/d{p_name}(t={t})" for t in times]
    b.compute(f"dL/d{p_name}", d(Lsym, p_sym), Kind.GRADIENT, "sum", contributions, layer=layer,
              chain=(rf"\sum_{{t}} {_at_time(d(Lsym, p_sym), 't')}",), meta={"parameter": p_name})
