"""Checks for notebook 00: impute_missing, standardize, one_hot, train_val_test_split,
iterate_minibatches.

Values are compared with nnlib's reference on seeded inputs. Where the contract fixes
properties rather than values (which rows go to which split, the order of mini-batches), the
properties are checked: sizes, a partition of the rows, pairs kept together, dependence on rng.
The likely mistake is named from the candidate's output (known wrong variants, or the property
that broke). The candidate is only ever called through ``run``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from contextlib import contextmanager

import numpy as np

import nnlib

from ..compare import as_array, close, unpack
from ..core import (
    CandidateTimeout,
    Case,
    Failure,
    case_rng,
    describe_exception,
    exercise,
    numbered,
    run,
)


# --- small helpers ----------------------------------------------------------------------------
@contextmanager
def _quiet():
    """Silence NumPy warnings while the checker computes wrong variants (NaN means, 0/0)."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


def _attempt(fn, *args, **kwargs) -> tuple[object, BaseException | None]:
    """``(fn(*args, **kwargs), None)``, or ``(None, exc)`` when it raises (or times out)."""
    try:
        return fn(*args, **kwargs), None
    except (Exception, CandidateTimeout) as exc:
        return None, exc


def _shaped(got, expected: np.ndarray, case: Case, what: str,
            shape_hint: Callable[[tuple], str | None] | None = None) -> np.ndarray:
    """``got`` as a numeric array shaped like ``expected``, or a Failure saying what is off."""
    got = as_array(got, case, what)
    if got.shape != expected.shape:
        hint = shape_hint(got.shape) if shape_hint else None
        if hint is None and got.ndim == 2 and got.shape == expected.shape[::-1]:
            hint = "your result is transposed"
        raise Failure(f"{what} has shape {got.shape}; expected {expected.shape}", case=case,
                      hint=hint)
    return got


def _first_nonfinite(got: np.ndarray, expected: np.ndarray, case: Case, what: str,
                     hint: str | None) -> None:
    """Fail when ``got`` (shaped like ``expected``) has NaN or inf where ``expected`` is finite."""
    gotf = got.astype(float)
    bad = ~np.isfinite(gotf) & np.isfinite(expected)
    if bad.any():
        idx = [int(i) for i in np.argwhere(bad)[0]]
        raise Failure(f"{what}{idx} is {gotf[tuple(idx)]}; expected "
                      f"{float(expected[tuple(idx)]):.7g} ({int(bad.sum())} of {bad.size} "
                      f"entries are not finite)", case=case, hint=hint)


def _new_array(got: np.ndarray, X: np.ndarray, case: Case, what: str) -> None:
    """Fail when the result is ``X`` itself or shares its memory."""
    if got is X or np.shares_memory(got, X):
        raise Failure(f"{what} is X itself (or a view of it), not a new array", case=case,
                      hint="return a copy (start with `X = X.copy()`), so that changing the "
                           "result cannot change X")


def _shape_text(rest: tuple) -> str:
    """'(n, 3)' for the trailing dimensions ``rest`` = (3,), '(n,)' for ()."""
    return "(" + ", ".join(["n", *map(str, rest)]) + ("," if not rest else "") + ")"


def _run_shuffling(fn, case: Case, *args, **options):
    """``run`` for a candidate that shuffles: an input changed in place gets a pointed hint."""
    try:
        return run(fn, case, *args, **options)
    except Failure as failure:
        if failure.what.startswith("it modified its input"):
            failure.hint = ("shuffling in place (rng.shuffle(X)) changes the caller's array: draw "
                            "`idx = rng.permutation(N)` and index `X[idx]`, `y[idx]` instead")
        raise


def _row_lookup(X: np.ndarray) -> dict[tuple, int]:
    """Row contents (as floats) -> row index, for an X (N, ...) whose rows are all different."""
    return {tuple(np.asarray(row, dtype=float).ravel()): i for i, row in enumerate(X)}


def _rows_of(part: np.ndarray, lookup: dict, case: Case, what: str) -> np.ndarray:
    """The index in X of every row of ``part`` (n, ...) -> (n,) ints; Failure for a foreign row."""
    idx = []
    for j, row in enumerate(part):
        index = lookup.get(tuple(np.asarray(row, dtype=float).ravel()))
        if index is None:
            raise Failure(f"{what}[{j}] is not a row of X", case=case,
                          hint="select whole rows of X unchanged, e.g. `X[idx]`")
        idx.append(index)
    return np.array(idx, dtype=int)


# --- impute_missing ---------------------------------------------------------------------------
def _with_nans(rng, shape: tuple[int, int], fraction: float = 0.3) -> np.ndarray:
    """Random (N, D) floats, columns with different means, NaN at about ``fraction`` of entries.

    With N >= 2 every column has at least one NaN and one observed value.
    """
    n, d = shape
    X = rng.normal(loc=rng.uniform(-5, 5, size=d), scale=rng.uniform(0.5, 3, size=d),
                   size=shape)
    mask = rng.random(shape) < fraction
    if n >= 2:
        for j in range(d):
            keep, drop = rng.choice(n, 2, replace=False)
            mask[keep, j], mask[drop, j] = False, True
    X[mask] = np.nan
    return X


def _impute_cases(hidden: bool) -> list[tuple[Case, np.ndarray, np.ndarray]]:
    """(case, X_train (N_train, D), X (N, D))."""
    rng = case_rng(200)
    X_train = _with_nans(rng, (8, 3))
    X_train[:, 1] = rng.normal(size=8)  # one column without NaN
    cases = [
        (Case("X_train (8, 3) with NaNs except in column 1, X (5, 3) with NaNs"),
         X_train, _with_nans(rng, (5, 3))),
        (Case("X (4, 3) without any NaN"), _with_nans(rng, (6, 3)),
         rng.normal(size=(4, 3))),
    ]
    if hidden:
        one_observed = _with_nans(rng, (5, 2))
        one_observed[0, 0], one_observed[1:, 0] = 2.5, np.nan
        itself = _with_nans(rng, (6, 4))
        cases += [
            (Case("X = X_train (6, 4): imputing the training set itself"), itself, itself.copy()),
            (Case("X_train (20, 5), X (1, 5): a single row"),
             _with_nans(rng, (20, 5)), _with_nans(rng, (1, 5), 0.6)),
            (Case("integer X_train (6, 3) without NaN, X (4, 3) with NaNs"),
             rng.integers(-10, 10, size=(6, 3)), _with_nans(rng, (4, 3), 0.5)),
            (Case("a column of X_train (5, 2) with a single observed value"),
             one_observed, _with_nans(rng, (4, 2), 0.5)),
            (Case("a single column: X_train (9, 1), X (7, 1)"),
             _with_nans(rng, (9, 1)), _with_nans(rng, (7, 1))),
            (Case("X (3, 4) entirely NaN"), _with_nans(rng, (10, 4)), np.full((3, 4), np.nan)),
            (Case("X_train (50, 7), X (30, 7), 40% NaN"),
             _with_nans(rng, (50, 7), 0.4), _with_nans(rng, (30, 7), 0.4)),
        ]
    numbered([case for case, _, _ in cases])
    return cases


def _filled(X: np.ndarray, means) -> np.ndarray:
    """``X`` (N, D) with each NaN replaced by ``means`` (D,) of its column (or one number)."""
    out = np.array(X, dtype=float)
    means = np.broadcast_to(np.asarray(means, dtype=float), out.shape[1:])
    rows, cols = np.nonzero(np.isnan(out))
    out[rows, cols] = means[cols]
    return out


def _impute_mistakes(X_train: np.ndarray, X: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """Known wrong results of impute_missing(X_train, X), each with its hint."""
    Xt = np.asarray(X_train, dtype=float)
    with _quiet():
        return [
            ("statistics taken from the wrong split: use the column means of X_train, not of X",
             _filled(X, np.nanmean(X, axis=0))),
            ("the NaNs of X_train were counted as zeros in the mean: average only the observed "
             "values (np.nanmean)", _filled(X, np.nan_to_num(Xt).mean(axis=0))),
            ("use one mean per column (axis=0), not the mean of the whole X_train",
             _filled(X, np.nanmean(Xt))),
            ("use the column mean (np.nanmean), not the median", _filled(X, np.nanmedian(Xt, 0))),
            ("replace each NaN by its column's mean in X_train, not by 0", _filled(X, 0.0)),
        ]


def _leftover_nan_hint(got: np.ndarray, X_train: np.ndarray, X: np.ndarray) -> str | None:
    """Name the reason NaNs remain in the result, when it is recognised."""
    gotf = got.astype(float)
    if np.array_equal(gotf, np.asarray(X, dtype=float), equal_nan=True):
        return "the NaNs are still there: replace each one by its column's mean in X_train"
    train_nan = np.isnan(np.asarray(X_train, dtype=float)).any(axis=0)
    expected_nan_spots = np.isnan(X) & train_nan
    if not np.any(np.isnan(gotf) & ~expected_nan_spots):
        return ("np.mean of a column that contains NaN is NaN: use np.nanmean(X_train, axis=0), "
                "which ignores the NaNs")
    return None


@exercise("impute_missing")
def check_impute_missing(fn, hidden: bool) -> None:
    """impute_missing(X_train (N_train, D), X (N, D)) -> new float array (N, D)."""
    what = "the imputed X"
    for case, X_train, X in _impute_cases(hidden):
        got = run(fn, case, X_train, X, names=["X_train", "X"])
        expected = nnlib.impute_missing(X_train, X)
        got = _shaped(got, expected, case, what)
        _first_nonfinite(got, expected, case, what, _leftover_nan_hint(got, X_train, X))
        close(got, expected, case, what=what, mistakes=_impute_mistakes(X_train, X))
        _new_array(got, X, case, what)


# --- standardize ------------------------------------------------------------------------------
def _standardize_cases(hidden: bool) -> list[tuple[Case, np.ndarray, np.ndarray]]:
    """(case, X_train (N_train, D), X (N, D)); X is drawn apart from X_train."""
    rng = case_rng(210)

    def sample(n, loc, scale):
        return rng.normal(loc=loc, scale=scale, size=(n, len(loc)))

    loc, scale = [2.0, -1.0, 5.0], [0.5, 3.0, 1.0]
    constant = sample(6, [1.0, 0.0, 1.5, -2.0], [1.0, 2.0, 0.0, 0.5])
    constant[:, 2] = 1.5
    cases = [
        (Case("X_train (10, 3) and X (4, 3), columns of different means and scales"),
         sample(10, loc, scale), sample(4, [3.0, 0.0, 4.0], [1.0, 2.0, 2.0])),
        (Case("X_train (6, 4) with a constant column (sigma = 0), X (3, 4)"),
         constant, sample(3, [1.0, 0.0, 2.5, -2.0], [1.0, 2.0, 1.0, 0.5])),
    ]
    if hidden:
        two_constant = sample(5, [0.0, 1.0, 2.0], [1.0, 1.0, 1.0])
        two_constant[:, 0], two_constant[:, 2] = -3.0, 7.0
        x_two = sample(4, [0.0, 1.0, 2.0], [1.0, 1.0, 1.0])
        x_two[0, 0] = -3.0
        same = sample(8, [1.0, -4.0], [2.0, 0.3])
        cases += [
            (Case("X = X_train (8, 2): standardizing the training set itself"),
             same, same.copy()),
            (Case("X_train with a single row (1, 3), X (2, 3): every sigma is 0"),
             sample(1, loc, scale), sample(2, loc, scale)),
            (Case("integer X_train (7, 3) and X (2, 3)"),
             rng.integers(-20, 20, size=(7, 3)), rng.integers(-20, 20, size=(2, 3))),
            (Case("X_train (12, 5), X (1, 5): a single row"),
             sample(12, [0, 1, 2, 3, 4], [1, 2, 3, 4, 5]), sample(1, [0, 1, 2, 3, 4], [1] * 5)),
            (Case("two constant columns in X_train (5, 3), X (4, 3)"), two_constant, x_two),
            (Case("values around 1000, X_train (30, 7), X (11, 7)"),
             sample(30, [1000.0] * 7, [1.0] * 7), sample(11, [1000.5] * 7, [2.0] * 7)),
        ]
    numbered([case for case, _, _ in cases])
    return cases


def _standardize_mistakes(X_train: np.ndarray, X: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """Known wrong results of standardize(X_train, X), each with its hint."""
    Xt, X = np.asarray(X_train, dtype=float), np.asarray(X, dtype=float)
    mu, sd = Xt.mean(axis=0), Xt.std(axis=0)
    wrong_split = ("statistics taken from the wrong split: compute mu and sigma from X_train, "
                   "not from X")
    epsilon = ("a column with sigma == 0 must be divided by exactly 1: dividing by a tiny "
               "epsilon blows it up")

    def scaled(m, s):
        return (X - m) / np.where(s == 0, 1.0, s)

    with _quiet():
        return [
            (wrong_split, scaled(X.mean(axis=0), X.std(axis=0))),
            (wrong_split, scaled(mu, X.std(axis=0))),
            (wrong_split, scaled(X.mean(axis=0), sd)),
            ("sample std (ddof=1) instead of the population std: use np.std(X_train, axis=0) "
             "with its default ddof=0", scaled(mu, Xt.std(axis=0, ddof=1))),
            ("divide by the standard deviation (np.std), not the variance",
             scaled(mu, Xt.var(axis=0))),
            ("you only subtracted the mean: divide by sigma as well", X - mu),
            ("subtract the mean as well, not only divide by sigma", scaled(0.0, sd)),
            ("compute one mean and one std per column (axis=0), not over the whole X_train",
             scaled(Xt.mean(), Xt.std())),
            ("a column with sigma == 0 is divided by 1 (it becomes X - mu), not set to 0",
             np.where(sd == 0, 0.0, scaled(mu, sd))),
            *[(epsilon, (X - mu) / np.where(sd == 0, eps, sd))
              for eps in (1e-12, 1e-10, 1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3)],
        ]


def _zero_variance_hint(got: np.ndarray, X_train: np.ndarray) -> str | None:
    """The hint when NaN/inf appear only in the columns whose sigma is 0."""
    bad = ~np.isfinite(got.astype(float))
    zero = np.asarray(X_train, dtype=float).std(axis=0) == 0
    if zero.any() and not bad[:, ~zero].any():
        return ("forgot the zero-variance guard: divide a column with sigma == 0 by 1, e.g. "
                "`sigma = np.where(sigma == 0, 1, sigma)`")
    return None


@exercise("standardize")
def check_standardize(fn, hidden: bool) -> None:
    """standardize(X_train (N_train, D), X (N, D)) -> (N, D) floats."""
    what = "the standardized X"
    for case, X_train, X in _standardize_cases(hidden):
        got = run(fn, case, X_train, X, names=["X_train", "X"])
        expected = nnlib.standardize(X_train, X)
        got = _shaped(got, expected, case, what)
        _first_nonfinite(got, expected, case, what, _zero_variance_hint(got, X_train))
        close(got, expected, case, what=what, rtol=1e-6, atol=1e-9,
              mistakes=_standardize_mistakes(X_train, X))


# --- one_hot ----------------------------------------------------------------------------------
def _one_hot_cases(hidden: bool) -> list[tuple[Case, np.ndarray, int, bool]]:
    """(case, y (N,) ints, num_classes, whether ValueError is expected)."""
    rng = case_rng(220)

    def labels(y, c, raises=False, dtype=np.int64):
        y = np.asarray(y, dtype=dtype)
        text = str(y.tolist()) if y.size <= 8 else f"{y.size} labels"
        return Case(f"y = {text}, num_classes={c}"), y, c, raises

    cases = [
        labels([0, 2, 1, 2, 0, 1], 4),
        labels(rng.integers(0, 3, size=7), 3),
        labels([0, -1, 2], 3, raises=True),
        labels([0, 3, 1], 3, raises=True),
    ]
    if hidden:
        cases += [
            labels([0], 1),
            labels([4], 5),
            labels(rng.integers(0, 10, size=50), 10, dtype=np.int32),
            labels([6, 0, 3, 3, 1], 7, dtype=np.uint8),
            labels([1, 100], 10, raises=True),
            labels([-5, 0], 3, raises=True),
            labels([2, 2, 5], 5, raises=True),
        ]
    numbered([case for case, _, _, _ in cases])
    return cases


def _one_hot_shape_hint(y: np.ndarray, num_classes: int) -> Callable[[tuple], str | None]:
    n = y.shape[0]

    def hint(shape: tuple) -> str | None:
        if shape == (num_classes, n):
            return "rows are samples: the shape is (N, num_classes), not (num_classes, N)"
        if len(shape) == 2 and shape[0] == n and y.size and shape[1] == int(y.max()) + 1:
            return ("the result needs num_classes columns, even when the largest label in y is "
                    "smaller: use num_classes, not y.max() + 1")
        if len(shape) == 1:
            return "return a 2-D array (N, num_classes): one row per label"
        return None

    return hint


def _expect_value_error(fn, case: Case, y: np.ndarray, num_classes: int) -> None:
    """Fail unless ``fn(y, num_classes)`` raises ValueError."""

    def call(y, num_classes):
        return _attempt(fn, y, num_classes)

    _, exc = run(call, case, y, num_classes, names=["y", "num_classes"])
    if isinstance(exc, ValueError):
        return
    negative = bool(np.any(y < 0))
    if exc is not None:
        what, hint = describe_exception(exc)
        if isinstance(exc, AssertionError):
            hint = "raise ValueError(...) yourself; `assert` raises AssertionError"
        elif not isinstance(exc, (CandidateTimeout, RecursionError, NotImplementedError)):
            hint = ("check the labels first and raise ValueError(...) yourself for any label "
                    "< 0 or >= num_classes")
        raise Failure(f"{what}; a label outside [0, {num_classes}) must raise ValueError",
                      case=case, hint=hint)
    hint = ("negative labels do not fail by themselves (NumPy counts them from the end): test "
            "`np.any(y < 0)` too and raise ValueError" if negative else
            "test `np.any(y >= num_classes)` and raise ValueError")
    raise Failure(f"it returned a result; a label outside [0, {num_classes}) must raise "
                  f"ValueError", case=case, hint=hint)


@exercise("one_hot")
def check_one_hot(fn, hidden: bool) -> None:
    """one_hot(y (N,) ints, num_classes) -> float (N, num_classes); ValueError out of range."""
    what = "the one-hot array"
    for case, y, num_classes, raises in _one_hot_cases(hidden):
        if raises:
            _expect_value_error(fn, case, y, num_classes)
            continue
        got = run(fn, case, y, num_classes, names=["y", "num_classes"])
        expected = nnlib.one_hot(y, num_classes)
        got = _shaped(got, expected, case, what, _one_hot_shape_hint(y, num_classes))
        _first_nonfinite(got, expected, case, what, None)
        columns = np.zeros_like(expected)
        columns[:, y] = 1.0
        close(got, expected, case, what=what, mistakes=[
            ("set one entry per row, `out[np.arange(N), y] = 1`; `out[:, y] = 1` sets whole "
             "columns", columns)])
        if got.dtype.kind != "f":
            raise Failure(f"{what} has dtype {got.dtype}; expected floats", case=case,
                          hint="build it with floats: np.zeros((N, num_classes)) is float by "
                               "default, and `.astype(float)` converts")


# --- train_val_test_split ---------------------------------------------------------------------
_SPLIT_NAMES = ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test")


def _split_cases(hidden: bool) -> list[tuple[Case, np.ndarray, np.ndarray, float, float, int]]:
    """(case, X (N, D) with distinct rows, y (N, ...) with distinct rows, val, test, seed)."""
    rng = case_rng(230)

    def make(n, d, val, test, seed, integer=False, y_cols=0):
        if integer:
            X = rng.integers(-50, 50, size=(n, d))
            X[:, 0] = rng.permutation(n)
        else:
            X = rng.normal(size=(n, d))
        y = rng.permutation(n) if not y_cols else np.column_stack(
            [rng.permutation(n)] + [rng.integers(0, 5, size=n) for _ in range(y_cols - 1)])
        kind = "integer X" if integer else "X"
        label = (f"{kind} ({n}, {d}), y {y.shape}, val_fraction={val}, test_fraction={test}, "
                 f"rng seed {seed}")
        return Case(label), X, y, val, test, seed

    cases = [make(20, 3, 0.27, 0.18, 0), make(9, 4, 0.3, 0.1, 1)]
    if hidden:
        cases += [
            make(1, 2, 0.0, 0.0, 2),
            make(15, 2, 0.2, 0.2, 3, integer=True, y_cols=2),
            make(100, 5, 0.15, 0.25, 4),
            make(10, 3, 0.0, 0.34, 5),
            make(6, 1, 0.5, 0.17, 6),
            make(37, 2, 0.11, 0.22, 7),
        ]
    numbered([c[0] for c in cases])
    return cases


def _split_parts(got, X: np.ndarray, y: np.ndarray, case: Case) -> list[np.ndarray]:
    """The six arrays of a split, each checked for type and shape (rows may vary)."""
    parts = unpack(got, 6, case, "(" + ", ".join(_SPLIT_NAMES) + ")")
    arrays = [as_array(p, case, name) for p, name in zip(parts, _SPLIT_NAMES)]
    for i, (part, name) in enumerate(zip(arrays, _SPLIT_NAMES)):
        like = X if i % 2 == 0 else y
        if part.ndim != like.ndim or part.shape[1:] != like.shape[1:]:
            other = y if i % 2 == 0 else X
            hint = ("return the six arrays in the order X_train, y_train, X_val, y_val, X_test, "
                    "y_test" if part.ndim == other.ndim and part.shape[1:] == other.shape[1:]
                    else None)
            raise Failure(f"{name} has shape {part.shape}; expected {_shape_text(like.shape[1:])}",
                          case=case, hint=hint)
    for i in (0, 2, 4):
        if len(arrays[i]) != len(arrays[i + 1]):
            raise Failure(f"{_SPLIT_NAMES[i]} has {len(arrays[i])} rows but "
                          f"{_SPLIT_NAMES[i + 1]} has {len(arrays[i + 1])}", case=case,
                          hint="index X and y with the same indices")
    return arrays


def _size_hint(got: tuple, n: int, val: float, test: float) -> str | None:
    """Name the rule that produced split sizes ``got`` (train, val, test), when recognised."""
    def sizes(n_val, n_test):
        return (n - n_val - n_test, n_val, n_test)

    n_val, n_test = round(n * val), round(n * test)
    known = [
        ("split sizes computed with int(), which rounds down: use round(N * fraction)",
         sizes(int(n * val), int(n * test))),
        ("use round(N * fraction), not math.ceil", sizes(math.ceil(n * val), math.ceil(n * test))),
        ("compute n_test and n_val with round(); the rest, N - n_val - n_test, is train",
         (round(n * (1 - val - test)), n_val, n - round(n * (1 - val - test)) - n_val)),
        ("compute n_test and n_val with round(); the rest, N - n_val - n_test, is train",
         (int(n * (1 - val - test)), n_val, n - int(n * (1 - val - test)) - n_val)),
        ("the validation and test sets are swapped: n_val = round(N * val_fraction) and the "
         "order is X_train, y_train, X_val, y_val, X_test, y_test", sizes(n_test, n_val)),
    ]
    return next((hint for hint, s in known if s == got), None)


def _split_indices(got, X, y, val, test, case) -> list[np.ndarray]:
    """Validate one split and return the row indices (into X) of train, val and test."""
    parts = _split_parts(got, X, y, case)
    n = len(X)
    expected = (n - round(n * val) - round(n * test), round(n * val), round(n * test))
    sizes = tuple(len(parts[i]) for i in (0, 2, 4))
    if sizes != expected:
        raise Failure(f"the split sizes (train, val, test) are {sizes}; expected {expected}: "
                      f"n_test = round({n} * {test}) = {expected[2]}, "
                      f"n_val = round({n} * {val}) = {expected[1]}, the rest train",
                      case=case, hint=_size_hint(sizes, n, val, test))
    lookup = _row_lookup(X)
    indices = [_rows_of(parts[i], lookup, case, _SPLIT_NAMES[i]) for i in (0, 2, 4)]
    seen = np.concatenate(indices)
    counts = np.bincount(seen, minlength=n)
    if np.any(counts != 1):
        twice = np.flatnonzero(counts > 1)
        raise Failure(f"the split is not a partition of the rows: row {int(twice[0])} of X is "
                      f"in it {int(counts[twice[0]])} times and "
                      f"{int(np.sum(counts == 0))} rows are missing", case=case,
                      hint="cut one permutation into three disjoint slices: order[:n_test], "
                           "order[n_test:n_test + n_val], order[n_test + n_val:]")
    for k, idx in enumerate(indices):
        y_part = parts[2 * k + 1]
        if not np.array_equal(y_part, y[idx]):
            y_rows = _row_lookup(y.reshape(n, -1))
            foreign = any(tuple(np.asarray(r, float).ravel()) not in y_rows for r in y_part)
            hint = (None if foreign else "X and y were shuffled separately: index both with "
                    "the same permutation, `X[idx]` and `y[idx]`")
            raise Failure(f"{_SPLIT_NAMES[2 * k + 1]} does not hold the labels of the rows in "
                          f"{_SPLIT_NAMES[2 * k]}: the (x, y) pairs were broken", case=case,
                          hint=hint)
    return indices


@exercise("train_val_test_split")
def check_train_val_test_split(fn, hidden: bool) -> None:
    """train_val_test_split(X (N, D), y (N, ...), val_fraction, test_fraction, rng) -> 6 arrays.

    Checks sizes, a partition of the rows with pairs kept, a shuffle, and that the split
    depends on rng only: the same seed gives the same split, another seed another one.
    """
    names = ["X", "y", "val_fraction", "test_fraction", "rng"]
    for case, X, y, val, test, seed in _split_cases(hidden):
        def split(s):
            got = _run_shuffling(fn, case, X, y, val, test, case_rng(s),
                                 names=names, mutation_ok=(4,))
            return _split_indices(got, X, y, val, test, case)

        first = split(seed)
        if len(X) >= 5 and all(np.all(np.diff(idx) == 1) for idx in first):
            raise Failure("the rows were not shuffled: every split holds its rows in their "
                          "original order", case=case,
                          hint="shuffle first: `idx = rng.permutation(N)`, then cut idx in three")
        again = split(seed)
        if any(not np.array_equal(a, b) for a, b in zip(first, again)):
            raise Failure(f"two calls with rng seed {seed} gave different splits", case=case,
                          hint="draw the permutation from the rng argument "
                               "(`rng.permutation(N)`), not from a new generator")
        if len(X) >= 5:
            other = split(seed + 1000)
            if all(np.array_equal(a, b) for a, b in zip(first, other)):
                raise Failure(f"rng seeds {seed} and {seed + 1000} gave the same split",
                              case=case, hint="the split ignores rng: shuffle with "
                                              "`rng.permutation(N)` from the rng argument")


# --- iterate_minibatches ----------------------------------------------------------------------
def _batch_cases(hidden: bool) -> list[tuple[Case, np.ndarray, np.ndarray, int, int | None,
                                             str]]:
    """(case, X (N, D), y (N, ...), batch_size, seed or None, how rng is passed).

    How: "default" omits rng, "positional" passes it 4th, "keyword" as ``rng=``.
    """
    rng = case_rng(240)

    def make(n, d, batch_size, seed, how="positional", integer=False, y_cols=0):
        X = rng.normal(size=(n, d))
        if integer:
            X = rng.integers(-50, 50, size=(n, d))
            X[:, 0] = rng.permutation(n)
        y = rng.permutation(n) if not y_cols else np.column_stack(
            [rng.permutation(n)] + [rng.integers(0, 3, size=n) for _ in range(y_cols - 1)])
        where = {"default": "rng omitted", "positional": f"rng seed {seed}",
                 "keyword": f"rng={'None' if seed is None else f'seed {seed}'} as a keyword"}
        kind = "integer X" if integer else "X"
        return (Case(f"{kind} ({n}, {d}), y {y.shape}, batch_size={batch_size}, {where[how]}"),
                X, y, batch_size, seed, how)

    cases = [make(10, 2, 4, None, "default"), make(10, 3, 3, 0), make(8, 2, 4, None, "default")]
    if hidden:
        cases += [
            make(5, 2, 1, 2),
            make(5, 3, 8, 3),
            make(6, 2, 6, None, "default"),
            make(1, 2, 3, 4),
            make(12, 4, 5, 5, "keyword", integer=True, y_cols=2),
            make(101, 3, 10, 6),
            make(9, 2, 4, None, "keyword"),
            make(16, 2, 4, 7),
        ]
    numbered([c[0] for c in cases])
    return cases


def _drain(result, limit: int) -> tuple[str, object]:
    """Consume what the candidate returned: ("ok", items), ("returned", value) when it is not
    a stream of batches, or ("too many", items) after ``limit`` items."""
    if result is None or isinstance(result, np.ndarray) or (
            isinstance(result, tuple) and len(result) == 2
            and all(isinstance(r, np.ndarray) for r in result)):
        return "returned", result
    try:
        iterator = iter(result)
    except TypeError:
        return "returned", result
    items = []
    for item in iterator:
        items.append(item)
        if len(items) > limit:
            return "too many", items
    return "ok", items


def _describe_returned(value) -> tuple[str, str]:
    """(what came back, hint) for a candidate that returned something other than batches."""
    if value is None:
        return ("it returned None; expected a generator of (X_batch, y_batch) pairs",
                "write `yield X[idx], y[idx]` inside a loop over the batches")
    if isinstance(value, tuple):
        return ("it returned one pair (X_batch, y_batch) instead of yielding every batch",
                "use `yield` inside the loop, not `return`: a generator yields each batch")
    kind = (f"an array of shape {value.shape}" if isinstance(value, np.ndarray)
            else f"a {type(value).__name__}")
    return (f"it returned {kind}; expected a generator of (X_batch, y_batch) pairs",
            "write `yield X[idx], y[idx]` inside a loop over the batches")


def _batches(items: list, X: np.ndarray, y: np.ndarray, case: Case) -> list[tuple]:
    """Each item as a pair of arrays (X_batch (b, D), y_batch (b, ...)), checked for shape."""
    pairs = []
    for b, item in enumerate(items):
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            kind = (f"an array of shape {item.shape}" if isinstance(item, np.ndarray)
                    else f"a {type(item).__name__}")
            raise Failure(f"batch {b} is {kind}; expected a pair (X_batch, y_batch)", case=case,
                          hint="yield both arrays: `yield X[idx], y[idx]`")
        Xb = as_array(item[0], case, f"X_batch of batch {b}")
        yb = as_array(item[1], case, f"y_batch of batch {b}")
        if Xb.ndim != X.ndim or Xb.shape[1:] != X.shape[1:]:
            raise Failure(f"X_batch of batch {b} has shape {Xb.shape}; expected "
                          f"{_shape_text(X.shape[1:])}", case=case,
                          hint="select whole rows: `X[idx]` with an array of row indices")
        if yb.shape != (len(Xb),) + y.shape[1:]:
            raise Failure(f"y_batch of batch {b} has shape {yb.shape}; expected "
                          f"{(len(Xb),) + y.shape[1:]} to match X_batch", case=case,
                          hint="select the same rows of y: `y[idx]`")
        pairs.append((Xb, yb))
    return pairs


def _batch_sizes_failure(got: list[int], expected: list[int], batch_size: int,
                         case: Case) -> Failure:
    """The Failure for batch sizes ``got`` when ``expected`` ones were due, with a hint."""
    hint = "each batch has batch_size rows, except possibly the last, smaller one"
    if expected and got == expected[:-1] and expected[-1] < batch_size:
        hint = ("the minibatches drop the last partial batch: loop `for start in range(0, N, "
                "batch_size)` and slice `order[start:start + batch_size]`")
    elif got == expected + [0]:
        hint = ("an empty batch came last: yield only non-empty batches, "
                "`for start in range(0, N, batch_size)`")
    elif len(got) > len(expected) and all(s <= max(expected, default=0) for s in got):
        hint = "step the start index by batch_size: `range(0, N, batch_size)`"
    return Failure(f"the batch sizes are {got}; expected {expected}", case=case, hint=hint)


def _order_failure(order: np.ndarray, seed: int | None, n: int, case: Case) -> Failure | None:
    """A Failure when the rows came in the wrong order, else None."""
    if seed is None:
        if np.array_equal(order, np.arange(n)):
            return None
        return Failure(f"with rng=None the rows must come in their original order; they came "
                       f"as {order[:8].tolist()}...", case=case,
                       hint="shuffle only when an rng is given: `order = np.arange(N) if rng is "
                            "None else rng.permutation(N)`")
    rng = case_rng(seed)
    expected, second = rng.permutation(n), rng.permutation(n)
    if np.array_equal(order, expected):
        return None
    if np.array_equal(order, np.arange(n)):
        hint = "rows came in order although rng was given: shuffle with `rng.permutation(N)`"
    elif np.array_equal(order, second):
        hint = ("the permutation was drawn twice: call `rng.permutation(N)` exactly once and "
                "use it for both X and y")
    else:
        hint = "the order must be exactly `rng.permutation(N)` (drawn once, before the loop)"
    return Failure(f"the rows came in the order {order[:8].tolist()}...; expected "
                   f"rng.permutation({n}) = {expected[:8].tolist()}...", case=case, hint=hint)


def _pairs_failure(pairs, indices, y, seed, case) -> Failure | None:
    """A Failure when some y_batch does not hold the labels of its X_batch, else None."""
    for b, ((_, yb), idx) in enumerate(zip(pairs, indices)):
        if not np.array_equal(yb, y[idx]):
            hint = "index X and y with the same indices: `X[idx], y[idx]`"
            if seed is not None:
                rng = case_rng(seed)
                rng.permutation(len(y))
                second = rng.permutation(len(y))
                y_order = np.concatenate([p[1] for p in pairs]) if pairs else y[:0]
                if y_order.shape == y.shape and np.array_equal(y_order, y[second]):
                    hint = ("the permutation was used twice (one for X, another for y): draw "
                            "`order = rng.permutation(N)` once and index both with it")
            return Failure(f"y_batch of batch {b} does not hold the labels of the rows in its "
                           f"X_batch: the (x, y) pairs were broken", case=case, hint=hint)
    return None


@exercise("iterate_minibatches")
def check_iterate_minibatches(fn, hidden: bool) -> None:
    """iterate_minibatches(X (N, D), y (N, ...), batch_size, rng=None) yields (X_b, y_b).

    Checks batch sizes (the last may be smaller), every row exactly once with its label, and
    the order: np.arange(N) without rng, rng.permutation(N) with it.
    """
    for case, X, y, batch_size, seed, how in _batch_cases(hidden):
        n = len(X)
        rng = None if seed is None else case_rng(seed)
        extra = (rng,) if how == "positional" else ()
        kwargs = {"rng": rng} if how == "keyword" else {}

        def consume(X, y, batch_size):
            return _drain(fn(X, y, batch_size, *extra, **kwargs), limit=2 * n + 2)

        status, items = _run_shuffling(consume, case, X, y, batch_size,
                                       names=["X", "y", "batch_size"])
        if status == "returned":
            what, hint = _describe_returned(items)
            raise Failure(what, case=case, hint=hint)
        if status == "too many":
            raise Failure(f"it yielded more than {2 * n + 2} batches for N={n} rows", case=case,
                          hint="loop over `range(0, N, batch_size)` so that the loop ends")
        pairs = _batches(items, X, y, case)
        sizes = [len(Xb) for Xb, _ in pairs]
        expected = [min(batch_size, n - s) for s in range(0, n, batch_size)]
        if sizes != expected:
            raise _batch_sizes_failure(sizes, expected, batch_size, case)
        lookup = _row_lookup(X)
        indices = [_rows_of(Xb, lookup, case, f"X_batch of batch {b}")
                   for b, (Xb, _) in enumerate(pairs)]
        order = np.concatenate(indices) if indices else np.zeros(0, dtype=int)
        counts = np.bincount(order, minlength=n)
        if np.any(counts != 1):
            twice = np.flatnonzero(counts > 1)
            raise Failure(f"row {int(twice[0])} of X came {int(counts[twice[0]])} times and "
                          f"{int(np.sum(counts == 0))} rows never came", case=case,
                          hint="draw the order once, before the loop, and slice it: "
                               "`order[start:start + batch_size]`")
        failure = (_pairs_failure(pairs, indices, y, seed, case)
                   or _order_failure(order, seed, n, case))
        if failure is not None:
            raise failure
