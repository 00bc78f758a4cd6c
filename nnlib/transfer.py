"""Transfer learning on parameter dicts ``W1 b1 ... WL bL`` (ReLU after all but the last)."""

from __future__ import annotations

import numpy as np

from .init import glorot_uniform
from .models import num_layers


def extract_features(params: dict, X: np.ndarray) -> np.ndarray:
    """Activations after the ReLU of layer L-1 for X (N, D): the network minus its head.

    Returns (N, H) where H is the fan-in of ``WL``.
    """
    h = X
    for i in range(1, num_layers(params)):
        h = np.maximum(h @ params[f"W{i}"] + params[f"b{i}"], 0)
    return h


def replace_head(params: dict, num_classes: int, rng: np.random.Generator) -> dict:
    """New dict: layers 1..L-1 copied, ``WL`` Glorot-uniform (fan_in, num_classes), ``bL`` 0."""
    L = num_layers(params)
    new = {key: np.array(value, copy=True) for key, value in params.items()
           if key not in (f"W{L}", f"b{L}")}
    fan_in = params[f"W{L}"].shape[0]
    new[f"W{L}"] = glorot_uniform(fan_in, num_classes, rng)
    new[f"b{L}"] = np.zeros(num_classes)
    return new


def fine_tune_step(params: dict, grads: dict, trainable, learning_rate: float) -> dict:
    """A new dict: keys in ``trainable`` take one SGD step, every other array keeps its values."""
    trainable = set(trainable)
    return {key: value - learning_rate * grads[key] if key in trainable
            else np.array(value, copy=True) for key, value in params.items()}
