"""The checker's accuracy on notebook 05 (regularization): it passes right answers, written
in several ways, and fails wrong ones with the hint that names the mistake."""

from __future__ import annotations

import numpy as np
import pytest
from float32 import in_float32

import nnlib
from autograder import check

NAMES = nnlib.EXERCISES["05_regularization"]


def failure_message(name: str, candidate, *, hidden: bool = False) -> str:
    """The message of the AssertionError that check raises for ``candidate``."""
    with pytest.raises(AssertionError) as info:
        check(name, candidate, hidden=hidden)
    return str(info.value)


# --- the reference passes ---------------------------------------------------------------------
@pytest.mark.parametrize("hidden", [False, True], ids=["visible", "hidden"])
@pytest.mark.parametrize("name", NAMES)
def test_reference_passes(name, hidden):
    check(name, getattr(nnlib, name), hidden=hidden)


# --- right answers written differently --------------------------------------------------------
def dropout_forward_where(x, keep_prob, train, rng):
    if not train:
        return x.copy(), None
    keep = rng.random(x.shape) < keep_prob
    mask = np.where(keep, 1.0 / keep_prob, 0.0)
    return x * mask, mask


def dropout_forward_uniform(x, keep_prob, train, rng):
    if train:
        mask = (rng.uniform(size=x.shape) < keep_prob).astype(float) / keep_prob
        return np.multiply(x, mask), mask
    return x, None


def dropout_backward_inplace(dout, cache):
    dx = dout.copy()
    if cache is not None:
        dx *= cache
    return dx


def dropout_backward_multiply(dout, cache):
    return dout if cache is None else np.multiply(dout, cache)


def l2_penalty_comprehension(params, reg):
    weights = [v for k, v in params.items() if k[0] == "W"]
    loss = 0.5 * reg * sum(np.sum(w**2) for w in weights)
    grads = {k: reg * v if k[0] == "W" else np.zeros(v.shape) for k, v in params.items()}
    return loss, grads


def early_stopping_counter(val_losses, patience, min_delta=0.0):
    best, best_epoch, wait = val_losses[0], 0, 0
    for epoch in range(1, len(val_losses)):
        if best - val_losses[epoch] > min_delta:
            best, best_epoch, wait = val_losses[epoch], epoch, 0
        else:
            wait += 1
    return best_epoch, wait >= patience


def shift_image_loops(image, dy, dx):
    h, w = image.shape
    out = np.zeros((h, w), dtype=image.dtype)
    for i in range(h):
        for j in range(w):
            if 0 <= i - dy < h and 0 <= j - dx < w:
                out[i, j] = image[i - dy, j - dx]
    return out


def shift_image_pad(image, dy, dx):
    h, w = image.shape
    py, px = min(abs(dy), h), min(abs(dx), w)
    padded = np.pad(image, ((py, py), (px, px)))
    top = py - max(-h, min(dy, h))
    left = px - max(-w, min(dx, w))
    return padded[top:top + h, left:left + w]


def random_shift_loop(images, max_shift, rng):
    out = np.empty_like(images)
    for i, image in enumerate(images):
        dx = int(rng.integers(-max_shift, max_shift + 1))
        dy = int(rng.choice(np.arange(-max_shift, max_shift + 1)))
        out[i] = shift_image_pad(image, dy, dx)
    return out


ALTERNATIVES = [
    ("dropout_forward", dropout_forward_where),
    ("dropout_forward", dropout_forward_uniform),
    ("dropout_backward", dropout_backward_inplace),
    ("dropout_backward", dropout_backward_multiply),
    ("l2_penalty", l2_penalty_comprehension),
    ("early_stopping", early_stopping_counter),
    ("shift_image", shift_image_loops),
    ("shift_image", shift_image_pad),
    ("random_shift", random_shift_loop),
]


@pytest.mark.parametrize("hidden", [False, True], ids=["visible", "hidden"])
@pytest.mark.parametrize("name, candidate", ALTERNATIVES,
                         ids=[fn.__name__ for _, fn in ALTERNATIVES])
def test_right_alternatives_pass(name, candidate, hidden):
    check(name, candidate, hidden=hidden)


# --- wrong answers, as students write them ----------------------------------------------------
# dropout_forward
def dropout_not_inverted(x, keep_prob, train, rng):
    if not train:
        return x, None
    mask = rng.random(x.shape) < keep_prob
    return x * mask, mask


def dropout_greater(x, keep_prob, train, rng):
    if not train:
        return x, None
    mask = (rng.random(x.shape) > keep_prob) / keep_prob
    return x * mask, mask


def dropout_drop_probability(x, keep_prob, train, rng):
    if not train:
        return x, None
    mask = (rng.random(x.shape) < 1 - keep_prob) / keep_prob
    return x * mask, mask


def dropout_at_test_time(x, keep_prob, train, rng):
    mask = (rng.random(x.shape) < keep_prob) / keep_prob
    return x * mask, mask


def dropout_boolean_cache(x, keep_prob, train, rng):
    if not train:
        return x, None
    mask = rng.random(x.shape) < keep_prob
    return x * mask / keep_prob, mask


def dropout_rng_in_eval(x, keep_prob, train, rng):
    mask = (rng.random(x.shape) < keep_prob) / keep_prob
    if train:
        return x * mask, mask
    return x, None


def dropout_binomial(x, keep_prob, train, rng):
    if not train:
        return x, None
    mask = rng.binomial(1, keep_prob, size=x.shape) / keep_prob
    return x * mask, mask


def dropout_scaled_at_test_time(x, keep_prob, train, rng):
    if not train:
        return x * keep_prob, None
    mask = (rng.random(x.shape) < keep_prob) / keep_prob
    return x * mask, mask


def dropout_global_random(x, keep_prob, train, rng):
    if not train:
        return x, None
    mask = (np.random.rand(*x.shape) < keep_prob) / keep_prob  # noqa: NPY002
    return x * mask, mask


def dropout_in_place(x, keep_prob, train, rng):
    if not train:
        return x, None
    mask = (rng.random(x.shape) < keep_prob) / keep_prob
    x *= mask
    return x, mask


def dropout_mask_not_applied(x, keep_prob, train, rng):
    if not train:
        return x, None
    mask = (rng.random(x.shape) < keep_prob) / keep_prob
    return x, mask


def dropout_cache_is_output(x, keep_prob, train, rng):
    if not train:
        return x, None
    out = x * (rng.random(x.shape) < keep_prob) / keep_prob
    return out, out


# dropout_backward
KEEP_PROB = 0.6  # a notebook global the student's backward picks up by mistake


def backward_divides_again(dout, cache):
    return dout * cache / KEEP_PROB


def backward_returns_mask(dout, cache):
    return cache


def backward_ignores_mask(dout, cache):
    return dout


def backward_binary_mask(dout, cache):
    return dout * (cache > 0)


H_EVAL_RETURNS = "dropout_backward(dout, None) must return dout"


def backward_fails_in_evaluation(dout, cache):
    return dout * cache  # raises in evaluation mode, where cache is None


def backward_multiply(dout, cache):
    return np.multiply(dout, cache)  # the same, through NumPy


def backward_zero_in_evaluation(dout, cache):
    if cache is None:
        return np.zeros_like(dout)
    return dout * cache


# l2_penalty
def l2_penalises_biases(params, reg):
    loss = sum(0.5 * reg * np.sum(v**2) for v in params.values())
    return loss, {k: reg * v for k, v in params.items()}


def l2_missing_half(params, reg):
    loss, grads = 0.0, {}
    for k, v in params.items():
        if k.startswith("W"):
            loss += reg * np.sum(v**2)
            grads[k] = 2 * reg * v
        else:
            grads[k] = np.zeros_like(v)
    return loss, grads


def l2_gradient_twice(params, reg):
    loss = 0.5 * reg * sum(np.sum(v**2) for k, v in params.items() if k.startswith("W"))
    grads = {k: 2 * reg * v if k.startswith("W") else np.zeros_like(v) for k, v in params.items()}
    return loss, grads


def l2_only_weight_keys(params, reg):
    loss, grads = 0.0, {}
    for k, v in params.items():
        if k.startswith("W"):
            loss += 0.5 * reg * np.sum(v**2)
            grads[k] = reg * v
    return loss, grads


def l2_mean(params, reg):
    loss = 0.5 * reg * sum(np.mean(v**2) for k, v in params.items() if k.startswith("W"))
    grads = {k: reg * v if k.startswith("W") else np.zeros_like(v) for k, v in params.items()}
    return loss, grads


def l2_overwrites_loss(params, reg):
    loss, grads = 0.0, {}
    for k, v in params.items():
        if k.startswith("W"):
            loss = 0.5 * reg * np.sum(v**2)
        grads[k] = reg * v if k.startswith("W") else np.zeros_like(v)
    return loss, grads


def l2_skips_only_b(params, reg):
    loss, grads = 0.0, {}
    for k, v in params.items():
        if k.startswith("b"):
            grads[k] = np.zeros_like(v)
        else:
            loss += 0.5 * reg * np.sum(v**2)
            grads[k] = reg * v
    return loss, grads


# early_stopping
def stopping_off_by_one(val_losses, patience, min_delta=0.0):
    best_epoch = 0
    for epoch, loss in enumerate(val_losses):
        if loss < val_losses[best_epoch] - min_delta:
            best_epoch = epoch
    return best_epoch, len(val_losses) - best_epoch >= patience


def stopping_ties_move(val_losses, patience, min_delta=0.0):
    best_epoch, best = 0, val_losses[0]
    for epoch in range(1, len(val_losses)):
        if val_losses[epoch] <= best - min_delta:
            best_epoch, best = epoch, val_losses[epoch]
    return best_epoch, len(val_losses) - 1 - best_epoch >= patience


def stopping_previous_epoch(val_losses, patience, min_delta=0.0):
    best_epoch = 0
    for epoch in range(1, len(val_losses)):
        if val_losses[epoch] < val_losses[epoch - 1] - min_delta:
            best_epoch = epoch
    return best_epoch, len(val_losses) - 1 - best_epoch >= patience


def stopping_argmin(val_losses, patience, min_delta=0.0):
    best_epoch = int(np.argmin(val_losses))
    return best_epoch, len(val_losses) - 1 - best_epoch >= patience


def stopping_delta_sign(val_losses, patience, min_delta=0.0):
    best_epoch, best = 0, val_losses[0]
    for epoch in range(1, len(val_losses)):
        if val_losses[epoch] < best + min_delta:
            best_epoch, best = epoch, val_losses[epoch]
    return best_epoch, len(val_losses) - 1 - best_epoch >= patience


def stopping_strict(val_losses, patience, min_delta=0.0):
    best_epoch, best = 0, val_losses[0]
    for epoch in range(1, len(val_losses)):
        if val_losses[epoch] < best - min_delta:
            best_epoch, best = epoch, val_losses[epoch]
    return best_epoch, len(val_losses) - 1 - best_epoch > patience


def stopping_swapped_outputs(val_losses, patience, min_delta=0.0):
    best_epoch, stop = nnlib.early_stopping(val_losses, patience, min_delta)
    return stop, best_epoch


def stopping_returns_loss(val_losses, patience, min_delta=0.0):
    best_epoch, stop = nnlib.early_stopping(val_losses, patience, min_delta)
    return float(val_losses[best_epoch]), stop


# shift_image
def shift_roll(image, dy, dx):
    return np.roll(image, (dy, dx), axis=(0, 1))


def shift_swapped(image, dy, dx):
    return nnlib.shift_image(image, dx, dy)


def shift_reversed(image, dy, dx):
    h, w = image.shape
    out = np.zeros_like(image)
    for i in range(h):
        for j in range(w):
            if 0 <= i + dy < h and 0 <= j + dx < w:
                out[i, j] = image[i + dy, j + dx]
    return out


def shift_edge_fill(image, dy, dx):
    h, w = image.shape
    py, px = min(abs(dy), h), min(abs(dx), w)
    padded = np.pad(image, ((py, py), (px, px)), mode="edge")
    top, left = py - max(-h, min(dy, h)), px - max(-w, min(dx, w))
    return padded[top:top + h, left:left + w]


def shift_slices_fail_at_zero(image, dy, dx):
    """Right for every nonzero shift; with dy == 0, image[:-0] is empty and NumPy raises."""
    out = np.zeros_like(image)
    rows_to = slice(dy, None) if dy >= 0 else slice(None, dy)
    rows_from = slice(None, -dy) if dy >= 0 else slice(-dy, None)
    cols_to = slice(dx, None) if dx >= 0 else slice(None, dx)
    cols_from = slice(None, -dx) if dx >= 0 else slice(-dx, None)
    out[rows_to, cols_to] = image[rows_from, cols_from]
    return out


# random_shift
def random_same_shift(images, max_shift, rng):
    dy, dx = rng.integers(-max_shift, max_shift + 1, size=2)
    return np.stack([nnlib.shift_image(img, dy, dx) for img in images])


def random_exclusive_bound(images, max_shift, rng):
    out = []
    for img in images:
        dy = rng.integers(-max_shift, max_shift)
        dx = rng.integers(-max_shift, max_shift)
        out.append(nnlib.shift_image(img, dy, dx))
    return np.array(out)


def random_wraps(images, max_shift, rng):
    shifts = rng.integers(-max_shift, max_shift + 1, size=(len(images), 2))
    return np.stack([np.roll(img, tuple(s), axis=(0, 1)) for img, s in zip(images, shifts)])


def random_one_draw(images, max_shift, rng):
    out = np.zeros_like(images)
    for i in range(len(images)):
        s = rng.integers(-max_shift, max_shift + 1)
        out[i] = nnlib.shift_image(images[i], s, s)
    return out


def random_own_generator(images, max_shift, rng):
    rng = np.random.default_rng(0)
    shifts = rng.integers(-max_shift, max_shift + 1, size=(len(images), 2))
    return np.stack([nnlib.shift_image(img, dy, dx) for img, (dy, dx) in zip(images, shifts)])


def random_global(images, max_shift, rng):
    shifts = np.random.randint(-max_shift, max_shift + 1, size=(len(images), 2))  # noqa: NPY002
    return np.stack([nnlib.shift_image(img, dy, dx) for img, (dy, dx) in zip(images, shifts)])


def random_positive_only(images, max_shift, rng):
    shifts = rng.integers(0, max_shift + 1, size=(len(images), 2))
    return np.stack([nnlib.shift_image(img, dy, dx) for img, (dy, dx) in zip(images, shifts)])


def random_rounded_normal(images, max_shift, rng):
    shifts = np.clip(np.round(rng.normal(0, max_shift / 2, size=(len(images), 2))),
                     -max_shift, max_shift).astype(int)
    return np.stack([nnlib.shift_image(img, dy, dx) for img, (dy, dx) in zip(images, shifts)])


def random_in_place(images, max_shift, rng):
    for i in range(len(images)):
        dy, dx = rng.integers(-max_shift, max_shift + 1, size=2)
        images[i] = nnlib.shift_image(images[i], dy, dx)
    return images


WRONG = [
    ("dropout_forward", dropout_not_inverted, "not inverted dropout"),
    ("dropout_forward", dropout_greater, "keeps the wrong fraction"),
    ("dropout_forward", dropout_drop_probability, "keeps the wrong fraction"),
    ("dropout_forward", dropout_at_test_time, "dropout applied at test time"),
    ("dropout_forward", dropout_boolean_cache, "not the boolean mask"),
    ("dropout_forward", dropout_rng_in_eval, "rng must not be used"),
    ("dropout_forward", dropout_binomial, "so the mask matches"),
    ("dropout_forward", dropout_scaled_at_test_time, "scales nothing at test time"),
    ("dropout_forward", dropout_global_random, "global random generator"),
    ("dropout_forward", dropout_in_place, "modified its input `x`"),
    ("dropout_forward", dropout_cache_is_output, "not the output"),
    ("dropout_forward", dropout_mask_not_applied, "with train=True apply the mask"),
    ("dropout_backward", backward_divides_again, "already includes 1/keep_prob"),
    ("dropout_backward", backward_returns_mask, "you returned the mask"),
    ("dropout_backward", backward_ignores_mask, "the mask is missing"),
    ("dropout_backward", backward_binary_mask, "as it is"),
    ("dropout_backward", backward_fails_in_evaluation, H_EVAL_RETURNS),
    ("dropout_backward", backward_zero_in_evaluation, H_EVAL_RETURNS),
    ("dropout_backward", backward_multiply, H_EVAL_RETURNS),
    ("l2_penalty", l2_penalises_biases, "biases and other parameters"),
    ("l2_penalty", l2_missing_half, "the factor 0.5 is missing"),
    ("l2_penalty", l2_gradient_twice, "the 0.5 cancels the 2"),
    ("l2_penalty", l2_only_weight_keys, "dparams needs every key of params"),
    ("l2_penalty", l2_mean, "not their mean"),
    ("l2_penalty", l2_overwrites_loss, "leaves out W1"),
    ("l2_penalty", l2_skips_only_b, "also penalises gamma1 (biases"),
    ("early_stopping", stopping_off_by_one, "off by one"),
    ("early_stopping", stopping_ties_move, "a tie is not an improvement"),
    ("early_stopping", stopping_previous_epoch, "not with the previous epoch"),
    ("early_stopping", stopping_argmin, "min_delta is ignored"),
    ("early_stopping", stopping_delta_sign, "min_delta has the wrong sign"),
    ("early_stopping", stopping_strict, "not `> patience`"),
    ("early_stopping", stopping_swapped_outputs, "in this order"),
    ("early_stopping", stopping_returns_loss, "not its loss"),
    ("shift_image", shift_roll, "np.roll wraps"),
    ("shift_image", shift_swapped, "dy and dx are swapped"),
    ("shift_image", shift_reversed, "the direction is reversed"),
    ("shift_image", shift_edge_fill, "vacated pixels must be 0"),
    ("shift_image", shift_slices_fail_at_zero, "`image[:-0]` is empty"),
    ("random_shift", random_same_shift, "every image got the same shift"),
    ("random_shift", random_exclusive_bound, "excludes its upper bound"),
    ("random_shift", random_wraps, "wrapped around"),
    ("random_shift", random_one_draw, "draw dy and dx separately"),
    ("random_shift", random_own_generator, "do not depend on rng"),
    ("random_shift", random_global, "global random generator"),
    ("random_shift", random_positive_only, "shift both ways"),
    ("random_shift", random_rounded_normal, "far from uniform"),
    ("random_shift", random_in_place, "modified its input `images`"),
]


@pytest.mark.parametrize("name, candidate, hint", WRONG,
                         ids=[fn.__name__ for _, fn, _ in WRONG])
def test_wrong_answers_fail_with_their_hint(name, candidate, hint):
    message = failure_message(name, candidate)
    assert message.startswith(f"{name}: case ")
    assert hint in message, message
    assert "could not be checked" not in message


def test_message_names_case_and_element():
    message = failure_message("shift_image", shift_roll)
    assert "case 1/" in message and "dy=1, dx=2" in message
    assert "the shifted image[" in message and "expected" in message and "got" in message
    assert "Likely mistake:" in message


def test_early_stopping_message_shows_inputs():
    message = failure_message("early_stopping", stopping_off_by_one)
    assert "should_stop: expected False, got True" in message
    assert "case 1/11 (a single epoch)" in message
    assert "val_losses=[0.75], patience=1, min_delta=0.0" in message


# --- broken candidates: clear messages, never a checker crash ---------------------------------
ARITY = {"dropout_forward": 4, "dropout_backward": 2, "l2_penalty": 2, "early_stopping": 3,
         "shift_image": 3, "random_shift": 3}


def _returning(value, arity):
    def candidate(*args):
        assert len(args) <= arity
        return value() if callable(value) else value
    return candidate


def _raises(*args):
    raise ValueError("boom")


def _not_implemented(*args):
    raise NotImplementedError()


@pytest.mark.parametrize("name", NAMES)
def test_raising_candidate(name):
    message = failure_message(name, _raises)
    assert "it raised ValueError: boom" in message and "(in _raises, line" in message
    assert "not implemented yet" in failure_message(name, _not_implemented)


@pytest.mark.parametrize("name", NAMES)
def test_none_and_wrong_type(name):
    assert "None" in failure_message(name, _returning(None, ARITY[name]))
    message = failure_message(name, _returning("text", ARITY[name]))
    assert "str" in message, message


JUNK = [None, 0, 1.5, np.nan, "text", (), (1,), (1, 2, 3), [1, 2], {}, {"W1": 1}, object(),
        (None, None), (np.nan, np.nan), (1.0, None), ([1.0], {}), ({}, [1.0]), (0, "x"),
        (np.array([np.nan]), None), (np.ones((2, 2)), np.ones(3)), (2, np.array([True])),
        (np.int64(0), np.bool_(True)), (1.0, {"W1": None, "b1": "x"}),
        lambda: np.full((3, 3), np.nan), lambda: np.ones((1, 1, 1, 1)),
        lambda: np.array(["a", "b"]), lambda: [np.ones(2), np.ones(3)]]


@pytest.mark.parametrize("name", NAMES)
def test_junk_returns_give_clear_failures(name):
    for value in JUNK:
        message = failure_message(name, _returning(value, ARITY[name]))
        assert "could not be checked" not in message, (value, message)
        assert message.startswith(f"{name}: case "), (value, message)


# --- float32 ------------------------------------------------------------------------------------
@pytest.mark.parametrize("hidden", [False, True], ids=["visible", "hidden"])
@pytest.mark.parametrize("name", NAMES)
def test_computing_in_float32_passes(name, hidden):
    check(name, in_float32(getattr(nnlib, name)), hidden=hidden)


def test_slice_errors_get_a_slicing_hint_not_the_product_one():
    message = failure_message("shift_image", shift_slices_fail_at_zero)
    assert "could not broadcast input array" in message
    assert "multiply or add" not in message
