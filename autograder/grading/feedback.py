"""What students see in feedback: their notebook with verdicts, not the grader's machinery."""

from __future__ import annotations

from nbconvert.preprocessors import Preprocessor

GRADER_CELL = "nncourse_grader"


class RemoveGraderCells(Preprocessor):
    """Drop the cells the grading pipeline added (guard and verification) from feedback."""

    def preprocess(self, nb, resources):
        nb.cells = [c for c in nb.cells if GRADER_CELL not in c.get("metadata", {})]
        return nb, resources
