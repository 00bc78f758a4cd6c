"""One kernel's share of the machine, for all its processes together: a cgroup of its own.

``KernelCgroup.create(limits)`` makes, before the kernel starts, a cgroup for it (cgroup v1:
one in each of the memory, cpu and pids hierarchies, under the grader's own; cgroup v2: one in
the unified hierarchy) with

- memory: ``limits.memory_bytes`` for everything the kernel's processes hold, its tmpfs files
  included (v1 ``memory.limit_in_bytes`` and ``memory.memsw.limit_in_bytes``; v2 ``memory.max``
  and ``memory.swap.max``): past it the kernel's OOM killer stops one of them;
- CPU: ``limits.cpu_cores`` at most (CFS quota: v1 ``cpu.cfs_quota_us``, v2 ``cpu.max``), and an
  equal weight among kernels, whatever number of processes or sessions it starts;
- processes: ``limits.processes`` (``pids.max``).

``join`` wraps the kernel's command in a shell that writes its own pid into the cgroup, then
execs the command: the kernel is in its cgroup before it runs a single instruction of its own
(no race with a pid moved after ``Popen``). ``remove`` kills what is left and removes the
cgroup; ``remove_stale`` removes those of graders that died without removing theirs.

``available()`` is False without root, without the hierarchies, when they are not writable, or
when ``NNCOURSE_NO_CGROUPS=1``: the kernel is then watched instead (``watchdog``).
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import time
from pathlib import Path

from .bubblewrap import Limits

ROOT = Path("/sys/fs/cgroup")
PREFIX = "nncourse-"
V1_CONTROLLERS = ("memory", "cpu", "pids")
CFS_PERIOD_US = 100_000

_counter = itertools.count(1)

JOIN = 'for f; do [ "$f" = -- ] && break; echo $$ > "$f" || exit 126; shift; done; shift; ' \
       'exec "$@"'
"""sh -c: write this shell's pid to each cgroup.procs file before ``--``, then exec the rest."""


def forced_off() -> bool:
    return os.environ.get("NNCOURSE_NO_CGROUPS", "") not in ("", "0")


def _own_path(controller: str) -> str | None:
    """This process's cgroup in ``controller``'s v1 hierarchy ("" for v2), from /proc."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, names, path = line.split(":", 2)
        if controller in names.split(","):
            return path
    return None


def _is_v2() -> bool:
    return (ROOT / "cgroup.controllers").exists()


def _parents() -> dict[str, Path] | None:
    """{controller: the folder kernels' cgroups are made in}, or None if there is none."""
    if os.geteuid() != 0 or forced_off():
        return None
    if _is_v2():
        own = _own_path("")  # the "0::/path" line
        for parent in ([ROOT / own.lstrip("/")] if own else []) + [ROOT / "nncourse"]:
            if _v2_ready(parent):
                return {"": parent}
        return None
    parents = {}
    for controller in V1_CONTROLLERS:
        own = _own_path(controller)
        base = ROOT / controller
        if own is None or not (base / "cgroup.procs").exists():
            return None
        parent = base / own.lstrip("/")
        if not os.access(parent, os.W_OK):
            return None
        parents[controller] = parent
    return parents


def _v2_ready(parent: Path) -> bool:
    """``parent`` hands memory, cpu and pids to children it may make (v2)."""
    try:
        if parent == ROOT / "nncourse" and not parent.exists():
            parent.mkdir()
        enabled = (parent / "cgroup.subtree_control").read_text().split()
        missing = [c for c in ("memory", "cpu", "pids") if c not in enabled]
        if missing:  # allowed only where no process lives (our own cgroup usually has one)
            (parent / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in missing))
        return True
    except OSError:
        return False


def available() -> bool:
    return _parents() is not None


class KernelCgroup:
    """The cgroups (one per v1 hierarchy, or one v2) that hold one kernel's processes."""

    def __init__(self, folders: dict[str, Path], limits: Limits):
        self.folders = folders
        self.limits = limits

    @classmethod
    def create(cls, limits: Limits) -> KernelCgroup | None:
        """A fresh cgroup with ``limits``, or None when cgroups cannot be used here."""
        parents = _parents()
        if parents is None:
            return None
        remove_stale(parents)
        name = f"{PREFIX}{grader_tag()}-{next(_counter)}-{time.monotonic_ns() % 10**6}"
        folders = {c: p / name for c, p in parents.items()}
        group = cls(folders, limits)
        try:
            for folder in folders.values():
                folder.mkdir()
            group._configure()
            # joining can still be refused (a container's delegation rules): try it once
            joined = subprocess.run(group.join(["true"]), stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                    timeout=10).returncode == 0
        except (OSError, subprocess.SubprocessError):
            joined = False
        if not joined:
            group.remove()
            return None
        return group

    def _configure(self) -> None:
        lim = self.limits
        quota = max(1000, int(lim.cpu_cores * CFS_PERIOD_US))
        if "" in self.folders:
            d = self.folders[""]
            _write(d / "memory.max", lim.memory_bytes)
            _write(d / "memory.swap.max", 0, optional=True)
            _write(d / "cpu.max", f"{quota} {CFS_PERIOD_US}")
            _write(d / "pids.max", lim.processes)
            return
        mem, cpu, pids = (self.folders[c] for c in V1_CONTROLLERS)
        _write(mem / "memory.limit_in_bytes", lim.memory_bytes)
        _write(mem / "memory.memsw.limit_in_bytes", lim.memory_bytes, optional=True)
        _write(cpu / "cpu.cfs_period_us", CFS_PERIOD_US)
        _write(cpu / "cpu.cfs_quota_us", quota)
        _write(pids / "pids.max", lim.processes)

    def join(self, command: list[str]) -> list[str]:
        """``command``, started inside this cgroup."""
        procs = [str(f / "cgroup.procs") for f in self.folders.values()]
        return ["/bin/sh", "-c", JOIN, "sh", *procs, "--", *command]

    def oom_kills(self) -> int:
        """How many of the kernel's processes the OOM killer stopped for this cgroup's limit."""
        folder = self.folders.get("memory", self.folders.get(""))
        name = "memory.oom_control" if "memory" in self.folders else "memory.events"
        try:
            for line in (folder / name).read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
        except (OSError, ValueError, TypeError):
            pass
        return 0

    def peak_memory(self) -> int:
        """The most memory the kernel's processes held together (v2: what they hold now,
        where ``memory.peak`` is missing)."""
        if "memory" in self.folders:
            names = [self.folders["memory"] / "memory.max_usage_in_bytes"]
        else:
            names = [self.folders[""] / "memory.peak", self.folders[""] / "memory.current"]
        for name in names:
            try:
                return int(name.read_text())
            except (OSError, ValueError):
                continue
        return 0

    def death_reason(self) -> str | None:
        if self.oom_kills():
            return self.limits.memory_reason()
        return None

    def remove(self) -> None:
        """Kill whatever is still in the cgroup, then remove it."""
        _kill_and_remove(list(self.folders.values()))


def _write(path: Path, value, optional: bool = False) -> None:
    try:
        path.write_text(str(value))
    except FileNotFoundError:
        if not optional:
            raise


def _kill_and_remove(folders: list[Path], wait: float = 5.0) -> None:
    deadline = time.monotonic() + wait
    for folder in folders:
        while folder.exists():
            try:
                pids = [int(p) for p in (folder / "cgroup.procs").read_text().split()]
            except OSError:
                pids = []
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            try:
                folder.rmdir()
            except OSError:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.02)


def _pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid").strip("pid:[]")
    except OSError:
        return "0"


def grader_tag() -> str:
    """``<pid namespace>-<pid>`` of this grader, in the names of what it makes: another
    grader can tell whether it is gone (a pid says nothing across PID namespaces)."""
    return f"{_pid_namespace()}-{os.getpid()}"


def left_by_dead_grader(tag: str) -> bool:
    """``tag`` starts with the ``grader_tag`` of a grader of this PID namespace that is gone."""
    parts = tag.split("-")
    if len(parts) < 2 or parts[0] != _pid_namespace() or not parts[1].isdigit():
        return False
    try:
        os.kill(int(parts[1]), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def remove_stale(parents: dict[str, Path] | None = None) -> list[Path]:
    """Remove kernels' cgroups whose grader is gone (``left_by_dead_grader``); the removed."""
    parents = _parents() if parents is None else parents
    removed = []
    for parent in (parents or {}).values():
        try:
            children = [p for p in parent.iterdir() if p.is_dir() and p.name.startswith(PREFIX)]
        except OSError:
            continue
        for child in children:
            parts = child.name[len(PREFIX):].split("-")
            if len(parts) == 4 and left_by_dead_grader(child.name[len(PREFIX):]):
                _kill_and_remove([child], wait=1.0)
                removed.append(child)
    return removed
