"""Late penalties for ``nbgrader autograde``: a fraction of the score per hour or day late.

nbgrader takes a submission's lateness from its ``timestamp.txt`` and the assignment's due
date (``nbgrader db assignment add ID --duedate=...``, plus any extension), and asks the
plugin ``AssignLatePenalties.plugin_class`` for each notebook's penalty, which it stores in
the gradebook (``late_submission_penalty``; ``nbgrader export``'s ``score`` is the raw score
less it). ``nbgrader_config.py`` sets the plugin from ``$NNCOURSE_LATE_PENALTY``:

    NNCOURSE_LATE_PENALTY="10%/day"                       10% of the score per started day
    NNCOURSE_LATE_PENALTY="2%/hour, max 50%, grace 15min"  per started hour, at most half,
                                                           the first 15 minutes free
    NNCOURSE_LATE_PENALTY="zero"                          nbgrader's own: late scores 0

Unset: no penalty (nbgrader's default plugin). The same in a config file::

    c.AssignLatePenalties.plugin_class = "autograder.grading.late.PenaltyPerPeriod"
    c.PenaltyPerPeriod.fraction_per_period = 0.1
    c.PenaltyPerPeriod.period = "day"
"""

from __future__ import annotations

import math
import re

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Enum, Float

SECONDS = {"hour": 3600.0, "day": 86400.0}
SPEC = re.compile(r"^\s*(?P<percent>\d+(?:\.\d+)?)\s*%\s*(?:/|per)\s*(?P<period>hour|day)\s*"
                  r"(?:,\s*max\s*(?P<max>\d+(?:\.\d+)?)\s*%\s*)?"
                  r"(?:,\s*grace\s*(?P<grace>\d+(?:\.\d+)?)\s*min\w*\s*)?$", re.I)


class PenaltyPerPeriod(LateSubmissionPlugin):
    """Deduct ``fraction_per_period`` of the notebook's score for every started period late
    (after ``grace_minutes``), at most ``maximum_fraction`` of it."""

    period = Enum(list(SECONDS), default_value="day", help="hour or day").tag(config=True)
    fraction_per_period = Float(0.1, help="Fraction of the score deducted per started period."
                                ).tag(config=True)
    maximum_fraction = Float(1.0, help="Largest fraction of the score deducted.").tag(config=True)
    grace_minutes = Float(0.0, help="Minutes late without penalty.").tag(config=True)

    def periods_late(self, total_seconds_late: float) -> int:
        late = total_seconds_late - 60.0 * self.grace_minutes
        return math.ceil(late / SECONDS[self.period]) if late > 0 else 0

    def late_submission_penalty(self, student_id: str, score: float,
                                total_seconds_late: float) -> float:
        fraction = min(self.maximum_fraction,
                       self.fraction_per_period * self.periods_late(total_seconds_late))
        penalty = float(score or 0.0) * fraction
        self.log.info("%s: %d %s(s) late, penalty %g of %g", student_id,
                      self.periods_late(total_seconds_late), self.period, penalty, score or 0)
        return penalty


def configure(c, spec: str) -> None:
    """Set nbgrader's late-penalty plugin in config ``c`` from a spec like ``"10%/day"``."""
    spec = (spec or "").strip()
    if not spec or spec.lower() == "none":
        return
    if spec.lower() == "zero":
        c.LateSubmissionPlugin.penalty_method = "zero"
        return
    found = SPEC.match(spec)
    if not found:
        raise ValueError(f"NNCOURSE_LATE_PENALTY={spec!r}: expected e.g. '10%/day', "
                         "'2%/hour, max 50%, grace 15min', 'zero' or 'none'")
    c.AssignLatePenalties.plugin_class = f"{__name__}.PenaltyPerPeriod"
    c.PenaltyPerPeriod.period = found["period"].lower()
    c.PenaltyPerPeriod.fraction_per_period = float(found["percent"]) / 100
    if found["max"]:
        c.PenaltyPerPeriod.maximum_fraction = float(found["max"]) / 100
    if found["grace"]:
        c.PenaltyPerPeriod.grace_minutes = float(found["grace"])
