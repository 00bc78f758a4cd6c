"""The self-check command grades a notebook in a real kernel, without nbgrader."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.selfcheck import check_notebook, format_table

ROOT = Path(__file__).resolve().parent.parent

RIGHT_SOFTMAX = """\
def softmax(scores):
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
"""
OVERFLOWING_SOFTMAX = """\
def softmax(scores):
    e = np.exp(scores)
    return e / e.sum(axis=1, keepdims=True)
"""
SUMMED_MSE = """\
def mse_loss(y_pred, y_true):
    return float(np.sum((y_pred - y_true) ** 2))
"""
STUB = "def {name}(*args):\n    # YOUR CODE HERE\n    raise NotImplementedError()\n"


def graded(source: str, grade_id: str, points: float):
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": grade_id, "locked": True,
                                 "points": points, "schema_version": 3, "solution": False,
                                 "task": False}
    return cell


def write_notebook(path: Path, softmax_src: str, mse_src: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [
        nbformat.v4.new_code_cell("import numpy as np\nfrom autograder import check"),
        nbformat.v4.new_code_cell(softmax_src),
        graded('check("softmax", softmax)', "test_softmax", 60),
        nbformat.v4.new_code_cell(mse_src),
        graded('check("mse_loss", mse_loss)', "test_mse_loss", 40),
    ]
    nbformat.write(nb, path)
    return path


@pytest.mark.slow
def test_grades_each_exercise_with_its_message(tmp_path):
    nb = write_notebook(tmp_path / "mixed.ipynb", RIGHT_SOFTMAX, SUMMED_MSE)
    results = {r.exercise: r for r in check_notebook(nb)}
    assert results["softmax"].passed and results["softmax"].points == 60
    assert not results["mse_loss"].passed and results["mse_loss"].points == 0
    assert "average" in results["mse_loss"].message.lower()
    table = format_table(list(results.values()))
    assert "softmax" in table and "FAILED" in table and "total 60/100" in table


@pytest.mark.slow
def test_hidden_set_runs_even_when_the_visible_one_passes(tmp_path):
    """The visible softmax check has no 1e4 case in this notebook's test cell? It does; the
    overflowing softmax must fail either way, with the overflow named."""
    nb = write_notebook(tmp_path / "overflow.ipynb", OVERFLOWING_SOFTMAX, STUB.format(
        name="mse_loss"))
    results = {r.exercise: r for r in check_notebook(nb)}
    assert not results["softmax"].passed
    assert "overflow" in results["softmax"].message
    assert "not implemented yet" in results["mse_loss"].message


@pytest.mark.slow
def test_command_line_exit_status_and_table(tmp_path):
    good = write_notebook(tmp_path / "good.ipynb", RIGHT_SOFTMAX, """\
def mse_loss(y_pred, y_true):
    return float(np.mean((y_pred - y_true) ** 2))
""")
    bad = write_notebook(tmp_path / "bad.ipynb", RIGHT_SOFTMAX, SUMMED_MSE)
    ok = subprocess.run([sys.executable, "-m", "autograder", "check", str(good)],
                        capture_output=True, text=True, cwd=ROOT)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "total 100/100" in ok.stdout
    failed = subprocess.run([sys.executable, "-m", "autograder", "check", str(good), str(bad)],
                            capture_output=True, text=True, cwd=ROOT)
    assert failed.returncode == 1
    assert "bad.ipynb" in failed.stdout and "FAILED" in failed.stdout


def test_command_line_rejects_missing_paths(tmp_path):
    out = subprocess.run([sys.executable, "-m", "autograder", "check",
                          str(tmp_path / "nope.ipynb")], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 2 and "Not found" in out.stderr


@pytest.mark.slow
def test_a_dying_kernel_is_reported_not_a_crash(tmp_path):
    nb = write_notebook(tmp_path / "dies.ipynb", "import os\nos._exit(1)", STUB.format(
        name="mse_loss"))
    results = check_notebook(nb, timeout=30)
    assert all(not r.passed for r in results)
    assert any("kernel died" in r.message or "NameError" in r.message for r in results)


def test_all_finds_every_course_notebook_in_a_folder():
    from conftest import CURRICULUM_IDS

    from autograder.__main__ import notebooks_in

    for folder in ("solutions", "notebooks"):
        found = notebooks_in([str(ROOT / folder)], True)
        assert [p.stem for p in found] == CURRICULUM_IDS, folder
    assert [p.parent.name for p in notebooks_in([], True)] == CURRICULUM_IDS  # notebooks/


@pytest.mark.slow
def test_command_line_all_grades_every_notebook_of_a_folder(tmp_path):
    """``--all FOLDER``: every <id>/<id>.ipynb, not checkpoints or other notebooks."""
    for name, mse in (("a_good", "def mse_loss(y_pred, y_true):\n"
                                 "    return float(np.mean((y_pred - y_true) ** 2))\n"),
                      ("b_bad", SUMMED_MSE)):
        (tmp_path / name / ".ipynb_checkpoints").mkdir(parents=True)
        write_notebook(tmp_path / name / f"{name}.ipynb", RIGHT_SOFTMAX, mse)
        write_notebook(tmp_path / name / ".ipynb_checkpoints" / f"{name}.ipynb",
                       OVERFLOWING_SOFTMAX, mse)
        write_notebook(tmp_path / name / "scratch.ipynb", OVERFLOWING_SOFTMAX, mse)
    out = subprocess.run([sys.executable, "-m", "autograder", "check", "--all", str(tmp_path)],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 1, out.stdout + out.stderr
    running = [line for line in out.stderr.splitlines() if line.startswith("running ")]
    assert len(running) == 2, out.stderr
    assert "a_good.ipynb" in out.stdout and "b_bad.ipynb" in out.stdout
    assert "scratch" not in out.stdout + out.stderr and "overflow" not in out.stdout
    assert "all 2 notebooks: 160/200, 3 of 4 exercises passed" in out.stdout, out.stdout
