"""The course's checker: ``check(name, candidate, *, hidden=False)`` grades one exercise.

It returns when the candidate is right and raises ``AssertionError`` with a message for the
student when it is wrong: which case failed, where (index, expected, got) and, when recognised,
the likely mistake. ``python -m autograder check NOTEBOOK.ipynb`` grades a whole notebook.
"""

from nnlib import EXERCISES

from .core import CheckFailed, check

__all__ = ["EXERCISES", "CheckFailed", "check"]
