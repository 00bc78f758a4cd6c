"""Checks for notebook 04: gradient_descent and the update rules sgd, sgd_momentum, adagrad,
rmsprop, adam (and, through ``register_rule``, notebook 07's adamw).

An update rule is ``(w, dw, config=None) -> (next_w, config)``. Its check runs trajectories:
a few consecutive steps from one starting config (none, partial, changed hyperparameters, a
stored state, tiny gradients), feeding the config the candidate returned back into its next
call, as training does. After every step it compares ``next_w`` and the state kept in the
config (velocity; cache; m, v, t) with ``nnlib``'s reference, and checks that the
hyperparameters it was given are still there and the missing ones filled in with their
defaults. A hidden trajectory has float32 weights and gradients (a float32 network), which
may be computed in float32; float32 answers are compared with float32's tolerances.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

import nnlib

from ..compare import as_array, close, close_scalar, fitting_tolerance
from ..core import Case, Failure, case_rng, exercise, numbered, run

RTOL = 1e-6
"""Relative tolerance of every comparison; the absolute one scales with the expected values."""

_NO_RETURN = "the function has no `return` statement (or returns too early)"
_COPY_W = ("`w -= ...` (or `w[...] = ...`) changes the caller's weights: compute a new array, "
           "`next_w = w - ...`")
_DEFAULTS = ("fill in every missing key with its default, e.g. "
             "`config.setdefault('learning_rate', 1e-2)`; a config may hold only some keys")


# --- comparing --------------------------------------------------------------------------------
def _atol(expected: np.ndarray) -> float:
    """An absolute tolerance relative to the largest expected magnitude (values may be ~1e-20)."""
    return 1e-9 * float(np.max(np.abs(expected), initial=0.0)) + 1e-300


def _compare(got, expected, case: Case, what: str, mistakes=lambda: (), nonfinite_hint=None,
             computed_from=()):
    """``close`` for arrays of any magnitude; NaN/inf in ``got`` get ``nonfinite_hint``.

    ``mistakes()`` gives the known wrong variants; it is only called when ``got`` is wrong.
    A float32 ``got`` (or input in ``computed_from``) is compared with float32's tolerances.
    """
    expected = np.asarray(expected, dtype=float)
    arr = _as_array(got, case, what)
    if arr.shape == expected.shape and not np.all(np.isfinite(arr)):
        idx = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
        raise Failure(f"{what}{list(idx)} is {arr[idx]}; expected {float(expected[idx]):.7g}",
                      case=case, hint=nonfinite_hint)
    rtol, atol = fitting_tolerance(RTOL, _atol(expected), expected, arr, *computed_from)
    if arr.shape == expected.shape and np.allclose(arr, expected, rtol=rtol, atol=atol):
        return arr
    return close(arr, expected, case, what=what, rtol=rtol, atol=atol, mistakes=mistakes())


def _as_array(got, case: Case, what: str) -> np.ndarray:
    """``as_array``, and a Failure (not a crash) for a list that is no rectangular array."""
    if isinstance(got, list):
        try:
            got = np.asarray(got, dtype=float)
        except (TypeError, ValueError):
            raise Failure(f"{what} is a list that is not a rectangular array of numbers",
                          case=case, hint="return a NumPy array") from None
    return as_array(got, case, what)


def _quiet(fn: Callable) -> Callable:
    """``fn`` with NumPy's warnings silenced: wrong variants may divide by zero on purpose."""
    def wrapped(*args):
        with np.errstate(all="ignore"):
            return fn(*args)
    return wrapped


# --- the update rules' reference, defaults, state and known mistakes --------------------------
@dataclass
class Rule:
    """What the check of one update rule needs.

    zero_state(w): the state a missing config starts from. mistakes(w, dw, c) and
    state_mistakes(w, dw, c): known wrong next_w, and known wrong stored state per key, for
    one step from the full config ``c`` (defaults and state filled in). partial and custom:
    a config with some hyperparameters, and one with all of them changed.
    """

    reference: Callable
    defaults: dict
    zero_state: Callable[[np.ndarray], dict]
    missing_state: dict[str, str]
    mistakes: Callable
    state_mistakes: Callable
    partial: dict
    custom: dict
    nonfinite_hint: Callable[[dict, np.ndarray], str | None] = lambda c, got: None
    epsilon: bool = False  # whether tiny gradients (where epsilon matters) are a case
    resume: Callable[[np.random.Generator, tuple], dict] | None = None

    @property
    def state(self) -> tuple[str, ...]:
        return tuple(self.missing_state)


def _filled(rule: Rule, config: dict | None, w: np.ndarray) -> dict:
    """A deep copy of ``config`` with the defaults and the zero state filled in."""
    full = {**rule.defaults, **rule.zero_state(w)}
    full.update({k: v for k, v in (config or {}).items() if v is not None})
    return copy.deepcopy(full)


def _use_default(key, value):
    return f"use config['{key}'] when it is given; {value} is only its default"


@_quiet
def _sgd_mistakes(w, dw, c):
    lr = c["learning_rate"]
    return [
        ("you moved along the gradient: next_w = w - learning_rate * dw (minus)", w + lr * dw),
        (_use_default("learning_rate", 1e-2), w - 1e-2 * dw),
        ("multiply the gradient by the learning rate", w - dw),
        ("return the new weights w - learning_rate * dw, not only the step", -lr * dw),
    ]


@_quiet
def _momentum_mistakes(w, dw, c):
    lr, mu, v = c["learning_rate"], c["momentum"], c["velocity"]
    return [
        ("you stepped with the velocity from before this step: first update "
         "v = momentum*v - learning_rate*dw, then next_w = w + v", w + v),
        ("add the velocity: next_w = w + v, with v = momentum*v - learning_rate*dw",
         w - (mu * v - lr * dw)),
        ("config['velocity'] holds v = momentum*v - learning_rate*dw, which already points "
         "downhill; you used the opposite sign convention (v = momentum*v + learning_rate*dw, "
         "next_w = w - v)", w - (mu * v + lr * dw)),
        ("the velocity includes the learning rate: v = momentum*v - learning_rate*dw and "
         "next_w = w + v (not v = momentum*v + dw, next_w = w - learning_rate*v)",
         w - lr * (mu * v + dw)),
        ("read the velocity stored in config (`config.get('velocity')`); you started from "
         "zeros at every step", w - lr * dw),
        (_use_default("momentum", 0.9), w + 0.9 * v - lr * dw),
        (_use_default("learning_rate", 1e-2), w + mu * v - 1e-2 * dw),
    ]


@_quiet
def _momentum_state_mistakes(w, dw, c):
    lr, mu, v = c["learning_rate"], c["momentum"], c["velocity"]
    new = mu * v - lr * dw
    return {"velocity": [
        ("you stored the velocity with the opposite sign: config['velocity'] must hold "
         "v = momentum*v - learning_rate*dw (and next_w = w + v); storing -v gives the same "
         "next_w here, but not to code that reads or resumes the stored state", -new),
        ("config['velocity'] includes the learning rate: v = momentum*v - learning_rate*dw "
         "(you stored momentum*v + dw)", -new / lr),
        ("store the new velocity (after this step's update), not the old one", v),
        ("config['velocity'] holds the velocity v, not the new weights", w + new),
    ]}


_NO_DECAY = ("AdaGrad adds every dw**2 to the cache in full, cache = cache + dw**2, with no "
             "decay (a decay_rate is RMSProp's change to AdaGrad)")


@_quiet
def _adagrad_mistakes(w, dw, c):
    lr, eps, cache = c["learning_rate"], c["epsilon"], c["cache"]
    new = cache + dw**2
    return [
        (_NO_DECAY, w - lr * dw / (np.sqrt(0.99 * cache + 0.01 * dw**2) + eps)),
        (_NO_DECAY, w - lr * dw / (np.sqrt(0.9 * cache + 0.1 * dw**2) + eps)),
        ("epsilon goes outside the square root: dw / (np.sqrt(cache) + epsilon)",
         w - lr * dw / np.sqrt(new + eps)),
        ("divide by the square root of the cache: np.sqrt(cache) + epsilon",
         w - lr * dw / (new + eps)),
        ("update the cache first, then divide by its square root (you used the cache from "
         "before this step)", w - lr * dw / (np.sqrt(cache) + eps)),
        ("read the cache stored in config (`config.get('cache')`); you started from zeros at "
         "every step, so every step was learning_rate * dw / |dw|",
         w - lr * dw / (np.abs(dw) + eps)),
        ("subtract the step: next_w = w - learning_rate * dw / (np.sqrt(cache) + epsilon)",
         w + lr * dw / (np.sqrt(new) + eps)),
        (_use_default("learning_rate", 1e-2), w - 1e-2 * dw / (np.sqrt(new) + eps)),
    ]


@_quiet
def _adagrad_state_mistakes(w, dw, c):
    cache = c["cache"]
    new = cache + dw**2
    return {"cache": [
        ("add this step's dw**2 to the stored cache (cache = cache + dw**2); you stored only "
         "dw**2", dw**2),
        (_NO_DECAY, 0.99 * cache + 0.01 * dw**2),
        ("store the cache itself, not its square root", np.sqrt(new)),
        ("store the updated cache, not the old one", cache),
    ]}


_EPSILON = ("add config['epsilon'] to the denominator, outside the square root: you left it "
            "out or used a fixed value instead of the one in config")
_DECAY = ("decay_rate multiplies the old cache and (1 - decay_rate) the new dw**2: "
          "cache = decay_rate*cache + (1 - decay_rate)*dw**2")


@_quiet
def _rmsprop_mistakes(w, dw, c):
    lr, d, eps, cache = c["learning_rate"], c["decay_rate"], c["epsilon"], c["cache"]
    new = d * cache + (1 - d) * dw**2
    swapped = (1 - d) * cache + d * dw**2
    return [
        ("epsilon goes outside the square root: dw / (np.sqrt(cache) + epsilon)",
         w - lr * dw / np.sqrt(new + eps)),
        (_DECAY, w - lr * dw / (np.sqrt(swapped) + eps)),
        ("divide by the square root of the cache: np.sqrt(cache) + epsilon",
         w - lr * dw / (new + eps)),
        ("update the cache first, then divide by its square root (you used the cache from "
         "before this step)", w - lr * dw / (np.sqrt(cache) + eps)),
        ("read the cache stored in config (`config.get('cache')`); you started from zeros at "
         "every step", w - lr * dw / (np.sqrt((1 - d) * dw**2) + eps)),
        ("subtract the step: next_w = w - learning_rate * dw / (np.sqrt(cache) + epsilon)",
         w + lr * dw / (np.sqrt(new) + eps)),
        (_use_default("learning_rate", 1e-2), w - 1e-2 * dw / (np.sqrt(new) + eps)),
        (_EPSILON, w - lr * dw / (np.sqrt(new) + 1e-8)),
        (_EPSILON, w - lr * dw / np.sqrt(new)),
    ]


@_quiet
def _rmsprop_state_mistakes(w, dw, c):
    d, cache = c["decay_rate"], c["cache"]
    new = d * cache + (1 - d) * dw**2
    return {"cache": [
        (_DECAY, (1 - d) * cache + d * dw**2),
        ("store the cache itself, not its square root", np.sqrt(new)),
        ("store the updated cache, not the old one", cache),
    ]}


def _adam_parts(dw, c, b1=None, b2=None, fresh=False):
    """(t, m, v, m_hat, v_hat) after one Adam step from ``c`` (betas and state replaceable)."""
    b1 = c["beta1"] if b1 is None else b1
    b2 = c["beta2"] if b2 is None else b2
    m0, v0 = (0.0, 0.0) if fresh else (c["m"], c["v"])
    t = c["t"] + 1
    m = b1 * m0 + (1 - b1) * dw
    v = b2 * v0 + (1 - b2) * dw**2
    return t, m, v, m / (1 - b1**t), v / (1 - b2**t)


@_quiet
def _adam_mistakes(w, dw, c):
    lr, b1, b2, eps = c["learning_rate"], c["beta1"], c["beta2"], c["epsilon"]
    t, m, v, mh, vh = _adam_parts(dw, c)
    _, m_sw, v_sw, mh_sw, vh_sw = _adam_parts(dw, c, b1=b2, b2=b1)
    _, _, _, mh_0, vh_0 = _adam_parts(dw, c, fresh=True)
    mh_t0, vh_t0 = _adam_parts(dw, {**c, "t": 0, "m": 0.0, "v": 0.0})[3:]

    def step(mh, vh):
        return w - lr * mh / (np.sqrt(vh) + eps)

    return [
        ("bias-correct the moments: m_hat = m / (1 - beta1**t), v_hat = v / (1 - beta2**t)",
         step(m, v)),
        ("increment t first (t += 1), then bias-correct with the new t: the first step uses "
         "t = 1", step(m / (1 - b1 ** (t - 1)), v / (1 - b2 ** (t - 1)))),
        ("beta1 goes with the first moment m (and 1 - beta1**t), beta2 with the second moment v",
         step(mh_sw, vh_sw)),
        ("epsilon goes outside the square root: m_hat / (np.sqrt(v_hat) + epsilon)",
         w - lr * mh / np.sqrt(vh + eps)),
        ("the bias correction is 1 - beta**t (beta to the power t), not (1 - beta)**t",
         step(m / (1 - b1) ** t, v / (1 - b2) ** t)),
        ("divide by the square root of v_hat: np.sqrt(v_hat) + epsilon",
         w - lr * mh / (vh + eps)),
        ("read m and v stored in config; you started them from zeros at every step",
         step(mh_0, vh_0)),
        ("read m, v and t stored in config; you started from zeros (t = 0) at every step",
         step(mh_t0, vh_t0)),
        ("subtract the step: next_w = w - learning_rate * m_hat / (np.sqrt(v_hat) + epsilon)",
         w + lr * mh / (np.sqrt(vh) + eps)),
        (_use_default("learning_rate", 1e-3), w - 1e-3 * mh / (np.sqrt(vh) + eps)),
        (_EPSILON, w - lr * mh / (np.sqrt(vh) + 1e-8)),
        (_EPSILON, w - lr * mh / np.sqrt(vh)),
    ]


@_quiet
def _adam_state_mistakes(w, dw, c):
    t, m, v, mh, vh = _adam_parts(dw, c)
    _, m_sw, v_sw, _, _ = _adam_parts(dw, c, b1=c["beta2"], b2=c["beta1"])
    swap = "beta1 goes with the first moment m, beta2 with the second moment v"
    return {
        "t": [("t counts the steps: add 1 on every call and store it, config['t'] = t", t - 1),
              ("increment t once per step, not twice", t + 1)],
        "m": [("store the raw moment m in config['m'], not the bias-corrected m_hat", mh),
              (swap, m_sw)],
        "v": [("store the raw moment v in config['v'], not the bias-corrected v_hat", vh),
              (swap, v_sw)],
    }


def _adam_nonfinite(c: dict, got: np.ndarray) -> str:
    if c["t"] == 0 and not np.any(np.isfinite(got)):
        return ("with t = 0 the bias correction divides by 1 - beta**0 = 0: increment t "
                "(t += 1) before computing m_hat and v_hat")
    return ("look for a square root of a negative number (v accumulates dw**2) or a division "
            "by zero (epsilon belongs in the denominator)")


def _rmsprop_nonfinite(c: dict, got: np.ndarray) -> str:
    return ("look for a square root of a negative number (the cache accumulates dw**2) or a "
            "division by zero: divide by np.sqrt(cache) + epsilon")


_adagrad_nonfinite = _rmsprop_nonfinite


def _zeros(*keys):
    return lambda w: {key: np.zeros(np.shape(w)) for key in keys}


def _store(key: str, what: str) -> str:
    return f"store {what} in config['{key}'] so that the next step continues from it"


RULES = {
    "sgd": Rule(
        reference=nnlib.sgd, defaults={"learning_rate": 1e-2}, zero_state=lambda w: {},
        missing_state={}, mistakes=_sgd_mistakes, state_mistakes=lambda w, dw, c: {},
        partial={}, custom={"learning_rate": 0.1}),
    "sgd_momentum": Rule(
        reference=nnlib.sgd_momentum, defaults={"learning_rate": 1e-2, "momentum": 0.9},
        zero_state=_zeros("velocity"),
        missing_state={"velocity": _store("velocity", "the new velocity")},
        mistakes=_momentum_mistakes, state_mistakes=_momentum_state_mistakes,
        partial={"momentum": 0.5}, custom={"learning_rate": 0.1, "momentum": 0.5},
        resume=lambda rng, shape: {"velocity": 0.1 * rng.normal(size=shape)}),
    "adagrad": Rule(
        reference=nnlib.adagrad, defaults={"learning_rate": 1e-2, "epsilon": 1e-8},
        zero_state=_zeros("cache"), missing_state={"cache": _store("cache", "the updated cache")},
        mistakes=_adagrad_mistakes, state_mistakes=_adagrad_state_mistakes,
        partial={"learning_rate": 0.1}, custom={"learning_rate": 0.5, "epsilon": 1e-4},
        nonfinite_hint=_adagrad_nonfinite, epsilon=True,
        resume=lambda rng, shape: {"cache": rng.uniform(0.1, 2.0, size=shape)}),
    "rmsprop": Rule(
        reference=nnlib.rmsprop,
        defaults={"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8},
        zero_state=_zeros("cache"), missing_state={"cache": _store("cache", "the updated cache")},
        mistakes=_rmsprop_mistakes, state_mistakes=_rmsprop_state_mistakes,
        partial={"decay_rate": 0.9}, custom={"learning_rate": 0.1, "decay_rate": 0.5,
                                             "epsilon": 1e-4},
        nonfinite_hint=_rmsprop_nonfinite, epsilon=True,
        resume=lambda rng, shape: {"cache": rng.uniform(0.1, 2.0, size=shape)}),
    "adam": Rule(
        reference=nnlib.adam,
        defaults={"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
        zero_state=lambda w: {"m": np.zeros(np.shape(w)), "v": np.zeros(np.shape(w)), "t": 0},
        missing_state={"m": _store("m", "the first moment m"),
                       "v": _store("v", "the second moment v"),
                       "t": _store("t", "the step count t")},
        mistakes=_adam_mistakes, state_mistakes=_adam_state_mistakes,
        partial={"beta1": 0.5}, custom={"learning_rate": 0.1, "beta1": 0.5, "beta2": 0.75,
                                        "epsilon": 1e-4},
        nonfinite_hint=_adam_nonfinite, epsilon=True,
        resume=lambda rng, shape: {"m": 0.1 * rng.normal(size=shape),
                                   "v": rng.uniform(0.01, 1.0, size=shape), "t": 3}),
}


# --- trajectories -----------------------------------------------------------------------------
@dataclass
class Trajectory:
    """Consecutive steps from ``w`` with gradients ``grads`` (each shaped like w), starting
    from ``config`` (None: no config; ``pass_config=False``: the first call is ``fn(w, dw)``)."""

    case: Case
    w: np.ndarray
    grads: list[np.ndarray]
    config: dict | None = None
    pass_config: bool = True
    given: dict = field(default_factory=dict)


def _trajectories(rule: Rule, hidden: bool) -> list[Trajectory]:
    """Starting configs from defaults to a stored state, then (hidden) more shapes and seeds."""
    rng = case_rng(404)

    def make(label, shape, config=None, steps=5, scale=1.0, w_scale=1.0, pass_config=True,
             dtype=np.float64):
        w = (w_scale * rng.normal(size=shape)).astype(dtype)
        grads = [(scale * rng.normal(size=shape)).astype(dtype) for _ in range(steps)]
        given = {k: v for k, v in (config or {}).items() if k in rule.defaults}
        return Trajectory(Case(label), w, grads, config, pass_config, given)

    runs = [
        make("no config: every default, w of shape (3, 4), 5 steps", (3, 4), pass_config=False),
        make(f"config={rule.partial} ({'other keys' if rule.partial else 'every key'} "
             f"missing), w (5,), 5 steps", (5,), dict(rule.partial)),
        make(f"config={rule.custom}, w (2, 3), 5 steps", (2, 3), dict(rule.custom)),
    ]
    if rule.resume is not None:
        stored = "/".join(rule.state)
        runs.append(make(f"resuming from the {stored} stored in config, w (4, 2), 4 steps", (4, 2),
                         rule.resume(rng, (4, 2)), steps=4))
    if rule.epsilon:
        runs.append(make("tiny gradients ~1e-10, where epsilon matters; w (3,), 5 steps", (3,),
                         None, scale=1e-10, w_scale=1e-2))
    if hidden:
        runs += [
            make("config=None passed explicitly, w (1,), 3 steps", (1,), None, steps=3),
            make("config={} (empty), w (2, 3, 2), 5 steps", (2, 3, 2), {}),
            make(f"config={rule.custom}, w (6, 1), 20 steps", (6, 1), dict(rule.custom),
                 steps=20),
            make("large gradients ~1e6, w (2, 5), 4 steps", (2, 5), {}, steps=4, scale=1e6),
            make("no config: every default, w (7, 5), 8 steps (another seed)", (7, 5),
                 pass_config=False, steps=8),
        ]
        zeros = make("gradients with zero entries, w (3, 3), 4 steps", (3, 3), {}, steps=4)
        for g in zeros.grads:
            g[0] = 0.0
        runs.append(zeros)
        if rule.resume is not None:
            runs.append(make(f"resuming from the {stored} stored in config, and "
                             f"config={rule.custom}, w (5,), 6 steps", (5,),
                             {**rule.custom, **rule.resume(rng, (5,))}, steps=6))
        if rule.epsilon:
            runs.append(make("tiny gradients ~1e-10 and epsilon=1e-6, w (2, 2), 6 steps",
                             (2, 2), {"epsilon": 1e-6}, steps=6, scale=1e-10, w_scale=1e-2))
        runs.append(make("float32 w and gradients (a float32 network), config={}, w (4, 3), "
                         "6 steps", (4, 3), {}, steps=6, dtype=np.float32))
    numbered([r.case for r in runs])
    return runs


def _exception_hint(what: str, first_call_without_config: bool) -> str | None:
    """A hint for an exception a candidate raised, from its message."""
    if "required positional argument" in what and first_call_without_config:
        return "give config a default: `def update(w, dw, config=None)`"
    if "KeyError" in what:
        return _DEFAULTS
    if "NoneType" in what:
        return "config may be None: start with `if config is None: config = {}`"
    return None


def _call(fn, case: Case, step: int, w, dw, config, pass_config: bool):
    """One call of the candidate, as training makes it; prefixes failures with the step."""
    args = (w.copy(), dw.copy(), config) if pass_config else (w.copy(), dw.copy())
    try:
        return run(fn, case, *args, mutation_ok=(2,), names=["w", "dw", "config"])
    except Failure as failure:
        failure.what = f"step {step}: {failure.what}"
        if "modified its input `w`" in failure.what:
            failure.hint = _COPY_W
        else:
            failure.hint = failure.hint or _exception_hint(failure.what, not pass_config)
        raise


def _unpack_step(got, case: Case, step: int):
    """(next_w, config) from what the candidate returned, or a Failure saying what it was."""
    if got is None:
        raise Failure(f"step {step}: it returned None; expected a tuple (next_w, config)",
                      case=case, hint=_NO_RETURN)
    if isinstance(got, np.ndarray):
        raise Failure(f"step {step}: it returned one array of shape {got.shape}; expected a "
                      f"tuple (next_w, config)", case=case,
                      hint="return the new weights and the config: `return next_w, config`")
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        size = f" of {len(got)} items" if isinstance(got, (tuple, list)) else ""
        raise Failure(f"step {step}: it returned a {type(got).__name__}{size}; expected a tuple "
                      f"(next_w, config)", case=case)
    next_w, config = got
    if isinstance(next_w, dict) and not isinstance(config, dict):
        raise Failure(f"step {step}: the first item returned is a dict", case=case,
                      hint="return them in the order `next_w, config`")
    if not isinstance(config, dict):
        raise Failure(f"step {step}: the config returned has type {type(config).__name__}; "
                      f"expected the dict of hyperparameters and state", case=case,
                      hint="return the config (with its state updated) as the second item")
    return next_w, config


def _check_state(rule: Rule, config: dict, expected: dict, wrong: Callable[[], dict],
                 case: Case, step: int, computed_from=()):
    """The state kept in the candidate's ``config`` against the reference's ``expected``.

    ``wrong()`` gives the known wrong states, a list of (hint, value) per key.
    """
    for key, missing in rule.missing_state.items():
        what = f"step {step}: config['{key}']"
        if key not in config:
            keys = ", ".join(map(str, config)) or "none"
            raise Failure(f"step {step}: the config returned has no key '{key}' "
                          f"(its keys: {keys})", case=case, hint=missing)
        if key == "t":
            if not _equal(config[key], expected[key]):
                close_scalar(config[key], expected[key], case, what=what, atol=0,
                             mistakes=wrong().get(key, ()))
        else:
            _compare(config[key], expected[key], case, what,
                     mistakes=lambda key=key: wrong().get(key, ()), computed_from=computed_from)


def _check_kept(config: dict, given: dict, case: Case, step: int):
    """The hyperparameters the trajectory started with are still in the returned config."""
    for key, value in given.items():
        if key in config and _equal(config[key], value):
            continue
        now = f"came back as {config[key]!r}" if key in config else "is missing from it"
        raise Failure(f"step {step}: the config passed in had {key}={value!r}; the config "
                      f"returned {now}", case=case,
                      hint="update the config you were given (or a copy of it) and return "
                           "it: keep its hyperparameters so that the next step uses them")


def _check_defaults(rule: Rule, config: dict, given: dict, case: Case, step: int):
    """Every hyperparameter the trajectory did not give is in the returned config, at its
    default: the contract returns the config "defaults filled in"."""
    for key, default in rule.defaults.items():
        if key in given:
            continue
        hint = (f"fill the default into the config you return: `config.setdefault('{key}', "
                f"{default})` stores it (`config.get('{key}', {default})` only reads it)")
        if key not in config:
            keys = ", ".join(map(str, config)) or "none"
            raise Failure(f"step {step}: the config returned has no key '{key}' (its keys: "
                          f"{keys}); it must come back with the defaults filled in", case=case,
                          hint=hint)
        if not _equal(config[key], default):
            raise Failure(f"step {step}: the config returned has {key}={config[key]!r}; "
                          f"{key} was not given, so it must hold its default {default}",
                          case=case, hint=hint)


def _run_trajectory(fn, rule: Rule, traj: Trajectory) -> Failure | None:
    """Every step of ``traj``: the candidate's next_w, stored state and hyperparameters.

    Returns (rather than raises) the first step whose config lacks a default, so that the check
    can report a wrong next_w or state in a later trajectory first.
    """
    case, w = traj.case, traj.w
    unfilled = None
    mine, ref = copy.deepcopy(traj.config), copy.deepcopy(traj.config)
    for step, dw in enumerate(traj.grads, start=1):
        before = _filled(rule, ref, w)
        ref_w, ref = rule.reference(w.copy(), dw.copy(), copy.deepcopy(ref))
        got = _call(fn, case, step, w, dw, mine, traj.pass_config or step > 1)
        next_w, mine = _unpack_step(got, case, step)
        hint = rule.nonfinite_hint(before, np.asarray(next_w, dtype=float)) \
            if _is_numeric(next_w) else None
        _compare(next_w, ref_w, case, f"step {step}: next_w",
                 mistakes=lambda: rule.mistakes(w, dw, before), nonfinite_hint=hint,
                 computed_from=(w, dw))
        _check_state(rule, mine, ref, lambda: rule.state_mistakes(w, dw, before), case, step,
                     computed_from=(w, dw))
        _check_kept(mine, traj.given, case, step)
        if unfilled is None:
            try:
                _check_defaults(rule, mine, traj.given, case, step)
            except Failure as failure:
                unfilled = failure
        w = ref_w
    return unfilled


def _equal(a, b) -> bool:
    try:
        return bool(np.all(np.asarray(a == b)))
    except Exception:
        return False


def _is_numeric(x) -> bool:
    """Whether ``x`` is a real number or an array (or list) of them."""
    try:
        return np.asarray(x).dtype.kind in "biuf"
    except Exception:
        return False


def register_rule(name: str, rule: Rule):
    """Register the check of the update rule ``name``: trajectories of ``rule`` (see above)."""

    def check_rule(fn, hidden: bool) -> None:
        unfilled = [_run_trajectory(fn, rule, traj) for traj in _trajectories(rule, hidden)]
        first = next((failure for failure in unfilled if failure is not None), None)
        if first is not None:
            raise first

    check_rule.__name__ = f"check_{name}"
    check_rule.__doc__ = f"Steps of ``{name}(w, dw, config)`` against ``nnlib.{name}``."
    return exercise(name)(check_rule)


for _name, _rule in RULES.items():
    register_rule(_name, _rule)


# --- gradient descent -------------------------------------------------------------------------
def _bowl(shape: tuple, rng: np.random.Generator) -> Callable[[np.ndarray], np.ndarray]:
    """The gradient of a non-quadratic bowl: ``a*(w - c) + 0.5*sin(w)``, arrays shaped like w."""
    a = rng.uniform(0.5, 2.0, size=shape)
    c = rng.normal(size=shape)

    def grad_fn(w):
        return a * (w - c) + 0.5 * np.sin(w)

    return grad_fn


def _gd_cases(hidden: bool):
    """(case, grad_fn, w0, learning_rate, num_steps) for 1-D, 2-D, and (hidden) odd inputs."""
    rng = case_rng(400)
    specs = [("1-D w0 of shape (3,)", (3,), 0.1, 5),
             ("2-D w0 of shape (2, 3)", (2, 3), 0.3, 4),
             ("num_steps=0: only w0, shape (4,)", (4,), 0.1, 0)]
    if hidden:
        specs += [("w0 of shape (1,)", (1,), 0.5, 1),
                  ("3-D w0 of shape (2, 1, 3)", (2, 1, 3), 0.2, 6),
                  ("2-D w0 of shape (4, 2), another seed", (4, 2), 0.05, 12),
                  ("1-D w0 of shape (5,), 2 steps", (5,), 0.4, 2)]
    cases = []
    for label, shape, lr, n in specs:
        w0 = rng.normal(size=shape)
        cases.append((Case(f"{label}, learning_rate={lr}, num_steps={n}"), _bowl(shape, rng),
                      w0, lr, n))
    if hidden:
        w0 = np.array([3, -2, 5])
        cases.append((Case("integer w0 [3, -2, 5], learning_rate=0.25, num_steps=3"),
                      _bowl((3,), rng), w0, 0.25, 3))
    numbered([c[0] for c in cases])
    return cases


def _gd_shape_hint(got: np.ndarray, expected: np.ndarray, w_shape: tuple) -> str | None:
    """Name the mistake behind a path of the wrong shape (expected (n+1, *w_shape))."""
    rows = expected.shape[0]
    if got.shape == (rows - 1, *w_shape):
        if np.allclose(got, expected[1:]):
            return "start with w0: the result has num_steps + 1 rows, w0 first"
        return ("one step short: loop num_steps times; the result has num_steps + 1 rows, w0 "
                "and one per step")
    if got.shape == (rows + 1, *w_shape):
        return "one row too many: w0 followed by exactly num_steps iterates"
    if got.shape == w_shape:
        return "return every iterate stacked (w0 first), not only the last w"
    if len(w_shape) and got.shape == (rows * w_shape[0], *w_shape[1:]):
        return ("stack the iterates along a new first axis, `np.stack(path)` or "
                "`np.array(path)`: np.concatenate/np.vstack join them along their first axis")
    return None


def _gd_mistakes(grad_fn, w0, lr, n):
    w0f = np.asarray(w0, dtype=float)
    at_w0 = np.stack([w0f - k * lr * grad_fn(w0f) for k in range(n + 1)])
    return [
        ("move downhill: w <- w - learning_rate * grad_fn(w) (you added the gradient)",
         lambda: nnlib.gradient_descent(grad_fn, w0, -lr, n)),
        ("evaluate grad_fn at the current iterate w on every step, not at w0", at_w0),
        ("multiply the gradient by learning_rate", lambda: nnlib.gradient_descent(grad_fn, w0,
                                                                                  1.0, n)),
    ]


def _same_rows(got: np.ndarray, expected: np.ndarray) -> bool:
    """Whether the rows from step 1 on are all equal where the right ones differ."""
    return (got.shape[0] > 2 and bool(np.all(got[1:] == got[1]))
            and not np.allclose(expected[1], expected[2]))


@exercise("gradient_descent")
def check_gradient_descent(fn, hidden: bool) -> None:
    """``gradient_descent(grad_fn, w0, lr, n)`` -> (n + 1, *w0.shape) against nnlib's."""
    for case, grad_fn, w0, lr, n in _gd_cases(hidden):
        try:
            got = run(fn, case, grad_fn, w0, lr, n,
                      names=["grad_fn", "w0", "learning_rate", "num_steps"])
        except Failure as failure:
            if "modified its input `w0`" in failure.what:
                failure.hint = ("`w = w0` does not copy the array, so `w -= ...` changes the "
                                "caller's w0: start from `w = np.array(w0, dtype=float)`")
            raise
        expected = nnlib.gradient_descent(grad_fn, w0, lr, n)
        path = _as_array(got, case, "your path")
        hint = _gd_shape_hint(path, expected, w0.shape)
        if path.shape != expected.shape:
            raise Failure(f"your path has shape {path.shape}; expected {expected.shape} "
                          f"(num_steps + 1 = {n + 1} rows of shape {w0.shape})", case=case,
                          hint=hint)
        if path.dtype.kind != "f":
            raise Failure(f"your path has dtype {path.dtype}; expected floats", case=case,
                          hint="start from a float copy: `w = np.array(w0, dtype=float)`")
        try:
            close(path, expected, case, what="your path", rtol=RTOL, atol=1e-9,
                  mistakes=_gd_mistakes(grad_fn, w0, lr, n))
        except Failure as failure:
            if _same_rows(path, expected):
                failure.hint = ("the rows from step 1 on are all equal: you appended the same "
                                "array object each time and changed it in place (`w -= ...`); "
                                "append a copy (`w.copy()`) or write `w = w - ...`")
            raise
