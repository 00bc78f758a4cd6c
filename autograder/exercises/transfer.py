"""Checks for notebook 06: extract_features, replace_head, fine_tune_step.

Models are parameter dicts ``W1 b1 ... WL bL`` (``Wi`` (fan_in, fan_out), ``bi`` (fan_out,))
with ReLU after every layer but the last. Every layer of a test model has its own width, and
its biases are non-zero, so a wrong layer count shows in the shape and a missing bias or ReLU
in the values. ``replace_head`` is replayed with an identically seeded generator.
"""

from __future__ import annotations

import numpy as np

import nnlib

from ..compare import as_array, close, close_dict, matches
from ..core import Case, Failure, case_rng, exercise, numbered, run

RTOL = 1e-9
"""The arithmetic is short, so every correct algebra agrees to ~1e-15."""


# --- models -----------------------------------------------------------------------------------
def _model(sizes: list[int], rng: np.random.Generator) -> dict:
    """Params ``W1 b1 ... WL bL`` for layer widths ``sizes`` = [D, H1, ..., C], biases non-zero."""
    params = nnlib.init_mlp(sizes, rng)
    for i in range(1, len(sizes)):
        params[f"b{i}"] = rng.normal(scale=0.5, size=sizes[i])
    return params


def _forward(params: dict, X: np.ndarray, upto: int, *, relu_last: bool = True,
             relu: bool = True, bias: bool = True) -> np.ndarray:
    """Outputs (N, width of layer ``upto``) of layers 1..upto, with the named parts left out."""
    h = np.asarray(X, dtype=float)
    for i in range(1, upto + 1):
        h = h @ params[f"W{i}"] + (params[f"b{i}"] if bias else 0.0)
        if relu and (relu_last or i < upto):
            h = np.maximum(h, 0.0)
    return h


def _layers(params: dict) -> int:
    return sum(1 for key in params if key.startswith("W"))


def _call(fn, case: Case, *args, names: list[str], mutation_ok=(), trainable=None):
    """``run``, naming how the candidate changed its input ``params`` when it did.

    ``trainable``: the keys a ``fine_tune_step`` updates (None for ``replace_head``).
    """
    params = args[0]
    before = {key: (value, np.array(value, copy=True)) for key, value in params.items()}
    try:
        return run(fn, case, *args, names=names, mutation_ok=mutation_ok)
    except Failure as failure:
        if "modified its input `params`" in failure.what:
            failure.hint = _how_params_changed(before, params, trainable)
        elif "modified its input `grads`" in failure.what:
            failure.hint = ("grads are read, never written: compute the step into a new array, "
                            "`params[key] - learning_rate * grads[key]`")
        raise


def _how_params_changed(before: dict, params: dict, trainable) -> str:
    """The hint for a candidate that modified ``params``; ``before``: key -> (array, copy)."""
    in_place = [key for key, (array, copy) in before.items()
                if key in params and params[key] is array and not np.array_equal(array, copy)]
    stepped = [key for key in in_place if trainable is not None and key in trainable]
    if stepped:
        return (f"you updated params[{stepped[0]!r}] in place (`-=` on the caller's array, also "
                "through `dict(params)`, which copies the dict but shares its arrays): "
                "compute a new array, `params[key] - learning_rate * grads[key]`")
    if in_place and trainable is not None:
        return (f"you changed the frozen params[{in_place[0]!r}] in place: a frozen array keeps "
                "its values, and params is left as it was")
    if in_place:
        return (f"you changed params[{in_place[0]!r}] in place: leave the caller's arrays as "
                "they are (work on copies)")
    assigned = [key for key in params if key not in before or params[key] is not before[key][0]]
    assigned += [key for key in before if key not in params]
    keep = ("with copies of the arrays you keep" if trainable is None
            else "with the new arrays")
    return (f"you assigned to params[{assigned[0]!r}] (or removed it): that changes the "
            f"caller's dict. Build a new dict {keep} and leave params as it was"
            if assigned else "build a new dict and leave params and its arrays as they were")


def _as_model(got, expected: dict, case: Case, hint: str) -> dict:
    """``got`` as a dict with exactly the keys of ``expected``; ``hint`` when keys differ."""
    if got is None:
        raise Failure("your result is None; expected a dict", case=case,
                      hint="the function has no `return` statement (or returns too early)")
    if not isinstance(got, dict):
        raise Failure(f"your result has type {type(got).__name__}; expected a dict with keys "
                      f"{', '.join(expected)}", case=case)
    if set(got) != set(expected):
        keys = ", ".join(map(str, got)) or "none"
        raise Failure(f"your result has keys {keys}; expected exactly {', '.join(expected)}",
                      case=case, hint=hint)
    for key, value in expected.items():
        if got[key] is None:
            raise Failure(f"your result[{key!r}] is None; expected an array of shape "
                          f"{value.shape}", case=case)
    return got


def _not_the_input(got, params: dict, case: Case, hint: str) -> None:
    if got is params:
        raise Failure("it returned the params dict itself; expected a new dict", case=case,
                      hint=hint)


# --- extract_features -------------------------------------------------------------------------
def _feature_cases(hidden: bool):
    """(case, params, X): L = 2, 3, 4 (and 5), distinct widths, batches of one and more."""
    rng = case_rng(600)
    specs = [([5, 7, 3], 4), ([6, 8, 5, 3], 1), ([4, 9, 7, 5, 2], 6)]
    if hidden:
        specs += [([3, 4, 10], 1), ([10, 6, 12, 4], 20), ([2, 5, 3, 8, 6], 3),
                  ([4, 6, 8, 3, 7, 2], 5), ([3, 1, 2], 4)]
    cases = []
    for sizes, n in specs:
        label = f"L={len(sizes) - 1} layers of widths {sizes}, X of shape ({n}, {sizes[0]})"
        cases.append((Case(label), _model(sizes, rng), rng.normal(size=(n, sizes[0]))))
    if hidden:
        sizes = [6, 9, 4, 3]
        cases.append((Case(f"large inputs ~100, L=3 layers of widths {sizes}, X (5, 6)"),
                      _model(sizes, rng), 100 * rng.normal(size=(5, 6))))
    numbered([c[0] for c in cases])
    return cases


def _features_shape_hint(shape: tuple, params: dict, X: np.ndarray) -> str | None:
    """Name the layer whose output has ``shape``, when the features come from the wrong one."""
    L = _layers(params)
    widths = [X.shape[1]] + [params[f"W{i}"].shape[1] for i in range(1, L + 1)]
    if len(shape) != 2 or shape[0] != X.shape[0] or shape[1] not in widths:
        if len(shape) == 2 and shape == (widths[L - 1], X.shape[0]):
            return "your features are transposed: one row per sample, (N, H)"
        return None
    layer = widths.index(shape[1])
    if layer == L:
        return (f"you also applied the head (layer {L}): the features are the activations "
                f"after the ReLU of layer L-1 = {L - 1}")
    count = f"with L counted from the keys (W1 ... W{L})"
    if layer == L - 2:
        return (f"one layer short: the features are the output of layer L-1 = {L - 1}; loop "
                f"`for i in range(1, L)`, {count}")
    return (f"your features have the width of layer {layer}'s output: loop over every hidden "
            f"layer 1..L-1, {count}")


@exercise("extract_features")
def check_extract_features(fn, hidden: bool) -> None:
    """``extract_features(params, X)`` -> (N, H_{L-1}) against nnlib's."""
    for case, params, X in _feature_cases(hidden):
        got = _call(fn, case, params, X, names=["params", "X"])
        L = _layers(params)
        close(got, nnlib.extract_features(params, X), case, rtol=RTOL,
              atol=1e-9, shape_hint=lambda shape: _features_shape_hint(shape, params, X),
              mistakes=[
                  ("apply the ReLU after the last hidden layer too: the features are the "
                   f"activations after the ReLU of layer L-1 = {L - 1}",
                   lambda: _forward(params, X, L - 1, relu_last=False)),
                  ("apply a ReLU after every hidden layer: h = np.maximum(h @ W + b, 0)",
                   lambda: _forward(params, X, L - 1, relu=False)),
                  ("add each layer's bias: h @ W_i + b_i",
                   lambda: _forward(params, X, L - 1, bias=False)),
              ])


# --- replace_head -----------------------------------------------------------------------------
def _head_cases(hidden: bool):
    """(case, params, num_classes, seed): new heads narrower, wider, or as wide as the old."""
    rng = case_rng(610)
    specs = [([5, 7, 4], 3), ([6, 8, 5, 2], 4), ([3, 6, 5, 9, 7], 7)]
    if hidden:
        specs += [([4, 6, 3], 3), ([5, 4, 6, 3], 1), ([8, 10, 12, 5], 20),
                  ([2, 3, 4, 5, 6, 7], 9), ([7, 2, 4], 11)]
    cases = []
    for k, (sizes, num_classes) in enumerate(specs):
        label = (f"L={len(sizes) - 1} layers of widths {sizes}, a new head for "
                 f"{num_classes} classes")
        cases.append((Case(label), _model(sizes, rng), num_classes, 6100 + k))
    numbered([c[0] for c in cases])
    return cases


def _head_shape_hint(got, old_W: np.ndarray, fan_in: int, num_classes: int, L: int):
    shape = np.shape(got)
    if shape == old_W.shape and matches(got, old_W):
        return f"you kept the old head: W{L} must be a new draw, glorot_uniform(fan_in, " \
               f"num_classes, rng)"
    if shape == (num_classes, fan_in):
        return (f"W{L} is transposed: it has shape (fan_in, num_classes) = ({fan_in}, "
                f"{num_classes}), a row per input from layer L-1 and a column per class")
    if shape == (old_W.shape[1], num_classes):
        return (f"fan_in is the number of rows of the old head, W{L}.shape[0] = {fan_in} (the "
                f"width of layer L-1); you used its number of columns (the old classes)")
    if shape == (fan_in, old_W.shape[1]):
        return f"the new head has num_classes = {num_classes} columns, not the old head's"
    return None


def _head_draws(fan_in: int, num_classes: int, old_classes: int, seed: int):
    """Known wrong draws of the head from the generator seeded with ``seed``."""
    def draw(rows, cols, bound):
        return case_rng(seed).uniform(-bound, bound, size=(rows, cols))

    b_old_out = np.sqrt(6 / (fan_in + old_classes))
    b_old_in = np.sqrt(6 / (old_classes + num_classes))
    return [
        ("draw with size=(fan_in, num_classes) directly; you drew (num_classes, fan_in) and "
         "transposed, which gives other numbers",
         draw(num_classes, fan_in, np.sqrt(6 / (fan_in + num_classes))).T),
        ("the bound is b = sqrt(6 / (fan_in + fan_out)) with fan_out = num_classes, the new "
         "head's width; you used the old head's number of classes", draw(fan_in, num_classes,
                                                                          b_old_out)),
        ("fan_in is the number of rows of the old head (the width of layer L-1); your bound used "
         "the old number of classes", draw(fan_in, num_classes, b_old_in)),
    ]


def _draw_hint(got: np.ndarray, expected: np.ndarray, bound: float) -> str | None:
    """A hint for a head of the right shape whose values are not the expected draws."""
    ratio = np.median(got / expected)
    if np.isfinite(ratio) and np.allclose(got, ratio * expected, rtol=1e-6):
        return (f"these are the right draws times {ratio:.4g}: the bound is "
                f"b = sqrt(6 / (fan_in + num_classes)) = {bound:.4g}")
    if np.all(np.abs(got) <= bound):
        return ("your values are in the right range but are not the draws expected from this "
                "rng: call glorot_uniform(fan_in, num_classes, rng) (that is, "
                "rng.uniform(-b, b, size=(fan_in, num_classes))) once, before drawing anything "
                "else from rng, and use the rng argument (no new generator)")
    return None


def _check_head(W, b, params: dict, expected: dict, seed: int, case: Case) -> None:
    """The new head ``W`` (fan_in, num_classes) and ``b`` (num_classes,) of the candidate."""
    L = _layers(params)
    old_W, old_b = params[f"W{L}"], params[f"b{L}"]
    W_ref = expected[f"W{L}"]
    fan_in, num_classes = W_ref.shape
    mistakes = [(f"you kept the old head: W{L} must be a new draw", old_W)]
    mistakes += _head_draws(fan_in, num_classes, old_W.shape[1], seed)
    try:
        close(W, W_ref, case, what=f"your result['W{L}']", rtol=RTOL, atol=0, mistakes=mistakes,
              shape_hint=lambda s: _head_shape_hint(W, old_W, fan_in, num_classes, L))
    except Failure as failure:
        if _is_float_array(W, W_ref.shape) and not any(matches(W, v) for _, v in mistakes):
            bound = nnlib.init.glorot_bound(fan_in, num_classes)
            failure.hint = _draw_hint(np.asarray(W, dtype=float), W_ref, bound) or failure.hint
        raise
    reset = f"the new bias starts at zeros: b{L} = np.zeros(num_classes)"
    kept_bias = f"you kept the old bias: {reset}"
    try:
        close(b, expected[f"b{L}"], case, what=f"your result['b{L}']", rtol=0, atol=0,
              mistakes=[(kept_bias, old_b)],
              shape_hint=lambda s: kept_bias if matches(b, old_b) else reset)
    except Failure as failure:
        failure.hint = failure.hint or reset
        raise


def _is_float_array(x, shape: tuple) -> bool:
    """Whether ``x`` is a numeric array of ``shape`` (for picking a mistake heuristic)."""
    try:
        return np.asarray(x, dtype=float).shape == shape
    except Exception:
        return False


@exercise("replace_head")
def check_replace_head(fn, hidden: bool) -> None:
    """``replace_head(params, num_classes, rng)`` -> a new dict against nnlib's, same seed."""
    for case, params, num_classes, seed in _head_cases(hidden):
        got = _call(fn, case, params, num_classes, case_rng(seed),
                    names=["params", "num_classes", "rng"], mutation_ok=(2,))
        expected = nnlib.replace_head(params, num_classes, case_rng(seed))
        _not_the_input(got, params, case, hint="build a new dict of copies, e.g. "
                                              "`{key: value.copy() for key, value in ...}`")
        got = _as_model(got, expected, case, hint="keep every key of params: the same keys, "
                                                  "with a new head")
        L = _layers(params)
        for key in expected:
            if key not in (f"W{L}", f"b{L}"):
                _copied(got[key], params[key], key, L, case)
        _check_head(got[f"W{L}"], got[f"b{L}"], params, expected, seed, case)


def _copied(got, original: np.ndarray, key: str, L: int, case: Case) -> None:
    """A hidden layer's array, which ``replace_head`` copies unchanged: a new array."""
    try:
        got = close(got, original, case, what=f"your result[{key!r}]", rtol=0, atol=0)
    except Failure as failure:
        failure.hint = failure.hint or (f"the layers before the head (1..L-1 = 1..{L - 1}) are "
                                        f"copied unchanged: only W{L} and b{L} are new")
        raise
    if np.shares_memory(got, original):
        raise Failure(f"your result[{key!r}] is the array params[{key!r}] itself (or a view of "
                      "it): your new model shares arrays with the pretrained one", case=case,
                      hint="copy them, e.g. `params[k].copy()` (`dict(params)` copies the dict, "
                           "not its arrays); otherwise training the new model in place changes "
                           "the pretrained one too")


# --- fine_tune_step ---------------------------------------------------------------------------
def _tune_cases(hidden: bool):
    """(case, params, grads, trainable, learning_rate), trainable as list, set or tuple.

    One visible case has a trainable key whose gradient is zero (a dead unit's bias): its new
    value equals the old, but it must still be a new array."""
    rng = case_rng(620)
    specs = [([5, 7, 6, 3], ["W3", "b3"], 0.1, None),
             ([4, 8, 6, 2], {"W2", "b2", "W3", "b3"}, 0.5, "b2"),
             ([3, 5, 2], ("W1", "b1", "W2", "b2"), 0.01, None)]
    if hidden:
        specs += [([4, 6, 3], [], 0.1, None),
                  ([6, 5, 4, 3, 2], ["W1", "b1"], 1.0, None),
                  ([3, 7, 4, 5], ["W1", "W2", "W3"], 0.2, "W2"),
                  ([2, 1, 3], {"b2"}, 0.05, None)]
    cases = []
    for sizes, trainable, lr, zero in specs:
        params = _model(sizes, rng)
        grads = {key: rng.normal(size=value.shape) for key, value in params.items()}
        label = (f"L={len(sizes) - 1} layers of widths {sizes}, trainable={trainable!r}, "
                 f"learning_rate={lr}")
        if zero is not None:
            grads[zero] = np.zeros_like(grads[zero])
            label += f", grads[{zero!r}] all zeros"
        cases.append((Case(label), params, grads, trainable, lr))
    numbered([c[0] for c in cases])
    return cases


def _step(params: dict, grads: dict, keys, lr: float) -> dict:
    """Params with the keys in ``keys`` moved by ``-lr * grads[key]``."""
    return {k: p - lr * grads[k] if k in keys else p for k, p in params.items()}


def _tune_mistakes(params: dict, grads: dict, trainable, lr: float):
    frozen = [k for k in params if k not in trainable]
    return [
        ("only the keys in trainable take a step: you updated the frozen arrays too",
         _step(params, grads, params, lr)),
        ("subtract the gradient: params[key] - learning_rate * grads[key]",
         _step(params, grads, trainable, -lr)),
        ("the condition is inverted: keys in trainable take the step, the others keep their "
         "values", _step(params, grads, frozen, lr)),
        ("multiply the gradient by learning_rate", _step(params, grads, trainable, 1.0)),
    ]


def _whole_match(got: dict, variants) -> str | None:
    """The hint of the first variant dict that ``got`` matches at every key."""
    for hint, variant in variants:
        if all(matches(got.get(k), v) for k, v in variant.items()):
            return hint
    return None


@exercise("fine_tune_step")
def check_fine_tune_step(fn, hidden: bool) -> None:
    """``fine_tune_step(params, grads, trainable, lr)`` -> a new dict against nnlib's.

    The sharing contract (nnlib.transfer): trainable arrays are new arrays; frozen ones keep
    exactly their values and may be the arrays of ``params`` themselves or copies; no input is
    modified (``run`` sees that, ``_call`` names how)."""
    for case, params, grads, trainable, lr in _tune_cases(hidden):
        got = _call(fn, case, params, grads, trainable, lr,
                    names=["params", "grads", "trainable", "learning_rate"],
                    trainable=set(trainable))
        _not_the_input(got, params, case, hint="build a new dict, e.g. "
                                              "`{key: ... for key in params}`, and return it")
        expected = nnlib.fine_tune_step(params, grads, trainable, lr)
        keep = "keep every key of params: the frozen arrays go into the new dict unchanged"
        got = _as_model(got, expected, case, hint=keep)
        variants = _tune_mistakes(params, grads, trainable, lr)
        try:
            close_dict(got, expected, case, rtol=RTOL, atol=1e-12,
                       mistakes={k: [(h, v[k]) for h, v in variants] for k in expected})
        except Failure as failure:
            failure.hint = _whole_match(got, variants) or failure.hint
            raise
        for key in params:
            value = as_array(got[key], case)
            if key not in trainable and not np.array_equal(value, params[key]):
                raise Failure(f"your result[{key!r}] differs from params[{key!r}], which is "
                              f"frozen", case=case, hint="frozen arrays keep exactly their values")
            if key in trainable and np.shares_memory(value, params[key]):
                raise Failure(f"your result[{key!r}] is the array params[{key!r}] itself (or a "
                              f"view of it), though {key!r} is trainable", case=case,
                              hint="a trainable key gets a new array, `params[key] - "
                                   "learning_rate * grads[key]`, even when its gradient is "
                                   "zero; only frozen arrays may be shared with params")
