"""The class report: histogram bins and ticks, every note rendered, late penalties and the
students of the roster who handed nothing in (the gradebook parts run in test_lms_nbgrader)."""

from __future__ import annotations

from datetime import datetime

from autograder.grading import report
from autograder.grading.lms import Student
from autograder.grading.pipeline import ClassResult, ExerciseGrade, StudentNotes

A = "01_loss_functions"
POINTS = {"mse_loss": 25, "softmax": 35, "cross_entropy_loss": 40}


def graded(table: dict[str, set[str]]) -> ClassResult:
    result = ClassResult()
    for student, solved in table.items():
        for exercise, points in POINTS.items():
            ok = exercise in solved
            result.grades.append(ExerciseGrade(student, A, exercise, points if ok else 0.0,
                                               points, ok, "" if ok else "wrong"))
    return result


def test_one_bin_per_score_step_and_integer_ticks():
    result = graded({"a": set(POINTS), "b": {"cross_entropy_loss"}, "c": set(),
                     "d": {"softmax", "cross_entropy_loss"}, "e": {"softmax", "mse_loss"},
                     "f": {"softmax", "cross_entropy_loss"}})
    scores = list(report.totals(result, A).values())
    assert sorted(scores) == [0, 40, 60, 75, 75, 100]
    assert report.score_step([*POINTS.values(), *scores]) == 5
    fig = report.histogram(A, scores, max_score=report.max_total(result, A),
                           steps=list(POINTS.values()))
    ax = fig.axes[0]
    bars = ax.patches
    assert len(bars) == 21 and {b.get_width() for b in bars} == {5}
    heights = {round(b.get_x() + b.get_width() / 2): b.get_height() for b in bars}
    assert heights[75] == 2 and heights[100] == 1 and heights[0] == 1 and heights[5] == 0
    assert sum(heights.values()) == len(scores)
    xticks = [t for t in ax.get_xticks() if 0 <= t <= 100]
    assert xticks == [float(x) for x in range(0, 101, 10)]
    assert all(float(t).is_integer() for t in ax.get_yticks())


def test_half_points_give_half_point_bins_but_whole_ticks():
    fig = report.histogram(A, [12.5, 25.0, 7.5], max_score=25, steps=[12.5, 12.5])
    ax = fig.axes[0]
    assert {b.get_width() for b in ax.patches} == {2.5} and len(ax.patches) == 11
    assert all(float(t).is_integer() for t in ax.get_xticks())


def test_every_note_is_in_the_report_and_the_summary():
    result = graded({"alice": set(POINTS), "bob": set()})
    result.notes += [
        StudentNotes("alice", A, []),
        StudentNotes("bob", A, ["softmax: nbgrader's run passed but the untampered check "
                                "failed; set to 0", "replaced np.allclose (restored)"]),
        StudentNotes("carol", A, ["unreadable notebook (NotJSONError: bad)"]),  # no grades
        StudentNotes("dave", "02_backprop", ["kernel died in cell 3; replaced by a stub"]),
    ]
    result.skipped.append("erin: 2 different hand-ins of 01_loss_functions (a, b); none graded")
    text = report.markdown(result)
    for entry in result.notes:
        for note in entry.notes:
            assert note in text, note
    assert "## 02_backprop" in text and "- dave: kernel died" in text
    assert "- carol: unreadable notebook" in text
    assert "erin: 2 different hand-ins" in text.split("## Skipped")[1]
    short = report.summary(result)
    assert "carol" in short and "kernel died" in short and "set to 0" in short


def test_late_and_missing_sections():
    rows = [report.LatePenalty("bob", datetime(2026, 12, 2, 14, 0), datetime(2026, 12, 1, 12, 0),
                               26 * 3600.0, 100.0, 20.0)]
    lines = "\n".join(report.late_markdown(rows))
    assert "| bob | 2026-12-02 14:00 | 2026-12-01 12:00 | 1d 2h | 100 | 20 | 80 |" in lines
    assert "none" in "\n".join(report.late_markdown([]))
    missing = "\n".join(report.missing_markdown([Student("carol", "Carol", "Cruz", "c@u.edu"),
                                                 Student("zed")]))
    assert "- carol (Cruz, Carol <c@u.edu>)" in missing and "- zed\n" in missing + "\n"
    text = report.markdown(graded({"bob": set(POINTS)}),
                           {A: report.late_markdown(rows) + report.missing_markdown([])})
    assert text.index("### Late submissions") > text.index("needed attention")
