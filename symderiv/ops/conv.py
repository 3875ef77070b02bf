"""Convolution, pooling, dropout and flatten: forward rules, their backward rules, and output sizes.

Feature maps are (channel, row, column) and kernels (filter, channel, n, m); a one-channel image may be
a plain matrix and a one-filter, one-channel kernel a plain n × m matrix: they are viewed as 3-d/4-d
here, and every gradient comes back in its parameter's own shape. Exact zeros (padding, cells masked by
ReLU or not chosen by max pooling) are skipped.
"""

from __future__ import annotations


import numpy as np
import sympy

from symderiv import tensors
from symderiv.numbers import ONE, Num
from symderiv.ops.core import G, Local, Op, Vjp
from symderiv.ops.linear import exact_arrays as _exact_arrays


def _sym_apply(name):
    return lambda *args: sympy.Function(name)(*args)


def _int_of(array: np.ndarray) -> int:
    return int(tensors.as_scalar(array).exact)


def _pair_of(array: np.ndarray) -> tuple[int, int]:
    return tuple(int(n.exact) for n in array.flat)


def _maps(x: np.ndarray) -> np.ndarray:
    return x.reshape((1,) + x.shape) if x.ndim == 2 else x


def _kernels(k: np.ndarray) -> np.ndarray:
    return k.reshape((1, 1) + k.shape) if k.ndim == 2 else k


def conv_output_size(size: int, kernel: int, padding: int, stride: int, padding_after: int | None = None) -> int:
    """⌊(X + 2P − K)/S⌋ + 1: the number of kernel positions along one axis (``padding_after``: a different
    padding at the end of the axis, as "same" padding with an even kernel needs)."""
    after = padding if padding_after is None else padding_after
    return (size + padding + after - kernel) // stride + 1


def pads_of(padding: np.ndarray) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) from a padding step: P on every side, or the four given."""
    values = [int(n.exact) for n in padding.flat]
    return tuple(values * 4) if len(values) == 1 else tuple(values)


def _conv_size(size_x, size_k, padding, stride) -> np.ndarray:
    S = _int_of(stride)
    top, bottom, left, right = pads_of(padding)
    return tensors.tensor([Num.rational(conv_output_size(int(x.exact), int(k.exact), before, S, after))
                           for x, k, (before, after) in zip(size_x.flat, size_k.flat, ((top, bottom), (left, right)))])


def _conv_size_pads(size_x, size_k, before, after, stride) -> np.ndarray:
    """⌊(X + P⁻ + P⁺ − K)/S⌋ + 1 per axis, with the padding before and after the axis."""
    S = _int_of(stride)
    return tensors.tensor([Num.rational(conv_output_size(int(x.exact), int(k.exact), int(b.exact), S, int(a.exact)))
                           for x, k, b, a in zip(size_x.flat, size_k.flat, before.flat, after.flat)])


def _pool_size(size_h, size_p, stride) -> np.ndarray:
    S = _int_of(stride)
    return tensors.tensor([Num.rational(conv_output_size(int(h.exact), int(p.exact), 0, S))
                           for h, p in zip(size_h.flat, size_p.flat)])


def _patch(i: int, j: int, u: int, v: int, S: int, P: tuple) -> tuple[int, int]:
    """The input cell (row, column) that kernel entry (u, v) meets at output position (i, j); P is the padding
    (top, bottom, left, right)."""
    return i * S + u - P[0], j * S + v - P[2]


def _conv(x, k, bias, stride, padding) -> np.ndarray:
    """Cross-correlation, as frameworks compute it: h[f,i,j] = Σ_{c,u,v} x[c, iS+u−P, jS+v−P] k[f,c,u,v] + b_f."""
    S, P = _int_of(stride), pads_of(padding)
    x3, k4 = _maps(x), _kernels(k)
    given = [x3, k4] + ([bias] if bias is not None else [])
    arrays, is_zero, to_num, zero = _exact_arrays(*given)
    xs, ks = arrays[0], arrays[1]
    biases = list(arrays[2].flat) if bias is not None else None
    C, R, W = x3.shape
    F, _, n, m = k4.shape
    out = np.empty((F, conv_output_size(R, n, P[0], S, P[1]), conv_output_size(W, m, P[2], S, P[3])), dtype=object)
    for f, i, j in np.ndindex(out.shape):
        total = zero
        for c in range(C):
            for u in range(n):
                for v in range(m):
                    r, s = _patch(i, j, u, v, S, P)
                    if 0 <= r < R and 0 <= s < W:
                        a, w = xs[c, r, s], ks[f, c, u, v]
                        if not (is_zero(a) or is_zero(w)):
                            total = total + a * w
        if biases is not None:
            total = total + biases[f]
        out[f, i, j] = to_num(total)
    return out


def _conv_kernel_grad(g, x, k, stride, padding) -> np.ndarray:
    """∂L/∂k[f,c,u,v] = Σ_{i,j} ∂L/∂h[f,i,j] · x[c, iS+u−P, jS+v−P]: each output cell's gradient times its patch."""
    return _kernel_grad_terms(g, x, k, stride, padding, per_position=False)


def _conv_kernel_grad_parts(g, x, k, stride, padding) -> np.ndarray:
    """The terms of that sum, one kernel-shaped tensor per output position (f, i, j), row-major."""
    return _kernel_grad_terms(g, x, k, stride, padding, per_position=True)


def _kernel_grad_terms(g, x, k, stride, padding, per_position: bool) -> np.ndarray:
    S, P = _int_of(stride), pads_of(padding)
    x3, k4 = _maps(x), _kernels(k)
    (gs, xs), is_zero, to_num, zero = _exact_arrays(g, x3)
    C, R, W = x3.shape
    F, _, n, m = k4.shape
    positions = list(np.ndindex(g.shape))
    acc = np.full((len(positions) if per_position else 1,) + k4.shape, zero, dtype=object)
    for p, (f, i, j) in enumerate(positions):
        weight = gs[f, i, j]
        if is_zero(weight):
            continue
        slot = acc[p if per_position else 0, f]
        for c in range(C):
            for u in range(n):
                for v in range(m):
                    r, s = _patch(i, j, u, v, S, P)
                    if 0 <= r < R and 0 <= s < W and not is_zero(xs[c, r, s]):
                        slot[c, u, v] = slot[c, u, v] + weight * xs[c, r, s]
    out = np.empty(acc.shape, dtype=object)
    for index, value in np.ndenumerate(acc):
        out[index] = to_num(value)
    return out.reshape((len(positions),) + k.shape) if per_position else out.reshape(k.shape)


def _conv_input_grad(g, k, x, stride, padding) -> np.ndarray:
    """∂L/∂x[c,r,s] = Σ ∂L/∂h[f,i,j] · k[f,c,u,v] over the (f,i,j,u,v) whose patch cell is (r, s)."""
    S, P = _int_of(stride), pads_of(padding)
    x3, k4 = _maps(x), _kernels(k)
    (gs, ks), is_zero, to_num, zero = _exact_arrays(g, k4)
    C, R, W = x3.shape
    F, _, n, m = k4.shape
    acc = np.full(x3.shape, zero, dtype=object)
    for f, i, j in np.ndindex(g.shape):
        weight = gs[f, i, j]
        if is_zero(weight):
            continue
        for c in range(C):
            for u in range(n):
                for v in range(m):
                    r, s = _patch(i, j, u, v, S, P)
                    if 0 <= r < R and 0 <= s < W and not is_zero(ks[f, c, u, v]):
                        acc[c, r, s] = acc[c, r, s] + weight * ks[f, c, u, v]
    return tensors.elementwise(to_num, acc).reshape(x.shape)


def _conv_bias_grad(g, bias) -> np.ndarray:
    """∂L/∂b_f = Σ_{i,j} ∂L/∂h[f,i,j]: the bias meets every output cell of its filter with weight 1."""
    (gs,), _is_zero, to_num, zero = _exact_arrays(g)
    sums = [to_num(sum(gs[f].flat, zero)) for f in range(g.shape[0])]
    return tensors.tensor(sums[0] if bias.shape == () else sums)


def pool_windows(shape: tuple[int, int, int], size: tuple[int, int], stride: int):
    """Per output cell (c, i, j), row-major: the input cells of its window, row-major."""
    C, R, W = shape
    p, q = size
    for c, i, j in np.ndindex(C, conv_output_size(R, p, 0, stride), conv_output_size(W, q, 0, stride)):
        yield (c, i, j), [(c, i * stride + u, j * stride + v) for u in range(p) for v in range(q)]


def pool_choices(h: np.ndarray, size: tuple[int, int], stride: int) -> tuple[list, list]:
    """(arg-max cell per output cell, output cells whose maximum is tied): the first maximum in row-major
    order wins, as common frameworks choose; values compare at 60 digits (exact ties stay ties)."""
    chosen, ties = [], []
    for out_cell, cells in pool_windows(h.shape, size, stride):
        best = cells[0]
        for cell in cells[1:]:
            if h[cell].approx > h[best].approx:
                best = cell
        chosen.append(best)
        if sum(1 for cell in cells if h[cell].approx == h[best].approx) > 1:
            ties.append(out_cell)
    return chosen, ties


def _pool_out(h, size, stride) -> tuple[np.ndarray, tuple, int]:
    p, q = _pair_of(size)
    S = _int_of(stride)
    C, R, W = h.shape
    return np.empty((C, conv_output_size(R, p, 0, S), conv_output_size(W, q, 0, S)), dtype=object), (p, q), S


def _max_pool(h, size, stride) -> np.ndarray:
    out, pq, S = _pool_out(h, size, stride)
    chosen, _ties = pool_choices(h, pq, S)
    for index, cell in zip(np.ndindex(out.shape), chosen):
        out[index] = h[cell]
    return out


def _max_pool_route(g, h, size, stride) -> np.ndarray:
    """∂L/∂h' from ∂L/∂h'': each output cell's gradient goes to its arg-max cell (summed where windows overlap)."""
    p, q = _pair_of(size)
    chosen, _ties = pool_choices(h, (p, q), _int_of(stride))
    out = tensors.zeros(h.shape)
    for index, cell in zip(np.ndindex(g.shape), chosen):
        out[cell] = out[cell] + g[index]
    return out


def _avg_pool(h, size, stride) -> np.ndarray:
    out, (p, q), S = _pool_out(h, size, stride)
    (hs,), _is_zero, to_num, zero = _exact_arrays(h)
    for out_cell, cells in pool_windows(h.shape, (p, q), S):
        out[out_cell] = to_num(sum((hs[cell] for cell in cells), zero) / (p * q))
    return out


def _avg_pool_spread(g, h, size, stride) -> np.ndarray:
    """∂L/∂h' from ∂L/∂h'': each output cell's gradient spread equally, 1/(pq) to every cell of its window."""
    p, q = _pair_of(size)
    share = ONE / Num.rational(p * q)
    out = tensors.zeros(h.shape)
    for out_cell, cells in pool_windows(h.shape, (p, q), _int_of(stride)):
        part = g[out_cell] * share
        for cell in cells:
            out[cell] = out[cell] + part
    return out


def _dropout(h, mask, p) -> np.ndarray:
    """Inverted dropout with a given mask: h ⊙ m / (1 − p), so the expected activation is unchanged."""
    scale = ONE / (ONE - tensors.as_scalar(p))
    return tensors.elementwise(lambda v, keep: v * keep * scale, h, mask)


def _dropout_prime(mask, p) -> np.ndarray:
    """∂(dropout)/∂h = m / (1 − p), elementwise: 1/(1 − p) where the cell is kept, 0 where dropped."""
    scale = ONE / (ONE - tensors.as_scalar(p))
    return tensors.elementwise(lambda keep: keep * scale, mask)


def _flatten(h) -> np.ndarray:
    """Row-major: channel by channel, each channel row by row (as numpy and PyTorch flatten (C, H, W))."""
    return h.reshape(-1).copy()


def _unflatten(g, like) -> np.ndarray:
    """The gradient of a flattened vector put back in the shape of the map it was flattened from."""
    return g.reshape(like.shape).copy()


_CONV_VJPS = (Vjp("conv2d_input_grad", (G, 1, 0, 2, 3)), Vjp("conv2d_kernel_grad", (G, 0, 1, 2, 3)), None, None)
_CONV_BIAS_VJPS = (Vjp("conv2d_input_grad", (G, 1, 0, 3, 4)), Vjp("conv2d_kernel_grad", (G, 0, 1, 3, 4)),
                   Vjp("conv2d_bias_grad", (G, 2)), None, None)

CONV_OPS: dict[str, Op] = {
    "conv_size": Op(_conv_size, r"\left\lfloor \frac{{{0} + 2 {2} - {1}}}{{{3}}} \right\rfloor + 1",
                    _sym_apply("conv_size"), (), "size", "⌊({0} + 2 {2} − {1}) / {3}⌋ + 1"),
    "conv_size_pads": Op(_conv_size_pads,
                         r"\left\lfloor \frac{{{0} + {2} + {3} - {1}}}{{{4}}} \right\rfloor + 1",
                         _sym_apply("conv_size_pads"), (), "size", "⌊({0} + {2} + {3} − {1}) / {4}⌋ + 1"),
    "pool_size": Op(_pool_size, r"\left\lfloor \frac{{{0} - {1}}}{{{2}}} \right\rfloor + 1", _sym_apply("pool_size"),
                    (), "size", "⌊({0} − {1}) / {2}⌋ + 1"),
    "conv2d": Op(lambda x, k, s, p: _conv(x, k, None, s, p), r"{0} \ast {1}", _sym_apply("conv2d"), _CONV_VJPS,
                 "conv", "{0} ∗ {1}"),
    "conv2d_bias": Op(_conv, r"{0} \ast {1} + {2}", _sym_apply("conv2d"), _CONV_BIAS_VJPS, "conv", "{0} ∗ {1} + {2}"),
    "conv2d_kernel_grad": Op(_conv_kernel_grad,
                             r"\sum_{{i,j}} \left({0}\right)_{{ij}}\, \operatorname{{patch}}_{{ij}}\left({1}\right)",
                             _sym_apply("conv2d_kernel_grad"), (), "conv-backward",
                             "{1} ∗ {0}"),
    "conv2d_kernel_grad_parts": Op(_conv_kernel_grad_parts,
                                   r"\left({0}\right)_{{ij}}\, \operatorname{{patch}}_{{ij}}\left({1}\right)",
                                   _sym_apply("conv2d_kernel_grad_parts"), (), "conv-backward",
                                   "{0} · patch of {1}"),
    "conv2d_input_grad": Op(_conv_input_grad,
                            r"\sum_{{f,i,j}} \left({0}\right)_{{fij}}\, \operatorname{{place}}_{{ij}}\left({1}_{{f}}\right)",
                            _sym_apply("conv2d_input_grad"), (), "conv-backward",
                            "{0} full-convolved with the flipped {1}"),
    "conv2d_bias_grad": Op(_conv_bias_grad, r"\sum_{{i,j}} \left({0}\right)_{{f,i,j}}", _sym_apply("conv2d_bias_grad"),
                           (), "conv-backward", "Σ {0}"),
    "max_pool": Op(_max_pool, r"\operatorname{{maxpool}}\left({0}\right)", _sym_apply("max_pool"),
                   (Vjp("max_pool_route", (G, 0, 1, 2)), None, None), "pool", "maxpool({0})"),
    "max_pool_route": Op(_max_pool_route, r"\operatorname{{route}}_{{\arg\max}}\left({0}\right)",
                         _sym_apply("max_pool_route"), (), "pool-backward",
                         "{0} routed to the largest cell of each window of {1}"),
    "avg_pool": Op(_avg_pool, r"\operatorname{{avgpool}}\left({0}\right)", _sym_apply("avg_pool"),
                   (Vjp("avg_pool_spread", (G, 0, 1, 2)), None, None), "pool", "avgpool({0})"),
    "avg_pool_spread": Op(_avg_pool_spread, r"\operatorname{{spread}}\left({0}\right)", _sym_apply("avg_pool_spread"),
                          (), "pool-backward", "{0} spread evenly over each window of {1}"),
    "dropout": Op(_dropout, r"\frac{{{1} \odot {0}}}{{1 - {2}}}", _sym_apply("dropout"),
                  (Vjp("hadamard", (G, Local("dropout_prime", (1, 2)))), None, None), "dropout", "{1} ⊙ {0} / (1 − {2})"),
    "dropout_prime": Op(_dropout_prime, r"\frac{{{0}}}{{1 - {1}}}", _sym_apply("dropout_prime"), (),
                        "dropout-derivative", "{0} / (1 − {1})"),
    "flatten": Op(_flatten, r"\operatorname{{flatten}}\left({0}\right)", _sym_apply("flatten"),
                  (Vjp("unflatten", (G, 0)),), "reshape", "flatten({0})"),
    "unflatten": Op(_unflatten, r"\operatorname{{reshape}}\left({0}\right)", _sym_apply("reshape"), (), "reshape",
                    "{0} reshaped like {1}"),
}
