"""Learned CfC features in a pipeline, on PhysioNet 2012 set B (issue 17).

What it measures
----------------
ROC AUC of in-hospital death on PhysioNet/CinC 2012 set B (4,000 ICU stays,
41 irregularly sampled variables), by the 5-fold stratified split of
``benchmarks/accuracy.py`` (shuffled, ``random_state=0``), for three models
fitted on each training fold:

``summaries``  ``HistGradientBoostingClassifier(random_state=0)`` on the
               per-variable summaries of ``PanelSummarizer()`` (first, last,
               min, max, mean and number of observations; the baseline of
               ``accuracy.py``);
``cfc``        the default ``CfCClassifier(random_state=0)``;
``pipeline``   the same trees on the CfC's learned representation
               (``CfCClassifier.transform``) next to the summaries, in the
               design chosen below (``DESIGN``).

Each model's fit time is in CPU seconds (``time.process_time``), the process
on one thread (``OMP_NUM_THREADS=1`` is set before torch loads).

Choosing the design: ``--select``
---------------------------------
A network's features of its own training data are better than of unseen
data (it has fitted them), so trees trained on them over-trust them. The
candidates, compared on an inner split of fold 0's training data only (80 %
to fit, 20 % to validate, stratified, ``random_state=0``; the test folds are
not looked at):

``in_sample``   the plain pipeline: the network and the trees both fitted on
                all the training data (``FeatureUnion`` of the CfC and the
                summaries, then the trees);
``held_out``    the network fitted on one part of the training data, frozen
                (``sklearn.frozen.FrozenEstimator``), and the trees on the
                other part (``HELD_OUT`` of it), where its features are as on
                unseen data;
``cross_fit_features``, ``cross_fit_proba``  the trees on out-of-fold outputs
                of ``CROSS_FIT`` networks (their representation, or their
                probability as ``StackingClassifier`` does), and at
                prediction the outputs of a network fitted on all the data.

The figures, and the network's AUC on its own training data against the
validation data, go to the ``selection`` entry of the JSON file; ``DESIGN``
was set from them before the 5-fold run: ``in_sample`` (see ``DESIGN``).

Running
-------
From the repository root::

    OMP_NUM_THREADS=1 python benchmarks/features.py --select  # the choice
    OMP_NUM_THREADS=1 python benchmarks/features.py           # the 5 folds
    OMP_NUM_THREADS=1 python benchmarks/features.py --quick   # smoke run

The data are found as in ``accuracy.py`` (``$SKLEARN_CFC_DATA``,
``../shared/data/physionet2012`` next to the repository, or
``--physionet-path``). A run writes ``benchmarks/results/features.json``
(``features_quick.json`` with ``--quick``: 400 stays, 2 folds, 3 epochs),
replacing the part it ran.
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
from accuracy import find_physionet
from scipy.special import logit
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import (
    StratifiedKFold,
    train_test_split,
)
from sklearn.pipeline import FeatureUnion, make_pipeline
from threadpoolctl import threadpool_limits

from sklearn_cfc import CfCClassifier
from sklearn_cfc.datasets import load_physionet2012
from sklearn_cfc.panel import PanelSummarizer

REPO = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO / "benchmarks" / "results"

DESIGNS = ("in_sample", "held_out", "cross_fit_features", "cross_fit_proba")
# The design of the reported pipeline, chosen with --select (figures: the
# JSON file's "selection"; validation AUC of the inner split of fold 0):
# in_sample 0.865 (49 CPU-s), cross_fit_features and cross_fit_proba 0.866
# (144 CPU-s), held_out 0.838 (25 CPU-s); summaries alone 0.859, the network
# alone 0.850 (0.876 on its own training data). The plain pipeline does as
# well as cross-fitting at a third of the cost: the network's early stopping
# (on by default from 1,000 training series) keeps its features of its
# training data close to those of new data. Holding data out for the trees
# costs both the network and the trees half their data. (The 5-fold run
# then put the pipeline above the network but not above the summaries: see
# the JSON file's "cv" and docs/user_guide/features.rst.)
DESIGN = "in_sample"
HELD_OUT = 0.5  # share of the training data the trees learn on (held_out)
CROSS_FIT = 3  # networks of the cross-fitted designs
VALIDATION = 0.2  # --select: share of fold 0's training data to validate on


# --------------------------------------------------------------------------
# models (public API only)
# --------------------------------------------------------------------------
def network(quick):
    return CfCClassifier(random_state=0, **({"max_epochs": 3} if quick else {}))


def trees():
    return HistGradientBoostingClassifier(random_state=0)


def summaries_model():
    return make_pipeline(PanelSummarizer(), trees())


def plain_pipeline(quick):
    """The design "in_sample": one pipeline, the network fitted in it."""
    union = FeatureUnion([("cfc", network(quick)), ("summaries", PanelSummarizer())])
    return make_pipeline(union, trees())


def stacked(fitted_network):
    """The trees on a fitted network's features and the summaries.

    ``FrozenEstimator`` keeps the network as it is when the pipeline is
    fitted; an unfrozen ``CfCClassifier`` in the union would be fitted on
    the pipeline's training data (the design "in_sample").
    """
    union = FeatureUnion(
        [("cfc", FrozenEstimator(fitted_network)), ("summaries", PanelSummarizer())]
    )
    return make_pipeline(union, trees())


class _Stacked:
    """Trees on out-of-fold network outputs and the summaries (cross-fitting).

    At prediction the outputs come from ``final``, the network fitted on
    all the training data, as in scikit-learn's ``StackingClassifier``.
    """

    def __init__(self, final, trees, summaries, output):
        self.final, self.trees, self.summaries = final, trees, summaries
        self.output = output

    def predict_proba(self, X):
        own = _outputs(self.final, X, self.output)
        return self.trees.predict_proba(
            np.column_stack([own, self.summaries.transform(X)])
        )


def _outputs(net, X, output):
    if output == "features":
        return net.transform(X)
    return logit(np.clip(net.predict_proba(X)[:, 1], 1e-7, 1 - 1e-7))[:, None]


def _take(X, idx):
    return [X[i] for i in idx]


def _cpu(fn, *args):
    """fn(*args) and the CPU seconds it took."""
    start = time.process_time()
    result = fn(*args)
    return result, time.process_time() - start


def cross_fit(X, y, quick):
    """``CROSS_FIT`` networks, each with the instances it did not see.

    Returns ``[(held-out indices, network), ...]`` and the CPU seconds.
    """
    folds = StratifiedKFold(CROSS_FIT, shuffle=True, random_state=0).split(X, y)
    start = time.process_time()
    parts = [
        (test, network(quick).fit(_take(X, train), y[train])) for train, test in folds
    ]
    return parts, time.process_time() - start


def fit_pipeline(design, X, y, quick, final=None, parts=None):
    """The pipeline of ``design`` fitted on (X, y), and its fit CPU seconds.

    ``final``: a network already fitted on all of (X, y) with the default
    settings, and its CPU seconds, to reuse (fit_transform of a CfC in a
    FeatureUnion is fit, then transform: the same network; ``--select``
    shares it between the designs, the 5-fold run fits each model anew).
    ``parts``: the result of :func:`cross_fit` on (X, y), to reuse.
    """
    if design == "held_out":
        a, b = train_test_split(
            np.arange(len(y)), test_size=HELD_OUT, stratify=y, random_state=0
        )
        net, cpu_net = _cpu(network(quick).fit, _take(X, a), y[a])
        model, cpu = _cpu(stacked(net).fit, _take(X, b), y[b])
        return model, cpu_net + cpu
    if design == "in_sample" and final is None:
        return _cpu(plain_pipeline(quick).fit, X, y)
    if final is None:
        final = _cpu(network(quick).fit, X, y)
    net, cpu_final = final
    if design == "in_sample":
        model, cpu = _cpu(stacked(net).fit, X, y)
        return model, cpu_final + cpu
    output = "features" if design == "cross_fit_features" else "proba"
    if parts is None:
        parts = cross_fit(X, y, quick)
    start = time.process_time()
    oof = None
    for test, part in parts[0]:
        out = _outputs(part, _take(X, test), output)
        if oof is None:
            oof = np.empty((len(y), out.shape[1]))
        oof[test] = out
    summaries = PanelSummarizer().fit(X)
    fitted_trees = trees().fit(np.column_stack([oof, summaries.transform(X)]), y)
    cpu = time.process_time() - start
    model = _Stacked(net, fitted_trees, summaries, output)
    return model, cpu_final + parts[1] + cpu


def _auc(model, X, y):
    return float(roc_auc_score(y, model.predict_proba(X)[:, 1]))


# --------------------------------------------------------------------------
# runs
# --------------------------------------------------------------------------
def load(args):
    path = find_physionet(args.physionet_path)
    if path is None:
        sys.exit(
            "set-b.tar.gz and Outcomes-b.txt not found: set SKLEARN_CFC_DATA or "
            "pass --physionet-path (see --help)."
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # set B: no empty stays
        X, y = load_physionet2012(
            path, return_X_y=True, max_stays=400 if args.quick else None
        )
    n_folds = 2 if args.quick else 5
    folds = list(
        StratifiedKFold(n_folds, shuffle=True, random_state=0).split(
            np.zeros(len(y)), y
        )
    )
    return X, y, folds


def select(X, y, folds, quick):
    """Compare the designs on an inner split of fold 0's training data."""
    train = folds[0][0]
    fit_idx, valid_idx = train_test_split(
        train, test_size=VALIDATION, stratify=y[train], random_state=0
    )
    X_fit, y_fit = _take(X, fit_idx), y[fit_idx]
    X_valid, y_valid = _take(X, valid_idx), y[valid_idx]
    rows = {}

    model, cpu = _cpu(summaries_model().fit, X_fit, y_fit)
    rows["summaries"] = {"auc": _auc(model, X_valid, y_valid), "fit_cpu_s": cpu}
    final = _cpu(network(quick).fit, X_fit, y_fit)
    net = final[0]
    rows["cfc"] = {
        "auc": _auc(net, X_valid, y_valid),
        "auc_on_its_training_data": _auc(net, X_fit, y_fit),
        "fit_cpu_s": final[1],
    }
    print(f"  selection: {_line('summaries', rows)}, {_line('cfc', rows)}", flush=True)
    parts = cross_fit(X_fit, y_fit, quick)  # shared by both cross-fitted designs
    for design in DESIGNS:
        model, cpu = fit_pipeline(design, X_fit, y_fit, quick, final=final, parts=parts)
        rows[design] = {"auc": _auc(model, X_valid, y_valid), "fit_cpu_s": cpu}
        if design == "held_out":
            net_a = model[0].transformer_list[0][1].estimator
            rows[design]["network_auc"] = _auc(net_a, X_valid, y_valid)
        print(f"  selection: {_line(design, rows)}", flush=True)
    for row in rows.values():
        for key, value in row.items():
            row[key] = round(value, 4 if "auc" in key else 1)
    return {
        "split": f"fold 0's training data ({len(train)} stays): "
        f"train_test_split(test_size={VALIDATION}, stratify=y, random_state=0), "
        f"{len(fit_idx)} to fit, {len(valid_idx)} to validate",
        "held_out": HELD_OUT,
        "cross_fit": CROSS_FIT,
        "results": rows,
    }


def _line(name, rows):
    row = rows[name]
    return f"{name} AUC {row['auc']:.4f} ({row['fit_cpu_s']:.0f} CPU-s)"


def cross_validate(X, y, folds, quick):
    """The three models on every fold."""
    rows = []
    for k, (train, test) in enumerate(folds):
        X_train, y_train = _take(X, train), y[train]
        X_test, y_test = _take(X, test), y[test]
        row = {"fold": k}
        model, cpu = _cpu(summaries_model().fit, X_train, y_train)
        row["summaries"] = {"auc": _auc(model, X_test, y_test), "fit_cpu_s": cpu}
        final = _cpu(network(quick).fit, X_train, y_train)
        row["cfc"] = {
            "auc": _auc(final[0], X_test, y_test),
            "fit_cpu_s": final[1],
            "epochs": final[0].n_iter_,
        }
        model, cpu = fit_pipeline(DESIGN, X_train, y_train, quick)
        row["pipeline"] = {"auc": _auc(model, X_test, y_test), "fit_cpu_s": cpu}
        for name in ("summaries", "cfc", "pipeline"):
            row[name]["auc"] = round(row[name]["auc"], 6)
            row[name]["fit_cpu_s"] = round(row[name]["fit_cpu_s"], 1)
        shown = ", ".join(_line(n, row) for n in ("summaries", "cfc", "pipeline"))
        print(f"  fold {k}: {shown}", flush=True)
        rows.append(row)
    mean = {
        name: {
            "auc": round(float(np.mean([r[name]["auc"] for r in rows])), 6),
            "auc_std": round(float(np.std([r[name]["auc"] for r in rows])), 6),
            "fit_cpu_s": round(float(np.mean([r[name]["fit_cpu_s"] for r in rows])), 1),
        }
        for name in ("summaries", "cfc", "pipeline")
    }
    return {"design": DESIGN, "folds": rows, "mean": mean}


def format_table(cv):
    names = ("summaries", "cfc", "pipeline")
    lines = [
        "| fold | HGB on summaries | CfCClassifier | HGB on CfC features + summaries |",
        "|---|---|---|---|",
    ]
    for row in cv["folds"]:
        cells = [
            f"{row[n]['auc']:.4f} ({row[n]['fit_cpu_s']:.0f} CPU-s)" for n in names
        ]
        lines.append(f"| {row['fold']} | " + " | ".join(cells) + " |")
    mean = cv["mean"]
    cells = [f"{mean[n]['auc']:.4f} ({mean[n]['fit_cpu_s']:.0f} CPU-s)" for n in names]
    lines.append("| mean | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--physionet-path", default=None, help="folder with set-b")
    p.add_argument(
        "--select",
        action="store_true",
        help="compare the pipeline designs on fold 0's inner split only",
    )
    p.add_argument("--quick", action="store_true", help="400 stays, 2 folds, 3 epochs")
    p.add_argument("--output", type=Path, default=None, help="the JSON file")
    args = p.parse_args(argv)
    if args.output is None:
        name = "features_quick.json" if args.quick else "features.json"
        args.output = RESULTS_DIR / name
    return args


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(1)
    limits = threadpool_limits(1)
    X, y, folds = load(args)
    report = {}
    if args.output.exists():
        report = json.loads(args.output.read_text(encoding="utf-8"))
    part = "selection" if args.select else "cv"
    print(f"physionet2012 set B: {len(y)} stays, {part} ...", flush=True)
    start = time.perf_counter()
    if args.select:
        record = select(X, y, folds, args.quick)
    else:
        record = cross_validate(X, y, folds, args.quick)
    record["wall_s"] = round(time.perf_counter() - start, 1)
    record["command"] = " ".join(["python benchmarks/features.py", *sys.argv[1:]])
    record["date"] = datetime.datetime.now(datetime.timezone.utc).isoformat(
        timespec="seconds"
    )
    report.update(
        dataset="physionet2012",
        source="PhysioNet/CinC Challenge 2012, set B (in-hospital death)",
        metric="roc_auc",
        split=f"StratifiedKFold({len(folds)}, shuffle=True, random_state=0)",
        n_instances=len(y),
        n_positive=int(y.sum()),
    )
    report[part] = record
    report["machine"] = machine_info(
        ("sklearn-cfc", "torch", "skorch", "scikit-learn", "numpy", "pandas"),
        threads=1,
    )
    if not args.select:
        print()
        print(format_table(record))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {args.output}")
    limits.restore_original_limits()
    return 0


if __name__ == "__main__":
    sys.exit(main())
