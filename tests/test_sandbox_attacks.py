"""Red-team attacks on grading's sandbox and on the trusted process that checks from outside it.

Each test is one attack, tried for real (a sandboxed kernel, the grader's own channel code, or
the whole pipeline), and asserts that the defence holds: the attacker earns nothing, reads
nothing, changes nothing outside its sandbox, and every classmate is graded. The attacks:

- the kernel's reach outside its sandbox: descriptors of the grader's own output, the IPC
  sockets in its run folder (a symlink makes the grader connect elsewhere), the grader's
  channel socket swapped for a symlink while it is being opened, symlinks in the student's
  folder;
- resources a classmate's grading needs: disk, memory (many processes), CPU (many sessions),
  and the grader's own memory (a flood of kernel messages nobody reads);
- the wire: replies that balloon when decoded, thousands of invented type names, views that
  reach past the array they were sent, huge messages, stray frames and out-of-turn replies, a
  callback storm;
- the needed-cells filter: cells it cannot compile, helper cells it does not see;
- the pipeline: malformed notebooks, a duplicated test cell, output written to the grader's
  log, HTML and scripts in what the formgrader shows the instructor.
"""

from __future__ import annotations

import csv
import gc
import json
import os
import socket
import stat
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest
from classroom import ROOT, grade_id, strip_markers, submission, write_class
from test_grading import NAIVE_SOFTMAX, POINTS, A, finish, grade, notes, reasons, scores
from test_sandbox import run

from autograder import core
from autograder.sandbox import bubblewrap, cgroups, proxy, watchdog, wire
from autograder.sandbox.kernel import Kernel, _copy_files, listen, remove_stale_rundirs
from autograder.sandbox.needed import cells_needed
from autograder.sandbox.proxy import Channel, ChannelBroken, RemoteFunction
from autograder.sandbox.verify import verify

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not bubblewrap.available(), reason="needs bubblewrap")]


def rss_mib() -> float:
    """This process's resident memory, MiB."""
    with open("/proc/self/status") as f:
        line = next(ln for ln in f if ln.startswith("VmRSS"))
    return int(line.split()[1]) / 1024


@pytest.fixture
def kernel_for(tmp_path):
    """Sandboxed kernels for notebook 01, shut down after the test."""
    started = []

    def start(folder: Path | None = None, limits: bubblewrap.Limits | None = None) -> Kernel:
        folder = folder or tmp_path / f"student{len(started)}"
        folder.mkdir(exist_ok=True)
        k = Kernel(A, str(folder), limits=limits)
        started.append(k)
        return k

    yield start
    for k in started:
        k.shutdown()


def execute(kernel: Kernel, code: str, timeout: float = 20) -> None:
    status, detail = kernel.execute(code, timeout)
    assert status == "ok", detail


# --- the kernel's reach outside its sandbox ------------------------------------------------
def test_the_kernel_holds_no_descriptor_of_the_graders_own_output(kernel_for, capfd):
    """ipykernel keeps a copy of the stdout/stderr it was started with (to echo to them): the
    grader's. Writing there goes to nbgrader's output, which `autograder grade` buffers in
    memory and writes to grading/nbgrader.log: a student could fill the grader's memory and the
    disk, and forge log lines."""
    k = kernel_for()
    execute(k, "import os, sys\n"
               "for stream in (sys.stdout, sys.stderr):\n"
               "    fd = getattr(stream, '_original_stdstream_copy', None)\n"
               "    if fd is not None:\n"
               "        os.write(fd, b'\\nKERNEL-WROTE-TO-THE-GRADER\\n')\n")
    out, err = capfd.readouterr()
    assert "KERNEL-WROTE-TO-THE-GRADER" not in out + err


def test_the_kernel_cannot_make_the_grader_connect_to_a_host_socket(kernel_for, tmp_path):
    """The kernel owns its run folder, where its IPC sockets are: it can replace one by a
    symlink, and the grader's ZeroMQ client, reconnecting, follows it to any unix socket of the
    host (outside the sandbox)."""
    host = tmp_path / "host.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(host))
    server.listen(1)
    server.settimeout(6)
    k = kernel_for()
    k.kc.execute(f"""
import json, os, time
info = json.load(open({k.km.connection_file!r}))
path = info["ip"] + "-" + str(info["iopub_port"])
get_ipython().kernel.iopub_thread.socket.close(linger=0)
time.sleep(0.2)
if os.path.exists(path):
    os.unlink(path)
os.symlink({str(host)!r}, path)
""")
    try:
        conn, _ = server.accept()
        conn.close()
        connected = True
    except TimeoutError:
        connected = False
    finally:
        server.close()
    assert not connected, "the grader connected to a socket outside the sandbox"


RACER = r"""
import ctypes, os, struct, time
libc = ctypes.CDLL(None, use_errno=True)
def race(rundir, target, seconds):
    fd = libc.inotify_init1(os.O_NONBLOCK)
    libc.inotify_add_watch(fd, rundir.encode(), 0x100)  # IN_CREATE
    end = time.time() + seconds
    while time.time() < end:
        try:
            data = os.read(fd, 4096)
        except BlockingIOError:
            continue
        i = 0
        while i < len(data):
            _, _, _, size = struct.unpack_from("iIII", data, i)
            name = data[i + 16:i + 16 + size].rstrip(b"\0").decode()
            i += 16 + size
            if name.startswith("rpc-"):
                path = os.path.join(rundir, name)
                try:  # the grader chmods the path it bound, after binding it
                    os.rename(path, path + ".moved")
                    os.symlink(target, path)
                except OSError:
                    pass
for _ in range(3):  # keep the grader's core busy, so that it is preempted more often
    if os.fork() == 0:
        os.setsid()
        end = time.time() + {seconds}
        while time.time() < end:
            pass
        os._exit(0)
if os.fork() == 0:
    os.setsid()
    race({rundir!r}, {target!r}, {seconds})
    os._exit(0)
"""


def test_the_graders_channel_socket_cannot_be_swapped_for_a_symlink(kernel_for, tmp_path):
    """``listen`` binds ``rpc-N`` in the kernel's (student-owned) run folder, then chmods that
    path 0666 as root: a kernel that swaps it for a symlink in between makes the grader chmod
    any host file. A racer watching the folder with inotify tries it on 150 channels."""
    canary = tmp_path / "gradebook.db"
    canary.write_text("grades")
    os.chmod(canary, 0o600)
    k = kernel_for()
    execute(k, RACER.replace("{seconds}", "12").replace("{rundir!r}", repr(k.km.rundir))
            .replace("{target!r}", repr(str(canary))))
    time.sleep(0.5)
    for _ in range(150):
        try:
            server, _ = listen(k.km.rundir)
            server.close()
        except OSError:
            pass
        assert stat.S_IMODE(os.stat(canary).st_mode) == 0o600


def test_symlinks_in_the_students_folder_are_not_copied_into_the_sandbox(tmp_path):
    secret = tmp_path / "solutions"
    secret.mkdir()
    (secret / "answers.py").write_text("SECRET")
    folder = tmp_path / "student"
    folder.mkdir()
    (folder / "mine.txt").write_text("mine")
    (folder / "linked_dir").symlink_to(secret)
    (folder / "linked_file.py").symlink_to(secret / "answers.py")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    _copy_files(str(folder), scratch)
    copied = sorted(p.relative_to(scratch).as_posix() for p in scratch.rglob("*"))
    assert copied == ["mine.txt"]


# --- resources a classmate's grading needs -------------------------------------------------
# What one kernel may use, all its processes together, is its cgroup's (as root, with cgroups)
# or, without, a watchdog's in the grader: the tests below run both ways where they differ.
GUARDS = ["cgroup", "watchdog"]


@pytest.fixture(params=GUARDS)
def guard(request, monkeypatch):
    """Which of the two holds the kernels of the test (the watchdog: NNCOURSE_NO_CGROUPS)."""
    if request.param == "cgroup":
        if not cgroups.available():
            pytest.skip("cgroups cannot be used here (not root, or not writable)")
        monkeypatch.delenv("NNCOURSE_NO_CGROUPS", raising=False)
    else:
        monkeypatch.setenv("NNCOURSE_NO_CGROUPS", "1")
    return request.param


def _started_as(k: Kernel, guard: str) -> None:
    assert (k.km.cgroup is not None, k.km.watchdog is not None) == (
        guard == "cgroup", guard == "watchdog")


DISK_QUOTA = 512 * 2**20
"""What one kernel may write, all files together, at most (the student's folder is 50 MiB)."""

FILL = """
import os
here = os.getcwd()
written, errors = {{}}, {{}}
for folder in (here, "/tmp", {rundir!r}, "/dev/shm"):
    written[folder] = 0
    for i in range({count}):
        try:
            with open(os.path.join(folder, f"fill-{{i}}.bin"), "wb") as f:
                f.write(b"\\0" * {size})
            written[folder] += {size}
        except OSError as exc:
            errors[folder] = str(exc)
            break
for folder in written:
    for i in range({count}):
        try:
            os.remove(os.path.join(folder, f"fill-{{i}}.bin"))
        except OSError:
            pass
_out = sum(written.values()), written, errors
"""


def test_a_kernel_cannot_fill_the_disk(kernel_for):
    """64 MiB per file, but any number of files: the scratch folder (and the run folder) were
    on the host's disk, so one student could fill it, and the gradebook, nbgrader and every
    classmate's grading failed with it (sqlite's "disk is full" aborts a whole nbgrader run).
    Now /tmp, scratch and home are one tmpfs of ``disk_bytes``; the run folder is root's. (A
    smaller one here, 96 MiB in 16 MiB files, to stay gentle with a shared machine: a tmpfs is
    memory.)"""
    assert bubblewrap.Limits().disk_bytes <= DISK_QUOTA
    limits = bubblewrap.Limits(disk_bytes=96 * 2**20, file_bytes=16 * 2**20)
    k = kernel_for(limits=limits)
    assert run(k, "import os\n_out = os.getcwd()").startswith("/tmp/")
    host_before = _disk_used(k.km.rundir)
    total, written, errors = run(k, FILL.format(
        count=limits.disk_bytes // limits.file_bytes + 2, size=limits.file_bytes,
        rundir=k.km.rundir), timeout=60)
    in_sandbox = total - written[k.km.rundir]
    assert in_sandbox <= limits.disk_bytes, f"wrote {total / 2**20:.0f} MiB: {written} ({errors})"
    if bubblewrap.is_root():  # without root the run folder stays the kernel's (docs say so)
        assert written[k.km.rundir] == 0, "the kernel wrote into its run folder, the host's disk"
        assert _disk_used(k.km.rundir) == host_before


def _disk_used(folder: str) -> int:
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())


MEMORY_LIMIT = 2**30
HOLD = """
import subprocess, sys
hold = ("import time; b = bytearray({size}); b[::4096] = b'x' * len(b[::4096]); "
        "print('held', flush=True); time.sleep(3)")
procs = [subprocess.Popen([sys.executable, "-c", hold], stdout=subprocess.PIPE, text=True)
         for _ in range({count})]
held = [p.stdout.readline().strip() == "held" for p in procs]
def resident(pid):
    try:
        with open(f"/proc/{{pid}}/status") as f:
            return int(next(ln for ln in f if ln.startswith("VmRSS")).split()[1]) * 1024
    except (OSError, StopIteration):
        return 0
_out = sum(resident(p.pid) for p, ok in zip(procs, held) if ok)
for p in procs:
    p.kill()
"""


def result(kernel: Kernel):
    """``_out`` of the kernel's last cell, read back through a channel."""
    channel = kernel.channel()
    try:
        return RemoteFunction(channel, "lambda: _out")()
    finally:
        channel.close()


class _PeakMemory:
    """The peak of what a kernel's processes hold together, sampled from the host's /proc."""

    def __init__(self, k: Kernel):
        self.pid = k.km.provisioner.process.pid
        self.peak, self._stop = 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, watchdog.tree_usage(self.pid)[1])

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def test_a_kernels_processes_together_stay_within_its_memory_limit(kernel_for, guard):
    """The memory limit was RLIMIT_AS, per process, and a kernel may start 128: together they
    could hold 128 times the limit, enough to make the machine kill the grader. Three
    processes of 400 MiB under a 1 GiB limit (instead of 4 GiB, to stay gentle with a shared
    machine): the cgroup's OOM killer stops one of them (the kernel lives on); the watchdog
    stops the kernel, with the reason."""
    k = kernel_for(limits=bubblewrap.Limits(memory_bytes=MEMORY_LIMIT))
    _started_as(k, guard)
    sampler = _PeakMemory(k)
    status, detail = k.execute("_out = None\n" + HOLD.format(size=400 * 2**20, count=3), 60)
    peak = sampler.stop()  # summed RSS: pages the processes share are counted once each
    if k.km.cgroup is not None:
        peak = k.km.cgroup.peak_memory()  # the kernel's own count, each page once
    if status == "ok":
        together = result(k)
        assert together <= MEMORY_LIMIT, f"the kernel's processes held {together / 2**30:.2f} GiB"
    else:
        assert status == "died", (status, detail)
        assert "more than 1 GiB of memory" in detail, detail
    if guard == "cgroup":
        assert status == "ok", detail
        assert peak <= MEMORY_LIMIT, f"peak {peak / 2**30:.2f} GiB"
    print(f"{guard}: {status}; peak held together {peak / 2**20:.0f} MiB")


OUTGROW = """
import subprocess, sys, time
mine = bytearray(150 * 2**20)  # the kernel holds the most (its address space is 1 GiB too)
mine[::4096] = b"x" * len(mine[::4096])
hold = ("import time; b = bytearray(120 * 2**20); b[::4096] = b'x' * len(b[::4096]); "
        "print('held', flush=True); time.sleep(20)")
procs = [subprocess.Popen([sys.executable, "-c", hold], stdout=subprocess.PIPE, text=True)
         for _ in range(7)]
held = [p.stdout.readline() for p in procs]
time.sleep(5)
"""


def test_a_kernel_stopped_for_memory_fails_with_the_reason(kernel_for, guard):
    """When the kernel itself is what is stopped (it holds the most), the student reads why:
    the cell's result, and so the exercise's verdict, says it used more than its memory."""
    k = kernel_for(limits=bubblewrap.Limits(memory_bytes=MEMORY_LIMIT))
    _started_as(k, guard)
    status, detail = k.execute(OUTGROW, 30)
    assert status == "died", (status, detail)
    assert detail == ("the kernel used more than 1 GiB of memory (all its processes "
                      "together) and was stopped"), detail


HOG_SOFTMAX = "def softmax(scores):\n" + "".join(
    "    " + line + "\n" for line in OUTGROW.strip().splitlines()) + "    return scores\n"


def test_an_exercise_that_outgrows_the_memory_fails_alone_with_the_reason(kernel_for):
    """The same, while the grader checks: the exercise whose call stopped the kernel fails,
    saying why; the one before passed, and the one after is checked in a fresh kernel. (With
    whichever guard this machine has: the reason reaches the verdict the same way.)"""
    limits = bubblewrap.Limits(memory_bytes=MEMORY_LIMIT)
    sol = _solutions()
    cells = "\n".join(["import numpy as np", sol["mse_loss"], HOG_SOFTMAX,
                       sol["cross_entropy_loss"]])

    def started():
        k = kernel_for(limits=limits)
        execute(k, cells)
        return k.channel

    exercises = [("mse_loss", "mse_loss"), ("softmax", "softmax"),
                 ("cross_entropy_loss", "cross_entropy_loss")]
    verdicts = verify(exercises, started(), started, hidden=False)
    assert verdicts["mse_loss"].passed, verdicts["mse_loss"].message
    assert not verdicts["softmax"].passed
    assert "used more than 1 GiB of memory" in verdicts["softmax"].message, verdicts
    assert verdicts["cross_entropy_loss"].passed, verdicts["cross_entropy_loss"].message


WORK = """import time
def work(seconds):
    n, end = 0, time.time() + seconds
    while time.time() < end:
        n += 1
    return n
"""

HOGS = """import os, time
for _ in range(24):
    if os.fork() == 0:
        os.setsid()  # a session, and so a scheduler group, of its own for each
        end = time.time() + 5
        while time.time() < end:
            pass
        os._exit(0)
"""


def test_a_kernel_cannot_starve_a_classmates_kernel_of_cpu(kernel_for, guard):
    """Two notebooks are graded at once. 24 busy processes, each in a session of its own (the
    kernel's scheduler autogroup does not hold them), took the machine: the classmate's kernel
    and the grader itself slowed to a crawl, and their wall-clock limits (5 s a call, 60 s for
    a kernel to start) failed the classmate. The cgroup holds the attacker to one core (its
    CFS quota); the watchdog stops a kernel that takes more than 1.5 cores for a second."""
    victim, attacker = kernel_for(), kernel_for()
    _started_as(attacker, guard)
    execute(victim, WORK)
    channel = victim.channel()
    work = RemoteFunction(channel, "work")
    alone = work(1.5)
    status, detail = attacker.execute(HOGS, 20)  # the watchdog may stop it while it forks
    assert status == "ok" or "CPU cores" in detail, (status, detail)
    time.sleep(0.3)
    shared = work(1.5)
    channel.close()
    print(f"{guard}: the classmate kept {shared / alone:.0%} of its speed")
    assert shared >= 0.3 * alone, f"the classmate kept {shared / alone:.0%} of its speed"
    if guard == "watchdog":
        assert not attacker.alive()
        assert "CPU cores" in (attacker.km.stopped_for() or ""), attacker.km.stopped_for()


def test_nothing_of_a_kernel_is_left_once_it_stopped(kernel_for, guard):
    """No process, no run folder, no cgroup once a kernel was shut down, however many
    processes it had started."""
    k = kernel_for()
    _started_as(k, guard)
    execute(k, "import subprocess\nprocs = [subprocess.Popen(['sleep', '60']) for _ in range(3)]")
    pid, rundir = k.km.provisioner.process.pid, k.km.rundir
    folders = list(k.km.cgroup.folders.values()) if k.km.cgroup else []
    assert watchdog.tree_usage(pid)[0] >= 4
    k.shutdown()
    deadline = time.monotonic() + 5
    while watchdog.tree_usage(pid)[0] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert watchdog.tree_usage(pid)[0] == 0
    assert not os.path.exists(rundir)
    assert not any(f.exists() for f in folders)


KILLED_GRADER = """
import os, sys, time
from autograder.sandbox.kernel import Kernel
k = Kernel("01_loss_functions", sys.argv[1])
k.execute("import subprocess\\nprocs = [subprocess.Popen(['sleep', '60']) for _ in range(2)]", 20)
folders = [str(f) for f in k.km.cgroup.folders.values()] if k.km.cgroup else []
print(k.km.provisioner.process.pid, k.km.rundir, *folders, flush=True)
time.sleep(60)
"""


def test_what_a_killed_grader_leaves_is_removed_by_the_next(tmp_path, guard):
    """A grader killed (SIGKILL) while its kernel runs: bubblewrap dies with it, and so every
    process of the kernel; the run folder and the cgroup stay, and the next grader, as it
    starts its first kernel, removes them (they hold its dead grader's pid)."""
    grader = subprocess.Popen([sys.executable, "-c", KILLED_GRADER, str(tmp_path)], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True)
    try:
        line = grader.stdout.readline().split()
    finally:
        grader.kill()
        grader.wait()
    assert line, "the grader did not start its kernel"
    pid, rundir, folders = int(line[0]), line[1], [Path(f) for f in line[2:]]
    assert bool(folders) == (guard == "cgroup")
    deadline = time.monotonic() + 5
    while watchdog.tree_usage(pid)[0] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert watchdog.tree_usage(pid)[0] == 0, "the kernel outlived its grader"
    assert os.path.exists(rundir)
    assert rundir in remove_stale_rundirs()
    if folders:
        assert set(folders) <= set(cgroups.remove_stale())
    assert not os.path.exists(rundir) and not any(f.exists() for f in folders)


FLOOD = """import threading, time
def flood():
    kernel = get_ipython().kernel
    big = "x" * (10 * 2**20)
    for _ in range(30):
        kernel.session.send(kernel.iopub_socket, "stream", {"name": "stdout", "text": big})
        time.sleep(0.05)
threading.Thread(target=flood, daemon=True).start()
"""


def peak_rss_reset() -> None:
    """Reset this process's peak resident memory (VmHWM) to what it holds now."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def peak_rss_mib() -> float:
    with open("/proc/self/status") as f:
        line = next(ln for ln in f if ln.startswith("VmHWM"))
    return int(line.split()[1]) / 1024


def test_a_flood_of_kernel_messages_does_not_fill_the_graders_memory(kernel_for):
    """While the grader checked exercises nobody read the kernel's IOPub messages: ZeroMQ
    kept receiving them into the grader's memory, 300 MiB here. Now they are read and dropped
    while a channel is open (``kernel.Drain``). The grader's peak memory is measured."""
    k = kernel_for()
    execute(k, "def echo(x):\n    return x\n")
    gc.collect()
    peak_rss_reset()
    before = rss_mib()
    execute(k, FLOOD)
    channel = k.channel()
    echo = RemoteFunction(channel, "echo")
    for _ in range(8):
        time.sleep(0.5)
        echo(1.0)
    channel.close()
    grown = peak_rss_mib() - before
    print(f"the grader's peak memory grew by {grown:.0f} MiB; {k._drain.dropped} frames dropped")
    assert grown < 100, f"the grader's memory grew by {grown:.0f} MiB at its peak"


# --- the wire: what the kernel sends the grader --------------------------------------------
def _peer(reply: bytes) -> tuple[Channel, threading.Thread]:
    """A channel whose kernel answers the first request with the raw frame ``reply``."""
    mine, theirs = socket.socketpair()

    def kernel():
        try:
            wire.recv(theirs)
            theirs.sendall(struct.pack("!Q", len(reply)) + reply)
            time.sleep(0.5)
        except (OSError, EOFError):
            pass
        finally:
            theirs.close()

    thread = threading.Thread(target=kernel, daemon=True)
    thread.start()
    return Channel(mine, interrupt=lambda: None), thread


def test_a_reply_that_balloons_when_decoded_is_refused():
    """A frame may hold 256 MiB, and ``[]`` costs 3 bytes on the wire but ~130 bytes decoded
    (the JSON list, then the decoder's copy): 8 MiB here would become ~400 MiB, 256 MiB over
    12 GiB, in the grader, decoded outside any time limit."""
    reply = ('{"kind":"result","value":[' + ",".join(["[]"] * 3_000_000) + "]}").encode()
    channel, thread = _peer(reply)
    before = rss_mib()
    with pytest.raises(ChannelBroken):
        RemoteFunction(channel, "anything")()
    grown = rss_mib() - before
    thread.join()
    channel.close()
    assert grown < 100, f"decoding took {grown:.0f} MiB"


def test_invented_type_names_do_not_pile_up_in_the_grader():
    """Every name in ``{"t": "opaque", "type": name}`` made a class in the grader, kept for the
    rest of the nbgrader process (for every later student): 100,000 names, 250 MiB."""
    before = len(proxy.Opaque.__subclasses__())
    arguments = proxy._Arguments(None, (), {})
    value = arguments.decode_result({"t": "tuple", "v": [{"t": "opaque", "type": f"T{i}"}
                                                         for i in range(100_000)]})
    assert len(value) == 100_000 and type(value[0]).__name__ in ("T0", "object")
    del value
    gc.collect()
    kept = len(proxy.Opaque.__subclasses__()) - before
    assert kept <= 1000, f"{kept} classes kept"  # (speed is a benchmark's, not a test's)


def _arguments_with(array: np.ndarray) -> proxy._Arguments:
    return proxy._Arguments(None, (array,), {})


def _view(offset: int, shape: list, strides: list, dtype: str = "<f8") -> dict:
    return {"t": "view", "path": ["a", 0], "offset": offset, "shape": shape,
            "strides": strides, "dtype": dtype}


@pytest.mark.parametrize("view", [
    _view(-8, [2], [8]), _view(96, [2], [8]), _view(8, [3], [-8]), _view(0, [2], [-8]),
    _view(0, [-1], [8]), _view(0, [2], [2**62]), _view(2**63, [1], [8]),
    _view(0, [1], [8], "|O"),
], ids=["before", "after", "backwards", "below-zero", "shape-minus-one", "huge-stride",
        "huge-offset", "objects"])
def test_a_view_cannot_reach_past_the_array_it_was_sent(view):
    """A candidate may return a view of an input; the grader rebuilds it on its own memory.
    The argument here is a slice of a larger grader array (sent as a plain copy): the view
    must stay inside the slice, never read or alias the rest of the grader's array."""
    grader_array = np.arange(100.0)
    argument = grader_array[10:22].reshape(3, 4)
    with pytest.raises(wire.WireError):
        _arguments_with(argument).decode_result(view)


def test_the_arguments_after_a_call_cannot_rewrite_the_rest_of_the_graders_array():
    """The kernel reports its arguments after the call; ``"based"`` (a view with its base)
    rewrites the whole base. For an argument sent as a plain copy, that base is the grader's
    larger array: the slice itself unchanged (so ``run`` sees no modification), the rest
    rewritten."""
    grader_array = np.arange(100.0)
    argument = grader_array[10:22]
    forged = grader_array.copy()
    forged[50:] = -1.0
    after = {"t": "based", "base": wire.encode_array(forged), "view": wire.encode(argument)}
    try:
        _arguments_with(argument).mirror([after], {})
    except (wire.WireError, ValueError):
        pass
    assert np.array_equal(grader_array, np.arange(100.0))


def test_generators_nested_past_the_wires_depth_are_refused():
    """A drained generator's items are decoded afresh, past the 64 levels ``wire.decode``
    allows: 300 generators one inside the other recursed through the grader's decoder."""
    nested = 0
    for _ in range(300):
        nested = {"t": "gen", "more": False, "v": [nested]}
    with pytest.raises(wire.WireError):
        proxy._Arguments(None, (), {}).decode_result(nested)


def test_dicts_with_nan_and_colliding_keys_mirror_as_plain_data():
    """Keys that are NaN (never equal to themselves; JSON's NaN is one object, so they merge),
    or 1, 1.0 and True (equal to each other), in the arguments-after of a dict the grader
    passed: the grader's dict ends up holding the kernel's plain data, nothing raises."""
    nan = float("nan")
    config = {"learning_rate": 0.1, 1: "one"}
    after = json.loads(json.dumps({"t": "dict", "v": [  # as the kernel can send them
        [nan, 1.0], [nan, 2.0], [1, "a"], [1.0, "b"], [True, "c"], ["learning_rate", 0.1]]}))
    proxy._Arguments(None, (config,), {}).mirror([after], {})
    assert config["learning_rate"] == 0.1 and config[1] == "c"
    assert all(isinstance(k, (str, int, float)) for k in config) and len(config) == 3


def test_a_giant_zero_stride_view_fails_at_once():
    """A view of 10^14 x 3 float64 (2 million GiB, all the same 24 bytes) is shape-checked
    before anything is computed on it."""
    scores = np.random.default_rng(0).normal(size=(4, 3))
    got = _arguments_with(scores).decode_result(_view(0, [10**14, 3], [0, 8]))
    started = time.monotonic()
    with pytest.raises(AssertionError, match="expected \\(4, 3\\)"):
        core.check("softmax", lambda s: got)
    assert time.monotonic() - started < 30  # at once (a 10^14-row loop would take days)


BIG_MESSAGES = """import warnings
import numpy as np
import autograder.sandbox.kernel_side as kernel_side
def error(self, exc, **extra):
    return {"kind": "error", "type": "ValueError", "message": "BIG" * (3 * 2**20),
            "where": ["f" * 2**20, 1, "x" * 2**20]}
kernel_side._Server.error = error
def softmax(scores):
    raise ValueError("no")
def cross_entropy_loss(scores, y):
    warnings.warn("W" * 2**20, RuntimeWarning)
    return 0.0
"""


def test_a_kernels_messages_are_cut_before_they_become_a_verdict(kernel_for):
    """The kernel side cuts exception messages at 2,000 characters, but it is the student's:
    a patched one sends 9 MiB, which became the verdict: the test cell's output, the
    feedback page, results.json and the class report."""
    k = kernel_for()
    execute(k, BIG_MESSAGES)
    verdicts = verify([("softmax", "softmax"), ("cross_entropy_loss", "cross_entropy_loss")],
                      k.channel)
    assert not any(v.passed for v in verdicts.values())
    sizes = {name: len(v.message) for name, v in verdicts.items()}
    assert max(sizes.values()) < 10_000, sizes


OUT_OF_TURN = """import numpy as np
import autograder.sandbox.kernel_side as kernel_side
from autograder.sandbox import wire
answer = kernel_side._Server.answer
def chatty(self, request):
    reply = answer(self, request)
    for stray in ({"kind": "result", "value": 1.0, "args": [], "kwargs": {}},
                  {"kind": "return", "value": 0.0}, {"kind": "callback", "id": 99, "args": []},
                  {"kind": "interrupted"}):
        wire.send(self.sock, stray)  # replies, callbacks and returns nobody asked for
    return reply
kernel_side._Server.answer = chatty
def mse_loss(y_pred, y_true):
    return np.zeros(3)
def softmax(scores):
    return scores
def cross_entropy_loss(scores, y):
    return -1.0
"""


def test_stray_and_out_of_turn_frames_earn_nothing(kernel_for):
    """After every reply the kernel sends four more: a result, a return, a callback for a
    function nobody passed, an "interrupted". Each request then reads an earlier stray: the
    grader must neither crash nor hang, and wrong answers stay wrong."""
    k = kernel_for()
    execute(k, OUT_OF_TURN)
    started = time.monotonic()
    verdicts = verify([(n, n) for n in POINTS], k.channel)
    assert not any(v.passed for v in verdicts.values()), verdicts
    assert time.monotonic() - started < 60


STORM = """import numpy as np
def numeric_gradient(f, x, h=1e-5):
    big = np.ones((512, 512))
    while True:
        try:
            f(big)
        except BaseException:
            pass
"""


def test_a_callback_storm_ends_at_the_calls_deadline(kernel_for):
    """A candidate that calls the grader's ``f`` back forever (and swallows every error):
    the call still ends at its time limit and the exercise fails with that reason."""
    k = kernel_for()
    execute(k, STORM)
    started = time.monotonic()
    verdict = verify([("numeric_gradient", "numeric_gradient")], k.channel)["numeric_gradient"]
    assert not verdict.passed, verdict.message
    assert "did not finish in time" in verdict.message or "ignored the interrupt" in \
        verdict.message, verdict.message
    assert time.monotonic() - started < 60


# --- which cells grading runs --------------------------------------------------------------
def _notebook(*sources: str):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    return nb


@pytest.mark.parametrize("source", [
    "x = " + "1 + " * 300_000 + "1",       # RecursionError while compiling
    "x = " + "-" * 300_000 + "1",          # MemoryError from the parser
    "y = a" + "[0]" * 300_000,
], ids=["deep-sum", "deep-unary", "deep-subscript"])
def test_a_cell_python_cannot_compile_is_run_not_fatal(source):
    """``needed`` reads every cell with symtable in nbgrader's own process; a cell too deep
    for the compiler raised RecursionError/MemoryError there, and nbgrader gave up on the
    whole notebook (every exercise 0, however right)."""
    nb = _notebook("def softmax(s):\n    return s\n", source)
    assert cells_needed(nb, ["softmax"], set()) == {0, 1}


HELPERS = {
    "star import": ("from numpy import *",
                    "def softmax(s):\n    return exp(s) / exp(s).sum(axis=1, keepdims=True)\n"),
    "item stored": ("STEPS['shift'] = lambda s: s - s.max(axis=1, keepdims=True)",
                    "STEPS = {}\ndef softmax(s):\n    return STEPS['shift'](s)\n"),
    "method attached": ("def scaled(self, s):\n    return s * self.k\nScaler.scaled = scaled",
                        "class Scaler:\n    k = 2.0\n"
                        "def softmax(s):\n    return Scaler().scaled(s)\n"),
    "recursion limit": ("import sys\nsys.setrecursionlimit(20_000)",
                        "import sys\ndef softmax(s, depth=0):\n"
                        "    return s if depth > 5000 else softmax(s, depth + 1)\n"),
    "%run": ("%run helpers.py", "def softmax(s):\n    return helper(s)\n"),
}


@pytest.mark.parametrize("kind", list(HELPERS))
def test_helper_cells_a_solution_relies_on_are_run(kind):
    """Honest notebooks whose solution relies on a cell that binds no name symtable can see:
    a star import, an item stored in a dict, a method attached to a class, the recursion
    limit raised, ``%run``. Skipping it costs the student the exercise."""
    helper, solution = HELPERS[kind]
    nb = _notebook("import numpy as np", solution, "x = np.linspace(0, 1)  # a plot cell", helper)
    assert {1, 3} <= cells_needed(nb, ["softmax"], set()), kind


# --- the pipeline reading what was handed in -----------------------------------------------
def _malformed(mutate) -> nbformat.NotebookNode:
    d = json.loads(nbformat.writes(submission(A)))
    mutate(d)
    return d


def _test_cell(d: dict, gid: str) -> dict:
    return next(c for c in d["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == gid)


MALFORMED = {
    "nbgrader metadata a list": lambda d: d["cells"][-1]["metadata"].__setitem__("nbgrader", []),
    "nbgrader metadata null": lambda d: d["cells"][-1]["metadata"].__setitem__("nbgrader", None),
    "grade_id a list": lambda d: d["cells"][-1]["metadata"].__setitem__(
        "nbgrader", {"grade_id": ["test_softmax"]}),
    "a code cell without outputs": lambda d: d["cells"].append(
        {"cell_type": "code", "metadata": {}, "source": "x = 1", "execution_count": None}),
    "a test cell's source null": lambda d: _test_cell(d, "test_softmax").__setitem__(
        "source", None),
}


@pytest.mark.parametrize("kind", list(MALFORMED))
def test_a_malformed_notebook_is_reported_and_skipped_not_fatal(kind, tmp_path):
    """``pipeline._prepare`` restores test cells, and ``_write_submitted`` writes the result,
    outside any ``try``: one such notebook raised out of ``autograder grade``, and nobody in
    the class was graded."""
    from autograder.grading.pipeline import Course, _prepare, _write_submitted
    from autograder.grading.submissions import Submission

    path = tmp_path / f"{A}.ipynb"
    path.write_text(json.dumps(_malformed(MALFORMED[kind])))
    course = Course(grading=tmp_path / "grading")
    handed_in = Submission("mallory", A, path)
    nb, found = _prepare(course, handed_in, course.release(A))
    if nb is None:
        assert found and "unreadable" in found[0], found
    else:
        _write_submitted(course, handed_in, nb)  # what grading does next, outside a try too


# --- a class graded once -------------------------------------------------------------------
def _solutions() -> dict[str, str]:
    source = nbformat.read(ROOT / "solutions" / A / f"{A}.ipynb", 4)
    return {grade_id(c): strip_markers(c.source) for c in source.cells
            if c.metadata.get("nbgrader", {}).get("solution")}


STAR_SOFTMAX = """def softmax(scores):
    shifted = scores - scores.max(axis=1, keepdims=True)
    e = exp(shifted)
    return e / e.sum(axis=1, keepdims=True)
"""
STAR_CROSS_ENTROPY = """def cross_entropy_loss(scores, y):
    shifted = scores - scores.max(axis=1, keepdims=True)
    logp = shifted - log(exp(shifted).sum(axis=1, keepdims=True))
    return -logp[arange(len(y)), y].mean()
"""
NOISE = """
import os, sys
for stream in (sys.stdout, sys.stderr):
    _fd = getattr(stream, "_original_stdstream_copy", None)
    if _fd is not None:
        os.write(_fd, b"\\n[AutogradeApp | INFO] FORGED-BY-A-STUDENT: alice scored 0\\n")
        for _ in range(32):
            os.write(_fd, b"F" * 2**20)
"""
SCRIPT = """
from IPython.display import HTML, display
display(HTML("<script>window.NNCOURSE_STUDENT_SCRIPT = 1</script>"))
"""
MARKDOWN_SCRIPT = '<img src="x" onerror="window.NNCOURSE_STUDENT_MARKUP = 1">'


def build_class(folder: Path) -> dict[str, set[str]]:
    """Write the class; return what each student deserves. nbgrader grades students in name
    order, every second one per worker: carol_dup and erin share a worker, erin after her."""
    sol = _solutions()
    helper = submission(A, {"softmax": STAR_SOFTMAX, "cross_entropy_loss": STAR_CROSS_ENTROPY})
    helper.cells.insert(2, nbformat.v4.new_code_cell("from numpy import *"))
    noisy = submission(A, {"mse_loss": sol["mse_loss"] + NOISE, "softmax": sol["softmax"] + SCRIPT})
    noisy.cells.insert(1, nbformat.v4.new_markdown_cell(MARKDOWN_SCRIPT))
    dup = submission(A)
    test = next(c for c in dup.cells if grade_id(c) == "test_softmax")
    dup.cells.insert(dup.cells.index(test) + 1, nbformat.from_dict(json.loads(json.dumps(test))))
    students = {
        "a_helper": (helper, set(POINTS)),
        "a_noisy": (noisy, set(POINTS)),
        "alice": (submission(A), set(POINTS)),
        "bob": (submission(A, {"softmax": NAIVE_SOFTMAX}), {"mse_loss", "cross_entropy_loss"}),
        "carol_dup": (dup, set(POINTS)),  # copied a test cell (a common slip, not an attack)
        "dave": (submission(A), set(POINTS)),
        "erin": (submission(A), set(POINTS)),
    }
    write_class(folder, {name: nb for name, (nb, _) in students.items()}, A)
    return {name: solved for name, (_, solved) in students.items()}


def formgrader_page(grading: Path, student: str) -> str:
    """The HTML the formgrader serves the instructor for a student's autograded notebook
    (its SubmissionHandler, with the course's nbgrader_config.py)."""
    from nbconvert.exporters import HTMLExporter
    from nbgrader.server_extensions.formgrader import handlers
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    old = os.environ.get("NNCOURSE_GRADING_DIR")
    os.environ["NNCOURSE_GRADING_DIR"] = str(grading)
    try:
        config = Config()
        config.merge(PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config())
    finally:
        if old is None:
            os.environ.pop("NNCOURSE_GRADING_DIR")
        else:
            os.environ["NNCOURSE_GRADING_DIR"] = old
    config.HTMLExporter.template_name = "formgrade"
    config.HTMLExporter.extra_template_basedirs = [handlers.template_path]
    resources = {"assignment_id": A, "notebook_id": A, "submission_id": "s", "index": 0,
                 "total": 1, "base_url": "/", "student": student, "last_name": "",
                 "first_name": "", "notebook_path": "/nb"}
    notebook = grading / "autograded" / student / A / f"{A}.ipynb"
    html, _ = HTMLExporter(config=config).from_filename(str(notebook), resources=resources)
    return html


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The class graded once (grading folder, nbgrader.log of that run, results, what each
    deserves), then dave alone regraded on a hand-in that is not a notebook."""
    base = tmp_path_factory.mktemp("sandbox-attacks")
    deserved = build_class(base / "submissions")
    grading = base / "grading"
    finish(grade(base / "submissions", grading, timeout=10))
    results = json.loads((grading / "results.json").read_text())
    log = (grading / "nbgrader.log").read_bytes()  # the regrade below writes its own
    # dave hands in again: a file that is not a notebook; only he is regraded
    again = base / "again" / "dave" / f"{A}.ipynb"
    again.parent.mkdir(parents=True)
    again.write_text("{ this is not a notebook")
    regrade = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", str(base / "again"), "--grading-dir",
         str(grading), "--cell-timeout", "10", "--assignment", A, "--student", "dave"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert regrade.returncode == 0, regrade.stdout + regrade.stderr
    return grading, log, results, deserved


@pytest.mark.nbgrader
@pytest.mark.xdist_group("nbgrader")
class TestAClassUnderAttack:
    def test_every_student_earns_exactly_what_they_solved(self, graded):
        """carol_dup copied a test cell: nbgrader empties the copy's metadata, its own
        validator then raises SchemaTooOldError, which aborts the whole nbgrader process:
        she and every later student of her worker (erin) are not graded. a_helper's star
        import was a cell ``needed`` skipped (NameError: softmax and cross_entropy_loss 0)."""
        _, _, results, deserved = graded
        table = scores(results)
        wrong = {}
        for student, solved in deserved.items():
            expected = {e: (POINTS[e] if e in solved else 0) for e in POINTS}
            if table.get(student) != expected:
                wrong[student] = (table.get(student), reasons(results, student),
                                  notes(results, student))
        assert not wrong, wrong

    def test_a_regrade_that_fails_keeps_no_earlier_points(self, graded):
        """nbgrader keeps a submission's grades until it scores the new notebook: when the new
        hand-in is not graded (unreadable, or nbgrader gave up on it), the report, results.json
        and nbgrader's own export still gave the earlier hand-in's points."""
        grading = graded[0]
        regraded = json.loads((grading / "results.json").read_text())
        assert scores(graded[2])["dave"] == POINTS  # his first hand-in
        assert sum(scores(regraded)["dave"].values()) == 0, notes(regraded, "dave")
        with open(grading / "exports" / "grades.csv") as f:
            exported = {r["student_id"]: float(r["score"]) for r in csv.DictReader(f)}
        assert exported["dave"] == 0

    def test_the_grading_log_holds_nothing_a_kernel_wrote(self, graded):
        _, log, _, _ = graded
        assert len(log) < 4 * 2**20, f"nbgrader.log is {len(log):,} bytes"
        assert b"FORGED-BY-A-STUDENT" not in log

    def test_the_formgrader_shows_the_instructor_no_student_script(self, graded):
        """The formgrader renders the autograded notebook into its own page: a student's
        script runs there with the instructor's session, and can change any grade through
        the formgrader's API."""
        grading, _, results, _ = graded
        assert scores(results)["a_noisy"], "a_noisy was not graded"
        page = formgrader_page(grading, "a_noisy")
        assert "NNCOURSE_STUDENT_SCRIPT = 1</script>" not in page
        assert '<img src="x" onerror' not in page  # escaped to text, not an element
