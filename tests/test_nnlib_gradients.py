"""Every analytic gradient in nnlib against central differences, in float64.

The yardstick is ``nnlib.rel_error`` (element-wise ``|a - b| / max(|a| + |b|, 1e-8)``), and
every check asks for at most 1e-7. That only works when the numeric gradient itself is that
accurate, so each check picks its step ``h`` for the function at hand:

- functions linear (affine) or quadratic (MSE) in the checked input: central differences are
  exact for polynomials up to degree 2, so a large step (``h = 1``) leaves only round-off;
- ReLU: inputs are kept at least 0.1 away from the kink, and the step is far smaller than that;
- smooth functions (sigmoid, softmax cross-entropy, the networks): ``h = 1e-5`` with upstream
  gradients and inputs drawn away from 0, so no checked element is tiny. Central differences
  of an O(1) loss carry about 1e-11 of round-off, so an element of size 1e-4 could not be
  checked to 1e-7; a network's problem (data, labels, weights) is therefore redrawn until each
  gradient element is exactly 0 or at least 1e-3 in size (``well_conditioned``), which keeps
  every check meaningful without masking any element.

Shapes come from hypothesis (a bounded number of examples, batch size 1 and non-square
matrices always included).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import nnlib
from nnlib import batchnorm, deep_mlp, layers, losses, regularization
from nnlib.ops import MSE, Ops

TOL = 1e-7
FEW = settings(max_examples=15, deadline=None, derandomize=True)

dims = st.integers(min_value=1, max_value=6)
seeds = st.integers(min_value=0, max_value=2**32 - 1)


def away_from_zero(rng, shape, low=0.5, high=1.5):
    """Values with |v| in [low, high] and random signs: no element is (nearly) zero."""
    return rng.uniform(low, high, size=shape) * rng.choice([-1.0, 1.0], size=shape)


def assert_gradient(f, x, analytic, h=1e-5, tol=TOL):
    """numeric_gradient(f, x, h) matches ``analytic`` to relative error ``tol``."""
    numeric = nnlib.numeric_gradient(f, x, h=h)
    assert numeric.shape == np.shape(analytic)
    err = nnlib.rel_error(numeric, analytic)
    assert err <= tol, f"relative error {err:.2e} > {tol:.0e}"


# --- layers -------------------------------------------------------------------------------------
@FEW
@given(n=dims, d=dims, m=dims, seed=seeds)
@example(n=1, d=3, m=5, seed=0)   # batch size 1, non-square W
@example(n=4, d=1, m=1, seed=1)
def test_affine_backward(n, d, m, seed):
    rng = np.random.default_rng(seed)
    x, W, b = rng.standard_normal((n, d)), rng.standard_normal((d, m)), rng.standard_normal(m)
    dout = away_from_zero(rng, (n, m))
    _, cache = layers.affine_forward(x, W, b)
    dx, dW, db = layers.affine_backward(dout, cache)

    def loss(_):
        return np.sum(layers.affine_forward(x, W, b)[0] * dout)

    # affine is linear in each argument: h = 1 is exact up to round-off
    assert_gradient(loss, x, dx, h=1.0)
    assert_gradient(loss, W, dW, h=1.0)
    assert_gradient(loss, b, db, h=1.0)


def test_affine_backward_non_contiguous_views():
    rng = np.random.default_rng(3)
    big = rng.standard_normal((6, 8))
    x, W, b = big[::2, 1::2], rng.standard_normal((8, 3))[::2], rng.standard_normal(6)[::2]
    dout = away_from_zero(rng, (3, 3))
    dx, dW, db = layers.affine_backward(dout, layers.affine_forward(x, W, b)[1])

    def loss(_):
        return np.sum(layers.affine_forward(x, W, b)[0] * dout)

    assert_gradient(loss, x, dx, h=1.0)
    assert_gradient(loss, W, dW, h=1.0)
    assert_gradient(loss, b, db, h=1.0)


@FEW
@given(n=dims, d=dims, seed=seeds)
@example(n=1, d=1, seed=0)
def test_relu_backward(n, d, seed):
    rng = np.random.default_rng(seed)
    x = away_from_zero(rng, (n, d), low=0.1, high=2.0)   # no input near the kink
    dout = away_from_zero(rng, (n, d))
    dx = layers.relu_backward(dout, layers.relu_forward(x)[1])
    assert_gradient(lambda _: np.sum(layers.relu_forward(x)[0] * dout), x, dx, h=1e-3)


@FEW
@given(n=dims, d=dims, seed=seeds)
@example(n=1, d=4, seed=0)
def test_sigmoid_backward(n, d, seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-4, 4, size=(n, d))
    dout = away_from_zero(rng, (n, d))
    dx = layers.sigmoid_backward(dout, layers.sigmoid_forward(x)[1])
    assert_gradient(lambda _: np.sum(layers.sigmoid_forward(x)[0] * dout), x, dx)


@FEW
@given(n=dims, c=dims, seed=seeds)
@example(n=1, c=1, seed=0)
@example(n=3, c=5, seed=1)
def test_mse_loss_backward(n, c, seed):
    rng = np.random.default_rng(seed)
    y_pred, y_true = rng.standard_normal((n, c)), rng.standard_normal((n, c))
    grad = losses.mse_loss_backward(y_pred, y_true)
    # quadratic in y_pred: central differences are exact
    assert_gradient(lambda p: losses.mse_loss(p, y_true), y_pred, grad, h=1.0)


@FEW
@given(n=dims, c=st.integers(min_value=2, max_value=6), seed=seeds)
@example(n=1, c=2, seed=0)
@example(n=5, c=3, seed=1)
def test_softmax_cross_entropy_backward(n, c, seed):
    rng = np.random.default_rng(seed)
    scores = rng.uniform(-2, 2, size=(n, c))
    y = rng.integers(0, c, size=n)
    grad = losses.softmax_cross_entropy_backward(scores, y)
    assert_gradient(lambda s: losses.cross_entropy_loss(s, y), scores, grad)


@FEW
@given(n=dims, d=dims, seed=seeds, keep_prob=st.sampled_from([0.3, 0.5, 0.8, 1.0]))
@example(n=1, d=2, seed=0, keep_prob=0.5)
def test_dropout_backward_with_fixed_mask(n, d, seed, keep_prob):
    rng = np.random.default_rng(seed)
    x, dout = rng.standard_normal((n, d)), away_from_zero(rng, (n, d))

    def forward(x_):
        return regularization.dropout_forward(x_, keep_prob, True, np.random.default_rng(seed))

    dx = regularization.dropout_backward(dout, forward(x)[1])
    # linear in x for a fixed mask (the same rng seed draws the same mask every call)
    assert_gradient(lambda x_: np.sum(forward(x_)[0] * dout), x, dx, h=1.0)


@FEW
@given(n=st.integers(min_value=3, max_value=6), d=dims, seed=seeds,
       eps=st.sampled_from([1e-5, 1e-2]))
@example(n=3, d=3, seed=0, eps=1e-5)
@example(n=5, d=5, seed=1, eps=1e-2)
def test_batchnorm_backward(n, d, seed, eps):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, size=d) + rng.uniform(0.5, 2, size=d) * rng.standard_normal((n, d))
    gamma, beta = away_from_zero(rng, d), rng.standard_normal(d)
    dout = away_from_zero(rng, (n, d))

    def forward(x_, gamma_, beta_):
        return batchnorm.batchnorm_forward(x_, gamma_, beta_, {"eps": eps})[0]

    dx, dgamma, dbeta = batchnorm.batchnorm_backward(
        dout, batchnorm.batchnorm_forward(x, gamma, beta, {"eps": eps})[1])
    # dx sums to 0 over the batch (the mean is subtracted), so its elements may be small:
    # compare with a floor at the largest element's scale
    numeric = nnlib.numeric_gradient(lambda v: np.sum(forward(v, gamma, beta) * dout), x)
    assert nnlib.rel_error(numeric, dx, floor=1e-3 * np.abs(numeric).max()) <= TOL
    assert_gradient(lambda v: np.sum(forward(x, v, beta) * dout), gamma, dgamma)
    # linear in beta: h = 1 is exact
    assert_gradient(lambda v: np.sum(forward(x, gamma, v) * dout), beta, dbeta, h=1.0)


# --- networks -----------------------------------------------------------------------------------
def params_away_from_kinks(rng, X, sizes, margin=0.05, tries=200):
    """Glorot params whose hidden pre-activations on X all lie at least ``margin`` from 0."""
    for _ in range(tries):
        params = nnlib.init_mlp(sizes, rng)
        for key in params:
            if key.startswith("b"):
                params[key] = rng.uniform(-0.5, 0.5, size=params[key].shape)
        h, ok = X, True
        for i in range(1, len(sizes) - 1):
            pre = h @ params[f"W{i}"] + params[f"b{i}"]
            ok &= bool(np.min(np.abs(pre)) > margin)
            h = np.maximum(pre, 0)
        if ok:
            return params
    pytest.skip("no parameters away from the ReLU kinks found")  # pragma: no cover


def well_conditioned(grads: dict, smallest=1e-3) -> bool:
    """Every gradient element is exactly 0 or at least ``smallest`` in magnitude."""
    return all(np.all((g == 0) | (np.abs(g) >= smallest)) for g in grads.values())


@FEW
@given(n=dims, d=dims, h=dims, c=st.integers(min_value=2, max_value=5), seed=seeds)
@example(n=1, d=3, h=4, c=2, seed=0)
@example(n=5, d=2, h=6, c=3, seed=1)
def test_two_layer_net(n, d, h, c, seed):
    rng = np.random.default_rng(seed)
    for _ in range(100):
        X = rng.standard_normal((n, d))
        y = rng.integers(0, c, size=n)
        params = params_away_from_kinks(rng, X, [d, h, c])
        loss, grads = nnlib.two_layer_net(params, X, y)
        if well_conditioned(grads):
            break
    else:  # pragma: no cover
        pytest.skip("no well-conditioned problem found")
    assert set(grads) == {"W1", "b1", "W2", "b2"}
    assert loss == pytest.approx(nnlib.cross_entropy_loss(
        np.maximum(X @ params["W1"] + params["b1"], 0) @ params["W2"] + params["b2"], y))
    for key in params:
        assert_gradient(lambda _: nnlib.two_layer_net(params, X, y)[0], params[key], grads[key])


MLP_CASES = [
    # (sizes, activation, keep_prob, reg, task)
    ([4, 5, 3], "relu", 1.0, 0.0, "classify"),
    ([3, 6, 4, 2], "relu", 0.6, 0.1, "classify"),
    ([5, 4, 3, 3], "sigmoid", 1.0, 0.0, "classify"),
    ([2, 7, 5, 4], "sigmoid", 0.5, 0.3, "classify"),
    ([3, 4, 2], "sigmoid", 0.8, 0.05, "regress"),
    ([1, 6, 1], "relu", 1.0, 0.2, "regress"),
]


@pytest.mark.parametrize("sizes, activation, keep_prob, reg, task", MLP_CASES)
@pytest.mark.parametrize("n", [1, 4])
def test_mlp_backward_through_ops(sizes, activation, keep_prob, reg, task, n):
    rng = np.random.default_rng(len(sizes) * 100 + n)
    ops = Ops() if task == "classify" else Ops(**MSE)
    for _ in range(200):
        X = rng.standard_normal((n, sizes[0]))
        if activation == "relu":
            params = params_away_from_kinks(rng, X, sizes)
        else:
            params = nnlib.init_mlp(sizes, rng)
            params = {k: v + rng.uniform(-0.3, 0.3, size=v.shape) for k, v in params.items()}
        if task == "classify":
            y = rng.integers(0, sizes[-1], size=n)
        else:
            y = rng.standard_normal((n, sizes[-1]))
        model = nnlib.MLP(params, activation=activation, keep_prob=keep_prob, ops=ops)
        # a fresh rng with one seed: the same dropout masks in every call
        _, grads = model.loss_and_grads(X, y, rng=np.random.default_rng(7), reg=reg)
        if well_conditioned(grads):
            break
    else:  # pragma: no cover
        pytest.skip("no well-conditioned problem found")

    def loss(_):
        return model.loss_and_grads(X, y, rng=np.random.default_rng(7), reg=reg)[0]

    assert set(grads) == set(params)
    for key in params:
        assert_gradient(loss, params[key], grads[key])


def before_batchnorm(key: str, bn_layers) -> bool:
    """Whether ``key`` is the bias of a layer whose output is batch-normalised."""
    return key[0] == "b" and key[1:].isdigit() and int(key[1:]) in bn_layers


DEEP_CASES = [
    # (sizes, batch-normalised hidden layers, N)
    ([4, 5, 3], set(), 4),
    ([3, 6, 5, 2], {1, 2}, 6),
    ([4, 5, 6, 5, 3], {2}, 5),
    ([3, 4, 4, 4, 4, 2], {1, 3}, 6),
    ([3, 4, 4, 4, 4, 4, 2], {1, 3, 5}, 4),
    ([5, 3], set(), 3),
]


@pytest.mark.parametrize("sizes, bn_layers, n", DEEP_CASES)
def test_mlp_loss_any_depth_with_batch_norm(sizes, bn_layers, n):
    rng = np.random.default_rng(len(sizes) * 10 + n)
    for _ in range(1000):  # deep networks rarely have every ReLU input clear of 0
        X = rng.standard_normal((n, sizes[0]))
        y = rng.integers(0, sizes[-1], size=n)
        params = nnlib.init_mlp(sizes, rng, init="he")
        params = {k: v + rng.uniform(-0.3, 0.3, size=v.shape) for k, v in params.items()}
        for i in bn_layers:
            params[f"gamma{i}"] = rng.uniform(0.5, 1.5, size=sizes[i])
            params[f"beta{i}"] = rng.uniform(-0.5, 0.5, size=sizes[i])
        pre = deep_mlp.hidden_activations(params, X, before_relu=True)
        if all(np.min(np.abs(h)) > 0.02 for h in pre):
            _, grads = nnlib.mlp_loss(params, X, y)
            checked = {k: g for k, g in grads.items() if not before_batchnorm(k, bn_layers)}
            if well_conditioned(checked):
                break
    else:  # pragma: no cover
        pytest.skip("no well-conditioned problem found")
    assert set(grads) == set(params)
    for key in params:
        if before_batchnorm(key, bn_layers):
            # batch norm subtracts the batch mean, so the bias before it has no effect
            np.testing.assert_allclose(grads[key], 0.0, atol=1e-12)
            continue
        assert_gradient(lambda _: nnlib.mlp_loss(params, X, y)[0], params[key], grads[key])


def test_mlp_backward_uses_the_ops_it_is_given():
    """A replaced affine_backward is what MLP.backward calls, for every layer."""
    calls = []

    def affine_backward(dout, cache):
        calls.append(dout.shape)
        return layers.affine_backward(dout, cache)

    rng = np.random.default_rng(0)
    model = nnlib.MLP(nnlib.init_mlp([3, 4, 5, 2], rng), ops=Ops(affine_backward=affine_backward))
    reference = nnlib.MLP(model.params)
    X, y = rng.standard_normal((6, 3)), rng.integers(0, 2, size=6)
    _, grads = model.loss_and_grads(X, y)
    _, expected = reference.loss_and_grads(X, y)
    assert len(calls) == 3
    for key in expected:
        np.testing.assert_array_equal(grads[key], expected[key])


# --- the scalar autodiff engine -----------------------------------------------------------------
def _tanh(v):
    return v.tanh() if isinstance(v, nnlib.Value) else math.tanh(v)


def _exp(v):
    return v.exp() if isinstance(v, nnlib.Value) else math.exp(v)


def _relu(v):
    return v.relu() if isinstance(v, nnlib.Value) else max(v, 0.0)


EXPRESSIONS = {
    # every operation, with plain numbers on either side, and inputs used several times
    "add_sub": lambda a, b: a + b - a + 2.5 - b * 0.25 + 1 + a,
    "mul_number_sides": lambda a, b: 3 * a * b * 0.5 - a * 2,
    "div_number_sides": lambda a, b: a / b + 2 / a - b / 4.0,
    "rsub_neg": lambda a, b: 1 - a - (-b) - (-(a * b)),
    "pow": lambda a, b: a**2 + b**3 - a**-1 + (a * a) ** 0.5 + (b * b + 1) ** 1.5,
    "tanh_exp": lambda a, b: _tanh(a * b) + _exp(a - b) * _tanh(b),
    "relu_both_sides": lambda a, b: _relu(a) * _relu(-b) + _relu(a - b) + _relu(b - 10),
    "reuse": lambda a, b: (a * a + a) * (a + b) / (b * b + 1),
    "neuron": lambda a, b: _tanh(a * 0.7 + b * -1.3 + 0.2) * 2 - 1,
}


@pytest.mark.parametrize("name", sorted(EXPRESSIONS))
@pytest.mark.parametrize("point", [(1.3, 0.7), (0.6, 2.2), (2.0, -0.4)])
def test_value_against_numeric_gradient(name, point):
    expr = EXPRESSIONS[name]
    a, b = nnlib.Value(point[0]), nnlib.Value(point[1])
    out = expr(a, b)
    assert isinstance(out, nnlib.Value)
    assert out.data == pytest.approx(expr(*point), rel=1e-12, abs=1e-12)
    out.backward()
    assert out.grad == 1.0
    x = np.array(point, dtype=float)
    assert_gradient(lambda v: expr(float(v[0]), float(v[1])), x, np.array([a.grad, b.grad]))


def test_value_backward_twice_gives_the_same_grads():
    a, b = nnlib.Value(0.8), nnlib.Value(-1.1)
    out = EXPRESSIONS["reuse"](a, b) + EXPRESSIONS["tanh_exp"](a, b)
    out.backward()
    first = (a.grad, b.grad)
    out.backward()
    assert (a.grad, b.grad) == first


def test_value_deep_chain_of_10000_nodes():
    steps = 10_000

    def chain(x):
        y = x
        for i in range(steps):
            y = y * 1.00001 + 1e-6 if i % 2 else _tanh(y) * 0.5 + y * 0.5
        return y

    x = nnlib.Value(0.3)
    out = chain(x)
    out.backward()  # no RecursionError
    assert_gradient(lambda v: chain(float(v[0])), np.array([0.3]), np.array([x.grad]))
    # the same graph, a pure product: the exact derivative is known
    x = nnlib.Value(0.5)
    y = x
    for _ in range(steps):
        y = y * 1.00001
    y.backward()
    assert x.grad == pytest.approx(1.00001**steps, rel=1e-12)
