"""
======================================================
Predicting ICU mortality from irregular PhysioNet data
======================================================

The PhysioNet/CinC Challenge 2012 data hold the first 48 hours of 4,000 ICU
stays per set: 41 vital signs, lab values and descriptors, each measured
whenever the staff took it, so every variable has its own irregular times
and most values are missing. The task is to predict death in hospital.

This example trains :class:`sklearn_cfc.CfCClassifier` on the raw series of
a subset of set B and compares it with a common baseline: gradient-boosted
trees on a few summary statistics per variable. It is a quick look on one
split of 1,500 stays, not a benchmark; the 5-fold cross-validated comparison
on all stays lives in ``benchmarks/accuracy.py``.
"""

# %%
# Find the data. Set the environment variable ``SKLEARN_CFC_DATA`` to a folder
# holding ``physionet2012/set-b.tar.gz`` and ``physionet2012/Outcomes-b.txt``
# (``sklearn_cfc.datasets.fetch_physionet2012(folder, subset="b")`` downloads
# them there). Without it, the example looks for ``shared/data`` in the
# folder that holds the repository. If the files are missing, it says so and
# the cells below do nothing (they check rather than exit, so that a
# documentation build goes on).
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import RocCurveDisplay, roc_auc_score
from sklearn.model_selection import train_test_split

from sklearn_cfc import CfCClassifier
from sklearn_cfc.datasets import load_physionet2012

try:
    examples_dir = Path(__file__).resolve().parent
except NameError:  # sphinx-gallery runs examples from their folder
    examples_dir = Path.cwd()
default_home = examples_dir.parent.parent / "shared" / "data"
data_home = Path(os.environ.get("SKLEARN_CFC_DATA", default_home))
stays = data_home / "physionet2012" / "set-b.tar.gz"

if stays.exists():
    X, y = load_physionet2012(stays, return_X_y=True)
    print(f"{len(X)} stays, {X[0].shape[1]} variables, {y.mean():.1%} died")
else:
    X = y = None
    print(
        f"PhysioNet 2012 set B not found at {stays}. Set SKLEARN_CFC_DATA to "
        "the folder holding physionet2012/ to run this example; skipping it."
    )

# %%
# Each stay is a DataFrame indexed by hours since admission, with a column
# per variable and NaN wherever that variable was not measured at that time.
# We keep a stratified subset of 1,500 stays and split it 70/30.
if X is not None:
    print(X[0][["Age", "HR", "MAP", "Temp"]].head())
    subset, _ = train_test_split(
        np.arange(len(X)), train_size=1500, stratify=y, random_state=0
    )
    train, test = train_test_split(
        subset, test_size=0.3, stratify=y[subset], random_state=0
    )
    X_train, X_test = [X[i] for i in train], [X[i] for i in test]
    y_train, y_test = y[train], y[test]
    print(f"{len(train)} training stays, {len(test)} test stays")


# %%
# The baseline summarises every variable of a stay by six numbers: its first
# and last measured value, minimum, maximum, mean and the number of
# measurements (NaN when it was never measured, which the trees handle).
def summarize(frames):
    long = pd.concat(frames, keys=range(len(frames)), names=["stay", "hours"])
    stats = long.groupby(level="stay").agg(
        ["first", "last", "min", "max", "mean", "count"]
    )
    stats.columns = [f"{name}_{stat}" for name, stat in stats.columns]
    return stats


if X is not None:
    F_train, F_test = summarize(X_train), summarize(X_test)
    trees = HistGradientBoostingClassifier(random_state=0).fit(F_train, y_train)
    auc_trees = roc_auc_score(y_test, trees.predict_proba(F_test)[:, 1])
    print(f"{F_train.shape[1]} summary features; ROC AUC {auc_trees:.3f}")

# %%
# The CfC network reads the raw series one time point after another: the
# latest value of every variable, a flag for those measured at this time
# point, and the hours elapsed since the previous one. On about a thousand
# stays the network soon fits the training set almost perfectly and its test
# AUC drops, so we train a smaller one with a lower learning rate for 10
# epochs. These settings were picked by trying a few on this split, which
# flatters the network a little.
if X is not None:
    cfc = CfCClassifier(
        units=32,
        backbone_units=64,
        learning_rate=1e-3,
        max_epochs=10,
        batch_size=64,
        random_state=0,
    )
    cfc.fit(X_train, y_train)
    auc_cfc = roc_auc_score(y_test, cfc.predict_proba(X_test)[:, 1])
    print(f"CfC on the raw series: ROC AUC {auc_cfc:.3f}")

# %%
# Both ROC curves on the 450 test stays. With only about 65 deaths among
# them, differences of a few hundredths of AUC are within the noise of this
# split. On this small training set the trees on hand-made summaries are at
# least as good as the network on the raw series; see
# ``benchmarks/accuracy.py`` for the comparison on all stays with 5-fold
# cross-validation, where a soft vote of five networks that differ only in
# ``random_state`` (scikit-learn's ``VotingClassifier``) draws level with the
# trees.
if X is not None:
    fig, ax = plt.subplots(figsize=(5, 5))
    RocCurveDisplay.from_estimator(
        trees, F_test, y_test, ax=ax, name="Boosted trees on summaries"
    )
    RocCurveDisplay.from_estimator(
        cfc, X_test, y_test, ax=ax, name="CfC on raw series", plot_chance_level=True
    )
    ax.set_title("In-hospital death, held-out stays")
    fig.tight_layout()
    plt.show()
