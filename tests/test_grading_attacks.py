"""A class of students who want the points: every attack on grading, graded for real.

Each attacker hands in notebook 01 (mse_loss 25, softmax 35, cross_entropy_loss 40) with one way
of cheating, beside two honest students. Graded with ``python -m autograder grade`` (nbgrader
autograde, sandboxed kernels, verdicts computed outside them), every attacker earns exactly
what they solved themselves; classmates keep their grades and files; nothing outside the
grading folder changes (course tree, virtual environment, nbgrader_config.py); no process
survives; nothing a candidate printed while hidden cases ran, nor the salt, reaches feedback.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from classroom import ROOT, submission, write_class
from test_grading import NAIVE_SOFTMAX, POINTS, A, finish, grade, notes, reasons, scores

pytestmark = [pytest.mark.slow, pytest.mark.nbgrader,
              pytest.mark.xdist_group("grading-attacks")]  # its own worker, its fixture once

MARKER = "NNCOURSE_ATTACK_MARKER"
"""In every attacker's processes' command lines, to find any that survived."""

ALL_REFERENCES = """import nnlib
from nnlib import losses
mse_loss = nnlib.mse_loss
softmax = losses.softmax
def cross_entropy_loss(scores, y):
    return -losses.log_softmax(scores)[np.arange(len(y)), y].mean()
"""

CHECKER = """import autograder, autograder.core as core
core.REGISTRY.clear()
autograder.check = lambda *a, **k: None
"""

FAKE_SERVER = """import autograder.sandbox.kernel_side as kernel_side
kernel_side.serve = lambda *args, **kwargs: None
kernel_side._Server.call = lambda self, request: {"kind": "result", "value": 1.0}
"""

FRAMES = """import sys
class Sneaky:
    def _expected(self):
        frame = sys._getframe(1)
        while frame is not None:
            for key in ("expected", "want", "reference"):
                if key in frame.f_locals:
                    return frame.f_locals[key]
            frame = frame.f_back
        return 0.0
    def __float__(self):
        return float(self._expected())
    def __eq__(self, other):
        return True
    def __array__(self, *args, **kwargs):
        return np.asarray(self._expected())
def mse_loss(y_pred, y_true):
    return Sneaky()
def softmax(scores):
    return Sneaky()
def cross_entropy_loss(scores, y):
    return Sneaky()
"""

READER = """import json, os, socket
stolen = {{}}
for path in {paths!r}:
    try:
        with open(path, "rb") as f:
            stolen[path] = f.read()
    except OSError as exc:
        print("could not read", path, type(exc).__name__)
try:
    socket.create_connection(("127.0.0.1", 22), timeout=1)
    print("NETWORK REACHED")
except OSError as exc:
    print("no network:", exc)
source = stolen.get({solution!r})
if source:
    for cell in json.loads(source)["cells"]:
        if cell["cell_type"] == "code" and "def " in "".join(cell["source"]):
            exec("".join(cell["source"]).replace("### BEGIN SOLUTION", ""), globals())
"""

WRITER = """import os, sqlite3, subprocess, sys
for path in {targets!r}:
    try:
        with open(path, "a") as f:
            f.write("\\n# {marker}\\n")
        print("WROTE", path)
    except OSError as exc:
        print("could not write", path, type(exc).__name__)
try:
    db = sqlite3.connect({gradebook!r})
    db.execute("UPDATE grade SET auto_score = 100")
    db.commit()
    print("GRADEBOOK CHANGED")
except Exception as exc:
    print("no gradebook:", exc)
later = ("import time, sqlite3; time.sleep(20); "
         "db = sqlite3.connect({gradebook!r}); db.execute('UPDATE grade SET auto_score = 100'); "
         "db.commit()  # {marker}")
subprocess.Popen([sys.executable, "-c", later], start_new_session=True,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
if os.fork() == 0:
    os.setsid()
    os.execv(sys.executable, [sys.executable, "-c", later])
"""

LEAKER_SOFTMAX = """import os
print("SALT IN THE KERNEL:", os.environ.get("NNCOURSE_HIDDEN_SEED"))
def softmax(scores):
    print("LEAKED-INPUT", np.asarray(scores).tolist())
    shifted = scores - scores.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)
"""

DEAF_SOFTMAX = """import signal
def softmax(scores):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        pass
"""

CLOSER_CE = """import os
def cross_entropy_loss(scores, y):
    os.closerange(0, 4096)
    return 0.0
"""

KILLER_MSE = """import os
def mse_loss(y_pred, y_true):
    os._exit(3)
"""

BOMB = """import os, time
children = 0
try:
    for _ in range(2000):
        pid = os.fork()
        if pid == 0:
            time.sleep(60)  # {marker}
            os._exit(0)
        children += 1
except OSError as exc:
    print("fork refused after", children, "children:", exc)
try:
    hog = bytearray(16 * 2**30)
    print("ALLOCATED 16 GiB")
except MemoryError:
    print("no 16 GiB for me")
try:
    with open("big.bin", "wb") as f:
        f.write(b"x" * 200 * 2**20)
    print("WROTE 200 MB")
except OSError as exc:
    print("no big file:", exc)
"""


def _tree_state(folder: Path, skip: tuple[str, ...] = ()) -> dict[str, tuple]:
    """(size, mtime) of every file under ``folder``: a write anywhere changes it."""
    state = {}
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if os.path.join(root, d) not in skip and d != "__pycache__"]
        for name in files:
            path = os.path.join(root, name)
            try:
                st = os.lstat(path)
            except OSError:
                continue
            state[path] = (st.st_size, st.st_mtime_ns)
    return state


def _survivors(marker: str) -> list[str]:
    """Processes of this grading run (its sandboxes carry ``NNCOURSE_SANDBOX_LABEL=marker`` in
    their environment, and the attackers' own commands the marker) still alive."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            environ = (proc / "environ").read_bytes()
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if f"NNCOURSE_SANDBOX_LABEL={marker}".encode() in environ or (
                marker.encode() in cmdline and int(proc.name) != os.getpid()):
            command = cmdline.replace(bytes(1), b" ").decode(errors="replace")
            found.append(f"{proc.name} {command}")
    return found


def build_class(folder: Path, grading: Path) -> dict[str, set[str]]:
    """Write the class; return what each student deserves (the exercises they solved)."""
    solution = str(ROOT / "solutions" / A / f"{A}.ipynb")
    classmate = str(grading / "submitted" / "alice" / A / f"{A}.ipynb")
    gradebook = str(grading / "gradebook.db")
    import autograder.core

    installed_core = os.path.realpath(autograder.core.__file__)
    readable = [solution, str(grading / "hidden_seed"), gradebook, classmate,
                str(ROOT / "nbgrader_config.py"), "/etc/shadow"]
    writable = [classmate, installed_core, str(ROOT / "nbgrader_config.py"),
                str(ROOT / "README.md")]
    students = {
        "alice": (submission(A), set(POINTS)),
        "bob": (submission(A, {"softmax": NAIVE_SOFTMAX}), {"mse_loss", "cross_entropy_loss"}),
        "references": (submission(A, {"cross_entropy_loss": ALL_REFERENCES}),
                       set()),
        "checker": (submission(A, solved=False, append=CHECKER), set()),
        "fake_server": (submission(A, solved=False, append=FAKE_SERVER), set()),
        "frames": (submission(A, {"cross_entropy_loss": FRAMES}), set()),
        "reader": (submission(A, solved=False, append=READER.format(paths=readable,
                                                                     solution=solution)),
                   set()),
        "writer": (submission(A, solved=False, append=WRITER.format(
            targets=writable, gradebook=gradebook, marker=MARKER)), set()),
        "leaker": (submission(A, {"softmax": LEAKER_SOFTMAX}), set(POINTS)),
        "deaf": (submission(A, {"softmax": DEAF_SOFTMAX}), {"mse_loss", "cross_entropy_loss"}),
        "closer": (submission(A, {"cross_entropy_loss": CLOSER_CE}), {"mse_loss", "softmax"}),
        "killer": (submission(A, {"mse_loss": KILLER_MSE}), {"softmax", "cross_entropy_loss"}),
        "bomb": (submission(A, append=BOMB.format(marker=MARKER)), set(POINTS)),
    }
    write_class(folder, {name: nb for name, (nb, _) in students.items()}, A)
    return {name: solved for name, (_, solved) in students.items()}


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    base = tmp_path_factory.mktemp("attacks")
    grading = base / "grading"
    deserved = build_class(base / "submissions", grading)
    venv = Path(sys.prefix)
    busy = tuple(str(ROOT / d) for d in (".git", ".venv", "test-artifacts", ".pytest_cache",
                                         ".hypothesis", ".ruff_cache", "grading"))

    def state():
        return {"course": _tree_state(ROOT, skip=busy), "venv": _tree_state(venv)}

    before = state()
    output = finish(grade(base / "submissions", grading, timeout=5,
                          env={**os.environ, "NNCOURSE_SANDBOX_LABEL": MARKER}))
    results = json.loads((grading / "results.json").read_text())
    after = state()
    return base, grading, output, results, deserved, before, after


def test_every_attacker_earns_exactly_what_they_solved(attacked):
    _, _, _, results, deserved, _, _ = attacked
    table = scores(results)
    for student, solved in deserved.items():
        expected = {e: (POINTS[e] if e in solved else 0) for e in POINTS}
        assert table[student] == expected, (student, reasons(results, student),
                                            notes(results, student))


def test_the_report_names_each_attack_with_a_reason(attacked):
    _, grading, _, results, deserved, _, _ = attacked
    report = (grading / "report.md").read_text()
    for student, solved in deserved.items():
        if solved == set(POINTS):
            continue
        assert student in report
        failed = {e: r for e, r in reasons(results, student).items() if e not in solved}
        assert all(r.strip() for r in failed.values()), (student, failed)
    assert "not available while this notebook is graded" in reasons(
        results, "references")["mse_loss"]
    assert "ignored the interrupt" in reasons(results, "deaf")["softmax"]
    assert "closed its channel" in reasons(results, "closer")["cross_entropy_loss"]
    assert "died" in reasons(results, "killer")["mse_loss"] or "closed" in reasons(
        results, "killer")["mse_loss"]
    assert all(reasons(results, "frames").values())


def test_nothing_outside_the_grading_folder_changed(attacked):
    _, _, _, _, _, before, after = attacked
    for tree in ("course", "venv"):
        changed = {p for p in set(before[tree]) | set(after[tree])
                   if before[tree].get(p) != after[tree].get(p)}
        assert not changed, (tree, sorted(changed)[:10])


def test_classmates_files_and_grades_are_untouched(attacked):
    base, grading, _, results, _, _, _ = attacked
    handed_in = (base / "submissions" / "alice" / f"{A}.ipynb").read_text()
    assert MARKER not in (grading / "submitted" / "alice" / A / f"{A}.ipynb").read_text()
    assert MARKER not in handed_in
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{grading / 'gradebook.db'}") as gb:
        total = {s.id: gb.find_submission(A, s.id).score for s in gb.students}
    assert scores(results)["alice"] == POINTS
    assert total["alice"] == 100 and total["bob"] == 65 and total["writer"] == 0


def test_no_attacker_process_survives_grading(attacked):
    assert _survivors(MARKER) == []


def test_feedback_holds_no_salt_no_hidden_output_and_no_grader_code(attacked):
    _, grading, _, _, _, _, _ = attacked
    salt = (grading / "hidden_seed").read_text().strip()
    pages = list((grading / "feedback").rglob("*.html"))
    assert len(pages) == 13
    for page in pages:
        text = page.read_text()
        assert salt not in text, page
        assert "LEAKED-INPUT [" not in text, page  # printed by a candidate while checked
        assert "hidden=True" not in text and "BEGIN HIDDEN TESTS" not in text, page
        assert "_nncourse_serve" not in text, page  # the grader's own request
    leaker = (grading / "feedback" / "leaker" / A / f"{A}.html").read_text()
    assert "SALT IN THE KERNEL: None" in leaker  # the student's own cell ran, salt-less
