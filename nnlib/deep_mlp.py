"""Deep ReLU networks of any depth, with optional batch normalisation, as parameter dicts.

Keys ``W1 b1 ... WL bL``; a hidden layer ``i`` (every layer but the last) is affine, then batch
normalisation when ``gamma{i}`` and ``beta{i}`` are in the dict, then ReLU; the last layer is
affine and gives the scores, trained with softmax cross-entropy. ``bn_params`` is a list of
``L - 1`` dicts, one per hidden layer, holding the running statistics of its batch norm (see
``nnlib.batchnorm_forward``); ``init_mlp(sizes, rng, init="he", batchnorm=True)`` makes such a
network and ``new_bn_params(params)`` its empty statistics.
"""

from __future__ import annotations

import numpy as np

from . import batchnorm, layers, losses
from .models import num_layers


def has_batchnorm(params: dict, i: int) -> bool:
    """Whether hidden layer ``i`` is batch-normalised: ``gamma{i}``, ``beta{i}`` are in params."""
    return f"gamma{i}" in params and f"beta{i}" in params


def new_bn_params(params: dict) -> list[dict]:
    """Fresh batch-norm state for ``params``: one empty dict per hidden layer (``L - 1``)."""
    return [{} for _ in range(num_layers(params) - 1)]


def _forward(params: dict, X, bn_params, train: bool, activations: list | None = None,
             before_relu: bool = False):
    """Scores (N, C) and the caches of every layer; every hidden layer's output (its ReLU's
    input with ``before_relu``) is appended to ``activations``."""
    L = num_layers(params)
    if bn_params is None:
        bn_params = [{} for _ in range(L - 1)]
    caches = []
    h = X
    for i in range(1, L):
        h, affine_cache = layers.affine_forward(h, params[f"W{i}"], params[f"b{i}"])
        bn_cache = None
        if has_batchnorm(params, i):
            gamma, beta = params[f"gamma{i}"], params[f"beta{i}"]
            if train:
                h, bn_cache = batchnorm.batchnorm_train_forward(h, gamma, beta, bn_params[i - 1])
            else:
                h, _ = batchnorm.batchnorm_forward(h, gamma, beta,
                                                   {**bn_params[i - 1], "mode": "test"})
        if activations is not None and before_relu:
            activations.append(h)
        h, relu_cache = layers.relu_forward(h)
        if activations is not None and not before_relu:
            activations.append(h)
        caches.append((affine_cache, bn_cache, relu_cache))
    scores, last_cache = layers.affine_forward(h, params[f"W{L}"], params[f"b{L}"])
    caches.append((last_cache, None, None))
    return scores, caches


def _backward(params: dict, dscores, caches) -> dict:
    """Every parameter's gradient, given d loss / d scores and ``_forward``'s caches."""
    L = len(caches)
    grads = {}
    dh, grads[f"W{L}"], grads[f"b{L}"] = layers.affine_backward(dscores, caches[-1][0])
    for i in range(L - 1, 0, -1):
        affine_cache, bn_cache, relu_cache = caches[i - 1]
        dh = layers.relu_backward(dh, relu_cache)
        if bn_cache is not None:
            dh, grads[f"gamma{i}"], grads[f"beta{i}"] = batchnorm.batchnorm_backward(dh, bn_cache)
        if i == 1:  # d loss / d X is not needed
            grads["W1"], grads["b1"] = layers.affine_param_grads(dh, affine_cache)
        else:
            dh, grads[f"W{i}"], grads[f"b{i}"] = layers.affine_backward(dh, affine_cache)
    for key, value in params.items():  # keys the network does not use get zero gradients
        if key not in grads:
            grads[key] = np.zeros_like(value)
    return {key: grads[key] for key in params}


def mlp_loss(params: dict, X: np.ndarray, y: np.ndarray, bn_params: list | None = None):
    """``(loss, grads)`` of softmax cross-entropy for a network of any depth.

    params: ``W1 b1 ... WL bL`` (Wi (fan_in, fan_out), bi (fan_out,)), and ``gamma{i} beta{i}``
    (fan_out,) for each batch-normalised hidden layer i. X (N, D), y (N,) integer labels.
    Batch norm runs in training mode with ``bn_params[i - 1]`` (a list of L - 1 dicts, whose
    running statistics it updates; fresh dicts where bn_params is None). ``grads`` has every
    key of params.
    """
    scores, caches = _forward(params, X, bn_params, train=True)
    loss = losses.cross_entropy_loss(scores, y)
    return loss, _backward(params, losses.softmax_cross_entropy_backward(scores, y), caches)


def mlp_scores(params: dict, X: np.ndarray, bn_params: list | None = None) -> np.ndarray:
    """Evaluation-mode scores (N, C): batch norm uses the running statistics in bn_params
    (nothing is updated), so each row's scores do not depend on the rest of the batch."""
    return _forward(params, X, bn_params, train=False)[0]


def mlp_accuracy(params: dict, X: np.ndarray, y: np.ndarray,
                 bn_params: list | None = None) -> float:
    """Fraction of rows of X classified right in evaluation mode."""
    return float(np.mean(np.argmax(mlp_scores(params, X, bn_params), axis=1) == np.asarray(y)))


def hidden_activations(params: dict, X: np.ndarray, bn_params: list | None = None,
                       train: bool = True, before_relu: bool = False) -> list[np.ndarray]:
    """The output of every hidden layer (after its ReLU) for X: a list of L - 1 arrays (N, H_i);
    with ``before_relu``, the inputs of the ReLUs instead.

    ``train=True`` normalises with the batch's statistics (and updates bn_params, like a
    training step; pass None to leave no trace), ``train=False`` with the running ones.
    """
    activations: list[np.ndarray] = []
    _forward(params, X, bn_params, train=train, activations=activations,
             before_relu=before_relu)
    return activations
