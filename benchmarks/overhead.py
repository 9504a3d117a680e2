"""What does the scikit-learn/skorch wrapper cost? Epoch time against plain torch.

``CfCClassifier`` trains through a skorch net: length-bucketed batches built
by a dataset/loader bridge, callbacks (gradient clipping, learning-rate
schedule, stopping rules), history records. This script times one epoch of
it against a hand-written PyTorch loop doing the same training on the same
encoded data: the same network (``sklearn_cfc.nn.CfC`` and a linear head),
AdamW, gradient-norm clipping, a cosine schedule and the same length-bucketed
batches. The goal is at most 15% added time per epoch.

Run from the repository root::

    python benchmarks/overhead.py            # about a minute on 2 cores
    python benchmarks/overhead.py --quick

It prints median epoch times and their ratio, and writes
``benchmarks/results/overhead.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from sklearn_cfc import CfCClassifier
from sklearn_cfc.datasets import load_uea, make_irregular
from sklearn_cfc.nn import CfC
from sklearn_cfc.panel import PanelEncoder, bucket_batches

RESULTS = Path(__file__).resolve().parent / "results"


def synthetic(n, T, C, seed=0):
    """Irregular series of ragged length whose class is the sign of a mean."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, C, T)).astype(np.float32)
    for i, length in enumerate(rng.integers(T // 2, T + 1, size=n)):
        X[i, :, length:] = np.nan
    y = (np.nanmean(X[:, 0], axis=1) > 0).astype(int)
    return X, y


def wrapper_epochs(X, y, epochs, params):
    clf = CfCClassifier(max_epochs=epochs, n_iter_no_change=10 * epochs, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: few epochs on purpose
        clf.fit(X, y)
    return [row["dur"] for row in clf.history_]


def plain_epochs(X, y, epochs, params):
    """The same training as CfCClassifier's defaults, written out by hand."""
    torch.manual_seed(params["random_state"])
    encoded = PanelEncoder().fit_transform(X)
    classes, codes = np.unique(y, return_inverse=True)
    core = CfC(encoded.inputs.shape[-1], 64, mixed_memory=True)
    head = torch.nn.Linear(64, len(classes))
    weights = [*core.parameters(), *head.parameters()]
    optimizer = torch.optim.AdamW(weights, lr=5e-3, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs)
    loss_fn = torch.nn.CrossEntropyLoss()
    targets = torch.from_numpy(codes)
    durations = []
    for epoch in range(epochs):
        start = time.perf_counter()
        order = bucket_batches(
            encoded.lengths,
            32,
            shuffle=True,
            random_state=params["random_state"] + epoch,
        )
        for idx in order:
            batch = encoded.take(idx)
            optimizer.zero_grad()
            _, state = core(
                torch.from_numpy(batch.inputs),
                torch.from_numpy(batch.dt),
                torch.from_numpy(batch.lengths),
            )
            loss = loss_fn(head(state[0]), targets[idx])  # mixed memory: (h, c)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(weights, 1.0)
            optimizer.step()
        schedule.step()
        durations.append(time.perf_counter() - start)
    return durations


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    epochs, rounds = (3, 1) if args.quick else (args.epochs, args.rounds)
    torch.set_num_threads(1)

    X_jv, y_jv = load_uea("JapaneseVowels", split="train")
    X_jv = make_irregular(X_jv, drop=0.5, random_state=0)
    datasets = {
        "JapaneseVowels, 50% dropped (270 series, 12 channels)": (X_jv, y_jv),
        "synthetic (2000 series, <=60 steps, 8 channels)": synthetic(2000, 60, 8),
    }
    params = dict(random_state=0, device="cpu")
    results = []
    for name, (X, y) in datasets.items():
        runs = {"CfCClassifier (skorch)": [], "plain torch loop": []}
        for _ in range(rounds):  # interleaved, so both share the machine's noise
            # the first epoch of each fit includes warm-up; keep the rest
            runs["CfCClassifier (skorch)"] += wrapper_epochs(X, y, epochs, params)[1:]
            runs["plain torch loop"] += plain_epochs(X, y, epochs, params)[1:]
        wrapper = statistics.median(runs["CfCClassifier (skorch)"])
        plain = statistics.median(runs["plain torch loop"])
        ratio = wrapper / plain
        print(f"\n{name}")
        print(f"  CfCClassifier (skorch)  {1e3 * wrapper:8.1f} ms/epoch")
        print(f"  plain torch loop        {1e3 * plain:8.1f} ms/epoch")
        verdict = "PASS" if ratio <= 1.15 else "MISS"
        print(f"  wrapper / plain = {ratio:.3f}  ({verdict}: target <= 1.15)")
        results.append(
            dict(
                dataset=name,
                wrapper_ms_per_epoch=1e3 * wrapper,
                plain_ms_per_epoch=1e3 * plain,
                ratio=ratio,
                epochs_timed=len(runs["plain torch loop"]),
            )
        )
    if not args.quick:
        RESULTS.mkdir(exist_ok=True)
        out = dict(
            benchmark="overhead",
            torch=torch.__version__,
            threads=1,
            epochs_per_fit=epochs,
            rounds=rounds,
            results=results,
        )
        (RESULTS / "overhead.json").write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
