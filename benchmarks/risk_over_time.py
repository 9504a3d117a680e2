"""Mortality risk over the stay from one fitted CfC, on PhysioNet 2012 set B.

What it measures
----------------
How well one network, trained on whole stays, tells the risk of in-hospital
death after hours 6, 12, 24, 36 and 48 of an ICU stay, next to gradient
boosting refitted for each hour. PhysioNet/CinC 2012 set B (4,000 stays, 41
irregularly sampled variables), by the 5-fold stratified split of
``benchmarks/accuracy.py``'s PhysioNet rows (shuffled, ``random_state=0``).
On each training fold:

``cfc``  ONE default ``CfCClassifier(random_state=seed)`` (``--seed``,
         default 0), fitted on the training stays' full 48 hours. On the
         test stays, ``staged_predict_proba`` gives the risk after every
         observation of each stay; the risk at hour ``h`` is that of the
         stay's last observation at or before ``h``, which is what
         ``predict_proba`` says of the stay cut after ``h``. A stay with no
         observation by ``h`` would get the training prevalence; the record
         counts them (set B has none: every stay has its descriptors at
         hour 0).
``cfc_steps``  the same default network taught at every observation: the
         stay's outcome is the label of each of its observations (``y`` per
         observation, sequence labelling), so that it learns to be right at
         every hour rather than at 48 only; read out as ``cfc``.
``hgb``  for each ``h``, ``HistGradientBoostingClassifier(random_state=0)``
         refitted on the per-variable summaries of the training stays' data
         up to ``h`` (``sklearn_cfc.panel.PanelSummarizer()``: first, last,
         min, max, mean and number of observations; the baseline of
         ``accuracy.py`` and ``features.py`` at ``h = 48``), evaluated on the
         summaries of the test stays' data up to ``h``: five models per
         fold. A test stay with no observation by ``h`` gets the training
         prevalence here too.

Per hour the record gives each model's ROC AUC in every fold, the mean, the
worst fold and the spread (best fold minus worst). Per fold: the CfC's fit
CPU seconds (``time.process_time`` around ``fit``), the CPU seconds of
``staged_predict_proba`` on the test stays (all hours from one call) and,
for scale, of one ``predict_proba`` on them; each hour's trees' CPU seconds
(summaries and fit). The process computes on one thread
(``torch.set_num_threads(1)`` and one BLAS/OpenMP thread).

Sanity checks, per fold: the staged risk at hour 48 (the last observation
of every stay) against ``predict_proba`` on the test stays, and the staged
risk at each hour against ``predict_proba`` on the test stays cut at that
hour; the largest absolute differences are recorded and must be at most
``TOLERANCE`` (the run fails otherwise).

Running
-------
From the repository root::

    OMP_NUM_THREADS=1 python benchmarks/risk_over_time.py             # 5 folds
    OMP_NUM_THREADS=1 python benchmarks/risk_over_time.py --folds 0   # 1 fold
    OMP_NUM_THREADS=1 python benchmarks/risk_over_time.py --table     # print

The data are found as in ``accuracy.py`` (``$SKLEARN_CFC_DATA``,
``../shared/data/physionet2012`` next to the repository, or
``--physionet-path``); the path is recorded as a placeholder. A run writes
``benchmarks/results/risk_over_time.json`` (``--output`` to write elsewhere),
replacing it.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import datetime
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from _machine import machine_info
from accuracy import _public, find_physionet
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits

from sklearn_cfc import CfCClassifier
from sklearn_cfc.datasets import load_physionet2012
from sklearn_cfc.panel import PanelSummarizer

REPO = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO / "benchmarks" / "results"

HOURS = (6, 12, 24, 36, 48)
N_FOLDS = 5
TOLERANCE = 1e-6  # staged risk against predict_proba on the cut stays


# --------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------
def load(path):
    """Set B as a list of per-stay frames (index: hours) and the deaths."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # set B: no empty stays
        X, y = load_physionet2012(path, return_X_y=True)
    return X, y


def cut(X, hour):
    """Each stay's rows at or before ``hour``; stays with none are left out.

    Returns the cut frames and a boolean mask of the stays that have some.
    """
    frames = [f.loc[:hour] for f in X]
    # a row is an observation when some variable is measured there
    seen = np.array([bool(f.notna().to_numpy().any()) for f in frames])
    return [f for f, s in zip(frames, seen, strict=True) if s], seen


def _cpu(fn, *args):
    """fn(*args) and the CPU seconds it took."""
    start = time.process_time()
    result = fn(*args)
    return result, time.process_time() - start


# --------------------------------------------------------------------------
# models
# --------------------------------------------------------------------------
def risk_by_hour(staged, n, hours, fill):
    """The risk of each instance's last observation at or before each hour.

    ``staged``: the positive class's column of ``staged_predict_proba``,
    indexed by (instance position, time), rows in time order within each
    instance. Returns ``(len(hours), n)``, and per hour the number of
    instances without an observation by then (they get ``fill``).
    """
    instance = staged.index.get_level_values(0).to_numpy()
    times = staged.index.get_level_values(1).to_numpy(dtype=np.float64)
    risk = staged.to_numpy()
    out = np.full((len(hours), n), fill, dtype=np.float64)
    missing = []
    for k, hour in enumerate(hours):
        keep = times <= hour
        who, value = instance[keep], risk[keep]
        last = np.append(who[1:] != who[:-1], True)
        out[k, who[last]] = value[last]
        missing.append(int(n - last.sum()))
    return out, missing


def hgb_at_hour(X_train, y_train, X_test, hour, prevalence):
    """Trees on the summaries of the data up to ``hour``: test risk, CPU-s."""
    start = time.process_time()
    cut_train, seen_train = cut(X_train, hour)
    cut_test, seen_test = cut(X_test, hour)
    summarizer = PanelSummarizer()
    features = summarizer.fit_transform(cut_train)
    trees = HistGradientBoostingClassifier(random_state=0)
    trees.fit(features, y_train[seen_train])
    risk = np.full(len(X_test), prevalence)
    if seen_test.any():
        risk[seen_test] = trees.predict_proba(summarizer.transform(cut_test))[:, 1]
    cpu = time.process_time() - start
    return risk, cpu, int((~seen_test).sum()), int(features.shape[1])


def run_fold(k, X, y, train, test, seed):
    X_train, y_train = [X[i] for i in train], y[train]
    X_test, y_test = [X[i] for i in test], y[test]
    prevalence = float(y_train.mean())
    row = {"fold": int(k), "n_train": len(train), "n_test": len(test)}

    wall = time.perf_counter()
    model, fit_cpu = _cpu(CfCClassifier(random_state=seed).fit, X_train, y_train)
    row["cfc_fit_s"] = round(time.perf_counter() - wall, 1)
    row["cfc_fit_cpu_s"] = round(fit_cpu, 1)
    row["cfc_epochs"] = int(model.n_iter_)
    staged, staged_cpu = _cpu(model.staged_predict_proba, X_test)
    proba, predict_cpu = _cpu(model.predict_proba, X_test)
    row["cfc_staged_cpu_s"] = round(staged_cpu, 2)
    row["cfc_predict_cpu_s"] = round(predict_cpu, 2)
    row["staged_rows"] = len(staged)
    positive = model.classes_[1]
    risk, missing = risk_by_hour(staged[positive], len(test), HOURS, prevalence)

    # sanity: hour 48 is the whole stay (set B ends at 48 h), and each hour's
    # staged risk is predict_proba on the stays cut at that hour
    last = staged[positive].groupby(level=0).tail(1).to_numpy()
    row["max_abs_diff_last_vs_predict_proba"] = float(np.abs(last - proba[:, 1]).max())
    row["max_abs_diff_vs_cut_predict_proba"] = {}
    for k_h, hour in enumerate(HOURS):
        cut_test, seen = cut(X_test, hour)
        direct = np.full(len(test), prevalence)
        if seen.any():
            direct[seen] = model.predict_proba(cut_test)[:, 1]
        row["max_abs_diff_vs_cut_predict_proba"][str(hour)] = float(
            np.abs(direct - risk[k_h]).max()
        )

    # the same network taught at every observation: the stay's outcome as the
    # label of each of its observations (sequence labelling)
    every = [
        np.where(f.notna().to_numpy().any(axis=1), float(label), np.nan)
        for f, label in zip(X_train, y_train, strict=True)
    ]
    wall = time.perf_counter()
    stepwise, steps_cpu = _cpu(CfCClassifier(random_state=seed).fit, X_train, every)
    row["cfc_steps_fit_s"] = round(time.perf_counter() - wall, 1)
    row["cfc_steps_fit_cpu_s"] = round(steps_cpu, 1)
    row["cfc_steps_epochs"] = int(stepwise.n_iter_)
    staged_steps = stepwise.staged_predict_proba(X_test)[stepwise.classes_[1]]
    risk_steps, _ = risk_by_hour(staged_steps, len(test), HOURS, prevalence)

    times = staged.index.get_level_values(1).to_numpy(dtype=np.float64)
    row["hours"] = {}
    for k_h, hour in enumerate(HOURS):
        hgb_risk, hgb_cpu, hgb_missing, n_features = hgb_at_hour(
            X_train, y_train, X_test, hour, prevalence
        )
        row["hours"][str(hour)] = {
            "cfc_auc": round(float(roc_auc_score(y_test, risk[k_h])), 6),
            "cfc_steps_auc": round(float(roc_auc_score(y_test, risk_steps[k_h])), 6),
            "hgb_auc": round(float(roc_auc_score(y_test, hgb_risk)), 6),
            "hgb_cpu_s": round(hgb_cpu, 2),
            "hgb_features": n_features,
            "test_stays_without_observation": missing[k_h],
            "test_stays_without_observation_hgb": hgb_missing,
            "test_observations_per_stay": round(
                float(np.sum(times <= hour) / len(test)), 1
            ),
        }
    return row


def summarize(rows):
    """Per hour: each model's fold scores, mean, worst fold and spread."""
    out = {}
    for hour in map(str, HOURS):
        entry = {}
        for name in ("cfc", "cfc_steps", "hgb"):
            scores = np.array([r["hours"][hour][f"{name}_auc"] for r in rows])
            entry[name] = {
                "fold_scores": [float(s) for s in scores],
                "mean": round(float(scores.mean()), 6),
                "worst": round(float(scores.min()), 6),
                "spread": round(float(scores.max() - scores.min()), 6),
            }
        diff = [r["hours"][hour]["cfc_auc"] - r["hours"][hour]["hgb_auc"] for r in rows]
        entry["cfc_minus_hgb_mean"] = round(float(np.mean(diff)), 6)
        entry["folds_cfc_ahead"] = int(sum(d > 0 for d in diff))
        entry["test_stays_without_observation"] = int(
            sum(r["hours"][hour]["test_stays_without_observation"] for r in rows)
        )
        entry["hgb_cpu_s_mean"] = round(
            float(np.mean([r["hours"][hour]["hgb_cpu_s"] for r in rows])), 2
        )
        entry["test_observations_per_stay"] = round(
            float(
                np.mean([r["hours"][hour]["test_observations_per_stay"] for r in rows])
            ),
            1,
        )
        out[hour] = entry
    return out


# --------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------
def format_table(record):
    by_hour = record["by_hour"]
    lines = [
        (
            "| hour | obs. per stay | CfC mean | CfC worst | CfC spread | "
            "CfC every step mean | worst | spread | HGB mean | "
            "HGB worst | HGB spread | CfC - HGB (folds ahead) |"
        ),
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    n = len(record["folds"])
    for hour in map(str, HOURS):
        e = by_hour[hour]
        c, h = e["cfc"], e["hgb"]
        st = e.get("cfc_steps", {"mean": np.nan, "worst": np.nan, "spread": np.nan})
        lines.append(
            f"| {hour} | {e['test_observations_per_stay']:.0f} | {c['mean']:.4f} | "
            f"{c['worst']:.4f} | {c['spread']:.4f} | {st['mean']:.4f} | "
            f"{st['worst']:.4f} | {st['spread']:.4f} | {h['mean']:.4f} | "
            f"{h['worst']:.4f} | {h['spread']:.4f} | "
            f"{e['cfc_minus_hgb_mean']:+.4f} ({e['folds_cfc_ahead']} of {n}) |"
        )
    cpu = record["cpu_s"]
    lines += [
        "",
        "CfC fit CPU-s per fold: "
        + ", ".join(f"{v:.0f}" for v in cpu["cfc_fit_per_fold"])
        + f" (mean {cpu['cfc_fit_mean']:.0f}); taught at every step: "
        + ", ".join(f"{v:.0f}" for v in cpu.get("cfc_steps_fit_per_fold", []))
        + "; staged_predict_proba on the "
        f"{record['n_test']} test stays: "
        + ", ".join(f"{v:.1f}" for v in cpu["cfc_staged_per_fold"])
        + " (one predict_proba: "
        + ", ".join(f"{v:.1f}" for v in cpu["cfc_predict_per_fold"])
        + f"); the five HGB per fold: {cpu['hgb_five_hours_mean']:.0f} in all.",
        "Stays without an observation by the hour (given the training "
        "prevalence): "
        + ", ".join(
            f"{h} h: {by_hour[str(h)]['test_stays_without_observation']}" for h in HOURS
        )
        + ".",
        (
            f"Sanity: staged risk at 48 h vs predict_proba, max |diff| "
            f"{record['sanity']['max_abs_diff_last_vs_predict_proba']:.1e}; at "
            f"every hour vs predict_proba on the cut stays "
            f"{record['sanity']['max_abs_diff_vs_cut_predict_proba']:.1e} "
            f"(tolerance {TOLERANCE:g})."
        ),
    ]
    return "\n".join(lines)


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--physionet-path", default=None, help="folder with set-b")
    p.add_argument(
        "--folds",
        default=None,
        help="comma-separated folds to run, e.g. 0 for a quick check "
        f"(default: all {N_FOLDS})",
    )
    p.add_argument(
        "--seed", type=int, default=0, help="random_state of the CfC (default 0)"
    )
    p.add_argument(
        "--table",
        action="store_true",
        help="print the table of the JSON file (--output) and run nothing",
    )
    p.add_argument("--output", type=Path, default=None, help="the JSON file")
    args = p.parse_args(argv)
    if args.folds is None:
        args.folds = list(range(N_FOLDS))
    else:
        args.folds = [int(k) for k in args.folds.split(",") if k.strip()]
        if not args.folds or not all(0 <= k < N_FOLDS for k in args.folds):
            p.error(f"--folds takes fold numbers from 0 to {N_FOLDS - 1}")
    if args.output is None:
        args.output = RESULTS_DIR / "risk_over_time.json"
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.table:
        print(format_table(json.loads(args.output.read_text(encoding="utf-8"))))
        return 0
    path = find_physionet(args.physionet_path)
    if path is None:
        sys.exit(
            "set-b.tar.gz and Outcomes-b.txt not found: set SKLEARN_CFC_DATA or "
            "pass --physionet-path (see --help)."
        )
    torch.set_num_threads(1)
    limits = threadpool_limits(1)
    start = time.perf_counter()
    X, y = load(path)
    folds = list(
        StratifiedKFold(N_FOLDS, shuffle=True, random_state=0).split(
            np.zeros(len(y)), y
        )
    )
    print(f"physionet2012 set B: {len(y)} stays, folds {args.folds}", flush=True)
    rows = []
    for k in args.folds:
        train, test = folds[k]
        row = run_fold(k, X, y, train, test, args.seed)
        rows.append(row)
        shown = ", ".join(
            f"{h} h {row['hours'][str(h)]['cfc_auc']:.4f}/"
            f"{row['hours'][str(h)]['hgb_auc']:.4f}"
            for h in HOURS
        )
        print(
            f"  fold {k}: AUC CfC/HGB {shown}; CfC fit {row['cfc_fit_cpu_s']:.0f} "
            f"CPU-s ({row['cfc_epochs']} epochs), staged "
            f"{row['cfc_staged_cpu_s']:.1f} CPU-s, predict_proba "
            f"{row['cfc_predict_cpu_s']:.1f} CPU-s",
            flush=True,
        )
    diff_last = max(r["max_abs_diff_last_vs_predict_proba"] for r in rows)
    diff_cut = max(max(r["max_abs_diff_vs_cut_predict_proba"].values()) for r in rows)
    record = {
        "dataset": "physionet2012",
        "source": "PhysioNet/CinC Challenge 2012, set B (in-hospital death)",
        "metric": "roc_auc",
        "hours": list(HOURS),
        "cv": f"StratifiedKFold({N_FOLDS}, shuffle=True, random_state=0)",
        "folds_run": list(args.folds),
        "n_instances": len(y),
        "n_positive": int(y.sum()),
        "n_test": len(folds[args.folds[0]][1]),
        "cfc": {
            "model": repr(CfCClassifier(random_state=args.seed)),
            "fitted_on": "the training stays' full 48 hours, once per fold",
            "risk_at_hour": "staged_predict_proba: the risk of each stay's last "
            "observation at or before the hour",
        },
        "cfc_steps": {
            "model": repr(CfCClassifier(random_state=args.seed)),
            "fitted_on": "the training stays' full 48 hours with the outcome as "
            "the label of every observation (y per observation), once per fold",
            "risk_at_hour": "as for cfc",
        },
        "hgb": {
            "model": "HistGradientBoostingClassifier(random_state=0) on "
            "PanelSummarizer() (per-variable first/last/min/max/mean/count) of "
            "the data up to the hour, refitted for each hour",
        },
        "no_observation_by_hour": "risk = the training fold's prevalence (both models)",
        "by_hour": summarize(rows),
        "cpu_s": {
            "cfc_fit_per_fold": [r["cfc_fit_cpu_s"] for r in rows],
            "cfc_fit_mean": round(
                float(np.mean([r["cfc_fit_cpu_s"] for r in rows])), 1
            ),
            "cfc_steps_fit_per_fold": [r["cfc_steps_fit_cpu_s"] for r in rows],
            "cfc_staged_per_fold": [r["cfc_staged_cpu_s"] for r in rows],
            "cfc_predict_per_fold": [r["cfc_predict_cpu_s"] for r in rows],
            "hgb_five_hours_mean": round(
                float(
                    np.mean(
                        [sum(h["hgb_cpu_s"] for h in r["hours"].values()) for r in rows]
                    )
                ),
                1,
            ),
        },
        "sanity": {
            "max_abs_diff_last_vs_predict_proba": diff_last,
            "max_abs_diff_vs_cut_predict_proba": diff_cut,
            "tolerance": TOLERANCE,
            "passed": bool(max(diff_last, diff_cut) <= TOLERANCE),
        },
        "folds": rows,
        "wall_s": round(time.perf_counter() - start, 1),
        "command": " ".join(
            [
                "OMP_NUM_THREADS=1 python benchmarks/risk_over_time.py",
                *_public(sys.argv[1:]),
            ]
        ),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"
        ),
        "machine": machine_info(
            ("sklearn-cfc", "torch", "skorch", "scikit-learn", "numpy", "pandas"),
            threads=1,
        ),
    }
    print()
    print(format_table(record))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    shown = args.output.resolve()
    if shown.is_relative_to(REPO):
        shown = shown.relative_to(REPO)
    print(f"\nwrote {shown}")
    limits.restore_original_limits()
    if not record["sanity"]["passed"]:
        print("sanity check failed: staged risk differs from predict_proba")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
