"""Hidden cases change with the grading term's secret salt, so they cannot be answered by heart.

Visible checks never change; with ``$NNCOURSE_HIDDEN_SEED`` set, hidden checks draw new
inputs. The reference must pass whatever the salt, and an answer that replays the outputs of
the unsalted hidden set (read from the installed checker) must fail under a salt.
"""

from __future__ import annotations

import numpy as np
import pytest

import nnlib
from autograder import check
from autograder.core import REGISTRY

NAMES = sorted(REGISTRY)


@pytest.mark.parametrize("salt", ["7", "2026", "4294967295"])
@pytest.mark.parametrize("name", NAMES)
def test_the_reference_passes_hidden_checks_under_any_salt(name, salt, monkeypatch):
    monkeypatch.setenv("NNCOURSE_HIDDEN_SEED", salt)
    check(name, getattr(nnlib, name), hidden=True)


def memorising(reference):
    """A 'solution' that returns answers recorded from the unsalted hidden run, else zeros."""
    answers, recording = {}, [True]

    def softmax(scores):
        key = np.asarray(scores).tobytes()
        if recording[0]:
            answers[key] = reference(scores)
        return answers.get(key, np.zeros(np.shape(scores)))

    return softmax, recording


def test_replaying_the_unsalted_hidden_answers_fails_under_a_salt(monkeypatch):
    cheat, recording = memorising(nnlib.softmax)
    monkeypatch.delenv("NNCOURSE_HIDDEN_SEED", raising=False)
    check("softmax", cheat, hidden=True)  # recording: passes
    recording[0] = False
    check("softmax", cheat, hidden=True)  # replaying the same inputs: passes too
    monkeypatch.setenv("NNCOURSE_HIDDEN_SEED", "12345")
    with pytest.raises(AssertionError):
        check("softmax", cheat, hidden=True)


def test_visible_checks_ignore_the_salt(monkeypatch):
    cheat, recording = memorising(nnlib.softmax)
    check("softmax", cheat)
    recording[0] = False
    monkeypatch.setenv("NNCOURSE_HIDDEN_SEED", "12345")
    check("softmax", cheat)
