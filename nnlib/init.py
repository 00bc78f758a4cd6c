"""Weight initialisation."""

from __future__ import annotations

import numpy as np


def glorot_bound(fan_in: int, fan_out: int) -> float:
    """Half-width ``sqrt(6 / (fan_in + fan_out))`` of Glorot's uniform distribution."""
    return float(np.sqrt(6.0 / (fan_in + fan_out)))


def glorot_uniform(fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    """Weights (fan_in, fan_out) from ``U(-b, b)`` with ``b = sqrt(6 / (fan_in + fan_out))``.

    This keeps the variance of activations (forward) and of gradients (backward) roughly
    constant from layer to layer.
    """
    b = glorot_bound(fan_in, fan_out)
    return rng.uniform(-b, b, size=(fan_in, fan_out))


def small_normal(fan_in: int, fan_out: int, rng: np.random.Generator,
                 std: float = 0.01) -> np.ndarray:
    """Weights (fan_in, fan_out) from ``N(0, std^2)``: the naive initialisation, for contrast."""
    return rng.normal(0.0, std, size=(fan_in, fan_out))


def he_normal(fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    """Weights (fan_in, fan_out) from ``N(0, 2 / fan_in)``: He (Kaiming) initialisation.

    A ReLU zeroes about half of its inputs, halving the second moment of what passes; the
    factor 2 makes up for it, so the activations of a deep ReLU network keep their scale from
    layer to layer (Glorot's variance, made for symmetric activations, shrinks it by about
    half per layer).
    """
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_in, fan_out))
