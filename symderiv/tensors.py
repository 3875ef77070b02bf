"""Tensors of :class:`~symderiv.numbers.Num`: NumPy object arrays, so shapes and indexing are NumPy's.

Scalars are 0-d arrays, vectors 1-d, matrices 2-d, feature maps 3-d (channel, row, column).
Every arithmetic helper here runs the Num arithmetic element by element, in row-major order,
so results (and their exact forms) are deterministic.
"""

from __future__ import annotations

import numpy as np

from symderiv.numbers import ONE, ZERO, Num


def tensor(nested) -> np.ndarray:
    """An object array of Num from nested lists of Num (or a single Num)."""
    if isinstance(nested, np.ndarray) and nested.dtype == object:
        return nested
    if isinstance(nested, Num):
        arr = np.empty((), dtype=object)
        arr[()] = nested
        return arr
    arr = np.empty(_shape_of(nested), dtype=object)
    for index, value in zip(np.ndindex(arr.shape), _flatten(nested)):
        arr[index] = value
    return arr


def _shape_of(nested) -> tuple[int, ...]:
    shape = []
    while isinstance(nested, (list, tuple)):
        shape.append(len(nested))
        nested = nested[0] if nested else None
    return tuple(shape)


def _flatten(nested):
    if isinstance(nested, (list, tuple)):
        for item in nested:
            yield from _flatten(item)
    else:
        yield nested


def full(shape, value: Num) -> np.ndarray:
    arr = np.empty(shape, dtype=object)
    for index in np.ndindex(arr.shape):
        arr[index] = value
    return arr


def zeros(shape) -> np.ndarray:
    return full(shape, ZERO)


def ones(shape) -> np.ndarray:
    return full(shape, ONE)


def scalar(value: Num) -> np.ndarray:
    return tensor(value)


def elementwise(func, *arrays: np.ndarray) -> np.ndarray:
    """Apply ``func`` to matching elements of equally shaped arrays."""
    shape = arrays[0].shape
    out = np.empty(shape, dtype=object)
    for index in np.ndindex(shape):
        out[index] = func(*(a[index] for a in arrays))
    return out


def dot(vector_a, vector_b) -> Num:
    """Sum of products in index order, skipping exact zeros (one-hot inputs stay cheap)."""
    total = ZERO
    for a, b in zip(vector_a, vector_b):
        if a.exact is None and b.exact is None:       # neither can be an exact zero: no test needed
            product = a * b
        elif a.is_zero or b.is_zero:
            continue
        else:
            product = a * b
        total = product if total is ZERO else total + product
    return total


def matvec(matrix: np.ndarray, vector: np.ndarray) -> np.ndarray:
    rows = matrix.shape[0]
    out = np.empty((rows,), dtype=object)
    for i in range(rows):
        out[i] = dot(matrix[i], vector)
    return out


def outer(col: np.ndarray, row: np.ndarray) -> np.ndarray:
    out = np.empty((col.shape[0], row.shape[0]), dtype=object)
    for i in range(col.shape[0]):
        for j in range(row.shape[0]):
            out[i, j] = col[i] * row[j]
    return out


def add(*arrays: np.ndarray) -> np.ndarray:
    return elementwise(lambda *xs: _sum(xs), *arrays)


def _sum(values) -> Num:
    total = ZERO
    for v in values:
        total = total + v
    return total


def total(array: np.ndarray) -> Num:
    """Sum of every element, row-major."""
    return _sum(array.flat)


def to_floats(array: np.ndarray):
    """Nested Python floats (or a float) in the array's shape, row-major."""
    if array.shape == ():
        return float(array[()].approx)
    return to_float_array(array).tolist()


def to_float_array(array: np.ndarray) -> np.ndarray:
    if array.shape == ():
        return np.array(float(array[()].approx))
    # A list comprehension, not np.vectorize, whose per-call set-up cost a tenth of the BPTT verification.
    return np.array([float(n.approx) for n in array.flat], dtype=float).reshape(array.shape)


def as_scalar(array: np.ndarray) -> Num:
    if array.shape != ():
        raise ValueError(f"expected a scalar, found shape {array.shape}")
    return array[()]
