"""Bring a handed-in notebook back to a gradable form, and say what had to be done.

- Test cells (locked, graded) are compared with the release by their nbgrader id: an edited
  one is noted (nbgrader restores it from the gradebook anyway) and put back; a deleted one,
  which nbgrader would silently send to manual grading, is restored from the release.
- A cell that kills the kernel or ignores interrupts (found by the sandbox) is replaced by the
  release's stub for that exercise, or by a cell that raises, so the rest can be graded.
"""

from __future__ import annotations

import nbformat

from ..notebook import GradedCell, graded_cells

REMOVED = "raise RuntimeError('This cell was removed by the grader: {reason}')"


def grade_id(cell) -> str | None:
    meta = cell.get("metadata", {})
    nbgrader = meta.get("nbgrader") if isinstance(meta, dict) else None
    gid = nbgrader.get("grade_id") if isinstance(nbgrader, dict) else None
    return gid if isinstance(gid, str) else None


def drop_stray_nbgrader_metadata(nb: nbformat.NotebookNode,
                                 release: nbformat.NotebookNode) -> list[str]:
    """Remove nbgrader's metadata from cells the release does not have under that id, and from
    every copy of a cell but the one kept: a copied test cell, or ``"nbgrader": {}``, makes
    nbgrader's validator abort the whole batch (every later classmate ungraded)."""
    known = {grade_id(c) for c in release.cells} - {None}
    kept = {}
    for i, cell in enumerate(nb.cells):
        gid = grade_id(cell)
        if gid in known:
            kept[gid] = i  # the last copy: the one restore_test_cells put back as released
    notes = []
    for i, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {})
        if isinstance(meta, dict) and "nbgrader" in meta and kept.get(grade_id(cell)) != i:
            del meta["nbgrader"]
            notes.append(f"cell {i + 1}: a copy or unknown nbgrader cell, graded as plain code")
    return notes


def restore_test_cells(nb: nbformat.NotebookNode, release: nbformat.NotebookNode) -> list[str]:
    """Put every test cell of ``release`` back into ``nb`` as released; return notes."""
    notes = []
    released = {grade_id(c): (i, c) for i, c in enumerate(release.cells) if grade_id(c)}
    present = {grade_id(c): i for i, c in enumerate(nb.cells) if grade_id(c)}
    for test in graded_cells(release):
        cell = release.cells[test.index]
        if test.grade_id in present:
            mine = nb.cells[present[test.grade_id]]
            if mine.source.strip() != cell.source.strip():
                notes.append(f"edited test cell {test.grade_id} (graded as released)")
                mine.source = cell.source
            continue
        # deleted: insert it after the nearest earlier released cell that is still there
        index = released[test.grade_id][0]
        anchor = next((present[grade_id(c)] for c in reversed(release.cells[:index])
                       if grade_id(c) in present), -1)
        nb.cells.insert(anchor + 1, nbformat.from_dict(dict(cell)))
        notes.append(f"deleted test cell {test.grade_id} (restored from the release)")
        present = {grade_id(c): i for i, c in enumerate(nb.cells) if grade_id(c)}
    return notes


def replace_cell(nb: nbformat.NotebookNode, index: int, release: nbformat.NotebookNode,
                 reason: str) -> str:
    """Replace code cell ``index`` of ``nb`` by its released stub (or a raising cell)."""
    cell = nb.cells[index]
    gid = grade_id(cell)
    stub = next((c.source for c in release.cells if gid and grade_id(c) == gid), None)
    cell.source = stub if stub is not None else REMOVED.format(reason=reason.replace("'", ""))
    cell.outputs = []
    return gid or f"cell {index + 1}"


def code_cells(nb: nbformat.NotebookNode) -> list[int]:
    """Indices of code cells, in order."""
    return [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]


def exercises_of(release: nbformat.NotebookNode) -> list[tuple[str, str, GradedCell]]:
    """(exercise, candidate expression, its test cell) for every exercise of the release."""
    return [(name, expr, cell) for cell in graded_cells(release) for name, expr in cell.exercises]
