"""The pipeline's grades of one submission as Gradescope's ``results.json``.

Gradescope's format (its "Autograder Specifications"): a top-level ``score``, ``output`` and a
list of ``tests``, each with ``name``, ``score``, ``max_score``, ``output`` and ``visibility``.
Each exercise becomes two tests:

- ``"<exercise>: visible cases"``, ``visible``, worth 0 points: whether the cases the student's
  own notebook checks pass, with the checker's message (what the notebook already told them);
- ``"<exercise>: graded (visible and hidden cases)"``, ``after_published``, worth the
  exercise's points: an exercise earns its points only when its visible *and* hidden cases pass,
  as in local grading (an nbgrader test cell scores all or nothing), so the points and the
  hidden cases' verdict are shown once the instructor publishes the grades. Gradescope shows
  students no total while such tests are unpublished.

A failure the checker marks ``[hidden test]`` is a hidden case's; any other failure (a visible
case, a timeout, a broken kernel) shows in the visible test, and the graded test repeats it.
"""

from __future__ import annotations

from ..grading.pipeline import ExerciseGrade

HIDDEN_MARK = "[hidden test]"
VISIBLE, AFTER_PUBLISHED = "visible", "after_published"


def _test(name: str, score: float, max_score: float, passed: bool, output: str,
          visibility: str) -> dict:
    return {"name": name, "score": score, "max_score": max_score,
            "status": "passed" if passed else "failed", "output": output,
            "visibility": visibility}


def failed_in_hidden_cases(reason: str) -> bool:
    """The checker's message names a hidden case (its first line ends in [hidden test])."""
    return bool(reason) and HIDDEN_MARK in reason.splitlines()[0]


def exercise_tests(grade: ExerciseGrade, passed_lines: list[str]) -> list[dict]:
    """The visible and the graded test of one exercise.

    passed_lines: the checker's "✓ ..." lines for this exercise (from the graded notebook)."""
    name = grade.exercise
    if grade.passed:
        visible = [ln for ln in passed_lines if "visible case" in ln]
        hidden = [ln for ln in passed_lines if ln not in visible]
        visible_out = "\n".join(visible) or f"✓ {name}: the visible cases passed"
        graded_out = "\n".join(hidden) or f"✓ {name}: the hidden cases passed"
        visible_ok = True
    elif failed_in_hidden_cases(grade.reason):
        visible_out = f"✓ {name}: the visible cases passed"
        graded_out, visible_ok = grade.reason, True
    else:
        reason = grade.reason or "not graded"
        visible_out, visible_ok = reason, False
        graded_out = f"{reason}\n(The hidden cases count once the visible ones pass.)"
    return [
        _test(f"{name}: visible cases", 0.0, 0.0, visible_ok, visible_out, VISIBLE),
        _test(f"{name}: graded (visible and hidden cases)", float(grade.score),
              float(grade.max_score), grade.passed, graded_out, AFTER_PUBLISHED),
    ]


def passed_lines_of(text: str, exercise: str) -> list[str]:
    """The lines of a test cell's output that report ``exercise`` passing."""
    return [ln for ln in text.splitlines()
            if ln.startswith(f"✓ {exercise}:") or ln.startswith(f"✓ {exercise} ")]


def results_json(assignment: str, grades: list[ExerciseGrade], notes: list[str],
                 passed_text: str = "") -> dict:
    """Gradescope's results for one submission of ``assignment``.

    grades: the pipeline's grades of its exercises; notes: what grading noticed (cells not
    run, edited test cells, ...), shown to the student; passed_text: the graded notebook's
    test cell outputs, for the checker's "✓" lines."""
    tests = []
    for grade in grades:
        tests += exercise_tests(grade, passed_lines_of(passed_text, grade.exercise))
    total = sum(g.max_score for g in grades)
    lines = [f"{assignment}: {len(grades)} exercises, {total:g} points. Each exercise's points "
             "and its hidden cases are shown when your instructor publishes the grades."]
    if notes:
        lines += ["", "Noticed while grading:"] + [f"- {n}" for n in notes]
    return {"score": float(sum(g.score for g in grades)), "output": "\n".join(lines),
            "stdout_visibility": "hidden", "tests": tests}


def not_graded(assignment: str, message: str, exercises: list[tuple[str, float]]) -> dict:
    """Score 0, with ``message``, when there is nothing to grade (no notebook, a wrong name,
    the grader could not start): every exercise's tests say so."""
    grades = [ExerciseGrade("", assignment, name, 0.0, points, False, message)
              for name, points in exercises]
    result = results_json(assignment, grades, [])
    result["output"] = f"{assignment}: not graded: {message}"
    return result
