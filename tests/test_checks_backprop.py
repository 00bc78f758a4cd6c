"""The checks of notebook 03 grade right: the reference and correct alternatives pass, realistic
student mistakes fail with the hint that names them, and broken candidates fail cleanly.

Candidates here are written as a student would write them. None is named like an exercise
(e.g. ``relu_forward``): the backward checks look for the student's own forward under that
name next to the candidate, which ``test_own_cache_*`` exercise on purpose.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from checking import not_implemented, returns_none, returns_text
from float32 import in_float32

import nnlib
from autograder import EXERCISES, check
from autograder.compare import close_dict
from autograder.core import Case, Failure, describe_exception
from autograder.exercises.backprop import _numeric_close

NAMES = EXERCISES["03_backpropagation"]


def fails_with(name, candidate, *fragments, hidden=False) -> str:
    """Assert that ``check`` fails for ``candidate`` with every fragment in its message."""
    with pytest.raises(AssertionError) as info:
        check(name, candidate, hidden=hidden)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in:\n{message}"
    return message


# --- the reference passes ---------------------------------------------------------------------
@pytest.mark.parametrize("hidden", [False, True])
@pytest.mark.parametrize("name", NAMES)
def test_reference_passes(name, hidden):
    check(name, getattr(nnlib, name), hidden=hidden)


# --- correct alternatives, written differently from nnlib -------------------------------------
def affine_forward_loops(x, W, b):
    N, D = x.shape
    M = W.shape[1]
    out = np.zeros((N, M))
    for i in range(N):
        for j in range(M):
            total = 0.0
            for k in range(D):
                total += x[i, k] * W[k, j]
            out[i, j] = total + b[j]
    return out, (x, W, b)


def affine_forward_einsum(x, W, b):
    return np.einsum("nd,dm->nm", x, W) + b[None, :], (x, W, b)


def affine_backward_einsum(dout, cache):
    x, W, b = cache
    dx = np.einsum("nm,dm->nd", dout, W)
    dW = np.einsum("nd,nm->dm", x, dout)
    db = np.einsum("nm->m", dout)
    return dx, dW, db


def affine_backward_loops(dout, cache):
    x, W, b = cache
    dx = np.zeros(x.shape)
    dW = np.zeros(W.shape)
    db = np.zeros(b.shape)
    for i in range(x.shape[0]):
        dx[i] = np.dot(W, dout[i])
        dW += np.outer(x[i], dout[i])
        db += dout[i]
    return dx, dW, db


def relu_forward_where(x):
    return np.where(x > 0, x, 0), x


def relu_backward_where(dout, cache):
    return np.where(cache > 0, dout, 0.0)


def sigmoid_forward_tanh(x):
    out = 0.5 * (1 + np.tanh(np.asarray(x) / 2))
    return out, out


def sigmoid_forward_branches(x):
    x = np.asarray(x, dtype=float)
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1 / (1 + np.exp(-x[pos]))
    e = np.exp(x[~pos])
    out[~pos] = e / (1 + e)
    return out, out


def sigmoid_backward_expanded(dout, cache):
    return dout * cache - dout * cache**2


def mse_loss_backward_loop(y_pred, y_true):
    grad = np.zeros(np.shape(y_pred))
    count = grad.size
    for idx in np.ndindex(*grad.shape):
        grad[idx] = 2.0 * (y_pred[idx] - y_true[idx]) / count
    return grad


def softmax_ce_backward_one_hot(scores, y):
    N, C = scores.shape
    one_hot = np.eye(C)[y]
    log_p = scores - scores.max(axis=1, keepdims=True)
    log_p = log_p - np.log(np.sum(np.exp(log_p), axis=1, keepdims=True))
    return (np.exp(log_p) - one_hot) / N


def softmax_ce_backward_rows(scores, y):
    grad = np.zeros(scores.shape)
    for i, row in enumerate(np.asarray(scores, dtype=float)):
        e = np.exp(row - row.max())
        grad[i] = e / e.sum()
        grad[i, y[i]] -= 1
    return grad / len(scores)


def glorot_random_scaled(fan_in, fan_out, rng):
    b = np.sqrt(6 / (fan_in + fan_out))
    return rng.random((fan_in, fan_out)) * 2 * b - b


def glorot_elementwise(fan_in, fan_out, rng):
    limit = (6.0 / (fan_in + fan_out)) ** 0.5
    W = np.empty((fan_in, fan_out))
    for i in range(fan_in):
        for j in range(fan_out):
            W[i, j] = rng.uniform(-limit, limit)
    return W


def glorot_centered(fan_in, fan_out, rng):
    b = np.sqrt(6 / (fan_in + fan_out))
    return (rng.random(size=(fan_in, fan_out)) - 0.5) * 2 * b


def two_layer_net_einsum(params, X, y):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    N = X.shape[0]
    h = np.einsum("nd,dh->nh", X, W1) + b1
    a = h * (h > 0)
    scores = np.matmul(a, W2) + b2
    shifted = scores - scores.max(axis=1, keepdims=True)
    p = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    one_hot = np.eye(W2.shape[1])[y]
    loss = -np.sum(one_hot * np.log(p)) / N
    dscores = (p - one_hot) / N
    da = np.dot(dscores, W2.T)
    dh = da * (h > 0)
    grads = {"W1": np.einsum("nd,nh->dh", X, dh), "b1": dh.sum(0),
             "W2": np.einsum("nh,nc->hc", a, dscores), "b2": dscores.sum(0)}
    return loss, grads


ALTERNATIVES = [
    ("affine_forward", affine_forward_loops), ("affine_forward", affine_forward_einsum),
    ("affine_backward", affine_backward_einsum), ("affine_backward", affine_backward_loops),
    ("relu_forward", relu_forward_where), ("relu_backward", relu_backward_where),
    ("sigmoid_forward", sigmoid_forward_tanh), ("sigmoid_forward", sigmoid_forward_branches),
    ("sigmoid_backward", sigmoid_backward_expanded),
    ("mse_loss_backward", mse_loss_backward_loop),
    ("softmax_cross_entropy_backward", softmax_ce_backward_one_hot),
    ("softmax_cross_entropy_backward", softmax_ce_backward_rows),
    ("glorot_uniform", glorot_random_scaled), ("glorot_uniform", glorot_elementwise),
    ("glorot_uniform", glorot_centered),
    ("two_layer_net", two_layer_net_einsum),
]


@pytest.mark.parametrize("hidden", [False, True])
@pytest.mark.parametrize("name, candidate", ALTERNATIVES,
                         ids=[fn.__name__ for _, fn in ALTERNATIVES])
def test_correct_alternative_passes(name, candidate, hidden):
    check(name, candidate, hidden=hidden)


def test_every_exercise_has_an_alternative():
    assert {name for name, _ in ALTERNATIVES} == set(NAMES)


# --- student mistakes -------------------------------------------------------------------------
# affine_forward
def affine_forward_no_bias(x, W, b):
    out = x @ W
    return out, (x, W, b)


def affine_forward_minus_bias(x, W, b):
    return x.dot(W) - b, (x, W, b)


def affine_forward_w_transposed(x, W, b):
    return x @ W.T + b, (x, W, b)


def affine_forward_caches_out(x, W, b):
    out = x @ W + b
    return out, (out, W, b)


def affine_forward_cache_order(x, W, b):
    return x @ W + b, (W, x, b)


def affine_forward_out_only(x, W, b):
    return x @ W + b


def affine_forward_int_loops(x, W, b):
    out = np.zeros((x.shape[0], W.shape[1]), dtype=x.dtype)
    for i in range(x.shape[0]):
        out[i] = x[i] @ W + b
    return out, (x, W, b)


# affine_backward
def affine_backward_dx_no_transpose(dout, cache):
    x, W, b = cache
    return dout @ W, x.T @ dout, dout.sum(axis=0)


def affine_backward_dw_transposed(dout, cache):
    x, W, b = cache
    return dout @ W.T, dout.T @ x, dout.sum(axis=0)


def affine_backward_db_mean(dout, cache):
    x, W, b = cache
    return dout @ W.T, x.T @ dout, np.mean(dout, axis=0)


def affine_backward_db_axis1(dout, cache):
    x, W, b = cache
    return dout @ W.T, x.T @ dout, np.sum(dout, axis=1)


def affine_backward_db_total(dout, cache):
    x, W, b = cache
    return dout @ W.T, x.T @ dout, np.sum(dout)


def affine_backward_sign(dout, cache):
    x, W, b = cache
    return -(dout @ W.T), -(x.T @ dout), -dout.sum(axis=0)


def affine_backward_two_items(dout, cache):
    x, W, b = cache
    return x.T @ dout, dout.sum(axis=0)


# relu_forward
def relu_forward_np_max(x):
    return np.max(x, 0), x


def relu_forward_in_place(x):
    x[x < 0] = 0
    return x, x


def relu_forward_abs(x):
    return np.abs(x), x


def relu_forward_caches_out(x):
    out = np.maximum(x, 0)
    return out, out


def relu_forward_swapped(x):
    out = np.maximum(x, 0)
    return x, out


# relu_backward
def relu_backward_ge(dout, cache):
    return dout * (cache >= 0)


def relu_backward_mask_only(dout, cache):
    return (cache > 0).astype(float)


def relu_backward_no_mask(dout, cache):
    return dout.copy()


def relu_backward_mask_on_dout(dout, cache):
    return np.maximum(dout, 0)


def relu_backward_zeros_like_cache(dout, cache):
    dx = np.zeros_like(cache)
    dx[cache > 0] = dout[cache > 0]
    return dx


# sigmoid_forward
def sigmoid_forward_naive(x):
    out = 1 / (1 + np.exp(-x))
    return out, out


def sigmoid_forward_where(x):
    out = np.where(x >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x)))
    return out, out


def sigmoid_forward_caches_x(x):
    z = np.exp(-np.abs(x))
    out = np.where(x >= 0, 1 / (1 + z), z / (1 + z))
    return out, x


def sigmoid_forward_plus_sign(x):
    z = np.exp(-np.abs(x))
    out = np.where(x >= 0, z / (1 + z), 1 / (1 + z))
    return out, out


# sigmoid_backward
def sigmoid_backward_from_input(dout, cache):
    s = 1 / (1 + np.exp(-cache))
    return dout * s * (1 - s)


def sigmoid_backward_no_dout(dout, cache):
    return cache * (1 - cache)


def sigmoid_backward_tanh(dout, cache):
    return dout * (1 - cache**2)


def sigmoid_backward_sign(dout, cache):
    return dout * cache * (cache - 1)


# mse_loss_backward
def mse_backward_no_two(y_pred, y_true):
    return (y_pred - y_true) / y_pred.size


def mse_backward_by_batch(y_pred, y_true):
    return 2 * (y_pred - y_true) / len(y_pred)


def mse_backward_no_average(y_pred, y_true):
    return 2 * (y_pred - y_true)


def mse_backward_sign(y_pred, y_true):
    return 2 * (y_true - y_pred) / y_pred.size


def mse_backward_scalar(y_pred, y_true):
    return np.mean(2 * (y_pred - y_true))


# softmax_cross_entropy_backward
def _probabilities(scores):
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def softmax_ce_no_average(scores, y):
    d = _probabilities(scores)
    d[np.arange(len(y)), y] -= 1
    return d


def softmax_ce_no_one_hot(scores, y):
    return _probabilities(scores) / scores.shape[0]


def softmax_ce_columns(scores, y):
    d = _probabilities(scores)
    d[:, y] -= 1
    return d / scores.shape[0]


def softmax_ce_unstable(scores, y):
    e = np.exp(scores)
    d = e / e.sum(axis=1, keepdims=True)
    d[np.arange(len(y)), y] -= 1
    return d / len(y)


def softmax_ce_in_place(scores, y):
    scores -= scores.max(axis=1, keepdims=True)
    e = np.exp(scores)
    d = e / e.sum(axis=1, keepdims=True)
    d[np.arange(len(y)), y] -= 1
    return d / len(y)


def softmax_ce_by_entries(scores, y):
    d = _probabilities(scores)
    d[np.arange(len(y)), y] -= 1
    return d / d.size


# glorot_uniform
def glorot_normal(fan_in, fan_out, rng):
    b = np.sqrt(6 / (fan_in + fan_out))
    return rng.normal(0, b, size=(fan_in, fan_out))


def glorot_he_bound(fan_in, fan_out, rng):
    b = np.sqrt(6 / fan_in)
    return rng.uniform(-b, b, size=(fan_in, fan_out))


def glorot_one_over_fan_in(fan_in, fan_out, rng):
    b = np.sqrt(1 / fan_in)
    return rng.uniform(-b, b, size=(fan_in, fan_out))


def glorot_two_over_sum(fan_in, fan_out, rng):
    b = np.sqrt(2 / (fan_in + fan_out))
    return rng.uniform(-b, b, size=(fan_in, fan_out))


def glorot_no_sqrt(fan_in, fan_out, rng):
    b = 6 / (fan_in + fan_out)
    return rng.uniform(-b, b, size=(fan_in, fan_out))


def glorot_swapped_shape(fan_in, fan_out, rng):
    b = np.sqrt(6 / (fan_in + fan_out))
    return rng.uniform(-b, b, size=(fan_out, fan_in))


def glorot_global_rng(fan_in, fan_out, rng):
    b = np.sqrt(6 / (fan_in + fan_out))
    return np.random.uniform(-b, b, size=(fan_in, fan_out))  # noqa: NPY002


def glorot_own_generator(fan_in, fan_out, rng):
    b = np.sqrt(6 / (fan_in + fan_out))
    return np.random.default_rng(0).uniform(-b, b, size=(fan_in, fan_out))


def glorot_by_column(fan_in, fan_out, rng):
    b = np.sqrt(6 / (fan_in + fan_out))
    W = np.zeros((fan_in, fan_out))
    for j in range(fan_out):
        W[:, j] = rng.uniform(-b, b, size=fan_in)
    return W


def glorot_draw_transposed(fan_in, fan_out, rng):
    b = np.sqrt(6 / (fan_in + fan_out))
    return rng.uniform(-b, b, size=(fan_out, fan_in)).T


def glorot_warm_up(fan_in, fan_out, rng):
    b = np.sqrt(6 / (fan_in + fan_out))
    rng.random()
    return rng.uniform(-b, b, size=(fan_in, fan_out))


def glorot_extra_draw(fan_in, fan_out, rng):
    b = np.sqrt(6 / (fan_in + fan_out))
    W = rng.uniform(-b, b, size=(fan_in, fan_out))
    rng.random()  # "just checking"
    return W


def glorot_half_interval(fan_in, fan_out, rng):
    return rng.random((fan_in, fan_out)) * np.sqrt(6 / (fan_in + fan_out))


# two_layer_net
def _net_forward(params, X):
    h = X @ params["W1"] + params["b1"]
    a = np.maximum(h, 0)
    return h, a, a @ params["W2"] + params["b2"]


def _net_loss_and_dscores(scores, y):
    N = scores.shape[0]
    p = _probabilities(scores)
    loss = -np.mean(np.log(p[np.arange(N), y]))
    dscores = p.copy()
    dscores[np.arange(N), y] -= 1
    return loss, dscores / N


def net_no_relu_backward(params, X, y):
    h, a, scores = _net_forward(params, X)
    loss, dscores = _net_loss_and_dscores(scores, y)
    dh = dscores @ params["W2"].T  # forgot the ReLU on the way back
    return loss, {"W1": X.T @ dh, "b1": dh.sum(0), "W2": a.T @ dscores, "b2": dscores.sum(0)}


def net_no_relu_at_all(params, X, y):
    h = X @ params["W1"] + params["b1"]
    scores = h @ params["W2"] + params["b2"]
    loss, dscores = _net_loss_and_dscores(scores, y)
    dh = dscores @ params["W2"].T
    return loss, {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ dscores, "b2": dscores.sum(0)}


def net_dw2_from_h(params, X, y):
    h, a, scores = _net_forward(params, X)
    loss, dscores = _net_loss_and_dscores(scores, y)
    dh = (dscores @ params["W2"].T) * (h > 0)
    return loss, {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ dscores, "b2": dscores.sum(0)}


def net_summed(params, X, y):
    h, a, scores = _net_forward(params, X)
    N = X.shape[0]
    loss, dscores = _net_loss_and_dscores(scores, y)
    loss, dscores = loss * N, dscores * N
    dh = (dscores @ params["W2"].T) * (h > 0)
    return loss, {"W1": X.T @ dh, "b1": dh.sum(0), "W2": a.T @ dscores, "b2": dscores.sum(0)}


def net_bias_mean(params, X, y):
    h, a, scores = _net_forward(params, X)
    loss, dscores = _net_loss_and_dscores(scores, y)
    dh = (dscores @ params["W2"].T) * (h > 0)
    return loss, {"W1": X.T @ dh, "b1": dh.mean(0), "W2": a.T @ dscores, "b2": dscores.mean(0)}


def net_d_keys(params, X, y):
    loss, grads = nnlib.two_layer_net(params, X, y)
    return loss, {"d" + k: v for k, v in grads.items()}


def net_sgd_step_inside(params, X, y):
    loss, grads = nnlib.two_layer_net(params, X, y)
    for k in params:
        params[k] -= 0.1 * grads[k]
    return loss, grads


def net_swapped(params, X, y):
    loss, grads = nnlib.two_layer_net(params, X, y)
    return grads, loss


def net_tuple_grads(params, X, y):
    loss, g = nnlib.two_layer_net(params, X, y)
    return loss, (g["W1"], g["b1"], g["W2"], g["b2"])


MISTAKES = [
    ("affine_forward", affine_forward_no_bias, "forgot to add the bias b"),
    ("affine_forward", affine_forward_minus_bias, "do not subtract it"),
    ("affine_forward", affine_forward_w_transposed, "x @ W needs no transpose"),
    ("affine_forward", affine_forward_caches_out, "not the output"),
    ("affine_forward", affine_forward_cache_order, "`cache = (x, W, b)`"),
    ("affine_forward", affine_forward_out_only, "return both: `return out, cache`"),
    ("affine_forward", affine_forward_int_loops, "integer dtype"),
    ("affine_backward", affine_backward_dx_no_transpose, "multiply by W transposed"),
    ("affine_backward", affine_backward_dw_transposed, "dout.T @ x, its transpose"),
    ("affine_backward", affine_backward_db_mean, "not the mean"),
    ("affine_backward", affine_backward_db_axis1, "not axis=1"),
    ("affine_backward", affine_backward_db_total, "adds everything into one number"),
    ("affine_backward", affine_backward_sign, "the sign is flipped"),
    ("affine_backward", affine_backward_two_items, "`return dx, dW, db`"),
    ("relu_forward", relu_forward_np_max, "np.maximum(x, 0)"),
    ("relu_forward", relu_forward_in_place, "modified its input `x`"),
    ("relu_forward", relu_forward_abs, "not their absolute value"),
    ("relu_forward", relu_forward_caches_out, "cache is its input x, not the output"),
    ("relu_forward", relu_forward_swapped, "return (out, cache) in this order"),
    ("relu_backward", relu_backward_ge, "not x >= 0"),
    ("relu_backward", relu_backward_mask_only, "you returned only the mask"),
    ("relu_backward", relu_backward_no_mask, "multiply it by the mask (x > 0)"),
    ("relu_backward", relu_backward_mask_on_dout, "not from dout"),
    ("relu_backward", relu_backward_zeros_like_cache, "integer dtype"),
    ("sigmoid_forward", sigmoid_forward_naive, "overflow", "np.exp(-np.abs(x))"),
    ("sigmoid_forward", sigmoid_forward_where, "overflow", "np.where computes both branches"),
    ("sigmoid_forward", sigmoid_forward_caches_x, "cache is its output out"),
    ("sigmoid_forward", sigmoid_forward_plus_sign, "with a minus sign in the exponent"),
    ("sigmoid_backward", sigmoid_backward_from_input, "without applying the sigmoid again"),
    ("sigmoid_backward", sigmoid_backward_no_dout, "multiply by dout"),
    ("sigmoid_backward", sigmoid_backward_tanh, "tanh's derivative"),
    ("sigmoid_backward", sigmoid_backward_sign, "the sign is flipped"),
    ("mse_loss_backward", mse_backward_no_two, "brings a factor 2"),
    ("mse_loss_backward", mse_backward_by_batch, "not by N"),
    ("mse_loss_backward", mse_backward_no_average, "divide by the number of entries"),
    ("mse_loss_backward", mse_backward_sign, "the sign is flipped"),
    ("mse_loss_backward", mse_backward_scalar, "shaped like y_pred"),
    ("softmax_cross_entropy_backward", softmax_ce_no_average, "forgot to average over the batch"),
    ("softmax_cross_entropy_backward", softmax_ce_no_one_hot, "forgot to subtract the one-hot"),
    ("softmax_cross_entropy_backward", softmax_ce_columns, "not `d[:, y] -= 1`"),
    ("softmax_cross_entropy_backward", softmax_ce_unstable, "overflow",
     "subtract each row's maximum"),
    ("softmax_cross_entropy_backward", softmax_ce_in_place, "modified its input `scores`"),
    ("softmax_cross_entropy_backward", softmax_ce_by_entries, "not by the number of entries"),
    ("glorot_uniform", glorot_normal, "not a normal one"),
    ("glorot_uniform", glorot_he_bound, "not sqrt(6 / fan_in)"),
    ("glorot_uniform", glorot_one_over_fan_in, "not sqrt(1 / fan_in)"),
    ("glorot_uniform", glorot_two_over_sum, "not sqrt(2 / (fan_in + fan_out))"),
    ("glorot_uniform", glorot_no_sqrt, "forgot the square root"),
    ("glorot_uniform", glorot_swapped_shape, "W has shape (fan_in, fan_out)"),
    ("glorot_uniform", glorot_global_rng, "global random generator"),
    ("glorot_uniform", glorot_own_generator, "it was not used"),
    ("glorot_uniform", glorot_by_column, "not column by column"),
    ("glorot_uniform", glorot_draw_transposed, "different order"),
    ("glorot_uniform", glorot_warm_up, "use rng.uniform(-b, b, size=(fan_in, fan_out))"),
    ("glorot_uniform", glorot_extra_draw, "more random numbers"),
    ("glorot_uniform", glorot_half_interval, "not [0, b]"),
    ("two_layer_net", net_no_relu_backward, "must go through the ReLU"),
    ("two_layer_net", net_no_relu_at_all, "apply the ReLU between the two affine layers"),
    ("two_layer_net", net_dw2_from_h, "not the pre-activation"),
    ("two_layer_net", net_summed, "5 times too large"),
    ("two_layer_net", net_bias_mean, "sums over the batch"),
    ("two_layer_net", net_d_keys, "name each gradient like its parameter"),
    ("two_layer_net", net_sgd_step_inside, "modified its input `params`"),
    ("two_layer_net", net_swapped, "return the loss first"),
    ("two_layer_net", net_tuple_grads, "expected a dict with keys"),
]


@pytest.mark.parametrize("hidden", [False, True])
@pytest.mark.parametrize("name, candidate, fragments",
                         [(name, fn, tuple(fragments)) for name, fn, *fragments in MISTAKES],
                         ids=[fn.__name__ for _, fn, *_ in MISTAKES])
def test_mistake_fails_with_hint(name, candidate, fragments, hidden):
    fails_with(name, candidate, *fragments, hidden=hidden)


def test_every_exercise_has_three_mistakes():
    counts = {name: sum(1 for n, *_ in MISTAKES if n == name) for name in NAMES}
    assert min(counts.values()) >= 3, counts


def test_message_names_the_case_and_the_element():
    message = fails_with("affine_backward", affine_backward_db_mean)
    assert message.startswith("affine_backward: case 1/4 (square W: x (5, 3), W (3, 3), b (3,))")
    assert "db[" in message and "expected" in message and "got" in message


def test_messages_are_deterministic():
    first = fails_with("glorot_uniform", glorot_by_column)
    assert fails_with("glorot_uniform", glorot_by_column) == first


# --- broken candidates fail cleanly -----------------------------------------------------------
def raises_value_error(*args):
    raise ValueError("shapes (4,3) and (5,3) not aligned")


def returns_nan_pair(x, *args):
    return np.full(np.shape(x), np.nan), np.full(np.shape(x), np.nan)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("candidate, fragment", [
    (raises_value_error, "it raised ValueError"),
    (not_implemented, "not implemented yet"),
    (returns_none, "None"),
    (returns_text, "str"),
], ids=["raises", "not_implemented", "none", "string"])
def test_broken_candidate_fails_clearly(name, candidate, fragment):
    message = fails_with(name, candidate, fragment)
    assert "could not be checked" not in message and "Traceback" not in message


@pytest.mark.parametrize("name", ["affine_forward", "relu_forward", "sigmoid_forward"])
def test_nan_output_fails_clearly(name):
    message = fails_with(name, returns_nan_pair, "nan")
    assert "could not be checked" not in message


@pytest.mark.parametrize("name, result", [
    ("affine_forward", (np.zeros(3),)), ("affine_backward", [1, 2, 3, 4]),
    ("relu_backward", (np.zeros(3), None)), ("two_layer_net", (1.0, {"W1": None})),
    ("two_layer_net", (np.nan, {})), ("glorot_uniform", [[0.1, 0.2]]),
    ("sigmoid_forward", ("a", "b")), ("softmax_cross_entropy_backward", {"a": 1}),
])
def test_odd_return_values_fail_clearly(name, result):
    message = fails_with(name, lambda *args: result)
    assert "could not be checked" not in message


# --- the backward pass with the student's own forward's cache ---------------------------------
def notebook(source: str) -> dict:
    """The namespace a notebook builds from ``source``: functions see each other by name."""
    namespace = {"np": np}
    exec(source, namespace)
    return namespace


def test_own_cache_wrong_forward_fails_the_backward():
    ns = notebook("""
def sigmoid_forward(x):
    out = 1 / (1 + np.exp(-np.abs(x)))
    out = np.where(x >= 0, out, 1 - out)
    return out, x          # should be out

def sigmoid_backward(dout, cache):
    return dout * cache * (1 - cache)
""")
    fails_with("sigmoid_backward", ns["sigmoid_backward"], "the cache from your sigmoid_forward",
               "With nnlib's cache the gradient is right", "must return `cache = out`")


def test_own_cache_affine_forward_storing_a_transpose():
    ns = notebook("""
def affine_forward(x, W, b):
    return x @ W + b, (x, W.T, b)

def affine_backward(dout, cache):
    x, W, b = cache
    return dout @ W.T, x.T @ dout, dout.sum(axis=0)
""")
    fails_with("affine_backward", ns["affine_backward"], "the cache from your affine_forward",
               "`cache = (x, W, b)`")


def test_own_cache_consistent_pair_passes():
    ns = notebook("""
def relu_forward(x):
    return np.maximum(x, 0), x.copy()

def relu_backward(dout, cache):
    return dout * (cache > 0)
""")
    check("relu_backward", ns["relu_backward"], hidden=True)


def test_own_cache_is_skipped_when_the_forward_is_not_done():
    ns = notebook("""
def affine_forward(x, W, b):
    raise NotImplementedError()

def affine_backward(dout, cache):
    x, W, b = cache
    return dout @ W.T, x.T @ dout, dout.sum(axis=0)
""")
    check("affine_backward", ns["affine_backward"])


# --- helpers ----------------------------------------------------------------------------------
def test_numeric_close_catches_a_wrong_gradient():
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    _numeric_close(2 * x, lambda v: np.sum(v**2), x, Case("x"), what="dx")
    with pytest.raises(Failure, match="numerical gradient"):
        _numeric_close(2 * x + 1e-3, lambda v: np.sum(v**2), x, Case("x"), what="dx")


def test_close_dict():
    case = Case("params")
    expected = {"W": np.ones(2), "b": np.zeros(1)}
    close_dict({"W": np.ones(2), "b": np.zeros(1)}, expected, case)
    with pytest.raises(Failure, match="type list"):
        close_dict([1], expected, case)
    with pytest.raises(Failure, match="has keys 'W', 'c'"):
        close_dict({"W": np.ones(2), "c": np.zeros(1)}, expected, case)
    with pytest.raises(Failure, match=r"grads\['b'\]"):
        close_dict({"W": np.ones(2), "b": np.ones(1)}, expected, case, what="grads")


# --- float32 ------------------------------------------------------------------------------------
OUTSIDE_FLOAT32 = {"relu_forward": "tiny values", "relu_backward": "tiny values",
                   "sigmoid_forward": "extreme |x| up to 1e300"}
"""Hidden cases with float64 inputs that float32 cannot hold (1e-300 becomes 0, 1e300 inf)."""


@pytest.mark.parametrize("hidden", [False, True], ids=["visible", "hidden"])
@pytest.mark.parametrize("name", NAMES)
def test_computing_in_float32_passes(name, hidden):
    candidate = in_float32(getattr(nnlib, name))
    if hidden and name in OUTSIDE_FLOAT32:
        fails_with(name, candidate, OUTSIDE_FLOAT32[name], hidden=True)
    else:
        check(name, candidate, hidden=hidden)


def test_own_cache_of_a_stable_float32_sigmoid_passes():
    """A forward that keeps float32 in float32 gives a cache whose 1 - s is off by float32's
    round-off where s saturates: the pair is right, and the cache is not to blame."""
    ns = notebook("""
def sigmoid_forward(x):
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(float)
    z = np.exp(-np.abs(x))
    out = np.where(x >= 0, 1 / (1 + z), z / (1 + z))
    return out, out

def sigmoid_backward(dout, cache):
    return dout * cache * (1 - cache)
""")
    check("sigmoid_forward", ns["sigmoid_forward"], hidden=True)
    check("sigmoid_backward", ns["sigmoid_backward"], hidden=True)


def test_float32_tolerance_still_catches_a_wrong_float32_answer():
    def sigmoid_backward_no_dout_float32(dout, cache):
        return (cache * (1 - cache)).astype(np.float32)

    fails_with("sigmoid_backward", sigmoid_backward_no_dout_float32, "multiply by dout")


# --- two_layer_net points at the loss gradient it calls -----------------------------------------
NET_SOURCE = """
def affine_forward(x, W, b):
    return x @ W + b, (x, W, b)

def affine_backward(dout, cache):
    x, W, b = cache
    return dout @ W.T, x.T @ dout, dout.sum(axis=0)

def relu_forward(x):
    return np.maximum(x, 0), x

def relu_backward(dout, cache):
    return dout * (cache > 0)

def softmax_cross_entropy_backward(scores, y):
    p = np.exp(scores - scores.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(y)), y] -= 1
    return p{divide}

def two_layer_net(params, X, y):
    h, cache1 = affine_forward(X, params["W1"], params["b1"])
    a, cache_relu = relu_forward(h)
    scores, cache2 = affine_forward(a, params["W2"], params["b2"])
    loss = nnlib.cross_entropy_loss(scores, y)
    dscores = softmax_cross_entropy_backward(scores, y){again}
    da, dW2, db2 = affine_backward(dscores, cache2)
    dh = relu_backward(da, cache_relu)
    _, dW1, db1 = affine_backward(dh, cache1)
    return loss, {{"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}}
"""


def net_notebook(divide: str = " / len(y)", again: str = "") -> dict:
    ns = notebook(NET_SOURCE.format(divide=divide, again=again))
    ns["nnlib"] = nnlib
    return ns


def test_two_layer_net_with_its_own_pieces_passes():
    check("two_layer_net", net_notebook()["two_layer_net"], hidden=True)


def test_two_layer_net_n_times_too_large_names_the_loss_gradient_it_calls():
    ns = net_notebook(divide="")
    fails_with("two_layer_net", ns["two_layer_net"], "N = 5 times too large",
               "the softmax_cross_entropy_backward your two_layer_net calls does not average")
    fails_with("softmax_cross_entropy_backward", ns["softmax_cross_entropy_backward"],
               "forgot to average over the batch")


def test_two_layer_net_dividing_twice_names_the_loss_gradient_it_calls():
    ns = net_notebook(again="\n    dscores = dscores / len(y)")
    fails_with("two_layer_net", ns["two_layer_net"], "N = 5 times too small",
               "your softmax_cross_entropy_backward already divides by N")


def test_two_layer_net_n_times_too_large_without_a_loss_gradient_of_its_own():
    def two_layer_net_unaveraged(params, X, y):
        loss, grads = nnlib.two_layer_net(params, X, y)
        return loss, {key: len(y) * value for key, value in grads.items()}

    message = fails_with("two_layer_net", two_layer_net_unaveraged, "N = 5 times too large",
                         "dscores = (softmax(scores) - one_hot(y)) / N")
    assert "your two_layer_net calls" not in message


def _numpy_error(action) -> ValueError:
    try:
        action()
    except ValueError as exc:
        return exc
    raise AssertionError("no ValueError")


def test_the_product_hint_is_for_products_and_the_slice_hint_for_assignments():
    a, b = np.ones((4, 3)), np.ones((5, 3))

    def assign():
        a[1:] = b

    for action in (lambda: a + b[:, :2], lambda: a @ b, lambda: a.dot(b)):
        _, hint = describe_exception(_numpy_error(action))
        assert "multiply or add" in hint
    _, hint = describe_exception(_numpy_error(assign))
    assert "slice bounds" in hint and "multiply" not in hint
    _, hint = describe_exception(_numpy_error(lambda: a.reshape(5)))
    assert hint is None


@pytest.mark.parametrize("name", ["glorot_uniform", "affine_forward", "sigmoid_backward"])
def test_a_complex_answer_fails_without_the_checker_warning(name):
    reference = getattr(nnlib, name)

    def complex_answer(*args):
        result = reference(*args)
        if isinstance(result, tuple):
            return (result[0].astype(complex),) + result[1:]
        return result.astype(complex)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fails_with(name, complex_answer, "dtype complex128")
    assert [str(w.message) for w in caught] == []  # e.g. a ComplexWarning of the checker's
