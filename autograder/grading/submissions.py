"""Finding each student's notebooks in a folder of submissions (a folder or a zip per student)."""

from __future__ import annotations

import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

STUDENT_ID = re.compile(r"[^A-Za-z0-9_.@-]+")


@dataclass
class Submission:
    student: str
    assignment: str
    path: Path  # the notebook as handed in


def student_id(name: str) -> str:
    """A folder or zip name made safe as an nbgrader student id."""
    cleaned = STUDENT_ID.sub("_", name).strip("._")
    if not cleaned:
        raise ValueError(f"cannot make a student id from {name!r}")
    return cleaned


def collect(folder: Path, assignments: list[str], workdir: Path) -> tuple[list[Submission],
                                                                          list[str]]:
    """Submissions under ``folder`` for the given assignment ids, and notes on what was skipped.

    ``folder/<student>/.../<assignment>.ipynb`` or ``folder/<student>.zip`` holding the same;
    zips are extracted under ``workdir``. Notebooks are matched to assignments by file name.
    """
    folder = Path(folder)
    workdir.mkdir(parents=True, exist_ok=True)
    if not folder.is_dir():
        raise FileNotFoundError(f"no folder of submissions at {folder}")
    found, notes = [], []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            root, name = entry, entry.name
        elif entry.suffix == ".zip":
            name = entry.stem
            root = Path(tempfile.mkdtemp(dir=workdir, prefix="zip-"))
            try:
                with zipfile.ZipFile(entry) as archive:
                    for member in archive.namelist():  # no absolute paths or '..' escapes
                        target = (root / member).resolve()
                        if not str(target).startswith(str(root.resolve())):
                            raise zipfile.BadZipFile(f"unsafe path {member!r}")
                    archive.extractall(root)
            except (zipfile.BadZipFile, OSError) as exc:
                notes.append(f"{entry.name}: not a readable zip ({exc})")
                shutil.rmtree(root, ignore_errors=True)
                continue
        else:
            notes.append(f"{entry.name}: ignored (neither a folder nor a .zip)")
            continue
        student = student_id(name)
        notebooks = {}
        for nb in sorted(root.rglob("*.ipynb")):
            if ".ipynb_checkpoints" in nb.parts or "__MACOSX" in nb.parts:
                continue
            if nb.stem in assignments:
                notebooks.setdefault(nb.stem, nb)
        if not notebooks:
            notes.append(f"{student}: no notebook named after an assignment "
                         f"({', '.join(assignments)})")
        for assignment, path in sorted(notebooks.items()):
            copy = workdir / "handed-in" / student / f"{assignment}.ipynb"
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, copy)  # grading may rewrite the folder it was read from
            found.append(Submission(student, assignment, copy))
    return found, notes
