"""
=========================================
Tuning CfCClassifier with a grid search
=========================================

:class:`sklearn_cfc.CfCClassifier` is a scikit-learn estimator, so
:class:`~sklearn.model_selection.GridSearchCV` can tune it on irregular
series held as a list of DataFrames: the time stamps travel inside ``X`` and
every cross-validation split keeps them with their series. The toy task
below can only be solved by reading those time stamps.
"""

# %%
# Each series is a noisy sine observed at random times. "slow" series
# complete a cycle in 4 time units and "fast" ones in 2, but each series is
# observed at its own rate, 5 to 10 times per cycle whatever its class. Read
# one observation after another without the times, both classes look the
# same; only the time stamps tell them apart.
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, train_test_split

from sklearn_cfc import CfCClassifier

rng = np.random.default_rng(0)
X, y = [], []
for i in range(200):
    label = ["slow", "fast"][i % 2]
    period = 4.0 if label == "slow" else 2.0
    n_obs = rng.integers(20, 41)
    gaps = rng.exponential(period / rng.uniform(5, 10), size=n_obs)
    times = np.cumsum(gaps)
    phase = rng.uniform(0, 2 * np.pi)
    signal = np.sin(2 * np.pi * times / period + phase)
    signal += rng.normal(0, 0.1, size=n_obs)
    X.append(pd.DataFrame({"signal": signal}, index=pd.Index(times, name="time")))
    y.append(label)
y = np.array(y)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, stratify=y, random_state=0
)

# %%
# The first 15 observations of one series of each class, drawn against the
# observation number and against time. Only the right-hand picture tells
# them apart.
fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 3.5), sharey=True)
for i, color in [(0, "tab:blue"), (1, "tab:orange")]:
    series = X[i]["signal"].iloc[:15]
    ax0.plot(np.arange(15), series, "o-", color=color, label=y[i])
    ax1.plot(series.index, series, "o-", color=color, label=y[i])
ax0.set(xlabel="observation number", ylabel="signal", title="Without time stamps")
ax1.set(xlabel="time", title="With time stamps")
ax1.legend()
fig.tight_layout()

# %%
# Search over the size of the network's state and the learning rate with
# 3-fold cross-validation, two fits at a time. Each fit is kept short (30
# epochs, a small backbone) so that the search stays quick.
param_grid = {"units": [8, 32], "learning_rate": [1e-3, 1e-2]}
base = CfCClassifier(backbone_units=32, max_epochs=30, random_state=0)
search = GridSearchCV(base, param_grid, cv=3, n_jobs=2)
search.fit(X_train, y_train)
print("best parameters:", search.best_params_)
print(f"best cross-validated accuracy: {search.best_score_:.3f}")
print(f"test accuracy of the refitted best model: {search.score(X_test, y_test):.3f}")

# %%
# The mean cross-validated accuracy of every combination.
results = pd.DataFrame(search.cv_results_)
table = results.pivot(
    index="param_units", columns="param_learning_rate", values="mean_test_score"
)
fig, ax = plt.subplots(figsize=(5, 4))
image = ax.imshow(table.to_numpy(), cmap="viridis", vmin=0.5, vmax=1.0)
for (row, col), score in np.ndenumerate(table.to_numpy()):
    ax.text(col, row, f"{score:.2f}", ha="center", va="center", color="white")
ax.set_xticks(range(len(table.columns)), [f"{lr:g}" for lr in table.columns])
ax.set_yticks(range(len(table.index)), table.index)
ax.set(xlabel="learning_rate", ylabel="units", title="Mean CV accuracy")
fig.colorbar(image, ax=ax)
fig.tight_layout()
plt.show()


# %%
# For comparison, the best settings trained on the same series with each
# time stamp replaced by the observation number: without the times, the
# model is left guessing.
def without_times(frames):
    return [frame.reset_index(drop=True) for frame in frames]


blind = clone(search.best_estimator_)
blind.fit(without_times(X_train), y_train)
accuracy = blind.score(without_times(X_test), y_test)
print(f"test accuracy without time stamps: {accuracy:.3f}")
