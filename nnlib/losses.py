"""Loss functions and their gradients with respect to the network's output.

Stable forms: softmax subtracts each row's maximum before ``exp``; cross-entropy uses
log-softmax ``s - logsumexp(s)`` rather than ``log(softmax(s))``, so no ``exp`` overflows and
no ``log(0)`` appears for any finite scores.
"""

from __future__ import annotations

import numpy as np

from .dtypes import as_float


def mse_loss(y_pred: np.ndarray, y_true: np.ndarray) -> float:
    """Mean over every entry of ``(y_pred - y_true) ** 2``; both (N, ...) -> float."""
    diff = as_float(y_pred) - as_float(y_true)
    return float(np.mean(diff * diff))


def mse_loss_backward(y_pred: np.ndarray, y_true: np.ndarray) -> np.ndarray:
    """d mse_loss / d y_pred = 2 (y_pred - y_true) / (number of entries); shaped like y_pred."""
    y_pred = as_float(y_pred)
    return 2.0 * (y_pred - as_float(y_true)) / y_pred.size


def log_softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise ``s - logsumexp(s)`` for scores (N, C); finite for any finite input."""
    scores = as_float(scores)
    shifted = scores - scores.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise softmax of scores (N, C) -> probabilities (N, C), each row summing to 1."""
    scores = as_float(scores)
    exps = np.exp(scores - scores.max(axis=1, keepdims=True))
    return exps / exps.sum(axis=1, keepdims=True)


def cross_entropy_loss(scores: np.ndarray, y: np.ndarray) -> float:
    """Mean over the batch of ``-log softmax(scores)[i, y[i]]``; scores (N, C), y (N,) ints."""
    logp = log_softmax(scores)
    n = logp.shape[0]
    return float(-logp[np.arange(n), np.asarray(y, dtype=int)].mean())


def softmax_cross_entropy_backward(scores: np.ndarray, y: np.ndarray) -> np.ndarray:
    """d cross_entropy_loss / d scores = (softmax(scores) - one_hot(y)) / N; shape (N, C)."""
    dscores = softmax(scores)
    n = dscores.shape[0]
    dscores[np.arange(n), np.asarray(y, dtype=int)] -= 1.0
    return dscores / n
