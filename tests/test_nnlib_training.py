"""nnlib trains real networks: digits to 95 %, transfer learning that pays, and the pretrained
file that transfer learning starts from (its checksum, and that retraining rebuilds it up to
rounding: the same weights to 1e-9 relative, on any machine).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import nnlib
from nnlib import pretrained
from nnlib.datasets import load_digits

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(autouse=True)
def one_blas_thread():
    """Small matrices: one BLAS thread is faster, and two test workers do not fight over cores."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.mark.slow
def test_mlp_reaches_95_percent_on_digits():
    X, y = load_digits()
    rng = np.random.default_rng(0)
    X_train, y_train, X_val, y_val, X_test, y_test = nnlib.train_val_test_split(
        X, y, 0.1, 0.2, rng)
    model = nnlib.MLP.create([64, 128, 10], rng)
    history = nnlib.train(model, X_train, y_train, X_val, y_val, rng=rng, epochs=30,
                          batch_size=64, optim_config={"learning_rate": 1e-3})
    assert history.epochs == 30 and len(history.train_acc) == len(history.val_acc) == 30
    assert history.train_loss[-1] < history.train_loss[0] / 5
    assert model.accuracy(X_test, y_test) >= 0.95


@pytest.mark.slow
def test_early_stopping_restores_the_best_epoch():
    X, y = load_digits()
    rng = np.random.default_rng(1)
    X_train, y_train, X_val, y_val, _, _ = nnlib.train_val_test_split(X, y, 0.2, 0.0, rng)
    X_train, y_train = X_train[:60], y_train[:60]   # few rows: it overfits quickly
    model = nnlib.MLP.create([64, 64, 10], rng)
    seen = {}

    def remember(epoch, history):
        seen[epoch] = {k: v.copy() for k, v in model.params.items()}

    history = nnlib.train(model, X_train, y_train, X_val, y_val, rng=rng, epochs=300,
                          batch_size=20, optim_config={"learning_rate": 1e-2}, patience=5,
                          callback=remember)
    assert history.stopped_epoch is not None and history.stopped_epoch < 299
    assert history.best_epoch == int(np.argmin(history.val_loss))
    assert history.stopped_epoch - history.best_epoch == 5
    for key, value in model.params.items():
        np.testing.assert_array_equal(value, seen[history.best_epoch][key])


def test_train_accuracy_tracking_can_be_switched_off():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((30, 3)), rng.integers(0, 2, size=30)
    runs = []
    for track in (True, False):
        model = nnlib.MLP.create([3, 4, 2], np.random.default_rng(1))
        history = nnlib.train(model, X, y, X, y, rng=np.random.default_rng(2), epochs=3,
                              batch_size=8, track_train_acc=track)
        runs.append((history, model.params))
    (tracked, p1), (untracked, p2) = runs
    assert len(tracked.train_acc) == 3 and untracked.train_acc == []
    assert tracked.train_loss == untracked.train_loss and tracked.val_acc == untracked.val_acc
    for key in p1:  # the same training, bit for bit
        np.testing.assert_array_equal(p1[key], p2[key])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_adam_fast_path_is_the_formula_bit_for_bit(dtype):
    rng = np.random.default_rng(0)
    w = rng.standard_normal((5, 7)).astype(dtype)
    config = {"learning_rate": 1e-2}
    m = v = np.zeros_like(w)
    for t in range(1, 20):
        dw = rng.standard_normal((5, 7)).astype(dtype)
        expected_m = 0.9 * m + (1 - 0.9) * dw
        expected_v = 0.999 * v + (1 - 0.999) * dw * dw
        expected = w - 1e-2 * (expected_m / (1 - 0.9**t)) / (
            np.sqrt(expected_v / (1 - 0.999**t)) + 1e-8)
        w, config = nnlib.adam(w, dw, config)
        m, v = expected_m, expected_v
        np.testing.assert_array_equal(w, expected)
        np.testing.assert_array_equal(config["m"], m)
        np.testing.assert_array_equal(config["v"], v)
        assert w.dtype == dtype


# --- the pretrained model ------------------------------------------------------------------------
def test_pretrained_file_is_small_and_matches_its_recorded_checksum():
    assert os.path.getsize(pretrained.PRETRAINED_FILE) < 200_000
    assert pretrained.sha256_of(pretrained.PRETRAINED_FILE) == pretrained.SHA256
    params, info = pretrained.load_pretrained()
    assert list(params) == ["W1", "b1", "W2", "b2", "W3", "b3"]
    sizes = pretrained.LAYER_SIZES
    for i in range(1, len(sizes)):
        assert params[f"W{i}"].shape == (sizes[i - 1], sizes[i])
        assert params[f"b{i}"].shape == (sizes[i],)
        assert params[f"W{i}"].dtype == np.float64
    assert info["sha256"] == pretrained.SHA256 and info["layer_sizes"] == sizes
    assert info["source_classes"] == (0, 1, 2, 3, 4) and sizes[-1] == 5
    assert set(info["source_classes"]).isdisjoint(info["target_classes"])
    params["W1"][:] = 0  # fresh arrays: the next load is unaffected
    assert np.any(pretrained.load_pretrained()[0]["W1"] != 0)


def test_pretrained_model_knows_the_source_digits():
    params, _ = pretrained.load_pretrained()
    X, y = pretrained.source_data()
    assert nnlib.MLP(params).accuracy(X, y) > 0.95
    shifted = pretrained.shift_augment(X, np.random.default_rng(3))  # what it was trained on
    assert nnlib.MLP(params).accuracy(shifted, y) > 0.95


def _flip_one_byte(path, offset):
    with open(path, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0x01]))


@pytest.mark.parametrize("where", ["weights", "header"])
def test_tampered_copy_is_rejected(tmp_path, where):
    copy = tmp_path / "digits_mlp.npz"
    shutil.copyfile(pretrained.PRETRAINED_FILE, copy)
    pretrained.load_pretrained(str(copy))  # an exact copy loads
    size = os.path.getsize(copy)
    _flip_one_byte(copy, size // 2 if where == "weights" else 40)
    with pytest.raises(pretrained.ChecksumError, match="SHA-256"):
        pretrained.load_pretrained(str(copy))


def test_a_valid_file_with_other_weights_is_rejected(tmp_path):
    """A zip member's CRC catches a flipped byte, but not a model saved with changed weights:
    that is what the checksum is for."""
    params, _ = pretrained.load_pretrained()
    params["W2"][3, 4] += 1e-12
    copy = tmp_path / "digits_mlp.npz"
    pretrained.save_params(str(copy), params)
    with pytest.raises(pretrained.ChecksumError, match="python -m nnlib.pretrain"):
        pretrained.load_pretrained(str(copy))
    loaded, _ = pretrained.load_pretrained(str(copy), verify=False)
    assert loaded["W2"][3, 4] == params["W2"][3, 4]


def test_save_params_is_deterministic_and_loadable(tmp_path):
    params = nnlib.init_mlp([3, 4, 2], np.random.default_rng(0))
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    pretrained.save_params(str(a), params)
    with contextlib.suppress(AttributeError):  # a later wall-clock time must not matter
        os.utime(a, (0, 0))
    pretrained.save_params(str(b), {k: v.copy() for k, v in params.items()})
    assert a.read_bytes() == b.read_bytes()
    loaded = pretrained.load_params(str(a))
    assert list(loaded) == list(params)
    for key in params:
        np.testing.assert_array_equal(loaded[key], params[key])


@pytest.mark.slow
def test_fine_tuning_beats_training_from_scratch():
    """The design of the target task (nnlib.pretrained's docstring): pretraining on 0-4 pays on
    5-9. With 20 images per class fine-tuning every layer wins by about 5 points (4 to 6
    measured for seeds 0-2); with 2 per class training only the head does (5 to 7)."""
    twenty = pretrained.compare_transfer(seeds=range(3), per_class=20,
                                         strategies=("from scratch", "all layers"))
    tuned, scratch = np.mean(twenty["all layers"]), np.mean(twenty["from scratch"])
    assert tuned - scratch >= 0.03, twenty
    assert all(t > s for t, s in zip(twenty["all layers"], twenty["from scratch"])), twenty
    assert tuned >= 0.70, twenty
    two = pretrained.compare_transfer(seeds=range(3), per_class=2,
                                      strategies=("from scratch", "head only"))
    assert np.mean(two["head only"]) - np.mean(two["from scratch"]) >= 0.03, two


def test_starting_points_of_the_strategies():
    params, _ = pretrained.load_pretrained()
    seen = {}
    for strategy in pretrained.STRATEGIES:
        start, trainable = pretrained.starting_point(strategy, params, 5,
                                                     np.random.default_rng(0))
        assert list(start) == list(params) and start["W3"].shape == (64, 5)
        seen[strategy] = trainable
        if strategy != "from scratch":
            for key in ("W1", "b1", "W2", "b2"):
                np.testing.assert_array_equal(start[key], params[key])
                assert start[key] is not params[key]
    assert seen == {"from scratch": ["W1", "b1", "W2", "b2", "W3", "b3"],
                    "head only": ["W3", "b3"], "top two layers": ["W2", "b2", "W3", "b3"],
                    "all layers": ["W1", "b1", "W2", "b2", "W3", "b3"]}
    scratch, _ = pretrained.starting_point("from scratch", params, 3, np.random.default_rng(0))
    np.testing.assert_array_equal(scratch["W1"], nnlib.init_mlp(
        [64, 128, 64, 3], np.random.default_rng(0))["W1"])
    with pytest.raises(ValueError, match="unknown strategy"):
        pretrained.starting_point("everything", params, 5, np.random.default_rng(0))


def test_learn_target_trains_only_the_trainable_keys_with_the_given_step():
    params, _ = pretrained.load_pretrained()
    X, y, X_val, y_val, _, _ = pretrained.transfer_task(np.random.default_rng(0), per_class=4)
    start, trainable = pretrained.starting_point("head only", params, 5, np.random.default_rng(1))
    calls = []

    def step(p, grads, keys, learning_rate):
        calls.append((sorted(keys), learning_rate))
        return nnlib.fine_tune_step(p, grads, keys, learning_rate)

    model, history = pretrained.learn_target(start, trainable, X, y, np.random.default_rng(2),
                                             X_val=X_val, y_val=y_val, step=step)
    assert pretrained.epochs_for(20) == 200 and history.epochs == 200 == len(history.val_acc)
    assert len(calls) == 200 and calls[0] == (["W3", "b3"], pretrained.LEARNING_RATE)
    for key in ("W1", "b1", "W2", "b2"):
        np.testing.assert_array_equal(model.params[key], params[key])
    assert not np.array_equal(model.params["W3"], start["W3"])
    assert history.val_acc[-1] > 0.3   # better than guessing among 5
    with pytest.raises(ValueError, match="learning_rate"):
        nnlib.train(nnlib.MLP(start), X, y, rng=np.random.default_rng(2), step=step)


def _perturbed(params, key, index, relative):
    """A copy of ``params`` with one entry of ``params[key]`` moved by ``relative`` times the
    array's largest entry."""
    copy = {k: v.copy() for k, v in params.items()}
    copy[key][index] += relative * np.abs(params[key]).max()
    return copy


def test_same_model_reports_the_worst_relative_difference_of_every_array():
    shipped, _ = pretrained.load_pretrained()
    report = pretrained.same_model({k: v.copy() for k, v in shipped.items()}, shipped)
    assert report.same and report.relative == {key: 0.0 for key in shipped}
    rounding = pretrained.same_model(_perturbed(shipped, "W2", (3, 4), 1e-15), shipped)
    assert rounding.same
    assert 0.5e-15 < rounding.relative["W2"] < 1.5e-15 and rounding.relative["W1"] == 0.0
    changed = pretrained.same_model(_perturbed(shipped, "b2", 7, 1e-6), shipped)
    assert not changed.same
    assert 0.9e-6 < changed.relative["b2"] < 1.1e-6
    assert "b2 (64,): worst relative difference 1e-06" in str(changed)
    assert "DIFFERENT" in str(changed) and "the same model" in str(report)


def test_same_model_refuses_other_keys_shapes_and_dtypes():
    shipped, _ = pretrained.load_pretrained()
    missing = {k: v for k, v in shipped.items() if k != "b3"}
    assert not pretrained.same_model(missing, shipped).same
    assert "b3: missing" in str(pretrained.same_model(missing, shipped))
    extra = {**shipped, "W4": np.zeros((2, 2))}
    assert not pretrained.same_model(extra, shipped).same
    float32 = {**shipped, "W1": shipped["W1"].astype(np.float32)}
    assert "W1: float32" in str(pretrained.same_model(float32, shipped))
    narrow = {**shipped, "W3": shipped["W3"][:, :-1]}
    assert not pretrained.same_model(narrow, shipped).same
    nan = _perturbed(shipped, "W1", (0, 0), np.nan)
    assert not pretrained.same_model(nan, shipped).same


def test_same_model_with_data_also_compares_accuracy():
    shipped, _ = pretrained.load_pretrained()
    data = pretrained.source_data()
    report = pretrained.same_model(shipped, shipped, data=data)
    assert report.same and report.accuracy[0] == report.accuracy[1] > 0.95
    flipped = {**shipped, "W3": -shipped["W3"]}   # relative difference 2: allowed by rtol=3
    loose = pretrained.same_model(flipped, shipped, rtol=3.0, data=data)
    assert loose.relative["W3"] == pytest.approx(2.0)
    assert loose.accuracy[0] < 0.5 and not loose.same


@pytest.mark.slow
def test_pretrain_reproduces_the_shipped_model(tmp_path):
    """``python -m nnlib.pretrain --check`` retrains and compares with the shipped model: every
    array within ``REPRODUCE_RTOL`` and the same source-set accuracy. Bit for bit holds only on
    the machine that wrote the file (elsewhere rounding differs, about 1e-15); the shipped bytes
    themselves are held by the SHA-256 test above."""
    out = tmp_path / "digits_mlp.npz"
    env = {**os.environ, "PYTHONPATH": ROOT}
    proc = subprocess.run([sys.executable, "-m", "nnlib.pretrain", "--check", "--out", str(out)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, (
        "python -m nnlib.pretrain no longer reproduces nnlib/pretrained/digits_mlp.npz: did a "
        "change to nnlib alter what training computes?\n" + proc.stdout + proc.stderr)
    shipped, _ = pretrained.load_pretrained()
    report = pretrained.same_model(pretrained.load_params(str(out)), shipped,
                                   data=pretrained.source_data())
    assert report.same, str(report)
    for key, value in shipped.items():
        assert f"{key} {value.shape}: worst relative difference" in proc.stdout, proc.stdout
