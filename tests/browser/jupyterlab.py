"""JupyterLab and Debian's Chromium, both offline (127.0.0.1 only): what the browser tests
(tests/browser/conftest.py) and the widget benchmark (bench/bench_widgets.py) share.

- ``start_lab(tmp, populate)``: JupyterLab started from this interpreter (the venv, so the
  ``python3`` kernel imports ``nnlib``), on a free port with a random token, in its own process
  group, with every Jupyter folder under ``tmp`` and the user settings that keep the UI quiet
  and deterministic (``SETTINGS``), serving a folder that ``populate(folder)`` fills;
  ``stop_lab(lab)`` ends its kernels and its process group.
- ``CHROMIUM``, ``CHROMIUM_ARGS``: Debian's Chromium (never a downloaded build), started so
  that it resolves no host but localhost; ``offline_context`` makes a browser context in which
  every request not to 127.0.0.1/localhost is aborted, too.
- ``LabPage``: one JupyterLab tab, reused: open a notebook, Run All Cells, close it.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync",
                 # and no way out even for the browser's own requests: no proxy, and no host
                 # name or address resolves except localhost and 127.0.0.1
                 "--no-proxy-server",
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"]
# What a page is opened with: room for a panel beside JupyterLab's side bar, no service workers.
CONTEXT_ARGS = {"viewport": {"width": 1400, "height": 1000}, "service_workers": "block"}
# Anything that is not http(s)/ws(s) to 127.0.0.1 or localhost.
NOT_LOCAL = re.compile(r"^(?!(https?|wss?)://(127\.0\.0\.1|localhost)(:\d+)?(/|$))")

# User settings (JUPYTERLAB_SETTINGS_DIR): no news or update toast over the page, the
# notebook's kernel starts without a dialog, every cell stays in the DOM, nothing is saved.
SETTINGS = {
    "@jupyterlab/apputils-extension/notification":
        {"fetchNews": "false", "doNotDisturbMode": True, "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker":
        {"autoStartDefaultKernel": True, "windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Lab:
    """A running JupyterLab: its address, token, the folder it serves, and its log."""

    base: str
    token: str
    root: Path
    log: Path
    proc: subprocess.Popen
    tmp: Path

    def url(self, path: str) -> str:
        return f"{self.base}/{path}?token={self.token}"

    def api(self, method: str, path: str, body=None, timeout: float = 30):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url(path), data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            text = resp.read()
        return json.loads(text) if text else None

    def start_kernel(self, nb_rel: str) -> str:
        """Start the notebook's kernel now (JupyterLab connects to it when the notebook opens),
        so that it boots while the page loads."""
        session = self.api("POST", "api/sessions", {
            "path": nb_rel, "name": Path(nb_rel).name, "type": "notebook",
            "kernel": {"name": "python3"}})
        return session["id"]

    def stop_kernels(self, nb_rel: str) -> None:
        for session in self.api("GET", "api/sessions"):
            if session["path"] == nb_rel:
                self.api("DELETE", f"api/sessions/{session['id']}")

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def _write_settings(settings_dir: Path) -> None:
    for plugin, values in SETTINGS.items():
        path = settings_dir / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values, indent=2))


def _processes_using(marker: str) -> list[int]:
    """Pids of processes whose command line mentions ``marker`` (our temporary folder):
    kernels run in sessions of their own, outside the server's process group."""
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and int(proc.name) != os.getpid():
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if marker in cmdline:
                pids.append(int(proc.name))
    return pids


def stop_lab(lab: Lab) -> None:
    """Shut the kernels down, end the server's process group, kill any kernel left over."""
    try:  # graceful: shut every kernel down through the server
        for kernel in lab.api("GET", "api/kernels", timeout=5):
            lab.api("DELETE", f"api/kernels/{kernel['id']}", timeout=10)
    except (OSError, urllib.error.URLError, ValueError):
        pass
    try:
        os.killpg(lab.proc.pid, signal.SIGTERM)
        lab.proc.wait(timeout=15)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(lab.proc.pid, signal.SIGKILL)
        lab.proc.wait(timeout=10)
    for pid in _processes_using(str(lab.tmp)):  # a kernel the server failed to stop
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class LabError(RuntimeError):
    """JupyterLab did not start; the message ends with the tail of its log."""


def start_lab(tmp: Path, populate: Callable[[Path], None]) -> Lab:
    """Start JupyterLab serving ``tmp/notebooks``, which ``populate`` fills first; wait until
    it answers (at most 120 s, else LabError)."""
    dirs = {name: tmp / name for name in
            ("config", "data", "runtime", "settings", "workspaces", "ipython", "notebooks")}
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    _write_settings(dirs["settings"])
    populate(dirs["notebooks"])
    env = {k: v for k, v in os.environ.items() if k not in ("MPLBACKEND", "JUPYTER_TOKEN")}
    env.update(JUPYTER_CONFIG_DIR=str(dirs["config"]), JUPYTER_DATA_DIR=str(dirs["data"]),
               JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
               JUPYTERLAB_SETTINGS_DIR=str(dirs["settings"]),
               JUPYTERLAB_WORKSPACES_DIR=str(dirs["workspaces"]),
               IPYTHONDIR=str(dirs["ipython"]), JUPYTER_PREFER_ENV_PATH="1")
    port, token = _free_port(), secrets.token_hex(16)
    log = tmp / "jupyterlab.log"
    # sys.executable is the venv's python: the server, and so the python3 kernel, are the venv's.
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
           "--ip=127.0.0.1", f"--port={port}", f"--IdentityProvider.token={token}",
           "--ServerApp.port_retries=0", "--LabApp.news_url=None",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           "--LabApp.extension_manager=readonly"]  # the "pypi" one may query PyPI
    with open(log, "w") as log_file:
        proc = subprocess.Popen(cmd, cwd=dirs["notebooks"], env=env, stdin=subprocess.DEVNULL,
                                stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
    server = Lab(f"http://127.0.0.1:{port}", token, dirs["notebooks"], log, proc, tmp)
    deadline = time.monotonic() + 120
    while True:
        if proc.poll() is not None:
            raise LabError(f"JupyterLab exited with {proc.returncode}:\n{server.log_tail()}")
        try:
            server.api("GET", "api/status", timeout=2)
            return server
        except (OSError, urllib.error.URLError):
            if time.monotonic() > deadline:
                stop_lab(server)
                raise LabError(f"JupyterLab did not answer within 120 s:\n"
                               f"{server.log_tail()}") from None
            time.sleep(0.2)


def offline_context(browser, blocked: list, init_scripts=(), **context_args):
    """A new context of ``browser`` in which every request and web socket not to
    127.0.0.1/localhost is aborted (its address appended to ``blocked``), with the scripts at
    the paths ``init_scripts`` added to every page."""
    context = browser.new_context(**context_args)

    def abort(route):
        blocked.append(route.request.url)
        route.abort()

    def close_socket(ws):
        blocked.append(ws.url)
        ws.close()

    context.route(NOT_LOCAL, abort)
    context.route_web_socket(NOT_LOCAL, close_socket)
    for path in init_scripts:
        context.add_init_script(path=path)
    context.set_default_timeout(30_000)
    return context


KERNEL_IDLE = "Python 3 (ipykernel) | Idle"  # the status bar once the kernel is connected


class LabPage:
    """One JupyterLab tab, loaded once and reused (loading JupyterLab costs 5-15 s): each test
    opens its notebook with File > Open from Path... and closes it again, discarding changes.
    After anything unexpected JupyterLab is loaded afresh, in a new workspace."""

    def __init__(self, context, lab: Lab):
        self.context, self.lab = context, lab
        self.page = None
        self.loads = 0

    def load(self) -> None:
        self.discard()
        self.loads += 1
        self.page = self.context.new_page()
        self.page.goto(self.lab.url(f"lab/workspaces/browser-tests-{self.loads}"),
                       timeout=90_000)
        self.page.locator(".jp-DirListing-content").wait_for(timeout=90_000)

    def discard(self) -> None:
        if self.page is not None and not self.page.is_closed():
            self.page.close()
        self.page = None

    def ready(self):
        """The page, with JupyterLab loaded and no notebook open."""
        if self.page is None or self.page.is_closed() or \
                self.page.locator(".jp-NotebookPanel, .nncourse-panel").count():
            self.load()
        return self.page

    def open(self, nb_rel: str) -> None:
        page = self.page
        page.get_by_role("menuitem", name="File", exact=True).click()
        page.get_by_role("menuitem", name=re.compile("^Open from Path")).click()
        path = page.locator(".jp-Dialog input")
        path.fill(nb_rel)
        path.press("Enter")
        page.locator(".jp-NotebookPanel").wait_for(timeout=60_000)
        page.locator(".jp-StatusBar-Widget").get_by_text(KERNEL_IDLE).wait_for(timeout=90_000)

    def run_all(self, timeout_ms: int = 180_000) -> dict:
        """Run > Run All Cells; once every cell ran or one failed: {errors, pending, cells}."""
        page = self.page
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        return page.wait_for_function(RUN_ALL_DONE, timeout=timeout_ms,
                                      polling=250).json_value()

    def close_notebooks(self) -> None:
        """Close every open notebook, discarding its changes; on any trouble, drop the page."""
        page = self.page
        try:
            for _ in range(10):
                if not page.locator(".jp-NotebookPanel").count():
                    return
                discard = page.locator(".jp-Dialog").get_by_role("button", name="Discard")
                if discard.count():
                    discard.click()
                else:
                    page.locator(".lm-DockPanel-tabBar .lm-mod-current "
                                 ".lm-TabBar-tabCloseIcon").first.click()
                page.wait_for_timeout(200)
        except Exception:  # whatever happened, the next test loads JupyterLab afresh
            pass
        self.discard()


# Every code cell ran (or one failed): what Run All Cells left on the page, else null.
RUN_ALL_DONE = """() => {
  const cells = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell')];
  const prompts = cells.map((c) => [
    (c.querySelector('.jp-InputPrompt') || {}).textContent || '',
    ((c.querySelector('.jp-InputArea-editor') || {}).textContent || '').trim()]);
  if (!cells.length || prompts.some(([p]) => p.includes('*'))) return null;
  const errors = [...document.querySelectorAll(
      '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
    .map((e) => e.textContent)
    .filter((t) => /Traceback \\(most recent call last\\)|^\\w*(Error|Exception)\\b/m.test(t))
    .map((t) => t.slice(-1500));
  const pending = prompts.filter(([p, src]) => src && !/^\\[\\d+\\]:$/.test(p.trim())).length;
  if (pending && !errors.length) return null;
  return {errors, pending, cells: cells.length};
}"""
