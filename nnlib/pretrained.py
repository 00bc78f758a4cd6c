"""A pretrained digit network for the transfer-learning notebook (06), and its target task.

The model is the project's own: ``python -m nnlib.pretrain`` trains it from a fixed seed and
writes ``nnlib/pretrained/digits_mlp.npz``; ``SHA256`` below records the shipped file, and
``load_pretrained`` refuses a file that does not match. Retraining reproduces the shipped weights
up to rounding: bit for bit on the machine that made the file; on another CPU (another SIMD
path or BLAS kernel) every array within about 1e-15 relative. ``same_model`` is that comparison,
to ``REPRODUCE_RTOL``.

Source task (what the model was pretrained on): the digits 0-4 of scikit-learn's digits (all
901 of them), under heavy augmentation: every mini-batch is shifted by up to one pixel in each
direction (``random_shift(.., 1, rng)``), for 150 epochs. The network is an MLP 64-128-64-5
with ReLU after every layer but the last (the dict ``W1 b1 W2 b2 W3 b3``, float64), 137 kB on
disk, about 5 s of CPU to pretrain on one core; it classifies its (centred) source images
perfectly.

Target task (``transfer_task``): the digits 5-9 (896 images, never seen in pretraining),
labels remapped to 0-4, photographed off-centre: each image is shifted once by up to one pixel
(a fixed draw). Only ``per_class`` (default 20) labelled images per class are available for
training, drawn from a fixed pool of 40 per class; a fixed validation set of 20 per class is
for every choice (which layers, which learning rate, how long), and the fixed 596 remaining
images are the test set, for the final verdict.

Measured (``compare_transfer(seeds=range(5), per_class)``: test accuracy, mean over seeds 0-4,
SGD at 0.1 on batches of 20 for 200 steps, ``learn_target``):

==================  ======  ======  ======  ===========================================
strategy            2/cls   5/cls   20/cls  20/cls per seed
==================  ======  ======  ======  ===========================================
from scratch        0.413   0.489   0.681   0.680 0.693 0.698 0.659 0.676
head only           0.501   0.532   0.652   0.644 0.681 0.651 0.636 0.646
top two layers      0.490   0.563   0.702   0.708 0.733 0.688 0.695 0.688
all layers          0.471   0.559   0.736   0.743 0.748 0.720 0.728 0.738
==================  ======  ======  ======  ===========================================

(with 10 per class: 0.611 from scratch, 0.660 all layers; with 40: 0.739 and 0.813; with 1
per class all four are near 0.3.) So from 2 images per class on, the best start from the
pretrained body beats random weights by 5 to 9 points; but features learned for 0-4 are not
finished features for 5-9: training only the new head pays with two images per class and
falls behind training from scratch from 20 on, while fine-tuning every layer is the best
strategy from 10 on (at 5, the top two layers, by a hair). A smaller learning rate for the
body (0.01 or 0.03, the head at 0.1) did worse than 0.1 for every size from 10 to 40, and at
most a point better below (measured while designing this, on a model pretrained the same way
from another seed): these layers must move far.

What did *not* give features worth transferring, for the record: centred target images (from
scratch already reaches 0.96 with 20 per class, and nearest neighbours or a linear head on the
0-4 features were no better than on raw pixels), Gaussian pixel noise as the target's defect
(0-4 features lost to raw pixels), fewer pretraining epochs or dropout in pretraining (no
change), and a two-pixel shift (everything, from scratch too, much worse). Even on this task a
nearest neighbour in the feature space of the body is no better than in pixel space: the
gain comes from training, not from the features as they are.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import os
import zipfile

import numpy as np

from .augmentation import random_shift
from .datasets import load_digits
from .models import MLP, init_mlp, num_layers
from .train import History, train
from .transfer import fine_tune_step, replace_head

PRETRAINED_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pretrained")
PRETRAINED_FILE = os.path.join(PRETRAINED_DIR, "digits_mlp.npz")
SHA256 = "b601f989238a87ccc2c55fee6e84d764e32fbceda6163fc5447ec092a9bb1f34"
"""SHA-256 of ``PRETRAINED_FILE``, as written by ``python -m nnlib.pretrain``."""
REPRODUCE_RTOL = 1e-9
"""How close retraining must come to the shipped weights: every array within this relative
difference (``same_model``). Rounding alone moves them by about 1e-15 (measured: 6e-16 to
1.4e-15 on another machine of the same kind), a million times less; a change to what nnlib
computes moves them by far more."""

LAYER_SIZES = (64, 128, 64, 5)
SOURCE_CLASSES = (0, 1, 2, 3, 4)
"""Source digits, the pretraining task; digit ``k`` has label ``k``."""
TARGET_CLASSES = (5, 6, 7, 8, 9)
"""Target digits, never seen in pretraining; in ``transfer_task`` digit ``TARGET_CLASSES[k]``
has label ``k``."""
MAX_SHIFT = 1
"""Pixels by which source batches (augmentation) and target images (once) are shifted."""
POOL_PER_CLASS = 40
"""Target images per class that few-shot training sets are drawn from."""
VAL_PER_CLASS = 20
"""Target images per class in the fixed validation set; the rest are the test set."""

_TARGET_SHIFT_SEED = 7      # the one fixed shift of every target image
_POOL_SEED = 11             # which target images form the few-shot pool


class ChecksumError(ValueError):
    """A pretrained file whose SHA-256 is not the recorded one (damaged, edited or stale)."""


def sha256_of(path: str) -> str:
    """Hex SHA-256 of the file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def save_params(path: str, params: dict) -> None:
    """Write ``params`` as an ``.npz`` (readable by ``np.load``) whose bytes depend only on
    the arrays: stored (not compressed), keys in the dict's order, fixed timestamps.

    ``np.savez`` stamps every member with the current time, so two identical models would give
    different files; this writer gives identical files, which is what makes a checksum useful.
    """
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for key, value in params.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(value), version=(1, 0),
                                      allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            archive.writestr(info, buffer.getvalue())


def load_params(path: str) -> dict:
    """The arrays of an ``.npz`` as a dict of fresh, writable arrays, in the file's order."""
    with np.load(path, allow_pickle=False) as data:
        return {key: np.array(data[key]) for key in data.files}


def load_pretrained(path: str | None = None, *, verify: bool = True) -> tuple[dict, dict]:
    """The pretrained model: ``(params, info)``.

    params: ``W1 (64, 128), b1 (128,), W2 (128, 64), b2 (64,), W3 (64, 5), b3 (5,)``,
    float64, fresh arrays (changing them does not change the file). info: a dict describing
    the model (layer sizes, source task, classes, file, sha256).
    path: defaults to the shipped file. verify: compare the file's SHA-256 with the recorded
    ``SHA256`` first and raise ``ChecksumError`` if they differ.
    """
    path = PRETRAINED_FILE if path is None else path
    if verify:
        actual = sha256_of(path)
        if actual != SHA256:
            raise ChecksumError(
                f"{path} has SHA-256 {actual}, but nnlib.pretrained.SHA256 is {SHA256}: the "
                "file is damaged or was changed. Restore it (e.g. from git) or regenerate it "
                "with `python -m nnlib.pretrain`.")
    params = load_params(path)
    expected = [f"{p}{i}" for i in range(1, len(LAYER_SIZES)) for p in "Wb"]
    if sorted(params) != sorted(expected):
        raise ValueError(f"{path}: expected arrays {expected}, found {list(params)}")
    info = {
        "layer_sizes": LAYER_SIZES,
        "activation": "relu",
        "num_layers": num_layers(params),
        "source_task": "digits 0-4, shifted by up to 1 pixel each batch",
        "source_classes": SOURCE_CLASSES,
        "target_classes": TARGET_CLASSES,
        "file": path,
        "sha256": SHA256,
    }
    return params, info


def relative_difference(a: np.ndarray, b: np.ndarray) -> float:
    """``max |a - b| / max |b|`` over the elements of two arrays of the same shape.

    0 when they are equal (also when both are all zeros), inf when ``b`` is all zeros and ``a``
    is not, NaN when either holds a NaN.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    worst = float(np.max(np.abs(a - b))) if a.size else 0.0
    if worst == 0.0:
        return 0.0
    scale = float(np.max(np.abs(b)))
    return worst / scale if scale > 0 else float("inf")


@dataclasses.dataclass(frozen=True)
class ModelDifference:
    """What ``same_model(a, b)`` found.

    relative: for every key of ``b`` that ``a`` has with the same shape, the worst relative
    difference ``relative_difference(a[key], b[key])``; problems: keys only one model has,
    shapes or dtypes that differ; accuracy: ``(accuracy of a, accuracy of b)`` on the data
    given, or None.
    """

    relative: dict
    problems: tuple
    rtol: float
    shapes: dict
    accuracy: tuple | None = None

    @property
    def same(self) -> bool:
        """No problems, every array within ``rtol``, and (if measured) the same accuracy."""
        return (not self.problems
                and all(d <= self.rtol for d in self.relative.values())
                and (self.accuracy is None or self.accuracy[0] == self.accuracy[1]))

    def __str__(self) -> str:
        lines = [f"{key} {self.shapes[key]}: worst relative difference {d:.2g}"
                 + ("" if d <= self.rtol else f"  > {self.rtol:g}")
                 for key, d in self.relative.items()]
        lines += list(self.problems)
        if self.accuracy is not None:
            mine, other = self.accuracy
            lines.append(f"accuracy {mine:.4f}, the reference model's {other:.4f}")
        verdict = "the same model" if self.same else "DIFFERENT models"
        return "\n".join(lines + [f"{verdict} (every array within {self.rtol:g} relative)"])


def same_model(a: dict, b: dict, rtol: float = REPRODUCE_RTOL, data=None) -> ModelDifference:
    """Compare the parameter dict ``a`` with the reference ``b``, array by array.

    Two models are the same when they have the same keys, shapes and dtypes and every array of
    ``a`` lies within ``rtol`` of ``b``'s, relative to ``b``'s largest entry (``max |a - b| /
    max |b|``, so an array of tiny entries is judged by its own scale). With ``data = (X, y)``
    both models also classify ``X`` and must get exactly the same accuracy. Returns a
    ``ModelDifference``: ``.same``, and the worst relative difference of every array.
    """
    relative, shapes, problems = {}, {}, []
    for key, ref in b.items():
        ref = np.asarray(ref)
        if key not in a:
            problems.append(f"{key}: missing")
            continue
        got = np.asarray(a[key])
        if got.shape != ref.shape or got.dtype != ref.dtype:
            problems.append(f"{key}: {got.dtype} {got.shape}, expected {ref.dtype} {ref.shape}")
            continue
        relative[key] = relative_difference(got, ref)
        shapes[key] = ref.shape
    problems += [f"{key}: not in the other model" for key in a if key not in b]
    accuracy = None
    if data is not None and not problems:
        X, y = data
        accuracy = (MLP(a).accuracy(X, y), MLP(b).accuracy(X, y))
    return ModelDifference(relative, tuple(problems), rtol, shapes, accuracy)


# --- the data ---------------------------------------------------------------------------------
def source_data() -> tuple[np.ndarray, np.ndarray]:
    """The pretraining set: every image of the digits 0-4.

    ``(X (901, 64) float64 in [0, 1], y (901,) int64 in 0..4)``, label = digit. Centred images;
    pretraining shifts every batch itself (``shift_augment``).
    """
    X, y = load_digits()
    mask = np.isin(y, SOURCE_CLASSES)
    return X[mask], y[mask].astype(np.int64)


def shift_augment(X_batch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``train``'s ``augment``: rows (B, 64) as 8x8 images, each shifted by up to MAX_SHIFT."""
    images = X_batch.reshape(len(X_batch), 8, 8)
    return random_shift(images, MAX_SHIFT, rng).reshape(len(X_batch), 64)


@functools.lru_cache(maxsize=1)
def _target_data() -> tuple[np.ndarray, ...]:
    """(X_pool, y_pool, X_val, y_val, X_test, y_test) of the target task, fixed once and for all."""
    X, y = load_digits()
    mask = np.isin(y, TARGET_CLASSES)
    X = shift_augment(X[mask], np.random.default_rng(_TARGET_SHIFT_SEED))
    y = np.searchsorted(np.asarray(TARGET_CLASSES), y[mask]).astype(np.int64)
    rng = np.random.default_rng(_POOL_SEED)
    order = [rng.permutation(np.flatnonzero(y == k)) for k in range(len(TARGET_CLASSES))]
    pool = np.sort(np.concatenate([rows[:POOL_PER_CLASS] for rows in order]))
    val = np.sort(np.concatenate([rows[POOL_PER_CLASS:POOL_PER_CLASS + VAL_PER_CLASS]
                                  for rows in order]))
    test = np.setdiff1d(np.arange(len(y)), np.concatenate([pool, val]))
    arrays = X[pool], y[pool], X[val], y[val], X[test], y[test]
    for a in arrays:
        a.setflags(write=False)
    return arrays


def transfer_task(rng: np.random.Generator, per_class: int = 20):
    """The few-shot target task: ``(X_train, y_train, X_val, y_val, X_test, y_test)``.

    Digits 5-9, label ``k`` for digit ``TARGET_CLASSES[k]`` (int64 in 0..4), every image
    off-centre (see the module docstring); pixels float64 in [0, 1], rows of 64.
    X_train ``(5 * per_class, 64)``: ``per_class`` images of each class drawn by ``rng``
    (without replacement, grouped by class) from a fixed pool of ``POOL_PER_CLASS`` per class.
    X_val ``(100, 64)``: a fixed validation set, ``VAL_PER_CLASS`` images per class, for every
    choice (layers, learning rate, epochs); X_test ``(596, 64)``: the fixed remaining images,
    for the final verdict. Validation and test sets are the same whatever ``rng``.
    """
    X_pool, y_pool, X_val, y_val, X_test, y_test = _target_data()
    if not 1 <= per_class <= POOL_PER_CLASS:
        raise ValueError(f"per_class must lie in [1, {POOL_PER_CLASS}], got {per_class}")
    pick = np.concatenate([rng.choice(np.flatnonzero(y_pool == k), per_class, replace=False)
                           for k in range(len(TARGET_CLASSES))])
    return X_pool[pick], y_pool[pick], X_val.copy(), y_val.copy(), X_test.copy(), y_test.copy()


# --- learning the target task -----------------------------------------------------------------
STRATEGIES = ("from scratch", "head only", "top two layers", "all layers")
"""What to train on the target task: a fresh network (every layer), or the pretrained body
with a new head and, trainable, the head, the last two layers, or every layer."""
LEARNING_RATE = 0.1
BATCH_SIZE = 20
STEPS = 200
"""Plain SGD on the target task: about ``STEPS`` steps on batches of ``BATCH_SIZE`` at
``LEARNING_RATE``, whatever the number of training images (``epochs_for``)."""


def epochs_for(num_images: int, steps: int = STEPS) -> int:
    """Epochs of batches of ``BATCH_SIZE`` that make at least ``steps`` SGD steps."""
    return int(np.ceil(steps / np.ceil(num_images / BATCH_SIZE)))


def starting_point(strategy: str, params: dict, num_classes: int, rng: np.random.Generator, *,
                   new_head=replace_head) -> tuple[dict, list]:
    """``(initial params, trainable keys)`` of one of ``STRATEGIES`` for ``num_classes``.

    "from scratch": ``init_mlp`` of the same layer sizes with a ``num_classes``-way head, drawn
    from ``rng``, every key trainable. Otherwise ``new_head(params, num_classes, rng)`` (the
    pretrained body, a new head) with trainable ``WL bL``, ``W(L-1) ... bL`` or every key.
    ``params`` is not modified.
    """
    L = num_layers(params)
    if strategy == "from scratch":
        sizes = [params["W1"].shape[0]] + [params[f"W{i}"].shape[1] for i in range(1, L)]
        start = init_mlp([*sizes, num_classes], rng)
        return start, list(start)
    layers = {"head only": [L], "top two layers": [L - 1, L], "all layers": range(1, L + 1)}
    if strategy not in layers:
        raise ValueError(f"unknown strategy {strategy!r}; use one of {STRATEGIES}")
    return new_head(params, num_classes, rng), [f"{p}{i}" for i in layers[strategy] for p in "Wb"]


def learn_target(params: dict, trainable, X: np.ndarray, y: np.ndarray,
                 rng: np.random.Generator, *, epochs: int | None = None, X_val=None, y_val=None,
                 learning_rate: float = LEARNING_RATE,
                 step=fine_tune_step) -> tuple[MLP, History]:
    """SGD on the keys in ``trainable`` of ``MLP(params)`` with ``step`` (``fine_tune_step``'s
    contract), batches of ``BATCH_SIZE`` drawn by ``rng``, at ``learning_rate``.

    X (N, D), y (N,) labels; epochs: default ``epochs_for(N)``. With ``X_val, y_val`` the history
    holds the validation loss and accuracy after every epoch. ``params`` is not modified.
    Returns ``(model, history)``.
    """
    model = MLP(params)
    history = train(model, X, y, X_val, y_val, rng=rng, epochs=epochs or epochs_for(len(y)),
                    batch_size=BATCH_SIZE, trainable=list(trainable), step=step,
                    optim_config={"learning_rate": learning_rate}, track_train_acc=False)
    return model, history


def compare_transfer(seeds=range(3), per_class: int = 20, strategies=STRATEGIES) -> dict:
    """Test accuracy of each strategy on the target task, per seed: ``{strategy: [...]}``.

    Each seed draws one few-shot training set (``transfer_task``, ``per_class`` per class);
    every strategy starts from ``starting_point`` and learns it with ``learn_target``.
    """
    params, _ = load_pretrained()
    result = {strategy: [] for strategy in strategies}
    for seed in seeds:
        X, y, _, _, X_test, y_test = transfer_task(np.random.default_rng(seed), per_class)
        for strategy in strategies:
            start, trainable = starting_point(strategy, params, len(TARGET_CLASSES),
                                              np.random.default_rng(1000 + seed))
            model, _ = learn_target(start, trainable, X, y, np.random.default_rng(2000 + seed))
            result[strategy].append(model.accuracy(X_test, y_test))
    return result
