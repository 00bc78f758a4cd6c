"""Checks for notebook 07 (training in practice): he_normal, batchnorm_forward,
batchnorm_backward, clip_by_global_norm, warmup_cosine, adamw, mlp_loss and train_epoch.

Every check compares with nnlib's reference on seeded inputs; float32 inputs are compared with
float32 tolerances (a student may compute them in float32). The backward passes
(batchnorm_backward, mlp_loss) are compared a second time with central differences of the
reference in float64.

How a check uses the student's other functions
----------------------------------------------
Two exercises are defined in terms of others: batchnorm_backward is checked on the cache of the
student's own batchnorm_forward (whose layout is the student's choice), and train_epoch runs the
notebook's own mlp_loss and clip_by_global_norm. Their checks are registered with
``exercise(name, uses=(...))``, and ``check`` calls them with a third argument: for each name
used, the candidate last given to ``check`` under that name in this process
(``autograder.core.LAST_CHECKED``), or None. A notebook's test cells run in order, so by the
time ``check("batchnorm_backward", batchnorm_backward)`` runs, the student's batchnorm_forward
has been checked (passed or not) and is the one used; the same for mlp_loss and
clip_by_global_norm before train_epoch. Nothing is looked up in the student's namespace, and
these functions are candidates like any other: called only through ``run``, with plain data
(numbers, arrays, lists, dicts) and, for train_epoch, an update rule as a callable.
When none was checked (a check run on its own), nnlib's reference stands in and a failure says
so.

- batchnorm_backward: the student's forward runs on the case's inputs first; when it fails or
  its ``out`` is wrong, the check says to fix batchnorm_forward first (its own check has the
  details); otherwise the student's backward gets that cache.
- train_epoch: the expected epoch is nnlib's loop (``nnlib.training_loop.run_epoch``) with the
  student's mlp_loss and clip_by_global_norm plugged in, so a right loop passes even when those
  two are wrong (their own checks fail), and the loop's own mistakes are named by comparing
  with wrong loops.
"""

from __future__ import annotations

import copy
import math
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

import nnlib
from nnlib import deep_mlp
from nnlib.training_loop import run_epoch

from ..compare import as_array, as_float, close, close_dict, close_scalar, low_precision, matches
from ..core import Case, Failure, case_rng, exercise, numbered, run
from .backprop import _numeric_close, _shapes, _unpack, check_weight_draws
from .data import _attempt
from .optimizers import (
    Rule,
    _adam_mistakes,
    _adam_nonfinite,
    _adam_parts,
    _adam_state_mistakes,
    _use_default,
    register_rule,
)


def _tolerance(*arrays) -> tuple[float, float]:
    """(rtol, atol) for results computed from ``arrays``: float32's when one is float32
    (``compare.low_precision``), else float64's."""
    if low_precision(*arrays):
        return 1e-4, 1e-5
    return 1e-6, 1e-9

_NO_RETURN = "the function has no `return` statement (or returns too early)"


def _silently(fn: Callable) -> Callable:
    """``fn`` without NumPy's warnings: wrong variants may divide by zero on purpose."""
    def quiet(*args, **kwargs):
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return fn(*args, **kwargs)
    return quiet


# --- the student's other functions ------------------------------------------------------------
@dataclass
class Used:
    """A function another exercise's check calls: the student's, or nnlib's if none was checked."""

    name: str
    fn: Callable
    own: bool

    @classmethod
    def of(cls, name: str, used: dict | None) -> Used:
        candidate = (used or {}).get(name)
        if candidate is None:
            return cls(name, getattr(nnlib, name), False)
        return cls(name, candidate, True)


    def call(self, case: Case, *args, names=None, mutation_ok=()):
        """``run`` of this function; its failure is reported as a problem of ``self.name``."""
        try:
            return run(self.fn, case, *args, names=names, mutation_ok=mutation_ok)
        except Failure as failure:
            raise Failure(f"your {self.name}, which this check uses, failed: {failure.what}",
                          case=case, hint=failure.hint or f"make {self.name} pass its own check "
                          "first") from None


@contextmanager
def _noting(*used: Used):
    """Say, in any Failure raised inside the block, which of ``used`` were nnlib's stand-ins."""
    try:
        yield
    except Failure as failure:
        names = [u.name for u in used if not u.own]
        if names:
            mine = " or ".join(names)
            theirs = " and ".join(f"nnlib.{name}" for name in names)
            cells = "its test cell" if len(names) == 1 else "their test cells"
            failure.what += (f"\n(No {mine} of yours has been checked in this session, so this "
                             f"check used {theirs}: run {cells} first to use your own.)")
        raise


def _number_list(got, case: Case, what: str) -> np.ndarray:
    """A list (or 1-D array) of numbers as a float array, or a Failure saying what it is."""
    if isinstance(got, (list, tuple)):
        values = []
        for i, item in enumerate(got):
            if isinstance(item, np.ndarray) and item.size == 1:
                item = item.reshape(())[()]
            if isinstance(item, bool) or not isinstance(item, (int, float, np.integer,
                                                                np.floating)):
                raise Failure(f"{what}[{i}] has type {type(item).__name__}; expected a number",
                              case=case, hint="append `float(loss)` for every batch")
            values.append(float(item))
        return np.array(values, dtype=float)
    return np.asarray(as_array(got, case, what), dtype=float)


# --- he_normal --------------------------------------------------------------------------------
def _he_mistakes(fan_in: int, fan_out: int, seed: int) -> list:
    size = (fan_in, fan_out)

    def normal(std):
        return lambda: case_rng(seed).normal(0.0, std, size=size)

    bound = math.sqrt(6 / fan_in)
    return [
        ("the standard deviation is sqrt(2 / fan_in); you used 2 / fan_in, the variance",
         normal(2 / fan_in)),
        ("He's variance is 2 / fan_in: you left out the factor 2 (variance 1 / fan_in, for "
         "activations that keep both signs)", normal(math.sqrt(1 / fan_in))),
        ("the variance is 2 / fan_in with fan_in the number of inputs (the rows of W), not "
         "2 / fan_out", normal(math.sqrt(2 / fan_out))),
        ("that is Glorot's variance 2 / (fan_in + fan_out); He's is 2 / fan_in",
         normal(math.sqrt(2 / (fan_in + fan_out)))),
        ("draw from a normal distribution, rng.normal(0.0, std, size=...), not a uniform one",
         lambda: case_rng(seed).uniform(-bound, bound, size=size)),
    ]


def _he_fallback_hint(got: np.ndarray, fan_in: int, rng_used: bool) -> str:
    call = "rng.normal(0.0, np.sqrt(2 / fan_in), size=(fan_in, fan_out))"
    if not rng_used:
        return (f"the weights do not come from the rng you were given: draw them with {call}, "
                "from that rng (not np.random or a new generator)")
    if got.size >= 200 and abs(float(np.std(got)) / math.sqrt(2 / fan_in) - 1) < 0.15:
        return (f"the spread is right but these are not the numbers this rng gives: draw them "
                f"in one call, {call}")
    return f"draw the weights with {call}"


@exercise("he_normal")
def check_he_normal(fn, hidden: bool) -> None:
    """he_normal(fan_in, fan_out, rng) -> rng.normal(0, sqrt(2 / fan_in), (fan_in, fan_out))."""
    check_weight_draws(
        fn, hidden, reference=nnlib.he_normal,
        specs=[(3, 5, 701), (6, 2, 702), (4, 4, 703)],
        hidden_specs=[(784, 100, 704), (100, 10, 705), (1, 1, 706), (2, 7, 707), (64, 64, 708),
                      (np.int64(5), np.int64(3), 709)],
        mistakes=_he_mistakes,
        fallback_hint=lambda got, expected, fan_in, fan_out, rng_used: _he_fallback_hint(
            got, fan_in, rng_used),
        draw="rng.normal(0.0, std, size=(fan_in, fan_out))")


# --- batchnorm_forward ------------------------------------------------------------------------
BN_ARGS = ["x", "gamma", "beta", "bn_param"]
H_DDOF = ("use the population variance over the batch, np.var(x, axis=0) (ddof=0, NumPy's "
          "default): you divided by N - 1 (ddof=1)")
H_BN_KEYS = ("read the settings with bn_param.get('eps', 1e-5) (and the same for 'mode' and "
             "'momentum'): setdefault writes the default into the caller's dict")


def _features(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    """x (n, d): each feature with its own mean in [-3, 3] and spread in [0.5, 3]."""
    return rng.uniform(-3, 3, size=d) + rng.uniform(0.5, 3, size=d) * rng.normal(size=(n, d))


@dataclass
class BNCase:
    """Calls of batchnorm_forward on one bn_param dict: ``xs`` one batch per call."""

    case: Case
    xs: list
    gamma: np.ndarray
    beta: np.ndarray
    bn_param: dict
    raises: bool = False


def _bn_forward_cases(hidden: bool) -> list[BNCase]:
    rng = case_rng(711)

    def stats(d):
        return {"running_mean": rng.normal(size=d), "running_var": rng.uniform(0.5, 2.0, size=d)}

    def make(label, n, d, bn_param, calls=1, dtype=np.float64, raises=False):
        xs = [_features(rng, n, d).astype(dtype) for _ in range(calls)]
        gamma = (rng.uniform(0.5, 2.0, size=d) * rng.choice([-1.0, 1.0], size=d)).astype(dtype)
        beta = rng.normal(size=d).astype(dtype)
        shapes = _shapes(x=xs[0], gamma=gamma)
        return BNCase(Case(f"{label}: {shapes}"), xs, gamma, beta, bn_param, raises)

    cases = [
        make("training, bn_param = {} (every default)", 6, 4, {}),
        make("training, bn_param with eps=1e-2, momentum=0.5 and running statistics", 5, 3,
             {"eps": 1e-2, "momentum": 0.5, **stats(3)}),
        make("mode='test' with running statistics and eps=1e-2", 4, 3,
             {"mode": "test", "eps": 1e-2, **stats(3)}),
        make("three training steps on one bn_param, momentum=0.8", 8, 2, {"momentum": 0.8},
             calls=3),
        make("mode='eval', which must raise ValueError", 3, 2, {"mode": "eval"}, raises=True),
    ]
    if hidden:
        cases += [
            make("training, a batch of 1 (its variance is 0)", 1, 4, {}),
            make("training, one feature (D = 1)", 7, 1, {"running_mean": np.array([0.5])}),
            make("training, square x (N = D = 5)", 5, 5, {"eps": 1e-3}),
            make("training with mode='train' given, a larger batch", 32, 10, {"mode": "train"}),
            make("training, float32", 6, 3, {}, dtype=np.float32),
            make("mode='test', no running statistics yet (zeros)", 5, 3, {"mode": "test"}),
            make("mode='test', float32", 4, 2, {"mode": "test", **stats(2)}, dtype=np.float32),
            make("five training steps, eps=1e-3, momentum=0.3", 4, 3,
                 {"eps": 1e-3, "momentum": 0.3, **stats(3)}, calls=5),
            make("mode='Train', which must raise ValueError", 2, 2, {"mode": "Train"},
                 raises=True),
        ]
    numbered([c.case for c in cases])
    return cases


def _bn_settings(bn_param: dict) -> tuple[float, float]:
    return bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.9)


@_silently
def _bn_train_mistakes(x, gamma, beta, bn_param) -> list:
    """Known wrong outputs of a training-mode forward pass."""
    eps, _ = _bn_settings(bn_param)
    mu, var = x.mean(axis=0), x.var(axis=0)
    xhat = (x - mu) / np.sqrt(var + eps)
    rm = bn_param.get("running_mean", np.zeros(x.shape[1]))
    rv = bn_param.get("running_var", np.zeros(x.shape[1]))
    rows = (x - x.mean(axis=1, keepdims=True)) / np.sqrt(x.var(axis=1, keepdims=True) + eps)
    return [
        (H_DDOF, gamma * (x - mu) / np.sqrt(x.var(axis=0, ddof=1) + eps) + beta),
        ("eps goes inside the square root: (x - mu) / np.sqrt(var + eps)",
         gamma * (x - mu) / (np.sqrt(var) + eps) + beta),
        ("add eps to the variance: xhat = (x - mu) / np.sqrt(var + eps)",
         gamma * (x - mu) / np.sqrt(var) + beta),
        ("use bn_param['eps'] when it is given; 1e-5 is only its default",
         gamma * (x - mu) / np.sqrt(var + 1e-5) + beta),
        ("divide by the standard deviation np.sqrt(var + eps), not by the variance",
         gamma * (x - mu) / (var + eps) + beta),
        ("normalise each feature over the batch: mean and variance over axis 0 (you used "
         "axis 1, each row)", gamma * rows + beta),
        ("out = gamma * xhat + beta: you swapped gamma and beta", beta * xhat + gamma),
        ("scale and shift the normalised x: out = gamma * xhat + beta (you returned xhat)",
         xhat),
        ("in training mode normalise with this batch's mean and variance; the running "
         "statistics are for mode='test'", gamma * (x - rm) / np.sqrt(rv + eps) + beta),
    ]


@_silently
def _bn_test_mistakes(x, gamma, beta, bn_param) -> list:
    """Known wrong outputs of a test-mode forward pass."""
    eps, _ = _bn_settings(bn_param)
    d = x.shape[1]
    rm = bn_param.get("running_mean", np.zeros(d))
    rv = bn_param.get("running_var", np.zeros(d))
    mu, var = x.mean(axis=0), x.var(axis=0)
    return [
        ("in test mode normalise with bn_param's running_mean and running_var, not with the "
         "batch's own statistics", gamma * (x - mu) / np.sqrt(var + eps) + beta),
        ("add eps to the running variance inside the square root: np.sqrt(running_var + eps)",
         gamma * (x - rm) / np.sqrt(rv) + beta),
        ("divide by np.sqrt(running_var + eps), the running standard deviation",
         gamma * (x - rm) / (rv + eps) + beta),
        ("eps goes inside the square root: np.sqrt(running_var + eps)",
         gamma * (x - rm) / (np.sqrt(rv) + eps) + beta),
        ("use bn_param['eps'] when it is given; 1e-5 is only its default",
         gamma * (x - rm) / np.sqrt(rv + 1e-5) + beta),
        ("out = gamma * xhat + beta: you swapped gamma and beta",
         beta * (x - rm) / np.sqrt(rv + eps) + gamma),
        ("scale and shift: out = gamma * xhat + beta (you returned xhat)",
         (x - rm) / np.sqrt(rv + eps)),
    ]


@_silently
def _running_mistakes(x, bn_param) -> dict:
    """Known wrong running statistics after one training step, per key."""
    _, momentum = _bn_settings(bn_param)
    d = x.shape[1]
    rm = np.asarray(bn_param.get("running_mean", np.zeros(d)), dtype=float)
    rv = np.asarray(bn_param.get("running_var", np.zeros(d)), dtype=float)
    mu, var = x.mean(axis=0), x.var(axis=0)
    stale = ("you did not update it: in training mode set bn_param['{key}'] = momentum * "
             "bn_param['{key}'] + (1 - momentum) * {stat}")
    swapped = ("momentum multiplies the old running value and (1 - momentum) the batch's: "
               "running = momentum * running + (1 - momentum) * {stat}")
    batch_only = ("blend the batch's {stat} into the running value, running = momentum * "
                  "running + (1 - momentum) * {stat}; you stored the batch's {stat} itself")
    default = "use bn_param['momentum'] when it is given; 0.9 is only its default"
    return {
        "running_mean": [
            (stale.format(key="running_mean", stat="mu"), rm),
            (swapped.format(stat="mu"), (1 - momentum) * rm + momentum * mu),
            (batch_only.format(stat="mu"), mu),
            (default, 0.9 * rm + 0.1 * mu),
        ],
        "running_var": [
            (stale.format(key="running_var", stat="var"), rv),
            (swapped.format(stat="var"), (1 - momentum) * rv + momentum * var),
            (batch_only.format(stat="var"), var),
            (H_DDOF + " (for running_var too)",
             momentum * rv + (1 - momentum) * x.var(axis=0, ddof=1)),
            ("running_var averages the variance var, not the standard deviation",
             momentum * rv + (1 - momentum) * np.sqrt(var)),
            (default, 0.9 * rv + 0.1 * var),
        ],
    }


def _keys(d: dict) -> str:
    return ", ".join(repr(k) for k in d) or "none"


def _check_bn_param(mine: dict, before: dict, expected: dict, x, case: Case, prefix: str,
                    train: bool, rtol: float, atol: float) -> None:
    """bn_param after one call: running statistics updated in training only, nothing else."""
    written = {"running_mean", "running_var"} if train else set()
    extra = [k for k in mine if k not in before and k not in written]
    if extra:
        raise Failure(f"{prefix}bn_param gained the key(s) {', '.join(map(repr, extra))}; "
                      f"batchnorm_forward writes only "
                      f"{'running_mean and running_var' if train else 'nothing in test mode'}",
                      case=case, hint=H_BN_KEYS)
    for key in before:
        if key not in written and (key not in mine or not _same_value(mine[key], before[key])):
            now = "is gone" if key not in mine else f"changed to {mine[key]!r}"
            if not train and key in ("running_mean", "running_var"):
                raise Failure(f"{prefix}in test mode bn_param['{key}'] {now}", case=case,
                              hint="update the running statistics in training mode only; "
                                   "mode='test' only reads them")
            raise Failure(f"{prefix}bn_param['{key}'] was {before[key]!r} and {now}", case=case,
                          hint="batchnorm_forward writes only running_mean and running_var")
    if not train:
        return
    wrong = _running_mistakes(x, before)
    for key in ("running_mean", "running_var"):
        if key not in mine:
            raise Failure(f"{prefix}after a training step bn_param has no '{key}' (its keys: "
                          f"{_keys(mine)})", case=case,
                          hint=f"store the running statistics in the dict you were given: "
                               f"bn_param['{key}'] = momentum * running + (1 - momentum) * "
                               f"{'mu' if key == 'running_mean' else 'var'} (zeros when "
                               f"missing)")
        close(mine[key], expected[key], case, what=f"{prefix}bn_param['{key}']", rtol=rtol,
              atol=atol, mistakes=wrong[key])


def _same_value(a, b) -> bool:
    try:
        return bool(np.array_equal(np.asarray(a), np.asarray(b)))
    except Exception:
        return False


def _expect_value_error(fn, bn: BNCase) -> None:
    def call(*args):
        return _attempt(fn, *args)

    param = copy.deepcopy(bn.bn_param)
    _, exc = run(call, bn.case, bn.xs[0], bn.gamma, bn.beta, param, mutation_ok=(3,),
                 names=BN_ARGS)
    if isinstance(exc, ValueError):
        return
    mode = bn.bn_param["mode"]
    if exc is not None:
        raise Failure(f"it raised {type(exc).__name__} for mode={mode!r}; expected ValueError",
                      case=bn.case, hint="raise ValueError(...) yourself for a mode that is "
                                         "neither 'train' nor 'test'")
    raise Failure(f"it returned a result for mode={mode!r}; a mode other than 'train' and "
                  "'test' must raise ValueError", case=bn.case,
                  hint="check the mode: `if mode == 'train': ... elif mode == 'test': ... "
                       "else: raise ValueError(...)` (the comparison is case-sensitive)")


@exercise("batchnorm_forward")
def check_batchnorm_forward(fn, hidden: bool) -> None:
    """Output and bn_param after each call, against nnlib.batchnorm_forward."""
    for bn in _bn_forward_cases(hidden):
        if bn.raises:
            _expect_value_error(fn, bn)
            continue
        rtol, atol = _tolerance(bn.xs[0])
        train = bn.bn_param.get("mode", "train") == "train"
        mine, ref = copy.deepcopy(bn.bn_param), copy.deepcopy(bn.bn_param)
        for step, x in enumerate(bn.xs, start=1):
            prefix = f"call {step}: " if len(bn.xs) > 1 else ""
            before = copy.deepcopy(mine)
            expected_param = copy.deepcopy(ref)
            expected, _ = nnlib.batchnorm_forward(x, bn.gamma, bn.beta, expected_param)
            got = run(fn, bn.case, x, bn.gamma, bn.beta, mine, mutation_ok=(3,), names=BN_ARGS)
            out, _ = _unpack(got, ("out", "cache"), bn.case)
            mistakes = (_bn_train_mistakes if train else _bn_test_mistakes)(
                x, bn.gamma, bn.beta, before)
            close(out, expected, bn.case, what=f"{prefix}out", rtol=rtol, atol=atol,
                  mistakes=mistakes)
            _check_bn_param(mine, before, expected_param, x, bn.case, prefix, train, rtol, atol)
            ref = expected_param


# --- batchnorm_backward -----------------------------------------------------------------------
def _bn_backward_cases(hidden: bool) -> list[tuple[Case, np.ndarray, np.ndarray, np.ndarray,
                                                   dict, np.ndarray]]:
    """(case, x (N, D), gamma, beta, bn_param, dout (N, D)); a square x so that a sum over the
    wrong axis has the right shape."""
    rng = case_rng(712)
    specs = [("random", 6, 4, {}), ("square x (N = D = 4)", 4, 4, {}),
             ("a batch of 2", 2, 3, {})]
    if hidden:
        specs += [("eps=1e-2 in bn_param", 8, 5, {"eps": 1e-2}), ("larger", 32, 10, {}),
                  ("one feature (D = 1)", 7, 1, {}), ("square x (N = D = 6)", 6, 6, {}),
                  ("float32", 6, 3, {}), ("gamma with zeros", 5, 4, {})]
    cases = []
    for label, n, d, bn_param in specs:
        dtype = np.float32 if label == "float32" else np.float64
        x = _features(rng, n, d).astype(dtype)
        gamma = rng.uniform(0.5, 2.0, size=d) * rng.choice([-1.0, 1.0], size=d)
        if label == "gamma with zeros":
            gamma[::2] = 0.0
        gamma, beta = gamma.astype(dtype), rng.normal(size=d).astype(dtype)
        dout = rng.normal(size=(n, d)).astype(dtype)
        extra = f", bn_param={bn_param}" if bn_param else ""
        cases.append((Case(f"{label}: {_shapes(x=x, gamma=gamma)}{extra}"), x, gamma, beta,
                      bn_param, dout))
    numbered([c[0] for c in cases])
    return cases


@_silently
def _bn_grad_mistakes(x, gamma, dout, eps) -> dict:
    n = x.shape[0]
    mu, var = x.mean(axis=0), x.var(axis=0)
    inv_std = 1 / np.sqrt(var + eps)
    xhat = (x - mu) * inv_std
    dxhat = dout * gamma

    def dx_from(g):
        return inv_std / n * (n * g - g.sum(axis=0) - xhat * np.sum(g * xhat, axis=0))

    order = "return the three gradients in this order: (dx, dgamma, dbeta)"
    return {
        "dbeta": [
            ("dbeta sums dout over the batch: dout.sum(axis=0), not over axis 1",
             dout.sum(axis=1)),
            ("dbeta sums dout over the batch (axis 0), it is not the mean", dout.mean(axis=0)),
            (order, np.sum(dout * xhat, axis=0)),
        ],
        "dgamma": [
            ("dgamma sums dout * xhat over the batch, np.sum(dout * xhat, axis=0): you summed "
             "over axis 1", np.sum(dout * xhat, axis=1)),
            ("dgamma = np.sum(dout * xhat, axis=0), with xhat the normalised x (you used x)",
             np.sum(dout * x, axis=0)),
            ("dgamma = np.sum(dout * xhat, axis=0): multiply dout by xhat", dout.sum(axis=0)),
            ("dgamma sums over the batch, it is not the mean", np.mean(dout * xhat, axis=0)),
            (order, dout.sum(axis=0)),
        ],
        "dx": [
            ("the gradient also flows through the batch's mean and variance, which depend on "
             "every row of x: dx = inv_std / N * (N * dxhat - sum(dxhat) - xhat * "
             "sum(dxhat * xhat)), sums over axis 0, dxhat = dout * gamma (you returned "
             "dxhat * inv_std alone)", dxhat * inv_std),
            ("the path through the variance is missing: the term - xhat * np.sum(dxhat * xhat, "
             "axis=0)", inv_std / n * (n * dxhat - dxhat.sum(axis=0))),
            ("the path through the mean is missing: the term - np.sum(dxhat, axis=0)",
             inv_std / n * (n * dxhat - xhat * np.sum(dxhat * xhat, axis=0))),
            ("start from dxhat = dout * gamma: gamma is missing in dx", dx_from(dout)),
            ("the batch's sums run over axis 0 (each feature over the rows), not axis 1",
             inv_std / n * (n * dxhat - dxhat.sum(axis=1, keepdims=True)
                            - xhat * np.sum(dxhat * xhat, axis=1, keepdims=True))),
            ("use 1 / np.sqrt(var + eps) with the population variance (ddof=0)",
             dx_from(dxhat) * np.sqrt(var + eps) / np.sqrt(x.var(axis=0, ddof=1) + eps)),
        ],
    }


def _bn_shape_hint(name: str, n: int, d: int) -> Callable:
    def hint(shape):
        if tuple(shape) == (n,):
            return (f"{name} has shape (D,) = ({d},): sum over the batch, axis 0; you summed "
                    "over axis 1")
        if tuple(shape) == (n, d):
            return f"{name} has shape (D,) = ({d},): sum over the batch, axis 0"
        if tuple(shape) in ((1, d), (d, 1)):
            return f"{name} has shape (D,) = ({d},): sum over axis 0 without keepdims"
        return None
    return hint


def _forward_for_backward(forward: Used, case: Case, x, gamma, beta, bn_param):
    """The cache of the student's forward pass on these inputs, once its ``out`` is right."""
    got = forward.call(case, x.copy(), gamma.copy(), beta.copy(), copy.deepcopy(bn_param),
                       names=BN_ARGS, mutation_ok=(3,))
    try:
        out, cache = _unpack(got, ("out", "cache"), case)
    except Failure as failure:
        raise Failure(f"your batchnorm_forward, which makes the cache for this check: "
                      f"{failure.what}", case=case,
                      hint="make batchnorm_forward pass its own check first") from None
    expected, _ = nnlib.batchnorm_forward(x, gamma, beta, copy.deepcopy(bn_param))
    rtol, atol = _tolerance(x)
    if not matches(out, expected, rtol=rtol, atol=atol):
        raise Failure("your batchnorm_forward returns a wrong `out` for this case, so its cache "
                      "cannot be trusted either", case=case,
                      hint="make batchnorm_forward pass its own check first (its test cell says "
                           "what is wrong)")
    return cache


@exercise("batchnorm_backward", uses=("batchnorm_forward",))
def check_batchnorm_backward(fn, hidden: bool, used: dict | None = None) -> None:
    """(dx, dgamma, dbeta) on the cache of the student's own batchnorm_forward, against
    nnlib.batchnorm_backward and central differences."""
    forward = Used.of("batchnorm_forward", used)
    with _noting(forward):
        for case, x, gamma, beta, bn_param, dout in _bn_backward_cases(hidden):
            cache = _forward_for_backward(forward, case, x, gamma, beta, bn_param)
            got = run(fn, case, dout, cache, names=["dout", "cache"])
            dx, dgamma, dbeta = _unpack(got, ("dx", "dgamma", "dbeta"), case)
            _, ref_cache = nnlib.batchnorm_forward(x, gamma, beta, copy.deepcopy(bn_param))
            e_dx, e_dgamma, e_dbeta = nnlib.batchnorm_backward(dout, ref_cache)
            rtol, atol = _tolerance(x)
            n, d = x.shape
            eps = bn_param.get("eps", 1e-5)
            wrong = _bn_grad_mistakes(x.astype(float), gamma.astype(float),
                                      dout.astype(float), eps)
            for name, value, expected in (("dbeta", dbeta, e_dbeta),
                                          ("dgamma", dgamma, e_dgamma), ("dx", dx, e_dx)):
                close(value, expected, case, what=name, rtol=rtol, atol=atol, batch=n,
                      mistakes=wrong[name], shape_hint=None if name == "dx"
                      else _bn_shape_hint(name, n, d))
            if x.dtype != np.float64 or n <= 2:  # with 2 rows, xhat is +-1 whatever x is: dx
                continue                          # is round-off, nothing to differentiate

            def forward_sum(x_=x, gamma_=gamma, beta_=beta):
                return float(np.sum(dout * nnlib.batchnorm_forward(
                    x_, gamma_, beta_, copy.deepcopy(bn_param))[0]))

            # A second opinion after the reference: central differences through a batch's
            # mean and variance are only good to ~1e-5 for some (salted) inputs, so 1e-4.
            _numeric_close(dx, lambda v: forward_sum(x_=v), x, case, what="dx", tol=1e-4)
            _numeric_close(dgamma, lambda v: forward_sum(gamma_=v), gamma, case, what="dgamma",
                           tol=1e-4)
            _numeric_close(dbeta, lambda v: forward_sum(beta_=v), beta, case, what="dbeta",
                           tol=1e-4)


# --- clip_by_global_norm ----------------------------------------------------------------------
def _clip_cases(hidden: bool) -> list[tuple[Case, dict, float]]:
    rng = case_rng(713)

    def grads(**shapes_and_scales):
        return {k: scale * rng.normal(size=shape) for k, (shape, scale) in
                shapes_and_scales.items()}

    specs = [
        ("norm above max_norm", grads(W=((3, 4), 2.0), b=((4,), 1.0)), 1.0),
        ("norm below max_norm: nothing to clip", grads(W=((2, 3), 1.0), b=((3,), 1.0)), 100.0),
        ("norm exactly max_norm (3, 4, 5): not clipped",
         {"a": np.array([3.0]), "b": np.array([[0.0, 4.0]])}, 5.0),
        ("arrays of very different norms", grads(W1=((4, 5), 3.0), b1=((5,), 0.01)), 2.0),
    ]
    if hidden:
        net = grads(W1=((6, 8), 1.0), b1=((8,), 0.1), W2=((8, 8), 0.5), b2=((8,), 0.1),
                    W3=((8, 3), 2.0), b3=((3,), 0.3))
        view = rng.normal(size=(6, 8))[::2, 1::2]
        specs += [
            ("a whole network's gradients", net, 3.0),
            ("float32 arrays", {k: v.astype(np.float32) for k, v in
                                grads(W=((5, 4), 3.0), b=((4,), 1.0)).items()}, 1.5),
            ("one array", grads(W=((7,), 5.0)), 0.5),
            ("3-D and 0-D arrays", {"k": 2.0 * rng.normal(size=(2, 3, 2)),
                                    "s": np.array(3.0)}, 1.0),
            ("every gradient zero (norm 0)", {"W": np.zeros((3, 3)), "b": np.zeros(3)}, 1.0),
            ("tiny max_norm", grads(W=((4, 4), 1.0)), 1e-3),
            ("large gradients ~1e8", grads(W=((3, 5), 1e8), b=((5,), 1e7)), 10.0),
            ("a non-contiguous view", {"W": view, "b": rng.normal(size=3)}, 0.7),
            ("norm just above max_norm", {"W": np.array([[3.0, 4.0]])}, 4.999),
        ]
    cases = [(Case(f"{label}: {_shapes(**g)}, max_norm={m}"), g, m) for label, g, m in specs]
    numbered([c[0] for c in cases])
    return cases


@_silently
def _clip_mistakes(grads: dict, max_norm: float) -> dict:
    norm = nnlib.global_norm(grads)
    scale = max_norm / norm if norm > max_norm else 1.0
    out = {}
    for key, g in grads.items():
        own = float(np.sqrt(np.sum(np.square(g, dtype=float))))
        squares = norm * norm
        out[key] = [
            ("the norm is the square root of the sum of squares: you scaled by max_norm / (sum "
             "of squares)", g * (max_norm / squares) if squares > max_norm else g),
            ("clip by the global norm: one norm over every array together and one scale "
             "max_norm / norm for all of them; you clipped each array by its own norm",
             g * (max_norm / own if own > max_norm else 1.0)),
            ("scale only when norm > max_norm: you scaled gradients up although their norm "
             "was below max_norm", g * (max_norm / norm) if norm else g),
            ("the scale is max_norm / norm (it shrinks the gradients), not norm / max_norm",
             g * (norm / max_norm if norm > max_norm else 1.0)),
            ("that clips each value (np.clip); scale every array by max_norm / norm instead, so "
             "the direction of the gradient stays", np.clip(g, -max_norm, max_norm)),
            ("when norm > max_norm, scale every array by max_norm / norm: you returned the "
             "gradients unchanged", g if scale != 1.0 else None),
        ]
        out[key] = [(h, v) for h, v in out[key] if v is not None]
    return out


@_silently
def _norm_mistakes(grads: dict, max_norm: float) -> list:
    squares = sum(float(np.sum(np.square(g, dtype=float))) for g in grads.values())
    norms = [float(np.sqrt(np.sum(np.square(g, dtype=float)))) for g in grads.values()]
    norm = math.sqrt(squares)
    entries = sum(np.size(g) for g in grads.values())
    return [
        ("the norm is the square root of the sum of squares: you returned the sum of squares",
         squares),
        ("the global norm is sqrt(sum of every array's sum of squares), not the sum of the "
         "arrays' norms", sum(norms)),
        ("return the norm before clipping (the one that decided whether to clip)",
         min(norm, max_norm)),
        ("the norm sums the squares of every entry, not their mean", math.sqrt(squares / entries)),
        ("the norm covers every array in grads, not only the first", norms[0]),
    ]


@exercise("clip_by_global_norm")
def check_clip_by_global_norm(fn, hidden: bool) -> None:
    """(clipped, norm) against nnlib.clip_by_global_norm; new arrays, inputs unchanged."""
    for case, grads, max_norm in _clip_cases(hidden):
        got = run(fn, case, grads, max_norm, names=["grads", "max_norm"])
        clipped, norm = _unpack(got, ("clipped", "norm"), case)
        expected, expected_norm = nnlib.clip_by_global_norm(grads, max_norm)
        if isinstance(clipped, (int, float, np.floating)) and isinstance(norm, dict):
            raise Failure("the first item you returned is a number and the second a dict",
                          case=case, hint="return them in this order: `return clipped, norm`")
        rtol, atol = _tolerance(*grads.values())
        atol = max(atol, 1e-12 * max(float(np.max(np.abs(g), initial=0)) for g in
                                     grads.values()))
        close_dict(clipped, expected, case, what="clipped", rtol=rtol, atol=atol,
                   mistakes=_clip_mistakes(grads, max_norm))
        close_scalar(norm, expected_norm, case, what="norm", rtol=rtol,
                     atol=1e-12 * expected_norm, mistakes=_norm_mistakes(grads, max_norm))
        if clipped is grads:
            raise Failure("you returned the dict you were given", case=case,
                          hint="return a new dict: {key: ... for key, g in grads.items()}")
        for key, g in grads.items():
            if isinstance(clipped[key], np.ndarray) and np.shares_memory(clipped[key], g):
                raise Failure(f"clipped[{key!r}] is the array grads[{key!r}] itself (or a view "
                              "of it)", case=case,
                              hint="return new arrays: a copy, np.array(g, copy=True), where "
                                   "nothing is clipped, so that changing the clipped gradients "
                                   "cannot change grads")


# --- warmup_cosine ----------------------------------------------------------------------------
@dataclass
class Schedule:
    case: Case
    total: int
    base: float
    warmup: int | None  # None: not passed (the default 0)
    min_lr: float | None  # None: not passed (the default 0.0)
    steps: list = field(default_factory=list)


def _schedule_cases(hidden: bool) -> list[Schedule]:
    def make(total, base, warmup, min_lr, steps=None, label=""):
        parts = [f"total_steps={total}", f"base_lr={base}"]
        parts += [f"warmup_steps={warmup}"] if warmup is not None else []
        parts += [f"min_lr={min_lr}"] if min_lr is not None else []
        what = "every step" if steps is None else f"steps {steps}"
        label = f"{label}: " if label else ""
        return Schedule(Case(f"{label}{', '.join(parts)}, {what}"), total, base, warmup, min_lr,
                        list(range(int(total))) if steps is None else steps)

    cases = [
        make(10, 0.1, 3, 0.0),
        make(8, 1.0, None, None, label="warmup_steps and min_lr not passed (defaults)"),
        make(12, 0.5, 4, 0.05),
    ]
    if hidden:
        cases += [
            make(1, 0.3, 0, 0.0, label="a single step"),
            make(2, 0.2, 1, 0.0),
            make(5, 0.4, 4, 0.1, label="warm-up until the last step"),
            make(1000, 3e-4, 100, 1e-5, steps=[0, 1, 50, 98, 99, 100, 101, 500, 998, 999]),
            make(np.int64(9), 2, np.int64(2), None, label="NumPy integers, an integer base_lr"),
            make(6, 0.05, 0, 0.05, label="min_lr == base_lr"),
            make(30, 0.01, 10, 1e-4),
        ]
    numbered([c.case for c in cases])
    return cases


def _schedule_args(s: Schedule, step) -> tuple:
    args = (step, s.total, s.base)
    if s.warmup is not None or s.min_lr is not None:
        args += (0 if s.warmup is None else s.warmup,)
    if s.min_lr is not None:
        args += (s.min_lr,)
    return args


@_silently
def _schedule_mistakes(s: Schedule) -> list:
    total, base = int(s.total), float(s.base)
    w, lo = int(s.warmup or 0), float(s.min_lr or 0.0)
    steps = np.array(s.steps, dtype=float)

    def cosine(p, lo=lo):
        return lo + 0.5 * (base - lo) * (1 + np.cos(np.pi * p))

    p = (steps - w) / max(1, total - 1 - w)
    warm = steps < w
    return [
        ("warm-up off by one: the first step (step 0) already gets base_lr * 1 / warmup_steps, "
         "so use (step + 1), and step warmup_steps - 1 reaches base_lr",
         np.where(warm, base * steps / max(w, 1), cosine(p))),
        ("warm-up off by one: step warmup_steps - 1 reaches base_lr with "
         "base_lr * (step + 1) / warmup_steps", np.where(warm, base * (steps + 1) / (w + 1),
                                                         cosine(p))),
        ("the cosine reaches min_lr at the last step, total_steps - 1: p = (step - "
         "warmup_steps) / max(1, total_steps - 1 - warmup_steps)",
         np.where(warm, base * (steps + 1) / max(w, 1), cosine((steps - w) / max(1, total - w)))),
        ("the cosine starts after the warm-up: p = (step - warmup_steps) / max(1, total_steps - "
         "1 - warmup_steps)", np.where(warm, base * (steps + 1) / max(w, 1),
                                       cosine(steps / max(1, total - 1)))),
        ("the cosine ends at min_lr: min_lr + 0.5 * (base_lr - min_lr) * (1 + cos(pi * p)); "
         "you left min_lr out", np.where(warm, base * (steps + 1) / max(w, 1), cosine(p, 0.0))),
        ("the angle is pi * p: cos(pi * p), not cos(p)",
         np.where(warm, base * (steps + 1) / max(w, 1), lo + 0.5 * (base - lo) * (1 + np.cos(p)))),
        ("the warm-up rises from 0 to base_lr: base_lr * (step + 1) / warmup_steps (not from "
         "min_lr)", np.where(warm, lo + (base - lo) * (steps + 1) / max(w, 1), cosine(p))),
    ]


@exercise("warmup_cosine")
def check_warmup_cosine(fn, hidden: bool) -> None:
    """The learning rate at every step of a schedule, against nnlib.warmup_cosine."""
    for s in _schedule_cases(hidden):
        got = []
        for step in s.steps:
            value = run(fn, s.case, *_schedule_args(s, step))
            what = f"the learning rate at step {step}"
            if value is None:
                raise Failure(f"{what} is None", case=s.case, hint=_NO_RETURN)
            got.append(as_float(value, s.case, what))
        expected = [nnlib.warmup_cosine(int(step), int(s.total), float(s.base), int(s.warmup or 0),
                                        float(s.min_lr or 0.0)) for step in s.steps]
        got, expected = np.array(got), np.array(expected)
        bad = ~np.isfinite(got)
        if bad.any():
            step = s.steps[int(np.argmax(bad))]
            raise Failure(f"the learning rate at step {step} is {got[bad][0]}", case=s.case,
                          hint="divide by max(1, total_steps - 1 - warmup_steps): after a "
                               "warm-up until the last step that difference is 0")
        if np.allclose(got, expected, rtol=1e-9, atol=1e-15 * float(s.base)):
            continue
        i = int(np.argmax(np.abs(got - expected)))
        hint = next((h for h, v in _schedule_mistakes(s) if matches(got, v, rtol=1e-9,
                                                                     atol=1e-15)), None)
        raise Failure(f"the learning rate at step {s.steps[i]}: expected {expected[i]:.7g}, got "
                      f"{got[i]:.7g}", case=s.case, hint=hint)


# --- adamw ------------------------------------------------------------------------------------
@_silently
def _adamw_mistakes(w, dw, c):
    lr, wd, eps = c["learning_rate"], c["weight_decay"], c["epsilon"]
    _, _, _, mh, vh = _adam_parts(dw, c)
    adam_w = w - lr * mh / (np.sqrt(vh) + eps)
    _, _, _, mh2, vh2 = _adam_parts(dw + wd * w, c)
    decay = lr * wd * w
    return [
        ("the weight decay is missing from the step: next_w = w - learning_rate * (m_hat / "
         "(sqrt(v_hat) + epsilon) + weight_decay * w). Adding weight_decay * w to the gradient "
         "instead (L2 regularisation) does not do it: Adam divides it by sqrt(v_hat), and at "
         "the first step every coordinate moves by learning_rate whatever the decay", adam_w),
        ("AdamW decays the weights in the step itself, next_w = w - learning_rate * (m_hat / "
         "(sqrt(v_hat) + epsilon) + weight_decay * w); you added weight_decay * w to the "
         "gradient, which is L2 regularisation (Adam then divides it by sqrt(v_hat))",
         w - lr * mh2 / (np.sqrt(vh2) + eps)),
        ("multiply the decay by the learning rate too: - learning_rate * weight_decay * w",
         adam_w - wd * w),
        ("decay the weights you were given, weight_decay * w, not the weights after Adam's step",
         adam_w - lr * wd * adam_w),
        ("subtract the decay: next_w = w - learning_rate * (... + weight_decay * w)",
         adam_w + decay),
        (_use_default("weight_decay", 1e-2), adam_w - lr * 1e-2 * w),
    ] + [(hint, value - decay) for hint, value in _adam_mistakes(w, dw, c)]


ADAMW = Rule(
    reference=nnlib.adamw,
    defaults={"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8,
              "weight_decay": 1e-2},
    zero_state=lambda w: {"m": np.zeros(np.shape(w)), "v": np.zeros(np.shape(w)), "t": 0},
    missing_state={"m": "store the first moment m in config['m'] so that the next step "
                        "continues from it",
                   "v": "store the second moment v in config['v'] so that the next step "
                        "continues from it",
                   "t": "store the step count t in config['t'] so that the next step "
                        "continues from it"},
    mistakes=_adamw_mistakes, state_mistakes=_adam_state_mistakes,
    partial={"weight_decay": 0.1},
    custom={"learning_rate": 0.1, "beta1": 0.5, "beta2": 0.75, "epsilon": 1e-4,
            "weight_decay": 0.5},
    nonfinite_hint=_adam_nonfinite, epsilon=True,
    resume=lambda rng, shape: {"m": 0.1 * rng.normal(size=shape),
                               "v": rng.uniform(0.01, 1.0, size=shape), "t": 3})
register_rule("adamw", ADAMW)


# --- mlp_loss ---------------------------------------------------------------------------------
MLP_ARGS = ["params", "X", "y", "bn_params"]


@dataclass
class NetCase:
    case: Case
    params: dict
    X: np.ndarray
    y: np.ndarray
    bn_params: list | None
    pass_bn_params: bool


def _net_params(rng, sizes, bn_layers, dtype):
    params = {}
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        params[f"W{i}"] = rng.normal(size=(fan_in, fan_out)) * 1.2 / math.sqrt(fan_in)
        params[f"b{i}"] = rng.normal(size=fan_out) * 0.5
        if i in bn_layers:
            params[f"gamma{i}"] = rng.uniform(0.5, 1.5, size=fan_out)
            params[f"beta{i}"] = rng.normal(size=fan_out) * 0.5
    return {k: v.astype(dtype) for k, v in params.items()}


def _away_from_kinks(params, X) -> bool:
    """Every ReLU input clear of 0 (numeric gradients are exact enough), some negative."""
    pre = deep_mlp.hidden_activations(params, X, None, before_relu=True)
    return all(np.all(np.abs(h) > 1e-2) and np.any(h < 0) for h in pre)


def _mlp_cases(hidden: bool) -> list[NetCase]:
    rng = case_rng(716)
    specs = [
        ("two layers, no batch norm, bn_params not passed", [4, 6, 3], set(), 5, "absent"),
        ("three layers, batch norm on both hidden layers, bn_params not passed", [5, 6, 4, 3],
         {1, 2}, 8, "absent"),
        ("four layers, batch norm on layer 2 only, bn_params with running statistics and "
         "momentum=0.5", [4, 5, 6, 5, 3], {2}, 7, "stats"),
    ]
    if hidden:
        specs += [
            ("one layer (no hidden layer), bn_params=None", [6, 4], set(), 5, "none"),
            ("six layers, batch norm everywhere, bn_params = L - 1 empty dicts",
             [4, 5, 5, 5, 5, 5, 3], {1, 2, 3, 4, 5}, 10, "empty"),
            ("a batch of 1, no batch norm", [3, 5, 4, 2], set(), 1, "none"),
            ("float32, batch norm on both hidden layers", [4, 6, 5, 3], {1, 2}, 8, "empty"),
            ("five layers, no batch norm", [6, 10, 8, 8, 4], set(), 12, "absent"),
            ("batch norm on layer 1 only, eps=1e-2 in bn_params", [4, 6, 5, 3], {1}, 9, "eps"),
            ("batch norm on layers 1 and 3, bn_params with running statistics",
             [3, 6, 6, 6, 4], {1, 3}, 11, "stats"),
        ]
    cases = []
    for label, sizes, bn_layers, n, kind in specs:
        dtype = np.float32 if label.startswith("float32") else np.float64
        for _ in range(200):
            X = rng.normal(size=(n, sizes[0]))
            params = _net_params(rng, sizes, bn_layers, np.float64)
            if _away_from_kinks(params, X) or len(sizes) == 2:
                break
        params = {k: v.astype(dtype) for k, v in params.items()}
        y = rng.integers(0, sizes[-1], size=n)
        L = len(sizes) - 1
        bn_params = None
        if kind == "empty":
            bn_params = [{} for _ in range(L - 1)]
        elif kind == "eps":
            bn_params = [{"eps": 1e-2} for _ in range(L - 1)]
        elif kind == "stats":
            bn_params = [{"momentum": 0.5, "running_mean": rng.normal(size=sizes[i]),
                          "running_var": rng.uniform(0.5, 2.0, size=sizes[i])}
                         if i in bn_layers else {} for i in range(1, L)]
        shape = " - ".join(map(str, sizes))
        where = f"network {shape}, X ({n}, {sizes[0]})"
        where += " float32" if dtype == np.float32 else ""
        cases.append(NetCase(Case(f"{label}; {where}"), params, X.astype(dtype), y, bn_params,
                             kind != "absent"))
    numbered([c.case for c in cases])
    return cases


def _without_bn(params: dict) -> dict:
    return {k: v for k, v in params.items() if not k.startswith(("gamma", "beta"))}


@_silently
def _variant_loss(params: dict, X, y, kind: str) -> float:
    """The loss of a network built in a known wrong way: ReLU on the scores ("relu_last"), or
    batch norm after the ReLU ("bn_after_relu")."""
    L = sum(1 for k in params if k.startswith("W"))
    h = X
    for i in range(1, L):
        h = h @ params[f"W{i}"] + params[f"b{i}"]
        bn = f"gamma{i}" in params and f"beta{i}" in params
        if bn and kind != "bn_after_relu":
            h, _ = nnlib.batchnorm_forward(h, params[f"gamma{i}"], params[f"beta{i}"], {})
        h = np.maximum(h, 0)
        if bn and kind == "bn_after_relu":
            h, _ = nnlib.batchnorm_forward(h, params[f"gamma{i}"], params[f"beta{i}"], {})
    scores = h @ params[f"W{L}"] + params[f"b{L}"]
    if kind == "relu_last":
        scores = np.maximum(scores, 0)
    return nnlib.cross_entropy_loss(scores, y)


def _mlp_loss_mistakes(params: dict, X, y) -> list:
    has_bn = any(k.startswith("gamma") for k in params)
    found = [("the last layer has no ReLU: its affine output is the scores",
              lambda: _variant_loss(params, X, y, "relu_last"))]
    if "W3" in params:
        first_two = {k: params[k] for k in ("W1", "b1", "W2", "b2")}
        found.append(("mlp_loss works for any depth: count the layers, L = number of W keys, "
                      "and loop over layers 1 .. L (you used only the first two)",
                      lambda: _silently(nnlib.two_layer_net)(first_two, X, y)[0]))
    if has_bn:
        found += [
            ("batch-normalise layer i when gamma{i} and beta{i} are in params: affine, then "
             "batch norm, then ReLU", lambda: nnlib.mlp_loss(_without_bn(params), X, y)[0]),
            ("the order in a hidden layer is affine, batch norm, ReLU (you normalised after the "
             "ReLU)", lambda: _variant_loss(params, X, y, "bn_after_relu")),
        ]
    return found


def _mlp_grad_mistakes(params: dict, X, y) -> dict:
    if not any(k.startswith("gamma") for k in params):
        return {}
    plain = _silently(nnlib.mlp_loss)(_without_bn(params), X, y)[1]
    hint = ("batch-normalise layer i when gamma{i} and beta{i} are in params (affine, batch "
            "norm, ReLU), in the backward pass too")
    return {k: [(hint, v)] for k, v in plain.items()}


def _backward_order(params: dict) -> list[str]:
    """Keys in the order a backward pass finds their gradients: the last layer first."""
    L = sum(1 for k in params if k.startswith("W"))
    order = [f"W{L}", f"b{L}"]
    for i in range(L - 1, 0, -1):
        order += [k for k in (f"gamma{i}", f"beta{i}") if k in params] + [f"W{i}", f"b{i}"]
    return order + [k for k in params if k not in order]


def _mlp_exception_hint(what: str) -> str | None:
    if "NoneType" in what and ("subscript" in what or "not iterable" in what
                               or "attribute" in what):
        return ("bn_params may be None: then use a fresh dict for every hidden layer, e.g. "
                "`bn_params = [{} for _ in range(L - 1)]`")
    if "KeyError" in what and ("gamma" in what or "beta" in what):
        return ("batch norm only where gamma{i} and beta{i} are in params: test "
                "`f'gamma{i}' in params`")
    if "KeyError" in what and ("'W" in what or "'b" in what):
        return ("the depth L is the number of W keys, `L = sum(key.startswith('W') for key in "
                "params)`: loop over layers 1 .. L")
    return None


def _check_grads_keys(grads, params: dict, case: Case) -> None:
    if not isinstance(grads, dict):
        raise Failure(f"grads has type {type(grads).__name__}; expected a dict with the keys "
                      "of params", case=case, hint="return the loss first, then the grads: "
                                                  "`return loss, grads`")
    missing = [k for k in params if k not in grads]
    if missing:
        hint = ("grads has every key of params: the gradients of gamma{i} and beta{i} too"
                if all(k.startswith(("gamma", "beta")) for k in missing) else
                "grads has every key of params: one gradient per layer, for all L layers")
        raise Failure(f"grads has no {', '.join(map(repr, missing))} (its keys: "
                      f"{_keys(grads)})", case=case, hint=hint)


def _check_bn_params_after(got: list, before: list, expected: list, params: dict, case: Case,
                           rtol: float, atol: float) -> None:
    if not isinstance(got, list) or len(got) != len(expected):
        raise Failure(f"bn_params came back as {type(got).__name__} of "
                      f"{len(got) if hasattr(got, '__len__') else '?'} items; it should still be "
                      f"the list of {len(expected)} dicts", case=case,
                      hint="update the dicts in bn_params, do not replace or resize the list")
    for j, (mine, was, exp) in enumerate(zip(got, before, expected)):
        layer = j + 1
        what = f"bn_params[{j}] (layer {layer})"
        if not isinstance(mine, dict):
            raise Failure(f"{what} is no longer a dict", case=case,
                          hint="update the dicts in bn_params, do not replace them")
        if not deep_mlp.has_batchnorm(params, layer):
            if not _same_dict(mine, was):
                raise Failure(f"{what} changed although layer {layer} has no batch norm",
                              case=case, hint="layer i's batch norm uses bn_params[i - 1]: "
                                              "bn_params[0] belongs to layer 1")
            continue
        for key in ("running_mean", "running_var"):
            if key not in mine or _same_value(mine[key], was.get(key, 0 * exp[key])):
                raise Failure(f"{what}['{key}'] was not updated", case=case,
                              hint="run layer i's batch norm in training mode with "
                                   "bn_params[i - 1], the dict of that layer, so that its "
                                   "running statistics are updated (bn_params[0] belongs to "
                                   "layer 1)")
            close(mine[key], exp[key], case, what=f"{what}['{key}']", rtol=rtol, atol=atol)


def _same_dict(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(_same_value(a[k], b[k]) for k in a)


@exercise("mlp_loss")
def check_mlp_loss(fn, hidden: bool) -> None:
    """(loss, grads) for networks of any depth with and without batch norm, and the running
    statistics in bn_params, against nnlib.mlp_loss and central differences."""
    for net in _mlp_cases(hidden):
        case, params, X, y = net.case, net.params, net.X, net.y
        mine = copy.deepcopy(net.bn_params)
        args = (params, X, y, mine) if net.pass_bn_params else (params, X, y)
        try:
            got = run(fn, case, *args, mutation_ok=(3,), names=MLP_ARGS)
        except Failure as failure:
            failure.hint = _mlp_exception_hint(failure.what) or failure.hint
            raise
        loss, grads = _unpack(got, ("loss", "grads"), case)
        if isinstance(loss, dict):
            raise Failure("the first item you returned is a dict", case=case,
                          hint="return the loss first, then the grads: `return loss, grads`")
        expected_bn = copy.deepcopy(net.bn_params)
        ref_loss, ref_grads = nnlib.mlp_loss(params, X, y, expected_bn)
        rtol, atol = _tolerance(X)
        n = X.shape[0]
        close_scalar(loss, ref_loss, case, what="the loss", rtol=rtol, atol=atol, batch=n,
                     mistakes=_mlp_loss_mistakes(params, X, y))
        _check_grads_keys(grads, params, case)
        ordered = {k: ref_grads[k] for k in _backward_order(params)}
        close_dict(grads, ordered, case, what="grads", rtol=rtol, atol=max(atol, 1e-9), batch=n,
                   mistakes=_mlp_grad_mistakes(params, X, y))
        if net.bn_params is not None:
            _check_bn_params_after(mine, net.bn_params, expected_bn, params, case, rtol, atol)
        if X.dtype != np.float64:
            continue
        for key in ordered:
            if key[0] == "b" and key[1:].isdigit() and deep_mlp.has_batchnorm(params, int(key[1:])):
                continue  # batch norm subtracts the mean: this gradient is 0, numerically noise

            def loss_of(v, key=key):
                return nnlib.mlp_loss({**params, key: v}, X, y, copy.deepcopy(net.bn_params))[0]
            _numeric_close(grads[key], loss_of, params[key], case, what=f"grads[{key!r}]")


# --- train_epoch ------------------------------------------------------------------------------
EPOCH_ARGS = ["params", "configs", "X", "y", "update_rule", "batch_size", "rng", "max_norm"]


@dataclass
class EpochCase:
    case: Case
    params: dict
    configs: dict
    X: np.ndarray
    y: np.ndarray
    rule: Callable
    batch_size: int
    seed: int
    max_norm: float | None
    epochs: int = 1


def _epoch_cases(hidden: bool) -> list[EpochCase]:
    rng = case_rng(717)

    def make(label, sizes, n, batch_size, rule, configs, max_norm=None, epochs=1,
             dtype=np.float64):
        params = {k: v.astype(dtype) for k, v in
                  nnlib.init_mlp(sizes, rng, init="he").items()}
        params = {k: v + (0.1 * rng.normal(size=v.shape)).astype(dtype) if k[0] == "b" else v
                  for k, v in params.items()}
        X = rng.normal(size=(n, sizes[0])).astype(dtype)
        y = rng.integers(0, sizes[-1], size=n)
        configs = configs(params) if callable(configs) else configs
        seed = int(rng.integers(1000, 10**6))
        where = (f"network {' - '.join(map(str, sizes))}, {n} rows in batches of {batch_size}, "
                 f"update_rule=nnlib.{rule.__name__}, max_norm={max_norm}")
        return EpochCase(Case(f"{label}; {where}" + (", float32" if dtype == np.float32 else "")),
                         params, configs, X, y, rule, batch_size, seed, max_norm, epochs)

    cases = [
        make("configs with learning_rate=0.1 for every key", [4, 5, 3], 10, 4, nnlib.sgd,
             lambda p: {k: {"learning_rate": 0.1} for k in p}),
        make("configs for the weights only (the biases have none), clipping at max_norm=0.5",
             [4, 6, 5, 3], 12, 5, nnlib.sgd_momentum,
             lambda p: {k: {"learning_rate": 0.05, "momentum": 0.9} for k in p if k[0] == "W"},
             max_norm=0.5),
        make("configs={} (every key missing), two epochs with the same rng", [5, 6, 3], 9, 3,
             nnlib.adam, {}, epochs=2),
    ]
    if hidden:
        cases += [
            make("one batch (batch_size > N)", [3, 4, 2], 6, 10, nnlib.sgd,
                 lambda p: {k: {"learning_rate": 0.2} for k in p}),
            make("batch_size 1, clipping at max_norm=0.1 every step", [3, 5, 3], 5, 1,
                 nnlib.sgd_momentum, lambda p: {k: {"learning_rate": 0.1} for k in p},
                 max_norm=0.1),
            make("three epochs, a velocity stored in configs from before", [4, 6, 3], 8, 3,
                 nnlib.sgd_momentum,
                 lambda p: {k: {"learning_rate": 0.05, "velocity": 0.01 * np.ones_like(v)}
                            for k, v in p.items()}, epochs=3),
            make("a deeper network, max_norm=5 (rarely clipping)", [6, 8, 8, 8, 4], 16, 4,
                 nnlib.adam, lambda p: {k: {"learning_rate": 0.01} for k in p}, max_norm=5.0),
            make("adam", [4, 6, 3], 10, 4, nnlib.adam,
                 lambda p: {k: {"learning_rate": 0.01} for k in p}, dtype=np.float32),
            make("two epochs, clipping at max_norm=1", [5, 7, 4], 11, 4, nnlib.sgd_momentum,
                 lambda p: {k: {"learning_rate": 0.1, "momentum": 0.5} for k in p},
                 max_norm=1.0, epochs=2),
        ]
    numbered([c.case for c in cases])
    return cases


def _through(used: Used, case: Case, names) -> Callable:
    """The student's function (or nnlib's stand-in) as a plain callable, each call a ``run``."""
    def call(*args):
        return used.call(case, *args, names=names)
    return call


def _loss_checked(loss_fn: Callable, case: Case) -> Callable:
    """``loss_fn`` whose every result is checked to be ``(number, dict)``: the expected epoch
    is computed with the student's mlp_loss, which must at least return that."""
    def call(params, X, y):
        got = loss_fn(params, X, y)
        if (not isinstance(got, (tuple, list)) or len(got) != 2
                or not isinstance(got[1], dict) or any(k not in got[1] for k in params)):
            raise Failure("your mlp_loss, which train_epoch uses, does not return (loss, grads) "
                          "with a gradient for every key of params", case=case,
                          hint="make mlp_loss pass its own check first")
        return as_float(got[0], case, "the loss of your mlp_loss"), got[1]
    return call


def _clip_checked(clip_fn: Callable, case: Case) -> Callable:
    def call(grads, max_norm):
        got = clip_fn(grads, max_norm)
        if not isinstance(got, (tuple, list)) or len(got) != 2 or not isinstance(got[0], dict):
            raise Failure("your clip_by_global_norm, which train_epoch uses, does not return "
                          "(clipped, norm)", case=case,
                          hint="make clip_by_global_norm pass its own check first")
        return got
    return call


def _wrong_epoch(kind: str, params: dict, configs: dict, X, y, rule, batch_size, rng,
                 max_norm, loss_fn, clip_fn):
    """An epoch run with a known mistake in the loop (the params it ends with)."""
    params = dict(params)
    for X_batch, y_batch in nnlib.iterate_minibatches(X, y, batch_size, rng):
        _, grads = loss_fn(params, X_batch, y_batch)
        if max_norm is not None:
            grads, _ = clip_fn(grads, max_norm)
        for key in params:
            if kind == "no_config":
                params[key], _ = rule(params[key], grads[key])
            else:  # "not_stored": every step starts again from the configs given
                given = configs.get(key)
                params[key], _ = rule(params[key], grads[key],
                                      None if given is None else copy.deepcopy(given))
    return params


def _epoch_mistakes(ec: EpochCase, params, configs, rng_state, first_state, loss_fn, clip_fn,
                    uses_own_loss: bool) -> list:
    """(hint, zero-argument function giving the params of a wrong loop)."""

    def rng_at(state):
        if state is None:
            return None
        gen = np.random.default_rng()
        gen.bit_generator.state = state
        return gen

    def epoch(**changes):
        kw = dict(params=params, configs=configs, X=ec.X, y=ec.y, update_rule=ec.rule,
                  batch_size=ec.batch_size, rng=rng_at(rng_state), max_norm=ec.max_norm)
        kw.update(changes)
        fns = dict(loss_fn=kw.pop("loss_fn", loss_fn), clip_fn=clip_fn)
        return _silently(run_epoch)(kw.pop("params"), kw.pop("configs"), kw.pop("X"),
                                    kw.pop("y"), kw.pop("update_rule"), kw.pop("batch_size"),
                                    kw.pop("rng"), kw.pop("max_norm"), **fns)[0]

    def wrong(kind):
        return _silently(_wrong_epoch)(kind, params, configs, ec.X, ec.y, ec.rule,
                                       ec.batch_size, rng_at(rng_state), ec.max_norm, loss_fn,
                                       clip_fn)

    found = [
        ("you went through the batches in order: iterate_minibatches(X, y, batch_size, rng) "
         "with the rng, so that every epoch shuffles the rows anew", lambda: epoch(rng=None)),
    ]
    if first_state is not None and first_state != rng_state:
        found.append(("this epoch used the same batch order as the first one: draw the order "
                      "from the rng you are given (not a copy of it or a generator of your "
                      "own), so that it advances from epoch to epoch",
                      lambda: epoch(rng=rng_at(first_state))))
    if ec.max_norm is not None:
        found.append(("clip the gradients when max_norm is not None: `grads, _ = "
                      "clip_by_global_norm(grads, max_norm)` before the updates",
                      lambda: epoch(max_norm=None)))
    found += [
        ("pass each parameter's config to the update rule: update_rule(params[key], "
         "grads[key], c) with c a copy of configs[key]; without it every step uses the "
         "defaults and no state", lambda: wrong("no_config")),
        ("store the config that update_rule returns, `params[key], configs[key] = "
         "update_rule(...)`, and pass it to the next step: you started every step from the "
         "configs you were given, so no state (velocity, m, v) carried over",
         lambda: wrong("not_stored")),
    ]
    if uses_own_loss:
        found.append(("train_epoch must call your own mlp_loss (the notebook's), not "
                      "nnlib.mlp_loss", lambda: epoch(loss_fn=nnlib.mlp_loss)))
    return found


def _same_config(got, expected) -> bool:
    if not isinstance(got, dict) or got.keys() != expected.keys():
        return False
    for key, value in expected.items():
        if isinstance(value, np.ndarray) or isinstance(got[key], np.ndarray):
            if not matches(got[key], value, rtol=1e-4 if np.asarray(value).dtype == np.float32
                           else 1e-6, atol=1e-9):
                return False
        elif not _same_value(got[key], value):
            return False
    return True


def _check_epoch_result(got, ec: EpochCase, exp_params, exp_configs, exp_losses, mistakes,
                        prefix: str, rng_moved: bool, rng_right: bool):
    case = ec.case
    params, configs, losses = _unpack(got, ("params", "configs", "losses"), case)
    if not isinstance(params, dict):
        raise Failure(f"{prefix}the params returned have type {type(params).__name__}; "
                      "expected a dict", case=case,
                      hint="return (params, configs, losses) in this order")
    rtol, atol = _tolerance(ec.X)
    try:
        close_dict(params, exp_params, case, what=f"{prefix}params", rtol=rtol, atol=atol)
    except Failure as failure:
        same_keys = params.keys() == exp_params.keys()
        hint = next((h for h, variant in mistakes if same_keys and all(
            matches(params[k], v, rtol=rtol, atol=atol) for k, v in variant().items())), None)
        if hint is None and not rng_moved:
            hint = ("the batches must come from the rng you are given: iterate_minibatches(X, "
                    "y, batch_size, rng); a generator made inside train_epoch (e.g. "
                    "np.random.default_rng(0)) gives the same batch order every epoch")
        failure.what, failure.hint = prefix + failure.what.removeprefix(prefix), \
            hint or failure.hint
        raise failure from None
    got_losses = _number_list(losses, case, f"{prefix}losses")
    if got_losses.shape != (len(exp_losses),):
        raise Failure(f"{prefix}losses has shape {got_losses.shape}; expected one loss per "
                      f"batch, {len(exp_losses)} in this epoch", case=case,
                      hint="append the loss of every batch to a list and return the list")
    close(got_losses, np.array(exp_losses), case, what=f"{prefix}losses", rtol=rtol, atol=atol)
    if not isinstance(configs, dict):
        raise Failure(f"{prefix}the configs returned have type {type(configs).__name__}; "
                      "expected a dict", case=case,
                      hint="return (params, configs, losses) in this order")
    for key, expected in exp_configs.items():
        if key not in configs:
            raise Failure(f"{prefix}the configs returned have no key {key!r} (its keys: "
                          f"{_keys(configs)})", case=case,
                          hint="store the config update_rule returns for every key: "
                               "`params[key], configs[key] = update_rule(...)`")
        if not _same_config(configs[key], expected):
            kept = configs[key]
            raise Failure(f"{prefix}configs[{key!r}] is not the config the last update "
                          f"returned: expected keys {_keys(expected)}, got "
                          f"{_keys(kept) if isinstance(kept, dict) else repr(kept)}",
                          case=case, hint="store the config update_rule returns: "
                                          "`params[key], configs[key] = update_rule(...)`, and "
                                          "return those configs")
    if not rng_right:
        raise Failure(f"{prefix}the epoch is right, but the rng you were given did not advance "
                      "as iterate_minibatches(X, y, batch_size, rng) advances it", case=case,
                      hint="draw the batch order from that rng itself (not a copy of it): "
                           "otherwise every epoch of a training run reuses the same batch "
                           "order")


@exercise("train_epoch", uses=("mlp_loss", "clip_by_global_norm"))
def check_train_epoch(fn, hidden: bool, used: dict | None = None) -> None:
    """Epochs of the student's loop against nnlib's loop with the student's own mlp_loss and
    clip_by_global_norm; inputs unchanged, the rng advanced by one permutation per epoch."""
    mlp = Used.of("mlp_loss", used)
    clip = Used.of("clip_by_global_norm", used)
    with _noting(mlp, clip):
        for ec in _epoch_cases(hidden):
            loss_fn = _loss_checked(_through(mlp, ec.case, MLP_ARGS[:3]), ec.case)
            clip_fn = _clip_checked(_through(clip, ec.case, ["grads", "max_norm"]), ec.case)
            rng = np.random.default_rng(ec.seed)
            first_state = rng.bit_generator.state
            params, configs = ec.params, ec.configs
            for epoch in range(1, ec.epochs + 1):
                prefix = f"epoch {epoch}: " if ec.epochs > 1 else ""
                start = copy.deepcopy(rng.bit_generator.state)
                reference_rng = np.random.default_rng()
                reference_rng.bit_generator.state = start
                exp_params, exp_configs, exp_losses = run_epoch(
                    params, configs, ec.X, ec.y, ec.rule, ec.batch_size, reference_rng,
                    ec.max_norm, loss_fn=loss_fn, clip_fn=clip_fn)
                try:
                    got = run(fn, ec.case, params, configs, ec.X, ec.y, ec.rule,
                              ec.batch_size, rng, ec.max_norm, mutation_ok=(6,),
                              names=EPOCH_ARGS)
                except Failure as failure:
                    failure.what = prefix + failure.what
                    failure.hint = _epoch_exception_hint(failure.what) or failure.hint
                    raise
                mistakes = _epoch_mistakes(ec, params, configs, start,
                                           first_state if epoch > 1 else None, loss_fn,
                                           clip_fn, mlp.own)
                _check_epoch_result(got, ec, exp_params, exp_configs, exp_losses, mistakes,
                                    prefix, rng.bit_generator.state != start,
                                    rng.bit_generator.state == reference_rng.bit_generator.state)
                params, configs = exp_params, exp_configs


def _epoch_exception_hint(what: str) -> str | None:
    if "modified its input `configs`" in what:
        return ("pass a copy of each config to the update rule, "
                "update_rule(params[key], grads[key], dict(configs[key])): update rules change "
                "the dict they are given, and the caller's configs must stay as they were")
    if "modified its input `params`" in what:
        return ("build new dicts, `params = dict(params)` (and the same for configs) before "
                "the loop: the caller's params must stay as they were")
    if "KeyError" in what:
        return ("configs may have no entry for a key: use `configs.get(key)` (None gives the "
                "update rule's defaults)")
    if "tuple" in what and ("indices" in what or "attribute" in what or "subscript" in what):
        return ("clip_by_global_norm returns a pair: `grads, _ = clip_by_global_norm(grads, "
                "max_norm)`")
    if "NoneType" in what or "'>' not supported" in what or "'<' not supported" in what:
        return "clip only when max_norm is not None: `if max_norm is not None: ...`"
    return None
