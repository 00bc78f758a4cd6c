"""One kernel's share of the machine where cgroups cannot be used: a watchdog in the grader.

``Watchdog(pid, limits)`` looks, every ``interval`` seconds, at the host's ``/proc``: every
process descended from ``pid`` (the sandbox's bubblewrap; the kernel's PID namespace keeps all
its processes below it, orphans included). It kills them all when, together, they

- hold more than ``limits.memory_bytes`` resident (RSS);
- number more than ``limits.processes``;
- used more than ``limits.cpu_seconds`` of CPU time, or more than ``FALLBACK_CORES`` times
  ``limits.cpu_cores`` cores over the last ``CPU_WINDOW`` seconds (a kernel that takes the
  machine from a classmate's kernel graded at the same time).

It is coarser than a cgroup: what happens between two looks (a fast fork bomb, a burst of
memory) is seen late or not at all, and memory no process has resident (files on the
sandbox's tmpfs, which its ``--size`` bounds instead) is not counted. ``reason`` says why it
killed the kernel.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import deque

from .bubblewrap import Limits

PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")
CPU_WINDOW = 1.0
FALLBACK_CORES = 1.5
"""A kernel is stopped when it used more than this many times its ``cpu_cores`` over the last
CPU_WINDOW seconds: honest kernels (one thread of NumPy) stay at or under one core."""


def _processes() -> dict[int, tuple[int, int, float]]:
    """{pid: (parent pid, resident bytes, CPU seconds incl. reaped children)} of the host."""
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read().decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        # fields[0] is the state (field 3 of proc(5)): field n is fields[n - 3]
        if not fields or fields[0] in ("Z", "X"):  # gone, not reaped yet
            continue
        try:
            ppid, rss = int(fields[1]), int(fields[21]) * PAGE
            cpu = sum(int(fields[i]) for i in (11, 12, 13, 14)) / TICKS
        except (IndexError, ValueError):
            continue
        found[int(name)] = (ppid, rss, cpu)
    return found


def tree_usage(root: int) -> tuple[int, int, float, list[int]]:
    """(processes, resident bytes, CPU seconds, pids) of ``root`` and its descendants."""
    table = _processes()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    pids, todo = [], [root] if root in table else []
    while todo:
        pid = todo.pop()
        pids.append(pid)
        todo.extend(children.get(pid, ()))
    rss = sum(table[p][1] for p in pids)
    cpu = sum(table[p][2] for p in pids)
    return len(pids), rss, cpu, pids


class Watchdog:
    def __init__(self, pid: int, limits: Limits, interval: float = 0.2):
        self.pid = pid
        self.limits = limits
        self.interval = interval
        self.reason: str | None = None
        self._stop = threading.Event()
        self._cpu: deque[tuple[float, float]] = deque()
        self._thread = threading.Thread(target=self._run, name=f"watchdog-{pid}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            count, rss, cpu, pids = tree_usage(self.pid)
            if not pids:
                return
            reason = self._over(count, rss, cpu)
            if reason:
                self.reason = reason
                _kill(self.pid)
                return

    def _over(self, count: int, rss: int, cpu: float) -> str | None:
        lim = self.limits
        if rss > lim.memory_bytes:
            return lim.memory_reason()
        if count > lim.processes:
            return f"the kernel started more than {lim.processes} processes and was stopped"
        if cpu > lim.cpu_seconds:
            return (f"the kernel used more than {lim.cpu_seconds} s of CPU time (all its "
                    "processes together) and was stopped")
        now = time.monotonic()
        self._cpu.append((now, cpu))
        while self._cpu and self._cpu[0][0] < now - CPU_WINDOW:
            self._cpu.popleft()
        first_time, first_cpu = self._cpu[0]
        cores = FALLBACK_CORES * lim.cpu_cores
        if now - first_time >= 0.5 * CPU_WINDOW and cpu - first_cpu > cores * (now - first_time):
            return (f"the kernel's processes together used more than {cores:g} CPU cores for "
                    f"{CPU_WINDOW:g} s (a kernel may use {lim.cpu_cores:g}) and it was stopped")
        return None

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=5)


def _kill(root: int, rounds: int = 20) -> None:
    """SIGKILL ``root`` and every descendant, until none is left."""
    for _ in range(rounds):
        _, _, _, pids = tree_usage(root)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.02)
