"""A user's activation formula of one variable (``"a / (1 + abs(a))"``), read safely into SymPy.

No ``eval`` and no ``sympify`` of user text (both run Python): the text is parsed by ``ast.parse`` in
``eval`` mode and every node is checked against a whitelist — numbers, ``+ − * / **``, unary minus, the
argument ``a``, the constants the spec declares, and the functions ``exp log tanh sigmoid sqrt abs erf
max min`` — and the SymPy expression is built from the tree by this module. ``abs``, ``max`` and
``min`` become a strict ``Piecewise``, so their kinks follow the one convention: at the kink the branch
below it is taken (as ReLU'(0) = 0).
"""

from __future__ import annotations

import ast
from functools import lru_cache

import sympy

from symderiv.errors import SpecError
from symderiv.ops.elementwise import A

#: The argument's name in a formula.
ARGUMENT = "a"
MAX_LENGTH = 200
#: The largest power a formula may raise a number to (an exact power is computed in full).
MAX_EXPONENT = 100


def _sigmoid(u):
    return 1 / (1 + sympy.exp(-u))


def _abs(u):
    return sympy.Piecewise((u, u > 0), (-u, True))


def _max(u, v):
    return sympy.Piecewise((u, u - v > 0), (v, True))


def _min(u, v):
    return sympy.Piecewise((u, v - u > 0), (v, True))


FUNCTIONS = {
    "exp": (1, sympy.exp), "log": (1, sympy.log), "tanh": (1, sympy.tanh), "sigmoid": (1, _sigmoid),
    "sqrt": (1, sympy.sqrt), "abs": (1, _abs), "erf": (1, sympy.erf), "max": (2, _max), "min": (2, _min),
}
_BINARY = {ast.Add: lambda u, v: u + v, ast.Sub: lambda u, v: u - v, ast.Mult: lambda u, v: u * v,
           ast.Div: lambda u, v: u / v, ast.Pow: lambda u, v: u ** v}


def parse(text: str, path: str, constants: dict | None = None) -> sympy.Expr:
    """The formula as a SymPy expression in :data:`~symderiv.ops.elementwise.A`; a malformed formula, an
    unknown function or a name other than the argument or a declared constant raises :class:`SpecError`
    naming ``path``."""
    constants = constants or {}
    if not isinstance(text, str) or not text.strip():
        raise SpecError(path, f"a formula in {ARGUMENT} (e.g. \"a / (1 + abs(a))\")", repr(text))
    if len(text) > MAX_LENGTH:
        raise SpecError(path, f"a formula of at most {MAX_LENGTH} characters", f"{len(text)} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as err:
        raise SpecError(path, "a formula such as \"a / (1 + abs(a))\"",
                        f"a syntax error at column {err.offset or 0} in {text!r}") from None
    expr = _build(tree.body, path, constants)
    if A not in expr.free_symbols:
        raise SpecError(path, f"a formula that depends on the argument {ARGUMENT}", repr(text))
    return expr


def _build(node, path: str, constants: dict):
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return sympy.Rational(str(node.value))
    if isinstance(node, ast.Name):
        if node.id == ARGUMENT:
            return A
        if node.id in constants:
            return sympy.Rational(constants[node.id])
        if node.id in ("pi", "e"):
            return sympy.pi if node.id == "pi" else sympy.E
        known = ", ".join([ARGUMENT] + sorted(constants))
        raise SpecError(path, f"the argument or a declared constant ({known})", f"the name '{node.id}'")
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        inner = _build(node.operand, path, constants)
        return -inner if isinstance(node.op, ast.USub) else inner
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _build(node.left, path, constants), _build(node.right, path, constants)
        if isinstance(node.op, ast.Pow) and right.is_Number and abs(right) > MAX_EXPONENT:
            # SymPy would compute the exact power, 3^99999999 / 10^99999999, for as long as that takes
            raise SpecError(path, f"an exponent from {-MAX_EXPONENT} to {MAX_EXPONENT}", f"the exponent {right}")
        return _BINARY[type(node.op)](left, right)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        name = node.func.id
        if name not in FUNCTIONS:
            raise SpecError(path, f"one of the functions {', '.join(FUNCTIONS)}", f"the function '{name}'")
        arity, build = FUNCTIONS[name]
        if len(node.args) != arity:
            raise SpecError(path, f"{name} of {arity} argument{'s' if arity > 1 else ''}",
                            f"{len(node.args)} arguments")
        return build(*(_build(arg, path, constants) for arg in node.args))
    text = ast.unparse(node) if hasattr(ast, "unparse") else type(node).__name__
    raise SpecError(path, "numbers, + − * / **, the argument and the functions " + ", ".join(FUNCTIONS),
                    f"'{text}'")


def kinks(text: str, constants: tuple = ()) -> list:
    """The points where the formula's branches meet (where its derivative follows the convention)."""
    expr = _cached(text, constants)
    points = set()
    for piece in expr.atoms(sympy.Piecewise):
        for _value, cond in piece.args:
            if cond in (sympy.true, sympy.false):
                continue
            # every comparison in the condition: And, Or and, for a kink inside a kink, ITE nest them
            for relation in sorted(cond.atoms(sympy.core.relational.Relational), key=sympy.default_sort_key):
                solutions = sympy.solve(sympy.Eq(relation.lhs - relation.rhs, 0), A)
                points.update(s for s in solutions if s.is_real)
    return sorted(points, key=float)


@lru_cache(maxsize=64)
def _cached(text: str, constants: tuple = ()) -> sympy.Expr:
    return parse(text, "formula", dict(constants))


def numpy_functions(text: str, constants: tuple = ()):
    """(f(a, p), f'(a, p), bound on |f'| or 1, branch below the first kink or None) of a formula, in NumPy,
    for the float64 reference (a formula's |f''| is not bounded in general: its magnitude uses 1)."""
    import numpy as np
    expr = _cached(text, constants)
    modules = [{"Piecewise": _np_piecewise, "erf": _np_erf}, "numpy"]
    f = sympy.lambdify(A, expr, modules=modules)
    fp = sympy.lambdify(A, sympy.diff(expr, A), modules=modules)
    points = kinks(text, constants)
    below = None

    def slope(a, p):
        return np.asarray(fp(a), dtype=float) + 0.0 * a

    if points:
        # at each kink itself (a exactly there), the branch below that kink and its slope
        lefts = [_branch_below(expr, point) for point in points]
        values = [sympy.lambdify(A, left, modules=modules) for left in lefts]
        slopes = [sympy.lambdify(A, sympy.diff(left, A), modules=modules) for left in lefts]
        at = [float(point) for point in points]

        def below(a, p):                  # near a held kink (moved by a finite difference): its branch below
            nearest = np.argmin(np.abs(np.asarray(a, dtype=float)[..., None] - np.asarray(at)), axis=-1)
            return np.select([nearest == i for i in range(len(at))],
                             [np.asarray(g(a), dtype=float) + 0.0 * a for g in values])

        def slope(a, p):                  # noqa: F811 - at a kink itself, the slope of the branch below
            return np.select([a == k for k in at], [np.asarray(gp(a), dtype=float) + 0.0 * a for gp in slopes],
                             np.asarray(fp(a), dtype=float) + 0.0 * a)
    return (lambda a, p: np.asarray(f(a), dtype=float) + 0.0 * a, slope, 1.0, below)


def _branch_below(expr, point):
    """The formula with every Piecewise replaced by its branch just below ``point``."""
    probe = sympy.Rational(point) - sympy.Rational(1, 10 ** 9)
    return expr.replace(lambda e: isinstance(e, sympy.Piecewise),
                        lambda e: next(v for v, c in e.args if bool(c.subs(A, probe))))


def _np_piecewise(*pieces):
    import numpy as np
    conditions = [np.asarray(c, dtype=bool) for _v, c in pieces]
    values = [v for v, _c in pieces]
    return np.select(conditions, values)


def _np_erf(x):
    import math

    import numpy as np
    return np.vectorize(math.erf, otypes=[float])(x)
