"""Prediction memory and time on up to a million series.

``predict_proba`` streams: it converts, encodes and runs the network on a
bounded part of ``X`` at a time, and it accepts an iterator of batches, so
series that never sit in memory all at once can be scored. This script
measures both ways in, on series of 50 steps x 8 channels, for a growing
number of series:

- ``iterator``: a generator yields batches of 10,000 series made on the fly;
  the peak memory prediction adds should stay flat as the count grows.
- ``array``: one in-memory float32 array ``(n, 8, 50)``; prediction should
  add a bounded amount on top of the array itself.

Each measurement runs in a fresh Python process that loads the same fitted
``CfCClassifier`` (default network; one torch thread) and reports its peak
resident memory: "added peak" is the highest resident memory sampled
(every millisecond) while predicting minus the resident memory just before,
so what prediction needed beyond the loaded model (and, for ``array``, the
input); "process peak" is the whole run's ``ru_maxrss``, what
``/usr/bin/time -v`` calls the maximum resident set size. Time should grow
linearly with the number of series.

Run from the repository root::

    python benchmarks/memory.py             # about 6 minutes on one core
    python benchmarks/memory.py --quick     # 10k and 100k series only

It prints a table and writes ``benchmarks/results/memory.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import resource
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import numpy as np
from _machine import machine_info

RESULTS = Path(__file__).resolve().parent / "results"
T, C, BATCH = 50, 8, 10_000


def batches(n, seed=1):
    """``n`` random series in float32 batches of ``BATCH``, made on demand."""
    rng = np.random.default_rng(seed)
    for start in range(0, n, BATCH):
        yield rng.normal(size=(min(BATCH, n - start), C, T)).astype(np.float32)


def peak_mib():
    """The process's peak resident memory so far (what ``time -v`` reports)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB: Linux


def rss_mib():
    """The process's resident memory now."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class RSSSampler(threading.Thread):
    """Samples resident memory every millisecond; ``peak`` is the highest seen.

    ``ru_maxrss`` alone would hide what prediction adds under the higher
    transient peak of importing torch and friends.
    """

    def __init__(self):
        super().__init__(daemon=True)
        self.peak = rss_mib()
        self.done = threading.Event()

    def run(self):
        while not self.done.wait(0.001):
            self.peak = max(self.peak, rss_mib())

    def stop(self):
        self.done.set()
        self.join()
        self.peak = max(self.peak, rss_mib())
        return self.peak


def child(model_path, mode, n):
    """Load the model, predict on ``n`` series, print a JSON line of figures."""
    import torch

    torch.set_num_threads(1)
    with open(model_path, "rb") as f:
        clf = pickle.load(f)
    clf.predict_proba(next(batches(100, seed=2)))  # warm up the code paths
    X = batches(n)
    if mode == "array":  # filled in place: the peak before is model + input
        array = np.empty((n, C, T), dtype=np.float32)
        for start, batch in zip(range(0, n, BATCH), X, strict=False):
            array[start : start + len(batch)] = batch
        X = array
    before = rss_mib()
    sampler = RSSSampler()
    sampler.start()
    start = time.perf_counter()
    proba = clf.predict_proba(X)
    seconds = time.perf_counter() - start
    peak = sampler.stop()
    assert proba.shape == (n, 2)
    assert np.isfinite(proba).all()
    input_mib = n * C * T * 4 / 2**20 if mode == "array" else 0.0
    print(
        json.dumps(
            dict(
                mode=mode,
                n_series=n,
                seconds=seconds,
                us_per_series=1e6 * seconds / n,
                rss_before_mib=before,
                rss_peak_mib=peak,
                added_peak_mib=peak - before,
                process_peak_mib=peak_mib(),
                input_mib=input_mib,
            )
        )
    )


def fit_model(path):
    import torch

    from sklearn_cfc import CfCClassifier

    torch.set_num_threads(1)
    X = next(batches(512, seed=0))
    y = (np.nanmean(X[:, 0], axis=1) > 0).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: few epochs on purpose
        clf = CfCClassifier(max_epochs=3, random_state=0).fit(X, y)
    with open(path, "wb") as f:
        pickle.dump(clf, f)
    return clf.get_params()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k and 100k only")
    parser.add_argument("--child", nargs=3, metavar=("MODEL", "MODE", "N"))
    args = parser.parse_args()
    if args.child:
        model, mode, n = args.child
        child(model, mode, int(n))
        return

    sizes = [10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        model = str(Path(tmp) / "model.pkl")
        params = fit_model(model)
        for mode in ("iterator", "array"):
            for n in sizes:
                out = subprocess.run(
                    [sys.executable, __file__, "--child", model, mode, str(n)],
                    check=True,
                    capture_output=True,
                    text=True,
                    env=env,
                )
                row = json.loads(out.stdout.strip().splitlines()[-1])
                rows.append(row)
                print(
                    f"{mode:>8} {n:>9,} series: {row['seconds']:7.1f} s "
                    f"({row['us_per_series']:5.1f} us/series), added peak "
                    f"{row['added_peak_mib']:6.0f} MiB (input {row['input_mib']:.0f} "
                    f"MiB, process peak {row['process_peak_mib']:.0f} MiB)"
                )
    for mode in ("iterator", "array"):
        mine = [r for r in rows if r["mode"] == mode]
        first, last = mine[0], mine[-1]
        print(
            f"{mode}: time per series at {last['n_series']:,} / at "
            f"{first['n_series']:,} = "
            f"{last['us_per_series'] / first['us_per_series']:.2f}x (1 = linear)"
        )
    RESULTS.mkdir(exist_ok=True)
    result = dict(
        machine=machine_info(("sklearn-cfc", "torch", "numpy")),
        torch_threads=1,
        series_shape=dict(n_timepoints=T, n_channels=C),
        iterator_batch=BATCH,
        model={k: v for k, v in params.items() if k in ("units", "mixed_memory")},
        rows=rows,
    )
    (RESULTS / "memory.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
