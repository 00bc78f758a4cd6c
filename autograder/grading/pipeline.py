"""``python -m autograder grade SUBMISSIONS``: a whole class through nbgrader, end to end.

1. Every notebook handed in is brought to a gradable form (``prepare``: test cells restored,
   the original kept under ``originals/``). Two hand-ins for one student are reported.
2. ``nbgrader autograde`` grades all students of an assignment in one batch process, with
   ``autograder.sandbox.execute.SandboxedExecute`` in place of nbgrader's execution (see
   ``nbgrader_config.py``): each notebook runs in a bubblewrap sandbox, every exercise is
   checked from outside it, and each test cell's output is its verified verdict, which
   nbgrader scores and writes into the gradebook itself.
3. ``nbgrader generate_feedback`` (hidden tests cleared) and ``nbgrader export``; then CSVs per
   exercise and a class report (``report``).

Everything is written under the grading folder (``$NNCOURSE_GRADING_DIR``, default
``grading/``). Grading again overwrites, and gives the same results.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from ..notebook import error_of
from ..sandbox import bubblewrap
from . import lms, prepare, report
from .salt import term_salt
from .submissions import Submission, collect, submission_notes, write_nbgrader_files

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

    @classmethod
    def load(cls, path: Path) -> ClassResult:
        """The results a grading run wrote to ``path`` (empty if there are none)."""
        if not path.is_file():
            return cls()
        data = json.loads(path.read_text())
        return cls([ExerciseGrade(**g) for g in data.get("grades", [])],
                   [StudentNotes(**n) for n in data.get("notes", [])],
                   list(data.get("skipped", [])))

    def merged_into(self, earlier: ClassResult) -> ClassResult:
        """``earlier`` with every (student, assignment) graded here replaced by this run's."""
        mine = {(g.student, g.assignment) for g in self.grades} | {
            (n.student, n.assignment) for n in self.notes}
        key = lambda item: (item.student, item.assignment)  # noqa: E731
        return ClassResult(
            sorted([g for g in earlier.grades if key(g) not in mine] + self.grades,
                   key=lambda g: (g.assignment, g.student)),
            sorted([n for n in earlier.notes if key(n) not in mine] + self.notes,
                   key=lambda n: (n.assignment, n.student)),
            sorted(set(earlier.skipped) | set(self.skipped)))


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
        self.hidden_seed = term_salt(self.grading)  # kept: grading again is identical

    def assignments(self) -> list[str]:
        return sorted(p.parent.name for p in (self.root / "solutions").glob("*/*.ipynb")
                      if p.stem == p.parent.name)

    def release(self, assignment: str) -> nbformat.NotebookNode:
        return nbformat.read(self.root / "notebooks" / assignment / f"{assignment}.ipynb", 4)

    def env(self) -> dict:
        return dict(os.environ, NNCOURSE_GRADING_DIR=str(self.grading),
                    NNCOURSE_HIDDEN_SEED=self.hidden_seed,
                    NNCOURSE_CELL_TIMEOUT=str(self.cell_timeout),
                    OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")  # workers share the cores

    def nbgrader(self, *args: str, log=None) -> subprocess.CompletedProcess:
        return self.nbgrader_all([list(args)], log)[0]

    def nbgrader_all(self, commands: list[list[str]], log=None) -> list:
        """Run nbgrader commands at once (one process each); their results, in order."""
        return self.nbgrader_start(commands, log)()

    def nbgrader_start(self, commands: list[list[str]], log=None):
        """Start nbgrader commands at once (one process each); a function that waits for
        them and returns their results, in order."""
        procs = [subprocess.Popen([sys.executable, "-m", "nbgrader", *args], cwd=self.root,
                                  env=self.env(), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for args in commands]
        return lambda: self._finish(commands, procs, log)

    @staticmethod
    def _finish(commands, procs, log) -> list:
        results = []
        for args, proc in zip(commands, procs):
            stdout, stderr = proc.communicate()
            results.append(subprocess.CompletedProcess(proc.args, proc.returncode, stdout,
                                                       stderr))
            if log is not None:
                log.write(f"$ nbgrader {' '.join(args)}\n{stdout}{stderr}\n")
        return results

    def path(self, kind: str, student: str, assignment: str) -> Path:
        return self.grading / kind / student / assignment / f"{assignment}.ipynb"




def _prepare(course: Course, sub: Submission, release):
    """Read a handed-in notebook, keep a copy, restore its test cells.

    Returns (notebook or None if unreadable, notes).
    """
    try:  # a malformed notebook is this student's problem, never the class's
        nb = nbformat.read(sub.path, as_version=4)
        notes = prepare.restore_test_cells(nb, release)
        notes += prepare.drop_stray_nbgrader_metadata(nb, release)
        nbformat.validate(nb)
        nbformat.writes(nb)
    except Exception as exc:
        return None, [f"unreadable notebook ({type(exc).__name__}: {str(exc)[:300]})"]
    original = course.path("originals", sub.student, sub.assignment)
    original.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(sub.path, original)
    write_nbgrader_files(sub, original.parent)  # hand-in time and nbgrader's secret
    return nb, notes


def _write_submitted(course: Course, sub: Submission, nb) -> None:
    target = course.path("submitted", sub.student, sub.assignment)
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)
    write_nbgrader_files(sub, target.parent)  # late penalties and release_feedback need them


def _graded_outputs(autograded: Path):
    """(test cell reasons by grade_id, notes on cells not run) of nbgrader's executed notebook."""
    if not autograded.exists():
        return None, []
    nb = nbformat.read(autograded, as_version=4)
    reasons, notes = {}, []
    for i, cell in enumerate(nb.cells):
        gid = prepare.grade_id(cell)
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error" and output.get("ename") == "NotRun":
                notes.append(f"{gid or f'cell {i + 1}'}: {output.get('evalue', '')}")
        if gid:
            reasons[gid] = error_of(cell) or ""
    return reasons, notes


def grade(submissions: Path, course: Course | None = None, assignments: list[str] | None = None,
          workers: int = 2, say=print, students: list[str] | None = None,
          extras: bool = True) -> ClassResult:
    """Grade every submission under ``submissions``; write feedback, CSVs and the report.

    students: grade only these (a regrade); everyone else's results, in the report, the CSVs
    and ``results.json``, stay as the last run left them. extras=False: only the gradebook
    and ``results.json``, no feedback, exports or report (a Gradescope run of one
    submission). Returns the whole class's results.
    """
    course = course or Course()
    bubblewrap.require()  # refuse to grade rather than grade unsandboxed
    known = course.assignments()
    wanted = assignments or known
    unknown = sorted(set(wanted) - set(known))
    if unknown:
        raise ValueError(f"unknown assignments {unknown}; the course has {known}")
    result = ClassResult()
    log = open(course.grading / "nbgrader.log", "w")  # noqa: SIM115  (closed below)
    with tempfile.TemporaryDirectory() as tmp, log:
        subs, result.skipped = collect(Path(submissions), wanted, Path(tmp),
                                       roster=lms.roster_of(course.grading), students=students)
        originals = course.grading / "originals"
        if Path(submissions).resolve() == (course.grading / "submitted").resolve() \
                and originals.is_dir():
            # nbgrader's collected folder, graded before: what was handed in is kept under
            # originals/ (submitted/ holds the repaired copies, or nothing if interrupted)
            kept, _ = collect(originals, wanted, Path(tmp) / "originals")
            seen = {(s.student, s.assignment) for s in kept}
            subs = kept + [s for s in subs if (s.student, s.assignment) not in seen]
        if students is not None:
            missing = sorted(set(students) - {s.student for s in subs})
            if missing:
                raise ValueError(f"no hand-in from {', '.join(missing)} under {submissions}")
            subs = [s for s in subs if s.student in students]
        finish = lambda: None  # noqa: E731  (the last assignment's feedback and export)
        for assignment in sorted({s.assignment for s in subs}):
            finish()
            say(f"{assignment}: {sum(s.assignment == assignment for s in subs)} submissions")
            finish = _grade_assignment(course, assignment,
                                       [s for s in subs if s.assignment == assignment],
                                       Path(tmp), workers, result, log, say, extras)
        results_file = course.grading / "results.json"  # other students' and assignments' stay
        result = result.merged_into(ClassResult.load(results_file))
        if extras:  # while nbgrader writes the last feedback and export
            report.write(course.grading, result)
        results_file.write_text(json.dumps(result.to_json(), indent=1))
        finish()
    return result


def prepare_assignment(course: Course, assignment: str) -> None:
    """nbgrader's gradebook entry and release of ``assignment``, made ahead of grading (a
    Gradescope image is prepared once, then grades each submission in a fresh container)."""
    with open(course.grading / "nbgrader.log", "a") as log:
        _generate(course, assignment, log)


def _generate(course, assignment, log) -> None:
    """nbgrader's gradebook entry and release of ``assignment``, unless they are up to date
    (generated from the source notebook as it is now): a regrade skips nbgrader's slowest
    start-up."""
    source = course.root / "solutions" / assignment / f"{assignment}.ipynb"
    generated = course.grading / "release" / assignment / f"{assignment}.ipynb"
    stamp = course.grading / "release" / assignment / ".source-sha256"
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    if generated.exists() and stamp.exists() and stamp.read_text() == digest \
            and (course.grading / "gradebook.db").exists():
        return
    out = course.nbgrader("generate_assignment", assignment, "--force",
                          f"--CourseDirectory.release_directory={course.grading / 'release'}",
                          log=log)
    if out.returncode:
        raise RuntimeError(f"nbgrader generate_assignment failed:\n{out.stdout}{out.stderr}")
    stamp.write_text(digest)


def _grade_assignment(course, assignment, subs, workdir, workers, result, log, say,
                      extras=True):
    """Autograde ``subs`` of ``assignment`` and record their grades in ``result``; then start
    nbgrader's feedback and export, and return the function that waits for them (so that the
    report is written meanwhile)."""
    release = course.release(assignment)
    _generate(course, assignment, log)
    for kind in ("submitted", "autograded", "feedback"):  # a fresh start for these students
        for sub in subs:
            shutil.rmtree(course.grading / kind / sub.student / assignment, ignore_errors=True)
    prepared, notes = {}, {}
    for sub in subs:
        nb, notes[sub.student] = _prepare(course, sub, release)
        notes[sub.student] += submission_notes(sub)  # e.g. the LMS marked it late
        if nb is not None:
            prepared[sub.student] = nb
            _write_submitted(course, sub, nb)
    _forget_unreadable(course, assignment, [s.student for s in subs if s.student not in prepared])
    say(f"{assignment}: nbgrader autograde ({len(prepared)} notebooks, sandboxed, "
        f"{min(workers, len(prepared)) or 1} at a time) ...")
    present = sorted(p.parent.name for p in (course.grading / "submitted").glob(
        f"*/{assignment}"))
    course.nbgrader_all(autograde_commands(assignment, sorted(prepared), present, workers),
                        log=log)
    reasons = {}
    for sub in subs:
        if sub.student not in prepared:
            continue
        found, cell_notes = _graded_outputs(course.path("autograded", sub.student, assignment))
        notes[sub.student] += cell_notes
        if found is None:
            notes[sub.student].append("nbgrader could not grade this notebook (see nbgrader.log)")
        reasons[sub.student] = found or {}
    _record(course, assignment, subs, release, reasons, notes, result)
    if not extras:
        return lambda: None
    (course.grading / "exports").mkdir(exist_ok=True)
    others = sorted(set(present) - set(prepared))
    return course.nbgrader_start([  # at once: feedback for these students, the whole export
        ["generate_feedback", assignment, "--force"]
        + ([f"--CourseDirectory.student_id_exclude={','.join(others)}"] if others else []),
        ["export", f"--to={course.grading / 'exports' / 'grades.csv'}"]], log=log)


def _forget_unreadable(course, assignment: str, students: list[str]) -> None:
    """An unreadable hand-in scores nothing, also on a regrade: nbgrader would keep the
    scores of an earlier, readable one."""
    if not students or not (course.grading / "gradebook.db").exists():
        return
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(f"sqlite:///{course.grading / 'gradebook.db'}") as gb:
        for student in students:
            try:
                gb.remove_submission(assignment, student)
            except MissingEntry:
                pass


def autograde_commands(assignment: str, students: list[str], present: list[str],
                       workers: int) -> list[list[str]]:
    """``nbgrader autograde`` of ``students`` split over ``workers`` processes, each grading
    every ``workers``-th of them, every other student with a submitted folder (``present``)
    excluded: every core busy, one start-up per worker, nobody else regraded."""
    groups = [students[i::workers] for i in range(max(1, min(workers, len(students))))]
    commands = []
    for group in groups:
        others = [s for s in present if s not in group]
        commands.append(["autograde", assignment, "--create", "--force"]
                        + ([f"--CourseDirectory.student_id_exclude={','.join(others)}"]
                           if others else []))
    return commands


def _record(course, assignment, subs, release, reasons, notes, result):
    """Each exercise's score from the gradebook (nbgrader scored the verified verdicts) and the
    checker's message, into ``result``."""
    from nbgrader.api import Gradebook, MissingEntry

    exercises = prepare.exercises_of(release)
    with Gradebook(f"sqlite:///{course.grading / 'gradebook.db'}") as gb:
        for sub in subs:
            try:
                nb = gb.find_submission_notebook(assignment, assignment, sub.student)
                grades = {g.name: g for g in nb.grades}
            except MissingEntry:
                grades = {}
            mine = reasons.get(sub.student, {})
            for name, _expr, cell in exercises:
                g = grades.get(cell.grade_id)
                score = float(g.score or 0) if g is not None else 0.0
                message = mine.get(cell.grade_id, "not graded")
                passed = score > 0 and not message
                result.grades.append(ExerciseGrade(sub.student, assignment, name, score,
                                                   cell.points, passed,
                                                   "" if passed else message or "not graded"))
            result.notes.append(StudentNotes(sub.student, assignment, notes[sub.student]))


def main_grade(args) -> int:
    course = Course(grading=Path(args.grading_dir) if args.grading_dir else None,
                    cell_timeout=args.cell_timeout)
    (course.grading / "exports").mkdir(exist_ok=True)
    result = grade(Path(args.submissions), course, args.assignment or None, args.workers,
                   students=args.student or None)
    print(report.summary(result))
    print(f"\nReport, CSVs and feedback under {course.grading}")
    return 0
