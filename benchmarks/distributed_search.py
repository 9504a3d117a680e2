"""A grid search fanned out by joblib: one process against Dask and Ray workers.

A 3x3 ``GridSearchCV`` (``units`` x ``learning_rate``, ``cv=3``: 27 fits,
then one refit on all the data) over :class:`~sklearn_cfc.CfCClassifier` on
JapaneseVowels (train and test, 640 series, 12 channels) with half of the
observations dropped at random (``make_irregular``). It is timed

- with ``n_jobs=1`` in this process,
- with ``n_jobs=2`` on joblib's Dask backend, on a ``LocalCluster`` of two
  worker processes with one thread each: once with ``X`` and ``y`` sent to
  every worker up front (``parallel_config(backend="dask", scatter=[X, y])``)
  and once without (joblib scatters large numpy arrays by itself, but not
  lists, so a list of DataFrames then travels inside every task),
- with ``n_jobs=2`` on Ray's joblib backend on a local two-CPU Ray instance
  (skip it with ``--no-ray``).

Every fit uses one torch thread: this process calls
``torch.set_num_threads(1)``; Dask's nanny starts its workers with
``OMP_NUM_THREADS=1`` (``distributed.nanny.pre-spawn-environ``) and the
warm-up sets and checks the thread count on each worker; Ray is started with
``OMP_NUM_THREADS=1`` in its runtime environment and a probe task checks it.
Starting the cluster, and warming its workers up (importing torch and
sklearn_cfc), is timed apart from the searches. Ray's backend starts a fresh
pool of actor processes for every search, so their start-up is inside Ray's
search times. The runs are interleaved, ``--repeats`` times, so all share the
machine's noise; the best parameters and every mean CV score must agree.

Run from the repository root (the script is not called ``distributed.py``:
that name would shadow the ``distributed`` package, as the script's folder
comes first on ``sys.path``)::

    OMP_NUM_THREADS=1 python benchmarks/distributed_search.py   # ~7 min, 2 cores
    python benchmarks/distributed_search.py --quick

It prints median times and speed-ups and writes
``benchmarks/results/distributed_search.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import warnings
from importlib.metadata import version
from pathlib import Path

import joblib
import torch
from _machine import machine_info
from sklearn.model_selection import GridSearchCV

from sklearn_cfc import CfCClassifier
from sklearn_cfc.datasets import load_uea, make_irregular

RESULTS = Path(__file__).resolve().parent / "results"
GRID = {"units": [16, 32, 64], "learning_rate": [1e-3, 3e-3, 1e-2]}
WORKERS = 2


def _search(n_jobs, max_epochs):
    estimator = CfCClassifier(max_epochs=max_epochs, device="cpu", random_state=0)
    return GridSearchCV(estimator, GRID, cv=3, n_jobs=n_jobs)


def timed_search(X, y, max_epochs, backend=None, **backend_params):
    """Fit the grid search; return (seconds, fitted search)."""
    search = _search(1 if backend is None else WORKERS, max_epochs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: few epochs on purpose
        start = time.perf_counter()
        if backend is None:
            search.fit(X, y)
        else:
            with joblib.parallel_config(backend=backend, **backend_params):
                search.fit(X, y)
        seconds = time.perf_counter() - start
    return seconds, search


def _warm_up():
    """Run on each Dask worker: import what the fits need, one torch thread."""
    import torch

    import sklearn_cfc  # noqa: F401

    torch.set_num_threads(1)
    return torch.get_num_threads()


def start_dask():
    from dask.distributed import Client, LocalCluster

    start = time.perf_counter()
    cluster = LocalCluster(
        n_workers=WORKERS,
        processes=True,
        threads_per_worker=1,
        dashboard_address=None,
    )
    client = Client(cluster)
    started = time.perf_counter() - start
    start = time.perf_counter()
    threads = client.run(_warm_up)
    warm = time.perf_counter() - start
    return (cluster, client), dict(
        start_s=started, warm_up_s=warm, torch_threads=sorted(threads.values())
    )


def start_ray():
    import ray
    from ray.util.joblib import register_ray

    # Ray starts its workers at niceness 15: on a shared machine they would
    # yield to every other process, the driver and Dask's workers included
    os.environ.setdefault("RAY_worker_niceness", "0")
    start = time.perf_counter()
    ray.init(
        address="local",
        num_cpus=WORKERS,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"OMP_NUM_THREADS": "1"}},
    )
    register_ray()
    started = time.perf_counter() - start

    @ray.remote(num_cpus=1)
    def threads():
        import torch

        return torch.get_num_threads()

    probe = ray.get([threads.remote() for _ in range(WORKERS)])
    niceness = os.environ["RAY_WORKER_NICENESS"]
    return ray, dict(start_s=started, torch_threads=sorted(probe), niceness=niceness)


def _summary(search):
    return dict(
        best_params=search.best_params_,
        best_score=float(search.best_score_),
        mean_test_scores=search.cv_results_["mean_test_score"].tolist(),
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-epochs", type=int, default=20)
    parser.add_argument("--no-ray", action="store_true")
    args = parser.parse_args(argv)
    repeats, max_epochs = (1, 2) if args.quick else (args.repeats, args.max_epochs)
    torch.set_num_threads(1)

    X, y = load_uea("JapaneseVowels")
    X = make_irregular(X, drop=0.5, random_state=0)
    load_before = os.getloadavg()

    clusters = {}
    dask_cluster, clusters["dask"] = start_dask()
    print(f"Dask: cluster {clusters['dask']['start_s']:.1f} s, ", end="")
    print(f"worker warm-up {clusters['dask']['warm_up_s']:.1f} s")
    runs = {"n_jobs=1": dict(backend=None)}
    runs["dask, n_jobs=2"] = dict(backend="dask", scatter=[X, y])
    runs["dask, X in tasks"] = dict(backend="dask")
    ray = None
    if not args.no_ray:
        ray, clusters["ray"] = start_ray()
        print(f"Ray: ray.init {clusters['ray']['start_s']:.1f} s")
        runs["ray, n_jobs=2"] = dict(backend="ray")

    times = {name: [] for name in runs}
    refit = {name: [] for name in runs}
    load = {name: [] for name in runs}  # 1-minute load average before each run
    summaries = {}
    try:
        for repeat in range(repeats):
            for name, backend in runs.items():
                load[name].append(os.getloadavg()[0])
                seconds, search = timed_search(X, y, max_epochs, **backend)
                times[name].append(seconds)
                refit[name].append(float(search.refit_time_))
                summary = _summary(search)
                if name in summaries:
                    assert summary == summaries[name], f"{name} is not reproducible"
                summaries[name] = summary
                print(
                    f"  repeat {repeat + 1}: {name:<17} {seconds:6.1f} s "
                    f"(load before: {load[name][-1]:.2f})"
                )
    finally:
        client, cluster = dask_cluster[1], dask_cluster[0]
        client.close()
        cluster.close()
        if ray is not None:
            ray.shutdown()
    load_after = os.getloadavg()

    reference = summaries["n_jobs=1"]
    agree = all(summary == reference for summary in summaries.values())
    base = statistics.median(times["n_jobs=1"])
    base_fan_out = statistics.median(
        t - r for t, r in zip(times["n_jobs=1"], refit["n_jobs=1"], strict=False)
    )
    results = {}
    n_fits = len(reference["mean_test_scores"]) * 3
    print(f"\n{n_fits} fits + refit, {max_epochs} epochs")
    for name in runs:
        median = statistics.median(times[name])
        fan_out = statistics.median(
            t - r for t, r in zip(times[name], refit[name], strict=False)
        )
        results[name] = dict(
            seconds=times[name],
            refit_seconds=refit[name],
            load_average_before=load[name],
            median_s=median,
            median_without_refit_s=fan_out,
            speed_up=base / median,
            speed_up_without_refit=base_fan_out / fan_out,
        )
        print(
            f"  {name:<17} {median:6.1f} s   speed-up {base / median:4.2f}x "
            f"({base_fan_out / fan_out:4.2f}x without the serial refit)"
        )
    print(f"  best params and mean CV scores agree across backends: {agree}")
    if not agree:
        raise SystemExit(f"backends disagree: {summaries}")

    if not args.quick:
        RESULTS.mkdir(exist_ok=True)
        versions = {
            name: version(name)
            for name in ("torch", "scikit-learn", "skorch", "joblib", "dask")
        }
        versions["distributed"] = version("distributed")
        if ray is not None:
            versions["ray"] = version("ray")
        out = dict(
            benchmark="distributed_search",
            machine=machine_info(
                load_average_before=load_before, load_average_after=load_after
            ),
            versions=versions,
            torch_threads=dict(
                main=torch.get_num_threads(),
                how="torch.set_num_threads(1) here; workers start with "
                "OMP_NUM_THREADS=1 (Dask nanny pre-spawn-environ, Ray "
                "runtime_env); checked on the workers",
                **{name: c["torch_threads"] for name, c in clusters.items()},
            ),
            data="JapaneseVowels (train+test, 640 series, 12 channels), "
            "make_irregular(drop=0.5, random_state=0)",
            grid=GRID,
            cv=3,
            fits=n_fits,
            max_epochs=max_epochs,
            workers=WORKERS,
            threads_per_worker=1,
            repeats=repeats,
            clusters=clusters,
            results=results,
            best=reference,
            backends_agree=agree,
        )
        (RESULTS / "distributed_search.json").write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
