"""nbgrader's own commands on a real course directory, with this course's configuration:

- the grading folder is created (``nbgrader collect`` used to fail with "unable to open
  database file"), ignored by git wherever it is, and exports land in its exports/;
- a roster imported with ``nbgrader db student import`` gives names, e-mails and LMS ids;
- hand-in times kept from a folder, a zip, nbgrader's exchange and a Canvas download reach
  ``nbgrader autograde``, which applies our per-day late penalty;
- ``nbgrader export`` and the Canvas exporter write what Canvas's gradebook import reads;
- the report's late penalties and students with nothing handed in come from that gradebook.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import time
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import nbformat
import pytest
from classroom import ROOT, submission

from autograder.grading import lms, report
from autograder.grading.late import PenaltyPerPeriod
from autograder.grading.pipeline import ClassResult, ExerciseGrade
from autograder.grading.submissions import collect, write_timestamp

A = "01_loss_functions"
DUE = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)
NAIVE_SOFTMAX = ("def softmax(scores):\n    e = np.exp(scores)\n"
                 "    return e / e.sum(axis=1, keepdims=True)\n")
ROSTER = """id,first_name,last_name,email,lms_user_id
alice,Alice,Archer,alice@uni.edu,1001
bob,Bob,Baker,bob@uni.edu,1002
carol,Carol,Cruz,carol@uni.edu,1003
dave,,,,
erin,Erin,Evans,erin@uni.edu,1005
"""

pytestmark = [pytest.mark.slow, pytest.mark.nbgrader,
              pytest.mark.xdist_group("course-workflow")]  # its own worker, its fixture once


def nbgrader(*args: str, cwd: Path = ROOT, **env: str) -> str:
    scripts = os.path.dirname(sys.executable)  # nbgrader runs `alembic` by name
    environ = dict(os.environ, PATH=scripts + os.pathsep + os.environ["PATH"], **env)
    out = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=cwd, env=environ,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, f"nbgrader {' '.join(args)}:\n{out.stdout}{out.stderr}"
    return out.stdout + out.stderr


def nbgrader_in_process(app: str, *args: str, **env: str) -> None:
    """An nbgrader command run in this process (saves the 6-12 s of starting nbgrader), from
    the repository root with this course's nbgrader_config.py, as the command line does."""
    from nbgrader import apps

    app_class = getattr(apps, app)
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        mp.chdir(ROOT)
        instance = app_class.instance()
        try:
            instance.initialize(list(args))
            instance.start()
        finally:
            app_class.clear_instance()


def test_collect_into_a_new_grading_folder_inside_a_repository(tmp_path):
    repo = tmp_path / "course"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    shutil.copy(ROOT / "nbgrader_config.py", repo)
    inbound = tmp_path / "exchange" / "nncourse" / "inbound"
    handed_in = inbound / f"alice+{A}+2026-11-30 11:00:00.000000 UTC+x1y2"
    handed_in.mkdir(parents=True)
    nbformat.write(submission(A), handed_in / f"{A}.ipynb")
    (handed_in / "timestamp.txt").write_text("2026-11-30 11:00:00.000000 UTC")
    env = {"NNCOURSE_GRADING_DIR": "term1", "NNCOURSE_EXCHANGE": str(tmp_path / "exchange")}
    nbgrader("collect", A, cwd=repo, **env)
    collected = repo / "term1" / "submitted" / "alice" / A
    assert (collected / f"{A}.ipynb").is_file() and (collected / "timestamp.txt").is_file()
    assert (repo / "term1" / ".gitignore").read_text().splitlines()[-1] == "*"
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=repo,
                            capture_output=True, text=True, check=True).stdout
    assert status.splitlines() == ["?? nbgrader_config.py"], status
    [sub], _ = collect(repo / "term1" / "submitted", [A], tmp_path / "work")
    assert (sub.student, sub.timestamp_source) == ("alice", "timestamp.txt")
    assert sub.timestamp == datetime(2026, 11, 30, 11, 0, tzinfo=timezone.utc)
    nbgrader("export", cwd=repo, **env)
    assert (repo / "term1" / "exports" / "grades.csv").is_file()
    assert not (repo / "grades.csv").exists()


def hand_ins(folder: Path) -> None:
    """alice on time (a folder, file time), bob 26 h late (a zip), dave 2 h late (nbgrader's
    collected folder, timestamp.txt), erin through Canvas (its download has no hand-in time)."""
    on_time, bob_late = DUE.timestamp() - 3600, DUE.timestamp() + 26 * 3600
    alice = folder / "alice" / f"{A}.ipynb"
    alice.parent.mkdir(parents=True)
    nbformat.write(submission(A), alice)
    os.utime(alice, (on_time, on_time))
    with zipfile.ZipFile(folder / "bob.zip", "w") as zf:
        local = time.localtime(bob_late)[:6]  # zip entry times are local times
        zf.writestr(zipfile.ZipInfo(f"{A}/{A}.ipynb", date_time=local),
                    nbformat.writes(submission(A)))
    dave = folder / "dave" / A
    dave.mkdir(parents=True)
    nbformat.write(submission(A, {"softmax": NAIVE_SOFTMAX}), dave / f"{A}.ipynb")
    (dave / "timestamp.txt").write_text("2026-11-30 14:00:00.000000 UTC")
    nbformat.write(submission(A), folder / f"evanserin_LATE_1005_9001_{A}.ipynb")


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    base = tmp_path_factory.mktemp("course")
    grading = base / "grading"  # not there yet: the configuration creates it
    env = {"NNCOURSE_GRADING_DIR": str(grading), "NNCOURSE_CELL_TIMEOUT": "30",
           "NNCOURSE_LATE_PENALTY": "10%/day, max 50%"}
    (base / "roster.csv").write_text(ROSTER)
    started = time.monotonic()
    nbgrader("db", "student", "import", str(base / "roster.csv"), **env)
    nbgrader_in_process("GenerateAssignmentApp", A, "--force",
                        f"--CourseDirectory.release_directory={grading / 'release'}", **env)
    url = f"sqlite:///{grading / 'gradebook.db'}"
    from nbgrader.api import Gradebook

    with Gradebook(url) as gb:  # as `nbgrader db assignment add A --duedate=...` does
        gb.update_or_create_assignment(A, duedate="2026-11-30 12:00:00 UTC")
    hand_ins(base / "submissions")
    subs, notes = collect(base / "submissions", [A], base / "work",
                          roster=lms.roster_from_gradebook(url))
    for sub in subs:  # what grading does: the notebook and its hand-in time, for nbgrader
        target = grading / "submitted" / sub.student / A
        target.mkdir(parents=True)
        shutil.copy(sub.path, target / f"{A}.ipynb")
        write_timestamp(sub, target)
    log = nbgrader("autograde", A, "--force", **env)
    nbgrader_in_process("ExportApp", **env)
    nbgrader("export", "--exporter=autograder.grading.canvas_export.CanvasExportPlugin", **env)
    print(f"course workflow: {time.monotonic() - started:.0f} s of nbgrader")
    return grading, url, subs, notes, log


def test_roster_import_gives_names_emails_and_lms_ids(course):
    _, url, subs, notes, _ = course
    roster = {s.id: s for s in lms.roster_from_gradebook(url)}
    assert set(roster) == {"alice", "bob", "carol", "dave", "erin"}
    assert roster["alice"] == lms.Student("alice", "Alice", "Archer", "alice@uni.edu", "1001")
    assert roster["dave"].display == "dave"
    by = {s.student: s for s in subs}
    assert set(by) == {"alice", "bob", "dave", "erin"} and notes == []
    assert by["erin"].lms_late and by["erin"].timestamp is None  # Canvas id 1005 -> erin
    assert by["bob"].timestamp_source == "zip entry"


def test_late_penalties_follow_the_plugin(course):
    _, url, _, _, log = course
    late = {r.student: r for r in report.late_penalties(url, A)}
    assert set(late) == {"bob", "dave"}, log
    assert late["bob"].seconds_late == 26 * 3600 and late["bob"].raw_score == 100
    assert late["bob"].penalty == pytest.approx(20)  # 2 started days at 10%
    assert late["dave"].seconds_late == 2 * 3600 and late["dave"].raw_score == 65
    assert late["dave"].penalty == pytest.approx(6.5) and late["dave"].score == pytest.approx(58.5)
    plugin = PenaltyPerPeriod(fraction_per_period=0.1, maximum_fraction=0.5)
    assert plugin.late_submission_penalty("x", 100, 9 * 86400) == 50  # capped


def test_nbgrader_export_goes_to_the_exports_folder(course):
    grading, _, _, _, _ = course
    with open(grading / "exports" / "grades.csv") as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f)}
    assert float(rows["bob"]["late_submission_penalty"]) == pytest.approx(20)
    assert float(rows["bob"]["score"]) == pytest.approx(80)
    assert rows["alice"]["email"] == "alice@uni.edu" and float(rows["carol"]["score"]) == 0
    assert not (ROOT / "grades.csv").exists()


def test_canvas_export_is_what_canvas_imports(course):
    grading, _, _, _, _ = course
    with open(grading / "exports" / "canvas.csv", newline="") as f:
        table = list(csv.reader(f))
    assert table[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", A]
    assert table[1] == ["Points Possible", "", "", "", "", "100"]
    rows = {r[3]: r for r in table[2:]}
    assert rows["alice"] == ["Archer, Alice", "1001", "", "alice", "", "100"]
    assert rows["bob"][0] == "Baker, Bob" and rows["bob"][5] == "80"
    assert rows["carol"][5] == ""  # nothing handed in: Canvas's grade is left alone
    assert rows["dave"][:2] == ["dave", ""] and rows["dave"][5] == "58.5"
    assert len(table) == 2 + 5


def test_report_lists_late_penalties_and_who_handed_nothing_in(course):
    grading, url, _, _, _ = course
    assert [s.id for s in report.missing_students(url, A, ClassResult())] == ["carol"]
    lines = "\n".join(report.late_markdown(report.late_penalties(url, A)))
    assert "| bob | 2026-12-01 14:00 | 2026-11-30 12:00 | 1d 2h | 100 | 20 | 80 |" in lines
    assert "| dave | 2026-11-30 14:00 | 2026-11-30 12:00 | 2h | 65 | 6.5 | 58.5 |" in lines


def test_the_assignment_csv_shows_the_late_penalty_and_the_score_after_it(course, tmp_path):
    _, url, _, _, _ = course
    result = ClassResult(grades=[
        ExerciseGrade(student, A, exercise, points, 50.0, points > 0, "")
        for student, got in {"alice": (50, 50), "bob": (50, 50), "dave": (50, 15)}.items()
        for exercise, points in zip(("cross_entropy_loss", "softmax"), got)])
    penalties = {r.student: r.penalty for r in report.late_penalties(url, A)}
    report.write_assignment_csv(tmp_path / f"{A}.csv", result, A, penalties)
    with open(tmp_path / f"{A}.csv", newline="") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    assert list(rows["bob"]) == ["student", "cross_entropy_loss", "softmax", "total",
                                 "late_penalty", "score", "max"]
    assert (rows["bob"]["total"], rows["bob"]["late_penalty"], rows["bob"]["score"]) \
        == ("100", "20", "80")
    assert (rows["dave"]["total"], rows["dave"]["late_penalty"], rows["dave"]["score"]) \
        == ("65", "6.5", "58.5")
    assert (rows["alice"]["late_penalty"], rows["alice"]["score"]) == ("0", "100")
