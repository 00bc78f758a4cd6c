"""What the check catalogues share: the message ``check`` gives a wrong candidate."""

from __future__ import annotations

import pytest

from autograder import check


def failure(name: str, candidate, hidden: bool = False) -> str:
    """The message of the AssertionError that ``check`` raises for ``candidate``."""
    with pytest.raises(AssertionError) as info:
        check(name, candidate, hidden=hidden)
    return str(info.value)


# --- candidates that crash or return the wrong thing, for every catalogue ----------------------
def raises(*args, **kwargs):
    raise ValueError("boom")


def not_implemented(*args, **kwargs):
    raise NotImplementedError()


def returns_none(*args, **kwargs):
    return None


def returns_text(*args, **kwargs):
    return "done"
