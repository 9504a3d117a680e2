"""Hyperparameter search fanned out by joblib onto Dask and Ray workers.

Each search is run twice: on the cluster (``n_jobs=2`` under
``joblib.parallel_config(backend=...)``) and in this process (``n_jobs=1``).
Every fit is seeded by ``random_state`` and trains on the CPU with one torch
thread in every process (the suite's ``conftest.py`` sets it here; Dask's
nanny and Ray start their workers with ``OMP_NUM_THREADS=1``; the probes
below check it), so the scores must be *identical*, not merely close.

Where a fit ran is recorded by probe scorers: besides the estimator's own
score, each split reports the process id, torch's thread count, whether CUDA
was initialised and (for Ray) whether it ran inside a Ray actor. The probes
are defined inside a function so that cloudpickle ships them by value: the
workers cannot import this test module.

Neither dask nor ray is imported when the module is collected; each part
skips on its own if its library is missing.
"""

import os
import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import loguniform
from sklearn.base import is_classifier
from sklearn.metrics import check_scoring
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV

from sklearn_cfc import CfCClassifier, CfCRegressor

# small enough for a fit to take a fraction of a second; CPU on purpose, so a
# GPU machine neither shares one card between workers nor loses determinism
FAST = dict(
    backbone_units=8,
    max_epochs=8,
    mixed_memory=False,
    device="cpu",
    random_state=0,
)


# -------------------------------------------------------------------- data
def _series(n=40, T=10, C=2, seed=0):
    """3D numpy series whose class is the sign of channel 0's mean; ragged."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, C, T))
    for i, n_obs in enumerate(rng.integers(T // 2, T + 1, size=n)):
        X[i, :, n_obs:] = np.nan
    y = np.where(np.nanmean(X[:, 0], axis=1) > 0, "pos", "neg")
    return X, y


def _timing_frames(n=40, seed=0):
    """Per-instance frames whose target depends only on the index timestamps.

    Values are constant; even instances are observed every ~0.1 time units,
    odd ones every ~1.0. Returns the frames, the class ('fast'/'slow') and the
    total duration (a regression target).
    """
    rng = np.random.default_rng(seed)
    frames, labels = [], []
    for i in range(n):
        fast = i % 2 == 0
        gaps = rng.uniform(0.05, 0.15, 8) if fast else rng.uniform(0.8, 1.2, 8)
        frames.append(pd.DataFrame({"v": np.ones(8)}, index=np.cumsum(gaps)))
        labels.append("fast" if fast else "slow")
    duration = np.array([frame.index[-1] for frame in frames])
    return frames, np.array(labels), duration


def _case(name):
    """(search, X, y) of a named test case; every search is CPU-sized."""
    if name == "grid-classifier-numpy3D":
        X, y = _series()
        search = GridSearchCV(
            CfCClassifier(**FAST),
            {"units": [4, 8], "learning_rate": [0.01, 0.05]},
            cv=2,
        )
    elif name == "random-regressor-frames":
        X, _, y = _timing_frames()
        search = RandomizedSearchCV(
            CfCRegressor(**FAST),
            {"units": [4, 8], "learning_rate": loguniform(0.005, 0.05)},
            n_iter=3,
            cv=2,
            random_state=0,
        )
    elif name == "grid-classifier-frames":
        X, y, _ = _timing_frames()
        search = GridSearchCV(
            CfCClassifier(**FAST),
            {"units": [4, 8], "learning_rate": [0.01, 0.05]},
            cv=2,
        )
    return search, X, y


# ------------------------------------------------------------------ probes
def _probe_scoring(estimator, ray=False):
    """The estimator's score plus per-split probes of the fitting process."""

    def pid(est, X, y):
        return float(os.getpid())

    def cuda_initialized(est, X, y):
        import torch

        return float(torch.cuda.is_initialized())

    def torch_threads(est, X, y):
        import torch

        return float(torch.get_num_threads())

    def in_ray_actor(est, X, y):
        import ray

        if not ray.is_initialized():
            return 0.0
        return float(ray.get_runtime_context().get_actor_id() is not None)

    scoring = {
        "score": check_scoring(estimator),
        "pid": pid,
        "cuda": cuda_initialized,
        "threads": torch_threads,
    }
    if ray:
        scoring["ray_actor"] = in_ray_actor
    return scoring


def _split_values(search, name):
    n_splits = search.n_splits_
    return np.array(
        [search.cv_results_[f"split{k}_test_{name}"] for k in range(n_splits)]
    )


def _run(case, n_jobs, backend=None, ray=False, scatter=False):
    """Fit the case's search with probe scorers, on a joblib backend or here.

    ``scatter`` sends ``X`` and ``y`` to every Dask worker once, before the
    tasks: joblib's Dask backend scatters large numpy arrays by itself, but
    not lists, which would otherwise travel inside every task.
    """
    search, X, y = _case(case)
    search.set_params(
        scoring=_probe_scoring(search.estimator, ray=ray), refit="score", n_jobs=n_jobs
    )
    if backend is None:
        search.fit(X, y)
    else:
        params = dict(scatter=[X, y]) if scatter else {}
        with joblib.parallel_config(backend=backend, **params):
            search.fit(X, y)
    return search, X, y


@pytest.fixture(scope="module")
def local_searches():
    """The reference searches, run with n_jobs=1 in this process (cached)."""
    cache = {}

    def get(case):
        if case not in cache:
            cache[case] = _run(case, n_jobs=1)
        return cache[case]

    return get


def _assert_same_search(distributed, local):
    """Scores, ranks and best parameters equal to the in-process search's."""
    dist_results, local_results = distributed.cv_results_, local.cv_results_
    assert dist_results["params"] == local_results["params"]
    # bitwise: same seeds, CPU, one torch thread in every process
    np.testing.assert_array_equal(
        _split_values(distributed, "score"), _split_values(local, "score")
    )
    np.testing.assert_array_equal(
        dist_results["mean_test_score"], local_results["mean_test_score"]
    )
    np.testing.assert_array_equal(
        dist_results["rank_test_score"], local_results["rank_test_score"]
    )
    assert distributed.best_params_ == local.best_params_


def _assert_round_trips(best, X, tmp_path):
    """best_estimator_ predicts identically after pickle and joblib round trips."""
    method = best.predict_proba if is_classifier(best) else best.predict
    expected = method(X)
    restored = pickle.loads(pickle.dumps(best))
    joblib.dump(best, tmp_path / "best.joblib")
    loaded = joblib.load(tmp_path / "best.joblib")
    for other in (restored, loaded):
        other_method = other.predict_proba if is_classifier(other) else other.predict
        np.testing.assert_array_equal(other_method(X), expected)
    return expected


# -------------------------------------------------------------------- dask
@pytest.fixture(scope="module")
def dask_client():
    """A two-worker local Dask cluster: processes, one thread each."""
    pytest.importorskip("distributed")
    from dask.distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2,
            processes=True,
            threads_per_worker=1,
            dashboard_address=None,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def test_dask_workers_train_with_one_torch_thread(dask_client):
    # the precondition of bitwise-equal scores (Dask's nanny sets OMP_NUM_THREADS)
    threads = dask_client.run(torch.get_num_threads)
    assert len(threads) == 2
    assert set(threads.values()) == {1}


@pytest.mark.parametrize(
    "case, scatter",
    [("grid-classifier-numpy3D", False), ("random-regressor-frames", True)],
)
def test_search_on_dask_matches_the_local_search(
    case, scatter, dask_client, local_searches, tmp_path
):
    from dask.distributed import get_task_stream

    local, _, _ = local_searches(case)
    with get_task_stream(dask_client) as stream:
        search, X, _ = _run(case, n_jobs=2, backend="dask", scatter=scatter)
    _assert_same_search(search, local)

    assert (_split_values(search, "threads") == 1).all()
    # every fit and score ran in a Dask worker process, none here
    worker_pids = set(dask_client.run(os.getpid).values())
    fit_pids = set(_split_values(search, "pid").ravel().astype(int))
    assert os.getpid() not in fit_pids
    assert fit_pids <= worker_pids
    # and the scheduler handed joblib's batches to this cluster's workers
    fit_tasks = [task for task in stream.data if "_fit_and_score" in task["key"]]
    assert fit_tasks
    assert {task["worker"] for task in fit_tasks} <= set(
        dask_client.scheduler_info()["workers"]
    )

    # no CUDA state in the workers, during the fits or after them
    assert not _split_values(search, "cuda").any()
    assert not any(dask_client.run(torch.cuda.is_initialized).values())
    assert not torch.cuda.is_initialized()

    # the refitted best model survives pickling, here and in a worker
    best = search.best_estimator_
    expected = _assert_round_trips(best, X, tmp_path)

    def predict_there(est, X):
        return est.predict_proba(X) if hasattr(est, "classes_") else est.predict(X)

    remote = dask_client.submit(predict_there, best, X, pure=False).result()
    np.testing.assert_array_equal(remote, expected)


# --------------------------------------------------------------------- ray
@pytest.fixture(scope="module")
def ray_backend():
    """A local two-CPU Ray instance registered as joblib's 'ray' backend."""
    ray = pytest.importorskip("ray")
    from joblib.pool import PicklingPool
    from ray.util.joblib import register_ray

    # RayBackend.configure rebases joblib's PicklingPool onto Ray's Pool for
    # good; put it back afterwards so the rest of the suite is unaffected
    bases = PicklingPool.__bases__
    started = not ray.is_initialized()
    if started:
        with pytest.MonkeyPatch.context() as patch:
            # Ray's workers run at niceness 15 by default: on a busy CI
            # machine they would wait for every other process
            patch.setenv(
                "RAY_worker_niceness",  # Ray's own spelling
                os.environ.get("RAY_worker_niceness", "0"),  # noqa: SIM112
            )
            ray.init(
                address="local",  # a new instance, even if RAY_ADDRESS is set
                num_cpus=2,
                include_dashboard=False,
                log_to_driver=False,
                configure_logging=False,
            )
    register_ray()
    yield ray
    if started:
        ray.shutdown()
    PicklingPool.__bases__ = bases


def test_search_on_ray_matches_the_local_search(ray_backend, local_searches, tmp_path):
    case = "grid-classifier-frames"
    local, _, _ = local_searches(case)
    search, X, _y = _run(case, n_jobs=2, backend="ray", ray=True)
    _assert_same_search(search, local)
    assert search.best_score_ > 0.8  # only the timestamps tell the classes apart

    assert (_split_values(search, "threads") == 1).all()
    # every fit ran inside a Ray actor (not here, not in a loky fallback)
    assert _split_values(search, "ray_actor").all()
    fit_pids = set(_split_values(search, "pid").ravel().astype(int))
    assert os.getpid() not in fit_pids
    assert 1 <= len(fit_pids) <= 2
    assert not _split_values(search, "cuda").any()
    assert not torch.cuda.is_initialized()

    _assert_round_trips(search.best_estimator_, X, tmp_path)
