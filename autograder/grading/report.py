"""The class report and per-exercise CSVs written after grading.

- ``exports/exercises.csv``: one row per student and exercise: score, maximum, passed, reason.
- ``exports/<assignment>.csv``: one row per student: each exercise's score and the total.
- ``report.md`` with ``histogram-<assignment>.png``: score distribution, hardest exercises,
  most frequent named mistakes, and every submission that needed attention and why.
"""

from __future__ import annotations

import csv
import re
from collections import Counter, defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402

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


def write(folder: Path, result) -> None:
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
        rows = [g for g in grades if g.assignment == assignment]
        exercises = list(dict.fromkeys(g.exercise for g in rows))
        with open(exports / f"{assignment}.csv", "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["student", *exercises, "total", "max"])
            for student, total in totals(result, assignment).items():
                mine = {g.exercise: g for g in rows if g.student == student}
                writer.writerow([student,
                                 *[f"{mine[e].score:g}" if e in mine else "0" for e in exercises],
                                 f"{total:g}", f"{sum(g.max_score for g in mine.values()):g}"])
        _histogram(folder / f"histogram-{assignment}.png", assignment,
                   list(totals(result, assignment).values()))
    (folder / "report.md").write_text(markdown(result))


def _histogram(path: Path, assignment: str, scores: list[float]) -> None:
    fig = Figure(figsize=(6, 3.2), dpi=100)
    ax = fig.add_subplot()
    ax.hist(scores, bins=[0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100.001], color="#4C72B0",
            edgecolor="white")
    ax.set_xlabel("score (of 100)")
    ax.set_ylabel("students")
    mean = sum(scores) / max(len(scores), 1)
    ax.set_title(f"{assignment}: {len(scores)} students, mean {mean:.1f}")
    fig.tight_layout()
    fig.savefig(path)


def markdown(result) -> str:
    lines = ["# Grading report", ""]
    for assignment in sorted({g.assignment for g in result.grades}):
        rows = [g for g in result.grades if g.assignment == assignment]
        scores = totals(result, assignment)
        lines += [f"## {assignment}", "", f"![scores](histogram-{assignment}.png)", "",
                  "| student | score | exercises passed |", "|---|---:|---:|"]
        for student, total in scores.items():
            mine = [g for g in rows if g.student == student]
            lines.append(f"| {student} | {total:g} | {sum(g.passed for g in mine)}/{len(mine)} |")
        lines += ["", "### Hardest exercises", "", "| exercise | mean score | passed |",
                  "|---|---:|---:|"]
        by_exercise = defaultdict(list)
        for g in rows:
            by_exercise[g.exercise].append(g)
        ranked = sorted(by_exercise.items(),
                        key=lambda kv: sum(g.score / g.max_score for g in kv[1]) / len(kv[1]))
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
        lines += [f"- {n.student}: " + "; ".join(n.notes) for n in attention] or ["- none"]
        lines.append("")
    if result.skipped:
        lines += ["## Skipped", ""] + [f"- {s}" for s in result.skipped] + [""]
    return "\n".join(lines)


def summary(result) -> str:
    """A short terminal summary: totals per assignment and student, and flagged submissions."""
    out = []
    for assignment in sorted({g.assignment for g in result.grades}):
        out.append(assignment)
        for student, total in totals(result, assignment).items():
            flags = next((n.notes for n in result.notes
                          if n.student == student and n.assignment == assignment), [])
            flagged = f"   ! {'; '.join(flags)}" if flags else ""
            out.append(f"  {student:<24} {total:6g}{flagged}")
    out += [f"skipped: {s}" for s in result.skipped]
    return "\n".join(out)
