"""
=========================================================
Classifying irregularly sampled series with CfCClassifier
=========================================================

JapaneseVowels holds recordings of nine speakers saying a vowel, each a
series of 12 LPC coefficients. We throw away half of every series' time
points at random, so the series are observed at irregular times, and train
:class:`sklearn_cfc.CfCClassifier` to tell the speakers apart. The network
reads each observation together with the time elapsed since the previous
one, so it needs no resampling or imputation.
"""

# %%
# Load the official train and test splits and drop half of each series' time
# points. The kept observations keep their original time stamps.
import matplotlib.pyplot as plt
from sklearn.metrics import ConfusionMatrixDisplay

from sklearn_cfc import CfCClassifier
from sklearn_cfc.datasets import load_uea, make_irregular

X_train_full, y_train = load_uea("JapaneseVowels", split="train")
X_test_full, y_test = load_uea("JapaneseVowels", split="test")
X_train = make_irregular(X_train_full, drop=0.5, random_state=0)
X_test = make_irregular(X_test_full, drop=0.5, random_state=0)
print(f"{len(X_train)} training and {len(X_test)} test series")

# %%
# The input is a plain list with one DataFrame per series: one column per
# channel, and an index that holds the time of each observation. The gaps in
# the index are the dropped time points; series may have different lengths.
first = X_train[0]
print(type(X_train).__name__, "of", type(first).__name__)
print(first.iloc[:6, :4])
print("observation times:", first.index.tolist())
lengths = [len(frame) for frame in X_train]
print(f"observations per series: {min(lengths)} to {max(lengths)}")

# %%
# Two series of the first channel from different speakers. The line is the
# complete recording; the markers are the observations the model sees.
fig, ax = plt.subplots(figsize=(7, 3.5))
for i, color in zip([0, 30], ["tab:blue", "tab:orange"], strict=False):
    full, kept = X_train_full[i]["dim_0"], X_train[i]["dim_0"]
    ax.plot(full.index, full, color=color, alpha=0.3)
    ax.plot(kept.index, kept, "o", color=color, label=f"speaker {y_train[i]}")
ax.set(xlabel="time step", ylabel="first LPC coefficient")
ax.set_title("Two irregular series (markers: kept observations)")
ax.legend()
fig.tight_layout()

# %%
# Fit the classifier. The defaults train for up to 100 epochs; 30 are enough
# here and keep the example quick. The learning rate follows a cosine
# schedule that reaches zero at ``max_epochs``.
clf = CfCClassifier(max_epochs=30, random_state=0)
clf.fit(X_train, y_train)
print(f"test accuracy: {clf.score(X_test, y_test):.3f}")

# %%
# The training loss per epoch, and which speakers are confused with which on
# the test set.
fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 4.5))
clf.plot_history(ax=ax0)
ax0.set_yscale("log")
ConfusionMatrixDisplay.from_estimator(clf, X_test, y_test, ax=ax1, colorbar=False)
ax1.set_title("Test set")
fig.tight_layout()
plt.show()
