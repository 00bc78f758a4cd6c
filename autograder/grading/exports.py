"""nbgrader export plugins that write under the grading folder unless ``--to`` says otherwise.

nbgrader's own ``CsvExportPlugin`` writes ``grades.csv`` into the folder nbgrader is run from
(the repository root). ``nbgrader_config.py`` makes ``GradesCsvExport`` the default exporter
and sets ``GradingFolderExport.exports_folder`` to ``<grading folder>/exports``, so a plain
``nbgrader export`` writes ``grading/exports/grades.csv``; ``--to`` still picks any file.
"""

from __future__ import annotations

import os

from nbgrader.plugins import CsvExportPlugin, ExportPlugin
from traitlets import Unicode


class GradingFolderExport(ExportPlugin):
    """An exporter whose default file is ``exports_folder/default_name``."""

    exports_folder = Unicode(
        "", help="Folder for exports when --to is not given (default: the current folder)."
    ).tag(config=True)
    default_name = "grades.csv"

    def destination(self) -> str:
        """``--to`` if given, else ``exports_folder/default_name``; its folder is created."""
        path = self.to or os.path.join(self.exports_folder, self.default_name)
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        return path


class GradesCsvExport(GradingFolderExport, CsvExportPlugin):
    """nbgrader's CSV export (one row per student and assignment), into the exports folder."""

    def export(self, gradebook) -> None:
        self.to = self.destination()
        super().export(gradebook)
