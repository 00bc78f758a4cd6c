"""The checks of notebook 04 (gradient descent and optimizers): the reference passes, correct
alternatives pass, and realistic student mistakes fail with a message naming the mistake."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from checking import failure, not_implemented, raises, returns_none, returns_text
from float32 import in_float32

import nnlib
from autograder import check

EXERCISES = ["gradient_descent", "sgd", "sgd_momentum", "adagrad", "rmsprop", "adam"]


@pytest.mark.parametrize("hidden", [False, True], ids=["visible", "hidden"])
@pytest.mark.parametrize("name", EXERCISES)
def test_reference_passes(name, hidden):
    check(name, getattr(nnlib, name), hidden=hidden)


# --- correct alternatives, written differently from nnlib -------------------------------------
def gd_preallocated(grad_fn, w0, learning_rate, num_steps):
    path = np.empty((num_steps + 1,) + np.shape(w0))
    path[0] = w0
    for k in range(num_steps):
        path[k + 1] = path[k] - learning_rate * grad_fn(path[k])
    return path


def sgd_new_dict(w, dw, config=None):
    config = {"learning_rate": 1e-2, **(config or {})}
    next_w = w.copy()
    next_w -= config["learning_rate"] * dw
    return next_w, config


def momentum_new_dict(w, dw, config=None):
    config = {"learning_rate": 1e-2, "momentum": 0.9, **(config or {})}
    v = np.array(config.get("velocity", np.zeros_like(w)), dtype=float)
    v *= config["momentum"]
    v -= config["learning_rate"] * dw
    config["velocity"] = v
    return w + v, config


def adagrad_new_dict(w, dw, config=None):
    """A new config each step, the cache grown in place on a copy."""
    config = {"learning_rate": 1e-2, "epsilon": 1e-8, **(config or {})}
    cache = np.array(config.get("cache", 0.0) + np.zeros(np.shape(w)), dtype=float)
    cache += np.square(dw)
    config["cache"] = cache
    return w - config["learning_rate"] * dw / (cache ** 0.5 + config["epsilon"]), config


def rmsprop_incremental(w, dw, config=None):
    if config is None:
        config = {}
    for key, value in [("learning_rate", 1e-2), ("decay_rate", 0.99), ("epsilon", 1e-8)]:
        if key not in config:
            config[key] = value
    cache = config.get("cache", np.zeros(w.shape)).copy()
    cache += (1 - config["decay_rate"]) * (dw**2 - cache)
    config["cache"] = cache
    return w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"]), config


def adam_effective_lr(w, dw, config=None):
    """lr_t = lr * sqrt(1 - b2^t) / (1 - b1^t), with epsilon rescaled to match exactly."""
    c = {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, "t": 0,
         **(config or {})}
    t = c["t"] + 1
    m = c["beta1"] * c.get("m", 0.0) + (1 - c["beta1"]) * dw
    v = c["beta2"] * c.get("v", 0.0) + (1 - c["beta2"]) * np.square(dw)
    root = np.sqrt(1 - c["beta2"] ** t)
    lr_t = c["learning_rate"] * root / (1 - c["beta1"] ** t)
    c.update(t=t, m=m, v=v)
    return w - lr_t * m / (np.sqrt(v) + c["epsilon"] * root), c


ALTERNATIVES = [("gradient_descent", gd_preallocated), ("sgd", sgd_new_dict),
                ("sgd_momentum", momentum_new_dict),
                ("adagrad", adagrad_new_dict), ("rmsprop", rmsprop_incremental),
                ("adam", adam_effective_lr)]


@pytest.mark.parametrize("hidden", [False, True], ids=["visible", "hidden"])
@pytest.mark.parametrize("name, candidate", ALTERNATIVES, ids=[a[1].__name__ for a in ALTERNATIVES])
def test_correct_alternative_passes(name, candidate, hidden):
    check(name, candidate, hidden=hidden)


# --- student mistakes: gradient_descent --------------------------------------------------------
def gd_without_w0(grad_fn, w0, learning_rate, num_steps):
    w = w0.copy()
    path = []
    for _ in range(num_steps):
        w = w - learning_rate * grad_fn(w)
        path.append(w)
    return np.array(path)


def gd_one_step_short(grad_fn, w0, learning_rate, num_steps):
    w = w0.copy()
    path = [w]
    for _ in range(num_steps - 1):
        w = w - learning_rate * grad_fn(w)
        path.append(w)
    return np.array(path)


def gd_plus(grad_fn, w0, learning_rate, num_steps):
    w = w0.copy()
    path = [w.copy()]
    for _ in range(num_steps):
        w = w + learning_rate * grad_fn(w)
        path.append(w.copy())
    return np.array(path)


def gd_same_object(grad_fn, w0, learning_rate, num_steps):
    w = w0.copy()
    path = [w0]
    for _ in range(num_steps):
        w -= learning_rate * grad_fn(w)
        path.append(w)
    return np.array(path)


def gd_no_copy(grad_fn, w0, learning_rate, num_steps):
    w = w0
    path = [w.copy()]
    for _ in range(num_steps):
        w -= learning_rate * grad_fn(w)
        path.append(w.copy())
    return np.array(path)


def gd_concatenate(grad_fn, w0, learning_rate, num_steps):
    path = [w0]
    for _ in range(num_steps):
        path.append(path[-1] - learning_rate * grad_fn(path[-1]))
    return np.concatenate(path)


def gd_last_only(grad_fn, w0, learning_rate, num_steps):
    w = w0.copy()
    for _ in range(num_steps):
        w = w - learning_rate * grad_fn(w)
    return w


def gd_gradient_at_w0(grad_fn, w0, learning_rate, num_steps):
    g = grad_fn(w0)
    path = [w0]
    for _ in range(num_steps):
        path.append(path[-1] - learning_rate * g)
    return np.array(path)


# --- student mistakes: sgd -------------------------------------------------------------------
def sgd_sign_flipped(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    return w + config["learning_rate"] * dw, config


def sgd_fixed_lr(w, dw, config=None):
    if config is None:
        config = {"learning_rate": 1e-2}
    return w - 1e-2 * dw, config


def sgd_in_place(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    w -= config["learning_rate"] * dw
    return w, config


def sgd_no_config_returned(w, dw, config=None):
    if config is None:
        config = {}
    return w - config.get("learning_rate", 1e-2) * dw


def sgd_config_required(w, dw, config):
    config.setdefault("learning_rate", 1e-2)
    return w - config["learning_rate"] * dw, config


# --- student mistakes: sgd_momentum ----------------------------------------------------------
def momentum_stores_minus_v(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config.get("velocity", np.zeros_like(w))
    v = config["momentum"] * v + config["learning_rate"] * dw
    config["velocity"] = v
    return w - v, config


def momentum_not_stored(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config.get("velocity", np.zeros_like(w))
    v = config["momentum"] * v - config["learning_rate"] * dw
    return w + v, config


def momentum_after_update(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config.get("velocity", np.zeros_like(w))
    next_w = w + v
    config["velocity"] = config["momentum"] * v - config["learning_rate"] * dw
    return next_w, config


def momentum_pytorch_style(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config["momentum"] * config.get("velocity", np.zeros_like(w)) + dw
    config["velocity"] = v
    return w - config["learning_rate"] * v, config


def momentum_defaults_only_if_none(w, dw, config=None):
    config = config or {"learning_rate": 1e-2, "momentum": 0.9}
    v = config.get("velocity", np.zeros_like(w))
    v = config["momentum"] * v - config["learning_rate"] * dw
    config["velocity"] = v
    return w + v, config


def momentum_fresh_velocity(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = np.zeros_like(w)
    v = config["momentum"] * v - config["learning_rate"] * dw
    config["velocity"] = v
    return w + v, config


# --- student mistakes: adagrad ---------------------------------------------------------------
def _adagrad_config(config, w):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("cache", np.zeros_like(w))
    return config


def adagrad_decayed_cache(w, dw, config=None):
    """RMSProp's decay carried over: the cache forgets."""
    config = _adagrad_config(config, w)
    config["cache"] = 0.99 * config["cache"] + 0.01 * dw**2
    return w - config["learning_rate"] * dw / (np.sqrt(config["cache"]) + config["epsilon"]), \
        config


def adagrad_eps_in_sqrt(w, dw, config=None):
    config = _adagrad_config(config, w)
    config["cache"] = config["cache"] + dw**2
    return w - config["learning_rate"] * dw / np.sqrt(config["cache"] + config["epsilon"]), \
        config


def adagrad_stores_square_only(w, dw, config=None):
    """The step is right, but the cache stored is this step's dw**2 only."""
    config = _adagrad_config(config, w)
    cache = config["cache"] + dw**2
    config["cache"] = dw**2
    return w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"]), config


def adagrad_fresh_cache(w, dw, config=None):
    if config is None:
        config = {}
    cache = np.zeros_like(w) + dw**2
    config["cache"] = cache
    lr, eps = config.get("learning_rate", 1e-2), config.get("epsilon", 1e-8)
    return w - lr * dw / (np.sqrt(cache) + eps), config


def adagrad_cache_after_step(w, dw, config=None):
    config = _adagrad_config(config, w)
    next_w = w - config["learning_rate"] * dw / (np.sqrt(config["cache"]) + config["epsilon"])
    config["cache"] = config["cache"] + dw**2
    return next_w, config


def adagrad_in_place(w, dw, config=None):
    config = _adagrad_config(config, w)
    config["cache"] = config["cache"] + dw**2
    w -= config["learning_rate"] * dw / (np.sqrt(config["cache"]) + config["epsilon"])
    return w, config


# --- student mistakes: rmsprop ---------------------------------------------------------------
def _rmsprop_config(config, w):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("cache", np.zeros_like(w))
    return config


def rmsprop_eps_in_sqrt(w, dw, config=None):
    config = _rmsprop_config(config, w)
    d = config["decay_rate"]
    config["cache"] = d * config["cache"] + (1 - d) * dw**2
    return w - config["learning_rate"] * dw / np.sqrt(config["cache"] + config["epsilon"]), config


def rmsprop_decay_swapped(w, dw, config=None):
    config = _rmsprop_config(config, w)
    d = config["decay_rate"]
    config["cache"] = (1 - d) * config["cache"] + d * dw**2
    next_w = w - config["learning_rate"] * dw / (np.sqrt(config["cache"]) + config["epsilon"])
    return next_w, config


def rmsprop_cache_not_stored(w, dw, config=None):
    if config is None:
        config = {}
    lr = config.get("learning_rate", 1e-2)
    d = config.get("decay_rate", 0.99)
    cache = config.get("cache", np.zeros_like(w))
    cache = d * cache + (1 - d) * dw**2
    return w - lr * dw / (np.sqrt(cache) + config.get("epsilon", 1e-8)), config


def rmsprop_no_sqrt(w, dw, config=None):
    config = _rmsprop_config(config, w)
    d = config["decay_rate"]
    config["cache"] = d * config["cache"] + (1 - d) * dw**2
    return w - config["learning_rate"] * dw / (config["cache"] + config["epsilon"]), config


def rmsprop_cache_after_step(w, dw, config=None):
    config = _rmsprop_config(config, w)
    d = config["decay_rate"]
    next_w = w - config["learning_rate"] * dw / (np.sqrt(config["cache"]) + config["epsilon"])
    config["cache"] = d * config["cache"] + (1 - d) * dw**2
    return next_w, config


# --- student mistakes: adam ------------------------------------------------------------------
def _adam_config(config, w):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("m", np.zeros_like(w))
    config.setdefault("v", np.zeros_like(w))
    config.setdefault("t", 0)
    return config


def adam_no_bias_correction(w, dw, config=None):
    c = _adam_config(config, w)
    c["t"] += 1
    c["m"] = c["beta1"] * c["m"] + (1 - c["beta1"]) * dw
    c["v"] = c["beta2"] * c["v"] + (1 - c["beta2"]) * dw**2
    return w - c["learning_rate"] * c["m"] / (np.sqrt(c["v"]) + c["epsilon"]), c


def adam_t_late(w, dw, config=None):
    c = _adam_config(config, w)
    c["m"] = c["beta1"] * c["m"] + (1 - c["beta1"]) * dw
    c["v"] = c["beta2"] * c["v"] + (1 - c["beta2"]) * dw**2
    m_hat = c["m"] / (1 - c["beta1"] ** c["t"])
    v_hat = c["v"] / (1 - c["beta2"] ** c["t"])
    c["t"] += 1
    return w - c["learning_rate"] * m_hat / (np.sqrt(v_hat) + c["epsilon"]), c


def adam_betas_swapped(w, dw, config=None):
    c = _adam_config(config, w)
    b1, b2 = c["beta2"], c["beta1"]
    c["t"] += 1
    c["m"] = b1 * c["m"] + (1 - b1) * dw
    c["v"] = b2 * c["v"] + (1 - b2) * dw**2
    m_hat, v_hat = c["m"] / (1 - b1 ** c["t"]), c["v"] / (1 - b2 ** c["t"])
    return w - c["learning_rate"] * m_hat / (np.sqrt(v_hat) + c["epsilon"]), c


def adam_eps_in_sqrt(w, dw, config=None):
    c = _adam_config(config, w)
    c["t"] += 1
    c["m"] = c["beta1"] * c["m"] + (1 - c["beta1"]) * dw
    c["v"] = c["beta2"] * c["v"] + (1 - c["beta2"]) * dw**2
    m_hat = c["m"] / (1 - c["beta1"] ** c["t"])
    v_hat = c["v"] / (1 - c["beta2"] ** c["t"])
    return w - c["learning_rate"] * m_hat / np.sqrt(v_hat + c["epsilon"]), c


def adam_moments_not_stored(w, dw, config=None):
    c = _adam_config(config, w)
    t = c["t"] + 1
    m = c["beta1"] * c["m"] + (1 - c["beta1"]) * dw
    v = c["beta2"] * c["v"] + (1 - c["beta2"]) * dw**2
    c["t"] = t
    m_hat, v_hat = m / (1 - c["beta1"] ** t), v / (1 - c["beta2"] ** t)
    next_w = w - c["learning_rate"] * m_hat / (np.sqrt(v_hat) + c["epsilon"])
    return next_w, {"learning_rate": c["learning_rate"], "beta1": c["beta1"], "beta2": c["beta2"],
                    "epsilon": c["epsilon"], "t": t}


def adam_power_of_one_minus(w, dw, config=None):
    c = _adam_config(config, w)
    c["t"] += 1
    c["m"] = c["beta1"] * c["m"] + (1 - c["beta1"]) * dw
    c["v"] = c["beta2"] * c["v"] + (1 - c["beta2"]) * dw**2
    m_hat = c["m"] / (1 - c["beta1"]) ** c["t"]
    v_hat = c["v"] / (1 - c["beta2"]) ** c["t"]
    return w - c["learning_rate"] * m_hat / (np.sqrt(v_hat) + c["epsilon"]), c


def adam_stores_m_hat(w, dw, config=None):
    c = _adam_config(config, w)
    c["t"] += 1
    m = c["beta1"] * c["m"] + (1 - c["beta1"]) * dw
    v = c["beta2"] * c["v"] + (1 - c["beta2"]) * dw**2
    c["m"] = m / (1 - c["beta1"] ** c["t"])
    c["v"] = v / (1 - c["beta2"] ** c["t"])
    return w - c["learning_rate"] * c["m"] / (np.sqrt(c["v"]) + c["epsilon"]), c


def adam_without_epsilon(w, dw, config=None):
    c = _adam_config(config, w)
    c["t"] += 1
    c["m"] = c["beta1"] * c["m"] + (1 - c["beta1"]) * dw
    c["v"] = c["beta2"] * c["v"] + (1 - c["beta2"]) * dw**2
    m_hat = c["m"] / (1 - c["beta1"] ** c["t"])
    v_hat = c["v"] / (1 - c["beta2"] ** c["t"])
    return w - c["learning_rate"] * m_hat / np.sqrt(v_hat), c


# --- a config returned without its defaults (the contract: "defaults filled in") ---------------
def sgd_defaults_not_filled(w, dw, config=None):
    config = {} if config is None else config
    return w - config.get("learning_rate", 1e-2) * dw, config


def momentum_get_only(w, dw, config=None):
    """Reads hyperparameters with .get and stores only the state."""
    if config is None:
        config = {}
    v = config.get("momentum", 0.9) * config.get("velocity", 0) - config.get(
        "learning_rate", 1e-2) * dw
    config["velocity"] = v
    return w + v, config


def rmsprop_defaults_not_filled(w, dw, config=None):
    c = {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8, **(config or {})}
    cache = c["decay_rate"] * c.get("cache", 0.0) + (1 - c["decay_rate"]) * dw**2
    config = {} if config is None else config
    config["cache"] = cache
    return w - c["learning_rate"] * dw / (np.sqrt(cache) + c["epsilon"]), config


def adam_epsilon_not_filled(w, dw, config=None):
    config = {} if config is None else config
    for key, value in [("learning_rate", 1e-3), ("beta1", 0.9), ("beta2", 0.999), ("t", 0)]:
        config.setdefault(key, value)
    t = config["t"] + 1
    m = config["beta1"] * config.get("m", 0.0) + (1 - config["beta1"]) * dw
    v = config["beta2"] * config.get("v", 0.0) + (1 - config["beta2"]) * dw**2
    config.update(t=t, m=m, v=v)
    m_hat, v_hat = m / (1 - config["beta1"] ** t), v / (1 - config["beta2"] ** t)
    return w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config.get("epsilon", 1e-8)), \
        config


MISTAKES = [
    ("gradient_descent", gd_without_w0, "start with w0"),
    ("gradient_descent", gd_one_step_short, "one step short"),
    ("gradient_descent", gd_plus, "move downhill"),
    ("gradient_descent", gd_same_object, "append a copy"),
    ("gradient_descent", gd_no_copy, "modified its input `w0`"),
    ("gradient_descent", gd_concatenate, "np.stack"),
    ("gradient_descent", gd_last_only, "not only the last"),
    ("gradient_descent", gd_gradient_at_w0, "current iterate"),
    ("sgd", sgd_sign_flipped, "moved along the gradient"),
    ("sgd", sgd_fixed_lr, "use config['learning_rate'] when it is given"),
    ("sgd", sgd_in_place, "changes the caller's weights"),
    ("sgd", sgd_no_config_returned, "return next_w, config"),
    ("sgd", sgd_config_required, "config=None"),
    ("sgd", sgd_defaults_not_filled, "config.setdefault('learning_rate', 0.01)` stores it"),
    ("sgd_momentum", momentum_get_only, "no key 'learning_rate'"),
    ("rmsprop", rmsprop_defaults_not_filled, "defaults filled in"),
    ("adam", adam_epsilon_not_filled, "config.setdefault('epsilon', 1e-08)"),
    ("sgd_momentum", momentum_stores_minus_v, "stored the velocity with the opposite sign"),
    ("sgd_momentum", momentum_not_stored, "store the new velocity in config['velocity']"),
    ("sgd_momentum", momentum_after_update, "velocity from before this step"),
    ("sgd_momentum", momentum_pytorch_style, "includes the learning rate"),
    ("sgd_momentum", momentum_defaults_only_if_none, "setdefault"),
    ("sgd_momentum", momentum_fresh_velocity, "started from zeros at every step"),
    ("adagrad", adagrad_decayed_cache, "with no decay"),
    ("adagrad", adagrad_eps_in_sqrt, "epsilon goes outside the square root"),
    ("adagrad", adagrad_stores_square_only, "you stored only dw**2"),
    ("adagrad", adagrad_fresh_cache, "you started from zeros at every step"),
    ("adagrad", adagrad_cache_after_step, "update the cache first"),
    ("adagrad", adagrad_in_place, "changes the caller's weights"),
    ("rmsprop", rmsprop_eps_in_sqrt, "epsilon goes outside the square root"),
    ("rmsprop", rmsprop_decay_swapped, "decay_rate multiplies the old cache"),
    ("rmsprop", rmsprop_cache_not_stored, "config['cache']"),
    ("rmsprop", rmsprop_no_sqrt, "divide by the square root of the cache"),
    ("rmsprop", rmsprop_cache_after_step, "update the cache first"),
    ("adam", adam_no_bias_correction, "bias-correct the moments"),
    ("adam", adam_t_late, "increment t"),
    ("adam", adam_betas_swapped, "beta1 goes with the first moment"),
    ("adam", adam_eps_in_sqrt, "epsilon goes outside the square root"),
    ("adam", adam_moments_not_stored, "config['m']"),
    ("adam", adam_power_of_one_minus, "not (1 - beta)**t"),
    ("adam", adam_stores_m_hat, "not the bias-corrected m_hat"),
    ("adam", adam_without_epsilon, "add config['epsilon'] to the denominator"),
]


@pytest.mark.parametrize("name, candidate, hint", MISTAKES, ids=[m[1].__name__ for m in MISTAKES])
def test_mistake_is_named(name, candidate, hint):
    message = failure(name, candidate)
    assert hint in message, message
    assert hint in failure(name, candidate, hidden=True)


def test_mistake_message_says_where():
    message = failure("sgd_momentum", momentum_after_update)
    assert "case 1/" in message and "step 1: next_w[" in message and "expected" in message


def test_stored_state_sign_is_caught_although_next_w_is_right():
    message = failure("sgd_momentum", momentum_stores_minus_v)
    assert "config['velocity']" in message and "next_w" not in message.splitlines()[1]


def test_adam_late_t_at_step_one_names_the_division_by_zero():
    message = failure("adam", adam_t_late)
    assert "1 - beta**0 = 0" in message


# --- candidates that crash or return the wrong thing -----------------------------------------


BROKEN = [(raises, "it raised ValueError: boom"), (not_implemented, "not implemented yet"),
          (returns_none, "no `return`"), (returns_text, "str")]


@pytest.mark.parametrize("name", EXERCISES)
@pytest.mark.parametrize("candidate, text", BROKEN, ids=[b[0].__name__ for b in BROKEN])
def test_broken_candidate_fails_clearly(name, candidate, text):
    message = failure(name, candidate)
    assert text in message, message
    assert "could not be checked" not in message


ODD_RETURNS = {
    "bare array": lambda w, dw, config=None: w - 0.01 * dw,
    "config None": lambda w, dw, config=None: (w - 0.01 * dw, None),
    "swapped order": lambda w, dw, config=None: ({}, w - 0.01 * dw),
    "three items": lambda w, dw, config=None: (w, {}, 0),
    "text weights": lambda w, dw, config=None: ("w", {}),
    "ragged list": lambda w, dw, config=None: ([[1.0], [1.0, 2.0]], {}),
    "NaN weights": lambda w, dw, config=None: (w * np.nan, {}),
    "NaN state": lambda w, dw, config=None: (
        w - 0.01 * dw, {"velocity": w * np.nan, "cache": w * np.nan, "m": w * np.nan,
                        "v": w * np.nan, "t": np.nan}),
    "state of wrong type": lambda w, dw, config=None: (
        w - 0.01 * dw, {"velocity": "v", "cache": None, "m": [1, 2], "v": {}, "t": "1"}),
    "mutated dw": lambda w, dw, config=None: (w - 0.01 * dw, dw.fill(0) or {}),
}


@pytest.mark.parametrize("name", ["sgd", "sgd_momentum", "adagrad", "rmsprop", "adam"])
@pytest.mark.parametrize("kind", list(ODD_RETURNS))
def test_odd_returns_fail_without_crashing_the_checker(name, kind):
    message = failure(name, ODD_RETURNS[kind])
    assert "could not be checked" not in message and "Traceback" not in message, message


@pytest.mark.parametrize("got", [None, "path", [[1.0], [1.0, 2.0]], {"w": 1}, 3.0])
def test_gradient_descent_odd_returns(got):
    message = failure("gradient_descent", lambda grad_fn, w0, lr, n: got)
    assert "could not be checked" not in message, message


def test_global_random_is_refused():
    def noisy_sgd(w, dw, config=None):
        config = config if config is not None else {}
        return w - config.get("learning_rate", 1e-2) * dw + 0 * np.random.rand(), config  # noqa: NPY002

    assert "global random generator" in failure("sgd", noisy_sgd)


# --- float32 ------------------------------------------------------------------------------------
@pytest.mark.parametrize("hidden", [False, True], ids=["visible", "hidden"])
@pytest.mark.parametrize("name", EXERCISES)
def test_computing_in_float32_passes(name, hidden):
    check(name, in_float32(getattr(nnlib, name)), hidden=hidden)


def test_a_complex_step_fails_without_the_checker_warning():
    def sgd_complex(w, dw, config=None):
        next_w, config = nnlib.sgd(w, dw, config)
        return next_w.astype(complex), config

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert "dtype complex128" in failure("sgd", sgd_complex)
    assert [str(w.message) for w in caught] == []
