"""nbgrader configuration for the course (instructors: run nbgrader from this folder).

- source (with solutions and hidden tests): ``solutions/<assignment>/<assignment>.ipynb``,
  generated from the readable jupytext source ``solutions/<assignment>/<assignment>.py``;
- release (what students get): ``notebooks/<assignment>/<assignment>.ipynb``;
- everything a term of grading creates (submissions, autograded copies, feedback, the
  gradebook, exports) lives under ``$NNCOURSE_GRADING_DIR`` (default ``grading/``, ignored by git).
"""

import os

c = get_config()  # noqa: F821  (provided by nbgrader when it loads this file)

grading = os.environ.get("NNCOURSE_GRADING_DIR", "grading")

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
from nbgrader.preprocessors import (  # noqa: E402
    AssignLatePenalties,
    CheckCellMetadata,
    IgnorePattern,
    LimitOutput,
    SaveAutoGrades,
)

from autograder.sandbox.execute import SandboxedExecute  # noqa: E402

c.Autograde.autograde_preprocessors = [SandboxedExecute, IgnorePattern, ClearMetadataPreprocessor,
                                       LimitOutput, SaveAutoGrades, AssignLatePenalties,
                                       CheckCellMetadata]

# The term's secret salt for hidden cases: kept in the grading folder (never in a sandbox), so
# plain `nbgrader autograde` draws the same hidden cases as `python -m autograder grade`.
from autograder.grading.salt import term_salt  # noqa: E402

os.environ.setdefault("NNCOURSE_HIDDEN_SEED", term_salt(grading))

# Per-cell time limit when autograding (nbgrader 0.9 reads Execute.timeout; a cell running
# longer is interrupted and graded as failed).
c.SandboxedExecute.timeout = c.Execute.timeout = int(os.environ.get("NNCOURSE_CELL_TIMEOUT", "60"))

c.Exchange.root = os.environ.get("NNCOURSE_EXCHANGE", os.path.join(grading, "exchange"))

# Feedback shows each test's verdict and the checker's message, but not the source of hidden
# tests (nbgrader shows it by default). The checker's failures render as their message only,
# so no hidden line appears in a traceback either.
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader.preprocessors import ClearHiddenTests, GetGrades  # noqa: E402

c.GenerateFeedback.preprocessors = [GetGrades, CSSHTMLHeaderPreprocessor, ClearHiddenTests]
