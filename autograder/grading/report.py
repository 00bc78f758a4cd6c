"""The class report and per-exercise CSVs written after grading.

- ``exports/exercises.csv``: one row per student and exercise: score, maximum, passed, reason.
- ``exports/<assignment>.csv``: one row per student: each exercise's score and the total.
- ``report.md`` with ``histogram-<assignment>.png``: score distribution (one bin per score
  step, integer ticks), hardest exercises, most frequent named mistakes, every submission that
  needed attention and why, and, from the gradebook when there is one: late penalties per
  student and the students on the roster who handed nothing in.
"""

from __future__ import annotations

import csv
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator, MultipleLocator  # noqa: E402

from .lms import Student, roster_from_gradebook  # noqa: E402

MISTAKE = re.compile(r"Likely mistake: (.+)")


def mistake_of(reason: str) -> str:
    """The named mistake in a checker message, else its first line (without case numbers)."""
    found = MISTAKE.search(reason)
    if found:
        return found.group(1).strip()
    lines = [ln.strip() for ln in reason.splitlines() if ln.strip()]
    return lines[1] if len(lines) > 1 else (lines[0] if lines else "")


def totals(result, assignment: str) -> dict[str, float]:
    scores: dict[str, float] = defaultdict(float)
    for g in result.grades:
        if g.assignment == assignment:
            scores[g.student] += g.score
    return dict(sorted(scores.items()))


def gradebook_url(folder: Path) -> str | None:
    """The gradebook of a grading folder, if it has one."""
    path = Path(folder) / "gradebook.db"
    return f"sqlite:///{path.resolve()}" if path.is_file() else None


def write(folder: Path, result, gradebook: str | None = None) -> None:
    """CSVs, histograms and report.md into ``folder``; late penalties and students who handed
    nothing in come from ``gradebook`` (default: ``folder/gradebook.db`` if it exists)."""
    gradebook = gradebook or gradebook_url(folder)
    exports = folder / "exports"
    exports.mkdir(parents=True, exist_ok=True)
    grades = sorted(result.grades, key=lambda g: (g.assignment, g.student, g.exercise))
    with open(exports / "exercises.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "assignment", "exercise", "score", "max_score", "passed",
                         "reason"])
        for g in grades:
            writer.writerow([g.student, g.assignment, g.exercise, f"{g.score:g}",
                             f"{g.max_score:g}", g.passed, mistake_of(g.reason)])
    assignments = sorted({g.assignment for g in grades})
    for assignment in assignments:
        penalties = ({r.student: r.penalty for r in late_penalties(gradebook, assignment)}
                     if gradebook else {})
        write_assignment_csv(exports / f"{assignment}.csv", result, assignment, penalties)
        rows = [g for g in grades if g.assignment == assignment]
        histogram(assignment, list(totals(result, assignment).values()),
                  max_score=max_total(result, assignment),
                  steps=[g.max_score for g in rows]).savefig(
            folder / f"histogram-{assignment}.png")
    extra = {}
    if gradebook:
        for assignment in _assignments(result):
            extra[assignment] = (late_markdown(late_penalties(gradebook, assignment))
                                 + missing_markdown(missing_students(gradebook, assignment,
                                                                     result)))
    (folder / "report.md").write_text(markdown(result, extra))


def write_assignment_csv(path: Path, result, assignment: str,
                         penalties: dict[str, float]) -> None:
    """One row per student: each exercise's points, their ``total``, the ``late_penalty``
    nbgrader deducted (``penalties``, by student) and the ``score`` after it, ``max``."""
    rows = [g for g in result.grades if g.assignment == assignment]
    exercises = list(dict.fromkeys(g.exercise for g in sorted(rows, key=lambda g: g.exercise)))
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student", *exercises, "total", "late_penalty", "score", "max"])
        for student, total in totals(result, assignment).items():
            mine = {g.exercise: g for g in rows if g.student == student}
            penalty = penalties.get(student, 0.0)
            writer.writerow([student,
                             *[f"{mine[e].score:g}" if e in mine else "0" for e in exercises],
                             f"{total:g}", f"{penalty:g}", f"{max(0.0, total - penalty):g}",
                             f"{sum(g.max_score for g in mine.values()):g}"])


def max_total(result, assignment: str) -> float:
    """The most points a student can earn in ``assignment`` (the sum of its exercises)."""
    most: dict[str, float] = {}
    for g in result.grades:
        if g.assignment == assignment:
            most[g.exercise] = max(most.get(g.exercise, 0.0), g.max_score)
    return sum(most.values())


def score_step(values: list[float]) -> float:
    """The largest step every value is a multiple of (5 for 0, 25, 35, 40, 60 ...); 1 if
    there is none coarser than a hundredth."""
    fractions = [Fraction(v).limit_denominator(100) for v in values if v]
    if not fractions:
        return 1.0
    numerator = math.gcd(*(f.numerator for f in fractions))
    denominator = math.lcm(*(f.denominator for f in fractions))
    step = numerator / denominator
    return step if step >= 0.01 else 1.0


def histogram(assignment: str, scores: list[float], max_score: float = 100.0,
              steps: list[float] = ()) -> Figure:
    """Students per total score: one bar per score step (the step every exercise's points and
    every score are multiples of), integer ticks on both axes."""
    step = score_step([*steps, *scores, max_score])
    if max_score / step > 100:  # partial credit in small fractions: bins of whole points
        step = float(max(1, math.ceil(max_score / 50)))
    count = int(round(max_score / step)) + 1
    edges = [(i - 0.5) * step for i in range(count + 1)]
    fig = Figure(figsize=(6, 3.2), dpi=100)
    ax = fig.add_subplot()
    ax.hist(scores, bins=edges, color="#4C72B0", edgecolor="white")
    tick = next((step * k for k in (1, 2, 4, 5, 10, 20, 25, 50, 100, 200, 500, 1000)
                 if float(step * k).is_integer() and max_score / (step * k) <= 12), None)
    ax.xaxis.set_major_locator(MultipleLocator(tick) if tick else MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(edges[0], edges[-1])
    ax.set_xlabel(f"score (of {max_score:g})")
    ax.set_ylabel("students")
    mean = sum(scores) / max(len(scores), 1)
    ax.set_title(f"{assignment}: {len(scores)} students, mean {mean:.1f}")
    fig.tight_layout()
    return fig


@dataclass
class LatePenalty:
    student: str
    handed_in: datetime | None  # UTC
    due: datetime | None        # UTC, with the student's extension
    seconds_late: float
    raw_score: float
    penalty: float

    @property
    def score(self) -> float:
        return max(0.0, self.raw_score - self.penalty)


def late_penalties(gradebook: str, assignment: str) -> list[LatePenalty]:
    """Every submission of ``assignment`` handed in after its due date, from the gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    rows = []
    with Gradebook(gradebook) as gb:
        try:
            subs = gb.assignment_submissions(assignment)
        except MissingEntry:
            return []
        for sub in subs:
            if sub.total_seconds_late > 0:
                rows.append(LatePenalty(sub.student.id, sub.timestamp, sub.duedate,
                                        sub.total_seconds_late, float(sub.score or 0),
                                        float(sub.late_submission_penalty or 0)))
    return sorted(rows, key=lambda r: r.student)


def _duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    return " ".join(f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "min"))
                    if n) or f"{seconds:.0f}s"


def late_markdown(rows: list[LatePenalty]) -> list[str]:
    """The report's late-penalty section (lines of markdown)."""
    lines = ["### Late submissions", ""]
    if not rows:
        return lines + ["- none (without a due date nbgrader counts nothing as late)", ""]
    lines += ["| student | handed in (UTC) | due (UTC) | late by | raw score | penalty | score |",
              "|---|---|---|---:|---:|---:|---:|"]
    for r in rows:
        when = f"{r.handed_in:%Y-%m-%d %H:%M}" if r.handed_in else "?"
        due = f"{r.due:%Y-%m-%d %H:%M}" if r.due else "?"
        lines.append(f"| {r.student} | {when} | {due} | {_duration(r.seconds_late)} | "
                     f"{r.raw_score:g} | {r.penalty:g} | {r.score:g} |")
    return lines + [""]


def missing_students(gradebook: str, assignment: str, result) -> list[Student]:
    """Students on the gradebook's roster with nothing handed in for ``assignment``: not graded
    in ``result``, not noted there, and without a submission in the gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    present = {g.student for g in result.grades if g.assignment == assignment}
    present |= {n.student for n in result.notes if n.assignment == assignment}
    with Gradebook(gradebook) as gb:
        try:
            present |= {s.student.id for s in gb.assignment_submissions(assignment)}
        except MissingEntry:
            pass
    return [s for s in roster_from_gradebook(gradebook) if s.id not in present]


def missing_markdown(students: list[Student]) -> list[str]:
    """The report's section on students of the roster who handed nothing in."""
    lines = ["### On the roster, nothing handed in", ""]
    lines += [f"- {s.id}" + (f" ({s.display})" if s.display != s.id else "")
              for s in sorted(students, key=lambda s: s.id)] or ["- none"]
    return lines + [""]


def _assignments(result) -> list[str]:
    """Every assignment with a grade or a note."""
    return sorted({g.assignment for g in result.grades}
                  | {n.assignment for n in result.notes if n.notes})


def markdown(result, extra: dict[str, list[str]] | None = None) -> str:
    """report.md: per assignment the scores, hardest exercises, frequent mistakes, every note
    on a submission, and ``extra`` lines (late penalties, missing students); then what was
    skipped."""
    extra = extra or {}
    lines = ["# Grading report", ""]
    for assignment in _assignments(result):
        rows = [g for g in result.grades if g.assignment == assignment]
        scores = totals(result, assignment)
        lines += [f"## {assignment}", ""]
        if rows:
            lines += [f"![scores](histogram-{assignment}.png)", ""]
        lines += ["| student | score | exercises passed |", "|---|---:|---:|"]
        for student, total in scores.items():
            mine = [g for g in rows if g.student == student]
            lines.append(f"| {student} | {total:g} | {sum(g.passed for g in mine)}/{len(mine)} |")
        lines += ["", "### Hardest exercises", "", "| exercise | mean score | passed |",
                  "|---|---:|---:|"]
        by_exercise = defaultdict(list)
        for g in rows:
            by_exercise[g.exercise].append(g)
        ranked = sorted(by_exercise.items(),
                        key=lambda kv: sum(g.score / (g.max_score or 1) for g in kv[1])
                        / len(kv[1]))
        for exercise, gs in ranked:
            mean = sum(g.score for g in gs) / len(gs)
            lines.append(f"| {exercise} | {mean:.1f}/{gs[0].max_score:g} | "
                         f"{sum(g.passed for g in gs)}/{len(gs)} |")
        mistakes = Counter((g.exercise, mistake_of(g.reason)) for g in rows
                           if not g.passed and g.reason)
        lines += ["", "### Most frequent mistakes", ""]
        lines += [f"- {count}x {exercise}: {text}" for (exercise, text), count in
                  mistakes.most_common(10)] or ["- none"]
        attention = [n for n in result.notes if n.assignment == assignment and n.notes]
        lines += ["", "### Submissions that needed attention", ""]
        for n in attention:  # every note, each on its own line
            lines.append(f"- {n.student}: {n.notes[0]}" if len(n.notes) == 1
                         else f"- {n.student}:")
            if len(n.notes) > 1:
                lines += [f"  - {note}" for note in n.notes]
        if not attention:
            lines.append("- none")
        lines.append("")
        lines += extra.get(assignment, [])
    if result.skipped:
        lines += ["## Skipped", ""] + [f"- {s}" for s in result.skipped] + [""]
    return "\n".join(lines)


def summary(result) -> str:
    """A short terminal summary: totals per assignment and student, and flagged submissions."""
    out = []
    for assignment in _assignments(result):
        out.append(assignment)
        scores = totals(result, assignment)
        noted = {n.student for n in result.notes if n.assignment == assignment and n.notes}
        for student in sorted(set(scores) | noted):
            flags = [note for n in result.notes
                     if n.student == student and n.assignment == assignment for note in n.notes]
            flagged = f"   ! {'; '.join(flags)}" if flags else ""
            total = f"{scores[student]:6g}" if student in scores else "     -"
            out.append(f"  {student:<24} {total}{flagged}")
    out += [f"skipped: {s}" for s in result.skipped]
    return "\n".join(out)
