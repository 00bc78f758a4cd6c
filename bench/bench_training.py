"""Training speed: nnlib against PyTorch (CPU) and scikit-learn's MLP, on the same problems.

Every case trains, for each library, the same architecture on the same data with the same
number of epochs, batch size and optimizer (Adam), starting from Glorot-uniform weights, and
times the whole training call (the libraries' usual way of training: ``nnlib.train``, a plain
PyTorch loop, ``MLPClassifier.fit``). The median wall time over a few repeats is reported with
its ratio to PyTorch, and the accuracy each library reaches (so a fast but broken run shows).

    python bench/bench_training.py               # all cases, writes the table to bench/README.md
    python bench/bench_training.py --quick       # one repeat, smaller problems, no README
    python bench/bench_training.py --case digits --repeats 5

nnlib runs in float32 here, like PyTorch and (given float32 data) scikit-learn, so all three
do the same arithmetic; ``--dtype float64`` benchmarks nnlib's default instead (then PyTorch
and scikit-learn also get float64). Needs ``pip install torch==2.13.0`` (``make bench``).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from readme_table import report  # noqa: E402 - bench/readme_table.py

import nnlib  # noqa: E402
from nnlib.datasets import load_digits, make_moons  # noqa: E402


@dataclasses.dataclass
class Case:
    """One training problem; ``task`` is "classify" (integer labels) or "regress" (N, 1)."""

    name: str
    title: str
    sizes: list
    epochs: int
    batch_size: int
    learning_rate: float
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    task: str = "classify"


@dataclasses.dataclass
class Result:
    seconds: list   # wall-clock seconds per run
    cpu: list       # CPU seconds per run, all threads of the process
    accuracy: float


def make_cases(dtype, quick: bool) -> dict[str, Case]:
    cases = {}
    rng = np.random.default_rng(0)

    X, y = load_digits()
    X_tr, y_tr, _, _, X_te, y_te = nnlib.train_val_test_split(X, y, 0.0, 0.2, rng)
    cases["digits"] = Case("digits", "digits 64-128-10, batch 64, 30 epochs", [64, 128, 10],
                           30, 64, 1e-3, X_tr.astype(dtype), y_tr, X_te.astype(dtype), y_te)

    # 10 classes from a random teacher network, so that there is something to learn
    n = 10_000 if quick else 50_000
    X = rng.standard_normal((n + 5_000, 256))
    teacher = np.maximum(X @ rng.standard_normal((256, 64)), 0) @ rng.standard_normal((64, 10))
    y = np.argmax(teacher, axis=1)
    epochs = 1 if quick else 3
    cases["large"] = Case("large", f"synthetic {n}x256, 256-512-512-10, batch 128, "
                          f"{epochs} epochs", [256, 512, 512, 10], epochs, 128, 1e-3,
                          X[:n].astype(dtype), y[:n], X[n:].astype(dtype), y[n:])

    X, y = make_moons(200, 0.15, rng)
    steps = 200 if quick else 2000
    t = y[:, None].astype(dtype)
    cases["slider"] = Case("slider", f"moons 2-16-1 (MSE), full batch of 200, {steps} steps",
                           [2, 16, 1], steps, 200, 1e-2, X.astype(dtype), t, X.astype(dtype), t,
                           task="regress")
    return cases


def accuracy(pred: np.ndarray, case: Case) -> float:
    if case.task == "classify":
        return float(np.mean(np.argmax(pred, axis=1) == case.y_test))
    return float(np.mean((pred[:, 0] > 0.5) == (case.y_test[:, 0] > 0.5)))


def glorot(sizes, seed, dtype):
    return nnlib.init_mlp(sizes, np.random.default_rng(seed), dtype=dtype)


# --- the three libraries ----------------------------------------------------------------------
# Each runner returns ((wall seconds, CPU seconds), test accuracy) for one training run.
def run_nnlib(case: Case, seed: int, dtype):
    ops = nnlib.Ops() if case.task == "classify" else nnlib.Ops(loss=nnlib.mse_loss,
                                                                 loss_backward=nnlib.mse_loss_backward)
    model = nnlib.MLP(glorot(case.sizes, seed, dtype), ops=ops)
    rng = np.random.default_rng(seed)
    start, cpu = time.perf_counter(), time.process_time()
    nnlib.train(model, case.X_train, case.y_train, rng=rng, epochs=case.epochs,
                batch_size=case.batch_size, optim_config={"learning_rate": case.learning_rate},
                track_train_acc=False)  # the other two do not classify the train set each epoch
    seconds = (time.perf_counter() - start, time.process_time() - cpu)
    return seconds, accuracy(model.predict_scores(case.X_test), case)


def run_torch(case: Case, seed: int, dtype):
    import torch

    tdtype = torch.float32 if dtype == np.float32 else torch.float64
    params = glorot(case.sizes, seed, dtype)
    layers = []
    for i in range(1, len(case.sizes)):
        linear = torch.nn.Linear(case.sizes[i - 1], case.sizes[i], dtype=tdtype)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(params[f"W{i}"].T.copy()))
            linear.bias.zero_()
        layers += [linear, torch.nn.ReLU()]
    net = torch.nn.Sequential(*layers[:-1])
    loss_fn = torch.nn.CrossEntropyLoss() if case.task == "classify" else torch.nn.MSELoss()
    optimizer = torch.optim.Adam(net.parameters(), lr=case.learning_rate)
    X = torch.from_numpy(case.X_train)
    y = torch.from_numpy(case.y_train)
    generator = torch.Generator().manual_seed(seed)
    n = len(X)
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(case.epochs):
        order = torch.randperm(n, generator=generator)
        for begin in range(0, n, case.batch_size):
            idx = order[begin:begin + case.batch_size]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(net(X[idx]), y[idx])
            loss.backward()
            optimizer.step()
    seconds = (time.perf_counter() - start, time.process_time() - cpu)
    with torch.no_grad():
        pred = net(torch.from_numpy(case.X_test)).numpy()
    return seconds, accuracy(pred, case)


def run_sklearn(case: Case, seed: int, dtype):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    kind = MLPClassifier if case.task == "classify" else MLPRegressor
    model = kind(hidden_layer_sizes=tuple(case.sizes[1:-1]), activation="relu", solver="adam",
                 alpha=0.0, batch_size=case.batch_size, learning_rate_init=case.learning_rate,
                 max_iter=case.epochs, shuffle=True, random_state=seed, tol=0.0,
                 n_iter_no_change=case.epochs + 1)
    y = case.y_train if case.task == "classify" else case.y_train[:, 0]
    start, cpu = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(case.X_train, y)
    seconds = (time.perf_counter() - start, time.process_time() - cpu)
    if case.task == "classify":
        return seconds, float(np.mean(model.predict(case.X_test) == case.y_test))
    return seconds, accuracy(model.predict(case.X_test)[:, None], case)


RUNNERS: dict[str, Callable] = {"nnlib": run_nnlib, "PyTorch": run_torch,
                                "scikit-learn": run_sklearn}


# --- reporting --------------------------------------------------------------------------------
def environment(dtype) -> str:
    import sklearn
    import torch
    from threadpoolctl import threadpool_info

    blas = ", ".join(f"{p['internal_api']} {p['version']}, {p['num_threads']} threads"
                     for p in threadpool_info()
                     if p["user_api"] == "blas" and "numpy" in p["filepath"]) or "BLAS unknown"
    return (f"Python {platform.python_version()}, NumPy {np.__version__} ({blas}), PyTorch "
            f"{torch.__version__} ({torch.get_num_threads()} threads), scikit-learn "
            f"{sklearn.__version__}; {os.cpu_count()} CPUs; dtype {np.dtype(dtype).name} for "
            f"all three; nnlib.train with track_train_acc=False (like the other two, it does "
            f"not classify the whole training set after every epoch)")


def table(cases: dict[str, Case], results: dict, repeats: int, dtype) -> str:
    lines = [f"Median of {repeats} runs; {environment(dtype)}. Wall: seconds on the clock, "
             "the ratio is to PyTorch's; CPU: seconds of CPU time of all the process's threads.",
             "", "| case | library | wall s | x PyTorch | CPU s | test accuracy |",
             "|---|---|---:|---:|---:|---:|"]
    for name, case in cases.items():
        torch_median = statistics.median(results[name]["PyTorch"].seconds)
        for lib, result in results[name].items():
            median = statistics.median(result.seconds)
            lines.append(f"| {case.title} | {lib} | {median:.3f} | {median / torch_median:.2f} |"
                         f" {statistics.median(result.cpu):.3f} | {result.accuracy:.3f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--case", action="append", choices=["digits", "large", "slider"],
                        help="run only this case (repeatable); default: all")
    parser.add_argument("--library", action="append", choices=list(RUNNERS),
                        help="run only this library (repeatable); default: all")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--quick", action="store_true", help="smaller problems, 1 repeat")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for BLAS and PyTorch (default: their own, all cores)")
    parser.add_argument("--no-readme", action="store_true", help="do not update bench/README.md")
    args = parser.parse_args(argv)
    if args.threads:
        import torch
        from threadpoolctl import threadpool_limits

        torch.set_num_threads(args.threads)
        limits = threadpool_limits(limits=args.threads)  # noqa: F841 - kept for the whole run
    dtype = np.float32 if args.dtype == "float32" else np.float64
    repeats = 1 if args.quick else args.repeats
    cases = make_cases(dtype, args.quick)
    if args.case:
        cases = {name: cases[name] for name in args.case}
    libraries = args.library or list(RUNNERS)
    if "PyTorch" not in libraries:
        libraries = ["PyTorch", *libraries]
    results: dict = {}
    for name, case in cases.items():
        results[name] = {lib: Result([], [], float("nan")) for lib in libraries}
        # the libraries take turns, so that a burst of load elsewhere hits all of them alike
        for r in range(repeats):
            for lib in libraries:
                (wall, cpu), acc = RUNNERS[lib](case, seed=r, dtype=dtype)
                results[name][lib].seconds.append(wall)
                results[name][lib].cpu.append(cpu)
                results[name][lib].accuracy = acc
        for lib, result in results[name].items():
            print(f"{name:7s} {lib:13s} median {statistics.median(result.seconds):8.3f} s  "
                  f"runs {', '.join(f'{s:.3f}' for s in result.seconds)}  "
                  f"cpu {statistics.median(result.cpu):8.3f} s  "
                  f"accuracy {result.accuracy:.3f}", flush=True)
    full_run = not args.quick and not args.case and not args.library
    report("bench-table", table(cases, results, repeats, dtype),
           write=full_run and not args.no_readme)
    return 0


if __name__ == "__main__":
    sys.exit(main())
