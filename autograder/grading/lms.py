"""What Canvas and Moodle name the files of a bulk download, and the class roster.

Canvas ("Download Submissions": one zip of loose files). Canvas's ``ContentZipper``
(instructure/canvas-lms, lib/content_zipper.rb: ``get_filename``, ``sanitize_user_name``,
``add_upload_submission``) names every uploaded file

    <sortable name>[_LATE]_<user id>_<attachment id>_<file name as uploaded>

where the sortable name ("Smith, John") is lower-cased with every non-word character removed
("smithjohn"), ``LATE`` marks a submission after the due date, and the user id is the
student's Canvas user id (the ``ID`` column of Canvas's gradebook CSV, nbgrader's
``lms_user_id``). With anonymous grading the name is left out and the id is
``anon_<anonymous id>``. A file uploaded again under the same name is stored by Canvas as
``name-1.ipynb``, ``name-2.ipynb`` (app/models/attachment.rb, ``make_unique_filename``), so
``smithjohn_LATE_12345_67890_01_loss_functions-1.ipynb`` is John Smith's late re-upload of
``01_loss_functions.ipynb``.

Moodle ("Download all submissions"). moodle/moodle, mod/assign/locallib.php
(``download_submissions``) prefixes each file with
``clean_filename(<full name> + '_' + <participant id> + '_')`` then
``<plugin subtype>_<plugin type>_`` (``assignsubmission_file_``): with "download submissions
in folders" (the default since Moodle 3.1) every student is a folder
``Jane Doe_1234_assignsubmission_file_/01_loss_functions.ipynb``; without, the files are
loose: ``Jane Doe_1234_assignsubmission_file_01_loss_functions.ipynb``. The participant id
comes from ``assign_user_mapping``: it is per assignment, not the student's Moodle id, so the
student is known here by name (matched against the roster when there is one); two students
of one name are both reported (with their folders, participant ids included), not graded.

Neither LMS's download is taken to tell when a file was handed in: rubyzip, with which Canvas
packs it, stamps each entry with the time of packing, and Moodle documents no hand-in time in
its zip. A hand-in from an LMS layout carries no timestamp; Canvas's ``LATE`` mark is kept,
and late penalties are the LMS's own late policy there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

CANVAS_FILE = re.compile(
    r"^(?:(?P<name>(?!LATE_|anon_)[^\W_]+)_)?(?:(?P<late>LATE)_)?"
    r"(?:(?P<uid>\d+)|anon_(?P<anon>[A-Za-z0-9]+))_(?P<attachment>\d+)_(?P<file>.+)$")
MOODLE_FOLDER = re.compile(r"^(?P<name>.+?)_(?P<participant>\d+)_assignsubmission_file_?$")
MOODLE_FILE = re.compile(r"^(?P<name>.+?)_(?P<participant>\d+)_assignsubmission_file_(?P<file>.+)$")
DUPLICATE = re.compile(r"^(?P<stem>.+?)(?:-\d+| \(\d+\))?$")
"""A file name made unique by the LMS (``name-1``) or a browser (``name (1)``)."""


@dataclass(frozen=True)
class LmsHandIn:
    """Who handed in a file of an LMS download, as far as its name tells."""
    lms: str            # "canvas" or "moodle"
    name: str           # Canvas's sortable name ("smithjohn") or Moodle's full name
    lms_id: str         # Canvas user id or "anon_<id>"; Moodle participant id (per assignment)
    file: str           # the file name the student uploaded ("" for a Moodle folder)
    late: bool = False  # Canvas marked it LATE


def parse_canvas(filename: str) -> LmsHandIn | None:
    """The Canvas hand-in a bulk-download file name describes, or None."""
    found = CANVAS_FILE.match(filename)
    if not found:
        return None
    lms_id = found["uid"] or f"anon_{found['anon']}"
    return LmsHandIn("canvas", found["name"] or "", lms_id, found["file"], bool(found["late"]))


def parse_moodle(name: str, is_dir: bool) -> LmsHandIn | None:
    """The Moodle hand-in a bulk-download folder or loose file name describes, or None."""
    found = (MOODLE_FOLDER if is_dir else MOODLE_FILE).match(name)
    if not found:
        return None
    return LmsHandIn("moodle", found["name"], found["participant"],
                     "" if is_dir else found["file"])


def parse(name: str, is_dir: bool) -> LmsHandIn | None:
    """A Canvas or Moodle hand-in named ``name`` (a top-level entry of a download), or None."""
    return parse_moodle(name, is_dir) or (None if is_dir else parse_canvas(name))


def assignment_of(filename: str, assignments: list[str]) -> str | None:
    """The assignment a notebook file name is for, allowing an LMS's ``-1`` duplicate suffix."""
    if not filename.endswith(".ipynb"):
        return None
    stem = filename[: -len(".ipynb")]
    if stem in assignments:
        return stem
    base = DUPLICATE.match(stem)["stem"]
    return base if base in assignments else None


@dataclass(frozen=True)
class Student:
    """A student of the roster (nbgrader's gradebook, filled by ``nbgrader db student import``)."""
    id: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    lms_user_id: str = ""

    @property
    def display(self) -> str:
        """"Last, First <email>" as far as known; the id alone when nothing is."""
        name = ", ".join(p for p in (self.last_name, self.first_name) if p)
        mail = f" <{self.email}>" if self.email else ""
        return (name + mail).strip() or self.id


def roster_from_gradebook(db_url: str) -> list[Student]:
    """Every student in the gradebook at ``db_url`` (e.g. ``sqlite:///grading/gradebook.db``)."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gb:
        return [Student(s.id, s.first_name or "", s.last_name or "", s.email or "",
                        s.lms_user_id or "") for s in gb.students]


def roster_of(grading: Path) -> list[Student]:
    """The roster in a grading folder's gradebook; empty when there is no gradebook yet."""
    path = Path(grading) / "gradebook.db"
    return roster_from_gradebook(f"sqlite:///{path.resolve()}") if path.is_file() else []


def _letters(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def match_roster(hand_in: LmsHandIn, roster: list[Student]) -> Student | None:
    """The roster's student an LMS hand-in belongs to, if exactly one matches.

    Canvas: by Canvas user id (``lms_user_id``). Moodle: by full name, "First Last" or
    "Last First", ignoring case, spaces and punctuation.
    """
    if hand_in.lms == "canvas":
        found = [s for s in roster if s.lms_user_id and s.lms_user_id == hand_in.lms_id]
    else:
        name = _letters(hand_in.name)
        found = [s for s in roster if name and name in (_letters(s.first_name + s.last_name),
                                                        _letters(s.last_name + s.first_name))]
    return found[0] if len(found) == 1 else None
