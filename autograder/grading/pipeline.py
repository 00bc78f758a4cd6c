"""``python -m autograder grade SUBMISSIONS``: a whole class through nbgrader, end to end.

1. Every notebook handed in is brought to a gradable form (``prepare``) and run in our own
   sandbox kernel: cells that kill the kernel or ignore interrupts are replaced by stubs so
   nbgrader cannot drop the student, and every exercise is verified with an untampered checker.
2. ``nbgrader autograde`` grades all students of an assignment in one batch process.
3. An exercise nbgrader scored but the verification failed (the checker, NumPy or the test
   was tampered with) is set to 0 in the gradebook, with the reason in the report.
4. ``nbgrader generate_feedback`` (hidden tests cleared) and ``nbgrader export``; then CSVs per
   exercise and a class report (``report``).

Everything is written under the grading folder (``$NNCOURSE_GRADING_DIR``, default
``grading/``). Grading again overwrites, and gives the same results.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from . import prepare, report
from .sandbox import run_submission
from .submissions import Submission, collect

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class ExerciseGrade:
    student: str
    assignment: str
    exercise: str
    score: float
    max_score: float
    passed: bool
    reason: str = ""  # the checker's message, or why the exercise was not graded


@dataclass
class StudentNotes:
    student: str
    assignment: str
    notes: list[str] = field(default_factory=list)


@dataclass
class ClassResult:
    grades: list[ExerciseGrade] = field(default_factory=list)
    notes: list[StudentNotes] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"grades": [asdict(g) for g in self.grades],
                "notes": [asdict(n) for n in self.notes], "skipped": self.skipped}


def with_tools_on_path() -> None:
    """Put this Python's scripts folder on PATH: nbgrader runs ``alembic`` by name."""
    scripts = os.path.dirname(sys.executable)
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")


class Course:
    """The course folder (nbgrader_config.py, solutions/, notebooks/) and a grading folder."""

    def __init__(self, root: Path = ROOT, grading: Path | None = None,
                 cell_timeout: int | None = None):
        with_tools_on_path()
        self.root = Path(root).resolve()
        default = os.environ.get("NNCOURSE_GRADING_DIR", "grading")
        self.grading = (self.root / (grading or default)).resolve()
        self.cell_timeout = cell_timeout or int(os.environ.get("NNCOURSE_CELL_TIMEOUT", "60"))
        self.grading.mkdir(parents=True, exist_ok=True)
        seed_file = self.grading / "hidden_seed"
        if not seed_file.exists():  # unknown to students; kept so grading again is identical
            seed_file.write_text(str(secrets.randbits(32)))
        self.hidden_seed = seed_file.read_text().strip()

    def assignments(self) -> list[str]:
        return sorted(p.parent.name for p in (self.root / "solutions").glob("*/*.ipynb")
                      if p.stem == p.parent.name)

    def release(self, assignment: str) -> nbformat.NotebookNode:
        return nbformat.read(self.root / "notebooks" / assignment / f"{assignment}.ipynb", 4)

    def env(self) -> dict:
        return dict(os.environ, NNCOURSE_GRADING_DIR=str(self.grading),
                    NNCOURSE_HIDDEN_SEED=self.hidden_seed,
                    NNCOURSE_CELL_TIMEOUT=str(self.cell_timeout))

    def nbgrader(self, *args: str, log=None) -> subprocess.CompletedProcess:
        out = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=self.root,
                             env=self.env(), capture_output=True, text=True)
        if log is not None:
            log.write(f"$ nbgrader {' '.join(args)}\n{out.stdout}{out.stderr}\n")
        return out

    def path(self, kind: str, student: str, assignment: str) -> Path:
        return self.grading / kind / student / assignment / f"{assignment}.ipynb"


def _sandbox(course: Course, sub: Submission, release, workdir: Path) -> tuple[dict, list[str]]:
    """Prepare one submission and run it in the sandbox; (verdicts, notes)."""
    notes = []
    try:
        nb = nbformat.read(sub.path, as_version=4)
    except Exception as exc:
        return {}, [f"unreadable notebook ({type(exc).__name__}: {exc})"]
    original = course.path("originals", sub.student, sub.assignment)
    original.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(sub.path, original)
    notes += prepare.restore_test_cells(nb, release)
    exercises = [(name, expr) for name, expr, _ in prepare.exercises_of(release)]
    tests = {c.index for c in prepare.graded_cells(nb)}
    verdicts: dict = {}
    for _attempt in range(6):
        indices = [i for i in prepare.code_cells(nb) if i not in tests]
        result = run_submission([nb.cells[i].source for i in indices], exercises,
                                cwd=str(workdir), env=course.env(),
                                timeout=course.cell_timeout)
        bad = next((o for o in result.outcomes if o.status in ("hung", "died")), None)
        if bad is None:
            if result.error:
                notes.append(result.error)
            if result.tampered:
                notes.append("replaced " + ", ".join(result.tampered) + " (restored before "
                             "verification)")
            verdicts = result.verdicts
            break
        where = prepare.replace_cell(nb, indices[bad.index], release, bad.detail)
        notes.append(f"{where}: {bad.detail}; replaced by a failing stub so the rest is graded")
    else:
        notes.append("gave up after replacing 5 cells")
    target = course.path("submitted", sub.student, sub.assignment)
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)
    return verdicts, notes


def grade(submissions: Path, course: Course | None = None, assignments: list[str] | None = None,
          workers: int = 2, say=print) -> ClassResult:
    """Grade every submission under ``submissions``; write feedback, CSVs and the report."""
    course = course or Course()
    known = course.assignments()
    wanted = assignments or known
    unknown = sorted(set(wanted) - set(known))
    if unknown:
        raise ValueError(f"unknown assignments {unknown}; the course has {known}")
    result = ClassResult()
    log = open(course.grading / "nbgrader.log", "w")  # noqa: SIM115  (closed below)
    with tempfile.TemporaryDirectory() as tmp, log:
        subs, result.skipped = collect(Path(submissions), wanted, Path(tmp))
        if Path(submissions).resolve() == (course.grading / "submitted").resolve():
            # grading nbgrader's collected folder again: start from what was handed in
            for sub in subs:
                original = course.path("originals", sub.student, sub.assignment)
                if original.exists():
                    sub.path = original
        for assignment in sorted({s.assignment for s in subs}):
            say(f"{assignment}: {sum(s.assignment == assignment for s in subs)} submissions")
            _grade_assignment(course, assignment, [s for s in subs if s.assignment == assignment],
                              Path(tmp), workers, result, log, say)
    report.write(course.grading, result)
    return result


def _grade_assignment(course, assignment, subs, workdir, workers, result, log, say):
    release = course.release(assignment)
    out = course.nbgrader("generate_assignment", assignment, "--force",
                          f"--CourseDirectory.release_directory={course.grading / 'release'}",
                          log=log)
    if out.returncode:
        raise RuntimeError(f"nbgrader generate_assignment failed:\n{out.stdout}{out.stderr}")
    for kind in ("submitted", "autograded", "feedback"):  # a fresh start for these students
        for sub in subs:
            shutil.rmtree(course.grading / kind / sub.student / assignment, ignore_errors=True)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        runs = list(pool.map(lambda s: _sandbox(course, s, release, workdir), subs))
    say(f"{assignment}: sandbox done; nbgrader autograde ...")
    course.nbgrader("autograde", assignment, "--create", "--force", log=log)
    exercises = prepare.exercises_of(release)
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(f"sqlite:///{course.grading / 'gradebook.db'}") as gb:
        for sub, (verdicts, notes) in zip(subs, runs):
            try:
                nb = gb.find_submission_notebook(assignment, assignment, sub.student)
                grades = {g.name: g for g in nb.grades}
            except MissingEntry:
                grades = None
                if not any("unreadable" in n for n in notes):
                    notes.append("nbgrader could not grade this notebook (see nbgrader.log)")
            for name, _expr, cell in exercises:
                ok, message = verdicts.get(name, (False, "not verified"))
                g = grades.get(cell.grade_id) if grades else None
                score = float(g.score or 0) if g is not None else 0.0
                if g is not None and score > 0 and not ok:
                    g.manual_score = 0.0
                    notes.append(f"{name}: nbgrader's run passed but the untampered check "
                                 "failed; set to 0")
                    score = 0.0
                passed = ok and score > 0
                if ok and not passed:
                    message = "failed when nbgrader ran the notebook (see the feedback)"
                result.grades.append(ExerciseGrade(sub.student, assignment, name, score,
                                                   cell.points, passed,
                                                   "" if passed else message))
            result.notes.append(StudentNotes(sub.student, assignment, notes))
        gb.db.commit()
    course.nbgrader("generate_feedback", assignment, "--force", log=log)
    (course.grading / "exports").mkdir(exist_ok=True)
    course.nbgrader("export", f"--to={course.grading / 'exports' / 'grades.csv'}", log=log)


def main_grade(args) -> int:
    course = Course(grading=Path(args.grading_dir) if args.grading_dir else None,
                    cell_timeout=args.cell_timeout)
    (course.grading / "exports").mkdir(exist_ok=True)
    result = grade(Path(args.submissions), course, args.assignment or None, args.workers)
    print(report.summary(result))
    print(f"\nReport, CSVs and feedback under {course.grading}")
    (course.grading / "results.json").write_text(json.dumps(result.to_json(), indent=1))
    return 0
