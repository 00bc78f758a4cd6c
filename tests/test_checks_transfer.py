"""The checks of notebook 06 (transfer learning): the reference passes, correct alternatives
pass, and realistic student mistakes fail with a message naming the mistake."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from checking import failure, not_implemented, returns_none

import nnlib
from autograder import check

EXERCISES = ["extract_features", "replace_head", "fine_tune_step"]


@pytest.mark.parametrize("hidden", [False, True], ids=["visible", "hidden"])
@pytest.mark.parametrize("name", EXERCISES)
def test_reference_passes(name, hidden):
    check(name, getattr(nnlib, name), hidden=hidden)


# --- correct alternatives, written differently from nnlib -------------------------------------
def features_while_loop(params, X):
    L = len(params) // 2
    h, i = X, 1
    while i < L:
        z = h.dot(params["W" + str(i)]) + params["b" + str(i)]
        h = np.where(z > 0, z, 0.0)
        i += 1
    return h


def head_deep_copy(params, num_classes, rng):
    L = max(int(key[1:]) for key in params if key.startswith("W"))
    new = copy.deepcopy(params)
    fan_in = params[f"W{L}"].shape[0]
    b = np.sqrt(6) / np.sqrt(fan_in + num_classes)
    new[f"W{L}"] = rng.uniform(-b, b, size=(fan_in, num_classes))
    new[f"b{L}"] = np.zeros((num_classes,))
    return new


def fine_tune_loop(params, grads, trainable, learning_rate):
    """Frozen arrays copied: allowed."""
    out = {}
    for key in params:
        if key in trainable:
            out[key] = params[key] + (-learning_rate) * grads[key]
        else:
            out[key] = params[key].copy()
    return out


def fine_tune_sharing_frozen(params, grads, trainable, learning_rate):
    """Frozen arrays shared with params (the very same objects): allowed too."""
    new = dict(params)
    for key in trainable:
        new[key] = params[key] - learning_rate * grads[key]
    return new


ALTERNATIVES = [("extract_features", features_while_loop), ("replace_head", head_deep_copy),
                ("fine_tune_step", fine_tune_loop), ("fine_tune_step", fine_tune_sharing_frozen)]


@pytest.mark.parametrize("hidden", [False, True], ids=["visible", "hidden"])
@pytest.mark.parametrize("name, candidate", ALTERNATIVES, ids=[a[1].__name__ for a in ALTERNATIVES])
def test_correct_alternative_passes(name, candidate, hidden):
    check(name, candidate, hidden=hidden)


# --- student mistakes: extract_features ------------------------------------------------------
def features_no_last_relu(params, X):
    L = len(params) // 2
    h = X
    for i in range(1, L - 1):
        h = np.maximum(0, h @ params[f"W{i}"] + params[f"b{i}"])
    return h @ params[f"W{L - 1}"] + params[f"b{L - 1}"]


def features_with_head(params, X):
    L = len(params) // 2
    h = X
    for i in range(1, L + 1):
        h = h @ params[f"W{i}"] + params[f"b{i}"]
        if i < L:
            h = np.maximum(h, 0)
    return h


def features_one_layer_short(params, X):
    L = len(params) // 2
    h = X
    for i in range(1, L - 1):
        h = np.maximum(h @ params[f"W{i}"] + params[f"b{i}"], 0)
    return h


def features_two_layer_only(params, X):
    return np.maximum(X @ params["W1"] + params["b1"], 0)


def features_no_bias(params, X):
    L = len(params) // 2
    h = X
    for i in range(1, L):
        h = np.maximum(h @ params[f"W{i}"], 0)
    return h


# --- student mistakes: replace_head ----------------------------------------------------------
def _last(params):
    return len(params) // 2


def head_wrong_fan_in(params, num_classes, rng):
    L = _last(params)
    new = {key: value.copy() for key, value in params.items()}
    fan_in = params[f"W{L}"].shape[1]
    new[f"W{L}"] = nnlib.glorot_uniform(fan_in, num_classes, rng)
    new[f"b{L}"] = np.zeros(num_classes)
    return new


def head_kept(params, num_classes, rng):
    L = _last(params)
    new = {key: value.copy() for key, value in params.items()}
    new[f"b{L}"] = np.zeros(num_classes)
    return new


def head_bias_not_reset(params, num_classes, rng):
    L = _last(params)
    new = {key: value.copy() for key, value in params.items()}
    new[f"W{L}"] = nnlib.glorot_uniform(params[f"W{L}"].shape[0], num_classes, rng)
    return new


def head_transposed(params, num_classes, rng):
    L = _last(params)
    new = {key: value.copy() for key, value in params.items()}
    new[f"W{L}"] = nnlib.glorot_uniform(num_classes, params[f"W{L}"].shape[0], rng)
    new[f"b{L}"] = np.zeros(num_classes)
    return new


def head_in_place(params, num_classes, rng):
    L = _last(params)
    params[f"W{L}"] = nnlib.glorot_uniform(params[f"W{L}"].shape[0], num_classes, rng)
    params[f"b{L}"] = np.zeros(num_classes)
    return params


def head_new_generator(params, num_classes, rng):
    L = _last(params)
    new = {key: value.copy() for key, value in params.items()}
    new[f"W{L}"] = nnlib.glorot_uniform(params[f"W{L}"].shape[0], num_classes,
                                        np.random.default_rng(0))
    new[f"b{L}"] = np.zeros(num_classes)
    return new


def head_bound_with_old_classes(params, num_classes, rng):
    L = _last(params)
    new = {key: value.copy() for key, value in params.items()}
    fan_in, old_classes = params[f"W{L}"].shape
    b = np.sqrt(6 / (fan_in + old_classes))
    new[f"W{L}"] = rng.uniform(-b, b, size=(fan_in, num_classes))
    new[f"b{L}"] = np.zeros(num_classes)
    return new


def head_shallow_copy(params, num_classes, rng):
    """dict(params): a new dict, but the body's arrays are the pretrained ones."""
    L = _last(params)
    new = dict(params)
    new[f"W{L}"] = nnlib.glorot_uniform(params[f"W{L}"].shape[0], num_classes, rng)
    new[f"b{L}"] = np.zeros(num_classes)
    return new


def head_views(params, num_classes, rng):
    """Views of the pretrained arrays (``value[...]``) share their memory just the same."""
    L = _last(params)
    new = {key: value[...] for key, value in params.items()}
    new[f"W{L}"] = nnlib.glorot_uniform(params[f"W{L}"].shape[0], num_classes, rng)
    new[f"b{L}"] = np.zeros(num_classes)
    return new


# --- student mistakes: fine_tune_step --------------------------------------------------------
def tune_everything(params, grads, trainable, learning_rate):
    return {key: params[key] - learning_rate * grads[key] for key in params}


def tune_plus(params, grads, trainable, learning_rate):
    return {key: params[key] + learning_rate * grads[key] if key in trainable else params[key]
            for key in params}


def tune_in_place(params, grads, trainable, learning_rate):
    new = dict(params)
    for key in trainable:
        new[key] -= learning_rate * grads[key]
    return new


def tune_assigns_into_params(params, grads, trainable, learning_rate):
    """Modifies the input dict: the caller's model changes."""
    for key in trainable:
        params[key] = params[key] - learning_rate * grads[key]
    return dict(params)


def tune_steps_frozen_in_place(params, grads, trainable, learning_rate):
    """The result is right, but the caller's frozen arrays took the step."""
    new = {}
    for key in params:
        if key in trainable:
            new[key] = params[key] - learning_rate * grads[key]
        else:
            new[key] = params[key].copy()
            params[key] -= learning_rate * grads[key]
    return new


def tune_skips_zero_gradients(params, grads, trainable, learning_rate):
    """Returns the input array itself for a trainable key whose gradient is zero."""
    return {key: params[key] - learning_rate * grads[key]
            if key in trainable and np.any(grads[key]) else params[key] for key in params}


def tune_only_trainable(params, grads, trainable, learning_rate):
    return {key: params[key] - learning_rate * grads[key] for key in trainable}


def tune_inverted(params, grads, trainable, learning_rate):
    return {key: params[key] if key in trainable else params[key] - learning_rate * grads[key]
            for key in params}


MISTAKES = [
    ("extract_features", features_no_last_relu, "apply the ReLU after the last hidden layer"),
    ("extract_features", features_with_head, "you also applied the head"),
    ("extract_features", features_one_layer_short, "one layer short"),
    ("extract_features", features_two_layer_only, "with L counted from the keys"),
    ("extract_features", features_no_bias, "add each layer's bias"),
    ("replace_head", head_wrong_fan_in, "fan_in is the number of rows of the old head"),
    ("replace_head", head_kept, "you kept the old head"),
    ("replace_head", head_bias_not_reset, "you kept the old bias"),
    ("replace_head", head_transposed, "is transposed"),
    ("replace_head", head_in_place, "modified its input `params`"),
    ("replace_head", head_new_generator, "use the rng argument"),
    ("replace_head", head_bound_with_old_classes, "you used the old head's number of classes"),
    ("replace_head", head_shallow_copy, "shares arrays with the pretrained one"),
    ("replace_head", head_views, "shares arrays with the pretrained one"),
    ("fine_tune_step", tune_everything, "you updated the frozen arrays too"),
    ("fine_tune_step", tune_plus, "subtract the gradient"),
    ("fine_tune_step", tune_in_place, "you updated params['W3'] in place"),
    ("fine_tune_step", tune_assigns_into_params, "you assigned to params['W3']"),
    ("fine_tune_step", tune_steps_frozen_in_place, "you changed the frozen params['W1'] in place"),
    ("fine_tune_step", tune_skips_zero_gradients, "a trainable key gets a new array"),
    ("fine_tune_step", tune_only_trainable, "keep every key of params"),
    ("fine_tune_step", tune_inverted, "the condition is inverted"),
]


@pytest.mark.parametrize("name, candidate, hint", MISTAKES, ids=[m[1].__name__ for m in MISTAKES])
def test_mistake_is_named(name, candidate, hint):
    message = failure(name, candidate)
    assert hint in message, message
    assert hint in failure(name, candidate, hidden=True)


def test_shared_arrays_in_a_new_head_are_named_with_the_fix():
    message = failure("replace_head", head_shallow_copy)
    assert "case 1/3" in message and "your result['W1'] is the array params['W1'] itself" in message
    assert "your new model shares arrays with the pretrained one" in message
    assert "copy them, e.g. `params[k].copy()`" in message


def test_in_place_steps_are_told_apart_from_other_changes_to_params():
    """Three ways to modify the input of fine_tune_step, three messages."""
    in_place = failure("fine_tune_step", tune_in_place)
    assert "modified its input `params`" in in_place and "dict(params)" in in_place
    assigned = failure("fine_tune_step", tune_assigns_into_params)
    assert "changes the caller's dict" in assigned and "in place" not in assigned
    frozen = failure("fine_tune_step", tune_steps_frozen_in_place)
    assert "frozen" in frozen and "in place" in frozen and "assigned" not in frozen


def test_mistake_message_says_where():
    message = failure("extract_features", features_no_last_relu)
    assert "case 1/3" in message and "your result[" in message and "expected" in message


def test_returning_the_input_dict_is_refused():
    def tune_returns_params(params, grads, trainable, learning_rate):
        return params

    assert "returned the params dict itself" in failure("fine_tune_step", tune_returns_params,
                                                        hidden=True)


def test_head_from_global_random_is_refused():
    def head_global(params, num_classes, rng):
        L = _last(params)
        new = dict(params)
        fan_in = params[f"W{L}"].shape[0]
        b = np.sqrt(6 / (fan_in + num_classes))
        new[f"W{L}"] = np.random.uniform(-b, b, size=(fan_in, num_classes))  # noqa: NPY002
        new[f"b{L}"] = np.zeros(num_classes)
        return new

    assert "global random generator" in failure("replace_head", head_global)


# --- candidates that crash or return the wrong thing -----------------------------------------
def raises(*args):
    raise KeyError("W0")


def returns_list(*args):
    return [1, 2, 3]


BROKEN = [(raises, "it raised KeyError"), (not_implemented, "not implemented yet"),
          (returns_none, "no `return`"), (returns_list, ("list", "shape (3,)"))]


@pytest.mark.parametrize("name", EXERCISES)
@pytest.mark.parametrize("candidate, text", BROKEN, ids=[b[0].__name__ for b in BROKEN])
def test_broken_candidate_fails_clearly(name, candidate, text):
    message = failure(name, candidate)
    texts = text if isinstance(text, tuple) else (text,)
    assert any(t in message for t in texts), message
    assert "could not be checked" not in message


ODD_DICTS = {
    "values None": lambda params, *args: {key: None for key in params},
    "values text": lambda params, *args: {key: "x" for key in params},
    "values NaN": lambda params, *args: {key: value * np.nan for key, value in params.items()},
    "ragged lists": lambda params, *args: {key: [[1.0], [1.0, 2.0]] for key in params},
    "values scalars": lambda params, *args: {key: 0.0 for key in params},
    "empty dict": lambda params, *args: {},
}


@pytest.mark.parametrize("name", ["replace_head", "fine_tune_step"])
@pytest.mark.parametrize("kind", list(ODD_DICTS))
def test_odd_dicts_fail_without_crashing_the_checker(name, kind):
    message = failure(name, ODD_DICTS[kind])
    assert "could not be checked" not in message, message


@pytest.mark.parametrize("got", [{"h": 1}, "features", [[1.0], [1.0, 2.0]], (1, 2), np.nan])
def test_extract_features_odd_returns(got):
    message = failure("extract_features", lambda params, X: got)
    assert "could not be checked" not in message, message
