"""Grading speed: seconds per student-notebook, the course's grading against its peers.

A generated class (``--students`` students x every notebook, most right, a few wrong, and per
notebook one that loops forever and one that kills its kernel) is graded three ways in one run:

- ``plain nbgrader``: ``nbgrader autograde`` with nbgrader's own execution, in-kernel checks,
  no sandbox (the peer: what a course without this project's defences pays);
- ``previous pipeline``: ``python -m autograder grade`` of the commit before the sandbox
  (in-kernel guard and verification, repair runs), unpacked from git into a temporary folder;
- ``sandboxed``: today's ``python -m autograder grade``: bubblewrap kernels, verdicts outside.

    .venv/bin/python bench/bench_grading.py                 # 100 students x every notebook
    .venv/bin/python bench/bench_grading.py --students 3 --way sandboxed --quick

The peers are slow (plain nbgrader: about 15 s per student-notebook here, three hours for the
full class), so by default they grade a sample of the same class (``--peer-students``, 10
students, none of the looping or crashing ones: a sample that favours them), and their total
for the whole class is extrapolated from their seconds per student-notebook; the table says so.

A full run (no ``--quick``) writes its table into bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(HERE))

from classroom import submission, write_class  # noqa: E402
from readme_table import report  # noqa: E402

import nnlib  # noqa: E402

PREVIOUS = "e10079b"
"""The last commit whose grading ran checks inside the student's kernel."""

LOOP = "while True:\n    pass\n"
CRASH = "import os\nos._exit(1)\n"

PLAIN_CONFIG = """c = get_config()  # noqa: F821
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.db_url = "sqlite:///gradebook.db"
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "*.py"]
c.Execute.timeout = 30
"""


def make_class(folder: Path, students: int, notebooks: list[str]) -> int:
    """Write the class under ``folder/<student>/<notebook>.ipynb``; the number of notebooks."""
    count = 0
    for nb_id in notebooks:
        first = next(c for c in _solution_ids(nb_id))
        hand_ins = {}
        for s in range(students):
            name = f"s{s:03d}"
            if s == 1:
                hand_ins[name] = submission(nb_id, {first: LOOP})
            elif s == 2:
                hand_ins[name] = submission(nb_id, {first: CRASH})
            elif s % 5 == 3:
                hand_ins[name] = submission(nb_id, solved=False)
            else:
                hand_ins[name] = submission(nb_id)
        write_class(folder, hand_ins, nb_id)
        count += len(hand_ins)
    return count


def _solution_ids(nb_id: str):
    import nbformat

    nb = nbformat.read(ROOT / "solutions" / nb_id / f"{nb_id}.ipynb", 4)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and meta.get("grade_id") in nnlib.EXERCISES[nb_id]:
            yield meta["grade_id"]


def _env(**extra) -> dict:
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", **extra)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def sample(classdir: Path, target: Path, students: int) -> Path:
    """A copy of the class with ``students`` honest students (right or unanswered, never the
    looping or crashing ones), for the slow peers."""
    honest = [p for p in sorted(classdir.iterdir()) if p.name not in ("s001", "s002")]
    for folder in honest[:students]:
        shutil.copytree(folder, target / folder.name)
    return target


def count_notebooks(classdir: Path) -> int:
    return sum(1 for _ in classdir.glob("*/*.ipynb"))


def run_plain(classdir: Path, work: Path, notebooks: list[str]) -> float:
    """nbgrader autograde, nbgrader's own execution, no sandbox."""
    course = work / "plain"
    shutil.copytree(ROOT / "solutions", course / "solutions")
    (course / "nbgrader_config.py").write_text(PLAIN_CONFIG)
    for student in sorted(p.name for p in classdir.iterdir()):
        for nb_id in notebooks:
            src = classdir / student / f"{nb_id}.ipynb"
            if src.exists():
                dst = course / "submitted" / student / nb_id / f"{nb_id}.ipynb"
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(src, dst)
    start = time.perf_counter()
    for nb_id in notebooks:
        subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", nb_id,
                        "--force"], cwd=course, env=_env(), capture_output=True, check=True)
        subprocess.run([sys.executable, "-m", "nbgrader", "autograde", nb_id, "--create",
                        "--force"], cwd=course, env=_env(), capture_output=True)
    return time.perf_counter() - start


def run_pipeline(code: Path, classdir: Path, work: Path, name: str) -> float:
    """``python -m autograder grade`` of the course checked out at ``code``."""
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "autograder", "grade", str(classdir),
                          "--grading-dir", str(work / name), "--cell-timeout", "30"],
                         cwd=code, env=_env(PYTHONPATH=str(code)), capture_output=True,
                         text=True)
    if out.returncode:
        print(out.stdout[-2000:], out.stderr[-2000:], file=sys.stderr)
    return time.perf_counter() - start


def run_regrade(classdir: Path, work: Path, name: str, student: str, assignment: str) -> float:
    """``grade --student`` of one student's notebook, after the whole class was graded."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "autograder", "grade", str(classdir), "--grading-dir",
                    str(work / name), "--cell-timeout", "30", "--student", student,
                    "--assignment", assignment], cwd=ROOT, env=_env(PYTHONPATH=str(ROOT)),
                   capture_output=True, check=True)
    return time.perf_counter() - start


REGRADE = ("s004", "03_backpropagation")
"""The regraded notebook: a right one of the notebook with the most exercises."""


def previous_code(work: Path) -> Path:
    target = work / "previous"
    target.mkdir()
    archive = subprocess.run(["git", "archive", PREVIOUS], cwd=ROOT, capture_output=True,
                             check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=100)
    parser.add_argument("--peer-students", type=int, default=10,
                        help="the peers grade this many honest students of the class and are "
                             "extrapolated (default 10; 0: the whole class)")
    parser.add_argument("--notebook", action="append", help="default: every notebook")
    parser.add_argument("--way", action="append",
                        choices=["plain nbgrader", "previous pipeline", "sandboxed"])
    parser.add_argument("--quick", action="store_true", help="do not write the README table")
    args = parser.parse_args(argv)
    notebooks = args.notebook or list(nnlib.EXERCISES)
    ways = args.way or ["sandboxed", "plain nbgrader", "previous pipeline"]
    rows, regrade = [], None
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        work = Path(tmp)
        count = make_class(work / "class", args.students, notebooks)
        peers = work / "class"
        if 0 < args.peer_students < args.students:
            peers = sample(work / "class", work / "sample", args.peer_students)
        for way in ways:
            classdir = work / "class" if way == "sandboxed" else peers
            graded = count_notebooks(classdir)
            print(f"{way}: grading {graded} student-notebooks ...", flush=True)
            if way == "plain nbgrader":
                seconds = run_plain(classdir, work, notebooks)
            elif way == "previous pipeline":
                seconds = run_pipeline(previous_code(work), classdir, work, "previous")
            else:
                seconds = run_pipeline(ROOT, classdir, work, "sandboxed")
            print(f"{way}: {seconds:.0f} s", flush=True)
            rows.append((way, graded, seconds))
            if way == "sandboxed" and REGRADE[1] in notebooks and args.students > 4:
                regrade = run_regrade(classdir, work, "sandboxed", *REGRADE)
                print(f"regrade of one notebook: {regrade:.1f} s", flush=True)
    per = {way: seconds / graded for way, graded, seconds in rows}
    base = per.get("plain nbgrader")
    load = os.getloadavg()
    lines = [f"{args.students} students x {len(notebooks)} notebooks = {count} student-notebooks "
             "(per notebook one that loops forever, one that kills its kernel, every fifth "
             f"unanswered); {os.cpu_count()} cores; BLAS on one thread per process; load "
             f"average at the end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1 / 5 / 15 min)",
             "", "| way | student-notebooks graded | seconds | s per student-notebook "
             f"| whole class of {count} | vs plain nbgrader |", "|---|---:|---:|---:|---:|---:|"]
    for way, graded, seconds in rows:
        whole = (f"{seconds / 60:.1f} min" if graded == count
                 else f"~{per[way] * count / 60:.0f} min (extrapolated)")
        ratio = f"{per[way] / base:.2f}x" if base else "-"
        lines.append(f"| {way} | {graded} | {seconds:.0f} | {per[way]:.1f} | {whole} | {ratio} |")
    if regrade is not None:
        lines += ["", f"One student's notebook regraded afterwards (`grade --student {REGRADE[0]} "
                  f"--assignment {REGRADE[1]}`, the notebook with the most exercises, results "
                  f"merged into the class's): {regrade:.1f} s."]
    report("grading", "\n".join(lines), write=not args.quick and args.way is None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
