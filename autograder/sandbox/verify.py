"""Verdicts computed in this process, on a student's code that runs in a kernel elsewhere.

``verify`` runs each exercise's visible and hidden checks (``autograder.check``, unchanged) on a
proxy of the student's function or class. Exercises are independent: a candidate that hangs,
ignores interrupts, closes its channel or kills its kernel fails that exercise, with the
reason, and the next exercise is checked in a fresh kernel (``fresh()``).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from dataclasses import dataclass

from .. import core
from .proxy import Channel, ChannelBroken, RemoteFunction, remote_class

EXERCISE_BUDGET = 300.0
"""Seconds all the checks of one exercise may take together."""


@dataclass
class Verdict:
    exercise: str
    passed: bool
    message: str  # the checker's words: "✓ ..." when passed, what is wrong when not


def candidate_for(channel: Channel, name: str, expr: str, binds: dict | None = None):
    spec = core.REGISTRY.get(name)
    if spec is not None and spec.kind == "class":
        return remote_class(channel, expr)
    return RemoteFunction(channel, expr, binds)


def check_one(channel: Channel, name: str, expr: str, hidden: bool,
              binds: dict | None = None) -> Verdict:
    """Visible then (``hidden``) hidden checks of one exercise; ChannelBroken escapes.

    binds: building blocks served from the grader while the candidate runs."""
    printed = io.StringIO()
    candidate = candidate_for(channel, name, expr, binds)
    try:
        with core.remote_candidates(), core.time_limit(EXERCISE_BUDGET), \
                contextlib.redirect_stdout(printed):
            core.check(name, candidate)
            if hidden:
                core.check(name, candidate, hidden=True)
    except AssertionError as failure:
        return Verdict(name, False, str(failure))
    except core.CandidateTimeout:
        return Verdict(name, False, f"{name}: checking took longer than {EXERCISE_BUDGET:g} s")
    lines = [ln for ln in printed.getvalue().splitlines() if ln.strip()]
    return Verdict(name, True, "\n".join(lines) or f"✓ {name}: passed")


def verify(exercises: list[tuple[str, str]], open_channel: Callable[[], Channel],
           fresh: Callable[[], Callable[[], Channel]] | None = None,
           hidden: bool = True) -> dict[str, Verdict]:
    """{exercise: Verdict} for (exercise, candidate expression) pairs.

    open_channel() connects to the kernel that ran the student's notebook; fresh() starts
    another such kernel and returns its open_channel, for after a kernel broke.
    """
    verdicts: dict[str, Verdict] = {}
    channel: Channel | None = None
    expressions = dict(exercises)
    core.LAST_CHECKED.clear()
    retries = [(name, expr, None) for name, expr in exercises]
    for name, expr, binds in _with_composites(retries, verdicts):
        try:
            if channel is None:
                channel = open_channel()
            for other in getattr(core.REGISTRY.get(name), "uses", ()):
                if other in expressions:  # the student's own, in the kernel checked now
                    core.LAST_CHECKED[other] = candidate_for(channel, other, expressions[other])
            verdict = check_one(channel, name, expr, hidden, binds)
            if binds is None:
                verdicts[name] = verdict
            elif verdict.passed:
                faulty = ", ".join(binds)
                verdicts[name] = Verdict(name, True, (
                    f"✓ {name}: right on its own logic: with nnlib's {faulty} in place of "
                    f"yours it passes every case. Your own {faulty} failed its own check, "
                    "which lost those points; this exercise keeps its own."))
            channel.request({"op": "release"})
        except (ChannelBroken, ConnectionError) as broken:
            reason = getattr(broken, "reason", str(broken))
            verdicts.setdefault(name, Verdict(name, False, f"{name}: {reason}"))
            if channel is not None:
                channel.close()
            channel = None
            if fresh is None:
                open_channel = _unavailable(reason)
            else:
                open_channel = _fresh_kernel(fresh)
    if channel is not None:
        channel.close()
    return verdicts


def _with_composites(first: list, verdicts: dict):
    """The exercises, then each composite one that failed again, with nnlib serving the
    building blocks that failed their own checks (no double penalty)."""
    import nnlib

    yield from first
    for name, expr, _ in first:
        spec = core.REGISTRY.get(name)
        verdict = verdicts.get(name)
        if spec is None or not spec.blocks or verdict is None or verdict.passed:
            continue
        faulty = [b for b in spec.blocks if b in verdicts and not verdicts[b].passed]
        if faulty:
            yield name, expr, {b: getattr(nnlib, b) for b in faulty}


def _unavailable(reason: str):
    def open_channel():
        raise ConnectionError(f"not checked: an earlier exercise broke the kernel ({reason})")

    return open_channel


def _fresh_kernel(fresh):
    """open_channel for a fresh kernel, started the first time it is needed."""
    def open_channel():
        try:
            return fresh()()
        except (ChannelBroken, ConnectionError, RuntimeError) as exc:
            raise ConnectionError(f"a fresh kernel could not be started ({exc})") from None

    return open_channel
