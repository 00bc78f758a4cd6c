"""Numerical gradients: the ground truth every analytic gradient is checked against."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def numeric_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-5):
    """Central differences ``(f(x + h e_i) - f(x - h e_i)) / (2h)`` at every element of ``x``.

    ``x`` is a float array of any shape, possibly a non-contiguous view; it is changed in place
    one element at a time while ``f`` is evaluated, and holds its original values afterwards.
    Returns an array shaped like ``x``.
    """
    grad = np.zeros(x.shape, dtype=float)
    for idx in np.ndindex(*x.shape):
        original = x[idx]
        try:
            x[idx] = original + h
            f_plus = float(f(x))
            x[idx] = original - h
            f_minus = float(f(x))
        finally:
            x[idx] = original
        grad[idx] = (f_plus - f_minus) / (2 * h)
    return grad


def rel_error(a, b, floor: float = 1e-8) -> float:
    """Largest element-wise relative error ``|a - b| / max(|a| + |b|, floor)``."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), floor)))
