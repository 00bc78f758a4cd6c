"""Calling a student's function from inside nnlib: one clear error when it is broken.

The notebooks plug a student's functions into nnlib: the layers and losses of ``Ops`` (run by
``MLP``), ``train``'s update rule, mini-batches, early stopping and augmentation, the function
``numeric_gradient`` differentiates, ``gradient_descent``'s gradient. When such a function is
not done yet (``NotImplementedError``), or returns None, the wrong type or the wrong shape,
nnlib raises ``StudentFunctionError`` naming it and what it returned, e.g. "your
affine_backward returned dW of shape (3,) for W of shape (4, 3)", instead of a NumPy
traceback from deep inside nnlib. In Jupyter the error shows as that one message.

Exceptions a function raises itself (an IndexError in its own code, say) pass unchanged: their
traceback ends in the student's line, which is what to look at.
"""

from __future__ import annotations

import numbers
import traceback

import numpy as np

_PACKAGE = __name__.rpartition(".")[0]


def trusted(fn) -> bool:
    """Whether ``fn`` is one of nnlib's own functions, whose results need no checking."""
    module = getattr(fn, "__module__", None) or ""
    return module == _PACKAGE or module.startswith(_PACKAGE + ".")


class StudentFunctionError(Exception):
    """A function given to nnlib is not implemented yet or returned something unusable."""

    def _render_traceback_(self):  # IPython shows these lines instead of a traceback
        return [f"\x1b[0;31m{type(self).__name__}\x1b[0m: " + str(self)]


def name_of(fn, role: str) -> str:
    """``fn``'s own name (``affine_backward``), or ``role`` for a lambda or a callable object."""
    name = getattr(fn, "__name__", "")
    return name if name.isidentifier() else role


def describe(value) -> str:
    """What a value is, for messages: 'None', 'an array of shape (3,)', 'a tuple of 2 items'."""
    if value is None:
        return "None"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} items"
    if isinstance(value, bool):
        return f"the bool {value}"
    if isinstance(value, numbers.Number):
        return f"the number {value:.6g}" if isinstance(value, numbers.Real) else repr(value)
    return f"a {type(value).__name__}"


def _fail(message: str, value=None) -> StudentFunctionError:
    if value is None:
        message += " (is a `return` missing?)"
    return StudentFunctionError(message)


def call(fn, role: str, *args, **kwargs):
    """``fn(*args, **kwargs)``; a NotImplementedError becomes a StudentFunctionError naming the
    function that raised it (``fn``, or the student's function ``fn`` called)."""
    try:
        return fn(*args, **kwargs)
    except NotImplementedError as exc:
        raise not_implemented(exc, fn, role) from None


def not_implemented(exc: NotImplementedError, fn, role: str) -> StudentFunctionError:
    """The error for ``exc``, raised while nnlib called ``fn`` (in the role ``role``)."""
    frames = traceback.extract_tb(exc.__traceback__)
    raiser = frames[-1].name if frames else ""
    own = getattr(fn, "__name__", "")
    name = raiser if raiser.isidentifier() else name_of(fn, role)
    via = f" (called by your {own})" if own.isidentifier() and own != name else ""
    return StudentFunctionError(
        f"your {name}{via} is not implemented yet: it raised NotImplementedError. Write it and "
        f"run its cell, then run this cell again")


def expect_tuple(value, fn, role: str, names: tuple[str, ...]) -> tuple:
    """``value`` (what ``fn`` returned) as a tuple of ``len(names)`` items."""
    if isinstance(value, (tuple, list)) and len(value) == len(names):
        return tuple(value)
    expected = "(" + ", ".join(names) + ")"
    raise _fail(f"your {name_of(fn, role)} returned {describe(value)}; expected a tuple "
                f"{expected}", value)


def _shape_text(shape: tuple) -> str:
    return str(tuple(int(n) for n in shape))


def _given_text(given: tuple) -> str:
    """' for x of shape (4, 5) and W of shape (5, 3)' from ``(("x", x), ("W", W))``."""
    if not given:
        return ""
    return " for " + " and ".join(f"{name} of shape {_shape_text(np.shape(array))}"
                                  for name, array in given)


def expect_array(value, fn, role: str, what: str, shape: tuple, given: tuple = ()) -> np.ndarray:
    """``value``, the ``what`` that ``fn`` returned, as a numeric array of ``shape``.

    ``given``: the ``(name, array)`` inputs the shape follows from, named in the message.
    """
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf" and value.shape == shape:
        return value
    shape = tuple(int(n) for n in shape)
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        raise StudentFunctionError(f"your {name_of(fn, role)} returned {what} of shape "
                                   f"{_shape_text(value.shape)}{_given_text(given)}; expected "
                                   f"{_shape_text(shape)}")
    kind = describe(value) if not isinstance(value, np.ndarray) else \
        f"an array of dtype {value.dtype}"
    raise _fail(f"your {name_of(fn, role)} returned {what} as {kind}; expected an array of "
                f"shape {_shape_text(shape)}{_given_text(given)}", value)


def expect_like(value, fn, role: str, what: str, like: str, array) -> np.ndarray:
    """``value``, the ``what`` that ``fn`` returned, as an array shaped like ``array`` (called
    ``like``): "your affine_backward returned dW of shape (3,) for W of shape (4, 3)"."""
    if trusted(fn):
        return value
    shape = np.shape(array)
    if isinstance(value, np.ndarray) and value.shape == shape and value.dtype.kind in "biuf":
        return value
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        raise StudentFunctionError(f"your {name_of(fn, role)} returned {what} of shape "
                                   f"{_shape_text(value.shape)}{_given_text(((like, array),))}")
    return expect_array(value, fn, role, what, shape, ((like, array),))


def expect_number(value, fn, role: str, what: str) -> float:
    """``value``, the ``what`` that ``fn`` returned, as one float (a number or a size-1 array)."""
    if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "biuf":
        return float(value.reshape(()))
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    raise _fail(f"your {name_of(fn, role)} returned {what} as {describe(value)}; expected one "
                f"number", value)
