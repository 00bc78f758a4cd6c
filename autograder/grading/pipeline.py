"""``python -m autograder grade SUBMISSIONS``: a whole class through nbgrader, end to end.

1. Every notebook handed in is brought to a gradable form (``prepare``: test cells restored)
   and gets two grader cells: a first one that keeps the checker as it is before any student
   code runs (under a name unique to this run), and a last one that verifies every exercise
   with it and prints the verdicts.
2. ``nbgrader autograde`` grades all students of an assignment in one batch process. A
   student nbgrader drops (a cell killed the kernel or ignored interrupts) is run cell by cell
   in our sandbox, the offending cells are replaced by stubs, and nbgrader grades them again.
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

from . import prepare, report, sandbox
from .feedback import GRADER_CELL
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




def _grader_cell(source: str, role: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata[GRADER_CELL] = role
    return cell


def _student_cells(nb) -> list[int]:
    """Code cells nbgrader runs that are not test cells or the grader's own."""
    tests = {c.index for c in prepare.graded_cells(nb)}
    return [i for i in prepare.code_cells(nb)
            if i not in tests and GRADER_CELL not in nb.cells[i].metadata]


def _prepare(course: Course, sub: Submission, release, token: str):
    """Read a handed-in notebook, keep a copy, restore its test cells, add the grader's cells.

    Returns (notebook or None if unreadable, notes).
    """
    try:
        nb = nbformat.read(sub.path, as_version=4)
    except Exception as exc:
        return None, [f"unreadable notebook ({type(exc).__name__}: {exc})"]
    original = course.path("originals", sub.student, sub.assignment)
    original.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(sub.path, original)
    notes = prepare.restore_test_cells(nb, release)
    exercises = [(name, expr) for name, expr, _ in prepare.exercises_of(release)]
    nb.cells.insert(0, _grader_cell(sandbox.bootstrap_source(token), "guard"))
    nb.cells.append(_grader_cell(sandbox.verify_source(token, exercises), "verify"))
    return nb, notes


def _write_submitted(course: Course, sub: Submission, nb) -> None:
    target = course.path("submitted", sub.student, sub.assignment)
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)


def _repair(course: Course, nb, release, workdir: Path, notes: list[str]) -> None:
    """Replace, one at a time, the cells that kill the kernel or ignore interrupts."""
    for _attempt in range(5):
        indices = _student_cells(nb)
        result = sandbox.run_submission([nb.cells[i].source for i in indices], [],
                                        cwd=str(workdir), env=course.env(),
                                        timeout=course.cell_timeout)
        bad = next((o for o in result.outcomes if o.status in ("hung", "died")), None)
        if bad is None:
            return
        where = prepare.replace_cell(nb, indices[bad.index], release, bad.detail)
        notes.append(f"{where}: {bad.detail}; replaced by a failing stub so the rest is graded")
    notes.append("gave up after replacing 5 cells")


def _verify_in_sandbox(course: Course, nb, release, workdir: Path):
    """Verdicts from a separate sandbox run, when nbgrader's run printed none."""
    indices = _student_cells(nb)
    exercises = [(name, expr) for name, expr, _ in prepare.exercises_of(release)]
    result = sandbox.run_submission([nb.cells[i].source for i in indices], exercises,
                                    cwd=str(workdir), env=course.env(),
                                    timeout=course.cell_timeout)
    return (result.verdicts, result.tampered) if not result.error else None


def _verdicts_from(autograded: Path, token: str):
    """Verdicts printed by the grader's last cell in nbgrader's executed notebook, or None."""
    if not autograded.exists():
        return None
    nb = nbformat.read(autograded, as_version=4)
    for cell in nb.cells:
        if cell.metadata.get(GRADER_CELL) == "verify":
            text = "".join(o.get("text", "") for o in cell.get("outputs", [])
                           if o.get("output_type") == "stream")
            return sandbox.parse_verdicts(text, token)
    return None


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
        originals = course.grading / "originals"
        if Path(submissions).resolve() == (course.grading / "submitted").resolve() \
                and originals.is_dir():
            # nbgrader's collected folder, graded before: what was handed in is kept under
            # originals/ (submitted/ holds the repaired copies, or nothing if interrupted)
            kept, _ = collect(originals, wanted, Path(tmp) / "originals")
            seen = {(s.student, s.assignment) for s in kept}
            subs = kept + [s for s in subs if (s.student, s.assignment) not in seen]
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
    token = sandbox.new_token()
    prepared, notes = {}, {}
    for sub in subs:
        nb, notes[sub.student] = _prepare(course, sub, release, token)
        if nb is not None:
            prepared[sub.student] = nb
            _write_submitted(course, sub, nb)
    say(f"{assignment}: nbgrader autograde ({len(prepared)} notebooks) ...")
    course.nbgrader("autograde", assignment, "--create", "--force", log=log)
    autograded = {sub.student: course.path("autograded", sub.student, assignment) for sub in subs}
    dropped = [s for s in subs if s.student in prepared and not autograded[s.student].exists()]
    if dropped:  # nbgrader gave up on these: find and stub the cells that hang or crash
        say(f"{assignment}: repairing {', '.join(s.student for s in dropped)} ...")
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            list(pool.map(lambda s: _repair(course, prepared[s.student], release, workdir,
                                            notes[s.student]), dropped))
        for sub in dropped:
            _write_submitted(course, sub, prepared[sub.student])
            course.nbgrader("autograde", assignment, "--student", sub.student, "--create",
                            "--force", log=log)
    verdicts = {}
    for sub in subs:
        if sub.student not in prepared:
            continue
        found = _verdicts_from(autograded[sub.student], token)
        if found is None:  # the verification cell did not finish in nbgrader's run
            found = _verify_in_sandbox(course, prepared[sub.student], release, workdir)
        if found is None:
            notes[sub.student].append("could not verify this notebook; see nbgrader.log")
            continue
        verdicts[sub.student], tampered = found
        if tampered:
            notes[sub.student].append("replaced " + ", ".join(tampered)
                                      + " (restored before verification)")
    _record(course, assignment, subs, release, verdicts, notes, result)
    course.nbgrader("generate_feedback", assignment, "--force", log=log)
    (course.grading / "exports").mkdir(exist_ok=True)
    course.nbgrader("export", f"--to={course.grading / 'exports' / 'grades.csv'}", log=log)


def _record(course, assignment, subs, release, verdicts, notes, result):
    """Scores from the gradebook, overridden to 0 where verification failed; into ``result``."""
    from nbgrader.api import Gradebook, MissingEntry

    exercises = prepare.exercises_of(release)
    with Gradebook(f"sqlite:///{course.grading / 'gradebook.db'}") as gb:
        for sub in subs:
            mine = notes[sub.student]
            try:
                nb = gb.find_submission_notebook(assignment, assignment, sub.student)
                grades = {g.name: g for g in nb.grades}
            except MissingEntry:
                grades = None
                if not any("unreadable" in n for n in mine):
                    mine.append("nbgrader could not grade this notebook (see nbgrader.log)")
            for name, _expr, cell in exercises:
                ok, message = verdicts.get(sub.student, {}).get(name, (False, "not verified"))
                g = grades.get(cell.grade_id) if grades else None
                score = float(g.score or 0) if g is not None else 0.0
                if g is not None and float(g.auto_score or 0) > 0 and not ok:
                    g.manual_score = 0.0  # kept by nbgrader across regrades: decide on auto
                    mine.append(f"{name}: nbgrader's run passed but the untampered check "
                                "failed; set to 0")
                    score = 0.0
                passed = ok and score > 0
                if ok and not passed:
                    message = "failed when nbgrader ran the notebook (see the feedback)"
                result.grades.append(ExerciseGrade(sub.student, assignment, name, score,
                                                   cell.points, passed,
                                                   "" if passed else message))
            result.notes.append(StudentNotes(sub.student, assignment, mine))
        gb.db.commit()


def main_grade(args) -> int:
    course = Course(grading=Path(args.grading_dir) if args.grading_dir else None,
                    cell_timeout=args.cell_timeout)
    (course.grading / "exports").mkdir(exist_ok=True)
    result = grade(Path(args.submissions), course, args.assignment or None, args.workers)
    print(report.summary(result))
    print(f"\nReport, CSVs and feedback under {course.grading}")
    (course.grading / "results.json").write_text(json.dumps(result.to_json(), indent=1))
    return 0
