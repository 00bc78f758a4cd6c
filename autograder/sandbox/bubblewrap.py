"""The sandbox a student's kernel runs in: Debian's bubblewrap, and what it lets the kernel see.

Inside (``command``):
- the system (``/usr``, ``/etc``), the Python installation and the virtual environment,
  read-only, and nothing else of the host: no course folder, no ``solutions/``, no grading
  folder (gradebook, submissions, originals, the salt), no other student's files, no home;
- ``nnlib`` and ``autograder`` replaced by *grading copies* (``package_copies``): nnlib with
  the reference of every exercise of the notebook being graded (and the helpers that compute
  the same thing, ``nnlib.EQUIVALENTS``) replaced by a function that raises, autograder
  reduced to the kernel side of the channel and a ``check`` that says grading happens outside;
- a private ``/tmp``: a tmpfs of at most ``Limits.disk_bytes``, holding the kernel's writable
  scratch folder (its working directory and home: a copy of the student's own files, made
  from the run folder's ``files`` as the kernel starts), so nothing it writes reaches the
  host's disk; the run folder with the kernel's IPC sockets and the grader's channel, which is
  root's and read-only for the kernel once it has started (as root);
- its own network namespace (no network at all: the kernel is reached over unix sockets), its
  own PID namespace (nothing it starts outlives it), a new session, an empty environment but
  for a few variables, and no capabilities: as root, the kernel runs as an unprivileged user
  of its own (``sandbox_uid``);
- limits (``Limits``) on address space, processes, file size and CPU time per process
  (``prlimit``); the limits for all of a kernel's processes together (memory, CPU share,
  processes) are its cgroup's (``cgroups``) or, without cgroups, the watchdog's (``watchdog``).
"""

from __future__ import annotations

import ast
import hashlib
import os
import secrets
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

BWRAP = shutil.which("bwrap") or "/usr/bin/bwrap"


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot make namespaces here."""


@dataclass(frozen=True)
class Limits:
    """What one kernel may use: per process (prlimit) and, with its cgroup or watchdog, all
    its processes together (memory, processes, CPU)."""

    memory_bytes: int = 4 * 2**30
    processes: int = 128
    file_bytes: int = 64 * 2**20
    cpu_seconds: int = 1200
    cpu_cores: float = 1.0
    disk_bytes: int = 512 * 2**20
    """The sandbox's /tmp (scratch folder included): a tmpfs of this size."""

    def memory_reason(self) -> str:
        """Why a kernel over ``memory_bytes`` was stopped, as the student reads it."""
        return (f"the kernel used more than {self.memory_bytes / 2**30:g} GiB of memory (all its "
                "processes together) and was stopped")

    def prlimit(self, switch_user: bool) -> list[str]:
        args = ["prlimit", f"--as={self.memory_bytes}", f"--fsize={self.file_bytes}",
                f"--cpu={self.cpu_seconds}"]
        if switch_user:  # RLIMIT_NPROC counts the sandbox user's processes (root is exempt)
            args.append(f"--nproc={self.processes}")
        return [*args, "--"]


def available() -> bool:
    return os.path.exists(BWRAP) and shutil.which("prlimit") is not None


def require() -> None:
    if not available():
        raise SandboxUnavailable(
            "grading runs students' code in a bubblewrap sandbox, and `bwrap` (or `prlimit`) is "
            "not installed: run `make sandbox` (Debian: apt-get install bubblewrap)")


def is_root() -> bool:
    return os.geteuid() == 0


def sandbox_uid() -> int:
    """A fresh unprivileged user id for one kernel, so its process limit is its own."""
    return 200_000 + secrets.randbelow(100_000)


def _real(path) -> str:
    return os.path.realpath(str(path))


def _dirs_to(path: str, made: set[str]) -> list[str]:
    """``--dir`` arguments (mode 0755) for every ancestor of ``path`` not made yet."""
    args = []
    parts = Path(path).parts
    for i in range(2, len(parts)):
        ancestor = str(Path(*parts[:i]))
        if ancestor not in made:
            made.add(ancestor)
            args += ["--perms", "0755", "--dir", ancestor]
    return args


SCRATCH = "/tmp/home"
"""The kernel's working directory and home, on the sandbox's /tmp (a tmpfs)."""

PRELUDE = 'mkdir -p "$HOME" && cp -R "$1"/. "$HOME"/ && cd "$HOME" && shift && exec "$@"'
"""sh -c, in the sandbox as the kernel's user: the student's files into the scratch folder,
then exec the kernel."""


def command(inner: list[str], *, rundir: str, files: str, packages: dict[str, str],
            limits: Limits = Limits(), uid: int | None = None) -> list[str]:
    """The command line running ``inner`` (the kernel) in the sandbox.

    files: the folder (in ``rundir``) whose copy the kernel starts in (``SCRATCH``).
    packages: real path of an importable package -> the folder to show there instead.
    uid: the user the kernel runs as (root only; None keeps the caller's).
    """
    scratch = SCRATCH
    made: set[str] = set()
    args = [BWRAP, "--die-with-parent", "--new-session", "--clearenv"]
    if is_root():
        # no user namespace: we switch to an unprivileged uid ourselves (setpriv, below)
        args += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
                 "--unshare-cgroup-try"]
    else:
        args += ["--unshare-all"]
    for top in ("bin", "lib", "lib64", "sbin", "lib32", "libx32"):
        host = f"/{top}"
        if os.path.islink(host):
            args += ["--symlink", os.readlink(host), host]
        elif os.path.isdir(host):
            args += ["--ro-bind", host, host]
    args += ["--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc",
             "--dev", "/dev", "--proc", "/proc",
             "--perms", "01777", "--size", str(limits.disk_bytes), "--tmpfs", "/tmp"]
    python_dirs = sorted({_real(sys.base_prefix), _real(sys.prefix)})
    for folder in python_dirs:
        if not folder.startswith("/usr/"):
            args += _dirs_to(folder, made) + ["--ro-bind", folder, folder]
    for real, shown in packages.items():
        args += _dirs_to(real, made) + ["--ro-bind", shown, real]
    args += _dirs_to(rundir, made) + ["--bind", rundir, rundir]
    env = {"HOME": scratch, "PATH": f"{os.path.dirname(sys.executable)}:/usr/bin:/bin",
           "LANG": "C.UTF-8", "IPYTHONDIR": f"{scratch}/.ipython",
           "MPLCONFIGDIR": f"{scratch}/.matplotlib", "MPLBACKEND": "Agg",
           "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "PYTHONDONTWRITEBYTECODE": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1",
           "NNCOURSE_SANDBOXED": "1"}
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",  # this machine's BLAS settings
                 "NNCOURSE_SANDBOX_LABEL"):  # a label a test can find its sandboxes by
        if name in os.environ:
            env[name] = os.environ[name]
    for name, value in env.items():
        args += ["--setenv", name, value]
    args += ["--chdir", "/tmp"]
    if uid is not None:
        args += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                 "--inh-caps=-all", "--bounding-set=-all", "--"]
    prelude = ["/bin/sh", "-c", PRELUDE, "sh", files]
    return limits.prlimit(uid is not None) + args + prelude + inner


# --- what the kernel may import ------------------------------------------------------------
def _package_dir(name: str) -> str:
    module = __import__(name)
    return _real(list(module.__path__)[0])


def hidden_names(notebook: str) -> set[str]:
    """The nnlib names a kernel grading ``notebook`` must not have: its exercises and every
    helper that computes one of them."""
    import nnlib

    names = set(nnlib.EXERCISES.get(notebook, []))
    for name in list(names):
        names.update(nnlib.EQUIVALENTS.get(name, ()))
    return names


_WITHHELD = ("raise RuntimeError({message!r})")


def withhold(source: str, names: set[str], module: str) -> str:
    """``source`` with the top-level functions and classes called ``names`` replaced by ones
    that raise (their docstring kept); every other line unchanged."""
    tree = ast.parse(source)
    hit = False
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) \
                and node.name in names:
            hit = True
            message = (f"{module}.{node.name} is not available while this notebook is graded: "
                       "the grader checks your own implementation")
            raising = ast.parse(_WITHHELD.format(message=message)).body
            doc = ast.get_docstring(node)
            keep = [ast.Expr(ast.Constant(doc))] if doc else []
            if isinstance(node, ast.ClassDef):
                init = ast.parse("def __init__(self, *args, **kwargs):\n    pass").body[0]
                init.body = raising
                node.body = keep + [init]
            else:
                node.body = keep + raising
    return ast.unparse(tree) + "\n" if hit else source


SANDBOX_AUTOGRADER = '''"""The checker as a graded kernel sees it: grading happens outside."""

from nnlib import EXERCISES


def check(name, candidate, *, hidden=False):
    """While a notebook is graded, every exercise is checked by the grader, outside."""
    print(f"{name}: checked by the grader, outside this kernel")


__all__ = ["EXERCISES", "check"]
'''


def package_copies(notebook: str, cache: Path) -> dict[str, str]:
    """{real package path: grading copy} for nnlib and autograder, made once under ``cache``."""
    nnlib_dir, autograder_dir = _package_dir("nnlib"), _package_dir("autograder")
    names = hidden_names(notebook)
    digest = hashlib.sha256()
    for folder in (nnlib_dir, os.path.join(autograder_dir, "sandbox")):
        for path in sorted(Path(folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path).encode() + path.read_bytes())
    digest.update(",".join(sorted(names)).encode())
    target = Path(cache) / f"{notebook}-{digest.hexdigest()[:16]}"
    if not target.exists():
        work = Path(tempfile.mkdtemp(dir=cache))
        _copy_nnlib(Path(nnlib_dir), work / "nnlib", names)
        sandbox = work / "autograder" / "sandbox"
        sandbox.mkdir(parents=True)
        (work / "autograder" / "__init__.py").write_text(SANDBOX_AUTOGRADER)
        for name in ("__init__.py", "wire.py", "kernel_side.py"):
            shutil.copy(os.path.join(autograder_dir, "sandbox", name), sandbox / name)
        for path in work.rglob("*"):
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        os.chmod(work, 0o755)
        try:
            work.rename(target)
        except OSError:  # made meanwhile by another grader
            shutil.rmtree(work, ignore_errors=True)
    return {nnlib_dir: str(target / "nnlib"), autograder_dir: str(target / "autograder")}


def _copy_nnlib(source: Path, target: Path, names: set[str]) -> None:
    for path in sorted(source.rglob("*")):
        if "__pycache__" in path.parts or path.suffix == ".pyc":
            continue
        dest = target / path.relative_to(source)
        if path.is_dir():
            dest.mkdir(parents=True, exist_ok=True)
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".py":
            module = "nnlib" + "".join(f".{p}" for p in path.relative_to(source).with_suffix(
                "").parts if p != "__init__")
            dest.write_text(withhold(path.read_text(), names, module))
        else:
            shutil.copy(path, dest)
