"""Correct candidates that compute in float32: nnlib's reference run on float32 copies.

A student may compute in float32 (a float32 network does, and so does code that starts from
``np.zeros(shape, dtype=np.float32)``); the checker must accept such answers with tolerances
that fit float32 (CURRICULUM.md, notebook 07). ``in_float32(nnlib.softmax)`` is such a candidate.
"""

from __future__ import annotations

import numbers

import numpy as np


def _arrays_to_float32(value):
    """Floating arrays in ``value`` (also inside tuples, lists and dicts) as float32 copies."""
    if isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.floating):
        return value.astype(np.float32)
    if isinstance(value, dict):
        return {key: _arrays_to_float32(item) for key, item in value.items()}
    if isinstance(value, (tuple, list)):
        return type(value)(_arrays_to_float32(item) for item in value)
    return value


def _result_to_float32(value):
    """A result as float32: its arrays, and the numbers it returns (a loss) as np.float32.

    Numbers inside dicts (hyperparameters in a config) are left as they are.
    """
    if isinstance(value, tuple):
        return tuple(_result_to_float32(item) for item in value)
    if isinstance(value, numbers.Real) and not isinstance(value, (bool, numbers.Integral)):
        return np.float32(value)
    return _arrays_to_float32(value)


def in_float32(reference, cast_inputs: bool = True):
    """A candidate computing ``reference`` in float32: float inputs and results as float32.

    cast_inputs=False leaves the inputs alone (for an input the candidate must change in place).
    """

    def candidate(*args, **kwargs):
        if cast_inputs:
            args = _arrays_to_float32(args)
        return _result_to_float32(reference(*args, **kwargs))

    candidate.__name__ = f"{reference.__name__}_in_float32"
    return candidate
