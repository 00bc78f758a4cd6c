"""The course on a real JupyterHub, end to end, as docs/instructors.md describes it.

A Hub on 127.0.0.1 (configurable-http-proxy from npm, DummyAuthenticator with the system
users' names, LocalProcessSpawner running each single-user server as its user), three system
users made for the test (an instructor, two students; removed after), nbgrader's exchange in
a shared folder (``ugo+rwx``, as nbgrader's demos set it up) and the formgrader as the Hub
service ``nncourse`` run as the instructor, open to the ``formgrade-nncourse`` group only.

The instructor releases (``nbgrader release_assignment``, run as that user); the students
fetch, write their answers and submit through their own servers (nbgrader's
``/assignments/fetch|submit`` endpoints and Jupyter's contents API, through the Hub's proxy);
the instructor collects, grades with ``python -m autograder grade grading/submitted``, sees the
submissions in the formgrader's API, and returns feedback (``release_feedback``), which the
students fetch (``/assignments/fetch_feedback``) and read. Every process and user is removed.

Needs root (``useradd``, servers started as other users) and ``make hub-env``.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
from classroom import ROOT, submission

A = "01_loss_functions"
COURSE = "nncourse"
HUB_VENV = ROOT / ".venv" / "hub"
PROXY = ROOT / ".venv" / "node" / "node_modules" / ".bin" / "configurable-http-proxy"
NAIVE_SOFTMAX = ("def softmax(scores):\n    e = np.exp(scores)\n"
                 "    return e / e.sum(axis=1, keepdims=True)\n")

pytestmark = [
    pytest.mark.slow, pytest.mark.nbgrader, pytest.mark.xdist_group("jupyterhub"),
    pytest.mark.skipif(os.geteuid() != 0, reason="makes system users: needs root"),
    pytest.mark.skipif(not (HUB_VENV / ".installed").exists() or not PROXY.exists(),
                       reason="run `make hub-env` first"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Http:
    """JSON over HTTP to the Hub's proxy, with a token."""

    def __init__(self, base: str):
        self.base = base

    def __call__(self, method: str, path: str, token: str, *, data=None, form=None,
                 raw: bool = False, timeout: float = 120):
        body, headers = None, {"Authorization": f"token {token}"}
        if data is not None:
            body, headers["Content-Type"] = json.dumps(data).encode(), "application/json"
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        request = urllib.request.Request(self.base + path, body, headers, method=method)
        opener = urllib.request.build_opener(NoRedirect)
        try:
            with opener.open(request, timeout=timeout) as response:
                text = response.read().decode()
                return response.status, (text if raw or not text else json.loads(text))
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode(errors="replace")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect to the login page is an answer, not something to follow


def wait_for(what: str, check, timeout: float, log: Path | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = check()
        except OSError:
            found = None
        if found:
            return found
        time.sleep(0.5)
    lines = log.read_text().splitlines() if log and log.exists() else []
    tail = "\n".join([ln for ln in lines if "[ConfigProxy]" not in ln][-40:])
    raise AssertionError(f"timed out waiting for {what}\n{tail}")


def as_user(user: str, args: list[str], cwd: Path, env: dict, timeout: float = 600) -> str:
    """A command run as a system user, with that user's home and the hub venv on PATH."""
    entry = pwd.getpwnam(user)
    environ = {"HOME": entry.pw_dir, "USER": user, "LOGNAME": user, "LANG": "C.UTF-8",
               "PATH": f"{HUB_VENV / 'bin'}:/usr/bin:/bin", "OPENBLAS_NUM_THREADS": "1", **env}
    out = subprocess.run(args, cwd=cwd, env=environ, user=entry.pw_uid, group=entry.pw_gid,
                         extra_groups=[], capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, f"{user}$ {' '.join(args)}\n{out.stdout}\n{out.stderr}"
    return out.stdout + out.stderr


def make_user(name: str) -> Path:
    subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", name], check=True)
    return Path(pwd.getpwnam(name).pw_dir)


def remove_user(name: str) -> None:
    """End what still runs as ``name`` (by process id), then delete the user and its home."""
    try:
        uid = pwd.getpwnam(name).pw_uid
    except KeyError:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = [int(p) for p in os.listdir("/proc") if p.isdigit()
                and _owner(int(p)) == uid]
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        if pids:
            time.sleep(1)
    subprocess.run(["userdel", "--remove", name], capture_output=True)


def stop_proxy(pid_file: Path) -> None:
    """End the configurable-http-proxy the Hub started, by the id in its pid file."""
    try:
        pid = int(pid_file.read_text().strip())
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return
    if b"configurable-http-proxy" in command:
        os.kill(pid, signal.SIGTERM)


def _owner(pid: int) -> int | None:
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except FileNotFoundError:
        return None


def give(path: Path, user: str) -> None:
    entry = pwd.getpwnam(user)
    for p in [path, *path.rglob("*")]:
        os.chown(p, entry.pw_uid, entry.pw_gid, follow_symlinks=False)


def hub_config(base: Path, ports: dict, users: dict, course: Path, exchange: Path,
               driver_token: str) -> str:
    venv_bin = HUB_VENV / "bin"
    env = {"PATH": f"{venv_bin}:/usr/bin:/bin", "OPENBLAS_NUM_THREADS": "1",
           "LANG": "C.UTF-8"}
    instructor = users["instructor"]
    return f"""
c = get_config()
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {ports['hub']}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {ports['hub_api']}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{ports['proxy_api']}"
c.ConfigurableHTTPProxy.command = [{str(PROXY)!r}]
c.ConfigurableHTTPProxy.pid_file = "{base / 'jupyterhub-proxy.pid'}"
c.JupyterHub.db_url = "sqlite:///{base / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = "{base / 'jupyterhub_cookie_secret'}"
c.JupyterHub.cleanup_servers = True
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = {secrets.token_hex(16)!r}
c.Authenticator.allowed_users = {set(users.values())!r}
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [{str(venv_bin / 'jupyterhub-singleuser')!r}]
c.Spawner.environment = {env!r}
c.Spawner.start_timeout = 240
c.Spawner.http_timeout = 240
c.JupyterHub.load_groups = {{"formgrade-{COURSE}": {{"users": [{instructor!r}]}}}}
c.JupyterHub.load_roles = [
    {{"name": "formgrade-{COURSE}", "groups": ["formgrade-{COURSE}"],
      "scopes": ["access:services!service={COURSE}", "list:services",
                 "read:services!service={COURSE}"]}},
    {{"name": "test-driver", "services": ["test-driver"],
      "scopes": ["admin:users", "admin:servers", "tokens", "access:servers",
                 "access:services", "list:users", "read:users", "list:services",
                 "read:services"]}},
]
c.JupyterHub.services = [
    {{"name": "{COURSE}", "url": "http://127.0.0.1:{ports['formgrader']}",
      "command": [{str(venv_bin / 'jupyterhub-singleuser')!r}],
      "user": {instructor!r}, "cwd": {str(course)!r},
      "environment": {dict(env, NNCOURSE_EXCHANGE=str(exchange))!r}}},
    {{"name": "test-driver", "api_token": {driver_token!r}}},
]
"""


STUDENT_CONFIG = """c = get_config()
c.CourseDirectory.course_id = {course!r}
c.Exchange.root = {exchange!r}
"""


@pytest.fixture(scope="module")
def hub():
    tag = secrets.token_hex(2)
    users = {"instructor": f"nnh{tag}i", "good": f"nnh{tag}a", "naive": f"nnh{tag}b"}
    base = Path(tempfile.mkdtemp(prefix="nncourse-hub-", dir="/tmp"))
    base.chmod(0o755)
    exchange = base / "exchange"
    exchange.mkdir()
    exchange.chmod(0o777)  # nbgrader's demos: `chmod ugo+rwx` on the exchange root
    proc, log = None, base / "jupyterhub.log"
    started = time.monotonic()
    try:
        homes = {name: make_user(name) for name in users.values()}
        course = homes[users["instructor"]] / "course"  # the instructor's copy of the course
        for part in ("nbgrader_config.py", f"solutions/{A}/{A}.ipynb", f"notebooks/{A}/{A}.ipynb"):
            (course / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / part, course / part)
        give(course, users["instructor"])
        for role in ("good", "naive"):
            config = homes[users[role]] / ".jupyter" / "nbgrader_config.py"
            config.parent.mkdir()
            config.write_text(STUDENT_CONFIG.format(course=COURSE, exchange=str(exchange)))
            give(config.parent, users[role])
        ports = {k: free_port() for k in ("hub", "hub_api", "proxy_api", "formgrader")}
        driver = secrets.token_hex(32)
        (base / "jupyterhub_config.py").write_text(
            hub_config(base, ports, users, course, exchange, driver))
        with open(log, "w") as out:
            proc = subprocess.Popen(
                [str(HUB_VENV / "bin" / "jupyterhub"), "-f", str(base / "jupyterhub_config.py")],
                cwd=base, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                env=dict(os.environ, PATH=f"{HUB_VENV / 'bin'}:{os.environ['PATH']}"))
        http = Http(f"http://127.0.0.1:{ports['hub']}")
        wait_for("the Hub", lambda: http("GET", "/hub/api/", driver)[0] == 200, 300, log)
        yield {"http": http, "driver": driver, "users": users, "homes": homes,
               "course": course, "exchange": exchange, "log": log, "started": started}
    finally:
        if proc is not None:  # the Hub stops the servers, its services and the proxy
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        stop_proxy(base / "jupyterhub-proxy.pid")  # left running if the Hub never came up
        for name in users.values():
            remove_user(name)
        shutil.rmtree(base, ignore_errors=True)


def token_for(hub, user: str, scopes: list[str]) -> str:
    status, body = hub["http"]("POST", f"/hub/api/users/{user}/tokens", hub["driver"],
                               data={"scopes": scopes, "note": "test"})
    assert status == 201, body
    return body["token"]


def start_server(hub, user: str) -> None:
    http, driver = hub["http"], hub["driver"]
    status, body = http("POST", f"/hub/api/users/{user}/server", driver)
    assert status in (201, 202), body

    def ready():
        status, info = http("GET", f"/hub/api/users/{user}", driver)
        return status == 200 and info["servers"].get("", {}).get("ready")

    wait_for(f"{user}'s server", ready, 240, hub["log"])


def test_release_fetch_submit_collect_grade_feedback(hub):
    http, users, homes, course = hub["http"], hub["users"], hub["homes"], hub["course"]
    instructor, good, naive = users["instructor"], users["good"], users["naive"]
    env = {"NNCOURSE_EXCHANGE": str(hub["exchange"])}
    timings = {"hub up": time.monotonic() - hub["started"]}

    def timed(name, since):
        timings[name] = time.monotonic() - since

    t = time.monotonic()
    with ThreadPoolExecutor(3) as pool:  # servers start while the instructor releases
        servers = [pool.submit(start_server, hub, s) for s in (good, naive)]
        as_user(instructor, ["nbgrader", "db", "assignment", "add", A], course, env)
        as_user(instructor, ["nbgrader", "release_assignment", A], course, env)
        for started in servers:
            started.result()
    timed("release + servers", t)
    assert (hub["exchange"] / COURSE / "outbound" / A / f"{A}.ipynb").is_file()

    t = time.monotonic()
    answers = {good: submission(A), naive: submission(A, {"softmax": NAIVE_SOFTMAX})}
    for student, answer in answers.items():
        token = token_for(hub, student, [f"access:servers!user={student}"])
        status, listed = http("POST", f"/user/{student}/assignments/fetch", token,
                              form={"course_id": COURSE, "assignment_id": A})
        assert status == 200 and listed["success"], listed
        fetched = homes[student] / A / f"{A}.ipynb"
        assert fetched.is_file() and fetched.stat().st_uid == pwd.getpwnam(student).pw_uid
        status, saved = http("PUT", f"/user/{student}/api/contents/{A}/{A}.ipynb", token,
                             data={"type": "notebook", "format": "json",
                                   "content": json.loads(nbformat.writes(answer))})
        assert status == 200, saved
        status, listed = http("POST", f"/user/{student}/assignments/submit", token,
                              form={"course_id": COURSE, "assignment_id": A})
        assert status == 200 and listed["success"], listed
    inbound = sorted(p.name.split("+")[0] for p in
                     (hub["exchange"] / COURSE / "inbound").iterdir())
    assert inbound == sorted(answers)
    timed("fetch + answer + submit", t)

    t = time.monotonic()
    as_user(instructor, ["nbgrader", "collect", A], course, env)
    for student in answers:
        assert (course / "grading" / "submitted" / student / A / "timestamp.txt").is_file()
    graded = as_user(instructor, [str(HUB_VENV / "bin" / "python"), "-m", "autograder", "grade",
                                  "grading/submitted", "--cell-timeout", "30"],
                     course, dict(env, NNCOURSE_GRADING_DIR=str(course / "grading")))
    timed("collect + grade", t)
    results = json.loads((course / "grading" / "results.json").read_text())
    totals: dict[str, float] = {}
    for g in results["grades"]:
        totals[g["student"]] = totals.get(g["student"], 0) + g["score"]
    assert totals == {good: 100, naive: 65}, graded

    t = time.monotonic()  # the formgrader, a Hub service, for the instructor only
    teacher = token_for(hub, instructor, [f"access:services!service={COURSE}"])
    status, assignments = http("GET", f"/services/{COURSE}/formgrader/api/assignments", teacher)
    assert status == 200, assignments
    [listed] = [a for a in assignments if a["name"] == A]
    assert listed["num_submissions"] == 2
    student_token = token_for(hub, good, [f"access:servers!user={good}"])
    status, _ = http("GET", f"/services/{COURSE}/formgrader/api/assignments", student_token)
    assert status in (302, 403)
    timed("formgrader", t)

    print("jupyterhub timings (s): " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()))
    t = time.monotonic()
    kept = course / "grading" / "submitted" / good / A / "submission_secret.txt"
    assert kept.exists(), "grading dropped nbgrader's submission_secret.txt"
    as_user(instructor, ["nbgrader", "release_feedback", A], course, env)
    for student, expected in ((good, "100"), (naive, "65")):
        token = token_for(hub, student, [f"access:servers!user={student}"])
        status, listed = http("POST", f"/user/{student}/assignments/fetch_feedback", token,
                              form={"course_id": COURSE, "assignment_id": A})
        assert status == 200 and listed["success"], listed
        [page] = (homes[student] / A / "feedback").glob(f"*/{A}.html")
        relative = urllib.parse.quote(str(page.relative_to(homes[student])))
        status, content = http("GET", f"/user/{student}/api/contents/{relative}", token)
        assert status == 200 and f"Score: {expected}" in content["content"], student
        assert "BEGIN HIDDEN TESTS" not in content["content"]
    timed("feedback", t)
    print(f"jupyterhub: feedback {timings['feedback']:.0f} s")
