"""Data augmentation for images: shifts that keep the label."""

from __future__ import annotations

import numpy as np


def _shift_last_two_axes(images: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """``images (..., H, W)`` each moved down by ``dy`` and right by ``dx``; vacated pixels 0."""
    h, w = images.shape[-2:]
    out = np.zeros_like(images)
    if abs(dy) >= h or abs(dx) >= w:
        return out
    out[..., max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        images[..., max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return out


def shift_image(image: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """image (H, W) moved down by ``dy`` and right by ``dx`` (negative: up, left); vacated 0."""
    image = np.asarray(image)
    if image.ndim != 2:
        raise ValueError(f"shift_image expects one image (H, W), got shape {image.shape}")
    return _shift_last_two_axes(image, dy, dx)


def random_shift(images: np.ndarray, max_shift: int, rng: np.random.Generator) -> np.ndarray:
    """images (N, H, W), each shifted by its own (dy, dx) uniform in [-max_shift, max_shift].

    The shifts are drawn at once as ``rng.integers(-max_shift, max_shift + 1, size=(N, 2))``
    (row i is image i's ``(dy, dx)``); images that share a shift are moved together.
    """
    images = np.asarray(images)
    shifts = rng.integers(-max_shift, max_shift + 1, size=(len(images), 2))
    out = np.zeros_like(images)
    if len(images) == 0:
        return out
    codes = (shifts[:, 0] + max_shift) * (2 * max_shift + 1) + (shifts[:, 1] + max_shift)
    for code in np.unique(codes):
        idx = np.flatnonzero(codes == code)
        dy, dx = shifts[idx[0]]
        out[idx] = _shift_last_two_axes(images[idx], int(dy), int(dx))
    return out
