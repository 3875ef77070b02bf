"""Substitution rules and cell-by-cell lines for the convolutional layers.

A convolution step holds whole feature maps, so its generic substituted line is ``x * k`` with
both matrices written out; what a student needs in addition is one cell done by hand (the input
patch times the kernel, summed) and the same for every pooling window. Those lines are built here
from the values of the steps; the cell's value printed after them is the step's own value, never
recomputed. The layers' records (the convolution's kernel, stride and padding; the pooling's chosen
cells) say how each cell is made. The rules for size formulas and for the kernel gradient's terms live
here too.
"""

from __future__ import annotations

import numpy as np

from symderiv.numbers import ZERO, Num
from symderiv.render import latexnum
from symderiv.render.substitute import (Context, Formula, generic_with, index_symbol, latex_width,
                                        split_sum, substitute_pattern, symbolic_line)
from symderiv.layers.feedforward import Activation, Conv2D, Dropout, Pool
from symderiv.ops.conv import pool_windows as windows_of
from symderiv.steps import Derivation, Step

#: Products written out for one convolution cell before the middle ones are elided.
MAX_PRODUCTS = 12
#: Cells (or pooling windows) listed one by one; beyond that the first few and a note.
MAX_CELLS = 16


# -- shapes ---------------------------------------------------------------------------------------
def maps(value: np.ndarray, channels: int | None = None) -> np.ndarray:
    """A feature map or image as (channels, rows, columns)."""
    if value.ndim == 2:
        return value.reshape((1,) + value.shape)
    return value


def kernels(value: np.ndarray, conv: Conv2D) -> np.ndarray:
    """The kernel as (filters, channels, rows, columns), whatever shape the spec wrote it in."""
    return value.reshape((conv.filters, conv.channels) + tuple(conv.kernel_size))


def cell_label(f: int, i: int, j: int, filters: int) -> str:
    """1-based index of a map cell: ``11``, ``2,13`` (filter 2), ``10,3`` (two digits need a comma)."""
    ij = f"{i + 1}{j + 1}" if i < 9 and j < 9 else f"{i + 1},{j + 1}"
    return ij if filters == 1 else f"{f + 1},{ij}"


def _num(num: Num, digits: int) -> latexnum.TexValue:
    return latexnum.scalar(num, digits)


def _factor(num: Num, digits: int) -> tuple[str, bool]:
    v = _num(num, digits)
    return (rf"\left({v.latex}\right)" if v.negative or v.scientific else v.latex), v.exact


def _value_rel(num: Num, digits: int, inputs_exact: bool) -> str:
    v = _num(num, digits)
    return ("=" if v.exact and inputs_exact else r"\approx") + " " + v.latex


# -- one convolution cell ------------------------------------------------------------------------------
def conv_cell(d: Derivation, step: Step, f: int, i: int, j: int, digits: int) -> tuple[str, int, bool]:
    """(LaTeX sum of products, number of products, all exact) for output cell (f, i, j) of a convolution."""
    conv = d.layer(step.owner)
    x = maps(d[conv.input].value)
    k = kernels(d[conv.kernel.name].value, conv)
    stride, (top, _bottom, left, _right) = conv.stride, conv.pads
    C, R, W = x.shape
    _, _, n, m = k.shape
    terms, exact = [], True
    for c in range(C):
        for u in range(n):
            for v in range(m):
                r, s = i * stride + u - top, j * stride + v - left
                xv = x[c, r, s] if 0 <= r < R and 0 <= s < W else ZERO
                a, ea = _factor(xv, digits)
                b, eb = _factor(k[f, c, u, v], digits)
                exact &= ea and eb
                terms.append(rf"{a} \cdot {b}")
    count = len(terms)
    if count > MAX_PRODUCTS:
        terms = terms[:4] + [r"\dots"] + terms[-3:]
    text = " + ".join(terms)
    if conv.bias is not None:
        bias = d[conv.bias.name].value
        bv = bias.flat[f] if bias.size > 1 else bias.flat[0]
        b, eb = _factor(bv, digits)
        exact &= eb
        text += f" + {b}"
    return text, count, exact


def conv_cells(d: Derivation, step: Step, digits: int) -> tuple[list[tuple[str, str, str, int]], str]:
    """Lines ``h_{ij} = x·k + ... = value`` for the cells of a convolution, and a note if some are left out."""
    value = step.value
    filters = value.shape[0]
    cells = list(np.ndindex(value.shape))
    lines = []
    for f, i, j in cells[:MAX_CELLS]:
        text, _count, exact = conv_cell(d, step, f, i, j, digits)
        lhs = index_symbol(step.symbol, cell_label(f, i, j, filters))
        lines.append((lhs, "=", rf"{text} {_value_rel(value[f, i, j], digits, exact)}", 1))
    note = ""
    if len(cells) > MAX_CELLS:
        note = (f"The other {len(cells) - MAX_CELLS} cells are computed the same way, "
                "with the kernel moved by the stride.")
    return lines, note


# -- pooling windows --------------------------------------------------------------------------------
def pool_windows(pool: Pool, shape: tuple[int, int, int]):
    """Per output cell (c, i, j), row-major: the cells of its window, row-major."""
    return windows_of(shape, tuple(pool.size), pool.stride)


def pool_cells(d: Derivation, step: Step, digits: int) -> tuple[list[tuple[str, str, str, int]], str]:
    """Lines ``h''_{ij} = max(a, b, c, d) = value`` for every pooling window."""
    pool = d.layer(step.owner)
    h = maps(d[pool.input].value)
    out = step.value
    filters = out.shape[0]
    chosen = [tuple(c) for c in pool.chosen]
    lines = []
    windows = list(pool_windows(pool, h.shape))
    for n_window, ((c, i, j), cells) in enumerate(windows[:MAX_CELLS]):
        entries, exact = [], True
        for cell in cells:
            v = _num(h[cell], digits)
            exact &= v.exact
            text = v.latex
            if pool.mode == "max" and n_window < len(chosen) and cell == chosen[n_window]:
                text = rf"\boldsymbol{{{text}}}"
            entries.append(text)
        if pool.mode == "max":
            rhs = r"\max\left(" + ", ".join(entries) + r"\right)"
        else:
            rhs = rf"\frac{{1}}{{{len(cells)}}}\left(" + " + ".join(entries) + r"\right)"
        lhs = index_symbol(step.symbol, cell_label(c, i, j, filters))
        lines.append((lhs, "=", f"{rhs} {_value_rel(out[c, i, j], digits, exact)}", 1))
    note = ""
    if len(windows) > MAX_CELLS:
        note = f"The other {len(windows) - MAX_CELLS} windows are pooled the same way."
    return lines, note


# -- substitution rules ------------------------------------------------------------------------------
def _axes_rule(step: Step, ctx: Context) -> Formula:
    """Output-size formulas (conv_size, pool_size): one line per axis, or one when both axes agree."""
    arrays = [ctx.derivation[i].value for i in step.inputs]
    per_axis = []
    for axis in range(step.value.size):
        vals = [a.flat[axis] if a.size > 1 else a.flat[0] for a in arrays]
        text, used = substitute_pattern(step.formula, lambda i, t, vals=vals: latexnum.scalar(vals[i], ctx.digits))
        per_axis.append((text, latexnum.scalar(step.value.flat[axis], ctx.digits).latex))
    symbolic = symbolic_line(step, ctx)
    axes = step.axes or ("rows", "columns")
    if all(p == per_axis[0] for p in per_axis):
        text, result = per_axis[0]
        size = r" \times ".join([result] * len(per_axis))
        lines = [("", "=", text, 1), ("", "=", rf"{result} \qquad \left(\text{{{' and '.join(axes)}: }} {size}\right)", 1)]
    else:
        lines = []
        for (text, result), axis in zip(per_axis, axes):
            lines.append((rf"\text{{{axis}}}", "=", rf"{text} = {result}", 1))
    return Formula(symbolic, [], True, 1, max(latex_width(t) for t, _ in per_axis), lines=lines)


def _kernel_grad_parts(step: Step, ctx: Context) -> Formula:
    """One line per output cell whose gradient is not zero: its gradient times its input patch."""
    d = ctx.derivation
    conv = d.layer(step.owner)
    grad, x_name, kernel = step.inputs[:3]
    g = d[grad].value
    x = maps(d[x_name].value)
    k_shape = kernels(d[kernel].value, conv).shape
    stride, (top, _bottom, left, _right) = conv.stride, conv.pads
    C, R, W = x.shape
    F, _, n, m = k_shape
    positions = [tuple(p) for p in conv.positions]
    nonzero = list(conv.nonzero)
    lines = []
    for p in nonzero[:MAX_CELLS]:
        f, i, j = positions[p]
        patch = np.empty((C, n, m), dtype=object)
        for c, u, v in np.ndindex(C, n, m):
            r, s = i * stride + u - top, j * stride + v - left
            patch[c, u, v] = x[c, r, s] if 0 <= r < R and 0 <= s < W else ZERO
        gv = latexnum.scalar(g[f, i, j], ctx.digits)
        pv = latexnum.tensor(patch, ctx.digits)
        part = latexnum.tensor(step.value[p], ctx.digits)
        g_text = rf"\left({gv.latex}\right)" if gv.negative or gv.scientific else gv.latex
        rel = "=" if (gv.exact and pv.exact and part.exact) else r"\approx"
        label = cell_label(f, i, j, F)
        lhs = step.symbol.replace("{ij}", f"{{{label}}}")
        lines.append((lhs, "=", rf"{g_text} \cdot {pv.latex} {rel} {part.latex}", max(pv.rows, part.rows)))
    return Formula(symbolic_line(step, ctx), [], True, 3, 0.0, lines=lines,
                   note=_zero_note(len(positions) - len(nonzero), len(nonzero) - min(len(nonzero), MAX_CELLS),
                                   _zeroing_layers(d, conv)))


def _zeroing_layers(d: Derivation, conv: Conv2D) -> list[str]:
    """What between this convolution and the next one (or the loss) can stop a cell's gradient: the
    words for it, going back from the loss, with "{them}" for the cells ("the activation blocked {them}")."""
    after = list(d.layers)[list(d.layers).index(conv) + 1:]
    reasons = []
    for layer in after:
        if isinstance(layer, Conv2D):
            break
        if isinstance(layer, Pool) and layer.mode == "max":
            reasons.append("the pooling did not choose {them}")
        elif isinstance(layer, Activation):
            reasons.append("the activation blocked {them}")
        elif isinstance(layer, Dropout):
            reasons.append("the dropout dropped {them}")
    return list(dict.fromkeys(reversed(reasons)))


def _zero_note(zeros: int, unlisted: int, reasons: list[str]) -> str:
    """The sentence under the terms: the cells left out (gradient exactly 0, and why) and those not listed."""
    parts = []
    if zeros:
        them = "them" if zeros > 1 else "it"
        why = f" ({', or '.join(r.format(them=them) for r in reasons)})" if reasons else ""
        parts.append(f"At the other {zeros} output cells the gradient is exactly 0{why}, so their terms vanish."
                     if zeros > 1 else f"At the other output cell the gradient is exactly 0{why}, so its term vanishes.")
    if unlisted:
        parts.append(f"{unlisted} more non-zero terms are formed the same way." if unlisted > 1 else
                     "1 more non-zero term is formed the same way.")
    return " ".join(parts)


def _kernel_grad(step: Step, ctx: Context) -> Formula:
    """The kernel gradient as the sum of the non-zero terms listed on the step before."""
    d = ctx.derivation
    conv = d.layer(step.owner)
    if not conv.parts or conv.parts not in d:
        return generic_with(step, ctx, step.formula)
    parts = d[conv.parts]
    nonzero = list(conv.nonzero)
    values = [latexnum.tensor(parts.value[p], ctx.digits) for p in nonzero]
    if not values:
        return Formula(symbolic_line(step, ctx), ["0"], True, 1, 1.0)
    text = " + ".join(v.latex for v in values)
    rows = max(v.rows for v in values)
    return Formula(symbolic_line(step, ctx), split_sum(text, values, ctx.max_width), all(v.exact for v in values),
                   rows, latex_width(text))


def _bias_grad(step: Step, ctx: Context) -> Formula:
    """Each filter's bias gradient: the sum of its map's gradient cells (the non-zero ones written out)."""
    g = maps(ctx.derivation[step.inputs[0]].value)
    sums, exact = [], True
    for f in range(g.shape[0]):
        entries = [latexnum.scalar(n, ctx.digits) for n in g[f].flat if not n.is_zero]
        exact &= all(e.exact for e in entries)
        text = " + ".join(rf"\left({e.latex}\right)" if e.negative and k else e.latex for k, e in enumerate(entries))
        sums.append(text or "0")
    line = sums[0] if len(sums) == 1 else r"\left(" + r",\ ".join(sums) + r"\right)"
    return Formula(symbolic_line(step, ctx), [line], exact, 1, latex_width(line))


def _dropout(step: Step, ctx: Context) -> Formula:
    return generic_with(step, ctx, r"\frac{{1}}{{1 - {2}}} \left({1} \odot {0}\right)")


def _dropout_prime(step: Step, ctx: Context) -> Formula:
    return generic_with(step, ctx, r"\frac{{1}}{{1 - {1}}} {0}")


# op -> rule(step, ctx) -> Formula (merged into symderiv.render.substitute.SUBSTITUTIONS)
CNN_SUBSTITUTIONS = {
    "conv_size": _axes_rule,
    "conv_size_pads": _axes_rule,
    "pool_size": _axes_rule,
    "conv2d_kernel_grad_parts": _kernel_grad_parts,
    "conv2d_kernel_grad": _kernel_grad,
    "conv2d_bias_grad": _bias_grad,
    "dropout": _dropout,
    "dropout_prime": _dropout_prime,
}
