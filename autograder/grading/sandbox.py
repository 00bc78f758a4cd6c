"""Run one submission cell by cell in a kernel we control, then verify every exercise.

Normally nbgrader itself runs the grader's two cells (``bootstrap_source`` first,
``verify_source`` last) inside its own execution of the submission; this sandbox is for the
submissions nbgrader could not finish.

nbgrader drops a student whose notebook kills the kernel or loops while ignoring interrupts.
``run_submission`` executes the same cells with the same per-cell limit but a hard stop: a cell
that does not stop when interrupted, or that kills the kernel, is named and replaced by a
failing stub, and the notebook runs again from the start, so every other exercise is graded.

After the cells, each exercise is verified with the checker as it was *before* the student's
code ran (a guard made at kernel start, under a name the student cannot know): patched
``check``, ``np.allclose``, ``AssertionError`` or checker modules are restored first, so a
submission that tampers with grading earns nothing it did not solve.
"""

from __future__ import annotations

import json
import queue
import secrets
import time
from dataclasses import dataclass, field

from jupyter_client.manager import start_new_kernel

BOOTSTRAP = """\
def _nncourse_bootstrap():
    import json
    import autograder.core as core
    import autograder.integrity as integrity
    from autograder.integrity import Guard
    guard = Guard()
    real_check = core.check
    shell = get_ipython()

    def verify(exercises):
        results = {{"__tampered__": guard.restore()}}
        for name, expression in exercises:
            guard.restore()
            integrity.GUARD = guard
            try:
                candidate = eval(expression, shell.user_ns)
            except BaseException as exc:
                results[name] = [False, f"`{{expression}}` is not defined ({{type(exc).__name__}})"]
                continue
            try:
                real_check(name, candidate)
                real_check(name, candidate, hidden=True)
                results[name] = [True, ""]
            except BaseException as exc:
                results[name] = [False, str(exc)]
        guard.restore()
        print({token!r} + json.dumps(results))

    return verify

_nncourse_{token} = _nncourse_bootstrap()
del _nncourse_bootstrap
"""


def bootstrap_source(token: str) -> str:
    """Code that makes the untampered verifier ``_nncourse_<token>``; run before student code."""
    return BOOTSTRAP.format(token=token)


def verify_source(token: str, exercises: list[tuple[str, str]]) -> str:
    """Code that verifies ``exercises`` and prints ``<token>{json verdicts}``."""
    return f"_nncourse_{token}({json.dumps(exercises)})"


def parse_verdicts(text: str, token: str) -> tuple[dict, list[str]] | None:
    """(verdicts, tampered names) from the verifier's printed line, or None if it is missing."""
    line = next((ln for ln in text.splitlines() if ln.startswith(token)), None)
    if line is None:
        return None
    verdicts = json.loads(line[len(token):])
    tampered = verdicts.pop("__tampered__", [])
    return {name: (bool(ok), msg) for name, (ok, msg) in verdicts.items()}, tampered


def new_token() -> str:
    return "NNCOURSE" + secrets.token_hex(8)


@dataclass
class CellOutcome:
    """What happened to one code cell: "ok", "error", "interrupted", "hung" or "died"."""

    index: int
    status: str
    detail: str = ""


@dataclass
class SandboxResult:
    outcomes: list[CellOutcome] = field(default_factory=list)
    verdicts: dict[str, tuple[bool, str]] = field(default_factory=dict)
    tampered: list[str] = field(default_factory=list)  # protected names the code replaced
    error: str = ""


class _Kernel:
    """A python3 kernel with execute-and-wait under a deadline."""

    def __init__(self, cwd: str, env: dict):
        self.km, self.kc = start_new_kernel(kernel_name="python3", cwd=cwd, env=env)

    def execute(self, code: str, timeout: float, grace: float = 5.0,
                collect_stdout: bool = False) -> tuple[str, str]:
        """Run ``code``; (status, detail). status: ok, error, interrupted, hung, died."""
        msg_id = self.kc.execute(code, store_history=False, allow_stdin=False)
        deadline = time.monotonic() + timeout
        interrupted_at = None
        stdout, error = [], ""
        while True:
            try:
                msg = self.kc.get_iopub_msg(timeout=0.2)
            except queue.Empty:
                msg = None
            if msg and msg.get("parent_header", {}).get("msg_id") == msg_id:
                kind, content = msg["msg_type"], msg["content"]
                if kind == "stream" and collect_stdout and content.get("name") == "stdout":
                    stdout.append(content.get("text", ""))
                elif kind == "error":
                    error = f"{content.get('ename')}: {content.get('evalue')}"
                elif kind == "status" and content.get("execution_state") == "idle":
                    if interrupted_at is not None:
                        return "interrupted", error
                    return ("error", error) if error else ("ok", "".join(stdout))
            if msg is None and not self.km.is_alive():
                return "died", "the kernel died (os._exit, a crash, or out of memory)"
            now = time.monotonic()
            if interrupted_at is None and now > deadline:
                self.km.interrupt_kernel()
                interrupted_at = now
            elif interrupted_at is not None and now > interrupted_at + grace:
                return "hung", f"still running {timeout:g} s after its limit, ignoring interrupts"

    def shutdown(self):
        try:
            self.kc.stop_channels()
            self.km.shutdown_kernel(now=True)
        except Exception:
            pass


def run_submission(cells: list[str], exercises: list[tuple[str, str]], cwd: str, env: dict,
                   timeout: float) -> SandboxResult:
    """Execute ``cells`` (code sources, in order) once, then verify ``exercises``.

    exercises: (exercise name, candidate expression). Stops at the first cell that hangs or kills
    the kernel (the caller replaces it and runs again); verdicts are then empty.
    """
    token = new_token()
    result = SandboxResult()
    kernel = _Kernel(cwd, env)
    try:
        status, detail = kernel.execute(bootstrap_source(token), timeout=60)
        if status != "ok":
            result.error = f"could not start the checker in the kernel: {detail}"
            return result
        for index, source in enumerate(cells):
            status, detail = kernel.execute(source, timeout=timeout)
            result.outcomes.append(CellOutcome(index, status, detail))
            if status in ("hung", "died"):
                return result
        budget = 60 + 30 * len(exercises)
        status, detail = kernel.execute(verify_source(token, exercises), timeout=budget,
                                        collect_stdout=True)
        parsed = parse_verdicts(detail, token) if status == "ok" else None
        if parsed is None:
            result.error = f"verification did not finish ({status}: {detail[-300:]})"
            return result
        result.verdicts, result.tampered = parsed
        return result
    finally:
        kernel.shutdown()
