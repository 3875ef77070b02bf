"""Elementwise functions (activations), each defined once by a SymPy formula of its argument ``a``.

From that one formula come: the forward rule on :class:`~symderiv.numbers.Num` (the exact form while
short, the 60-digit value always), the local derivative (``sympy.diff``), and the LaTeX of both
(SymPy's printer, subclassed to write ``f(a)`` with the lecturer's symbol and an indicator for a
0/1 ``Piecewise``). Kinks follow one convention: a ``Piecewise`` whose branch conditions are strict
(``a > 0``) gives the derivative of the branch below the kink at the kink, so ReLU'(0) = 0 as in
every framework (``Max``/``Heaviside`` would give ½).

Precision: a derivative such as 1 − tanh²(a) loses every digit at a = 100 when evaluated as written.
An activation may name a *stable* form of its derivative (sech²(a)) used for the values; without one,
the value is computed at rising precision until two precisions agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy
from sympy.logic.boolalg import ITE
from sympy.printing.latex import LatexPrinter

from symderiv import tensors
from symderiv.numbers import Num, apply, mp
from symderiv.ops.core import G, Local, Op, Vjp

#: The argument of every activation formula.
A = sympy.Symbol("a", real=True)
#: The activation itself inside a teaching form of its derivative (σ' = σ(1 − σ)).
F = sympy.Function("f")

#: mpmath functions of the working context, for formulas turned into value functions.
_MP_NAMES = ("tanh", "sech", "exp", "log", "sqrt", "erf", "erfc", "sinh", "cosh", "atan", "sin", "cos", "mpf",
             "sign", "pi", "e")
_MP = {name: getattr(mp, name) for name in _MP_NAMES}
_MP["Abs"] = mp.fabs
#: Digits the values of a derivative without a stable form must keep when recomputed more precisely.
_AGREE_DIGITS = 50


@dataclass(frozen=True)
class Activation:
    """An elementwise function: its SymPy formula in :data:`A` and, optionally, its parameters' symbols.

    ``params``: (parameter name, default value as exact text); the formula uses ``sympy.Symbol(name)``.
    ``teaching``: the derivative written through ``F(A)`` (checked equal to ``sympy.diff`` in the tests).
    ``stable``: a form of the derivative whose values keep their digits (sech² for 1 − tanh²).
    """

    name: str
    formula: sympy.Expr
    symbol: str
    params: tuple = ()
    teaching: sympy.Expr | None = None
    stable: sympy.Expr | None = None
    note: str = ""
    words: str = ""                     # the function's name in plain text: "tanh", "σ", "ReLU"
    written_derivative: str = ""        # its derivative as a reader writes it: "1 − tanh²({0})"
    peak: float | None = None           # largest value of f' where f saturates (tanh' ≤ 1, σ' ≤ 1/4)

    def bind(self, values: dict) -> "BoundActivation":
        """The activation with its parameters given exact values (Rationals)."""
        subs = {sympy.Symbol(p): sympy.Rational(values.get(p, default)) for p, default in self.params}
        return BoundActivation(self, tuple(sorted((str(k), v) for k, v in subs.items())))


@dataclass(frozen=True)
class BoundActivation:
    """An activation with concrete parameter values: the formulas that give values and LaTeX."""

    activation: Activation
    values: tuple                       # (parameter name, Rational)

    @property
    def subs(self) -> dict:
        return {sympy.Symbol(p): v for p, v in self.values}

    @property
    def formula(self) -> sympy.Expr:
        return self.activation.formula.xreplace(self.subs)

    @property
    def derivative(self) -> sympy.Expr:
        return sympy.diff(self.formula, A)

    @property
    def teaching_derivative(self) -> sympy.Expr:
        """The derivative as the slides write it: through f where the activation gives such a form."""
        teaching = self.activation.teaching
        return teaching.xreplace(self.subs) if teaching is not None else self.derivative

    def forward_pattern(self, symbol: str | None = None) -> str:
        """``\\tanh\\left({0}\\right)`` with the lecturer's symbol; ``{0}`` for the identity."""
        if self.formula == A:
            return "{0}"
        return _escape(symbol or self.activation.symbol) + r"\left({0}\right)"

    def derivative_pattern(self, symbol: str | None = None) -> str:
        """The local derivative as a pattern over the pre-activation ``{0}``, printed by SymPy; where it
        contains the activation itself (1 − tanh²(a)), that is written with the lecturer's symbol."""
        written = self.teaching_derivative
        if self.formula != A and isinstance(self.formula, sympy.Function):
            written = written.subs(self.formula, F(A))
        return pattern_of(written, symbol or self.activation.symbol)

    def formula_pattern(self) -> str:
        """The formula itself as a pattern (what a user-defined function computes)."""
        return pattern_of(self.formula, self.activation.symbol)


def _escape(latex: str) -> str:
    return latex.replace("{", "{{").replace("}", "}}")


# -- LaTeX ------------------------------------------------------------------------------------------
_ARG = "\x00ARG\x00"


class PatternPrinter(LatexPrinter):
    """SymPy's LaTeX printer, writing the argument as a pattern field, ``f`` with the lecturer's symbol,
    functions as ``\\tanh\\left(a\\right)`` and a 0/1 ``Piecewise`` as the indicator ``1[a > 0]``."""

    def __init__(self, symbol: str):
        super().__init__({"symbol_names": {A: _ARG}})
        self._f = symbol

    def _apply(self, name: str, expr, exp=None) -> str:
        power = f"^{{{exp}}}" if exp is not None else ""
        return rf"{name}{power}\left({self._print(expr.args[0])}\right)"

    def _print_Function(self, expr, exp=None):
        if expr.func == F:
            return self._apply(self._f, expr, exp)
        return super()._print_Function(expr, exp)

    def _print_tanh(self, expr, exp=None):
        return self._apply(r"\tanh", expr, exp)

    def _print_sech(self, expr, exp=None):
        return self._apply(r"\operatorname{sech}", expr, exp)

    def _print_Mul(self, expr):
        # the function first, as the slides write σ(a)(1 − σ(a))
        applied = [f for f in expr.args if isinstance(f, sympy.Function) and f.func == F]
        if applied and len(expr.args) > 1:
            rest = [f for f in expr.args if f not in applied]
            return " ".join(self._print(f) if not isinstance(f, sympy.Add) else rf"\left({self._print(f)}\right)"
                            for f in applied + rest)
        return super()._print_Mul(expr)

    def _print_Piecewise(self, expr):
        pieces = expr.args
        if len(pieces) == 2 and pieces[0].expr == 1 and pieces[1].expr == 0 and pieces[1].cond == sympy.true:
            return rf"\mathbb{{1}}\left[{self._print(pieces[0].cond)}\right]"
        # on one line, so that it fits in an aligned equation: {e₁ if c₁; e₂ otherwise}
        cases = [f"{self._print(p.expr)}" + (r"\text{ otherwise}" if p.cond == sympy.true
                                             else rf"\text{{ if }} {self._print(p.cond)}") for p in pieces]
        return r"\left\{" + r";\ ".join(cases) + r"\right."


def pattern_of(expr: sympy.Expr, symbol: str) -> str:
    """A formula pattern (``{0}`` for the argument, other braces doubled) of an expression in :data:`A`."""
    text = PatternPrinter(symbol).doprint(expr)
    return _escape(text).replace(_ARG, "{0}")


# -- values -----------------------------------------------------------------------------------------
def num_function(expr: sympy.Expr, stable: sympy.Expr | None = None, certain: bool = True):
    """A function Num → Num computing ``expr`` at the argument: the exact form while short, the value
    from ``stable`` where given, else at rising precision until it is certain (``certain=False`` for a
    well-conditioned built-in function such as tanh, whose mpmath value is right as computed)."""
    expr = sympy.sympify(expr)
    if expr.has(sympy.Piecewise) and not isinstance(expr, sympy.Piecewise):
        expr = sympy.piecewise_fold(expr)       # branches on top: each is chosen by its condition on a Num
    if expr == A:
        return lambda x: x
    if A not in expr.free_symbols:
        constant = Num.from_exact(expr)
        return lambda x: constant
    if isinstance(expr, sympy.Piecewise):
        branches = [(num_function(piece.expr), _condition(piece.cond)) for piece in expr.args]
        return lambda x: next(f(x) for f, holds in branches if holds(x))
    coefficient, rest = expr.as_coeff_Mul()
    if rest == A and coefficient.is_Rational:
        c = Num.rational(coefficient)
        return lambda x: c * x
    if any(not r.is_Integer for r in expr.atoms(sympy.Rational)):
        exact = lambda v: expr.xreplace({A: v})    # noqa: E731  (lambdify would print 1/10 as a float division)
    else:
        exact = sympy.lambdify(A, expr, modules="sympy")
    approx = sympy.lambdify(A, stable if stable is not None else expr, modules=[_MP, "mpmath"])
    if stable is None and certain:
        approx = _certain(approx)
    return lambda x: apply(exact, approx, x)


def _certain(f):
    """``f`` evaluated at rising precision until two precisions agree to :data:`_AGREE_DIGITS` digits (a
    zero agrees with nothing: it may be all that is left after a cancellation, as 1 − tanh²(100) is)."""
    def value(v):
        result = f(v)
        for extra in (20, 60, 180, 540):
            with mp.workdps(mp.dps + extra):
                better = f(v)
            if better != 0 and abs(better - result) <= abs(better) * mp.mpf(10) ** -_AGREE_DIGITS:
                return +better
            result = better
        return +result
    return value


def _condition(cond):
    """A Piecewise condition as a test on a Num: the sign of (left − right), decided exactly where both
    sides are rational. At a kink (left = right) the condition is taken as it holds just below the kink,
    so every formula follows one convention: the branch below the kink (ReLU'(0) = 0, |a|'(0) = −1)."""
    if cond == sympy.true:
        return lambda x: True
    if cond == sympy.false:
        return lambda x: False
    if isinstance(cond, ITE):             # a kink inside a kink: min(max(a, −1), 1) compares a Piecewise
        test, then, otherwise = (_condition(c) for c in cond.args)
        return lambda x: then(x) if test(x) else otherwise(x)
    if isinstance(cond, sympy.And):
        parts = [_condition(c) for c in cond.args]
        return lambda x: all(p(x) for p in parts)
    if isinstance(cond, sympy.Or):
        parts = [_condition(c) for c in cond.args]
        return lambda x: any(p(x) for p in parts)
    difference = num_function(cond.lhs - cond.rhs)
    slope = num_function(sympy.diff(cond.lhs - cond.rhs, A))
    greater = isinstance(cond, (sympy.StrictGreaterThan, sympy.GreaterThan))
    zero = Num.rational(0)

    def holds(x):
        d = difference(x)
        if d.is_zero:               # at the kink: as just below it, where d has the opposite sign of its slope
            s = slope(x)
            if not s.is_zero:
                return (s < zero) if greater else (s > zero)
            return isinstance(cond, (sympy.GreaterThan, sympy.LessThan))
        return (d > zero) if greater else (d < zero)
    return holds


# -- operations -------------------------------------------------------------------------------------
class OutsideDomain(ArithmeticError):
    """A user's formula, or its derivative, has no finite real value at an argument (sqrt(−1), log 0, 1/0);
    the layer that applied it names the spec's field."""

    def __init__(self, at: Num, derivative: bool):
        super().__init__(f"no finite real value at {at.approx}")
        self.at = at
        self.derivative = derivative


def _finite_real(f, derivative: bool):
    """``f`` (Num → Num), raising :class:`OutsideDomain` where it has no finite real value."""
    def checked(x: Num) -> Num:
        try:
            result = f(x)
        except (ZeroDivisionError, TypeError, ValueError):     # mpmath's 1/0, an mpf made from nan
            raise OutsideDomain(x, derivative) from None
        if not isinstance(result.approx, mp.mpf) or not mp.isfinite(result.approx):
            raise OutsideDomain(x, derivative)
        return result
    return checked


def _ops_of(name: str, bound: BoundActivation) -> dict:
    act = bound.activation
    # a built-in activation is well conditioned (tanh, σ, softplus); a user's formula may cancel (a − tanh a)
    forward = num_function(bound.formula, certain=act.name == "formula")
    # values of the derivative as the slides write it (σ(a)(1 − σ(a))), so exact forms read the same
    written = bound.teaching_derivative.replace(F, lambda arg: bound.formula.xreplace({A: arg}))
    derivative = num_function(written, act.stable.xreplace(bound.subs) if act.stable is not None else None)
    if act.name == "formula":          # a user's formula may leave its domain (sqrt(a) at a < 0)
        forward, derivative = _finite_real(forward, False), _finite_real(derivative, True)
    symbolic = sympy.Function(name)
    return {
        name: Op(lambda a: tensors.elementwise(forward, a), bound.forward_pattern(), symbolic,
                 vjps=(Vjp("hadamard", (G, Local(f"{name}_prime", (0,)))),), family="elementwise",
                 words="{0}" if bound.formula == A else f"{act.words}({{0}})", source=act.name),
        f"{name}_prime": Op(lambda a: tensors.elementwise(derivative, a), bound.derivative_pattern(),
                            sympy.Function(f"{name}_prime"), family="elementwise-derivative",
                            words=act.written_derivative or f"{act.words}′({{0}})", source=act.name, peak=act.peak),
    }


def scalar_function(name: str, derivative: bool = False, values: dict | None = None):
    """A built-in activation (or its derivative) as a function Num → Num, as its operations compute it."""
    bound = bound_activation(name, values)
    act = bound.activation
    if not derivative:
        return num_function(bound.formula)
    written = bound.teaching_derivative.replace(F, lambda arg: bound.formula.xreplace({A: arg}))
    return num_function(written, act.stable.xreplace(bound.subs) if act.stable is not None else None)


def use_activation(table, name: str, given: tuple = ()) -> BoundActivation:
    """The activation ``name`` with the parameter values a spec gives; where those differ from the
    defaults, the derivation's own table gets operations of that name computing with them."""
    bound = bound_activation(name, dict(given))
    if given:
        table.define(name, ("activation", name, tuple((p, str(v)) for p, v in bound.values)))
    return bound


def bound_activation(name: str, values: dict | None = None) -> BoundActivation:
    return BUILTIN_ACTIVATIONS[name].bind(values or {})


_alpha = sympy.Symbol("alpha")

#: name -> the activation; one definition each. Adding an activation is one entry here and one line
#: in the float64 reference (:data:`symderiv.reference.layers.ACTIVATIONS`).
BUILTIN_ACTIVATIONS: dict[str, Activation] = {
    "tanh": Activation("tanh", sympy.tanh(A), r"\tanh", stable=sympy.sech(A) ** 2, words="tanh",
                       written_derivative="1 − tanh²({0})", peak=1.0),
    "sigmoid": Activation("sigmoid", 1 / (1 + sympy.exp(-A)), r"\sigma", teaching=F(A) * (1 - F(A)),
                          stable=sympy.exp(-A) / (1 + sympy.exp(-A)) ** 2, words="σ",
                          written_derivative="σ({0})(1 − σ({0}))", peak=0.25),
    "relu": Activation("relu", sympy.Piecewise((A, A > 0), (0, True)), r"\operatorname{ReLU}",
                       note=r"$\operatorname{ReLU}'(0)$ is taken as 0, as deep-learning frameworks do.", words="ReLU"),
    "identity": Activation("identity", A, r"\operatorname{id}", words="id", written_derivative="1"),
    "elu": Activation("elu", sympy.Piecewise((A, A > 0), (_alpha * (sympy.exp(A) - 1), True)),
                      r"\operatorname{ELU}", params=(("alpha", "1"),),
                      note=r"At exactly 0 the slope of the negative side, $\alpha$, is taken.", words="ELU"),
    "softplus": Activation("softplus", sympy.log(1 + sympy.exp(A)), r"\operatorname{softplus}",
                           stable=1 / (1 + sympy.exp(-A)), words="softplus"),
    "gelu": Activation("gelu", A / 2 * (1 + sympy.erf(A / sympy.sqrt(2))), r"\operatorname{GELU}", words="GELU"),
    "swish": Activation("swish", A / (1 + sympy.exp(-A)), r"\operatorname{swish}", words="swish"),
    "softsign": Activation("softsign", A / (1 + sympy.Abs(A)), r"\operatorname{softsign}",
                           teaching=1 / (1 + sympy.Abs(A)) ** 2, words="softsign"),
    "leaky_relu": Activation("leaky_relu", sympy.Piecewise((A, A > 0), (_alpha * A, True)),
                             r"\operatorname{LeakyReLU}", params=(("alpha", "1/100"),),
                             note=r"At exactly 0 the slope of the negative side, $\alpha$, is taken.",
                             words="LeakyReLU"),
}


def define_activation(_table, name: str, activation: str, values: tuple) -> dict:
    """Factory for :class:`~symderiv.ops.core.OpTable`: a built-in activation bound to parameter values."""
    return _ops_of(name, BUILTIN_ACTIVATIONS[activation].bind(dict(values)))


def formula_activation(text: str, constants: tuple = (), symbol: str = "f") -> Activation:
    """A user's formula as an activation (parsed safely by :mod:`symderiv.ops.formula`)."""
    from symderiv.ops.formula import _cached
    expr = _cached(text, constants)
    return Activation("formula", expr, symbol, teaching=_folded(sympy.diff(expr, A)), words="f")


def _folded(expr):
    """A derivative with its branches brought to the top and each simplified: a case per branch."""
    folded = sympy.piecewise_fold(expr)
    if not isinstance(folded, sympy.Piecewise):
        return sympy.simplify(folded)
    branches = []
    for value, cond in folded.args:
        cond = sympy.simplify(cond) if cond != sympy.true else cond
        if cond == sympy.false:
            continue                                  # a branch no argument reaches
        branches.append((sympy.simplify(value), cond))
        if cond == sympy.true:
            break
    return sympy.Piecewise(*branches)


def define_formula(_table, name: str, text: str, constants: tuple, symbol: str) -> dict:
    """Factory for :class:`~symderiv.ops.core.OpTable`: the operations of a user's formula."""
    return _ops_of(name, formula_activation(text, constants, symbol).bind({}))


def activation_ops(name: str, bound: BoundActivation) -> dict:
    """The operations ``name`` and ``name_prime`` of a bound activation (a built-in one at its defaults)."""
    return _ops_of(name, bound)
