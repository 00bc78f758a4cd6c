"""Every notebook through the whole sandboxed grading pipeline: a right and an empty hand-in.

The self-check proves each solution passes the out-of-process checker; this proves the same
inside the grading sandbox, through nbgrader (the grading copies of nnlib without the graded
references, the pretrained model and data sets read in the sandbox, only the needed cells run):
the solution earns every point of every notebook, the release's stubs none.
"""

from __future__ import annotations

import json

import pytest
from classroom import submission, write_class
from conftest import NOTEBOOK_IDS
from test_grading import finish

from nnlib import EXERCISES

pytestmark = [pytest.mark.slow, pytest.mark.nbgrader,
              pytest.mark.xdist_group("grading-every-notebook")]  # its own worker, its fixture once


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    import subprocess
    import sys

    from classroom import ROOT

    base = tmp_path_factory.mktemp("every")
    for nb_id in NOTEBOOK_IDS:
        write_class(base / "submissions", {"right": submission(nb_id),
                                           "empty": submission(nb_id, solved=False)}, nb_id)
    proc = subprocess.Popen([sys.executable, "-m", "autograder", "grade",
                             str(base / "submissions"), "--grading-dir", str(base / "grading"),
                             "--cell-timeout", "60"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    finish(proc)
    return json.loads((base / "grading" / "results.json").read_text())


@pytest.mark.parametrize("nb_id", NOTEBOOK_IDS)
def test_the_solution_earns_every_point_and_the_stubs_none(graded, nb_id):
    grades = [g for g in graded["grades"] if g["assignment"] == nb_id]
    assert {g["exercise"] for g in grades} == set(EXERCISES[nb_id])
    right = {g["exercise"]: (g["score"], g["reason"]) for g in grades if g["student"] == "right"}
    assert all(score > 0 and not reason for score, reason in right.values()), right
    assert sum(g["score"] for g in grades if g["student"] == "right") == 100
    empty = [g for g in grades if g["student"] == "empty"]
    assert all(g["score"] == 0 and "not implemented yet" in g["reason"] for g in empty), empty
