"""Exact-or-precise scalars: an exact SymPy value while it stays short, always a 60-digit float.

Why not plain SymPy: carrying the fully nested closed form of a BPTT gradient grows without
bound (over a minute at T = 10). Why not plain floats: a lecturer wants ``tanh(9)`` and ``3/5``,
and a value like ``1 - tanh(9.7)**2`` must keep its leading digits. So each :class:`Num` keeps
its exact SymPy form while that form is short (rationals always, up to a digit budget) and,
beside it, an mpmath float with :data:`WORKING_DPS` digits, which is what later steps build on
once the exact form has been dropped. Cost per operation is then constant, and a derivation is
linear in the number of steps.

Exact zeros stay exact. A value known only to working precision remembers how it was computed (its
*recipe*: the operation and the Nums it came from). When a sum comes out below the working precision
of its largest term, its digits are noise: the sum is recomputed from its recipe at 2, 4 and 8 times
the precision. A value that stands out of the noise at a higher precision is kept with the digits
that precision gives (so a value that is not zero is never printed 0); one that stays below the noise
at every precision is the exact zero its terms cancel to (so an exact zero is never printed as noise,
e.g. −4.9·10⁻⁶³). Recipes are dropped when a derivation is built and never pickled.
"""

from __future__ import annotations

from fractions import Fraction

import mpmath
import sympy
from mpmath.libmp import mpf_add as _mpf_add, mpf_mul as _mpf_mul

#: Digits carried by every approximate value; displays use at most 30 of them.
WORKING_DPS = 60
#: A non-rational exact form is kept while it has at most this many nodes (tanh(9) has 2).
MAX_EXACT_SIZE = 12
#: A rational is kept exact while numerator and denominator have at most this many digits.
MAX_RATIONAL_DIGITS = 120

_CTX = mpmath.mp.clone()
_CTX.dps = WORKING_DPS
_mpf = _CTX.mpf
# mpf arithmetic without the operator wrappers, for the hot paths (inexact sums and products); the
# precision list is the context's own, so workdps still applies.
_MPF_CLASS, _MPF_NEW, _PREC_ROUNDING = _mpf(0)._ctxdata


def _fadd(x, y):
    v = _MPF_NEW(_MPF_CLASS)
    v._mpf_ = _mpf_add(x._mpf_, y._mpf_, _PREC_ROUNDING[0], _PREC_ROUNDING[1])
    return v


def _fmul(x, y):
    v = _MPF_NEW(_MPF_CLASS)
    v._mpf_ = _mpf_mul(x._mpf_, y._mpf_, _PREC_ROUNDING[0], _PREC_ROUNDING[1])
    return v

#: A sum smaller than its largest term times 10**-CANCELLATION_DIGITS has only noise left in its digits.
CANCELLATION_DIGITS = WORKING_DPS - 8
#: Working precisions (digits) at which a cancelled sum is recomputed before it is taken as exactly 0.
RAISED_DPS = (2 * WORKING_DPS, 4 * WORKING_DPS, 8 * WORKING_DPS)


def _rational_size_ok(r: sympy.Rational) -> bool:
    return _digits_ok(int(r.p)) and _digits_ok(int(r.q))


#: An integer of at most this many bits has at most MAX_RATIONAL_DIGITS digits; of more than
#: _TOO_MANY_BITS, more. Between the two the digits are counted (str() refuses integers of 4300 digits).
_FEW_BITS = int(MAX_RATIONAL_DIGITS * 3.3219280948873626) - 1
_TOO_MANY_BITS = int(MAX_RATIONAL_DIGITS * 3.3219280948873626) + 2


def _digits_ok(n: int) -> bool:
    bits = abs(n).bit_length()
    if bits <= _FEW_BITS:
        return True
    if bits > _TOO_MANY_BITS:
        return False
    return len(str(abs(n))) <= MAX_RATIONAL_DIGITS


class Num:
    """One scalar of a derivation: ``exact`` (SymPy expression or None) and ``approx`` (mpf).

    ``size`` counts the nodes of the exact form; 1 for a rational. Instances are immutable.
    """

    __slots__ = ("exact", "approx", "size", "recipe")

    def __init__(self, exact: sympy.Expr | None, approx, size: int = 1, recipe: tuple | None = None):
        self.exact = exact
        self.approx = approx
        self.size = size
        self.recipe = recipe          # how an inexact value was computed: (operation, operands...)

    def __reduce__(self):
        # the working-precision context is a clone whose mpf type does not pickle: store the raw mantissa
        return _restore, (self.exact, self.approx._mpf_, self.size)

    # -- construction -----------------------------------------------------------------
    @classmethod
    def rational(cls, value) -> "Num":
        """An exact rational from an int, Fraction, SymPy Rational or decimal string."""
        r = sympy.Rational(value)
        return cls(r, _CTX.mpf(r.p) / r.q, 1)

    @classmethod
    def from_exact(cls, expr: sympy.Expr) -> "Num":
        """Any SymPy constant expression; evaluated once to the working precision."""
        expr = sympy.sympify(expr)
        if expr.is_Rational:
            return cls.rational(expr)
        approx = _CTX.mpf(sympy.N(expr, WORKING_DPS + 5))
        return cls(expr, approx, _expr_size(expr))

    @classmethod
    def from_approx(cls, approx) -> "Num":
        """A value known only to working precision (no exact form)."""
        return cls(None, _CTX.mpf(approx), 0)

    # -- predicates ---------------------------------------------------------------------
    @property
    def is_exact(self) -> bool:
        return self.exact is not None

    @property
    def is_rational(self) -> bool:
        return self.exact is not None and self.exact.is_Rational

    @property
    def is_zero(self) -> bool:
        """True only for a value that is exactly zero (never for a tiny rounded one)."""
        if self.exact is not None:
            return _is_int(self.exact, 0)
        return False

    def __float__(self) -> float:
        return float(self.approx)

    def __repr__(self) -> str:
        if self.exact is not None:
            return f"Num({self.exact})"
        return f"Num(≈{_CTX.nstr(self.approx, 15)})"

    # -- arithmetic ---------------------------------------------------------------------
    def _combine(self, other: "Num", exact_op, approx, code: str) -> "Num":
        recipe = (code, self, other)
        if self.exact is None or other.exact is None:
            return Num(None, approx, 0, recipe)
        exact = exact_op(self.exact, other.exact)
        return _keep_if_short(exact, approx, self.size + other.size + 1, recipe)

    def __add__(self, other):
        if type(other) is not Num:
            other = _as_num(other)
        if self.exact is None and other.exact is None:
            # the common case deep in a network (past the first tanh nothing is exact): no SymPy at all
            approx = _fadd(self.approx, other.approx)
            total = Num(None, approx, 0, ("add", self, other))
            return _decide_cancelled(total) if _cancelled(approx, self.approx, other.approx) else total
        if self.is_zero:
            return other
        if other.is_zero:
            return self
        total = self._combine(other, lambda a, b: a + b, self.approx + other.approx, "add")
        if _cancelled(total.approx, self.approx, other.approx):
            if total.exact is None:
                return _decide_cancelled(total)
            # the exact form is kept: SymPy evaluates it with as much precision as the cancellation needs
            total = Num(total.exact, _exact_value_at(total.exact, WORKING_DPS), total.size)
        return total

    __radd__ = __add__

    def __neg__(self):
        if self.exact is None:
            return Num(None, -self.approx, 0, ("neg", self))
        return Num(-self.exact, -self.approx, self.size)

    def __sub__(self, other):
        return self + (-_as_num(other))

    def __rsub__(self, other):
        return _as_num(other) + (-self)

    def __mul__(self, other):
        if type(other) is not Num:
            other = _as_num(other)
        if self.exact is None and other.exact is None:
            return Num(None, _fmul(self.approx, other.approx), 0, ("mul", self, other))
        if self.is_zero or other.is_zero:
            return ZERO
        if self.exact is not None and _is_int(self.exact, 1):
            return other
        if other.exact is not None and _is_int(other.exact, 1):
            return self
        return self._combine(other, lambda a, b: a * b, self.approx * other.approx, "mul")

    __rmul__ = __mul__

    def __truediv__(self, other):
        other = _as_num(other)
        if other.is_zero:
            raise ZeroDivisionError("division by an exact zero")
        if self.is_zero:
            return ZERO
        return self._combine(other, lambda a, b: a / b, self.approx / other.approx, "div")

    def __rtruediv__(self, other):
        return _as_num(other) / self

    def __pow__(self, n: int):
        if not isinstance(n, int):
            raise TypeError("only integer powers are supported")
        if self.exact is None:
            return Num(None, self.approx**n, 0, ("pow", self, n))
        return _keep_if_short(self.exact**n, self.approx**n, self.size + 1, ("pow", self, n))

    # Comparisons use the 60-digit value; exact ties are decided exactly.
    def _cmp_key(self, other):
        other = _as_num(other)
        if self.exact is not None and other.exact is not None and self.is_rational and other.is_rational:
            # p/q against p'/q' (q, q' > 0) as integers: SymPy's Rational comparison sympifies and dominated ReLU.
            a, b = self.exact, other.exact
            return a.p * b.q, b.p * a.q
        return self.approx, other.approx

    def __lt__(self, other):
        a, b = self._cmp_key(other)
        return bool(a < b)

    def __le__(self, other):
        a, b = self._cmp_key(other)
        return bool(a <= b)

    def __gt__(self, other):
        a, b = self._cmp_key(other)
        return bool(a > b)

    def __ge__(self, other):
        a, b = self._cmp_key(other)
        return bool(a >= b)

    def equals(self, other: "Num") -> bool:
        """Exact equality where both are exact, else equality of the 60-digit values."""
        if self.exact is not None and other.exact is not None:
            return sympy.simplify(self.exact - other.exact) == 0
        return self.approx == other.approx


def _is_int(expr: sympy.Expr, n: int) -> bool:
    """``expr == n`` without SymPy's ``__eq__``, which sympifies its argument (a third of the BPTT time)."""
    if expr.is_Rational:
        return expr.q == 1 and expr.p == n
    return expr == n


def _expr_size(expr: sympy.Expr) -> int:
    if expr.is_Rational:
        return 1
    return sum(1 for _ in sympy.preorder_traversal(expr))


def _keep_if_short(exact: sympy.Expr, approx, size_bound: int, recipe: tuple | None = None) -> Num:
    if exact.is_Rational:
        if _rational_size_ok(exact):
            return Num(exact, _CTX.mpf(exact.p) / exact.q, 1)
        return Num(None, approx, 0, recipe)
    if size_bound > MAX_EXACT_SIZE:
        size = _expr_size(exact)
        if size > MAX_EXACT_SIZE:
            return Num(None, approx, 0, recipe)
        return Num(exact, approx, size)
    return Num(exact, approx, size_bound)


def _as_num(value) -> Num:
    if isinstance(value, Num):
        return value
    if isinstance(value, (int, Fraction, sympy.Rational)):
        return Num.rational(value)
    raise TypeError(f"cannot combine Num with {type(value).__name__}")


def apply(func_exact, func_approx, x: Num) -> Num:
    """Apply a unary function: SymPy form while short, mpmath value always.

    ``func_approx`` must compute in the working context :data:`mp` (at whatever precision that context
    has when it is called), so that a cancelled sum built on its value can be recomputed more precisely.
    """
    approx = func_approx(x.approx)
    recipe = ("fn", func_approx, x)
    if x.exact is None:
        return Num(None, approx, 0, recipe)
    exact = func_exact(x.exact)
    # a rational result is kept only while short, like any other (a rational formula such as a/(1 + a²)
    # applied layer after layer would otherwise grow its digits without bound)
    return _keep_if_short(exact, approx, 1 if exact.is_Rational else x.size + 1, recipe)


# -- exact zeros from cancelled sums ----------------------------------------------------------------
def _restore(exact, raw, size) -> Num:
    return Num(exact, _CTX.make_mpf(raw), size)


#: Bits below the larger term's leading bit under which a sum has only noise left (CANCELLATION_DIGITS).
_CANCELLATION_BITS = int(CANCELLATION_DIGITS * 3.3219280948873626)


def _cancelled(total, a, b) -> bool:
    """The sum has lost (almost) all its digits to cancellation: only noise may be left. Decided from the
    binary exponents (exp + bitcount is the position of the leading bit), without mpf arithmetic: this
    test runs on every inexact addition."""
    _s, tm, te, tb = total._mpf_
    _s, am, ae, ab = a._mpf_
    _s, bm, be, bb = b._mpf_
    if not (am or bm):
        return False
    largest = max(ae + ab if am else -(1 << 62), be + bb if bm else -(1 << 62))
    if not tm:
        return True
    return te + tb <= largest - _CANCELLATION_BITS


def _decide_cancelled(total: Num) -> Num:
    """Zero, or the value with its digits restored from a more precise recomputation (see the module doc)."""
    found = None
    for dps in RAISED_DPS:
        precise = _evaluate(total, dps)
        if precise is None:
            return total if found is None else found       # a leaf without a recipe: nothing better is known
        value, largest = precise
        with _CTX.workdps(dps):
            noise = largest * _CTX.mpf(10) ** -(dps - 8)
            stands_out = abs(value) > noise
            all_digits = noise <= abs(value) * _CTX.mpf(10) ** -(WORKING_DPS - 8)
        if stands_out:
            found = Num(None, +value, 0, total.recipe)     # rounded to the working precision
            if all_digits:
                return found
    return ZERO if found is None else found


def _evaluate(num: Num, dps: int):
    """(value, largest term of its last sum) at ``dps`` digits from the recipes, or None when some
    value on the way has neither an exact form nor a recipe. Iterative: recipes can be thousands deep."""
    memo: dict[int, object] = {}
    stack = [num]
    with _CTX.workdps(dps + 10):
        while stack:
            node = stack[-1]
            if id(node) in memo:
                stack.pop()
                continue
            if node.exact is not None:
                memo[id(node)] = _exact_value(node.exact)
                stack.pop()
                continue
            if node.recipe is None:
                return None
            operands = [x for x in node.recipe[1:] if isinstance(x, Num)]
            pending = [x for x in operands if id(x) not in memo]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            memo[id(node)] = _run(node.recipe, memo)
        code, *args = num.recipe
        value = memo[id(num)]
        largest = max((abs(memo[id(x)]) for x in args if isinstance(x, Num)), default=abs(value))
        return value, largest


def _exact_value(expr):
    if expr.is_Rational:
        return _CTX.mpf(int(expr.p)) / int(expr.q)
    return _CTX.mpf(sympy.N(expr, _CTX.dps + 5))


def _exact_value_at(expr, dps: int):
    with _CTX.workdps(dps):
        value = _exact_value(expr)
    return +value


def _run(recipe: tuple, memo: dict):
    code, *args = recipe
    if code == "fn":
        return args[0](memo[id(args[1])])
    if code == "neg":
        return -memo[id(args[0])]
    if code == "pow":
        return memo[id(args[0])] ** args[1]
    a, b = memo[id(args[0])], memo[id(args[1])]
    return {"add": lambda: a + b, "mul": lambda: a * b, "div": lambda: a / b}[code]()


def strip_recipes(values) -> None:
    """Forget how each of these Nums was computed (once a derivation is complete, to free memory)."""
    for n in values:
        n.recipe = None


ZERO = Num(sympy.Integer(0), _CTX.mpf(0), 1)
ONE = Num(sympy.Integer(1), _CTX.mpf(1), 1)

# mpmath functions bound to the working-precision context.
mp = _CTX
