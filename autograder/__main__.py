"""Command line: ``python -m autograder check [PATH ...] [--all]``.

check     execute notebooks in a real kernel and grade every exercise (visible and hidden
          checks), without nbgrader; prints a table, exit status 0 only when all pass.
grade     grade a folder of submissions (a folder or zip per student) with nbgrader:
          autograde, feedback, CSV exports and a class report (instructors).
gradescope
          write each assignment's Gradescope autograder zip (instructors).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def notebooks_in(paths: list[str], all_: bool) -> list[Path]:
    """The notebooks named, or with --all every <id>/<id>.ipynb under the folders named
    (default: the course's notebooks/ folder)."""
    if all_:
        folders = [Path(p) for p in paths] or [ROOT / "notebooks"]
        found = []
        for folder in folders:
            found += sorted(p for p in folder.glob("*/*.ipynb") if p.stem == p.parent.name
                            and ".ipynb_checkpoints" not in p.parts)
        return found
    return [Path(p) for p in paths]


def cmd_check(args) -> int:
    from .selfcheck import as_json, check_notebook, format_table

    paths = notebooks_in(args.paths, args.all)
    if not paths:
        print("No notebooks given: name .ipynb files, or use --all [FOLDER].", file=sys.stderr)
        return 2
    missing = [p for p in paths if not p.is_file()]
    if missing:
        print("Not found: " + ", ".join(map(str, missing)), file=sys.stderr)
        return 2
    results = []
    for path in paths:
        print(f"running {path} ...", file=sys.stderr, flush=True)
        results += check_notebook(path, hidden=not args.visible_only, timeout=args.timeout)
    if args.json:
        print(json.dumps(as_json(results), indent=2))
    else:
        print(format_table(results))
    return 0 if results and all(r.passed for r in results) else 1


def cmd_grade(args) -> int:
    from .grading.pipeline import main_grade
    from .sandbox.bubblewrap import SandboxUnavailable

    try:
        return main_grade(args)
    except SandboxUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def cmd_gradescope(args) -> int:
    from .gradescope.bundle import main_gradescope

    return main_gradescope(args)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="execute notebooks and grade every exercise in them")
    check.add_argument("paths", nargs="*", help="notebooks, or folders with --all")
    check.add_argument("--all", action="store_true",
                       help="every notebook <id>/<id>.ipynb under the folders given "
                            "(default: notebooks/)")
    check.add_argument("--visible-only", action="store_true",
                       help="run only the notebook's visible checks")
    check.add_argument("--timeout", type=int, default=120,
                       help="seconds a cell may run before it is interrupted (default 120)")
    check.add_argument("--json", action="store_true", help="print the results as JSON")
    check.set_defaults(run=cmd_check)
    grade = sub.add_parser("grade", help="grade a class's submissions with nbgrader")
    grade.add_argument("submissions", help="folder with one folder or .zip per student")
    grade.add_argument("--assignment", action="append",
                       help="grade only this assignment (repeatable; default: all found)")
    grade.add_argument("--grading-dir", help="where submissions, feedback, exports and the "
                       "report go (default: $NNCOURSE_GRADING_DIR or grading/)")
    grade.add_argument("--cell-timeout", type=int,
                       help="seconds a cell may run (default: $NNCOURSE_CELL_TIMEOUT or 60)")
    grade.add_argument("--student", action="append",
                       help="regrade only this student (repeatable); the report, CSVs and "
                            "results keep everyone else's last grades")
    grade.add_argument("--workers", type=int, default=2,
                       help="submissions run at once in the sandbox (default 2)")
    grade.set_defaults(run=cmd_grade)
    gradescope = sub.add_parser("gradescope", help="write Gradescope autograder zips, one per "
                                "assignment")
    gradescope.add_argument("--assignment", action="append",
                            help="this assignment only (repeatable; default: all)")
    gradescope.add_argument("--out", help="folder for the zips (default: <grading>/gradescope/),"
                            " or a .zip path for one assignment")
    gradescope.add_argument("--grading-dir", help="the grading folder whose salt the zips carry "
                            "(default: $NNCOURSE_GRADING_DIR or grading/)")
    gradescope.add_argument("--cell-timeout", type=int,
                            help="seconds a cell may run on Gradescope (default: "
                                 "$NNCOURSE_CELL_TIMEOUT or 60)")
    gradescope.set_defaults(run=cmd_gradescope)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
