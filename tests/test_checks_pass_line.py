"""A passing check prints one short line with the number of cases it ran; a failing one prints
nothing (its message is the AssertionError)."""

from __future__ import annotations

import re

import pytest
from checking import not_implemented

import nnlib
from autograder import EXERCISES, check

ALL = [name for names in EXERCISES.values() for name in names]


class NotImplementedValue:
    def __init__(self, *args):
        raise NotImplementedError()


def total_cases(name: str, hidden: bool) -> int:
    """N from the 'case 1/N' of the message for a candidate that is not done yet."""
    candidate = NotImplementedValue if name == "Value" else not_implemented
    with pytest.raises(AssertionError) as info:
        check(name, candidate, hidden=hidden)
    return int(re.search(r"case 1/(\d+)", str(info.value)).group(1))


@pytest.mark.parametrize("hidden", [False, True], ids=["visible", "hidden"])
@pytest.mark.parametrize("name", ALL)
def test_a_pass_prints_how_many_cases_passed(name, hidden, capsys):
    check(name, getattr(nnlib, name), hidden=hidden)
    printed = capsys.readouterr().out
    kind = "hidden" if hidden else "visible"
    assert printed == f"✓ {name}: {total_cases(name, hidden)} {kind} cases passed\n"


def test_a_failure_prints_nothing(capsys):
    with pytest.raises(AssertionError):
        check("softmax", lambda scores: scores)
    assert capsys.readouterr().out == ""
