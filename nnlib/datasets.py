"""The course's data sets: real digits, toy 2-D problems, a 1-D curve and a messy table.

Nothing here touches the network: the digits come with scikit-learn's installation, everything
else is generated from an explicit ``rng`` (or, for the table, a fixed seed), so every run and
every machine sees the same numbers.

- ``load_digits()``: 1797 handwritten digits, 8x8 pixels, as rows ``X (1797, 64)`` in [0, 1].
- ``load_digit_images()``: the same digits as images ``(1797, 8, 8)``, for augmentation.
- ``make_spirals``, ``make_moons``: 2-D classification problems a linear model cannot solve.
- ``make_regression_1d``: a noisy sine on [-pi, pi], for mean-squared-error curve fitting.
- ``load_housing()``: a few hundred houses with features on very different scales and missing
  values, for the data-preparation notebook.
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = [
    "HOUSING_FEATURES", "load_digit_images", "load_digits", "load_housing", "make_moons",
    "make_regression_1d", "make_spirals",
]


@functools.lru_cache(maxsize=1)
def _digits_raw() -> tuple[np.ndarray, np.ndarray]:
    """Pixel intensities (1797, 8, 8) in 0..16 and labels (1797,), read once per process."""
    from sklearn.datasets import load_digits as sklearn_load_digits  # bundled, offline

    bunch = sklearn_load_digits()
    images = np.asarray(bunch.images, dtype=np.float64)
    labels = np.asarray(bunch.target, dtype=np.int64)
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def load_digit_images() -> tuple[np.ndarray, np.ndarray]:
    """The 1797 digits as images: ``(images (1797, 8, 8) float64 in [0, 1], y (1797,) int64)``.

    Pixel ``[i, r, c]`` is row ``r`` (top to bottom), column ``c`` (left to right) of image
    ``i``; 0 is background, 1 full ink. ``y[i]`` is the digit 0..9. Fresh arrays every call.
    """
    images, labels = _digits_raw()
    return images / 16.0, labels.copy()


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 1797 digits as rows: ``(X (1797, 64) float64 in [0, 1], y (1797,) int64 in 0..9)``.

    Row ``i`` is image ``i`` of ``load_digit_images()`` flattened row by row
    (``X[i].reshape(8, 8)`` is the image). Fresh arrays every call.
    """
    images, labels = load_digit_images()
    return images.reshape(len(images), 64), labels


def make_spirals(n_per_class: int, num_classes: int, noise: float,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved spiral arms, one per class: ``(X (N, 2) float64, y (N,) int64)``.

    ``N = n_per_class * num_classes``; rows are grouped by class (class 0 first). Arm ``k``
    runs from the origin out to radius 1 while its angle turns by 4 radians, starting at
    ``2 pi k / num_classes``; ``noise`` is the standard deviation (in radians) of Gaussian
    noise added to each point's angle. Points stay within the unit disk.
    """
    if n_per_class < 1 or num_classes < 1:
        raise ValueError("n_per_class and num_classes must be at least 1")
    radius = np.linspace(0.0, 1.0, n_per_class)
    X = np.empty((n_per_class * num_classes, 2))
    y = np.repeat(np.arange(num_classes, dtype=np.int64), n_per_class)
    for k in range(num_classes):
        theta = (2 * np.pi * k / num_classes + 4.0 * radius
                 + noise * rng.standard_normal(n_per_class))
        rows = slice(k * n_per_class, (k + 1) * n_per_class)
        X[rows, 0] = radius * np.sin(theta)
        X[rows, 1] = radius * np.cos(theta)
    return X, y


def make_moons(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles: ``(X (n, 2) float64, y (n,) int64 in {0, 1})``.

    The first ``ceil(n / 2)`` points are class 0 (the upper arc, centre (0, 0), radius 1), the
    rest class 1 (the lower arc, centre (1, 0.5)); both get Gaussian noise of standard
    deviation ``noise`` on each coordinate. Rows are grouped by class.
    """
    if n < 0:
        raise ValueError("n must be non-negative")
    n0 = (n + 1) // 2
    n1 = n - n0
    t0 = np.linspace(0.0, np.pi, n0)
    t1 = np.linspace(0.0, np.pi, n1)
    X = np.concatenate([np.stack([np.cos(t0), np.sin(t0)], axis=1),
                        np.stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)], axis=1)])
    X = X + noise * rng.standard_normal(X.shape)
    y = np.concatenate([np.zeros(n0, dtype=np.int64), np.ones(n1, dtype=np.int64)])
    return X, y


def make_regression_1d(n: int, noise: float,
                       rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A noisy sine for curve fitting: ``(x (n, 1) float64, t (n, 1) float64)``.

    ``x`` is uniform on [-pi, pi], sorted ascending (convenient for line plots);
    ``t = sin(x) + noise * N(0, 1)``. Both are 2-D, one sample a row, ready for an MLP
    ``1 - H - 1`` trained with ``nnlib.losses.mse_loss``.
    """
    if n < 0:
        raise ValueError("n must be non-negative")
    x = np.sort(rng.uniform(-np.pi, np.pi, size=n))
    t = np.sin(x) + noise * rng.standard_normal(n)
    return x[:, None], t[:, None]


HOUSING_FEATURES = ("area_m2", "rooms", "age_years", "distance_km", "income")
"""Column names of ``load_housing()``'s X, in order, with their units in the name."""

_HOUSING_SEED = 20240607
_HOUSING_ROWS = 400


@functools.lru_cache(maxsize=1)
def _housing_raw() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(_HOUSING_SEED)
    n = _HOUSING_ROWS
    rooms = rng.integers(1, 7, size=n).astype(np.float64)                  # 1..6 rooms
    area = np.round(18.0 + 22.0 * rooms + rng.normal(0.0, 12.0, n), 1)     # m^2, ~100
    area = np.maximum(area, 20.0)
    age = np.round(rng.gamma(2.0, 15.0, n))                                # years, 0..~150
    distance = np.round(rng.lognormal(1.5, 0.7, n), 2)                     # km to the centre
    income = np.round(rng.normal(52_000.0, 14_000.0, n), -2)               # neighbourhood income
    income = np.maximum(income, 12_000.0)
    # price in thousands: value per m^2 falls with age and distance, rises with income
    price = (area * (2.2 + 0.035 * (income / 1000.0) - 0.006 * age - 0.05 * distance)
             + 15.0 * rooms + rng.normal(0.0, 25.0, n))
    price = np.round(np.maximum(price, 40.0), 1)
    X = np.stack([area, rooms, age, distance, income], axis=1)
    # missing values: some in four of the five columns, never a whole row
    for col, fraction in ((0, 0.05), (2, 0.10), (3, 0.04), (4, 0.08)):
        X[rng.random(n) < fraction, col] = np.nan
    X.setflags(write=False)
    price.setflags(write=False)
    return X, price


def load_housing(target: str = "price") -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """A small, messy housing table: ``(X (400, 5) float64 with NaNs, y (400,), feature_names)``.

    Columns (``HOUSING_FEATURES``) and their scales:

    ============ ================================== ==================
    area_m2      living area in square metres        20 .. ~180
    rooms        number of rooms                     1 .. 6
    age_years    age of the building in years        0 .. ~120
    distance_km  distance to the city centre in km   ~0.8 .. ~40
    income       mean yearly income nearby           12,000 .. ~100,000
    ============ ================================== ==================

    About 5 % of ``area_m2``, 10 % of ``age_years``, 4 % of ``distance_km`` and 8 % of
    ``income`` are missing (NaN); ``rooms`` is complete. The table is generated from a fixed
    seed, so it is the same on every machine.

    target: ``"price"`` -> ``y`` float64, the sale price in thousands (regression);
    ``"expensive"`` -> ``y`` int64, 1 when the price is above the table's median price, else 0.
    Fresh arrays every call.
    """
    X, price = _housing_raw()
    if target == "price":
        y = price.copy()
    elif target == "expensive":
        y = (price > np.median(price)).astype(np.int64)
    else:
        raise ValueError(f"unknown target {target!r}; use 'price' or 'expensive'")
    return X.copy(), y, HOUSING_FEATURES
