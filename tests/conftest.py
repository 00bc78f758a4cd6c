"""Shared test helpers: where the course lives, and the notebooks it is made of."""

from __future__ import annotations

from pathlib import Path

import pytest

import nnlib

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
NOTEBOOK_IDS = list(nnlib.EXERCISES)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """A folder git ignores, for screenshots, timings and other things to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
