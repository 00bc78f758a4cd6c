"""Gradient descent and the update rules of the optimizer contract.

Every update rule is ``(w, dw, config=None) -> (next_w, config)``: ``config`` holds the
hyperparameters and the optimizer's state; missing keys get defaults; ``w`` is not modified.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable

import numpy as np

from .dtypes import float_dtype
from .student import call, expect_like


def _zeros_like_state(w) -> np.ndarray:
    """Zeros shaped like ``w`` for an optimizer's state: ``w``'s dtype when it is floating (a
    float32 model keeps float32 state), else float64 (integer ``w`` still gets float state)."""
    return np.zeros(np.shape(w), dtype=float_dtype(w))


def gradient_descent(grad_fn: Callable[[np.ndarray], np.ndarray], w0: np.ndarray,
                     learning_rate: float, num_steps: int) -> np.ndarray:
    """Iterates of ``w <- w - learning_rate * grad_fn(w)``: array (num_steps + 1, *w0.shape).

    Starts from a copy of ``w0`` in its floating dtype (float32 stays float32; integers become
    float64). ``grad_fn`` must return an array shaped like w (``StudentFunctionError`` if not).
    """
    w = np.array(w0, dtype=float_dtype(w0), copy=True)
    path = [w.copy()]
    for _ in range(num_steps):
        grad = call(grad_fn, "grad_fn", w)
        if isinstance(grad, (list, numbers.Real)) and not isinstance(grad, bool):
            grad = np.asarray(grad)
        w = w - learning_rate * expect_like(grad, grad_fn, "grad_fn", "the gradient", "w", w)
        path.append(w.copy())
    return np.stack(path)


def sgd(w, dw, config=None):
    """``next_w = w - learning_rate * dw``. Defaults: learning_rate=1e-2."""
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    return w - config["learning_rate"] * dw, config


def sgd_momentum(w, dw, config=None):
    """``v = momentum * v - learning_rate * dw``; ``next_w = w + v``.

    Defaults: learning_rate=1e-2, momentum=0.9, velocity=zeros like w.
    """
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config.get("velocity")
    if v is None:
        v = _zeros_like_state(w)
    v = config["momentum"] * v - config["learning_rate"] * dw
    config["velocity"] = v
    return w + v, config


def adagrad(w, dw, config=None):
    """``cache = cache + dw**2``; ``next_w = w - lr * dw / (sqrt(cache) + eps)``.

    Defaults: learning_rate=1e-2, epsilon=1e-8, cache=zeros like w. The cache only grows, so
    every parameter's steps shrink for ever (RMSProp lets old gradients fade instead).
    """
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("epsilon", 1e-8)
    cache = config.get("cache")
    if cache is None:
        cache = _zeros_like_state(w)
    cache = cache + dw * dw
    config["cache"] = cache
    next_w = w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"])
    return next_w, config


def rmsprop(w, dw, config=None):
    """``cache = decay_rate*cache + (1-decay_rate)*dw**2``; ``w - lr*dw / (sqrt(cache) + eps)``.

    Defaults: learning_rate=1e-2, decay_rate=0.99, epsilon=1e-8, cache=zeros like w.
    """
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)
    cache = config.get("cache")
    if cache is None:
        cache = _zeros_like_state(w)
    cache = config["decay_rate"] * cache + (1 - config["decay_rate"]) * dw * dw
    config["cache"] = cache
    next_w = w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"])
    return next_w, config


def adam(w, dw, config=None):
    """Adam with bias correction; ``t`` is incremented before the moments are updated.

    Defaults: learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8, m=v=zeros, t=0.
    """
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("t", 0)
    m = config.get("m")
    v = config.get("v")
    if m is None:
        m = _zeros_like_state(w)
    if v is None:
        v = _zeros_like_state(w)
    beta1, beta2 = config["beta1"], config["beta2"]
    t = config["t"] + 1
    lr, eps = config["learning_rate"], config["epsilon"]
    w, dw, m, v = np.asarray(w), np.asarray(dw), np.asarray(m), np.asarray(v)
    same = w.dtype == dw.dtype == m.dtype == v.dtype and w.shape == dw.shape == m.shape == v.shape
    if same and w.dtype.kind == "f" and w.ndim > 0:
        # The formula below, evaluated in the same order (so bit for bit the same result), but
        # in place on fresh temporaries: half the memory traffic of the plain expression.
        m = beta1 * m
        m += (1 - beta1) * dw
        g2 = (1 - beta2) * dw
        g2 *= dw
        v = beta2 * v
        v += g2
        step = m / (1 - beta1**t)
        denom = g2  # reuse the buffer: g2 is no longer needed
        np.divide(v, 1 - beta2**t, out=denom)
        np.sqrt(denom, out=denom)
        denom += eps
        step *= lr
        step /= denom
        config.update(t=t, m=m, v=v)
        return w - step, config
    m = beta1 * m + (1 - beta1) * dw
    v = beta2 * v + (1 - beta2) * dw * dw
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    config.update(t=t, m=m, v=v)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), config


def adamw(w, dw, config=None):
    """Adam with decoupled weight decay: Adam's step plus ``learning_rate * weight_decay * w``.

    ``next_w = w - learning_rate * (m_hat / (sqrt(v_hat) + epsilon) + weight_decay * w)``, with
    ``t``, ``m``, ``v``, ``m_hat``, ``v_hat`` exactly as in ``adam``. The decay shrinks every
    weight by the same fraction whatever its gradient history, unlike an L2 penalty, whose
    gradient Adam divides by ``sqrt(v_hat)`` like any other.
    Defaults: adam's, and weight_decay=1e-2.
    """
    config = {} if config is None else config
    config.setdefault("weight_decay", 1e-2)
    adam_w, config = adam(w, dw, config)
    return adam_w - (config["learning_rate"] * config["weight_decay"]) * w, config


UPDATE_RULES = {"sgd": sgd, "sgd_momentum": sgd_momentum, "adagrad": adagrad,
                "rmsprop": rmsprop, "adam": adam, "adamw": adamw}
