"""A one-convolution network, layer by layer: set-up, output sizes, forward, loss, backward, update.

Steps are whole tensors (``h`` is every feature map, filters × rows × columns), never one step per
cell; the meta of each layer step says how a single cell is made (the convolution's input, kernel,
stride and padding; the pooling window's arg-max cell and its ties), so a renderer can show any cell
as the slides teach without computing it. The backward pass follows the slides: ∂L/∂z, the dense
gradients as outer products, ∂L/∂h''' = Wᵀ ∂L/∂z, reshaped to the pooled map, routed back through
the pooling, masked by the activation, and the kernel gradient as the sum over output positions of
∂L/∂h[i,j] times the input patch.
"""

from __future__ import annotations

import numpy as np

from symderiv.models.cnn_spec import CNNSpec
from symderiv.numbers import Num
from symderiv.ops import ACTIVATIONS, activation_prime_pattern, pool_choices
from symderiv.steps import Builder, Derivation, Kind

#: Per-position kernel-gradient terms are kept as a step while there are at most this many
#: output positions (filters × rows × columns); beyond that only their sum is.
MAX_LISTED_POSITIONS = 36

LOSS_OPS = {"mse": "mse", "sse": "sse", "cross_entropy": "cross_entropy", "bce": "bce_sum", "bce_mean": "bce_mean"}
LOSS_GRAD_OPS = {"mse": "mse_grad", "sse": "sse_grad", "cross_entropy": "cross_entropy_grad",
                 "bce": "bce_sum_grad", "bce_mean": "bce_mean_grad"}
FUSED = {("softmax", "cross_entropy"): "fused_output_grad", ("sigmoid", "bce"): "fused_output_grad",
         ("sigmoid", "bce_mean"): "fused_output_grad_mean"}

# plain name -> LaTeX symbol of the layer outputs (the slides' h, h', h'', h''')
SYMBOLS = {"x": "x", "h": "h", "h'": "h'", "h''": "h''", "h_drop": r"\tilde{h}''", "h'''": "h'''", "z": "z",
           "yhat": r"\hat{y}", "y": "y"}


def d(num: str, den: str) -> str:
    """LaTeX of a partial derivative ∂num/∂den."""
    return rf"\frac{{\partial {num}}}{{\partial {den}}}"


def _nums(nested):
    if isinstance(nested, list):
        return [_nums(v) for v in nested]
    return Num.rational(nested)


def _escaped(latex: str) -> str:
    return latex.replace("{", "{{").replace("}", "}}")


def derive_cnn(spec: CNNSpec) -> Derivation:
    """All steps of the example: set-up, output sizes, forward, loss, backward, update."""
    b = Builder()
    L = spec.notation.loss
    sym = dict(SYMBOLS)
    names = spec.names
    k, W, bias = names["k"], names["W"], names["b"]
    b_conv = names.get("b_conv")
    psym = spec.notation.symbols
    sym.update({name: psym[name] for name in names.values()})
    if spec.pooling is None:
        sym["h_drop"] = r"\tilde{h}'"

    # -- set-up: what the example gives ---------------------------------------------------
    b.given("x", "x", Kind.INPUT, _nums(spec.image), meta={"channels": spec.channels})
    for role in ("k", "b_conv", "W", "b"):
        if role in names:
            name = names[role]
            b.given(name, psym[name], Kind.PARAMETER, _nums(spec.parameters[name]), meta={"role": role})
    b.given("y", "y", Kind.INPUT, _nums(spec.target))
    b.given("eta", spec.notation.learning_rate, Kind.CONSTANT, Num.rational(spec.learning_rate))
    b.given("stride", "S", Kind.CONSTANT, Num.rational(spec.stride))
    b.given("padding", "P", Kind.CONSTANT, Num.rational(spec.padding))
    b.given("size(x)", "X", Kind.CONSTANT, _nums(list(spec.input_size)), meta={"axes": ("rows", "columns")})
    b.given("size(k)", "K", Kind.CONSTANT, _nums(list(spec.kernel_size)), meta={"axes": ("rows", "columns")})
    if spec.pooling:
        b.given("pool_size", r"K_{\mathrm{pool}}", Kind.CONSTANT, _nums(list(spec.pooling.size)),
                meta={"axes": ("rows", "columns")})
        b.given("pool_stride", r"S_{\mathrm{pool}}", Kind.CONSTANT, Num.rational(spec.pooling.stride))
    if spec.dropout:
        b.given("dropout_p", "p", Kind.CONSTANT, Num.rational(spec.dropout.p))
        b.given("dropout_mask", "m", Kind.CONSTANT, _nums(spec.dropout.mask),
                note="The dropout mask is given, so the example is deterministic: 1 keeps a cell, 0 drops it.")

    # -- output sizes ---------------------------------------------------------------------
    size_h = b.compute("size(h)", "H", Kind.SIZE, "conv_size", ["size(x)", "size(k)", "padding", "stride"],
                       meta={"axes": ("rows", "columns")},
                       note="Output size along each axis: the number of positions the kernel takes.")
    assert tuple(int(n.exact) for n in size_h.value.flat) == spec.conv_size
    if spec.pooling:
        size_p = b.compute("size(h'')", r"H_{\mathrm{pool}}", Kind.SIZE, "pool_size",
                           ["size(h)", "pool_size", "pool_stride"], meta={"axes": ("rows", "columns")},
                           note="The pooling window slides without padding.")
        assert tuple(int(n.exact) for n in size_p.value.flat) == spec.map_size

    # -- forward ---------------------------------------------------------------------------
    conv_meta = {"layer": "conv", "input": "x", "kernel": k, "bias": b_conv, "stride": spec.stride,
                 "padding": spec.padding, "kernel_size": spec.kernel_size, "filters": spec.filters,
                 "channels": spec.channels}
    conv_inputs = ["x", k] + ([b_conv] if b_conv else []) + ["stride", "padding"]
    b.compute("h", "h", Kind.FORWARD, "conv2d_bias" if b_conv else "conv2d", conv_inputs, meta=conv_meta,
              note=("Cross-correlation, as deep-learning frameworks compute it: each output cell is the sum of "
                    "the input patch under the kernel times the kernel, entry by entry"
                    + (", plus the filter's bias." if b_conv else ".")))
    act = spec.activation
    act_latex = _escaped(spec.notation.activation)
    b.compute("h'", "h'", Kind.FORWARD, act, ["h"], meta={"layer": "activation", "activation": act},
              formula="{0}" if act == "identity" else act_latex + r"\left({0}\right)")
    current = "h'"
    if spec.pooling:
        pool = spec.pooling
        chosen, ties = pool_choices(b.value("h'"), pool.size, pool.stride) if pool.mode == "max" else ([], [])
        pool_meta = {"layer": "pool", "mode": pool.mode, "size": pool.size, "stride": pool.stride, "input": "h'",
                     "argmax": chosen, "ties": ties}
        note = ("Each window gives its largest value; on a tie the first maximum in row-major order is taken, "
                "as common frameworks do." if pool.mode == "max" else "Each window gives the mean of its cells.")
        b.compute("h''", "h''", Kind.FORWARD, f"{pool.mode}_pool", ["h'", "pool_size", "pool_stride"],
                  meta=pool_meta, note=note)
        current = "h''"
    if spec.dropout:
        b.compute("h_drop", sym["h_drop"], Kind.FORWARD, "dropout", [current, "dropout_mask", "dropout_p"],
                  meta={"layer": "dropout", "input": current, "mask": [[[int(v) for v in row] for row in plane]
                                                                          for plane in spec.dropout.mask],
                        "p": spec.dropout.p, "scale": 1 / (1 - spec.dropout.p)},
                  note="Inverted dropout: kept cells are scaled by 1/(1 − p), so nothing changes at test time.")
        current = "h_drop"
    b.compute("h'''", "h'''", Kind.FORWARD, "flatten", [current],
              meta={"layer": "flatten", "input": current, "shape": tuple(b.value(current).shape)},
              note="Row-major: the first filter's map row by row, then the next filter's.")
    b.compute("z", "z", Kind.FORWARD, "dense", [W, "h'''", bias], meta={"layer": "dense"})
    prediction = "z"
    if spec.output_activation in ("softmax", "sigmoid"):
        prediction = b.compute("yhat", sym["yhat"], Kind.FORWARD, spec.output_activation, ["z"],
                               meta={"layer": "output"}).name
    b.compute("L", L, Kind.LOSS, LOSS_OPS[spec.loss], [prediction, "y"], meta={"prediction": prediction},
              note=_loss_note(spec.loss))

    # -- backward: output and dense layer --------------------------------------------------
    _backward_output(b, spec, sym)
    dz = d(L, "z")
    b.compute(f"dL/d{W}", d(L, sym[W]), Kind.GRADIENT, "outer", ["dL/dz", "h'''"], chain=(dz, d("z", sym[W])),
              meta={"parameter": W}, note="An outer product: row i is the i-th output's gradient times h'''.")
    b.compute(f"dL/d{bias}", d(L, sym[bias]), Kind.GRADIENT, "copy", ["dL/dz"], chain=(dz, d("z", sym[bias])),
              meta={"parameter": bias})
    b.compute("dL/dh'''", d(L, "h'''"), Kind.BACKWARD, "matvec_t", [W, "dL/dz"], chain=(dz, d("z", "h'''")))

    # -- backward: flatten, dropout, pooling, activation -------------------------------------
    b.compute(f"dL/d{current}", d(L, sym[current]), Kind.BACKWARD, "unflatten", ["dL/dh'''", current],
              chain=(d(L, "h'''"), d("h'''", sym[current])), note="The gradient reshaped back to the map's shape.")
    if spec.dropout:
        below = "h''" if spec.pooling else "h'"
        local = b.compute(f"dh_drop/d{below}", d(sym["h_drop"], sym[below]), Kind.LOCAL, "dropout_prime",
                          ["dropout_mask", "dropout_p"])
        b.compute(f"dL/d{below}", d(L, sym[below]), Kind.BACKWARD, "hadamard", ["dL/dh_drop", local.name],
                  chain=(d(L, sym["h_drop"]), d(sym["h_drop"], sym[below])),
                  note="Dropped cells pass no gradient; kept cells pass it scaled by 1/(1 − p).")
    if spec.pooling:
        pool = spec.pooling
        meta = {"layer": "pool_backward", "mode": pool.mode, "size": pool.size, "stride": pool.stride,
                "input": "dL/dh''", "forward": "h''",
                "argmax": b["h''"].meta["argmax"], "ties": b["h''"].meta["ties"]}
        route = "max_pool_route" if pool.mode == "max" else "avg_pool_spread"
        note = ("Each window's gradient goes to the cell that was its maximum (the first one in row-major order "
                "on a tie); every other cell gets 0, and overlapping windows add up." if pool.mode == "max" else
                f"Each window's gradient is shared equally, 1/{pool.size[0] * pool.size[1]} to each of its cells; "
                "overlapping windows add up.")
        b.compute("dL/dh'", d(L, "h'"), Kind.BACKWARD, route, ["dL/dh''", "h'", "pool_size", "pool_stride"],
                  chain=(d(L, "h''"), d("h''", "h'")), meta=meta, note=note)
    activation = ACTIVATIONS[act]
    local = b.compute("dh'/dh", d("h'", "h"), Kind.LOCAL, f"{act}_prime", ["h"],
                      formula=activation_prime_pattern(act, spec.notation.activation), note=activation.derivative_note)
    b.compute("dL/dh", d(L, "h"), Kind.BACKWARD, "hadamard", ["dL/dh'", local.name],
              chain=(d(L, "h'"), d("h'", "h")),
              note="Only cells where the activation lets the gradient through keep it." if act == "relu" else "")

    # -- backward: convolution ----------------------------------------------------------------
    grad_meta = {"layer": "conv_backward", "input": "x", "kernel": k, "grad_output": "dL/dh", "stride": spec.stride,
                 "padding": spec.padding, "kernel_size": spec.kernel_size}
    positions = spec.filters * spec.conv_size[0] * spec.conv_size[1]
    dh = d(L, "h")
    if positions <= MAX_LISTED_POSITIONS:
        cells = [tuple(int(i) for i in index) for index in np.ndindex(b.value("dL/dh").shape)]
        nonzero = [p for p, cell in enumerate(cells) if not b.value("dL/dh")[cell].is_zero]
        name = f"dL/d{k}(h[i,j])" if spec.filters == 1 else f"dL/d{k}(h[f,i,j])"
        b.compute(name, rf"{d(L, 'h_{ij}')}\, {d('h_{ij}', sym[k])}", Kind.BACKWARD, "conv2d_kernel_grad_parts",
                  ["dL/dh", "x", k, "stride", "padding"], chain=(d(L, "h_{ij}"), d("h_{ij}", sym[k])),
                  meta={**grad_meta, "positions": cells, "nonzero": nonzero},
                  note="One term per output cell: its gradient times the input patch the kernel met there.")
        grad_meta["parts"] = name
    b.compute(f"dL/d{k}", d(L, sym[k]), Kind.GRADIENT, "conv2d_kernel_grad", ["dL/dh", "x", k, "stride", "padding"],
              chain=(rf"\sum_{{i,j}} {d(L, 'h_{ij}')} {d('h_{ij}', sym[k])}",), meta={**grad_meta, "parameter": k},
              note="The sum over output positions of the cell's gradient times the input patch under the kernel.")
    if b_conv:
        b.compute(f"dL/d{b_conv}", d(L, sym[b_conv]), Kind.GRADIENT, "conv2d_bias_grad", ["dL/dh", b_conv],
                  chain=(rf"\sum_{{i,j}} {d(L, 'h_{ij}')} {d('h_{ij}', sym[b_conv])}",),
                  meta={"parameter": b_conv}, note="Each filter's bias meets every cell of its map with weight 1.")
    if spec.input_gradient:
        b.compute("dL/dx", d(L, "x"), Kind.BACKWARD, "conv2d_input_grad", ["dL/dh", k, "x", "stride", "padding"],
                  chain=(rf"\sum_{{i,j}} {d(L, 'h_{ij}')} {d('h_{ij}', 'x')}",), meta=grad_meta,
                  note="Each output cell's gradient times the kernel, placed back on the patch it came from.")

    # -- one gradient-descent step -------------------------------------------------------------
    for step in [s for s in list(b._steps) if s.kind == Kind.PARAMETER]:
        b.compute(f"{step.name}'", f"{step.symbol}'", Kind.UPDATE, "sgd", [step.name, "eta", f"dL/d{step.name}"],
                  meta={"parameter": step.name})

    example = {"name": spec.name, "title": spec.title, "description": spec.description, "kind": "cnn"}
    return b.build(example, spec)


def _loss_note(loss: str) -> str:
    return {
        "cross_entropy": "Categorical cross-entropy: minus the log of the probability given to the target class.",
        "bce": "Binary cross-entropy summed over the output units.",
        "bce_mean": "Binary cross-entropy averaged over the output units.",
        "mse": "Mean squared error over the output units.",
        "sse": "Sum of squared errors over the output units.",
    }[loss]


def _backward_output(b: Builder, spec: CNNSpec, sym: dict) -> None:
    """∂L/∂z through the output activation (the simplified ŷ − y where softmax/sigmoid meet their loss)."""
    L = spec.notation.loss
    key = (spec.output_activation, spec.loss)
    chain = (d(L, sym["yhat"]), d(sym["yhat"], "z"))
    if key in FUSED:
        b.compute("dL/dz", d(L, "z"), Kind.BACKWARD, FUSED[key], ["yhat", "y"], chain=chain,
                  note=(r"With softmax and cross-entropy the Jacobian product simplifies to $\hat{y} - y$."
                        if key[0] == "softmax" else
                        r"With sigmoid outputs and binary cross-entropy the product simplifies to $\hat{y} - y$"
                        + (r", divided by the number of units." if spec.loss == "bce_mean" else ".")))
        return
    grad = LOSS_GRAD_OPS[spec.loss]
    if spec.output_activation == "linear":
        b.compute("dL/dz", d(L, "z"), Kind.BACKWARD, grad, ["z", "y"])
        return
    b.compute("dL/dyhat", d(L, sym["yhat"]), Kind.BACKWARD, grad, ["yhat", "y"])
    if spec.output_activation == "softmax":
        b.compute("dL/dz", d(L, "z"), Kind.BACKWARD, "softmax_vjp", ["yhat", "dL/dyhat"], chain=chain)
    else:
        local = b.compute("dyhat/dz", d(sym["yhat"], "z"), Kind.LOCAL, "sigmoid_prime", ["z"])
        b.compute("dL/dz", d(L, "z"), Kind.BACKWARD, "hadamard", ["dL/dyhat", local.name], chain=chain)
