"""A recurrent layer: a cell run through time (stacked ``levels`` deep) and backpropagation through time.

The cell says what one time step computes (the Elman cell: a_t = W_xh x_t + W_hh h_{t−1} + b_h,
h_t = f(a_t)); the layer unrolls it and runs BPTT once for every cell: going back in time (and down
the stack), the gradient reaching each state is the sum of what arrives from the output, the next
time step and the level above (:meth:`~symderiv.steps.Builder.gradient`), then flows back through the
cell's steps by their operations' own backward rules. What reaches a parameter at time t is a step of
its own (∂L/∂W_hh at t = 3), and the gradient of a parameter is the sum of those over time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from symderiv.layers.base import Layer, Param, at_time, d, nums
from symderiv.steps import Kind


@dataclass
class ElmanCell:
    """a_t = W_xh x_t + W_hh h_{t−1} + b_h, h_t = f(a_t)."""

    activation: str                 # the activation's operation
    activation_symbol: str          # the lecturer's LaTeX for f
    forward_pattern: str
    derivative_pattern: str
    params: tuple = ()              # the activation's parameters: (name, exact value)
    roles: tuple = ("W_xh", "W_hh", "b_h")
    states: tuple = ("h",)

    def forward(self, b, layer: "Recurrent", t: int, level: int, below: str) -> None:
        names = layer.names
        params = [layer.param(role, level).name for role in self.roles]
        a, a_sym = names.a(t, level)
        h, h_sym = names.h(t, level)
        b.compute(a, a_sym, Kind.FORWARD, "recurrent_affine",
                  [params[0], below, params[1], names.h(t - 1, level)[0], params[2]], time=t, layer=level,
                  owner=layer.id, role="pre-activation")
        b.compute(h, h_sym, Kind.FORWARD, self.activation, [a], time=t, layer=level, formula=self.forward_pattern,
                  owner=layer.id, role=_activation_role(self.activation))

    def steps(self, layer: "Recurrent", t: int, level: int) -> list[str]:
        """The cell's steps at (t, level), in forward order (BPTT goes through them backwards)."""
        return [layer.names.a(t, level)[0], layer.names.h(t, level)[0]]

    def local(self, b, step: str, source: str = "") -> dict:
        """How a local derivative through ``step`` (to its input ``source``) is written (the lecturer's f)."""
        return {"formula": self.derivative_pattern, "role": _derivative_role(self.activation)}

    def state_note(self, t: int, T: int) -> str:
        return "recursion through the recurrent weight" if t < T else ""


GATE_WORDS = {"f": "forget gate", "i": "input gate", "g": "candidate", "o": "output gate", "u": "update gate",
              "r": "reset gate", "n": "candidate"}


@dataclass
class LSTMCell:
    """f, i, o = σ(W x_t + U h_{t−1} + b) each, g = tanh(...), c_t = f ⊙ c_{t−1} + i ⊙ g, h_t = o ⊙ tanh(c_t)."""

    sigmoid_pattern: str = r"\sigma\left({0}\right)"
    tanh_pattern: str = r"\tanh\left({0}\right)"
    roles: tuple = ("W_f", "U_f", "b_f", "W_i", "U_i", "b_i", "W_g", "U_g", "b_g", "W_o", "U_o", "b_o")
    states: tuple = ("h", "c")
    activation: str = "lstm"
    params: tuple = ()

    def forward(self, b, layer: "Recurrent", t: int, level: int, below: str) -> None:
        names = layer.names
        h_prev, c_prev = names.h(t - 1, level)[0], names.state("c", t - 1, level)[0]
        gates = {}
        for g in "figo":
            W, U, bias = (layer.param(f"{kind}_{g}", level).name for kind in ("W", "U", "b"))
            pre, pre_sym = names.gate_pre(g, t, level)
            b.compute(pre, pre_sym, Kind.FORWARD, "recurrent_affine", [W, below, U, h_prev, bias], time=t, layer=level,
                      owner=layer.id, role=f"{GATE_WORDS[g]}: pre-activation")
            gate, gate_sym = names.state(g, t, level)
            op, pattern = ("tanh", self.tanh_pattern) if g == "g" else ("sigmoid", self.sigmoid_pattern)
            b.compute(gate, gate_sym, Kind.FORWARD, op, [pre], time=t, layer=level, formula=pattern, owner=layer.id,
                      role=GATE_WORDS[g])
            gates[g] = gate
        c, c_sym = names.state("c", t, level)
        b.compute(c, c_sym, Kind.FORWARD, "gated_sum", [gates["f"], c_prev, gates["i"], gates["g"]], time=t,
                  layer=level, owner=layer.id, role="cell state: kept by the forget gate, written by the input gate")
        squashed, s_sym = names.squashed(t, level)
        b.compute(squashed, s_sym, Kind.FORWARD, "tanh", [c], time=t, layer=level, formula=self.tanh_pattern,
                  owner=layer.id, role="the cell state squashed")
        h, h_sym = names.h(t, level)
        b.compute(h, h_sym, Kind.FORWARD, "hadamard", [gates["o"], squashed], time=t, layer=level, owner=layer.id,
                  role="hidden state: the output gate lets the squashed cell state out")

    def steps(self, layer: "Recurrent", t: int, level: int) -> list[str]:
        names = layer.names
        out = []
        for g in "figo":
            out += [names.gate_pre(g, t, level)[0], names.state(g, t, level)[0]]
        return out + [names.state("c", t, level)[0], names.squashed(t, level)[0], names.h(t, level)[0]]

    def local(self, b, step: str, source: str = "") -> dict:
        op = b[step].op
        if op == "sigmoid":
            return {"formula": r"\sigma\left({0}\right) \left(1 - \sigma\left({0}\right)\right)",
                    "role": "local derivative of the sigmoid"}
        if op == "tanh":
            return {"formula": r"1 - \tanh^{{2}}\left({0}\right)", "role": "local derivative of tanh"}
        if op == "gru_mix":
            kind = _kind(source)
            what = {"u": "the update gate", "n": "the candidate", "h": "the previous state"}.get(kind, "its input")
            return {"role": f"local derivative of the mix with respect to {what}"}
        return {}

    def gradient_role(self, b, name: str) -> str:
        kind = _kind(name)
        return _gated_role(b, name, kind, kind[1:] if kind.startswith("a") and len(kind) == 2 else "")

    def state_note(self, t: int, T: int) -> str:
        return "from the output and, through every gate, from the next time step" if t < T else ""


@dataclass
class GRUCell:
    """u, r = σ(W x_t + U h_{t−1} + b), n = tanh(W_n x_t + U_n (r ⊙ h_{t−1}) + b_n),
    h_t = u ⊙ h_{t−1} + (1 − u) ⊙ n (``form = "interpolate"``) or (1 − u) ⊙ h_{t−1} + u ⊙ n ("swapped");
    ``reset = "after"`` applies r as PyTorch does: n = tanh(W_n x_t + b_n + r ⊙ (U_n h_{t−1} + b_hn))."""

    form: str = "interpolate"
    reset: str = "before"
    sigmoid_pattern: str = r"\sigma\left({0}\right)"
    tanh_pattern: str = r"\tanh\left({0}\right)"
    states: tuple = ("h",)
    activation: str = "gru"
    params: tuple = ()

    @property
    def roles(self) -> tuple:
        base = ("W_u", "U_u", "b_u", "W_r", "U_r", "b_r", "W_n", "U_n", "b_n")
        return base + (("b_hn",) if self.reset == "after" else ())

    def forward(self, b, layer: "Recurrent", t: int, level: int, below: str) -> None:
        names = layer.names
        h_prev = names.h(t - 1, level)[0]
        p = {role: layer.param(role, level).name for role in self.roles}
        gates = {}
        for g in "ur":
            pre, pre_sym = names.gate_pre(g, t, level)
            b.compute(pre, pre_sym, Kind.FORWARD, "recurrent_affine", [p[f"W_{g}"], below, p[f"U_{g}"], h_prev,
                      p[f"b_{g}"]], time=t, layer=level, owner=layer.id, role=f"{GATE_WORDS[g]}: pre-activation")
            gate, gate_sym = names.state(g, t, level)
            b.compute(gate, gate_sym, Kind.FORWARD, "sigmoid", [pre], time=t, layer=level, formula=self.sigmoid_pattern,
                      owner=layer.id, role=GATE_WORDS[g])
            gates[g] = gate
        pre, pre_sym = names.gate_pre("n", t, level)
        if self.reset == "before":
            reset, reset_sym = names.reset(t, level)
            b.compute(reset, reset_sym, Kind.FORWARD, "hadamard", [gates["r"], h_prev], time=t, layer=level,
                      owner=layer.id, role="the previous state through the reset gate")
            b.compute(pre, pre_sym, Kind.FORWARD, "recurrent_affine", [p["W_n"], below, p["U_n"], reset, p["b_n"]],
                      time=t, layer=level, owner=layer.id, role="candidate: pre-activation")
        else:
            hidden, hidden_sym = names.reset(t, level)
            b.compute(hidden, hidden_sym, Kind.FORWARD, "affine", [p["U_n"], h_prev, p["b_hn"]], time=t, layer=level,
                      owner=layer.id, role="the previous state's share of the candidate")
            b.compute(pre, pre_sym, Kind.FORWARD, "gru_candidate", [p["W_n"], below, gates["r"], hidden, p["b_n"]],
                      time=t, layer=level, owner=layer.id,
                      role="candidate: pre-activation (the reset gate applied after U_n h + b_hn, as PyTorch)")
        n, n_sym = names.state("n", t, level)
        b.compute(n, n_sym, Kind.FORWARD, "tanh", [pre], time=t, layer=level, formula=self.tanh_pattern,
                  owner=layer.id, role="candidate")
        h, h_sym = names.h(t, level)
        mixed = [gates["u"], h_prev, n] if self.form == "interpolate" else [gates["u"], n, h_prev]
        b.compute(h, h_sym, Kind.FORWARD, "gru_mix", mixed, time=t, layer=level, owner=layer.id,
                  role="hidden state: the update gate mixes the previous state and the candidate")

    def steps(self, layer: "Recurrent", t: int, level: int) -> list[str]:
        names = layer.names
        out = []
        for g in "ur":
            out += [names.gate_pre(g, t, level)[0], names.state(g, t, level)[0]]
        return out + [names.reset(t, level)[0], names.gate_pre("n", t, level)[0], names.state("n", t, level)[0],
                      names.h(t, level)[0]]

    def local(self, b, step: str, source: str = "") -> dict:
        return LSTMCell.local(self, b, step, source)

    def gradient_role(self, b, name: str) -> str:
        return LSTMCell.gradient_role(self, b, name)

    def state_note(self, t: int, T: int) -> str:
        return "from the output and, through the gates and the mixing, from the next time step" if t < T else ""


def _activation_role(op: str) -> str:
    return {"tanh": "activation", "sigmoid": "sigmoid", "relu": "ReLU", "identity": "activation (identity)"}.get(
        op, "activation")


def _derivative_role(op: str) -> str:
    return {"sigmoid": "local derivative of the sigmoid", "relu": "local derivative of ReLU"}.get(
        op, "local derivative of the activation")


@dataclass
class Recurrent(Layer):
    """A cell unrolled over ``steps`` time steps, ``levels`` cells stacked; BPTT through all of them."""

    id: str
    cell: object                    # ElmanCell | LSTMCell | GRUCell
    levels: int
    steps: int
    params: dict                    # (role, level) -> Param; role "h0" for the initial state
    names: object                   # step names and symbols of the unrolled quantities
    loss_symbol: str = "L"
    inputs: dict = field(default_factory=dict)     # t -> the input step of level 1

    def param(self, role: str, level: int) -> Param:
        return self.params[(role, level)]

    def parameters(self) -> list[Param]:
        return [self.params[(role, level)] for level in range(1, self.levels + 1) for role in self.cell.roles]

    def given(self, b) -> None:
        for level in range(1, self.levels + 1):
            for role in self.cell.roles:
                p = self.param(role, level)
                b.given(p.name, p.symbol, Kind.PARAMETER, nums(p.value), layer=level)
            for state in self.cell.states:
                initial = self.param(f"{state}0", level)
                name, symbol = self.names.state(state, 0, level)
                b.given(name, symbol, Kind.CONSTANT, nums(initial.value), layer=level, time=0,
                        role="initial hidden state" if state == "h" else "initial cell state")

    def forward_at(self, b, t: int, x: str) -> str:
        """Every level at time t; returns the top level's state."""
        self.inputs[t] = x
        below = x
        for level in range(1, self.levels + 1):
            self.cell.forward(b, self, t, level, below)
            below = self.names.h(t, level)[0]
        return below

    def backward_at(self, b, t: int) -> None:
        """BPTT at time t, top level first: ∂L/∂h_t from every path, then back through the cell."""
        L = self.loss_symbol
        for level in range(self.levels, 0, -1):
            h, h_sym = self.names.h(t, level)
            if not b.contributions(h):
                continue
            b.gradient(h, f"dL/d{h}", d(L, h_sym), Kind.BACKWARD, as_sum=True, time=t, layer=level, owner=self.id,
                       note=self.cell.state_note(t, self.steps), role="gradient reaching the hidden state")
            self._through_cell(b, t, level)

    def _through_cell(self, b, t: int, level: int) -> None:
        L = self.loss_symbol
        cell_steps = self.cell.steps(self, t, level)
        trained = {self.param(role, level).name: self.param(role, level) for role in self.cell.roles}
        previous = {self.names.state(state, t - 1, level)[0] for state in self.cell.states} if t > 1 else set()
        below = self.names.h(t, level - 1)[0] if level > 1 else None
        for name in reversed(cell_steps):
            step = b[name]
            if name != cell_steps[-1]:
                role = getattr(self.cell, "gradient_role", lambda b, n: _backward_role(b, n))(b, name)
                b.gradient(name, f"dL/d{name}", d(L, step.symbol), Kind.BACKWARD, time=t, layer=level,
                           owner=self.id, role=role, note=self._gradient_note(b, name, t, level))
            for index, source in enumerate(step.inputs):
                rule = b.ops[step.op].vjp(index)
                if rule is None:
                    continue
                src = b[source]
                chain = (d(L, step.symbol), d(step.symbol, src.symbol))
                local = {"local": (f"d{name}/d{source}", d(step.symbol, src.symbol)), "time": t, "layer": level,
                         "owner": self.id, **self.cell.local(b, name, source)}
                if source in trained:
                    p = trained[source]
                    op, inputs = b.backprop(name, index, f"dL/d{name}", **local)
                    b.compute(f"dL/d{p.name}(t={t})", at_time(d(L, p.symbol), t), Kind.BACKWARD, op, inputs,
                              time=t, layer=level, chain=(d(L, step.symbol), d(step.symbol, p.symbol)),
                              parameter=p.name, owner=self.id, role=_contribution_role(op))
                elif source in cell_steps or source in previous or source == below:
                    b.contribute(source, name, index, f"dL/d{name}", chain, **local)

    def _gradient_note(self, b, name: str, t: int, level: int) -> str:
        """On an LSTM's earliest cell state: what the cell-state path carries there, computed from the values."""
        if not isinstance(self.cell, LSTMCell) or name != self.names.state("c", t, level)[0] or t != 1 \
                or self.steps < 2:
            return ""
        from symderiv.display import show
        product = None
        for k in range(2, self.steps + 1):
            f = b.value(self.names.state("f", k, level)[0])
            product = f if product is None else product * f
        parts = b.contributions(name)
        via_cell = [c for c in parts if self.names.state("c", 2, level)[0] in [i.removeprefix("dL/d") for i in c.inputs]]
        first, last = self.names.state("c", 1, level)[1], self.names.state("c", self.steps, level)[1]
        share = ""
        if via_cell and len(parts) > 1:
            values = [abs(v.approx) for v in b.ops[via_cell[0].op].forward(*(b.value(i) for i in via_cell[0].inputs)).flat]
            others = [abs(v.approx) for p in parts if p is not via_cell[0]
                      for v in b.ops[p.op].forward(*(b.value(i) for i in p.inputs)).flat]
            total = sum(values) + sum(others)
            if total:
                share = (f" Here {show(_num(100 * sum(values) / total), 2).decimal} % of the gradient reaching "
                         f"${first}$ comes along that path.")
        shown = [show(_num(v.approx), 3).decimal_latex for v in product.flat]
        product_text = shown[0] if len(shown) == 1 else r"\left(" + ",\\ ".join(shown) + r"\right)"
        gates = r" \odot ".join(self.names.state("f", k, level)[1] for k in range(self.steps, 1, -1))
        return (f"The cell-state path: from ${last}$ back to ${first}$ the gradient is multiplied only by the forget "
                f"gates, ${gates} \\approx {product_text}$, with no activation's derivative and no weight matrix in "
                f"between. An Elman RNN multiplies it by $W_{{hh}}$ and $\\tanh'(a)$ at every step back, which is "
                f"where its gradients vanish.{share}")

    def totals(self, b) -> None:
        """∂L/∂θ = Σ_t ∂L/∂θ at t, for every trained parameter of every level."""
        L = self.loss_symbol
        for level in range(1, self.levels + 1):
            for role in self.cell.roles:
                p = self.param(role, level)
                b.compute(f"dL/d{p.name}", d(L, p.symbol), Kind.GRADIENT, "sum",
                          [f"dL/d{p.name}(t={t})" for t in range(1, self.steps + 1)], layer=level,
                          chain=(rf"\sum_{{t}} {at_time(d(L, p.symbol), 't')}",), parameter=p.name, owner=self.id,
                          role="gradient: the sum of the contributions over time")


def _num(x):
    from symderiv.numbers import Num
    return Num.from_approx(x)


def _contribution_role(op: str) -> str:
    return {"outer": "contribution to the weights' gradient", "copy": "contribution to the bias gradient"}.get(op, "")


def _backward_role(b, name: str) -> str:
    """An Elman cell's gradient inside a time step: the pre-activation's is the one through the activation."""
    op = b.contributions(name)[0].op if b.contributions(name) else ""
    return {"hadamard": "back through the activation"}.get(op, "")


#: What the gated cells' steps are called in a caption ("gradient reaching the cell state").
GATED_WORDS = {"c": "cell state", "tanh_c": "squashed cell state", "rh": "previous state through the reset gate",
               "m": "previous state's share of the candidate", "h": "hidden state"}


def _kind(name: str) -> str:
    """The kind of a cell's step from its name: ``af_2`` -> ``af``, ``tanh_c_3(2)`` -> ``tanh_c``."""
    return name.rsplit("_", 1)[0] if "_" in name else name


def _gated_role(b, name: str, kind: str, base: str) -> str:
    """Caption of a gated cell's gradient: through the gate's squashing for a pre-activation, else what it reaches.

    ``kind`` is the step's letter (f, i, g, o, u, r, n, c, ...); ``base`` its kind of pre-activation when it is one.
    """
    if base:
        squash = "tanh" if base in "gn" else "sigmoid"
        return f"back through the {GATE_WORDS[base]}'s {squash}"
    return f"gradient reaching the {GATED_WORDS.get(kind, GATE_WORDS.get(kind, 'state'))}"

