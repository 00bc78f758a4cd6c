"""Data preparation: missing values, scaling, labels, splits and mini-batches.

Every statistic is computed on the *training* rows only and then applied to any split:
computing it on validation or test rows leaks information about them into training.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .dtypes import as_float


def impute_missing(X_train: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Replace every NaN in ``X`` by the NaN-ignoring mean of its column in ``X_train``.

    X_train: (N_train, D), X: (N, D). Returns a new float array (N, D) of X's floating dtype
    (float64 for integers); ``X`` is untouched. A column that is entirely NaN in ``X_train`` has
    no mean: it raises ``ValueError``.
    """
    X_train = as_float(X_train)
    X = np.array(as_float(X), copy=True)
    observed = ~np.isnan(X_train)
    counts = observed.sum(axis=0)
    if np.any(counts == 0):
        raise ValueError(f"columns {np.flatnonzero(counts == 0).tolist()} of X_train are all NaN")
    means = np.where(observed, X_train, 0.0).sum(axis=0) / counts
    rows, cols = np.nonzero(np.isnan(X))
    X[rows, cols] = means[cols]
    return X


def standardize(X_train: np.ndarray, X: np.ndarray) -> np.ndarray:
    """``(X - mu) / sigma`` with the column mean and population std of ``X_train``.

    X_train: (N_train, D), X: (N, D) -> (N, D) floats (float32 when both are float32). A column
    with ``sigma == 0`` is divided by 1.
    """
    X_train = as_float(X_train)
    mu = X_train.mean(axis=0)
    sigma = X_train.std(axis=0)
    sigma = np.where(sigma == 0, np.ones((), dtype=sigma.dtype), sigma)
    return (as_float(X) - mu) / sigma


def one_hot(y: np.ndarray, num_classes: int) -> np.ndarray:
    """Integer labels (N,) -> float one-hot rows (N, num_classes).

    Labels outside ``[0, num_classes)`` raise ``ValueError``.
    """
    y = np.asarray(y)
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"labels must lie in [0, {num_classes}), got {y.min()}..{y.max()}")
    out = np.zeros((y.shape[0], num_classes))
    out[np.arange(y.shape[0]), y.astype(int)] = 1.0
    return out


def train_val_test_split(X, y, val_fraction: float, test_fraction: float,
                         rng: np.random.Generator):
    """Shuffle the rows of ``X`` (N, D) and ``y`` (N, ...) together and cut them in three.

    ``n_test = round(N * test_fraction)``, ``n_val = round(N * val_fraction)``, the rest train.
    Returns ``(X_train, y_train, X_val, y_val, X_test, y_test)``.
    """
    X, y = np.asarray(X), np.asarray(y)
    n = X.shape[0]
    n_test = round(n * test_fraction)
    n_val = round(n * val_fraction)
    if n_test + n_val > n:
        raise ValueError("val_fraction + test_fraction leave no rows for training")
    order = rng.permutation(n)
    test, val, train = order[:n_test], order[n_test:n_test + n_val], order[n_test + n_val:]
    return X[train], y[train], X[val], y[val], X[test], y[test]


def iterate_minibatches(X, y, batch_size: int,
                        rng: np.random.Generator | None = None) -> Iterator[tuple]:
    """Yield ``(X_batch, y_batch)`` covering every row once; the last batch may be smaller.

    Rows come in order when ``rng`` is None, else in the order of ``rng.permutation(N)``.
    """
    n = np.shape(X)[0]
    order = np.arange(n) if rng is None else rng.permutation(n)
    for start in range(0, n, batch_size):
        idx = order[start:start + batch_size]
        yield X[idx], y[idx]
