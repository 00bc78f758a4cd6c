"""One epoch of training as a plain function of dicts: the loop every framework hides.

``train_epoch`` is the course's reference for the exercise of notebook 07; ``run_epoch`` is the
same loop with the loss and the clipping function as arguments (the checker uses it with a
student's own ``mlp_loss`` and ``clip_by_global_norm``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .clipping import clip_by_global_norm
from .data import iterate_minibatches
from .deep_mlp import mlp_loss


def run_epoch(params: dict, configs: dict, X, y, update_rule: Callable, batch_size: int,
              rng: np.random.Generator | None, max_norm: float | None = None, *,
              loss_fn: Callable = mlp_loss, clip_fn: Callable = clip_by_global_norm):
    """``train_epoch`` with ``loss_fn(params, X_batch, y_batch) -> (loss, grads)`` and
    ``clip_fn(grads, max_norm) -> (clipped, norm)`` in place of nnlib's. ``rng=None`` visits
    the batches in order."""
    params, configs = dict(params), dict(configs)
    losses = []
    for X_batch, y_batch in iterate_minibatches(X, y, batch_size, rng):
        loss, grads = loss_fn(params, X_batch, y_batch)
        if max_norm is not None:
            grads, _ = clip_fn(grads, max_norm)
        for key in params:
            config = configs.get(key)
            params[key], configs[key] = update_rule(
                params[key], grads[key], None if config is None else dict(config))
        losses.append(float(loss))
    return params, configs, losses


def train_epoch(params: dict, configs: dict, X: np.ndarray, y: np.ndarray,
                update_rule: Callable, batch_size: int, rng: np.random.Generator,
                max_norm: float | None = None):
    """One epoch over (X, y) for a network without batch norm; ``(params, configs, losses)``.

    The batches of ``iterate_minibatches(X, y, batch_size, rng)``; for each, ``loss, grads =
    mlp_loss(params, X_batch, y_batch)``, then ``grads, _ = clip_by_global_norm(grads,
    max_norm)`` when max_norm is not None, then for every key of params
    ``params[key], configs[key] = update_rule(params[key], grads[key], c)`` with ``c`` a copy
    of ``configs[key]`` (None where configs has no such key). Returns new dicts (the params and
    configs given are unchanged) and the list of batch losses.
    """
    return run_epoch(params, configs, X, y, update_rule, batch_size, rng, max_norm)
