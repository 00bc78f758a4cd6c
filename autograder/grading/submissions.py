"""Finding each student's notebooks in a folder of submissions, with the time each was handed in.

What ``collect`` accepts (mixed freely in one folder, or given as one class-wide ``.zip``):

- ``<student>/.../<assignment>.ipynb``: a folder per student (nbgrader's ``submitted/`` too);
- ``<student>.zip`` holding ``<assignment>.ipynb`` anywhere inside;
- Canvas's and Moodle's bulk downloads, loose or as the zip the LMS gives
  (``smithjohn_LATE_12345_67890_01_loss_functions-1.ipynb``,
  ``Jane Doe_1234_assignsubmission_file_/01_loss_functions.ipynb``; see ``lms``).

Each ``Submission`` carries when it was handed in: nbgrader's ``timestamp.txt`` beside the
notebook (``nbgrader collect`` writes it) if there is one, else the zip entry's time for a
per-student zip, else the file's modification time; none for an LMS download, whose times
are those of the download. ``write_timestamp`` puts it back beside the notebook nbgrader
grades, so ``nbgrader autograde`` sees it and applies the due date and late penalty;
``write_nbgrader_files`` also puts back the ``submission_secret.txt`` that ``nbgrader submit``
wrote, without which ``nbgrader release_feedback`` fails and students cannot fetch feedback.

Two different notebooks that map to one student and assignment are never merged or chosen
between: both are left out and reported in the notes ``collect`` returns.
"""

from __future__ import annotations

import filecmp
import os
import re
import shutil
import tempfile
import time
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from . import lms

STUDENT_ID = re.compile(r"[^A-Za-z0-9_.@-]+")
TIMESTAMP_FILE = "timestamp.txt"
SECRET_FILE = "submission_secret.txt"  # nbgrader submit's key for returning feedback
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f UTC"
"""As nbgrader's exchange writes them (``Exchange.timestamp_format``), always in UTC."""


@dataclass
class Submission:
    student: str
    assignment: str
    path: Path  # the notebook as handed in (a private copy)
    timestamp: datetime | None = None  # when it was handed in (UTC), if known
    timestamp_source: str = ""         # "timestamp.txt", "zip entry" or "file modified"
    origin: str = ""                   # where it was found, relative to the folder given
    lms_late: bool = False             # the LMS marked it late (Canvas's LATE)
    submission_secret: str | None = None  # nbgrader's submission_secret.txt, if handed in so


@dataclass
class _Candidate:
    key: str                 # student id
    assignment: str
    path: Path
    origin: str
    timestamp: datetime | None
    source: str
    lms_late: bool = False
    secret: str | None = None


def student_id(name: str) -> str:
    """A folder or zip name made safe as an nbgrader student id."""
    cleaned = STUDENT_ID.sub("_", name).strip("._")
    if not cleaned:
        raise ValueError(f"cannot make a student id from {name!r}")
    return cleaned


def read_timestamp(folder: Path) -> datetime | None:
    """nbgrader's ``timestamp.txt`` in ``folder`` as an aware UTC datetime, or None."""
    from nbgrader.utils import parse_utc

    path = Path(folder) / TIMESTAMP_FILE
    if not path.is_file():
        return None
    text = path.read_text().strip()
    try:
        return parse_utc(text).replace(tzinfo=timezone.utc) if text else None
    except (ValueError, OverflowError):
        return None


def write_timestamp(sub: Submission, folder: Path) -> Path | None:
    """Write ``folder/timestamp.txt`` with the time ``sub`` was handed in (nbgrader's format).

    Call it for the folder of every notebook nbgrader is to grade (and for a kept copy that
    will be graded again). Without a known time, a stale ``timestamp.txt`` there is removed
    and None returned.
    """
    path = Path(folder) / TIMESTAMP_FILE
    if sub.timestamp is None:
        path.unlink(missing_ok=True)
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(sub.timestamp.astimezone(timezone.utc).strftime(TIMESTAMP_FORMAT) + "\n")
    return path


def submission_notes(sub: Submission) -> list[str]:
    """What the report should say about how ``sub`` was handed in (Canvas's LATE mark)."""
    if sub.lms_late:
        return [f"the LMS marked this hand-in late ({sub.origin}); its hand-in time is not in "
                "the download, so the LMS's late policy applies, not nbgrader's"]
    return []


def write_nbgrader_files(sub: Submission, folder: Path) -> None:
    """Put nbgrader's files of a hand-in beside its notebook in ``folder``: ``timestamp.txt``
    (see ``write_timestamp``) and ``submission_secret.txt`` (for ``release_feedback``)."""
    write_timestamp(sub, folder)
    secret = Path(folder) / SECRET_FILE
    if sub.submission_secret is None:
        secret.unlink(missing_ok=True)
    else:
        secret.write_text(sub.submission_secret)


def _mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc)


def _extract(archive: Path, into: Path) -> None:
    """Extract a zip, refusing paths that leave ``into``; files keep their entry's time.

    Zip entry times have no time zone: they are read as this machine's local time, as
    ``unzip`` does.
    """
    root = into.resolve()
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            target = (root / info.filename).resolve()
            if target != root and root not in target.parents:
                raise zipfile.BadZipFile(f"unsafe path {info.filename!r}")
        for info in zf.infolist():
            written = Path(zf.extract(info, root))
            if not info.is_dir():
                stamp = time.mktime((*info.date_time, 0, 0, -1))
                os.utime(written, (stamp, stamp))


def _notebooks(root: Path) -> list[Path]:
    return [nb for nb in sorted(root.rglob("*.ipynb"))
            if ".ipynb_checkpoints" not in nb.parts and "__MACOSX" not in nb.parts]


def _timestamp_for(nb: Path, root: Path, zipped: bool) -> tuple[datetime | None, str]:
    """nbgrader's timestamp.txt in the notebook's folder or any folder up to ``root``; else
    the zip entry's or the file's time."""
    folder = nb.parent
    while True:
        found = read_timestamp(folder)
        if found is not None:
            return found, TIMESTAMP_FILE
        if folder == root or root not in folder.parents:
            break
        folder = folder.parent
    return _mtime(nb), "zip entry" if zipped else "file modified"


class _Collector:
    def __init__(self, folder: Path, assignments: list[str], workdir: Path,
                 roster: list[lms.Student]):
        self.folder, self.assignments, self.workdir = folder, assignments, workdir
        self.roster = roster
        self.candidates: list[_Candidate] = []
        self.notes: list[str] = []
        self.lms_keys: dict[str, list[str]] = {}  # student -> LMS entries seen

    def unzip(self, archive: Path) -> Path | None:
        root = Path(tempfile.mkdtemp(dir=self.workdir, prefix="zip-"))
        try:
            _extract(archive, root)
        except (zipfile.BadZipFile, OSError) as exc:
            self.notes.append(f"{self.where(archive)}: not a readable zip ({exc})")
            shutil.rmtree(root, ignore_errors=True)
            return None
        return root

    def where(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.folder))
        except ValueError:
            return path.name

    def lms_student(self, hand_in: lms.LmsHandIn) -> str:
        known = lms.match_roster(hand_in, self.roster)
        if known is not None:
            return known.id
        if hand_in.lms == "canvas":
            return hand_in.lms_id
        return student_id(hand_in.name)

    def add(self, key: str, path: Path, origin: str, when, source) -> _Candidate | None:
        assignment = lms.assignment_of(path.name, self.assignments)
        if assignment is None:
            return None
        self.candidates.append(_Candidate(key, assignment, path, origin, when, source))
        return self.candidates[-1]

    def student_tree(self, key: str, root: Path, origin: str, zipped: bool) -> None:
        before = len(self.candidates)
        for nb in _notebooks(root):
            when, source = _timestamp_for(nb, root, zipped)
            added = self.add(key, nb, f"{origin}/{nb.relative_to(root)}", when, source)
            if added and (nb.parent / SECRET_FILE).is_file():
                added.secret = (nb.parent / SECRET_FILE).read_text()
        if len(self.candidates) == before:
            self.notes.append(f"{key}: no notebook named after an assignment "
                              f"({', '.join(self.assignments)})")

    def lms_entry(self, entry: Path, hand_in: lms.LmsHandIn, origin: str) -> None:
        key = self.lms_student(hand_in)
        if entry.is_dir():
            notebooks = _notebooks(entry)
        elif entry.suffix == ".zip":
            root = self.unzip(entry)
            notebooks = _notebooks(root) if root else []
        else:
            notebooks = [entry]
        self.lms_keys.setdefault(key, []).append(origin)
        for nb in notebooks:
            name = hand_in.file if nb == entry else nb.name
            assignment = lms.assignment_of(name, self.assignments)
            if assignment is not None:
                inside = "" if nb == entry or not entry.is_dir() else f"/{nb.relative_to(entry)}"
                self.candidates.append(_Candidate(key, assignment, nb, origin + inside, None, "",
                                                  hand_in.late))

    def lms_without_notebook(self) -> None:
        """A note for each student whose LMS hand-ins hold no notebook of an assignment."""
        graded = {c.key for c in self.candidates}
        for key, origins in sorted(self.lms_keys.items()):
            if key not in graded:
                self.notes.append(f"{key}: no notebook named after an assignment "
                                  f"({', '.join(self.assignments)}) in "
                                  + ", ".join(origins))

    def folder_of_class(self, folder: Path, prefix: str = "") -> None:
        for entry in sorted(folder.iterdir()):
            if entry.name.startswith(".") or entry.name == "__MACOSX":
                continue
            origin = prefix + entry.name
            hand_in = lms.parse(entry.name, entry.is_dir())
            if hand_in is not None:
                self.lms_entry(entry, hand_in, origin)
            elif entry.is_dir():
                self.student_tree(student_id(entry.name), entry, origin, zipped=False)
            elif entry.suffix == ".zip":
                root = self.unzip(entry)
                if root is None:
                    continue
                if _is_class_download(root):
                    self.folder_of_class(root, prefix=f"{origin}:")
                else:
                    self.student_tree(student_id(entry.stem), root, origin, zipped=True)
            else:
                self.notes.append(f"{origin}: ignored (neither a student's folder or .zip nor "
                                  "a file named as Canvas or Moodle name them)")


def _is_class_download(root: Path) -> bool:
    """Whether an extracted zip is an LMS's bulk download rather than one student's zip."""
    entries = [e for e in root.iterdir() if not e.name.startswith(".") and e.name != "__MACOSX"]
    return any(lms.parse(e.name, e.is_dir()) for e in entries)


def collect(folder: Path, assignments: list[str], workdir: Path,
            roster: list[lms.Student] | None = None,
            students: list[str] | None = None) -> tuple[list[Submission], list[str]]:
    """Submissions under ``folder`` for the given assignment ids, and notes on what was skipped.

    ``folder`` may also be a class-wide ``.zip``; zips are extracted under ``workdir``, and
    every notebook is copied there (grading may rewrite the folder it was read from).
    Notebooks are matched to assignments by file name. ``roster`` (from
    ``lms.roster_from_gradebook``) maps LMS hand-ins to the students' nbgrader ids: Canvas
    by Canvas user id, Moodle by name; without it, a Canvas hand-in is its Canvas user id
    and a Moodle one its name. ``students``: only their hand-ins (a regrade; the others are
    neither copied nor compared).
    """
    folder = Path(folder)
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    collector = _Collector(folder, list(assignments), workdir, roster or [])
    if folder.is_file() and folder.suffix == ".zip":
        root = collector.unzip(folder)
        if root is None:
            return [], collector.notes
        collector.folder = root
        collector.folder_of_class(root, prefix=f"{folder.name}:")
    elif folder.is_dir():
        collector.folder_of_class(folder)
    else:
        raise FileNotFoundError(f"no folder of submissions at {folder}")
    collector.lms_without_notebook()
    candidates = collector.candidates
    if students is not None:
        candidates = [c for c in candidates if c.key in set(students)]
    return _resolve(candidates, workdir, collector.notes)


def _resolve(candidates: list[_Candidate], workdir: Path,
             notes: list[str]) -> tuple[list[Submission], list[str]]:
    """One submission per student and assignment; conflicting hand-ins left out, reported."""
    groups: dict[tuple[str, str], list[_Candidate]] = {}
    for cand in candidates:
        groups.setdefault((cand.key, cand.assignment), []).append(cand)
    found = []
    for (student, assignment), group in sorted(groups.items()):
        distinct = []
        for cand in group:  # the same bytes handed in twice are one hand-in
            if not any(filecmp.cmp(cand.path, kept.path, shallow=False) for kept in distinct):
                distinct.append(cand)
        if len(distinct) > 1:
            notes.append(f"{student}: {len(distinct)} different hand-ins of {assignment} ("
                         + ", ".join(c.origin for c in distinct) + "); none graded, as they "
                         "may be two students or two versions: keep one and grade again")
            continue
        cand = distinct[0]
        copy = workdir / "handed-in" / student / f"{assignment}.ipynb"
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(cand.path, copy)
        found.append(Submission(student, assignment, copy, cand.timestamp, cand.source,
                                cand.origin, cand.lms_late, cand.secret))
    return found, notes
