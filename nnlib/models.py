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
    inverted dropout after every hidden activation (training mode only).
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
        caches = []
        h = X
        for i in range(1, self.num_layers + 1):
            h, affine_cache = self.ops.affine_forward(h, self.params[f"W{i}"], self.params[f"b{i}"])
            act_cache = drop_cache = None
            if i < self.num_layers:
                h, act_cache = act_forward(h)
                if use_dropout:
                    h, drop_cache = self.ops.dropout_forward(h, self.keep_prob, True, rng)
            caches.append((affine_cache, act_cache, drop_cache))
        return h, caches

    def backward(self, dscores: np.ndarray, caches) -> dict:
        """Gradients of every parameter given d loss / d scores (N, C)."""
        _, act_backward = self.ops.activation(self.activation)
        grads = {}
        dh = dscores
        for i in range(self.num_layers, 0, -1):
            affine_cache, act_cache, drop_cache = caches[i - 1]
            if i < self.num_layers:
                if drop_cache is not None:
                    dh = self.ops.dropout_backward(dh, drop_cache)
                dh = act_backward(dh, act_cache)
            if i == 1 and self.ops.affine_backward is layers.affine_backward:
                # the reference, minus d loss / d X, which nobody needs: same dW1, db1
                grads["W1"], grads["b1"] = layers.affine_param_grads(dh, affine_cache)
            else:
                dh, grads[f"W{i}"], grads[f"b{i}"] = self.ops.affine_backward(dh, affine_cache)
        return grads

    def loss_and_grads(self, X, y, rng: np.random.Generator | None = None, reg: float = 0.0):
        """Training-mode loss (plus the L2 penalty when reg > 0) and every parameter's gradient."""
        scores, caches = self.forward(X, train=True, rng=rng)
        loss = self.ops.loss(scores, y)
        grads = self.backward(self.ops.loss_backward(scores, y), caches)
        if reg > 0:
            penalty, dpenalty = self.ops.l2_penalty(self.params, reg)
            loss += penalty
            grads = {key: grads[key] + dpenalty[key] for key in grads}
        return float(loss), grads

    def loss(self, X, y) -> float:
        """Evaluation-mode data loss (no dropout, no penalty)."""
        return float(self.ops.loss(self.predict_scores(X), y))

    def predict_scores(self, X) -> np.ndarray:
        return self.forward(X, train=False)[0]

    def predict(self, X) -> np.ndarray:
        """Predicted class per row (N,)."""
        return np.argmax(self.predict_scores(X), axis=1)

    def accuracy(self, X, y) -> float:
        return accuracy(self.predict_scores(X), y)


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
