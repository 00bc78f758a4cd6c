"""Build the course's notebooks from their one source of truth.

``solutions/<id>/<id>.py`` (jupytext percent format, the file authors edit and review)
  -> ``solutions/<id>/<id>.ipynb``  (nbgrader's source notebook: solutions + hidden tests)
  -> ``notebooks/<id>/<id>.ipynb``  (the student release, made by ``nbgrader generate_assignment``)

Authors give each nbgrader cell only what matters, e.g. ``nbgrader={"grade_id": "softmax",
"solution": true}`` or ``{"grade_id": "test_softmax", "grade": true, "points": 10}``; the
build completes the metadata nbgrader expects. Run ``python -m autograder.build`` (or
``make notebooks``); ``--check`` rebuilds into a temporary folder and fails on any difference.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NBGRADER_DEFAULTS = {"grade": False, "locked": False, "schema_version": 3, "solution": False,
                     "task": False}
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def assignments(root: Path = ROOT) -> list[str]:
    """Assignment ids: every ``solutions/<id>/<id>.py``, in order."""
    return sorted(p.parent.name for p in (root / "solutions").glob("*/*.py")
                  if p.stem == p.parent.name)


def complete_metadata(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Fill in nbgrader's required keys; a graded test cell is always locked."""
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader")
        if meta is None:
            continue
        full = dict(NBGRADER_DEFAULTS)
        full.update(meta)
        if full["grade"] and not full["solution"]:
            full["locked"] = True
        if full["grade"] and "points" not in full:
            raise ValueError(f"graded cell {full.get('grade_id')} has no points")
        if "grade_id" not in full:
            raise ValueError(f"an nbgrader cell has no grade_id: {cell.source[:60]!r}")
        cell.metadata["nbgrader"] = full
    return nb


def source_to_notebook(py_file: Path) -> nbformat.NotebookNode:
    """Read a jupytext percent file into a clean nbformat v4 notebook without outputs."""
    import jupytext

    nb = jupytext.read(py_file)
    nb.metadata.pop("jupytext", None)
    nb.metadata["kernelspec"] = KERNELSPEC
    nb.metadata["language_info"] = {"name": "python"}
    for index, cell in enumerate(nb.cells):
        # stable ids (jupytext draws random ones), so building twice gives identical files
        cell["id"] = cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell-{index:03d}"
        cell.metadata.pop("lines_to_next_cell", None)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb = complete_metadata(nb)
    nbformat.validate(nb)
    return nb


def build(root: Path, out: Path) -> None:
    """Write every source notebook and student notebook for ``root``'s sources into ``out``."""
    ids = assignments(root)
    if not ids:
        raise SystemExit("no solutions/<id>/<id>.py sources found")
    for assignment in ids:
        target = out / "solutions" / assignment
        target.mkdir(parents=True, exist_ok=True)
        nb = source_to_notebook(root / "solutions" / assignment / f"{assignment}.py")
        nbformat.write(nb, target / f"{assignment}.ipynb")
        shutil.copy2(root / "solutions" / assignment / f"{assignment}.py", target)
    shutil.copy2(root / "nbgrader_config.py", out / "nbgrader_config.py")
    env = dict(os.environ, NNCOURSE_GRADING_DIR=str(out / ".grading"))
    for assignment in ids:
        subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", assignment,
                        "--no-db", "--force", "--log-level=WARN"],
                       cwd=out, env=env, check=True)


def differences(a: Path, b: Path) -> list[str]:
    """Relative paths of files that differ between folders ``a`` and ``b`` (either side)."""
    found = []
    cmp = filecmp.dircmp(a, b, ignore=["__pycache__", ".ipynb_checkpoints"])
    stack = [(cmp, Path())]
    while stack:
        node, rel = stack.pop()
        found += [str(rel / n) for n in node.left_only + node.right_only]
        found += [str(rel / n) for n in node.common_files
                  if not filecmp.cmp(Path(node.left) / n, Path(node.right) / n, shallow=False)]
        stack += [(sub, rel / name) for name, sub in node.subdirs.items()]
    return sorted(found)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="rebuild into a temporary folder and report any difference")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        build(ROOT, out)
        drift = []
        for folder in ("solutions", "notebooks"):
            drift += [f"{folder}/{p}" for p in differences(out / folder, ROOT / folder)]
        if args.check:
            if drift:
                print("Out of date (run `make notebooks`):\n  " + "\n  ".join(drift))
                return 1
            print("notebooks are up to date")
            return 0
        for folder in ("solutions", "notebooks"):
            for nb in (out / folder).glob("*/*.ipynb"):
                dest = ROOT / folder / nb.parent.name / nb.name
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(nb, dest)
        print("rebuilt: " + (", ".join(drift) if drift else "nothing changed"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
