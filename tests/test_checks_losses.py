"""The checks of notebook 01 (loss functions): the reference passes, correct alternatives
pass, and realistic student mistakes fail with a message naming the mistake."""

from __future__ import annotations

import math

import numpy as np
import pytest
from checking import failure, not_implemented
from float32 import in_float32

import nnlib
from autograder import check

EXERCISES = ["mse_loss", "softmax", "cross_entropy_loss"]


@pytest.mark.parametrize("hidden", [False, True], ids=["visible", "hidden"])
@pytest.mark.parametrize("name", EXERCISES)
def test_reference_passes(name, hidden):
    check(name, getattr(nnlib, name), hidden=hidden)


# --- correct alternatives ---------------------------------------------------------------------
def mse_loops(y_pred, y_true):
    diffs = (np.asarray(y_pred, dtype=float) - y_true).ravel()
    return sum(d * d for d in diffs) / len(diffs)


def mse_einsum(y_pred, y_true):
    d = np.ravel(y_pred - y_true).astype(float)
    return np.einsum("i,i->", d, d) / d.size


def softmax_rows(scores):
    out = np.empty(np.shape(scores))
    for i, row in enumerate(np.asarray(scores, dtype=float)):
        e = [math.exp(s - max(row)) for s in row]
        out[i] = [v / sum(e) for v in e]
    return out


def softmax_logsumexp(scores):
    m = np.max(scores, axis=1, keepdims=True)
    return np.exp(scores - m - np.log(np.sum(np.exp(scores - m), axis=1, keepdims=True)))


def cross_entropy_loops(scores, y):
    total = 0.0
    for row, label in zip(np.asarray(scores, dtype=float), y):
        m = max(row)
        total += m + math.log(sum(math.exp(s - m) for s in row)) - row[label]
    return total / len(y)


ALTERNATIVES = [("mse_loss", mse_loops), ("mse_loss", mse_einsum),
                ("softmax", softmax_rows), ("softmax", softmax_logsumexp),
                ("cross_entropy_loss", cross_entropy_loops)]


@pytest.mark.parametrize("name, candidate", ALTERNATIVES, ids=lambda v: getattr(v, "__name__", v))
def test_correct_alternative_passes(name, candidate):
    check(name, candidate)
    check(name, candidate, hidden=True)


# --- realistic mistakes -----------------------------------------------------------------------
def mse_sum_over_batch(y_pred, y_true):
    return np.sum((y_pred - y_true) ** 2) / y_pred.shape[0]


def mse_half(y_pred, y_true):
    return 0.5 * np.mean((y_pred - y_true) ** 2)


def mse_not_squared(y_pred, y_true):
    return np.mean(np.abs(y_pred - y_true))


def mse_per_row(y_pred, y_true):
    return np.mean((y_pred - y_true) ** 2, axis=1)


def softmax_naive(scores):
    e = np.exp(scores)
    return e / e.sum(axis=1, keepdims=True)


def softmax_global_max(scores):
    e = np.exp(scores - np.max(scores))
    return e / e.sum(axis=1, keepdims=True)


def softmax_no_keepdims(scores):
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    return e / e.sum(axis=1)


def softmax_columns(scores):
    e = np.exp(scores - scores.max(axis=0))
    return e / e.sum(axis=0)


def softmax_in_place(scores):
    scores -= scores.max(axis=1, keepdims=True)
    e = np.exp(scores)
    return e / e.sum(axis=1, keepdims=True)


def cross_entropy_log_of_softmax(scores, y):
    p = nnlib.softmax(scores)
    return -np.mean(np.log(p[np.arange(len(y)), y]))


def cross_entropy_summed(scores, y):
    return -np.sum(nnlib.log_softmax(scores)[np.arange(len(y)), y])


def cross_entropy_one_hot_mean(scores, y):
    onehot = np.zeros(scores.shape)
    onehot[np.arange(len(y)), y] = 1
    return -np.mean(onehot * nnlib.log_softmax(scores))


def cross_entropy_all_labels(scores, y):
    return -np.mean(nnlib.log_softmax(scores)[:, y])


MISTAKES = [
    ("mse_loss", mse_sum_over_batch, "not only over the batch axis"),
    ("mse_loss", mse_half, "no factor 1/2"),
    ("mse_loss", mse_not_squared, "not the absolute one"),
    ("mse_loss", mse_per_row, "expected a single number"),
    ("softmax", softmax_naive, "np.exp overflowed"),
    ("softmax", softmax_global_max, "each row's own maximum"),
    ("softmax", softmax_no_keepdims, "keepdims=True"),
    ("softmax", softmax_columns, "not each column (axis=0)"),
    ("softmax", softmax_in_place, "modified its input `scores`"),
    ("cross_entropy_loss", cross_entropy_log_of_softmax, "log(0) appeared"),
    ("cross_entropy_loss", cross_entropy_summed, "average it (divide by N)"),
    ("cross_entropy_loss", cross_entropy_one_hot_mean, "all N*C entries"),
    ("cross_entropy_loss", cross_entropy_all_labels, "index each row by its own label"),
]


@pytest.mark.parametrize("name, candidate, hint", MISTAKES,
                         ids=[m[1].__name__ for m in MISTAKES])
def test_mistake_fails_with_hint(name, candidate, hint):
    message = failure(name, candidate)
    assert hint in message, message
    assert "could not be checked" not in message


@pytest.mark.parametrize("name, candidate, hint", [
    ("softmax", softmax_naive, "subtract each row's maximum"),
    ("cross_entropy_loss", cross_entropy_log_of_softmax, "log-sum-exp"),
])
def test_warning_hints_speak_only_of_what_notebook_01_teaches(name, candidate, hint):
    """Notebook 01 teaches the stable softmax and log-sum-exp; the sigmoid comes in 03."""
    message = failure(name, candidate)
    assert hint in message, message
    assert "sigmoid" not in message.lower(), message


def test_no_keepdims_on_square_scores_is_named():
    """On square scores the missing keepdims broadcasts silently; the variant names it."""
    def softmax_square_only(scores):
        if scores.shape[0] != scores.shape[1]:
            return nnlib.softmax(scores)
        return softmax_no_keepdims(scores)

    assert "keepdims=True" in failure("softmax", softmax_square_only, hidden=True)


# --- candidates that break in other ways ------------------------------------------------------

@pytest.mark.parametrize("name", EXERCISES)
def test_broken_candidates_fail_cleanly(name):
    assert "not implemented yet" in failure(name, not_implemented)
    assert "is None" in failure(name, lambda *args: None)
    assert "has type str" in failure(name, lambda *args: "loss")
    message = failure(name, lambda *args: float("nan") if name != "softmax"
                      else np.full(args[0].shape, np.nan))
    assert "expected" in message and "could not be checked" not in message


# --- float32 ------------------------------------------------------------------------------------
@pytest.mark.parametrize("hidden", [False, True], ids=["visible", "hidden"])
@pytest.mark.parametrize("name", EXERCISES)
def test_computing_in_float32_passes(name, hidden):
    check(name, in_float32(getattr(nnlib, name)), hidden=hidden)
