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
    "sphinx.ext.mathjax",
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


def _speed():
    data = json.loads((RESULTS / "speed.json").read_text())
    parts = []
    for setting in data["settings"]:
        s = setting["setting"]
        title = (
            f"{s['name']}: batch {s['batch']}, {s['steps']} steps, "
            f"{s['channels']} channels, {s['units']} units, backbone "
            f"{s['backbone']}, {s['threads']} thread(s)"
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
            [t["target"], f"{t['value']:.2f}", t["status"]] for t in setting["targets"]
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


def _write_benchmark_tables():
    GENERATED.mkdir(exist_ok=True)
    for name, make in [("speed", _speed), ("overhead", _overhead), ("panel", _panel)]:
        try:
            text = make()
        except FileNotFoundError:
            text = f"*No results yet: run* ``python benchmarks/{name}.py``.\n"
        (GENERATED / f"{name}.rst").write_text(text)


_write_benchmark_tables()
