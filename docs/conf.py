"""Sphinx configuration for the sklearn-cfc documentation."""

import json
import os
from pathlib import Path

import sklearn_cfc

project = "sklearn-cfc"
author = "sklearn-cfc developers"
copyright = "2026, sklearn-cfc developers"
release = sklearn_cfc.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "matplotlib.sphinxext.plot_directive",
]
autosummary_generate = True
autodoc_default_options = {"inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py"]
templates_path = []
html_theme = "pydata_sphinx_theme"
html_title = "sklearn-cfc"
html_theme_options = {"navigation_with_keys": False}
plot_html_show_source_link = False
plot_html_show_formats = False
# Links into the docs of numpy, scikit-learn, sktime, ... need their
# inventories from the network; CI builds offline, so they are opt-in.
if os.environ.get("SKLEARN_CFC_DOCS_ONLINE"):
    extensions.append("sphinx.ext.intersphinx")
else:
    # labels of other projects (e.g. in docstrings inherited from
    # scikit-learn's mixins) cannot resolve without their inventories
    suppress_warnings = ["ref.ref"]
intersphinx_mapping = {
    "python": ("https://docs.python.org/3", None),
    "numpy": ("https://numpy.org/doc/stable", None),
    "pandas": ("https://pandas.pydata.org/docs", None),
    "sklearn": ("https://scikit-learn.org/stable", None),
    "sktime": ("https://www.sktime.net/en/stable", None),
    "skorch": ("https://skorch.readthedocs.io/en/stable", None),
    "torch": ("https://docs.pytorch.org/docs/stable", None),
}
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "within_subsection_order": "FileNameSortKey",
}

# --------------------------------------------------------------------------
# Benchmark tables are generated from benchmarks/results/*.json at build time,
# so the docs always show the numbers the scripts wrote.
RESULTS = Path(__file__).resolve().parent.parent / "benchmarks" / "results"
GENERATED = Path(__file__).resolve().parent / "_generated"


def _table(header, rows):
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for row in [header, *rows]:
        lines.append("   * - " + str(row[0]))
        lines += [f"     - {cell}" for cell in row[1:]]
    return "\n".join(lines) + "\n"


def _speed(file="speed.json"):
    data = json.loads((RESULTS / file).read_text())
    gpu = data["machine"].get("gpu")
    parts = []
    for setting in data["settings"]:
        s = setting["setting"]
        title = (
            f"{s['name']}: batch {s['batch']}, {s['steps']} steps, "
            f"{s['channels']} channels, {s['units']} units, backbone "
            f"{s['backbone']}, "
            + (f"on an {gpu}" if gpu else f"{s['threads']} thread(s)")
        )
        rows = []
        ours = setting["models"]["cfc"]["train_ms"]["median"]
        for model in setting["models"].values():
            train = model["train_ms"]["median"]
            rows.append(
                [
                    model["label"],
                    f"{train:.1f}",
                    f"{model['infer_ms']['median']:.2f}",
                    f"{train / ours:.2f}",
                ]
            )
        parts.append(f"**{title}**\n\n")
        parts.append(
            _table(["model", "train step (ms)", "inference (ms)", "x ours"], rows)
        )
        targets = [
            [t["target"], f"{t['value']:.2f}", t["status"]]
            for t in setting["targets"]
            if t["value"] is not None  # a model left out of the run
        ]
        parts.append("\n" + _table(["target", "measured", ""], targets) + "\n")
    return "\n".join(parts)


def _overhead():
    data = json.loads((RESULTS / "overhead.json").read_text())
    rows = [
        [
            r["dataset"],
            f"{r['wrapper_ms_per_epoch']:.1f}",
            f"{r['plain_ms_per_epoch']:.1f}",
            f"{r['ratio']:.3f}",
        ]
        for r in data["results"]
    ]
    header = ["data", "CfCClassifier (ms/epoch)", "plain torch (ms/epoch)", "ratio"]
    return _table(header, rows)


def _panel():
    data = json.loads((RESULTS / "panel.json").read_text())
    times = data["median_seconds"]
    base = next(v for k, v in times.items() if k.startswith("sktime"))
    rows = [[k, f"{1e3 * v:.1f}", f"{v / base:.2f}"] for k, v in times.items()]
    return _table(["conversion", "median (ms)", "x sktime"], rows)


def _accuracy():
    data = json.loads((RESULTS / "accuracy.json").read_text())
    columns = ("minirocket", "dtw", "ridge", "hgb", "mean")
    rows, older = [], []
    for r in data["results"].values():
        cfc = r["cfc"]
        if "worst" not in cfc:  # a record of the previous benchmark layout
            older.append(r["dataset"])
            continue
        base = r.get("baselines", {})
        target = r.get("target") or {}
        failed = [c["rule"] for c in target.get("checks", []) if not c["met"]]
        verdict = "met" if target.get("met") else "not met: " + ", ".join(failed)
        fit = cfc.get("fit_cpu_s_mean")
        per_fold = " per fold" if r["dataset"] == "physionet2012" else ""
        rows.append(
            [
                r["dataset"],
                r["metric"],
                f"{cfc['worst']:.3f}",
                f"{cfc['mean']:.3f}",
                f"{cfc['spread']:.3f}",
                *(f"{base[c]['score']:.3f}" if c in base else "--" for c in columns),
                "--" if fit is None else f"{fit:.1f}{per_fold}",
                verdict,
            ]
        )
    header = [
        "data",
        "metric",
        "CfC worst seed",
        "CfC mean",
        "seed spread",
        "MiniRocket",
        "1-NN DTW",
        "ridge",
        "trees",
        "train mean",
        "CfC fit CPU-s",
        "target",
    ]
    text = _table(header, rows) if rows else "No record of the current benchmark yet.\n"
    if older:
        text += "\nNot yet rerun with the current benchmark: " + ", ".join(older) + "\n"
    return text


def _forecasting():
    results = json.loads((RESULTS / "forecasting.json").read_text())["results"]
    parts = []
    names = ("naive", "seasonal_naive", "drift", "theta", "autoets")
    rows = []
    for key in ("airline", "shampoo", "lynx", "pbs"):
        r = results.get(key)
        if r is None or "cfc" not in r:
            continue
        smape, base = r["cfc"]["smape"], r["baselines"]
        rows.append(
            [
                key,
                r["data"]["held_out"],
                f"{smape['worst']:.3f} / {smape['mean']:.3f} / {smape['spread']:.3f}",
                *(f"{base[n]['smape']:.3f}" if n in base else "--" for n in names),
                f"{r['cfc']['fit_cpu_s']:.1f}",
            ]
        )
    if rows:
        header = [
            "series",
            "held out",
            "CfC worst / mean / spread",
            "naive",
            "seasonal naive",
            "drift",
            "Theta",
            "AutoETS",
            "CfC fit CPU-s",
        ]
        parts.append("**Defaults, three seeds (sMAPE)**\n\n")
        parts.append(_table(header, rows))
    elif "airline" in results and "models" in results["airline"]:
        rows = [
            [m["model"], f"{m['valid_smape']:.3f}", f"{m['test_smape']:.3f}"]
            for m in results["airline"]["models"]
        ]
        parts.append("**Airline, last 36 months held out (sMAPE)**\n\n")
        parts.append(_table(["model", "validation", "test"], rows))
    if "physionet" in results:
        rows = [
            [
                v["variable"],
                f"{v['mae_cfc']:.2f}",
                f"{v['mae_locf']:.2f}",
                f"{v['mae_linear_trend']:.2f}",
                f"{v['coverage_80']:.3f}",
            ]
            for v in results["physionet"]["variables"]
        ]
        header = ["variable", "CfC MAE", "last value", "linear trend", "80% coverage"]
        parts.append("\n**PhysioNet 2012, hours 36-48 from hours 0-36**\n\n")
        parts.append(_table(header, rows))
    if "scaling" in results:
        rows = [
            [r["n_series"], r["observations"], f"{r['fit_s']:.1f}"]
            for r in results["scaling"]["rows"]
        ]
        parts.append("\n**Fit time of the global model**\n\n")
        parts.append(_table(["series", "observations", "fit (s)"], rows))
    return "".join(parts)


def _memory():
    data = json.loads((RESULTS / "memory.json").read_text())
    rows = [
        [
            r["mode"],
            f"{r['n_series']:,}",
            f"{r['seconds']:.1f}",
            f"{r['us_per_series']:.0f}",
            f"{r['input_mib']:.0f}",
            f"{r['added_peak_mib']:.0f}",
            f"{r['process_peak_mib']:.0f}",
        ]
        for r in data["rows"]
    ]
    header = [
        "input",
        "series",
        "predict_proba (s)",
        "µs per series",
        "input (MiB)",
        "added peak (MiB)",
        "process peak (MiB)",
    ]
    return _table(header, rows)


def _distributed_search():
    data = json.loads((RESULTS / "distributed_search.json").read_text())
    rows = [
        [
            name,
            f"{run['median_s']:.1f}",
            f"{run['speed_up']:.2f}",
            f"{run['speed_up_without_refit']:.2f}",
        ]
        for name, run in data["results"].items()
    ]
    header = ["run", "median (s)", "speed-up", "speed-up without the refit"]
    return _table(header, rows)


def _write_benchmark_tables():
    GENERATED.mkdir(exist_ok=True)
    makers = [
        ("speed", _speed),
        ("speed_cuda", lambda: _speed("speed_cuda.json")),
        ("overhead", _overhead),
        ("panel", _panel),
        ("accuracy", _accuracy),
        ("forecasting", _forecasting),
        ("memory", _memory),
        ("distributed_search", _distributed_search),
    ]
    for name, make in makers:
        try:
            text = make()
        except FileNotFoundError:
            script = name.removesuffix("_cuda")
            text = f"*No results yet: run* ``python benchmarks/{script}.py``.\n"
        (GENERATED / f"{name}.rst").write_text(text)


_write_benchmark_tables()
