"""Shared test helpers: where the course lives, and the notebooks it is made of."""

from __future__ import annotations

from pathlib import Path

import pytest

import nnlib

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CURRICULUM_IDS = list(nnlib.EXERCISES)
NOTEBOOK_IDS = [nb_id for nb_id in CURRICULUM_IDS
                if (ROOT / "solutions" / nb_id / f"{nb_id}.py").is_file()]
"""The curriculum's notebooks that are written so far (every test runs on each of them)."""


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """A folder git ignores, for screenshots, timings and other things to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
