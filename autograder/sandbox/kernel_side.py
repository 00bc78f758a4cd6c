"""The only grading code that runs in the student's kernel: it calls what it is asked to call.

``serve(path)`` connects to the trusted grader's unix socket and answers its requests until
told it is done:

- ``call``: evaluate a name in the notebook's namespace (e.g. ``softmax``), call it with the
  decoded arguments, and send back what it returned (drained, if it is a generator), the
  arguments as they are afterwards (the grader mirrors in-place changes), the NumPy
  RuntimeWarnings it emitted and whether it drew from NumPy's global generator; or the
  exception it raised, as its type name, message and the student's line;
- ``batch``: operations on objects kept here by handle (``Value`` nodes): create, ``+ - * /
  **``, unary ``-``, method calls, and reads of an attribute, an ``isinstance`` or a type name;
- callables among the arguments are the grader's: calling one sends a ``callback`` over the
  same socket and waits for its ``return`` (or ``raise``).

Nothing here decides anything: it knows no expected value, no salt and no verdict, so a
student who replaces it gains nothing but a broken channel.
"""

from __future__ import annotations

import builtins
import inspect
import itertools
import operator
import signal
import socket
import traceback
import warnings

import numpy as np

from . import wire

DRAIN_LIMIT = 10_000
"""Items taken from a returned generator at most."""

_OPERATORS = {"add": operator.add, "sub": operator.sub, "mul": operator.mul,
              "truediv": operator.truediv, "pow": operator.pow}


class _Interrupted(BaseException):
    """The grader interrupted the running call (it ran past its time)."""


def remote_exception(type_name: str, message: str) -> BaseException:
    """An exception to raise for one described by name: the builtin of that name if there
    is one, else a RuntimeError saying what it was."""
    cls = getattr(builtins, type_name, None)
    if isinstance(cls, type) and issubclass(cls, Exception):
        return cls(message)
    return RuntimeError(f"{type_name}: {message}")


def where(exc: BaseException) -> list | None:
    """[function, line number, line] of the last frame outside this module, or None."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename != __file__]
    if not frames:
        return None
    last = frames[-1]
    return [last.name, last.lineno, (last.line or "").strip()]


class _Server:
    def __init__(self, sock: socket.socket, namespace: dict):
        self.sock = sock
        self.namespace = namespace
        self.handles: dict[int, object] = {}
        self.in_call = False
        self.pending = False  # an interrupt that came while a frame was being sent or read

    # --- plumbing ---
    def on_sigint(self, signum, frame):
        if self.in_call:
            raise _Interrupted
        self.pending = True

    def loop(self) -> None:
        previous = signal.signal(signal.SIGINT, self.on_sigint)
        try:
            while True:
                try:
                    request = wire.recv(self.sock)
                except EOFError:
                    return
                op = request.get("op")
                if op == "done":
                    return
                reply = self.answer(request)
                try:
                    wire.send(self.sock, reply, max_items=wire.REPLY_ITEMS)
                except wire.WireError as exc:
                    wire.send(self.sock, {"kind": "error", "type": "ValueError",
                                          "message": f"what it returned cannot be sent: {exc}"})
        finally:
            signal.signal(signal.SIGINT, previous)

    def answer(self, request: dict) -> dict:
        op = request.get("op")
        try:
            if op == "call":
                return self.call(request)
            if op == "batch":
                return self.batch(request["ops"])
            if op == "release":
                self.handles.clear()
                return {"kind": "result", "value": None}
            return {"kind": "error", "type": "ValueError", "message": f"unknown request {op!r}"}
        except _Interrupted:
            return {"kind": "interrupted"}

    def run_student(self, fn, *args, **kwargs):
        """Call student code with the grader's interrupt armed."""
        self.in_call = True
        try:
            return fn(*args, **kwargs)
        finally:
            self.in_call = False

    def error(self, exc: BaseException, **extra) -> dict:
        if isinstance(exc, _Interrupted):
            raise exc
        return {"kind": "error", "type": type(exc).__name__,
                "message": str(exc)[:2000], "where": where(exc), **extra}

    # --- decoding the grader's arguments ---
    def decode_arg(self, tag: str, obj: dict):
        if tag == "rng":
            generator = np.random.Generator(getattr(np.random, obj["bitgen"])())
            generator.bit_generator.state = wire.decode(obj["state"])
            return generator
        if tag == "fn":
            return self.callback(int(obj["id"]))
        if tag == "view":  # a non-contiguous view: its base, and where in it (bounds checked)
            return np.ndarray(obj["shape"], dtype=np.dtype(obj["dtype"]),
                              buffer=wire.decode_array(obj["base"]), offset=obj["offset"],
                              strides=obj["strides"])
        if tag == "handle":
            return self.handles[int(obj["id"])]
        return NotImplemented

    def callback(self, ident: int):
        def grader_function(*args, **kwargs):
            message = {"kind": "callback", "id": ident, "args": wire.encode(list(args)),
                       "kwargs": wire.encode(kwargs)}
            calling, self.in_call, self.pending = self.in_call, False, False
            try:  # whole frames only: an interrupt now waits until they are sent and read
                wire.send(self.sock, message, max_items=wire.REPLY_ITEMS)
                reply = wire.recv(self.sock)
            finally:
                self.in_call = calling
            if self.pending and calling:
                self.pending = False
                raise _Interrupted
            if reply.get("kind") == "return":
                return wire.decode(reply["value"])
            raise remote_exception(str(reply.get("type")), str(reply.get("message")))

        grader_function.__name__ = grader_function.__qualname__ = f"grader_function_{ident}"
        return grader_function

    # --- encoding what the candidate gave back ---
    def encoder(self, args: list, kwargs: dict):
        """``extra`` for ``wire.encode``: inputs returned as they are (by path), arrays that
        share memory with an input (as a view of it), generators drained."""
        inputs = list(_walk(args, ["a"])) + list(_walk(kwargs, ["k"]))

        def extra(value):
            for path, obj in inputs:
                if value is obj and isinstance(obj, (np.ndarray, list, dict)):
                    return {"t": "ref", "path": path}
            if isinstance(value, np.ndarray):
                for path, obj in inputs:
                    if isinstance(obj, np.ndarray) and np.shares_memory(value, obj):
                        return {"t": "view", "path": path,
                                "offset": int(value.__array_interface__["data"][0]
                                              - obj.__array_interface__["data"][0]),
                                "shape": list(value.shape), "strides": list(value.strides),
                                "dtype": value.dtype.str}
            if inspect.isgenerator(value) or (hasattr(value, "__next__")
                                              and hasattr(value, "__iter__")):
                items = list(itertools.islice(value, DRAIN_LIMIT + 1))
                return {"t": "gen", "more": len(items) > DRAIN_LIMIT,
                        "v": [wire.encode(i, extra) for i in items[:DRAIN_LIMIT]]}
            return None

        return extra

    def call(self, request: dict) -> dict:
        try:
            fn = eval(request["expr"], self.namespace)  # noqa: S307  (the notebook's own name)
            args = wire.decode(request["args"], self.decode_arg)
            kwargs = wire.decode(request["kwargs"], self.decode_arg)
            binds = wire.decode(request.get("binds", {"t": "dict", "v": []}), self.decode_arg)
        except Exception as exc:
            return self.error(exc, stage="lookup")
        missing = object()
        saved = {name: self.namespace.get(name, missing) for name in binds}
        self.namespace.update(binds)  # the grader's building blocks, for this call only
        try:
            return self._call(fn, args, kwargs)
        finally:
            for name, value in saved.items():
                if value is missing:
                    self.namespace.pop(name, None)
                else:
                    self.namespace[name] = value

    def _call(self, fn, args: list, kwargs: dict) -> dict:
        state = np.random.get_state()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                with np.errstate(over="warn", invalid="warn", divide="warn", under="ignore"):
                    result = self.run_student(fn, *args, **kwargs)
                    value = self.run_student(wire.encode, result, self.encoder(args, kwargs))
            except _Interrupted:
                raise
            except BaseException as exc:  # SystemExit and KeyboardInterrupt too: an answer
                return self.error(exc)
        after = np.random.get_state()
        used_global = not (after[0] == state[0] and np.array_equal(after[1], state[1])
                           and after[2:] == state[2:])
        numeric = [[w.category.__name__, str(w.message)[:500]] for w in caught
                   if issubclass(w.category, RuntimeWarning)][:20]
        return {"kind": "result", "value": value, "warnings": numeric, "global_rng": used_global,
                "args": [_after(a) for a in args],
                "kwargs": {k: _after(v) for k, v in kwargs.items()}}

    def batch(self, ops: list) -> dict:
        """Operations on handles, in order; values for the reads. Stops at the first error."""
        values = []
        for index, op in enumerate(ops):
            try:
                values.extend(self.apply(op))
            except _Interrupted:
                raise
            except BaseException as exc:
                return self.error(exc, index=index, values=values)
        return {"kind": "result", "value": values}

    def apply(self, op: dict) -> list:
        kind = op["kind"]
        ref = lambda key: wire.decode(op[key], self.decode_arg)  # noqa: E731
        if kind == "new":
            cls = eval(op["cls"], self.namespace)  # noqa: S307
            self.handles[op["id"]] = self.run_student(cls, *ref("args"))
        elif kind == "binary":
            self.handles[op["id"]] = self.run_student(_OPERATORS[op["op"]], ref("a"), ref("b"))
        elif kind == "neg":
            self.handles[op["id"]] = self.run_student(operator.neg, ref("a"))
        elif kind == "method":
            method = getattr(ref("target"), op["name"])
            self.handles[op["id"]] = self.run_student(method, *ref("args"))
        elif kind == "get":
            target = ref("target")
            try:
                value = self.run_student(getattr, target, op["name"])
            except AttributeError:
                return [{"t": "absent"}]
            return [wire.encode(value)]
        elif kind == "isinstance":
            cls = eval(op["cls"], self.namespace)  # noqa: S307
            return [isinstance(ref("target"), cls)]
        elif kind == "type":
            return [type(ref("target")).__name__]
        else:
            raise ValueError(f"unknown operation {kind!r}")
        return []


def _walk(value, path: list):
    """(path, object) for ``value`` and every list/tuple/dict item inside it."""
    yield path, value
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _walk(item, [*path, i])
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, (str, int)):
                yield from _walk(item, [*path, key])


def _after(value):
    """An argument as it is after the call, for the grader to mirror; None where nothing can
    have changed that it could see."""
    if isinstance(value, np.ndarray):
        base = value
        while isinstance(base.base, np.ndarray):
            base = base.base
        if base is not value:
            return {"t": "based", "base": wire.encode_array(base), "view": wire.encode(value)}
        return wire.encode(value)
    if isinstance(value, (list, dict)):
        return wire.encode(value)
    if isinstance(value, np.random.Generator):
        return {"t": "rngstate", "state": wire.encode(value.bit_generator.state)}
    return None


def serve(path: str, namespace: dict | None = None) -> None:
    """Answer the grader on the unix socket at ``path`` until it is done."""
    if namespace is None:
        namespace = get_ipython().user_ns  # noqa: F821  (inside IPython)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    try:
        _Server(sock, namespace).loop()
    finally:
        sock.close()
