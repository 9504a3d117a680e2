"""Unreliable inputs get a clear answer: huge targets, inf, mixed labels,
object dtypes and timestamps on another time scale or of another kind."""

import re
import warnings

import numpy as np
import pandas as pd
import pytest

from sklearn_cfc import CfCClassifier, CfCForecaster, CfCRegressor
from sklearn_cfc.exceptions import TimeScaleWarning
from sklearn_cfc.panel import PanelEncoder, check_channels, to_panel

pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning", "ignore::FutureWarning"
)
TINY = dict(
    units=4,
    backbone_units=8,
    max_epochs=2,
    mixed_memory=False,
    device="cpu",
    random_state=0,
)
TINY_FORECASTER = dict(
    context_length=4, units=4, backbone_units=8, max_epochs=1, device="cpu"
)


def _series(n=12, C=1, T=6, seed=0):
    return np.random.default_rng(seed).normal(size=(n, C, T))


# -- CfCRegressor: targets far from 1 -----------------------------------------
def test_regressor_trains_and_predicts_on_targets_near_1e200():
    X = _series()
    y = 1e200 * (1 + np.random.default_rng(1).random(len(X)))  # in [1e200, 2e200)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # numpy's overflow
        reg = CfCRegressor(**TINY).fit(X, y)
        pred = reg.predict(X)
    # before: the scale overflowed to inf and every prediction was -inf; now
    # they are those of the same model fitted on y / 1e200, times 1e200
    assert np.all((pred > 0.5e200) & (pred < 2.5e200))
    small = CfCRegressor(**TINY).fit(X, y / 1e200).predict(X)
    np.testing.assert_allclose(pred, small * 1e200, rtol=1e-5)


def test_regressor_without_target_scaling_names_a_target_beyond_float32():
    X = _series()
    y = np.ones(len(X))
    y[3] = 1e200
    msg = (
        "y[3]=1e+200 is beyond the float32 range the network trains in (about "
        "3.4e38) with scale_target=False; set scale_target=True, or rescale y."
    )
    with pytest.raises(ValueError, match=re.escape(msg)):
        CfCRegressor(**TINY, scale_target=False).fit(X, y)


def test_regressor_partial_fit_names_targets_off_the_first_fits_scale():
    X = _series()
    reg = CfCRegressor(**TINY).partial_fit(X, np.arange(len(X), dtype=float))
    with pytest.raises(ValueError, match=r"y\[0\]=1e\+200 is beyond .* first fit's"):
        reg.partial_fit(X, np.full(len(X), 1e200))


# -- CfCClassifier: labels of mixed types -------------------------------------
MIXED = ["a", 1, "a", 1, "a", 1]


@pytest.mark.parametrize(
    "y",
    [MIXED, np.array(MIXED, dtype=object), pd.Series(MIXED)],
    ids=["list", "object-array", "series"],
)
def test_classifier_refuses_labels_mixing_strings_and_numbers(y):
    msg = (
        "Mix of label input types (string and number) in y: 'a' at position 0 "
        "and 1 at position 1."
    )
    with pytest.raises(ValueError, match=re.escape(msg)):
        CfCClassifier(**TINY).fit(_series(n=6), y)


def test_classifier_partial_fit_refuses_mixed_classes():
    msg = "Mix of label input types (string and number) in classes: 'b' at position 1"
    with pytest.raises(ValueError, match=re.escape(msg)):
        CfCClassifier(**TINY).partial_fit(_series(n=6), [1, 2] * 3, classes=[1, "b"])


def test_classifier_keeps_labels_of_one_type():
    X = _series(n=6)
    clf = CfCClassifier(**{**TINY, "max_epochs": 1})
    assert clf.fit(X, ["1", "b"] * 3).classes_.tolist() == ["1", "b"]
    assert clf.fit(X, [1, 2] * 3).classes_.tolist() == [1, 2]


# -- CfCForecaster: inf and object dtypes -------------------------------------
def _y(n=24, name="v"):
    t = np.arange(n)
    return pd.Series(150 + 30 * np.sin(t / 3.0), name=name)


def test_forecaster_refuses_inf_in_y_naming_column_and_time():
    y = _y()
    y.iloc[10] = np.inf
    msg = "y has an infinite value in column 'v' at time 10; values must be finite"
    with pytest.raises(ValueError, match=re.escape(msg)):
        CfCForecaster(**TINY_FORECASTER).fit(y, fh=[1])


def test_forecaster_refuses_inf_in_y_naming_the_series():
    y = pd.concat({"s1": _y(), "s2": _y()}).to_frame()
    y.iloc[30, 0] = -np.inf
    msg = "y has an infinite value in series 's2', column 'v' at time 6;"
    with pytest.raises(ValueError, match=re.escape(msg)):
        CfCForecaster(**TINY_FORECASTER).fit(y, fh=[1])


def test_forecaster_refuses_inf_in_X_at_fit_and_at_forecast_times():
    y = _y()
    X = pd.DataFrame({"x": np.arange(26.0)})
    bad = X.iloc[:24].copy()
    bad.iloc[5, 0] = np.inf
    with pytest.raises(
        ValueError, match=re.escape("X has an infinite value in column 'x' at time 5;")
    ):
        CfCForecaster(**TINY_FORECASTER).fit(y, X=bad, fh=[1])
    forecaster = CfCForecaster(**TINY_FORECASTER).fit(y, X=X.iloc[:24], fh=[1, 2])
    future = X.iloc[24:].copy()
    future.iloc[1, 0] = np.inf
    msg = "X has an infinite value in column 'x' at forecast time 25; values must be"
    with pytest.raises(ValueError, match=re.escape(msg)):
        forecaster.predict(X=future)


def test_forecaster_reads_an_object_series_of_floats_as_floats():
    y = _y()
    as_objects = y.astype(object)
    as_objects.iloc[3] = None  # missing, as in a column read from JSON
    floats = y.copy()
    floats.iloc[3] = np.nan
    expected = CfCForecaster(**TINY_FORECASTER, random_state=0).fit(floats, fh=[1, 2])
    got = CfCForecaster(**TINY_FORECASTER, random_state=0).fit(as_objects, fh=[1, 2])
    np.testing.assert_allclose(got.predict(), expected.predict())


def test_forecaster_refuses_an_object_series_with_a_non_number():
    y = _y().astype(object)
    y.iloc[3] = "n/a"
    msg = "y has dtype object and holds 'n/a' at 3, which is not a number"
    with pytest.raises(TypeError, match=re.escape(msg)):
        CfCForecaster(**TINY_FORECASTER).fit(y, fh=[1])


def test_forecaster_reads_object_columns_of_X_as_floats_and_names_others():
    y = _y()
    X = pd.DataFrame({"x": np.arange(26.0)})
    expected = CfCForecaster(**TINY_FORECASTER, random_state=0).fit(
        y, X=X.iloc[:24], fh=[1]
    )
    got = CfCForecaster(**TINY_FORECASTER, random_state=0).fit(
        y, X=X.iloc[:24].astype(object), fh=[1]
    )
    future = X.iloc[24:25]
    np.testing.assert_allclose(
        got.predict(X=future.astype(object)), expected.predict(X=future)
    )
    bad = X.iloc[:24].astype(object)
    bad.iloc[4, 0] = "n/a"
    # before: numpy's "could not convert string to float: 'n/a'"
    msg = "X column 'x' has dtype object and holds 'n/a' at 4, which is not a number"
    with pytest.raises(TypeError, match=re.escape(msg)):
        CfCForecaster(**TINY_FORECASTER).fit(y, X=bad, fh=[1])


# -- time scale and kind at prediction ----------------------------------------
def _frames(n=20, T=8, scale=1.0, seed=0):
    """Irregular series: exponential gaps of mean ``scale``."""
    rng = np.random.default_rng(seed)
    return [
        pd.DataFrame(
            {"a": rng.normal(size=T)},
            index=np.cumsum(rng.exponential(scale, T)),
        )
        for _ in range(n)
    ]


def test_encoder_records_the_median_gap_and_the_kind_of_timestamps():
    enc = PanelEncoder(dt_scale=2.0).fit([pd.Series([1.0, 2, 3], index=[0, 1, 4])])
    assert enc.dt_median_ == 2.0  # gaps 1 and 3, whatever dt_scale is
    assert enc.time_kind_ == "numeric"
    index = pd.to_datetime(["2024-01-01", "2024-01-02"])
    enc = PanelEncoder(time_unit="h").fit([pd.Series([1.0, 2.0], index=index)])
    assert (enc.dt_median_, enc.time_kind_) == (24.0, "datetime")
    deltas = pd.to_timedelta([0, 3], unit="h")
    enc = PanelEncoder(time_unit="h").fit([pd.Series([1.0, 2.0], index=deltas)])
    assert (enc.dt_median_, enc.time_kind_) == (3.0, "timedelta")
    assert np.isnan(PanelEncoder().fit([np.ones(1)]).dt_median_)


def test_check_channels_warns_on_a_time_scale_far_from_fit():
    X = _frames()
    enc = PanelEncoder().fit(X)
    drifted = to_panel([f.set_axis(f.index * 1e6) for f in X])
    fitted = f"{enc.dt_median_:.6g}"
    with pytest.warns(TimeScaleWarning) as record:
        check_channels(drifted, enc)
    message = str(record[0].message)
    assert f"is {enc.dt_median_ * 1e6:.6g}, against {fitted} in fit" in message
    assert "a factor of 1e+06 (more than 100)" in message
    assert issubclass(TimeScaleWarning, UserWarning)
    with pytest.warns(TimeScaleWarning, match="a factor of 1e\\+06"):
        check_channels(to_panel([f.set_axis(f.index / 1e6) for f in X]), enc)


@pytest.mark.parametrize(
    "change",
    [
        lambda f: f.iloc[::2],  # half the observations dropped
        lambda f: f.sample(frac=0.1, random_state=0).sort_index(),  # 90% dropped
        lambda f: f.iloc[:2],  # short series
    ],
    ids=["half-dropped", "ninety-percent-dropped", "short"],
)
def test_legitimate_sampling_changes_do_not_warn(change):
    X = _frames(T=40)
    enc = PanelEncoder().fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error", TimeScaleWarning)
        check_channels(to_panel([change(f) for f in X]), enc)


def test_encoder_refuses_timestamps_of_another_kind():
    X = _frames(n=3)
    enc = PanelEncoder().fit(X)
    as_dates = [f.set_axis(pd.to_datetime(f.index, unit="s")) for f in X]
    msg = "X has {} timestamps, but PanelEncoder was fitted on {} timestamps"
    with pytest.raises(TypeError, match=msg.format("datetime", "numeric")):
        enc.transform(as_dates)
    as_durations = [f.set_axis(pd.to_timedelta(f.index, unit="s")) for f in X]
    with pytest.raises(TypeError, match=msg.format("timedelta", "numeric")):
        check_channels(to_panel(as_durations), enc)
    enc = PanelEncoder().fit(as_dates)
    with pytest.raises(TypeError, match=msg.format("numeric", "datetime")):
        enc.transform(X)
    with pytest.raises(TypeError, match=msg.format("timedelta", "datetime")):
        enc.transform(as_durations)
    as_utc = [f.tz_localize("UTC") for f in as_dates]  # instants too: accepted
    enc.transform(as_utc)


@pytest.fixture(scope="module")
def fitted_classifier():
    X = _frames()
    return CfCClassifier(**TINY).fit(X, np.arange(len(X)) % 2), X


@pytest.mark.parametrize("time_grid", [None, "auto"])
def test_classifier_warns_on_drifted_timestamps_at_predict(time_grid):
    X = _frames()
    clf = CfCClassifier(time_grid=time_grid, **TINY).fit(X, np.arange(len(X)) % 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", TimeScaleWarning)
        clf.predict_proba(X)  # the training data: no warning
    drifted = [f.set_axis(f.index * 1e6) for f in X]
    warns = pytest.warns(TimeScaleWarning, match="CfCClassifier sees elapsed times")
    if time_grid is None:
        with warns:
            clf.predict_proba(drifted)
    else:  # on the fitted time grid the series would be a million steps long
        assert clf.encoder_.time_grid_ is not None
        with warns, pytest.raises(ValueError, match=r"would take .* steps"):
            clf.predict_proba(drifted)


def test_classifier_refuses_datetimes_where_fit_saw_floats(fitted_classifier):
    clf, X = fitted_classifier
    as_dates = [f.set_axis(pd.to_datetime(f.index, unit="s")) for f in X]
    msg = "X has datetime timestamps, but CfCClassifier was fitted on numeric"
    with pytest.raises(TypeError, match=re.escape(msg)):
        clf.predict(as_dates)


def test_forecaster_update_refuses_other_exogenous_columns_before_any_change():
    index = pd.RangeIndex(40)
    y = pd.DataFrame({"v": np.sin(np.arange(40) / 3)}, index=index)
    X = pd.DataFrame({"x": np.cos(np.arange(40) / 3)}, index=index)
    f = CfCForecaster(**TINY_FORECASTER, random_state=0)
    f.fit(y[:30], X=X[:30], fh=[1])
    cutoff = f.cutoff
    renamed = X[30:35].rename(columns={"x": "z"})
    msg = re.escape(
        "X has columns ['z'], but CfCForecaster was fitted with exogenous "
        "columns ['x']; they must match"
    )
    with pytest.raises(ValueError, match=msg):
        f.update(y[30:35], X=renamed)
    assert f.cutoff.equals(cutoff)  # nothing was updated
    f.update(y[30:35], X=X[30:35])  # the fitted columns: accepted
    assert np.isfinite(f.predict(X=X[35:36]).to_numpy()).all()
