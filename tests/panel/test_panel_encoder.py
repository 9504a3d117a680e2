"""PanelEncoder: statistics learnt in fit, inert padding, clear errors."""

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from sklearn_cfc.panel import EncodedPanel, PanelEncoder, to_panel

NAN = np.nan


@pytest.fixture
def panel():
    a = pd.DataFrame(
        {"x": [1.0, NAN, 3.0], "y": [NAN, 10.0, NAN]}, index=[0.0, 2.0, 3.0]
    )
    b = pd.DataFrame({"x": [5.0], "y": [30.0]}, index=[1.0])
    return to_panel([a, b])


def test_fitted_statistics(panel):
    enc = PanelEncoder().fit(panel)
    np.testing.assert_allclose(enc.mean_, [3.0, 20.0])
    np.testing.assert_allclose(enc.scale_, [np.std([1, 3, 5]), 10.0])
    assert enc.dt_scale_ == 1.5  # gaps 2 and 1
    assert enc.n_features_in_ == 2
    assert enc.feature_names_in_.tolist() == ["x", "y"]


def test_transform_layout(panel):
    enc = PanelEncoder().fit(panel)
    out = enc.transform(panel)
    assert isinstance(out, EncodedPanel)
    assert out.inputs.shape == (2, 3, 6)
    assert out.inputs.dtype == np.float32
    assert out.dt.shape == (2, 3)
    assert out.dt.dtype == np.float32
    sx = np.std([1, 3, 5])
    np.testing.assert_allclose(
        out.inputs[0],
        [
            # values, masks, then log1p(time since observed / dt_scale_)
            [-2 / sx, 0.0, 1, 0, 0, -1],  # y not observed yet: 0 and -1
            [-2 / sx, -1.0, 0, 1, np.log1p(2 / 1.5), 0],  # x carried forward
            [0.0, -1.0, 1, 0, 0, np.log1p(1 / 1.5)],
        ],  # x = 3 is the mean; y carried forward
        rtol=1e-6,
    )
    np.testing.assert_allclose(out.dt[0], [0, 2 / 1.5, 1 / 1.5], rtol=1e-6)
    # padding of the second instance is all zeros
    np.testing.assert_array_equal(out.inputs[1, 1:], 0)
    np.testing.assert_array_equal(out.dt[1], 0)
    np.testing.assert_array_equal(out.lengths, [3, 1])


def test_no_scaling_and_fixed_dt_scale(panel):
    enc = PanelEncoder(scale=False, dt_scale=0.5).fit(panel)
    np.testing.assert_array_equal(enc.mean_, [0, 0])
    np.testing.assert_array_equal(enc.scale_, [1, 1])
    out = enc.transform(panel)
    np.testing.assert_array_equal(out.inputs[0, :, 0], [1, 1, 3])
    np.testing.assert_array_equal(out.dt[0], [0, 4, 2])


def test_constant_and_unobserved_channels():
    X = np.array([[[1.0, 1.0, 1.0], [NAN, NAN, NAN], [2.0, NAN, 4.0]]])
    enc = PanelEncoder().fit(X)
    np.testing.assert_array_equal(enc.mean_[:2], [1.0, 0.0])
    np.testing.assert_array_equal(enc.scale_[:2], [1.0, 1.0])
    out = enc.transform(X)
    assert np.isfinite(out.inputs).all()


def test_single_observations_give_unit_dt_scale():
    enc = PanelEncoder().fit([np.array([1.0]), np.array([2.0])])
    assert enc.dt_scale_ == 1.0


def test_dt_scale_in_datetime_units():
    idx = pd.date_range("2024-01-01", periods=4, freq="15min")
    X = [pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0]}, index=idx)]
    assert PanelEncoder(time_unit="h").fit(X).dt_scale_ == 0.25
    assert PanelEncoder().fit(X).dt_scale_ == 900.0


def test_time_channel_parameter():
    X = np.array([[[0.0, 1.0, 5.0], [1.0, 2.0, 3.0]]])
    enc = PanelEncoder(time_channel=0).fit(X)
    assert enc.n_features_in_ == 1
    np.testing.assert_allclose(enc.transform(X).dt[0], [0, 1 / 2.5, 4 / 2.5])


def test_channel_count_checked_at_transform():
    enc = PanelEncoder().fit(np.zeros((2, 5, 4)))
    with pytest.raises(
        ValueError,
        match=re.escape(
            "X has 3 channels, but PanelEncoder is expecting 5 channels as input."
        ),
    ):
        enc.transform(np.zeros((2, 3, 4)))


def test_channel_names_checked_at_transform(panel):
    enc = PanelEncoder().fit(panel)
    other = [pd.DataFrame({"y": [1.0], "z": [2.0]})]
    with pytest.raises(
        ValueError,
        match=re.escape(
            "X has channels ['y', 'z'], but PanelEncoder was fitted with channels "
            "['x', 'y']; they must match, in the same order."
        ),
    ):
        enc.transform(other)
    enc.transform(np.zeros((1, 2, 3)))  # unnamed channels: count only


def test_not_fitted_and_bad_dt_scale(panel):
    with pytest.raises(NotFittedError):
        PanelEncoder().transform(panel)
    with pytest.raises(
        ValueError,
        match=re.escape(
            "The 'dt_scale' parameter of PanelEncoder must be 'median' or a positive "
            "float. Got -1 instead."
        ),
    ):
        PanelEncoder(dt_scale=-1).fit(panel)


def test_sklearn_protocol(panel):
    enc = PanelEncoder(scale=False)
    assert clone(enc).get_params()["scale"] is False
    a = enc.fit_transform(panel)
    b = PanelEncoder(scale=False).fit(panel).transform(panel)
    np.testing.assert_array_equal(a.inputs, b.inputs)
    assert repr(enc) == "PanelEncoder(scale=False)"


def test_inverse_scale(panel):
    enc = PanelEncoder().fit(panel)
    z = (np.array([[3.0, 40.0]]) - enc.mean_) / enc.scale_
    np.testing.assert_allclose(enc.inverse_scale(z), [[3.0, 40.0]])


def test_encoded_take_trims(panel):
    out = PanelEncoder().fit_transform(panel)
    sub = out.take([1])
    assert sub.inputs.shape == (1, 1, 6)
    assert sub.dt.shape == (1, 1)
    inputs, _dt, _lengths = out  # a NamedTuple unpacks
    assert inputs is out.inputs


# ------------------------------------------------------- running statistics
def _expanding(frames, enc):
    """Reference: pandas' expanding statistics of each frame's observations."""
    blocks = []
    for df in frames:
        z = (df - enc.mean_) / enc.scale_
        # an expanding window over each channel's own observations, stretched
        # over the steps where it is not observed (they keep the last value)
        stats = [
            z.apply(lambda c, name=name: c.dropna().expanding().agg(name)).reindex(
                z.index
            )
            for name in ("min", "max", "mean", "count")
        ]
        stats = [s.ffill().fillna(0.0) for s in stats]
        stats[3] = np.log1p(stats[3])
        blocks.append(np.hstack([s.to_numpy() for s in stats]))
    return blocks


def test_running_stats_match_expanding_windows():
    rng = np.random.default_rng(0)
    frames = []
    for n in (9, 4, 1, 12):
        values = rng.normal(size=(n, 3)) * [1, 10, 100]
        values[rng.random((n, 3)) < 0.5] = NAN
        values[0, 2] = NAN  # a channel first seen later
        frames.append(
            pd.DataFrame(values, index=np.cumsum(rng.random(n)), columns=list("abc"))
        )
    frames = [f.dropna(how="all") for f in frames]
    enc = PanelEncoder(running_stats=True).fit(frames)
    out = enc.transform(frames)
    assert out.inputs.shape[2] == 7 * 3
    plain = PanelEncoder().fit(frames).transform(frames)
    np.testing.assert_array_equal(out.inputs[:, :, :9], plain.inputs)
    for i, expected in enumerate(_expanding(frames, enc)):
        n = len(expected)
        np.testing.assert_allclose(
            out.inputs[i, :n, 9:], expected, rtol=1e-5, atol=1e-6
        )
        np.testing.assert_array_equal(out.inputs[i, n:], 0)  # padding


def test_running_stats_are_causal(panel):
    """A step's statistics never depend on later observations."""
    enc = PanelEncoder(running_stats=True).fit(panel)
    whole = enc.transform(panel).inputs[0]
    prefix = enc.transform([panel.to_frames()[0].iloc[:2]]).inputs[0]
    np.testing.assert_array_equal(prefix, whole[:2])


def test_running_stats_subset_in_fixed_order(panel):
    sx = np.std([1, 3, 5])
    enc = PanelEncoder(running_stats=["count", "min"]).fit(panel)
    extra = enc.transform(panel).inputs[0, :, 6:]
    # per channel (x, y): the minimum, then log1p of the count, so far
    np.testing.assert_allclose(
        extra,
        [
            [-2 / sx, 0.0, np.log1p(1), 0.0],
            [-2 / sx, -1.0, np.log1p(1), np.log1p(1)],
            [-2 / sx, -1.0, np.log1p(2), np.log1p(1)],
        ],
        rtol=1e-6,
    )
    assert PanelEncoder(running_stats=False).fit_transform(panel).inputs.shape[2] == 6


@pytest.mark.parametrize("bad", ["min", ["min", "median"], ["max", "max"], None, 3])
def test_bad_running_stats(panel, bad):
    msg = (
        "The 'running_stats' parameter of PanelEncoder must be a bool or a list "
        "of distinct names among ['min', 'max', 'mean', 'count']. Got "
        f"{bad!r} instead."
    )
    with pytest.raises(ValueError, match=re.escape(msg)):
        PanelEncoder(running_stats=bad).fit(panel)


# ------------------------------------------------------------ robust scaling
def test_robust_scaling_ignores_a_wild_value():
    rng = np.random.default_rng(0)
    ph = rng.normal(7.4, 0.05, size=200)
    ph[17] = 735.0  # a unit error
    frames = [
        pd.DataFrame(
            {"pH": ph[i : i + 10], "flag": np.tile([0.0, 0.0, 1.0, 0.0, 0.0], 2)}
        )
        for i in range(0, 200, 10)
    ]
    enc = PanelEncoder(scale="robust", running_stats=["max"]).fit(frames)
    q1, q2, q3 = np.percentile(ph, [25, 50, 75])  # of float32 values, so rtol
    np.testing.assert_allclose(enc.mean_[0], q2, rtol=1e-6)
    np.testing.assert_allclose(enc.scale_[0], (q3 - q1) / 1.349, rtol=1e-5)
    # a 0/1 channel whose quartiles coincide falls back to its std
    np.testing.assert_allclose(enc.scale_[1], np.std(np.tile([0, 0, 1, 0, 0], 40)))
    inputs = enc.transform(frames).inputs
    values = inputs[:, :, 0]
    assert values.max() == 10.0  # the wild value, clipped
    ordinary = np.delete(values.ravel(), 17)
    assert 0.5 < ordinary.std() < 2  # while standard scaling squashes them
    standard = PanelEncoder().fit(frames).transform(frames).inputs[:, :, 0]
    assert np.delete(standard.ravel(), 17).std() < 0.01
    # the running maximum is clipped too
    assert inputs[1, :, 6].max() == 10.0
    assert inputs[0, :, 6].max() < 10.0
    first = enc.inverse_scale(inputs[0, 0, :2])  # values unclipped: exact
    np.testing.assert_allclose(first, [ph[0], 0.0], rtol=1e-5, atol=1e-6)


# ------------------------------------------------------- scale="auto"
def _amplitudes(rng, n, spans):
    """n series of two channels: the first a sine of an amplitude drawn over
    ``spans`` orders of magnitude, the second noise of unit scale."""
    frames = []
    for _ in range(n):
        t = np.arange(20.0)
        amplitude = 10.0 ** rng.uniform(-spans / 2, spans / 2)
        frames.append(
            pd.DataFrame({"a": amplitude * np.sin(t / 3.0), "b": rng.normal(size=20)})
        )
    return frames


def test_auto_scale_compresses_a_channel_whose_scales_span_orders_of_magnitude():
    frames = _amplitudes(np.random.default_rng(0), 40, spans=5)
    enc = PanelEncoder(scale="auto").fit(frames)
    stds = np.array([f.to_numpy(np.float32).std(0, dtype=np.float64) for f in frames])
    np.testing.assert_allclose(enc.compress_[0], np.percentile(stds[:, 0], 10))
    assert enc.compress_[1] == 0  # scales within a factor of a few
    mapped = [
        f.assign(a=np.arcsinh(f["a"].to_numpy(np.float32) / enc.compress_[0]))
        for f in frames
    ]
    standard = PanelEncoder(scale="standard").fit(mapped)
    np.testing.assert_allclose(enc.mean_, standard.mean_, rtol=1e-6)
    np.testing.assert_allclose(enc.scale_, standard.scale_, rtol=1e-6)
    inputs = enc.transform(frames).inputs
    np.testing.assert_allclose(
        inputs, standard.transform(mapped).inputs, rtol=1e-5, atol=1e-5
    )
    # the smallest series is no longer squashed flat by the large ones ...
    small = int(np.argmin(stds[:, 0]))
    standard_inputs = PanelEncoder().fit(frames).transform(frames).inputs
    assert inputs[small, :, 0].std() > 100 * standard_inputs[small, :, 0].std()
    # ... and inverse_scale undoes the map
    np.testing.assert_allclose(
        enc.inverse_scale(inputs[small, :, :2]),
        frames[small].to_numpy(np.float32),
        rtol=1e-4,
        atol=1e-6 * stds[small, 0],
    )


def test_auto_scale_leaves_similar_scales_and_other_scales_compress_nothing():
    frames = _amplitudes(np.random.default_rng(1), 40, spans=1)
    auto = PanelEncoder(scale="auto").fit(frames)
    assert not auto.compress_.any()
    np.testing.assert_array_equal(
        auto.transform(frames).inputs,
        PanelEncoder().fit(frames).transform(frames).inputs,
    )
    wide = _amplitudes(np.random.default_rng(0), 40, spans=5)
    for scale in (True, "robust", False):
        assert not PanelEncoder(scale=scale).fit(wide).compress_.any()


@pytest.mark.parametrize("bad", ["minmax", None, 1.0])
def test_bad_scale(panel, bad):
    msg = (
        "The 'scale' parameter of PanelEncoder must be a bool, 'standard', "
        f"'robust' or 'auto'. Got {bad!r} instead."
    )
    with pytest.raises(ValueError, match=re.escape(msg)):
        PanelEncoder(scale=bad).fit(panel)


# --------------------------------------------------------------- differences
def test_differences_are_changes_since_each_channels_previous_observation():
    frames = [
        pd.DataFrame(
            {"a": [1.0, np.nan, 4.0, 2.0], "b": [np.nan, 10.0, np.nan, 13.0]},
            index=[0.0, 1.0, 3.0, 4.0],
        ),
        pd.DataFrame({"a": [5.0, 5.0], "b": [1.0, np.nan]}, index=[0.0, 2.0]),
    ]
    enc = PanelEncoder(differences=True, running_stats=["count"]).fit(frames)
    # changes seen in fit: a: +3, -2, 0; b: +3
    np.testing.assert_allclose(enc.change_scale_, [np.sqrt(13 / 3), 3.0])
    inputs = enc.transform(frames).inputs
    assert inputs.shape == (2, 4, 5 * 2)
    changes = inputs[:, :, 6:8]
    want_a = np.array([[0, 0, 3, -2], [0, 0, 0, 0]]) / np.sqrt(13 / 3)
    np.testing.assert_allclose(changes[..., 0], want_a, rtol=1e-6)
    np.testing.assert_allclose(changes[..., 1], [[0, 0, 0, 1], [0, 0, 0, 0]])
    # the running statistics follow the differences block
    np.testing.assert_allclose(inputs[0, :, 8], np.log1p([1, 1, 2, 3]))


def test_differences_are_causal(panel):
    enc = PanelEncoder(differences=True).fit(panel)
    full = enc.transform(panel).inputs
    cut = enc.transform(panel.take([0])).inputs  # one series: same rows
    np.testing.assert_array_equal(full[0, : cut.shape[1]], cut[0])
    truncated = [np.arange(6.0) ** 2, (np.arange(6.0) ** 2)[:3]]
    out = PanelEncoder(differences=True).fit(truncated).transform(truncated).inputs
    np.testing.assert_array_equal(out[1, :3], out[0, :3])


def test_differences_off_removes_the_fitted_scale(panel):
    enc = PanelEncoder(differences=True).fit(panel)
    assert hasattr(enc, "change_scale_")
    enc.set_params(differences=False).fit(panel)
    assert not hasattr(enc, "change_scale_")
    with pytest.raises(ValueError, match="'differences' parameter of PanelEncoder"):
        PanelEncoder(differences="yes").fit(panel)


# ------------------------------------------------------------- fill="linear"
def _gridded():
    """Two channels on a grid of 1: "b" is not observed at time 3."""
    return [
        pd.DataFrame(
            {"a": [1.0, 4.0, 6.0], "b": [0.0, NAN, 2.0]}, index=[0.0, 3.0, 5.0]
        )
    ]


def test_linear_fill_draws_values_across_empty_points():
    frames = _gridded()
    enc = PanelEncoder(time_grid=1.0, fill="linear", scale=False).fit(frames)
    inputs = enc.transform(frames).inputs[0]
    assert inputs.shape == (6, 2)  # the values only: no mask, no time since
    # "a" on the lines 1 -> 4 (times 0-3) and 4 -> 6 (3-5); "b" keeps 0
    # until the point before its next observation (time 3 has none of it),
    # then goes from there to 2 at time 5
    np.testing.assert_allclose(inputs[:, 0], [1, 2, 3, 4, 5, 6])
    np.testing.assert_allclose(inputs[:, 1], [0, 0, 0, 0, 1, 2])


def test_linear_fill_takes_changes_along_the_drawn_path():
    frames = _gridded()
    enc = PanelEncoder(time_grid=1.0, fill="linear", scale=False, differences=True)
    inputs = enc.fit(frames).transform(frames).inputs[0]
    # changes from one point to the next: a +1 x5, b 0, 0, 0, +1, +1
    np.testing.assert_allclose(enc.change_scale_, [1.0, np.sqrt(2 / 5)])
    np.testing.assert_allclose(inputs[:, 2], [0, 1, 1, 1, 1, 1])
    want_b = np.array([0, 0, 0, 0, 1, 1]) / np.sqrt(0.4)
    np.testing.assert_allclose(inputs[:, 3], want_b, rtol=1e-6)


def test_linear_fill_encodes_every_cut_series_as_the_whole_one():
    rng = np.random.default_rng(0)
    frames = []
    for _ in range(5):
        times = np.cumsum(rng.uniform(0.3, 3.0, size=12))
        values = rng.normal(size=(12, 3))
        values[rng.random(values.shape) < 0.3] = NAN
        values[:, 0] = np.where(np.isnan(values).all(1), 1.0, values[:, 0])
        frames.append(pd.DataFrame(values, index=times))
    enc = PanelEncoder(
        time_grid=0.7, fill="linear", differences=True, running_stats=True
    ).fit(frames)
    cuts = 0
    for frame in frames:
        whole = enc.transform([frame]).inputs[0]
        slots = np.round((frame.index - frame.index[0]) / 0.7)
        for k in range(1, len(frame) + 1):
            if k < len(frame) and slots[k] == slots[k - 1]:
                # a later observation meets this one at its grid point: the
                # whole series averages them there (staged predictions
                # handle those cuts, tests/test_staged.py)
                continue
            cut = enc.transform([frame.iloc[:k]]).inputs[0]
            np.testing.assert_array_equal(whole[: len(cut)], cut)
            cuts += 1
    assert cuts > 40


def test_linear_fill_without_a_grid_draws_nothing():
    frames = _gridded()
    forward = PanelEncoder(scale=False).fit(frames).transform(frames).inputs[0]
    linear = PanelEncoder(scale=False, fill="linear").fit(frames).transform(frames)
    # every step has an observation: the carried values, without the mask
    # and the time since
    np.testing.assert_array_equal(linear.inputs[0], forward[:, :2])


def test_bad_fill(panel):
    with pytest.raises(ValueError, match="'fill' parameter of PanelEncoder"):
        PanelEncoder(fill="spline").fit(panel)
