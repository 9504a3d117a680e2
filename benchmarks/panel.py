"""Speed of the panel input layer against sktime's own conversion.

Converts an equal-length panel (by default 20,000 instances x 100 steps x
8 channels) held as an sktime ``pd-multiindex`` frame, side by side in one
run:

- ``sktime.datatypes.convert_to(X, "numpy3D")`` (the reference);
- ``sklearn_cfc.panel.to_panel`` on the same frame (target: no slower);
- ``to_panel`` on the same data as a list of 20,000 DataFrames (target: at
  most 3x the reference);

plus, for information, numpy3D input, a ragged list with gaps and, when the
data is found, loading the 4,000 PhysioNet 2012 stays of set B. Each
measurement is the median of ``--repeats`` runs, the methods interleaved
within each repeat. Prints a table and writes ``results/panel.json``.

Run from the repository root::

    python benchmarks/panel.py
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _machine import machine_info

from sklearn_cfc.panel import to_panel

HERE = Path(__file__).resolve().parent


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def make_data(n, T, C, seed=0):
    rng = np.random.default_rng(seed)
    values = rng.standard_normal((n * T, C))
    columns = [f"c{j}" for j in range(C)]
    index = pd.MultiIndex.from_product(
        [np.arange(n), np.arange(T)], names=["instance", "time"]
    )
    multi = pd.DataFrame(values, index=index, columns=columns)
    frames = [
        pd.DataFrame(values[i * T : (i + 1) * T], columns=columns) for i in range(n)
    ]
    numpy3d = np.ascontiguousarray(values.reshape(n, T, C).transpose(0, 2, 1))
    # ragged and irregular: lengths T/2..T, float times, 20% missing values
    lengths = rng.integers(T // 2, T + 1, size=n)
    ragged = []
    for i, L in enumerate(lengths):
        block = values[i * T : i * T + L].copy()
        block[rng.random(block.shape) < 0.2] = np.nan
        times = np.cumsum(rng.exponential(1.0, size=L))
        ragged.append(pd.DataFrame(block, index=times, columns=columns))
    return multi, frames, numpy3d, ragged


def _physionet_archive():
    root = os.environ.get("SKLEARN_CFC_DATA")
    root = Path(root) if root else HERE.parent.parent / "shared" / "data"
    archive = root / "physionet2012" / "set-b.tar.gz"
    return archive if archive.exists() else None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-instances", type=int, default=20_000)
    parser.add_argument("--n-timepoints", type=int, default=100)
    parser.add_argument("--n-channels", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--output", type=Path, default=HERE / "results" / "panel.json")
    args = parser.parse_args(argv)

    from sktime.datatypes import convert_to

    n, T, C = args.n_instances, args.n_timepoints, args.n_channels
    multi, frames, numpy3d, ragged = make_data(n, T, C)

    # correctness first: the same numbers come out
    reference = convert_to(multi, "numpy3D")
    for X in (multi, frames, numpy3d):
        np.testing.assert_array_equal(
            to_panel(X).to_numpy3d(), reference.astype(np.float32)
        )

    cases = {
        "sktime convert_to(pd-multiindex -> numpy3D)": lambda: convert_to(
            multi, "numpy3D"
        ),
        "to_panel(pd-multiindex)": lambda: to_panel(multi),
        "to_panel(list of DataFrames)": lambda: to_panel(frames),
        "to_panel(numpy3D)": lambda: to_panel(numpy3d),
        "to_panel(ragged irregular list)": lambda: to_panel(ragged),
    }
    times = {name: [] for name in cases}
    for fn in cases.values():  # warm-up
        fn()
    for r in range(args.repeats):
        names = list(cases) if r % 2 == 0 else list(cases)[::-1]
        for name in names:
            times[name].append(_timed(cases[name])[0])

    archive = _physionet_archive()
    if archive is not None:
        from sklearn_cfc.datasets import load_physionet2012

        name = "load_physionet2012(set-b.tar.gz, 4000 stays)"
        times[name] = [_timed(lambda: load_physionet2012(archive))[0]]

    median = {name: statistics.median(ts) for name, ts in times.items()}
    ref = median["sktime convert_to(pd-multiindex -> numpy3D)"]
    ours_multi = median["to_panel(pd-multiindex)"]
    ours_list = median["to_panel(list of DataFrames)"]
    checks = {
        "multiindex_vs_sktime": {
            "ratio": ours_multi / ref,
            "target": "<= 1",
            "ok": ours_multi <= ref,
        },
        "list_vs_sktime": {
            "ratio": ours_list / ref,
            "target": "<= 3",
            "ok": ours_list <= 3 * ref,
        },
    }
    info = {"list_vs_our_multiindex": ours_list / ours_multi}

    width = max(len(name) for name in median)
    print(
        f"panel of {n:,} instances x {T} steps x {C} channels, "
        f"median of {args.repeats} repeats"
    )
    print(f"{'method':<{width}}  {'median s':>9}  {'x sktime':>8}")
    for name, value in median.items():
        print(f"{name:<{width}}  {value:9.4f}  {value / ref:8.2f}")
    for key, check in checks.items():
        verdict = "ok" if check["ok"] else "MISSED"
        print(f"{key}: {check['ratio']:.2f} (target {check['target']}) {verdict}")
    for key, ratio in info.items():
        print(f"{key}: {ratio:.2f} (for information)")

    result = {
        "benchmark": "panel conversion",
        "config": {
            "n_instances": n,
            "n_timepoints": T,
            "n_channels": C,
            "repeats": args.repeats,
        },
        "environment": machine_info(
            ("sklearn-cfc", "numpy", "pandas", "sktime", "scikit-learn")
        ),
        "median_seconds": median,
        "all_seconds": times,
        "checks": checks,
        "info": info,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {os.path.relpath(args.output)}")
    return result


if __name__ == "__main__":
    main()
