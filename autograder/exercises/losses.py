"""Checks for notebook 01: mse_loss, softmax, cross_entropy_loss.

Each is compared with nnlib's reference on seeded scores, from small to extreme (1e4), with NumPy
warnings (overflow, log(0)) forbidden. Hidden cases include float32 inputs, which may be
computed in float32 (compared with float32's tolerances).
"""

from __future__ import annotations

import numpy as np

import nnlib

from ..compare import close, close_scalar
from ..core import Case, Failure, case_rng, exercise, numbered, run

_KEEPDIMS = ("divide each row by its own sum: `e.sum(axis=1, keepdims=True)` keeps the (N, 1) "
             "shape, so that it broadcasts across the row")
_ROW_MAX = ("a whole row underflowed to 0 and gave 0/0: subtract each row's own maximum, "
            "`scores.max(axis=1, keepdims=True)`, not the maximum of the whole array")
_EXP_OVERFLOW = ("np.exp overflowed on large scores: subtract each row's maximum first, "
                 "`scores - scores.max(axis=1, keepdims=True)` (the softmax does not change), "
                 "so that np.exp only sees numbers <= 0")
_LOG_ZERO = ("log(0) appeared: compute the log-probabilities with log-sum-exp, "
             "`s - logsumexp(s)` with s shifted by the row maximum, not np.log(softmax(scores))")


def softmax_warning_hint(what: str) -> str | None:
    """The hint for a NumPy warning (or broadcasting error) of a softmax-based candidate."""
    if "could not be broadcast" in what:
        return _KEEPDIMS
    if "overflow" in what and "exp" in what:
        return _EXP_OVERFLOW
    if "divide by zero" in what and "log" in what:
        return _LOG_ZERO
    if "invalid value" in what:
        return _ROW_MAX
    return None


def _run_on_scores(fn, case: Case, *args, names: list[str]):
    """``run`` with NumPy warnings forbidden, and hints for the usual softmax mistakes."""
    try:
        return run(fn, case, *args, names=names, forbid_warnings=True)
    except Failure as failure:
        failure.hint = softmax_warning_hint(failure.what) or failure.hint
        raise


def _score_cases(hidden: bool) -> list[tuple[Case, np.ndarray, np.ndarray]]:
    """(case, scores (N, C), labels (N,)) from small to extreme."""
    rng = case_rng(101)
    shapes = [(4, 3), (1, 5), (7, 2)] + ([(13, 10), (2, 1), (64, 7), (6, 6)] if hidden else [])
    cases = [(Case(f"random scores, N={n}, C={c}"), rng.normal(size=(n, c)),
              rng.integers(0, c, size=n)) for n, c in shapes]
    big = np.array([[1e4, 0.0, -1e4], [1000.0, 1000.0, 999.0], [-1e4, -1e4 + 1, -1e4 + 2]])
    cases.append((Case("large scores such as 1e4 (N=3, C=3)"), big, np.array([1, 2, 0])))
    if hidden:
        shifted = rng.normal(size=(5, 4)) * 50 + 800
        cases.append((Case("scores around 800, N=5, C=4"), shifted, rng.integers(0, 4, size=5)))
        cases.append((Case("integer scores, N=3, C=4"), rng.integers(-5, 5, size=(3, 4)),
                      np.array([0, 3, 1])))
        cases.append((Case("float32 scores, N=6, C=5"),
                      (rng.normal(size=(6, 5)) * 3).astype(np.float32), rng.integers(0, 5, size=6)))
    numbered([c for c, _, _ in cases])
    return cases


def _softmax_without_keepdims(s, in_max: bool):
    """What forgetting keepdims in the row sum (and in the row max) gives; square s (N, N)."""
    s = np.asarray(s, dtype=float)
    with np.errstate(all="ignore"):
        e = np.exp(s - (s.max(axis=1) if in_max else s.max(axis=1, keepdims=True)))
        return e / e.sum(axis=1)


def _naive_softmax(s):
    with np.errstate(all="ignore"):
        e = np.exp(np.asarray(s, dtype=float))
        return e / e.sum(axis=1, keepdims=True)


def _mse_cases(hidden: bool) -> list[tuple[Case, np.ndarray, np.ndarray]]:
    """(case, y_pred, y_true) of one shape (N, ...) each."""
    rng = case_rng(100)
    shapes = [(5, 1), (1, 1), (4, 3)] + ([(20, 2), (3,), (50, 7)] if hidden else [])
    cases = [(Case(f"predictions and targets of shape {s}"), rng.normal(size=s),
              rng.normal(size=s)) for s in shapes]
    if hidden:
        cases.append((Case("integer predictions and targets of shape (6, 2)"),
                      rng.integers(-5, 5, size=(6, 2)), rng.integers(-5, 5, size=(6, 2))))
        cases.append((Case("float32 predictions and targets of shape (8, 3)"),
                      rng.normal(size=(8, 3)).astype(np.float32),
                      rng.normal(size=(8, 3)).astype(np.float32)))
    numbered([case for case, _, _ in cases])
    return cases


@exercise("mse_loss")
def check_mse_loss(fn, hidden: bool) -> None:
    for case, y_pred, y_true in _mse_cases(hidden):
        shape = y_pred.shape
        got = run(fn, case, y_pred, y_true, names=["y_pred", "y_true"])
        diff = y_pred - y_true
        close_scalar(got, nnlib.mse_loss(y_pred, y_true), case, what="the loss", batch=shape[0],
                     computed_from=(y_pred, y_true), mistakes=[
                         ("you forgot to square the differences",
                          lambda diff=diff: float(np.mean(diff))),
                         ("use the squared difference, not the absolute one",
                          lambda diff=diff: float(np.mean(np.abs(diff)))),
                         ("average over every entry (np.mean), not only over the batch axis",
                          lambda diff=diff, s=shape: float(np.sum(diff**2) / s[0])),
                         ("you returned the root of the mean square (RMSE); MSE has no root",
                          lambda diff=diff: float(np.sqrt(np.mean(diff**2)))),
                         ("there is no factor 1/2 in this loss",
                          lambda diff=diff: float(0.5 * np.mean(diff**2))),
                     ])


@exercise("softmax")
def check_softmax(fn, hidden: bool) -> None:
    for case, scores, _ in _score_cases(hidden):
        got = _run_on_scores(fn, case, scores, names=["scores"])
        close(got, nnlib.softmax(scores), case, what="softmax", rtol=1e-6, atol=1e-12,
              computed_from=(scores,), mistakes=[
            ("normalise each row (sum over axis=1 with keepdims=True), not the whole array",
             lambda s=scores: np.exp(s - s.max()) / np.exp(s - s.max()).sum()),
            ("normalise over each row (axis=1), not each column (axis=0)",
             lambda s=scores: np.exp(s - s.max(axis=0)) / np.exp(s - s.max(axis=0)).sum(axis=0)),
            ("np.exp overflows for large scores: subtract each row's maximum first",
             lambda s=scores: _naive_softmax(s)),
            (_KEEPDIMS, lambda s=scores: _softmax_without_keepdims(s, in_max=False)),
            (_KEEPDIMS, lambda s=scores: _softmax_without_keepdims(s, in_max=True)),
        ])


@exercise("cross_entropy_loss")
def check_cross_entropy_loss(fn, hidden: bool) -> None:
    for case, scores, y in _score_cases(hidden):
        got = _run_on_scores(fn, case, scores, y, names=["scores", "y"])
        n, c = scores.shape
        logp = nnlib.log_softmax(scores)
        close_scalar(got, nnlib.cross_entropy_loss(scores, y), case, what="the loss", batch=n,
                     computed_from=(scores,), mistakes=[
                         ("you summed over the batch: average it (divide by N)",
                          lambda: float(-logp[np.arange(n), y].sum())),
                         ("the loss is -log p, with a minus sign",
                          lambda: float(logp[np.arange(n), y].mean())),
                         ("index each row by its own label: `logp[np.arange(N), y]`",
                          lambda: float(-logp[:, y].mean())),
                         ("take the log-probability of the true class only, not of every class",
                          lambda: float(-logp.mean())),
                         ("use the natural log (np.log), not log10 or log2",
                          lambda: float(-logp[np.arange(n), y].mean() / np.log(10))),
                         ("you averaged over all N*C entries: sum over the classes, then "
                          "average over the batch only (divide by N)",
                          lambda: float(-logp[np.arange(n), y].sum() / (n * c))),
                     ])
