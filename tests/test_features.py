"""Learned features (``transform``) and ``PanelSummarizer`` in pipelines."""

import re

import numpy as np
import pandas as pd
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import softmax
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import FeatureUnion, make_pipeline
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks
from test_common import SERIES_NOT_FEATURES
from test_docs import document_blocks

from sklearn_cfc import CfCClassifier, CfCRegressor
from sklearn_cfc.nn import READOUTS, CfCSequenceNetwork
from sklearn_cfc.panel import PanelSummarizer, to_panel

TINY = dict(units=4, backbone_units=8, max_epochs=2, random_state=0, device="cpu")
ESTIMATORS = [CfCClassifier, CfCRegressor]

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _series(n=14, C=2, T=9, seed=0):
    """NaN-padded series of unequal lengths, with gaps; targets of both kinds."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, C, T))
    for i, length in enumerate(rng.integers(3, T + 1, size=n)):
        X[i, :, length:] = np.nan
    X[rng.random(X.shape) < 0.1] = np.nan
    X[:, :, 0] = rng.normal(size=(n, C))  # every series starts observed
    return X, (np.nanmean(X[:, 0], axis=1) > 0).astype(int)


def _target(cls, y):
    return y if cls is CfCClassifier else y + 0.5


def _frames(n=16, seed=0):
    """Per-stay DataFrames (index: hours) with unequal lengths and NaN."""
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(n):
        T = int(rng.integers(2, 8))
        frame = pd.DataFrame(
            {"hr": rng.normal(80, 10, T), "temp": rng.normal(37, 1, T)},
            index=np.cumsum(rng.uniform(0.5, 2.0, T)),
        )
        frame[rng.random(frame.shape) < 0.3] = np.nan
        frame.iloc[0, 0] = 80.0 + i  # an observation at every time kept
        frames.append(frame)
    y = np.array([frame["hr"].mean() > 80 for frame in frames], dtype=int)
    return frames, y


# ------------------------------------------------------------------ network
@pytest.mark.parametrize("readout", READOUTS)
@pytest.mark.parametrize("patch_length", [1, 3])
def test_network_features_are_what_the_linear_layer_reads(readout, patch_length):
    torch.manual_seed(0)
    net = CfCSequenceNetwork(3, 2, 5, readout=readout, patch_length=patch_length)
    x, dt = torch.randn(4, 10, 3), torch.rand(4, 10)
    lengths = torch.tensor([10, 7, 3, 1])
    features = net.features(x, dt, lengths)
    width = 15 if readout == "all" else 5
    assert features.shape == (4, width) == (4, net.n_features)
    torch.testing.assert_close(net.head.linear(features), net(x, dt, lengths))


# ------------------------------------------------------------------ transform
@pytest.mark.parametrize("readout", READOUTS)
@pytest.mark.parametrize("cls", ESTIMATORS)
def test_transform_is_the_network_representation(cls, readout):
    X, y = _series()
    est = cls(readout=readout, **TINY).fit(X, _target(cls, y))
    Z = est.transform(X)
    assert Z.shape == (len(X), 3 * 4 if readout == "all" else 4)
    assert Z.dtype == np.float64

    # the same numbers, computed directly from the fitted module
    encoded = est.encoder_.transform(to_panel(X))
    module = est.net_.module_
    with torch.no_grad():
        direct = module.features(
            *(
                torch.from_numpy(a)
                for a in (encoded.inputs, encoded.dt, encoded.lengths)
            )
        )
    assert_allclose(Z, direct.numpy(), rtol=1e-5, atol=1e-6)

    # and the predictions are the last linear layer of them
    W = module.head.linear.weight.detach().double().numpy()
    b = module.head.linear.bias.detach().double().numpy()
    if cls is CfCClassifier:
        expected = est.predict_proba(X)
        assert_allclose(softmax(Z @ W.T + b, axis=1), expected, rtol=1e-5, atol=1e-6)
    else:
        expected = est.predict(X)
        got = (Z @ W.T + b)[:, 0] * est._y_scale + est._y_mean
        assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_transform_is_deterministic_and_fit_transform_matches(cls):
    X, y = _series()
    y = _target(cls, y)
    est = cls(**TINY).fit(X, y)
    assert_array_equal(est.transform(X), est.transform(X))
    assert_array_equal(clone(est).fit_transform(X, y), est.transform(X))


def test_chunked_and_batched_transform_equal_one_batch(monkeypatch):
    X, y = _series(n=23)
    est = CfCClassifier(**TINY).fit(X, y)
    whole = est.transform(X)
    streamed = est.transform(iter([X[:4], X[4:13], X[13:]]))
    assert_allclose(streamed, whole, rtol=1e-5, atol=1e-6)
    monkeypatch.setattr("sklearn_cfc._base._PREDICT_CHUNK", 6)
    monkeypatch.setattr("sklearn_cfc._base._PREDICT_BATCH", 4)
    assert_allclose(est.transform(X), whole, rtol=1e-5, atol=1e-6)
    assert_allclose(est.transform(list(X)), whole, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_feature_names_out(cls):
    X, y = _series()
    est = cls(readout="last", **TINY).fit(X, _target(cls, y))
    names = est.get_feature_names_out()
    prefix = cls.__name__.lower()
    assert names.tolist() == [f"{prefix}{i}" for i in range(4)]
    assert names.dtype == object


def test_set_output_pandas():
    X, y = _series()
    est = CfCClassifier(readout="mean", **TINY).set_output(transform="pandas")
    frame = est.fit_transform(X, y)
    assert isinstance(frame, pd.DataFrame)
    assert frame.columns.tolist() == est.get_feature_names_out().tolist()
    assert_allclose(frame.to_numpy(), est.set_output(transform="default").transform(X))

    # a long (instance, time) frame: one row per instance, labelled by its id
    long = pd.concat(
        [pd.DataFrame(s.T, columns=["a", "b"]) for s in X],
        keys=[f"id{i}" for i in range(len(X))],
        names=["stay", "step"],
    ).dropna(how="all")
    est = CfCClassifier(readout="mean", **TINY).fit(long, y)
    frame = est.set_output(transform="pandas").transform(long)
    assert frame.index.tolist() == [f"id{i}" for i in range(len(X))]
    assert frame.index.name == "stay"


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_transform_before_fit(cls):
    X, _ = _series()
    with pytest.raises(NotFittedError):
        cls(**TINY).transform(X)
    with pytest.raises(NotFittedError):
        cls(**TINY).get_feature_names_out()


def test_transform_checks_channels_like_predict():
    X, y = _series()
    est = CfCClassifier(**TINY).fit(X, y)
    wrong = np.concatenate([X, X[:, :1]], axis=1)
    message = "X has 3 channels, but CfCClassifier is expecting 2 channels as input."
    for method in (est.predict, est.transform):
        with pytest.raises(ValueError, match=re.escape(message)):
            method(wrong)


# ------------------------------------------------------------------ pipeline
def test_feature_union_with_trees_fits_and_predicts():
    frames, y = _frames()
    union = FeatureUnion(
        [("cfc", CfCClassifier(**TINY)), ("summaries", PanelSummarizer())]
    )
    model = make_pipeline(union, HistGradientBoostingClassifier(max_iter=5))
    model.fit(frames, y)
    assert model.predict_proba(frames[:5]).shape == (5, 2)
    names = model[0].get_feature_names_out()
    assert names[0] == "cfc__cfcclassifier0"
    assert names[-1] == "summaries__temp_count"
    assert len(names) == 3 * 4 + 2 * 6
    # the union fits the network as fit alone would (fit, then transform)
    alone = CfCClassifier(**TINY).fit(frames, y)
    assert_array_equal(
        union.transformer_list[0][1].transform(frames), alone.transform(frames)
    )


def test_frozen_network_on_held_out_data():
    """The documented recipe: the network fitted on one part, the trees on
    the other; fitting the pipeline leaves the network as it is."""
    frames, y = _frames(n=20)
    network = CfCClassifier(**TINY).fit(frames[:10], y[:10])
    before = network.transform(frames)
    union = FeatureUnion(
        [("cfc", FrozenEstimator(network)), ("summaries", PanelSummarizer())]
    )
    model = make_pipeline(union, HistGradientBoostingClassifier(max_iter=5))
    model.fit(frames[10:], y[10:])
    assert model.predict(frames).shape == (20,)
    assert_array_equal(network.transform(frames), before)


@pytest.mark.slow
def test_user_guide_page_runs(capsys):
    namespace = {"__name__": "__main__"}
    blocks = document_blocks("docs/user_guide/features.rst")
    assert any(language == "python" for language, _, _ in blocks)
    for number, (language, code, _) in enumerate(blocks, 1):
        if language == "python":
            exec(compile(code, f"features.rst, block {number}", "exec"), namespace)
    assert capsys.readouterr().out.strip()


# ------------------------------------------------------------------ summaries
STATS = ["first", "last", "min", "max", "mean", "std", "count"]
STATS += ["first_time", "last_time"]


def _pandas_summaries(frames):
    """The statistics by pandas, on the long frame of all stays."""
    long = pd.concat(frames, keys=range(len(frames)), names=["stay", "time"])
    groups = long.groupby(level="stay")
    parts = {
        "first": groups.first(),
        "last": groups.last(),
        "min": groups.min(),
        "max": groups.max(),
        "mean": groups.mean(),
        "std": groups.std(ddof=0),
        "count": groups.count(),
    }
    time = long.index.get_level_values("time").to_series(index=long.index)
    observed = long.notna()
    parts["first_time"] = observed.apply(lambda c: time.where(c)).groupby("stay").min()
    parts["last_time"] = observed.apply(lambda c: time.where(c)).groupby("stay").max()
    columns = {
        f"{channel}_{stat}": parts[stat][channel]
        for channel in long.columns
        for stat in STATS
    }
    return pd.DataFrame(columns)


def test_summaries_match_pandas():
    # values exact in float32; unequal lengths; "temp" never seen in stay 1
    frames = [
        pd.DataFrame(
            {"hr": [80.0, np.nan, 90.5, 85.25], "temp": [np.nan, 37.0, 38.5, np.nan]},
            index=[0.0, 1.5, 4.0, 6.0],
        ),
        pd.DataFrame({"hr": [70.0, 72.0], "temp": [np.nan, np.nan]}, index=[2.0, 3.0]),
        pd.DataFrame({"hr": [np.nan], "temp": [36.5]}, index=[0.25]),
    ]
    summarizer = PanelSummarizer(statistics=STATS).set_output(transform="pandas")
    got = summarizer.fit_transform(frames)
    expected = _pandas_summaries(frames)
    assert got.columns.tolist() == expected.columns.tolist()
    assert_allclose(got.to_numpy(), expected.to_numpy())
    assert got.loc[1, "temp_count"] == 0
    assert np.isnan(got.loc[1, ["temp_last", "temp_mean", "temp_last_time"]]).all()


def test_summaries_of_arrays_and_names():
    X = np.array([[[1.0, np.nan, 3.0], [2.0, 2.0, np.nan]]])  # 1 series, 2 channels
    summarizer = PanelSummarizer(statistics=["last", "count", "last_time"]).fit(X)
    assert_array_equal(summarizer.transform(X), [[3.0, 2.0, 2.0, 2.0, 2.0, 1.0]])
    assert summarizer.get_feature_names_out().tolist() == [
        "x0_last",
        "x0_count",
        "x0_last_time",
        "x1_last",
        "x1_count",
        "x1_last_time",
    ]
    names = summarizer.get_feature_names_out(["a", "b"])
    assert names.tolist()[:2] == ["a_last", "a_count"]


def test_summaries_default_statistics_and_long_frames():
    frames, _ = _frames(n=5)
    long = pd.concat(frames, keys=list("abcde"), names=["stay", "time"])
    summarizer = PanelSummarizer().set_output(transform="pandas")
    got = summarizer.fit_transform(long)
    assert got.index.tolist() == list("abcde")
    assert got.columns.tolist()[:6] == [
        f"hr_{s}" for s in ("first", "last", "min", "max", "mean", "count")
    ]
    plain = PanelSummarizer().fit(frames).transform(frames)
    assert_allclose(got.to_numpy(), plain)


@pytest.mark.parametrize(
    "statistics",
    [["median"], [], ["mean", "mean"], "mean", None, [1]],
)
def test_summaries_bad_statistics(statistics):
    message = (
        "The 'statistics' parameter of PanelSummarizer must be a non-empty list "
        "of distinct names among ['first', 'last', 'min', 'max', 'mean', 'std', "
        "'count', 'first_time', 'last_time']."
    )
    with pytest.raises(InvalidParameterError, match=re.escape(message)):
        PanelSummarizer(statistics=statistics).fit(np.zeros((2, 1, 3)))


def test_summaries_bad_inputs():
    frames, _ = _frames(n=4)
    with pytest.raises(NotFittedError):
        PanelSummarizer().transform(frames)
    summarizer = PanelSummarizer().fit(frames)
    renamed = [f.rename(columns={"temp": "spo2"}) for f in frames]
    message = (
        "X has channels ['hr', 'spo2'], but PanelSummarizer was fitted with "
        "channels ['hr', 'temp']; they must match, in the same order."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        summarizer.transform(renamed)
    with pytest.raises(ValueError, match="input_features is not equal"):
        summarizer.get_feature_names_out(["hr", "spo2"])
    with pytest.raises(TypeError, match="X must be"):
        summarizer.transform("stays")


def _summarizer_failures(estimator):
    return {
        "check_n_features_in": SERIES_NOT_FEATURES,
        "check_n_features_in_after_fitting": SERIES_NOT_FEATURES,
        "check_transformer_general": SERIES_NOT_FEATURES,
    }


@parametrize_with_checks(
    [PanelSummarizer()], expected_failed_checks=_summarizer_failures
)
def test_summarizer_is_a_sklearn_transformer(estimator, check):
    check(estimator)
