"""``python -m autograder gradescope``: the autograder zip of each assignment for Gradescope.

A zip holds, at its root (Gradescope unpacks it into ``/autograder/source``):

- ``setup.sh`` and ``run_autograder`` (this package's, see their comments);
- ``nncourse-<version>-py3-none-any.whl``: the course package built from this repository's
  ``pyproject.toml`` (nnlib, the checker, the sandbox and nbgrader's preprocessors), which
  ``setup.sh`` installs with its dependencies;
- ``hidden_seed``: the term's salt from the grading folder, so Gradescope draws the same hidden
  cases as local grading (the zip is as secret as the grading folder);
- ``course/``: ``nbgrader_config.py``, the assignment's nbgrader source notebook
  (``solutions/<id>/<id>.ipynb``, with solutions and hidden tests) and release notebook;
- ``gradescope.json``: the assignment's id and the per-cell time limit.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from ..grading.pipeline import Course

HERE = Path(__file__).resolve().parent
SCRIPTS = ("setup.sh", "run_autograder")


def build_wheel(root: Path, into: Path) -> Path:
    """The course wheel, built from a clean copy of ``root``'s package sources (the
    repository gets no build/ or egg-info from it)."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src"
        src.mkdir()
        for name in ("pyproject.toml", "README.md"):
            shutil.copy(root / name, src / name)
        for package in ("nnlib", "autograder"):
            shutil.copytree(root / package, src / package,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
        if uv:  # offline first (from uv's cache), then from the package index
            attempts = [[uv, "build", "--wheel", "--quiet", flag, "--out-dir", str(into),
                         str(src)] for flag in ("--offline", "--no-progress")]
        else:
            attempts = [[sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                         "--wheel-dir", str(into), str(src)]]
        errors = []
        for command in attempts:
            out = subprocess.run(command, capture_output=True, text=True)
            wheels = sorted(into.glob("nncourse-*.whl"))
            if out.returncode == 0 and wheels:
                return wheels[-1]
            errors.append(f"$ {' '.join(command)}\n{out.stdout}{out.stderr}")
        raise RuntimeError("could not build the course wheel:\n" + "\n".join(errors))


def write_bundle(course: Course, assignment: str, wheel: Path, target: Path,
                 cell_timeout: int) -> Path:
    """The zip for ``assignment`` at ``target`` (replaced if it exists)."""
    files = {name: HERE / name for name in SCRIPTS}
    files[wheel.name] = wheel
    files["course/nbgrader_config.py"] = course.root / "nbgrader_config.py"
    for folder in ("solutions", "notebooks"):
        files[f"course/{folder}/{assignment}/{assignment}.ipynb"] = (
            course.root / folder / assignment / f"{assignment}.ipynb")
    config = {"assignment": assignment, "cell_timeout": cell_timeout}
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    contents = {name: path.read_bytes() for name, path in files.items()}
    contents["gradescope.json"] = (json.dumps(config, indent=1) + "\n").encode()
    contents["hidden_seed"] = (course.hidden_seed + "\n").encode()
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in contents.items():
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            mode = 0o755 if name in SCRIPTS else 0o600 if name == "hidden_seed" else 0o644
            info.external_attr = mode << 16
            zf.writestr(info, data)
    partial.replace(target)
    return target


def build(course: Course, assignments: list[str] | None = None, out: Path | None = None,
          say=print) -> list[Path]:
    """One zip per assignment (default: every assignment of the course), under
    ``<grading>/gradescope/`` or ``out`` (a folder; a ``.zip`` path for one assignment)."""
    known = course.assignments()
    wanted = assignments or known
    unknown = sorted(set(wanted) - set(known))
    if unknown:
        raise ValueError(f"unknown assignments {unknown}; the course has {known}")
    out = Path(out) if out else course.grading / "gradescope"
    if out.suffix == ".zip" and len(wanted) != 1:
        raise ValueError(f"{out} names one zip, for one --assignment")
    with tempfile.TemporaryDirectory() as tmp:
        wheel = build_wheel(course.root, Path(tmp))
        written = []
        for assignment in wanted:
            target = out if out.suffix == ".zip" else out / f"{assignment}.zip"
            written.append(write_bundle(course, assignment, wheel, target, course.cell_timeout))
            say(f"{assignment}: {target}")
    return written


def main_gradescope(args) -> int:
    course = Course(grading=Path(args.grading_dir) if args.grading_dir else None,
                    cell_timeout=args.cell_timeout)
    try:
        build(course, args.assignment or None, Path(args.out) if args.out else None)
    except (ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("Upload each zip as the assignment's autograder on Gradescope (see the Gradescope "
          "section of docs/instructors.md). It holds the term's salt: keep it private.")
    return 0
