"""CfCForecaster: sktime's checks, irregular horizons, panels, X, intervals."""

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from sktime.forecasting.base import ForecastingHorizon
from sktime.forecasting.compose import TransformedTargetForecaster
from sktime.forecasting.model_evaluation import evaluate
from sktime.forecasting.model_selection import ForecastingGridSearchCV
from sktime.split import ExpandingWindowSplitter, SingleWindowSplitter
from sktime.transformations.series.boxcox import LogTransformer
from sktime.utils.estimator_checks import check_estimator

from sklearn_cfc import CfCForecaster

pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning", "ignore::FutureWarning"
)
FAST = dict(context_length=12, units=32, max_epochs=150, n_iter_no_change=150)


def test_sktime_estimator_checks():
    check_estimator(CfCForecaster, raise_exceptions=True)


def _irregular_ramp(n=80, seed=0):
    """y = 2 * t observed at irregular times t (a DatetimeIndex without freq)."""
    rng = np.random.default_rng(seed)
    t = np.cumsum(rng.exponential(1.0, size=n))
    index = pd.Timestamp("2024-01-01") + pd.to_timedelta(t, unit="h")
    return pd.Series(2.0 * t, index=pd.DatetimeIndex(index, freq=None), name="y")


class TestContinuousTime:
    def test_absolute_fh_at_arbitrary_future_timestamps(self):
        y = _irregular_ramp()
        f = CfCForecaster(**FAST, random_state=0).fit(y)
        last = y.index[-1]
        future = pd.DatetimeIndex(
            [last + pd.Timedelta(hours=h) for h in (0.5, 2.0, 4.5)], freq=None
        )
        pred = f.predict(fh=ForecastingHorizon(future, is_relative=False))
        assert list(pred.index) == list(future)
        truth = y.iloc[-1] + 2.0 * np.array([0.5, 2.0, 4.5])
        # the state is advanced by the actual gaps: later times, larger values
        assert np.all(np.diff(pred.to_numpy()) > 0)
        assert np.abs(pred.to_numpy() - truth).max() < 0.25 * (truth[-1] - y.iloc[-1])

    def test_a_forecast_does_not_depend_on_the_other_requested_times(self):
        y = _irregular_ramp(60).reset_index(drop=True)
        f = CfCForecaster(**{**FAST, "max_epochs": 5}, random_state=0).fit(y)
        alone = f.predict(fh=[6]).iloc[0]
        np.testing.assert_allclose(f.predict(fh=[1, 2, 3, 4, 5, 6]).iloc[-1], alone)
        np.testing.assert_allclose(f.predict(fh=[3, 6]).iloc[-1], alone)

    def test_integer_index_with_gaps(self):
        rng = np.random.default_rng(1)
        t = np.cumsum(rng.integers(1, 4, size=60))
        y = pd.Series(np.sin(t / 5.0), index=pd.Index(t))
        f = CfCForecaster(**FAST, random_state=0).fit(y)
        fh = ForecastingHorizon(pd.Index([t[-1] + 1, t[-1] + 3]), is_relative=False)
        pred = f.predict(fh)
        assert list(pred.index) == [t[-1] + 1, t[-1] + 3]
        assert np.isfinite(pred).all()


class TestPanels:
    def _panel(self):
        rng = np.random.default_rng(0)
        frames = []
        for i, level in enumerate([1.0, 100.0, 1000.0]):
            t = pd.RangeIndex(40 + 5 * i)
            values = level * (1 + 0.1 * np.sin(np.arange(len(t)) / 3))
            values += rng.normal(0, 0.01 * level, len(t))
            index = pd.MultiIndex.from_product([[f"s{i}"], t], names=["id", "time"])
            frames.append(pd.DataFrame({"v": values}, index=index))
        return pd.concat(frames)

    def test_one_global_model_with_per_series_scale(self):
        y = self._panel()
        f = CfCForecaster(**FAST, random_state=0).fit(y, fh=[1, 2, 3])
        pred = f.predict()
        assert pred.index.names == ["id", "time"]
        assert set(pred.index.get_level_values("id")) == {"s0", "s1", "s2"}
        for name, level in [("s0", 1.0), ("s1", 100.0), ("s2", 1000.0)]:
            forecast = pred.loc[name, "v"].to_numpy()
            assert np.all(np.abs(forecast / level - 1) < 0.3)
        # one network for all series, not a copy per series
        assert not f._is_vectorized
        assert hasattr(f, "net_")

    def test_hierarchy_is_one_global_model(self):
        levels = [["a", "b"], ["x", "y"], range(15)]
        index = pd.MultiIndex.from_product(levels, names=["l0", "l1", "t"])
        rng = np.random.default_rng(0)
        y = pd.DataFrame({"v": rng.normal(size=60).cumsum()}, index=index)
        small = dict(FAST, max_epochs=2)
        pred = CfCForecaster(**small, random_state=0).fit(y, fh=[1, 2]).predict()
        assert pred.index.names == ["l0", "l1", "t"]
        assert len(pred) == 4 * 2
        assert np.isfinite(pred.to_numpy()).all()

    def test_exogenous_future_values_are_needed_and_used(self):
        rng = np.random.default_rng(0)
        n = 80
        x = pd.DataFrame({"x": rng.normal(size=n)})
        y = pd.Series(3.0 * x["x"].to_numpy() + rng.normal(0, 0.05, n))
        f = CfCForecaster(**FAST, random_state=0).fit(y[:70], X=x[:70], fh=[1, 2, 3])
        msg = "predict needs X at the forecast times too"
        with pytest.raises(ValueError, match=re.escape(msg)):
            f.predict()
        pred = f.predict(X=x[70:])
        truth = 3.0 * x["x"].to_numpy()[70:73]
        assert np.corrcoef(pred.to_numpy(), truth)[0, 1] > 0.8


class TestInSample:
    def test_in_sample_forecasts_are_one_step_ahead(self):
        y = _irregular_ramp(60).reset_index(drop=True)
        f = CfCForecaster(**FAST, random_state=0).fit(y, fh=[1])
        pred = f.predict(fh=[-4, -3, -2, -1, 0])
        assert list(pred.index) == [55, 56, 57, 58, 59]
        # each from the observations before it: close to what was observed
        spread = y.diff().abs().median()
        assert np.abs(pred.to_numpy() - y[55:].to_numpy()).max() < 2 * spread


class TestProbabilistic:
    def test_quantiles_are_coherent_and_intervals_nest(self):
        y = _irregular_ramp(60).reset_index(drop=True)
        f = CfCForecaster(**FAST, random_state=0).fit(y, fh=[1, 2, 3])
        q = f.predict_quantiles(alpha=[0.05, 0.25, 0.5, 0.75, 0.95])
        assert np.all(np.diff(q.to_numpy(), axis=1) > 0)
        np.testing.assert_allclose(q.iloc[:, 2], f.predict(), rtol=1e-6)
        wide = f.predict_interval(coverage=0.9)
        narrow = f.predict_interval(coverage=0.5)
        assert np.all(wide.iloc[:, 0] < narrow.iloc[:, 0])
        assert np.all(wide.iloc[:, 1] > narrow.iloc[:, 1])


class TestUpdateAndMissing:
    def test_update_trains_further_and_moves_the_cutoff(self):
        y = _irregular_ramp(70).reset_index(drop=True)
        f = CfCForecaster(**FAST, update_epochs=3, random_state=0).fit(
            y[:60], fh=[1, 2]
        )
        epochs = f.n_iter_
        f.update(y[60:])
        assert f.n_iter_ == epochs + 3
        assert f.cutoff[0] == 69
        assert list(f.predict().index) == [70, 71]

    def test_missing_values_give_finite_forecasts(self):
        y = _irregular_ramp(60).reset_index(drop=True)
        y[[5, 6, 30, 58]] = np.nan
        f = CfCForecaster(**FAST, random_state=0).fit(y, fh=[1, 2])
        assert np.isfinite(f.predict()).all()
        assert np.isfinite(f.predict_interval()).all().all()

    def test_a_variable_never_observed_in_one_series_is_quiet(self):
        index = pd.MultiIndex.from_product([["s0", "s1"], range(10)])
        y = pd.DataFrame(
            {"a": np.arange(20.0), "b": np.r_[np.arange(10.0), [np.nan] * 10]},
            index=index,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            f = CfCForecaster(context_length=4, max_epochs=1).fit(y, fh=[1])
            assert np.isfinite(f.predict()).all().all()


class TestBadInput:
    def test_too_few_observations(self):
        y = pd.Series([1.0, np.nan, np.nan])
        msg = "CfCForecaster needs at least 2 observed time points per series"
        with pytest.raises(ValueError, match=re.escape(msg)):
            CfCForecaster(**FAST).fit(y, fh=[1])

    def test_index_that_is_not_monotonic(self):
        y = pd.Series(np.arange(20.0), index=[*range(10), *range(20, 10, -1)])
        with pytest.raises(TypeError, match="must be sorted monotonically increasing"):
            CfCForecaster(**FAST).fit(y, fh=[1])

    def test_bad_parameter_is_named(self):
        y = _irregular_ramp(30).reset_index(drop=True)
        msg = "The 'context_length' parameter of CfCForecaster must be"
        with pytest.raises(ValueError, match=re.escape(msg)):
            CfCForecaster(context_length=0).fit(y, fh=[1])


class TestWorkflows:
    def test_grid_search_evaluate_and_pipeline(self):
        y = _irregular_ramp(60).reset_index(drop=True)
        small = dict(FAST, max_epochs=5)
        search = ForecastingGridSearchCV(
            CfCForecaster(**small, random_state=0),
            cv=SingleWindowSplitter(fh=[1, 2], window_length=45),
            param_grid={"units": [4, 8]},
        ).fit(y, fh=[1, 2])
        assert search.best_params_["units"] in (4, 8)
        results = evaluate(
            CfCForecaster(**small, random_state=0),
            ExpandingWindowSplitter(fh=[1, 2], initial_window=45, step_length=6),
            y,
        )
        assert len(results) >= 2
        pipe = TransformedTargetForecaster(
            [("log", LogTransformer()), ("cfc", CfCForecaster(**small))]
        )
        assert np.isfinite(pipe.fit(y + 10, fh=[1, 2]).predict()).all()
