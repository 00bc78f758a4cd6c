"""Numerical gradients: the ground truth every analytic gradient is checked against."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .student import StudentFunctionError, call, describe, expect_number


def numeric_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-5):
    """Central differences ``(f(x + h e_i) - f(x - h e_i)) / (2h)`` at every element of ``x``.

    ``x`` is a float array of any shape, possibly a non-contiguous view; it is changed in place
    one element at a time while ``f`` is evaluated, and holds its original values afterwards.
    Returns an array shaped like ``x``. ``f`` must return one number (a broken or unfinished
    function raises ``StudentFunctionError`` saying what it returned).
    """
    if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
        raise TypeError(f"numeric_gradient needs x as a float array, got {describe(x)}"
                        + (f" of dtype {x.dtype}" if isinstance(x, np.ndarray) else "")
                        + ": x + h would be rounded (use x.astype(float))")
    grad = np.zeros(x.shape, dtype=float)
    for idx in np.ndindex(*x.shape):
        original = x[idx]
        try:
            x[idx] = original + h
            f_plus = _value(f, x)
            x[idx] = original - h
            f_minus = _value(f, x)
        finally:
            x[idx] = original
        grad[idx] = (f_plus - f_minus) / (2 * h)
    return grad


def _value(f, x) -> float:
    """``f(x)`` as one number, or a StudentFunctionError naming what ``f`` returned."""
    value = call(f, "f", x)
    if isinstance(value, np.ndarray) and value.size != 1:
        raise StudentFunctionError(
            f"numeric_gradient: f returned {describe(value)}; it must return one number, such "
            f"as a loss or np.sum(out * dout)")
    return expect_number(value, f, "f", "its value")


def rel_error(a, b, floor: float = 1e-8) -> float:
    """Largest element-wise relative error ``|a - b| / max(|a| + |b|, floor)``.

    ``a`` and ``b``: numbers or arrays of one shape (a gradient and its numerical estimate).
    """
    for which, value in (("first", a), ("second", b)):
        if value is None or isinstance(value, (tuple, dict, str)):
            raise StudentFunctionError(
                f"rel_error: its {which} argument is {describe(value)}; expected an array (did "
                f"the function that computed it return "
                + ("nothing?)" if value is None else "a tuple or a dict instead of one array?)"))
    if np.shape(a) != np.shape(b):
        raise StudentFunctionError(f"rel_error: the arrays have different shapes, "
                                   f"{np.shape(a)} and {np.shape(b)}: a gradient is shaped "
                                   f"like the array it is taken with respect to")
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), floor)))
