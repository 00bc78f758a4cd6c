"""Gradient clipping by the global norm: one scale for every array, so the direction stays."""

from __future__ import annotations

import numpy as np


def global_norm(grads: dict) -> float:
    """``sqrt`` of the sum of squares of every entry of every array in ``grads``."""
    total = 0.0
    for g in grads.values():
        flat = np.ravel(g)
        total += float(np.dot(flat, flat))
    return float(np.sqrt(total))


def clip_by_global_norm(grads: dict, max_norm: float):
    """``(clipped, norm)``: ``norm = global_norm(grads)``; a new dict of new arrays, each scaled
    by ``max_norm / norm`` when ``norm > max_norm``, else equal copies.

    The scale is a Python float, so float32 gradients stay float32.
    """
    norm = global_norm(grads)
    if norm > max_norm:
        scale = float(max_norm / norm)
        return {key: g * scale for key, g in grads.items()}, norm
    return {key: np.array(g, copy=True) for key, g in grads.items()}, norm
