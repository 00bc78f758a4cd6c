"""Which cells grading must run: those the graded functions depend on, and no others.

A notebook's cells that only draw or train for show (plots, slider panels, a network trained
with the student's functions) take most of its run time and decide nothing: the verdicts come
from the exercises' functions. ``cells_needed`` keeps a code cell when it

- is nbgrader's (a solution cell, or a locked cell such as the imports), or
- defines a name that the exercises' candidates are looked up by, or
- defines a name used by a cell already kept (anywhere in it, function bodies included), or
  stores into one (``Value.tanh = tanh``, ``STEPS["shift"] = ...``),

and runs every cell it cannot read (a syntax error, or code too deep for the compiler) and
every cell that binds names it cannot see (``from m import *``, ``%run``, ``%%writefile``,
``exec``, ``globals()``, ``setattr``) or changes the interpreter (``sys.setrecursionlimit``)
as well. What is left out defines nothing
a graded function can reach by name; a student's own helper cells are kept when a solution
uses them. ``tests/test_notebooks.py`` proves, on every solution notebook, that grading only
these cells gives every exercise its points.
"""

from __future__ import annotations

import ast
import builtins
import symtable

_BUILTINS = set(dir(builtins))


def _python(source: str) -> str:
    """IPython's syntax (magics, ``!commands``) as plain Python."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(source)
    except Exception:
        return source


_DYNAMIC_CALLS = {"exec", "eval", "globals", "vars", "setattr", "delattr", "__import__",
                  "setrecursionlimit"}
"""Calls that bind names no reader can see, or change the interpreter's settings."""

_DYNAMIC_MAGICS = {"run", "load", "writefile", "load_ext", "autoreload", "aimport"}
"""IPython magics that do the same (``%timeit``, ``%matplotlib`` and the rest do not)."""


def _dynamic(tree: ast.AST) -> bool:
    """Whether the cell binds names it does not spell out, or changes the interpreter."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
            return True
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name in _DYNAMIC_CALLS:
                return True
            if name in ("run_line_magic", "run_cell_magic") and node.args and isinstance(
                    node.args[0], ast.Constant) and node.args[0].value in _DYNAMIC_MAGICS:
                return True
    return False


def _stored_into(tree: ast.Module) -> set[str]:
    """Names whose attributes or items the cell's top-level statements assign or delete."""
    stored = set()
    for statement in tree.body:
        for node in ast.walk(statement):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue  # bodies run when called, by a cell that is kept for it
            if isinstance(node, (ast.Attribute, ast.Subscript)) and isinstance(
                    node.ctx, (ast.Store, ast.Del)):
                base = node.value
                while isinstance(base, (ast.Attribute, ast.Subscript)):
                    base = base.value
                if isinstance(base, ast.Name):
                    stored.add(base.id)
    return stored


def names_of(source: str) -> tuple[set[str], set[str]] | None:
    """(names the cell binds at top level, names it reads from the notebook's namespace,
    function bodies included, their own locals and parameters aside), or None if it cannot
    be read or binds names it does not spell out (then it always runs).

    Bound names include those whose attributes or items the cell stores into."""
    python = _python(source)
    try:
        table = symtable.symtable(python, "<cell>", "exec")
        tree = ast.parse(python)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    if _dynamic(tree):
        return None
    defined = {s.get_name() for s in table.get_symbols()
               if s.is_assigned() or s.is_imported() or s.is_namespace()} | _stored_into(tree)
    used: set[str] = set()
    stack = [table]
    while stack:
        scope = stack.pop()
        top = scope is table
        used |= {s.get_name() for s in scope.get_symbols()
                 if s.is_referenced() and (top or s.is_global() or s.is_declared_global())}
        stack.extend(scope.get_children())
    return defined, used - _BUILTINS


def _expression_names(expr: str) -> set[str]:
    try:
        return {n.id for n in ast.walk(ast.parse(expr, mode="eval")) if isinstance(n, ast.Name)}
    except SyntaxError:
        return set()


def cells_needed(nb, candidates: list[str], tests: set[int]) -> set[int]:
    """Indices of the code cells grading runs (``tests``, the test cells, aside)."""
    return needed(nb, candidates, tests)[0]


def needed(nb, candidates: list[str], tests: set[int]) -> tuple[set[int], set[str]]:
    """(``cells_needed``, every name the kept cells and the candidates read)."""
    cells = {i: c for i, c in enumerate(nb.cells) if c.cell_type == "code" and i not in tests}
    parsed = {i: names_of(c.source) for i, c in cells.items()}
    keep = {i for i, c in cells.items()
            if parsed[i] is None or c.get("metadata", {}).get("nbgrader", {}).get("grade_id")}
    wanted = set().union(*(_expression_names(e) for e in candidates)) if candidates else set()
    for i in keep:
        if parsed[i] is not None:
            wanted |= parsed[i][1]
    while True:
        more = {i for i in cells if i not in keep and parsed[i] is not None
                and parsed[i][0] & wanted}
        if not more:
            return keep, wanted
        keep |= more
        for i in more:
            wanted |= parsed[i][1]


def is_course_cell(cell) -> bool:
    """A locked cell of the course's own (nbgrader restores its source from the course's
    notebook before grading: what a student wrote there never runs)."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta.get("locked")) and not meta.get("solution") and not meta.get("grade")


def without_unused_imports(source: str, wanted: set[str]) -> str:
    """``source`` without the top-level imports of names nothing graded reads (``wanted``):
    a course cell importing plotting and widget modules for the demonstrations costs each
    graded kernel about a second of CPU. Everything else of the cell stays, in its order; a
    cell that is not plain Python is returned as it is."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return source
    lines = source.splitlines(keepends=True)
    kept_parts, changed = [], False
    for node in tree.body:
        segment = "".join(lines[node.lineno - 1:node.end_lineno])
        if isinstance(node, (ast.Import, ast.ImportFrom)) and not any(
                a.name == "*" for a in node.names):
            aliases = [a for a in node.names if _bound_by(a, node) in wanted]
            if len(aliases) != len(node.names):
                changed = True
                if not aliases:
                    continue
                node.names = aliases
                segment = ast.unparse(node) + "\n"
        kept_parts.append(segment)
    return "".join(kept_parts) if changed else source


def _bound_by(alias: ast.alias, node: ast.stmt) -> str:
    if alias.asname:
        return alias.asname
    return alias.name.split(".")[0] if isinstance(node, ast.Import) else alias.name
