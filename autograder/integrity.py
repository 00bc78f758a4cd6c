"""Detect and undo tampering with the checker, NumPy's comparisons or Python's builtins.

A ``Guard`` records, when it is created, the protected attributes: every public attribute of
the checker's modules and of ``nnlib`` (the reference it compares with), NumPy's comparison
functions and the builtins the checker relies on.
``restore()`` puts back whatever was replaced since and names it, so a student who reassigns
``np.allclose``, ``AssertionError`` or ``autograder.compare.close`` gains nothing: the checker
restores them before it compares, and fails the exercise saying what was changed.

``GUARD`` is created when ``autograder`` is imported (a notebook's first cell, before any
student code). This serves the checks a student runs in their own kernel, so that a patched
``np.allclose`` gets a clear message there; it is no defence, and grading does not rely on
it: graded notebooks are checked from outside the student's process (``autograder.sandbox``).
"""

from __future__ import annotations

import builtins
import sys

import numpy as np

NUMPY_NAMES = ("allclose", "isclose", "array_equal", "isfinite", "isnan", "asarray", "array",
               "abs", "max", "argmax", "all", "any", "sum", "mean", "median", "unravel_index",
               "argwhere", "errstate", "ndarray", "issubdtype", "shape")
BUILTIN_NAMES = ("AssertionError", "Exception", "BaseException", "ValueError", "TypeError",
                 "RecursionError", "NotImplementedError", "isinstance", "issubclass", "len",
                 "abs", "min", "max", "sum", "float", "int", "bool", "round", "range", "zip",
                 "enumerate", "callable", "getattr", "hasattr", "setattr", "type", "tuple",
                 "list", "dict", "set", "repr", "str", "any", "all", "sorted", "id", "iter",
                 "next", "object", "super", "__import__")


def _protected():
    """(label, namespace, attribute names) for everything a guard protects."""
    yield "builtins", builtins, BUILTIN_NAMES
    yield "np", np, NUMPY_NAMES
    for name, module in list(sys.modules.items()):
        if name.split(".")[0] in ("autograder", "nnlib") and module is not None:
            yield name, module, [k for k in vars(module)
                                 if not k.startswith("__") and k != "GUARD"]


class Guard:
    """The protected attributes as they were when the guard was made."""

    def __init__(self):
        self._saved = [(label, namespace, attr, getattr(namespace, attr))
                       for label, namespace, names in _protected()
                       for attr in names if hasattr(namespace, attr)]

    def tampered(self) -> list[str]:
        """'module.attribute' of every protected attribute replaced since the guard was made."""
        return [f"{label}.{attr}" for label, namespace, attr, original in self._saved
                if getattr(namespace, attr, None) is not original]

    def restore(self) -> list[str]:
        """Put every replaced attribute back; return the names that had been replaced."""
        changed = []
        for label, namespace, attr, original in self._saved:
            if getattr(namespace, attr, None) is not original:
                setattr(namespace, attr, original)
                changed.append(f"{label}.{attr}")
        return changed


GUARD: Guard | None = None


def arm() -> Guard:
    """Create the module-wide guard once (at ``import autograder``) and return it."""
    global GUARD
    if GUARD is None:
        GUARD = Guard()
    return GUARD
