"""The course's checker: ``check(name, candidate, *, hidden=False)`` grades one exercise.

It returns when the candidate is right and raises ``AssertionError`` with a message for the
student when it is wrong: which case failed, where (index, expected, got) and, when recognised,
the likely mistake. ``python -m autograder check NOTEBOOK.ipynb`` grades a whole notebook.
"""

from nnlib import EXERCISES

from . import exercises  # noqa: F401  (registers every check)
from .core import CheckFailed, check
from .integrity import arm

arm()  # before any student code: remember the checker, NumPy and builtins as they are

__all__ = ["EXERCISES", "CheckFailed", "check"]
