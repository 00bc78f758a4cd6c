"""The checks of notebook 07 (training in practice): the reference passes, correct alternatives
pass, and realistic student mistakes fail with a message naming the mistake.

batchnorm_backward is checked on the cache of the student's own batchnorm_forward, and
train_epoch with the student's own mlp_loss and clip_by_global_norm: the candidates last given
to ``check`` under those names (``autograder.core.LAST_CHECKED``, cleared around every test by
tests/conftest.py). ``given`` below records them as a notebook's earlier test cells would.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from checking import failure, not_implemented, raises, returns_none, returns_text

import nnlib
from autograder import check
from autograder.core import LAST_CHECKED
from nnlib.training_loop import run_epoch

EXERCISES = nnlib.EXERCISES["07_training_in_practice"]


def given(**functions):
    """Record functions as if their test cells had run (what ``check`` remembers)."""
    LAST_CHECKED.update(functions)


@pytest.mark.parametrize("hidden", [False, True], ids=["visible", "hidden"])
@pytest.mark.parametrize("name", EXERCISES)
def test_reference_passes(name, hidden):
    check(name, getattr(nnlib, name), hidden=hidden)


# --- he_normal ----------------------------------------------------------------------------------
def he_standard_normal(fan_in, fan_out, rng):
    return np.sqrt(2.0 / fan_in) * rng.standard_normal((fan_in, fan_out))


def he_std_is_variance(fan_in, fan_out, rng):
    return rng.normal(0.0, 2 / fan_in, size=(fan_in, fan_out))


def he_without_two(fan_in, fan_out, rng):
    return rng.normal(0.0, np.sqrt(1 / fan_in), size=(fan_in, fan_out))


def he_fan_out(fan_in, fan_out, rng):
    return rng.normal(0.0, np.sqrt(2 / fan_out), size=(fan_in, fan_out))


def he_uniform(fan_in, fan_out, rng):
    bound = np.sqrt(6 / fan_in)
    return rng.uniform(-bound, bound, size=(fan_in, fan_out))


def he_transposed(fan_in, fan_out, rng):
    return rng.normal(0.0, np.sqrt(2 / fan_in), size=(fan_out, fan_in))


def he_global_random(fan_in, fan_out, rng):
    return np.random.normal(0.0, np.sqrt(2 / fan_in), size=(fan_in, fan_out))  # noqa: NPY002


# --- batchnorm_forward ----------------------------------------------------------------------
def bn_forward_dict_cache(x, gamma, beta, bn_param):
    """Variance as E[x^2] - E[x]^2, a dict cache, the running statistics with .get: correct."""
    mode = bn_param.get("mode", "train")
    eps, momentum = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.9)
    d = x.shape[1]
    if mode == "train":
        mu = np.mean(x, axis=0)
        var = np.mean(x * x, axis=0) - mu * mu
        std = np.sqrt(var + eps)
        xhat = (x - mu) / std
        bn_param["running_mean"] = (momentum * bn_param.get("running_mean", np.zeros(d))
                                    + (1 - momentum) * mu)
        bn_param["running_var"] = (momentum * bn_param.get("running_var", np.zeros(d))
                                   + (1 - momentum) * var)
        return gamma * xhat + beta, {"x": x, "mu": mu, "std": std, "gamma": gamma}
    if mode == "test":
        mean = bn_param.get("running_mean", np.zeros(d))
        var = bn_param.get("running_var", np.zeros(d))
        return gamma * (x - mean) / np.sqrt(var + eps) + beta, None
    raise ValueError(f"unknown mode {mode}")


def _bn_forward(x, gamma, beta, bn_param, *, ddof=0, update_train=True, update_test=False,
                swap_momentum=False, eps_outside=False, use_setdefault=False,
                test_uses_batch=False, check_mode=True, axis=0):
    """A batchnorm_forward with one mistake switched on."""
    if use_setdefault:
        mode = bn_param.setdefault("mode", "train")
        eps = bn_param.setdefault("eps", 1e-5)
        momentum = bn_param.setdefault("momentum", 0.9)
    else:
        mode = bn_param.get("mode", "train")
        eps, momentum = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.9)
    d = x.shape[1]
    rm = bn_param.get("running_mean", np.zeros(d))
    rv = bn_param.get("running_var", np.zeros(d))
    if mode == "train" or (mode == "test" and test_uses_batch) or not check_mode:
        mu = x.mean(axis=axis, keepdims=True)
        var = x.var(axis=axis, ddof=ddof, keepdims=True)
        xhat = (x - mu) / (np.sqrt(var) + eps if eps_outside else np.sqrt(var + eps))
        if (mode == "train" and update_train) or (mode == "test" and update_test):
            a, b = (1 - momentum, momentum) if swap_momentum else (momentum, 1 - momentum)
            bn_param["running_mean"] = a * rm + b * mu.ravel()
            bn_param["running_var"] = a * rv + b * var.ravel()
        return gamma * xhat + beta, (xhat, gamma, 1 / np.sqrt(var + eps))
    if mode == "test":
        if update_test:
            bn_param["running_mean"] = momentum * rm + (1 - momentum) * x.mean(axis=0)
        return gamma * (x - rm) / np.sqrt(rv + eps) + beta, None
    raise ValueError(mode)


def bn_ddof_one(x, gamma, beta, bn_param):
    return _bn_forward(x, gamma, beta, bn_param, ddof=1)


def bn_running_not_updated(x, gamma, beta, bn_param):
    return _bn_forward(x, gamma, beta, bn_param, update_train=False)


def bn_updates_in_test_mode(x, gamma, beta, bn_param):
    return _bn_forward(x, gamma, beta, bn_param, update_test=True)


def bn_momentum_swapped(x, gamma, beta, bn_param):
    return _bn_forward(x, gamma, beta, bn_param, swap_momentum=True)


def bn_eps_outside(x, gamma, beta, bn_param):
    return _bn_forward(x, gamma, beta, bn_param, eps_outside=True)


def bn_setdefault(x, gamma, beta, bn_param):
    return _bn_forward(x, gamma, beta, bn_param, use_setdefault=True)


def bn_test_uses_batch_statistics(x, gamma, beta, bn_param):
    return _bn_forward(x, gamma, beta, bn_param, test_uses_batch=True)


def bn_no_mode_check(x, gamma, beta, bn_param):
    if bn_param.get("mode", "train") == "test":
        return _bn_forward(x, gamma, beta, bn_param)
    return _bn_forward(x, gamma, beta, {**bn_param, "mode": "train"}) if False else \
        _bn_forward(x, gamma, beta, bn_param, check_mode=False)


def bn_rows(x, gamma, beta, bn_param):
    """Normalises each row (axis 1); the running statistics are right."""
    out, cache = _bn_forward(x, gamma, beta, bn_param)
    if bn_param.get("mode", "train") == "train":
        eps = bn_param.get("eps", 1e-5)
        xhat = (x - x.mean(axis=1, keepdims=True)) / np.sqrt(x.var(axis=1, keepdims=True) + eps)
        out = gamma * xhat + beta
    return out, cache


def bn_new_dict(x, gamma, beta, bn_param):
    """Writes the running statistics into a copy: the caller's dict never sees them."""
    bn_param = dict(bn_param)
    return _bn_forward(x, gamma, beta, bn_param)


# --- batchnorm_backward ---------------------------------------------------------------------
def bn_backward_dict_cache(dout, cache):
    """Step by step through the graph, from bn_forward_dict_cache's cache: correct."""
    x, mu, std, gamma = cache["x"], cache["mu"], cache["std"], cache["gamma"]
    n = x.shape[0]
    xhat = (x - mu) / std
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(dout * xhat, axis=0)
    dxhat = dout * gamma
    dstd = -np.sum(dxhat * (x - mu), axis=0) / std**2
    dvar = dstd / (2 * std)
    dmu = -np.sum(dxhat, axis=0) / std - 2 * dvar * np.mean(x - mu, axis=0)
    dx = dxhat / std + 2 * dvar * (x - mu) / n + dmu / n
    return dx, dgamma, dbeta


def bn_backward_compact(dout, cache):
    """The reference's cache (xhat, gamma, inv_std), the formula arranged differently."""
    xhat, gamma, inv_std = cache
    dxhat = dout * gamma
    dx = inv_std * (dxhat - dxhat.mean(axis=0) - xhat * (dxhat * xhat).mean(axis=0))
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)


def bn_backward_dgamma_axis1(dout, cache):
    dx, _, dbeta = nnlib.batchnorm_backward(dout, cache)
    xhat = cache[0]
    return dx, np.sum(dout * xhat, axis=1), dbeta


def bn_backward_no_mean_or_var_path(dout, cache):
    xhat, gamma, inv_std = cache
    return dout * gamma * inv_std, (dout * xhat).sum(axis=0), dout.sum(axis=0)


def bn_backward_no_variance_path(dout, cache):
    xhat, gamma, inv_std = cache
    dxhat = dout * gamma
    return inv_std * (dxhat - dxhat.mean(axis=0)), (dout * xhat).sum(axis=0), dout.sum(axis=0)


def bn_backward_dbeta_mean(dout, cache):
    dx, dgamma, _ = nnlib.batchnorm_backward(dout, cache)
    return dx, dgamma, dout.mean(axis=0)


def bn_backward_without_gamma(dout, cache):
    xhat, gamma, inv_std = cache
    n = dout.shape[0]
    dx = inv_std / n * (n * dout - dout.sum(axis=0) - xhat * (dout * xhat).sum(axis=0))
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)


def bn_backward_swapped(dout, cache):
    dx, dgamma, dbeta = nnlib.batchnorm_backward(dout, cache)
    return dx, dbeta, dgamma


# --- clip_by_global_norm --------------------------------------------------------------------
def clip_concatenated(grads, max_norm):
    """np.linalg.norm of every entry at once; a loop that builds the new dict: correct."""
    norm = np.linalg.norm(np.concatenate([np.ravel(g) for g in grads.values()]))
    scale = max_norm / norm if norm > max_norm else 1.0
    clipped = {}
    for key, g in grads.items():
        clipped[key] = g * scale
    return clipped, norm


def clip_each_array(grads, max_norm):
    clipped = {}
    for key, g in grads.items():
        norm = np.sqrt(np.sum(g**2))
        clipped[key] = g * max_norm / norm if norm > max_norm else g.copy()
    return clipped, np.sqrt(sum(np.sum(g**2) for g in grads.values()))


def clip_always(grads, max_norm):
    norm = np.sqrt(sum(np.sum(g**2) for g in grads.values()))
    return {k: g * (max_norm / norm) for k, g in grads.items()}, norm


def clip_by_value(grads, max_norm):
    norm = np.sqrt(sum(np.sum(g**2) for g in grads.values()))
    return {k: np.clip(g, -max_norm, max_norm) for k, g in grads.items()}, norm


def clip_sum_of_squares(grads, max_norm):
    total = sum(np.sum(g**2) for g in grads.values())
    scale = max_norm / total if total > max_norm else 1.0
    return {k: g * scale for k, g in grads.items()}, total


def clip_norm_after(grads, max_norm):
    clipped, norm = nnlib.clip_by_global_norm(grads, max_norm)
    return clipped, min(norm, max_norm)


def clip_same_arrays(grads, max_norm):
    norm = np.sqrt(sum(np.sum(g**2) for g in grads.values()))
    if norm > max_norm:
        return {k: g * (max_norm / norm) for k, g in grads.items()}, norm
    return dict(grads), norm


def clip_in_place(grads, max_norm):
    norm = np.sqrt(sum(np.sum(g**2) for g in grads.values()))
    if norm > max_norm:
        for g in grads.values():
            g *= max_norm / norm
    return {k: g.copy() for k, g in grads.items()}, norm


# --- warmup_cosine --------------------------------------------------------------------------
def warmup_cosine_numpy(step, total_steps, base_lr, warmup_steps=0, min_lr=0.0):
    """np.cos and a sine identity, a NumPy float returned: correct."""
    if step < warmup_steps:
        return np.float64(base_lr) * (step + 1) / warmup_steps
    p = (step - warmup_steps) / max(1, total_steps - 1 - warmup_steps)
    return min_lr + (base_lr - min_lr) * np.sin(np.pi * (1 - p) / 2) ** 2


def _schedule(step, total, base, warmup, min_lr, *, first=1, denominator=-1, angle=np.pi,
              use_min=True, guard=True):
    if step < warmup:
        return base * (step + first) / warmup
    span = total + denominator - warmup
    p = (step - warmup) / (max(1, span) if guard else span)
    lo = min_lr if use_min else 0.0
    return lo + 0.5 * (base - lo) * (1 + np.cos(angle * p))


def warmup_off_by_one(step, total_steps, base_lr, warmup_steps=0, min_lr=0.0):
    return _schedule(step, total_steps, base_lr, warmup_steps, min_lr, first=0)


def cosine_never_reaching_min(step, total_steps, base_lr, warmup_steps=0, min_lr=0.0):
    return _schedule(step, total_steps, base_lr, warmup_steps, min_lr, denominator=0)


def cosine_without_pi(step, total_steps, base_lr, warmup_steps=0, min_lr=0.0):
    return _schedule(step, total_steps, base_lr, warmup_steps, min_lr, angle=1.0)


def cosine_ignoring_min_lr(step, total_steps, base_lr, warmup_steps=0, min_lr=0.0):
    return _schedule(step, total_steps, base_lr, warmup_steps, min_lr, use_min=False)


def cosine_without_max_one(step, total_steps, base_lr, warmup_steps=0, min_lr=0.0):
    with np.errstate(all="ignore"):
        return float(_schedule(step, total_steps, base_lr, warmup_steps, min_lr,
                               guard=False) if total_steps - 1 - warmup_steps else np.nan)


# --- adamw ----------------------------------------------------------------------------------
def _adamw_config(config, w):
    c = {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8,
         "weight_decay": 1e-2, "t": 0, **(config or {})}
    c.setdefault("m", np.zeros_like(w, dtype=float))
    c.setdefault("v", np.zeros_like(w, dtype=float))
    return c


def _adam_step(c, dw):
    c["t"] += 1
    c["m"] = c["beta1"] * c["m"] + (1 - c["beta1"]) * dw
    c["v"] = c["beta2"] * c["v"] + (1 - c["beta2"]) * dw**2
    m_hat = c["m"] / (1 - c["beta1"] ** c["t"])
    v_hat = c["v"] / (1 - c["beta2"] ** c["t"])
    return m_hat / (np.sqrt(v_hat) + c["epsilon"])


def adamw_new_dict(w, dw, config=None):
    """A new config dict each step, the step in one expression: correct."""
    c = _adamw_config(config, w)
    step = _adam_step(c, dw)
    return w - c["learning_rate"] * (step + c["weight_decay"] * w), c


def adamw_through_gradient(w, dw, config=None):
    c = _adamw_config(config, w)
    step = _adam_step(c, dw + c["weight_decay"] * w)
    return w - c["learning_rate"] * step, c


def adamw_decay_without_lr(w, dw, config=None):
    c = _adamw_config(config, w)
    step = _adam_step(c, dw)
    return w - c["learning_rate"] * step - c["weight_decay"] * w, c


def adamw_decays_new_weights(w, dw, config=None):
    c = _adamw_config(config, w)
    w_new = w - c["learning_rate"] * _adam_step(c, dw)
    return w_new - c["learning_rate"] * c["weight_decay"] * w_new, c


def adamw_without_decay(w, dw, config=None):
    c = _adamw_config(config, w)
    return w - c["learning_rate"] * _adam_step(c, dw), c


def adamw_fixed_decay(w, dw, config=None):
    c = _adamw_config(config, w)
    step = _adam_step(c, dw)
    return w - c["learning_rate"] * (step + 1e-2 * w), c


# --- mlp_loss -------------------------------------------------------------------------------
def mlp_loss_lists(params, X, y, bn_params=None):
    """Caches in lists, nnlib's layers and batch norm, the loss from log-softmax: correct."""
    L = len([k for k in params if k[0] == "W"])
    bn_params = bn_params if bn_params is not None else [{} for _ in range(L - 1)]
    caches, h = [], X
    for i in range(1, L):
        h, c_aff = nnlib.affine_forward(h, params[f"W{i}"], params[f"b{i}"])
        c_bn = None
        if f"gamma{i}" in params and f"beta{i}" in params:
            h, c_bn = nnlib.batchnorm_forward(h, params[f"gamma{i}"], params[f"beta{i}"],
                                              bn_params[i - 1])
        h, c_relu = nnlib.relu_forward(h)
        caches.append((c_aff, c_bn, c_relu))
    scores, c_last = nnlib.affine_forward(h, params[f"W{L}"], params[f"b{L}"])
    logp = nnlib.log_softmax(scores)
    loss = -np.mean(logp[np.arange(len(y)), y])
    grads = {}
    dh, grads[f"W{L}"], grads[f"b{L}"] = nnlib.affine_backward(
        nnlib.softmax_cross_entropy_backward(scores, y), c_last)
    for i in range(L - 1, 0, -1):
        c_aff, c_bn, c_relu = caches[i - 1]
        dh = nnlib.relu_backward(dh, c_relu)
        if c_bn is not None:
            dh, grads[f"gamma{i}"], grads[f"beta{i}"] = nnlib.batchnorm_backward(dh, c_bn)
        dh, grads[f"W{i}"], grads[f"b{i}"] = nnlib.affine_backward(dh, c_aff)
    return loss, grads


def _mlp(params, X, y, bn_params=None, *, skip_bn=False, relu_last=False, bn_shift=0,
         keep_bn_grads=True, total=False):
    """An mlp_loss with one mistake switched on."""
    L = len([k for k in params if k[0] == "W"])
    bn_params = bn_params if bn_params is not None else [{} for _ in range(L)]
    caches, h = [], X
    for i in range(1, L):
        h, c_aff = nnlib.affine_forward(h, params[f"W{i}"], params[f"b{i}"])
        c_bn = None
        if not skip_bn and f"gamma{i}" in params:
            index = min(i - 1 + bn_shift, len(bn_params) - 1)
            h, c_bn = nnlib.batchnorm_forward(h, params[f"gamma{i}"], params[f"beta{i}"],
                                              bn_params[index])
        h, c_relu = nnlib.relu_forward(h)
        caches.append((c_aff, c_bn, c_relu))
    scores, c_last = nnlib.affine_forward(h, params[f"W{L}"], params[f"b{L}"])
    c_out = None
    if relu_last:
        scores, c_out = nnlib.relu_forward(scores)
    loss = nnlib.cross_entropy_loss(scores, y) * (len(y) if total else 1)
    dscores = nnlib.softmax_cross_entropy_backward(scores, y) * (len(y) if total else 1)
    if relu_last:
        dscores = nnlib.relu_backward(dscores, c_out)
    grads = {}
    dh, grads[f"W{L}"], grads[f"b{L}"] = nnlib.affine_backward(dscores, c_last)
    for i in range(L - 1, 0, -1):
        c_aff, c_bn, c_relu = caches[i - 1]
        dh = nnlib.relu_backward(dh, c_relu)
        if c_bn is not None:
            dh, dgamma, dbeta = nnlib.batchnorm_backward(dh, c_bn)
            if keep_bn_grads:
                grads[f"gamma{i}"], grads[f"beta{i}"] = dgamma, dbeta
        dh, grads[f"W{i}"], grads[f"b{i}"] = nnlib.affine_backward(dh, c_aff)
    return loss, grads


def mlp_skips_batchnorm(params, X, y, bn_params=None):
    loss, grads = _mlp(params, X, y, bn_params, skip_bn=True)
    grads.update({k: np.zeros_like(v) for k, v in params.items() if k not in grads})
    return loss, grads


def mlp_relu_on_scores(params, X, y, bn_params=None):
    return _mlp(params, X, y, bn_params, relu_last=True)


def mlp_without_bn_grads(params, X, y, bn_params=None):
    return _mlp(params, X, y, bn_params, keep_bn_grads=False)


def mlp_bn_params_shifted(params, X, y, bn_params=None):
    return _mlp(params, X, y, bn_params, bn_shift=1)


def mlp_summed_loss(params, X, y, bn_params=None):
    return _mlp(params, X, y, bn_params, total=True)


def mlp_bn_params_required(params, X, y, bn_params=None):
    L = len([k for k in params if k[0] == "W"])
    for i in range(1, L):
        bn_params[i - 1].get("eps")  # TypeError when bn_params is None
    return nnlib.mlp_loss(params, X, y, bn_params)


def mlp_two_layers_only(params, X, y, bn_params=None):
    small = {k: params[k] for k in ("W1", "b1", "W2", "b2")}
    return nnlib.two_layer_net(small, X, y)


# --- train_epoch ----------------------------------------------------------------------------
def epoch_deepcopy_configs(params, configs, X, y, update_rule, batch_size, rng, max_norm=None):
    """Deep copies up front, {} rather than None for a missing config, a while loop: correct."""
    params, configs = dict(params), copy.deepcopy(configs)
    losses = []
    batches = nnlib.iterate_minibatches(X, y, batch_size, rng)
    while True:
        try:
            X_batch, y_batch = next(batches)
        except StopIteration:
            break
        loss, grads = mlp_loss_lists(params, X_batch, y_batch)
        if max_norm is not None:
            grads = nnlib.clip_by_global_norm(grads, max_norm)[0]
        for key in list(params):
            params[key], configs[key] = update_rule(params[key], grads[key],
                                                    dict(configs.get(key, {})))
        losses.append(loss)
    return params, configs, losses


def _epoch(params, configs, X, y, update_rule, batch_size, rng, max_norm=None, *,
           order="rng", pass_config=True, store_config=True, copy_config=True, clip=True,
           unpack_clip=True, new_params=True, mean_loss=False, loss_fn=nnlib.mlp_loss):
    """A train_epoch with one mistake switched on."""
    if new_params:
        params = dict(params)
    configs = dict(configs)
    if order == "copy":
        rng = copy.deepcopy(rng)
    elif order == "seed":
        rng = np.random.default_rng(0)
    elif order == "none":
        rng = None
    losses = []
    for X_batch, y_batch in nnlib.iterate_minibatches(X, y, batch_size, rng):
        loss, grads = loss_fn(params, X_batch, y_batch)
        if clip and max_norm is not None:
            clipped = nnlib.clip_by_global_norm(grads, max_norm)
            grads = clipped[0] if unpack_clip else clipped
        for key in params:
            config = configs.get(key)
            if copy_config and config is not None:
                config = dict(config)
            if pass_config:
                new_w, new_config = update_rule(params[key], grads[key], config)
            else:
                new_w, new_config = update_rule(params[key], grads[key])
            params[key] = new_w
            if store_config:
                configs[key] = new_config
        losses.append(loss)
    return params, configs, (float(np.mean(losses)) if mean_loss else losses)


def epoch_copied_rng(*args):
    return _epoch(*args, order="copy")


def epoch_fixed_seed(*args):
    return _epoch(*args, order="seed")


def epoch_in_order(*args):
    return _epoch(*args, order="none")


def epoch_forgets_configs(*args):
    return _epoch(*args, pass_config=False)


def epoch_does_not_store_configs(*args):
    return _epoch(*args, store_config=False)


def epoch_configs_not_copied(*args):
    return _epoch(*args, copy_config=False)


def epoch_ignores_max_norm(*args):
    return _epoch(*args, clip=False)


def epoch_clip_not_unpacked(*args):
    return _epoch(*args, unpack_clip=False)


def epoch_params_in_place(*args):
    return _epoch(*args, new_params=False)


def epoch_mean_loss(*args):
    return _epoch(*args, mean_loss=True)


def epoch_configs_indexed(params, configs, X, y, update_rule, batch_size, rng, max_norm=None):
    """configs[key] for every key: a KeyError where configs has none."""
    params, new_configs = dict(params), dict(configs)
    losses = []
    for X_batch, y_batch in nnlib.iterate_minibatches(X, y, batch_size, rng):
        loss, grads = nnlib.mlp_loss(params, X_batch, y_batch)
        for key in params:
            params[key], new_configs[key] = update_rule(params[key], grads[key],
                                                        dict(new_configs[key]))
        losses.append(loss)
    return params, new_configs, losses


ALTERNATIVES = [
    ("he_normal", he_standard_normal),
    ("batchnorm_forward", bn_forward_dict_cache),
    ("clip_by_global_norm", clip_concatenated),
    ("warmup_cosine", warmup_cosine_numpy),
    ("adamw", adamw_new_dict),
    ("mlp_loss", mlp_loss_lists),
    ("train_epoch", epoch_deepcopy_configs),
]


@pytest.mark.parametrize("hidden", [False, True], ids=["visible", "hidden"])
@pytest.mark.parametrize("name, candidate", ALTERNATIVES, ids=[a[1].__name__ for a in ALTERNATIVES])
def test_correct_alternative_passes(name, candidate, hidden):
    check(name, candidate, hidden=hidden)


@pytest.mark.parametrize("hidden", [False, True], ids=["visible", "hidden"])
@pytest.mark.parametrize("forward, backward", [
    (bn_forward_dict_cache, bn_backward_dict_cache),
    (nnlib.batchnorm_forward, bn_backward_compact),
], ids=["dict cache, step by step", "reference cache, compact formula"])
def test_correct_backward_passes_on_the_cache_of_its_own_forward(forward, backward, hidden):
    given(batchnorm_forward=forward)
    check("batchnorm_backward", backward, hidden=hidden)


def test_the_backward_check_uses_the_forward_last_checked():
    """A backward that reads a dict cache fails with nnlib's cache (and says it was nnlib's),
    passes once its own forward has been through ``check``."""
    message = failure("batchnorm_backward", bn_backward_dict_cache)
    assert "used nnlib.batchnorm_forward" in message and "run its test cell" in message, message
    check("batchnorm_forward", bn_forward_dict_cache)
    check("batchnorm_backward", bn_backward_dict_cache)
    assert LAST_CHECKED["batchnorm_forward"] is bn_forward_dict_cache


def test_a_wrong_forward_is_named_before_the_backward_is_judged():
    given(batchnorm_forward=bn_ddof_one)
    message = failure("batchnorm_backward", nnlib.batchnorm_backward)
    assert "batchnorm_forward returns a wrong `out`" in message, message
    assert "pass its own check first" in message
    given(batchnorm_forward=lambda *args: (_ for _ in ()).throw(NotImplementedError()))
    assert "not implemented yet" in failure("batchnorm_backward", nnlib.batchnorm_backward)


def test_train_epoch_is_judged_with_the_students_own_mlp_loss():
    """A right loop around a wrong mlp_loss passes (mlp_loss's own check fails); nnlib's loop,
    which calls nnlib.mlp_loss, is told to use the student's."""
    given(mlp_loss=mlp_summed_loss)

    def loop_around_own_loss(params, configs, X, y, update_rule, batch_size, rng,
                             max_norm=None):
        return run_epoch(params, configs, X, y, update_rule, batch_size, rng, max_norm,
                         loss_fn=mlp_summed_loss)

    check("train_epoch", loop_around_own_loss, hidden=True)
    assert "must call your own mlp_loss" in failure("train_epoch", nnlib.train_epoch)
    given(mlp_loss=not_implemented)
    message = failure("train_epoch", nnlib.train_epoch)
    assert "your mlp_loss, which this check uses, failed: not implemented yet" in message, \
        message


def test_train_epoch_uses_the_students_own_clip_function():
    given(clip_by_global_norm=clip_each_array)

    def loop_around_own_clip(params, configs, X, y, update_rule, batch_size, rng,
                             max_norm=None):
        return run_epoch(params, configs, X, y, update_rule, batch_size, rng, max_norm,
                         clip_fn=clip_each_array)

    check("train_epoch", loop_around_own_clip, hidden=True)
    assert "check" in failure("train_epoch", nnlib.train_epoch)


MISTAKES = [
    # (exercise, candidate, text the message must contain, given functions)
    ("he_normal", he_std_is_variance, "you used 2 / fan_in, the variance", {}),
    ("he_normal", he_without_two, "you left out the factor 2", {}),
    ("he_normal", he_fan_out, "not 2 / fan_out", {}),
    ("he_normal", he_uniform, "not a uniform one", {}),
    ("he_normal", he_transposed, "size=(fan_in, fan_out)", {}),
    ("he_normal", he_global_random, "global random generator", {}),
    ("batchnorm_forward", bn_ddof_one, "ddof=1", {}),
    ("batchnorm_forward", bn_running_not_updated, "has no 'running_mean'", {}),
    ("batchnorm_forward", bn_updates_in_test_mode, "update the running statistics in "
                                                   "training mode only", {}),
    ("batchnorm_forward", bn_momentum_swapped, "momentum multiplies the old running value", {}),
    ("batchnorm_forward", bn_eps_outside, "eps goes inside the square root", {}),
    ("batchnorm_forward", bn_setdefault, "setdefault writes the default", {}),
    ("batchnorm_forward", bn_test_uses_batch_statistics, "not with the batch's own", {}),
    ("batchnorm_forward", bn_no_mode_check, "must raise ValueError", {}),
    ("batchnorm_forward", bn_rows, "you used axis 1", {}),
    ("batchnorm_forward", bn_new_dict, "store the running statistics in the dict you were "
                                       "given", {}),
    ("batchnorm_backward", bn_backward_dgamma_axis1, "you summed over axis 1",
     {"batchnorm_forward": nnlib.batchnorm_forward}),
    ("batchnorm_backward", bn_backward_no_mean_or_var_path, "flows through the batch's mean "
     "and variance", {"batchnorm_forward": nnlib.batchnorm_forward}),
    ("batchnorm_backward", bn_backward_no_variance_path, "path through the variance",
     {"batchnorm_forward": nnlib.batchnorm_forward}),
    ("batchnorm_backward", bn_backward_dbeta_mean, "it is not the mean",
     {"batchnorm_forward": nnlib.batchnorm_forward}),
    ("batchnorm_backward", bn_backward_without_gamma, "gamma is missing in dx",
     {"batchnorm_forward": nnlib.batchnorm_forward}),
    ("batchnorm_backward", bn_backward_swapped, "(dx, dgamma, dbeta)",
     {"batchnorm_forward": nnlib.batchnorm_forward}),
    ("clip_by_global_norm", clip_each_array, "clipped each array by its own norm", {}),
    ("clip_by_global_norm", clip_always, "scale only when norm > max_norm", {}),
    ("clip_by_global_norm", clip_by_value, "np.clip", {}),
    ("clip_by_global_norm", clip_sum_of_squares, "square root", {}),
    ("clip_by_global_norm", clip_norm_after, "the norm before clipping", {}),
    ("clip_by_global_norm", clip_same_arrays, "return new arrays", {}),
    ("clip_by_global_norm", clip_in_place, "modified its input `grads`", {}),
    ("warmup_cosine", warmup_off_by_one, "warm-up off by one", {}),
    ("warmup_cosine", cosine_never_reaching_min, "reaches min_lr at the last step", {}),
    ("warmup_cosine", cosine_without_pi, "cos(pi * p)", {}),
    ("warmup_cosine", cosine_ignoring_min_lr, "you left min_lr out", {}),
    ("adamw", adamw_through_gradient, "weight_decay * w to the gradient", {}),
    ("adamw", adamw_decay_without_lr, "multiply the decay by the learning rate", {}),
    ("adamw", adamw_decays_new_weights, "not the weights after Adam's step", {}),
    ("adamw", adamw_without_decay, "the weight decay is missing", {}),
    ("adamw", adamw_fixed_decay, "use config['weight_decay'] when it is given", {}),
    ("mlp_loss", mlp_skips_batchnorm, "batch-normalise layer i", {}),
    ("mlp_loss", mlp_relu_on_scores, "the last layer has no ReLU", {}),
    ("mlp_loss", mlp_without_bn_grads, "gamma{i} and beta{i} too", {}),
    ("mlp_loss", mlp_bn_params_shifted, "bn_params[0] belongs to layer 1", {}),
    ("mlp_loss", mlp_summed_loss, "average over the batch", {}),
    ("mlp_loss", mlp_bn_params_required, "bn_params may be None", {}),
    ("mlp_loss", mlp_two_layers_only, "loop over layers 1 .. L", {}),
    ("train_epoch", epoch_copied_rng, "same batch order", {}),
    ("train_epoch", epoch_fixed_seed, "same batch order", {}),
    ("train_epoch", epoch_in_order, "you went through the batches in order", {}),
    ("train_epoch", epoch_forgets_configs, "pass each parameter's config", {}),
    ("train_epoch", epoch_does_not_store_configs, "store the config that update_rule returns",
     {}),
    ("train_epoch", epoch_configs_not_copied, "pass a copy of each config", {}),
    ("train_epoch", epoch_ignores_max_norm, "clip the gradients when max_norm is not None", {}),
    ("train_epoch", epoch_clip_not_unpacked, "returns a pair", {}),
    ("train_epoch", epoch_params_in_place, "build new dicts", {}),
    ("train_epoch", epoch_mean_loss, "one loss per batch", {}),
    ("train_epoch", epoch_configs_indexed, "configs.get(key)", {}),
]


@pytest.mark.parametrize("name, candidate, hint, uses", MISTAKES,
                         ids=[m[1].__name__ for m in MISTAKES])
def test_mistake_is_named(name, candidate, hint, uses):
    given(**uses)
    message = failure(name, candidate)
    assert hint in message, message
    assert "could not be checked" not in message
    given(**uses)
    assert hint in failure(name, candidate, hidden=True)


HIDDEN_ONLY = [
    ("warmup_cosine", cosine_without_max_one, "max(1, total_steps - 1 - warmup_steps)"),
    ("batchnorm_forward", lambda x, gamma, beta, bn_param: nnlib.batchnorm_forward(
        x, gamma, beta, bn_param) if bn_param.get("mode", "train") != "Train" else
        nnlib.batchnorm_forward(x, gamma, beta, {**bn_param, "mode": "train"}),
     "must raise ValueError"),
]


@pytest.mark.parametrize("name, candidate, hint", HIDDEN_ONLY, ids=["no max(1, ...)",
                                                                   "mode case-insensitive"])
def test_mistake_only_the_hidden_set_catches(name, candidate, hint):
    check(name, candidate)
    message = failure(name, candidate, hidden=True)
    assert hint in message, message


def test_messages_say_where():
    message = failure("clip_by_global_norm", clip_each_array)
    assert "case 1/" in message and "clipped['" in message and "expected" in message
    given(batchnorm_forward=nnlib.batchnorm_forward)
    message = failure("batchnorm_backward", bn_backward_dgamma_axis1)
    assert "case 1/" in message and "dgamma has shape (6,)" in message, message


def test_the_dgamma_axis_mistake_is_named_by_its_value_on_a_square_batch():
    """Where N == D the sum over axis 1 has the right shape: its values name the mistake."""
    given(batchnorm_forward=nnlib.batchnorm_forward)

    def only_square(dout, cache):
        if dout.shape[0] == dout.shape[1]:
            return bn_backward_dgamma_axis1(dout, cache)
        return nnlib.batchnorm_backward(dout, cache)

    message = failure("batchnorm_backward", only_square)
    assert "square x" in message and "dgamma[" in message, message
    assert "np.sum(dout * xhat, axis=0): you summed over axis 1" in message, message


# --- candidates that crash or return the wrong thing ------------------------------------------


BROKEN = [(raises, "it raised ValueError: boom"), (not_implemented, "not implemented yet"),
          (returns_none, "None"), (returns_text, "str")]


@pytest.mark.parametrize("name", EXERCISES)
@pytest.mark.parametrize("candidate, text", BROKEN, ids=[b[0].__name__ for b in BROKEN])
def test_broken_candidate_fails_clearly(name, candidate, text):
    if name == "batchnorm_forward" and candidate is raises:
        text = "raised ValueError"  # its first failing case may be the mode that must raise
    message = failure(name, candidate)
    assert text in message, message
    assert "could not be checked" not in message


ODD = {
    "he_normal": [lambda fi, fo, rng: [[1.0, 2.0], [3.0]], lambda fi, fo, rng: {"W": 1},
                  lambda fi, fo, rng: np.full((fi, fo), np.nan)],
    "batchnorm_forward": [lambda x, g, b, p: x, lambda x, g, b, p: (x, None, None),
                          lambda x, g, b, p: ("out", None),
                          lambda x, g, b, p: (x * np.nan, p.update(running_mean="m") or None)],
    "batchnorm_backward": [lambda dout, cache: dout, lambda dout, cache: (dout, "g", [1, 2]),
                           lambda dout, cache: (dout * np.nan,) * 3],
    "clip_by_global_norm": [lambda g, m: g, lambda g, m: (g, "norm"), lambda g, m: ([1], 1.0),
                            lambda g, m: ({k: "x" for k in g}, 1.0), lambda g, m: (1.0, g)],
    "warmup_cosine": [lambda *a: "lr", lambda *a: [0.1], lambda *a: np.array([0.1, 0.2]),
                      lambda *a: float("nan")],
    "adamw": [lambda w, dw, c=None: w, lambda w, dw, c=None: (w, None),
              lambda w, dw, c=None: (w * np.nan, {})],
    "mlp_loss": [lambda p, X, y, bn=None: 1.0, lambda p, X, y, bn=None: ({}, 1.0),
                 lambda p, X, y, bn=None: (np.nan, {k: v * np.nan for k, v in p.items()}),
                 lambda p, X, y, bn=None: (1.0, {k: "g" for k in p})],
    "train_epoch": [lambda *a: a[0], lambda *a: (a[0], a[1]),
                    lambda *a: ({k: "w" for k in a[0]}, a[1], []),
                    lambda *a: (a[0], "configs", [0.0]), lambda *a: (a[0], a[1], "losses")],
}


@pytest.mark.parametrize("name, index", [(n, i) for n, odd in ODD.items()
                                         for i in range(len(odd))])
def test_odd_returns_fail_without_crashing_the_checker(name, index):
    given(batchnorm_forward=nnlib.batchnorm_forward)
    message = failure(name, ODD[name][index])
    assert "could not be checked" not in message and "Traceback" not in message, message
