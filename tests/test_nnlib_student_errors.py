"""A student's broken function plugged into nnlib gives one clear error naming it.

The notebooks plug a student's functions into ``nnlib.Ops`` (run by ``MLP``), ``nnlib.train``
(update rule, mini-batches, early stopping, augmentation), ``numeric_gradient``, ``rel_error``
and ``gradient_descent``. A function that is not done yet, returns None, or returns the wrong
type or shape must raise ``StudentFunctionError`` saying which function returned what, not a
NumPy traceback from inside nnlib. The candidates are named as in the notebooks, on purpose.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import nnlib
from nnlib.ops import Ops
from nnlib.student import StudentFunctionError

RNG = np.random.default_rng(0)
X = RNG.normal(size=(6, 4))
Y = RNG.integers(0, 2, size=6)


def model_with(**functions) -> nnlib.MLP:
    """A 4-3-2 network (W1 (4, 3), W2 (3, 2)) whose ops include ``functions``."""
    keep_prob = 0.5 if any(name.startswith("dropout") for name in functions) else 1.0
    return nnlib.MLP.create([4, 3, 2], np.random.default_rng(1), ops=Ops(**functions),
                            keep_prob=keep_prob)


def raises_clearly(action, message: str) -> str:
    """Assert that ``action()`` raises StudentFunctionError whose text is ``message`` (a regex
    that must match from the start)."""
    with pytest.raises(StudentFunctionError) as info:
        action()
    text = str(info.value)
    assert re.match(message, text), text
    return text


def train(model, **kwargs):
    return nnlib.train(model, X, Y, rng=np.random.default_rng(2), epochs=1, batch_size=3,
                       **kwargs)


# --- the layers and losses of Ops, run by MLP ---------------------------------------------------
def test_affine_backward_returning_a_wrong_dW_shape():
    def affine_backward(dout, cache):
        x, W, b = cache
        return dout @ W.T, (x.T @ dout).sum(axis=0), dout.sum(axis=0)

    model = model_with(affine_backward=affine_backward)
    raises_clearly(lambda: model.loss_and_grads(X, Y),
                   re.escape("your affine_backward returned dW of shape (2,) for W of shape "
                             "(3, 2)"))


def test_affine_forward_returning_the_output_only():
    def affine_forward(x, W, b):
        return x @ W + b

    raises_clearly(lambda: model_with(affine_forward=affine_forward).loss_and_grads(X, Y),
                   re.escape("your affine_forward returned an array of shape (6, 3); expected a "
                             "tuple (out, cache)"))


def test_affine_forward_with_a_transposed_product():
    def affine_forward(x, W, b):
        return (x @ W + b).T, (x, W, b)

    raises_clearly(lambda: model_with(affine_forward=affine_forward).predict(X),
                   re.escape("your affine_forward returned out of shape (3, 6) for x of shape "
                             "(6, 4) and W of shape (4, 3); expected (6, 3)"))


def test_relu_forward_without_return():
    def relu_forward(x):
        np.maximum(x, 0)

    raises_clearly(lambda: model_with(relu_forward=relu_forward).loss_and_grads(X, Y),
                   re.escape("your relu_forward returned None; expected a tuple (out, cache) "
                             "(is a `return` missing?)"))


def test_relu_backward_not_implemented_yet():
    def relu_backward(dout, cache):
        raise NotImplementedError()

    raises_clearly(lambda: model_with(relu_backward=relu_backward).loss_and_grads(X, Y),
                   "your relu_backward is not implemented yet: it raised NotImplementedError")


def test_sigmoid_backward_summing_over_the_batch():
    def sigmoid_backward(dout, cache):
        return (dout * cache * (1 - cache)).sum(axis=0)

    model = nnlib.MLP.create([4, 3, 2], np.random.default_rng(1), activation="sigmoid",
                             ops=Ops(sigmoid_backward=sigmoid_backward))
    raises_clearly(lambda: model.loss_and_grads(X, Y),
                   re.escape("your sigmoid_backward returned dx of shape (3,) for dout of "
                             "shape (6, 3)"))


def test_loss_returning_one_loss_per_sample():
    def cross_entropy_loss(scores, y):
        return -nnlib.log_softmax(scores)[np.arange(len(y)), y]

    raises_clearly(lambda: model_with(loss=cross_entropy_loss).loss(X, Y),
                   re.escape("your cross_entropy_loss returned the loss as an array of shape "
                             "(6,); expected one number"))


def test_loss_gradient_returning_none():
    def softmax_cross_entropy_backward(scores, y):
        p = nnlib.softmax(scores)
        p[np.arange(len(y)), y] -= 1

    model = model_with(loss_backward=softmax_cross_entropy_backward)
    raises_clearly(lambda: model.loss_and_grads(X, Y),
                   re.escape("your softmax_cross_entropy_backward returned dscores as None; "
                             "expected an array of shape (6, 2)"))


def test_backward_called_by_the_notebook_with_a_missing_gradient():
    model = model_with()
    scores, caches = model.forward(X)
    raises_clearly(lambda: model.backward(None, caches),
                   re.escape("MLP.backward got dscores as None; expected the gradient of the "
                             "loss with respect to the scores, an array (N, 2)"))


def test_dropout_backward_failing_on_its_own_pieces_names_it():
    def dropout_backward(dout, cache):
        return cache

    def dropout_forward(x, keep_prob, train, rng):
        return nnlib.dropout_forward(x, keep_prob, train, rng)

    model = model_with(dropout_forward=dropout_forward, dropout_backward=dropout_backward)
    model.loss_and_grads(X, Y, rng=np.random.default_rng(3))  # shaped right: no error
    dropout_backward_sum = lambda dout, cache: dout.sum(axis=1)  # noqa: E731
    model = model_with(dropout_backward=dropout_backward_sum)
    raises_clearly(lambda: model.loss_and_grads(X, Y, rng=np.random.default_rng(3)),
                   re.escape("your dropout_backward returned dx of shape (6,) for dout of "
                             "shape (6, 3)"))


def test_l2_penalty_without_the_bias_keys():
    def l2_penalty(params, reg):
        weights = {k: v for k, v in params.items() if k.startswith("W")}
        return 0.5 * reg * sum(np.sum(w * w) for w in weights.values()), \
            {k: reg * w for k, w in weights.items()}

    raises_clearly(lambda: model_with(l2_penalty=l2_penalty).loss_and_grads(X, Y, reg=0.1),
                   re.escape("your l2_penalty returned dparams with keys W1, W2; expected every "
                             "key of params, W1, b1, W2, b2"))


def test_a_student_function_raising_its_own_error_keeps_its_traceback():
    def relu_forward(x):
        return x[10], x  # an IndexError in the student's own line

    with pytest.raises(IndexError):
        model_with(relu_forward=relu_forward).predict(X)


def test_a_right_student_function_trains_exactly_as_nnlib():
    def relu_forward(x):
        return np.maximum(x, 0), x

    ours, theirs = model_with(relu_forward=relu_forward), model_with()
    train(ours)
    train(theirs)
    for key in ours.params:
        np.testing.assert_array_equal(ours.params[key], theirs.params[key])


# --- nnlib.train's functions --------------------------------------------------------------------
def test_update_rule_returning_only_the_weights():
    def sgd(w, dw, config=None):
        return w - 0.1 * dw

    raises_clearly(lambda: train(model_with(), update_rule=sgd),
                   re.escape("your sgd returned an array of shape (4, 3); expected a tuple "
                             "(next_w, config)"))


def test_update_rule_returning_no_config():
    def sgd_momentum(w, dw, config=None):
        return w - 0.1 * dw, None

    raises_clearly(lambda: train(model_with(), update_rule=sgd_momentum),
                   re.escape("your sgd_momentum returned config as None; expected the config "
                             "dict"))


def test_update_rule_with_the_wrong_shape():
    def adam(w, dw, config=None):
        return (w - 0.1 * dw).ravel(), config or {}

    raises_clearly(lambda: train(model_with(), update_rule=adam),
                   re.escape("your adam returned next_w of shape (12,) for w = params['W1'] of "
                             "shape (4, 3)"))


def test_update_rule_not_implemented_yet():
    def rmsprop(w, dw, config=None):
        raise NotImplementedError()

    raises_clearly(lambda: train(model_with(), update_rule=rmsprop),
                   "your rmsprop is not implemented yet")


def test_minibatches_that_return_instead_of_yield():
    def iterate_minibatches(X, y, batch_size, rng=None):
        for start in range(0, len(X), batch_size):
            return X[start:start + batch_size], y[start:start + batch_size]

    raises_clearly(lambda: train(model_with(), minibatches=iterate_minibatches),
                   re.escape("your iterate_minibatches returned a tuple of 2 items; expected a "
                             "generator of (X_batch, y_batch) pairs"))


def test_minibatches_not_implemented_yet_inside_the_generator():
    def iterate_minibatches(X, y, batch_size, rng=None):
        raise NotImplementedError()
        yield

    raises_clearly(lambda: train(model_with(), minibatches=iterate_minibatches),
                   "your iterate_minibatches is not implemented yet")


def test_minibatches_yielding_columns():
    def iterate_minibatches(X, y, batch_size, rng=None):
        yield X[:, :batch_size], y[:batch_size]

    raises_clearly(lambda: train(model_with(), minibatches=iterate_minibatches),
                   re.escape("your iterate_minibatches yielded X_batch as an array of shape "
                             "(6, 3) and y_batch as an array of shape (3,) for X of shape "
                             "(6, 4)"))


def test_minibatches_yielding_the_rows_only():
    def iterate_minibatches(X, y, batch_size, rng=None):
        for start in range(0, len(X), batch_size):
            yield X[start:start + batch_size]

    raises_clearly(lambda: train(model_with(), minibatches=iterate_minibatches),
                   re.escape("your iterate_minibatches yielded an array of shape (3, 4); "
                             "expected (X_batch, y_batch) pairs"))


def test_an_unfinished_helper_is_named_with_the_function_that_called_it():
    def log_softmax(scores):
        raise NotImplementedError()

    def cross_entropy_loss(scores, y):
        return -np.mean(log_softmax(scores)[np.arange(len(y)), y])

    raises_clearly(lambda: model_with(loss=cross_entropy_loss).loss(X, Y),
                   re.escape("your log_softmax (called by your cross_entropy_loss) is not "
                             "implemented yet"))


def test_early_stopping_returning_one_value():
    def early_stopping(val_losses, patience, min_delta=0.0):
        return int(np.argmin(val_losses))

    raises_clearly(lambda: train(model_with(), X_val=X, y_val=Y, patience=2,
                                 early_stopping=early_stopping),
                   re.escape("your early_stopping returned the number 0; expected a tuple "
                             "(best_epoch, should_stop)"))


def test_augmentation_without_return():
    def shift_batch(X_batch, rng):
        X_batch + 0

    raises_clearly(lambda: train(model_with(), augment=shift_batch),
                   re.escape("your shift_batch returned the batch as None"))


# --- gradient checks and gradient descent -------------------------------------------------------
def test_numeric_gradient_of_a_function_returning_an_array():
    raises_clearly(lambda: nnlib.numeric_gradient(lambda v: v * 2, np.ones(3)),
                   re.escape("numeric_gradient: f returned an array of shape (3,); it must "
                             "return one number"))


def test_numeric_gradient_names_the_unfinished_function_inside_f():
    def sigmoid_forward(x):
        raise NotImplementedError()

    raises_clearly(lambda: nnlib.numeric_gradient(lambda v: np.sum(sigmoid_forward(v)[0]),
                                                  np.ones(3)),
                   "your sigmoid_forward is not implemented yet")


def test_numeric_gradient_of_an_integer_array():
    with pytest.raises(TypeError, match="needs x as a float array"):
        nnlib.numeric_gradient(lambda v: float(np.sum(v**2)), np.array([1, 2, 3]))


def test_rel_error_of_a_missing_result_or_a_shape_mismatch():
    raises_clearly(lambda: nnlib.rel_error(None, np.ones(3)),
                   "rel_error: its first argument is None")
    raises_clearly(lambda: nnlib.rel_error(np.ones((4, 3)), np.ones(3)),
                   re.escape("rel_error: the arrays have different shapes, (4, 3) and (3,)"))
    assert nnlib.rel_error(np.ones(3), np.ones(3)) == 0.0
    assert nnlib.rel_error(1.0, 1.0) == 0.0


def test_gradient_descent_with_a_gradient_returning_none():
    def parabola_grad(w):
        2 * w

    raises_clearly(lambda: nnlib.gradient_descent(parabola_grad, np.ones(2), 0.1, 3),
                   re.escape("your parabola_grad returned the gradient as None; expected an "
                             "array of shape (2,) for w of shape (2,)"))
    path = nnlib.gradient_descent(lambda w: [2 * w[0]], np.array([1.0]), 0.25, 1)
    np.testing.assert_allclose(path, [[1.0], [0.5]])


# --- in Jupyter, one message --------------------------------------------------------------------
def test_jupyter_shows_the_message_without_a_traceback():
    error = StudentFunctionError("your relu_forward returned None")
    lines = error._render_traceback_()
    assert len(lines) == 1 and lines[0].endswith("StudentFunctionError\x1b[0m: your "
                                                 "relu_forward returned None")
