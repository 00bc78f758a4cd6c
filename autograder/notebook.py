"""Reading graded cells out of a notebook and executing notebooks in a real Jupyter kernel."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError


@dataclass
class GradedCell:
    """A test cell: its position, nbgrader id and points, and the exercises it checks.

    exercises: (exercise name, source of the candidate expression), e.g. ("softmax", "softmax").
    """

    index: int
    grade_id: str
    points: float
    exercises: list[tuple[str, str]]


def check_calls(source: str) -> list[tuple[str, str]]:
    """``check("name", candidate, ...)`` calls in a cell: (name, candidate source), in order.

    Unparsable source (a student's syntax error) yields no calls.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", ""))
                == "check" and len(node.args) >= 2 and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)):
            candidate = ast.get_source_segment(source, node.args[1]) or ""
            if (node.args[0].value, candidate) not in found:
                found.append((node.args[0].value, candidate))
    return found


def graded_cells(nb: nbformat.NotebookNode) -> list[GradedCell]:
    """Every autograded test cell of an nbgrader notebook, in order."""
    cells = []
    for index, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            cells.append(GradedCell(index, meta.get("grade_id", f"cell-{index}"),
                                    float(meta.get("points", 0)), check_calls(cell.source)))
    return cells


def error_of(cell) -> str | None:
    """The error a code cell raised when executed, as 'Name: message', or None."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            name, value = output.get("ename", "Error"), output.get("evalue", "")
            return value if name == "CheckFailed" else f"{name}: {value}"
    return None


def execute(nb: nbformat.NotebookNode, cwd: Path, timeout: int = 120) -> str | None:
    """Execute ``nb`` in place in a fresh python3 kernel, running on past errors.

    A cell running longer than ``timeout`` seconds is interrupted and shows the error. Returns
    None, or a sentence when execution could not finish (the kernel died).
    """
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                            interrupt_on_timeout=True, resources={"metadata": {"path": str(cwd)}})
    try:
        client.execute()
    except DeadKernelError:
        return "the kernel died while running the notebook (e.g. os._exit or a crash)"
    return None
