"""Grading a whole class with nbgrader, end to end, on a real course directory.

A synthetic class of eleven students hands in notebook 01 (mse_loss 25, softmax 35,
cross_entropy_loss 40 points): right, partly right, untouched, an infinite loop, a loop that
ignores SIGINT, a kernel crash, an edited and a deleted test cell, a patched checker (which
patches nothing the grader uses: it checks from outside the sandbox), NaN everywhere,
megabytes of output. Each student's score per exercise and the reason shown are
asserted; grading again, even after an interrupted run, gives identical results.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from classroom import ROOT, submission, write_class
from conftest import NOTEBOOK_IDS

from autograder.grading.pipeline import with_tools_on_path
from nnlib import EXERCISES

A = "01_loss_functions"
POINTS = {"mse_loss": 25, "softmax": 35, "cross_entropy_loss": 40}

NAIVE_SOFTMAX = """def softmax(scores):
    e = np.exp(scores)
    return e / e.sum(axis=1, keepdims=True)
"""
SUMMED_MSE = """def mse_loss(y_pred, y_true):
    return np.sum((y_pred - y_true) ** 2)
"""
LOOPING_MSE = """def mse_loss(y_pred, y_true):
    total = 0.0
    i = 0
    while i < y_pred.size:
        total += 0.0  # forgot i += 1
    return total
"""
DEAF_LOOP = """import signal
signal.signal(signal.SIGINT, signal.SIG_IGN)
while True:
    pass
"""
CRASH = "import os\nos._exit(1)\n"
PATCHED = """check = lambda *args, **kwargs: None
import autograder
autograder.check = check
np.allclose = lambda *args, **kwargs: True
def softmax(scores):
    return scores
"""
NAN_SOFTMAX = "def softmax(scores):\n    return np.full(np.shape(scores), np.nan)\n"
NAN_MSE = "def mse_loss(y_pred, y_true):\n    return float('nan')\n"
NAN_CE = "def cross_entropy_loss(scores, y):\n    return np.nan\n"
CHATTY = """def softmax(scores):
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
print('x' * 100_000 * 30)
"""


def build_class(folder: Path):
    students = {
        "alice": submission(A),
        "bob": submission(A, {"softmax": NAIVE_SOFTMAX, "mse_loss": SUMMED_MSE}),
        "carol": submission(A, solved=False),
        "dave": submission(A, {"mse_loss": LOOPING_MSE}),
        "erin": submission(A, {"softmax": DEAF_LOOP}),
        "frank": submission(A, {"cross_entropy_loss": CRASH}),
        "grace": submission(A, {"softmax": NAIVE_SOFTMAX}, edit={"test_softmax": "pass"}),
        "heidi": submission(A, delete=("test_mse_loss",)),
        "ivan": submission(A, {"softmax": PATCHED}),
        "judy": submission(A, {"softmax": NAN_SOFTMAX, "mse_loss": NAN_MSE,
                               "cross_entropy_loss": NAN_CE}),
        "mallory": submission(A, {"softmax": CHATTY}),  # 3 MB printed by a cell grading runs
    }
    write_class(folder, students, A)
    return students


EXPECTED = {  # student -> exercises that earn their points
    "alice": {"mse_loss", "softmax", "cross_entropy_loss"},
    "bob": {"cross_entropy_loss"},
    "carol": set(),
    "dave": {"softmax", "cross_entropy_loss"},
    "erin": {"mse_loss", "cross_entropy_loss"},
    "frank": {"mse_loss", "softmax"},
    "grace": {"mse_loss", "cross_entropy_loss"},
    "heidi": {"mse_loss", "softmax", "cross_entropy_loss"},
    "ivan": {"mse_loss", "cross_entropy_loss"},
    "judy": set(),
    "mallory": {"mse_loss", "softmax", "cross_entropy_loss"},
}


def grade(submissions: Path, grading: Path, timeout: int = 10, **kw):
    return subprocess.Popen(
        [sys.executable, "-m", "autograder", "grade", str(submissions),
         "--grading-dir", str(grading), "--cell-timeout", str(timeout), "--assignment", A],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True, **kw)


def finish(proc) -> str:
    out, _ = proc.communicate(timeout=900)
    assert proc.returncode == 0, out
    return out


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("class")
    build_class(base / "submissions")
    grading = base / "grading"
    output = finish(grade(base / "submissions", grading))
    return base, grading, output, json.loads((grading / "results.json").read_text())


def scores(results) -> dict[str, dict[str, float]]:
    table: dict = {}
    for g in results["grades"]:
        table.setdefault(g["student"], {})[g["exercise"]] = g["score"]
    return table


def reasons(results, student) -> dict[str, str]:
    return {g["exercise"]: g["reason"] for g in results["grades"] if g["student"] == student}


def notes(results, student) -> str:
    return " | ".join(n for entry in results["notes"] if entry["student"] == student
                      for n in entry["notes"])


pytestmark = [pytest.mark.slow, pytest.mark.nbgrader, pytest.mark.xdist_group("nbgrader")]


def test_points_match_the_notebook():
    assert set(POINTS) == set(EXERCISES[A]) and sum(POINTS.values()) == 100


def test_every_student_scores_exactly_what_they_solved(graded):
    _, _, _, results = graded
    table = scores(results)
    assert set(table) == set(EXPECTED)
    for student, solved in EXPECTED.items():
        expected = {e: (POINTS[e] if e in solved else 0) for e in POINTS}
        assert table[student] == expected, (student, reasons(results, student),
                                            notes(results, student))


def test_reasons_name_the_mistake(graded):
    _, _, _, results = graded
    assert "average" in reasons(results, "bob")["mse_loss"].lower()
    assert "overflow" in reasons(results, "bob")["softmax"]
    assert "not implemented yet" in reasons(results, "carol")["softmax"]
    assert "did not finish in time" in reasons(results, "dave")["mse_loss"]
    assert "ignored the interrupt" in notes(results, "erin")
    assert "killed the kernel" in notes(results, "frank")
    assert "edited test cell test_softmax" in notes(results, "grace")
    assert "deleted test cell test_mse_loss" in notes(results, "heidi")
    assert "expected 0.054185, got -2.034625" in reasons(results, "ivan")["softmax"]
    assert "nan" in reasons(results, "judy")["softmax"].lower()
    assert notes(results, "alice") == "" and notes(results, "mallory") == ""


def test_exports_and_report(graded):
    _, grading, output, _ = graded
    with open(grading / "exports" / "grades.csv") as f:
        nbgrader_rows = {r["student_id"]: float(r["score"]) for r in csv.DictReader(f)
                         if r["assignment"] == A}
    assert nbgrader_rows["alice"] == 100 and nbgrader_rows["carol"] == 0
    assert nbgrader_rows["ivan"] == 65  # nbgrader's own export reflects the override
    assert nbgrader_rows["erin"] == 65 and nbgrader_rows["frank"] == 60
    with open(grading / "exports" / f"{A}.csv") as f:
        per_student = {r["student"]: r for r in csv.DictReader(f)}
    assert per_student["bob"]["cross_entropy_loss"] == "40" and per_student["bob"]["total"] == "40"
    report = (grading / "report.md").read_text()
    assert "Hardest exercises" in report and "Most frequent mistakes" in report
    assert "frank" in report.split("needed attention")[1]
    assert (grading / f"histogram-{A}.png").stat().st_size > 5000
    assert "alice" in output


def test_output_is_kept_up_to_a_megabyte_per_cell_with_a_note(graded):
    _, grading, _, _ = graded
    mallory = (grading / "autograded" / "mallory" / A / f"{A}.ipynb").read_text()
    assert "output cut here by the grader" in mallory
    assert len(mallory) < 2 * 2**20  # 3 MB were printed


def test_feedback_shows_messages_but_no_hidden_tests(graded):
    _, grading, _, _ = graded
    pages = list((grading / "feedback").rglob("*.html"))
    assert len(pages) == len(EXPECTED)
    bob = (grading / "feedback" / "bob" / A / f"{A}.html").read_text()
    assert "overflow" in bob
    for page in pages:
        text = page.read_text()
        assert "hidden=True" not in text and "BEGIN HIDDEN TESTS" not in text, page


def test_grading_again_after_an_interrupted_run_gives_identical_results(graded):
    """Killed during autograde, then graded again from nbgrader's submitted/ folder."""
    base, grading, _, first = graded
    proc = grade(base / "submissions", grading)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not (grading / "autograded" / "alice").exists():
        time.sleep(0.5)  # wait until nbgrader autograde is under way, then interrupt
    time.sleep(3)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    # again, from nbgrader's own submitted/ folder (as after `nbgrader collect`)
    finish(grade(grading / "submitted", grading))
    again = json.loads((grading / "results.json").read_text())
    assert again["grades"] == first["grades"]
    assert again["notes"] == first["notes"]
    assert again == first
    from nbgrader.api import Gradebook

    with_tools_on_path()
    with Gradebook(f"sqlite:///{grading / 'gradebook.db'}") as gb:
        assert sorted(s.id for s in gb.students) == sorted(EXPECTED)
        assert len(gb.assignment_submissions(A)) == len(EXPECTED)


def test_release_holds_no_solution_code_and_no_hidden_tests():
    """Cell by cell: the release has the source's cells; solution cells keep none of the
    solution's lines (only what is outside the solution region: signature, docstring) and end in
    NotImplementedError; test cells lose the hidden tests; every other cell is unchanged."""
    import re

    import nbformat

    region = re.compile(r"### BEGIN SOLUTION(.*?)### END SOLUTION", re.S)
    for assignment in NOTEBOOK_IDS:
        text = (ROOT / "notebooks" / assignment / f"{assignment}.ipynb").read_text()
        assert "BEGIN SOLUTION" not in text and "hidden=True" not in text
        assert "HIDDEN TESTS" not in text
        source = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", 4)
        release = nbformat.read(ROOT / "notebooks" / assignment / f"{assignment}.ipynb", 4)
        assert [c.id for c in release.cells] == [c.id for c in source.cells], assignment
        for src, rel in zip(source.cells, release.cells):
            solutions = region.findall(src.source)
            where = (assignment, src.id)
            if not solutions:
                if "### BEGIN HIDDEN TESTS" in src.source:
                    assert rel.source == src.source.split("### BEGIN HIDDEN TESTS")[0].rstrip()
                else:
                    assert rel.source == src.source, where
                continue
            kept = {ln.strip() for ln in region.sub("", src.source).splitlines()}
            secret = {ln.strip() for body in solutions for ln in body.splitlines()} - kept
            leaked = secret & {ln.strip() for ln in rel.source.splitlines()} - {""}
            assert not leaked, (where, leaked)
            assert "raise NotImplementedError" in rel.source, where


def test_regrading_one_student_changes_only_their_rows(graded, tmp_path):
    """``--student bob`` after bob fixed his softmax: bob's grades change; every other
    student's rows in results.json, exercises.csv and the report stay; then back again."""
    base, grading, _, first = graded
    fixed = tmp_path / "fixed"
    students = build_class(fixed)
    students["bob"] = submission(A, {"mse_loss": SUMMED_MSE})
    write_class(fixed, {"bob": students["bob"]}, A)

    def regrade(folder):
        start = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "autograder", "grade", str(folder), "--grading-dir",
             str(grading), "--cell-timeout", "10", "--assignment", A, "--student", "bob"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        finish(proc)
        print(f"one student regraded in {time.monotonic() - start:.1f} s")
        return json.loads((grading / "results.json").read_text())

    after = regrade(fixed)
    assert scores(after)["bob"] == {"mse_loss": 0, "softmax": 35, "cross_entropy_loss": 40}
    others = lambda results: [g for g in results["grades"] if g["student"] != "bob"]  # noqa
    assert others(after) == others(first)
    with open(grading / "exports" / "exercises.csv") as f:
        assert {r["student"] for r in csv.DictReader(f)} == set(EXPECTED)
    assert regrade(base / "submissions") == first  # bob as handed in: as before
