"""The training loop: mini-batches, any update rule, validation tracking, early stopping."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from .data import iterate_minibatches
from .models import MLP, accuracy
from .optim import adam
from .regularization import early_stopping as reference_early_stopping
from .student import (
    StudentFunctionError,
    call,
    describe,
    expect_like,
    expect_tuple,
    name_of,
    not_implemented,
    trusted,
)


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
    A function given here that is broken (not implemented yet, returning None or the wrong
    shape) raises ``StudentFunctionError`` naming it.
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
        for X_batch, y_batch in _batches(minibatches, X_train, y_train, batch_size, rng):
            if augment is not None:
                X_batch = expect_like(call(augment, "augment", X_batch, rng), augment,
                                      "augment", "the batch", "X_batch", X_batch)
            loss, grads = model.loss_and_grads(X_batch, y_batch, rng=rng, reg=reg)
            if step is not None:
                model.params = step(model.params, grads, keys, optim_config["learning_rate"])
            else:
                for key in keys:
                    model.params[key], configs[key] = _update(update_rule, key,
                                                              model.params[key], grads[key],
                                                              configs[key])
            batch_losses.append(loss)
        history.batch_loss.extend(batch_losses)
        history.train_loss.append(float(np.mean(batch_losses)))
        if classify and track_train_acc:
            history.train_acc.append(model.accuracy(X_train, y_train))
        if X_val is not None:
            scores = model.predict_scores(X_val)
            history.val_loss.append(model.data_loss(scores, y_val))
            if classify:
                history.val_acc.append(accuracy(scores, y_val))
        if callback is not None:
            callback(epoch, history)
        if patience is not None:
            best_epoch, should_stop = expect_tuple(
                call(early_stopping, "early_stopping", history.val_loss, patience, min_delta),
                early_stopping, "early_stopping", ("best_epoch", "should_stop"))
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


def _batches(minibatches: Callable, X, y, batch_size: int, rng):
    """The ``(X_batch, y_batch)`` pairs of ``minibatches(X, y, batch_size, rng)``, each checked:
    a pair of arrays with one row per sample, rows shaped like X's."""
    role = "iterate_minibatches"
    batches = call(minibatches, role, X, y, batch_size, rng)
    if trusted(minibatches):
        yield from batches
        return
    if batches is None or isinstance(batches, (np.ndarray, str, tuple)) or not hasattr(
            batches, "__iter__"):
        raise StudentFunctionError(
            f"your {name_of(minibatches, role)} returned {describe(batches)}; expected a "
            f"generator of (X_batch, y_batch) pairs (`yield X_batch, y_batch` in a loop)")
    iterator = iter(batches)
    while True:
        try:
            batch = next(iterator)
        except StopIteration:
            return
        except NotImplementedError as exc:
            raise not_implemented(exc, minibatches, role) from None
        if not isinstance(batch, (tuple, list)) or len(batch) != 2:
            raise StudentFunctionError(
                f"your {name_of(minibatches, role)} yielded {describe(batch)}; expected "
                f"(X_batch, y_batch) pairs (`yield X_batch, y_batch`)")
        X_batch, y_batch = batch
        if not isinstance(X_batch, np.ndarray) or np.shape(X_batch)[1:] != np.shape(X)[1:] \
                or len(X_batch) != len(np.asarray(y_batch)):
            raise StudentFunctionError(
                f"your {name_of(minibatches, role)} yielded X_batch as {describe(X_batch)} and "
                f"y_batch as {describe(y_batch)} for X of shape {np.shape(X)}; expected rows of "
                f"X, (n, {', '.join(map(str, np.shape(X)[1:]))}), and as many labels")
        yield X_batch, y_batch


def _update(update_rule: Callable, key: str, w, dw, config):
    """``update_rule(w, dw, config)`` checked to be (next_w shaped like w, a config dict)."""
    role = "update_rule"
    result = call(update_rule, role, w, dw, config)
    if trusted(update_rule):
        return result
    next_w, config = expect_tuple(result, update_rule, role, ("next_w", "config"))
    if not (isinstance(next_w, np.ndarray) and next_w.shape == np.shape(w)):
        expect_like(next_w, update_rule, role, "next_w", f"w = params[{key!r}]", w)
    if not isinstance(config, dict):
        raise StudentFunctionError(
            f"your {name_of(update_rule, role)} returned config as {describe(config)}; expected "
            f"the config dict, updated, as the second item")
    return next_w, config
