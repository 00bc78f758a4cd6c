"""A pretrained digit network for the transfer-learning notebook (06), and its target task.

The model is the project's own: ``python -m nnlib.pretrain`` trains it from a fixed seed and
writes ``nnlib/pretrained/digits_mlp.npz``; ``SHA256`` below records the shipped file, and
``load_pretrained`` refuses a file that does not match. Retraining reproduces the shipped weights
up to rounding: bit for bit on the machine that made the file; on another CPU (another SIMD
path or BLAS kernel) every array within about 1e-15 relative. ``same_model`` is that comparison,
to ``REPRODUCE_RTOL``.

Source task (what the model was pretrained on): all ten digits of the *source half* of
scikit-learn's digits (898 images, a fixed random half), under heavy augmentation: every
mini-batch is shifted by up to one pixel in each direction (``random_shift(.., 1, rng)``), for
150 epochs. The network is an MLP 64-128-64-10 with ReLU after every layer but the last (the
dict ``W1 b1 W2 b2 W3 b3``, float64), 139 kB on disk, about 6 s to pretrain on one core.

Target task (``transfer_task``): the digits 5-9 of the *other* half (never seen in
pretraining), labels remapped to 0-4, photographed off-centre: each image is shifted once by up
to one pixel (a fixed draw). Only ``per_class`` (default 20) labelled images per class are
available for training, drawn from a fixed pool of 40 per class; the test set is the fixed 246
remaining target images.

Measured (``compare_transfer(seeds=range(5))``: 20 images per class, accuracy on the 246 test
images, mean over seeds 0-4):

- fine-tuning the pretrained model (new 5-way head trained, body frozen; ``fine_tune``): 0.919
  (per seed 0.915 0.919 0.915 0.943 0.902)
- the same network trained from scratch on the same 100 images (``train_from_scratch``):
  0.676 (per seed 0.691 0.679 0.671 0.650 0.687; 0.672 / 0.679 with learning rates 1e-3 / 1e-2)
- fine-tuning every layer at once at 1e-3 from the new random head: 0.798 (its large early
  gradients damage the pretrained body; train the head first)

so pretraining is worth about 24 accuracy points here. What does *not* work on these 8x8
digits, for the record: pretraining on digits 0-4 only and transferring to 5-9. With 100
centred images a network trained from scratch already reaches 0.96 on 5-9 (logistic
regression on raw pixels 0.95), and the 0-4 features were no better than raw pixels (0.94 with
a linear probe; full fine-tuning 0.956 against 0.964 from scratch); with shifted images
0.75 against 0.73. The ten-class source half with shift augmentation is what gives features
worth transferring (the target digits are new images, but 5-9 are among the source classes,
as dog breeds are among ImageNet's).
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
from .models import MLP, num_layers
from .train import train
from .transfer import replace_head

PRETRAINED_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pretrained")
PRETRAINED_FILE = os.path.join(PRETRAINED_DIR, "digits_mlp.npz")
SHA256 = "add3ee2cd33d749530326ca6cd7ffb4a8daf2fb8441a5c6d89b6e2d185d6d126"
"""SHA-256 of ``PRETRAINED_FILE``, as written by ``python -m nnlib.pretrain``."""
REPRODUCE_RTOL = 1e-9
"""How close retraining must come to the shipped weights: every array within this relative
difference (``same_model``). Rounding alone moves them by about 1e-15 (measured: 6e-16 to
1.4e-15 on another machine of the same kind), a million times less; a change to what nnlib
computes moves them by far more."""

LAYER_SIZES = (64, 128, 64, 10)
SOURCE_CLASSES = tuple(range(10))
TARGET_CLASSES = (5, 6, 7, 8, 9)
"""Target digits; in ``transfer_task`` digit ``TARGET_CLASSES[k]`` has label ``k``."""
MAX_SHIFT = 1
"""Pixels by which source batches (augmentation) and target images (once) are shifted."""
POOL_PER_CLASS = 40
"""Target images per class that few-shot training sets are drawn from; the rest are test."""

_SPLIT_SEED = 2024          # which half of the digits is the source half
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

    params: ``W1 (64, 128), b1 (128,), W2 (128, 64), b2 (64,), W3 (64, 10), b3 (10,)``,
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
        "source_task": "digits 0-9 of the source half, shifted by up to 1 pixel each batch",
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
        accuracy = (MLP(dict(a)).accuracy(X, y), MLP(dict(b)).accuracy(X, y))
    return ModelDifference(relative, tuple(problems), rtol, shapes, accuracy)


# --- the data ---------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _halves() -> np.ndarray:
    """Boolean mask (1797,): True for the source half of the digits."""
    n = len(load_digits()[1])
    source = np.zeros(n, dtype=bool)
    source[np.random.default_rng(_SPLIT_SEED).permutation(n)[: n // 2]] = True
    source.setflags(write=False)
    return source


def source_data() -> tuple[np.ndarray, np.ndarray]:
    """The pretraining set: ``(X (898, 64) float64 in [0, 1], y (898,) int64 in 0..9)``.

    Centred images; pretraining shifts every batch itself (``shift_augment``).
    """
    X, y = load_digits()
    mask = _halves()
    return X[mask], y[mask]


def shift_augment(X_batch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``train``'s ``augment``: rows (B, 64) as 8x8 images, each shifted by up to MAX_SHIFT."""
    images = X_batch.reshape(len(X_batch), 8, 8)
    return random_shift(images, MAX_SHIFT, rng).reshape(len(X_batch), 64)


@functools.lru_cache(maxsize=1)
def _target_data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(X_pool, y_pool, X_test, y_test) of the target task, fixed once and for all."""
    X, y = load_digits()
    mask = ~_halves() & np.isin(y, TARGET_CLASSES)
    X = shift_augment(X[mask], np.random.default_rng(_TARGET_SHIFT_SEED))
    y = np.searchsorted(np.asarray(TARGET_CLASSES), y[mask]).astype(np.int64)
    rng = np.random.default_rng(_POOL_SEED)
    pool = np.concatenate([rng.permutation(np.flatnonzero(y == k))[:POOL_PER_CLASS]
                           for k in range(len(TARGET_CLASSES))])
    pool = np.sort(pool)
    test = np.setdiff1d(np.arange(len(y)), pool)
    arrays = X[pool], y[pool], X[test], y[test]
    for a in arrays:
        a.setflags(write=False)
    return arrays


def transfer_task(rng: np.random.Generator, per_class: int = 20):
    """The few-shot target task: ``(X_train, y_train, X_test, y_test)``.

    X_train ``(5 * per_class, 64)``, y_train ``(5 * per_class,)`` int64 in 0..4 (digit
    ``TARGET_CLASSES[k]`` has label ``k``): ``per_class`` images of each class drawn by ``rng``
    (without replacement, grouped by class) from a fixed pool of 40 per class.
    X_test ``(246, 64)``, y_test ``(246,)``: the same fixed test set whatever ``rng``.
    Pixels are float64 in [0, 1]; the images are off-centre (see the module docstring).
    """
    X_pool, y_pool, X_test, y_test = _target_data()
    if not 1 <= per_class <= POOL_PER_CLASS:
        raise ValueError(f"per_class must lie in [1, {POOL_PER_CLASS}], got {per_class}")
    pick = np.concatenate([rng.choice(np.flatnonzero(y_pool == k), per_class, replace=False)
                           for k in range(len(TARGET_CLASSES))])
    return X_pool[pick], y_pool[pick], X_test.copy(), y_test.copy()


# --- the two ways to learn the target task ----------------------------------------------------
def fine_tune(params: dict, X: np.ndarray, y: np.ndarray, rng: np.random.Generator, *,
              epochs: int = 60, learning_rate: float = 1e-2, batch_size: int = 20,
              trainable=None) -> MLP:
    """The pretrained ``params`` with a new head (``replace_head``), fine-tuned on ``(X, y)``.

    X (N, 64), y (N,) int labels 0..C-1 with C = ``y.max() + 1``. Adam on the keys in
    ``trainable`` (default: the new head ``WL bL`` only; the body stays frozen), batches of
    ``batch_size``. ``params`` is not modified. Returns the fine-tuned ``MLP``.
    """
    model = MLP(replace_head(params, int(np.max(y)) + 1, rng))
    L = model.num_layers
    keys = [f"W{L}", f"b{L}"] if trainable is None else list(trainable)
    train(model, X, y, rng=rng, epochs=epochs, batch_size=batch_size, trainable=keys,
          optim_config={"learning_rate": learning_rate}, track_train_acc=False)
    return model


def train_from_scratch(X: np.ndarray, y: np.ndarray, rng: np.random.Generator, *,
                       epochs: int = 200, learning_rate: float = 3e-3,
                       batch_size: int = 20) -> MLP:
    """The same architecture as the pretrained model (with a C-way head), Glorot-initialised
    from ``rng`` and trained on ``(X, y)`` only: all layers, Adam, batches of ``batch_size``."""
    sizes = [*LAYER_SIZES[:-1], int(np.max(y)) + 1]
    model = MLP.create(sizes, rng)
    train(model, X, y, rng=rng, epochs=epochs, batch_size=batch_size,
          optim_config={"learning_rate": learning_rate}, track_train_acc=False)
    return model


def compare_transfer(seeds=range(3), per_class: int = 20) -> dict:
    """Test accuracy of ``fine_tune`` and ``train_from_scratch`` on the target task per seed.

    Each seed draws one few-shot training set; both methods train on it. Returns
    ``{"fine_tune": [...], "scratch": [...]}``, one accuracy per seed.
    """
    params, _ = load_pretrained()
    result = {"fine_tune": [], "scratch": []}
    for seed in seeds:
        X, y, X_test, y_test = transfer_task(np.random.default_rng(seed), per_class)
        tuned = fine_tune(params, X, y, np.random.default_rng(1000 + seed))
        scratch = train_from_scratch(X, y, np.random.default_rng(1000 + seed))
        result["fine_tune"].append(tuned.accuracy(X_test, y_test))
        result["scratch"].append(scratch.accuracy(X_test, y_test))
    return result
