"""Checks for notebook 02: numeric_gradient and the scalar autodiff class Value.

numeric_gradient is compared with nnlib.numeric_gradient (float64) on functions of x of many
shapes and layouts (non-contiguous views included); x must hold exactly its original values
afterwards. Value is compared with nnlib.Value on the same expressions: the output's value,
``v.grad == 1`` and every input's grad, then the structural properties (shared nodes, a second
backward, a 10,000-node chain, a graph with 2**40 paths). The candidate is only ever called
through ``run``; its exceptions are caught there and described in words.
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

import nnlib
from nnlib.graph import topological_order

from ..compare import as_array, close, matches
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


def _attempt(fn, *args, **kwargs) -> tuple[object, BaseException | None]:
    """``(fn(*args, **kwargs), None)``, or ``(None, exc)`` when it raises (or times out)."""
    try:
        return fn(*args, **kwargs), None
    except (Exception, CandidateTimeout) as exc:
        return None, exc


# --- numeric_gradient -------------------------------------------------------------------------
@dataclass
class _GradCase:
    """One call numeric_gradient(f, x, h): x = view(base) (a view or base itself).

    f: scalar function of an array shaped like x; h: None means "leave h at its default".
    """

    case: Case
    f: Callable[[np.ndarray], float]
    base: np.ndarray
    view: Callable[[np.ndarray], np.ndarray]
    h: float | None = None
    is_view: bool = False


def _shaped_f(shape: tuple, formula: Callable[[np.ndarray], float]) -> Callable:
    """``formula`` guarded so that a call with an array not shaped ``shape`` explains itself."""

    def f(x):
        x = np.asarray(x, dtype=float)
        if x.shape != shape:
            raise ValueError(f"f was called with an array of shape {x.shape}; it takes arrays "
                             f"shaped like x, {shape}")
        return float(formula(x))

    return f


def _grad_cases(hidden: bool) -> list[_GradCase]:
    """Functions with curvature (so that forward differences show), of x of many layouts."""
    rng = case_rng(300)

    def make(label, formula_name, base, view=lambda b: b, h=None, is_view=False):
        x = view(base)
        w = rng.uniform(0.5, 2.0, size=x.shape)
        formulas = {
            "sum(w * x**2)": lambda z: np.sum(w * z**2),
            "sum(w * exp(2x))": lambda z: np.sum(w * np.exp(2 * z)),
            "sum(w * x**3)": lambda z: np.sum(w * z**3),
            "sum(w * sin(3x)) + sum(x)**2": lambda z: np.sum(w * np.sin(3 * z)) + np.sum(z)**2,
        }
        h_text = "default h" if h is None else f"h={h}"
        case = Case(f"f(x) = {formula_name}, {label}, {h_text}")
        return _GradCase(case, _shaped_f(x.shape, formulas[formula_name]), base, view, h,
                         is_view)

    cases = [
        make("x of shape (5,)", "sum(w * x**2)", rng.normal(size=5)),
        make("x of shape (3, 4)", "sum(w * exp(2x))", rng.normal(size=(3, 4)), h=1e-3),
        make("x of shape (4,)", "sum(w * x**3)", rng.normal(size=4), h=0.1),
        make("x = base[:, 1:9:2], a non-contiguous view of shape (3, 4)",
             "sum(w * sin(3x)) + sum(x)**2", rng.normal(size=(3, 10)),
             view=lambda b: b[:, 1:9:2], h=1e-4, is_view=True),
        make("x of shape (2, 3, 2)", "sum(w * exp(2x))", rng.normal(size=(2, 3, 2)), h=1e-4),
    ]
    if hidden:
        cases += [
            make("x = base.T, a transposed view of shape (4, 2)", "sum(w * x**3)",
                 rng.normal(size=(2, 4)), view=lambda b: b.T, h=1e-3, is_view=True),
            make("x 0-d (shape ())", "sum(w * x**3)", np.array(rng.normal()), h=1e-3),
            make("x of shape (1,)", "sum(w * exp(2x))", rng.normal(size=1), h=1e-3),
            make("x of shape (1, 6)", "sum(w * sin(3x)) + sum(x)**2", rng.normal(size=(1, 6))),
            make("x = base[1:3, ::3, 1], a strided view of shape (2, 3)", "sum(w * exp(2x))",
                 rng.normal(size=(4, 9, 2)), view=lambda b: b[1:3, ::3, 1], h=1e-3,
                 is_view=True),
            make("x of shape (2, 1, 3, 2)", "sum(w * x**3)", rng.normal(size=(2, 1, 3, 2)),
                 h=0.05),
            make("x Fortran-ordered, shape (3, 5)", "sum(w * sin(3x)) + sum(x)**2",
                 np.asfortranarray(rng.normal(size=(3, 5))), h=1e-4),
            make("x of shape (6,)", "sum(w * exp(2x))", rng.normal(size=6), h=1e-2),
        ]
    numbered([c.case for c in cases])
    return cases


def _differences(f, x: np.ndarray, h: float, kind: str) -> np.ndarray:
    """A difference quotient of f at every element of (a copy of) x: one of the known variants.

    kind: "forward" (f(x+h) - f(x)) / h, "backward" (f(x) - f(x-h)) / h, "central/h"
    (f(x+h) - f(x-h)) / h, "central" (f(x+h) - f(x-h)) / (2h).
    """
    x = np.array(x, dtype=float)
    grad = np.zeros(x.shape)
    f0 = f(x)
    for idx in np.ndindex(*x.shape):
        old = x[idx]
        x[idx] = old + h
        plus = f(x)
        x[idx] = old - h
        minus = f(x)
        x[idx] = old
        grad[idx] = {"forward": (plus - f0) / h, "backward": (f0 - minus) / h,
                     "central/h": (plus - minus) / h,
                     "central": (plus - minus) / (2 * h)}[kind]
    return grad


def _gradient_mistakes(c: _GradCase, x: np.ndarray, h: float) -> list[tuple[str, Callable]]:
    """Known wrong results for the case, each with its hint (computed only when needed)."""
    central = ("use central differences (f(x + h e_i) - f(x - h e_i)) / (2h), which are far "
               "more accurate")
    mistakes = [
        (f"forward difference (f(x + h) - f(x)) / h: {central}",
         lambda: _differences(c.f, x, h, "forward")),
        (f"backward difference (f(x) - f(x - h)) / h: {central}",
         lambda: _differences(c.f, x, h, "backward")),
        ("divide the central difference by 2h, not by h",
         lambda: _differences(c.f, x, h, "central/h")),
    ]
    if h != 1e-5:
        mistakes.append(("you ignored the argument h (a fixed step was used): step by the h "
                         "that was passed in", lambda: _differences(c.f, x, 1e-5, "central")))
    if c.is_view:
        mistakes.append(("x is a non-contiguous view here: x.reshape(-1), x.ravel() and "
                         "x.flatten() make copies, so changing them never reaches x (f saw no "
                         "step). Index x itself, e.g. `for idx in np.ndindex(x.shape)`",
                         lambda: np.zeros(x.shape)))
    return mistakes


def _check_restored(x: np.ndarray, before: np.ndarray, h: float, case: Case) -> None:
    """Fail unless ``x`` holds exactly the values ``before`` (and its shape)."""
    if x.shape != before.shape:
        raise Failure(f"x has shape {x.shape} afterwards; it was {before.shape}", case=case,
                      hint="do not reshape x in place; leave x as it was given")
    changed = ~((x == before) | (np.isnan(x) & np.isnan(before)))
    if not changed.any():
        return
    idx = tuple(int(i) for i in np.argwhere(changed)[0]) if x.ndim else ()
    drift = np.abs(np.where(changed, x - before, 0.0))
    if not np.all(drift <= h / 4):
        hint = ("x was not restored: after evaluating f at x[idx] + h and x[idx] - h, put the "
                "original value back (`old = x[idx]` first, `x[idx] = old` at the end)")
    else:
        hint = ("adding and subtracting h does not give back exactly the same float: save "
                "`old = x[idx]` first and restore it with `x[idx] = old`")
    raise Failure(f"x does not hold its original values afterwards: x{list(idx)} is "
                  f"{float(x[idx])!r}, it was {float(before[idx])!r} "
                  f"({int(changed.sum())} of {x.size} entries changed)", case=case, hint=hint)


def _no_nonfinite(got, x: np.ndarray, case: Case) -> None:
    """Fail when the gradient (already shaped like x) holds NaN or inf: the values of f are
    finite, so its differences are too."""
    got = as_array(got, case, "the gradient")
    if got.shape != x.shape:
        return  # close() reports the shape
    bad = ~np.isfinite(got.astype(float))
    if bad.any():
        idx = [int(i) for i in np.argwhere(bad)[0]]
        raise Failure(f"the gradient{idx} is {got.astype(float)[tuple(idx)]}; expected a finite "
                      f"number ({int(bad.sum())} of {bad.size} entries are not finite)",
                      case=case, hint="fill in every entry: start from `np.zeros_like(x)` (not "
                                      "np.empty) and divide by 2h, never by 0")


def _flat_shape_hint(shape: tuple) -> str:
    return "return an array shaped like x: start from `grad = np.zeros_like(x)`"


@exercise("numeric_gradient")
def check_numeric_gradient(fn, hidden: bool) -> None:
    """numeric_gradient(f, x, h=1e-5) -> array shaped like x; x restored exactly afterwards."""
    for c in _grad_cases(hidden):
        base = c.base.copy(order="K")
        x = c.view(base)
        x_before, base_before = x.copy(), base.copy()
        h = 1e-5 if c.h is None else c.h
        args = (c.f, x) if c.h is None else (c.f, x, c.h)
        got = run(fn, c.case, *args, names=["f", "x", "h"][:len(args)], mutation_ok=(1,))
        _check_restored(x, x_before, h, c.case)
        _check_restored(base, base_before, h, c.case)
        expected = nnlib.numeric_gradient(c.f, c.view(c.base.copy(order="K")), h)
        _no_nonfinite(got, x, c.case)
        close(got, expected, c.case, what="the gradient", rtol=1e-6, atol=1e-8,
              mistakes=_gradient_mistakes(c, x_before, h), shape_hint=_flat_shape_hint)


# --- Value: playing an expression -----------------------------------------------------------
_ABSENT = object()
"""Stands for an attribute that the candidate's node does not have."""


@dataclass
class _Played:
    """What one expression gave: the output's raw ``.data``, and per backward() call the raw
    ``.grad`` of the output then of each input. ``wrong_type`` names what an operation
    returned when it was not a Value."""

    data: object = None
    rounds: list = field(default_factory=list)
    wrong_type: str | None = None


def _play(cls, build: Callable, values: tuple, times: int = 1) -> _Played:
    """Build ``build(*leaves)`` with leaves ``cls(v)`` and call backward() ``times`` times."""
    leaves = [cls(v) for v in values]
    out = build(*leaves)
    if not isinstance(out, cls):
        return _Played(wrong_type=type(out).__name__)
    played = _Played(data=getattr(out, "data", _ABSENT))
    for _ in range(times):
        out.backward()
        played.rounds.append([getattr(node, "grad", _ABSENT) for node in [out, *leaves]])
    return played


def _number(raw, case: Case, what: str, attribute: str = "grad") -> float:
    """``raw`` (a candidate's ``.attribute``) as a float, or a Failure saying what it is."""
    if isinstance(raw, np.ndarray) and raw.size == 1:
        raw = raw.reshape(())[()]
    if raw is _ABSENT:
        raise Failure(f"{what} does not exist", case=case,
                      hint=f"store it in __init__: `self.{attribute} = ...`")
    if isinstance(raw, bool) or not isinstance(raw, numbers.Real):
        hint = ("`.data` must hold a plain number: use `other.data`, not `other`, when you "
                "compute a result" if hasattr(raw, "data") else None)
        shown = repr(raw) if len(repr(raw)) <= 40 else f"a {type(raw).__name__}"
        raise Failure(f"{what} is {shown}; expected a number", case=case, hint=hint)
    return float(raw)


# --- Value: the expressions graded ------------------------------------------------------------
_CHAIN = ("multiply each local derivative by out.grad (the chain rule): "
          "`self.grad += local * out.grad`")
_ACCUMULATE = ("a node used several times must get the sum of its paths: accumulate with "
               "`+=`, not `=`")
_ONCE = ("a node's backward step ran more than once (once per path through it): build a "
         "topological order, visiting each node once (a `visited` set), then run each node's "
         "backward step exactly once, in reverse order")
_REFLECTED = ("Python calls the reflected method when a plain number is on the left (`2 * v` "
              "calls `v.__rmul__(2)`): define __radd__, __rsub__, __rmul__ and __rtruediv__")
_WRAP = ("wrap plain numbers first: `other = other if isinstance(other, Value) else "
         "Value(other)`")
_RECURSION = ("build the topological order with an explicit stack (a while loop) instead of a "
              "recursive function: a 10,000-node chain exceeds Python's recursion limit")
_PATHS = ("your backward does work for every path through the graph, and this one has 2**40 "
          "paths: build a topological order once (each node visited once, with a `visited` "
          "set), then apply each node's local backward exactly once, in reverse order")


@dataclass(frozen=True)
class _Expr:
    """An expression of leaves ``names`` (one Value each, with ``values``), as code reads it.

    wrong_grads(*values) -> [(hint, [grad of each leaf])], wrong_data(*values) -> [(hint,
    value)]: what known mistakes give. numbers: plain numbers are on the left ("left") or right.
    timeout: seconds allowed instead of the core's default; error_hint: the hint for a timeout
    or RecursionError.
    """

    text: str
    build: Callable
    values: tuple
    names: tuple = ("x",)
    wrong_grads: Callable = lambda *v: []
    wrong_data: Callable = lambda *v: []
    numbers: str | None = None
    timeout: float | None = None
    error_hint: str | None = None
    note: str = ""

    def label(self) -> str:
        """The expression and its inputs, e.g. 'x.tanh() * k with x=0.7, k=1.5'."""
        values = ", ".join(f"{n}={v:g}" if isinstance(v, float) else f"{n}={v}"
                           for n, v in zip(self.names, self.values))
        return f"{self.text} with {values}{self.note}"


def _tanh_d(x):
    return 1 - math.tanh(x) ** 2


def _chain(y, c=1.0001, depth=10_000):
    for _ in range(depth):
        y = y * c
    return y


def _layers(x, a, b, depth=40):
    for _ in range(depth):
        x = x * a + x * b
    return x


def _mixed(x, y, z):
    a = (x * y - z / 2).tanh()
    b = (y ** 2).exp() * 0.1
    c = (z - x).relu() / (1 + y * y)
    return (a + b - c) * 3 - x + 2 / (z * z + 1)


def _shared(x, y):
    h = x * y
    return h * h + h


def _shared_wrong(x, y):
    h = x * y
    assign = [(_ACCUMULATE, [y * s, x * s]) for s in (1.0, h)]
    repeat = [(_ONCE, [y * s, x * s]) for s in (3 + 4 * h, 3 * (1 + 2 * h), 2 + 2 * h,
                                                2 * (1 + 2 * h))]
    return assign + repeat


_NEURON = _Expr("(w1 * x1 + w2 * x2 + b).tanh()",
                lambda x1, x2, w1, w2, b: (w1 * x1 + w2 * x2 + b).tanh(),
                (2.0, 0.0, -3.0, 1.0, 6.8813735870195432), ("x1", "x2", "w1", "w2", "b"))

_VISIBLE = [
    _Expr("x + y", lambda x, y: x + y, (2.0, -3.0), ("x", "y")),
    _Expr("x * y", lambda x, y: x * y, (2.0, -3.0), ("x", "y"),
          wrong_grads=lambda x, y: [("the derivative of x * y with respect to x is y (the other "
                                     "factor), and with respect to y it is x", [x, y])]),
    _Expr("x * y * k", lambda x, y, k: x * y * k, (1.5, -2.0, 0.5), ("x", "y", "k"),
          wrong_grads=lambda x, y, k: [(_CHAIN, [y, x, x * y])]),
    _Expr("(x - y) * k", lambda x, y, k: (x - y) * k, (0.5, 2.0, 1.5), ("x", "y", "k"),
          wrong_grads=lambda x, y, k: [("the derivative of x - y with respect to y is -1",
                                        [k, k, x - y])],
          wrong_data=lambda x, y, k: [("x - y came out as y - x: __sub__(self, other) computes "
                                       "self - other", (y - x) * k)]),
    _Expr("-x * k", lambda x, k: -x * k, (0.8, 1.5), ("x", "k"),
          wrong_grads=lambda x, k: [("the derivative of -x is -1", [k, -x])],
          wrong_data=lambda x, k: [("-x must negate: __neg__ returns self * -1", x * k)]),
    _Expr("x / y * k", lambda x, y, k: x / y * k, (1.2, -0.6, 1.5), ("x", "y", "k"),
          wrong_grads=lambda x, y, k: [("the derivative of x / y with respect to y is "
                                        "-x / y**2", [k / y, k * x / y**2, x / y])],
          wrong_data=lambda x, y, k: [("x / y came out as y / x", y / x * k)]),
    _Expr("x ** 3 * k", lambda x, k: x ** 3 * k, (-1.3, 1.5), ("x", "k"),
          wrong_grads=lambda x, k: [("the derivative of x**n is n * x**(n - 1)", g) for g in
                                    ([x**2 * k, x**3], [3 * x**3 * k, x**3], [x**3 * k, x**3])]
          + [(_CHAIN, [3 * x**2, x**3])]),
    _Expr("x.tanh() * k", lambda x, k: x.tanh() * k, (0.7, 1.5), ("x", "k"),
          wrong_grads=lambda x, k: [
              ("the derivative of tanh(x) is 1 - tanh(x)**2 (squared)",
               [(1 - math.tanh(x)) * k, math.tanh(x)]),
              ("the derivative of tanh is 1 - t**2 with t = tanh(x), the output, not the input x",
               [(1 - x**2) * k, math.tanh(x)]),
              (_CHAIN, [_tanh_d(x), math.tanh(x)])]),
    _Expr("x.exp() * k", lambda x, k: x.exp() * k, (0.4, 1.5), ("x", "k"),
          wrong_grads=lambda x, k: [
              ("the derivative of exp(x) is exp(x) itself (out.data), not x",
               [x * k, math.exp(x)]),
              (_CHAIN, [math.exp(x), math.exp(x)])]),
    _Expr("x.relu() * k", lambda x, k: x.relu() * k, (1.2, 1.5), ("x", "k"),
          wrong_grads=lambda x, k: [("relu's derivative is 1 where x > 0 (not x)", [x * k, x]),
                                    (_CHAIN, [1.0, x])]),
    _Expr("x.relu() * k", lambda x, k: x.relu() * k, (-0.8, 1.5), ("x", "k"),
          wrong_grads=lambda x, k: [("relu's derivative is 0 where x < 0", [k, 0.0])],
          wrong_data=lambda x, k: [("relu(x) = max(x, 0): negative inputs give 0", x * k)]),
    _Expr("x.relu() * k", lambda x, k: x.relu() * k, (0.0, 1.5), ("x", "k"),
          wrong_grads=lambda x, k: [("the derivative of relu at exactly 0 is 0: use `x > 0`, "
                                     "not `x >= 0`", [k, 0.0])]),
    _Expr("2 * x", lambda x: 2 * x, (0.6,), numbers="left"),
    _Expr("7 + x", lambda x: 7 + x, (0.6,), numbers="left"),
    _Expr("1 - x", lambda x: 1 - x, (0.6,), numbers="left",
          wrong_grads=lambda x: [("the derivative of 1 - x is -1", [1.0])],
          wrong_data=lambda x: [("1 - x came out as x - 1: __rsub__(self, other) must compute "
                                 "other - self", x - 1)]),
    _Expr("3 / x", lambda x: 3 / x, (0.6,), numbers="left",
          wrong_grads=lambda x: [("the derivative of 3 / x is -3 / x**2", [3 / x**2])],
          wrong_data=lambda x: [("3 / x came out as x / 3: __rtruediv__(self, other) must "
                                 "compute other / self", x / 3)]),
    _Expr("(x + 7) * (x - 1) / 4 * 2 - x ** 2", lambda x: (x + 7) * (x - 1) / 4 * 2 - x ** 2,
          (0.6,), numbers="right"),
    _NEURON,
    _Expr("x * x", lambda x: x * x, (3.0,), wrong_grads=lambda x: [(_ACCUMULATE, [x])]),
    _Expr("h * h + h where h = x * y", _shared, (0.5, 1.5), ("x", "y"),
          wrong_grads=_shared_wrong),
]

_TWICE = _Expr("(x * y).tanh() + x", lambda x, y: (x * y).tanh() + x, (0.3, -1.2), ("x", "y"))

_DEEP = _Expr("x * 1.0001 * 1.0001 * ... (10,000 multiplications: a chain 10,000 nodes deep)",
              _chain, (0.5,), error_hint=_RECURSION)

_WIDE = _Expr("40 layers of x = x * a + x * b (2**40 paths from the output to x)", _layers,
              (0.9, 0.55, 0.47), ("x", "a", "b"), timeout=2.0, error_hint=_PATHS)


def _hidden_expressions() -> list[_Expr]:
    rng = case_rng(310)
    mixed = []
    for _ in range(3):
        x, y = rng.normal(size=2)
        z = x + rng.choice([-1, 1]) * rng.uniform(0.3, 1.5)
        mixed.append(_Expr("((x*y - z/2).tanh() + (y**2).exp()*0.1 - (z - x).relu()/(1 + y*y))"
                           " * 3 - x + 2 / (z*z + 1)", _mixed,
                           (float(x), float(y), float(z)), ("x", "y", "z")))
    return mixed + [
        _Expr("x * y + 2", lambda x, y: x * y + 2, (3, 4), ("x", "y"),
              note=" (integer data)"),
        _Expr("x + x", lambda x: x + x, (0.5,), wrong_grads=lambda x: [(_ACCUMULATE, [1.0])]),
        _Expr("x * x * x", lambda x: x * x * x, (1.3,)),
        _Expr("x ** -2 * k", lambda x, k: x ** -2 * k, (0.8, 1.5), ("x", "k")),
        _Expr("x ** 0.5 * k", lambda x, k: x ** 0.5 * k, (2.3, 1.5), ("x", "k")),
        _Expr("x - x", lambda x: x - x, (0.4,)),
        _Expr("x.tanh() * k", lambda x, k: x.tanh() * k, (-2.5, 1.5), ("x", "k")),
        _Expr("x.exp() * k", lambda x, k: x.exp() * k, (-1.7, 0.5), ("x", "k")),
        _Expr("x.relu() * k", lambda x, k: x.relu() * k, (-0.0, 2.0), ("x", "k")),
        _Expr("3 / x - 2 * x + 5 - x", lambda x: 3 / x - 2 * x + 5 - x, (-0.7,), numbers="left"),
        _Expr("(x * y + y * z + z * x).tanh() * (x - z)",
              lambda x, y, z: (x * y + y * z + z * x).tanh() * (x - z), (0.3, -0.4, 0.9),
              ("x", "y", "z")),
        _Expr("((x * y) * (x * y) + x * y).relu()", lambda x, y: _shared(x, y).relu(),
              (-0.6, 1.1), ("x", "y")),
    ]


# --- Value: grading one expression ------------------------------------------------------------
@functools.lru_cache(maxsize=64)
def _reference(expr: _Expr) -> _Played:
    """nnlib.Value's result for ``expr``; cached, as the 10,000-node chain takes a while."""
    return _play(nnlib.Value, expr.build, expr.values)


def _play_candidate(cls, expr: _Expr, case: Case, times: int = 1) -> _Played:
    """Run the expression on the candidate's class; exceptions become Failures with a hint."""
    kwargs = {} if expr.timeout is None else {"timeout": expr.timeout}
    played, exc = run(lambda c: _attempt(_play, c, expr.build, expr.values, times), case, cls,
                      names=["Value"], **kwargs)
    if exc is not None:
        what, hint = describe_exception(exc)
        raise Failure(what, case=case, hint=_exception_hint(exc, expr) or hint)
    if played.wrong_type is not None:
        raise Failure(f"{expr.text} gave a {played.wrong_type}, not a Value", case=case,
                      hint="every operation must return a new Value, e.g. "
                           "`return Value(self.data + other.data, ...)`")
    return played


def _exception_hint(exc: BaseException, expr: _Expr) -> str | None:
    """A hint for an exception raised while playing ``expr``, when one fits."""
    if isinstance(exc, (CandidateTimeout, RecursionError)):
        return expr.error_hint
    message = str(exc)
    if expr.numbers == "left" and isinstance(exc, TypeError) and "unsupported operand" in message:
        return _REFLECTED
    if isinstance(exc, AttributeError) and "attribute 'data'" in message and (
            "'int' object" in message or "'float' object" in message):
        return _WRAP
    return None


def _compare_grads(got: list, expected: list, expr: _Expr, case: Case,
                   when: str = "", cls=None) -> list[float]:
    """Fail unless each input's grad matches; ``got``/``expected``: output then inputs.

    ``cls``: the candidate's class, to probe it when no known mistake explains a wrong grad.
    Returns the grads as floats (output first)."""
    out_grad = _number(got[0], case, f"v.grad{when}")
    if not math.isclose(out_grad, 1.0, rel_tol=1e-9):
        raise Failure(f"v.grad after v.backward(){when} is {out_grad:.7g}; expected 1 "
                      f"(v = {expr.text})",
                      case=case, hint="start backward() by setting `self.grad = 1` "
                                      "(d v / d v = 1)" if out_grad == 0 else None)
    grads = [_number(g, case, f"{n}.grad{when}") for g, n in zip(got[1:], expr.names)]
    for name, g, e in zip(expr.names, grads, expected[1:]):
        if not math.isclose(g, e, rel_tol=1e-7, abs_tol=1e-10):
            hint = _grad_hint(grads, expected[1:], expr)
            if hint is None and cls is not None:
                hint = _probe_hint(cls, expr)
            raise Failure(f"{name}.grad after v.backward(){when} is {g:.7g}; expected {e:.7g} "
                          f"(v = {expr.text})", case=case, hint=hint)
    return [out_grad, *grads]


_PROBE = _Expr("x + x", lambda x: x + x, (0.5,))
"""Played on a candidate whose grads are wrong for an expression with a shared node: with
``=`` instead of ``+=``, x.grad comes out 1 instead of 2."""


@functools.lru_cache(maxsize=64)
def _has_shared_node(expr: _Expr) -> bool:
    """Whether some node of ``expr`` (built with nnlib.Value) is an input of several nodes."""
    out = expr.build(*[nnlib.Value(v) for v in expr.values])
    uses: dict[int, int] = {}
    for node in topological_order(out):
        for parent in node._parents:
            uses[id(parent)] = uses.get(id(parent), 0) + 1
    return any(count > 1 for count in uses.values())


def _probe_hint(cls, expr: _Expr) -> str | None:
    """The accumulation hint when ``expr`` shares a node and ``x + x`` gives x.grad == 1."""
    if not _has_shared_node(expr):
        return None
    try:
        played = _play_candidate(cls, _PROBE, Case(f"probe: {_PROBE.label()}"))
        x_grad = _number(played.rounds[0][1], Case("probe"), "x.grad")
    except Failure:
        return None
    if math.isclose(x_grad, 1.0):
        return (f"{_ACCUMULATE}. In v = x + x, your x.grad is 1 instead of 2: each path "
                f"overwrote the grad of the one before")
    return None


def _grad_hint(grads: list, expected: list, expr: _Expr) -> str | None:
    for hint, value in expr.wrong_grads(*expr.values):
        if matches(grads, value, rtol=1e-6):
            return hint
    g, e = np.array(grads), np.array(expected, dtype=float)
    if np.all(g == 0) and np.any(e != 0):
        return ("no gradient reached the inputs: backward() must run each node's backward "
                "step, from the output back to the inputs (reverse topological order)")
    if np.allclose(g, -e) and np.any(e != 0):
        return "the sign is flipped"
    return None


def _check_expression(cls, expr: _Expr, case: Case) -> None:
    """Value, v.grad == 1 and each input's grad of ``expr`` against nnlib.Value."""
    played = _play_candidate(cls, expr, case)
    reference = _reference(expr)
    data = _number(played.data, case, f"the value of {expr.text} (.data)", "data")
    if not math.isclose(data, reference.data, rel_tol=1e-9, abs_tol=1e-12):
        hint = next((h for h, v in expr.wrong_data(*expr.values)
                     if math.isclose(data, v, rel_tol=1e-9, abs_tol=1e-12)), None)
        raise Failure(f"the value of {expr.text} is {data:.7g}; expected {reference.data:.7g}",
                      case=case, hint=hint)
    _compare_grads(played.rounds[0], reference.rounds[0], expr, case, cls=cls)


def _check_twice(cls, expr: _Expr, case: Case) -> None:
    """backward() twice gives the same grads as once."""
    played = _play_candidate(cls, expr, case, times=2)
    reference = _reference(expr)
    first = _compare_grads(played.rounds[0], reference.rounds[0], expr, case,
                           " (the first call)", cls=cls)
    second = [_number(g, case, f"{n}.grad after a second v.backward()")
              for g, n in zip(played.rounds[1], ("v", *expr.names))]
    for name, a, b in zip(("v", *expr.names), first, second):
        if not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12):
            doubled = all(math.isclose(s, 2 * f, rel_tol=1e-9, abs_tol=1e-12)
                          for f, s in zip(first[1:], second[1:]))
            grew = "doubled" if doubled else "changed"
            raise Failure(f"calling v.backward() a second time {grew} the grads: {name}.grad "
                          f"was {a:.7g} after the first call and {b:.7g} after the second",
                          case=case, hint=f"grads {grew} on the second backward: reset every "
                                          "node's grad to 0 at the start of backward(), before "
                                          "accumulating")


@exercise("Value", kind="class")
def check_value(cls, hidden: bool) -> None:
    """Value(data): ``.data``, ``.grad``, operations and backward(), against nnlib.Value."""
    expressions = _VISIBLE + (_hidden_expressions() if hidden else [])
    steps = [(Case(expr.label()), _check_expression, expr) for expr in expressions]
    steps += [(Case(f"{_TWICE.label()}, backward() called twice"), _check_twice, _TWICE),
              (Case(_DEEP.label()), _check_expression, _DEEP),
              (Case(_WIDE.label()), _check_expression, _WIDE)]
    numbered([case for case, _, _ in steps])
    for case, check, expr in steps:
        check(cls, expr, case)
