"""Learning from a label per observation (sequence labelling)."""

import re

import numpy as np
import pandas as pd
import pytest

from sklearn_cfc import CfCClassifier, CfCRegressor

TINY = dict(units=8, backbone_units=16, learning_rate=0.02)


def _streams(seed, n=30, *, hidden=0.3):
    """Frames with irregular times; the label of a step is whether the
    latest value of channel 0 is positive (a causal rule), some hidden."""
    rng = np.random.default_rng(seed)
    frames, labels = [], []
    for _ in range(n):
        T = int(rng.integers(8, 25))
        values = rng.normal(size=(T, 2))
        values[rng.random(values.shape) < 0.2] = np.nan
        latest = pd.Series(values[:, 0]).ffill().fillna(0).to_numpy()
        label = np.where(latest > 0, "up", "down").astype(object)
        label[rng.random(T) < hidden] = None
        label[np.isnan(values).all(1)] = None  # no observation, no label
        times = pd.Index(np.cumsum(rng.uniform(0.5, 1.5, T)), name="t")
        frames.append(pd.DataFrame(values, index=times, columns=["a", "b"]))
        labels.append(label)
    return frames, labels


def _multiindex(frames):
    return pd.concat({f"s{i}": f for i, f in enumerate(frames)}, names=["id", "t"])


@pytest.fixture(scope="module")
def labelled():
    frames, labels = _streams(0)
    clf = CfCClassifier(**TINY, max_epochs=40, random_state=0).fit(frames, labels)
    return clf, frames, labels


def _observed(frames, labels):
    """The labels of the rows that are observations, in staged order."""
    rows = [f.notna().any(axis=1).to_numpy() for f in frames]
    return np.concatenate([np.asarray(y)[r] for y, r in zip(labels, rows, strict=True)])


def test_classifier_learns_every_labelled_step(labelled):
    clf, _, _ = labelled
    assert clf.net_.module_.per_step
    assert clf.encoder_.time_grid_ is None  # one step per observation
    assert clf.patch_length_ == 1
    frames, labels = _streams(1, n=10, hidden=0.0)
    truth = _observed(frames, labels)
    known = pd.notna(truth)
    staged = clf.staged_predict(frames)
    assert len(staged) == len(truth)
    accuracy = (staged.to_numpy()[known] == truth[known]).mean()
    assert accuracy > 0.9, accuracy


def test_predict_is_the_prediction_after_the_last_observation(labelled):
    clf, frames, _ = labelled
    staged = clf.staged_predict_proba(frames[:6])
    last = staged.groupby(level=0).last().to_numpy()
    np.testing.assert_allclose(clf.predict_proba(frames[:6]), last, atol=1e-6)


def test_regressor_with_multiindex_targets():
    frames, _ = _streams(2)
    X = _multiindex(frames)
    y = pd.DataFrame(
        {"twice": 2 * X["a"].to_numpy(), "b": X["b"].to_numpy()}, index=X.index
    )
    y[X.isna().all(axis=1)] = np.nan
    y = y.ffill().where(X.notna().any(axis=1))  # labels only on observations
    reg = CfCRegressor(**TINY, max_epochs=30, random_state=0).fit(X, y)
    staged = reg.staged_predict(X.loc[["s0", "s1"]])
    assert staged.shape[1] == 2
    truth = y.loc[staged.index].to_numpy()
    for k in range(2):
        assert np.corrcoef(staged.to_numpy()[:, k], truth[:, k])[0, 1] > 0.8


def test_series_without_labels_and_early_stopping_train():
    frames, labels = _streams(3, n=24)
    for k in range(4):  # four series with no label at all
        labels[k] = np.full(len(labels[k]), None, dtype=object)
    clf = CfCClassifier(
        **TINY, max_epochs=3, early_stopping=True, validation_fraction=0.25
    ).fit(frames, labels)
    assert np.isfinite(clf.best_loss_)
    assert len(clf.validation_scores_) == clf.n_iter_


def test_numeric_labels_with_nan_as_missing():
    frames, labels = _streams(4, n=12)
    numeric = [
        np.where(y == "up", 1.0, np.where(y == "down", 0.0, np.nan)) for y in labels
    ]
    clf = CfCClassifier(**TINY, max_epochs=2, random_state=0).fit(frames, numeric)
    np.testing.assert_array_equal(clf.classes_, [0.0, 1.0])


# ------------------------------------------------------------ bad input
def test_misaligned_index_is_refused():
    frames, labels = _streams(5, n=4)
    X = _multiindex(frames)
    y = pd.Series(_observed(frames, labels)[:3], index=X.index[[0, 2, 1]])
    with pytest.raises(ValueError, match=r"its index differs from X's: 3 rows"):
        CfCClassifier(max_epochs=1).fit(X, y)
    y = pd.Series(np.zeros(len(X)), index=X.index[::-1])
    with pytest.raises(ValueError, match=r"row 0 is \('s3'"):
        CfCClassifier(max_epochs=1).fit(X, y)


def test_label_list_of_the_wrong_length_names_the_instance():
    frames, labels = _streams(6, n=4)
    labels[2] = labels[2][:-1]
    with pytest.raises(ValueError, match=r"y\[2\] has \d+ labels, but instance 2"):
        CfCClassifier(max_epochs=1).fit(frames, labels)
    with pytest.raises(ValueError, match="list of 3 arrays"):
        CfCClassifier(max_epochs=1).fit(frames, labels[:3])


def test_label_without_observation_is_refused():
    frames, labels = _streams(7, n=4)
    frames[1].iloc[2] = np.nan
    labels[1][2] = "up"
    with pytest.raises(ValueError, match=r"instance 1 at row 2 .*observes no channel"):
        CfCClassifier(max_epochs=1).fit(frames, labels)


def test_all_labels_missing_is_refused():
    frames, labels = _streams(8, n=4)
    empty = [np.full(len(y), np.nan) for y in labels]
    with pytest.raises(ValueError, match="every one is missing"):
        CfCClassifier(max_epochs=1).fit(frames, empty)
    X = _multiindex(frames)
    with pytest.raises(ValueError, match="every one is missing"):
        CfCRegressor(max_epochs=1).fit(X, pd.Series(np.nan, index=X.index))


def test_time_grid_and_class_weight_are_refused():
    frames, labels = _streams(9, n=6)
    with pytest.raises(ValueError, match=re.escape("time_grid=2.0 puts observations")):
        CfCClassifier(max_epochs=1, time_grid=2.0).fit(frames, labels)
    with pytest.raises(ValueError, match="class_weight weighs each series"):
        CfCClassifier(max_epochs=1, class_weight="balanced").fit(frames, labels)


def test_continued_training_keeps_the_kind_of_labels(labelled):
    clf, frames, labels = labelled
    per_series = np.array(["up", "down"] * 15)
    with pytest.raises(ValueError, match="fitted with one label per observation"):
        clf.partial_fit(frames, per_series)
    whole = CfCClassifier(**TINY, max_epochs=1).fit(frames, per_series)
    with pytest.raises(ValueError, match="fitted with one per series"):
        whole.partial_fit(frames, labels)


def test_mixed_string_and_number_labels_are_refused():
    frames, labels = _streams(10, n=4)
    labels[3] = np.where(pd.isna(labels[3]), np.nan, 1.0)
    with pytest.raises(ValueError, match="Mix of label input types"):
        CfCClassifier(max_epochs=1).fit(frames, labels)


def test_long_dense_streams_keep_one_observation_per_step():
    # series long and dense enough for patches with labels per series
    rng = np.random.default_rng(11)
    frames = [pd.DataFrame(rng.normal(size=(200, 2))) for _ in range(6)]
    labels = [np.where(f[0].to_numpy() > 0, 1.0, 0.0) for f in frames]
    whole = CfCClassifier(max_epochs=1).fit(frames, [0, 1] * 3)
    assert whole.patch_length_ > 1
    steps = CfCClassifier(max_epochs=1).fit(frames, labels)
    assert steps.patch_length_ == 1
