"""Inside Gradescope's container: ``python -m autograder.gradescope.run prepare|grade``.

The layout is Gradescope's (``/autograder``, or ``--root``):

- ``source/``: the bundle (``gradescope.json``, ``hidden_seed``, ``course/`` with
  ``nbgrader_config.py``, ``solutions/<id>/<id>.ipynb`` and ``notebooks/<id>/<id>.ipynb``);
- ``submission/``: the student's files; ``results/results.json``: what Gradescope reads;
- ``grading/``: the grading folder made here (the salt, nbgrader's gradebook and release, the
  graded notebook), ``venv/``: the course's Python, made by ``setup.sh``.

``prepare`` (from ``setup.sh``, once, when Gradescope builds the image) makes the grading folder
and nbgrader's gradebook entry, so each submission skips nbgrader's slowest start-up.
``grade`` (from ``run_autograder``) grades the submission as a class of one with
``autograder.grading.pipeline`` (nbgrader, ``SandboxedExecute``: the student's code in the
bubblewrap sandbox, every verdict computed outside it), and always writes ``results.json``:
a missing, misnamed or unreadable notebook, or a grader that cannot start, scores 0 with a
message saying why.

Nothing under the layout is ever bound into the sandbox: the kernel sees the system, the
course's Python (with grading copies of ``nnlib`` and ``autograder``) and a private scratch
folder holding a copy of the notebook, never ``source/`` (salt, solutions), ``grading/``,
``submission/`` or ``results/``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

import nbformat

from ..grading import prepare as prepare_cells
from ..grading.pipeline import Course, grade, prepare_assignment
from ..sandbox import bubblewrap
from .results import not_graded, results_json

STUDENT = "student"
"""The student id of the class of one (Gradescope keeps who it is)."""
SKIPPED_FOLDERS = {".ipynb_checkpoints", "__MACOSX"}


class Layout:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.source = self.root / "source"
        self.submission = self.root / "submission"
        self.results = self.root / "results" / "results.json"
        self.grading = self.root / "grading"
        self.config = json.loads((self.source / "gradescope.json").read_text())
        self.assignment: str = self.config["assignment"]

    def course(self) -> Course:
        """The bundle's course, grading into ``grading/`` with the bundle's salt."""
        self.grading.mkdir(mode=0o700, parents=True, exist_ok=True)
        salt = self.grading / "hidden_seed"
        if not salt.exists():
            fd = os.open(salt, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write((self.source / "hidden_seed").read_text().strip())
        return Course(root=self.source / "course", grading=self.grading,
                      cell_timeout=self.config.get("cell_timeout"))

    def exercises(self, course: Course) -> list[tuple[str, float]]:
        release = course.release(self.assignment)
        return [(name, float(cell.points))
                for name, _expr, cell in prepare_cells.exercises_of(release)]


def handed_in(submission: Path, assignment: str) -> tuple[list[Path], list[str], list[str]]:
    """(the regular files named ``<assignment>.ipynb`` under ``submission``, the links, every
    other file name). Links are never followed: a link could point at the bundle's salt."""
    wanted, links, others = [], [], []
    for folder, dirs, files in os.walk(submission):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_FOLDERS)
        for name in sorted(files):
            path = Path(folder) / name
            shown = str(path.relative_to(submission))
            if path.is_symlink():
                links.append(shown)
            elif name == f"{assignment}.ipynb" and path.is_file():
                wanted.append(path)
            else:
                others.append(shown)
    return wanted, links, others


def missing_message(assignment: str, links: list[str], others: list[str]) -> str:
    """Why nothing was graded, and what to upload instead."""
    if others:
        found = "it holds " + ", ".join(others[:10]) + (" ..." if len(others) > 10 else "")
    else:
        found = "it holds no files" + (" but links" if links else " at all")
    if links:
        found += "; " + ", ".join(links[:10]) + (" is a link" if len(links) == 1 else
                                                 " are links") + ", never followed"
    return (f"no notebook named {assignment}.ipynb in your submission ({found}). Upload the "
            f"notebook you worked in, itself (not a link to it), named exactly "
            f"{assignment}.ipynb.")


def sandbox_problem() -> str | None:
    """None if the grading sandbox starts here, else why not (Gradescope's container must let
    bubblewrap make namespaces): checked with the sandbox's own command line."""
    try:
        bubblewrap.require()
    except bubblewrap.SandboxUnavailable as exc:
        return str(exc)
    rundir = tempfile.mkdtemp(prefix="nnsb-probe-", dir="/tmp")
    try:
        files = os.path.join(rundir, "files")  # what the kernel's scratch folder starts with
        os.mkdir(files)
        os.chmod(rundir, 0o755)
        os.chmod(files, 0o755)
        uid = bubblewrap.sandbox_uid() if bubblewrap.is_root() else None
        cmd = bubblewrap.command([sys.executable, "-c", "pass"], rundir=rundir, files=files,
                                 packages={}, uid=uid)
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if out.returncode:
            return f"bubblewrap failed here: {out.stderr.strip()[:300]}"
        return None
    finally:
        shutil.rmtree(rundir, ignore_errors=True)


def passed_text(course: Course, assignment: str) -> str:
    """The stream outputs of the graded notebook's test cells (the checker's ✓ lines)."""
    path = course.path("autograded", STUDENT, assignment)
    if not path.exists():
        return ""
    nb = nbformat.read(path, as_version=4)
    return "\n".join(out.get("text", "") for cell in nb.cells if prepare_cells.grade_id(cell)
                     for out in cell.get("outputs", []) if out.get("output_type") == "stream")


def grade_submission(layout: Layout) -> dict:
    """Gradescope's results for the submission in ``layout`` (see the module's docstring)."""
    course = layout.course()
    assignment = layout.assignment
    exercises = layout.exercises(course)
    notebooks, links, others = handed_in(layout.submission, assignment)
    if not notebooks:
        return not_graded(assignment, missing_message(assignment, links, others), exercises)
    problem = sandbox_problem()
    if problem:
        return not_graded(assignment, "the grader's sandbox could not start in this container, "
                          "so nothing was run; this is not your mistake: tell your instructor "
                          f"({problem})", exercises)
    with tempfile.TemporaryDirectory() as tmp:
        class_folder = Path(tmp) / "submissions" / STUDENT
        for path in notebooks:
            target = class_folder / path.relative_to(layout.submission)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            shutil.copystat(path, target)  # its time is the hand-in time
        result = grade(class_folder.parent, course, [assignment], workers=1, extras=False)
    grades = [g for g in result.grades if g.student == STUDENT and g.assignment == assignment]
    notes = [n for entry in result.notes if entry.student == STUDENT
             and entry.assignment == assignment for n in entry.notes]
    if not grades or not course.path("autograded", STUDENT, assignment).exists():
        # unreadable, or two different notebooks: the pipeline's notes say which
        why = "; ".join(notes + result.skipped) or "nbgrader could not grade the notebook"
        return not_graded(assignment, why, exercises)
    return results_json(assignment, grades, notes, passed_text(course, assignment))


def write_results(path: Path, results: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(results, indent=1, ensure_ascii=False))
    partial.replace(path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.gradescope.run")
    parser.add_argument("step", choices=["prepare", "grade"])
    parser.add_argument("--root", default="/autograder", help="Gradescope's folder")
    args = parser.parse_args(argv)
    layout = Layout(Path(args.root))
    if args.step == "prepare":
        prepare_assignment(layout.course(), layout.assignment)
        return 0
    try:
        results = grade_submission(layout)
    except Exception as exc:  # the student still gets results.json, the instructor the trace
        traceback.print_exc()
        try:
            exercises = layout.exercises(layout.course())
        except Exception:
            exercises = []
        results = not_graded(layout.assignment, "the grader failed on this submission "
                             f"({type(exc).__name__}); this is not your mistake: tell your "
                             "instructor", exercises)
    write_results(layout.results, results)
    print(json.dumps({t["name"]: t["score"] for t in results["tests"]}, indent=1))
    print(f"score {results['score']:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
