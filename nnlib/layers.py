"""Layers with the uniform contract ``forward(...) -> (out, cache)``, ``backward(dout, cache)``.

``cache`` holds what the backward pass needs; ``backward`` returns the gradient of the loss with
respect to each input, shaped like that input.
"""

from __future__ import annotations

import numpy as np

from .dtypes import as_float


def affine_forward(x: np.ndarray, W: np.ndarray, b: np.ndarray):
    """``out = x @ W + b`` for x (N, D), W (D, M), b (M,) -> out (N, M), cache (x, W, b)."""
    out = x @ W + b
    return out, (x, W, b)


def affine_backward(dout: np.ndarray, cache):
    """dout (N, M) -> (dx (N, D), dW (D, M), db (M,))."""
    x, W, _ = cache
    return dout @ W.T, x.T @ dout, dout.sum(axis=0)


def affine_param_grads(dout: np.ndarray, cache):
    """``(dW, db)`` of ``affine_backward`` without ``dx``: for a first layer (its input is data)."""
    x = cache[0]
    return x.T @ dout, dout.sum(axis=0)


def relu_forward(x: np.ndarray):
    """``max(x, 0)`` element-wise; any shape. cache = x."""
    return np.maximum(x, 0), x


def relu_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """Pass ``dout`` where the input was > 0 and 0 elsewhere (the derivative at exactly 0 is 0)."""
    return dout * (cache > 0)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-x))`` evaluated without overflow for any finite x.

    ``exp(-|x|)`` is at most 1, so it cannot overflow; the two branches are the same function.
    Computed in x's floating dtype (float32 stays float32), float64 for integers.
    """
    x = as_float(x)
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))


def sigmoid_forward(x: np.ndarray):
    """Element-wise logistic sigmoid; any shape. cache = out."""
    out = sigmoid(x)
    return out, out


def sigmoid_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """``dout * s * (1 - s)`` with ``s`` the forward output."""
    return dout * cache * (1.0 - cache)
