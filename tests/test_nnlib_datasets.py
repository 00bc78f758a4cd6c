"""nnlib.datasets: shapes, units and ranges as documented, determinism, and no network; and the
two tasks of transfer learning (nnlib.pretrained): digits 0-4 to pretrain, 5-9 to transfer to."""

from __future__ import annotations

import socket

import numpy as np
import pytest

import nnlib
from nnlib import datasets, pretrained


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("nnlib.datasets tried to open a network connection")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    for cached in (datasets._digits_raw, datasets._housing_raw):
        cached.cache_clear()


def test_digits(no_network):
    X, y = datasets.load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64
    assert y.shape == (1797,) and np.issubdtype(y.dtype, np.integer)
    assert X.min() == 0.0 and X.max() == 1.0
    assert set(np.unique(y)) == set(range(10))
    images, y2 = datasets.load_digit_images()
    assert images.shape == (1797, 8, 8)
    np.testing.assert_array_equal(images.reshape(1797, 64), X)
    np.testing.assert_array_equal(y, y2)
    X[:] = -1  # fresh arrays: the next call is unaffected
    y[:] = -1
    X2, y3 = datasets.load_digits()
    assert X2.min() == 0.0 and y3.min() == 0


def test_digit_images_are_upright():
    """Row 0 is the top: a 1 has ink in the middle columns from top to bottom."""
    images, y = datasets.load_digit_images()
    ones = images[y == 1].mean(axis=0)
    assert ones[:, 3:5].mean() > 2 * ones[:, [0, 7]].mean()


@pytest.mark.parametrize("n_per_class, num_classes", [(50, 3), (1, 2), (100, 5)])
def test_spirals(n_per_class, num_classes):
    X, y = datasets.make_spirals(n_per_class, num_classes, 0.1, np.random.default_rng(0))
    assert X.shape == (n_per_class * num_classes, 2) and X.dtype == np.float64
    assert y.shape == (n_per_class * num_classes,) and np.issubdtype(y.dtype, np.integer)
    np.testing.assert_array_equal(np.bincount(y), [n_per_class] * num_classes)
    assert np.all(np.hypot(X[:, 0], X[:, 1]) <= 1 + 1e-12)


def test_moons():
    X, y = datasets.make_moons(101, 0.0, np.random.default_rng(0))
    assert X.shape == (101, 2) and y.shape == (101,)
    assert np.bincount(y).tolist() == [51, 50]
    np.testing.assert_allclose(np.hypot(*X[y == 0].T), 1.0)               # upper arc
    np.testing.assert_allclose(np.hypot(X[y == 1, 0] - 1, X[y == 1, 1] - 0.5), 1.0)
    assert np.all(X[y == 0, 1] >= -1e-12) and np.all(X[y == 1, 1] <= 0.5 + 1e-12)


def test_regression_1d():
    x, t = datasets.make_regression_1d(200, 0.0, np.random.default_rng(0))
    assert x.shape == t.shape == (200, 1)
    assert np.all(np.diff(x[:, 0]) >= 0) and x.min() >= -np.pi and x.max() <= np.pi
    np.testing.assert_allclose(t, np.sin(x))
    _, noisy = datasets.make_regression_1d(2000, 0.3, np.random.default_rng(1))
    x2, _ = datasets.make_regression_1d(2000, 0.3, np.random.default_rng(1))
    assert np.std(noisy - np.sin(x2)) == pytest.approx(0.3, rel=0.1)


@pytest.mark.parametrize("make, args", [
    (datasets.make_spirals, (20, 3, 0.2)),
    (datasets.make_moons, (40, 0.1)),
    (datasets.make_regression_1d, (30, 0.1)),
])
def test_generators_depend_only_on_their_rng(make, args):
    a = make(*args, np.random.default_rng(5))
    b = make(*args, np.random.default_rng(5))
    c = make(*args, np.random.default_rng(6))
    for p, q in zip(a, b):
        np.testing.assert_array_equal(p, q)
    assert not np.array_equal(a[0], c[0])


def test_housing(no_network):
    X, y, names = datasets.load_housing()
    assert X.shape == (400, 5) and X.dtype == np.float64 and y.shape == (400,)
    assert names == datasets.HOUSING_FEATURES == (
        "area_m2", "rooms", "age_years", "distance_km", "income")
    missing = np.isnan(X).sum(axis=0)
    assert missing[1] == 0 and np.count_nonzero(missing) >= 3 and missing.sum() < 0.1 * X.size
    assert not np.isnan(X).all(axis=1).any() and not np.isnan(y).any()
    mean = np.nanmean(X, axis=0)
    assert 60 < mean[0] < 140 and 2 < mean[1] < 5 and 10_000 < mean[4] < 100_000
    assert np.nanmax(X, axis=0)[4] / np.nanmax(X, axis=0)[1] > 1_000  # very different scales
    assert np.nanmin(X) >= 0 and np.all(X[:, 1][~np.isnan(X[:, 1])] % 1 == 0)
    assert y.min() > 0
    _, label, _ = datasets.load_housing("expensive")
    assert set(np.unique(label)) == {0, 1} and label.sum() == 200
    np.testing.assert_array_equal(label, (y > np.median(y)).astype(int))
    with pytest.raises(ValueError):
        datasets.load_housing("colour")


def test_housing_is_the_same_every_time_and_fresh():
    X, y, _ = datasets.load_housing()
    X[0, 0] = -5.0
    y[0] = -5.0
    X2, y2, _ = datasets.load_housing()
    assert X2[0, 0] != -5.0 and y2[0] != -5.0
    datasets._housing_raw.cache_clear()
    X3, y3, _ = datasets.load_housing()
    np.testing.assert_array_equal(X2, X3)
    np.testing.assert_array_equal(y2, y3)


def test_housing_features_predict_the_price():
    """Imputed and standardised, a linear model explains most of the price: a sensible table."""
    X, y, _ = datasets.load_housing()
    Xi = nnlib.impute_missing(X, X)
    Xs = nnlib.standardize(Xi, Xi)
    A = np.c_[Xs, np.ones(len(Xs))]
    residual = y - A @ np.linalg.lstsq(A, y, rcond=None)[0]
    assert 1 - residual.var() / y.var() > 0.8


def test_source_task_is_every_image_of_the_digits_0_to_4(no_network):
    X, y = pretrained.source_data()
    X_all, y_all = datasets.load_digits()
    assert X.shape == (901, 64) and y.dtype == np.int64
    assert set(np.unique(y)) == set(pretrained.SOURCE_CLASSES) == {0, 1, 2, 3, 4}
    np.testing.assert_array_equal(X, X_all[y_all < 5])
    np.testing.assert_array_equal(y, y_all[y_all < 5])


def _shifted_digits():
    """Every image of the digits 5-9 under each shift by up to one pixel: bytes -> digit."""
    images, y = datasets.load_digit_images()
    table = {}
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            for image, digit in zip(images, y):
                if digit >= 5:
                    moved = nnlib.shift_image(image, dy, dx).reshape(64)
                    table.setdefault(moved.tobytes(), set()).add(digit)
    return table


def test_transfer_task_is_off_centre_digits_5_to_9_split_three_ways(no_network):
    X, y, X_val, y_val, X_test, y_test = pretrained.transfer_task(np.random.default_rng(0))
    assert X.shape == (100, 64) and y.shape == (100,) and y.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(y), [20] * 5)
    assert X_val.shape == (100, 64) and np.array_equal(np.bincount(y_val), [20] * 5)
    assert X_test.shape == (596, 64) and y_test.shape == (596,)
    assert set(np.unique(y_test)) == set(range(5))
    assert X.min() >= 0 and X.max() <= 1
    # every image is a digit 5-9 moved by at most a pixel, and label k is digit 5 + k
    table = _shifted_digits()
    for images, labels in ((X, y), (X_val, y_val), (X_test, y_test)):
        for row, label in zip(images, labels):
            assert pretrained.TARGET_CLASSES[label] in table[row.tobytes()]
    centred = {row.tobytes() for row in datasets.load_digits()[0]}
    assert sum(row.tobytes() not in centred for row in X_test) > 0.5 * len(X_test)  # off-centre
    # validation and test sets are fixed; training images are in neither
    X2, y2, X_val2, _, X_test2, y_test2 = pretrained.transfer_task(np.random.default_rng(1), 7)
    assert X2.shape == (35, 64) and not np.array_equal(X2[:7], X[:7])
    np.testing.assert_array_equal(X_val, X_val2)
    np.testing.assert_array_equal(X_test, X_test2)
    np.testing.assert_array_equal(y_test, y_test2)
    held_out = {row.tobytes() for row in np.concatenate([X_val, X_test])}
    assert not any(row.tobytes() in held_out for row in np.concatenate([X, X2]))
    with pytest.raises(ValueError):
        pretrained.transfer_task(np.random.default_rng(0), per_class=41)
