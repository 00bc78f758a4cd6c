"""The training loop: mini-batches, any update rule, validation tracking, early stopping."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from .data import iterate_minibatches
from .models import MLP, accuracy
from .optim import adam
from .regularization import early_stopping as reference_early_stopping


@dataclasses.dataclass
class History:
    """What happened during training, one entry per epoch (``batch_loss``: one per step)."""

    train_loss: list = dataclasses.field(default_factory=list)
    val_loss: list = dataclasses.field(default_factory=list)
    train_acc: list = dataclasses.field(default_factory=list)
    val_acc: list = dataclasses.field(default_factory=list)
    batch_loss: list = dataclasses.field(default_factory=list)
    best_epoch: int | None = None
    stopped_epoch: int | None = None

    @property
    def epochs(self) -> int:
        return len(self.train_loss)


def _is_classification(y) -> bool:
    return np.ndim(y) == 1 and np.issubdtype(np.asarray(y).dtype, np.integer)


def train(model: MLP, X_train, y_train, X_val=None, y_val=None, *,
          rng: np.random.Generator, epochs: int = 10, batch_size: int = 64,
          update_rule: Callable = adam, optim_config: dict | None = None,
          reg: float = 0.0, trainable=None,
          patience: int | None = None, min_delta: float = 0.0,
          early_stopping: Callable = reference_early_stopping,
          augment: Callable | None = None,
          minibatches: Callable = iterate_minibatches,
          callback: Callable | None = None, track_train_acc: bool = True,
          step: Callable | None = None) -> History:
    """Train ``model`` in place and return its ``History``.

    X_train (N, D), y_train (N,) integer labels or (N, K) targets; X_val/y_val the same, optional.
    update_rule: any ``(w, dw, config) -> (next_w, config)``; ``optim_config`` holds its
    hyperparameters, copied into one config per parameter array (the state stays separate).
    reg: L2 strength; trainable: keys to update (default: all) — the others stay frozen.
    patience: stop once ``early_stopping(val_losses, patience, min_delta)`` says so, and restore
    the parameters of the best epoch. augment: ``(X_batch, rng) -> X_batch`` applied to each
    training batch. callback: called as ``callback(epoch, history)`` after every epoch.
    track_train_acc: after every epoch, classify the whole training set to record
    ``history.train_acc`` (one extra forward pass over X_train per epoch; False skips it and
    leaves ``train_acc`` empty).
    step: instead of ``update_rule`` on every array, one whole-dict update per batch,
    ``model.params = step(model.params, grads, trainable_keys, optim_config["learning_rate"])``
    (the contract of ``fine_tune_step``: a new dict, the one given left as it was).
    """
    if patience is not None and X_val is None:
        raise ValueError("early stopping (patience) needs validation data")
    keys = list(model.params) if trainable is None else list(trainable)
    if step is not None and "learning_rate" not in (optim_config or {}):
        raise ValueError("a step function needs optim_config={'learning_rate': ...}")
    configs = {key: dict(optim_config or {}) for key in keys}
    history = History()
    classify = _is_classification(y_train)
    best_params = None
    for epoch in range(epochs):
        batch_losses = []
        for X_batch, y_batch in minibatches(X_train, y_train, batch_size, rng):
            if augment is not None:
                X_batch = augment(X_batch, rng)
            loss, grads = model.loss_and_grads(X_batch, y_batch, rng=rng, reg=reg)
            if step is not None:
                model.params = step(model.params, grads, keys, optim_config["learning_rate"])
            else:
                for key in keys:
                    model.params[key], configs[key] = update_rule(model.params[key], grads[key],
                                                                  configs[key])
            batch_losses.append(loss)
        history.batch_loss.extend(batch_losses)
        history.train_loss.append(float(np.mean(batch_losses)))
        if classify and track_train_acc:
            history.train_acc.append(model.accuracy(X_train, y_train))
        if X_val is not None:
            scores = model.predict_scores(X_val)
            history.val_loss.append(float(model.ops.loss(scores, y_val)))
            if classify:
                history.val_acc.append(accuracy(scores, y_val))
        if callback is not None:
            callback(epoch, history)
        if patience is not None:
            best_epoch, should_stop = early_stopping(history.val_loss, patience, min_delta)
            if best_epoch == epoch:
                best_params = {key: value.copy() for key, value in model.params.items()}
            history.best_epoch = best_epoch
            if should_stop:
                history.stopped_epoch = epoch
                break
        if not np.isfinite(history.train_loss[-1]):
            history.stopped_epoch = epoch  # diverged: further epochs only produce NaN
            break
    if best_params is not None:
        model.params.update(best_params)
    return history
