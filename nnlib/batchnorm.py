"""Batch normalisation: each feature normalised over the batch, then scaled and shifted.

Training: ``xhat = (x - mu) / sqrt(var + eps)`` with the batch's mean ``mu`` and population
variance ``var`` (over axis 0), ``out = gamma * xhat + beta``, and running averages of ``mu`` and
``var`` kept in ``bn_param`` for test time. Test: the running averages replace the batch's
statistics, so a prediction does not depend on the other rows of its batch.
"""

from __future__ import annotations

import numpy as np

DEFAULT_EPS = 1e-5
DEFAULT_MOMENTUM = 0.9


def _running(bn_param: dict, key: str, like: np.ndarray) -> np.ndarray:
    value = bn_param.get(key)
    return np.zeros_like(like) if value is None else value


def batchnorm_train_forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, bn_param: dict):
    """Training-mode batch norm, whatever ``bn_param["mode"]`` says (see ``batchnorm_forward``).

    Writes ``running_mean`` and ``running_var`` into ``bn_param``. Returns ``(out, cache)`` with
    ``cache = (xhat, gamma, inv_std)``, ``inv_std = 1 / sqrt(var + eps)`` of shape (D,).
    """
    eps = bn_param.get("eps", DEFAULT_EPS)
    momentum = bn_param.get("momentum", DEFAULT_MOMENTUM)
    mu = x.mean(axis=0)
    centred = x - mu
    var = np.mean(centred * centred, axis=0)
    inv_std = 1.0 / np.sqrt(var + eps)
    xhat = centred * inv_std
    out = gamma * xhat + beta
    bn_param["running_mean"] = momentum * _running(bn_param, "running_mean", mu) \
        + (1 - momentum) * mu
    bn_param["running_var"] = momentum * _running(bn_param, "running_var", var) \
        + (1 - momentum) * var
    return out, (xhat, gamma, inv_std)


def batchnorm_forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, bn_param: dict):
    """Batch normalisation of x (N, D) with gamma, beta (D,); returns ``(out, cache)``.

    bn_param: "mode" ("train", the default, or "test"), "eps" (1e-5), "momentum" (0.9),
    "running_mean", "running_var" ((D,), zeros when missing). Training writes
    ``running_mean = momentum * running_mean + (1 - momentum) * mu`` and the same for
    ``running_var`` with ``var`` into bn_param (the only keys written); test mode normalises
    with the running statistics, writes nothing and returns ``cache = None``. Another mode
    raises ``ValueError``.
    """
    mode = bn_param.get("mode", "train")
    if mode == "train":
        return batchnorm_train_forward(x, gamma, beta, bn_param)
    if mode != "test":
        raise ValueError(f"bn_param['mode'] must be 'train' or 'test', got {mode!r}")
    eps = bn_param.get("eps", DEFAULT_EPS)
    mean = _running(bn_param, "running_mean", x[0] * 0.0)
    var = _running(bn_param, "running_var", x[0] * 0.0)
    xhat = (x - mean) / np.sqrt(var + eps)
    return gamma * xhat + beta, None


def batchnorm_backward(dout: np.ndarray, cache):
    """``(dx (N, D), dgamma (D,), dbeta (D,))`` for a training-mode forward pass.

    With ``dxhat = dout * gamma``, the gradient through the batch's mean and variance is
    ``dx = inv_std / N * (N * dxhat - sum(dxhat) - xhat * sum(dxhat * xhat))`` (sums over the
    batch, axis 0).
    """
    xhat, gamma, inv_std = cache
    n = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = np.sum(dout * xhat, axis=0)
    dxhat = dout * gamma
    dx = (inv_std / n) * (n * dxhat - dxhat.sum(axis=0) - xhat * np.sum(dxhat * xhat, axis=0))
    return dx, dgamma, dbeta
