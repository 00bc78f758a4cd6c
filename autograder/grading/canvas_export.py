"""A gradebook CSV that Canvas imports (Grades > Import): one row per student, one column per
assignment.

    nbgrader export --exporter=autograder.grading.canvas_export.CanvasExportPlugin

writes ``grading/exports/canvas.csv`` (or ``--to FILE``). What Canvas reads, from its importer
(instructure/canvas-lms, app/models/gradebook_importer.rb): a header row whose first columns
are ``Student, ID`` (then optionally ``SIS User ID, SIS Login ID``) and ``Section``, every
later column an assignment, titled ``Name`` or ``Name (<Canvas assignment id>)``; an optional
row whose first cell is ``Points Possible``. A row's student is found by ``ID`` (the Canvas
user id), else by SIS User ID, else SIS Login ID, else by name ("Last, First"). A title
matching no Canvas assignment creates one; a blank cell changes nothing.

Here: ``Student`` is "Last, First" from the gradebook (``nbgrader db student import``), or the
nbgrader id; ``ID`` is the student's ``lms_user_id``; the nbgrader id goes into ``SIS Login
ID`` (configurable); each assignment's score is nbgrader's total less its late penalty, the
same number ``nbgrader export``'s ``score`` column gives.
"""

from __future__ import annotations

import csv

from nbgrader.api import MissingEntry
from traitlets import Bool, Dict, Enum, Unicode

from .exports import GradingFolderExport

STUDENT_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]


def _number(value: float) -> str:
    return f"{round(float(value), 2):g}"


class CanvasExportPlugin(GradingFolderExport):
    """Export the gradebook as a CSV for Canvas's gradebook import."""

    default_name = "canvas.csv"

    section = Unicode("", help="Text for the Section column (Canvas ignores it on import)."
                      ).tag(config=True)
    nbgrader_id_column = Enum(
        ["SIS Login ID", "SIS User ID", "none"], default_value="SIS Login ID",
        help="Which SIS column holds the nbgrader student id, so Canvas can match students "
             "that have no lms_user_id (the JupyterHub user name is usually the login id).",
    ).tag(config=True)
    canvas_assignment_ids = Dict(
        {}, help="nbgrader assignment -> Canvas assignment id; the column is then titled "
                 "'name (id)' and Canvas updates that assignment rather than matching by title.",
    ).tag(config=True)
    missing_score = Unicode(
        "", help="Cell for an assignment a student did not hand in: '' leaves Canvas's grade "
                 "(and its missing-submission policy) alone; '0' records a zero.",
    ).tag(config=True)
    points_possible_row = Bool(True, help="Write Canvas's 'Points Possible' row.").tag(config=True)

    def title(self, assignment: str) -> str:
        known = self.canvas_assignment_ids.get(assignment)
        return f"{assignment} ({known})" if known else assignment

    def rows(self, gradebook) -> list[list[str]]:
        """The CSV as rows: header, Points Possible (if wanted), then one row per student."""
        wanted = [str(a) for a in self.assignment]
        chosen = [str(s) for s in self.student]
        assignments = [a for a in gradebook.assignments if not wanted or a.name in wanted]
        students = sorted((s for s in gradebook.students if not chosen or s.id in chosen),
                          key=lambda s: ((s.last_name or "").lower(), (s.first_name or "").lower(),
                                         s.id))
        table = [STUDENT_COLUMNS + [self.title(a.name) for a in assignments]]
        if self.points_possible_row:
            table.append(["Points Possible", "", "", "", ""]
                         + [_number(a.max_score) for a in assignments])
        for student in students:
            name = ", ".join(p for p in (student.last_name, student.first_name) if p)
            sis = {"SIS User ID": "", "SIS Login ID": ""}
            if self.nbgrader_id_column != "none":
                sis[self.nbgrader_id_column] = student.id
            row = [name or student.id, student.lms_user_id or "", sis["SIS User ID"],
                   sis["SIS Login ID"], self.section]
            for assignment in assignments:
                try:
                    sub = gradebook.find_submission(assignment.name, student.id)
                except MissingEntry:
                    row.append(self.missing_score)
                    continue
                row.append(_number(max(0.0, sub.score - sub.late_submission_penalty)))
            table.append(row)
        return table

    def export(self, gradebook) -> None:
        dest = self.destination()
        self.log.info("Exporting grades for Canvas to %s", dest)
        with open(dest, "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows(self.rows(gradebook))
