"""The checks of notebook 00 (data preparation): the reference passes, correct alternatives
pass, and realistic student mistakes fail with a message naming the mistake."""

from __future__ import annotations

import math

import numpy as np
import pytest
from checking import failure, not_implemented, returns_none, returns_text
from float32 import in_float32

import nnlib
from autograder import check, core

EXERCISES = ["impute_missing", "standardize", "one_hot", "train_val_test_split",
             "iterate_minibatches"]


@pytest.mark.parametrize("hidden", [False, True], ids=["visible", "hidden"])
@pytest.mark.parametrize("name", EXERCISES)
def test_reference_passes(name, hidden):
    check(name, getattr(nnlib, name), hidden=hidden)


# --- correct alternatives, written differently from nnlib -------------------------------------
def impute_loops(X_train, X):
    out = np.array(X, dtype=float)
    for j in range(out.shape[1]):
        column = [v for v in np.asarray(X_train, dtype=float)[:, j] if not math.isnan(v)]
        mean = sum(column) / len(column)
        for i in range(out.shape[0]):
            if math.isnan(out[i, j]):
                out[i, j] = mean
    return out


def impute_masked(X_train, X):
    means = np.ma.masked_invalid(np.asarray(X_train, dtype=float)).mean(axis=0).filled(0.0)
    return np.where(np.isnan(X), means, X)


def standardize_by_hand(X_train, X):
    X_train = np.asarray(X_train, dtype=float)
    mu = X_train.sum(axis=0) / len(X_train)
    sigma = np.sqrt(((X_train - mu) ** 2).sum(axis=0) / len(X_train))
    sigma[sigma == 0] = 1
    return (X - mu) / sigma


def one_hot_loop(y, num_classes):
    out = np.zeros((len(y), num_classes))
    for i, label in enumerate(y):
        if not 0 <= label < num_classes:
            raise ValueError(f"label {label} out of range")
        out[i, label] = 1
    return out


def one_hot_eye(y, num_classes):
    y = np.asarray(y)
    if np.any((y < 0) | (y >= num_classes)):
        raise ValueError("labels out of range")
    return np.eye(num_classes)[y]


def split_train_first(X, y, val_fraction, test_fraction, rng):
    n = len(X)
    n_val, n_test = round(n * val_fraction), round(n * test_fraction)
    idx = np.arange(n)
    rng.shuffle(idx)
    n_train = n - n_val - n_test
    train, val, test = np.split(idx, [n_train, n_train + n_val])
    return X[train], y[train], X[val], y[val], X[test], y[test]


def minibatches_list(X, y, batch_size, rng=None):
    order = list(range(len(X))) if rng is None else list(rng.permutation(len(X)))
    batches = []
    while order:
        chunk, order = order[:batch_size], order[batch_size:]
        batches.append((X[chunk], y[chunk]))
    return batches


def minibatches_split(X, y, batch_size, rng=None):
    order = np.arange(len(X)) if rng is None else rng.permutation(len(X))
    n_batches = -(-len(X) // batch_size)
    for idx in np.array_split(order, np.arange(batch_size, len(X), batch_size))[:n_batches]:
        yield X[idx], y[idx]


ALTERNATIVES = [
    ("impute_missing", impute_loops), ("impute_missing", impute_masked),
    ("standardize", standardize_by_hand),
    ("one_hot", one_hot_loop), ("one_hot", one_hot_eye),
    ("train_val_test_split", split_train_first),
    ("iterate_minibatches", minibatches_list), ("iterate_minibatches", minibatches_split),
]


@pytest.mark.parametrize("name, candidate", ALTERNATIVES, ids=lambda v: getattr(v, "__name__", v))
def test_correct_alternative_passes(name, candidate):
    check(name, candidate)
    check(name, candidate, hidden=True)


# --- realistic mistakes -----------------------------------------------------------------------
def impute_means_of_X(X_train, X):
    X = X.copy()
    means = np.nanmean(X, axis=0)
    rows, cols = np.where(np.isnan(X))
    X[rows, cols] = means[cols]
    return X


def impute_np_mean(X_train, X):
    means = np.mean(X_train, axis=0)
    return np.where(np.isnan(X), means, X)


def impute_in_place(X_train, X):
    means = np.nanmean(X_train, axis=0)
    rows, cols = np.where(np.isnan(X))
    X[rows, cols] = means[cols]
    return X


def impute_no_copy(X_train, X):
    if not np.isnan(X).any():
        return X
    return np.where(np.isnan(X), np.nanmean(X_train, axis=0), X)


def impute_zeros(X_train, X):
    return np.nan_to_num(X)


def impute_nan_as_zero(X_train, X):
    means = np.nan_to_num(X_train).mean(axis=0)
    return np.where(np.isnan(X), means, X)


def standardize_stats_of_X(X_train, X):
    sigma = X.std(axis=0)
    return (X - X.mean(axis=0)) / np.where(sigma == 0, 1, sigma)


def standardize_ddof1(X_train, X):
    sigma = np.std(X_train, axis=0, ddof=1)
    sigma[sigma == 0] = 1
    return (X - np.mean(X_train, axis=0)) / sigma


def standardize_no_guard(X_train, X):
    return (X - X_train.mean(axis=0)) / X_train.std(axis=0)


def standardize_epsilon(X_train, X):
    return (X - X_train.mean(axis=0)) / (X_train.std(axis=0) + 1e-8)


def standardize_zero_column(X_train, X):
    sigma = X_train.std(axis=0)
    out = np.zeros(X.shape)
    return np.divide(X - X_train.mean(axis=0), sigma, out=out, where=sigma != 0)


def one_hot_no_check(y, num_classes):
    return np.eye(num_classes)[y]


def one_hot_max_label(y, num_classes):
    out = np.zeros((len(y), y.max() + 1))
    out[np.arange(len(y)), y] = 1
    return out


def one_hot_ints(y, num_classes):
    if y.min() < 0 or y.max() >= num_classes:
        raise ValueError("bad label")
    return (y[:, None] == np.arange(num_classes)).astype(int)


def one_hot_upper_check_only(y, num_classes):
    if np.any(y >= num_classes):
        raise ValueError("label too large")
    out = np.zeros((len(y), num_classes))
    out[np.arange(len(y)), y] = 1.0
    return out


def one_hot_assert(y, num_classes):
    assert np.all((y >= 0) & (y < num_classes)), "labels out of range"
    return np.eye(num_classes)[y]


def one_hot_columns(y, num_classes):
    if np.any((y < 0) | (y >= num_classes)):
        raise ValueError("labels out of range")
    out = np.zeros((len(y), num_classes))
    out[:, y] = 1.0
    return out


def split_with_int(X, y, val_fraction, test_fraction, rng):
    n = len(X)
    n_test, n_val = int(n * test_fraction), int(n * val_fraction)
    idx = rng.permutation(n)
    test, val, train = idx[:n_test], idx[n_test:n_test + n_val], idx[n_test + n_val:]
    return X[train], y[train], X[val], y[val], X[test], y[test]


def split_shuffled_separately(X, y, val_fraction, test_fraction, rng):
    n = len(X)
    X, y = X[rng.permutation(n)], y[rng.permutation(n)]
    n_test, n_val = round(n * test_fraction), round(n * val_fraction)
    return (X[n_test + n_val:], y[n_test + n_val:], X[n_test:n_test + n_val],
            y[n_test:n_test + n_val], X[:n_test], y[:n_test])


def split_unshuffled(X, y, val_fraction, test_fraction, rng):
    n = len(X)
    n_test, n_val = round(n * test_fraction), round(n * val_fraction)
    n_train = n - n_val - n_test
    return (X[:n_train], y[:n_train], X[n_train:n_train + n_val], y[n_train:n_train + n_val],
            X[n_train + n_val:], y[n_train + n_val:])


def _split_with(order, X, y, val_fraction, test_fraction):
    n = len(X)
    n_test, n_val = round(n * test_fraction), round(n * val_fraction)
    test, val, train = order[:n_test], order[n_test:n_test + n_val], order[n_test + n_val:]
    return X[train], y[train], X[val], y[val], X[test], y[test]


def split_fresh_generator(X, y, val_fraction, test_fraction, rng):
    order = np.random.default_rng().permutation(len(X))
    return _split_with(order, X, y, val_fraction, test_fraction)


def split_fixed_seed(X, y, val_fraction, test_fraction, rng):
    order = np.random.default_rng(42).permutation(len(X))
    return _split_with(order, X, y, val_fraction, test_fraction)


def split_global_random(X, y, val_fraction, test_fraction, rng):
    order = np.random.permutation(len(X))  # noqa: NPY002  (the mistake under test)
    return _split_with(order, X, y, val_fraction, test_fraction)


def split_shuffle_in_place(X, y, val_fraction, test_fraction, rng):
    rng.shuffle(X)
    return _split_with(np.arange(len(X)), X, y, val_fraction, test_fraction)


def split_wrong_order(X, y, val_fraction, test_fraction, rng):
    X_train, y_train, X_val, y_val, X_test, y_test = _split_with(
        rng.permutation(len(X)), X, y, val_fraction, test_fraction)
    return X_train, X_val, X_test, y_train, y_val, y_test


def batches_drop_last(X, y, batch_size, rng=None):
    order = np.arange(len(X)) if rng is None else rng.permutation(len(X))
    for b in range(len(X) // batch_size):
        idx = order[b * batch_size:(b + 1) * batch_size]
        yield X[idx], y[idx]


def batches_empty_last(X, y, batch_size, rng=None):
    order = np.arange(len(X)) if rng is None else rng.permutation(len(X))
    for b in range(len(X) // batch_size + 1):
        idx = order[b * batch_size:(b + 1) * batch_size]
        yield X[idx], y[idx]


def batches_two_permutations(X, y, batch_size, rng=None):
    if rng is not None:
        X, y = X[rng.permutation(len(X))], y[rng.permutation(len(y))]
    for start in range(0, len(X), batch_size):
        yield X[start:start + batch_size], y[start:start + batch_size]


def batches_ignore_rng(X, y, batch_size, rng=None):
    for start in range(0, len(X), batch_size):
        yield X[start:start + batch_size], y[start:start + batch_size]


def batches_return(X, y, batch_size, rng=None):
    order = np.arange(len(X)) if rng is None else rng.permutation(len(X))
    for start in range(0, len(X), batch_size):
        idx = order[start:start + batch_size]
        return X[idx], y[idx]


def batches_permutation_each_batch(X, y, batch_size, rng=None):
    for start in range(0, len(X), batch_size):
        order = np.arange(len(X)) if rng is None else rng.permutation(len(X))
        idx = order[start:start + batch_size]
        yield X[idx], y[idx]


MISTAKES = [
    ("impute_missing", impute_means_of_X, "wrong split"),
    ("impute_missing", impute_np_mean, "np.nanmean"),
    ("impute_missing", impute_in_place, "modified its input `X`"),
    ("impute_missing", impute_no_copy, "return a copy"),
    ("impute_missing", impute_zeros, "not by 0"),
    ("impute_missing", impute_nan_as_zero, "counted as zeros"),
    ("standardize", standardize_stats_of_X, "X_train, not from X"),
    ("standardize", standardize_ddof1, "ddof=1"),
    ("standardize", standardize_no_guard, "zero-variance guard"),
    ("standardize", standardize_epsilon, "tiny epsilon"),
    ("standardize", standardize_zero_column, "not set to 0"),
    ("one_hot", one_hot_no_check, "negative labels do not fail"),
    ("one_hot", one_hot_max_label, "not y.max() + 1"),
    ("one_hot", one_hot_ints, "expected floats"),
    ("one_hot", one_hot_upper_check_only, "np.any(y < 0)"),
    ("one_hot", one_hot_assert, "`assert` raises AssertionError"),
    ("one_hot", one_hot_columns, "sets whole columns"),
    ("train_val_test_split", split_with_int, "int(), which rounds down"),
    ("train_val_test_split", split_shuffled_separately, "shuffled separately"),
    ("train_val_test_split", split_unshuffled, "not shuffled"),
    ("train_val_test_split", split_fresh_generator, "not from a new generator"),
    ("train_val_test_split", split_fixed_seed, "ignores rng"),
    ("train_val_test_split", split_global_random, "global random generator"),
    ("train_val_test_split", split_shuffle_in_place, "shuffling in place (rng.shuffle(X))"),
    ("train_val_test_split", split_wrong_order, "in the order X_train, y_train"),
    ("iterate_minibatches", batches_drop_last, "drop the last partial batch"),
    ("iterate_minibatches", batches_empty_last, "empty batch came last"),
    ("iterate_minibatches", batches_two_permutations, "permutation was used twice"),
    ("iterate_minibatches", batches_ignore_rng, "although rng was given"),
    ("iterate_minibatches", batches_return, "not `return`"),
    ("iterate_minibatches", batches_permutation_each_batch, "draw the order once"),
]


@pytest.mark.parametrize("name, candidate, hint", MISTAKES,
                         ids=[m[1].__name__ for m in MISTAKES])
def test_mistake_fails_with_hint(name, candidate, hint):
    message = failure(name, candidate)
    assert hint in message, message
    assert "Traceback" not in message


def test_messages_name_the_case_and_the_values():
    message = failure("standardize", standardize_ddof1)
    assert "case 1/2 (X_train (10, 3) and X (4, 3)" in message
    assert "expected" in message and "got" in message
    assert "Likely mistake: sample std (ddof=1)" in message


def test_hidden_cases_catch_what_visible_ones_miss():
    def batches_batch_of_one_fails(X, y, batch_size, rng=None):
        assert batch_size > 1
        yield from nnlib.iterate_minibatches(X, y, batch_size, rng)

    check("iterate_minibatches", batches_batch_of_one_fails)
    message = failure("iterate_minibatches", batches_batch_of_one_fails, hidden=True)
    assert "[hidden test]" in message and "batch_size=1" in message


# --- candidates that break in other ways ------------------------------------------------------


@pytest.mark.parametrize("name", EXERCISES)
def test_not_implemented(name):
    message = failure(name, not_implemented)
    assert "not implemented yet" in message and "Traceback" not in message


@pytest.mark.parametrize("name, expected", [
    ("impute_missing", "is None"), ("standardize", "is None"), ("one_hot", "is None"),
    ("train_val_test_split", "expected a tuple"),
    ("iterate_minibatches", "it returned None; expected a generator"),
])
def test_returns_none(name, expected):
    assert expected in failure(name, returns_none)


@pytest.mark.parametrize("name, expected", [
    ("impute_missing", "expected a NumPy array"), ("standardize", "expected a NumPy array"),
    ("one_hot", "expected a NumPy array"), ("train_val_test_split", "expected a tuple"),
    ("iterate_minibatches", "batch 0 is a str"),
])
def test_returns_wrong_type(name, expected):
    assert expected in failure(name, returns_text)


@pytest.mark.parametrize("name, candidate, expected", [
    ("standardize", lambda X_train, X: np.full(X.shape, np.nan), "is nan"),
    ("impute_missing", lambda X_train, X: np.zeros((2, 2)), "has shape (2, 2)"),
    ("one_hot", lambda y, c: np.zeros((c, len(y))), "(N, num_classes), not (num_classes, N)"),
    ("train_val_test_split", lambda X, y, v, t, rng: (X, y, X[:0], y[:0], X[:0]),
     "got a tuple of 5 items"),
    ("train_val_test_split", lambda X, y, v, t, rng: [X, y, X, None, X, y], "y_val is None"),
    ("iterate_minibatches", lambda X, y, b, rng=None: iter([(X, y, X)]),
     "batch 0 is a tuple"),
    ("iterate_minibatches", lambda X, y, b, rng=None: X, "returned an array of shape (10, 2)"),
    ("iterate_minibatches", lambda X, y, b, rng=None: (x for x in [(X[:4], y[:4])] * 99),
     "yielded more than"),
])
def test_odd_results_fail_cleanly(name, candidate, expected):
    message = failure(name, candidate)
    assert expected in message, message
    assert "could not be checked" not in message


def test_generator_raising_midway():
    def batches(X, y, batch_size, rng=None):
        yield X[:batch_size], y[:batch_size]
        raise IndexError("index 10 is out of bounds")

    message = failure("iterate_minibatches", batches)
    assert "it raised IndexError: index 10 is out of bounds (in batches, line" in message


def test_endless_loop_times_out(monkeypatch):
    monkeypatch.setitem(core.run.__kwdefaults__, "timeout", 0.3)

    def one_hot_forever(y, num_classes):
        while True:
            pass

    message = failure("one_hot", one_hot_forever)
    assert "did not finish in time" in message


def test_split_sizes_follow_round_not_int():
    """The first visible case is chosen so that round() and int() differ."""
    n, test = 20, 0.18
    assert round(n * test) != int(n * test)
    assert math.ceil(n * 0.27) != round(n * 0.27)


# --- float32 ------------------------------------------------------------------------------------
@pytest.mark.parametrize("hidden", [False, True], ids=["visible", "hidden"])
@pytest.mark.parametrize("name", ["impute_missing", "standardize", "one_hot"])
def test_computing_in_float32_passes(name, hidden):
    """The splits and mini-batches are left out: they return rows of X, which must come back
    unchanged (float32 copies of float64 rows are other rows)."""
    check(name, in_float32(getattr(nnlib, name)), hidden=hidden)
