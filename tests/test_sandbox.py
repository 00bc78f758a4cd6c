"""The sandbox and the out-of-process checker, piece by piece, with real kernels.

- wire: only plain data crosses, strictly decoded;
- the grading copy of nnlib: no reference of the graded notebook, not even its source;
- a sandboxed kernel: what it can see, reach and use;
- proxies: every exercise's reference passes through them, visible and hidden, and wrong
  answers get the very message the in-process checker gives; side effects, callbacks,
  generators, warnings, exceptions, time limits and broken kernels behave as checks expect.
"""

from __future__ import annotations

import ast
import inspect
import io
import json
import linecache
import os
import socket
import struct
import textwrap
from contextlib import redirect_stdout

import numpy as np
import pytest

import nnlib
from autograder import core
from autograder.sandbox import bubblewrap, wire
from autograder.sandbox.kernel import Kernel
from autograder.sandbox.proxy import ChannelBroken, RemoteFunction, remote_class
from autograder.sandbox.verify import verify

pytestmark = pytest.mark.skipif(not bubblewrap.available(), reason="needs bubblewrap")


# --- wire ----------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [
    None, True, 3, -2.5, float("inf"), "text", [1, [2.0]], (1, (2, "x")),
    {"W1": np.ones((2, 3), np.float32), 3: None, (1, 2): [np.int64(4)]},
    np.arange(6).reshape(2, 3)[:, ::2], np.float32(1.5), np.array(True), np.zeros((0, 4)),
    {"W1", "b2"}, frozenset({1, (2, 3)}),
    np.array([1 + 2j]),
])
def test_plain_data_round_trips(value):
    back = wire.decode(json.loads(json.dumps(wire.encode(value))))
    assert core.same(back, value) and type(back) is type(value)


@pytest.mark.parametrize("bad", [
    {"t": "nd", "dtype": "|O", "shape": [1], "b64": "AAAAAAAAAAA="},
    {"t": "nd", "dtype": "<f8", "shape": [2], "b64": "AAAAAAAAAAA="},
    {"t": "nd", "dtype": [("a", "<f8")], "shape": [1], "b64": "AAAAAAAAAAA="},
    {"t": "pickle", "v": "gASVAAAAAAAAAAA="},
    {"t": "dict", "v": [[[1], 2]]},
    {"not": "tagged"},
])
def test_anything_else_is_refused(bad):
    with pytest.raises(wire.WireError):
        wire.decode(bad)


def test_objects_cross_as_their_type_name_only():
    class Sneaky:
        def __float__(self):
            raise AssertionError("never called")

    assert wire.encode([Sneaky(), np.array([object()])]) == [
        {"t": "opaque", "type": "Sneaky"}, {"t": "opaque", "type": "ndarray of dtype object"}]


def test_a_frame_claiming_to_be_huge_is_refused_before_it_is_read():
    a, b = socket.socketpair()
    a.sendall(struct.pack("!Q", wire.MAX_FRAME + 1))
    with pytest.raises(wire.WireError):
        wire.recv(b)


# --- the grading copy of nnlib -------------------------------------------------------------
def _body_statements(fn) -> list[str]:
    """The unparsed statements of a function's body (docstring aside), long enough to matter."""
    node = ast.parse(textwrap.dedent(inspect.getsource(fn))).body[0]
    body = node.body[1:] if ast.get_docstring(node) else node.body
    return [s for s in (ast.unparse(stmt) for stmt in body) if len(s) >= 30]


def _statements_of(name: str) -> list[str]:
    fn = getattr(nnlib, name, None) or next(
        getattr(m, name) for m in vars(nnlib).values()
        if inspect.ismodule(m) and hasattr(m, name))
    if inspect.isclass(fn):
        return [s for _, m in inspect.getmembers(fn, inspect.isfunction)
                for s in _body_statements(m)]
    return _body_statements(fn)


def _code_without_docstrings(path) -> str:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(getattr(body[0], "value", None), ast.Constant) \
                and isinstance(body[0].value.value, str):
            body[0] = ast.Pass()  # the contract may state a formula; the code may not
    return ast.unparse(tree)


def _idioms() -> set[str]:
    """Statements in three or more of nnlib's functions: idioms (a default for config), not
    any one exercise's logic."""
    from collections import Counter
    from pathlib import Path

    counts = Counter()
    for path in Path(nnlib.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                counts.update({ast.unparse(stmt) for stmt in node.body})
    return {statement for statement, n in counts.items() if n >= 3}


@pytest.mark.parametrize("notebook", list(nnlib.EXERCISES))
def test_the_grading_copy_holds_no_reference_of_the_notebook(notebook, tmp_path):
    """No statement of a withheld function's body is left anywhere in the copy's code, but in
    the exercises of earlier notebooks (which stay) and idioms shared by many functions."""
    from pathlib import Path

    copies = bubblewrap.package_copies(notebook, tmp_path)
    copy = next(v for k, v in copies.items() if k.endswith("nnlib"))
    unparsed = "\n".join(_code_without_docstrings(p) for p in sorted(Path(copy).rglob("*.py")))
    order = list(nnlib.EXERCISES)
    earlier = {s for nb in order[:order.index(notebook)] for name in nnlib.EXERCISES[nb]
               for s in _statements_of(name)} | _idioms()
    for name in bubblewrap.hidden_names(notebook):
        leaked = [s for s in _statements_of(name) if s in unparsed and s not in earlier]
        assert not leaked, (notebook, name, leaked)
    assert "is not available while this notebook is graded" in unparsed.replace("\\'", "'")


# --- a sandboxed kernel --------------------------------------------------------------------
@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    folder = tmp_path_factory.mktemp("student")
    (folder / "mine.txt").write_text("my own file")
    k = Kernel("01_loss_functions", str(folder))
    yield k
    k.shutdown()


def run(kernel, code: str, timeout: float = 20) -> str:
    """Run ``code`` in the kernel; what it printed, read back through a channel."""
    status, detail = kernel.execute(f"_out = None\n{code}", timeout)
    assert status == "ok", detail
    channel = kernel.channel()
    try:
        return RemoteFunction(channel, "lambda: _out")()
    finally:
        channel.close()


def test_the_sandbox_hides_the_course_and_the_network(kernel):
    from conftest import ROOT

    assert run(kernel, f"import os\n_out = os.path.exists({str(ROOT / 'solutions')!r})") is False
    assert run(kernel, f"_out = sorted(os.listdir({str(ROOT)!r}))") == sorted(
        [".venv", "autograder", "nnlib"])
    assert run(kernel, "_out = open('mine.txt').read()") == "my own file"
    assert run(kernel, "import socket\ntry:\n    socket.create_connection(('127.0.0.1', 22), 1)"
                       "\n    _out = 'reached'\nexcept OSError as e:\n    _out = str(e)") \
        != "reached"
    import tempfile

    with tempfile.NamedTemporaryFile(dir="/tmp", prefix="host-only-") as host_file:
        seen = run(kernel, "_out = os.listdir('/tmp')")
        assert os.path.basename(host_file.name) not in seen  # a private /tmp
        assert os.path.basename(kernel.km.rundir) in seen
    assert run(kernel, "_out = 'NNCOURSE_HIDDEN_SEED' in os.environ") is False
    if bubblewrap.is_root():
        assert run(kernel, "_out = os.getuid()") >= 200_000


def test_the_sandbox_limits_memory_processes_and_files(kernel):
    limits = run(kernel, "import resource\n_out = [resource.getrlimit(getattr(resource, n))[0] "
                         "for n in ('RLIMIT_AS', 'RLIMIT_FSIZE', 'RLIMIT_CPU', 'RLIMIT_NPROC')]")
    expected = bubblewrap.Limits()
    assert limits[:3] == [expected.memory_bytes, expected.file_bytes, expected.cpu_seconds]
    if bubblewrap.is_root():
        assert limits[3] == expected.processes
    assert run(kernel, "try:\n    b = bytearray(8 * 2**30)\n    _out = 'allocated'\n"
                       "except MemoryError:\n    _out = 'refused'") == "refused"


def test_the_graded_notebooks_references_are_withheld_but_earlier_ones_stay(kernel):
    out = run(kernel, "import nnlib\nimport numpy as np\ntry:\n"
                      "    nnlib.softmax(np.zeros((1, 2)))\n"
                      "except RuntimeError as e:\n    _out = str(e)")
    assert "not available while this notebook is graded" in out
    assert run(kernel, "_out = nnlib.one_hot(np.array([1]), 2)").tolist() == [[0.0, 1.0]]


# --- proxies: every reference passes, wrong answers read the same --------------------------
@pytest.fixture(scope="module")
def reference_kernel(tmp_path_factory):
    k = Kernel("", str(tmp_path_factory.mktemp("reference")), sandboxed=False)
    status, detail = k.execute("import numpy as np\nimport nnlib", 60)
    assert status == "ok", detail
    yield k
    k.shutdown()


def test_every_reference_passes_through_proxies_visible_and_hidden(reference_kernel):
    exercises = [(name, f"nnlib.{name}") for name in core.REGISTRY]
    verdicts = verify(exercises, reference_kernel.channel)
    failed = {n: v.message for n, v in verdicts.items() if not v.passed}
    assert not failed


WRONG = {  # exercise: source of a wrong answer, defined both here and in the kernel
    "softmax": "def softmax(scores):\n    e = np.exp(scores)\n    return e / e.sum(axis=1, "
               "keepdims=True)\n",
    "mse_loss": "def mse_loss(y_pred, y_true):\n    return np.sum((y_pred - y_true) ** 2)\n",
    "standardize": "def standardize(X_train, X):\n    X -= X_train.mean(0)\n    return X\n",
    "iterate_minibatches": "def iterate_minibatches(X, y, batch_size, rng=None):\n"
                           "    for s in range(0, len(X) - batch_size + 1, batch_size):\n"
                           "        yield X[s:s + batch_size], y[s:s + batch_size]\n",
    "numeric_gradient": "def numeric_gradient(f, x, h=1e-5):\n    g = np.zeros_like(x)\n"
                        "    for i in np.ndindex(x.shape):\n        x[i] += h\n"
                        "        g[i] = (f(x) - f(x - 2 * h)) / (2 * h)\n    return g\n",
    "dropout_forward": "def dropout_forward(x, keep_prob, train, rng):\n"
                       "    mask = rng.random(x.shape) < keep_prob\n"
                       "    return x * mask, mask\n",
    "sgd_momentum": "def sgd_momentum(w, dw, config=None):\n    config = config or {}\n"
                    "    return w - 1e-2 * dw, config\n",
    "affine_backward": "def affine_forward(x, W, b):\n    return x @ W + b, (W, x, b)\n"
                       "def affine_backward(dout, cache):\n    x, W, b = cache\n"
                       "    return dout @ W.T, x.T @ dout, dout.sum(0)\n",  # its own cache
    "Value": "class Value:\n    def __init__(self, data):\n"
             "        self.data, self.grad = data, 0.0\n"
             "    def __add__(self, o):\n        o = o if isinstance(o, Value) else Value(o)\n"
             "        return Value(self.data + o.data)\n    __radd__ = __add__\n"
             "    def backward(self):\n        self.grad = 1.0\n",
}


def _local_message(name: str, source: str) -> str:
    namespace = {"np": np}
    filename = f"<answer {name}>"  # its lines in tracebacks, as a notebook cell has them
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), namespace)
    try:
        with redirect_stdout(io.StringIO()):  # as verify does: visible, then hidden
            core.check(name, namespace[name])
            core.check(name, namespace[name], hidden=True)
    except AssertionError as failure:
        return str(failure)
    return "passed"


@pytest.mark.parametrize("name", sorted(WRONG))
def test_wrong_answers_get_the_same_message_through_a_proxy(name, reference_kernel):
    status, detail = reference_kernel.execute(WRONG[name], 20)
    assert status == "ok", detail
    verdict = verify([(name, name)], reference_kernel.channel)[name]
    assert not verdict.passed
    assert verdict.message == _local_message(name, WRONG[name])


def test_a_candidate_that_ignores_interrupts_breaks_its_channel(tmp_path):
    kernel = Kernel("", str(tmp_path), sandboxed=True)
    try:
        kernel.execute("import signal\ndef deaf(x):\n"
                       "    signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                       "    while True:\n        pass\n", 20)
        channel = kernel.channel()
        with pytest.raises(ChannelBroken, match="ignored the interrupt"), \
                core.remote_candidates(), core.time_limit(1.0):
            RemoteFunction(channel, "deaf")(1)
    finally:
        kernel.shutdown()


def test_a_slow_candidate_times_out_and_the_kernel_answers_again(tmp_path):
    kernel = Kernel("", str(tmp_path), sandboxed=True)
    try:
        kernel.execute("import time\ndef slow(x):\n    time.sleep(30)\n", 20)
        channel = kernel.channel()
        with pytest.raises(core.CandidateTimeout), core.remote_candidates(), \
                core.time_limit(1.0):
            RemoteFunction(channel, "slow")(1)
        assert RemoteFunction(channel, "lambda x: x + 1")(1) == 2
        channel.close()
    finally:
        kernel.shutdown()


def test_side_effects_are_mirrored_into_the_graders_objects(reference_kernel):
    reference_kernel.execute(textwrap.dedent("""
        def touch(x, d, rng):
            x[0] = 99.0
            d["new"] = 1
            rng.random()
            return x[1:], d
        def chatty(x):
            np.exp(np.array([1e4]))
            np.random.random()
            return (i for i in range(3))
        def boom(x):
            raise KeyError("nope")
    """), 20)
    channel = reference_kernel.channel()
    x, d, rng = np.zeros(4), {"old": 0}, np.random.default_rng(0)
    view, same_d = RemoteFunction(channel, "touch")(x, d, rng)
    assert x[0] == 99.0 and d == {"old": 0, "new": 1} and same_d is d
    assert np.shares_memory(view, x)
    assert rng.bit_generator.state != np.random.default_rng(0).bit_generator.state
    state = np.random.get_state()  # noqa: NPY002
    with pytest.warns(RuntimeWarning, match="overflow"):
        items = RemoteFunction(channel, "chatty")(1)
    assert list(items) == [0, 1, 2] and type(items).__name__ == "generator"
    assert not np.array_equal(np.random.get_state()[1], state[1])  # noqa: NPY002
    with pytest.raises(KeyError) as raised:
        RemoteFunction(channel, "boom")(1)
    assert raised.value.remote_where[0] == "boom"
    calls = []
    assert RemoteFunction(channel, "lambda f, v: f(v) * 2")(
        lambda v: calls.append(v) or v + 1, 3) == 8 and calls == [3]
    channel.close()


def test_value_handles_batch_a_deep_graph(reference_kernel):
    channel = reference_kernel.channel()
    V = remote_class(channel, "nnlib.Value")
    x = V(0.5)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    assert isinstance(y, V) and not isinstance(3, V)
    y.backward()
    assert abs(x.grad - 1.0001 ** 10_000) < 1e-6 and getattr(x, "nothing", None) is None
    channel.close()


def test_a_composite_is_graded_on_its_own_logic_with_nnlib_serving_the_broken_blocks(
        reference_kernel):
    """two_layer_net right, affine_backward wrong: affine_backward fails, two_layer_net passes
    with nnlib's affine_backward served over the channel, and its message says so."""
    import inspect as _inspect

    source = _inspect.getsource(nnlib.two_layer_net).replace("layers.", "").replace(
        "losses.", "").replace("def two_layer_net", "def two_layer_net_mine")
    status, detail = reference_kernel.execute(
        "from nnlib import affine_forward, relu_forward, relu_backward, cross_entropy_loss, "
        "softmax_cross_entropy_backward\n"
        "def affine_backward(dout, cache):\n    x, W, b = cache\n"
        "    return dout @ W.T, x.T @ dout * 2, dout.sum(0)\n" + source
        + "\ntwo_layer_net = two_layer_net_mine\n", 20)
    assert status == "ok", detail
    verdicts = verify([("affine_backward", "affine_backward"),
                       ("two_layer_net", "two_layer_net")], reference_kernel.channel)
    assert not verdicts["affine_backward"].passed
    assert verdicts["two_layer_net"].passed
    assert "with nnlib's affine_backward in place of yours" in verdicts["two_layer_net"].message
    channel = reference_kernel.channel()
    try:  # the served block was for the check's calls only
        assert RemoteFunction(channel, "lambda: affine_backward.__name__")() == "affine_backward"
    finally:
        channel.close()
