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
from symderiv.gcpause import without_gc_pauses
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
    rel: np.ndarray | None = None          # per entry: the relative difference judged against NumPy
    fd_rel: np.ndarray | None = None       # per entry: against finite differences (NaN where not probed)


@dataclass(frozen=True)
class Verification:
    """All checks of one derivation; ``passed`` only when every step agrees and none is unchecked."""

    checks: tuple[Check, ...]
    unchecked: tuple[str, ...] = ()
    fd_elements: int = 0
    tolerances: dict = field(default_factory=dict)
    beyond_float64: tuple[str, ...] = ()     # intermediates float64 overflows on (the loss and gradients never)

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
            **({"beyond_float64": list(self.beyond_float64)} if self.beyond_float64 else {}),
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


def _holds_beyond(step) -> bool:
    """Some entry of the step is beyond what float64's products and squares can hold."""
    return any(_beyond_float64(n.approx) for n in step.value.flat) or not np.all(np.isfinite(step.floats))


def _refuse(step) -> None:
    largest = max((abs(n.approx) for n in step.value.flat), default=0)
    size = f"reaches about 1e{int(mp_log10(largest))}" if largest > FLOAT64_LIMIT else "drives the example"
    raise SymderivError(
        f"{step.name} {size}: values beyond 1e150 cannot be verified by the independent float64 check "
        "(their products overflow); scale the example's numbers down")


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


def compare(exact: np.ndarray, ref: np.ndarray, magnitude=None) -> tuple[float, bool, tuple, np.ndarray]:
    """Largest relative difference, agreement, worst index, relative difference per entry.
    ``magnitude`` (optional, from the reference):
    the size of the terms each value was computed from; rounding noise below 1e-12 of it is allowed, so an
    exact 0 against float64's 1e-17 is no failure even where the whole tensor is 0."""
    exact = np.asarray(exact, dtype=float)
    ref = np.asarray(ref, dtype=float)
    if exact.shape != ref.shape:
        return float("inf"), False, (), None
    if not np.all(np.isfinite(ref)) or not np.all(np.isfinite(exact)):
        return float("inf"), bool(np.array_equal(exact, ref)), (), None
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
    return float(np.max(r)) if r.size else 0.0, ok, worst, r


def reference_for(derivation: Derivation):
    """The independent float64 implementation of the derivation's network."""
    from symderiv.reference.network import NetworkReference
    return NetworkReference(derivation)


@without_gc_pauses
def verify(derivation: Derivation, finite_differences: bool = True) -> Verification:
    """Compare every computed step with the reference; gradients also with finite differences.

    The comparison runs over all steps at once (one set of NumPy operations over their entries laid end
    to end), and the finite differences of all the parameters of one descent step in one vectorised pass
    of the reference: a derivation of hundreds of small steps costs a few NumPy calls, not hundreds."""
    ref = reference_for(derivation)
    params = ref.float_parameters()
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values = ref.backward(params)
    loss = float(values["L"])
    unchecked, beyond, compared = [], [], []
    magnitudes = getattr(ref, "magnitudes", {})
    pairs = []
    for step in derivation.steps:
        if step.kind not in CHECKED_KINDS:
            continue
        if step.name not in values:
            unchecked.append(step.name)
            continue
        exact = tensors.to_float_array(step.value)
        numpy_value = np.asarray(values[step.name], dtype=float)
        if numpy_value.size == exact.size:
            numpy_value = numpy_value.reshape(exact.shape)
        pairs.append((step, exact, numpy_value))
    finite = _each_finite([e for _s, e, _n in pairs], [n for _s, _e, n in pairs])
    for (step, exact, numpy_value), is_finite in zip(pairs, finite):
        if not is_finite and _holds_beyond(step):
            # float64 overflows where the derivation does not: an intermediate is reported as beyond float64;
            # the loss or a parameter's gradient cannot be verified at all (bad input: scale it down)
            if step.kind in (Kind.GRADIENT, Kind.LOSS) and (step.name == "L" or step.kind == Kind.GRADIENT):
                _refuse(step)
            beyond.append(step.name)
            continue
        compared.append((step, exact, numpy_value, magnitudes.get(step.name), is_finite))
    results = compare_all([(e, n, m) for _s, e, n, m, _f in compared], [f for *_r, f in compared])
    fds, probed = {}, 0
    if finite_differences:
        gradients = [step for step, *_ in compared if step.kind == Kind.GRADIENT]
        for descent in sorted({step.descent for step in gradients}):
            names = [step.parameter or step.name[len("dL/d"):] for step in gradients if step.descent == descent]
            at_step = _step_parameters(params, values, descent)
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                found = finite_differences_of(ref, at_step, names, descent)
                exact_of = {step.parameter or step.name[len("dL/d"):]: exact for step, exact, *_ in compared
                            if step.kind == Kind.GRADIENT and step.descent == descent}
                _extrapolate_first_order(ref, at_step, found, exact_of, loss, descent)
            for step in gradients:
                if step.descent == descent:
                    fds[step.name] = found[step.parameter or step.name[len("dL/d"):]]
                    probed += int(np.sum(~np.isnan(fds[step.name])))
    checks = []
    for (step, exact, numpy_value, _m, _f), (worst_rel, ok, worst, rel) in zip(compared, results):
        fd = fd_rel = fd_rels = None
        fd_ok = True
        if step.name in fds:
            fd = fds[step.name]
            mask = ~np.isnan(fd)
            if not np.all(np.isfinite(fd[mask])):
                _refuse(step)
            err = np.abs(fd - exact)
            resolution = FD_ATOL * max(1.0, abs(loss))
            fd_ok = bool(np.all(_fd_agrees(fd, exact, loss)[mask]))
            # relative to the larger value, or to what a central difference resolves when both are smaller
            # (an exact 0 against a difference quotient's 1e-11 is no 100 % disagreement)
            fd_rels = np.where(mask, err / np.maximum(np.maximum(np.abs(exact), np.abs(fd)), resolution), np.nan)
            fd_rel = float(np.nanmax(fd_rels)) if mask.any() else 0.0
        checks.append(Check(step.name, step.kind, exact, numpy_value, worst_rel, ok, fd, fd_rel, fd_ok, worst, rel,
                            fd_rels))
    return Verification(tuple(checks), tuple(unchecked), probed,
                        {"numpy_rtol": NUMPY_RTOL, "fd_rtol": FD_RTOL, "fd_atol": FD_ATOL, "fd_step": FD_STEP},
                        tuple(beyond))


def _each_finite(exacts: list, numpys: list) -> list[bool]:
    """Per pair: every entry of both arrays finite (one isfinite over all the entries laid end to end)."""
    if not exacts:
        return []
    arrays = [a.reshape(-1) for pair in zip(exacts, numpys) for a in pair]
    sizes = np.array([a.size for a in arrays])
    good = np.isfinite(np.concatenate(arrays))
    bad_before = np.concatenate([[0], np.cumsum(~good)])          # non-finite entries before each position
    ends = np.cumsum(sizes)
    bad = bad_before[ends] - bad_before[ends - sizes]
    return [not (bad[2 * k] or bad[2 * k + 1]) for k in range(len(exacts))]


def compare_all(items: list, finite: list[bool] | None = None) -> list:
    """:func:`compare` of every (exact, numpy, magnitude) at once: the entries laid end to end, one pass of
    NumPy operations, the results cut back per item. Items whose shapes differ or that are not finite
    are compared one by one. ``finite`` (per item, from :func:`_each_finite`) saves finding it again."""
    if finite is None:
        finite = _each_finite([e for e, _n, _m in items], [n for _e, n, _m in items])
    simple = [k for k, (e, n, _m) in enumerate(items) if finite[k] and e.shape == n.shape]
    out: list = [None] * len(items)
    for k in sorted(set(range(len(items))) - set(simple)):
        out[k] = compare(*items[k])
    if not simple:
        return out
    sizes = np.array([items[k][0].size for k in simple])
    exact = np.concatenate([items[k][0].reshape(-1) for k in simple])
    ref = np.concatenate([items[k][1].reshape(-1) for k in simple])
    size = np.concatenate([_entries(items[k][2], items[k][0].shape) for k in simple])
    starts = np.cumsum(sizes) - sizes
    segment = np.repeat(np.arange(len(simple)), sizes)          # which item each entry belongs to
    scale = np.zeros(len(simple))
    np.maximum.at(scale, segment, np.abs(exact))
    diff = np.abs(exact - ref)
    noise = NUMPY_SCALE_TOL * size
    allowed = NUMPY_RTOL * np.maximum(np.abs(exact), np.abs(ref)) + NUMPY_SCALE_TOL * scale[segment] + noise
    r = rel_diff(exact, ref)
    # within rounding noise of its terms, a value's difference is measured against their size
    against_size = np.divide(diff, size, out=np.zeros_like(diff), where=size > 0)
    r = np.where((diff <= noise) & (size > 0), np.minimum(r, against_size), r)
    failing = np.zeros(len(simple), dtype=int)
    np.add.at(failing, segment, ~(diff <= allowed))
    worst_rel = np.zeros(len(simple))
    np.maximum.at(worst_rel, segment, r)
    # the first entry of each item where its largest difference is reached (argmax per item)
    order = np.lexsort((np.arange(r.size), -r, segment))
    first = np.searchsorted(segment[order], np.arange(len(simple)))
    for j, (k, start, n) in enumerate(zip(simple, starts, sizes)):
        shape = items[k][0].shape
        part = r[start:start + n].reshape(shape)
        worst = tuple(int(i) for i in np.unravel_index(int(order[first[j]] - start), shape)) if part.ndim and n else ()
        out[k] = (float(worst_rel[j]), not failing[j], worst, part)
    return out


def _entries(magnitude, shape: tuple) -> np.ndarray:
    """A step's magnitude (None, a scalar or an array) as one number per entry, row-major."""
    if magnitude is None:
        return np.zeros(int(np.prod(shape)) if shape else 1)
    magnitude = np.asarray(magnitude, dtype=float)
    if magnitude.shape != shape:
        magnitude = np.broadcast_to(magnitude, shape)
    return magnitude.reshape(-1)


def probe_indices(shape: tuple[int, ...], limit: int = FD_MAX_ELEMENTS) -> list[tuple]:
    """Every index of a small tensor; for a large one, ``limit`` indices spread evenly (first and last kept)."""
    size = int(np.prod(shape)) if shape else 1
    if size <= limit:
        flat = range(size)
    else:
        flat = sorted({round(i * (size - 1) / (limit - 1)) for i in range(limit)})
    return [tuple(int(v) for v in np.unravel_index(i, shape)) if shape else () for i in flat]


def _step_parameters(params: dict, values: dict, descent: int) -> dict:
    """The parameters as they are in descent step ``descent`` (``W1'`` in step 2), from the reference's values."""
    if descent == 1:
        return params
    return {name + "'" * (descent - 1): np.asarray(values[name + "'" * (descent - 1)], dtype=float) for name in params}


def finite_differences_of(ref, params: dict, names: list[str], descent: int = 1, probes: dict | None = None,
                          step_scale: float = 1.0) -> dict:
    """Central differences of the reference loss with respect to every parameter in ``names`` (NaN where
    not probed), all in one vectorised pass: every probed entry of every parameter is moved up and down in
    its own copy of the whole parameter set, and the reference evaluates all the copies at once
    (:meth:`~symderiv.reference.network.NetworkReference.losses`).

    ``probes`` (name → indices) limits the entries probed (default :func:`probe_indices`); the step is
    ``step_scale · FD_STEP · max(1, |θ|)``."""
    keys = {name: name + "'" * (descent - 1) for name in names}
    plan = []                                  # (parameter, index, step) per pair of copies
    for name in names:
        base = params[keys[name]]
        indices = probe_indices(base.shape) if probes is None else probes.get(name, [])
        for index in indices:
            plan.append((name, index, step_scale * FD_STEP * max(1.0, abs(float(base[index])))))
    out = {name: np.full(params[keys[name]].shape, np.nan) for name in names}
    if not plan:
        return out
    count = 2 * len(plan)
    batch = {key: np.repeat(np.asarray(value, dtype=float)[None], count, axis=0) for key, value in params.items()}
    for k, (name, index, h) in enumerate(plan):
        batch[keys[name]][(2 * k,) + index] += h
        batch[keys[name]][(2 * k + 1,) + index] -= h
    losses = np.asarray(ref.losses(batch, descent) if descent > 1 else ref.losses(batch), dtype=float)
    for k, (name, index, h) in enumerate(plan):
        out[name][index] = (losses[2 * k] - losses[2 * k + 1]) / (2 * h)
    return out


def _fd_agrees(fd: np.ndarray, exact: np.ndarray, loss: float) -> np.ndarray:
    """Per entry: the difference quotient within FD_RTOL of the exact value, or within what a central
    difference resolves of a loss of this size (FD_ATOL · max(1, |L|))."""
    return np.abs(fd - exact) <= FD_RTOL * np.abs(exact) + FD_ATOL * max(1.0, abs(loss))


def _extrapolate_first_order(ref, params: dict, found: dict, exact_of: dict, loss: float, descent: int) -> None:
    """Where a central difference disagrees, it may be only first-order accurate: when a pre-activation
    sits where the activation's second derivative jumps (softsign or ELU at 0), D(h) = θ' + c·h. Those
    entries are probed again at h/2 and replaced by the Richardson extrapolation 2·D(h/2) − D(h), which
    removes the c·h term (and keeps second-order accuracy where there is no jump); a wrong derivative
    stays wrong."""
    probes = {}
    for name, fd in found.items():
        bad = ~np.isnan(fd) & ~_fd_agrees(fd, exact_of[name], loss)
        if np.any(bad):
            probes[name] = [tuple(int(i) for i in index) for index in zip(*np.nonzero(bad))]
    if not probes:
        return
    half = finite_differences_of(ref, params, list(probes), descent, probes, step_scale=0.5)
    for name, indices in probes.items():
        for index in indices:
            found[name][index] = 2.0 * half[name][index] - found[name][index]
