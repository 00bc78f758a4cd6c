"""A synthetic class: submissions built from the released notebook and the reference answers."""

from __future__ import annotations

from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent


def grade_id(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def submission(assignment: str, answers: dict[str, str] | None = None, *,
               solved: bool = True, edit: dict[str, str] | None = None,
               delete: tuple[str, ...] = (), append: str | None = None):
    """The released notebook as a student hands it in.

    solved: fill every solution cell with the reference solution (else leave the stubs);
    answers: grade_id -> source replacing that solution cell; edit: grade_id -> new source
    for a (locked) test cell; delete: grade_ids of cells removed; append: a code cell added at
    the end.
    """
    release = nbformat.read(ROOT / "notebooks" / assignment / f"{assignment}.ipynb", 4)
    source = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", 4)
    solutions = {grade_id(c): c.source for c in source.cells
                 if c.metadata.get("nbgrader", {}).get("solution")}
    answers, edit = answers or {}, edit or {}
    for cell in release.cells:
        gid = grade_id(cell)
        if gid in answers:
            cell.source = answers[gid]
        elif solved and gid in solutions:
            cell.source = strip_markers(solutions[gid])
        if gid in edit:
            cell.source = edit[gid]
    release.cells = [c for c in release.cells if grade_id(c) not in delete]
    if append:
        release.cells.append(nbformat.v4.new_code_cell(append))
    return release


def strip_markers(source: str) -> str:
    return "\n".join(line for line in source.splitlines()
                     if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))


def write_class(folder: Path, students: dict[str, nbformat.NotebookNode], assignment: str):
    for student, nb in students.items():
        target = folder / student / f"{assignment}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, target)
