"""Shared test helpers: where the course lives, and the notebooks it is made of."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

import nnlib

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CURRICULUM_IDS = list(nnlib.EXERCISES)
NOTEBOOK_IDS = [nb_id for nb_id in CURRICULUM_IDS
                if (ROOT / "solutions" / nb_id / f"{nb_id}.py").is_file()]
"""The curriculum's notebooks that are written so far (every test runs on each of them)."""


@pytest.fixture(autouse=True)
def fresh_checked_candidates():
    """Each test starts and ends without candidates remembered from earlier ``check`` calls
    (``autograder.core.LAST_CHECKED``, what a check's ``uses`` are given), so that a wrong
    mlp_loss checked in one test is not the one another test's train_epoch check uses."""
    core = sys.modules.get("autograder.core")
    if core is not None:
        core.LAST_CHECKED.clear()
    yield
    core = sys.modules.get("autograder.core")
    if core is not None:
        core.LAST_CHECKED.clear()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """A folder git ignores, for screenshots, timings and other things to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


# --- whole-run hooks (this file is loaded by the xdist controller too) ----------------------

LATENCY_FILE = ARTIFACTS / "widget-latency.txt"
"""Written by the browser tests (tests/browser/conftest.py); printed at the end of the run."""
_STARTED = pytest.StashKey[float]()


def pytest_configure(config):
    # Registered here too, so that `-p no:xdist` runs keep working under --strict-markers.
    config.addinivalue_line("markers", "xdist_group(name): run in the named xdist group")
    config.stash[_STARTED] = time.time()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Keep each ``xdist_group`` on one worker (one JupyterLab and one Chromium for the browser
    tests, one course directory for nbgrader's) with pytest 9.2, where pytest-xdist 3.8's
    ``--dist loadgroup`` no longer groups anything: it appends "@group" to ``item._nodeid``,
    which pytest 9.2 no longer reads (pytest-xdist issue 1386). This does the same to the
    structured id; a no-op where xdist's own grouping works."""
    if not getattr(config.option, "loadgroup", False):
        return
    for item in items:
        mark = item.get_closest_marker("xdist_group")
        if mark is None or not mark.args:
            continue
        suffix = f"@{mark.args[0]}"
        if item.nodeid.endswith(suffix):
            continue
        node_id = getattr(item, "_id", None)
        if node_id is not None and hasattr(type(node_id), "parse"):
            item._id = type(node_id).parse(f"{item.nodeid}{suffix}")


def pytest_terminal_summary(terminalreporter, config):
    """Print the widget latency table if this run wrote it (once: on the xdist controller)."""
    started = config.stash.get(_STARTED, None)
    if hasattr(config, "workerinput") or started is None or not LATENCY_FILE.is_file():
        return
    if LATENCY_FILE.stat().st_mtime < started:
        return
    table = LATENCY_FILE.read_text().split("\n\nEvery update", 1)[0]
    terminalreporter.write_sep("=", "widget latency (test-artifacts/widget-latency.txt)")
    terminalreporter.write_line(table)
