"""Rebuild the pretrained model: ``python -m nnlib.pretrain``.

Trains the MLP described in ``nnlib.pretrained`` (64-128-64-5, ReLU, Adam 1e-3, batches of
64, 150 epochs on the digits 0-4 with one-pixel shift augmentation) from a fixed seed and
writes it with ``nnlib.pretrained.save_params``, whose bytes depend only on the weights. BLAS
runs on one thread (``threadpoolctl``) so that the result does not depend on how many cores a
machine has. On the machine that made the shipped file the result is that file bit for bit;
on another CPU (another SIMD path or OpenBLAS kernel) its weights differ by rounding, about
1e-15 relative, so ``--check`` compares weights to ``REPRODUCE_RTOL``, not bytes.

    python -m nnlib.pretrain                  # rewrite nnlib/pretrained/digits_mlp.npz
    python -m nnlib.pretrain --out model.npz  # write elsewhere
    python -m nnlib.pretrain --check          # train (into a temporary file, or --out) and
                                              # compare with the shipped model array by array
                                              # (nnlib.pretrained.same_model); exit 1 unless
                                              # they are the same to REPRODUCE_RTOL

It prints the file's SHA-256: after a deliberate change, copy it into
``nnlib.pretrained.SHA256``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time

import numpy as np

from . import pretrained
from .models import MLP
from .train import train

SEED = 20240601
EPOCHS = 150
BATCH_SIZE = 64
LEARNING_RATE = 1e-3


def _one_blas_thread():
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # scikit-learn brings it; without it, BLAS keeps its own setting
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def pretrain(seed: int = SEED, epochs: int = EPOCHS) -> dict:
    """Train the source-task model (digits 0-4); returns its params ``W1 b1 W2 b2 W3 b3``
    (float64, the head ``W3 (64, 5)``)."""
    X, y = pretrained.source_data()
    rng = np.random.default_rng(seed)
    with _one_blas_thread():
        model = MLP.create(list(pretrained.LAYER_SIZES), rng)
        train(model, X, y, rng=rng, epochs=epochs, batch_size=BATCH_SIZE,
              optim_config={"learning_rate": LEARNING_RATE},
              augment=pretrained.shift_augment, track_train_acc=False)
    return model.params


def check_against_shipped(params: dict) -> bool:
    """Print how ``params`` differ from the shipped model, array by array; True if the same."""
    try:
        shipped, _ = pretrained.load_pretrained()
    except pretrained.ChecksumError as error:
        print(error)
        return False
    report = pretrained.same_model(params, shipped, data=pretrained.source_data())
    print(f"compared with the shipped {pretrained.PRETRAINED_FILE}:")
    print("  " + str(report).replace("\n", "\n  "))
    return report.same


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nnlib.pretrain",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=None,
                        help="where to write the .npz (default: the shipped file; with "
                             "--check, a temporary file)")
    parser.add_argument("--check", action="store_true",
                        help="compare the result with the shipped model (to "
                             f"{pretrained.REPRODUCE_RTOL:g} relative); exit 1 if it differs")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    params = pretrain()
    seconds = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or (os.path.join(tmp, "digits_mlp.npz") if args.check
                           else pretrained.PRETRAINED_FILE)
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        pretrained.save_params(out, params)
        digest = pretrained.sha256_of(out)
        X, y = pretrained.source_data()
        acc = MLP(params).accuracy(X, y)
        print(f"pretrained in {seconds:.1f} s; source-set accuracy (centred) {acc:.4f}")
        print(f"{out}: {os.path.getsize(out)} bytes, sha256 {digest}"
              + (" (the shipped file's, bit for bit)" if digest == pretrained.SHA256 else ""))
    if args.check:
        return 0 if check_against_shipped(params) else 1
    if digest != pretrained.SHA256:
        print(f"note: nnlib.pretrained.SHA256 is {pretrained.SHA256}; update it if this change "
              "is intended")
    return 0


if __name__ == "__main__":
    sys.exit(main())
