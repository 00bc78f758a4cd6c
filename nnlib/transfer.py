"""Transfer learning on parameter dicts ``W1 b1 ... WL bL`` (ReLU after all but the last).

What a result may share with its inputs (the contract, docs/curriculum.md):

- ``replace_head`` returns a model that owns every array: the body's are copies, so training
  the new model (in place, as many optimizers do) cannot change the pretrained one.
- ``fine_tune_step`` returns a new dict. Its trainable arrays are new arrays. Its frozen arrays
  hold exactly the values of ``params`` and may be the very same array objects (this one shares
  them: freezing costs no copy, as in deep-learning frameworks) or copies; both are right.
- Nothing modifies ``params``, ``grads`` or any of their arrays.
"""

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
    """New dict: layers 1..L-1 copied (new arrays, same values), ``WL`` Glorot-uniform
    (fan_in, num_classes) from ``rng``, ``bL`` zeros (num_classes,)."""
    L = num_layers(params)
    new = {key: np.array(value, copy=True) for key, value in params.items()
           if key not in (f"W{L}", f"b{L}")}
    fan_in = params[f"W{L}"].shape[0]
    new[f"W{L}"] = glorot_uniform(fan_in, num_classes, rng)
    new[f"b{L}"] = np.zeros(num_classes)
    return new


def fine_tune_step(params: dict, grads: dict, trainable, learning_rate: float) -> dict:
    """A new dict: each key in ``trainable`` takes one SGD step, a new array
    ``params[key] - learning_rate * grads[key]``; every other (frozen) key keeps its array,
    shared with ``params``, not copied."""
    trainable = set(trainable)
    return {key: value - learning_rate * grads[key] if key in trainable else value
            for key, value in params.items()}
