"""Sequence labelling benchmark: a label per observation on BasicMotions streams.

One CfC network, trained on a label per observation, tells the activity at
every observation of long streams of several activities, next to causal
sliding-window classifiers in the same run (the per-observation API of
``CfCClassifier.fit`` and ``staged_predict``).

Data
----
sktime's BasicMotions (6 channels: 3-axis accelerometer and gyroscope, 100
steps per recording, 4 activities: badminton, running, standing, walking;
40 training and 40 test recordings). A stream concatenates ``SEGMENTS``
(4 to 8) segments; each segment is a random contiguous piece (length 30 to
100 steps, random start) of a random recording of a random activity, the
activity always differing from the previous segment's, so that every
segment boundary is a change of activity and falls at a random step. The
time of a row is its step count, continuing across segments (0, 1, 2, ...);
then a random ``DROP`` (30 %) of each stream's rows is dropped (whole
rows, ``round(0.3 * T)`` of them) and the kept rows keep their step count
as a float timestamp. The label of a row is the activity of its segment.
Training streams (``--train-streams``, default 60) are built from the
training recordings only, test streams (``--test-streams``, default 40)
from the test recordings only. Each seed of ``--seeds`` (default 0, 1, 2)
draws its own streams (``numpy.random.default_rng([seed, 0])`` for the
training streams, ``[seed, 1]`` for the test streams) and seeds the CfC
network; every model of a seed sees the same streams, so the comparison is
paired within a seed, and the spread over seeds holds both the data and the
network's initialisation.

Models
------
``cfc``        The default ``CfCClassifier(random_state=seed)``, fitted on
               the training streams (a list of frames indexed by the float
               step, one label per row); ``staged_predict`` on the test
               streams gives the predicted activity after every
               observation, from the observations up to it only.
``cfc_patch1`` The same with ``patch_length=1`` given explicitly. Up to
               the change that made ``patch_length="auto"`` 1 for labels per
               observation, these dense streams (~270 observations) got 11
               observations per network step, and this row showed what that
               cost (0.831 against 0.928 per-step accuracy, seed mean); it
               now equals ``cfc`` (``--skip-cfc-patch1`` leaves it out).
``ridge``      Causal sliding window: for each observation, the window of
               the last ``w`` observations (it included) of its stream, the
               6 values and the time gap to the previous observation of each
               of the ``w`` rows, flattened (``7 w`` features); rows before
               the stream start are missing and mean-imputed (``SimpleImputer``,
               i.e. mean padding), then ``StandardScaler`` and
               ``RidgeClassifierCV(alphas=logspace(-3, 3, 13))``. Trained
               on the windows of every training observation.
``hgb``        The same windows summarised per channel: mean, std, min,
               max and last value over the window's real rows, plus the
               mean time gap and the number of real rows (``6 * 5 + 2``
               features), then ``HistGradientBoostingClassifier(
               random_state=0)``.
``minirocket`` The windows' values (6 channels, ``w`` steps, the padding
               filled with each channel's training mean; gaps left out) as
               series for sktime's ``MiniRocketMultivariate(random_state=0)``
               (10,000 kernels), then ``StandardScaler(with_mean=False)`` and
               ``RidgeClassifierCV(alphas=logspace(-3, 3, 10))`` (the
               recipe of ``accuracy.py``). It trains on every
               ``MINIROCKET_STRIDE``-th training window only: 10,000
               features of all ~16,000 windows are 0.65 GB in float32, and
               ridge on them costs minutes on one core. ``--skip-minirocket``
               leaves it out.

The window length ``w`` of each baseline is chosen per seed among
``WINDOWS`` (``W_CANDIDATES`` for MiniRocket, which is dearer) on a
validation split of the training recordings: ``VALID_RECORDINGS`` (3) of
the 10 training recordings of each activity are held out; streams built as
above from the other 7 (75 % of ``--train-streams`` of them) train, streams
from the held-out 3 (25 %) validate (``default_rng([seed, 2])``), so that
``w`` is judged on recordings it was not fitted on, as on test (streams
cut from the same recordings would reward memorising them). The chosen
``w`` is then refitted on all training streams. The test streams are never
looked at to choose it. Every baseline is causal: the window of an
observation holds it and earlier observations of its stream only.

What it reports
---------------
For each seed and model: the per-step accuracy over all test observations;
the accuracy over the observations in the first ``AFTER_CHANGE`` (10) time
steps after a change of activity (a segment boundary other than the stream
start) and over all the others (``elsewhere``); over the first
``AFTER_CHANGE`` steps of each stream, and over the observations
``AFTER_CHANGE`` steps or more into their segment (``settled``); the
accuracy by steps since the last change (bins ``SINCE_BINS``); the fit CPU
seconds (``time.process_time``: for the CfC around ``fit``, for a baseline
around building its training windows and fitting it at the chosen ``w``;
the search for ``w`` is given apart, ``select_cpu_s``) and the prediction
CPU seconds. Over seeds: the worst seed, the mean and the spread (best
minus worst) of each model's accuracy. The best baseline is the one of
highest mean accuracy over the seeds. The process computes on one thread
(``torch.set_num_threads(1)``, one BLAS/OpenMP and numba thread).

Running
-------
From the repository root::

    OMP_NUM_THREADS=1 python benchmarks/sequence_labelling.py            # 3 seeds
    OMP_NUM_THREADS=1 python benchmarks/sequence_labelling.py --seeds 0  # one
    OMP_NUM_THREADS=1 python benchmarks/sequence_labelling.py --table    # print

A run writes ``benchmarks/results/sequence_labelling.json`` (``--output``
elsewhere), replacing it; ``--cfc-params`` (JSON) changes the CfC's
parameters, for experiments only (the record is then not of the defaults).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import datetime
import itertools
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from _machine import machine_info
from accuracy import _minirocket, _public, _timed
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import RidgeClassifierCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from sklearn_cfc import CfCClassifier

REPO = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO / "benchmarks" / "results"

SEGMENTS = (4, 8)  # segments per stream, both included
SEGMENT_LENGTH = (30, 100)  # steps per segment, both included
DROP = 0.3  # share of each stream's rows dropped
AFTER_CHANGE = 10  # time steps after a change that count as "just changed"
SINCE_BINS = (0, 5, 10, 20, 40, np.inf)  # steps since the last change
VALID_RECORDINGS = 3  # training recordings per class held out to choose w
VALID_STREAMS = 0.25  # validation streams, as a share of --train-streams
WINDOWS = (1, 5, 10, 20, 40, 80)  # candidate w of ridge and HGB (observations)
W_CANDIDATES = (10, 20, 40)  # candidate w of MiniRocket (at least its 9)
MINIROCKET_STRIDE = 4  # MiniRocket trains on every 4th training window
RIDGE_ALPHAS = np.logspace(-3, 3, 13)
MODELS = ("cfc", "cfc_patch1", "ridge", "hgb", "minirocket")
NETWORKS = {"cfc": {}, "cfc_patch1": {"patch_length": 1}}  # on top of defaults
MODEL_NAMES = {
    "cfc": "CfCClassifier(random_state=seed), defaults, staged_predict",
    "cfc_patch1": "CfCClassifier(patch_length=1, random_state=seed), "
    "otherwise defaults (not the default: a diagnostic row)",
    "ridge": "RidgeClassifierCV on the standardised window (values and gaps)",
    "hgb": "HistGradientBoosting on per-channel window summaries",
    "minirocket": "MiniRocketMultivariate on the window + RidgeClassifierCV",
}


# --------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------
def load_recordings(split):
    """BasicMotions ``split`` as (n, 6, 100) float64 values and labels."""
    from sktime.datasets import load_basic_motions

    X, y = load_basic_motions(split=split, return_X_y=True, return_type="numpy3D")
    return np.asarray(X, dtype=np.float64), np.asarray(y).astype(str)


def make_streams(X, y, n_streams, rng):
    """Streams of concatenated random pieces of the recordings ``X``.

    Returns a list of dicts: ``frame`` (the kept rows, indexed by the float
    step ``t``, columns the 6 channels), ``labels`` (object array, one per
    row), ``segment`` (the segment of each row) and ``since`` (time steps
    since the start of the row's segment).
    """
    classes = np.unique(y)
    by_class = {c: np.flatnonzero(y == c) for c in classes}
    n_channels, length = X.shape[1:]
    columns = [f"dim_{c}" for c in range(n_channels)]
    streams = []
    for _ in range(n_streams):
        n_segments = int(rng.integers(SEGMENTS[0], SEGMENTS[1] + 1))
        values, labels, segment, since = [], [], [], []
        previous = None
        for k in range(n_segments):
            choices = [c for c in classes if c != previous]
            label = choices[rng.integers(len(choices))]
            recording = rng.choice(by_class[label])
            n = int(rng.integers(SEGMENT_LENGTH[0], min(SEGMENT_LENGTH[1], length) + 1))
            start = int(rng.integers(0, length - n + 1))
            values.append(X[recording, :, start : start + n].T)
            labels.append(np.full(n, label, dtype=object))
            segment.append(np.full(n, k))
            since.append(np.arange(n, dtype=np.float64))
            previous = label
        values = np.concatenate(values)
        total = len(values)
        keep = np.sort(rng.choice(total, total - round(DROP * total), replace=False))
        times = pd.Index(keep.astype(np.float64), name="t")
        streams.append(
            {
                "frame": pd.DataFrame(values[keep], index=times, columns=columns),
                "labels": np.concatenate(labels)[keep],
                "segment": np.concatenate(segment)[keep],
                "since": np.concatenate(since)[keep],
            }
        )
    return streams


def build_data(seed, n_train, n_test, recordings):
    """Training, test and (fit, validation) streams of one seed.

    The validation pair serves the choice of the baselines' window length
    only: ``VALID_RECORDINGS`` training recordings of each class are held
    out and give the validation streams, the others the fit streams, so
    that ``w`` is judged on recordings it was not fitted on, as on test.
    """
    (X_train, y_train), (X_test, y_test) = recordings
    train = make_streams(X_train, y_train, n_train, np.random.default_rng([seed, 0]))
    test = make_streams(X_test, y_test, n_test, np.random.default_rng([seed, 1]))
    rng = np.random.default_rng([seed, 2])
    held = np.zeros(len(y_train), dtype=bool)
    for c in np.unique(y_train):
        held[
            rng.choice(np.flatnonzero(y_train == c), VALID_RECORDINGS, replace=False)
        ] = True
    n_valid = max(1, round(VALID_STREAMS * n_train))
    fit = make_streams(X_train[~held], y_train[~held], n_train - n_valid, rng)
    valid = make_streams(X_train[held], y_train[held], n_valid, rng)
    return train, test, (fit, valid)


def _concat(streams, key):
    return np.concatenate([s[key] for s in streams])


# --------------------------------------------------------------------------
# sliding windows
# --------------------------------------------------------------------------
def windows(streams, w):
    """The causal window of every observation: values (N, w, C), gaps (N, w).

    Row ``i`` of a stream gets its rows ``i - w + 1 .. i``; rows before the
    stream start are NaN. The gap of a row is the time since the previous
    observation of its stream (NaN for the first).
    """
    values, gaps = [], []
    for s in streams:
        v = s["frame"].to_numpy(dtype=np.float64)
        t = s["frame"].index.to_numpy(dtype=np.float64)
        dt = np.concatenate([[np.nan], np.diff(t)])
        v = np.concatenate([np.full((w - 1, v.shape[1]), np.nan), v])
        dt = np.concatenate([np.full(w - 1, np.nan), dt])
        sw = np.lib.stride_tricks.sliding_window_view
        values.append(sw(v, w, axis=0).transpose(0, 2, 1))
        gaps.append(sw(dt, w))
    return np.concatenate(values), np.concatenate(gaps)


def ridge_features(streams, w):
    values, gaps = windows(streams, w)
    return np.concatenate([values.reshape(len(values), -1), gaps], axis=1)


def summary_features(streams, w):
    values, gaps = windows(streams, w)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN gap windows
        stats = [
            np.nanmean(values, axis=1),
            np.nanstd(values, axis=1),
            np.nanmin(values, axis=1),
            np.nanmax(values, axis=1),
            values[:, -1],
            np.nanmean(gaps, axis=1)[:, None],
            (~np.isnan(values[:, :, 0])).sum(axis=1)[:, None],
        ]
    return np.concatenate(stats, axis=1)


class WindowModel:
    """A causal sliding-window classifier over streams of observations.

    ``kind`` is "ridge", "hgb" or "minirocket"; ``w`` the window length in
    observations; ``stride`` keeps every ``stride``-th training window.
    """

    def __init__(self, kind, w, stride=1):
        self.kind, self.w, self.stride = kind, w, stride

    def _features(self, streams):
        if self.kind == "ridge":
            return ridge_features(streams, self.w)
        if self.kind == "hgb":
            return summary_features(streams, self.w)
        values, _ = windows(streams, self.w)
        values = np.where(np.isnan(values), self.fill_, values)
        return np.ascontiguousarray(values.transpose(0, 2, 1))  # (N, C, w)

    def fit(self, streams):
        if self.kind == "minirocket":
            self.fill_ = np.nanmean(
                np.concatenate([s["frame"].to_numpy() for s in streams]), axis=0
            )
        X = self._features(streams)[:: self.stride]
        y = _concat(streams, "labels").astype(str)[:: self.stride]
        if self.kind == "ridge":
            self.model_ = make_pipeline(
                SimpleImputer(strategy="mean", keep_empty_features=True),
                StandardScaler(),
                RidgeClassifierCV(alphas=RIDGE_ALPHAS),
            )
        elif self.kind == "hgb":
            self.model_ = HistGradientBoostingClassifier(random_state=0)
        else:
            self.model_ = _minirocket(X.shape[1], True)
        self.model_.fit(X, y)
        return self

    def predict(self, streams):
        return np.asarray(self.model_.predict(self._features(streams)))


def choose_w(kind, validation, candidates, stride=1):
    """The window length of best validation accuracy; per-candidate scores."""
    fit_part, valid = validation
    truth = _concat(valid, "labels").astype(str)
    scores = {}
    for w in candidates:
        pred = WindowModel(kind, w, stride).fit(fit_part).predict(valid)
        scores[w] = float(np.mean(pred == truth))
    best = max(candidates, key=lambda w: (scores[w], -w))  # ties: shorter
    return best, scores


# --------------------------------------------------------------------------
# scores
# --------------------------------------------------------------------------
def breakdown(pred, test):
    """Accuracy overall, just after a change and elsewhere, at the stream
    start and settled (``AFTER_CHANGE`` steps or more into a segment)."""
    truth = _concat(test, "labels").astype(str)
    segment = _concat(test, "segment")
    since = _concat(test, "since")
    right = np.asarray(pred).astype(str) == truth
    early = since < AFTER_CHANGE
    groups = {
        "accuracy": np.ones_like(right),
        "after_change": early & (segment > 0),
        "elsewhere": ~(early & (segment > 0)),
        "stream_start": early & (segment == 0),
        "settled": ~early,
    }
    out = {k: round(float(right[m].mean()), 6) for k, m in groups.items()}
    out["n_after_change"] = int(groups["after_change"].sum())
    changed = segment > 0
    out["by_steps_since_change"] = {
        f"{lo:g}-{hi:g}": round(
            float(right[changed & (since >= lo) & (since < hi)].mean()), 6
        )
        for lo, hi in itertools.pairwise(SINCE_BINS)
    }
    return out


def check_staged_index(staged, test):
    """The staged predictions are one per observation, in the streams' order."""
    ids = staged.index.get_level_values(0).to_numpy()
    times = staged.index.get_level_values(1).to_numpy(dtype=np.float64)
    want_ids = np.repeat(np.arange(len(test)), [len(s["frame"]) for s in test])
    want_times = np.concatenate([s["frame"].index.to_numpy() for s in test])
    if len(staged) != len(want_ids) or not (
        np.array_equal(ids, want_ids) and np.array_equal(times, want_times)
    ):
        raise RuntimeError("staged_predict's index does not match the test rows")


# --------------------------------------------------------------------------
# one seed
# --------------------------------------------------------------------------
def run_seed(seed, args, recordings):
    train, test, validation = build_data(
        seed, args.train_streams, args.test_streams, recordings
    )
    n_obs = {
        "train_streams": len(train),
        "test_streams": len(test),
        "train_observations": int(sum(len(s["frame"]) for s in train)),
        "test_observations": int(sum(len(s["frame"]) for s in test)),
        "test_changes": int(sum(s["segment"].max() for s in test)),
    }
    print(f"seed {seed}: {n_obs}", flush=True)
    out = {"seed": seed, "data": n_obs, "models": {}}

    # the networks
    frames = [s["frame"] for s in train]
    labels = [s["labels"] for s in train]
    for kind, params in NETWORKS.items():
        if kind == "cfc_patch1" and args.skip_cfc_patch1:
            continue
        model = CfCClassifier(**{**params, **args.cfc_params, "random_state": seed})
        _, wall, cpu, notes = _timed(model.fit, frames, labels)
        staged, _, pred_cpu, _ = _timed(
            model.staged_predict, [s["frame"] for s in test]
        )
        check_staged_index(staged, test)
        record = breakdown(staged.to_numpy(), test)
        record.update(
            fit_cpu_s=round(cpu, 2),
            fit_s=round(wall, 2),
            predict_cpu_s=round(pred_cpu, 2),
            epochs=int(model.n_iter_),
            patch_length=int(model.patch_length_),
            early_stopping=bool(model.early_stopping_),
            warnings=notes,
        )
        out["models"][kind] = record
        _say(kind, record)

    # the sliding windows
    for kind in MODELS[len(NETWORKS) :]:
        if kind == "minirocket" and args.skip_minirocket:
            continue
        stride = MINIROCKET_STRIDE if kind == "minirocket" else 1
        candidates = W_CANDIDATES if kind == "minirocket" else WINDOWS
        (w, scores), _, select_cpu, _ = _timed(
            choose_w, kind, validation, candidates, stride
        )
        fitted, wall, cpu, _ = _timed(WindowModel(kind, w, stride).fit, train)
        pred, _, pred_cpu, _ = _timed(fitted.predict, test)
        record = breakdown(pred, test)
        record.update(
            w=w,
            validation_accuracy={str(k): round(v, 6) for k, v in scores.items()},
            stride=stride,
            fit_cpu_s=round(cpu, 2),
            fit_s=round(wall, 2),
            select_cpu_s=round(select_cpu, 2),
            predict_cpu_s=round(pred_cpu, 2),
        )
        out["models"][kind] = record
        _say(kind, record)
    return out


def _say(kind, r):
    extra = f", w={r['w']}" if "w" in r else f", {r['epochs']} epochs"
    print(
        f"  {kind:10s} accuracy {r['accuracy']:.4f}  after change "
        f"{r['after_change']:.4f}  settled {r['settled']:.4f}  "
        f"(fit {r['fit_cpu_s']:.1f} CPU-s{extra})",
        flush=True,
    )


# --------------------------------------------------------------------------
# summary and table
# --------------------------------------------------------------------------
def summarise(runs):
    out = {}
    for kind in MODELS:
        rows = [r["models"][kind] for r in runs if kind in r["models"]]
        if not rows:
            continue
        acc = [r["accuracy"] for r in rows]
        out[kind] = {
            "name": MODEL_NAMES[kind],
            "accuracy_per_seed": acc,
            "worst": min(acc),
            "mean": round(float(np.mean(acc)), 6),
            "spread": round(max(acc) - min(acc), 6),
            "after_change_mean": round(
                float(np.mean([r["after_change"] for r in rows])), 6
            ),
            "elsewhere_mean": round(float(np.mean([r["elsewhere"] for r in rows])), 6),
            "settled_mean": round(float(np.mean([r["settled"] for r in rows])), 6),
            "fit_cpu_s_mean": round(float(np.mean([r["fit_cpu_s"] for r in rows])), 2),
        }
        if "w" in rows[0]:
            out[kind]["w_per_seed"] = [r["w"] for r in rows]
    baselines = [k for k in out if k not in NETWORKS]
    if baselines:
        best = max(baselines, key=lambda k: out[k]["mean"])
        out["best_baseline"] = best
    return out


def format_table(report):
    runs, summary = report["runs"], report["summary"]
    kinds = [k for k in MODELS if k in summary]
    lines = [
        "Per-step accuracy on the test streams (all observations)",
        "",
        "| model | "
        + " | ".join(f"seed {r['seed']}" for r in runs)
        + " | worst | mean | spread | fit CPU-s (mean) | w |",
        "|---|" + "---:|" * (len(runs) + 5),
    ]
    for k in kinds:
        s = summary[k]
        per = " | ".join(f"{a:.4f}" for a in s["accuracy_per_seed"])
        ws = ",".join(str(w) for w in s.get("w_per_seed", [])) or "—"
        lines.append(
            f"| {k} | {per} | {s['worst']:.4f} | {s['mean']:.4f} | "
            f"{s['spread']:.4f} | {s['fit_cpu_s_mean']:.1f} | {ws} |"
        )
    bins = [f"{a:g}-{b:g}" for a, b in itertools.pairwise(SINCE_BINS)]
    lines += [
        "",
        (
            f"Accuracy just after a change of activity (first {AFTER_CHANGE} "
            "time steps of segments 2..k) and elsewhere; at the stream start "
            f"(first {AFTER_CHANGE} steps) and settled ({AFTER_CHANGE} steps or "
            "more into a segment); by time steps since the last change"
        ),
        "",
        "| model | seed | after change | elsewhere | stream start | settled | "
        + " | ".join(bins)
        + " |",
        "|---|---:|" + "---:|" * (4 + len(bins)),
    ]
    for k in kinds:
        for r in runs:
            if k not in r["models"]:
                continue
            m = r["models"][k]
            since = " | ".join(f"{v:.3f}" for v in m["by_steps_since_change"].values())
            lines.append(
                f"| {k} | {r['seed']} | {m['after_change']:.4f} | "
                f"{m['elsewhere']:.4f} | {m['stream_start']:.4f} | "
                f"{m['settled']:.4f} | {since} |"
            )
        s = summary[k]
        lines.append(
            f"| {k} | mean | {s['after_change_mean']:.4f} | "
            f"{s['elsewhere_mean']:.4f} | | {s['settled_mean']:.4f} | |"
            + " |"
            * (len(bins) - 1)
        )
    if "best_baseline" in summary:
        lines += ["", f"best baseline (mean accuracy): {summary['best_baseline']}"]
    return "\n".join(lines)


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------
def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--seeds", default="0,1,2", help="comma-separated seeds")
    p.add_argument("--train-streams", type=int, default=60)
    p.add_argument("--test-streams", type=int, default=40)
    p.add_argument(
        "--skip-minirocket", action="store_true", help="leave MiniRocket out"
    )
    p.add_argument(
        "--skip-cfc-patch1",
        action="store_true",
        help="leave out the diagnostic row CfCClassifier(patch_length=1)",
    )
    p.add_argument(
        "--cfc-params",
        default="{}",
        help="JSON of CfC parameters replacing defaults (experiments only)",
    )
    p.add_argument("--table", action="store_true", help="print the table, run nothing")
    p.add_argument(
        "--output", type=Path, default=RESULTS_DIR / "sequence_labelling.json"
    )
    args = p.parse_args(argv)
    args.seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    if not args.seeds:
        p.error("--seeds needs at least one seed")
    args.cfc_params = json.loads(args.cfc_params)
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.table:
        print(format_table(json.loads(args.output.read_text(encoding="utf-8"))))
        return 0

    torch.set_num_threads(1)
    limits = threadpool_limits(1)
    try:
        import numba

        numba.set_num_threads(1)
    except ImportError:
        pass

    recordings = load_recordings("train"), load_recordings("test")
    if not args.skip_minirocket:  # compile MiniRocket's numba code outside fit
        start = time.perf_counter()
        rng = np.random.default_rng(0)
        _minirocket(6, True).fit(rng.normal(size=(8, 6, 12)), np.array(["a", "b"] * 4))
        print(f"MiniRocket compiled ({time.perf_counter() - start:.0f} s)", flush=True)

    started = time.perf_counter()
    runs = [run_seed(seed, args, recordings) for seed in args.seeds]
    report = {
        "benchmark": "sequence labelling on concatenated BasicMotions streams",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"
        ),
        "command": " ".join(
            ["python benchmarks/sequence_labelling.py", *_public(sys.argv[1:])]
        ),
        "defaults": not args.cfc_params,
        "cfc_params": args.cfc_params,
        "data": {
            "source": "sktime BasicMotions (UEA), official train/test split",
            "segments_per_stream": list(SEGMENTS),
            "segment_length_steps": list(SEGMENT_LENGTH),
            "drop": DROP,
            "consecutive_segments_differ": True,
            "train_streams": args.train_streams,
            "test_streams": args.test_streams,
        },
        "settings": {
            "after_change_steps": AFTER_CHANGE,
            "windows": list(WINDOWS),
            "minirocket_windows": list(W_CANDIDATES),
            "minirocket_stride": MINIROCKET_STRIDE,
            "validation_recordings_per_class": VALID_RECORDINGS,
            "validation_streams_share": VALID_STREAMS,
        },
        "runs": runs,
        "summary": summarise(runs),
        "wall_s": round(time.perf_counter() - started, 1),
        "machine": machine_info(
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
        ),
    }
    print()
    print(format_table(report))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    shown = args.output.resolve()
    if shown.is_relative_to(REPO):
        shown = shown.relative_to(REPO)
    print(f"\nwrote {shown} ({report['wall_s']:.0f} s)")
    limits.restore_original_limits()
    return 0


if __name__ == "__main__":
    sys.exit(main())
