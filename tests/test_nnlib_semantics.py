"""nnlib's reference implementation against the exercise contract in CURRICULUM.md.

What is pinned here is what the contract says in words: defaults and state keys, the order of
an update, which random numbers are drawn, edge cases, that no input is modified, that nothing
overflows or warns, and that no global random state is touched.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest

import nnlib
from nnlib.ops import MSE, Ops

ALL_EXERCISES = [name for names in nnlib.EXERCISES.values() for name in names]


# --- 00 data preparation ------------------------------------------------------------------------
def test_impute_missing_uses_training_means_ignoring_nans():
    X_train = np.array([[1.0, np.nan, 5.0], [3.0, 4.0, np.nan], [np.nan, 8.0, 7.0]])
    X = np.array([[np.nan, np.nan, np.nan], [10.0, 20.0, 30.0], [np.nan, 1.0, np.nan]])
    out = nnlib.impute_missing(X_train, X)
    means = [2.0, 6.0, 6.0]  # of X_train's columns, not of X's
    np.testing.assert_array_equal(out, [means, [10.0, 20.0, 30.0], [2.0, 1.0, 6.0]])
    assert not np.isnan(out).any()
    assert np.isnan(X).sum() == 5  # the input keeps its NaNs


def test_standardize_uses_population_std_of_train_and_leaves_constant_columns_unscaled():
    X_train = np.array([[1.0, 5.0, 2.0], [3.0, 5.0, 4.0], [5.0, 5.0, 9.0]])
    X = np.array([[3.0, 7.0, 0.0], [1.0, 5.0, 5.0]])
    out = nnlib.standardize(X_train, X)
    mu, sigma = X_train.mean(axis=0), X_train.std(axis=0, ddof=0)
    np.testing.assert_allclose(out[:, [0, 2]], (X[:, [0, 2]] - mu[[0, 2]]) / sigma[[0, 2]])
    np.testing.assert_array_equal(out[:, 1], X[:, 1] - 5.0)  # sigma == 0: divided by 1
    train_out = nnlib.standardize(X_train, X_train)
    np.testing.assert_allclose(train_out[:, [0, 2]].mean(axis=0), 0, atol=1e-15)
    np.testing.assert_allclose(train_out[:, [0, 2]].std(axis=0), 1)


def test_one_hot():
    out = nnlib.one_hot(np.array([0, 2, 1, 2]), 3)
    assert out.dtype.kind == "f" and out.shape == (4, 3)
    np.testing.assert_array_equal(out, [[1, 0, 0], [0, 0, 1], [0, 1, 0], [0, 0, 1]])
    np.testing.assert_array_equal(nnlib.one_hot(np.array([1]), 2), [[0.0, 1.0]])


@pytest.mark.parametrize("labels", [[-1, 0], [0, 3], [5]])
def test_one_hot_rejects_labels_out_of_range(labels):
    with pytest.raises(ValueError):
        nnlib.one_hot(np.array(labels), 3)


@pytest.mark.parametrize("n, val_fraction, test_fraction", [
    (10, 0.25, 0.15),   # round(2.5) == 2, round(1.5) == 2: Python's round, halves to even
    (7, 0.5, 0.0),      # round(3.5) == 4
    (20, 0.1, 0.2),
    (5, 0.0, 0.0),
    (3, 0.34, 0.33),
])
def test_train_val_test_split_sizes_and_partition(n, val_fraction, test_fraction):
    X = np.arange(n, dtype=float)[:, None] * np.array([[1.0, -1.0]])
    y = np.arange(n) * 10
    parts = nnlib.train_val_test_split(X, y, val_fraction, test_fraction,
                                       np.random.default_rng(0))
    X_tr, y_tr, X_val, y_val, X_te, y_te = parts
    assert len(X_te) == len(y_te) == round(n * test_fraction)
    assert len(X_val) == len(y_val) == round(n * val_fraction)
    assert len(X_tr) == len(y_tr) == n - len(X_te) - len(X_val)
    rows = np.concatenate([X_tr[:, 0], X_val[:, 0], X_te[:, 0]])
    np.testing.assert_array_equal(np.sort(rows), np.arange(n))  # a partition of the rows
    for Xp, yp in ((X_tr, y_tr), (X_val, y_val), (X_te, y_te)):
        np.testing.assert_array_equal(Xp[:, 0] * 10, yp)       # pairs stay together
        np.testing.assert_array_equal(Xp[:, 1], -Xp[:, 0])


def test_train_val_test_split_shuffles_with_rng():
    X, y = np.arange(50)[:, None], np.arange(50)
    a = nnlib.train_val_test_split(X, y, 0.2, 0.2, np.random.default_rng(1))
    b = nnlib.train_val_test_split(X, y, 0.2, 0.2, np.random.default_rng(1))
    c = nnlib.train_val_test_split(X, y, 0.2, 0.2, np.random.default_rng(2))
    for p, q in zip(a, b):
        np.testing.assert_array_equal(p, q)
    assert not np.array_equal(a[0], np.arange(30)[:, None])  # shuffled
    assert not all(np.array_equal(p, q) for p, q in zip(a, c))


@pytest.mark.parametrize("n, batch_size", [(10, 3), (9, 3), (1, 4), (5, 5), (0, 2)])
def test_iterate_minibatches_in_order_without_rng(n, batch_size):
    X, y = np.arange(n * 2).reshape(n, 2), np.arange(n)
    batches = list(nnlib.iterate_minibatches(X, y, batch_size))
    assert [len(yb) for _, yb in batches] == \
        [min(batch_size, n - s) for s in range(0, n, batch_size)]
    order = np.concatenate([yb for _, yb in batches]) if batches else np.array([], int)
    np.testing.assert_array_equal(order, np.arange(n))
    for Xb, yb in batches:
        np.testing.assert_array_equal(Xb, X[yb])


def test_iterate_minibatches_follows_rng_permutation():
    n, batch_size = 23, 5
    X, y = np.arange(n)[:, None] * 1.0, np.arange(n)
    batches = list(nnlib.iterate_minibatches(X, y, batch_size, np.random.default_rng(4)))
    order = np.concatenate([yb for _, yb in batches])
    np.testing.assert_array_equal(order, np.random.default_rng(4).permutation(n))
    assert [len(yb) for _, yb in batches] == [5, 5, 5, 5, 3]
    for Xb, yb in batches:
        np.testing.assert_array_equal(Xb[:, 0], yb)


# --- 01 losses --------------------------------------------------------------------------------
def test_mse_loss_is_the_mean_over_all_entries():
    y_pred, y_true = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[0.0, 2.0], [1.0, 7.0]])
    assert nnlib.mse_loss(y_pred, y_true) == pytest.approx((1 + 0 + 4 + 9) / 4)
    assert isinstance(nnlib.mse_loss(y_pred, y_true), float)


def test_cross_entropy_is_the_batch_mean_of_minus_log_softmax():
    scores = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    y = np.array([2, 0])
    p = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    expected = -(np.log(p[0, 2]) + np.log(p[1, 0])) / 2
    assert nnlib.cross_entropy_loss(scores, y) == pytest.approx(expected, rel=1e-14)
    assert isinstance(nnlib.cross_entropy_loss(scores, y), float)
    np.testing.assert_allclose(nnlib.softmax(scores), p, rtol=1e-14)


EXTREME_SCORES = [
    np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [1e4, 1e4 - 1, 1e4 + 1]]),
    np.array([[-1e300, 1e300]]),
    np.array([[1e4]]),
]


@pytest.mark.parametrize("scores", EXTREME_SCORES)
def test_softmax_family_is_finite_and_silent_for_huge_scores(scores):
    y = np.arange(len(scores)) % scores.shape[1]
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        p = nnlib.softmax(scores)
        logp = nnlib.log_softmax(scores)
        loss = nnlib.cross_entropy_loss(scores, y)
        grad = nnlib.softmax_cross_entropy_backward(scores, y)
    assert np.all(np.isfinite(p)) and np.all(np.isfinite(logp)) and np.isfinite(loss)
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert np.all(logp <= 0)


def test_cross_entropy_of_a_confident_wrong_answer_is_large_but_finite():
    loss = nnlib.cross_entropy_loss(np.array([[1e4, -1e4]]), np.array([1]))
    assert loss == pytest.approx(2e4)


@pytest.mark.parametrize("x", [1e4, -1e4, 800.0, -800.0, 0.0, 1e308, -1e308])
def test_sigmoid_is_finite_and_silent_for_any_finite_input(x):
    arr = np.array([[x, -x], [x, 0.0]])
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        s = nnlib.sigmoid(arr)
        out, cache = nnlib.sigmoid_forward(arr)
        dx = nnlib.sigmoid_backward(np.ones_like(arr), cache)
    assert np.all(np.isfinite(s)) and np.all((s >= 0) & (s <= 1))
    np.testing.assert_array_equal(out, s)
    np.testing.assert_array_equal(cache, out)  # sigmoid_forward's cache is its output
    assert np.all(np.isfinite(dx))
    assert nnlib.sigmoid(np.array(0.0)) == 0.5


# --- 02 chain rule -----------------------------------------------------------------------------
def test_numeric_gradient_on_a_non_contiguous_view_restores_it():
    base = np.arange(24, dtype=float).reshape(4, 6) / 10
    view = base[::2, 1::2]
    before = base.copy()
    grad = nnlib.numeric_gradient(lambda v: np.sum(v**2), view)
    assert grad.shape == view.shape
    np.testing.assert_allclose(grad, 2 * view, rtol=1e-8)
    np.testing.assert_array_equal(base, before)


def test_numeric_gradient_restores_x_even_when_f_raises():
    x = np.array([1.0, 2.0])

    def f(v):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        nnlib.numeric_gradient(f, x)
    np.testing.assert_array_equal(x, [1.0, 2.0])


def test_value_relu_derivative_at_zero_is_zero():
    x = nnlib.Value(0.0)
    y = x.relu() * 3
    y.backward()
    assert x.grad == 0.0 and y.grad == 1.0
    assert nnlib.relu_backward(np.ones(3), np.array([-1.0, 0.0, 1.0])).tolist() == [0, 0, 1]


def test_value_attributes_and_number_sides():
    a = nnlib.Value(2.0)
    assert a.data == 2.0 and a.grad == 0.0
    for expr, expected in [(a + 1, 3.0), (1 + a, 3.0), (a - 1, 1.0), (1 - a, -1.0),
                           (a * 3, 6.0), (3 * a, 6.0), (a / 4, 0.5), (4 / a, 2.0),
                           (-a, -2.0), (a**3, 8.0)]:
        assert isinstance(expr, nnlib.Value) and expr.data == pytest.approx(expected)
    assert a.data == 2.0 and a.grad == 0.0  # building expressions changes nothing


# --- 03 backpropagation ------------------------------------------------------------------------
def test_affine_forward_cache_and_shapes():
    rng = np.random.default_rng(0)
    x, W, b = rng.standard_normal((2, 3)), rng.standard_normal((3, 4)), rng.standard_normal(4)
    out, cache = nnlib.affine_forward(x, W, b)
    np.testing.assert_allclose(out, x @ W + b)
    assert cache[0] is x and cache[1] is W and cache[2] is b
    dx, dW, db = nnlib.affine_backward(np.ones((2, 4)), cache)
    assert dx.shape == x.shape and dW.shape == W.shape and db.shape == b.shape


def test_relu_forward_cache_is_its_input():
    x = np.array([-1.0, 0.0, 2.0])
    out, cache = nnlib.relu_forward(x)
    np.testing.assert_array_equal(out, [0.0, 0.0, 2.0])
    assert cache is x


def test_glorot_uniform_draw():
    out = nnlib.glorot_uniform(5, 3, np.random.default_rng(9))
    b = np.sqrt(6 / 8)
    np.testing.assert_array_equal(out, np.random.default_rng(9).uniform(-b, b, size=(5, 3)))


def test_he_normal_draw_and_its_variance():
    out = nnlib.he_normal(5, 3, np.random.default_rng(9))
    expected = np.random.default_rng(9).normal(0.0, np.sqrt(2 / 5), size=(5, 3))
    np.testing.assert_array_equal(out, expected)
    big = nnlib.he_normal(400, 500, np.random.default_rng(1))
    assert big.var() == pytest.approx(2 / 400, rel=0.02)


def test_he_keeps_the_scale_of_a_deep_relu_network_and_glorot_shrinks_it():
    """What notebook 07 shows: 9 ReLU layers of width 256, activations' root mean square."""
    X = np.random.default_rng(0).standard_normal((500, 256))
    scales = {}
    for init in ("he", "glorot"):
        params = nnlib.init_mlp([256] * 10 + [10], np.random.default_rng(1), init=init)
        acts = nnlib.deep_mlp.hidden_activations(params, X)
        scales[init] = [float(np.sqrt(np.mean(a**2))) for a in acts]
    assert 0.7 < scales["he"][-1] / scales["he"][0] < 1.4
    assert scales["glorot"][-1] / scales["glorot"][0] < 0.1  # about (1/2)**(8/2)


def test_init_mlp_with_he_and_batchnorm_parameters():
    params = nnlib.init_mlp([4, 6, 5, 3], np.random.default_rng(2), init="he", batchnorm=True)
    assert list(params) == ["W1", "b1", "gamma1", "beta1", "W2", "b2", "gamma2", "beta2",
                            "W3", "b3"]
    np.testing.assert_array_equal(params["W1"], nnlib.he_normal(4, 6, np.random.default_rng(2)))
    np.testing.assert_array_equal(params["gamma2"], np.ones(5))
    np.testing.assert_array_equal(params["beta1"], np.zeros(6))
    mine = nnlib.init_mlp([4, 3], np.random.default_rng(2), init=lambda a, b, rng: np.ones((a, b)))
    np.testing.assert_array_equal(mine["W1"], np.ones((4, 3)))
    with pytest.raises(ValueError):
        nnlib.init_mlp([4, 3], np.random.default_rng(2), init="kaiming")


# --- 04 optimizers -----------------------------------------------------------------------------
OPTIMIZER_DEFAULTS = {
    "sgd": {"learning_rate": 1e-2},
    "sgd_momentum": {"learning_rate": 1e-2, "momentum": 0.9},
    "adagrad": {"learning_rate": 1e-2, "epsilon": 1e-8},
    "rmsprop": {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8},
    "adam": {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, "t": 1},
    "adamw": {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, "t": 1,
              "weight_decay": 1e-2},
}
OPTIMIZER_STATE = {"sgd": [], "sgd_momentum": ["velocity"], "adagrad": ["cache"],
                   "rmsprop": ["cache"], "adam": ["m", "v"], "adamw": ["m", "v"]}


@pytest.mark.parametrize("name", sorted(OPTIMIZER_DEFAULTS))
@pytest.mark.parametrize("given", ["None", "empty dict"])
def test_optimizer_defaults_and_state_keys(name, given):
    rule = getattr(nnlib, name)
    config = None if given == "None" else {}
    w, dw = np.array([[1.0, -2.0, 3.0]]), np.array([[0.5, 0.25, -1.0]])
    next_w, cfg = rule(w, dw, config)
    assert set(cfg) == set(OPTIMIZER_DEFAULTS[name]) | set(OPTIMIZER_STATE[name])
    for key, value in OPTIMIZER_DEFAULTS[name].items():
        assert cfg[key] == value, key
    for key in OPTIMIZER_STATE[name]:
        assert cfg[key].shape == w.shape
    if config is not None:
        assert cfg is config  # the state lives in the caller's dict
    assert next_w.shape == w.shape


def test_optimizer_formulas_over_several_steps():
    rng = np.random.default_rng(3)
    w0 = rng.standard_normal((2, 3))
    grads = [rng.standard_normal((2, 3)) for _ in range(4)]
    hp = {"learning_rate": 0.1, "momentum": 0.8, "decay_rate": 0.9, "epsilon": 1e-6,
          "beta1": 0.7, "beta2": 0.95, "weight_decay": 0.3}
    for name in ("sgd", "sgd_momentum", "adagrad", "rmsprop", "adam", "adamw"):
        rule = getattr(nnlib, name)
        w, cfg = w0, {k: v for k, v in hp.items() if k in OPTIMIZER_DEFAULTS[name]}
        ew, vel, cache, m, v = w0.copy(), 0 * w0, 0 * w0, 0 * w0, 0 * w0
        for t, g in enumerate(grads, start=1):
            w, cfg = rule(w, g, cfg)
            if name == "sgd":
                ew = ew - 0.1 * g
            elif name == "sgd_momentum":
                vel = 0.8 * vel - 0.1 * g
                ew = ew + vel
            elif name == "adagrad":
                cache = cache + g**2                    # no decay: the cache only grows
                ew = ew - 0.1 * g / (np.sqrt(cache) + 1e-6)
            elif name == "rmsprop":
                cache = 0.9 * cache + 0.1 * g**2
                ew = ew - 0.1 * g / (np.sqrt(cache) + 1e-6)
            else:
                m, v = 0.7 * m + 0.3 * g, 0.95 * v + 0.05 * g**2
                step = (m / (1 - 0.7**t)) / (np.sqrt(v / (1 - 0.95**t)) + 1e-6)
                decay = 0.3 * ew if name == "adamw" else 0.0  # decoupled: from w, not dw
                ew = ew - 0.1 * (step + decay)
            np.testing.assert_allclose(w, ew, rtol=1e-12, err_msg=f"{name} step {t}")
        if name in ("adam", "adamw"):
            assert cfg["t"] == len(grads)


def test_adagrad_steps_shrink_for_a_constant_gradient():
    w, cfg, steps = np.array([0.0]), None, []
    for _ in range(4):
        next_w, cfg = nnlib.adagrad(w, np.array([2.0]), cfg)
        steps.append(float(w[0] - next_w[0]))
        w = next_w
    # cache after t steps is 4t, so the step is 0.01 * 2 / sqrt(4t) = 0.01 / sqrt(t)
    np.testing.assert_allclose(steps, 0.01 / np.sqrt([1, 2, 3, 4]), rtol=1e-7)


def test_adamw_decay_does_not_depend_on_the_gradient_scale():
    """Adam's step is invariant to scaling dw; AdamW's decay term is the same for any dw."""
    w = np.array([2.0, -1.0])
    small, _ = nnlib.adamw(w, np.array([1e-3, 1e-3]), {"weight_decay": 0.5, "epsilon": 0.0})
    large, _ = nnlib.adamw(w, np.array([1e3, 1e3]), {"weight_decay": 0.5, "epsilon": 0.0})
    adam, _ = nnlib.adam(w, np.array([1.0, 1.0]), {"epsilon": 0.0})
    np.testing.assert_allclose(small, large, rtol=1e-9)
    np.testing.assert_allclose(small, adam - 1e-3 * 0.5 * w, rtol=1e-9)


def test_adam_increments_t_before_the_update():
    w, dw = np.array([1.0, 2.0]), np.array([0.5, -3.0])
    next_w, cfg = nnlib.adam(w, dw, {"learning_rate": 0.1})
    assert cfg["t"] == 1
    # t = 1 at the first step: m_hat = dw, v_hat = dw**2 exactly
    np.testing.assert_allclose(next_w, w - 0.1 * dw / (np.abs(dw) + 1e-8), rtol=1e-12)
    # a config resumed at t = 9 uses t = 10 for the bias correction
    m, v = np.array([0.1, 0.2]), np.array([0.3, 0.4])
    next_w, cfg = nnlib.adam(w, dw, {"m": m, "v": v, "t": 9})
    m10, v10 = 0.9 * m + 0.1 * dw, 0.999 * v + 0.001 * dw**2
    expected = w - 1e-3 * (m10 / (1 - 0.9**10)) / (np.sqrt(v10 / (1 - 0.999**10)) + 1e-8)
    assert cfg["t"] == 10
    np.testing.assert_allclose(next_w, expected, rtol=1e-12)


def test_gradient_descent_path():
    path = nnlib.gradient_descent(lambda w: 2 * w, np.array([1.0, -2.0]), 0.25, 3)
    assert path.shape == (4, 2)
    np.testing.assert_allclose(path, [[1, -2], [0.5, -1], [0.25, -0.5], [0.125, -0.25]])


@pytest.mark.parametrize("name", sorted(OPTIMIZER_DEFAULTS))
def test_optimizer_state_keeps_float32_and_integer_weights_get_float64(name):
    rule = getattr(nnlib, name)
    w32 = np.ones((2, 2), dtype=np.float32)
    next_w, cfg = rule(w32, np.full((2, 2), 0.5, dtype=np.float32))
    next_w, cfg = rule(next_w, np.full((2, 2), 0.5, dtype=np.float32), cfg)
    assert next_w.dtype == np.float32
    assert all(cfg[k].dtype == np.float32 for k in OPTIMIZER_STATE[name])
    w_int = np.array([1, 2, 3])
    next_w, cfg = rule(w_int, np.array([1, 1, 1]))
    assert next_w.dtype == np.float64
    assert all(cfg[k].dtype == np.float64 for k in OPTIMIZER_STATE[name])


def test_float32_network_trains_in_float32():
    rng = np.random.default_rng(0)
    model = nnlib.MLP.create([4, 8, 3], rng, dtype=np.float32, keep_prob=0.8)
    X = rng.standard_normal((20, 4)).astype(np.float32)
    y = rng.integers(0, 3, size=20)
    _, grads = model.loss_and_grads(X, y, rng=rng, reg=0.1)
    assert all(g.dtype == np.float32 for g in grads.values())
    nnlib.train(model, X, y, rng=rng, epochs=2, batch_size=8, reg=0.01)
    assert all(p.dtype == np.float32 for p in model.params.values())
    regress = nnlib.MLP.create([4, 8, 3], rng, dtype=np.float32, ops=Ops(**MSE))
    _, grads = regress.loss_and_grads(X, np.zeros((20, 3), dtype=np.float32))
    assert all(g.dtype == np.float32 for g in grads.values())
    sigmoid_net = nnlib.MLP.create([4, 8, 3], rng, dtype=np.float32, activation="sigmoid")
    _, grads = sigmoid_net.loss_and_grads(X, y)
    assert all(g.dtype == np.float32 for g in grads.values())


def test_exercises_keep_float32_in_float32_and_integers_become_float64():
    x32 = np.array([[-30.0, -1.0, 0.0, 2.0, 50.0]], dtype=np.float32)
    out, cache = nnlib.sigmoid_forward(x32)
    assert out.dtype == cache.dtype == np.float32
    np.testing.assert_allclose(out, nnlib.sigmoid(x32.astype(np.float64)), rtol=1e-6)
    assert nnlib.sigmoid_backward(np.ones_like(x32), cache).dtype == np.float32
    assert nnlib.sigmoid(np.array([1, 2])).dtype == np.float64
    X_train = np.array([[1.0, np.nan], [3.0, 4.0], [5.0, 8.0]], dtype=np.float32)
    imputed = nnlib.impute_missing(X_train, X_train)
    assert imputed.dtype == np.float32 and imputed[0, 1] == 6.0
    assert nnlib.impute_missing(X_train, np.array([[1, 2]])).dtype == np.float64
    scaled = nnlib.standardize(imputed, imputed)
    assert scaled.dtype == np.float32
    np.testing.assert_allclose(scaled.std(axis=0), 1.0, rtol=1e-6)
    path = nnlib.gradient_descent(lambda w: 2 * w, np.ones(2, dtype=np.float32), 0.25, 2)
    assert path.dtype == np.float32
    assert nnlib.gradient_descent(lambda w: 2 * w, np.array([1, 2]), 0.25, 2).dtype == np.float64


# --- 07 training in practice ---------------------------------------------------------------------
def test_batchnorm_training_mode():
    rng = np.random.default_rng(4)
    x = 3.0 + 2.0 * rng.standard_normal((8, 3))
    gamma, beta = np.array([1.0, 2.0, -1.0]), np.array([0.0, 0.5, 1.0])
    bn_param = {"momentum": 0.8, "running_mean": np.ones(3), "eps": 1e-3, "note": "kept"}
    out, _ = nnlib.batchnorm_forward(x, gamma, beta, bn_param)
    mu, var = x.mean(axis=0), x.var(axis=0, ddof=0)                  # population variance
    np.testing.assert_allclose(out, gamma * (x - mu) / np.sqrt(var + 1e-3) + beta, rtol=1e-12)
    np.testing.assert_allclose(bn_param["running_mean"], 0.8 * 1.0 + 0.2 * mu, rtol=1e-12)
    np.testing.assert_allclose(bn_param["running_var"], 0.2 * var, rtol=1e-12)  # from zeros
    # the only keys written are the running statistics: no mode, eps or momentum added
    assert set(bn_param) == {"momentum", "running_mean", "eps", "note", "running_var"}
    fresh = {}
    nnlib.batchnorm_forward(x, gamma, beta, fresh)
    assert set(fresh) == {"running_mean", "running_var"}
    np.testing.assert_allclose(fresh["running_mean"], 0.1 * mu, rtol=1e-12)  # momentum 0.9


def test_batchnorm_test_mode_uses_running_statistics_and_writes_nothing():
    x = np.array([[1.0, 2.0], [3.0, 5.0]])
    gamma, beta = np.array([2.0, 1.0]), np.array([0.0, -1.0])
    bn_param = {"mode": "test", "running_mean": np.array([1.0, 1.0]),
                "running_var": np.array([4.0, 1.0])}
    before = copy.deepcopy(bn_param)
    out, cache = nnlib.batchnorm_forward(x, gamma, beta, bn_param)
    np.testing.assert_allclose(out, gamma * (x - 1.0) / np.sqrt(np.array([4.0, 1.0]) + 1e-5)
                               + beta)
    assert cache is None
    assert bn_param.keys() == before.keys()
    for key in before:
        np.testing.assert_array_equal(bn_param[key], before[key])
    out, _ = nnlib.batchnorm_forward(x, gamma, beta, {"mode": "test"})   # zeros when missing
    np.testing.assert_allclose(out, gamma * x / np.sqrt(1e-5) + beta)


@pytest.mark.parametrize("mode", ["eval", "Train", "TEST", ""])
def test_batchnorm_rejects_other_modes(mode):
    with pytest.raises(ValueError):
        nnlib.batchnorm_forward(np.ones((2, 2)), np.ones(2), np.zeros(2), {"mode": mode})


def test_batchnorm_stays_float32():
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    g, b = np.ones(3, dtype=np.float32), np.zeros(3, dtype=np.float32)
    bn_param = {}
    out, cache = nnlib.batchnorm_forward(x, g, b, bn_param)
    assert out.dtype == np.float32 and bn_param["running_var"].dtype == np.float32
    assert all(a.dtype == np.float32 for a in nnlib.batchnorm_backward(out, cache))


def test_clip_by_global_norm():
    grads = {"W": np.array([[3.0, 0.0]]), "b": np.array([4.0])}   # global norm 5
    clipped, norm = nnlib.clip_by_global_norm(grads, 1.0)
    assert norm == 5.0 and isinstance(norm, float)
    np.testing.assert_allclose(clipped["W"], [[0.6, 0.0]], rtol=1e-15)
    np.testing.assert_allclose(clipped["b"], [0.8], rtol=1e-15)     # one scale for all arrays
    same, norm = nnlib.clip_by_global_norm(grads, 5.0)               # not above: not clipped
    assert norm == 5.0
    for key in grads:
        np.testing.assert_array_equal(same[key], grads[key])
        assert not np.shares_memory(same[key], grads[key])            # copies
    assert same is not grads and grads["b"][0] == 4.0
    f32 = {"W": np.ones((2, 2), dtype=np.float32)}
    assert nnlib.clip_by_global_norm(f32, 1.0)[0]["W"].dtype == np.float32
    assert nnlib.clip_by_global_norm({"W": np.zeros(3)}, 1.0)[1] == 0.0


WARMUP_COSINE = [
    # (step, total_steps, base_lr, warmup_steps, min_lr, expected)
    (0, 10, 0.1, 4, 0.0, 0.025),          # the first warm-up step: base_lr * 1 / 4
    (3, 10, 0.1, 4, 0.0, 0.1),            # the last warm-up step reaches base_lr
    (4, 10, 0.1, 4, 0.0, 0.1),            # p = 0: the cosine starts at base_lr
    (9, 10, 0.1, 4, 0.0, 0.0),            # p = 1 at the last step: min_lr
    (7, 10, 0.1, 4, 0.02, 0.02 + 0.5 * 0.08 * (1 + np.cos(np.pi * 3 / 5))),
    (0, 1, 0.3, 0, 0.0, 0.3),             # one step: max(1, ...) keeps p = 0
    (4, 5, 0.3, 4, 0.1, 0.3),             # warm-up until the last step
    (0, 5, 0.3, 0, 0.1, 0.3),
    (2, 5, 0.3, 0, 0.1, 0.2),             # the middle of the cosine: halfway
]


@pytest.mark.parametrize("step, total, base, warmup, min_lr, expected", WARMUP_COSINE)
def test_warmup_cosine_table(step, total, base, warmup, min_lr, expected):
    lr = nnlib.warmup_cosine(step, total, base, warmup, min_lr)
    assert isinstance(lr, float) and lr == pytest.approx(expected, abs=1e-15)


def test_warmup_cosine_defaults_and_scheduled_rule():
    assert nnlib.warmup_cosine(0, 3, 1.0) == 1.0 and nnlib.warmup_cosine(2, 3, 1.0) == 0.0
    rule = nnlib.scheduled(nnlib.sgd, lambda step: 0.1 * (step + 1))
    w, cfg = np.array([0.0]), None
    for _ in range(3):
        w, cfg = rule(w, np.array([1.0]), cfg)
    np.testing.assert_allclose(w, [-(0.1 + 0.2 + 0.3)])
    assert cfg["schedule_step"] == 3 and cfg["learning_rate"] == pytest.approx(0.3)
    assert nnlib.step_decay(0, 0.5, 10) == 0.5 and nnlib.step_decay(25, 0.5, 10) == \
        pytest.approx(0.005)


def test_mlp_loss_of_two_layers_is_two_layer_net():
    rng = np.random.default_rng(5)
    params = nnlib.init_mlp([4, 6, 3], rng)
    X, y = rng.standard_normal((7, 4)), rng.integers(0, 3, size=7)
    loss, grads = nnlib.mlp_loss(params, X, y)
    ref_loss, ref_grads = nnlib.two_layer_net(params, X, y)
    assert loss == pytest.approx(ref_loss, rel=1e-14) and grads.keys() == params.keys()
    for key in params:
        np.testing.assert_allclose(grads[key], ref_grads[key], rtol=1e-12, atol=1e-15)


def test_mlp_loss_batch_norm_layers_and_their_statistics():
    rng = np.random.default_rng(6)
    params = nnlib.init_mlp([3, 5, 4, 2], rng, init="he")
    params.update(gamma2=rng.uniform(0.5, 2, 4), beta2=rng.standard_normal(4))  # layer 2 only
    X, y = rng.standard_normal((9, 3)), rng.integers(0, 2, size=9)
    bn_params = [{"running_mean": np.ones(5)}, {"momentum": 0.5}]
    loss, grads = nnlib.mlp_loss(params, X, y, bn_params)
    h1 = np.maximum(X @ params["W1"] + params["b1"], 0)
    a2 = h1 @ params["W2"] + params["b2"]
    h2 = np.maximum(params["gamma2"] * (a2 - a2.mean(0)) / np.sqrt(a2.var(0) + 1e-5)
                    + params["beta2"], 0)
    assert loss == pytest.approx(nnlib.cross_entropy_loss(h2 @ params["W3"] + params["b3"], y))
    assert set(grads) == set(params)
    assert bn_params[0] == {"running_mean": bn_params[0]["running_mean"]}  # layer 1: untouched
    np.testing.assert_array_equal(bn_params[0]["running_mean"], np.ones(5))
    np.testing.assert_allclose(bn_params[1]["running_mean"], 0.5 * a2.mean(0), rtol=1e-12)
    np.testing.assert_allclose(bn_params[1]["running_var"], 0.5 * a2.var(0), rtol=1e-12)
    np.testing.assert_allclose(grads["b2"], 0.0, atol=1e-15)  # batch norm removes the mean
    again, _ = nnlib.mlp_loss(params, X, y)                   # fresh statistics: same loss
    assert again == pytest.approx(loss, rel=1e-14)


def test_mlp_scores_use_the_running_statistics():
    rng = np.random.default_rng(7)
    params = nnlib.init_mlp([3, 4, 2], rng, init="he", batchnorm=True)
    X = rng.standard_normal((6, 3))
    bn_params = nnlib.new_bn_params(params)
    for _ in range(3):
        nnlib.mlp_loss(params, X, np.zeros(6, dtype=int), bn_params)
    before = copy.deepcopy(bn_params)
    one = nnlib.mlp_scores(params, X[:1], bn_params)
    np.testing.assert_allclose(one, nnlib.mlp_scores(params, X, bn_params)[:1])  # row alone
    assert bn_params[0]["running_mean"].tolist() == before[0]["running_mean"].tolist()


def test_train_epoch_is_the_loop_of_the_contract():
    rng = np.random.default_rng(8)
    params = nnlib.init_mlp([4, 5, 3], rng)
    X, y = rng.standard_normal((10, 4)), rng.integers(0, 3, size=10)
    configs = {"W1": {"learning_rate": 0.1, "momentum": 0.5}}          # the others: None
    kept_params, kept_configs = copy.deepcopy(params), copy.deepcopy(configs)
    new, new_configs, losses = nnlib.train_epoch(params, configs, X, y, nnlib.sgd_momentum, 4,
                                                 np.random.default_rng(3), max_norm=0.5)
    # by hand
    p, c, expected_losses = dict(params), {k: dict(v) for k, v in configs.items()}, []
    order = np.random.default_rng(3).permutation(10)
    for start in range(0, 10, 4):
        rows = order[start:start + 4]
        loss, grads = nnlib.mlp_loss(p, X[rows], y[rows])
        grads, _ = nnlib.clip_by_global_norm(grads, 0.5)
        for key in p:
            p[key], c[key] = nnlib.sgd_momentum(p[key], grads[key],
                                                dict(c[key]) if key in c else None)
        expected_losses.append(loss)
    assert losses == expected_losses and len(losses) == 3
    for key in p:
        np.testing.assert_array_equal(new[key], p[key])
        np.testing.assert_array_equal(new_configs[key]["velocity"], c[key]["velocity"])
    assert new_configs["b1"]["learning_rate"] == 1e-2           # None: the rule's defaults
    for key in params:                                          # the inputs are unchanged
        np.testing.assert_array_equal(params[key], kept_params[key])
    assert configs == kept_configs


# --- 05 regularization -------------------------------------------------------------------------
@pytest.mark.parametrize("keep_prob", [0.25, 0.5, 0.9, 1.0])
def test_dropout_mask_is_one_draw_of_rng_random(keep_prob):
    x = np.arange(1.0, 13.0).reshape(3, 4)
    rng = np.random.default_rng(5)
    out, mask = nnlib.dropout_forward(x, keep_prob, True, rng)
    reference = np.random.default_rng(5)
    expected_mask = (reference.random(x.shape) < keep_prob) / keep_prob
    np.testing.assert_array_equal(mask, expected_mask)
    np.testing.assert_array_equal(out, x * expected_mask)
    assert rng.random() == reference.random()  # exactly one draw of x.shape was used
    np.testing.assert_array_equal(nnlib.dropout_backward(np.ones_like(x), mask), expected_mask)


def test_dropout_in_evaluation_mode_does_not_use_rng():
    x = np.arange(6.0).reshape(2, 3)
    rng = np.random.default_rng(5)
    state = copy.deepcopy(rng.bit_generator.state)
    out, cache = nnlib.dropout_forward(x, 0.5, False, rng)
    assert cache is None
    np.testing.assert_array_equal(out, x)
    assert rng.bit_generator.state == state
    out, cache = nnlib.dropout_forward(x, 0.5, False, None)  # no rng needed at all
    np.testing.assert_array_equal(out, x)
    np.testing.assert_array_equal(nnlib.dropout_backward(np.ones_like(x), None), np.ones((2, 3)))


def test_l2_penalty_covers_weights_only_and_returns_every_key():
    params = {"W1": np.array([[1.0, -2.0]]), "b1": np.array([3.0, 4.0]),
              "W2": np.array([[0.5], [1.5]]), "b2": np.array([7.0])}
    loss, dparams = nnlib.l2_penalty(params, 0.1)
    assert loss == pytest.approx(0.5 * 0.1 * (1 + 4 + 0.25 + 2.25))
    assert set(dparams) == set(params)
    np.testing.assert_allclose(dparams["W1"], 0.1 * params["W1"])
    np.testing.assert_allclose(dparams["W2"], 0.1 * params["W2"])
    np.testing.assert_array_equal(dparams["b1"], [0.0, 0.0])
    np.testing.assert_array_equal(dparams["b2"], [0.0])


EARLY_STOPPING = [
    # (val_losses, patience, min_delta, best_epoch, should_stop)
    ([1.0], 0, 0.0, 0, True),
    ([1.0], 1, 0.0, 0, False),
    ([3.0, 2.0, 1.0], 1, 0.0, 2, False),
    ([1.0, 2.0, 3.0], 2, 0.0, 0, True),
    ([1.0, 2.0, 3.0], 3, 0.0, 0, False),
    ([2.0, 1.0, 1.0, 1.0], 2, 0.0, 1, True),     # ties: the first lowest loss is best
    ([2.0, 1.0, 1.0], 2, 0.0, 1, False),
    ([1.0, 1.0, 1.0], 2, 0.0, 0, True),
    ([1.0, 0.5, 0.7, 0.4], 1, 0.0, 3, False),
    ([1.0, 0.9], 1, 0.1, 0, True),               # 0.9 is not below 1.0 - 0.1
    ([1.0, 0.95, 0.85], 5, 0.1, 2, False),       # compared with the best epoch's loss, 1.0
    ([1.0, 0.95, 0.93, 0.92], 3, 0.1, 0, True),
    ([1.0, 0.5, 0.45, 0.41, 0.3], 2, 0.1, 4, False),
    ([1.0, 0.5, 0.45, 0.41], 2, 0.1, 1, True),
]


@pytest.mark.parametrize("losses, patience, min_delta, best, stop", EARLY_STOPPING)
def test_early_stopping_table(losses, patience, min_delta, best, stop):
    assert nnlib.early_stopping(losses, patience, min_delta) == (best, stop)


def test_early_stopping_default_min_delta_is_zero():
    assert nnlib.early_stopping([1.0, 0.999999], 1) == (1, False)


IMAGE = np.arange(1.0, 13.0).reshape(3, 4)


@pytest.mark.parametrize("dy, dx, expected", [
    (0, 0, IMAGE),
    (1, 0, [[0, 0, 0, 0], [1, 2, 3, 4], [5, 6, 7, 8]]),          # down
    (-1, 0, [[5, 6, 7, 8], [9, 10, 11, 12], [0, 0, 0, 0]]),      # up
    (0, 1, [[0, 1, 2, 3], [0, 5, 6, 7], [0, 9, 10, 11]]),        # right
    (0, -2, [[3, 4, 0, 0], [7, 8, 0, 0], [11, 12, 0, 0]]),       # left
    (2, -1, [[0, 0, 0, 0], [0, 0, 0, 0], [2, 3, 4, 0]]),
    (-1, 3, [[0, 0, 0, 5], [0, 0, 0, 9], [0, 0, 0, 0]]),
    (3, 0, np.zeros((3, 4))),
    (0, -4, np.zeros((3, 4))),
    (-7, 9, np.zeros((3, 4))),
])
def test_shift_image(dy, dx, expected):
    out = nnlib.shift_image(IMAGE, dy, dx)
    np.testing.assert_array_equal(out, expected)
    assert out.shape == IMAGE.shape and out.dtype == IMAGE.dtype


@pytest.mark.parametrize("max_shift", [0, 1, 2])
def test_random_shift_moves_each_image_by_its_own_shift_in_range(max_shift):
    n, size = 400, 2 * max_shift + 3
    images = np.zeros((n, size, size))
    images[:, size // 2, size // 2] = 1.0          # one lit pixel in the middle
    images[:, size // 2, size // 2 + 1] = 2.0      # and a neighbour: shifts move both alike
    out = nnlib.random_shift(images, max_shift, np.random.default_rng(0))
    assert out.shape == images.shape
    shifts = []
    for img in out:
        (r,), (c,) = np.nonzero(img == 1.0)
        assert img[r, c + 1] == 2.0 and img.sum() == 3.0
        shifts.append((r - size // 2, c - size // 2))
    shifts = np.array(shifts)
    assert shifts.min() >= -max_shift and shifts.max() <= max_shift
    values = set(range(-max_shift, max_shift + 1))
    assert set(shifts[:, 0]) == values and set(shifts[:, 1]) == values  # every shift occurs
    if max_shift:
        assert len({tuple(s) for s in shifts}) == (2 * max_shift + 1) ** 2


def test_random_shift_of_no_images():
    out = nnlib.random_shift(np.zeros((0, 8, 8)), 2, np.random.default_rng(0))
    assert out.shape == (0, 8, 8)


# --- 06 transfer learning ----------------------------------------------------------------------
def three_layer_params(rng):
    return nnlib.init_mlp([4, 6, 5, 3], rng)


def test_extract_features_is_the_network_minus_its_head():
    rng = np.random.default_rng(0)
    params = three_layer_params(rng)
    X = rng.standard_normal((7, 4))
    h1 = np.maximum(X @ params["W1"] + params["b1"], 0)
    h2 = np.maximum(h1 @ params["W2"] + params["b2"], 0)
    np.testing.assert_allclose(nnlib.extract_features(params, X), h2)


def test_replace_head():
    rng = np.random.default_rng(0)
    params = three_layer_params(rng)
    new = nnlib.replace_head(params, 7, np.random.default_rng(3))
    assert set(new) == set(params) and new is not params
    for key in ("W1", "b1", "W2", "b2"):
        np.testing.assert_array_equal(new[key], params[key])
        assert not np.shares_memory(new[key], params[key])
    np.testing.assert_array_equal(new["W3"], nnlib.glorot_uniform(5, 7, np.random.default_rng(3)))
    np.testing.assert_array_equal(new["b3"], np.zeros(7))
    assert params["W3"].shape == (5, 3)  # the original keeps its head


def test_fine_tune_step():
    rng = np.random.default_rng(0)
    params = three_layer_params(rng)
    grads = {k: rng.standard_normal(v.shape) for k, v in params.items()}
    before = copy.deepcopy(params)
    new = nnlib.fine_tune_step(params, grads, ["W3", "b3"], 0.1)
    assert set(new) == set(params) and new is not params
    for key in params:
        expected = before[key] - 0.1 * grads[key] if key in ("W3", "b3") else before[key]
        np.testing.assert_allclose(new[key], expected, rtol=1e-15)
        np.testing.assert_array_equal(params[key], before[key])
    # the contract: stepped arrays are new; a frozen one may be shared, and nnlib shares it
    assert not np.shares_memory(new["W3"], params["W3"]) and new["W1"] is params["W1"]


# --- no exercise modifies its inputs -----------------------------------------------------------
def _inputs(name, rng):
    """``(args, positions that may change)`` for one call of exercise ``name``."""
    X = rng.standard_normal((6, 4))
    Xn = X.copy()
    Xn[[0, 2], [1, 3]] = np.nan
    y = rng.integers(0, 3, size=6)
    scores = rng.standard_normal((6, 3))
    params = nnlib.init_mlp([4, 5, 3], rng)
    bn_net = nnlib.init_mlp([4, 6, 5, 3], rng, init="he", batchnorm=True)
    W, b = rng.standard_normal((4, 3)), rng.standard_normal(3)
    w, dw = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    state = {"sgd": {}, "sgd_momentum": {"velocity": rng.standard_normal((4, 3))},
             "rmsprop": {"cache": rng.random((4, 3))},
             "adam": {"m": rng.standard_normal((4, 3)), "v": rng.random((4, 3)), "t": 3},
             "adagrad": {"cache": rng.random((4, 3))},
             "adamw": {"m": rng.standard_normal((4, 3)), "v": rng.random((4, 3)), "t": 3,
                       "weight_decay": 0.1}}
    table = {
        "impute_missing": ((Xn[:4], Xn), ()),
        "standardize": ((X[:4], X), ()),
        "one_hot": ((y, 3), ()),
        "train_val_test_split": ((X, y, 0.2, 0.3, rng), (4,)),
        "iterate_minibatches": ((X, y, 4, rng), (3,)),
        "mse_loss": ((scores, scores[::-1]), ()),
        "softmax": ((scores,), ()),
        "cross_entropy_loss": ((scores, y), ()),
        "numeric_gradient": ((lambda v: float(np.sum(v**3)), X), ()),
        "affine_forward": ((X, W, b), ()),
        "affine_backward": ((scores, (X, W, b)), ()),
        "relu_forward": ((X,), ()),
        "relu_backward": ((X, X[::-1]), ()),
        "sigmoid_forward": ((X,), ()),
        "sigmoid_backward": ((X, nnlib.sigmoid(X)), ()),
        "mse_loss_backward": ((scores, scores[::-1]), ()),
        "softmax_cross_entropy_backward": ((scores, y), ()),
        "glorot_uniform": ((4, 3, rng), (2,)),
        "two_layer_net": ((params, X, y), ()),
        "gradient_descent": ((lambda v: 2 * v, w, 0.1, 3), ()),
        "dropout_forward": ((X, 0.5, True, rng), (3,)),
        "dropout_backward": ((X, X > 0), ()),
        "l2_penalty": ((params, 0.1), ()),
        "early_stopping": (([3.0, 2.0, 2.5], 1, 0.1), ()),
        "shift_image": ((X, 1, -1), ()),
        "random_shift": ((X.reshape(3, 2, 4), 1, rng), (2,)),
        "extract_features": ((nnlib.init_mlp([4, 5, 2, 3], rng), X), ()),
        "replace_head": ((nnlib.init_mlp([4, 5, 2, 3], rng), 4, rng), (2,)),
        "fine_tune_step": ((params, nnlib.l2_penalty(params, 1.0)[1], ["W2", "b1"], 0.1), ()),
        "he_normal": ((4, 3, rng), (2,)),
        "batchnorm_forward": ((X, np.ones(4), W[:, 0], {"momentum": 0.5}), (3,)),
        "batchnorm_backward": ((X, nnlib.batchnorm_forward(X, np.ones(4), np.zeros(4), {})[1]),
                               ()),
        "clip_by_global_norm": (({"W": w, "b": b}, 0.1), ()),
        "warmup_cosine": ((3, 10, 0.1, 2, 0.01), ()),
        "mlp_loss": ((bn_net, X, y, [{}, {"running_mean": np.ones(5)}]), (3,)),
        "train_epoch": ((params, {"W1": {"learning_rate": 0.1, "momentum": 0.9}}, X, y,
                         nnlib.sgd_momentum, 4, rng, 1.0), (6,)),
    }
    for rule in state:
        table[rule] = ((w, dw, state[rule]), (2,))  # config is the rule's in/out state
    return table[name]


def _assert_same(a, b, where):
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype, where
        np.testing.assert_array_equal(a, b, err_msg=where)
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            _assert_same(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (p, q) in enumerate(zip(a, b)):
            _assert_same(p, q, f"{where}[{i}]")
    else:
        assert a == b or callable(a), where


@pytest.mark.parametrize("name", [n for n in ALL_EXERCISES if n != "Value"])
def test_no_exercise_modifies_its_inputs(name):
    args, may_change = _inputs(name, np.random.default_rng(0))
    kept = [None if i in may_change or isinstance(a, np.random.Generator) else copy.deepcopy(a)
            for i, a in enumerate(args)]
    result = getattr(nnlib, name)(*args)
    if name == "iterate_minibatches":
        list(result)
    for i, (before, after) in enumerate(zip(kept, args)):
        if before is not None:
            _assert_same(before, after, f"{name} argument {i}")


def test_the_generic_tests_cover_every_exercise():
    for name in ALL_EXERCISES:
        assert hasattr(nnlib, name), name
        if name != "Value":
            _inputs(name, np.random.default_rng(0))  # a KeyError: add the exercise to _inputs


# --- no global random state --------------------------------------------------------------------
LEGACY_FUNCTIONS = ["seed", "rand", "randn", "random", "random_sample", "ranf", "sample",
                    "randint", "random_integers", "choice", "shuffle", "permutation", "normal",
                    "uniform", "standard_normal", "binomial", "get_state", "set_state"]


@pytest.fixture
def no_global_rng(monkeypatch):
    """Any use of NumPy's global random state, or an unseeded Generator, raises."""
    from nnlib import datasets

    datasets.load_digits()  # imports scikit-learn first: SciPy draws from default_rng() then
    state = np.random.get_state()  # noqa: NPY002 - checking that nobody touched it

    def forbidden(name):
        def raiser(*args, **kwargs):
            raise AssertionError(f"np.random.{name} (the global random state) was used")
        return raiser

    for name in LEGACY_FUNCTIONS:
        if hasattr(np.random, name):
            monkeypatch.setattr(np.random, name, forbidden(name))
    real_default_rng = np.random.default_rng

    def seeded_only(seed=None):
        if seed is None:
            raise AssertionError("np.random.default_rng() without a seed was used")
        return real_default_rng(seed)

    monkeypatch.setattr(np.random, "default_rng", seeded_only)
    yield real_default_rng
    monkeypatch.undo()
    after = np.random.get_state()  # noqa: NPY002
    assert after[0] == state[0] and np.array_equal(after[1], state[1]) and after[2:] == state[2:]


def test_no_exercise_uses_the_global_random_state(no_global_rng):
    make_rng = no_global_rng
    for name in ALL_EXERCISES:
        if name == "Value":
            v = nnlib.Value(0.5)
            (v.tanh() * v.exp() + v.relu() ** 2).backward()
            continue
        args, _ = _inputs(name, make_rng(0))
        result = getattr(nnlib, name)(*args)
        if name == "iterate_minibatches":
            list(result)


def test_training_and_data_sets_do_not_use_the_global_random_state(no_global_rng):
    from nnlib import datasets, pretrained

    make_rng = no_global_rng
    rng = make_rng(0)
    X, y = datasets.make_spirals(20, 3, 0.1, rng)
    datasets.make_moons(30, 0.1, rng)
    datasets.make_regression_1d(30, 0.1, rng)
    for cached in (datasets._housing_raw, datasets._digits_raw):
        cached.cache_clear()
    datasets.load_housing()
    datasets.load_digits()
    model = nnlib.MLP.create([2, 8, 3], rng, keep_prob=0.8)
    nnlib.train(model, X, y, X, y, rng=rng, epochs=3, batch_size=16, reg=1e-3, patience=2,
                augment=lambda xb, r: xb + 0.01 * r.standard_normal(xb.shape))
    X_few, y_few, *_ = pretrained.transfer_task(rng, per_class=2)
    params, _ = pretrained.load_pretrained()
    for strategy in pretrained.STRATEGIES:  # from scratch, and fine-tuned
        start, trainable = pretrained.starting_point(strategy, params, 5, rng)
        pretrained.learn_target(start, trainable, X_few, y_few, rng, epochs=1)
