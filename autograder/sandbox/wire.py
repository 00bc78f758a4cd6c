"""Plain data across the sandbox boundary: what may cross, how it is framed, and nothing else.

Both sides import this module: the kernel in the sandbox encodes what a candidate returned,
the trusted grader decodes it (and the other way round for inputs). What crosses is JSON, in
frames of ``8-byte length + UTF-8 JSON``, holding only:

- ``None``, ``bool``, ``int``, ``float`` (NaN and infinities too), ``str``, ``list``;
- ``{"t": "tuple", "v": [...]}``, ``{"t": "set", "v": [...]}`` (and ``"frozenset"``) and
  ``{"t": "dict", "v": [[key, value], ...]}``;
- ``{"t": "nd", "dtype": "<f8", "shape": [...], "b64": ...}``: a NumPy array of a numeric dtype
  (bool, int, uint, float, complex), always decoded as a new base-class ``ndarray``;
  ``{"t": "np", ...}`` the same for a NumPy scalar;
- markers the two sides agree on (``"rng"``, ``"fn"``, ``"ref"``, ``"view"``, ``"gen"``,
  ``"opaque"``, ``"handle"``), each handled by the side that understands it.

Never pickle, never an object of a class the student defined: whatever else a candidate
returns crosses as ``{"t": "opaque", "type": "<its type name>"}``. The decoder is strict: an
unknown tag, a non-numeric dtype, a shape that does not match the bytes, or a frame larger
than ``MAX_FRAME`` raises ``WireError``; so does a reply holding more than ``REPLY_ITEMS``
values (``recv(..., max_items=...)``: the grader reads every reply that way, since a reply of
small values grows ~40 times when decoded).
"""

from __future__ import annotations

import base64
import json
import math
import socket
import struct

import numpy as np

MAX_FRAME = 64 * 2**20
"""Bytes one frame may hold (the largest of any check, reference answers, is ~1.4 MB)."""

REPLY_ITEMS = 100_000
"""Values (commas and brackets) a reply from the kernel may hold: the largest of any check is
~200; a frame of ``[],[],...`` decodes to ~130 bytes per 3 on the wire."""

NUMERIC_KINDS = "biufc"


class WireError(ValueError):
    """Data that does not follow the wire format (or a frame that is too large)."""


# --- values --------------------------------------------------------------------------------
def encode_array(a: np.ndarray) -> dict:
    a = np.asarray(a)
    if not a.flags.c_contiguous:  # (np.ascontiguousarray would make 0-d arrays 1-d)
        a = a.copy(order="C")
    return {"t": "nd", "dtype": a.dtype.str, "shape": list(a.shape),
            "b64": base64.b64encode(a.tobytes()).decode("ascii")}


def decode_array(obj: dict) -> np.ndarray:
    try:
        dtype = np.dtype(obj["dtype"])
        shape = tuple(int(n) for n in obj["shape"])
        raw = base64.b64decode(obj["b64"], validate=True)
    except (KeyError, TypeError, ValueError) as exc:
        raise WireError(f"malformed array: {exc}") from None
    if dtype.kind not in NUMERIC_KINDS or dtype.hasobject or dtype.fields is not None:
        raise WireError(f"arrays must have a numeric dtype, not {dtype}")
    if any(n < 0 for n in shape) or math.prod(shape) * dtype.itemsize != len(raw):
        raise WireError(f"array bytes do not match shape {shape} and dtype {dtype}")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def encode(value, extra=None):
    """``value`` as JSON-ready plain data. ``extra(value)`` may return a marker dict first
    (for the side's own markers), or None to fall through to the plain encoding."""
    if extra is not None:
        marked = extra(value)
        if marked is not None:
            return marked
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, np.ndarray):
        if value.dtype.kind in NUMERIC_KINDS and value.dtype.fields is None:
            return encode_array(np.asarray(value))
        return {"t": "opaque", "type": f"ndarray of dtype {value.dtype}"}
    if isinstance(value, np.generic):
        if value.dtype.kind in NUMERIC_KINDS:
            return {**encode_array(np.asarray(value)), "t": "np"}
        return {"t": "opaque", "type": type(value).__name__}
    if isinstance(value, tuple):
        return {"t": "tuple", "v": [encode(v, extra) for v in value]}
    if isinstance(value, list):
        return [encode(v, extra) for v in value]
    if isinstance(value, (set, frozenset)):
        return {"t": type(value).__name__, "v": [encode(v, extra) for v in value]}
    if isinstance(value, dict):
        return {"t": "dict", "v": [[encode(k, extra), encode(v, extra)] for k, v in value.items()]}
    return {"t": "opaque", "type": type(value).__name__}


def decode(obj, extra=None, depth: int = 0):
    """Plain data back from ``encode``'s output; ``extra(tag, obj)`` decodes the side's own
    markers (return ``NotImplemented`` for a tag it does not know)."""
    if depth > 64:
        raise WireError("data nested more than 64 levels deep")
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, list):
        return [decode(v, extra, depth + 1) for v in obj]
    if not isinstance(obj, dict) or not isinstance(obj.get("t"), str):
        raise WireError(f"unexpected {type(obj).__name__} on the wire")
    tag = obj["t"]
    if tag == "nd":
        return decode_array(obj)
    if tag == "np":
        return decode_array(obj)[()]
    if tag == "tuple":
        return tuple(decode(v, extra, depth + 1) for v in _items(obj))
    if tag in ("set", "frozenset"):
        try:
            return (set if tag == "set" else frozenset)(
                decode(v, extra, depth + 1) for v in _items(obj))
        except TypeError:
            raise WireError("an unhashable item in a set") from None
    if tag == "dict":
        out = {}
        for pair in _items(obj):
            if not isinstance(pair, list) or len(pair) != 2:
                raise WireError("a dict entry must be a [key, value] pair")
            key = decode(pair[0], extra, depth + 1)
            try:
                out[key] = decode(pair[1], extra, depth + 1)
            except TypeError:
                raise WireError(f"unhashable dict key of type {type(key).__name__}") from None
        return out
    if extra is not None:
        value = extra(tag, obj)
        if value is not NotImplemented:
            return value
    raise WireError(f"unknown tag {tag!r} on the wire")


def _items(obj: dict) -> list:
    items = obj.get("v")
    if not isinstance(items, list):
        raise WireError(f"a {obj['t']} must hold a list")
    return items


# --- frames --------------------------------------------------------------------------------
def _count_values(data: bytes) -> int:
    """An upper bound of the values a JSON text holds (each but the first follows a comma or
    opens a container), counted before it is parsed."""
    return data.count(b",") + data.count(b"[") + data.count(b"{")


def send(sock: socket.socket, message: dict, max_items: int | None = None) -> None:
    data = json.dumps(message, allow_nan=True, separators=(",", ":")).encode()
    if len(data) > MAX_FRAME:
        raise WireError(f"a message of {len(data)} bytes is larger than {MAX_FRAME}")
    if max_items is not None and _count_values(data) > max_items:
        raise WireError(f"a message of more than {max_items:,} values")
    sock.sendall(struct.pack("!Q", len(data)) + data)


def recv(sock: socket.socket, max_items: int | None = None) -> dict:
    """One message; ``EOFError`` when the other side closed the connection.

    max_items: refuse a frame holding more values than that (before parsing it)."""
    (size,) = struct.unpack("!Q", _exactly(sock, 8))
    if size > MAX_FRAME:
        raise WireError(f"a frame of {size} bytes is larger than {MAX_FRAME}")
    raw = _exactly(sock, size)
    if max_items is not None and _count_values(raw) > max_items:
        raise WireError(f"a frame of more than {max_items:,} values")
    try:
        message = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise WireError(f"a frame that is not JSON: {exc}") from None
    if not isinstance(message, dict):
        raise WireError("a message must be a JSON object")
    return message


def _exactly(sock: socket.socket, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = sock.recv(min(n - got, 1 << 20))
        if not chunk:
            raise EOFError("the other side closed the connection")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)
