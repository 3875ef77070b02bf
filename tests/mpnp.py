"""A NumPy-like namespace over object arrays of mpmath numbers, so that the tests' independent autograd
models (written against ``autograd.numpy``) can also be evaluated at 50 digits.

Where float64 cannot tell a value from its rounding noise (p − y with p near 1, a gradient whose terms
cancel exactly), the tests compare the derivation with a 50-digit derivative of the same model
(:func:`precise_gradient`) instead of tightening hope on float64.
"""

from __future__ import annotations

import builtins
import sys

import numpy as np
from mpmath import mp

exp = np.frompyfunc(mp.exp, 1, 1)
log = np.frompyfunc(mp.log, 1, 1)
tanh = np.frompyfunc(mp.tanh, 1, 1)
logaddexp = np.frompyfunc(lambda a, b: builtins.max(a, b) + mp.log1p(mp.exp(-abs(a - b))), 2, 1)
dot = np.dot
where = np.where
reshape = np.reshape
concatenate = np.concatenate
maximum = np.maximum


def array(value, dtype=None):
    return np.array(value, dtype=object)


def zeros(shape):
    return np.full(shape, mp.mpf(0), dtype=object)


def max(a, *args, **kwargs):          # noqa: A001 - mirrors numpy's name
    return np.max(np.asarray(a, dtype=object), *args, **kwargs)


def sum(a, *args, **kwargs):          # noqa: A001
    return np.sum(np.asarray(a, dtype=object), *args, **kwargs)


def mean(a):
    a = np.asarray(a, dtype=object)
    return np.sum(a) / a.size


def to_mp(params: dict) -> dict:
    """Float parameters as object arrays of mpf (exactly the same numbers)."""
    return {k: np.vectorize(lambda v: mp.mpf(float(v)), otypes=[object])(np.asarray(v, dtype=float))
            for k, v in params.items()}


def precise_gradient(loss_fn, params: dict, name: str, index: tuple):
    """∂loss/∂params[name][index] at the current mpmath precision (mp.diff extrapolates)."""
    exact = to_mp(params)

    def f(value):
        moved = dict(exact)
        arr = exact[name].copy()
        arr[index] = value
        moved[name] = arr
        return loss_fn(moved, xp=sys.modules[__name__])

    return mp.diff(f, exact[name][index])


def assert_agrees(what: str, derived, framework, loss_fn, params, name, loss: float, rtol=1e-9):
    """The derived gradient agrees with the framework's float64 one; where they differ by more than rtol
    (plus 1e-12 of the largest entry), float64 has run out of digits: the 50-digit derivative of the
    same model decides, and the float64 value must be within float64's reach of it."""
    derived = np.asarray(derived, dtype=float).reshape(np.shape(framework))
    framework = np.asarray(framework, dtype=float)
    scale = float(np.max(np.abs(framework))) if framework.size else 0.0
    off = np.abs(derived - framework) > rtol * np.abs(framework) + 1e-12 * scale + 1e-300
    floor = 1e-10 * float(np.max([1.0, abs(loss), scale]))
    for index in zip(*np.nonzero(off)) if framework.ndim else ([()] if off else []):
        index = tuple(int(i) for i in index)
        precise = precise_gradient(loss_fn, params, name, index)
        d, f = float(derived[index]), float(framework[index])
        assert abs(d - precise) <= 1e-15 * abs(precise) + mp.mpf("1e-30") * builtins.max(1, abs(loss)), \
            f"{what}{list(index)}: derived {d!r}, 50 digits {mp.nstr(precise, 20)}"
        assert abs(f - precise) <= floor, f"{what}{list(index)}: float64 {f!r} is off the 50-digit {mp.nstr(precise, 20)}"
