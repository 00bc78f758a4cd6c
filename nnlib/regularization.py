"""Regularization: inverted dropout, the L2 penalty and early stopping."""

from __future__ import annotations

import numpy as np


def dropout_forward(x: np.ndarray, keep_prob: float, train: bool, rng: np.random.Generator):
    """Inverted dropout on x (any shape).

    Training: ``mask = (rng.random(x.shape) < keep_prob) / keep_prob``, ``out = x * mask``,
    cache = mask; the expected value of ``out`` equals ``x``, so nothing changes at test time.
    Not training: ``out = x``, cache = None, and ``rng`` is not used.
    """
    if not train:
        return x, None
    mask = (rng.random(np.shape(x)) < keep_prob) / keep_prob
    dtype = np.asarray(x).dtype
    if np.issubdtype(dtype, np.floating) and dtype != mask.dtype:
        mask = mask.astype(dtype)  # a float32 network stays float32
    return x * mask, mask


def dropout_backward(dout: np.ndarray, cache) -> np.ndarray:
    """``dout * mask`` (in evaluation mode, cache None, the gradient passes unchanged)."""
    return dout if cache is None else dout * cache


def l2_penalty(params: dict, reg: float):
    """``0.5 * reg * sum(W**2)`` over every array whose key starts with "W" (biases are free).

    Returns (loss, dparams): dparams has every key of params, ``reg * W`` for weights, zeros
    for the others.
    """
    loss = 0.0
    dparams = {}
    for key, value in params.items():
        if key.startswith("W"):
            loss += 0.5 * reg * float(np.sum(value * value))
            dparams[key] = reg * value
        else:
            value = np.asarray(value)
            floating = np.issubdtype(value.dtype, np.floating)
            dparams[key] = np.zeros(value.shape, dtype=value.dtype if floating else float)
    return loss, dparams


def early_stopping(val_losses, patience: int, min_delta: float = 0.0):
    """``(best_epoch, should_stop)`` for a non-empty list of per-epoch validation losses.

    Epoch 0 improves; a later epoch improves when its loss is below the best so far minus
    ``min_delta``. ``should_stop`` when ``patience`` epochs have passed since the last improvement.
    """
    if len(val_losses) == 0:
        raise ValueError("early_stopping needs at least one validation loss")
    best_epoch, best = 0, val_losses[0]
    for epoch, loss in enumerate(val_losses[1:], start=1):
        if loss < best - min_delta:
            best_epoch, best = epoch, loss
    return best_epoch, len(val_losses) - 1 - best_epoch >= patience
