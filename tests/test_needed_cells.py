"""Grading runs only what the graded functions need: the cells (``cells_needed``) and, in the
course's own import cell, only the imports of names something graded reads
(``without_unused_imports``). Attacks on the cell filter are in tests/test_sandbox_attacks.py;
that solutions still earn every point this way is in tests/test_notebooks.py."""

from __future__ import annotations

import nbformat
from classroom import ROOT

from autograder.notebook import graded_cells
from autograder.sandbox.needed import is_course_cell, needed, without_unused_imports
from autograder.selfcheck import run_notebook

COURSE_CELL = {"nbgrader": {"locked": True, "solution": False, "grade": False,
                            "grade_id": "imports", "schema_version": 3}}


def test_unused_imports_go_and_everything_else_stays_in_order():
    source = ("import time\n\nimport matplotlib.pyplot as plt\nimport numpy as np\n"
              "import os.path\nfrom nnlib.widgets import float_slider, slider_panel\n"
              "np.set_printoptions(precision=4)  # a setting, always kept\n"
              "from numpy import *\n")
    assert without_unused_imports(source, {"np", "os", "slider_panel"}) == (
        "import numpy as np\nimport os.path\nfrom nnlib.widgets import slider_panel\n"
        "np.set_printoptions(precision=4)  # a setting, always kept\nfrom numpy import *\n")
    assert without_unused_imports(source, {"time", "plt", "np", "os", "float_slider",
                                           "slider_panel"}) == source
    magic = "%matplotlib inline\nimport matplotlib.pyplot as plt\n"
    assert without_unused_imports(magic, set()) == magic  # not plain Python: left alone


def _notebook(*cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source, metadata=meta) for source, meta in cells]
    return nb


def test_an_import_a_solution_uses_is_kept_and_only_course_cells_are_trimmed():
    nb = _notebook(("import matplotlib.pyplot as plt\nimport numpy as np\nimport json\n",
                    COURSE_CELL),
                   ("import math\ndef softmax(s):\n    plt.figure\n    return np.exp(s)\n", {}))
    kept, wanted = needed(nb, ["softmax"], set())
    assert kept == {0, 1} and {"plt", "np"} <= wanted and "json" not in wanted
    assert is_course_cell(nb.cells[0]) and not is_course_cell(nb.cells[1])
    assert without_unused_imports(nb.cells[0].source, wanted) == (
        "import matplotlib.pyplot as plt\nimport numpy as np\n")


def test_graded_notebook_keeps_the_course_cell_as_it_was():
    """The trimmed import cell only runs: the autograded notebook (and so the feedback)
    shows the cell the student saw."""
    path = ROOT / "solutions" / "01_loss_functions" / "01_loss_functions.ipynb"
    original = nbformat.read(path, as_version=4)
    first = next(i for i, c in enumerate(original.cells) if is_course_cell(c))
    assert "matplotlib" in original.cells[first].source
    results, run = run_notebook(path, only_needed=True)
    assert results and all(r.passed for r in results), results
    assert run.cells[first].source == original.cells[first].source
    assert len(graded_cells(run)) == len(results)
