"""nbgrader's execution, with the student's code in the sandbox and the verdicts from outside.

``SandboxedExecute`` replaces nbgrader's ``Execute`` in ``Autograde.autograde_preprocessors``
(``nbgrader_config.py``), so ``nbgrader autograde`` itself grades this way:

1. The notebook runs in a sandboxed kernel (``AsyncSandboxKernelManager``), cell by cell,
   except its test cells and the cells no graded function depends on (``needed``: plots and
   demonstrations, most of a notebook's run time). A cell's output is kept up to
   ``output_limit`` bytes, then cut with a note. A cell that kills the kernel or ignores
   interrupts is not run (its output says why), and the notebook runs again from the start
   without it, so the rest is graded.
2. Every exercise is then checked from this process (``verify``), on proxies of the
   student's functions in that kernel: visible and hidden cases, with the term's salt.
3. Each test cell's output becomes its verdict: the checker's "✓" line, or its message as an
   error. nbgrader's own ``SaveAutoGrades`` scores the cells from these outputs, so the
   gradebook, the formgrader, feedback and ``nbgrader export`` all hold the verified verdicts.
   Whatever the kernel printed while hidden cases ran is never kept.
"""

from __future__ import annotations

import json
import time

from jupyter_core.utils import run_sync
from nbclient.client import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Bool, Integer

from ..notebook import graded_cells
from .kernel import SERVE, AsyncSandboxKernelManager, Kernel, accept, drain, listen, stop_drain
from .needed import is_course_cell, needed, without_unused_imports
from .proxy import Channel
from .verify import Verdict, verify

CUT = "\n[output cut here by the grader: a cell keeps at most {limit} bytes of output]\n"


class _Rerun(Exception):
    """The kernel broke in a cell: run the notebook again without it."""


def verdict_outputs(verdicts: list[Verdict]) -> list[NotebookNode]:
    """A test cell's outputs: the ✓ lines, or the first failure as an error."""
    failed = [v for v in verdicts if not v.passed]
    if failed:
        message = failed[0].message
        return [NotebookNode(output_type="error", ename="CheckFailed", evalue=message,
                             traceback=[f"\x1b[0;31mCheckFailed\x1b[0m: {message}"])]
    text = "\n".join(v.message for v in verdicts) + "\n"
    return [NotebookNode(output_type="stream", name="stdout", text=text)]


def not_run_output(reason: str) -> NotebookNode:
    message = f"This cell was not run when grading: {reason}; the rest of the notebook was."
    return NotebookNode(output_type="error", ename="NotRun", evalue=message,
                        traceback=[f"\x1b[0;31mNotRun\x1b[0m: {message}"])


def student_cells(nb, skip: set[int]) -> list[int]:
    """Code cells that run when grading: not test cells, not the ones left out."""
    tests = {c.index for c in graded_cells(nb)}
    return [i for i, c in enumerate(nb.cells)
            if c.cell_type == "code" and i not in tests and i not in skip]


def fresh_kernel(nb, notebook: str, folder: str, skip: set[int], timeout: float,
                 sandboxed: bool = True, sources: dict[int, str] | None = None):
    """A function that starts a new kernel, runs the notebook's student cells in it (the
    source of cell ``i`` replaced by ``sources[i]`` where given), and returns that kernel's
    ``open_channel`` (for checking after an earlier kernel broke)."""
    sources = sources or {}

    def start():
        kernel = Kernel(notebook, folder, sandboxed=sandboxed)
        for index in student_cells(nb, skip):
            source = sources.get(index, nb.cells[index].source)
            status, _ = kernel.execute(source, timeout=timeout)
            if status in ("hung", "died"):
                break
        _KERNELS.append(kernel)
        return kernel.channel

    return start


_KERNELS: list[Kernel] = []


def shutdown_fresh_kernels() -> None:
    while _KERNELS:
        _KERNELS.pop().shutdown()


class SandboxedExecute(Execute):
    """``Execute`` for grading: see the module's docstring."""

    output_limit = Integer(2**20, help="bytes of output kept per cell").tag(config=True)
    hidden = Bool(True, help="check the hidden cases too").tag(config=True)
    max_reruns = Integer(5, help="cells that break the kernel left out at most").tag(config=True)
    notebook_timeout = Integer(1200, help="seconds all of a notebook's cells may take together; "
                               "the cells after are not run").tag(config=True)
    sandboxed = Bool(True, help="False: a plain kernel (the self-check, for self-learners)"
                     ).tag(config=True)
    only_needed = Bool(True, help="run only the cells the graded functions depend on"
                       ).tag(config=True)

    verdicts: dict[str, Verdict]
    """After ``preprocess``: each exercise's verdict."""
    left_out: dict[int, str]
    """After ``preprocess``: cells not run (index: why)."""

    def create_kernel_manager(self):
        self.km = AsyncSandboxKernelManager(
            kernel_name="python3", notebook=self._assignment, files_from=self._folder or "",
            sandboxed=self.sandboxed, config=self.config)
        return self.km

    def output(self, outs, msg, display_id, cell_index):
        used = self._output_bytes.get(cell_index, 0)
        if used > self.output_limit:
            return None
        size = len(json.dumps(msg.get("content", {}), default=str))
        self._output_bytes[cell_index] = used + size
        if used + size > self.output_limit:
            outs.append(NotebookNode(output_type="stream", name="stdout",
                                     text=CUT.format(limit=self.output_limit)))
            return None
        return super().output(outs, msg, display_id, cell_index)

    def preprocess(self, nb, resources=None, km=None):
        resources = resources or {}
        self._assignment = resources.get("nbgrader", {}).get("assignment", "")
        self._folder = resources.get("metadata", {}).get("path") or ""
        tests = graded_cells(nb)
        exercises = [(name, expr) for cell in tests for name, expr in cell.exercises]
        code = {i for i, c in enumerate(nb.cells) if c.cell_type == "code"}
        self.not_needed, self.sources = set(), {}
        if self.only_needed:
            kept, wanted = needed(nb, [e for _, e in exercises], {c.index for c in tests})
            self.not_needed = code - kept
            for i in kept:  # the course's import cell without the demonstrations' modules
                if is_course_cell(nb.cells[i]):
                    source = without_unused_imports(nb.cells[i].source, wanted)
                    if source != nb.cells[i].source:
                        self.sources[i] = source
        left_out: dict[int, str] = {}
        verdicts: dict[str, Verdict] = {}
        for _attempt in range(self.max_reruns + 1):
            try:
                verdicts = self._run_and_verify(nb, resources, set(left_out) | self.not_needed,
                                                exercises)
                break
            except _Rerun as rerun:
                index, reason = rerun.args
                left_out[index] = reason
        else:
            verdicts = {name: Verdict(name, False, f"{name}: not checked: more than "
                                      f"{self.max_reruns} cells broke the kernel")
                        for name, _ in exercises}
        self.verdicts, self.left_out = verdicts, left_out
        for index, reason in left_out.items():
            nb.cells[index].outputs = [not_run_output(reason)]
        for cell in tests:
            mine = [verdicts.get(name) or Verdict(name, False, f"{name}: not checked")
                    for name, _ in cell.exercises]
            nb.cells[cell.index].outputs = verdict_outputs(mine) if mine else []
        return nb, resources

    def _run_and_verify(self, nb, resources, left_out: set[int], exercises):
        NotebookClient.__init__(self, nb, None)
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        self._output_bytes: dict[int, int] = {}
        self._drain = None
        try:
            with self.setup_kernel():
                self.km.lock_rundir()
                started = time.monotonic()
                for index in student_cells(self.nb, left_out):
                    if time.monotonic() - started > self.notebook_timeout:
                        self.nb.cells[index].outputs = [not_run_output(
                            f"the notebook had run for {self.notebook_timeout} s")]
                        continue
                    try:
                        self._run_cell(index, resources)
                    except DeadKernelError:
                        raise _Rerun(index, self.km.stopped_for() or "it killed the kernel "
                                     "(os._exit, a crash, or out of memory)") from None
                    except CellTimeoutError:
                        raise _Rerun(index, f"it kept running {self.timeout} s and ignored "
                                            "the interrupt") from None
                fresh = fresh_kernel(self.nb, self._assignment, self._folder, left_out,
                                     timeout=self.timeout or 60, sandboxed=self.sandboxed,
                                     sources=self.sources)
                try:
                    return verify(exercises, self._open_channel, fresh, hidden=self.hidden)
                finally:
                    stop_drain(self._drain)
                    self._drain = None
        finally:
            shutdown_fresh_kernels()

    def _run_cell(self, index: int, resources) -> None:
        """Run cell ``index`` (its ``self.sources`` version if it has one); the notebook
        keeps the cell's own source."""
        cell = self.nb.cells[index]
        original = cell.source
        cell.source = self.sources.get(index, original)
        try:
            self.preprocess_cell(cell, resources, index)
        finally:
            cell.source = original

    def _open_channel(self) -> Channel:
        alive = run_sync(self.km.is_alive)
        server, path = listen(self.km.rundir)
        self.kc.execute(SERVE.format(path=path), store_history=False, allow_stdin=False)
        self._drain = drain(self.kc, getattr(self, "_drain", None))
        conn = accept(server, alive)
        return Channel(conn, interrupt=run_sync(self.km.interrupt_kernel), alive=alive,
                       stopped_for=self.km.stopped_for)
