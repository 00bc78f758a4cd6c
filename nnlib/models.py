"""Multi-layer perceptrons stored as a parameter dict ``W1 b1 ... WL bL``.

An MLP is affine - activation - [dropout] - ... - affine: the activation (and dropout) follow
every layer but the last, whose outputs are the scores. The same dict format is used for
pretrained models, so transfer learning works on any model here.
"""

from __future__ import annotations

import numpy as np

from . import init as initializers
from . import layers, losses
from .ops import Ops
from .student import (
    StudentFunctionError,
    call,
    describe,
    expect_array,
    expect_like,
    expect_number,
    expect_tuple,
    name_of,
    trusted,
)


def num_layers(params: dict) -> int:
    """L for a parameter dict with keys W1 b1 ... WL bL."""
    count = sum(1 for key in params if key.startswith("W"))
    if any(f"W{i}" not in params or f"b{i}" not in params for i in range(1, count + 1)):
        raise KeyError(f"expected keys W1 b1 ... W{count} b{count}, got {sorted(params)}")
    return count


INITIALISERS = {"glorot": initializers.glorot_uniform, "small": initializers.small_normal,
                "he": initializers.he_normal}
"""The named weight initialisations ``init_mlp`` knows, each ``(fan_in, fan_out, rng) -> W``."""


def init_mlp(layer_sizes, rng: np.random.Generator, init="glorot", dtype=np.float64,
             batchnorm: bool = False) -> dict:
    """Parameters for layer sizes ``[D, H1, ..., C]``: ``Wi`` (size[i-1], size[i]), ``bi`` zeros.

    init: "glorot" (uniform, the default), "he" (normal with variance 2 / fan_in, for ReLU),
    "small" (N(0, 0.01^2), to show vanishing signals), or any function
    ``(fan_in, fan_out, rng) -> W``. batchnorm: also ``gamma{i}`` ones and ``beta{i}`` zeros
    (size[i],) for every hidden layer i, the parameters of batch normalisation after its affine
    step (see ``nnlib.mlp_loss``).
    """
    if callable(init):
        make = init
    elif init in INITIALISERS:
        make = INITIALISERS[init]
    else:
        raise ValueError(f"unknown init {init!r}; use one of {sorted(INITIALISERS)} or a "
                         "function (fan_in, fan_out, rng) -> W")
    params = {}
    last = len(layer_sizes) - 1
    for i, (fan_in, fan_out) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:]), start=1):
        params[f"W{i}"] = np.asarray(make(fan_in, fan_out, rng)).astype(dtype, copy=False)
        params[f"b{i}"] = np.zeros(fan_out, dtype=dtype)
        if batchnorm and i < last:
            params[f"gamma{i}"] = np.ones(fan_out, dtype=dtype)
            params[f"beta{i}"] = np.zeros(fan_out, dtype=dtype)
    return params


class MLP:
    """A fully connected network whose forward and backward steps come from ``ops``.

    params: dict ``W1 b1 ... WL bL``; activation: "relu" or "sigmoid"; keep_prob < 1 adds
    inverted dropout after every hidden activation (training mode only). What each function of
    ``ops`` returns is checked (a tuple of the right length, arrays of the right shapes, a
    number for a loss): a student's broken function raises ``StudentFunctionError`` naming it.
    """

    def __init__(self, params: dict, activation: str = "relu", keep_prob: float = 1.0,
                 ops: Ops | None = None):
        self.params = params
        self.activation = activation
        self.keep_prob = keep_prob
        self.ops = ops if ops is not None else Ops()
        self.num_layers = num_layers(params)
        self.ops.activation(activation)  # fail early on an unknown name

    @classmethod
    def create(cls, layer_sizes, rng: np.random.Generator, init: str = "glorot",
               dtype=np.float64, **kwargs) -> MLP:
        """A new MLP with freshly initialised parameters (see ``init_mlp``)."""
        return cls(init_mlp(layer_sizes, rng, init=init, dtype=dtype), **kwargs)

    def forward(self, X: np.ndarray, train: bool = False, rng: np.random.Generator | None = None):
        """Scores (N, C) for inputs X (N, D), and the caches the backward pass needs."""
        act_forward, _ = self.ops.activation(self.activation)
        use_dropout = train and self.keep_prob < 1.0
        if use_dropout and rng is None:
            raise ValueError("training with dropout needs an rng")
        act_name = f"{self.activation}_forward"
        caches = []
        h = X
        for i in range(1, self.num_layers + 1):
            W, b = self.params[f"W{i}"], self.params[f"b{i}"]
            h, affine_cache = _forward(self.ops.affine_forward, "affine_forward", h, W, b)
            act_cache = drop_cache = None
            if i < self.num_layers:
                h, act_cache = _forward(act_forward, act_name, h)
                if use_dropout:
                    h, drop_cache = _forward(self.ops.dropout_forward, "dropout_forward", h,
                                             self.keep_prob, True, rng)
            caches.append((affine_cache, act_cache, drop_cache))
        return h, caches

    def backward(self, dscores: np.ndarray, caches) -> dict:
        """Gradients of every parameter given d loss / d scores (N, C)."""
        _, act_backward = self.ops.activation(self.activation)
        act_name = f"{self.activation}_backward"
        classes = np.shape(self.params[f"W{self.num_layers}"])[1]
        if not isinstance(dscores, np.ndarray) or dscores.ndim != 2 or \
                dscores.shape[1] != classes:
            raise StudentFunctionError(
                f"MLP.backward got dscores as {describe(dscores)}; expected the gradient of the "
                f"loss with respect to the scores, an array (N, {classes}): look at "
                f"the function that computed it (your loss gradient?)"
                + (" (is a `return` missing?)" if dscores is None else ""))
        grads = {}
        dh = dscores
        for i in range(self.num_layers, 0, -1):
            affine_cache, act_cache, drop_cache = caches[i - 1]
            W, b = self.params[f"W{i}"], self.params[f"b{i}"]
            if i < self.num_layers:
                if drop_cache is not None:
                    dh = _backward(self.ops.dropout_backward, "dropout_backward", dh, drop_cache)
                dh = _backward(act_backward, act_name, dh, act_cache)
            if i == 1 and self.ops.affine_backward is layers.affine_backward:
                # the reference, minus d loss / d X, which nobody needs: same dW1, db1
                grads["W1"], grads["b1"] = layers.affine_param_grads(dh, affine_cache)
            else:
                dh, grads[f"W{i}"], grads[f"b{i}"] = _affine_grads(
                    self.ops.affine_backward, dh, affine_cache, W, b)
        return grads

    def loss_and_grads(self, X, y, rng: np.random.Generator | None = None, reg: float = 0.0):
        """Training-mode loss (plus the L2 penalty when reg > 0) and every parameter's gradient."""
        scores, caches = self.forward(X, train=True, rng=rng)
        loss = self.data_loss(scores, y)
        dscores = expect_like(call(self.ops.loss_backward, "loss_backward", scores, y),
                              self.ops.loss_backward, "loss_backward", "dscores", "scores",
                              scores)
        grads = self.backward(dscores, caches)
        if reg > 0:
            penalty, dpenalty = _penalty(self.ops.l2_penalty, self.params, reg)
            loss += penalty
            grads = {key: grads[key] + dpenalty[key] for key in grads}
        return float(loss), grads

    def data_loss(self, scores, y) -> float:
        """``ops.loss(scores, y)``, checked to be one number."""
        return expect_number(call(self.ops.loss, "loss", scores, y), self.ops.loss, "loss",
                             "the loss")

    def loss(self, X, y) -> float:
        """Evaluation-mode data loss (no dropout, no penalty)."""
        return self.data_loss(self.predict_scores(X), y)

    def predict_scores(self, X) -> np.ndarray:
        return self.forward(X, train=False)[0]

    def predict(self, X) -> np.ndarray:
        """Predicted class per row (N,)."""
        return np.argmax(self.predict_scores(X), axis=1)

    def accuracy(self, X, y) -> float:
        return accuracy(self.predict_scores(X), y)


def _forward(fn, role: str, x, *args):
    """``(out, cache) = fn(x, *args)``, a student's checked: a pair whose ``out`` is shaped like
    ``x``, or (N, M) for an affine layer ``fn(x, W, b)`` with W (D, M)."""
    result = call(fn, role, x, *args)
    if trusted(fn):
        return result
    out, cache = expect_tuple(result, fn, role, ("out", "cache"))
    if role == "affine_forward":
        W = args[0]
        expect_array(out, fn, role, "out", (np.shape(x)[0], np.shape(W)[1]), (("x", x), ("W", W)))
    else:
        expect_like(out, fn, role, "out", "x", x)
    return out, cache


def _backward(fn, role: str, dout, cache) -> np.ndarray:
    """``dx = fn(dout, cache)``, a student's checked to be shaped like ``dout``."""
    return expect_like(call(fn, role, dout, cache), fn, role, "dx", "dout", dout)


def _affine_grads(fn, dout, cache, W, b):
    """``fn(dout, cache)`` checked to be (dx (N, D), dW shaped like W, db shaped like b)."""
    result = call(fn, "affine_backward", dout, cache)
    if trusted(fn):
        return result
    dx, dW, db = expect_tuple(result, fn, "affine_backward", ("dx", "dW", "db"))
    expect_like(dW, fn, "affine_backward", "dW", "W", W)
    expect_like(db, fn, "affine_backward", "db", "b", b)
    expect_array(dx, fn, "affine_backward", "dx", (np.shape(dout)[0], np.shape(W)[0]),
                 (("dout", dout), ("W", W)))
    return dx, dW, db


def _penalty(fn, params: dict, reg: float):
    """``fn(params, reg)`` checked to be (a number, a dict shaped like params)."""
    result = call(fn, "l2_penalty", params, reg)
    if trusted(fn):
        return result
    loss, dparams = expect_tuple(result, fn, "l2_penalty", ("loss", "dparams"))
    loss = expect_number(loss, fn, "l2_penalty", "the penalty")
    if not isinstance(dparams, dict) or set(dparams) != set(params):
        keys = ", ".join(map(str, dparams)) if isinstance(dparams, dict) else describe(dparams)
        raise StudentFunctionError(f"your {name_of(fn, 'l2_penalty')} returned dparams with "
                                   f"keys {keys or 'none'}; expected every key of params, "
                                   f"{', '.join(params)}")
    for key, value in params.items():
        expect_like(dparams[key], fn, "l2_penalty", f"dparams[{key!r}]", f"params[{key!r}]",
                    value)
    return loss, dparams


def accuracy(scores: np.ndarray, y: np.ndarray) -> float:
    """Fraction of rows whose highest score is at the true label; scores (N, C), y (N,)."""
    return float(np.mean(np.argmax(scores, axis=1) == np.asarray(y)))


def two_layer_net(params: dict, X: np.ndarray, y: np.ndarray):
    """affine - ReLU - affine - softmax cross-entropy; returns (loss, grads).

    params: W1 (D, H), b1 (H,), W2 (H, C), b2 (C,); X (N, D); y (N,) integer labels.
    """
    h, cache1 = layers.affine_forward(X, params["W1"], params["b1"])
    a, cache_relu = layers.relu_forward(h)
    scores, cache2 = layers.affine_forward(a, params["W2"], params["b2"])
    loss = losses.cross_entropy_loss(scores, y)
    dscores = losses.softmax_cross_entropy_backward(scores, y)
    da, dW2, db2 = layers.affine_backward(dscores, cache2)
    dh = layers.relu_backward(da, cache_relu)
    _, dW1, db1 = layers.affine_backward(dh, cache1)
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
