"""Check every derived number against an independent float64 NumPy computation and finite differences.

The derivation's values are exact (or 60-digit); the reference is plain float64, written from the
equations. Tolerances are those float64 can honestly meet:

* against NumPy, element by element, ``|exact − numpy| ≤ 1e-9·max(|exact|, |numpy|) + 1e-12·m``
  with ``m`` the largest magnitude in that tensor (so an entry of 1e-24 among entries of 1e-24 is
  still checked relatively, and float64 cancellation inside a large tensor is not a false alarm);
* against central finite differences of the NumPy loss, ``|exact − fd| ≤ 1e-6·|exact| + 1e-8·max(1, |L|)``
  (the rounding noise of a difference quotient with step 1e-6 is about 1e-10·|L|).

Large parameters are probed by finite differences at up to :data:`FD_MAX_ELEMENTS` spread
elements each, so a 28 × 28 CNN is checked in seconds; the NumPy comparison always covers every
element of every step.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from symderiv import tensors
from symderiv.errors import SymderivError, VerificationError
from symderiv.steps import Derivation, Kind

NUMPY_RTOL = 1e-9
NUMPY_SCALE_TOL = 1e-12
FD_RTOL = 1e-6
FD_ATOL = 1e-8
FD_STEP = 1e-6
FD_MAX_ELEMENTS = 48
#: Values beyond this cannot be cross-checked in float64 (their squares and products overflow).
FLOAT64_LIMIT = 1e150
_SAFE_BITS = 498     # 2**498 < 1e150 < 2**499

CHECKED_KINDS = (Kind.SIZE, Kind.FORWARD, Kind.LOSS, Kind.LOCAL, Kind.BACKWARD, Kind.GRADIENT, Kind.UPDATE)


@dataclass(frozen=True)
class Check:
    """The comparison of one step with the reference (and, for gradients, finite differences)."""

    name: str
    kind: Kind
    exact: np.ndarray            # float64 view of the derived value
    numpy: np.ndarray
    max_rel_diff: float          # largest |exact − numpy| / max(|exact|, |numpy|) over elements
    ok: bool
    fd: np.ndarray | None = None           # finite differences (NaN where not probed)
    fd_max_rel_diff: float | None = None
    fd_ok: bool = True
    worst_index: tuple = ()


@dataclass(frozen=True)
class Verification:
    """All checks of one derivation; ``passed`` only when every step agrees and none is unchecked."""

    checks: tuple[Check, ...]
    unchecked: tuple[str, ...] = ()
    fd_elements: int = 0
    tolerances: dict = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(c.ok and c.fd_ok for c in self.checks) and not self.unchecked

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not (c.ok and c.fd_ok)]

    def by_name(self, name: str) -> Check:
        return next(c for c in self.checks if c.name == name)

    def summary(self) -> dict:
        gradients = [c for c in self.checks if c.kind == Kind.GRADIENT]
        fd_diffs = [c.fd_max_rel_diff for c in gradients if c.fd_max_rel_diff is not None]
        return {
            "passed": self.passed,
            "numpy": {
                "quantities": len(self.checks),
                "max_rel_diff": max((c.max_rel_diff for c in self.checks), default=0.0),
                "rtol": NUMPY_RTOL,
                "failed": [c.name for c in self.checks if not c.ok],
            },
            "finite_differences": {
                "gradients": len(gradients),
                "elements_probed": self.fd_elements,
                "max_rel_diff": max(fd_diffs, default=0.0),
                "step": FD_STEP,
                "rtol": FD_RTOL,
                "atol": FD_ATOL,
                "failed": [c.name for c in gradients if not c.fd_ok],
            },
            "unchecked": list(self.unchecked),
        }

    def raise_if_failed(self) -> None:
        if self.unchecked:
            raise VerificationError(
                f"verification incomplete: no independent value for {', '.join(self.unchecked[:5])}")
        for c in self.failures:
            if not c.ok:
                i = c.worst_index
                raise VerificationError(
                    f"verification failed for {c.name}{list(i) if i else ''}: derived "
                    f"{_at(c.exact, i):.17g}, NumPy {_at(c.numpy, i):.17g} (relative difference {c.max_rel_diff:.2e})")
            raise VerificationError(
                f"finite differences disagree with {c.name}: largest relative difference {c.fd_max_rel_diff:.2e}")


def _beyond_float64(x) -> bool:
    """``abs(x) > FLOAT64_LIMIT``, decided from the binary exponent when that is clearly enough: comparing
    every mpf with a float took half the verification of a 28 × 28 CNN."""
    _sign, man, exp, bc = x._mpf_
    if exp + bc <= _SAFE_BITS and (man or not (exp or bc)):   # finite and below 2**498 < 1e150, or zero
        return False
    return abs(x) > FLOAT64_LIMIT


def mp_log10(value) -> float:
    from symderiv.numbers import mp
    return float(mp.log10(value))


def _at(array: np.ndarray, index: tuple) -> float:
    return float(array[index]) if index else float(array.flat[0]) if array.size else float("nan")


def rel_diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    denom = np.maximum(np.abs(a), np.abs(b))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.abs(a - b) / denom
    return np.where(denom == 0, 0.0, r)


def compare(exact: np.ndarray, ref: np.ndarray, magnitude=None) -> tuple[float, bool, tuple]:
    """Largest relative difference, agreement, worst index. ``magnitude`` (optional, from the reference):
    the size of the terms each value was computed from; rounding noise below 1e-12 of it is allowed, so an
    exact 0 against float64's 1e-17 is no failure even where the whole tensor is 0."""
    exact = np.asarray(exact, dtype=float)
    ref = np.asarray(ref, dtype=float)
    if exact.shape != ref.shape:
        return float("inf"), False, ()
    if not np.all(np.isfinite(ref)) or not np.all(np.isfinite(exact)):
        return float("inf"), bool(np.array_equal(exact, ref)), ()
    scale = float(np.max(np.abs(exact))) if exact.size else 0.0
    allowed = NUMPY_RTOL * np.maximum(np.abs(exact), np.abs(ref)) + NUMPY_SCALE_TOL * scale
    r = rel_diff(exact, ref)
    if magnitude is not None:
        size = np.broadcast_to(np.asarray(magnitude, dtype=float), exact.shape)
        noise = NUMPY_SCALE_TOL * size
        allowed = allowed + noise
        # within rounding noise of its terms, a value's difference is measured against their size
        diff = np.abs(exact - ref)
        against_size = np.divide(diff, size, out=np.zeros(exact.shape), where=size > 0)
        r = np.where(diff <= noise, np.minimum(r, against_size), r)
    ok = bool(np.all(np.abs(exact - ref) <= allowed))
    worst = tuple(int(i) for i in np.unravel_index(int(np.argmax(r)), r.shape)) if r.ndim else ()
    return float(np.max(r)) if r.size else 0.0, ok, worst


def reference_for(derivation: Derivation):
    """The independent float64 implementation of the derivation's network."""
    from symderiv.reference.network import NetworkReference
    return NetworkReference(derivation)


def verify(derivation: Derivation, finite_differences: bool = True) -> Verification:
    """Compare every computed step with the reference; gradients also with finite differences."""
    ref = reference_for(derivation)
    for step in derivation.steps:
        too_big = [n for n in step.value.flat if _beyond_float64(n.approx)]
        if too_big:
            exponent = int(mp_log10(abs(too_big[0].approx)))
            raise SymderivError(
                f"{step.name} reaches about 1e{exponent}: values beyond 1e150 cannot be verified by the "
                "independent float64 check (their products overflow); scale the example's numbers down")
    params = ref.float_parameters()
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values = ref.backward(params)
    loss = float(values["L"])
    checks, unchecked, probed = [], [], 0
    for step in derivation.steps:
        if step.kind not in CHECKED_KINDS:
            continue
        if step.name not in values:
            unchecked.append(step.name)
            continue
        exact = tensors.to_float_array(step.value)
        numpy_value = np.asarray(values[step.name], dtype=float).reshape(exact.shape) \
            if np.size(values[step.name]) == exact.size else np.asarray(values[step.name], dtype=float)
        worst_rel, ok, worst = compare(exact, numpy_value, getattr(ref, "magnitudes", {}).get(step.name))
        fd = fd_rel = None
        fd_ok = True
        if finite_differences and step.kind == Kind.GRADIENT:
            param = step.parameter or step.name[len("dL/d"):]
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fd, n = finite_difference(ref, params, param)
            probed += n
            mask = ~np.isnan(fd)
            err = np.abs(fd - exact)
            fd_ok = bool(np.all(err[mask] <= FD_RTOL * np.abs(exact[mask]) + FD_ATOL * max(1.0, abs(loss))))
            fd_rel = float(np.max(rel_diff(exact[mask], fd[mask]))) if mask.any() else 0.0
        checks.append(Check(step.name, step.kind, exact, numpy_value, worst_rel, ok, fd, fd_rel, fd_ok, worst))
    return Verification(tuple(checks), tuple(unchecked), probed,
                        {"numpy_rtol": NUMPY_RTOL, "fd_rtol": FD_RTOL, "fd_atol": FD_ATOL, "fd_step": FD_STEP})


def probe_indices(shape: tuple[int, ...], limit: int = FD_MAX_ELEMENTS) -> list[tuple]:
    """Every index of a small tensor; for a large one, ``limit`` indices spread evenly (first and last kept)."""
    size = int(np.prod(shape)) if shape else 1
    if size <= limit:
        flat = range(size)
    else:
        flat = sorted({round(i * (size - 1) / (limit - 1)) for i in range(limit)})
    return [tuple(int(v) for v in np.unravel_index(i, shape)) if shape else () for i in flat]


def finite_difference(ref, params: dict, name: str) -> tuple[np.ndarray, int]:
    """Central differences of the reference loss w.r.t. parameter ``name`` (NaN where not probed).

    Every probed entry is moved up and down in its own copy of the parameter; the reference evaluates
    all the copies in one vectorised pass (:meth:`~symderiv.reference.network.NetworkReference.losses`)."""
    base = params[name]
    out = np.full(base.shape, np.nan)
    indices = probe_indices(base.shape)
    steps = np.array([FD_STEP * max(1.0, abs(float(base[index]))) for index in indices])
    copies = np.repeat(base[None], 2 * len(indices), axis=0)
    for k, index in enumerate(indices):
        copies[(2 * k,) + index] += steps[k]
        copies[(2 * k + 1,) + index] -= steps[k]
    losses = np.asarray(ref.losses({**params, name: copies}), dtype=float)
    for k, index in enumerate(indices):
        out[index] = (losses[2 * k] - losses[2 * k + 1]) / (2 * steps[k])
    return out, len(indices)
