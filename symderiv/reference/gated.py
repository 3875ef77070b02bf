"""Float64 LSTM and GRU cells through time, forward and backward, written from their equations.

Each value travels with its magnitude (:class:`T`: the scale of the rounding it carries, propagated to
first order: sums add magnitudes, a product x·y takes |x| m(y) + m(x) |y|, an elementwise f takes
|f(a)| + |f'(a)| m(a)), so that verification can allow float64's rounding of an exact zero. Backpropagation through time is written out per cell, from the textbook equations, independently of
the derivation's steps:

LSTM  f, i, o = σ(a^f, a^i, a^o), g = tanh(a^g), c = f ⊙ c_prev + i ⊙ g, h = o ⊙ tanh(c);
      ∂c = ∂h ⊙ o ⊙ (1 − tanh²c) + f_next ⊙ ∂c_next, ∂f = ∂c ⊙ c_prev, ∂i = ∂c ⊙ g, ∂g = ∂c ⊙ i, ∂o = ∂h ⊙ tanh c.
GRU   u, r = σ(a^u, a^r), n = tanh(W_n x + U_n (r ⊙ h_prev) + b_n) (or r ⊙ (U_n h_prev + b_hn)),
      h = u ⊙ h_prev + (1 − u) ⊙ n (or the swapped form).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class T:
    """A float64 value with its magnitude (≥ |value|)."""

    v: np.ndarray
    m: np.ndarray

    @staticmethod
    def given(value) -> "T":
        value = np.asarray(value, dtype=float)
        return T(value, np.abs(value))

    def __add__(self, other: "T") -> "T":
        return T(self.v + other.v, self.m + other.m)

    def __sub__(self, other: "T") -> "T":
        return T(self.v - other.v, self.m + other.m)

    def __mul__(self, other: "T") -> "T":
        # first-order propagation of rounding: err(xy) ≈ |x| err(y) + |y| err(x). The product of the two
        # magnitudes would square them at every gate and overflow within a few time steps.
        return T(self.v * other.v, np.abs(self.v) * other.m + self.m * np.abs(other.v))


def mv(W: np.ndarray, x: T) -> T:
    return T(np.einsum("...ij,...j->...i", W, x.v), np.einsum("...ij,...j->...i", np.abs(W), x.m))


def mv_t(W: np.ndarray, g: T) -> T:
    return T(np.einsum("...ji,...j->...i", W, g.v), np.einsum("...ji,...j->...i", np.abs(W), g.m))


def outer(g: T, x: T) -> T:
    return T(np.einsum("...i,...j->...ij", g.v, x.v),
             np.einsum("...i,...j->...ij", np.abs(g.v), x.m) + np.einsum("...i,...j->...ij", g.m, np.abs(x.v)))


# An elementwise f passes its argument's rounding on scaled by |f'|: magnitude |f(a)| + |f'(a)| m(a).
def sigmoid(a: T) -> T:
    s = 0.5 * (1.0 + np.tanh(0.5 * a.v))
    return T(s, s + s * (1.0 - s) * a.m)


def sigmoid_prime(a: T) -> T:
    s = 0.5 * (1.0 + np.tanh(0.5 * a.v))
    local = s * (1.0 - s)
    return T(local, local + local * np.abs(1.0 - 2.0 * s) * a.m)       # (σ(1−σ))' = σ(1−σ)(1−2σ)


def tanh(a: T) -> T:
    t = np.tanh(a.v)
    return T(t, np.abs(t) + (1.0 - t * t) * a.m)


def tanh_prime(a: T) -> T:
    local = 1.0 / np.cosh(a.v) ** 2
    return T(local, local + 2.0 * np.abs(np.tanh(a.v)) * local * a.m)   # (1−tanh²)' = −2 tanh (1−tanh²)


def one_minus(u: T) -> T:
    return T(1.0 - u.v, 1.0 + u.m)


def affine(W: np.ndarray, x: T, U: np.ndarray, h: T, b: np.ndarray) -> T:
    return mv(W, x) + mv(U, h) + T.given(b)


def gated_sequence(ref, env, forward_only: bool) -> None:
    """The LSTM or GRU network as the derivation ran it: forward, loss, BPTT, per-time contributions, update."""
    from symderiv.layers.feedforward import TimeDistributedDense
    from symderiv.layers.recurrent import LSTMCell
    from symderiv.reference.network import _accumulate, _head_backward, _head_forward, _updates

    rnn, head = ref.recurrent, ref.head
    out_layer = next(layer for layer in ref.layers if isinstance(layer, TimeDistributedDense))
    names, cell = rnn.names, rnn.cell
    lstm = isinstance(cell, LSTMCell)
    levels, steps = range(1, rnn.levels + 1), rnn.steps
    P = {(role, l): env.get(rnn.param(role, l).name)[0] for l in levels for role in cell.roles}
    W_hz, _ = env.get(out_layer.weight.name)
    b_z, _ = env.get(out_layer.bias.name)
    times = sorted(t for t in head.outputs if t is not None)

    def put(name: str, x: T) -> T:
        env.put(name, x.v, x.m)
        return x

    def get(name: str) -> T:
        v, m = env.get(name)
        return T(np.asarray(v, dtype=float), np.maximum(np.abs(v), m))

    def gate(g, t, l, below: T, h_prev: T) -> T:
        pre = put(names.gate_pre(g, t, l)[0], affine(P[(f"W_{g}", l)], below, P[(f"U_{g}", l)], h_prev,
                                                     P[(f"b_{g}", l)]))
        return put(names.state(g, t, l)[0], tanh(pre) if g in "gn" else sigmoid(pre))

    total = T(np.array(0.0), np.array(0.0))
    for t in range(1, steps + 1):
        below = get(rnn.inputs[t])
        for l in levels:
            h_prev = get(names.h(t - 1, l)[0])
            if lstm:
                f, i, g, o = (gate(q, t, l, below, h_prev) for q in "figo")
                c = put(names.state("c", t, l)[0], f * get(names.state("c", t - 1, l)[0]) + i * g)
                s = put(names.squashed(t, l)[0], tanh(c))
                below = put(names.h(t, l)[0], o * s)
                continue
            u, r = gate("u", t, l, below, h_prev), gate("r", t, l, below, h_prev)
            if cell.reset == "before":
                rh = put(names.reset(t, l)[0], r * h_prev)
                pre = affine(P[("W_n", l)], below, P[("U_n", l)], rh, P[("b_n", l)])
            else:
                m = put(names.reset(t, l)[0], mv(P[("U_n", l)], h_prev) + T.given(P[("b_hn", l)]))
                pre = mv(P[("W_n", l)], below) + r * m + T.given(P[("b_n", l)])
            put(names.gate_pre("n", t, l)[0], pre)
            n = put(names.state("n", t, l)[0], tanh(pre))
            mixed = u * h_prev + one_minus(u) * n if cell.form == "interpolate" else one_minus(u) * h_prev + u * n
            below = put(names.h(t, l)[0], mixed)
        if t in times:
            out = head.outputs[t]
            put(out.z, mv(W_hz, below) + T.given(b_z))
            _head_forward(head, env, out, t)
            total = total + T(np.asarray(env.v[out.loss]), np.asarray(env.m[out.loss]))
    if "L" not in env.v:
        put("L", total)
    if forward_only:
        return

    gradients = {name: None for name in ref.trainable}
    for t in times:
        _head_backward(head, env, head.outputs[t])
        out = head.outputs[t]
        h = get(names.h(t, rnn.levels)[0])
        dz = get(f"dL/d{out.z}")
        for p, value in ((out_layer.weight.name, outer(dz, h)), (out_layer.bias.name, dz)):
            if len(times) > 1:
                put(f"dL/d{p}(t={t})", value)
            _accumulate(gradients, p, value.v, value.m)

    def contribute(role, l, t, value: T):
        p = rnn.param(role, l).name
        put(f"dL/d{p}(t={t})", value)
        _accumulate(gradients, p, value.v, value.m)

    arriving: dict = {}          # state name -> gradient arriving from later times / higher levels
    H = lambda v: T(np.zeros_like(v.v), np.zeros_like(v.m))          # noqa: E731

    def add(name, x: T):
        arriving[name] = arriving[name] + x if name in arriving else x

    for t in range(steps, 0, -1):
        for l in range(rnn.levels, 0, -1):
            h_name = names.h(t, l)[0]
            dh = H(get(h_name))
            if l == rnn.levels and t in times:
                dh = dh + mv_t(W_hz, get(f"dL/d{head.outputs[t].z}"))
            if h_name in arriving:
                dh = dh + arriving.pop(h_name)
            put(f"dL/d{h_name}", dh)
            below_name = rnn.inputs[t] if l == 1 else names.h(t, l - 1)[0]
            below = get(below_name)
            h_prev_name = names.h(t - 1, l)[0]
            h_prev = get(h_prev_name)
            d_pre = {}
            if lstm:
                o, s = get(names.state("o", t, l)[0]), get(names.squashed(t, l)[0])
                c_name, c_prev_name = names.state("c", t, l)[0], names.state("c", t - 1, l)[0]
                ds = put(f"dL/d{names.squashed(t, l)[0]}", dh * o)
                local = put(f"d{names.squashed(t, l)[0]}/d{c_name}", tanh_prime(get(c_name)))
                dc = ds * local
                if c_name in arriving:
                    dc = dc + arriving.pop(c_name)
                put(f"dL/d{c_name}", dc)
                put(f"dL/d{names.state('o', t, l)[0]}", dh * s)
                f, i, g = (get(names.state(q, t, l)[0]) for q in "fig")
                c_prev = get(c_prev_name)
                grads = {"o": dh * s, "g": dc * i, "i": dc * g, "f": dc * c_prev}
                for q in "ogif":
                    gate_name = names.state(q, t, l)[0]
                    pre_name = names.gate_pre(q, t, l)[0]
                    put(f"dL/d{gate_name}", grads[q])
                    local = put(f"d{gate_name}/d{pre_name}", (tanh_prime if q == "g" else sigmoid_prime)(get(pre_name)))
                    d_pre[q] = put(f"dL/d{pre_name}", grads[q] * local)
                if t > 1:
                    add(c_prev_name, dc * f)
                order = "ogif"
            else:
                u, n = get(names.state("u", t, l)[0]), get(names.state("n", t, l)[0])
                u_name, n_name = names.state("u", t, l)[0], names.state("n", t, l)[0]
                if cell.form == "interpolate":
                    du_local = put(f"d{h_name}/d{u_name}", h_prev - n)
                    dn_local = put(f"d{h_name}/d{n_name}", one_minus(u))
                    dn, dh_prev_mix = dh * dn_local, dh * u
                else:
                    du_local = put(f"d{h_name}/d{u_name}", n - h_prev)
                    hp_local = put(f"d{h_name}/d{h_prev_name}", one_minus(u))
                    dn, dh_prev_mix = dh * u, dh * hp_local
                du = dh * du_local
                put(f"dL/d{n_name}", dn)
                pre_n = names.gate_pre("n", t, l)[0]
                local = put(f"d{n_name}/d{pre_n}", tanh_prime(get(pre_n)))
                d_pre["n"] = put(f"dL/d{pre_n}", dn * local)
                r_name, reset_name = names.state("r", t, l)[0], names.reset(t, l)[0]
                r = get(r_name)
                if cell.reset == "before":
                    d_rh = put(f"dL/d{reset_name}", mv_t(P[("U_n", l)], d_pre["n"]))
                    dr = d_rh * h_prev
                    dh_prev_reset = d_rh * r
                else:
                    m = get(reset_name)
                    d_m = put(f"dL/d{reset_name}", d_pre["n"] * r)
                    dr = d_pre["n"] * m
                    dh_prev_reset = mv_t(P[("U_n", l)], d_m)
                for q, grad in (("r", dr), ("u", du)):
                    gate_name, pre_name = names.state(q, t, l)[0], names.gate_pre(q, t, l)[0]
                    put(f"dL/d{gate_name}", grad)
                    local = put(f"d{gate_name}/d{pre_name}", sigmoid_prime(get(pre_name)))
                    d_pre[q] = put(f"dL/d{pre_name}", grad * local)
                order = "nru"
                if t > 1:
                    add(h_prev_name, dh_prev_mix + dh_prev_reset)
            for q in order:
                pre = d_pre[q]
                if q == "n" and not lstm:
                    contribute("W_n", l, t, outer(pre, below))
                    if cell.reset == "before":
                        contribute("U_n", l, t, outer(pre, get(names.reset(t, l)[0])))
                        contribute("b_n", l, t, pre)
                    else:
                        contribute("b_n", l, t, pre)
                        d_m = get(f"dL/d{names.reset(t, l)[0]}")
                        contribute("U_n", l, t, outer(d_m, h_prev))
                        contribute("b_hn", l, t, d_m)
                    below_grad = mv_t(P[("W_n", l)], pre)
                else:
                    contribute(f"W_{q}", l, t, outer(pre, below))
                    contribute(f"U_{q}", l, t, outer(pre, h_prev))
                    contribute(f"b_{q}", l, t, pre)
                    below_grad = mv_t(P[(f"W_{q}", l)], pre)
                    if t > 1:
                        add(h_prev_name, mv_t(P[(f"U_{q}", l)], pre))
                if l > 1:
                    add(below_name, below_grad)
    _updates(ref, env, {k: v for k, v in gradients.items()})
