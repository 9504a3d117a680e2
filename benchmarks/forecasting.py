"""Forecasting benchmark: CfCForecaster with its defaults next to sktime baselines.

What it measures
----------------
Issue 12's forecasting table. For every seed of ``--seeds`` (0, 1, 2),
``CfCForecaster(random_state=seed)`` with its defaults (nothing else set) is
fitted on the training part with ``fh = 1..h`` and forecasts the ``h``
held-out points at once. Baselines, fitted in the same run on the same split
(per series on the panel): naive (``NaiveForecaster(strategy="last")``),
seasonal naive (``NaiveForecaster(strategy="last", sp=sp)``, only where there
is a season), drift (``NaiveForecaster(strategy="drift")``),
``ThetaForecaster(sp=sp)`` (deseasonalised only where there is a season,
multiplicatively where the training part is positive, additively otherwise)
and ``AutoETS(auto=True, sp=sp, n_jobs=1)`` (skipped when statsmodels is not
installed). Scores: sMAPE (``mean_absolute_percentage_error(symmetric=True)``,
a fraction from 0 to 2) and MASE (``mean_absolute_scaled_error`` with ``sp``
and ``y_train``: scaled by the in-sample error of seasonal naive, of naive
where there is no season); on the panel, averaged over series. For CfC, each
seed's scores, the worst, the mean and the spread (worst - best), and fit
CPU seconds (``time.process_time``) and wall seconds; every baseline's fit
times and errors are recorded too.

``airline``    sktime's airline passengers (144 months), sp 12, the last 36
               months held out (as the issue's probe: three seasons).
``shampoo``    ShampooSales (36 months), sp 12, the last 12 months held out:
               one full season, the last of three years (the last 20% would
               be 7 months, not a whole season).
``lynx``       Lynx trappings (114 years, 1821-1934), no season: the cycle of
               about ten years is not a fixed period, so naive stands in for
               seasonal naive, Theta is not deseasonalised, AutoETS has no
               seasonal part and MASE is scaled by naive. The last 14 years
               (1921-1934) are held out, the split of Zhang (2003) that much
               of the later literature on this set follows; it spans more than
               one cycle.
``pbs``        sktime's ``load_PBS_dataset`` as a panel: one global CfC model
               fitted on every series at once, the baselines fitted per series,
               scores averaged over series; sp 12, the last 12 months of every
               series held out (one season, as for ShampooSales). sktime
               (1.2) ships PBS_dataset as ONE series, not a panel: monthly
               scripts of immune sera and immunoglobulins, 204 months, 44%
               zero, zero in each of the last 42 months. Its held-out months
               are therefore all zero, where sMAPE is 0 for a forecast of
               exactly 0 and 2 for any other: only MASE tells models apart
               there (the record counts such series). The code path takes a
               pd-multiindex panel of any number of series.

Targets (issue 12, worst seed, defaults), printed and recorded as met or not:
every single series below seasonal naive by sMAPE (naive for Lynx); the PBS
panel at or below per-series Theta (sMAPE). Aims: airline below Theta, then
below AutoETS; the PBS panel at or below per-series AutoETS.

``airline`` also keeps, for reference, the settings hand-tuned for the
airline set before issue 12 (``AIRLINE_PARAMS``, on the raw series and inside
``TransformedTargetForecaster([LogTransformer, CfCForecaster])``): each seed
scored on a validation split carved from the training part (fit on the first
72 months, forecast the 36 before the test period; the settings were chosen
there, ``--tune`` reruns the search) and on the test months, next to the
baselines' validation sMAPE. These are what a practitioner picked instead of
the defaults.

``physionet``  PhysioNet/CinC 2012 set B, heart rate (HR) and invasive mean
               arterial pressure (MAP): from the first 36 hours of a stay,
               forecast both at the times they were actually measured in
               hours 36-48. One global ``CfCForecaster`` is fitted on hours
               0-36 of a random subset of stays (1,000; ``--quick``: 200);
               held-out stays (500; ``--quick``: 100) are then forecast, each
               at its own measurement times (absolute ``fh``). Reports the MAE
               of HR and MAP next to last value carried forward and a
               per-stay least-squares line through hours 0-36, and the
               empirical coverage of the 80% interval. Skipped when the data
               is absent (``--data``, ``$SKLEARN_CFC_DATA`` or
               ``../shared/data`` next to the repository).
``scaling``    Fit time of the global model over a panel of n series (250,
               500, 1,000, 2,000; ``--quick``: 100, 200, 400) with a fixed
               number of epochs: PhysioNet stays (hours 0-36, HR and MAP) when
               the data is there, otherwise synthetic irregular series of
               similar length. Time per series should stay flat (linear
               growth).

Time is in integer minutes since admission for PhysioNet: sktime accepts
integer, period and datetime time indices in a panel but not float hours.
``CfCForecaster.predict`` uses one ``fh`` for every series it holds, so the
held-out stays are added with ``update(..., update_params=False)`` (no
training) and then forecast one ``predict_quantiles`` call per stay; the
forecasts of the other series in each call are discarded.

Where the data come from: airline, ShampooSales, Lynx and PBS_dataset ship
with sktime (no download); PhysioNet as said above.

``torch.set_num_threads`` is set to ``--threads`` (default 1) before anything
runs. Prints a table per dataset and a markdown table of the forecasting sets
(stored in the JSON as ``table``), and writes ``results/forecasting.json``;
``--quick`` (seed 0 only, CfC ``max_epochs=2``, the smaller PhysioNet and
scaling runs) writes ``results/forecasting_quick.json`` instead, so that it
never overwrites real results. Running a subset of datasets updates only
their entries in the JSON file.

Run from the repository root::

    python benchmarks/forecasting.py                  # everything
    python benchmarks/forecasting.py --quick          # smoke run
    python benchmarks/forecasting.py airline lynx --seeds 0
    python benchmarks/forecasting.py airline --tune   # rerun the settings search
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import os
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from _machine import machine_info

from sklearn_cfc import CfCForecaster

HERE = Path(__file__).resolve().parent

# The forecasting sets of issue 12: sktime loader, held-out points h (of every
# series on a panel), season sp (1: none), whether it is a panel (one global
# CfC model over every series), and the targets as (kind, baseline, relation)
# on the worst seed's sMAPE.
FORECASTING = {
    "airline": dict(
        loader="load_airline",
        h=36,
        sp=12,
        panel=False,
        targets=[
            ("must", "seasonal_naive", "<"),
            ("aim", "theta", "<"),
            ("aim", "autoets", "<"),
        ],
    ),
    "shampoo": dict(
        loader="load_shampoo_sales",
        h=12,
        sp=12,
        panel=False,
        targets=[("must", "seasonal_naive", "<")],
    ),
    "lynx": dict(
        loader="load_lynx", h=14, sp=1, panel=False, targets=[("must", "naive", "<")]
    ),
    "pbs": dict(
        loader="load_PBS_dataset",
        h=12,
        sp=12,
        panel=True,
        targets=[("must", "theta", "<="), ("aim", "autoets", "<=")],
    ),
}
DATASETS = (*FORECASTING, "physionet", "scaling")
BASELINES = ("naive", "seasonal_naive", "drift", "theta", "autoets")
QUICK_CFC_PARAMS = dict(max_epochs=2)  # --quick only; a real run sets nothing

# Hand-tuned before issue 12, kept for reference next to the defaults. Chosen
# on the airline validation split (fit on months 1-72, forecast months
# 73-108), never on the test months: the whole AIRLINE_GRID with seed 0, then
# the best four settings per target again with seeds 0, 1 and 2; these had
# the lowest mean validation sMAPE (log: 0.086, raw: 0.173; seasonal naive
# 0.304 and Theta 0.177 on the same split). ``--tune`` reruns the grid with
# the ``--seeds`` seeds.
AIRLINE_PARAMS = {
    "raw": dict(context_length=36, horizon=None, units=32, learning_rate=5e-3),
    "log": dict(context_length=36, horizon=12, units=32, learning_rate=5e-3),
}
AIRLINE_FIXED = dict(max_epochs=150, n_iter_no_change=200, device="cpu")
AIRLINE_GRID = dict(
    context_length=[12, 24, 36],
    horizon=[None, 12],
    units=[32, 64],
    learning_rate=[5e-3, 1e-2],
)

# Hand-set: about 45 observed times per stay in hours 0-36 and 11 in hours
# 36-48, so the network reads 32 past observations and learns to forecast the
# next 12.
PHYSIONET_PARAMS = dict(
    context_length=32,
    horizon=12,
    units=32,
    backbone_units=64,
    batch_size=128,
    max_epochs=15,
    n_iter_no_change=15,
    device="cpu",
)
SCALING_PARAMS = dict(
    context_length=32,
    horizon=12,
    units=32,
    backbone_units=64,
    batch_size=128,
    max_epochs=2,
    n_iter_no_change=10,
    device="cpu",
)


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def _clocked(fn):
    """CPU seconds, wall seconds and result of ``fn()``."""
    cpu, wall = time.process_time(), time.perf_counter()
    out = fn()
    return time.process_time() - cpu, time.perf_counter() - wall, out


def _smape(y_true, y_pred):
    from sktime.performance_metrics.forecasting import (
        mean_absolute_percentage_error,
    )

    return float(mean_absolute_percentage_error(y_true, y_pred, symmetric=True))


def _mase(y_true, y_pred, y_train, sp):
    from sktime.performance_metrics.forecasting import mean_absolute_scaled_error

    return float(mean_absolute_scaled_error(y_true, y_pred, y_train=y_train, sp=sp))


def _table(rows, columns):
    """Print a list of dicts as an aligned text table."""
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    print("  ".join(f"{c:<{w}}" for c, w in zip(columns, widths, strict=False)))
    for r in cells:
        print("  ".join(f"{v:<{w}}" for v, w in zip(r, widths, strict=False)))


def _cell(value):
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 100 else f"{value:.1f}"
    return str(value)


# ---------------------------------------------------------------- forecasting
def _load(name):
    """The set as {series key: pd.Series}, one entry for a single series."""
    import sktime.datasets

    y = getattr(sktime.datasets, FORECASTING[name]["loader"])()
    if isinstance(y, pd.DataFrame) and isinstance(y.index, pd.MultiIndex):
        column = y.columns[0]
        return {key: part.droplevel(0)[column] for key, part in y.groupby(level=0)}
    if isinstance(y, pd.DataFrame):
        y = y.iloc[:, 0]
    return {name: y.astype(float)}


def _baseline(key, sp, train):
    """A fresh baseline ``key`` for one training series, None if not applicable."""
    from sktime.forecasting.naive import NaiveForecaster
    from sktime.forecasting.theta import ThetaForecaster

    if key == "naive":
        return NaiveForecaster(strategy="last")
    if key == "seasonal_naive":
        return NaiveForecaster(strategy="last", sp=sp) if sp > 1 else None
    if key == "drift":
        return NaiveForecaster(strategy="drift")
    if key == "theta":
        # multiplicative deseasonalisation divides by the seasonal index
        model = "multiplicative" if (train > 0).all() else "additive"
        return ThetaForecaster(sp=sp, deseasonalize=sp > 1, deseasonalize_model=model)
    if key == "autoets":
        from sktime.forecasting.ets import AutoETS

        return AutoETS(auto=True, sp=sp, n_jobs=1)
    raise ValueError(key)


def _baseline_label(key, sp):
    return {
        "naive": 'NaiveForecaster(strategy="last")',
        "seasonal_naive": f'NaiveForecaster(strategy="last", sp={sp})',
        "drift": 'NaiveForecaster(strategy="drift")',
        "theta": f"ThetaForecaster(sp={sp})",
        "autoets": f"AutoETS(auto=True, sp={sp}, n_jobs=1)",
    }[key]


def _has_statsmodels():
    try:
        import statsmodels  # noqa: F401
    except ImportError:
        return False
    return True


def _scores(splits, predictions, sp):
    """sMAPE and MASE averaged over the series that have a forecast."""
    smape, mase = [], []
    for key, (train, test) in splits.items():
        if key in predictions:
            smape.append(_smape(test, predictions[key]))
            mase.append(_mase(test, predictions[key], train, sp))
    if not smape:
        return None, None
    return statistics.mean(smape), statistics.mean(mase)


def _run_baseline(key, splits, sp, h):
    """Fit baseline ``key`` on every series; scores, fit times and errors."""
    fh = np.arange(1, h + 1)
    predictions, errors, cpu, wall = {}, {}, 0.0, 0.0
    for series, (train, _) in splits.items():
        model = _baseline(key, sp, train)
        if model is None:
            return None
        try:
            c, w, fitted = _clocked(lambda: model.fit(train, fh=fh))
            predictions[series] = fitted.predict()
        except Exception as exc:  # recorded, not fatal
            errors[str(series)] = f"{type(exc).__name__}: {exc}"
            continue
        cpu, wall = cpu + c, wall + w
    smape, mase = _scores(splits, predictions, sp)
    row = {
        "model": _baseline_label(key, sp),
        "smape": smape,
        "mase": mase,
        "fit_cpu_s": cpu,
        "fit_wall_s": wall,
        "errors": errors or None,
    }
    if key == "theta" and sp > 1:
        row["additive_deseasonalisation"] = sum(
            not (train > 0).all() for train, _ in splits.values()
        )
    return row


def _run_cfc(splits, h, sp, panel, seed, params):
    """Fit one CfCForecaster (one global model on a panel); its scores."""
    fh = np.arange(1, h + 1)
    if panel:
        y = pd.concat(
            {key: train for key, (train, _) in splits.items()}, names=["series", "time"]
        ).to_frame("y")
    else:
        ((y, _),) = splits.values()
    forecaster = CfCForecaster(random_state=seed, **params)
    cpu, wall, _ = _clocked(lambda: forecaster.fit(y, fh=fh))
    predicted = forecaster.predict()
    if panel:
        predictions = {key: predicted.xs(key, level=0).iloc[:, 0] for key in splits}
    else:
        predictions = {next(iter(splits)): predicted}
    smape, mase = _scores(splits, predictions, sp)
    return {
        "seed": seed,
        "smape": smape,
        "mase": mase,
        "fit_cpu_s": cpu,
        "fit_wall_s": wall,
        "epochs": getattr(forecaster, "n_iter_", None),
    }


def _spread(values):
    return {
        "worst": max(values),
        "mean": statistics.mean(values),
        "spread": max(values) - min(values),
        "per_seed": values,
    }


def run_forecasting(name, args):
    spec = FORECASTING[name]
    h, sp, panel = spec["h"], spec["sp"], spec["panel"]
    series = _load(name)
    splits = {key: (y[:-h], y[-h:]) for key, y in series.items()}
    lengths = [len(y) for y in series.values()]
    all_zero = sum(bool((test == 0).all()) for _, test in splits.values())
    data = {
        "loader": spec["loader"],
        "series": len(series),
        "length_min": min(lengths),
        "length_max": max(lengths),
        "held_out": h,
        "sp": sp,
        "global_model": panel,
        "series_with_all_zero_test": all_zero,
    }

    baselines = {}
    for key in BASELINES:
        if key == "autoets" and not _has_statsmodels():
            print("statsmodels is not installed: AutoETS skipped")
            continue
        row = _run_baseline(key, splits, sp, h)
        if row is not None:
            baselines[key] = row

    params = QUICK_CFC_PARAMS if args.quick else {}
    runs = [_run_cfc(splits, h, sp, panel, seed, params) for seed in args.seeds]
    cfc = {
        "model": "CfCForecaster(random_state=seed)",
        "params": params,
        "seeds": args.seeds,
        "runs": runs,
        "smape": _spread([r["smape"] for r in runs]),
        "mase": _spread([r["mase"] for r in runs]),
        "fit_cpu_s": statistics.mean(r["fit_cpu_s"] for r in runs),
        "fit_wall_s": statistics.mean(r["fit_wall_s"] for r in runs),
    }

    targets = []
    worst = cfc["smape"]["worst"]
    for kind, against, relation in spec["targets"]:
        score = baselines.get(against, {}).get("smape")
        met = None
        if score is not None:
            met = worst < score if relation == "<" else worst <= score
        targets.append(
            {
                "kind": kind,
                "metric": "smape",
                "against": against,
                "relation": relation,
                "cfc_worst": worst,
                "baseline": score,
                "met": met,
                # every held-out value 0: sMAPE only says whether a forecast is 0
                "degenerate": all_zero == len(series),
            }
        )
    if panel:  # the same comparisons by MASE, for information
        for target in list(targets):
            score = baselines.get(target["against"], {}).get("mase")
            worst_mase = cfc["mase"]["worst"]
            targets.append(
                {
                    **target,
                    "kind": "info",
                    "metric": "mase",
                    "cfc_worst": worst_mase,
                    "baseline": score,
                    "met": None if score is None else worst_mase <= score,
                    "degenerate": False,
                }
            )

    what = f"{len(series)} series, one global model" if panel else "single series"
    print(
        f"\n{name}: {what}, last {h} points held out, sp={sp}; "
        f"CfC seeds {args.seeds}" + (f", params {params}" if params else "")
    )
    if all_zero:
        print(
            f"  {all_zero} of {len(series)} series are all zero in the held-out "
            "part: sMAPE is 0 for a forecast of exactly 0 and 2 otherwise"
        )
    rows = [{"model": row["model"], **row} for row in baselines.values()]
    rows += [{"model": f"CfCForecaster(random_state={r['seed']})", **r} for r in runs]
    _table(rows, ["model", "smape", "mase", "fit_cpu_s", "fit_wall_s", "epochs"])
    for key, row in baselines.items():
        if row["errors"]:
            print(f"  {key} failed on {len(row['errors'])} series: {row['errors']}")
    for metric in ("smape", "mase"):
        s = cfc[metric]
        print(
            f"CfC {metric}: worst {s['worst']:.4f}, mean {s['mean']:.4f}, "
            f"spread {s['spread']:.4f}"
        )
    for t in targets:
        label = {True: "met", False: "NOT met", None: "n/a"}[t["met"]]
        if t["degenerate"]:
            label += " (degenerate: every held-out value is 0)"
        print(
            f"{t['kind']}: CfC worst {t['metric']} {t['cfc_worst']:.4f} "
            f"{t['relation']} {t['against']} {_cell(t['baseline'])}: {label}"
        )

    result = {
        "data": data,
        "baselines": baselines,
        "cfc": cfc,
        "targets": targets,
    }
    if name == "airline":
        result["tuned"] = _airline_tuned(series["airline"], args)
    return result


# ------------------------------------------------- airline, tuned (reference)
def _cfc(target, params, seed, fixed=AIRLINE_FIXED):
    from sktime.forecasting.compose import TransformedTargetForecaster
    from sktime.transformations.series.boxcox import LogTransformer

    forecaster = CfCForecaster(**params, **fixed, random_state=seed)
    if target == "log":
        return TransformedTargetForecaster(
            [("log", LogTransformer()), ("cfc", forecaster)]
        )
    return forecaster


def _score(make, train, test, sp=12):
    """sMAPE, MASE and fit CPU seconds of one model forecasting ``test``."""
    fh = np.arange(1, len(test) + 1)
    cpu, _, forecaster = _clocked(lambda: make().fit(train, fh=fh))
    predicted = forecaster.predict()
    return _smape(test, predicted), _mase(test, predicted, train, sp), cpu


def _airline_tuned(y, args):
    """The pre-issue-12 hand-tuned settings, on the validation and test split."""
    train, test = y[:-36], y[-36:]
    valid_train, valid = train[:-36], train[-36:]
    fixed = dict(AIRLINE_FIXED, max_epochs=2) if args.quick else AIRLINE_FIXED
    result = {
        "split": "train months 1-108, test 109-144; valid: 1-72 -> 73-108",
        "fixed": fixed,
    }
    if args.tune:
        result["search"] = _tune(valid_train, valid, args.seeds, fixed)

    baselines = {}
    for key in ("seasonal_naive", "theta", "autoets"):
        if key == "autoets" and not _has_statsmodels():
            continue
        make = functools.partial(_baseline, key, 12, valid_train)
        smape, _, _ = _score(make, valid_train, valid)
        baselines[_baseline_label(key, 12)] = smape
    result["baselines_valid_smape"] = baselines

    rows = []
    for target in ("raw", "log"):
        params = AIRLINE_PARAMS[target]
        valid_smape, test_smape, test_mase, fit_cpu = [], [], [], []
        for seed in args.seeds:
            make = lambda: _cfc(target, params, seed, fixed)  # noqa: E731
            valid_smape.append(_score(make, valid_train, valid)[0])
            smape, mase, cpu = _score(make, train, test)
            test_smape.append(smape)
            test_mase.append(mase)
            fit_cpu.append(cpu)
        rows.append(
            {
                "model": "CfCForecaster" if target == "raw" else "log -> CfCForecaster",
                "params": {**params, **fixed},
                "seeds": args.seeds,
                "valid_smape_per_seed": valid_smape,
                "test_smape_per_seed": test_smape,
                "test_mase_per_seed": test_mase,
                "fit_cpu_s_per_seed": fit_cpu,
                "valid_smape_mean": statistics.mean(valid_smape),
                "test_smape_worst": max(test_smape),
                "test_smape_mean": statistics.mean(test_smape),
                "test_mase_worst": max(test_mase),
            }
        )
    result["models"] = rows

    print("\nairline, hand-tuned settings (reference, not the defaults):")
    print(
        "  baselines' validation sMAPE: "
        + ", ".join(f"{k} {v:.4f}" for k, v in baselines.items())
    )
    _table(
        rows,
        [
            "model",
            "valid_smape_mean",
            "test_smape_worst",
            "test_smape_mean",
            "test_mase_worst",
        ],
    )
    for row in rows:
        print(f"  {row['model']} settings: {row['params']}")
    return result


def _tune(valid_train, valid, seeds, fixed):
    """Mean validation sMAPE of every grid point, for both targets."""
    rows = []
    keys = list(AIRLINE_GRID)
    for target in ("raw", "log"):
        for values in itertools.product(*AIRLINE_GRID.values()):
            params = dict(zip(keys, values, strict=False))
            scores = [
                _score(lambda: _cfc(target, params, s, fixed), valid_train, valid)[0]
                for s in seeds
            ]
            rows.append(
                {"target": target, **params, "valid_smape": statistics.mean(scores)}
            )
    rows.sort(key=lambda row: (row["target"], row["valid_smape"]))
    print(f"\nairline settings search: validation sMAPE, mean over seeds {seeds}")
    _table(rows, ["target", *keys, "valid_smape"])
    for target in ("raw", "log"):
        best = next(row for row in rows if row["target"] == target)
        print(f"best {target}: {best}")
    return rows


def _target_text(t):
    text = f"{t['kind']}: {t['metric']} {t['relation']} {t['against']} "
    text += {True: "met", False: "not met", None: "n/a"}[t["met"]]
    return text + (" (degenerate, all-zero test)" if t.get("degenerate") else "")


def _markdown_table(results):
    """One row per forecasting set: CfC (worst / mean / spread) and baselines."""
    names = [n for n in FORECASTING if "cfc" in results.get(n, {})]
    if not names:
        return ""
    header = [
        "dataset",
        "h",
        "CfC sMAPE worst / mean / spread",
        "CfC MASE worst / mean / spread",
        "naive",
        "seasonal naive",
        "drift",
        "Theta",
        "AutoETS",
        "CfC fit CPU-s",
        "target (worst seed)",
    ]
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    for name in names:
        r = results[name]
        s, m = r["cfc"]["smape"], r["cfc"]["mase"]
        label = name
        if r["data"]["global_model"]:
            label = f"{name} ({r['data']['series']} series, one model)"
        cells = [
            label,
            str(r["data"]["held_out"]),
            f"{s['worst']:.3f} / {s['mean']:.3f} / {s['spread']:.3f}",
            f"{m['worst']:.3f} / {m['mean']:.3f} / {m['spread']:.3f}",
        ]
        for key in BASELINES:
            b = r["baselines"].get(key)
            if b is None or b["smape"] is None:
                cells.append("-")
            else:
                cells.append(f"{b['smape']:.3f} / {b['mase']:.3f}")
        cells.append(f"{r['cfc']['fit_cpu_s']:.1f}")
        cells.append("; ".join(_target_text(t) for t in r["targets"]))
        lines.append("| " + " | ".join(cells) + " |")
    seeds = {n: results[n]["cfc"]["seeds"] for n in names}
    lines.append(
        "\nBaselines: sMAPE / MASE on the same split (per series, averaged, on a "
        "panel). CfC: CfCForecaster(random_state=seed), defaults"
        + (
            ""
            if not results[names[0]]["cfc"]["params"]
            else " except " + str(results[names[0]]["cfc"]["params"])
        )
        + f"; seeds {seeds}."
    )
    return "\n".join(lines)


# ------------------------------------------------------------------ physionet
def _physionet_archive(path):
    if path is not None:
        return Path(path) if Path(path).exists() else None
    root = os.environ.get("SKLEARN_CFC_DATA")
    root = Path(root) if root else HERE.parent.parent / "shared" / "data"
    archive = root / "physionet2012" / "set-b.tar.gz"
    return archive if archive.exists() else None


@functools.lru_cache(maxsize=1)
def load_vitals(archive):
    """HR and MAP of every stay: (RecordID, minute) rows, NaN where not measured."""
    from sklearn_cfc.datasets import load_physionet2012

    data = load_physionet2012(archive, return_type="multiindex").data
    y = data[["HR", "MAP"]].dropna(how="all")
    hours = y.index.get_level_values("Time").to_numpy()
    minutes = np.rint(hours * 60).astype(np.int64)
    y.index = pd.MultiIndex.from_arrays(
        [y.index.get_level_values("RecordID"), minutes], names=["RecordID", "minute"]
    )
    return y.groupby(level=[0, 1]).mean()


def _split_stays(y, n_train, n_test, seed=0):
    """Context (hours 0-36) and future (36-48), and random train/test stays."""
    minute = y.index.get_level_values("minute")
    context, future = y[minute < 36 * 60], y[minute >= 36 * 60]
    hr_before = context["HR"].notna().groupby(level=0).sum()
    hr_after = future["HR"].notna().groupby(level=0).sum()
    hr_after = hr_after.reindex(hr_before.index, fill_value=0)
    usable = hr_before.index[(hr_before >= 2) & (hr_after >= 1)]
    stays = np.random.default_rng(seed).permutation(usable.to_numpy())
    if n_train + n_test > len(stays):
        raise ValueError(f"only {len(stays)} usable stays")
    return context, future, stays[:n_train], stays[n_train : n_train + n_test]


def _baseline_forecasts(history, times):
    """Last value carried forward and a least-squares line, per variable."""
    locf, trend = {}, {}
    for column in history.columns:
        observed = history[column].dropna()
        if observed.empty:
            locf[column] = trend[column] = np.full(len(times), np.nan)
            continue
        locf[column] = np.full(len(times), observed.iloc[-1])
        t = observed.index.to_numpy(dtype=np.float64) / 60.0
        if len(observed) >= 2 and np.ptp(t) > 0:
            slope, intercept = np.polyfit(t, observed.to_numpy(), 1)
            trend[column] = intercept + slope * np.asarray(times) / 60.0
        else:
            trend[column] = locf[column]
    return locf, trend


def run_physionet(args):
    from sktime.forecasting.base import ForecastingHorizon

    archive = _physionet_archive(args.data)
    if archive is None:
        print("\nphysionet: data not found, skipped (see --data)")
        return {"skipped": "data not found"}
    n_train, n_test = (200, 100) if args.quick else (1000, 500)
    y = load_vitals(archive)
    context, future, train, test = _split_stays(y, n_train, n_test)
    params = dict(PHYSIONET_PARAMS, max_epochs=5 if args.quick else 15)
    forecaster = CfCForecaster(**params, random_state=0)
    fit_s, _ = _timed(lambda: forecaster.fit(context.loc[train]))

    start = time.perf_counter()
    # add the held-out stays' hours 0-36 without training on them
    forecaster.update(context.loc[test], update_params=False)
    columns = list(y.columns)
    records = []  # (variable, truth, cfc, lower, upper, locf, trend)
    for stay in test:
        truth = future.loc[stay]
        fh = ForecastingHorizon(pd.Index(truth.index), is_relative=False)
        q = forecaster.predict_quantiles(fh=fh, alpha=[0.1, 0.5, 0.9]).loc[stay]
        locf, trend = _baseline_forecasts(context.loc[stay], truth.index)
        for column in columns:
            seen = truth[column].notna().to_numpy() & ~np.isnan(locf[column])
            if not seen.any():
                continue
            records.append(
                (
                    column,
                    truth[column].to_numpy()[seen],
                    q[(column, 0.5)].to_numpy()[seen],
                    q[(column, 0.1)].to_numpy()[seen],
                    q[(column, 0.9)].to_numpy()[seen],
                    locf[column][seen],
                    trend[column][seen],
                )
            )
    predict_s = time.perf_counter() - start

    rows = []
    for column in columns:
        parts = [r[1:] for r in records if r[0] == column]
        truth, cfc, lower, upper, locf, trend = map(
            np.concatenate, zip(*parts, strict=False)
        )
        rows.append(
            {
                "variable": column,
                "stays": len(parts),
                "points": len(truth),
                "mae_cfc": float(np.mean(np.abs(cfc - truth))),
                "mae_locf": float(np.mean(np.abs(locf - truth))),
                "mae_linear_trend": float(np.mean(np.abs(trend - truth))),
                "coverage_80": float(np.mean((lower <= truth) & (truth <= upper))),
                "mean_interval_width": float(np.mean(upper - lower)),
            }
        )
    print(
        f"\nphysionet set B: forecast HR and MAP in hours 36-48 from hours 0-36; "
        f"global model fitted on {n_train} stays in {fit_s:.1f} s "
        f"({forecaster.n_iter_} epochs), {n_test} held-out stays forecast "
        f"in {predict_s:.1f} s"
    )
    _table(
        rows,
        [
            "variable",
            "stays",
            "points",
            "mae_cfc",
            "mae_locf",
            "mae_linear_trend",
            "coverage_80",
        ],
    )
    checks = {}
    for row in rows:
        best = min(row["mae_locf"], row["mae_linear_trend"])
        checks[f"{row['variable']}_beats_baselines"] = {
            "ok": row["mae_cfc"] < best,
            "mae_cfc": row["mae_cfc"],
            "best_baseline": best,
        }
        checks[f"{row['variable']}_coverage_75_85"] = {
            "ok": 0.75 <= row["coverage_80"] <= 0.85,
            "coverage": row["coverage_80"],
        }
    for key, check in checks.items():
        print(f"{key}: {'ok' if check['ok'] else 'MISSED'}")
    return {
        "n_train_stays": n_train,
        "n_test_stays": n_test,
        "params": params,
        "random_state": 0,
        "epochs_run": forecaster.n_iter_,
        "fit_s": fit_s,
        "predict_s": predict_s,
        "variables": rows,
        "checks": checks,
    }


# -------------------------------------------------------------------- scaling
def _synthetic_panel(n_series, seed=0):
    """Irregular noisy oscillations, 40-50 observations each (minutes)."""
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(n_series):
        n = int(rng.integers(40, 51))
        t = np.cumsum(rng.integers(10, 90, size=n))
        value = 80 + 10 * np.sin(t / rng.uniform(100, 400)) + rng.normal(0, 2, n)
        index = pd.MultiIndex.from_arrays(
            [np.full(n, i), t], names=["series", "minute"]
        )
        frames.append(pd.DataFrame({"value": value}, index=index))
    return pd.concat(frames)


def run_scaling(args):
    sizes = [100, 200, 400] if args.quick else [250, 500, 1000, 2000]
    archive = _physionet_archive(args.data)
    if archive is not None:
        y = load_vitals(archive)
        context, _, stays, _ = _split_stays(y, max(sizes), 0)
        source = "PhysioNet set B stays, hours 0-36, HR and MAP"

        def panel(n):
            return context.loc[stays[:n]]
    else:
        source = "synthetic irregular series, 40-50 observations each"

        def panel(n):
            return _synthetic_panel(n)

    rows = []
    for n in sizes:
        y_n = panel(n)
        forecaster = CfCForecaster(**SCALING_PARAMS, random_state=0)
        seconds, _ = _timed(lambda: forecaster.fit(y_n))
        n_obs = int(y_n.notna().any(axis=1).sum())
        rows.append(
            {
                "n_series": n,
                "observations": n_obs,
                "epochs": forecaster.n_iter_,
                "fit_s": seconds,
                "ms_per_series": 1000 * seconds / n,
                "us_per_observation": 1e6 * seconds / n_obs,
            }
        )
    print(
        f"\nscaling: fit time of one global model, {SCALING_PARAMS['max_epochs']} "
        f"epochs, {source}"
    )
    _table(
        rows,
        [
            "n_series",
            "observations",
            "epochs",
            "fit_s",
            "ms_per_series",
            "us_per_observation",
        ],
    )
    per_obs = [row["us_per_observation"] for row in rows]
    spread = max(per_obs) / min(per_obs)
    check = {"max_over_min_time_per_observation": spread, "ok": spread < 1.5}
    print(
        f"linear growth: time per observation varies {spread:.2f}x "
        f"(target < 1.5x) {'ok' if check['ok'] else 'MISSED'}"
    )
    return {
        "source": source,
        "params": SCALING_PARAMS,
        "rows": rows,
        "checks": {"linear": check},
    }


# ----------------------------------------------------------------------- main
def _show_warning(show, message, category, *args, **kwargs):
    if not issubclass(category, FutureWarning):
        show(message, category, *args, **kwargs)


def _seeds(text):
    return [int(s) for s in text.split(",") if s.strip()]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "datasets", nargs="*", help=f"any of {', '.join(DATASETS)} (default: all)"
    )
    parser.add_argument("--quick", action="store_true", help="smaller, faster run")
    parser.add_argument(
        "--seeds",
        type=_seeds,
        default=None,
        help="comma-separated CfC random_state values (default 0,1,2; --quick 0)",
    )
    parser.add_argument(
        "--tune", action="store_true", help="airline: rerun the settings search"
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--data", default=None, help="path of set-b.tar.gz")
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="JSON file (default results/forecasting.json, "
        "--quick: results/forecasting_quick.json)",
    )
    args = parser.parse_args(argv)
    if args.seeds is None:
        args.seeds = [0] if args.quick else [0, 1, 2]
    if args.output is None:
        name = "forecasting_quick.json" if args.quick else "forecasting.json"
        args.output = HERE / "results" / name
    datasets = args.datasets or list(DATASETS)
    unknown = sorted(set(datasets) - set(DATASETS))
    if unknown:
        parser.error(f"unknown dataset(s) {unknown}; choose from {list(DATASETS)}")
    torch.set_num_threads(args.threads)
    print(f"torch threads: {torch.get_num_threads()}")

    runners = {
        **{name: functools.partial(run_forecasting, name) for name in FORECASTING},
        "physionet": run_physionet,
        "scaling": run_scaling,
    }
    results = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.filterwarnings("ignore", category=UserWarning)
        warnings.filterwarnings("ignore", module="sklearn")
        warnings.filterwarnings("ignore", module="statsmodels")
        # nanstd of a variable a stay never measured (MAP in about a third)
        warnings.filterwarnings("ignore", message="Degrees of freedom <= 0")
        # sktime (1.2) puts a "default" FutureWarning filter in front of these
        # each time it leaves its own suppression context, after which its
        # remember_data FutureWarning shows on every forecaster it builds
        warnings.showwarning = functools.partial(_show_warning, warnings.showwarning)
        for name in datasets:
            cpu, seconds, results[name] = _clocked(lambda: runners[name](args))
            results[name].update(seconds=seconds, cpu_seconds=cpu, quick=args.quick)

    output = {
        "benchmark": "forecasting",
        "config": {
            "datasets": datasets,
            "quick": args.quick,
            "seeds": args.seeds,
            "cfc_params": QUICK_CFC_PARAMS if args.quick else {},
            "torch_threads": torch.get_num_threads(),
        },
        "environment": machine_info(
            (
                "sklearn-cfc",
                "torch",
                "numpy",
                "pandas",
                "sktime",
                "statsmodels",
                "scikit-learn",
            )
        ),
        "results": results,
    }
    if args.output.exists() and set(datasets) != set(DATASETS):
        # keep the sections this run did not touch
        previous = json.loads(args.output.read_text())
        kept = previous.get("results", {})
        output["results"] = {**kept, **results}
        output["config"]["datasets"] = list(output["results"])
    output["table"] = _markdown_table(output["results"])
    if output["table"]:
        print("\n" + output["table"])
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(output, indent=2, default=str) + "\n")
    print(f"wrote {os.path.relpath(args.output)}")
    return output


if __name__ == "__main__":
    main()
