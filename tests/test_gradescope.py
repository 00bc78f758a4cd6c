"""Gradescope: the zip `python -m autograder gradescope` writes, run as Gradescope runs it.

A faithful local copy of Gradescope's container: a bubblewrap namespace whose root holds only the
system (/usr, /etc), the base Python, a private /tmp and a real ``/autograder`` (a folder of the
test bound there: ``source/`` is the unzipped bundle, ``run_autograder`` copied beside it, as
Gradescope's image build does). ``setup.sh`` runs in it once (its apt-get and pip steps replaced
by uv installing the same wheel offline, ``NNCOURSE_SETUP_UV``), then each submission runs the
bundle's own ``run_autograder`` in a fresh copy of that image, all at once. The course
repository is not visible in there: grading uses only what the zip installed. The project's
sandbox (bubblewrap, as root: no user namespace) nests inside.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import pytest
from classroom import ROOT, submission
from test_grading import EXPECTED, NAIVE_SOFTMAX, POINTS, SUMMED_MSE

from autograder.sandbox import bubblewrap

A = "01_loss_functions"
UV = Path(sys.executable).parent / "uv"
BASE_PYTHON = Path(os.path.realpath(sys.base_prefix))

HOSTILE = f'''import json, os
SECRETS = ["/autograder/source/hidden_seed", "/autograder/grading/hidden_seed",
           "/autograder/source/course/solutions/{A}/{A}.ipynb",
           "/autograder/source/course/nbgrader_config.py", "/autograder/grading/gradebook.db",
           "/autograder/submission/{A}.ipynb", "/autograder/results", "{ROOT}"]
found = [p for p in SECRETS if os.path.exists(p)]
found += [k for k in os.environ if "SEED" in k]
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        if b"NNCOURSE_HIDDEN_SEED" in open(f"/proc/{{pid}}/environ", "rb").read():
            found.append(pid)
    except OSError:
        pass
try:
    os.makedirs("/autograder/results", exist_ok=True)
    with open("/autograder/results/results.json", "w") as f:
        json.dump({{"score": 1000.0, "output": "full marks", "tests": []}}, f)
    print("WROTE results.json")
except OSError as exc:
    print("could not write results.json:", type(exc).__name__)
print("FOUND:", found)
def mse_loss(y_pred, y_true):
    return float(np.mean((y_pred - y_true) ** 2)) + (1.0 if found else 0.0)
'''
REFERENCE_SOFTMAX = "from nnlib import softmax\n"


def container(layout: Path, command: list[str], venv: Path | None = None,
              env: dict | None = None, extra: tuple[str, ...] = ()) -> list[str]:
    """``command`` in a Gradescope-like container whose /autograder is ``layout`` (venv: the
    image's /autograder/venv, bound read-only so that runs at once share it; extra: more
    bubblewrap arguments)."""
    args = ["bwrap", "--die-with-parent", "--unshare-pid", "--clearenv",  # a container's env
            "--setenv", "PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "--setenv", "HOME", "/root", "--setenv", "LANG", "C.UTF-8",
            "--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]
    for top in ("bin", "lib", "lib64", "sbin"):
        host = f"/{top}"
        if os.path.islink(host):
            args += ["--symlink", os.readlink(host), host]
        elif os.path.isdir(host):
            args += ["--ro-bind", host, host]
    if not str(BASE_PYTHON).startswith("/usr/"):  # the image's python3
        args += ["--ro-bind", str(BASE_PYTHON), str(BASE_PYTHON)]
    args += ["--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
             "--bind", str(layout), "/autograder"]
    if venv is not None:
        args += ["--ro-bind", str(venv), "/autograder/venv"]
    for name, value in (env or {}).items():
        args += ["--setenv", name, value]
    return args + [*extra, "--chdir", "/autograder", *command]


pytestmark = [pytest.mark.slow, pytest.mark.nbgrader, pytest.mark.xdist_group("gradescope"),
              pytest.mark.skipif(not (bubblewrap.available() and bubblewrap.is_root()
                                      and UV.exists()),
                                 reason="needs bubblewrap, root and the venv's uv")]


@pytest.fixture(scope="module")
def timings(artifacts):
    """Seconds each step took, written to test-artifacts/gradescope-timings.txt."""
    seconds: dict[str, float] = {}
    yield seconds
    (artifacts / "gradescope-timings.txt").write_text(
        "".join(f"{name}: {value:.1f} s\n" for name, value in seconds.items()))


@pytest.fixture(scope="module")
def image(tmp_path_factory, timings):
    """The bundle built by the real command, unzipped and set up as Gradescope's image build
    does: (image folder, the zip, the instructor's grading folder)."""
    started = time.monotonic()
    base = tmp_path_factory.mktemp("gradescope")
    grading = base / "instructor-grading"
    out = subprocess.run([sys.executable, "-m", "autograder", "gradescope", "--assignment", A,
                          "--grading-dir", str(grading), "--cell-timeout", "10"],
                         cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    bundle = grading / "gradescope" / f"{A}.zip"
    timings["python -m autograder gradescope"] = time.monotonic() - started
    image = base / "image"
    (image / "source").mkdir(parents=True)
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(image / "source")
        for info in zf.infolist():  # zipfile drops the modes Gradescope's unzip keeps
            os.chmod(image / "source" / info.filename, info.external_attr >> 16)
    shutil.copy2(image / "source" / "run_autograder", image / "run_autograder")
    cache = uv_cache()
    started = time.monotonic()
    setup = subprocess.run(container(
        image, ["bash", "/autograder/source/setup.sh"],
        env={"NNCOURSE_SETUP_UV": "/opt/uv", "NNCOURSE_SETUP_PYTHON": os.path.realpath(
            sys.executable)},
        extra=("--ro-bind", str(UV), "/opt/uv", "--bind", cache, cache)),
        capture_output=True, text=True, timeout=600)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    timings["setup.sh"] = time.monotonic() - started
    return image, bundle, grading


def uv_cache() -> str:
    return subprocess.run([str(UV), "cache", "dir"], capture_output=True, text=True,
                          check=True).stdout.strip()


SUBMISSIONS = {  # name -> {file name: notebook, bytes, or ("link", target)}
    "correct": {f"{A}.ipynb": submission(A)},
    "wrong": {f"{A}.ipynb": submission(A, {"softmax": NAIVE_SOFTMAX, "mse_loss": SUMMED_MSE})},
    "hostile": {f"{A}.ipynb": submission(A, {"mse_loss": HOSTILE, "softmax": REFERENCE_SOFTMAX})},
    "unreadable": {f"{A}.ipynb": b'{"cells": [ this is not json'},
    "misnamed": {"my homework.ipynb": submission(A), "notes.txt": b"hello"},
    "link": {f"{A}.ipynb": ("link", "/autograder/source/hidden_seed")},
    "empty": {},
}


@pytest.fixture(scope="module")
def runs(image, tmp_path_factory, timings):
    """Every submission through the bundle's run_autograder, each in a fresh copy of the
    image, at once: {name: (results.json, the run's folder)}."""
    image_dir, _, _ = image
    base = tmp_path_factory.mktemp("runs")
    procs = {}
    started = time.monotonic()
    for name, files in SUBMISSIONS.items():
        layout = base / name
        for part in ("source", "grading"):
            shutil.copytree(image_dir / part, layout / part, symlinks=True)
        shutil.copy2(image_dir / "run_autograder", layout / "run_autograder")
        (layout / "submission").mkdir()
        (layout / "results").mkdir()
        for file, content in files.items():
            target = layout / "submission" / file
            if isinstance(content, tuple):
                target.symlink_to(content[1])
            elif isinstance(content, bytes):
                target.write_bytes(content)
            else:
                nbformat.write(content, target)
        stdout = open(layout / "results" / "stdout", "w")  # noqa: SIM115 (Gradescope's)
        procs[name] = (layout, stdout, subprocess.Popen(
            container(layout, ["/autograder/run_autograder"], venv=image_dir / "venv"),
            stdout=stdout, stderr=subprocess.STDOUT))
    running = dict(procs)
    while running and time.monotonic() - started < 600:
        for name, (_, stdout, proc) in list(running.items()):
            if proc.poll() is not None:
                stdout.close()
                timings[f"run_autograder {name} (all {len(procs)} at once)"] = (
                    time.monotonic() - started)
                del running[name]
        time.sleep(0.2)
    done = {}
    for name, (layout, _, proc) in procs.items():
        assert proc.wait(timeout=1) == 0, (layout / "results" / "stdout").read_text()
        results = layout / "results" / "results.json"
        assert results.is_file(), (layout / "results" / "stdout").read_text()
        done[name] = (json.loads(results.read_text()), layout)
    return done


def scores(results) -> dict[str, float]:
    return {t["name"].split(":")[0]: t["score"] for t in results["tests"]
            if t["visibility"] == "after_published"}


def test_bundle_holds_the_scripts_the_wheel_and_the_salt(image):
    _, bundle, grading = image
    with zipfile.ZipFile(bundle) as zf:
        names = set(zf.namelist())
        assert {"setup.sh", "run_autograder", "hidden_seed", "gradescope.json",
                "course/nbgrader_config.py", f"course/solutions/{A}/{A}.ipynb",
                f"course/notebooks/{A}/{A}.ipynb"} <= names
        wheels = [n for n in names if n.startswith("nncourse-") and n.endswith(".whl")]
        assert len(wheels) == 1 and "/" not in wheels[0]
        assert zf.read("hidden_seed").decode().strip() == (grading / "hidden_seed").read_text()
        assert json.loads(zf.read("gradescope.json")) == {"assignment": A, "cell_timeout": 10}
    assert not (ROOT / "build").exists()  # the wheel is built from a copy of the sources
    for script in ("setup.sh", "run_autograder"):  # valid bash
        assert subprocess.run(["bash", "-n", str(ROOT / "autograder/gradescope" / script)]
                              ).returncode == 0


def test_setup_installed_the_bundled_wheel_and_prepared_grading(image):
    image_dir, _, grading = image
    site = list((image_dir / "venv").glob("lib/python*/site-packages"))[0]
    assert (site / "nncourse-0.1.0.dist-info").is_dir()
    installed = site / "autograder" / "gradescope" / "run.py"
    assert installed.read_text() == (ROOT / "autograder/gradescope/run.py").read_text()
    assert (site / "nbgrader").is_dir() and (site / "nnlib/pretrained/digits_mlp.npz").is_file()
    prepared = image_dir / "grading"
    assert (prepared / "gradebook.db").is_file()
    assert (prepared / "release" / A / f"{A}.ipynb").is_file()
    assert (prepared / "hidden_seed").read_text() == (grading / "hidden_seed").read_text()
    assert oct((prepared / "hidden_seed").stat().st_mode & 0o777) == "0o600"


def test_a_correct_submission_scores_full_marks_with_hidden_cases_after_publishing(runs):
    results, _ = runs["correct"]
    assert results["score"] == 100.0
    assert scores(results) == POINTS
    visible = [t for t in results["tests"] if t["visibility"] == "visible"]
    graded = [t for t in results["tests"] if t["visibility"] == "after_published"]
    assert len(visible) == len(graded) == len(POINTS)
    assert all(t["max_score"] == 0 and t["status"] == "passed" for t in visible)
    assert all("visible case" in t["output"] for t in visible)
    assert all("hidden case" in t["output"] for t in graded)
    assert {t["name"].split(":")[0]: t["max_score"] for t in graded} == POINTS


def test_a_wrong_submission_scores_what_local_grading_gives(runs):
    results, layout = runs["wrong"]
    local = {e: (POINTS[e] if e in EXPECTED["bob"] else 0) for e in POINTS}  # test_grading's
    assert scores(results) == local and results["score"] == sum(local.values())
    pipeline = json.loads((layout / "grading" / "results.json").read_text())
    assert {g["exercise"]: g["score"] for g in pipeline["grades"]} == local
    outputs = {t["name"]: t["output"] for t in results["tests"]}
    assert "average" in outputs["mse_loss: visible cases"].lower()
    assert "overflow" in outputs["softmax: graded (visible and hidden cases)"]
    failed = {t["name"].split(":")[0] for t in results["tests"] if t["status"] == "failed"}
    assert failed == {"mse_loss", "softmax"}


def test_hostile_code_sees_no_salt_no_solutions_and_cannot_write_results(runs, image):
    results, layout = runs["hostile"]
    _, _, grading = image
    graded = nbformat.read(layout / "grading/autograded/student" / A / f"{A}.ipynb", 4)
    printed = "".join(out.get("text", "") for cell in graded.cells if "FOUND" in cell.source
                      for out in cell.get("outputs", []))
    assert printed == "could not write results.json: PermissionError\nFOUND: []\n", printed
    assert scores(results)["mse_loss"] == POINTS["mse_loss"]  # it found nothing to act on
    assert scores(results)["softmax"] == 0  # nnlib's softmax is withheld in the sandbox
    softmax = [t["output"] for t in results["tests"] if t["name"].startswith("softmax")]
    assert any("not available while this notebook is graded" in o for o in softmax), softmax
    assert results["score"] == POINTS["mse_loss"] + POINTS["cross_entropy_loss"]
    salt = (grading / "hidden_seed").read_text()
    for name, (other, _) in runs.items():
        assert salt not in json.dumps(other), name


@pytest.mark.parametrize("name, words", [
    ("unreadable", "unreadable notebook"),
    ("misnamed", f"no notebook named {A}.ipynb in your submission (it holds my homework.ipynb"),
    ("link", f"it holds no files but links; {A}.ipynb is a link, never followed"),
    ("empty", "no files at all"),
])
def test_a_submission_with_nothing_to_grade_scores_zero_and_says_why(runs, name, words):
    results, _ = runs[name]
    assert results["score"] == 0 and len(results["tests"]) == 2 * len(POINTS)
    assert all(t["score"] == 0 and t["status"] == "failed" for t in results["tests"])
    assert words in results["output"], results["output"]
    assert all(words in t["output"] for t in results["tests"])  # each test says why


SIZE_DEPENDENT_MSE = """def mse_loss(y_pred, y_true):
    if np.size(y_pred) < 20:
        return np.mean((y_pred - y_true) ** 2)
    return np.mean(np.abs(y_pred - y_true))
"""


def test_a_hidden_case_failure_shows_only_in_the_after_published_test(monkeypatch):
    """A real checker message: right on the visible cases, wrong on a hidden one."""
    from autograder import check
    from autograder.gradescope.results import exercise_tests
    from autograder.grading.pipeline import ExerciseGrade

    monkeypatch.setenv("NNCOURSE_HIDDEN_SEED", "12345")
    namespace = {"np": __import__("numpy")}
    exec(SIZE_DEPENDENT_MSE, namespace)
    check("mse_loss", namespace["mse_loss"])  # the visible cases pass
    with pytest.raises(AssertionError) as failure:
        check("mse_loss", namespace["mse_loss"], hidden=True)
    grade = ExerciseGrade("s", A, "mse_loss", 0.0, 25.0, False, str(failure.value))
    visible, graded = exercise_tests(grade, [])
    assert visible["visibility"] == "visible" and visible["status"] == "passed"
    assert "absolute" not in visible["output"] and "hidden" not in visible["output"]
    assert graded["visibility"] == "after_published" and graded["status"] == "failed"
    assert graded["score"] == 0 and graded["max_score"] == 25
    assert "[hidden test]" in graded["output"] and "absolute" in graded["output"]


def test_run_autograder_writes_results_even_when_the_grader_cannot_start(image, tmp_path):
    """No /autograder/venv (setup.sh failed): run_autograder still leaves valid results."""
    image_dir, _, _ = image
    shutil.copytree(image_dir / "source", tmp_path / "source")
    shutil.copy2(image_dir / "run_autograder", tmp_path / "run_autograder")
    (tmp_path / "submission").mkdir()
    nbformat.write(submission(A), tmp_path / "submission" / f"{A}.ipynb")
    out = subprocess.run(container(tmp_path, ["/autograder/run_autograder"]),
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    results = json.loads((tmp_path / "results" / "results.json").read_text())
    assert results["score"] == 0 and "could not start" in results["output"]
