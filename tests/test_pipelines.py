"""The estimators in scikit-learn pipelines, and the panel transformers.

``PanelScaler``, ``PanelResampler`` and ``ChannelSelector`` go through
scikit-learn's ``check_estimator`` like any transformer, except the checks
that assume what a panel breaks: a 2D array is one univariate series per row
(so its number of columns is a series length, not a feature count), and
their output has one row per observation, not per row of ``X``. Those checks
are listed with the reason; clone, parameters, pickling and the rest run.
"""

import pickle
import re

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks
from test_common import SERIES_NOT_FEATURES
from test_docs import document_blocks

from sklearn_cfc import CfCClassifier, CfCRegressor
from sklearn_cfc.panel import (
    ChannelSelector,
    PanelEncoder,
    PanelResampler,
    PanelScaler,
    check_y_length,
    to_panel,
)

TINY = dict(units=4, backbone_units=8, max_epochs=2, random_state=0, device="cpu")

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

HINT = (
    " X is a 2D array, read as one univariate series per row. If a transformer "
    "ahead of this estimator (a scikit-learn scaler, say) made it from a "
    "DataFrame with an (instance, time) MultiIndex, it dropped the index that "
    'groups the rows into instances: call set_output(transform="pandas") on the '
    "pipeline or on that transformer, or use the panel transformers of "
    "sklearn_cfc.panel (PanelScaler, PanelResampler, ChannelSelector)."
)


def raises(exc, message):
    return pytest.raises(exc, match=re.escape(message))


def _frames(n=16, seed=0):
    """Per-stay frames: irregular float times, three channels, some NaN."""
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(n):
        T = int(rng.integers(3, 9))
        frame = pd.DataFrame(
            {
                "hr": rng.normal(80, 10, T),
                "temp": rng.normal(37, 1, T),
                "spo2": rng.normal(95, 2, T),
            },
            index=np.cumsum(rng.uniform(0.3, 2.0, T)),
        )
        frame[rng.random(frame.shape) < 0.3] = np.nan
        frame.iloc[0] = [80.0 + i, 37.0, 95.0]  # every channel seen in every stay
        frames.append(frame)
    y = np.array([frame["hr"].mean() > 80 for frame in frames], dtype=int)
    return frames, y


def _multiindex(frames):
    return pd.concat(frames, keys=range(len(frames)), names=["stay", "hour"])


def _observed(frame):
    """The rows of a frame where some channel is observed."""
    return frame[frame.notna().any(axis=1)]


# ------------------------------------------------------------ scikit-learn API
ROWS_ARE_OBSERVATIONS = (
    "the output has one row per observation (pd-multiindex), not one per row of X"
)


def expected_failed_checks(transformer):
    return {
        "check_n_features_in": SERIES_NOT_FEATURES,
        "check_n_features_in_after_fitting": SERIES_NOT_FEATURES,
        "check_transformer_general": ROWS_ARE_OBSERVATIONS,
        "check_transformer_general(readonly_memmap=True)": ROWS_ARE_OBSERVATIONS,
        "check_transformer_data_not_an_array": ROWS_ARE_OBSERVATIONS,
        "check_methods_sample_order_invariance": ROWS_ARE_OBSERVATIONS,
        "check_transformer_preserve_dtypes": (
            "the output is a DataFrame (float32 values, float64 once scaled)"
        ),
    }


@parametrize_with_checks(
    [PanelScaler(), PanelResampler(step=1.0), ChannelSelector([0])],
    expected_failed_checks=expected_failed_checks,
)
def test_sklearn_compatible_transformer(estimator, check):
    check(estimator)


TRANSFORMERS = [
    PanelScaler(method="robust"),
    PanelResampler(step=1.0),
    ChannelSelector(["spo2", "hr"]),
]


@pytest.mark.parametrize("transformer", TRANSFORMERS, ids=lambda t: type(t).__name__)
def test_clone_params_and_pickle(transformer):
    frames, _ = _frames()
    params = transformer.get_params()
    copy = clone(transformer)
    assert copy is not transformer
    assert copy.get_params() == params
    with pytest.raises(NotFittedError):
        copy.transform(frames)
    copy.set_params(time_unit="h")
    assert copy.get_params()["time_unit"] == "h"
    assert transformer.get_params()["time_unit"] == "s"  # the original kept
    fitted = clone(transformer).fit(frames)
    restored = pickle.loads(pickle.dumps(fitted))
    pd.testing.assert_frame_equal(restored.transform(frames), fitted.transform(frames))


@pytest.mark.parametrize("transformer", TRANSFORMERS, ids=lambda t: type(t).__name__)
def test_output_is_a_panel_of_the_same_instances(transformer):
    frames, _ = _frames()
    out = clone(transformer).fit_transform(frames)
    assert isinstance(out.index, pd.MultiIndex)
    assert out.index.names == ["instance", "time"]
    assert_array_equal(out.index.unique(0), np.arange(len(frames)))
    assert out.notna().any(axis=1).all()  # every row an observation
    pd.testing.assert_frame_equal(clone(transformer).fit(frames).transform(frames), out)
    # pd-multiindex input keeps its ids and level names
    X = _multiindex(frames).rename(index=lambda i: f"s{i}", level=0)
    out = clone(transformer).fit_transform(X)
    assert out.index.names == ["stay", "hour"]
    assert list(out.index.unique(0)) == [f"s{i}" for i in range(len(frames))]


@pytest.mark.parametrize("transformer", TRANSFORMERS, ids=lambda t: type(t).__name__)
def test_pandas_output_names_the_columns(transformer):
    X = np.random.default_rng(0).normal(size=(5, 3, 6))
    plain = clone(transformer).set_params(**_positions(transformer)).fit(X)
    pandas = clone(plain).set_output(transform="pandas").fit(X)
    out, named = plain.transform(X), pandas.transform(X)
    assert list(named.columns) == list(pandas.get_feature_names_out())
    assert all(isinstance(c, str) and c.startswith("x") for c in named.columns)
    assert all(isinstance(c, int) for c in out.columns)  # positions by default
    assert_array_equal(named.to_numpy(), out.to_numpy())
    assert named.index.equals(out.index)


def _positions(transformer):
    """ChannelSelector settings for numpy input (positions, not names)."""
    return {"channels": [2, 0]} if isinstance(transformer, ChannelSelector) else {}


# ------------------------------------------------------------ y-length message
@pytest.mark.parametrize("cls", [CfCClassifier, CfCRegressor])
def test_scaler_that_drops_the_index_is_named_in_the_error(cls):
    frames, y = _frames()
    stays = _multiindex(frames)
    model = make_pipeline(StandardScaler(), cls(**TINY))
    message = f"X has {len(stays)} instances, but y has {len(y)} entries; they must "
    with raises(ValueError, message + "match." + HINT):
        model.fit(stays, y)


def test_length_hint_only_for_2d_arrays_with_more_rows_than_y():
    def message(X, y):
        with pytest.raises(ValueError, match=r"^X has ") as info:
            check_y_length(X, y)
        return str(info.value)

    base = "X has 5 instances, but y has 2 entries; they must match."
    assert message(np.zeros((5, 3)), [0, 1]) == base + HINT
    assert message(np.zeros((5, 1, 3)), [0, 1]) == base  # 3D: instances
    assert message([np.zeros(3)] * 5, [0, 1]) == base  # a list: instances
    assert message(np.zeros((2, 3)), [0, 1, 2, 3, 4]) == (
        "X has 2 instances, but y has 5 entries; they must match."
    )


def test_length_is_checked_before_the_rows_are_read_as_series():
    # a row of observations where every channel is NaN would be an all-NaN
    # "series": the mismatch, with its hint, is the error to show
    frames, y = _frames()
    stays = _multiindex(frames)
    stays.iloc[3] = np.nan
    with raises(ValueError, HINT):
        make_pipeline(StandardScaler(), CfCClassifier(**TINY)).fit(stays, y)


def test_pandas_output_keeps_the_panel_through_a_scaler():
    frames, y = _frames()
    stays = _multiindex(frames)
    scaled = StandardScaler().set_output(transform="pandas").fit_transform(stays)
    assert scaled.index.equals(stays.index)  # the (instance, time) MultiIndex
    model = make_pipeline(StandardScaler(), CfCClassifier(**TINY))
    model.set_output(transform="pandas").fit(stays, y)
    direct = CfCClassifier(**TINY).fit(scaled, y)
    assert_array_equal(model.predict_proba(stays), direct.predict_proba(scaled))
    assert model.predict(stays).shape == y.shape


# ------------------------------------------------------------------ PanelScaler
def test_scaler_uses_the_statistics_of_observed_values():
    frames, _ = _frames()
    long = _multiindex(frames).astype(np.float32).astype(np.float64)
    scaler = PanelScaler().fit(frames)
    assert_allclose(scaler.center_, long.mean().to_numpy(), rtol=1e-12)
    assert_allclose(scaler.scale_, long.std(ddof=0).to_numpy(), rtol=1e-12)
    out = scaler.transform(frames)
    expected = _observed((long - long.mean()) / long.std(ddof=0))
    assert_allclose(out.to_numpy(), expected.to_numpy(), rtol=1e-12)  # NaN kept
    assert_array_equal(
        out.index.get_level_values(1), expected.index.get_level_values(1)
    )
    assert out.isna().to_numpy().sum() == _observed(long).isna().to_numpy().sum()


def test_robust_scaler_ignores_a_wild_value():
    frames, _ = _frames()
    frames[2].iloc[1, 0] = 9999.0  # a sentinel in "hr"
    long = _multiindex(frames).astype(np.float32).astype(np.float64)
    robust = PanelScaler(method="robust").fit(frames)
    q1, median, q3 = np.nanpercentile(long.to_numpy(), [25, 50, 75], axis=0)
    assert_allclose(robust.center_, median, rtol=1e-12)
    assert_allclose(robust.scale_, (q3 - q1) / 1.349, rtol=1e-12)
    standard = PanelScaler().fit(frames)
    assert standard.center_[0] > 150 > 90 > robust.center_[0]


@pytest.mark.parametrize("method", ["standard", "robust"])
def test_scaler_shares_the_encoders_statistics(method):
    frames, _ = _frames()
    scaler = PanelScaler(method=method).fit(frames)
    encoder = PanelEncoder(scale=method).fit(frames)
    assert_array_equal(scaler.center_, encoder.mean_)
    assert_array_equal(scaler.scale_, encoder.scale_)


def test_scaler_constant_channel_keeps_its_values_centred():
    X = np.random.default_rng(0).normal(size=(4, 2, 5))
    X[:, 1] = 3.0
    scaler = PanelScaler().fit(X)
    assert scaler.center_[1] == 3.0
    assert scaler.scale_[1] == 1.0
    assert_array_equal(scaler.transform(X)[1].to_numpy(), np.zeros(20))


def test_scaler_same_output_for_every_format():
    X = np.random.default_rng(1).normal(size=(6, 2, 7))
    X[X > 1.2] = np.nan
    panel = to_panel(X)
    outs = [
        PanelScaler().fit_transform(data)
        for data in (X, panel, panel.to_frames(), panel.to_multiindex())
    ]
    for out in outs[1:]:
        pd.testing.assert_frame_equal(out, outs[0])


def test_scaler_inverse_transform_gives_back_the_data():
    frames, _ = _frames()
    scaler = PanelScaler(method="robust").fit(frames)
    back = scaler.inverse_transform(scaler.transform(frames))
    expected = _observed(_multiindex(frames))
    assert_allclose(back.to_numpy(), expected.to_numpy(), rtol=1e-6)
    with raises(ValueError, "X has 2 channels, but PanelScaler is expecting 3"):
        scaler.inverse_transform([frame.iloc[:, :2] for frame in frames])


def test_scaler_method_is_validated():
    with raises(InvalidParameterError, "The 'method' parameter of PanelScaler must be"):
        PanelScaler(method="minmax").fit(np.zeros((2, 1, 3)))


# ---------------------------------------------------------------- PanelResampler
def test_resampler_moves_observations_and_averages_collisions():
    X = [pd.DataFrame({"x": [1.0, 2.0, 4.0, 6.0]}, index=[0.0, 0.9, 1.1, 3.1])]
    out = PanelResampler(step=1.0).fit_transform(X)
    assert out.index.get_level_values("time").tolist() == [0.0, 1.0, 3.0]
    assert out["x"].tolist() == [1.0, 3.0, 6.0]  # 2 and 4 meet at 1.0


def test_resampler_is_the_panels_grid():
    frames, _ = _frames()
    resampler = PanelResampler(step=0.7).fit(frames)
    assert resampler.step_ == 0.7
    grid = to_panel(frames).on_grid(0.7)
    rows = grid.mask.any(axis=2)
    out = resampler.transform(frames)
    assert_array_equal(out.to_numpy(), grid.values[rows])
    assert_array_equal(out.index.get_level_values(1), grid.times[rows])
    assert rows.sum() < grid.lengths.sum()  # empty grid points are no rows


def test_resampler_auto_chooses_the_encoders_grid():
    rng = np.random.default_rng(0)
    frames = [  # densely observed, jittered sampling
        pd.DataFrame(
            {"a": rng.normal(size=20), "b": rng.normal(size=20)},
            index=np.arange(20) + rng.uniform(-0.2, 0.2, 20),
        )
        for _ in range(6)
    ]
    resampler = PanelResampler().fit(frames)
    expected = PanelEncoder(time_grid="auto").fit(frames).time_grid_
    assert resampler.step_ is not None
    assert resampler.step_ == expected
    times = resampler.transform(frames).loc[0].index.to_numpy()
    steps = np.diff(times) / resampler.step_  # whole grid steps apart
    assert_allclose(steps, np.rint(steps), atol=1e-9)


def test_resampler_auto_passes_regular_data_through():
    X = np.random.default_rng(0).normal(size=(4, 2, 8))
    X[0, :, 5:] = np.nan  # a shorter series, still on the step grid
    resampler = PanelResampler().fit(X)
    assert resampler.step_ is None
    pd.testing.assert_frame_equal(resampler.transform(X), to_panel(X).to_multiindex())


def test_resampler_refuses_a_grid_far_longer_than_the_series():
    X = [pd.DataFrame({"x": [1.0, 2.0, 3.0]}, index=[0.0, 1.0, 1000.0])]
    with raises(
        ValueError,
        "X: on a time grid of step 1, instance 0 would take 1001 grid points, "
        "more than 4 times the 3 observations of the longest series;",
    ):
        PanelResampler(step=1.0).fit_transform(X)


def test_resampler_datetimes_become_floats_in_time_unit():
    index = pd.to_datetime(["2024-01-01 00:00", "2024-01-01 00:50", "2024-01-01 03:10"])
    X = [pd.DataFrame({"x": [1.0, 2.0, 3.0]}, index=index)]
    resampler = PanelResampler(step=1.0, time_unit="h").fit(X)
    assert resampler.time_kind_ == "datetime"
    times = resampler.transform(X).index.get_level_values(1).to_numpy()
    start = index[0].value / 3.6e12  # hours since 1970
    assert_allclose(times - start, [0.0, 1.0, 3.0])
    numeric = [pd.DataFrame({"x": [1.0]}, index=[0.0])]
    with raises(TypeError, "X has numeric timestamps, but PanelResampler was fitted"):
        resampler.transform(numeric)


@pytest.mark.parametrize("step", [0, -1.0, "median", None, True, float("inf")])
def test_resampler_step_is_validated(step):
    with raises(
        InvalidParameterError,
        "The 'step' parameter of PanelResampler must be 'auto' or a positive float",
    ):
        PanelResampler(step=step).fit(np.zeros((2, 1, 3)))


# ---------------------------------------------------------------- ChannelSelector
@pytest.mark.parametrize(
    "channels, drop, kept",
    [
        (["spo2", "hr"], False, ["spo2", "hr"]),
        ("temp", False, ["temp"]),
        ([2, 0], False, ["spo2", "hr"]),
        ([-1], False, ["spo2"]),
        (["temp"], True, ["hr", "spo2"]),
        ([0, -1], True, ["temp"]),
        ([], True, ["hr", "temp", "spo2"]),
    ],
)
def test_selector_keeps_channels_by_name_or_position(channels, drop, kept):
    frames, _ = _frames()
    selector = ChannelSelector(channels, drop=drop).fit(frames)
    assert list(selector.get_feature_names_out()) == kept
    out = selector.transform(frames)
    pd.testing.assert_frame_equal(
        out,
        _observed(_multiindex(frames)[kept].astype(np.float32)),
        check_names=False,
    )


def test_selector_on_numpy_names_positions():
    X = np.random.default_rng(0).normal(size=(3, 4, 5)).astype(np.float32)
    selector = ChannelSelector([3, 1]).fit(X)
    assert_array_equal(selector.channel_indices_, [3, 1])
    assert list(selector.get_feature_names_out()) == ["x3", "x1"]
    assert list(selector.transform(X).columns) == [3, 1]
    assert_array_equal(selector.transform(X).loc[0].to_numpy(), X[0, [3, 1]].T)


@pytest.mark.parametrize(
    "channels, drop, message",
    [
        (
            ["pulse"],
            False,
            (
                "channels=['pulse'] of ChannelSelector: 'pulse' is not a channel of X, "
                "whose channels are ['hr', 'temp', 'spo2'] (strings are names, "
                "integers positions)."
            ),
        ),
        (
            ["hr", "pulse", "bp"],
            True,
            (
                "channels=['hr', 'pulse', 'bp'] of ChannelSelector: 'pulse', 'bp' are "
                "not channels of X, whose channels are"
            ),
        ),
        (
            [0, 3, -4],
            False,
            (
                "channels=[0, 3, -4] of ChannelSelector: positions 3, -4 out of range "
                "for the 3 channels of X, whose channels are ['hr', 'temp', 'spo2'] "
                "(strings are names, integers positions); positions run from -3 to 2."
            ),
        ),
        (
            [2, -1],
            False,
            (
                "channels=[2, -1] of ChannelSelector: two positions name the same "
                "channel of the 3 channels of X; list each channel once."
            ),
        ),
        (
            ["hr", "temp", "spo2"],
            True,
            (
                "channels=['hr', 'temp', 'spo2'] of ChannelSelector with drop=True "
                "keeps no channel of X, whose channels are"
            ),
        ),
        ([], False, "channels=[] of ChannelSelector with drop=False keeps no channel"),
    ],
)
def test_selector_errors_name_the_channels(channels, drop, message):
    frames, _ = _frames()
    with raises(ValueError, message):
        ChannelSelector(channels, drop=drop).fit(frames)


@pytest.mark.parametrize("channels", [["hr", 0], True, ["hr", "hr"], [1.0], None])
def test_selector_channels_are_validated(channels):
    with raises(
        InvalidParameterError,
        "The 'channels' parameter of ChannelSelector must be a channel name (str), "
        "a channel position (int), or a list of distinct names or of distinct "
        "positions.",
    ):
        ChannelSelector(channels).fit(_frames()[0])


def test_selector_refuses_to_empty_an_instance():
    frames, _ = _frames()
    selector = ChannelSelector(["temp"]).fit(frames)
    frames[4] = frames[4].assign(temp=np.nan)
    with raises(
        ValueError,
        "X: instance 4 has no observed value in the channels ChannelSelector "
        "keeps (['temp']), so it would vanish from the output;",
    ):
        selector.transform(frames)


def test_selector_transform_needs_the_fitted_channels():
    frames, _ = _frames()
    selector = ChannelSelector(["temp"]).fit(frames)
    renamed = [frame.rename(columns={"hr": "pulse"}) for frame in frames]
    with raises(ValueError, "X has channels ['pulse', 'temp', 'spo2']"):
        selector.transform(renamed)


# ------------------------------------------------------ Pipeline and GridSearchCV
def _pipeline(**params):
    return Pipeline(
        [
            ("channels", ChannelSelector(["hr", "spo2"])),
            ("grid", PanelResampler(step=1.0)),
            ("scale", PanelScaler(method="robust")),
            ("cfc", CfCClassifier(**TINY)),
        ]
    ).set_params(**params)


def test_pipeline_is_its_steps_by_hand():
    frames, y = _frames()
    model = _pipeline().fit(frames, y)
    Xt = ChannelSelector(["hr", "spo2"]).fit_transform(frames)
    Xt = PanelResampler(step=1.0).fit_transform(Xt)
    Xt = PanelScaler(method="robust").fit_transform(Xt)
    direct = CfCClassifier(**TINY).fit(Xt, y)
    assert_array_equal(model.predict_proba(frames), direct.predict_proba(Xt))
    assert list(model[:-1].get_feature_names_out()) == ["hr", "spo2"]
    # the same panel as one pd-multiindex frame, or through scikit-learn's scaler
    assert_array_equal(model.predict(_multiindex(frames)), model.predict(frames))
    scaled = make_pipeline(model[:-1], StandardScaler(), CfCClassifier(**TINY))
    scaled.set_output(transform="pandas").fit(frames, y)
    assert scaled.predict(frames).shape == y.shape


def test_grid_search_over_transformer_settings():
    frames, y = _frames()
    grid = {
        "channels__channels": [["hr"], ["hr", "temp"]],
        "scale__method": ["standard", "robust"],
    }
    search = GridSearchCV(_pipeline(), grid, cv=2, n_jobs=1).fit(frames, y)
    scores = search.cv_results_["mean_test_score"]
    assert len(scores) == 4
    assert np.isfinite(scores).all()
    refit = _pipeline(**search.best_params_).fit(frames, y)
    assert_array_equal(search.predict(frames), refit.predict(frames))
    assert (
        list(search.best_estimator_[:-1].get_feature_names_out())
        == (search.best_params_["channels__channels"])
    )


@pytest.mark.slow
def test_user_guide_page_runs(capsys):
    blocks = document_blocks("docs/user_guide/pipelines.rst")
    assert sum(language == "python" for language, _, _ in blocks) == 2
    namespace = {"__name__": "__main__"}  # the second block continues the first
    for number, (_, code, _) in enumerate(blocks, 1):
        exec(compile(code, f"pipelines.rst, block {number}", "exec"), namespace)
    printed = capsys.readouterr().out
    assert HINT.strip() in printed
    assert "channels__channels" in printed  # the best parameters
