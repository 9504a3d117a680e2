"""Accuracy benchmark: the CfC estimators' defaults against the baselines.

The estimators with their defaults on real data, next to the baselines a
practitioner would try first, in the same run (issue 12).

What it measures
----------------
Every CfC model is a public estimator with its default hyperparameters
(``CfCClassifier(random_state=seed)``, ``CfCRegressor(random_state=seed)``),
fitted once for each seed of ``--seeds`` (default 0, 1, 2). A record gives
each seed's score, the worst seed, the mean and the spread (best minus
worst), and for each seed the fit time in CPU seconds (``time.process_time``
around ``fit``) and in wall seconds. The process computes on one thread
(``torch.set_num_threads(1)``, and one BLAS, OpenMP and numba thread for the
baselines), so that CPU seconds are comparable between machines.

Classification: test accuracy on the official train/test split of sets
shipped with sktime (no download), loaded with
``sklearn_cfc.datasets.load_uea``:

``japanese_vowels``      JapaneseVowels: 9 speakers, 12 channels, 7 to 29
                         steps (unequal lengths).
``basic_motions``        BasicMotions: 4 activities, 6 channels, 100 steps.
``italy_power_demand``   ItalyPowerDemand: 2 classes, 1 channel, 24 steps.
``osu_leaf``             OSULeaf: 6 classes, 1 channel, 427 steps.
``acsf1``                ACSF1: 10 classes, 1 channel, 1460 steps.
``plaid``                PLAID: 11 classes, 1 channel, 100 to 1344 steps
                         (unequal lengths).
``<set>_irregular``      The same set with half of the time points of every
                         series dropped at random
                         (``sklearn_cfc.datasets.make_irregular``,
                         ``drop=0.5``; ``random_state`` 0 for the training
                         set and 1 for the test set, whatever the model seed,
                         so that every seed sees the same data). The kept
                         points keep their step index as a float timestamp.

The classification baselines run once per set (they are deterministic with
``random_state=0``), on the same split:

``minirocket``  MiniRocket features (sktime's ``MiniRocket`` on univariate
                sets, ``MiniRocketMultivariate`` on multivariate ones,
                ``MiniRocketMultivariateVariable`` on unequal lengths, with
                series shorter than its 9 steps padded with 0), then
                ``StandardScaler(with_mean=False)`` and
                ``RidgeClassifierCV(alphas=logspace(-3, 3, 10))``: the
                recipe of sktime's ``RocketClassifier``.
``dtw``         1-NN DTW: sktime's ``KNeighborsTimeSeriesClassifier(
                n_neighbors=1, distance="dtw")`` on the raw series, with a
                Sakoe-Chiba window of 10 % of the length
                (``distance_params={"window": 0.1}``) on every set: full
                windows are far too slow on the long sets (ACSF1 1460
                points, PLAID up to 1344). Measured on one core, ACSF1
                takes 41 CPU-s with the window and 105 without; each PLAID
                version about 15 CPU-minutes with it (sktime scans the whole
                cost matrix either way).
                Unequal-length series are stretched by linear interpolation
                onto the longest training length (the UCR archive's
                equal-length convention).
``ridge``       ``RidgeClassifierCV`` (alphas ``logspace(-3, 3, 13)``) on the
                flattened series, after standardisation; series shorter
                than the longest training series are padded (mean-imputed),
                longer ones are cut.

On the irregular versions the baselines see every series linearly
interpolated onto its full integer step grid ``0 .. T - 1`` (``T`` its
length before the drop), each channel over its observed steps, with constant
extrapolation at the ends. The CfC estimators see only the kept points.

Regression: test RMSE on the official split.

``tecator``      sktime's Tecator (meat spectra, 100 points, fat content).
``covid3month``  sktime's Covid3Month (84 days of case counts, death rate).

Baselines: ``ridge``, ``RidgeCV`` (alphas ``logspace(-3, 3, 13)``) on the
flattened, standardised series; ``hgb``,
``HistGradientBoostingRegressor(random_state=0)`` on per-channel summaries
(mean, std, min, max, first, last and the mean of the first differences);
``mean``, the training mean.

``physionet2012``: PhysioNet/CinC 2012 set B (4,000 ICU stays, 41
irregularly sampled variables, in-hospital death), ROC AUC by 5-fold
stratified CV (shuffled, ``random_state=0``). Each seed of ``--seeds`` is a
full 5-fold run of the default estimator, ``CfCClassifier(random_state=
seed)``; its score is the mean AUC over the folds, and its fit CPU seconds
are given per fold. The baseline, run once per fold, is
``HistGradientBoostingClassifier`` (defaults, ``random_state=0``) on
per-variable summaries over the 48 hours (first, last, min, max, mean and
number of observations of each variable; missing where a variable was never
measured), computed by ``sklearn_cfc.panel.PanelSummarizer`` from the
float32 values the network sees. (Records before issue 17 computed them with
pandas in float64; the trees react to that rounding in the eighth digit:
fold AUCs moved by up to 0.009, the mean from 0.8392 to 0.8361.) The
static descriptors (age, gender, height, ICU type, weight) are observations
at time 0. PhysioNet is the expensive part of the benchmark (a
default fit takes many CPU minutes per fold): run it on its own, e.g.
``--datasets physionet2012 --seeds 0``. ``--physionet-previous`` reruns the
previous record instead (before issue 12): ``PHYSIONET_PARAMS`` below and a
soft vote of 5 networks (``--physionet-seeds``) trained ``--jobs`` at a
time; the CPU seconds then miss the worker processes.

Targets and table
-----------------
Each record is judged on its worst seed by the targets of issue 12
(``target`` in the record, one check per rule): on every classification set
at or above 1-NN DTW and the ridge baseline, with a seed spread of at most
0.05; JapaneseVowels (regular and irregular) at least 0.97; BasicMotions 1.00
on every seed; on regression an RMSE below every baseline; on PhysioNet a
mean AUC at or above the trees with at most 120 fit CPU seconds in every
fold, and no hand-built ensemble. Every target also asks for the defaults, so
a run with ``--cfc-params`` (or ``--quick``) never meets them. Below the
table the script prints the aim: the mean accuracy gap to MiniRocket over
the classification sets, and each irregular version against MiniRocket on
the interpolated series.

The table has one row per dataset: CfC worst / mean / spread, each baseline
side by side, CfC fit CPU seconds (mean over seeds; per fold on PhysioNet)
and the target. It is made from every record in the JSON file, so runs of
separate datasets add up to one table (``--table`` prints it without running
anything); records written by an older version of this script are listed
below it, to rerun.

Where the data come from
------------------------
The UEA/UCR sets ship with sktime. PhysioNet 2012 set B is read from
``$SKLEARN_CFC_DATA/physionet2012`` (or ``$SKLEARN_CFC_DATA`` itself), else
from ``../shared/data/physionet2012`` next to the repository, else from
``--physionet-path``: a folder holding ``set-b.tar.gz`` and
``Outcomes-b.txt`` (as fetched by
``sklearn_cfc.datasets.fetch_physionet2012(subset="b")``). Without it, the
PhysioNet part is skipped with a message. sktime's DTW and MiniRocket need
``numba``.

Running
-------
From the repository root::

    python benchmarks/accuracy.py                       # everything: many hours
    python benchmarks/accuracy.py --datasets osu_leaf,acsf1 --seeds 0
    python benchmarks/accuracy.py --datasets physionet2012
    python benchmarks/accuracy.py --quick               # smoke run, minutes
    python benchmarks/accuracy.py --table               # print the table

A run writes ``benchmarks/results/accuracy.json``, replacing only the
entries of the datasets it ran; a ``--quick`` run (one seed, 3 epochs,
JapaneseVowels irregular and Covid3Month unless ``--datasets`` says
otherwise, 400 PhysioNet stays and 2 folds) writes ``accuracy_quick.json``
instead so that it never overwrites real results. ``--help`` lists all
options.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from _machine import machine_info
from sklearn.dummy import DummyRegressor
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    VotingClassifier,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import RidgeClassifierCV, RidgeCV
from sklearn.metrics import accuracy_score, mean_squared_error, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from sklearn_cfc import CfCClassifier, CfCRegressor
from sklearn_cfc.datasets import load_physionet2012, load_uea, make_irregular
from sklearn_cfc.panel import PanelSummarizer

REPO = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO / "benchmarks" / "results"

# key: (sktime name, fraction of time points dropped)
CLASSIFICATION = {
    "japanese_vowels": ("JapaneseVowels", 0.0),
    "japanese_vowels_irregular": ("JapaneseVowels", 0.5),
    "basic_motions": ("BasicMotions", 0.0),
    "basic_motions_irregular": ("BasicMotions", 0.5),
    "italy_power_demand": ("ItalyPowerDemand", 0.0),
    "italy_power_demand_irregular": ("ItalyPowerDemand", 0.5),
    "osu_leaf": ("OSULeaf", 0.0),
    "osu_leaf_irregular": ("OSULeaf", 0.5),
    "acsf1": ("ACSF1", 0.0),
    "acsf1_irregular": ("ACSF1", 0.5),
    "plaid": ("PLAID", 0.0),
    "plaid_irregular": ("PLAID", 0.5),
}
REGRESSION = {"tecator": "Tecator", "covid3month": "Covid3Month"}
DATASETS = (*CLASSIFICATION, *REGRESSION, "physionet2012")
QUICK_DATASETS = ("japanese_vowels_irregular", "covid3month")

# make_irregular seeds of the training and test sets: fixed, not the model
# seed, so that every model seed sees the same data.
DROP_SEEDS = (0, 1)

# Targets of issue 12 beyond "at or above the baselines": the worst seed's
# score must reach these.
MIN_SCORE = {
    "japanese_vowels": 0.97,
    "japanese_vowels_irregular": 0.97,
    "basic_motions": 1.0,
}
MAX_SPREAD = 0.05  # classification: best seed minus worst seed
MAX_PHYSIONET_CPU_S = 120.0  # fit CPU seconds in every fold
AIM_MINIROCKET_GAP = 0.03  # mean over the classification sets

# The previous PhysioNet record (--physionet-previous), before issue 12 asked
# for the default estimator: these settings and a soft vote of 5 seeds.
# - early_stopping: 3,200 noisy, imbalanced training stays overfit within a
#   few epochs; the estimator holds out 10 % of each training fold
#   (stratified), stops after n_iter_no_change epochs without a better
#   validation loss and restores the best weights. The test fold is never
#   looked at.
# - backbone_dropout=0.3, learning_rate=1e-3, n_iter_no_change=15: more
#   regularisation, smaller steps, more patience for a noisy validation
#   loss. Chosen on fold 0 alone among five variants (fold-0 AUC: early
#   stopping only 0.822, + dropout 0.828, + lr 1e-3 0.827, these three
#   0.838, dropout + validation_fraction=0.2 0.818); the other folds were
#   not looked at before the 5-fold run.
# - a soft vote of 5 seeds: on 3,200 stays one network's test AUC swings by
#   up to 0.03 with its seed alone; averaging the probabilities of several
#   removes that part of the error. 5 is a round number fixed before the
#   5-fold run, not tuned.
PHYSIONET_PARAMS = {
    "early_stopping": True,
    "backbone_dropout": 0.3,
    "learning_rate": 1e-3,
    "n_iter_no_change": 15,
}
PHYSIONET_PREVIOUS_SEEDS = 5

RIDGE_ALPHAS = np.logspace(-3, 3, 13)
MINIROCKET_ALPHAS = np.logspace(-3, 3, 10)
DTW_WINDOW = 0.1
PHYSIONET_STATS = ("first", "last", "min", "max", "mean", "count")

BASELINE_NAMES = {
    "minirocket": "MiniRocket + RidgeClassifierCV",
    "dtw": f"1-NN DTW (Sakoe-Chiba window {DTW_WINDOW:g})",
    "ridge": "ridge on the flattened series",
    "hgb": "HistGradientBoosting on per-series summaries",
    "mean": "training mean",
}


# --------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------
def _on_grid(frame, length):
    """One series (frame indexed by step) as a (channels, length) array.

    Each channel is linearly interpolated over its observed steps onto the
    steps ``0 .. length - 1``, constant beyond the first and last
    observation; a channel never observed is 0.
    """
    steps = frame.index.to_numpy(dtype=np.float64)
    values = frame.to_numpy(dtype=np.float64, na_value=np.nan)
    grid = np.arange(length, dtype=np.float64)
    out = np.zeros((values.shape[1], length))
    for c in range(values.shape[1]):
        seen = ~np.isnan(values[:, c])
        if seen.any():
            out[c] = np.interp(grid, steps[seen], values[seen, c])
    return out


def load_classification(key):
    """The CfC input and the baselines' series of one classification set.

    Returns a dict with ``X_train``/``X_test`` (lists of per-instance frames,
    the kept points only on the irregular versions), ``S_train``/``S_test``
    (lists of (channels, length) arrays on the full step grid, interpolated
    on the irregular versions), ``y_train``/``y_test`` and the source text.
    """
    name, drop = CLASSIFICATION[key]
    X_train, y_train = load_uea(name, split="train")
    X_test, y_test = load_uea(name, split="test")
    lengths = [len(f) for f in X_train], [len(f) for f in X_test]
    source = f"sktime {name} (UEA/UCR), official train/test split"
    if drop:
        X_train, X_test = (
            [
                f.set_axis(f.index.astype(np.float64))
                for f in make_irregular(X, drop=drop, random_state=seed)
            ]
            for X, seed in zip((X_train, X_test), DROP_SEEDS, strict=False)
        )
        source += (
            f"; make_irregular(drop={drop}), random_state {DROP_SEEDS[0]} (train)"
            f" and {DROP_SEEDS[1]} (test); baselines on linear interpolation"
        )
    S_train = [_on_grid(f, n) for f, n in zip(X_train, lengths[0], strict=False)]
    S_test = [_on_grid(f, n) for f, n in zip(X_test, lengths[1], strict=False)]
    return {
        "X_train": X_train,
        "X_test": X_test,
        "S_train": S_train,
        "S_test": S_test,
        "y_train": np.asarray(y_train),
        "y_test": np.asarray(y_test),
        "source": source,
    }


def load_regression(key):
    """Tecator or Covid3Month from sktime, as numpy3D arrays and targets."""
    from sktime.datasets import load_covid_3month, load_tecator
    from sktime.datatypes import convert_to

    loader = {"tecator": load_tecator, "covid3month": load_covid_3month}[key]
    out = []
    for split in ("train", "test"):
        X, y = loader(split=split, return_X_y=True)
        X = convert_to(X, to_type="numpy3D")
        out += [np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)]
    return tuple(out)


def _stretch(series, length):
    """Series of any lengths as (n, channels, length), by linear interpolation."""
    out = np.empty((len(series), series[0].shape[0], length))
    for i, s in enumerate(series):
        source = np.arange(s.shape[1], dtype=np.float64)
        target = np.linspace(0.0, s.shape[1] - 1.0, length)
        for c in range(s.shape[0]):
            out[i, c] = np.interp(target, source, s[c])
    return out


def _flatten(series, length):
    """Series as (n, channels * length): NaN-padded or cut, channels first."""
    if isinstance(series, np.ndarray):
        series = list(series)
    out = np.full((len(series), series[0].shape[0], length), np.nan)
    for i, s in enumerate(series):
        n = min(length, s.shape[1])
        out[i, :, :n] = s[:, :n]
    return out.reshape(len(series), -1)


def series_summaries(X):
    """Per-channel mean, std, min, max, first, last, mean first difference."""
    X = np.asarray(X, dtype=np.float64)
    diff = np.diff(X, axis=2)
    stats = [
        X.mean(axis=2),
        X.std(axis=2),
        X.min(axis=2),
        X.max(axis=2),
        X[:, :, 0],
        X[:, :, -1],
        diff.mean(axis=2),
    ]
    return np.concatenate(stats, axis=1)


def find_physionet(explicit=None):
    """The PhysioNet 2012 folder holding set-b, or None."""
    candidates = []
    if explicit:
        candidates.append(Path(explicit))
    env = os.environ.get("SKLEARN_CFC_DATA")
    if env:
        candidates += [Path(env) / "physionet2012", Path(env)]
    candidates.append(REPO.parent / "shared" / "data" / "physionet2012")
    for path in candidates:
        has_set = (path / "set-b.tar.gz").exists() or (path / "set-b").is_dir()
        if has_set and (path / "Outcomes-b.txt").exists():
            return path
    return None


def physionet_features(X):
    """Per-variable first, last, min, max, mean and count over each stay."""
    summarizer = PanelSummarizer(statistics=PHYSIONET_STATS)
    features = summarizer.fit_transform(X)
    return features, list(summarizer.get_feature_names_out())


# --------------------------------------------------------------------------
# models
# --------------------------------------------------------------------------
def _ridge(estimator):
    return make_pipeline(
        SimpleImputer(strategy="mean", keep_empty_features=True),
        StandardScaler(),
        estimator,
    )


def _minirocket(n_channels, equal_length):
    try:
        from sktime.transformations.rocket import (
            MiniRocket,
            MiniRocketMultivariate,
            MiniRocketMultivariateVariable,
        )
    except ImportError:  # sktime before the move out of transformations.panel
        from sktime.transformations.panel.rocket import (
            MiniRocket,
            MiniRocketMultivariate,
            MiniRocketMultivariateVariable,
        )

    if not equal_length:
        transform = MiniRocketMultivariateVariable(
            pad_value_short_series=0.0, random_state=0
        )
    elif n_channels == 1:
        transform = MiniRocket(random_state=0)
    else:
        transform = MiniRocketMultivariate(random_state=0)
    return MiniRocketClassifier(transform)


class MiniRocketClassifier:
    """MiniRocket features -> StandardScaler(with_mean=False) -> ridge.

    Chained by hand: scikit-learn's Pipeline and sktime transformers
    disagree on fit callbacks in recent scikit-learn versions.
    """

    def __init__(self, transform):
        self.transform = transform
        self.scaler = StandardScaler(with_mean=False)
        self.ridge = RidgeClassifierCV(alphas=MINIROCKET_ALPHAS)

    def fit(self, X, y):
        features = self.transform.fit_transform(X)
        self.ridge.fit(self.scaler.fit_transform(np.asarray(features)), y)
        return self

    def predict(self, X):
        features = np.asarray(self.transform.transform(X))
        return self.ridge.predict(self.scaler.transform(features))


def _dtw():
    from sktime.classification.distance_based import KNeighborsTimeSeriesClassifier

    return KNeighborsTimeSeriesClassifier(
        n_neighbors=1, distance="dtw", distance_params={"window": DTW_WINDOW}
    )


def _frames(series):
    """(channels, length) arrays as sktime's df-list: frames (time, channel)."""
    return [pd.DataFrame(s.T) for s in series]


def _timed(fn, *args):
    """fn(*args) -> (result, wall seconds, CPU seconds, warnings)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn(*args)
        cpu = time.process_time() - cpu
        wall = time.perf_counter() - wall
    notes = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
    return result, wall, cpu, notes


def _baseline_record(key, model, X_train, y_train, X_test, y_test, score, **info):
    _, fit_wall, fit_cpu, _ = _timed(model.fit, X_train, y_train)
    pred, pred_wall, pred_cpu, _ = _timed(model.predict, X_test)
    return {
        "name": BASELINE_NAMES[key],
        "score": round(float(score(y_test, pred)), 6),
        "fit_s": round(fit_wall, 2),
        "fit_cpu_s": round(fit_cpu, 2),
        "predict_s": round(pred_wall, 2),
        "predict_cpu_s": round(pred_cpu, 2),
        **info,
    }


def classification_baselines(S_train, y_train, S_test, y_test, skip=()):
    """MiniRocket, 1-NN DTW and ridge on (channels, length) series.

    Baselines named in ``skip`` are not run (and not in the record).
    """
    n_channels = S_train[0].shape[0]
    lengths = {s.shape[1] for s in S_train + S_test}
    equal = len(lengths) == 1
    longest = max(s.shape[1] for s in S_train)
    out = {}
    if equal:
        X_train, X_test = np.stack(S_train), np.stack(S_test)
    else:
        X_train, X_test = _frames(S_train), _frames(S_test)
    model = _minirocket(n_channels, equal)
    out["minirocket"] = _baseline_record(
        "minirocket",
        model,
        X_train,
        y_train,
        X_test,
        y_test,
        accuracy_score,
        transform=type(model.transform).__name__,
    )
    if not equal:
        X_train, X_test = _stretch(S_train, longest), _stretch(S_test, longest)
    if "dtw" not in skip:
        out["dtw"] = _baseline_record(
            "dtw",
            _dtw(),
            X_train,
            y_train,
            X_test,
            y_test,
            accuracy_score,
            stretched_to=None if equal else longest,
        )
    out["ridge"] = _baseline_record(
        "ridge",
        _ridge(RidgeClassifierCV(alphas=RIDGE_ALPHAS)),
        _flatten(S_train, longest),
        y_train,
        _flatten(S_test, longest),
        y_test,
        accuracy_score,
    )
    return out


def _rmse(y_true, y_pred):
    return float(np.sqrt(mean_squared_error(y_true, y_pred)))


def regression_baselines(X_train, y_train, X_test, y_test):
    """Ridge on the flattened series, trees on summaries, the training mean."""
    T = X_train.shape[2]
    return {
        "ridge": _baseline_record(
            "ridge",
            _ridge(RidgeCV(alphas=RIDGE_ALPHAS)),
            _flatten(X_train, T),
            y_train,
            _flatten(X_test, T),
            y_test,
            _rmse,
        ),
        "hgb": _baseline_record(
            "hgb",
            HistGradientBoostingRegressor(random_state=0),
            series_summaries(X_train),
            y_train,
            series_summaries(X_test),
            y_test,
            _rmse,
        ),
        "mean": _baseline_record(
            "mean",
            DummyRegressor(strategy="mean"),
            X_train.reshape(len(X_train), -1),
            y_train,
            X_test.reshape(len(X_test), -1),
            y_test,
            _rmse,
        ),
    }


def warm_up():
    """Compile the baselines' numba code on tiny data, so no fit time holds it."""
    rng = np.random.RandomState(0)
    y = np.array(["a", "b"] * 3)
    for n_channels, lengths in ((1, [12] * 6), (2, [12] * 6), (1, [10, 12] * 3)):
        series = [rng.randn(n_channels, n) for n in lengths]
        classification_baselines(series, y, series, y)


def cfc_seeds(estimator, X_train, y_train, X_test, y_test, score, args):
    """Fit ``estimator(random_state=seed)`` for every seed; per-seed record."""
    rows = []
    for seed in args.seeds:
        model = estimator(**{**args.cfc_params, "random_state": seed})
        _, wall, cpu, notes = _timed(model.fit, X_train, y_train)
        value = float(score(y_test, model.predict(X_test)))
        epochs = getattr(model, "n_iter_", None)
        rows.append(
            {
                "seed": seed,
                "score": value,
                "fit_cpu_s": cpu,
                "fit_s": wall,
                "epochs": None if epochs is None else int(epochs),
                "device": str(getattr(model, "device_", "")),
                "warnings": notes,
            }
        )
        print(
            f"  CfC seed {seed}: {value:.4f}  (fit {cpu:.1f} CPU-s, {wall:.1f} s"
            + (f", {epochs} epochs)" if epochs is not None else ")"),
            flush=True,
        )
    return rows


def _seed_summary(rows, higher_is_better, params):
    scores = np.array([r["score"] for r in rows])
    worst = scores.min() if higher_is_better else scores.max()
    return {
        "estimator_params": params,
        "seeds": [r["seed"] for r in rows],
        "scores": [round(float(s), 6) for s in scores],
        "worst": round(float(worst), 6),
        "mean": round(float(scores.mean()), 6),
        "spread": round(float(scores.max() - scores.min()), 6),
        "fit_cpu_s": [round(r["fit_cpu_s"], 2) for r in rows],
        "fit_s": [round(r["fit_s"], 2) for r in rows],
        "fit_cpu_s_mean": round(float(np.mean([r["fit_cpu_s"] for r in rows])), 2),
        "epochs": [r["epochs"] for r in rows],
        "device": sorted({r["device"] for r in rows}),
        "warnings": sorted({w for r in rows for w in r["warnings"]}),
    }


def _print_baselines(baselines):
    for key, b in baselines.items():
        print(
            f"  {key}: {b['score']:.4f}  (fit {b['fit_cpu_s']:.1f} CPU-s, "
            f"predict {b['predict_cpu_s']:.1f} CPU-s)",
            flush=True,
        )


def run_classification(key, args):
    data = load_classification(key)
    lengths = [s.shape[1] for s in data["S_train"] + data["S_test"]]
    baselines = classification_baselines(
        data["S_train"],
        data["y_train"],
        data["S_test"],
        data["y_test"],
        skip=args.skip_baselines,
    )
    _print_baselines(baselines)
    rows = cfc_seeds(
        CfCClassifier,
        data["X_train"],
        data["y_train"],
        data["X_test"],
        data["y_test"],
        accuracy_score,
        args,
    )
    return {
        "dataset": key,
        "source": data["source"],
        "task": "classification",
        "metric": "accuracy",
        "higher_is_better": True,
        "irregular": CLASSIFICATION[key][1] > 0,
        "n_train": len(data["y_train"]),
        "n_test": len(data["y_test"]),
        "n_classes": len(np.unique(data["y_train"])),
        "n_channels": int(data["S_train"][0].shape[0]),
        "length": {"min": int(min(lengths)), "max": int(max(lengths))},
        "cfc": _seed_summary(rows, True, args.cfc_params),
        "baselines": baselines,
    }


def run_regression(key, args):
    X_train, y_train, X_test, y_test = load_regression(key)
    baselines = regression_baselines(X_train, y_train, X_test, y_test)
    _print_baselines(baselines)
    rows = cfc_seeds(CfCRegressor, X_train, y_train, X_test, y_test, _rmse, args)
    return {
        "dataset": key,
        "source": f"sktime {REGRESSION[key]} (UCR/TSER regression), "
        "official train/test split",
        "task": "regression",
        "metric": "rmse",
        "higher_is_better": False,
        "n_train": len(y_train),
        "n_test": len(y_test),
        "n_channels": int(X_train.shape[1]),
        "length": {"min": int(X_train.shape[2]), "max": int(X_train.shape[2])},
        "target_std_test": round(float(np.std(y_test)), 4),
        "cfc": _seed_summary(rows, False, args.cfc_params),
        "baselines": baselines,
    }


def physionet_model(params, seeds, jobs):
    """One CfCClassifier, or a soft vote of ``seeds`` of them.

    The networks of a vote differ only in ``random_state`` (initial weights,
    batch order, validation split, dropout).
    """
    if seeds == 1:
        return CfCClassifier(**params)
    first = params["random_state"]
    members = [
        (f"seed{first + i}", CfCClassifier(**{**params, "random_state": first + i}))
        for i in range(seeds)
    ]
    return VotingClassifier(members, voting="soft", n_jobs=jobs)


def run_physionet(args):
    path = find_physionet(args.physionet_path)
    if path is None:
        print(
            "physionet2012: skipped, set-b.tar.gz and Outcomes-b.txt not found "
            "(set SKLEARN_CFC_DATA or --physionet-path; see --help)."
        )
        return None
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # set B: no empty stays
        X, y = load_physionet2012(
            path, return_X_y=True, max_stays=400 if args.quick else None
        )
    load_time = time.perf_counter() - start
    features, _ = physionet_features(X)

    n_folds = 2 if args.quick else 5
    folds = list(
        StratifiedKFold(n_folds, shuffle=True, random_state=0).split(features, y)
    )
    chosen = args.folds if args.folds is not None else list(range(n_folds))
    params = {**args.cfc_params, **args.physionet_params}
    if args.physionet_previous:
        params = {**PHYSIONET_PARAMS, **params}

    hgb_rows = []
    for k in chosen:
        train, test = folds[k]
        hgb = HistGradientBoostingClassifier(random_state=0)
        _, wall, cpu, _ = _timed(hgb.fit, features[train], y[train])
        auc = roc_auc_score(y[test], hgb.predict_proba(features[test])[:, 1])
        hgb_rows.append({"fold": int(k), "auc": float(auc), "fit_cpu_s": cpu})
        print(f"  physionet2012 fold {k}: HGB AUC {auc:.4f} ({cpu:.1f} CPU-s)")

    rows = []
    for seed in args.seeds:
        for k in chosen:
            train, test = folds[k]
            model = physionet_model(
                {**params, "random_state": seed}, args.physionet_seeds, args.jobs
            )
            X_train = [X[i] for i in train]
            X_test = [X[i] for i in test]
            _, wall, cpu, notes = _timed(model.fit, X_train, y[train])
            auc = roc_auc_score(y[test], model.predict_proba(X_test)[:, 1])
            members = getattr(model, "estimators_", [model])
            member_auc = [
                roc_auc_score(y[test], m.predict_proba(X_test)[:, 1]) for m in members
            ]
            rows.append(
                {
                    "seed": seed,
                    "fold": int(k),
                    "auc": round(float(auc), 6),
                    "member_auc": [round(float(a), 6) for a in member_auc],
                    "fit_cpu_s": round(cpu, 1),
                    "fit_s": round(wall, 1),
                    "epochs": [getattr(m, "n_iter_", None) for m in members],
                    "best_epoch": [
                        int(np.argmin(m.validation_scores_)) + 1
                        if getattr(m, "validation_scores_", None)
                        else None
                        for m in members
                    ],
                    "warnings": notes,
                }
            )
            print(
                f"  physionet2012 seed {seed} fold {k}: CfC AUC {auc:.4f} "
                + (
                    f"(members {', '.join(f'{a:.4f}' for a in member_auc)}) "
                    if len(members) > 1
                    else ""
                )
                + f"({cpu:.0f} CPU-s, {wall:.0f} s)",
                flush=True,
            )

    def per_seed(field):
        return [
            float(np.mean([r[field] for r in rows if r["seed"] == s]))
            for s in args.seeds
        ]

    scores = np.array(per_seed("auc"))
    hgb_auc = np.array([r["auc"] for r in hgb_rows])
    lengths = np.array([len(f) for f in X])
    cfc = {
        "estimator_params": params,
        "seeds": list(args.seeds),
        "scores": [round(s, 6) for s in scores],
        "worst": round(float(scores.min()), 6),
        "mean": round(float(scores.mean()), 6),
        "spread": round(float(scores.max() - scores.min()), 6),
        "fold_scores": [[r["auc"] for r in rows if r["seed"] == s] for s in args.seeds],
        "fit_cpu_s_per_fold": [round(v, 1) for v in per_seed("fit_cpu_s")],
        "fit_s_per_fold": [round(v, 1) for v in per_seed("fit_s")],
        "fit_cpu_s_mean": round(float(np.mean(per_seed("fit_cpu_s"))), 1),
        "fit_cpu_s_max_fold": round(max(r["fit_cpu_s"] for r in rows), 1),
        "vote": args.physionet_seeds,
        "jobs": args.jobs if args.physionet_seeds > 1 else 1,
        "model": repr(
            physionet_model(
                {**params, "random_state": args.seeds[0]},
                args.physionet_seeds,
                args.jobs,
            )
        ),
    }
    if args.physionet_seeds > 1:  # one network's AUC, averaged over the vote
        cfc["single_model_score"] = round(
            float(np.mean([np.mean(r["member_auc"]) for r in rows])), 6
        )
    return {
        "dataset": "physionet2012",
        "source": "PhysioNet/CinC Challenge 2012, set B (in-hospital death)",
        "task": "classification",
        "metric": "roc_auc",
        "higher_is_better": True,
        "cv": f"StratifiedKFold({n_folds}, shuffle=True, random_state=0)",
        "folds_run": [int(k) for k in chosen],
        "n_instances": len(y),
        "n_positive": int(y.sum()),
        "n_train": len(folds[0][0]),
        "n_test": len(folds[0][1]),
        "observation_times_per_stay": {
            "median": int(np.median(lengths)),
            "max": int(lengths.max()),
        },
        "load_time_s": round(load_time, 1),
        "cfc": cfc,
        "baselines": {
            "hgb": {
                "name": "HistGradientBoostingClassifier on per-variable "
                "first/last/min/max/mean/count",
                "score": round(float(hgb_auc.mean()), 6),
                "std": round(float(hgb_auc.std()), 6),
                "fold_scores": [round(float(a), 6) for a in hgb_auc],
                "fit_cpu_s": round(
                    float(np.mean([r["fit_cpu_s"] for r in hgb_rows])), 2
                ),
                "n_features": int(features.shape[1]),
            }
        },
        "folds": rows,
    }


# --------------------------------------------------------------------------
# targets and report
# --------------------------------------------------------------------------
def evaluate_target(record):
    """The checks of issue 12 on the worst seed: {"met": bool, "checks": [...]}."""
    cfc, base, key = record["cfc"], record["baselines"], record["dataset"]
    worst = cfc["worst"]
    checks = [("defaults", not cfc["estimator_params"])]
    if key == "physionet2012":
        checks += [
            (">= HGB", worst >= base["hgb"]["score"]),
            (
                f"<= {MAX_PHYSIONET_CPU_S:.0f} CPU-s per fold",
                cfc["fit_cpu_s_max_fold"] <= MAX_PHYSIONET_CPU_S,
            ),
            ("no ensemble", cfc["vote"] == 1),
        ]
    elif record["task"] == "classification":
        # a baseline that was not run (--skip-baselines) cannot be beaten
        checks += [
            (">= DTW", "dtw" in base and worst >= base["dtw"]["score"]),
            (">= ridge", worst >= base["ridge"]["score"]),
            (f"spread <= {MAX_SPREAD}", cfc["spread"] <= MAX_SPREAD + 1e-9),
        ]
        if key in MIN_SCORE:
            checks.append((f">= {MIN_SCORE[key]:.2f}", worst >= MIN_SCORE[key]))
    else:
        checks += [(f"< {name}", worst < b["score"]) for name, b in base.items()]
    return {
        "met": all(ok for _, ok in checks),
        "checks": [{"rule": rule, "met": bool(ok)} for rule, ok in checks],
    }


def _is_current(record):
    return "baselines" in record and "worst" in record.get("cfc", {})


def summary(records):
    """The aim of issue 12 over the classification sets in ``records``."""
    sets = [r for r in records if r["dataset"] in CLASSIFICATION and _is_current(r)]
    if not sets:
        return None
    gap_worst = [
        r["baselines"]["minirocket"]["score"] - r["cfc"]["worst"] for r in sets
    ]
    gap_mean = [r["baselines"]["minirocket"]["score"] - r["cfc"]["mean"] for r in sets]
    irregular = {
        r["dataset"]: round(
            r["cfc"]["worst"] - r["baselines"]["minirocket"]["score"], 4
        )
        for r in sets
        if r.get("irregular")
    }
    return {
        "classification_sets": [r["dataset"] for r in sets],
        "mean_gap_to_minirocket_worst_seed": round(float(np.mean(gap_worst)), 4),
        "mean_gap_to_minirocket_seed_mean": round(float(np.mean(gap_mean)), 4),
        "aim_gap": AIM_MINIROCKET_GAP,
        "irregular_minus_minirocket_worst_seed": irregular,
        "targets_met": sum(bool(r["target"]["met"]) for r in records if "target" in r),
        "records": len(records),
    }


def format_table(records):
    cols = ("minirocket", "dtw", "ridge", "hgb", "mean")
    head = (
        "| dataset | metric | CfC worst | CfC mean | spread | MiniRocket | "
        "1-NN DTW | ridge | HGB | train mean | CfC fit CPU-s | target |"
    )
    lines = [head, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in records:
        cfc, base = r["cfc"], r["baselines"]
        theirs = [f"{base[c]['score']:.3f}" if c in base else "—" for c in cols]
        if "fit_cpu_s_per_fold" in cfc:
            fit = f"{cfc['fit_cpu_s_mean']:.0f} per fold"
        else:
            fit = f"{cfc['fit_cpu_s_mean']:.1f}"
        target = r["target"]
        failed = [c["rule"] for c in target["checks"] if not c["met"]]
        mark = "met" if target["met"] else f"not met ({', '.join(failed)})"
        lines.append(
            f"| {r['dataset']} | {r['metric']} | {cfc['worst']:.3f} | "
            f"{cfc['mean']:.3f} | {cfc['spread']:.3f} | {' | '.join(theirs)} | "
            f"{fit} | {mark} |"
        )
    return "\n".join(lines)


def format_summary(s):
    if s is None:
        return "aim: no classification set recorded."
    lines = [
        (
            "aim: mean accuracy gap to MiniRocket over "
            f"{len(s['classification_sets'])} "
            f"classification sets: {s['mean_gap_to_minirocket_worst_seed']:+.3f} "
            f"(worst seed), {s['mean_gap_to_minirocket_seed_mean']:+.3f} (seed mean); "
            f"aim <= {s['aim_gap']:.2f}"
        ),
    ]
    irregular = s["irregular_minus_minirocket_worst_seed"]
    if irregular:
        above = sum(v >= 0 for v in irregular.values())
        lines.append(
            f"aim: irregular versions at or above MiniRocket on interpolation: "
            f"{above} of {len(irregular)} ("
            + ", ".join(f"{k} {v:+.3f}" for k, v in irregular.items())
            + ")"
        )
    lines.append(f"targets met: {s['targets_met']} of {s['records']} datasets")
    return "\n".join(lines)


def report_tables(report):
    """Table and aim of every current record in ``report``, in DATASETS order."""
    results = report.get("results", {})
    ordered = [results[k] for k in DATASETS if k in results]
    ordered += [r for k, r in results.items() if k not in DATASETS]
    current = [r for r in ordered if _is_current(r)]
    for r in current:
        r["target"] = evaluate_target(r)
    old = [r["dataset"] for r in ordered if not _is_current(r)]
    text = format_table(current) + "\n\n" + format_summary(summary(current))
    if old:
        text += (
            "\n\nnot in the table, recorded by an older version of this "
            f"script (rerun): {', '.join(old)}"
        )
    return text, summary(current)


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Datasets: " + ", ".join(DATASETS),
    )
    p.add_argument(
        "--datasets",
        default=None,
        help="comma-separated subset of the datasets (default: all; with "
        f"--quick: {','.join(QUICK_DATASETS)})",
    )
    p.add_argument(
        "--seeds",
        default=None,
        help="comma-separated random_state values of the CfC models; each "
        "seed is a full fit (default: 0,1,2; with --quick: 0)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 3 epochs, one seed, two small sets, 400 PhysioNet "
        "stays in 2 folds; writes accuracy_quick.json",
    )
    p.add_argument(
        "--table",
        action="store_true",
        help="print the table of the JSON file (--output) and run nothing",
    )
    p.add_argument("--physionet-path", default=None, help="folder with set-b")
    p.add_argument(
        "--folds",
        default=None,
        help="comma-separated PhysioNet folds to run, e.g. 0 (default: all)",
    )
    p.add_argument(
        "--cfc-params",
        default="{}",
        help="JSON of CfC parameters replacing defaults on every dataset "
        "(for experiments: the targets ask for the defaults)",
    )
    p.add_argument(
        "--physionet-params",
        default="{}",
        help="JSON of CfC parameters for PhysioNet only (on top of "
        "--cfc-params and, with --physionet-previous, PHYSIONET_PARAMS)",
    )
    p.add_argument(
        "--physionet-previous",
        action="store_true",
        help="PhysioNet: the previous record's model, PHYSIONET_PARAMS and a "
        f"soft vote of {PHYSIONET_PREVIOUS_SEEDS} networks (unless "
        "--physionet-seeds says otherwise)",
    )
    p.add_argument(
        "--physionet-seeds",
        type=int,
        default=None,
        help="PhysioNet: soft-vote this many CfC networks differing only in "
        "random_state (default 1, a single network; "
        f"{PHYSIONET_PREVIOUS_SEEDS} with --physionet-previous)",
    )
    p.add_argument(
        "--jobs",
        type=int,
        default=min(5, os.cpu_count() or 1),
        help="PhysioNet vote: networks trained at once (processes of one "
        "torch thread each; default: the number of CPUs, at most 5)",
    )
    p.add_argument(
        "--skip-baselines",
        default="",
        help="comma-separated classification baselines not to run, e.g. dtw "
        "(about 15 CPU-minutes on each PLAID set); targets that need them are "
        "then recorded as not met",
    )
    p.add_argument("--output", type=Path, default=None, help="JSON file to write")
    args = p.parse_args(argv)
    args.skip_baselines = {b.strip() for b in args.skip_baselines.split(",") if b}
    if args.datasets is None:
        args.datasets = ",".join(QUICK_DATASETS if args.quick else DATASETS)
    args.datasets = [d.strip() for d in args.datasets.split(",") if d.strip()]
    unknown = sorted(set(args.datasets) - set(DATASETS))
    if unknown:
        p.error(f"unknown datasets {unknown}; choose from {', '.join(DATASETS)}")
    if args.seeds is None:
        args.seeds = "0" if args.quick else "0,1,2"
    args.seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    if not args.seeds:
        p.error("--seeds needs at least one seed")
    args.folds = None if args.folds is None else [int(k) for k in args.folds.split(",")]
    args.cfc_params = json.loads(args.cfc_params)
    args.physionet_params = json.loads(args.physionet_params)
    if args.physionet_seeds is None:
        args.physionet_seeds = (
            PHYSIONET_PREVIOUS_SEEDS if args.physionet_previous else 1
        )
    if args.quick:
        args.cfc_params = {"max_epochs": 3, **args.cfc_params}
    if args.output is None:
        name = "accuracy_quick.json" if args.quick else "accuracy.json"
        args.output = RESULTS_DIR / name
    return args


def _read_report(path):
    if path.exists():
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            pass
    return {"results": {}}


def _public(argv):
    """The command-line arguments as recorded: no path of this machine."""
    out = list(argv)
    for i, arg in enumerate(out):
        if arg.startswith("--physionet-path="):
            out[i] = "--physionet-path=<folder with set-b>"
        elif arg == "--physionet-path" and i + 1 < len(out):
            out[i + 1] = "<folder with set-b>"
        elif arg.startswith("--output="):
            out[i] = "--output=<json file>"
        elif arg == "--output" and i + 1 < len(out):
            out[i + 1] = "<json file>"
    return out


def main(argv=None):
    args = parse_args(argv)
    if args.table:
        text, _ = report_tables(_read_report(args.output))
        print(text)
        return 0

    torch.set_num_threads(1)
    limits = threadpool_limits(1)  # BLAS and OpenMP of the baselines
    try:
        import numba

        numba.set_num_threads(1)
    except ImportError:  # sktime's MiniRocket and DTW will say so
        pass

    if any(d in CLASSIFICATION for d in args.datasets):
        start = time.perf_counter()
        warm_up()
        print(f"baselines compiled ({time.perf_counter() - start:.0f} s)", flush=True)

    records = []
    for name in args.datasets:
        print(f"{name} ...", flush=True)
        if name in CLASSIFICATION:
            record = run_classification(name, args)
        elif name in REGRESSION:
            record = run_regression(name, args)
        else:
            record = run_physionet(args)
        if record is None:
            continue
        record["target"] = evaluate_target(record)
        records.append(record)
        cfc = record["cfc"]
        failed = [c["rule"] for c in record["target"]["checks"] if not c["met"]]
        print(
            f"  {record['metric']}: CfC worst {cfc['worst']:.4f}, mean "
            f"{cfc['mean']:.4f}, spread {cfc['spread']:.4f}; target "
            + ("met" if not failed else f"not met ({', '.join(failed)})"),
            flush=True,
        )

    command = " ".join(["python benchmarks/accuracy.py", *_public(sys.argv[1:])])
    report = _read_report(args.output)
    report.setdefault("results", {})
    for record in records:
        record["date"] = datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"
        )
        record["command"] = command
        report["results"][record["dataset"]] = record
    report["machine"] = machine_info(
        (
            "sklearn-cfc",
            "torch",
            "skorch",
            "scikit-learn",
            "sktime",
            "numba",
            "numpy",
            "pandas",
        ),
        threads=1,
    )
    report["quick"] = args.quick
    text, report["summary"] = report_tables(report)
    print()
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    shown = args.output
    if shown.resolve().is_relative_to(REPO):
        shown = shown.resolve().relative_to(REPO)
    print(f"\nwrote {shown}")
    limits.restore_original_limits()
    return 0


if __name__ == "__main__":
    sys.exit(main())
