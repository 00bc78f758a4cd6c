"""Comparing a candidate's answer with the reference, and naming the likely mistake.

Every helper raises ``Failure`` with what is wrong (type, shape, or the worst element: index,
expected, got, relative error) and a hint: first from the check's own known wrong variants
(``mistakes``: pairs of a hint and the value that mistake produces), then from generic patterns
(sign flipped, factor of N, transposed, all zeros).

Tolerances follow the precision the candidate computes in: when its answer, or an input it was
computed from (``computed_from``), is float32, every comparison widens to float32's tolerances
(``fitting_tolerance``), whatever the check asked for.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable

import numpy as np

from .core import Case, Failure

NONFINITE_HINT = ("a nan or inf appeared: look for a division by zero, the log of 0, or np.exp "
                  "overflowing on large inputs")

Mistakes = Iterable[tuple[str, object]]
"""(hint, value or zero-argument callable giving the value that this mistake produces)."""

FLOAT32_RTOL = 1e-4
FLOAT32_ATOL = 1e-4
"""Tolerances for an answer computed in float32 (epsilon 1.2e-7): relative ~1000 epsilons, and
absolute that many times the largest expected magnitude, for entries that cancel to near 0
(e.g. ``1 - s`` for a saturated sigmoid ``s``, or ``x - mean`` for x around 1000)."""


def low_precision(*values) -> bool:
    """Whether any of ``values`` (arrays, NumPy scalars, or tuples, lists and dicts of them) holds
    floats of less than 64 bits, such as float32."""
    for value in values:
        if isinstance(value, dict):
            value = list(value.values())
        if isinstance(value, (list, tuple)):
            if low_precision(*value):
                return True
            continue
        dtype = getattr(value, "dtype", None)
        if isinstance(dtype, np.dtype) and dtype.kind in "fc" and dtype.itemsize < (
                8 if dtype.kind == "f" else 16):
            return True
    return False


def fitting_tolerance(rtol: float, atol: float, expected, *computed_from) -> tuple[float, float]:
    """``(rtol, atol)``, widened to float32's when any of ``computed_from`` is float32.

    ``computed_from``: the candidate's answer and the inputs it was computed from. The absolute
    tolerance then scales with the largest finite magnitude in ``expected``.
    """
    if not low_precision(*computed_from):
        return rtol, atol
    with np.errstate(all="ignore"):
        magnitudes = np.abs(np.asarray(expected, dtype=float))
    finite = magnitudes[np.isfinite(magnitudes)]
    scale = float(finite.max()) if finite.size else 0.0
    return max(rtol, FLOAT32_RTOL), max(atol, FLOAT32_ATOL * scale)


def _fmt(x) -> str:
    if isinstance(x, (float, np.floating)):
        return f"{float(x):.7g}"
    return repr(x)


def as_array(got, case: Case, what: str = "your result") -> np.ndarray:
    """``got`` as a numeric ndarray, or a Failure saying what came back instead."""
    if got is None:
        raise Failure(f"{what} is None", case=case,
                      hint="the function has no `return` statement (or returns too early)")
    if isinstance(got, tuple):
        raise Failure(f"{what} is a tuple of {len(got)} items; expected one array", case=case)
    if isinstance(got, (list, numbers.Number)):
        try:
            got = np.asarray(got)
        except ValueError:
            raise Failure(f"{what} is a list that is not a rectangular array (rows of "
                          "different lengths?); expected a NumPy array", case=case) from None
    if not isinstance(got, np.ndarray):
        raise Failure(f"{what} has type {type(got).__name__}; expected a NumPy array", case=case)
    if got.dtype.kind not in "biuf":
        raise Failure(f"{what} has dtype {got.dtype}; expected numbers", case=case)
    return got


def as_float(got, case: Case, what: str = "your result") -> float:
    """``got`` as one Python float, or a Failure (None, an array of several numbers, ...)."""
    if got is None:
        raise Failure(f"{what} is None", case=case,
                      hint="the function has no `return` statement (or returns too early)")
    if isinstance(got, np.ndarray) and got.size == 1:
        got = got.reshape(())[()]
    if isinstance(got, np.ndarray):
        raise Failure(f"{what} is an array of shape {got.shape}; expected a single number",
                      case=case, hint="average over every entry, e.g. with `np.mean(...)`")
    if isinstance(got, bool) or not isinstance(got, numbers.Real):
        raise Failure(f"{what} has type {type(got).__name__}; expected a number", case=case)
    return float(got)


def unpack(got, count: int, case: Case, names: str) -> tuple:
    """Check that ``got`` is a tuple (or list) of ``count`` items named ``names``."""
    if not isinstance(got, (tuple, list)) or len(got) != count:
        kind = f"a {type(got).__name__}" + (f" of {len(got)} items"
                                             if isinstance(got, (tuple, list)) else "")
        raise Failure(f"expected a tuple {names} of {count} items; got {kind}", case=case)
    return tuple(got)


def _value(v):
    return v() if callable(v) else v


def matches(got, value, rtol: float = 1e-6, atol: float = 1e-9) -> bool:
    """Whether ``got`` equals ``value`` (a wrong variant's output) up to tolerance."""
    try:
        got = np.asarray(got)
        if got.dtype.kind not in "biuf":  # complex, object, text: no known mistake is one
            return False
        value = np.asarray(_value(value), dtype=float)
        got = got.astype(float)
        return got.shape == value.shape and bool(np.allclose(got, value, rtol=rtol, atol=atol))
    except Exception:
        return False


def generic_hint(got: np.ndarray, expected: np.ndarray, batch: int | None = None,
                 rtol: float = 1e-6) -> str | None:
    """Name a pattern relating a wrong answer to the right one, when there is a clear one.

    ``rtol``: the comparison's relative tolerance (float32 answers are compared more loosely).
    """
    got = np.asarray(got, dtype=float)
    expected = np.asarray(expected, dtype=float)
    if got.shape != expected.shape or not np.all(np.isfinite(got)):
        return None
    if np.any(expected != 0) and np.allclose(got, 0):
        return "your result is all zeros: did you return an initial value before filling it in?"
    if np.allclose(got, -expected, rtol=max(rtol, 1e-6), atol=1e-12):
        return "the sign is flipped"
    mask = np.abs(expected) > 1e-12
    if mask.any():
        ratios = got[mask] / expected[mask]
        ratio = float(np.median(ratios))
        loose = max(rtol, 1e-5)
        if np.allclose(ratios, ratio, rtol=loose) and np.allclose(got, ratio * expected,
                                                                  rtol=loose, atol=1e-12):
            if batch and batch > 1 and np.isclose(ratio, batch):
                return (f"your result is exactly N = {batch} times too large: average over the "
                        f"batch (divide by N) instead of summing")
            if batch and batch > 1 and np.isclose(ratio, 1 / batch):
                return f"your result is N = {batch} times too small: you divided by N twice"
            if got.size > 1:
                return f"your result is the right one times {ratio:.4g}: a constant factor is off"
    if got.ndim == 2 and got.shape[0] == got.shape[1] and np.allclose(got, expected.T):
        return "your result is transposed"
    return None


def close(got, expected, case: Case, *, what: str = "your result", rtol: float = 1e-6,
          atol: float = 1e-9, mistakes: Mistakes = (), batch: int | None = None,
          shape_hint: Callable | None = None, computed_from=()) -> np.ndarray:
    """Fail unless array ``got`` equals ``expected`` element-wise within rtol/atol.

    computed_from: the inputs ``got`` was computed from; when one of them (or ``got``) is float32,
    the tolerances widen to float32's (see ``fitting_tolerance``).
    """
    expected = np.asarray(expected)
    got = as_array(got, case, what)
    match_atol = 1e-9
    if low_precision(got, *computed_from):
        rtol, atol = fitting_tolerance(rtol, atol, expected, got, *computed_from)
        match_atol = atol
    if got.shape != expected.shape:
        hint = None
        if got.shape == expected.shape[::-1] and got.ndim == 2:
            hint = "your result is transposed (or you multiplied in the wrong order)"
        elif got.ndim == expected.ndim + 1 or (got.ndim and got.size == expected.size * batch
                                               if batch else False):
            hint = "check which axis you sum or average over (`axis=...`, `keepdims`)"
        elif expected.ndim == 1 and got.ndim == 2 and 1 in got.shape:
            hint = "sum over the batch axis (axis=0) to get a 1-D result"
        if shape_hint is not None:
            hint = shape_hint(got.shape) or hint
        raise Failure(f"{what} has shape {got.shape}; expected {expected.shape}", case=case,
                      hint=hint)
    gotf = got.astype(float)
    bad = ~np.isfinite(gotf) & np.isfinite(expected)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise Failure(f"{what}{list(idx)} is {gotf[idx]}; expected {_fmt(expected[idx])}",
                      case=case, hint=_first_match(got, mistakes, rtol, match_atol)
                      or NONFINITE_HINT)
    if np.allclose(gotf, expected, rtol=rtol, atol=atol, equal_nan=True):
        return got
    err = np.abs(gotf - expected) - atol - rtol * np.abs(expected)
    idx = np.unravel_index(int(np.argmax(err)), err.shape) if err.ndim else ()
    idx = tuple(int(i) for i in idx)
    e, g = expected[idx], gotf[idx]
    rel = abs(g - e) / max(abs(g) + abs(e), 1e-300)
    where = f"{what}{list(idx)}" if idx else what
    wrong = int(np.sum(err > 0))
    raise Failure(f"{where}: expected {_fmt(e)}, got {_fmt(g)} (relative error {rel:.2g}); "
                  f"{wrong} of {expected.size} entries are off",
                  case=case, hint=_first_match(got, mistakes, rtol, match_atol)
                  or generic_hint(gotf, expected, batch, rtol))


def close_scalar(got, expected: float, case: Case, *, what: str = "your result",
                 rtol: float = 1e-6, atol: float = 1e-9, mistakes: Mistakes = (),
                 batch: int | None = None, computed_from=()) -> float:
    """Fail unless ``got`` is one number equal to ``expected`` within tolerance.

    A float32 ``got`` (or input in ``computed_from``) widens the tolerances, as in ``close``.
    """
    match_atol = 1e-9
    if low_precision(got, *computed_from):
        rtol, atol = fitting_tolerance(rtol, atol, expected, got, *computed_from)
        match_atol = atol
    value = as_float(got, case, what)
    if np.isclose(value, expected, rtol=rtol, atol=atol):
        return value
    hint = _first_match(value, mistakes, rtol, match_atol)
    if hint is None and np.isfinite(value):
        hint = generic_hint(np.array([value]), np.array([expected]), batch, rtol)
    if hint is None and not np.isfinite(value):
        hint = NONFINITE_HINT
    raise Failure(f"{what}: expected {_fmt(expected)}, got {_fmt(value)}", case=case, hint=hint)


def _first_match(got, mistakes: Mistakes, rtol: float, atol: float = 1e-9) -> str | None:
    for hint, value in mistakes:
        if matches(got, value, rtol=max(rtol, 1e-6), atol=max(atol, 1e-9)):
            return hint
    return None


def close_dict(got, expected: dict, case: Case, *, what: str = "your result",
               rtol: float = 1e-6, atol: float = 1e-9, mistakes: dict | None = None,
               batch: int | None = None, computed_from=()) -> dict:
    """Fail unless ``got`` is a dict with exactly ``expected``'s keys, each value ``close``.

    Values are compared in ``expected``'s key order (put the one to report first first);
    ``mistakes`` maps a key to that entry's known wrong variants (see ``close``).
    ``computed_from``: as in ``close``.
    """
    names = ", ".join(repr(k) for k in expected)
    if not isinstance(got, dict):
        raise Failure(f"{what} has type {type(got).__name__}; expected a dict with keys {names}",
                      case=case)
    missing = [k for k in expected if k not in got]
    extra = [k for k in got if k not in expected]
    if missing or extra:
        found = ", ".join(repr(k) for k in got) or "none"
        raise Failure(f"{what} has keys {found}; expected exactly {names}", case=case)
    for key, value in expected.items():
        close(got[key], value, case, what=f"{what}[{key!r}]", rtol=rtol, atol=atol,
              mistakes=(mistakes or {}).get(key, ()), batch=batch, computed_from=computed_from)
    return got
