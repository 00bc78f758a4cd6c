"""Jupyter kernels for students' code: started in the sandbox, reached over unix sockets.

``SandboxKernelManager`` (and its asynchronous twin, which nbgrader's execution uses) start a
python3 kernel through ``bubblewrap.command``: IPC transport in a short private run folder, an
interrupt sent as a message (the sandbox's PID namespace hides the kernel from signals sent by
PID), all its processes together in a cgroup of their own (``cgroups``) or, where there is
none, watched (``watchdog``), and the folder, the cgroup and every process removed when the
kernel goes (and, for a grader that was killed, by the next one: ``remove_stale_rundirs``).
``Kernel`` wraps one for the verifier and the self-check: execute a cell under a deadline, and
``channel()`` for the proxies (while a channel is open, the kernel's IOPub messages are read
and dropped: ``drain``).
"""

from __future__ import annotations

import os
import queue
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import zmq
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager, KernelManager
from traitlets import Any, Bool, Unicode
from traitlets.config import LoggingConfigurable

from . import bubblewrap, cgroups
from .proxy import Channel
from .watchdog import Watchdog

COPY_LIMIT = 50 * 2**20
"""Bytes of the student's own folder copied into the kernel's scratch folder at most."""

SERVE = "from autograder.sandbox.kernel_side import serve as _nncourse_serve\n" \
        "_nncourse_serve({path!r})\ndel _nncourse_serve"


def _copy_files(source: str, target: Path) -> None:
    """The student's own files (their folder, no deeper than 3 levels), up to COPY_LIMIT."""
    if not source or not os.path.isdir(source):
        return
    total = 0
    for path in sorted(Path(source).rglob("*")):
        rel = path.relative_to(source)
        if len(rel.parts) > 3 or path.is_symlink() or not path.is_file():
            continue
        total += path.stat().st_size
        if total > COPY_LIMIT:
            return
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target / rel)


RUNDIR_PREFIX = "nnsb-"


def remove_stale_rundirs(folder: str = "/tmp") -> list[str]:
    """Remove run folders (``nnsb-<grader tag>-...``) of graders that are gone; the removed.
    Only ours: made by this user (or, as root, chowned to a sandbox user or back to root)."""
    removed = []
    for entry in os.scandir(folder):
        if not entry.name.startswith(RUNDIR_PREFIX) or not entry.is_dir(follow_symlinks=False):
            continue
        rest = entry.name[len(RUNDIR_PREFIX):]
        if len(rest.split("-")) != 3:  # not made by this code (mkdtemp's part has no "-")
            continue
        try:
            mine = os.geteuid() == 0 or entry.stat(follow_symlinks=False).st_uid == os.geteuid()
        except OSError:
            continue
        if mine and cgroups.left_by_dead_grader(rest):
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(entry.path)
    return removed


_STALE_REMOVED = False


def _seed_matplotlib(target: Path) -> None:
    """Matplotlib's font list, so that the kernel does not rebuild it (seconds) on import."""
    try:
        import matplotlib

        cache = Path(matplotlib.get_cachedir())
    except Exception:
        return
    target.mkdir(parents=True, exist_ok=True)
    for path in cache.glob("fontlist-*.json"):
        shutil.copy(path, target / path.name)


class _Sandboxed(LoggingConfigurable):
    """What both kernel managers share: the sandbox around the kernel command."""

    notebook = Unicode("", help="the notebook graded: its exercises' references are withheld")
    files_from = Unicode("", help="the student's folder, copied into the scratch folder")
    sandboxed = Bool(True, help="False: a plain kernel (self-learners without bubblewrap)")
    limits = Any(bubblewrap.Limits(), help="a bubblewrap.Limits: what the kernel may use")

    cgroup: cgroups.KernelCgroup | None = None
    watchdog: Watchdog | None = None

    def _setup_sandbox(self):
        global _STALE_REMOVED
        if self.sandboxed:
            bubblewrap.require()
        if not _STALE_REMOVED:
            _STALE_REMOVED = True
            remove_stale_rundirs()  # (cgroups: KernelCgroup.create)
        self.rundir = tempfile.mkdtemp(prefix=f"{RUNDIR_PREFIX}{cgroups.grader_tag()}-", dir="/tmp")
        self.scratch = os.path.join(self.rundir, "files")  # copied to the kernel's tmpfs
        os.mkdir(self.scratch)
        self.transport = "ipc"
        self.ip = os.path.join(self.rundir, "k")
        self.connection_file = os.path.join(self.rundir, "kernel.json")
        self.uid = bubblewrap.sandbox_uid() if self.sandboxed and bubblewrap.is_root() else None
        self._kernel_spec = KernelSpec(
            argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            display_name="Python 3 (grading sandbox)", language="python",
            interrupt_mode="message", env={})

    async def _async_pre_start_kernel(self, **kw):
        # The kernel's stdout and stderr are nobody's: inherited, they were the grader's own
        # (nbgrader's output, buffered by `autograder grade` and written to nbgrader.log), and
        # ipykernel keeps a descriptor of them that student code can write to.
        kernel_cmd, kw = await super()._async_pre_start_kernel(**kw)
        if self.sandboxed:
            kw["stdout"] = kw["stderr"] = subprocess.DEVNULL
        return kernel_cmd, kw

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        await super()._async_launch_kernel(kernel_cmd, **kw)
        process = getattr(self.provisioner, "process", None)
        if self.sandboxed and self.cgroup is None and process is not None:
            self.watchdog = Watchdog(process.pid, self.limits)

    def stopped_for(self) -> str | None:
        """Why the kernel's limits stopped it (or one of its processes), or None."""
        if self.watchdog is not None and self.watchdog.reason:
            return self.watchdog.reason
        return self.cgroup.death_reason() if self.cgroup is not None else None

    def death_reason(self) -> str:
        """Why the kernel is gone, as the student reads it."""
        return self.stopped_for() or "the kernel died (os._exit, a crash, or out of memory)"

    def format_kernel_cmd(self, extra_arguments=None):
        inner = super().format_kernel_cmd(extra_arguments)
        scratch = Path(self.scratch)
        _copy_files(self.files_from, scratch)
        _seed_matplotlib(scratch / ".matplotlib")
        if not self.sandboxed:
            return inner
        cache = Path(tempfile.gettempdir()) / f"nncourse-grading-lib-{os.getuid()}"
        cache.mkdir(mode=0o755, exist_ok=True)
        packages = bubblewrap.package_copies(self.notebook, cache)
        if self.uid is not None:
            for root, dirs, files in os.walk(self.rundir):
                for name in [*dirs, *files]:
                    os.chown(os.path.join(root, name), self.uid, self.uid)
            os.chown(self.rundir, self.uid, self.uid)
            os.chmod(self.connection_file, 0o644)
        command = bubblewrap.command(inner, rundir=self.rundir, files=self.scratch,
                                     packages=packages, limits=self.limits, uid=self.uid)
        self._release_limits()  # a restart: the old kernel's cgroup goes with it
        self.cgroup = cgroups.KernelCgroup.create(self.limits)
        return self.cgroup.join(command) if self.cgroup else command

    def lock_rundir(self) -> None:
        """Once the kernel has made its sockets: its run folder and the files in it back to
        root, read-only for the kernel, so that it cannot swap a socket (its own, or the
        grader's channel) for a symlink to something of the host's, nor write to the host's
        disk. (As the same user, without root, it could.)"""
        if self.uid is not None:
            for root, dirs, files in os.walk(self.rundir):
                for name in [*dirs, *files]:
                    path = os.path.join(root, name)
                    if not os.path.islink(path):
                        os.chown(path, 0, 0)
            os.chown(self.rundir, 0, 0)
            os.chmod(self.rundir, 0o755)

    def _release_limits(self) -> None:
        if self.watchdog is not None:
            self.watchdog.stop()
        if self.cgroup is not None:
            self.cgroup.remove()
            self.cgroup = None

    def _remove_rundir(self):
        self._release_limits()
        shutil.rmtree(getattr(self, "rundir", ""), ignore_errors=True)


class SandboxKernelManager(_Sandboxed, KernelManager):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._setup_sandbox()

    def cleanup_resources(self, restart: bool = False) -> None:
        super().cleanup_resources(restart)
        if not restart:
            self._remove_rundir()


class AsyncSandboxKernelManager(_Sandboxed, AsyncKernelManager):
    """The kernel manager nbgrader's execution uses (``SandboxedExecute``)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._setup_sandbox()

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart)
        if not restart:
            self._remove_rundir()


def listen(rundir: str) -> tuple[socket.socket, str]:
    """A unix socket for one channel in ``rundir``, that the sandbox user may connect to."""
    path = os.path.join(rundir, f"rpc-{time.monotonic_ns() % 10**9}")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    os.chmod(path, 0o666)
    server.listen(1)
    return server, path


def accept(server: socket.socket, alive, timeout: float = 30.0) -> socket.socket:
    """The kernel's connection, or ConnectionError if it does not come."""
    deadline = time.monotonic() + timeout
    server.settimeout(0.5)
    try:
        while time.monotonic() < deadline:
            try:
                conn, _ = server.accept()
                conn.settimeout(None)
                return conn
            except TimeoutError:
                if not alive():
                    break
        raise ConnectionError("the kernel did not open the grader's channel")
    finally:
        server.close()


class Drain:
    """Reads a kernel's IOPub messages and drops them, frame by frame, while nobody else reads
    them (the grader checking exercises): ZeroMQ would otherwise keep receiving them into the
    grader's memory (its queue bounds messages, not bytes)."""

    def __init__(self, sock):
        self.socket = zmq.Socket.shadow(sock.underlying)
        self.dropped = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="iopub-drain", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        poller = zmq.Poller()
        poller.register(self.socket, zmq.POLLIN)
        while not self._stop.is_set():
            try:
                if not poller.poll(50):
                    continue
                while not self._stop.is_set():
                    self.socket.recv(zmq.NOBLOCK, copy=False)
                    self.dropped += 1
                    while self.socket.get(zmq.RCVMORE):  # a message's frames come together:
                        self.socket.recv(copy=False)  # never stop in the middle of one
                        self.dropped += 1
            except zmq.Again:
                continue
            except zmq.ZMQError:
                return

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def drain(kc, current: Drain | None) -> Drain:
    """A drain of ``kc``'s IOPub (``current`` if it runs already)."""
    return current if current is not None else Drain(kc.iopub_channel.socket)


def stop_drain(current: Drain | None) -> None:
    if current is not None:
        current.stop()


class Kernel:
    """One kernel for one student's notebook: execute cells, then open channels to check."""

    def __init__(self, notebook: str, files_from: str, sandboxed: bool = True,
                 limits: bubblewrap.Limits | None = None):
        self._drain: Drain | None = None
        self.km = SandboxKernelManager(kernel_name="python3", notebook=notebook,
                                       files_from=str(files_from), sandboxed=sandboxed,
                                       limits=limits or bubblewrap.Limits())
        self.km.start_kernel(cwd=str(files_from) if files_from else None)
        self.kc = self.km.client()
        self.kc.start_channels()
        try:
            self.kc.wait_for_ready(timeout=60)
        except RuntimeError:
            self.shutdown()
            raise
        self.km.lock_rundir()

    def alive(self) -> bool:
        return self.km.is_alive()

    def execute(self, code: str, timeout: float, grace: float = 5.0,
                output_limit: int = 2**20) -> tuple[str, str]:
        """Run ``code``; (status, detail) with status ok, error, interrupted, hung or died."""
        stop_drain(self._drain)
        self._drain = None
        msg_id = self.kc.execute(code, store_history=False, allow_stdin=False)
        deadline = time.monotonic() + timeout
        interrupted_at = None
        error, seen = "", 0
        while True:
            try:
                msg = self.kc.get_iopub_msg(timeout=0.2)
            except queue.Empty:
                msg = None
            if msg and msg.get("parent_header", {}).get("msg_id") == msg_id:
                kind, content = msg["msg_type"], msg["content"]
                if kind == "stream":
                    seen += len(content.get("text", ""))  # read and dropped past the limit
                elif kind == "error":
                    error = f"{content.get('ename')}: {content.get('evalue')}"[:output_limit]
                elif kind == "status" and content.get("execution_state") == "idle":
                    if interrupted_at is not None:
                        return "interrupted", error
                    return ("error", error) if error else ("ok", "")
            if msg is None and not self.km.is_alive():
                return "died", self.km.death_reason()
            now = time.monotonic()
            if interrupted_at is None and now > deadline:
                self.km.interrupt_kernel()
                interrupted_at = now
            elif interrupted_at is not None and now > interrupted_at + grace:
                return "hung", f"still running {timeout:g} s after its limit, ignoring interrupts"

    def channel(self) -> Channel:
        server, path = listen(self.km.rundir)
        self.kc.execute(SERVE.format(path=path), store_history=False, allow_stdin=False)
        self._drain = drain(self.kc, self._drain)
        conn = accept(server, self.alive)
        return Channel(conn, interrupt=self.km.interrupt_kernel, alive=self.alive,
                       stopped_for=self.km.stopped_for)

    def shutdown(self) -> None:
        stop_drain(self._drain)
        self._drain = None
        try:
            self.kc.stop_channels()
        except Exception:
            pass
        try:
            self.km.shutdown_kernel(now=True)
        except Exception:
            pass
        self.km.cleanup_resources()
