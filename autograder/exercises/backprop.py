"""Checks for notebook 03: layers' forward and backward passes, loss gradients, Glorot
initialisation and a two-layer network.

Every check compares with nnlib's reference on seeded inputs (deterministic), and every
gradient a second time with central differences of the reference function in float64
(``nnlib.numeric_gradient``), away from ReLU's kink. Forward passes are checked for their
``(out, cache)`` contract, cache by content. A backward pass is checked with nnlib's cache and,
when the student's own forward sits next to it (the notebook's namespace), with the cache that
forward returns, so the pair works when plugged into ``nnlib``. Float32 inputs (as in a float32
network: inputs, parameters and dout) may be computed in float32; a float32 answer, or one
computed from a float32 input or cache, is compared with float32's tolerances.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager

import numpy as np

import nnlib

from ..compare import close, close_dict, close_scalar, generic_hint, low_precision, unpack
from ..core import Case, Failure, case_rng, exercise, numbered, run
from .losses import softmax_warning_hint

NUMERIC_TOL = 1e-5
"""Largest relative error (see ``_numeric_close``) between a gradient and central differences."""

NUMERIC_TOL_FLOAT32 = 1e-3
"""The same for a gradient computed in float32 (or from float32 inputs or caches)."""

TRUNCATED = ("your result has an integer dtype, so fractions were cut off: create the output "
             "with a float dtype (np.zeros_like(x) copies the integer dtype of an integer x)")

SIGMOID_OVERFLOW = ("np.exp overflowed: use z = np.exp(-np.abs(x)), which is at most 1, and "
                    "s = 1 / (1 + z) where x >= 0, z / (1 + z) where x < 0 (np.where computes "
                    "both branches for every element, so each must be safe)")


# --- helpers shared by the checks -------------------------------------------------------------
def _shapes(**arrays) -> str:
    """'x (4, 3), W (3, 5)' for messages; integer and float32 arrays are marked."""
    parts = []
    for name, a in arrays.items():
        kind = " int" if a.dtype.kind in "iu" else " float32" if a.dtype == np.float32 else ""
        parts.append(f"{name} {a.shape}{kind}")
    return ", ".join(parts)


def _like(rng: np.random.Generator, x: np.ndarray, shape: tuple) -> np.ndarray:
    """An upstream gradient ``dout`` of ``shape``: float32 when ``x`` is (a float32 network)."""
    dout = rng.normal(size=shape)
    return dout.astype(np.float32) if x.dtype == np.float32 else dout


def _unpack(got, names: tuple[str, ...], case: Case) -> tuple:
    """``got`` as a tuple of ``len(names)`` items, or a Failure saying what to return."""
    try:
        return unpack(got, len(names), case, "(" + ", ".join(names) + ")")
    except Failure as failure:
        which = "both" if len(names) == 2 else f"all {len(names)}"
        hint = f"return {which}: `return {', '.join(names)}`"
        raise Failure(failure.what, case=case, hint=hint) from None


@contextmanager
def _default_hint(hint: str):
    """Give a Failure raised inside the block ``hint`` when it has none of its own."""
    try:
        yield
    except Failure as failure:
        raise Failure(failure.what, case=failure.case, hint=failure.hint or hint) from None


def _numeric_close(got, f: Callable[[np.ndarray], float], x, case: Case, *, what: str,
                   computed_from=(), tol: float | None = None) -> None:
    """Fail unless the gradient ``got`` (shaped like ``x``) matches central differences of ``f``.

    float64 throughout. The relative error of each entry is ``nnlib.rel_error``'s, with the floor
    at 1e-2 of the largest entry, so round-off on entries near 0 does not count. A float32
    ``got`` (or one computed from a float32 input in ``computed_from``) is allowed float32's
    round-off.
    """
    if tol is None:
        tol = NUMERIC_TOL_FLOAT32 if low_precision(got, x, *computed_from) else NUMERIC_TOL
    point = np.array(x, dtype=np.float64)  # a copy: numeric_gradient perturbs it in place
    numeric = nnlib.numeric_gradient(f, point)
    got = np.asarray(got, dtype=np.float64)
    floor = max(1e-2 * float(np.max(np.abs(numeric), initial=0.0)), 1e-8)
    if nnlib.rel_error(got, numeric, floor=floor) <= tol:
        return
    err = np.abs(got - numeric) / np.maximum(np.abs(got) + np.abs(numeric), floor)
    idx = tuple(int(i) for i in np.unravel_index(int(np.argmax(err)), err.shape))
    raise Failure(f"{what}{list(idx)} is {got[idx]:.7g}, but the numerical gradient (central "
                  f"differences) there is {numeric[idx]:.7g} (relative error {err[idx]:.2g})",
                  case=case, hint=generic_hint(got, numeric))


def _own_function(fn, name: str):
    """The student's function ``name`` from the namespace that defines ``fn``, if there is one.

    In a notebook this is the student's own forward pass (or loss gradient, ...); nnlib's
    reference counts as none.
    """
    namespace = getattr(fn, "__globals__", None)
    forward = namespace.get(name) if isinstance(namespace, dict) else None
    if not callable(forward) or forward is fn or forward is getattr(nnlib, name):
        return None
    return forward


def _check_own_cache(fn, forward_name: str, inputs: tuple, dout, case: Case,
                     compare: Callable[[object, Case, tuple], None], cache_hint: str) -> None:
    """Run backward ``fn`` on the cache of the student's own forward of ``inputs``.

    Skipped when there is no such forward or it fails (its own check reports that).
    ``compare(got, case, computed_from)`` raises Failure when the gradient is wrong;
    ``computed_from`` is ``(cache,)``, so that a float32 cache gets float32's tolerances.
    """
    forward = _own_function(fn, forward_name)
    if forward is None:
        return
    try:
        _, cache = _unpack(run(forward, case, *[np.array(a, copy=True) for a in inputs]),
                           ("out", "cache"), case)
    except Failure:
        return
    own = Case(f"{case.label}; the cache from your {forward_name}", case.number, case.total)
    try:
        compare(run(fn, own, dout, cache, names=["dout", "cache"]), own, (cache,))
    except Failure as failure:
        raise Failure(failure.what + f"\nWith nnlib's cache the gradient is right: the cache "
                      f"your {forward_name} returns is not what it should be.",
                      case=own, hint=cache_hint) from None


# --- affine layer -----------------------------------------------------------------------------
def _affine_cases(hidden: bool) -> list[tuple[Case, np.ndarray, np.ndarray, np.ndarray]]:
    """(case, x (N, D), W (D, M), b (M,)): non-square, square W, batch of 1, integer x, ..."""
    rng = case_rng(301)
    # square W first, so that a transposed W is named rather than a shape error
    specs = [("square W", 5, 3, 3), ("random", 4, 3, 5), ("batch of 1", 1, 4, 2),
             ("integer x", 3, 2, 4)]
    if hidden:
        specs += [("random", 7, 6, 2), ("random", 16, 10, 20), ("D = M = 1", 6, 1, 1),
                  ("all square", 4, 4, 4), ("x a non-contiguous view", 5, 3, 4),
                  ("float32", 6, 5, 3), ("integer x", 8, 5, 7), ("larger", 40, 12, 10)]
    cases = []
    for label, n, d, m in specs:
        if label == "integer x":
            x = rng.integers(-5, 6, size=(n, d))
        elif label == "x a non-contiguous view":
            x = rng.normal(size=(n, 2 * d))[:, ::2]
        else:
            x = rng.normal(size=(n, d))
        W, b = rng.normal(size=(d, m)), rng.normal(size=m)
        if label == "float32":
            x, W, b = (a.astype(np.float32) for a in (x, W, b))
        cases.append((Case(f"{label}: {_shapes(x=x, W=W, b=b)}"), x, W, b))
    numbered([c for c, *_ in cases])
    return cases


def _check_affine_cache(cache, x, W, b, out, case: Case) -> None:
    hint = "the cache is the tuple of the inputs, in this order: `cache = (x, W, b)`"
    with _default_hint(hint):
        items = _unpack(cache, ("x", "W", "b"), case)
    for item, value, name in zip(items, (x, W, b), ("x", "W", "b")):
        with _default_hint(hint):
            close(item, value, case, what=f"cache item {name}", rtol=0, atol=0,
                  mistakes=[("the cache holds the inputs (x, W, b), not the output", out)])


@exercise("affine_forward")
def check_affine_forward(fn, hidden: bool) -> None:
    for case, x, W, b in _affine_cases(hidden):
        got = run(fn, case, x, W, b, names=["x", "W", "b"])
        out, cache = _unpack(got, ("out", "cache"), case)
        expected, _ = nnlib.affine_forward(x, W, b)
        close(out, expected, case, what="out", computed_from=(x, W, b), mistakes=[
            ("you forgot to add the bias b", lambda: x @ W),
            ("add the bias b, do not subtract it", lambda: x @ W - b),
            ("x @ W needs no transpose: x (N, D) @ W (D, M) is (N, M)", lambda: x @ W.T + b),
            ("add b to every row: b (M,) broadcasts over the batch as it is, not as a column",
             lambda: x @ W + b[:, None]),
            ("use the matrix product x @ W, not the element-wise product x * W",
             lambda: x * W + b),
            (TRUNCATED, lambda: np.trunc(expected)),
        ])
        _check_affine_cache(cache, x, W, b, expected, case)


def _affine_grads_close(got, dout, x, W, b, case: Case, computed_from=()) -> None:
    """Fail unless ``got`` is (dx, dW, db) for ``dout`` and cache (x, W, b)."""
    dx, dW, db = _unpack(got, ("dx", "dW", "db"), case)
    e_dx, e_dW, e_db = nnlib.affine_backward(dout, (x, W, b))
    n, m = dout.shape
    inputs = (dout, x, W, b, *computed_from)
    close(dx, e_dx, case, what="dx", batch=n, computed_from=inputs, mistakes=[
        ("dx = dout @ W.T: multiply by W transposed (you used W)", lambda: dout @ W),
    ])
    close(dW, e_dW, case, what="dW", batch=n, computed_from=inputs, mistakes=[
        ("dW = x.T @ dout (you computed dout.T @ x, its transpose)", lambda: dout.T @ x),
        ("dW = x.T @ dout sums over the batch: do not divide by N", lambda: x.T @ dout / n),
    ])

    def db_shape_hint(shape):
        if shape == ():
            return "sum over the batch only (axis=0): np.sum(dout) adds everything into one number"
        if shape == (n,):
            return "sum over axis=0 (the batch), not axis=1"
        if shape == (n, m):
            return "db sums dout over the batch: db = dout.sum(axis=0)"
        if shape == (1, m):
            return "db has shape (M,): sum with axis=0 and without keepdims"
        return None

    close(db, e_db, case, what="db", batch=n, shape_hint=db_shape_hint, computed_from=inputs,
          mistakes=[
        ("db sums dout over the batch: dout.sum(axis=0), not the mean",
         lambda: dout.mean(axis=0)),
        ("sum dout over axis=0 (the batch), not axis=1", lambda: dout.sum(axis=1)),
    ])


@exercise("affine_backward")
def check_affine_backward(fn, hidden: bool) -> None:
    rng = case_rng(302)
    for case, x, W, b in _affine_cases(hidden):
        dout = _like(rng, x, (x.shape[0], W.shape[1]))
        got = run(fn, case, dout, (x, W, b), names=["dout", "cache"])
        _affine_grads_close(got, dout, x, W, b, case)
        dx, dW, db = got
        inputs = (dout, x, W, b)
        _numeric_close(dx, lambda v: np.sum(dout * nnlib.affine_forward(v, W, b)[0]), x, case,
                       what="dx", computed_from=inputs)
        _numeric_close(dW, lambda v: np.sum(dout * nnlib.affine_forward(x, v, b)[0]), W, case,
                       what="dW", computed_from=inputs)
        _numeric_close(db, lambda v: np.sum(dout * nnlib.affine_forward(x, W, v)[0]), b, case,
                       what="db", computed_from=inputs)
        _check_own_cache(
            fn, "affine_forward", (x, W, b), dout, case,
            lambda got, c, cache: _affine_grads_close(got, dout, x, W, b, c, cache),
            "affine_forward must return `cache = (x, W, b)`, the inputs in this order")


# --- ReLU -------------------------------------------------------------------------------------
def _signs(rng, shape) -> np.ndarray:
    """Random values with |x| in [0.1, 2): clear of ReLU's kink at 0, for numeric gradients."""
    return rng.uniform(0.1, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)


def _relu_cases(hidden: bool) -> list[tuple[Case, np.ndarray]]:
    """(case, x of any shape): random, exact zeros, integers, batch of 1, 3-D, ..."""
    rng = case_rng(311)
    with_zeros = _signs(rng, (3, 4))
    with_zeros[[0, 1, 2, 2], [1, 3, 0, 2]] = 0.0
    xs = [("random", _signs(rng, (4, 5))), ("with exact zeros", with_zeros),
          ("integer x with zeros", np.array([[-2, 0, 3], [1, -1, 0]])),
          ("batch of 1", _signs(rng, (1, 6)))]
    if hidden:
        tiny = np.array([[-0.0, 1e-300, -1e-300], [5e-324, 0.0, -5e-324]])
        xs += [("3-D", _signs(rng, (2, 3, 4))), ("1-D", _signs(rng, (7,))),
               ("all negative", -np.abs(_signs(rng, (3, 3)))),
               ("large", rng.normal(size=(20, 30)) * 1e3),
               ("float32", _signs(rng, (4, 3)).astype(np.float32)),
               ("-0.0 and tiny values", tiny),
               ("integer x", rng.integers(-4, 5, size=(5, 6))),
               ("random", rng.normal(size=(9, 2)))]
    cases = [(Case(f"{label}: {_shapes(x=x)}"), x) for label, x in xs]
    numbered([c for c, _ in cases])
    return cases


def _numeric_ok(x) -> bool:
    """Whether central differences are accurate for ReLU at x: clear of 0, moderate size."""
    return bool(np.all(np.abs(x) > 1e-3) and np.all(np.abs(x) < 100))


@exercise("relu_forward")
def check_relu_forward(fn, hidden: bool) -> None:
    for case, x in _relu_cases(hidden):
        got = run(fn, case, x, names=["x"])
        out, cache = _unpack(got, ("out", "cache"), case)
        expected = np.maximum(x, 0)

        def max_shape_hint(shape, x=x):
            if shape == x.shape[1:] or shape == x.shape[:1] or shape == ():
                return ("np.max(x, 0) is the largest entry along axis 0; the element-wise "
                        "maximum is np.maximum(x, 0)")
            return None

        close(out, expected, case, what="out", shape_hint=max_shape_hint, mistakes=[
            ("return (out, cache) in this order: you returned x first", x),
            ("ReLU keeps positive values and sets negative ones to 0, not their absolute value",
             lambda: np.abs(x)),
            ("return the values max(x, 0), not the mask (x > 0)", lambda: x > 0),
            ("ReLU is np.maximum(x, 0), not np.minimum(x, 0)", lambda: np.minimum(x, 0)),
        ])
        with _default_hint("relu_forward's cache is its input: `return out, x`"):
            close(cache, x, case, what="cache", rtol=0, atol=0, mistakes=[
                ("relu_forward's cache is its input x, not the output", expected),
                ("cache the input x itself, not the mask (x > 0)", lambda: x > 0),
            ])


def _relu_grad_close(got, dout, x, case: Case, computed_from=()) -> None:
    """Fail unless ``got`` is d/dx for upstream ``dout`` and cache ``x``."""
    expected = nnlib.relu_backward(dout, x)
    close(got, expected, case, what="dx", computed_from=(dout, x, *computed_from), mistakes=[
        ("at x == 0 the gradient is 0: use the mask x > 0, not x >= 0", lambda: dout * (x >= 0)),
        ("multiply dout by the mask: you returned only the mask (x > 0)",
         lambda: (x > 0).astype(float)),
        ("pass dout only where x > 0: multiply it by the mask (x > 0)", dout),
        ("the mask comes from the forward input x (the cache), not from dout",
         lambda: dout * (dout > 0)),
        ("the mask is inverted: keep dout where x > 0 and set it to 0 elsewhere",
         lambda: dout * (x <= 0)),
        ("the mask is inverted: keep dout where x > 0 and set it to 0 elsewhere",
         lambda: dout * (x < 0)),
        ("multiply dout by the mask (x > 0), not by relu(x) itself",
         lambda: dout * np.maximum(x, 0)),
        (TRUNCATED, lambda: np.trunc(expected)),
    ])


@exercise("relu_backward")
def check_relu_backward(fn, hidden: bool) -> None:
    rng = case_rng(312)
    for case, x in _relu_cases(hidden):
        dout = _like(rng, x, x.shape)
        got = run(fn, case, dout, x, names=["dout", "cache"])
        _relu_grad_close(got, dout, x, case)
        if _numeric_ok(x):
            _numeric_close(got, lambda v: np.sum(dout * nnlib.relu_forward(v)[0]), x, case,
                           what="dx", computed_from=(dout,))
        _check_own_cache(fn, "relu_forward", (x,), dout, case,
                         lambda got, c, cache: _relu_grad_close(got, dout, x, c, cache),
                         "relu_forward must return `cache = x`, its input")


# --- sigmoid ----------------------------------------------------------------------------------
def _sigmoid_cases(hidden: bool) -> list[tuple[Case, np.ndarray]]:
    """(case, x of any shape): random, huge |x| (no overflow allowed), integers, ..."""
    rng = case_rng(321)
    large = np.array([[-1e4, -800.0, -30.0, 0.0], [30.0, 800.0, 1e4, 1e-3]])
    xs = [("random", rng.normal(size=(4, 5)) * 3), ("large |x| such as 1e4 and 800", large),
          ("integer x", rng.integers(-5, 6, size=(2, 3))), ("batch of 1", rng.normal(size=(1, 3)))]
    if hidden:
        extreme = np.array([[-1e300, -745.0, -710.0, -709.0], [709.0, 710.0, 745.0, 1e300]])
        xs += [("3-D", rng.normal(size=(2, 3, 4)) * 4), ("1-D", rng.normal(size=6)),
               ("extreme |x| up to 1e300", extreme),
               ("float32", (rng.normal(size=(3, 4)) * 5).astype(np.float32)),
               ("random, wide range", rng.normal(size=(10, 8)) * 20),
               ("x around 40", rng.normal(size=(3, 3)) + 40 * rng.choice([-1, 1], (3, 3)))]
    cases = [(Case(f"{label}: {_shapes(x=x)}"), x) for label, x in xs]
    numbered([c for c, _ in cases])
    return cases


@exercise("sigmoid_forward")
def check_sigmoid_forward(fn, hidden: bool) -> None:
    for case, x in _sigmoid_cases(hidden):
        try:
            got = run(fn, case, x, names=["x"], forbid_warnings=True)
        except Failure as failure:
            if "overflow" in failure.what and "exp" in failure.what:
                failure.hint = SIGMOID_OVERFLOW
            raise
        out, cache = _unpack(got, ("out", "cache"), case)
        expected = nnlib.sigmoid(x)
        xf = x.astype(float)
        close(out, expected, case, what="out", computed_from=(x,), mistakes=[
            ("the sigmoid is 1 / (1 + exp(-x)), with a minus sign in the exponent",
             lambda: nnlib.sigmoid(-xf)),
            ("that is tanh; the sigmoid is 1 / (1 + exp(-x))", lambda: np.tanh(xf)),
            ("return (out, cache) in this order: you returned x first", x),
            (TRUNCATED, lambda: np.trunc(expected)),
        ])
        with _default_hint("sigmoid_forward's cache is its output: `return out, out`"):
            close(cache, expected, case, what="cache", computed_from=(x,), mistakes=[
                ("sigmoid_forward's cache is its output out (sigmoid_backward computes "
                 "s * (1 - s) from it), not the input x", x),
            ])


def _sigmoid_grad_close(got, dout, s, case: Case, computed_from=()) -> None:
    """Fail unless ``got`` is d/dx for upstream ``dout`` and cache ``s = sigmoid(x)``."""
    close(got, nnlib.sigmoid_backward(dout, s), case, what="dx",
          computed_from=(dout, s, *computed_from), mistakes=[
        ("the cache is the forward's output s = sigmoid(x), not x: use dout * s * (1 - s) "
         "without applying the sigmoid again",
         lambda: dout * nnlib.sigmoid(s) * (1 - nnlib.sigmoid(s))),
        ("multiply by dout (chain rule): you returned only the local derivative s * (1 - s)",
         lambda: s * (1 - s)),
        ("the sigmoid's derivative is s * (1 - s), not s", lambda: dout * s),
        ("the sigmoid's derivative is s * (1 - s), not 1 - s", lambda: dout * (1 - s)),
        ("1 - s**2 is tanh's derivative; the sigmoid's is s * (1 - s)",
         lambda: dout * (1 - s**2)),
    ])


@exercise("sigmoid_backward")
def check_sigmoid_backward(fn, hidden: bool) -> None:
    rng = case_rng(322)
    for case, x in _sigmoid_cases(hidden):
        dout = _like(rng, x, x.shape)
        s = nnlib.sigmoid(x)  # float32 for a float32 x, as a float32 network's cache
        got = run(fn, case, dout, s, names=["dout", "cache"])
        _sigmoid_grad_close(got, dout, s, case)
        _numeric_close(got, lambda v: np.sum(dout * nnlib.sigmoid(v)), x, case, what="dx",
                       computed_from=(dout, s))
        _check_own_cache(fn, "sigmoid_forward", (x,), dout, case,
                         lambda got, c, cache: _sigmoid_grad_close(got, dout, s, c, cache),
                         "sigmoid_forward must return `cache = out`, its output, which "
                         "sigmoid_backward uses as s")


# --- loss gradients ---------------------------------------------------------------------------
@exercise("mse_loss_backward")
def check_mse_loss_backward(fn, hidden: bool) -> None:
    rng = case_rng(331)
    specs = [("random", (5, 3)), ("one output", (4, 1)), ("batch of 1", (1, 1))]
    if hidden:
        specs += [("random", (20, 2)), ("1-D", (3,)), ("3-D", (2, 3, 4)),
                  ("integer y_true", (6, 2)), ("integer y_pred and y_true", (3, 3)),
                  ("random", (50, 7)), ("float32 y_pred and y_true", (8, 3))]
    cases = numbered([Case(f"{label}: y_pred and y_true of shape {shape}")
                      for label, shape in specs])
    for case, (label, shape) in zip(cases, specs):
        y_pred, y_true = rng.normal(size=shape), rng.normal(size=shape)
        if "integer" in label:
            y_true = rng.integers(-3, 4, size=shape)
        if "integer y_pred" in label:
            y_pred = rng.integers(-3, 4, size=shape)
        if "float32" in label:
            y_pred, y_true = y_pred.astype(np.float32), y_true.astype(np.float32)
        got = run(fn, case, y_pred, y_true, names=["y_pred", "y_true"])
        diff = np.asarray(y_pred, dtype=float) - y_true
        size, n = diff.size, shape[0]

        def shape_hint(got_shape, shape=shape):
            if got_shape == ():
                return "the gradient has one entry per prediction, shaped like y_pred"
            return None

        close(got, nnlib.mse_loss_backward(y_pred, y_true), case, what="the gradient",
              shape_hint=shape_hint, computed_from=(y_pred, y_true), mistakes=[
                  ("the derivative of the square brings a factor 2: 2 * (y_pred - y_true) / size",
                   lambda: diff / size),
                  ("mse_loss averages over every entry: divide by y_pred.size, not by N "
                   "(the batch)", lambda: 2 * diff / n),
                  ("divide by y_pred.size (mse_loss averages over every entry) and keep the "
                   "factor 2", lambda: diff / n),
                  ("mse_loss is an average: divide by the number of entries, y_pred.size",
                   lambda: 2 * diff),
                  ("the sign is flipped: differentiate with respect to y_pred, "
                   "2 * (y_pred - y_true) / size", lambda: -2 * diff / size),
              ])
        _numeric_close(got, lambda v: nnlib.mse_loss(v, y_true), y_pred, case,
                       what="the gradient", computed_from=(y_true,))


def _score_cases(hidden: bool) -> list[tuple[Case, np.ndarray, np.ndarray]]:
    """(case, scores (N, C), labels (N,)): random, batch of 1, huge scores, ..."""
    rng = case_rng(341)
    specs = [("random", 4, 3), ("batch of 1", 1, 5), ("random", 7, 2)]
    if hidden:
        specs += [("random", 13, 10), ("one class", 2, 1), ("random", 64, 7),
                  ("every label the same", 6, 3)]
    cases = []
    for label, n, c in specs:
        y = np.zeros(n, dtype=int) + 2 if label == "every label the same" else \
            rng.integers(0, c, size=n)
        cases.append((Case(f"{label} scores (N={n}, C={c})"), rng.normal(size=(n, c)) * 2, y))
    big = np.array([[1e4, 0.0, -1e4], [1000.0, 1000.0, 999.0], [-1e4, -1e4 + 1, -1e4 + 2]])
    cases.append((Case("large scores such as 1e4 (N=3, C=3)"), big, np.array([1, 2, 0])))
    if hidden:
        cases.append((Case("scores around 800 (N=5, C=4)"),
                      rng.normal(size=(5, 4)) * 50 + 800, rng.integers(0, 4, size=5)))
        cases.append((Case("integer scores (N=3, C=4)"), rng.integers(-5, 5, size=(3, 4)),
                      np.array([0, 3, 1])))
        cases.append((Case("int32 labels (N=5, C=3)"), rng.normal(size=(5, 3)),
                      rng.integers(0, 3, size=5).astype(np.int32)))
        cases.append((Case("float32 scores (N=6, C=4)"),
                      (rng.normal(size=(6, 4)) * 2).astype(np.float32), rng.integers(0, 4, size=6)))
    numbered([c for c, _, _ in cases])
    return cases


@exercise("softmax_cross_entropy_backward")
def check_softmax_cross_entropy_backward(fn, hidden: bool) -> None:
    for case, scores, y in _score_cases(hidden):
        try:
            got = run(fn, case, scores, y, names=["scores", "y"], forbid_warnings=True)
        except Failure as failure:
            failure.hint = softmax_warning_hint(failure.what) or failure.hint
            raise
        n, c = scores.shape
        p = nnlib.softmax(scores)
        one_hot = np.eye(c)[y]

        def wrong_rows():
            d = p.copy()
            d[:, y] -= 1
            return d / n

        def column_softmax():
            s = np.asarray(scores, dtype=float)
            e = np.exp(s - s.max(axis=0))
            return (e / e.sum(axis=0) - one_hot) / n

        close(got, nnlib.softmax_cross_entropy_backward(scores, y), case, what="dscores",
              batch=n, computed_from=(scores,), mistakes=[
                  ("you forgot to average over the batch: divide (softmax - one_hot) by N",
                   lambda: p - one_hot),
                  ("you forgot to subtract the one-hot labels: (softmax(scores) - one_hot(y)) / N",
                   lambda: p / n),
                  ("subtract the one-hot labels, do not add them", lambda: (p + one_hot) / n),
                  ("subtract 1 only at [i, y[i]] of each row: `d[np.arange(N), y] -= 1`, "
                   "not `d[:, y] -= 1`", wrong_rows),
                  ("divide by N (the batch size), not by the number of entries N * C",
                   lambda: (p - one_hot) / (n * c)),
                  ("the softmax is taken over each row (axis=1), not each column (axis=0)",
                   column_softmax),
                  ("the gradient starts from the probabilities softmax(scores), not the scores",
                   lambda: (scores - one_hot) / n),
              ])
        if np.max(np.abs(scores)) < 100:
            _numeric_close(got, lambda v: nnlib.cross_entropy_loss(v, y), scores, case,
                           what="dscores", computed_from=(scores,))


# --- Glorot initialisation --------------------------------------------------------------------
def _glorot_mistakes(fan_in, fan_out, seed: int):
    """(hint, zero-argument callable) for the usual wrong draws from ``default_rng(seed)``."""
    size = (fan_in, fan_out)
    b = nnlib.init.glorot_bound(fan_in, fan_out)

    def draw(method, *args, **kwargs):
        return lambda: getattr(case_rng(seed), method)(*args, **kwargs)

    def uniform(bound):
        return draw("uniform", -bound, bound, size=size)

    bound = "wrong bound: b = sqrt(6 / (fan_in + fan_out))"
    return [
        ("draw from a uniform distribution (rng.uniform), not a normal one",
         draw("normal", 0.0, b, size=size)),
        ("that is Glorot's normal initialisation; this one is uniform: "
         "rng.uniform(-b, b, size=(fan_in, fan_out))",
         draw("normal", 0.0, np.sqrt(2 / (fan_in + fan_out)), size=size)),
        ("draw from a uniform distribution (rng.uniform), not a normal one",
         lambda: case_rng(seed).standard_normal(size) * b),
        (f"{bound}, not sqrt(1 / fan_in)", uniform(np.sqrt(1 / fan_in))),
        (f"{bound}, not sqrt(6 / fan_in) (that is He's uniform bound)",
         uniform(np.sqrt(6 / fan_in))),
        (f"{bound}, not sqrt(2 / (fan_in + fan_out)) (that is the normal version's std)",
         uniform(np.sqrt(2 / (fan_in + fan_out)))),
        (f"{bound}: you forgot the square root", uniform(6 / (fan_in + fan_out))),
        (f"{bound}: the square root covers the whole fraction",
         uniform(np.sqrt(6) / (fan_in + fan_out))),
        ("the interval is [-b, b], not [0, b]", draw("uniform", 0.0, b, size=size)),
        ("use rng.uniform(-b, b, ...): the lower bound -b comes first",
         draw("uniform", b, -b, size=size)),
        ("the right numbers in a different order: rng.uniform(-b, b, size=(fan_in, fan_out)) "
         "fills W row by row, in one call (not column by column, nor (fan_out, fan_in) "
         "transposed)",
         lambda: case_rng(seed).uniform(-b, b, size=size[::-1]).T),
    ]


def _glorot_fallback_hint(got, expected, b: float, rng_used: bool) -> str:
    """A hint for weights of the right shape that no known mistake explains."""
    call = "rng.uniform(-b, b, size=(fan_in, fan_out))"
    if not rng_used:
        return f"draw from the `rng` argument (it was not used): W = {call}"
    got = np.asarray(got, dtype=float)
    if np.array_equal(np.sort(got, axis=None), np.sort(expected, axis=None)):
        return (f"the right numbers in a different order: draw them in one call, {call}, "
                "not column by column")
    if np.all(np.abs(got) <= b):
        return (f"your weights lie in [-b, b] but are not the numbers this rng gives: use {call}"
                ", in one call, so that the same seed gives the same weights")
    return (f"some weights lie outside [-b, b], with b = sqrt(6 / (fan_in + fan_out)) = {b:.4g}"
            f"; draw them with {call}")


def check_weight_draws(fn, hidden: bool, *, reference: Callable, specs: list[tuple],
                       hidden_specs: list[tuple], mistakes: Callable, fallback_hint: Callable,
                       draw: str) -> None:
    """The checks of a weight initialiser ``fn(fan_in, fan_out, rng) -> W (fan_in, fan_out)``.

    specs / hidden_specs: ``(fan_in, fan_out, seed)`` per case. ``reference`` is nnlib's
    initialiser; ``mistakes(fan_in, fan_out, seed)`` the named mistakes (see ``close``);
    ``fallback_hint(got, expected, fan_in, fan_out, rng_used)`` a hint for weights of the right
    shape that no known mistake explains; ``draw`` the one call that draws W, as the student
    would write it. Each case also checks that ``rng`` drew nothing else.
    """
    specs = specs + (hidden_specs if hidden else [])
    cases = numbered([Case(f"fan_in={fi}, fan_out={fo}, rng = np.random.default_rng({seed})")
                      for fi, fo, seed in specs])
    for case, (fan_in, fan_out, seed) in zip(cases, specs):
        rng = case_rng(seed)
        got = run(fn, case, fan_in, fan_out, rng, names=["fan_in", "fan_out", "rng"],
                  mutation_ok=(2,))
        reference_rng = case_rng(seed)
        expected = reference(fan_in, fan_out, reference_rng)
        rng_used = rng.bit_generator.state != case_rng(seed).bit_generator.state
        size = (int(fan_in), int(fan_out))

        def shape_hint(shape, size=size):
            if tuple(shape) == size[::-1]:
                return "W has shape (fan_in, fan_out): draw with size=(fan_in, fan_out)"
            return None

        try:
            close(got, expected, case, what="W", rtol=1e-12, atol=1e-15, shape_hint=shape_hint,
                  mistakes=mistakes(*size, seed))
        except Failure as failure:
            if (failure.hint is None and isinstance(got, np.ndarray)
                    and got.shape == expected.shape and got.dtype.kind in "biuf"):
                failure.hint = fallback_hint(got, expected, *size, rng_used)
            raise
        if rng.bit_generator.state != reference_rng.bit_generator.state:
            raise Failure(f"the weights are right, but `rng` was used for more random numbers "
                          f"than one {draw} draws", case=case,
                          hint="draw the weights once and nothing else, so that what is drawn "
                               "next from the same rng is what it should be")


@exercise("glorot_uniform")
def check_glorot_uniform(fn, hidden: bool) -> None:
    check_weight_draws(
        fn, hidden, reference=nnlib.glorot_uniform,
        specs=[(3, 5, 401), (6, 2, 402), (4, 4, 403)],
        hidden_specs=[(784, 100, 404), (100, 10, 405), (1, 1, 406), (2, 7, 407),
                      (np.int64(5), np.int64(3), 408)],
        mistakes=_glorot_mistakes,
        fallback_hint=lambda got, expected, fan_in, fan_out, rng_used: _glorot_fallback_hint(
            got, expected, nnlib.init.glorot_bound(fan_in, fan_out), rng_used),
        draw="rng.uniform(-b, b, size=(fan_in, fan_out))")


# --- two-layer network ------------------------------------------------------------------------
def _net_cases(hidden: bool) -> list[tuple[Case, dict, np.ndarray, np.ndarray]]:
    """(case, params W1 (D, H) b1 (H,) W2 (H, C) b2 (C,), X (N, D), y (N,)).

    Hidden pre-activations stay clear of ReLU's kink, so numeric gradients are exact enough.
    """
    rng = case_rng(351)
    specs = [("random", 5, 4, 6, 3), ("batch of 1", 1, 3, 4, 2)]
    if hidden:
        specs += [("random", 8, 6, 10, 4), ("random", 20, 2, 5, 5), ("D = H = C", 6, 4, 4, 4),
                  ("integer X", 4, 3, 5, 3), ("random", 3, 7, 3, 6),
                  ("float32 X and params", 6, 4, 5, 3)]
    cases = []
    for label, n, d, h, c in specs:
        while True:
            X = rng.integers(-3, 4, size=(n, d)) if label == "integer X" else \
                rng.normal(size=(n, d))
            params = {"W1": rng.normal(size=(d, h)) * 0.7, "b1": rng.normal(size=h) * 0.5,
                      "W2": rng.normal(size=(h, c)) * 0.7, "b2": rng.normal(size=c) * 0.5}
            pre = X @ params["W1"] + params["b1"]
            if np.all(np.abs(pre) > 1e-2) and np.any(pre < 0):
                break
        if label.startswith("float32"):
            X = X.astype(np.float32)
            params = {key: value.astype(np.float32) for key, value in params.items()}
        y = rng.integers(0, c, size=n)
        shapes = _shapes(X=X, W1=params["W1"], W2=params["W2"])
        cases.append((Case(f"{label}: {shapes}, N={n}, C={c}"), params, X, y))
    numbered([c for c, *_ in cases])
    return cases


def _calls_own(fn, name: str) -> bool:
    """Whether ``fn``'s code calls a function ``name`` that is the student's own (not nnlib's)."""
    code = getattr(fn, "__code__", None)
    return code is not None and name in code.co_names and _own_function(fn, name) is not None


def _scaled_grads(params: dict, X, y, factor: float) -> dict:
    """The right gradients with dscores multiplied by ``factor`` (every gradient scales with it)."""
    _, grads = nnlib.two_layer_net(params, X, y)
    return {key: factor * value for key, value in grads.items()}


def _loss_gradient_hints(fn, n: int) -> tuple[str, str]:
    """Hints for every gradient N times too large, and N times too small: the loss gradient
    (the student's own softmax_cross_entropy_backward when two_layer_net calls it)."""
    own = "softmax_cross_entropy_backward"
    if _calls_own(fn, own):
        large = (f"every gradient is N = {n} times too large: the {own} your two_layer_net calls "
                 f"does not average over the batch; it must return (softmax(scores) - "
                 f"one_hot(y)) / N (run its check)")
        small = (f"every gradient is N = {n} times too small: your {own} already divides by N, "
                 f"so two_layer_net must not divide again")
    else:
        large = (f"every gradient is N = {n} times too large: the loss is an average over the "
                 f"batch, so dscores = (softmax(scores) - one_hot(y)) / N")
        small = (f"every gradient is N = {n} times too small: dscores = (softmax(scores) - "
                 f"one_hot(y)) / N divides by N once; do not divide again")
    return large, small


def _net_mistakes(params: dict, X, y, fn=None) -> tuple[list, dict]:
    """Known wrong variants: (for the loss, for each gradient). ``fn``: the candidate, whose
    own functions the hints may name."""
    W1, b1, W2, b2 = (params[k] for k in ("W1", "b1", "W2", "b2"))
    n = X.shape[0]
    h = X @ W1 + b1
    a = np.maximum(h, 0)
    p = nnlib.softmax(a @ W2 + b2)
    one_hot = np.eye(W2.shape[1])[y]
    ds = (p - one_hot) / n
    da = ds @ W2.T
    dh = da * (h > 0)
    relu = ("the backward pass must go through the ReLU: multiply by its mask (h > 0) "
            "before the first layer's gradients")
    bias_sum = "a bias gradient sums over the batch (axis=0); dscores is already divided by N"
    one_hot_hint = "subtract the one-hot labels: dscores = (softmax(scores) - one_hot(y)) / N"
    loss = [("apply the ReLU between the two affine layers: "
             "scores = relu(X @ W1 + b1) @ W2 + b2",
             lambda: nnlib.cross_entropy_loss(h @ W2 + b2, y))]
    grads = {
        "W2": [("dW2 = a.T @ dscores with a = relu(X @ W1 + b1), the second layer's input "
                "(not the pre-activation)", lambda: h.T @ ds),
               (one_hot_hint, lambda: a.T @ (p / n))],
        "b2": [(bias_sum, lambda: ds.mean(axis=0)), (one_hot_hint, lambda: (p / n).sum(axis=0))],
        "W1": [(relu, lambda: X.T @ da)],
        "b1": [(relu, lambda: da.sum(axis=0)), (bias_sum, lambda: dh.mean(axis=0))],
    }
    if n > 1:
        large, small = _loss_gradient_hints(fn, n)
        for key in grads:
            grads[key] += [(large, lambda key=key: _scaled_grads(params, X, y, n)[key]),
                           (small, lambda key=key: _scaled_grads(params, X, y, 1 / n)[key])]
    return loss, grads


@exercise("two_layer_net", blocks=("affine_forward", "affine_backward", "relu_forward",
                                    "relu_backward", "softmax_cross_entropy_backward"))
def check_two_layer_net(fn, hidden: bool) -> None:
    for case, params, X, y in _net_cases(hidden):
        got = run(fn, case, params, X, y, names=["params", "X", "y"])
        loss, grads = _unpack(got, ("loss", "grads"), case)
        if isinstance(loss, dict):
            raise Failure("the first item you returned is a dict", case=case,
                          hint="return the loss first, then the grads: `return loss, grads`")
        ref_loss, ref_grads = nnlib.two_layer_net(params, X, y)
        loss_mistakes, grad_mistakes = _net_mistakes(params, X, y, fn)
        n = X.shape[0]
        inputs = (X, params)
        close_scalar(loss, ref_loss, case, what="the loss", batch=n, mistakes=loss_mistakes,
                     computed_from=inputs)
        if isinstance(grads, dict) and any(str(k).startswith("d") for k in grads):
            raise Failure(f"grads has keys {', '.join(map(repr, grads))}; expected exactly "
                          "'W1', 'b1', 'W2', 'b2'", case=case,
                          hint="name each gradient like its parameter: grads['W1'] is "
                               "d loss / d W1")
        ordered = {k: ref_grads[k] for k in ("W2", "b2", "W1", "b1")}  # backward order
        close_dict(grads, ordered, case, what="grads", batch=n, mistakes=grad_mistakes,
                   computed_from=inputs)
        for key in ordered:
            def loss_of(v, key=key):
                return nnlib.two_layer_net({**params, key: v}, X, y)[0]
            _numeric_close(grads[key], loss_of, params[key], case, what=f"grads[{key!r}]",
                           computed_from=inputs)

