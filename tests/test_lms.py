"""Finding hand-ins: per-student folders and zips, nbgrader's collected folder, Canvas's and
Moodle's bulk downloads (loose, in folders, as a class-wide zip), the time each was handed in,
and conflicting hand-ins reported rather than merged."""

from __future__ import annotations

import os
import shutil
import time
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import nbformat
import pytest

from autograder.grading import lms
from autograder.grading.submissions import (
    collect,
    read_timestamp,
    submission_notes,
    write_nbgrader_files,
    write_timestamp,
)

A, B = "01_loss_functions", "02_backprop"


def notebook(text: str) -> str:
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell(f"# {text}"))
    return nbformat.writes(nb)


def put(path: Path, text: str, mtime: float | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(notebook(text) if path.suffix == ".ipynb" else text)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def by_student(subs):
    return {(s.student, s.assignment): s for s in subs}


def owner(sub) -> str:
    return nbformat.read(sub.path, 4).cells[0].source


CANVAS = {
    "smithjohn_12345_67890_01_loss_functions.ipynb": "john",
    "doejane_LATE_23456_78901_01_loss_functions-1.ipynb": "jane late re-upload",
    "smithjohn_12345_67891_screenshot.png": "not a notebook",
    "anon_x7Yq2_11111_01_loss_functions.ipynb": "anonymous",
    "leeann_34567_22222_notes.txt": "nothing to grade",
}


def test_canvas_names_parse_as_canvas_writes_them():
    late = lms.parse_canvas("doejane_LATE_23456_78901_01_loss_functions-1.ipynb")
    assert late == lms.LmsHandIn("canvas", "doejane", "23456", "01_loss_functions-1.ipynb", True)
    anon = lms.parse_canvas("LATE_anon_x7Yq2_11111_01_loss_functions.ipynb")
    assert anon.lms_id == "anon_x7Yq2" and anon.late and anon.name == ""
    assert lms.parse_canvas("01_loss_functions.ipynb") is None
    assert lms.parse("Jane Doe_1234_assignsubmission_file_", is_dir=True).lms_id == "1234"
    assert lms.assignment_of("01_loss_functions-2.ipynb", [A]) == A
    assert lms.assignment_of("01_loss_functions (1).ipynb", [A]) == A
    assert lms.assignment_of("01_loss_functions_v2.ipynb", [A]) is None


def test_canvas_loose_files(tmp_path):
    for name, text in CANVAS.items():
        put(tmp_path / "in" / name, text)
    subs, notes = collect(tmp_path / "in", [A], tmp_path / "work")
    found = by_student(subs)
    assert set(found) == {("12345", A), ("23456", A), ("anon_x7Yq2", A)}
    assert owner(found["23456", A]) == "# jane late re-upload"
    assert found["23456", A].lms_late and not found["12345", A].lms_late
    assert "marked this hand-in late (doejane_LATE_" in submission_notes(found["23456", A])[0]
    assert submission_notes(found["12345", A]) == []
    assert all(s.timestamp is None for s in subs)  # LMS download times are the download's
    assert any(n.startswith("34567: no notebook") and "leeann_34567" in n for n in notes)
    assert not any("12345" in n for n in notes)  # a screenshot beside the notebook is fine


def test_canvas_class_zip_in_a_folder_or_given_alone_with_a_roster(tmp_path):
    archive = tmp_path / "in" / "submissions.zip"
    archive.parent.mkdir()
    with zipfile.ZipFile(archive, "w") as zf:
        for name, text in CANVAS.items():
            zf.writestr(name, notebook(text) if name.endswith(".ipynb") else text)
    roster = [lms.Student("jsmith", "John", "Smith", "js@uni.edu", "12345")]
    for given in (tmp_path / "in", archive):
        subs, _ = collect(given, [A], tmp_path / f"work-{given.name}", roster=roster)
        found = by_student(subs)
        assert set(found) == {("jsmith", A), ("23456", A), ("anon_x7Yq2", A)}, given
        assert owner(found["jsmith", A]) == "# john"
        assert found["jsmith", A].origin.endswith("smithjohn_12345_67890_01_loss_functions.ipynb")


def test_moodle_folders_and_loose_files_by_name_and_roster(tmp_path):
    put(tmp_path / "in" / "Jane Doe_1234_assignsubmission_file_" / f"{A}.ipynb", "jane")
    put(tmp_path / "in" / "Jane Doe_1234_assignsubmission_file_" / "plot.png", "png")
    put(tmp_path / "in" / f"John Roe_1235_assignsubmission_file_{A}.ipynb", "john")
    put(tmp_path / "in" / "Ann Bee_1236_assignsubmission_file_" / "work" / f"{B}.ipynb", "ann")
    roster = [lms.Student("jdoe", "Jane", "Doe")]
    assert lms.roster_of(tmp_path) == []  # no gradebook there
    subs, notes = collect(tmp_path / "in", [A, B], tmp_path / "work", roster=roster)
    found = by_student(subs)
    assert set(found) == {("jdoe", A), ("John_Roe", A), ("Ann_Bee", B)}
    assert owner(found["John_Roe", A]) == "# john" and notes == []


def test_two_students_of_one_name_are_reported_not_merged(tmp_path):
    put(tmp_path / "in" / "John Smith_1234_assignsubmission_file_" / f"{A}.ipynb", "first")
    put(tmp_path / "in" / "John Smith_5678_assignsubmission_file_" / f"{A}.ipynb", "second")
    subs, notes = collect(tmp_path / "in", [A], tmp_path / "work")
    assert subs == []
    [note] = notes
    assert note.startswith("John_Smith: 2 different hand-ins of 01_loss_functions")
    assert "John Smith_1234_" in note and "John Smith_5678_" in note and "none graded" in note


def test_a_folder_and_a_zip_of_one_student_or_two_versions_are_reported(tmp_path):
    put(tmp_path / "in" / "alice" / f"{A}.ipynb", "folder")
    with zipfile.ZipFile(tmp_path / "in" / "alice.zip", "w") as zf:
        zf.writestr(f"work/{A}.ipynb", notebook("zip"))
    put(tmp_path / "in" / "bob" / f"{A}.ipynb", "v1")
    put(tmp_path / "in" / "bob" / f"{A}-1.ipynb", "v2")
    put(tmp_path / "in" / "carol" / f"{A}.ipynb", "same")
    (tmp_path / "in" / "carol" / "backup").mkdir()
    shutil.copy(tmp_path / "in" / "carol" / f"{A}.ipynb",  # the same bytes: one hand-in
                tmp_path / "in" / "carol" / "backup" / f"{A}.ipynb")
    subs, notes = collect(tmp_path / "in", [A], tmp_path / "work")
    assert [s.student for s in subs] == ["carol"]
    assert any(n.startswith("alice: 2 different") and "alice.zip/work/" in n for n in notes)
    assert any(n.startswith("bob: 2 different") and "bob/01_loss_functions-1.ipynb" in n
               for n in notes)


def test_timestamps_from_nbgrader_zip_entries_and_files(tmp_path):
    collected = tmp_path / "in" / "alice" / A
    put(collected / f"{A}.ipynb", "alice", mtime=1_000_000_000)
    (collected / "timestamp.txt").write_text("2026-11-30 17:05:09.123456 UTC")
    put(tmp_path / "in" / "bob" / f"{A}.ipynb", "bob", mtime=1_800_000_000)
    with zipfile.ZipFile(tmp_path / "in" / "carol.zip", "w") as zf:
        zf.writestr(zipfile.ZipInfo(f"{A}.ipynb", date_time=(2026, 11, 29, 8, 30, 0)),
                    notebook("carol"))
    subs = by_student(collect(tmp_path / "in", [A], tmp_path / "work")[0])
    alice, bob, carol = subs["alice", A], subs["bob", A], subs["carol", A]
    assert alice.timestamp == datetime(2026, 11, 30, 17, 5, 9, 123456, tzinfo=timezone.utc)
    assert alice.timestamp_source == "timestamp.txt"
    assert bob.timestamp == datetime.fromtimestamp(1_800_000_000, tz=timezone.utc)
    assert bob.timestamp_source == "file modified"
    local = time.mktime((2026, 11, 29, 8, 30, 0, 0, 0, -1))  # zip times are local times
    assert carol.timestamp == datetime.fromtimestamp(local, tz=timezone.utc)
    assert carol.timestamp_source == "zip entry"


def test_nbgrader_files_are_carried_and_put_back(tmp_path):
    collected = tmp_path / "in" / "alice" / A
    put(collected / f"{A}.ipynb", "alice")
    (collected / "timestamp.txt").write_text("2026-11-30 17:05:09.000000 UTC")
    (collected / "submission_secret.txt").write_text("s3cr3t")
    [sub], _ = collect(tmp_path / "in", [A], tmp_path / "work")
    assert sub.submission_secret == "s3cr3t"
    target = tmp_path / "submitted" / "alice" / A
    write_nbgrader_files(sub, target)
    assert (target / "submission_secret.txt").read_text() == "s3cr3t"
    assert read_timestamp(target) == sub.timestamp


def test_write_timestamp_is_read_back_by_nbgrader(tmp_path):
    from nbgrader.coursedir import CourseDirectory

    put(tmp_path / "in" / "bob" / f"{A}.ipynb", "bob", mtime=1_800_000_000.25)
    [sub], _ = collect(tmp_path / "in", [A], tmp_path / "work")
    target = tmp_path / "submitted" / "bob" / A
    assert write_timestamp(sub, target) == target / "timestamp.txt"
    seen = CourseDirectory().get_existing_timestamp(str(target))  # naive UTC
    assert seen == sub.timestamp.replace(tzinfo=None)
    assert read_timestamp(target) == sub.timestamp
    sub.timestamp = None
    assert write_timestamp(sub, target) is None and not (target / "timestamp.txt").exists()


def test_unsafe_or_broken_zips_are_noted(tmp_path):
    (tmp_path / "in").mkdir()
    with zipfile.ZipFile(tmp_path / "in" / "mallory.zip", "w") as zf:
        zf.writestr(f"../../{A}.ipynb", notebook("escape"))
    (tmp_path / "in" / "trent.zip").write_text("not a zip")
    subs, notes = collect(tmp_path / "in", [A], tmp_path / "work")
    assert subs == []
    assert any("mallory.zip: not a readable zip (unsafe path" in n for n in notes)
    assert any(n.startswith("trent.zip: not a readable zip") for n in notes)
    assert not (tmp_path / f"{A}.ipynb").exists()


def test_missing_folder_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        collect(tmp_path / "nowhere", [A], tmp_path / "work")
