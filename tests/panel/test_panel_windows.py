"""Forecasting windows: sktime containers to a panel, and windows over it."""

import re

import numpy as np
import pandas as pd
import pytest

from sklearn_cfc.panel import (
    forecast_windows,
    series_to_panel,
    to_panel,
    training_windows,
)


def _ffill(a):
    out = a.copy()
    for t in range(1, len(out)):
        out[t] = np.where(np.isnan(out[t]), out[t - 1], out[t])
    return out


def _reference(panel, d, L, H, dt_scale, scale, mean, sd):
    """Training windows, one at a time, as the forecaster first built them."""
    rows = []
    for i, n in enumerate(panel.lengths):
        values = panel.values[i, :n].astype(np.float64)
        times = panel.times[i, :n]
        y = values[:, :d] / scale[i]
        x = (values[:, d:] - mean) / sd
        gaps = np.diff(times, prepend=times[0]) / dt_scale
        levels = np.nan_to_num(_ffill(y))
        for c in range(1, n):
            start, end = max(0, c - L), min(n, c + H)
            level = levels[c - 1]

            def features(v, xx, query):
                parts = (
                    [np.zeros_like(v)] * 2
                    if query
                    else [np.nan_to_num(_ffill(v)), np.isfinite(v)]
                )
                if d < panel.n_channels:
                    parts += [np.nan_to_num(_ffill(xx)), np.isfinite(xx)]
                parts.append(np.full((len(v), 1), float(query)))
                return np.concatenate(parts, axis=1).astype(np.float32)

            rows.append(
                (
                    features(y[start:c] - level, x[start:c], False),
                    gaps[start:c],
                    features(y[c:end], x[c:end], True),
                    (times[c:end] - times[c - 1]) / dt_scale,
                    y[c:end] - level,
                )
            )
    return rows


@pytest.fixture
def gappy():
    rng = np.random.default_rng(0)
    frames = []
    for n in (9, 14, 5):
        t = np.cumsum(rng.exponential(1.0, size=n))
        v = rng.normal(size=(n, 3))
        v[rng.random((n, 3)) < 0.3] = np.nan
        v[np.isnan(v[:, :2]).all(axis=1), 0] = 1.0  # a variable at every step
        frames.append(pd.DataFrame(v, index=t))
    return to_panel(frames)


@pytest.mark.parametrize("L, H", [(4, 3), (20, 1), (1, 6)])
def test_training_windows_match_one_window_at_a_time(gappy, L, H):
    d, scale = 2, np.array([[2.0, 0.5], [1.0, 3.0], [0.7, 1.1]])
    mean, sd = np.array([0.3]), np.array([1.7])
    w = training_windows(
        gappy,
        n_targets=d,
        context_length=L,
        horizon=H,
        dt_scale=0.8,
        scale=scale,
        covariate_mean=mean,
        covariate_scale=sd,
    )
    reference = _reference(gappy, d, L, H, 0.8, scale, mean, sd)
    assert len(w) == len(reference) == int((gappy.lengths - 1).sum())
    for k, (ctx, ctx_dt, qry, qry_dt, target) in enumerate(reference):
        n, q = len(ctx), len(qry)
        assert w.lengths[k] == n
        np.testing.assert_allclose(w.context[k, :n], ctx, rtol=1e-6, atol=1e-7)
        assert not w.context[k, n:].any()
        np.testing.assert_allclose(w.context_dt[k, :n], ctx_dt, rtol=1e-6)
        np.testing.assert_allclose(w.query[k, :q], qry, rtol=1e-6, atol=1e-7)
        assert not w.query[k, q:].any()
        np.testing.assert_allclose(w.query_dt[k, :q], qry_dt, rtol=1e-6)
        np.testing.assert_allclose(w.target[k, :q], target, rtol=1e-6, atol=1e-7)
        assert np.isnan(w.target[k, q:]).all()


def test_take_trims_contexts_only(gappy):
    w = training_windows(gappy, n_targets=2, context_length=6, horizon=4)
    part = w.take([0, 1])
    assert part.context.shape[1] == 2
    assert part.query.shape[1] == 4
    assert part.target.shape == (2, 4, 2)


def test_forecast_windows_future_together_in_sample_alone():
    panel = to_panel([pd.DataFrame({"v": [1.0, 2.0, 4.0]}, index=[0.0, 1.0, 3.0])])
    w = forecast_windows(panel, [5.0, -1.0, 2.0, 4.0], n_targets=1, context_length=2)
    # the future times 4 and 5 share a window; 2 and -1 are alone
    by_position = {
        tuple(p[p >= 0]): (n, dt[p >= 0].tolist(), lvl[0])
        for p, n, dt, lvl in zip(
            w.position, w.lengths, w.query_dt, w.level, strict=False
        )
    }
    assert by_position == {
        (3, 0): (2, [1.0, 2.0], 4.0),
        (1,): (0, [0.0], 1.0),  # nothing before it: the first level
        (2,): (2, [1.0], 2.0),
    }
    assert w.target is None
    assert (w.query[..., -1] == (w.position >= 0)).all()


def test_forecast_windows_errors():
    panel = to_panel([np.array([1.0, 2.0])])
    with pytest.raises(ValueError, match="duplicates"):
        forecast_windows(panel, [3, 3], n_targets=1, context_length=2)
    with pytest.raises(TypeError, match="numeric timestamps"):
        forecast_windows(
            panel, pd.to_datetime(["2024-01-01"]), n_targets=1, context_length=2
        )
    with pytest.raises(ValueError, match="pass their values at the times"):
        forecast_windows(
            to_panel(np.ones((1, 2, 3))), [4], n_targets=1, context_length=2
        )
    with pytest.raises(ValueError, match=re.escape("scale must have shape (1, 1)")):
        forecast_windows(panel, [4], n_targets=1, context_length=2, scale=[1, 2])


def test_series_to_panel_keys_levels_and_covariates():
    index = pd.MultiIndex.from_product(
        [["a", "b"], ["x", "y"], range(4)], names=["l0", "l1", "t"]
    )
    y = pd.DataFrame({"v": np.arange(16.0)}, index=index)
    y.iloc[[1, 2], 0] = np.nan
    X = pd.DataFrame({"v": -np.arange(16.0)}, index=index)  # same name as y's
    panel, keys = series_to_panel(y, X)
    assert keys == [("a", "x"), ("a", "y"), ("b", "x"), ("b", "y")]
    assert panel.n_channels == 2
    assert panel.lengths.tolist() == [2, 4, 4, 4]
    np.testing.assert_array_equal(panel.values[0, :2], [[0, 0], [3, -3]])
    single, keys = series_to_panel(y.loc[("a", "y")])
    assert keys == [None]
    assert single.lengths.tolist() == [4]


def test_series_to_panel_orders_series_by_first_observation():
    index = pd.MultiIndex.from_tuples([("a", 0), ("b", 0), ("a", 1), ("b", 1)])
    y = pd.DataFrame({"v": [np.nan, 1.0, 2.0, 3.0]}, index=index)
    panel, keys = series_to_panel(y)
    assert keys == [("b",), ("a",)]
    np.testing.assert_array_equal(panel.values[1, :1, 0], [2.0])


def test_series_to_panel_series_without_observation():
    index = pd.MultiIndex.from_tuples([("a", 0), ("b", 0)])
    y = pd.DataFrame({"v": [1.0, np.nan]}, index=index)
    with pytest.raises(ValueError, match="Series 'b' has no observed value"):
        series_to_panel(y)
