"""nbgrader configuration for the course (instructors: run nbgrader from this folder).

- source (with solutions and hidden tests): ``solutions/<assignment>/<assignment>.ipynb``,
  generated from the readable jupytext source ``solutions/<assignment>/<assignment>.py``;
- release (what students get): ``notebooks/<assignment>/<assignment>.ipynb``;
- everything a term of grading creates (submissions, autograded copies, feedback, the
  gradebook, exports) lives under ``$NNCOURSE_GRADING_DIR`` (default ``grading/``). The folder
  is created here (``nbgrader collect`` cannot open a gradebook in a missing folder) with a
  ``.gitignore`` of ``*``, so git ignores it wherever it is, inside the repository or not.
"""

import os

c = get_config()  # noqa: F821  (provided by nbgrader when it loads this file)

grading = os.environ.get("NNCOURSE_GRADING_DIR", "grading")


def _grading_folder(path: str) -> None:
    """Create the grading folder, and tell git to ignore everything in it."""
    os.makedirs(path, exist_ok=True)
    ignore = os.path.join(path, ".gitignore")
    if not os.path.exists(ignore):
        with open(ignore, "w") as f:
            f.write("# Student work and grades: never committed.\n*\n")


_grading_folder(grading)

c.CourseDirectory.course_id = os.environ.get("NNCOURSE_COURSE_ID", "nncourse")
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
c.CourseDirectory.submitted_directory = os.path.join(grading, "submitted")
c.CourseDirectory.autograded_directory = os.path.join(grading, "autograded")
c.CourseDirectory.feedback_directory = os.path.join(grading, "feedback")
c.CourseDirectory.db_url = "sqlite:///" + os.path.abspath(os.path.join(grading, "gradebook.db"))
# The jupytext sources stay out of the release: students get only the generated notebooks.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "*.py"]

# Autograding runs every student's notebook in a bubblewrap sandbox and checks every exercise
# from outside it (autograder/sandbox/execute.py): nbgrader's Execute is replaced, the rest of
# its autograde steps are kept as they are.
from nbconvert.preprocessors import ClearMetadataPreprocessor  # noqa: E402
from nbconvert.preprocessors.sanitize import SanitizeHTML  # noqa: E402
from nbgrader.preprocessors import (  # noqa: E402
    AssignLatePenalties,
    CheckCellMetadata,
    IgnorePattern,
    LimitOutput,
    SaveAutoGrades,
)

from autograder.sandbox.execute import SandboxedExecute  # noqa: E402

c.Autograde.autograde_preprocessors = [SandboxedExecute, SanitizeHTML, IgnorePattern,
                                       ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades,
                                       AssignLatePenalties, CheckCellMetadata]
# Students' HTML and markdown are shown to instructors (formgrader) and back in feedback:
# scripts, event handlers and unknown tags are escaped (the course's <details> hints stay).
c.SanitizeHTML.enabled = True  # nbconvert preprocessors run only when enabled
c.SanitizeHTML.tags = sorted(set(SanitizeHTML().tags) | {"details", "summary"})

# The term's secret salt for hidden cases: kept in the grading folder (never in a sandbox), so
# plain `nbgrader autograde` draws the same hidden cases as `python -m autograder grade`.
from autograder.grading.salt import term_salt  # noqa: E402

os.environ.setdefault("NNCOURSE_HIDDEN_SEED", term_salt(grading))

# Per-cell time limit when autograding (nbgrader 0.9 reads Execute.timeout; a cell running
# longer is interrupted and graded as failed).
c.SandboxedExecute.timeout = c.Execute.timeout = int(os.environ.get("NNCOURSE_CELL_TIMEOUT", "60"))

# The exchange: a folder shared by instructor and students on one server (JupyterHub), set with
# $NNCOURSE_EXCHANGE (it must exist; see docs/instructors.md for its permissions). The default,
# under the grading folder, serves one user trying the workflow, and is created here.
if "NNCOURSE_EXCHANGE" in os.environ:
    c.Exchange.root = os.environ["NNCOURSE_EXCHANGE"]
else:
    c.Exchange.root = os.path.join(grading, "exchange")
    os.makedirs(c.Exchange.root, exist_ok=True)

# `nbgrader export` writes into <grading>/exports/ (grades.csv; canvas.csv with
# --exporter=autograder.grading.canvas_export.CanvasExportPlugin), not into this folder;
# --to FILE still writes anywhere.
c.ExportApp.plugin_class = "autograder.grading.exports.GradesCsvExport"
c.GradingFolderExport.exports_folder = os.path.join(grading, "exports")

# Late penalties (nbgrader applies them when an assignment has a due date:
# `nbgrader db assignment add ID --duedate="2026-12-01 23:59 Europe/Berlin"`, and a submission
# has a timestamp.txt). $NNCOURSE_LATE_PENALTY: "10%/day", "2%/hour, max 50%, grace 15min",
# "zero" (nbgrader's own: late scores 0) or unset (no penalty); see autograder/grading/late.py.
from autograder.grading import late  # noqa: E402

late.configure(c, os.environ.get("NNCOURSE_LATE_PENALTY", ""))

# Feedback shows each test's verdict and the checker's message, but not the source of hidden
# tests (nbgrader shows it by default). The checker's failures render as their message only,
# so no hidden line appears in a traceback either.
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader.preprocessors import ClearHiddenTests, GetGrades  # noqa: E402

c.GenerateFeedback.preprocessors = [GetGrades, CSSHTMLHeaderPreprocessor, ClearHiddenTests]
