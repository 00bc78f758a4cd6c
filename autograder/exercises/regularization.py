"""Checks for notebook 05: dropout_forward, dropout_backward, l2_penalty, early_stopping,
shift_image, random_shift.

Every check compares the candidate with ``nnlib``'s reference on seeded inputs. A random
exercise is replayed with an identically seeded generator (dropout's mask is fixed by the
contract); ``random_shift`` leaves its draw order open, so it is checked by properties: every
output image is its input shifted within range, shifts differ between images, every shift is
reachable and roughly uniform, and the result depends on ``rng`` only. Hidden cases include
float32 inputs (a float32 network), which may be computed in float32 and are compared with
float32's tolerances.
"""

from __future__ import annotations

import itertools
import numbers

import numpy as np

import nnlib

from ..compare import as_array, close, close_scalar, matches, unpack
from ..core import Case, Failure, case_rng, exercise, numbered, run

# --- shared helpers ---------------------------------------------------------------------------


def _floats(got, shape: tuple) -> np.ndarray | None:
    """``got`` as a float array of ``shape``, or None when it is not one (for hint heuristics)."""
    try:
        arr = np.asarray(got)
        if arr.dtype.kind not in "biuf":
            return None
        arr = arr.astype(float)
    except Exception:
        return None
    return arr if arr.shape == shape else None


def _array(got, case: Case, what: str) -> np.ndarray:
    """``as_array``, and a Failure (not a crash) for a ragged list such as [array(2), array(3)]."""
    if isinstance(got, list):
        try:
            got = np.asarray(got)
        except (ValueError, TypeError):
            raise Failure(f"{what} is a list that is not a rectangular array of numbers",
                          case=case, hint="return a NumPy array") from None
    return as_array(got, case, what)


def _compare(got, expected, case: Case, *, what: str, mistakes=(), explain=None,
             scalar: bool = False, **tolerances):
    """``close`` (or ``close_scalar``), and when no listed mistake matches, ``explain(got)``.

    ``explain`` names a mistake by a property of the answer (a str, or None when it sees none);
    its hint replaces the generic one. It must tolerate any ``got``.
    """
    mistakes = list(mistakes)
    compare = close_scalar if scalar else close
    if not scalar:
        got = _array(got, case, what)
    try:
        return compare(got, expected, case, what=what, mistakes=mistakes, **tolerances)
    except Failure as failure:
        if explain is not None and not any(matches(got, value) for _, value in mistakes):
            try:
                hint = explain(got)
            except Exception:
                hint = None
            if hint:
                failure.hint = hint
        raise


def _value(value) -> str:
    """A value for messages, short: 'np.float64(0.5)' shown as 0.5, strings quoted."""
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _kind(value) -> str:
    """A short description of a value's type for messages: 'an array of shape (3, 4)', ..."""
    if value is None:
        return "None"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} items"
    return f"a {type(value).__name__}"


# --- dropout_forward --------------------------------------------------------------------------
H_NOT_SCALED = ("not inverted dropout: divide the mask by keep_prob, "
                "`mask = (rng.random(x.shape) < keep_prob) / keep_prob`, so that the expected "
                "output equals x")
H_FRACTION = ("your mask keeps the wrong fraction of units: keep_prob is the probability of "
              "KEEPING a unit, so keep it when `rng.random(x.shape) < keep_prob` "
              "(not `>`, not `1 - keep_prob`)")
H_SCALE = "divide the kept units by keep_prob (not by 1 - keep_prob, and do not multiply)"
H_DRAW = ("your output is a valid dropout of x, but with another mask: draw with "
          "`rng.random(x.shape) < keep_prob` so the mask matches (one call of rng.random with "
          "shape x.shape, not rng.binomial or another comparison)")
H_NOT_APPLIED = "with train=True apply the mask: `out = x * mask`"
H_TEST_TIME = ("dropout applied at test time: with train=False return x unchanged "
               "(and cache None)")
H_TEST_SCALE = "inverted dropout scales nothing at test time: with train=False return x unchanged"
H_EVAL_RNG = ("when train is False, return before drawing the mask: the rng must not be used in "
              "evaluation mode (it would change every later random draw)")
H_CACHE_BOOL = ("the cache must hold the scaled mask `(rng.random(x.shape) < keep_prob) / "
                "keep_prob`, not the boolean mask: dropout_backward multiplies dout by it")
DROPOUT_ARGS = ["x", "keep_prob", "train", "rng"]


def _uniform(seed: int, shape: tuple) -> np.ndarray:
    """The numbers ``rng.random(shape)`` gives for a generator seeded with ``seed``."""
    return case_rng(seed).random(shape)


def _dropout_cases(hidden: bool) -> list[tuple[Case, np.ndarray, float, bool, int]]:
    """(case, x of any shape, keep_prob, train, seed of the rng)."""
    specs = [((4, 5), 0.6, True), ((2, 3, 4), 0.3, True), ((3, 4), 1.0, True),
             ((4, 5), 0.7, False)]
    if hidden:
        specs += [((1, 1), 0.3, True), ((50, 20), 0.9, True), ((3, 4, 5, 2), 0.25, True),
                  ((8, 6), 0.1, True), ((100,), 0.6, True), ((30, 40), 0.5, True),
                  ((2, 3, 4), 0.8, False), ((6, 6), 1.0, False), ((1, 7), 0.2, False)]
    rng = case_rng(500)
    cases = []
    for i, (shape, p, train) in enumerate(specs):
        mode = "training" if train else "evaluation (train=False)"
        cases.append((Case(f"{mode}, x of shape {shape}, keep_prob={p}"),
                      rng.normal(size=shape), p, train, 1000 + i))
    if hidden:
        x32 = case_rng(501).normal(size=(5, 6)).astype(np.float32)
        cases.append((Case("training, float32 x of shape (5, 6), keep_prob=0.5"), x32, 0.5, True,
                      1100))
    numbered([c for c, *_ in cases])
    return cases


def _forward_mistakes(x: np.ndarray, p: float, u: np.ndarray, seed: int) -> list:
    """Outputs of known wrong forwards; ``u`` (shape of x) is what rng.random drew."""
    keep = u < p
    mistakes = [
        (H_NOT_SCALED, x * keep),
        (H_FRACTION, lambda: x * (u > p) / p),
        (H_FRACTION, lambda: x * (u < 1 - p) / p),
        (H_FRACTION, lambda: x * (u > p)),
        (H_FRACTION, lambda: x * (u < 1 - p)),
        (H_SCALE, lambda: x * keep * p),
        (H_DRAW, lambda: x * (u > 1 - p) / p),
        (H_DRAW, lambda: x * case_rng(seed).binomial(1, p, x.shape) / p),
        (H_DRAW, lambda: x * (_uniform(seed, x.shape[::-1]).T < p) / p),
    ]
    if p < 1:
        mistakes += [(H_FRACTION, lambda: x * (u > p) / (1 - p)),
                     (H_FRACTION, lambda: x * (u < 1 - p) / (1 - p)),
                     (H_SCALE, lambda: x * keep / (1 - p))]
    return mistakes


def _explain_dropout(got, x: np.ndarray, p: float) -> str | None:
    """Name what a wrong training output is, from which values it holds."""
    out = _floats(got, x.shape)
    if out is None:
        return None
    dropped = np.isclose(out, 0.0, atol=1e-12)
    if p < 1 and np.allclose(out, x):
        return H_NOT_APPLIED
    if np.all(dropped | np.isclose(out, x / p)):
        return H_DRAW
    if np.all(dropped | np.isclose(out, x)):
        return H_NOT_SCALED
    return None


def _check_cache(cache, x: np.ndarray, p: float, u: np.ndarray, case: Case) -> None:
    """cache must be the scaled mask, shaped like x."""
    if cache is None:
        raise Failure("cache is None in training mode; expected the mask", case=case,
                      hint="return (out, mask): dropout_backward needs the mask")
    if isinstance(cache, tuple):
        raise Failure(f"cache is a tuple of {len(cache)} items; expected the mask array itself",
                      case=case, hint="cache = mask, the scaled mask "
                                      "`(rng.random(x.shape) < keep_prob) / keep_prob`")
    mask = (u < p) / p
    close(_array(cache, case, "cache"), mask, case, what="cache", computed_from=(x,), mistakes=[
        (H_CACHE_BOOL, u < p),
        ("cache = mask, not the output x * mask", x * mask),
        ("cache = mask, not the input x", x),
        ("cache the mask, not the raw random numbers of rng.random", u),
    ])


def _check_training(out, cache, x: np.ndarray, p: float, seed: int, case: Case) -> None:
    u = _uniform(seed, x.shape)
    expected, _ = nnlib.dropout_forward(x, p, True, case_rng(seed))
    _compare(out, expected, case, what="out", mistakes=_forward_mistakes(x, p, u, seed),
             computed_from=(x,),
             explain=lambda got: _explain_dropout(got, x, p))
    _check_cache(cache, x, p, u, case)


def _check_evaluation(out, cache, x: np.ndarray, p: float, seed: int, rng_used: bool,
                      case: Case) -> None:
    u = _uniform(seed, x.shape)
    close(_array(out, case, "out"), x, case, what="out", mistakes=[
        (H_TEST_TIME, x * (u < p) / p), (H_TEST_TIME, x * (u < p)),
        (H_TEST_SCALE, x * p), (H_TEST_SCALE, x / p),
    ])
    if cache is not None:
        raise Failure(f"cache is {_kind(cache)}; expected None when train=False", case=case,
                      hint="in evaluation mode there is no mask to remember: return (x, None)")
    if rng_used:
        raise Failure("it drew random numbers from rng although train=False", case=case,
                      hint=H_EVAL_RNG)


@exercise("dropout_forward")
def check_dropout_forward(fn, hidden: bool) -> None:
    for case, x, p, train, seed in _dropout_cases(hidden):
        rng = case_rng(seed)
        state = rng.bit_generator.state
        got = run(fn, case, x, p, train, rng, mutation_ok=(3,), names=DROPOUT_ARGS)
        out, cache = unpack(got, 2, case, "(out, cache)")
        if train:
            _check_training(out, cache, x, p, seed, case)
        else:
            _check_evaluation(out, cache, x, p, seed, rng.bit_generator.state != state, case)


# --- dropout_backward -------------------------------------------------------------------------
H_AGAIN = ("divided by keep_prob again: the cached mask already includes 1/keep_prob, "
           "so dx = dout * mask and nothing else")
H_RETURNED_MASK = "you returned the mask: the gradient is dx = dout * mask (dout is missing)"
H_NO_MASK = "the mask is missing: dx = dout * mask (dropped units get no gradient)"
H_BINARY = ("multiply by the cached mask as it is: it holds 0 and 1/keep_prob, "
            "not 0 and 1 (it already includes 1/keep_prob)")
H_EVAL_BACKWARD = ("in evaluation mode dropout_forward returns cache=None (there is no mask): "
                   "dropout_backward(dout, None) must return dout unchanged, so test "
                   "`if cache is None` first")
BACKWARD_ARGS = ["dout", "cache"]


def _reference_mask(shape: tuple, p: float, seed: int) -> np.ndarray:
    """The cache of nnlib.dropout_forward in training for an rng seeded with ``seed``."""
    _, mask = nnlib.dropout_forward(np.ones(shape), p, True, case_rng(seed))
    return mask


def _handmade_mask(shape: tuple, p: float) -> np.ndarray:
    """A checkerboard of 0 and 1/keep_prob, shape ``shape``: a mask not drawn by nnlib."""
    board = np.indices(shape).sum(axis=0) % 2 == 0
    return board / p


def _backward_cases(hidden: bool) -> list[tuple[Case, np.ndarray, np.ndarray, float]]:
    """(case, dout, cache = scaled mask shaped like dout, keep_prob)."""
    rng = case_rng(510)
    specs = [("mask from dropout_forward", (4, 5), 0.5),
             ("mask from dropout_forward", (2, 3, 4), 0.8),
             ("hand-made mask of 0 and 1/keep_prob", (3, 6), 0.25)]
    if hidden:
        specs += [("mask from dropout_forward", (1, 1), 0.3),
                  ("mask from dropout_forward", (30, 40), 0.9),
                  ("mask from dropout_forward", (3, 4, 5, 2), 0.6),
                  ("mask from dropout_forward", (50,), 0.7),
                  ("mask from dropout_forward", (5, 4), 1.0),
                  ("hand-made mask of 0 and 1/keep_prob", (7, 3), 0.6)]
    cases = []
    for i, (label, shape, p) in enumerate(specs):
        mask = _handmade_mask(shape, p) if label.startswith("hand") else \
            _reference_mask(shape, p, 2000 + i)
        cases.append((Case(f"{label}, shape {shape}, keep_prob={p}"), rng.normal(size=shape),
                      mask, p))
    if hidden:
        mask = _reference_mask((4, 6), 0.5, 2100).astype(np.float32)
        dout = case_rng(511).normal(size=(4, 6)).astype(np.float32)
        cases.append((Case("float32 dout and mask (a float32 network), shape (4, 6), "
                           "keep_prob=0.5"), dout, mask, 0.5))
    return cases


def _explain_backward(got, dout: np.ndarray, mask: np.ndarray) -> str | None:
    """A dx that is dout * mask times a constant: an extra keep_prob factor."""
    dx = _floats(got, dout.shape)
    expected = dout * mask
    nonzero = np.abs(expected) > 1e-12
    if dx is None or not nonzero.any() or not np.allclose(dx[~nonzero], 0.0):
        return None
    ratio = float(np.median(dx[nonzero] / expected[nonzero]))
    if np.allclose(dx, ratio * expected) and not np.isclose(ratio, 1.0):
        return (f"your dx is dout * mask times {ratio:.4g}: the cached mask already includes "
                f"1/keep_prob, so dx = dout * mask and nothing else")
    return None


def _check_backward(fn, case: Case, dout: np.ndarray, mask: np.ndarray, p: float,
                    expected: np.ndarray) -> None:
    got = run(fn, case, dout, mask, names=BACKWARD_ARGS)
    _compare(got, expected, case, what="dx", rtol=1e-6, computed_from=(dout, mask), mistakes=[
        (H_AGAIN, dout * mask / p), (H_BINARY, dout * (mask != 0)),  # also dout * mask * p
        (H_RETURNED_MASK, mask), (H_NO_MASK, dout),
    ], explain=lambda got: _explain_backward(got, dout, mask))


def _check_evaluation_backward(fn, case: Case, dout: np.ndarray) -> None:
    """dropout_backward(dout, None), after an evaluation-mode forward, must give dout."""
    try:
        got = run(fn, case, dout, None, names=BACKWARD_ARGS)
    except Failure as failure:
        if failure.what.startswith("it raised"):
            failure.hint = H_EVAL_BACKWARD
        raise
    _compare(got, dout, case, what="dx", explain=lambda got: H_EVAL_BACKWARD)


def _numeric_dx(dout: np.ndarray, p: float, seed: int) -> np.ndarray:
    """Central differences of sum(dout * dropout_forward(x)) in x, the mask fixed by ``seed``."""
    x = case_rng(seed + 1).normal(size=dout.shape)

    def f(x):
        out, _ = nnlib.dropout_forward(x, p, True, case_rng(seed))
        return float(np.sum(dout * out))

    return nnlib.numeric_gradient(f, x)


@exercise("dropout_backward")
def check_dropout_backward(fn, hidden: bool) -> None:
    cases = _backward_cases(hidden)
    rng = case_rng(520)
    grad_specs = [((3, 4), 0.7)] + ([((2, 3, 2), 0.4)] if hidden else [])
    grad_cases = [(Case(f"dx against a numerical gradient of dropout_forward (fixed mask), "
                        f"shape {shape}, keep_prob={p}"), shape, p, 3000 + i)
                  for i, (shape, p) in enumerate(grad_specs)]
    eval_shapes = [(3, 4)] + ([(2, 3, 5)] if hidden else [])
    eval_rng = case_rng(521)
    eval_cases = [(Case(f"evaluation mode: cache None (from a forward with train=False), dout "
                        f"of shape {shape}"), eval_rng.normal(size=shape))
                  for shape in eval_shapes]
    numbered([c for c, *_ in cases] + [c for c, _ in eval_cases] + [c for c, *_ in grad_cases])
    for case, dout, mask, p in cases:
        _check_backward(fn, case, dout, mask, p, dout * mask)
    for case, dout in eval_cases:
        _check_evaluation_backward(fn, case, dout)
    for case, shape, p, seed in grad_cases:
        dout = rng.normal(size=shape)
        mask = _reference_mask(shape, p, seed)
        _check_backward(fn, case, dout, mask, p, _numeric_dx(dout, p, seed))


# --- l2_penalty -------------------------------------------------------------------------------
H_BIAS = ("only arrays whose key starts with 'W' are penalised: biases and other parameters "
          "(b1, gamma, ...) get no penalty and a zero gradient")
H_HALF_LOSS = "the penalty is 0.5 * reg * sum of squares: the factor 0.5 is missing"
H_HALF_BIAS = ("penalise only keys that start with 'W', and keep the factor 0.5: "
               "loss = 0.5 * reg * sum of W**2")
H_MEAN = "sum the squares (np.sum), not their mean"
H_NORM = "the L2 penalty uses the squares of the weights, not their norm (no square root)"
H_NO_REG = "multiply by reg"
H_GRAD_2X = "the gradient of 0.5 * reg * W**2 is reg * W: the 0.5 cancels the 2"
H_GRAD_HALF = "the gradient of 0.5 * reg * W**2 is reg * W, not 0.5 * reg * W"
H_KEYS = ("dparams needs every key of params: zeros (np.zeros_like(value)) for keys that do not "
          "start with 'W'")


def _l2_params(rng: np.random.Generator, dims: list[int], extra: dict) -> dict:
    """{'W1': (dims[0], dims[1]), 'b1': (dims[1],), ..., plus extra keys of given shapes}."""
    params = {}
    for i, (fan_in, fan_out) in enumerate(zip(dims[:-1], dims[1:]), start=1):
        params[f"W{i}"] = rng.normal(size=(fan_in, fan_out))
        params[f"b{i}"] = rng.normal(size=fan_out)
    for key, shape in extra.items():
        params[key] = rng.normal(size=shape)
    return params


def _l2_cases(hidden: bool) -> list[tuple[Case, dict, float]]:
    """(case, params: name -> array, reg)."""
    rng = case_rng(530)
    cases = [(_l2_params(rng, [3, 2], {}), 0.1),
             (_l2_params(rng, [4, 3, 2], {}), 0.05),
             (_l2_params(rng, [5, 4, 3, 2], {"gamma1": (4,), "beta1": (4,)}), 0.01)]
    if hidden:
        cases += [(_l2_params(rng, [6, 5, 4, 3, 2], {}), 2.0),
                  (_l2_params(rng, [3, 3, 2], {}), 0.0),
                  (_l2_params(rng, [2, 8, 3], {"gamma": (8,), "beta": (8,)}), 1),
                  ({"W1": np.array([[2.0]]), "b1": np.array([0.5])}, 0.5),
                  ({"W_in": rng.normal(size=(4, 3)), "b_in": rng.normal(size=3),
                    "W_out": rng.normal(size=(3, 2)), "b_out": rng.normal(size=2)}, 0.3),
                  ({"b1": rng.normal(size=3), "W1": rng.normal(size=(2, 3)),
                    "gamma1": rng.normal(size=3), "W2": rng.normal(size=(3, 1))}, 0.2)]
    out = [(Case(f"params {', '.join(params)}, reg={reg}"), params, reg)
           for params, reg in cases]
    if hidden:
        params32 = {key: value.astype(np.float32)
                    for key, value in _l2_params(case_rng(531), [5, 4, 3], {}).items()}
        out.append((Case(f"float32 params {', '.join(params32)} (a float32 network), reg=0.1"),
                    params32, 0.1))
    numbered([c for c, *_ in out])
    return out


def _weights(params: dict) -> dict:
    return {k: np.asarray(v, dtype=float) for k, v in params.items() if k.startswith("W")}


def _loss_mistakes(params: dict, reg: float) -> list:
    weights = _weights(params)
    every = [np.asarray(v, dtype=float) for v in params.values()]
    sq_w = sum(float(np.sum(w * w)) for w in weights.values())
    sq_all = sum(float(np.sum(v * v)) for v in every)
    return [
        (H_BIAS, 0.5 * reg * sq_all),
        (H_HALF_LOSS, reg * sq_w),
        (H_HALF_BIAS, reg * sq_all),
        (H_MEAN, 0.5 * reg * sum(float(np.mean(w * w)) for w in weights.values())),
        (H_MEAN, 0.5 * reg * sq_w / sum(w.size for w in weights.values())),
        (H_NORM, 0.5 * reg * sum(float(np.sqrt(np.sum(w * w))) for w in weights.values())),
        (H_NORM, 0.5 * reg * np.sqrt(sq_w)),
        (H_NO_REG, 0.5 * sq_w),
    ]


def _explain_loss(got, params: dict, reg: float) -> str | None:
    """A loss that is the penalty of another set of arrays: which it adds or leaves out."""
    value = _floats(got, ())
    if value is None or reg == 0:
        return None
    squares = {k: float(np.sum(np.asarray(v, dtype=float) ** 2)) for k, v in params.items()}
    for size in range(1, len(squares) + 1):
        for subset in itertools.combinations(squares, size):
            if not np.isclose(value, 0.5 * reg * sum(squares[k] for k in subset)):
                continue
            added = [k for k in subset if not k.startswith("W")]
            left_out = [k for k in squares if k.startswith("W") and k not in subset]
            if added:
                return (f"only arrays whose key starts with 'W' are penalised: yours also "
                        f"penalises {', '.join(added)} (biases and other parameters get no "
                        f"penalty and a zero gradient)")
            if left_out:
                return (f"add up the penalty of every array whose key starts with 'W': yours "
                        f"leaves out {', '.join(left_out)} (`loss = ...` instead of "
                        f"`loss += ...`, or fixed key names?)")
    return None


def _check_dparams(dparams, params: dict, reg: float, case: Case) -> None:
    """dparams: every key of params; reg * W for weights, zeros for the others."""
    if not isinstance(dparams, dict):
        raise Failure(f"dparams is {_kind(dparams)}; expected a dict with the keys of params",
                      case=case, hint="build a dict: `dparams[key] = ...` for every key of params")
    missing = [k for k in params if k not in dparams]
    if missing:
        raise Failure(f"dparams has no key(s) {missing}; it needs every key of params "
                      f"{list(params)}", case=case, hint=H_KEYS)
    extra = [k for k in dparams if k not in params]
    if extra:
        raise Failure(f"dparams has key(s) {extra} that params does not have", case=case,
                      hint="use exactly the keys of params")
    for key, value in params.items():
        what = f"dparams[{key!r}]"
        if key.startswith("W"):
            w = np.asarray(value, dtype=float)
            close(_array(dparams[key], case, what), reg * w, case, what=what,
                  computed_from=(value,), mistakes=[
                (H_GRAD_2X, 2 * reg * w), (H_GRAD_HALF, 0.5 * reg * w),
                (H_MEAN, reg * w / w.size), (H_NO_REG, w)])
        else:
            _compare(dparams[key], np.zeros(np.shape(value)), case, what=what,
                     explain=lambda got: H_BIAS if _floats(got, np.shape(value)) is not None
                     else None,
                     shape_hint=lambda shape: "use np.zeros_like(value): same shape as the "
                                              "parameter")


@exercise("l2_penalty")
def check_l2_penalty(fn, hidden: bool) -> None:
    for case, params, reg in _l2_cases(hidden):
        got = run(fn, case, params, reg, names=["params", "reg"])
        loss, dparams = unpack(got, 2, case, "(loss, dparams)")
        expected, _ = nnlib.l2_penalty(params, reg)
        _compare(loss, expected, case, what="loss", scalar=True, computed_from=(params,),
                 mistakes=_loss_mistakes(params, reg),
                 explain=lambda got: _explain_loss(got, params, reg))
        _check_dparams(dparams, params, reg, case)


# --- early_stopping ---------------------------------------------------------------------------
H_OFF_BY_ONE = ("off by one in the patience count: the epochs since the best are "
                "len(val_losses) - 1 - best_epoch")
H_STRICT = "stop once the epochs since the best reach patience: `>= patience`, not `> patience`"
H_TIES = ("a tie is not an improvement: use `<` (loss < best - min_delta), so that the first "
          "lowest loss stays the best")
H_PREVIOUS = "compare each loss with the best loss so far, not with the previous epoch's loss"
H_IGNORED = ("min_delta is ignored (np.argmin and `loss < best` ignore it): an epoch improves "
             "only when loss < best - min_delta")
H_SIGN = ("min_delta has the wrong sign: an epoch improves only when its loss is lower than the "
          "best by more than min_delta, loss < best - min_delta")
H_ORDER = "return (best_epoch, should_stop), in this order"


def _stopping(losses, patience: int, min_delta: float, improves, offset: int = 1,
              strict: bool = False) -> tuple[int, bool]:
    """(best_epoch, should_stop) with the improvement test ``improves(loss, best, previous, d)``.

    ``offset`` and ``strict`` model counting mistakes: epochs since the best are
    ``len - offset - best_epoch``, compared with ``>`` when strict.
    """
    best_epoch, best, previous = 0, losses[0], losses[0]
    for epoch in range(1, len(losses)):
        loss = losses[epoch]
        if improves(loss, best, previous, min_delta):
            best_epoch, best = epoch, loss
        previous = loss
    since = len(losses) - offset - best_epoch
    return best_epoch, bool(since > patience if strict else since >= patience)


def _stopping_variants(losses, patience: int, min_delta: float) -> list[tuple[str, tuple]]:
    """(hint, (best_epoch, should_stop)) of known wrong early_stopping implementations."""
    def right(loss, best, prev, d):
        return loss < best - d

    args = (losses, patience, min_delta)
    argmin = int(np.argmin(losses))
    return [
        (H_OFF_BY_ONE, _stopping(*args, right, offset=0)),
        (H_STRICT, _stopping(*args, right, strict=True)),
        (H_TIES, _stopping(*args, lambda loss, best, prev, d: loss <= best - d)),
        (H_PREVIOUS, _stopping(*args, lambda loss, best, prev, d: loss < prev - d)),
        (H_IGNORED, _stopping(*args, lambda loss, best, prev, d: loss < best)),
        (H_IGNORED, (argmin, len(losses) - 1 - argmin >= patience)),
        (H_SIGN, _stopping(*args, lambda loss, best, prev, d: loss < best + d)),
    ]


def _stopping_cases(hidden: bool) -> list[tuple[Case, object, int, float | None]]:
    """(case, val_losses as a list or an array, patience, min_delta or None for the default).

    Losses and min_delta are multiples of 1/64, so every way of writing the comparison
    (``loss < best - d``, ``best - loss > d``) gives the same answer.
    """
    table = [
        ("a single epoch", [0.75], 1, None),
        ("loss falls, then rises for 2 epochs; patience 2", [1.0, 0.75, 0.5, 0.625, 0.6875], 2,
         None),
        ("loss falls, then rises for 2 epochs; patience 3", [1.0, 0.75, 0.5, 0.625, 0.6875], 3,
         None),
        ("ties: the first lowest loss stays the best", [1.0, 0.5, 0.5, 0.5], 3, None),
        ("a dip after a rise that stays above the best", [1.0, 0.5, 0.875, 0.75, 0.9375], 3,
         None),
        ("min_delta=0.25: losses above the best never improve", [1.0, 0.5, 0.625, 0.75], 2,
         0.25),
        ("min_delta=0.25: an improvement must exceed it", [1.0, 0.875, 0.8125, 0.6875, 0.625], 1,
         0.25),
        ("min_delta=0.25: exactly min_delta lower is not enough", [1.0, 0.75, 0.625], 1, 0.25),
        ("patience 0", [1.0, 0.875, 0.9375], 0, None),
        ("loss rises from the first epoch", [0.5, 0.625, 0.75, 0.875], 3, None),
        ("a NumPy array of losses", np.array([1.0, 0.5, 0.875, 0.75, 0.5, 0.625]), 2, 0.0),
    ]
    if hidden:
        table += [
            ("a single epoch, patience 0", [0.75], 0, None),
            ("loss rises from the first epoch; patience 4", [0.5, 0.625, 0.75, 0.875], 4, None),
            ("loss falls every epoch", [1.0, 0.875, 0.75, 0.625, 0.5], 1, None),
            ("loss falls every epoch, patience 0", [1.0, 0.875, 0.75], 0, None),
            ("a constant loss", [0.5] * 6, 5, None),
            ("a constant loss, patience 6", [0.5] * 6, 6, None),
            ("patience longer than the run", [1.0, 0.5, 0.75], 10, None),
            ("integer losses", [3, 2, 2, 1, 1, 4], 2, None),
            ("min_delta=0.125, NumPy array", np.array([1.0, 0.9375, 0.8125, 0.75, 0.6875]), 2,
             0.125),
        ]
        table += _random_stopping_cases(case_rng(540), 30)
    cases = [(Case(label), losses, patience, d) for label, losses, patience, d in table]
    numbered([c for c, *_ in cases])
    return cases


def _random_stopping_cases(rng: np.random.Generator, count: int) -> list[tuple]:
    """(label, losses, patience, min_delta): random walks of multiples of 1/64."""
    cases = []
    for i in range(count):
        n = int(rng.integers(1, 16))
        losses = (64 + np.cumsum(rng.integers(-4, 4, size=n))) / 64
        patience = int(rng.integers(0, 6))
        min_delta = [None, 0.0, 1 / 64, 2 / 64, 4 / 64][i % 5]
        as_array = i % 2 == 1
        kind = "NumPy array" if as_array else "list"
        cases.append((f"random losses #{i + 1} ({n} epochs, {kind})",
                      losses if as_array else losses.tolist(), patience, min_delta))
    return cases


def _as_epoch(best, losses, case: Case) -> int:
    """best_epoch must be a Python or NumPy integer, not a bool or float."""
    if isinstance(best, (bool, np.bool_)):
        raise Failure(f"best_epoch is a bool ({best}); expected an int epoch index", case=case,
                      hint=H_ORDER)
    if isinstance(best, (numbers.Integral, np.integer)):
        return int(best)
    hint = "return the epoch's index as an int, e.g. `int(best_epoch)`"
    if isinstance(best, (numbers.Real, np.floating)) and any(
            np.isclose(float(best), float(v)) for v in losses):
        hint = "best_epoch is the index of the best epoch, not its loss"
    raise Failure(f"best_epoch is {_kind(best)} ({_value(best)}); expected an int", case=case,
                  hint=hint)


def _as_flag(stop, case: Case) -> bool:
    """should_stop must be a Python or NumPy bool."""
    if isinstance(stop, (bool, np.bool_)):
        return bool(stop)
    raise Failure(f"should_stop is {_kind(stop)} ({_value(stop)}); expected a bool (True or "
                  f"False)",
                  case=case, hint="return the comparison itself, e.g. "
                                  "`len(val_losses) - 1 - best_epoch >= patience`")


def _show(losses) -> str:
    return "[" + ", ".join(f"{float(v):.6g}" for v in losses) + "]"


@exercise("early_stopping")
def check_early_stopping(fn, hidden: bool) -> None:
    for case, losses, patience, min_delta in _stopping_cases(hidden):
        args = (losses, patience) if min_delta is None else (losses, patience, min_delta)
        got = run(fn, case, *args, names=["val_losses", "patience", "min_delta"])
        best, stop = unpack(got, 2, case, "(best_epoch, should_stop)")
        best, stop = _as_epoch(best, losses, case), _as_flag(stop, case)
        d = 0.0 if min_delta is None else min_delta
        expected = nnlib.early_stopping(losses, patience, d)
        if (best, stop) == expected:
            continue
        inputs = f"for val_losses={_show(losses)}, patience={patience}, min_delta={d}"
        variants = _stopping_variants(losses, patience, d)
        if best != expected[0]:
            hint = next((h for h, v in variants if v == (best, stop)), None) or \
                next((h for h, v in variants if v[0] == best), None)
            raise Failure(f"best_epoch: expected {expected[0]}, got {best}\n{inputs}", case=case,
                          hint=hint)
        since = len(losses) - 1 - best
        hint = next((h for h, v in variants if v == (best, stop)), None)
        raise Failure(f"should_stop: expected {expected[1]}, got {stop} ({since} epoch(s) since "
                      f"the best epoch {best}, patience {patience})\n{inputs}", case=case,
                      hint=hint)


# --- shift_image ------------------------------------------------------------------------------
def _run_slicing(fn, case: Case, *args, **options):
    """``run`` for a candidate that copies slices: a slice of the wrong size gets a hint about
    shift bounds."""
    try:
        return run(fn, case, *args, **options)
    except Failure as failure:
        if "could not broadcast input array" in failure.what or (
                failure.what.startswith("it raised IndexError")):
            failure.hint = H_SLICE_BOUNDS
        raise



H_ROLL = ("np.roll wraps pixels around to the other side: vacated pixels must be 0 "
          "(copy a slice into np.zeros_like(image))")
H_SWAPPED = "dy and dx are swapped: dy moves rows (down), dx moves columns (right)"
H_REVERSED = "the direction is reversed: positive dy moves the image down, positive dx right"
H_REVERSED_DY = "the vertical direction is reversed: positive dy moves the image down"
H_REVERSED_DX = "the horizontal direction is reversed: positive dx moves the image right"
H_VACATED = "vacated pixels must be 0: start from np.zeros_like(image) and copy the shifted part"
H_SLICE_BOUNDS = ("the part you copy and the part you copy it into have different sizes for this "
                  "shift: write out both slices' bounds for a positive, a negative and a zero "
                  "shift (`image[:-0]` is empty, since -0 is 0), and for a shift as large as "
                  "the image, which leaves nothing of it")


def _direction(dy: int, dx: int) -> str:
    parts = [f"{'down' if dy > 0 else 'up'} {abs(dy)}" if dy else "",
             f"{'right' if dx > 0 else 'left'} {abs(dx)}" if dx else ""]
    return ", ".join(p for p in parts if p) or "no shift"


def _shift_cases(hidden: bool) -> list[tuple[Case, np.ndarray, int, int]]:
    """(case, image (H, W), dy, dx)."""
    ramp = np.arange(1, 31, dtype=float).reshape(5, 6)
    specs = [(ramp, s) for s in [(1, 2), (-2, 1), (2, -3), (-1, -2), (0, 0), (0, -2), (3, 0),
                                 (5, 1), (-2, -7)]]
    specs.append((np.arange(1, 17).reshape(4, 4), (1, -1)))
    if hidden:
        rng = case_rng(550)
        big, tall, wide = (rng.normal(size=s) for s in [(28, 28), (7, 1), (3, 9)])
        small = rng.normal(size=(6, 5))
        specs += [(big, s) for s in [(3, -4), (-5, 2), (27, 0), (0, -28)]]
        specs += [(rng.normal(size=(1, 5)), s) for s in [(0, 2), (1, 0), (-1, -1), (0, -4)]]
        specs += [(tall, s) for s in [(2, 0), (-3, 0), (0, 1), (-6, 0)]]
        specs += [(wide, s) for s in [(-1, 4), (2, -8), (-3, 9), (1, 1)]]
        specs += [(small, (dy, dx)) for dy in (-2, 0, 2) for dx in (-3, 0, 3)]
        specs += [(small, s) for s in [(6, 0), (-6, 0), (0, 5), (0, -5), (7, -9)]]
        specs += [(rng.integers(1, 256, size=(6, 4)).astype(np.uint8), s)
                  for s in [(2, 1), (-1, -3)]]
        specs += [(small, (np.int64(1), np.int64(-1)))]
    cases = []
    for image, (dy, dx) in specs:
        h, w = image.shape
        label = f"{h}x{w} {image.dtype} image, dy={dy}, dx={dx} ({_direction(dy, dx)})"
        cases.append((Case(label), image, dy, dx))
    numbered([c for c, *_ in cases])
    return cases


def _explain_shift(got, image: np.ndarray, dy: int, dx: int) -> str | None:
    """Right pixels where the image lands, but nonzero vacated pixels."""
    out = _floats(got, image.shape)
    if out is None:
        return None
    landed = nnlib.shift_image(np.ones(image.shape), dy, dx) != 0
    expected = nnlib.shift_image(image, dy, dx).astype(float)
    if np.allclose(out[landed], expected[landed]) and not np.allclose(out[~landed], 0.0):
        return H_VACATED
    return None


@exercise("shift_image")
def check_shift_image(fn, hidden: bool) -> None:
    for case, image, dy, dx in _shift_cases(hidden):
        got = _run_slicing(fn, case, image, dy, dx, names=["image", "dy", "dx"])
        shift = nnlib.shift_image
        _compare(got, shift(image, dy, dx).astype(float), case, what="the shifted image",
                 mistakes=[(H_ROLL, lambda: np.roll(image, (dy, dx), axis=(0, 1))),
                           (H_SWAPPED, lambda: shift(image, dx, dy)),
                           (H_REVERSED, lambda: shift(image, -dy, -dx)),
                           (H_REVERSED_DY, lambda: shift(image, -dy, dx)),
                           (H_REVERSED_DX, lambda: shift(image, dy, -dx)),
                           (H_ROLL, lambda: np.roll(image, (dx, dy), axis=(1, 0)))],
                 explain=lambda got: _explain_shift(got, image, dy, dx))


# --- random_shift -----------------------------------------------------------------------------
H_SAME = ("every image got the same shift: draw a separate (dy, dx) for every image "
          "(inside the loop, or rng.integers(..., size=(N, 2)))")
H_DIAGONAL = "dy always equals dx: draw dy and dx separately, they are independent"
H_EXCLUSIVE = ("rng.integers excludes its upper bound: draw from "
               "rng.integers(-max_shift, max_shift + 1)")
H_BOTH_WAYS = ("shift both ways: draw from -max_shift to max_shift "
               "(rng.integers(-max_shift, max_shift + 1)), not from 0")
H_RANGE = ("draw every shift from [-max_shift, max_shift]: "
           "rng.integers(-max_shift, max_shift + 1) (the upper bound is exclusive)")
H_UNIFORM = ("draw dy and dx independently and uniformly: "
             "rng.integers(-max_shift, max_shift + 1), every value equally likely")
H_WRAP = ("the image wrapped around (np.roll): pixels that leave one edge must not come back "
          "at the other; vacated pixels are 0 (use your shift_image)")
H_ORDER_IMAGES = "keep the images in their input order: output i is input i shifted"
H_SEEDED = ("draw every shift from the `rng` argument only (not from a new "
            "np.random.default_rng() made inside the function)")
H_IGNORES_RNG = "the shifts do not depend on rng: draw them from the `rng` argument"
H_ZERO = ("with max_shift=0 the only shift is (0, 0): rng.integers(-max_shift, max_shift + 1) "
          "handles it")
RANDOM_SHIFT_ARGS = ["images", "max_shift", "rng"]


def _shift_stack(images: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """images (N, H, W), each moved down by dy and right by dx, vacated pixels 0."""
    _, h, w = images.shape
    out = np.zeros_like(images)
    if abs(dy) >= h or abs(dx) >= w:
        return out
    out[:, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        images[:, max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return out


def _reach(images: np.ndarray, max_shift: int) -> int:
    """How far to search for shifts: past max_shift, but below the image size (unique)."""
    _, h, w = images.shape
    return min(2 * max_shift + 1, h - 1, w - 1)


def _identify(out: np.ndarray, images: np.ndarray, reach: int) -> tuple[np.ndarray, np.ndarray]:
    """(shifts (N, 2) of (dy, dx), found (N,) bool): out[i] == images[i] shifted by shifts[i].

    Searches |dy|, |dx| <= reach, nearest shifts first, each time only the images not yet found.
    """
    n = len(images)
    shifts, found = np.zeros((n, 2), dtype=int), np.zeros(n, dtype=bool)
    out = out.astype(float)
    order = sorted(itertools.product(range(-reach, reach + 1), repeat=2),
                   key=lambda s: max(abs(s[0]), abs(s[1])))
    for dy, dx in order:
        todo = np.flatnonzero(~found)
        if todo.size == 0:
            break
        moved = _shift_stack(images[todo], dy, dx).astype(float)
        hit = np.all(np.isclose(out[todo], moved, rtol=1e-7, atol=1e-12), axis=(1, 2))
        shifts[todo[hit]], found[todo[hit]] = (dy, dx), True
    return shifts, found


def _unidentified_hint(out_i: np.ndarray, images: np.ndarray, i: int, reach: int) -> str | None:
    """Why output image i is no shift of input i: wrap-around, or another input's shift."""
    for dy, dx in itertools.product(range(-reach, reach + 1), repeat=2):
        if np.allclose(out_i, np.roll(images[i], (dy, dx), axis=(0, 1))):
            return H_WRAP
    _, found = _identify(np.broadcast_to(out_i, images.shape), images, reach)
    return H_ORDER_IMAGES if found.any() else None


def _shifted_images(got, images: np.ndarray, max_shift: int, case: Case) -> np.ndarray:
    """The (N, 2) shifts by which the candidate moved each image; fails unless all are valid."""
    out = _array(got, case, "your result")
    if out.shape != images.shape:
        raise Failure(f"your result has shape {out.shape}; expected {images.shape}", case=case,
                      hint="return one shifted image per input image, stacked into an array "
                           "(N, H, W), e.g. with np.stack")
    reach = _reach(images, max_shift)
    shifts, found = _identify(out, images, reach)
    if not found.all():
        i = int(np.argmin(found))
        raise Failure(f"image {i} is not input image {i} shifted by any (dy, dx) with "
                      f"|dy|, |dx| <= {max_shift}", case=case,
                      hint=_unidentified_hint(out[i].astype(float), images, i, reach))
    outside = np.abs(shifts).max(axis=1) > max_shift
    if outside.any():
        i = int(np.argmax(outside))
        dy, dx = shifts[i]
        raise Failure(f"image {i} was shifted by (dy, dx) = ({dy}, {dx}), outside "
                      f"[-{max_shift}, {max_shift}]", case=case, hint=H_RANGE)
    return shifts


def _check_independent(shifts: np.ndarray, case: Case) -> None:
    """Shifts (N, 2) must vary between images and between the two axes."""
    n = len(shifts)
    if n >= 10 and np.all(shifts == shifts[0]):
        dy, dx = (int(v) for v in shifts[0])
        raise Failure(f"all {n} images were shifted by the same (dy, dx) = ({dy}, {dx})",
                      case=case, hint=H_SAME)
    if n >= 10 and np.all(shifts[:, 0] == shifts[:, 1]):
        raise Failure(f"all {n} images were shifted with dy == dx", case=case, hint=H_DIAGONAL)


def _check_uniform(shifts: np.ndarray, max_shift: int, case: Case) -> None:
    """Shifts (N, 2): every value of dy, dx and every pair occurs, counts roughly uniform."""
    n, values = len(shifts), list(range(-max_shift, max_shift + 1))
    for axis, name in ((0, "dy"), (1, "dx")):
        missing = [v for v in values if not np.any(shifts[:, axis] == v)]
        if missing:
            hint = H_EXCLUSIVE if missing == [max_shift] else \
                H_BOTH_WAYS if all(v < 0 for v in missing) else H_UNIFORM
            raise Failure(f"among {n} images, {name} never took the value(s) {missing} "
                          f"of {-max_shift}..{max_shift}", case=case, hint=hint)
    counts = np.zeros((len(values), len(values)), dtype=int)
    np.add.at(counts, (shifts[:, 0] + max_shift, shifts[:, 1] + max_shift), 1)
    if (counts == 0).any():
        dy, dx = np.argwhere(counts == 0)[0] - max_shift
        raise Failure(f"among {n} images, the shift (dy, dx) = ({dy}, {dx}) never occurred",
                      case=case, hint=H_UNIFORM)
    expected = n / counts.size
    chi2 = float(np.sum((counts - expected) ** 2 / expected))
    df = counts.size - 1
    if chi2 > df + 8 * np.sqrt(2 * df):
        raise Failure(f"the shifts are far from uniform over {n} images: each (dy, dx) should "
                      f"occur about {expected:.0f} times, counts range from {counts.min()} to "
                      f"{counts.max()} (chi-square {chi2:.0f} with {df} degrees of freedom)",
                      case=case, hint=H_UNIFORM)


def _images(rng: np.random.Generator, n: int, h: int, w: int, dtype=float) -> np.ndarray:
    """(n, h, w) images without zeros, so that every shift of one looks different."""
    if np.dtype(dtype).kind == "u":
        return rng.integers(1, 256, size=(n, h, w)).astype(dtype)
    return rng.normal(size=(n, h, w)) + 5.0


def _random_shift_cases(hidden: bool) -> list[tuple[str, Case, np.ndarray, int, int]]:
    """(kind, case, images (N, H, W), max_shift, seed); kind says which properties to check."""
    rng = case_rng(560)
    specs = [("independent", 30, 6, 7, float, 1), ("uniform", 400, 5, 5, float, 2),
             ("zero", 5, 6, 6, float, 0), ("seeded", 20, 6, 6, float, 2)]
    if hidden:
        specs += [("independent", 60, 7, 5, float, 2), ("independent", 40, 8, 8, np.uint8, 3),
                  ("independent", 1, 4, 4, float, 1), ("uniform", 450, 6, 4, float, 1),
                  ("uniform", 1000, 8, 8, float, 3), ("zero", 3, 4, 7, np.uint8, 0),
                  ("seeded", 15, 5, 8, np.uint8, 1)]
    what = {"independent": "each image shifted by its own (dy, dx) within range",
            "uniform": "every shift reachable, roughly uniform",
            "zero": "max_shift=0 leaves the images unchanged",
            "seeded": "the same seed gives the same images, another seed others"}
    cases = []
    for i, (kind, n, h, w, dtype, m) in enumerate(specs):
        label = f"{what[kind]}: {n} {np.dtype(dtype)} images {h}x{w}, max_shift={m}"
        cases.append((kind, Case(label), _images(rng, n, h, w, dtype), m, 4000 + i))
    numbered([c for _, c, *_ in cases])
    return cases


def _call_random_shift(fn, case: Case, images: np.ndarray, max_shift: int, seed: int):
    return _run_slicing(fn, case, images, max_shift, case_rng(seed), mutation_ok=(2,),
                        names=RANDOM_SHIFT_ARGS)


def _check_zero(fn, case: Case, images: np.ndarray, seed: int) -> None:
    try:
        got = _call_random_shift(fn, case, images, 0, seed)
    except Failure as failure:
        if failure.hint is None and failure.what.startswith("it raised"):
            failure.hint = H_ZERO
        raise
    close(_array(got, case, "your result"), images.astype(float), case, what="your result")


def _check_seeded(fn, case: Case, images: np.ndarray, max_shift: int, seed: int) -> None:
    first = _call_random_shift(fn, case, images, max_shift, seed)
    _shifted_images(first, images, max_shift, case)
    again = _array(_call_random_shift(fn, case, images, max_shift, seed), case, "your result")
    other = _array(_call_random_shift(fn, case, images, max_shift, seed + 1), case,
                   "your result")
    first = np.asarray(first)
    if again.shape != first.shape or not np.array_equal(first, again):
        raise Failure("two calls with identically seeded rngs gave different images", case=case,
                      hint=H_SEEDED)
    if other.shape == first.shape and np.array_equal(first, other):
        raise Failure("calls with differently seeded rngs gave the same images", case=case,
                      hint=H_IGNORES_RNG)


@exercise("random_shift")
def check_random_shift(fn, hidden: bool) -> None:
    for kind, case, images, max_shift, seed in _random_shift_cases(hidden):
        if kind == "zero":
            _check_zero(fn, case, images, seed)
        elif kind == "seeded":
            _check_seeded(fn, case, images, max_shift, seed)
        else:
            got = _call_random_shift(fn, case, images, max_shift, seed)
            shifts = _shifted_images(got, images, max_shift, case)
            _check_independent(shifts, case)
            if kind == "uniform":
                _check_uniform(shifts, max_shift, case)
