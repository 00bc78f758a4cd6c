"""The checker's machinery: the exercise registry, safe calls to a candidate, and failures.

A check is a function ``(candidate, hidden) -> None`` registered under an exercise name. It
builds ``Case``s, calls the candidate only through ``run`` and compares with ``compare``'s
helpers; anything wrong is raised as ``Failure`` and becomes one message for the student.
"""

from __future__ import annotations

import contextvars
import copy
import os
import signal
import threading
import time
import traceback
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from . import integrity

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep

DEFAULT_TIMEOUT = 5.0
"""Seconds one call of a candidate may take before it counts as an infinite loop."""


_SALT: contextvars.ContextVar[int | None] = contextvars.ContextVar("hidden_salt", default=None)

_CASES_RUN: contextvars.ContextVar[dict | None] = contextvars.ContextVar("cases_run",
                                                                         default=None)
"""The cases the running check has called its candidate on (see ``_note_case``)."""


def _note_case(case: Case) -> None:
    """Count ``case`` as run by the current check: numbered cases by their number (a case's
    variants, such as the one with the student's own cache, count once), others each."""
    seen = _CASES_RUN.get()
    if seen is not None and case is not None:
        key = ("case", case.number, case.total) if case.number else ("object", id(case))
        seen.setdefault(key, case)  # holding the case keeps its id from being reused


def passed_line(name: str, count: int, hidden: bool) -> str:
    """What a passing check prints, e.g. '✓ softmax: 9 visible cases passed'."""
    if count == 0:
        return f"✓ {name}: passed"
    kind = "hidden" if hidden else "visible"
    return f"✓ {name}: {count} {kind} case{'' if count == 1 else 's'} passed"


def hidden_salt() -> int | None:
    """The grading term's secret salt for hidden cases (``$NNCOURSE_HIDDEN_SEED``), if any."""
    value = os.environ.get("NNCOURSE_HIDDEN_SEED", "").strip()
    return int(value) if value.isdigit() else None


def case_rng(seed: int) -> np.random.Generator:
    """The generator a check draws its inputs from.

    Visible checks, and hidden ones without a salt, always see the same inputs. When grading
    sets ``$NNCOURSE_HIDDEN_SEED``, hidden checks draw from ``[seed, salt]`` instead, so the
    hidden inputs cannot be read from the installed checker and answered by heart.
    """
    salt = _SALT.get()
    return np.random.default_rng(seed if salt is None else [seed, salt])


class Failure(Exception):
    """What is wrong with a candidate, in words for a student; raised by checks, caught by check."""

    def __init__(self, what: str, *, case: Case | None = None, hint: str | None = None):
        super().__init__(what)
        self.what = what
        self.case = case
        self.hint = hint


class CheckFailed(AssertionError):
    """The student-facing failure of ``check``: its text is the whole message, no checker frames."""

    def _render_traceback_(self):  # IPython shows these lines instead of a traceback
        return [f"\x1b[0;31m{type(self).__name__}\x1b[0m: " + str(self)]


class CandidateTimeout(BaseException):
    """Raised inside a candidate that runs too long.

    A BaseException, so that a candidate's own ``except Exception`` does not swallow it.
    """


@dataclass
class Case:
    """One graded situation: a short description of its inputs for messages."""

    label: str
    number: int | None = None
    total: int | None = None

    def title(self) -> str:
        where = f"case {self.number}/{self.total}" if self.number else "case"
        return f"{where} ({self.label})"


def numbered(cases: list[Case]) -> list[Case]:
    """Number the cases 1..n so messages can say "case 3/8"."""
    for i, case in enumerate(cases, start=1):
        case.number, case.total = i, len(cases)
    return cases


@dataclass(frozen=True)
class Exercise:
    name: str
    check: Callable[..., None]
    kind: str = "function"  # "function" or "class"
    uses: tuple[str, ...] = ()  # other exercises whose candidates the check is given
    blocks: tuple[str, ...] = ()
    """Other exercises this one's candidate calls by name (a composite, e.g. two_layer_net):
    when grading, one that failed its own check is served from the reference instead, so
    the composite is graded on its own logic (``autograder.sandbox.verify``)."""


REGISTRY: dict[str, Exercise] = {}

LAST_CHECKED: dict[str, object] = {}
"""The candidate most recently given to ``check`` under each exercise name, in this process."""


def exercise(name: str, kind: str = "function", uses: tuple[str, ...] = (),
             blocks: tuple[str, ...] = ()):
    """Register the decorated ``(candidate, hidden)`` function as the check of ``name``.

    With ``uses=("other", ...)`` the check is called as ``(candidate, hidden, used)``, where
    ``used["other"]`` is the candidate last given to ``check("other", ...)`` (``LAST_CHECKED``;
    None if there was none): a student's own forward pass for a backward's check, say.
    ``blocks``: see ``Exercise.blocks``.
    """

    def register(fn):
        REGISTRY[name] = Exercise(name, fn, kind, tuple(uses), tuple(blocks))
        return fn

    return register


# --- calling a candidate safely ---------------------------------------------------------------
_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar("deadline", default=None)
_REMOTE: contextvars.ContextVar[bool] = contextvars.ContextVar("remote", default=False)


@contextmanager
def remote_candidates():
    """Checks run here on candidates that run in another process: time limits become
    deadlines the candidate's proxy waits by, and no alarm interrupts this process."""
    token = _REMOTE.set(True)
    try:
        yield
    finally:
        _REMOTE.reset(token)


def current_deadline() -> float | None:
    """When the innermost running ``time_limit`` ends (``time.monotonic()``), or None.

    A candidate that runs in another process (``autograder.sandbox.proxy``) waits until then.
    """
    return _DEADLINE.get()


@contextmanager
def time_limit(seconds: float):
    """Raise ``CandidateTimeout`` in the running code after ``seconds``.

    In this process that takes an alarm (main thread only; elsewhere code here runs without a
    limit); a candidate in another process is interrupted at ``current_deadline()``.
    """
    outer = _DEADLINE.get()
    deadline = time.monotonic() + seconds
    token = _DEADLINE.set(deadline if outer is None else min(outer, deadline))
    try:
        if _REMOTE.get():
            yield
        else:
            with _alarm(seconds):
                yield
    finally:
        _DEADLINE.reset(token)


@contextmanager
def _alarm(seconds: float):
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGALRM"):
        yield
        return

    def on_alarm(signum, frame):
        raise CandidateTimeout

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def snapshot(value):
    """A deep copy of an input, to detect whether the candidate modified it."""
    try:
        return copy.deepcopy(value)
    except Exception:  # an object that cannot be copied cannot be compared either
        return None


def same(a, b) -> bool:
    """Structural equality of inputs: arrays (NaN-aware, dtype-aware), containers, scalars.

    A random Generator counts as unchanged: drawing from it is what it is passed for.
    """
    if isinstance(a, np.random.Generator):
        return True
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
            return False
        return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(
            a, b, equal_nan=a.dtype.kind in "fc")
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    try:
        return bool(a == b)
    except Exception:
        return True


def _student_frames(exc: BaseException) -> str:
    """The last line of the candidate's own code in the traceback, e.g. 'line 4: x = a @ b'."""
    remote = getattr(exc, "remote_where", None)  # raised in the student's kernel
    if remote is not None:
        name, lineno, line = remote
        return f" (in {name}, line {lineno}{': ' + line if line else ''})"
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if not os.path.abspath(f.filename).startswith(_PACKAGE_DIR)]
    if not frames:
        return ""
    last = frames[-1]
    code = f": {last.line.strip()}" if last.line else ""
    return f" (in {last.name}, line {last.lineno}{code})"


def describe_exception(exc: BaseException) -> tuple[str, str | None]:
    """A student-facing sentence for an exception raised by a candidate, and a hint."""
    where = _student_frames(exc)
    if isinstance(exc, NotImplementedError):
        return ("not implemented yet: it raised NotImplementedError",
                "replace `raise NotImplementedError()` with your code and run its cell again")
    if isinstance(exc, RecursionError):
        return (f"it recursed too deeply (RecursionError){where}",
                "walk the graph with an explicit stack or list instead of recursion")
    if isinstance(exc, CandidateTimeout):
        return ("it did not finish in time: an infinite loop, or work that grows "
                "exponentially (e.g. visiting a shared node once per path)", None)
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    kind = getattr(exc, "type_name", type(exc).__name__)
    text = f"it raised {kind}{': ' + message if message else ''}{where}"
    return text, _shape_hint(exc, message)


def _shape_hint(exc: BaseException, message: str) -> str | None:
    """A hint for NumPy's shape errors: arithmetic and matrix products, or an assignment into a
    slice (``a[i:j] = b``), which is a question of slice bounds, not of a product."""
    if not isinstance(exc, ValueError):
        return None
    if "could not broadcast input array" in message:
        return ("you assigned an array into a slice of another shape (`a[...] = b`): check the "
                "slice bounds, e.g. print both shapes")
    if ("operands could not be broadcast" in message or "matmul" in message
            or "not aligned" in message):
        return "check the shapes you multiply or add: print them to see which one is off"
    return None


def run(fn, case: Case, *args, timeout: float = DEFAULT_TIMEOUT, mutation_ok=(),
        forbid_warnings: bool = False, kwargs: dict | None = None, names=None):
    """Call ``fn(*args, **kwargs)`` for ``case`` as a student's code is called: safely.

    Fails (``Failure``) when the candidate raises, runs longer than ``timeout``, modifies an
    input (unless its position is in ``mutation_ok``), draws from the global ``np.random``, or,
    with ``forbid_warnings``, emits a NumPy RuntimeWarning (overflow, invalid value, ...).
    ``names`` label the positional arguments in messages.
    """
    _note_case(case)
    kwargs = kwargs or {}
    names = names or [f"argument {i + 1}" for i in range(len(args))]
    before = [snapshot(a) for a in args]
    global_state = np.random.get_state()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with np.errstate(over="warn", invalid="warn", divide="warn", under="ignore"), \
                    time_limit(timeout):
                result = fn(*args, **kwargs)
        except (Exception, CandidateTimeout, RecursionError) as exc:
            what, hint = describe_exception(exc)
            raise Failure(what, case=case, hint=hint) from None
    changed = integrity.GUARD.restore() if integrity.GUARD else []
    if changed:
        raise Failure(f"it replaced {', '.join(changed)} (now restored)", case=case,
                      hint="a solution must not change the checker, NumPy or Python's builtins")
    for i, (arg, original) in enumerate(zip(args, before)):
        if i not in mutation_ok and original is not None and not same(arg, original):
            raise Failure(f"it modified its input `{names[i]}`", case=case,
                          hint="work on a copy (e.g. `x = x.copy()`) or build a new array")
    after = np.random.get_state()
    if not (after[0] == global_state[0] and np.array_equal(after[1], global_state[1])
            and after[2:] == global_state[2:]):
        np.random.set_state(global_state)
        raise Failure("it used NumPy's global random generator (np.random.*)", case=case,
                      hint="draw every random number from the `rng` argument, "
                           "e.g. `rng.random(...)`")
    if forbid_warnings:
        numeric = [w for w in caught if issubclass(w.category, RuntimeWarning)]
        if numeric:
            raise Failure(f"NumPy warned: {numeric[0].message}", case=case,
                          hint=overflow_hint(str(numeric[0].message)))
    return result


def overflow_hint(message: str) -> str | None:
    """A hint for a NumPy warning, in words that fit any notebook: a check whose exercise has a
    known stable form (softmax, sigmoid, ...) replaces it with one naming that form."""
    if "overflow" in message and "cast" in message:
        return ("a number did not fit the dtype it was converted to (float32 holds at most about "
                "3.4e38, and nothing below 1.4e-45): compute in the dtype of the input")
    if "overflow" in message and "exp" in message:
        return ("np.exp overflowed on large inputs (np.exp(710) is inf): rewrite the formula so "
                "that np.exp only sees numbers that cannot be large")
    if "divide by zero" in message and "log" in message:
        return ("np.log(0) gave -inf: a probability underflowed to 0 before its log was taken; "
                "compute the log directly instead of the log of a probability")
    return None


# --- the public entry point -------------------------------------------------------------------
def format_failure(name: str, failure: Failure, hidden: bool) -> str:
    lines = [f"{name}: {failure.case.title() if failure.case else 'check'} failed"
             + (" [hidden test]" if hidden else "")]
    lines += ["  " + line for line in failure.what.splitlines()]
    if failure.hint:
        lines.append(f"  Likely mistake: {failure.hint}")
    return "\n".join(lines)


def check(name: str, candidate, *, hidden: bool = False) -> None:
    """Grade one exercise: return when ``candidate`` is right, raise ``AssertionError`` if not.

    name: the exercise's name (see ``autograder.EXERCISES``); candidate: the student's function
    (or class, for ``Value``). ``hidden=True`` runs the full grading set. The message says which
    case failed, where (index, expected, got) and, when recognised, the likely mistake. A pass
    prints one line, e.g. '✓ softmax: 9 visible cases passed'.
    """
    spec = REGISTRY.get(name)
    if spec is None:
        known = ", ".join(sorted(REGISTRY))
        raise CheckFailed(f"There is no exercise called {name!r}. Known exercises: {known}")
    if candidate is None or not callable(candidate):
        raise CheckFailed(f"{name}: expected your {spec.kind} `{name}`, got {candidate!r}. "
                          f"Run the cell that defines it first.")
    changed = integrity.GUARD.restore() if integrity.GUARD else []
    if changed:
        raise CheckFailed(f"{name}: {', '.join(changed)} had been replaced (now restored). "
                          "A solution must not change the checker, NumPy or Python's builtins.")
    LAST_CHECKED[name] = candidate
    used = ({other: LAST_CHECKED.get(other) for other in spec.uses},) if spec.uses else ()
    state = np.random.get_state()
    salt = _SALT.set(hidden_salt() if hidden else None)
    cases = _CASES_RUN.set({})
    try:
        spec.check(candidate, hidden, *used)
    except Failure as failure:
        raise CheckFailed(format_failure(name, failure, hidden)) from None
    except CandidateTimeout:
        raise CheckFailed(f"{name}: your code did not finish in time (infinite loop?)") from None
    except RecursionError:
        raise CheckFailed(f"{name}: your code recursed too deeply (RecursionError)") from None
    except Exception as exc:  # the candidate's output broke an assumption of the checker
        raise CheckFailed(f"{name}: your answer could not be checked: {type(exc).__name__}: "
                          f"{exc}. Check the type and shape of what you return.") from None
    else:
        print(passed_line(name, len(_CASES_RUN.get()), hidden))
    finally:
        _CASES_RUN.reset(cases)
        _SALT.reset(salt)
        np.random.set_state(state)
