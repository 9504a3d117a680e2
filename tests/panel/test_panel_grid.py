"""Panel.on_grid and the encoder's time grid (time_grid)."""

import numpy as np
import pandas as pd
import pytest

from sklearn_cfc import CfCClassifier
from sklearn_cfc.datasets import make_irregular
from sklearn_cfc.nn import patched_size
from sklearn_cfc.panel import PanelEncoder, to_panel


def _irregular(n=5, T=40, C=2, drop=0.5, seed=0):
    """Regular series with float step times, then half the steps dropped."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, C, T))
    frames = [pd.DataFrame(x.T, index=np.arange(T, dtype=float)) for x in X]
    return X, make_irregular(frames, drop=drop, random_state=seed)


def test_on_grid_puts_dropped_observations_back_on_their_steps():
    X, frames = _irregular()
    grid = to_panel(frames).on_grid(1.0)
    for i, f in enumerate(frames):
        first, last = int(f.index[0]), int(f.index[-1])
        n = last - first + 1
        assert grid.lengths[i] == n
        np.testing.assert_array_equal(grid.times[i, :n], np.arange(first, last + 1))
        kept = f.index.to_numpy().astype(int) - first
        observed = np.zeros(n, dtype=bool)
        observed[kept] = True
        np.testing.assert_array_equal(grid.mask[i, :n].all(1), observed)
        np.testing.assert_array_equal(grid.mask[i, :n].any(1), observed)
        np.testing.assert_allclose(
            grid.values[i, kept], X[i, :, f.index.to_numpy().astype(int)], rtol=1e-6
        )
        assert np.isnan(grid.values[i, n:]).all()
        assert np.isnan(grid.times[i, n:]).all()


def test_on_grid_averages_observations_that_meet_and_keeps_the_rest():
    frame = pd.DataFrame(
        {"a": [1.0, 3.0, np.nan, 7.0], "b": [np.nan, 2.0, 5.0, np.nan]},
        index=[0.0, 0.9, 1.2, 4.1],
    )
    grid = to_panel([frame]).on_grid(1.0)
    # grid points 0, 1, 2, 3, 4: 0.9 and 1.2 both go to 1
    assert grid.lengths.tolist() == [5]
    np.testing.assert_array_equal(grid.times[0], [0.0, 1.0, 2.0, 3.0, 4.0])
    a, b = grid.values[0, :, 0], grid.values[0, :, 1]
    np.testing.assert_array_equal(a, [1.0, 3.0, np.nan, np.nan, 7.0])
    np.testing.assert_array_equal(b, [np.nan, 3.5, np.nan, np.nan, np.nan])
    assert grid.channels == ("a", "b")


def test_on_grid_of_an_already_regular_panel_changes_nothing():
    panel = to_panel(np.random.default_rng(0).normal(size=(3, 2, 6)))
    grid = panel.on_grid(1.0)
    for name in ("values", "times", "mask", "lengths"):
        np.testing.assert_array_equal(getattr(grid, name), getattr(panel, name))


def test_auto_grid_is_the_typical_interval_of_dense_irregular_data():
    _, frames = _irregular(T=41)
    enc = PanelEncoder(time_grid="auto").fit(frames)
    spans = [(f.index[-1] - f.index[0]) / (len(f) - 1) for f in frames]
    assert enc.time_grid_ == pytest.approx(np.median(spans))
    assert 1.5 < enc.time_grid_ < 2.5  # half the steps dropped
    lengths = enc.transform(frames).lengths
    np.testing.assert_array_equal(
        lengths, to_panel(frames).on_grid(enc.time_grid_).lengths
    )


def test_auto_grid_leaves_regular_and_sparse_data_alone():
    X, _ = _irregular()
    assert PanelEncoder(time_grid="auto").fit(X).time_grid_ is None  # regular
    # sparse: one of four channels observed at each irregular time
    rng = np.random.default_rng(0)
    frames = []
    for _ in range(4):
        times = np.cumsum(rng.exponential(1.0, 30))
        values = np.full((30, 4), np.nan)
        values[np.arange(30), rng.integers(0, 4, 30)] = rng.normal(size=30)
        frames.append(pd.DataFrame(values, index=times))
    assert not to_panel(frames).is_dense()
    assert PanelEncoder(time_grid="auto").fit(frames).time_grid_ is None
    assert PanelEncoder().fit(frames).time_grid_ is None  # default: no grid


@pytest.mark.parametrize("fill", ["forward", "linear"])
def test_encoding_on_a_grid_is_the_encoding_of_the_grid_panel(fill):
    _, frames = _irregular()
    enc = PanelEncoder(time_grid=1.0, fill=fill).fit(frames)
    grid = to_panel(frames).on_grid(1.0)
    ref = PanelEncoder(fill=fill).fit(grid)
    assert enc.dt_scale_ == ref.dt_scale_ == 1.0
    np.testing.assert_array_equal(enc.mean_, ref.mean_)
    out, expected = enc.transform(frames), ref.transform(grid)
    np.testing.assert_array_equal(out.inputs, expected.inputs)
    np.testing.assert_array_equal(out.dt, expected.dt)
    if fill == "linear":
        return
    # an unobserved grid point: mask 0, the value carried forward
    i, t = np.argwhere(~grid.mask.any(2) & (np.arange(grid.n_timepoints) < 5))[0]
    C = grid.n_channels
    assert (out.inputs[i, t, C : 2 * C] == 0).all()
    np.testing.assert_array_equal(out.inputs[i, t, :C], out.inputs[i, t - 1, :C])


@pytest.mark.parametrize("bad", [0, -1.0, "yes", np.inf * 0])
def test_time_grid_must_be_auto_none_or_a_positive_number(bad):
    with pytest.raises(ValueError, match="time_grid"):
        PanelEncoder(time_grid=bad).fit([np.arange(3.0)])
    with pytest.raises(ValueError, match="time_grid"):
        CfCClassifier(time_grid=bad).fit(np.zeros((4, 1, 3)), [0, 1, 0, 1])


def test_estimator_patches_count_grid_steps():
    _, frames = _irregular(n=6, T=200)
    y = np.arange(6) % 2
    tiny = dict(units=4, backbone_units=4, max_epochs=1, random_state=0)
    clf = CfCClassifier(**tiny).fit(frames, y)
    assert clf.encoder_.time_grid_ is not None
    steps = to_panel(frames).on_grid(clf.encoder_.time_grid_).lengths
    assert clf.patch_length_ == int(np.ceil(np.median(steps) / 32))
    off = CfCClassifier(time_grid=None, **tiny).fit(frames, y)
    assert off.encoder_.time_grid_ is None
    observations = to_panel(frames).lengths
    assert off.patch_length_ == int(np.ceil(np.median(observations) / 32))
    # the default fill follows the grid: drawn on it, carried without it
    assert clf.encoder_.fill_ == "linear"
    assert off.encoder_.fill_ == "forward"
    # per observation, a value and a change per channel: no mask, no time since
    reads = clf.net_.module_.cfc.input_size
    assert reads == patched_size(2 * 2, clf.patch_length_)
    assert off.net_.module_.cfc.input_size == patched_size(4 * 2, off.patch_length_)


def test_a_grid_that_would_stretch_a_series_is_refused_or_not_chosen():
    # three series sampled about every 1-2 units; one spans a million units
    frames = [pd.Series([1.0, 2.0, 3.0, 4.0], index=[0.0, 1.0, 3.0, 4.0])] * 3
    far = pd.Series([1.0, 2.0, 3.0, 4.0], index=[0.0, 1.0, 3.0, 1e6])
    assert PanelEncoder(time_grid="auto").fit([*frames, far]).time_grid_ is None
    with pytest.raises(ValueError, match=r"instance 3 would take 1e\+06 steps"):
        PanelEncoder(time_grid=1.0).fit([*frames, far])
    enc = PanelEncoder(time_grid="auto").fit(frames)
    assert enc.time_grid_ == pytest.approx(4 / 3)
    with pytest.raises(ValueError, match="time_grid=None"):
        enc.transform([far])


def test_fill_auto_draws_dense_series_on_a_grid_only():
    _, frames = _irregular()
    assert PanelEncoder(time_grid=1.0).fit(frames).fill_ == "linear"
    assert PanelEncoder(time_grid="auto").fit(frames).fill_ == "linear"
    assert PanelEncoder().fit(frames).fill_ == "forward"  # no grid
    # sparse records (one channel of four at a time) on a grid: forward
    rng = np.random.default_rng(0)
    sparse = []
    for _ in range(5):
        values = np.full((12, 4), np.nan)
        values[np.arange(12), rng.integers(0, 4, 12)] = rng.normal(size=12)
        sparse.append(pd.DataFrame(values, index=np.cumsum(rng.uniform(0.5, 2, 12))))
    assert not to_panel(sparse).is_dense()
    assert PanelEncoder(time_grid=1.0).fit(sparse).fill_ == "forward"
    assert PanelEncoder(time_grid=1.0, fill="linear").fit(sparse).fill_ == "linear"
