"""What the check catalogues share: the message ``check`` gives a wrong candidate."""

from __future__ import annotations

import pytest

from autograder import check


def failure(name: str, candidate, hidden: bool = False) -> str:
    """The message of the AssertionError that ``check`` raises for ``candidate``."""
    with pytest.raises(AssertionError) as info:
        check(name, candidate, hidden=hidden)
    return str(info.value)
