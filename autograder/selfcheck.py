"""``python -m autograder check``: grade notebooks without nbgrader, for self-learners.

Each notebook is executed top to bottom in a real kernel; then, in the same kernel, every
exercise is also checked against the full (hidden) grading set. An exercise earns its test
cell's points when both pass. The result is a table; the exit status is 0 only if all passed.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass
from pathlib import Path

import nbformat

from .notebook import error_of, execute, graded_cells

HIDDEN_CHECK = "from autograder import check as _nncourse_check\n" \
               "_nncourse_check({name!r}, {candidate}, hidden=True)"


@dataclass
class ExerciseResult:
    notebook: str
    exercise: str
    passed: bool
    points: float
    max_points: float
    message: str = ""


def check_notebook(path: Path, hidden: bool = True, timeout: int = 120) -> list[ExerciseResult]:
    """Execute the notebook at ``path`` and grade every exercise in it."""
    return run_notebook(path, hidden, timeout)[0]


def run_notebook(path: Path, hidden: bool = True, timeout: int = 120):
    """``(results, executed notebook)``: the notebook at ``path`` executed and graded.

    The executed notebook holds the hidden-check cells appended after the notebook's own.
    """
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    cells = graded_cells(nb)
    run = copy.deepcopy(nb)
    extra = {}
    if hidden:
        for cell in cells:
            for name, candidate in cell.exercises:
                extra[name] = len(run.cells)
                run.cells.append(nbformat.v4.new_code_cell(
                    HIDDEN_CHECK.format(name=name, candidate=candidate)))
    died = execute(run, path.parent, timeout=timeout)
    results = []
    for cell in cells:
        names = [name for name, _ in cell.exercises] or [cell.grade_id]
        executed = run.cells[cell.index]
        problem = error_of(executed)
        if problem is None and died and not executed.get("outputs") \
                and executed.get("execution_count") is None:
            problem = died
        if problem is None:
            for name in names:
                if name in extra:
                    problem = error_of(run.cells[extra[name]])
                    if problem is None and died and run.cells[extra[name]].get(
                            "execution_count") is None:
                        problem = died
                    if problem:
                        break
        passed = problem is None
        results.append(ExerciseResult(str(path), ", ".join(names), passed,
                                      cell.points if passed else 0.0, cell.points,
                                      problem or ""))
    return results, run


def format_table(results: list[ExerciseResult]) -> str:
    """A plain-text table per notebook: exercise, result, points, message."""
    lines = []
    width = max([len(r.exercise) for r in results] + [8])
    for notebook in dict.fromkeys(r.notebook for r in results):
        rows = [r for r in results if r.notebook == notebook]
        lines.append(notebook)
        lines.append(f"  {'exercise':<{width}}  result  points   message")
        for r in rows:
            msg = r.message.splitlines() or [""]
            points = f"{r.points:g}/{r.max_points:g}"
            lines.append(f"  {r.exercise:<{width}}  {'passed' if r.passed else 'FAILED':<6}  "
                         f"{points:>7}  {msg[0]}".rstrip())
            lines += [" " * (width + 20) + m for m in msg[1:]]
        got, total = sum(r.points for r in rows), sum(r.max_points for r in rows)
        lines.append(f"  total {got:g}/{total:g}: {sum(r.passed for r in rows)} of {len(rows)} "
                     "exercises passed\n")
    notebooks = len(dict.fromkeys(r.notebook for r in results))
    if notebooks > 1:
        got, total = sum(r.points for r in results), sum(r.max_points for r in results)
        lines.append(f"all {notebooks} notebooks: {got:g}/{total:g}, "
                     f"{sum(r.passed for r in results)} of {len(results)} exercises passed\n")
    return "\n".join(lines)


def as_json(results: list[ExerciseResult]) -> list[dict]:
    return [asdict(r) for r in results]
