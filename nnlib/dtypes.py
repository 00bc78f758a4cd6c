"""Floating dtypes: nnlib computes in the precision of its inputs.

A float32 array stays float32 (a float32 network trains in float32); anything else that is not
floating (integers, lists, Python numbers) becomes float64.
"""

from __future__ import annotations

import numpy as np


def float_dtype(a) -> np.dtype:
    """The dtype nnlib computes ``a`` in: its own when it is floating, else float64."""
    dtype = np.asarray(a).dtype
    return dtype if np.issubdtype(dtype, np.floating) else np.dtype(np.float64)


def as_float(a) -> np.ndarray:
    """``a`` as an array of its own floating dtype (float32 stays float32), else float64.

    No copy when ``a`` already is a floating array.
    """
    a = np.asarray(a)
    return a if np.issubdtype(a.dtype, np.floating) else a.astype(np.float64)
