"""The course's notebooks: generated from one source, executable, and graded as promised.

- ``notebooks/`` and ``solutions/*.ipynb`` are exactly what the build makes from the jupytext
  sources (nothing edited by hand, nothing stale), and carry no outputs.
- Every solution notebook runs top to bottom in a real kernel with every cell succeeding and
  every exercise passing its visible and hidden checks; the seconds each took are recorded.
- Every student notebook runs with each test cell failing with the checker's message
  ("not implemented yet"), not with a cascade of NameErrors.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import nbformat
import pytest
from conftest import CURRICULUM_IDS, NOTEBOOK_IDS, ROOT

import nnlib
from autograder.notebook import error_of, execute, graded_cells
from autograder.selfcheck import run_notebook


def solution(nb_id):
    return ROOT / "solutions" / nb_id / f"{nb_id}.ipynb"


def student(nb_id):
    return ROOT / "notebooks" / nb_id / f"{nb_id}.ipynb"


def test_every_notebook_of_the_curriculum_exists():
    for nb_id in NOTEBOOK_IDS:
        assert solution(nb_id).is_file() and student(nb_id).is_file(), nb_id
    missing = [nb_id for nb_id in CURRICULUM_IDS if nb_id not in NOTEBOOK_IDS]
    if missing:
        pytest.xfail(f"not written yet: {', '.join(missing)}")


@pytest.mark.slow
def test_generated_notebooks_match_their_sources():
    out = subprocess.run([sys.executable, "-m", "autograder.build", "--check"],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize("nb_id", NOTEBOOK_IDS)
def test_committed_notebooks_have_no_outputs(nb_id):
    for path in (solution(nb_id), student(nb_id)):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, path


@pytest.mark.parametrize("nb_id", NOTEBOOK_IDS)
def test_each_exercise_has_one_test_cell_and_points_add_to_100(nb_id):
    nb = nbformat.read(solution(nb_id), as_version=4)
    cells = graded_cells(nb)
    checked = [name for cell in cells for name, _ in cell.exercises]
    assert sorted(set(checked)) == sorted(nnlib.EXERCISES[nb_id])
    assert len(cells) == len(nnlib.EXERCISES[nb_id])
    assert sum(cell.points for cell in cells) == 100
    for cell in cells:
        source = nb.cells[cell.index].source
        assert "### BEGIN HIDDEN TESTS" in source and "hidden=True" in source, cell.grade_id


@pytest.mark.slow
@pytest.mark.parametrize("nb_id", NOTEBOOK_IDS)
def test_solution_notebook_runs_and_passes_every_check(nb_id, artifacts):
    start = time.perf_counter()
    results, executed = run_notebook(solution(nb_id))
    seconds = time.perf_counter() - start
    errors = [(i, error_of(c)) for i, c in enumerate(executed.cells)
              if c.cell_type == "code" and error_of(c)]
    assert not errors, errors
    assert results and all(r.passed for r in results), [r for r in results if not r.passed]
    (artifacts / "timings").mkdir(exist_ok=True)
    (artifacts / "timings" / f"{nb_id}.json").write_text(json.dumps({"seconds": seconds}))


@pytest.mark.slow
@pytest.mark.parametrize("nb_id", NOTEBOOK_IDS)
def test_grading_only_the_cells_graded_functions_need_gives_every_point(nb_id):
    """Grading leaves out the cells no graded function depends on (plots, demonstrations):
    the solutions still earn every point, so nothing graded depends on what is left out."""
    from autograder.sandbox.needed import cells_needed

    nb = nbformat.read(solution(nb_id), as_version=4)
    tests = graded_cells(nb)
    kept = cells_needed(nb, [e for c in tests for _, e in c.exercises], {c.index for c in tests})
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    assert len(kept) < len(code) - len(tests), "nothing left out"
    results, _ = run_notebook(solution(nb_id), only_needed=True)
    assert results and all(r.passed for r in results), [r for r in results if not r.passed]


@pytest.mark.slow
@pytest.mark.parametrize("nb_id", NOTEBOOK_IDS)
def test_student_notebook_fails_each_check_with_a_clear_message(nb_id, tmp_path):
    nb = nbformat.read(student(nb_id), as_version=4)
    assert execute(nb, student(nb_id).parent) is None
    for cell in graded_cells(nb):
        error = error_of(nb.cells[cell.index])
        assert error is not None, f"{cell.grade_id} passed on a stub"
        assert "not implemented yet" in error, (cell.grade_id, error)
        assert "NameError" not in error
