"""The independent float64 check of a derivation: its network's layers recomputed in NumPy.

It reads what the example gives (inputs, parameters, constants, as floats) and the layers' records
(which step is which layer's output, which names a layer's gradients carry), and recomputes every
quantity from the equations in :mod:`symderiv.reference.layers` — never from the derivation's
operations or values. It names its results as the steps are named, which is all it shares with them.

Where the loss has a kink at the given parameters (a ReLU unit exactly at 0, a max-pooling window with
a tie), the derivation takes the branch its rules choose; :meth:`NetworkReference.loss` keeps those few
decisions as they are at the given parameters and lets everything else move, so finite differences
see the derivative the derivation gives. :meth:`NetworkReference.losses` evaluates the loss for a
whole batch of perturbed copies of one parameter in one vectorised pass.
"""

from __future__ import annotations

import numpy as np

from symderiv import tensors
from symderiv.layers.feedforward import Activation, Conv2D, Dense, Dropout, Flatten, Pool, TimeDistributedDense
from symderiv.layers.base import Pass
from symderiv.layers.head import Head
from symderiv.layers.recurrent import Recurrent
from symderiv.reference import layers as F
from symderiv.steps import Kind


class NetworkReference:
    """Float64 forward and backward of the network a derivation was built from."""

    def __init__(self, derivation):
        self.derivation = derivation
        given = derivation.of_kind(Kind.INPUT, Kind.PARAMETER, Kind.CONSTANT)
        self.given = {s.name: tensors.to_float_array(s.value) for s in given}
        self.trainable = [s.name for s in derivation.parameters]
        self.layers = list(derivation.layers)
        self.head = next(layer for layer in self.layers if isinstance(layer, Head))
        self.recurrent = next((layer for layer in self.layers if isinstance(layer, Recurrent)), None)
        self.magnitudes: dict[str, np.ndarray] = {}
        self._held: dict | None = None

    def float_parameters(self) -> dict[str, np.ndarray]:
        return {name: self.given[name].copy() for name in self.trainable}

    # -- the loss for finite differences ------------------------------------------------------------
    def loss(self, params: dict[str, np.ndarray]) -> float:
        """The loss near the given parameters, along the branch the derivation takes at a kink."""
        return float(self.losses(params))

    def losses(self, params: dict[str, np.ndarray], step: int = 1) -> np.ndarray:
        """The loss of descent step ``step`` for that step's parameters (named as the derivation names them:
        ``W1'`` in step 2), which may carry leading batch axes (perturbed copies): one vectorised pass."""
        if self._held is None:
            self._held = {}
            self._run(self.float_parameters(), record_kinks=True)
        values, _mags = self._run(params, held=self._held, forward_only=True, start=step)
        return values["L" + Pass(None, step).suffix]

    def backward(self, params: dict[str, np.ndarray]) -> dict:
        """Every quantity by step name; magnitudes in :attr:`magnitudes`."""
        values, mags = self._run(params)
        self.magnitudes = mags
        return values

    # -- one pass -----------------------------------------------------------------------------------
    def _run(self, params, held=None, record_kinks=False, forward_only=False, start: int = 1):
        env = _Env(self.given, dict(params), held if held is not None else {}, record_kinks)
        if record_kinks:
            self._held = env.held
        if self.recurrent is not None:
            _sequence(self, env, forward_only)
        else:
            _feedforward(self, env, forward_only, start)
        return env.v, env.m


class _Env:
    """Values and magnitudes by step name, the parameters (maybe batched), kink decisions."""

    def __init__(self, given, params, held, record):
        self.given, self.params, self.held, self.record = given, params, held, record
        self.v: dict = {}
        self.m: dict = {}

    def get(self, name):
        """A quantity (computed or given; a trained parameter from ``params``) and its magnitude."""
        if name in self.v:
            return self.v[name], self.m[name]
        value = self.params[name] if name in self.params else self.given[name]
        return value, np.zeros(np.shape(value))

    def put(self, name, value, mag):
        self.v[name], self.m[name] = value, mag
        return value, mag


# -- feed-forward networks --------------------------------------------------------------------------------
def _feedforward(ref: NetworkReference, env: _Env, forward_only: bool, start: int = 1) -> None:
    """As the network was run: each descent step, each example of a batch, forward then backward; a batch's
    gradient is the mean (or sum) of its examples'; every step updates the parameters."""
    head = ref.head
    body = [layer for layer in ref.layers if not isinstance(layer, Head)]
    names = {p.name: p.name for layer in body for p in layer.parameters()}
    if start > 1:                          # the parameters of a later step, as given in env.params
        names = {base: base + "'" * (start - 1) for base in names}
    batch = head.examples > 1
    examples = list(range(1, head.examples + 1)) if batch else [None]
    for step in range(start, head.descent_steps + 1):
        passes = [Pass(n, step, dict(names), batch=batch) for n in examples]
        for ctx in passes:
            current = "x"
            for layer in body:
                current = _FORWARD[type(layer)](layer, env, ctx, current)
            if not head.given_gradient:
                _head_forward(head, env, _head_names(head, ctx))
        suffix = Pass(None, step).suffix
        if not head.given_gradient:
            losses = [env.v[_head_names(head, ctx).loss] for ctx in passes]
            mags = [env.m[_head_names(head, ctx).loss] for ctx in passes]
            n = len(passes) if head.reduction == "mean" and batch else 1
            env.put("L" + suffix, sum(losses) / n, sum(mags) / n)
        else:                              # the given ∂L/∂output g: L = ⟨g, output⟩ has exactly that gradient
            total = 0.0
            for ctx in passes:
                out = ctx.name(head.outputs_base.z)
                g, _ = env.get(Pass(ctx.example, 1).name(f"dL/d{head.outputs_base.z}"))
                total = total + np.sum(env.v[out] * g, axis=tuple(range(-np.ndim(g), 0)))
            env.put("L" + suffix, total, 0.0)
        if forward_only:
            return
        gradients: dict = {}
        for ctx in passes:
            grad = Pass(ctx.example, 1).name(f"dL/d{head.outputs_base.z}") if head.given_gradient else \
                _head_backward(head, env, _head_names(head, ctx))
            own: dict = {}
            for layer in reversed(body):
                grad = _BACKWARD[type(layer)](layer, env, ctx, grad, own)
                if grad is None:
                    break
            for base, (value, mag) in own.items():
                if batch:
                    env.put(f"dL/d{base}{ctx.suffix}", value, mag)
                _accumulate(gradients, base, value, mag)
        if batch and head.reduction == "mean":
            gradients = {k: (v / len(passes), m / len(passes)) for k, (v, m) in gradients.items()}
        names = _step_update(ref, env, names, gradients, suffix)


def _head_names(head: Head, ctx: Pass):
    from symderiv.layers.head import HeadNames
    o = head.outputs_base
    given = Pass(ctx.example, 1)
    return HeadNames(ctx.name(o.z), o.z_symbol, ctx.name(o.yhat), o.yhat_symbol, given.name(o.y),
                     ctx.name(o.loss) if head.examples > 1 else o.loss + ctx.suffix, o.loss_symbol)


def _step_update(ref: NetworkReference, env: _Env, names: dict, gradients: dict, suffix: str) -> dict:
    """dL/dθ of this step under its name, and θ' = θ − η dL/dθ; returns the parameters of the next step."""
    rate = float(ref.given["eta"])
    updated = {}
    for base, current in names.items():
        grad, mag = gradients[base]
        env.put(f"dL/d{base}{suffix}", grad, mag)
        value, _ = env.get(current)
        new = current + "'"
        env.put(new, value - rate * grad, np.abs(value) + rate * mag)
        env.params[new] = env.v[new]
        updated[base] = new
    return updated


def _activation_params(layer) -> dict:
    return {name: float(value) for name, value in layer.params}


def _param(env: _Env, ctx: Pass, p):
    value, _ = env.get(ctx.param(p.name))
    return value


def _conv_forward(layer: Conv2D, env: _Env, ctx: Pass, x: str) -> str:
    xv, xm = env.get(ctx.name(x) if x != "x" else Pass(ctx.example, 1).name("x"))
    k = _param(env, ctx, layer.kernel)
    k4 = F.batched(k, np.ndim(env.given[layer.kernel.name]), (layer.filters, layer.channels) + tuple(layer.kernel_size))
    b = None
    if layer.bias is not None:
        bv = _param(env, ctx, layer.bias)
        b = F.batched(bv, np.ndim(env.given[layer.bias.name]), (layer.filters,))
    h, mag = F.conv(F.maps(xv), F.maps(xm), k4, b, layer.stride, layer.pads)
    env.put(layer.size_name, np.array(h.shape[-2:], dtype=float), 0.0)
    env.put(ctx.name(layer.output), h, mag)
    return layer.output


def _input(env: _Env, ctx: Pass, x: str):
    """A layer's input: the network's input (the same in every descent step) or an earlier output."""
    return env.get(Pass(ctx.example, 1).name(x) if x == "x" else ctx.name(x))


def _activation_forward(layer: Activation, env: _Env, ctx: Pass, x: str) -> str:
    a, a_mag = _input(env, ctx, x)
    a = _snap_kinks(layer, ctx.name(layer.output), a, a_mag, env)
    out, mag = F.activation(_activation_name(layer), _activation_params(layer), a, a_mag,
                            env.held.get(ctx.name(layer.output)), _formula(layer))
    if x != "x":
        env.put(ctx.name(x), a, a_mag)
    env.put(ctx.name(layer.output), out, mag)
    return layer.output


def _activation_name(layer) -> str:
    """The activation's key in the float64 table (a cell names it ``activation``, a layer ``op``)."""
    if getattr(layer, "formula", ""):
        return "formula"
    return getattr(layer, "op", None) or layer.activation


def _formula(layer):
    return getattr(layer, "formula", "") or None


def _snap_kinks(layer, key: str, a, a_mag, env: _Env):
    """Units at a kink in exact arithmetic are exactly at it here too (float64 noise set to 0)."""
    kink = F.at_kink(_activation_name(layer), a, a_mag, _formula(layer))
    if kink is None:
        return a
    if env.record:
        env.held[key] = kink
    return np.where(kink, F.nearest_kink(a, _formula(layer)), a)


def _pool_forward(layer: Pool, env: _Env, ctx: Pass, x: str) -> str:
    a, a_mag = _input(env, ctx, x)
    windows, mags = F.pool_windows(a, layer.size, layer.stride), F.pool_windows(a_mag, layer.size, layer.stride)
    if layer.mode == "max":
        near = F.near_top(windows)
        choice = np.argmax(near, axis=-1)
        key = ("choice", ctx.name(layer.output))
        if env.record:
            env.held[key] = (near.sum(axis=-1) > 1, choice)
        if key in env.held:
            tied, chosen = env.held[key]
            choice = np.where(tied, chosen, choice)
        env.held[("current", ctx.name(layer.output))] = choice
        pooled = np.take_along_axis(windows, choice[..., None], axis=-1)[..., 0]
        pooled_mag = np.take_along_axis(mags, choice[..., None], axis=-1)[..., 0]
    else:
        pooled, pooled_mag = windows.mean(axis=-1), mags.mean(axis=-1)
    env.put(layer.map_size_name, np.array(pooled.shape[-2:], dtype=float), 0.0)
    env.put(ctx.name(layer.output), pooled, pooled_mag)
    return layer.output


def _dropout_forward(layer: Dropout, env: _Env, ctx: Pass, x: str) -> str:
    a, a_mag = _input(env, ctx, x)
    scale = 1.0 / (1.0 - float(layer.p))
    mask = np.array(layer.mask, dtype=float)
    mask = mask.reshape(mask.shape if mask.ndim == len(np.shape(env.given.get("x", a))) else a.shape[-mask.ndim:])
    env.put(ctx.name(layer.output), a * mask * scale, a_mag * mask * scale)
    return layer.output


def _flatten_forward(layer: Flatten, env: _Env, ctx: Pass, x: str) -> str:
    a, a_mag = _input(env, ctx, x)
    shape = a.shape[:a.ndim - len(layer.shape)] + (-1,)
    env.put(ctx.name(layer.output), a.reshape(shape), a_mag.reshape(shape))
    return layer.output


def _dense_forward(layer: Dense, env: _Env, ctx: Pass, x: str) -> str:
    xv, xm = _input(env, ctx, x)
    W = _param(env, ctx, layer.weight)
    z, mag = F.mv(W, xv), F.mv(np.abs(W), np.abs(xv) + xm)
    if layer.bias is not None:
        b = _param(env, ctx, layer.bias)
        z, mag = z + b, mag + np.abs(b)
    env.put(ctx.name(layer.output), z, mag)
    return layer.output


def _head_forward(head: Head, env: _Env, names, time=None) -> None:
    z, z_mag = env.get(names.z)
    y, _ = env.get(names.y)
    if head.activation == "softmax":
        p, p_mag = F.softmax(z, z_mag)
        env.put(names.yhat, p, p_mag)
    elif head.activation == "sigmoid":
        p = F._sigmoid(z)
        env.put(names.yhat, p, p + 0.25 * z_mag)
        p_mag = p + 0.25 * z_mag
    elif head.denormalise:
        lo, hi = (float(v) for v in head.denormalise)
        p, p_mag = lo + z * (hi - lo), abs(lo) + z_mag * abs(hi - lo)
        env.put(names.yhat, p, p_mag)
    else:
        p, p_mag = z, z_mag
    loss = F.loss(head.loss, head.activation, p, y, z)
    log_p, log_q = F.log_probabilities(head.activation, z, p) if F.uses_logs(head.loss) else (None, None)
    env.put(names.loss, loss, F.loss_magnitude(head.loss, p, p_mag, y, log_p, log_q) if np.ndim(loss) == 0 else 0.0)


def _head_backward(head: Head, env: _Env, names) -> str:
    """∂L/∂z (recorded under the derivation's names, with ∂L/∂ŷ and ∂ŷ/∂z where it shows them)."""
    z, z_mag = env.get(names.z)
    y, _ = env.get(names.y)
    key = (head.activation, head.loss)
    has_yhat = names.yhat in env.v
    p, p_mag = env.get(names.yhat) if has_yhat else (z, z_mag)
    K = z.shape[-1]
    if key in (("softmax", "cross_entropy"), ("sigmoid", "bce"), ("sigmoid", "bce_mean")):
        n = K if head.loss == "bce_mean" else 1
        env.put(f"dL/d{names.z}", (p - y) / n, (p_mag + np.abs(y)) / n)
        return f"dL/d{names.z}"
    q = np.exp(F.log_probabilities(head.activation, z, p)[1]) if head.loss in ("bce", "bce_mean") else None
    g, g_mag = F.loss_gradient(head.loss, p, p_mag, y, q)
    if not has_yhat:
        env.put(f"dL/d{names.z}", g, g_mag)
        return f"dL/d{names.z}"
    env.put(f"dL/d{names.yhat}", g, g_mag)
    if head.activation == "softmax":
        s = np.sum(p * g, axis=-1, keepdims=True)
        dz = p * (g - s)
        dz_mag = p * (g_mag + np.sum(p * g_mag, axis=-1, keepdims=True)) \
            + p_mag * (np.abs(g) + np.sum(p * np.abs(g), axis=-1, keepdims=True))
    elif head.activation == "sigmoid":
        local = F._sigmoid_prime(z)
        env.put(f"d{names.yhat}/d{names.z}", local, local + z_mag)
        dz, dz_mag = g * local, g_mag * local + np.abs(g) * z_mag
    else:
        lo, hi = (float(v) for v in head.denormalise)
        dz, dz_mag = g * (hi - lo), g_mag * abs(hi - lo)
    env.put(f"dL/d{names.z}", dz, dz_mag)
    return f"dL/d{names.z}"


def _dense_backward(layer: Dense, env: _Env, ctx: Pass, grad: str, own: dict) -> str | None:
    g, g_mag = env.get(grad)
    x, x_mag = _input(env, ctx, layer.input)
    W = _param(env, ctx, layer.weight)
    own[layer.weight.name] = (F.outer(g, x), F.outer(g_mag, np.abs(x)) + F.outer(np.abs(g), x_mag))
    if layer.bias is not None:
        own[layer.bias.name] = (g.copy(), g_mag)
    if not layer.input_gradient:
        return None
    name = f"dL/d{Pass(ctx.example, 1).name('x') if layer.input == 'x' else ctx.name(layer.input)}"
    env.put(name, F.mv_t(W, g), F.mv_t(np.abs(W), g_mag))
    return name


def _flatten_backward(layer: Flatten, env: _Env, ctx: Pass, grad: str, own: dict) -> str:
    g, g_mag = env.get(grad)
    name = f"dL/d{ctx.name(layer.input)}"
    env.put(name, g.reshape(layer.shape), g_mag.reshape(layer.shape))
    return name


def _dropout_backward(layer: Dropout, env: _Env, ctx: Pass, grad: str, own: dict) -> str:
    g, g_mag = env.get(grad)
    local = np.array(layer.mask, dtype=float).reshape(g.shape) / (1.0 - float(layer.p))
    env.put(f"d{layer.output}/d{layer.input}{ctx.suffix}", local, local)
    name = f"dL/d{ctx.name(layer.input)}"
    env.put(name, g * local, g_mag * local)
    return name


def _pool_backward(layer: Pool, env: _Env, ctx: Pass, grad: str, own: dict) -> str:
    g, g_mag = env.get(grad)
    shape = env.v[ctx.name(layer.input)].shape
    choice = env.held.get(("current", ctx.name(layer.output)))
    name = f"dL/d{ctx.name(layer.input)}"
    env.put(name, F.pool_backward(layer.mode, shape, g, layer.size, layer.stride, choice),
            F.pool_backward(layer.mode, shape, g_mag, layer.size, layer.stride, choice))
    return name


def _activation_backward(layer: Activation, env: _Env, ctx: Pass, grad: str, own: dict) -> str:
    g, g_mag = env.get(grad)
    x_name = Pass(ctx.example, 1).name("x") if layer.input == "x" else ctx.name(layer.input)
    a, a_mag = env.get(x_name)
    local, local_mag = F.activation_prime(_activation_name(layer), _activation_params(layer), a, a_mag,
                                          _formula(layer))
    env.put(f"d{layer.output}/d{layer.input}{ctx.suffix}", local, local_mag)
    name = f"dL/d{x_name}"
    env.put(name, g * local, g_mag * np.abs(local) + np.abs(g) * local_mag)
    return name


def _conv_backward(layer: Conv2D, env: _Env, ctx: Pass, grad: str, own: dict) -> str | None:
    dh, dh_mag = env.get(grad)
    x_name = Pass(ctx.example, 1).name("x") if layer.input == "x" else ctx.name(layer.input)
    x, x_mag = env.get(x_name)
    x3, xm3 = F.maps(x), F.maps(x_mag)
    size = tuple(layer.kernel_size)
    P = F.patches(x3, size, layer.stride, layer.pads)
    Pm = np.abs(P) + F.patches(xm3, size, layer.stride, layer.pads)
    k_shape = env.given[layer.kernel.name].shape
    own[layer.kernel.name] = (np.einsum("fij,cijuv->fcuv", dh, P).reshape(k_shape),
                              np.einsum("fij,cijuv->fcuv", dh_mag, Pm).reshape(k_shape))
    if layer.parts:
        F_, Ho, Wo = dh.shape
        terms = np.zeros((F_, Ho, Wo) + (F_,) + P.shape[:1] + size)
        mags = np.zeros_like(terms)
        for f, i, j in np.ndindex(F_, Ho, Wo):
            terms[f, i, j, f] = dh[f, i, j] * P[:, i, j]
            mags[f, i, j, f] = dh_mag[f, i, j] * Pm[:, i, j]
        env.put(layer.parts + ctx.suffix, terms.reshape((F_ * Ho * Wo,) + k_shape),
                mags.reshape((F_ * Ho * Wo,) + k_shape))
    if layer.bias is not None:
        b_shape = env.given[layer.bias.name].shape
        own[layer.bias.name] = (dh.sum(axis=(1, 2)).reshape(b_shape), dh_mag.sum(axis=(1, 2)).reshape(b_shape))
    if layer.input_gradient:
        k4 = _param(env, ctx, layer.kernel).reshape((layer.filters, layer.channels) + size)
        shape3 = x3.shape
        dx = F.conv_input_gradient(dh, k4, shape3, layer.stride, layer.pads).reshape(x.shape)
        dx_mag = F.conv_input_gradient(dh_mag, np.abs(k4), shape3, layer.stride, layer.pads).reshape(x.shape)
        env.put(f"dL/d{x_name}", dx, dx_mag)
        return f"dL/d{x_name}"
    return None


def _updates(ref: NetworkReference, env: _Env, gradients: dict) -> None:
    rate = float(ref.given["eta"])
    for name in ref.trainable:
        grad, mag = gradients[name]
        env.put(f"dL/d{name}", grad, mag)
        value = env.params[name]
        env.put(f"{name}'", value - rate * grad, np.abs(value) + rate * mag)


_FORWARD = {Conv2D: _conv_forward, Activation: _activation_forward, Pool: _pool_forward, Dropout: _dropout_forward,
            Flatten: _flatten_forward, Dense: _dense_forward}
_BACKWARD = {Conv2D: _conv_backward, Activation: _activation_backward, Pool: _pool_backward,
             Dropout: _dropout_backward, Flatten: _flatten_backward, Dense: _dense_backward}


# -- sequence networks ------------------------------------------------------------------------------------
def _sequence(ref: NetworkReference, env: _Env, forward_only: bool) -> None:
    from symderiv.layers.recurrent import ElmanCell
    if not isinstance(ref.recurrent.cell, ElmanCell):
        from symderiv.reference.gated import gated_sequence
        return gated_sequence(ref, env, forward_only)
    rnn: Recurrent = ref.recurrent
    out_layer = next(layer for layer in ref.layers if isinstance(layer, TimeDistributedDense))
    head = ref.head
    names, cell = rnn.names, rnn.cell
    act, act_params = _activation_name(cell), _activation_params(cell)
    levels, T = range(1, rnn.levels + 1), rnn.steps
    weights = {l: tuple(env.get(rnn.param(role, l).name)[0] for role in ("W_xh", "W_hh", "b_h")) for l in levels}
    W_hz, _ = env.get(out_layer.weight.name)
    b_z, _ = env.get(out_layer.bias.name)
    times = sorted(t for t in head.outputs if t is not None)
    total, total_mag = 0.0, 0.0
    for t in range(1, T + 1):
        below, below_mag = env.get(rnn.inputs[t])
        for l in levels:
            W_xh, W_hh, b_h = weights[l]
            prev, prev_mag = env.get(names.h(t - 1, l)[0])
            a = F.mv(W_xh, below) + F.mv(W_hh, prev) + b_h
            a_mag = F.mv(np.abs(W_xh), np.abs(below) + below_mag) + F.mv(np.abs(W_hh), np.abs(prev) + prev_mag) \
                + np.abs(b_h)
            a_name, h_name = names.a(t, l)[0], names.h(t, l)[0]
            a = _snap_kinks(cell, a_name, a, a_mag, env)
            env.put(a_name, a, a_mag)
            below, below_mag = env.put(h_name, *F.activation(act, act_params, a, a_mag, env.held.get(a_name),
                                                             _formula(cell)))
        if t in times:
            out = head.outputs[t]
            env.put(out.z, F.mv(W_hz, below) + b_z, F.mv(np.abs(W_hz), np.abs(below) + below_mag) + np.abs(b_z))
            _head_forward(head, env, out, t)
            total = total + env.v[out.loss]
            total_mag = total_mag + env.m[out.loss]
    if "L" not in env.v:
        env.put("L", total, total_mag)
    if forward_only:
        return
    gradients = {name: None for name in ref.trainable}
    dz = {t: _head_backward(head, env, head.outputs[t]) for t in times}
    for t in times:
        out = head.outputs[t]
        h, h_mag = env.get(names.h(t, rnn.levels)[0])
        g, g_mag = env.get(f"dL/d{out.z}")
        for p, value, mag in ((out_layer.weight.name, F.outer(g, h), F.outer(g_mag, np.abs(h)) + F.outer(np.abs(g), h_mag)),
                              (out_layer.bias.name, g, g_mag)):
            if len(times) > 1:
                env.put(f"dL/d{p}(t={t})", value, mag)
            _accumulate(gradients, p, value, mag)
    da_next: dict = {}
    for t in range(T, 0, -1):
        for l in range(rnn.levels, 0, -1):
            h_name, a_name = names.h(t, l)[0], names.a(t, l)[0]
            dh, dh_mag = 0.0, 0.0
            if l == rnn.levels and t in dz:
                g, g_mag = env.get(f"dL/d{head.outputs[t].z}")
                dh, dh_mag = dh + F.mv_t(W_hz, g), dh_mag + F.mv_t(np.abs(W_hz), g_mag)
            if t < T:
                g, g_mag = da_next[l]
                W_hh = weights[l][1]
                dh, dh_mag = dh + F.mv_t(W_hh, g), dh_mag + F.mv_t(np.abs(W_hh), g_mag)
            if l < rnn.levels:
                g, g_mag = da_next[("up", t)]
                W_up = weights[l + 1][0]
                dh, dh_mag = dh + F.mv_t(W_up, g), dh_mag + F.mv_t(np.abs(W_up), g_mag)
            env.put(f"dL/d{h_name}", dh, dh_mag)
            a, a_mag = env.get(a_name)
            local, local_mag = F.activation_prime(act, act_params, a, a_mag, _formula(cell))
            env.put(f"d{h_name}/d{a_name}", local, local_mag)
            da, da_mag = dh * local, dh_mag * np.abs(local) + np.abs(dh) * local_mag
            env.put(f"dL/d{a_name}", da, da_mag)
            below, below_mag = env.get(rnn.inputs[t] if l == 1 else names.h(t, l - 1)[0])
            prev, prev_mag = env.get(names.h(t - 1, l)[0])
            for role, value, mag in (
                    ("W_xh", F.outer(da, below), F.outer(da_mag, np.abs(below)) + F.outer(np.abs(da), below_mag)),
                    ("W_hh", F.outer(da, prev), F.outer(da_mag, np.abs(prev)) + F.outer(np.abs(da), prev_mag)),
                    ("b_h", da, da_mag)):
                p = rnn.param(role, l).name
                env.put(f"dL/d{p}(t={t})", value, mag)
                _accumulate(gradients, p, value, mag)
            da_next[l] = (da, da_mag)
            da_next[("up", t)] = (da, da_mag)
    _updates(ref, env, gradients)


def _accumulate(gradients: dict, name: str, value, mag) -> None:
    if gradients.get(name) is None:
        gradients[name] = (np.array(value, dtype=float), np.array(mag, dtype=float))
    else:
        g, m = gradients[name]
        gradients[name] = (g + value, m + mag)
