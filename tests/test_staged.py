"""Predictions after every observation: ``staged_predict`` / ``staged_predict_proba``.

The defining property: the row of an observation equals ``predict`` /
``predict_proba`` on the series cut after that observation, whatever the
input format, the missing values, the lengths, the time grid, the patches
and the readout.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from _panels import as_multiindex, irregular_frames
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import NotFittedError

from sklearn_cfc import CfCClassifier, CfCRegressor
from sklearn_cfc.nn import CfCSequenceNetwork

TINY = dict(units=6, backbone_units=8, max_epochs=4, learning_rate=0.02)
ATOL = 1e-6  # float32 network: the same prefix in other batch shapes


def _numpy_panel(rng, n, C, T, *, nan=0.3):
    """n series of C channels, NaN-padded to T (lengths 1..T), some NaN."""
    X = rng.normal(size=(n, C, T))
    X[rng.random(X.shape) < nan] = np.nan
    for i in range(n):
        X[i, :, rng.integers(1, T + 1) :] = np.nan
        X[i, rng.integers(C), 0] = rng.normal()  # every series: an observation
    return X


def _cut(X, instance, time):
    """Series ``instance`` of ``X`` up to ``time``, in X's own format."""
    if isinstance(X, np.ndarray):
        return X[instance : instance + 1, :, : time + 1]
    if isinstance(X, list):
        frame = X[instance]
        return [frame[frame.index <= time]]
    one = X.loc[[instance]]
    return one[one.index.get_level_values(1) <= time]


def _check_cuts(est, X, staged, *, atol=ATOL, rtol=0.0):
    proba = isinstance(est, CfCClassifier)
    frame = staged.to_frame() if isinstance(staged, pd.Series) else staged
    for (instance, time), row in frame.iterrows():
        cut = _cut(X, instance, time)
        whole = est.predict_proba(cut) if proba else est.predict(cut)
        np.testing.assert_allclose(
            row.to_numpy(dtype=float),
            np.ravel(whole),
            atol=atol,
            rtol=rtol,
            err_msg=f"instance {instance!r}, time {time!r}",
        )


# ----------------------------------------------------------- fitted models
@pytest.fixture(scope="module")
def numpy_clf():
    """Defaults (patch length and time grid chosen from the data)."""
    rng = np.random.default_rng(0)
    X = _numpy_panel(rng, 30, 2, 24)
    y = np.nan_to_num(X[:, 0]).sum(1) > 0
    return CfCClassifier(**TINY, random_state=0).fit(X, y)


@pytest.fixture(scope="module")
def grid_clf():
    """A time grid where observations meet, patches, mixed memory, every
    encoder option, values carried forward across empty grid points."""
    rng = np.random.default_rng(1)
    frames = irregular_frames(rng, 30, 3, 14)
    y = np.array([k % 3 for k in range(30)])
    return CfCClassifier(
        **TINY,
        patch_length=3,
        time_grid=1.5,
        fill="forward",
        running_stats=True,
        differences=True,
        random_state=0,
    ).fit(frames, y)


@pytest.fixture(scope="module")
def linear_clf():
    """fill="linear" on a time grid where observations meet, after empty
    points (the prefixes that run whole), with patches and differences."""
    rng = np.random.default_rng(3)
    frames = irregular_frames(rng, 30, 2, 14)
    y = np.array([k % 2 for k in range(30)])
    return CfCClassifier(
        **TINY, patch_length=2, time_grid=1.5, fill="linear", random_state=0
    ).fit(frames, y)


@pytest.fixture(scope="module")
def datetime_reg():
    """Multi-output regression on datetimes, plain CfC, mean readout."""
    rng = np.random.default_rng(2)
    X = as_multiindex(irregular_frames(rng, 30, 2, 10))
    groups = X.groupby(level=0, sort=False)
    y = np.column_stack([groups[0].mean().fillna(0), groups[1].count()])
    return CfCRegressor(
        **TINY, mixed_memory=False, readout="mean", patch_length=2, random_state=0
    ).fit(X, y)


# ------------------------------------------------------------ the property
@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(seed=st.integers(0, 2**16), n=st.integers(1, 3), T=st.integers(1, 20))
def test_rows_equal_predict_on_cut_series_numpy(numpy_clf, seed, n, T):
    X = _numpy_panel(np.random.default_rng(seed), n, 2, T, nan=0.4)
    staged = numpy_clf.staged_predict_proba(X)
    _check_cuts(numpy_clf, X, staged)
    labels = numpy_clf.staged_predict(X)
    best = staged.to_numpy().argmax(1)
    np.testing.assert_array_equal(labels.to_numpy(), numpy_clf.classes_[best])


@pytest.mark.parametrize("model", ["grid_clf", "linear_clf"])
@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(seed=st.integers(0, 2**16), n=st.integers(1, 3), T=st.integers(1, 12))
def test_rows_equal_predict_on_cut_series_on_a_grid(request, model, seed, n, T):
    """Carried forward (with patches of 3) or drawn (patches of 2)."""
    est = request.getfixturevalue(model)
    C = est.n_features_in_
    frames = irregular_frames(np.random.default_rng(seed), n, C, T)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # time scale of tiny cut series
        staged = est.staged_predict_proba(frames)
        _check_cuts(est, frames, staged)


@settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(seed=st.integers(0, 2**16), n=st.integers(1, 3), T=st.integers(1, 10))
def test_rows_equal_predict_on_cut_series_datetimes(datetime_reg, seed, n, T):
    X = as_multiindex(irregular_frames(np.random.default_rng(seed), n, 2, T))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        staged = datetime_reg.staged_predict(X)
        _check_cuts(datetime_reg, X, staged, atol=1e-5, rtol=1e-5)


# ------------------------------------------------------------ the index
def test_index_is_the_observations_in_the_users_time_type(datetime_reg):
    X = as_multiindex(irregular_frames(np.random.default_rng(5), 3, 2, 6))
    X.iloc[1] = np.nan  # a row without any value is not an observation
    staged = datetime_reg.staged_predict(X)
    observed = X.dropna(how="all").index
    assert staged.index.names == ["stay", "when"]
    pd.testing.assert_index_equal(staged.index, observed, check_names=False)
    assert list(staged.columns) == [0, 1]


def test_numpy_positions_are_integers_and_all_nan_steps_skipped(numpy_clf):
    X = np.array([[[0.5, np.nan, -1.0, np.nan], [np.nan, np.nan, 2.0, np.nan]]])
    staged = numpy_clf.staged_predict_proba(X)
    assert staged.index.tolist() == [(0, 0), (0, 2)]
    assert staged.index.names == ["instance", "time"]
    np.testing.assert_allclose(staged.sum(axis=1), 1.0, rtol=1e-6)


def test_one_dimensional_regression_gives_a_series():
    rng = np.random.default_rng(3)
    X = _numpy_panel(rng, 20, 1, 8)
    reg = CfCRegressor(**TINY, random_state=0).fit(X, np.nan_to_num(X[:, 0, 0]))
    staged = reg.staged_predict(X[:2])
    assert isinstance(staged, pd.Series)
    last = staged.groupby(level=0).last().to_numpy()
    np.testing.assert_allclose(last, reg.predict(X[:2]), rtol=1e-5, atol=1e-5)


def test_batches_continue_instance_positions(numpy_clf):
    X = _numpy_panel(np.random.default_rng(4), 5, 2, 9)
    whole = numpy_clf.staged_predict_proba(X)
    batched = numpy_clf.staged_predict_proba(iter([X[:2], X[2:]]))
    pd.testing.assert_frame_equal(batched, whole, atol=ATOL, rtol=0)


def test_chunked_prediction_matches(numpy_clf, monkeypatch):
    X = _numpy_panel(np.random.default_rng(6), 7, 2, 9)
    whole = numpy_clf.staged_predict_proba(X)
    monkeypatch.setattr("sklearn_cfc._base._PREDICT_CHUNK", 3)
    monkeypatch.setattr("sklearn_cfc._base._PREDICT_BATCH", 2)
    pd.testing.assert_frame_equal(
        numpy_clf.staged_predict_proba(X), whole, atol=ATOL, rtol=0
    )


# ------------------------------------------------------------ the network
@pytest.mark.parametrize("mixed_memory", [False, True])
@pytest.mark.parametrize("patch_length", [1, 2, 3])
@pytest.mark.parametrize("readout", ["last", "mean", "max", "all"])
def test_forward_prefixes_equals_forward_on_each_prefix(
    mixed_memory, patch_length, readout
):
    torch.manual_seed(0)
    net = CfCSequenceNetwork(
        3,
        2,
        units=8,
        readout=readout,
        patch_length=patch_length,
        mixed_memory=mixed_memory,
    ).eval()
    x, dt = torch.randn(2, 7, 3), torch.rand(2, 7)
    rows = torch.tensor([0] * 7 + [1] * 4)
    ends = torch.tensor([*range(7), *range(4)])
    last = torch.randn(len(rows), 3)
    with torch.no_grad():
        every = net.forward_prefixes(x, dt, rows, ends)
        replaced = net.forward_prefixes(x, dt, rows, ends, last)
        for k, (r, t) in enumerate(zip(rows.tolist(), ends.tolist(), strict=True)):
            cut = x[r : r + 1, : t + 1].clone()
            torch.testing.assert_close(
                every[k], net(cut, dt[r : r + 1, : t + 1])[0], atol=2e-6, rtol=0
            )
            cut[0, t] = last[k]
            torch.testing.assert_close(
                replaced[k], net(cut, dt[r : r + 1, : t + 1])[0], atol=2e-6, rtol=0
            )


# ------------------------------------------------------------ bad input
def test_unfitted_estimator_raises():
    with pytest.raises(NotFittedError):
        CfCClassifier().staged_predict_proba(np.zeros((2, 1, 4)))
    with pytest.raises(NotFittedError):
        CfCRegressor().staged_predict(np.zeros((2, 1, 4)))


def test_channel_count_differs_from_fit(numpy_clf):
    with pytest.raises(ValueError, match="channel"):
        numpy_clf.staged_predict_proba(np.zeros((2, 3, 4)))


def test_empty_iterator(numpy_clf):
    with pytest.raises(ValueError, match="empty iterator"):
        numpy_clf.staged_predict(iter([]))


def test_forward_prefixes_refuses_bad_prefixes():
    net = CfCSequenceNetwork(3, 2, units=4).eval()
    x = torch.randn(2, 5, 3)
    with pytest.raises(ValueError, match="ends in \\[0, 5\\)"):
        net.forward_prefixes(x, None, torch.tensor([0]), torch.tensor([5]))
    with pytest.raises(ValueError, match="rows must lie in"):
        net.forward_prefixes(x, None, torch.tensor([2]), torch.tensor([0]))
    with pytest.raises(ValueError, match="1D of one length"):
        net.forward_prefixes(x, None, torch.tensor([0, 1]), torch.tensor([0]))
    with pytest.raises(ValueError, match=r"last must have shape \(1, 3\)"):
        net.forward_prefixes(
            x, None, torch.tensor([0]), torch.tensor([1]), torch.zeros(1, 2)
        )


def test_every_input_format_gives_the_same_rows(numpy_clf):
    """The rows depend on the series, not on the container they come in."""
    from sktime.datatypes import convert_to

    from sklearn_cfc.panel import input_format, to_panel

    rng = np.random.default_rng(12)
    X = rng.normal(size=(4, 2, 9))
    X[rng.random(X.shape) < 0.3] = np.nan
    X[:, :, 0] = 0.5  # a first observation in every channel (nested_univ)
    panel = to_panel(X)
    formats = {
        "numpy": X,
        "Panel": panel,
        "np-list": list(X),  # (channels, time) each
        "df-list": panel.to_frames(),
        "pd-multiindex": panel.to_multiindex(),
        "nested_univ": convert_to(X, to_type="nested_univ"),
    }
    reference = numpy_clf.staged_predict_proba(X)
    for name, data in formats.items():
        assert input_format(data) == name
        staged = numpy_clf.staged_predict_proba(data)
        np.testing.assert_allclose(
            staged.to_numpy(), reference.to_numpy(), atol=ATOL, err_msg=name
        )
        times = staged.index.get_level_values(1).to_numpy(dtype=float)
        np.testing.assert_array_equal(
            times, reference.index.get_level_values(1), err_msg=name
        )
