"""``python -m autograder check``: grade notebooks without nbgrader, for self-learners.

Each notebook is executed top to bottom in a real kernel, its test cells aside; then every
exercise is checked, visible and hidden cases, by the same out-of-process checker that grades
a class (``autograder.sandbox``): the checks run in this process on proxies of the notebook's
functions. An exercise earns its test cell's points when it passes. The result is a table; the
exit status is 0 only if all passed. Here the kernel is not sandboxed: on a self-learner's own
machine the reference is installed anyway, so this is a convenience, not a boundary.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass
from pathlib import Path

import nbformat

from .notebook import graded_cells


@dataclass
class ExerciseResult:
    notebook: str
    exercise: str
    passed: bool
    points: float
    max_points: float
    message: str = ""


def check_notebook(path: Path, hidden: bool = True, timeout: int = 120,
                   only_needed: bool = False) -> list[ExerciseResult]:
    """Execute the notebook at ``path`` and grade every exercise in it."""
    return run_notebook(path, hidden, timeout, only_needed)[0]


def run_notebook(path: Path, hidden: bool = True, timeout: int = 120, only_needed: bool = False):
    """``(results, executed notebook)``: the notebook at ``path`` executed and graded; its
    test cells hold the verdicts. only_needed: run only the cells graded functions depend on,
    as grading does (``autograder.sandbox.needed``); by default every cell runs."""
    from .sandbox.execute import SandboxedExecute

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    run = copy.deepcopy(nb)
    executor = SandboxedExecute(timeout=timeout, hidden=hidden, sandboxed=False,
                                only_needed=only_needed)
    executor.preprocess(run, {"metadata": {"path": str(path.parent)}})
    results = []
    for cell in graded_cells(nb):
        names = [name for name, _ in cell.exercises] or [cell.grade_id]
        verdicts = [executor.verdicts.get(name) for name in names]
        failed = [v for v in verdicts if v is None or not v.passed]
        message = (failed[0].message if failed[0] is not None else "not checked") \
            if failed else ""
        passed = not failed
        results.append(ExerciseResult(str(path), ", ".join(names), passed,
                                      cell.points if passed else 0.0, cell.points, message))
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
