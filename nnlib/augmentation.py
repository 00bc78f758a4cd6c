"""Data augmentation for images: shifts that keep the label."""

from __future__ import annotations

import numpy as np


def shift_image(image: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """image (H, W) moved down by ``dy`` and right by ``dx`` (negative: up, left); vacated 0."""
    h, w = image.shape
    out = np.zeros_like(image)
    if abs(dy) >= h or abs(dx) >= w:
        return out
    out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        image[max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return out


def random_shift(images: np.ndarray, max_shift: int, rng: np.random.Generator) -> np.ndarray:
    """images (N, H, W), each shifted by its own (dy, dx) uniform in [-max_shift, max_shift]."""
    shifts = rng.integers(-max_shift, max_shift + 1, size=(len(images), 2))
    return np.stack([shift_image(img, dy, dx) for img, (dy, dx) in zip(images, shifts)]) \
        if len(images) else np.array(images, copy=True)
