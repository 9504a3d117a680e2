"""
=====================================================
What drove one ICU stay's predicted risk of death
=====================================================

A CfC network reads every measurement of an ICU stay at the time it was
taken. Once it predicts a risk, two questions follow: which measurements,
taken when, raised or lowered that risk, and over how long a time does the
network remember what it read? :mod:`sklearn_cfc.inspection` answers both:
:func:`~sklearn_cfc.inspection.attributions` credits each prediction to the
observations of the stay by integrated gradients, and
:func:`~sklearn_cfc.inspection.time_constants` reads the time scale of each
unit of the network from its time gate.

This example trains :class:`~sklearn_cfc.CfCClassifier` on a subset of the
PhysioNet/CinC Challenge 2012 data (set B, the first 48 hours of ICU stays;
see :ref:`sphx_glr_auto_examples_plot_physionet_mortality.py`) and looks
inside it. Attributions need captum: ``pip install
"sklearn-cfc[inspection]"``.
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
from matplotlib.ticker import FormatStrFormatter
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from sklearn_cfc import CfCClassifier
from sklearn_cfc.datasets import load_physionet2012
from sklearn_cfc.inspection import attributions, plot_attributions, time_constants

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
# A quick model: 1,200 stays, 70% of them to train on, a small network and
# 10 epochs (the settings of the mortality example). It is not the best model
# these data allow, but it is what we want to look inside.
if X is not None:
    subset, _ = train_test_split(
        np.arange(len(X)), train_size=1200, stratify=y, random_state=0
    )
    train, test = train_test_split(
        subset, test_size=0.3, stratify=y[subset], random_state=0
    )
    X_train, X_test = [X[i] for i in train], [X[i] for i in test]
    y_train, y_test = y[train], y[test]
    cfc = CfCClassifier(
        units=32,
        backbone_units=64,
        learning_rate=1e-3,
        max_epochs=10,
        batch_size=64,
        random_state=0,
    )
    cfc.fit(X_train, y_train)
    risk = cfc.predict_proba(X_test)[:, 1]
    print(f"test ROC AUC {roc_auc_score(y_test, risk):.3f}")

# %%
# Pick one stay: the test stay the network finds most at risk. Its
# attributions explain the predicted probability of death (the positive
# class) against a baseline: the same stay with every measured value at its
# variable's mean in the training data, measured at the same times. The
# attributions of the stay's observations add up to its risk minus the
# baseline's risk, up to a small error of the numerical integral
# (``delta``).
if X is not None:
    pick = int(np.argmax(risk))
    stay = X_test[pick]
    print(f"stay {pick}: {len(stay)} time points, died: {bool(y_test[pick])}")
    attr, summary = attributions(cfc, [stay], return_summary=True)
    print(summary.round(3).to_string())
    print(f"{len(attr)} observations, attributions sum to {attr.attribution.sum():.3f}")

# %%
# Each observation is a cell of the heatmap: red ones raised the risk, blue
# ones lowered it. Each cell spans from halfway to the previous time point
# of the stay to halfway to the next one; the variables with the largest
# total attribution are on top.
if X is not None:
    ax = plot_attributions(attr, top=15)
    ax.set(xlabel="hours since admission", title=f"Stay {pick}: risk of death")
    plt.tight_layout()

# %%
# Summed per variable, the attributions say which measurements drove the
# risk; summed per hour since admission, when. An observation collects what
# it contributed until its variable was measured again, so a late value of a
# rarely measured variable weighs on every hour after it.
if X is not None:
    by_variable = attr.groupby("channel")["attribution"].sum()
    by_variable = by_variable[by_variable.abs().sort_values().index[-10:]]
    by_hour = attr.groupby(attr["time"].astype(int))["attribution"].sum()
    print("largest contributions:")
    print(by_variable[::-1].round(3).to_string())
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    colours = np.where(by_variable > 0, "tab:red", "tab:blue")
    left.barh(by_variable.index, by_variable, color=colours)
    left.set(xlabel="attribution to the risk", title="Which measurements")
    colours = np.where(by_hour > 0, "tab:red", "tab:blue")
    right.bar(by_hour.index, by_hour, color=colours, width=0.9)
    right.set(xlabel="hour since admission", ylabel="attribution", title="Which hours")
    fig.tight_layout()

# %%
# The time constants of the network's 32 units, from the time gate at every
# step the network takes on 300 training stays: how long, in hours, a unit
# takes to move from what it last read towards its long-gap value. The
# spread between units is what lets one network follow both fast vital
# signs and slow laboratory values.
if X is not None:
    tau = time_constants(cfc, X_train[:300])
    print(tau.sort_values("median").round(2).head(8).to_string())
    print(f"median over units: {tau['median'].median():.2f} hours")
    fig, ax = plt.subplots(figsize=(6, 4))
    order = tau.sort_values("median").reset_index(drop=True)
    ax.errorbar(
        order.index,
        order["median"],
        yerr=[order["median"] - order["q25"], order["q75"] - order["median"]],
        fmt="o",
        markersize=4,
    )
    ax.set(
        yscale="log",
        xlabel="unit (sorted)",
        ylabel="time constant (hours)",
        title="Time constants: median and quartiles over steps",
    )
    ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax.yaxis.set_minor_formatter(FormatStrFormatter("%g"))
    fig.tight_layout()
    plt.show()
