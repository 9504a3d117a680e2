"""Tests of sklearn_cfc.inspection: time constants, attributions and their plot."""

import importlib
import re
import sys
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.exceptions import NotFittedError

from sklearn_cfc import CfCClassifier, CfCForecaster, CfCRegressor
from sklearn_cfc.inspection import attributions, plot_attributions, time_constants
from sklearn_cfc.nn import patch_sequences
from sklearn_cfc.panel import to_panel

TINY = dict(units=4, backbone_units=8, max_epochs=2, random_state=0)


def noisy_panel(n=12, channels=3, steps=10, seed=0):
    """numpy3D data with a third of the values missing, every step observed."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, channels, steps))
    X[rng.random(X.shape) < 0.35] = np.nan
    X[:, 0] = rng.normal(size=(n, steps))  # channel 0 keeps every step
    return X


@pytest.fixture(scope="module")
def data():
    X = noisy_panel()
    y = np.arange(len(X)) % 2
    return X, y


@pytest.fixture(scope="module")
def classifier(data):
    X, y = data
    return CfCClassifier(**TINY).fit(X, y)


def frames_to_long(frames, ids):
    """(instance, time, channel, value) of every observed value of frames."""
    rows = []
    for i, frame in zip(ids, frames, strict=True):
        for t, row in frame.iterrows():
            rows += [(i, t, c, v) for c, v in row.items() if not np.isnan(v)]
    return rows


# ------------------------------------------------------------- time constants
def hand_set(est, rates=None, w_tau=None):
    """Make the time gate's rate a constant per unit, whatever the inputs."""
    cell = est.net_.module_.cfc.cell
    H = cell.units
    with torch.no_grad():
        if cell.mode == "pure":  # f = 0: the rate is |w_tau|
            cell.heads.weight.zero_()
            cell.heads.bias.zero_()
            cell.w_tau.copy_(torch.tensor(w_tau))
        else:  # time_a = rates, for every z
            cell.heads.weight[2 * H : 3 * H] = 0.0
            cell.heads.bias[2 * H : 3 * H] = torch.tensor(rates)
    return est


def hourly_frames(n=8, seed=0):
    """Per-instance frames observed every 2 hours (dt_scale_ = 2)."""
    rng = np.random.default_rng(seed)
    return [
        pd.DataFrame(
            rng.normal(size=(6 + i % 3, 2)),
            index=pd.Index(2.0 * np.arange(6 + i % 3), name="hours"),
            columns=["a", "b"],
        )
        for i in range(n)
    ]


@pytest.mark.parametrize(
    "params",
    [
        dict(mode="default", mixed_memory=False),
        dict(mode="default", mixed_memory=True, patch_length=2),
        dict(mode="no_gate", mixed_memory=True),
    ],
)
def test_time_constants_of_a_hand_set_gate(params):
    X = hourly_frames()
    y = np.arange(len(X)) % 2
    est = CfCClassifier(**{**TINY, "units": 3, **params}).fit(X, y)
    assert est.encoder_.dt_scale_ == 2.0
    hand_set(est, rates=[-1.0, 2.0, -4.0])
    tau = time_constants(est, X)
    expected = 2.0 / np.array([1.0, 2.0, 4.0])  # dt_scale_ / |a|, in hours
    assert tau.index.name == "unit"
    assert tau.index.tolist() == [0, 1, 2]
    for column in ("median", "q25", "q75"):
        np.testing.assert_allclose(tau[column], expected, rtol=1e-6)


def test_time_constants_of_a_hand_set_pure_cell():
    X = hourly_frames()
    y = np.linspace(0, 1, len(X))
    est = CfCRegressor(**{**TINY, "units": 3, "mode": "pure"}).fit(X, y)
    hand_set(est, w_tau=[0.5, -1.0, 0.0])
    tau = time_constants(est, X)
    np.testing.assert_allclose(tau["median"], [4.0, 2.0, np.inf])


def reference_rates(est, X):
    """|time_a| at every real step, one series at a time, step by step."""
    module = est.net_.module_.eval()
    cfc, cell = module.cfc, module.cfc.cell
    H = cell.units
    rates = []
    with torch.no_grad():
        for i in range(len(X)):
            enc = est.encoder_.transform(X[i : i + 1])
            n = int(enc.lengths[0])
            x = torch.from_numpy(enc.inputs[:, :n])
            dt = torch.from_numpy(enc.dt[:, :n])
            x, dt, _ = patch_sequences(x, dt, None, module.patch_length)
            h = c = torch.zeros(1, H)
            for t in range(x.shape[1]):
                h_in, c = cfc.lstm(x[:, t], (h, c))
                z = cell.backbone_forward(x[:, t], h_in)
                rates.append(cell.heads(z)[0, 2 * H : 3 * H].abs().numpy())
                h = cell(x[:, t], h_in, dt[:, t])
    return np.array(rates)


def test_time_constants_follow_the_gate_step_by_step():
    # unequal lengths (padding), mixed memory and patches: the batched
    # computation reads the same backbone features as a plain loop
    X = [np.random.default_rng(i).normal(size=(2, 5 + 3 * i)) for i in range(5)]
    y = np.arange(5) % 2
    est = CfCClassifier(**{**TINY, "patch_length": 2, "dt_scale": 0.5}).fit(X, y)
    rates = reference_rates(est, X)
    tau = time_constants(est, X, batch_size=2)
    q75, median, q25 = np.quantile(rates, [0.25, 0.5, 0.75], axis=0)
    np.testing.assert_allclose(tau["median"], 0.5 / median, rtol=1e-5)
    np.testing.assert_allclose(tau["q25"], 0.5 / q25, rtol=1e-5)
    np.testing.assert_allclose(tau["q75"], 0.5 / q75, rtol=1e-5)
    assert (tau["q25"] <= tau["median"]).all()
    assert (tau["median"] <= tau["q75"]).all()


# --------------------------------------------------------------- attributions
def test_attributions_of_numpy_input(classifier, data):
    pytest.importorskip("captum")
    X, _ = data
    attr = attributions(classifier, X[:4])
    assert attr.columns.tolist() == [
        "instance",
        "time",
        "channel",
        "value",
        "attribution",
    ]
    i, c, t = np.nonzero(~np.isnan(X[:4]))
    expected = sorted(zip(i, t.astype(float), c, X[:4][i, c, t], strict=True))
    got = list(attr[["instance", "time", "channel", "value"]].itertuples(index=False))
    assert len(got) == len(expected)
    for row, want in zip(got, expected, strict=True):
        assert row[:3] == want[:3]
        assert row[3] == pytest.approx(want[3], rel=1e-6)
    assert np.isfinite(attr["attribution"]).all()
    assert attr["attribution"].abs().sum() > 0


def test_attributions_of_frames_with_irregular_times():
    pytest.importorskip("captum")
    rng = np.random.default_rng(1)
    frames = []
    for i in range(6):
        times = np.cumsum(rng.uniform(0.5, 3.0, size=5 + i))
        values = rng.normal(size=(5 + i, 2))
        values[rng.random(values.shape) < 0.3] = np.nan
        values[:, 0] = rng.normal(size=5 + i)
        frames.append(pd.DataFrame(values, index=times, columns=["hr", "temp"]))
    est = CfCRegressor(**{**TINY, "time_grid": None}).fit(frames, rng.normal(size=6))
    attr, summary = attributions(est, frames, return_summary=True)
    expected = frames_to_long(frames, range(6))
    assert list(attr[["instance", "time", "channel"]].itertuples(index=False)) == [
        row[:3] for row in expected
    ]
    # the values as the network reads them: in float32
    np.testing.assert_allclose(attr["value"], [row[3] for row in expected], rtol=1e-6)
    assert summary.index.tolist() == list(range(6))
    np.testing.assert_allclose(summary["prediction"], est.predict(frames), rtol=1e-5)


def test_attributions_of_a_multiindex_frame_with_datetimes():
    pytest.importorskip("captum")
    rng = np.random.default_rng(2)
    pieces = []
    for k, stay in enumerate(["s1", "s2", "s3", "s4"]):
        times = pd.Timestamp("2024-03-01") + pd.to_timedelta(
            np.sort(rng.choice(600, size=4 + k, replace=False)), unit="min"
        )
        values = rng.normal(size=(len(times), 2))
        values[rng.random(values.shape) < 0.3] = np.nan
        values[:, 1] = 1.0
        index = pd.MultiIndex.from_arrays(
            [[stay] * len(times), times], names=["stay", "time"]
        )
        pieces.append(pd.DataFrame(values, index=index, columns=["HR", "MAP"]))
    X = pd.concat(pieces)
    est = CfCClassifier(**TINY).fit(X, np.array([0, 1, 0, 1]))
    # on a time grid, where observations of a channel may meet at one point
    assert est.encoder_.time_grid_ is not None
    attr, summary = attributions(est, X, return_summary=True)
    assert pd.api.types.is_datetime64_any_dtype(attr["time"])
    assert summary.index.tolist() == ["s1", "s2", "s3", "s4"]
    expected = X.stack().dropna().reset_index()
    expected.columns = ["stay", "time", "channel", "value"]
    assert attr["instance"].tolist() == expected["stay"].tolist()
    assert attr["channel"].tolist() == expected["channel"].tolist()
    np.testing.assert_allclose(attr["value"], expected["value"], rtol=1e-6)
    # times come back as the datetimes given (to within float rounding)
    error = (attr["time"] - expected["time"]).abs().max()
    assert error < pd.Timedelta(1, "ms")
    # the positive class of a binary classifier, and its probability
    assert (summary["target"] == 1).all()
    np.testing.assert_allclose(
        summary["prediction"], est.predict_proba(X)[:, 1], rtol=1e-5
    )


def check_completeness(est, X, atol, **kwargs):
    attr, summary = attributions(est, X, return_summary=True, **kwargs)
    per_instance = attr.groupby("instance", sort=False)["attribution"].sum()
    np.testing.assert_allclose(summary["attribution"], per_instance, atol=1e-9)
    gap = summary["prediction"] - summary["baseline"]
    assert gap.abs().max() > 10 * atol  # the baseline is not the prediction
    np.testing.assert_allclose(summary["attribution"], gap, atol=atol)
    np.testing.assert_allclose(summary["delta"], 0.0, atol=atol)
    return attr, summary


@pytest.mark.parametrize(
    "params, kwargs",
    [
        # binary: the positive class's probability
        (dict(readout="last"), dict()),
        (dict(readout="last", mixed_memory=False), dict(baseline="unobserved")),
        # changes, every running statistic, robust scaling
        (
            dict(readout="mean", running_stats=True, scale="robust"),
            dict(output="logit"),
        ),
        (dict(readout="last", mode="pure", differences=False), dict(output="logit")),
        (dict(readout="last", running_stats=True), dict(baseline="unobserved")),
        # patches, and a grid on which observations meet at one point
        (dict(readout="mean", patch_length=2, time_grid=1.5), dict()),
        # values drawn between observations, credited to both
        (dict(readout="mean", time_grid=0.75, fill="linear"), dict()),
        (
            dict(readout="last", time_grid=0.75, fill="linear", running_stats=True),
            dict(baseline="unobserved"),
        ),
    ],
)
def test_attributions_add_up_to_prediction_minus_baseline(data, params, kwargs):
    pytest.importorskip("captum")
    X, y = data
    est = CfCClassifier(**{**TINY, **params}).fit(X, y)
    if "patch_length" in params:
        assert est.patch_length_ == 2
    if params.get("time_grid") == 1.5:  # observations meet
        panel = est._to_panel(X)
        assert (panel.on_grid(1.5).lengths < panel.lengths).any()
    if params.get("fill") == "linear":  # grid points between observations
        panel = est._to_panel(X)
        assert (panel.on_grid(0.75).lengths > panel.lengths).all()
    check_completeness(est, X, atol=5e-4, **kwargs)


def test_attributions_add_up_for_a_predicted_class_and_a_regression_output(data):
    pytest.importorskip("captum")
    X, _ = data
    y3 = np.arange(len(X)) % 3
    clf = CfCClassifier(**{**TINY, "readout": "last"}).fit(X, y3)
    _, summary = check_completeness(clf, X, atol=5e-4, output="logit")
    # each series' predicted class, as predict says
    assert summary["target"].tolist() == clf.predict(X).tolist()
    Y = np.random.default_rng(0).normal(size=(len(X), 2)) * 50 + 100
    reg = CfCRegressor(**{**TINY, "readout": "last"}).fit(X, Y)
    _, summary = check_completeness(reg, X, atol=1e-2, target=1)
    np.testing.assert_allclose(summary["prediction"], reg.predict(X)[:, 1], rtol=1e-5)


def test_default_readout_adds_up_within_the_quadrature_error(classifier, data):
    pytest.importorskip("captum")
    # readout "all" takes a maximum over steps, a kink the quadrature meets
    X, _ = data
    _, summary = attributions(classifier, X, n_steps=100, return_summary=True)
    gap = (summary["prediction"] - summary["baseline"]).abs().max()
    assert summary["delta"].abs().max() < 0.05 * gap


def test_inputs_are_credited_to_the_observations_they_derive_from():
    from sklearn_cfc.inspection import _baseline, _Layout, _per_observation

    encoder = SimpleNamespace(
        fill_="forward", differences=True, running_stats_=("max", "count")
    )
    layout = _Layout.of(encoder)  # value, flag, since, change, max, count
    assert layout.n_blocks == 6
    T, C = 4, 2
    flags = np.zeros((1, T, C))
    flags[0, [0, 2], 0] = 1.0  # channel 0 observed at steps 0 and 2
    flags[0, 1, 1] = 1.0  # channel 1 at step 1
    inputs = np.zeros((1, T, 6, C))
    inputs[:, :, 1] = flags
    # every input of step t is credited t + 1
    attr = np.broadcast_to(np.arange(1.0, T + 1)[None, :, None, None], inputs.shape)
    panel = SimpleNamespace(mask=flags > 0.5, n_channels=C)
    got = _per_observation(attr.reshape(1, T, -1), panel, layout)
    # an observation collects its flag and change (2 inputs) at its step,
    # and the value, time since, max and count (4 inputs) at every step
    # until the channel's next observation
    expected = np.zeros((1, T, C))
    expected[0, 0, 0] = 2 * 1 + 4 * (1 + 2)
    expected[0, 2, 0] = 2 * 3 + 4 * (3 + 4)
    expected[0, 1, 1] = 2 * 2 + 4 * (2 + 3 + 4)
    np.testing.assert_array_equal(got, expected)

    x = torch.arange(1.0, 1 + T * 6 * C).reshape(1, T, 6 * C)
    lengths = torch.tensor([3])
    base = _baseline(x, lengths, C, layout, "mean").reshape(1, T, 6, C)
    blocks = x.reshape(1, T, 6, C)
    assert (base[:, :, [0, 3, 4]] == 0).all()  # value, change and max
    assert torch.equal(base[:, :, [1, 2, 5]], blocks[:, :, [1, 2, 5]])
    base = _baseline(x, lengths, C, layout, "unobserved").reshape(1, T, 6, C)
    assert (base[:, :3, 2] == -1).all()  # "never observed yet"
    assert (base[:, 3:] == 0).all()  # padding
    assert (base[:, :, [0, 1, 3, 4, 5]] == 0).all()


def test_drawn_inputs_are_credited_to_both_observations_of_their_line():
    from sklearn_cfc.inspection import _Layout, _per_observation

    encoder = SimpleNamespace(fill_="linear", differences=True, running_stats_=())
    layout = _Layout.of(encoder)  # value, change
    assert layout.n_blocks == 2
    assert layout.since is None
    # "a" at times 0 and 3 (drawn at 1 and 2); "b" at 0 only (carried)
    frame = pd.DataFrame({"a": [1.0, 4.0], "b": [2.0, np.nan]}, index=[0.0, 3.0])
    panel = to_panel([frame]).on_grid(1.0)
    T, C = 4, 2
    attr = np.ones((1, T, 2, C))  # every input credited 1
    got = _per_observation(attr.reshape(1, T, -1), panel, layout)
    expected = np.zeros((1, T, C))
    # "a" at 0: its value and change at 0, (1 - w) of the values drawn at
    # 1 and 2 (w = 1/3, 2/3); at 3: w of them, the drawn points' changes
    # and its own value and change
    expected[0, 0, 0] = 2 + 2 / 3 + 1 / 3
    expected[0, 3, 0] = 1 / 3 + 2 / 3 + 2 + 2
    # "b" at 0: its value and change, and its carried value at 1, 2, 3
    expected[0, 0, 1] = 2 + 3
    np.testing.assert_allclose(got, expected)


def one_observation_task(n, seed):
    """The label is the sign of channel 1, observed once, at step 4."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3, 8))
    y = rng.integers(0, 2, n)
    X[:, 1] = np.nan
    X[:, 1, 4] = np.where(y == 1, 1.0, -1.0) + 0.1 * rng.normal(size=n)
    return X, y


def test_attributions_find_the_one_observation_that_carries_the_label():
    pytest.importorskip("captum")
    X, y = one_observation_task(200, 0)
    est = CfCClassifier(
        units=8,
        backbone_units=16,
        max_epochs=20,
        learning_rate=1e-2,
        early_stopping=False,
        random_state=0,
    ).fit(X, y)
    X_test, y_test = one_observation_task(20, 1)
    assert est.score(X_test, y_test) == 1.0  # the network solved the task
    attr = attributions(est, X_test, output="logit")
    for _, rows in attr.groupby("instance"):
        size = rows["attribution"].abs().to_numpy()
        top = rows.iloc[np.argmax(size)]
        # channel 1's value is carried forward from step 4 to the end: all
        # of it goes back to the observation at step 4
        assert (top["time"], top["channel"]) == (4.0, 1)
        assert size.max() > 3 * np.sort(size)[-2]


def test_attributions_of_a_sktime_classifier(data):
    pytest.importorskip("captum")
    from sklearn_cfc import CfCTimeSeriesClassifier

    X, y = data
    wrapper = CfCTimeSeriesClassifier(**TINY).fit(X, y)
    got = attributions(wrapper, X[:2])
    expected = attributions(wrapper.estimator_, X[:2])
    pd.testing.assert_frame_equal(got, expected)
    assert len(time_constants(wrapper, X)) == TINY["units"]


# ----------------------------------------------------------------- bad input
def test_unfitted_estimators_are_refused(data):
    X, _ = data
    with pytest.raises(NotFittedError, match="This CfCClassifier instance is not"):
        time_constants(CfCClassifier(), X)
    with pytest.raises(NotFittedError, match="This CfCRegressor instance is not"):
        attributions(CfCRegressor(), X)


def test_other_estimators_are_refused(data):
    X, _ = data
    with pytest.raises(TypeError, match=re.escape("got CfCForecaster. A forecaster's")):
        time_constants(CfCForecaster(), X)
    with pytest.raises(TypeError, match="needs a CfCClassifier or CfCRegressor"):
        attributions(object(), X)


def test_wrong_channel_count_is_refused(classifier, data):
    X, _ = data
    message = "X has 2 channels, but CfCClassifier is expecting 3 channels as input."
    with pytest.raises(ValueError, match=re.escape(message)):
        time_constants(classifier, X[:, :2])
    pytest.importorskip("captum")
    with pytest.raises(ValueError, match=re.escape(message)):
        attributions(classifier, X[:, :2])


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (
            dict(target="dead"),
            ValueError,
            (
                "target='dead' is not a class of this CfCClassifier; classes_ "
                "are [0, 1]."
            ),
        ),
        (dict(target=[0, 1]), ValueError, "target=[0, 1] is not a class"),
        (
            dict(output="odds"),
            ValueError,
            "output must be 'probability' or 'logit' for CfCClassifier, got 'odds'.",
        ),
        (
            dict(baseline="zero"),
            ValueError,
            "baseline must be 'mean' or 'unobserved', got 'zero'.",
        ),
        (dict(n_steps=0), ValueError, "n_steps must be a positive int, got 0."),
        (dict(batch_size=2.5), TypeError, "batch_size must be a positive int"),
        (dict(return_summary="yes"), TypeError, "return_summary must be a bool"),
    ],
)
def test_bad_classifier_arguments(classifier, data, kwargs, error, message):
    pytest.importorskip("captum")
    X, _ = data
    with pytest.raises(error, match=re.escape(message)):
        attributions(classifier, X[:2], **kwargs)


def test_bad_regressor_arguments(data):
    pytest.importorskip("captum")
    X, _ = data
    reg = CfCRegressor(**TINY).fit(X, np.ones((len(X), 2)))
    with pytest.raises(ValueError, match=re.escape("predicts 2 outputs; pass target")):
        attributions(reg, X[:2])
    message = "target must be an int in 0..1 (the output to explain) for this "
    with pytest.raises(ValueError, match=re.escape(message + "CfCRegressor, got 2.")):
        attributions(reg, X[:2], target=2)
    with pytest.raises(ValueError, match="output applies to classifiers"):
        attributions(reg, X[:2], target=0, output="probability")


def test_module_imports_and_time_constants_work_without_captum(
    classifier, data, monkeypatch
):
    X, _ = data
    import sklearn_cfc.inspection

    monkeypatch.setitem(sys.modules, "captum", None)
    monkeypatch.setitem(sys.modules, "captum.attr", None)
    module = importlib.reload(sklearn_cfc.inspection)
    assert len(module.time_constants(classifier, X)) == TINY["units"]
    with pytest.raises(ImportError, match=re.escape('"sklearn-cfc[inspection]"')):
        module.attributions(classifier, X)


# ------------------------------------------------------------------- plotting
@pytest.fixture
def pyplot():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


def test_plot_attributions_draws_one_series(classifier, data, pyplot):
    pytest.importorskip("captum")
    from matplotlib.axes import Axes

    X, _ = data
    attr = attributions(classifier, X[:3])
    _, ax = pyplot.subplots()
    assert plot_attributions(attr, 1, ax=ax) is ax
    rows = attr[attr["instance"] == 1]
    order = rows.groupby("channel")["attribution"].apply(lambda s: s.abs().sum())
    labels = [label.get_text() for label in ax.get_yticklabels()]
    # the channel with the largest total attribution on top (the last tick)
    assert labels[::-1] == [str(c) for c in order.sort_values(ascending=False).index]
    mesh = ax.collections[0]
    assert np.ma.count(mesh.get_array()) == len(rows)  # one cell per observation
    assert np.nansum(np.abs(mesh.get_array())) == pytest.approx(
        rows["attribution"].abs().sum()
    )
    ax = plot_attributions(attr, 2, top=1)
    assert isinstance(ax, Axes)
    assert len(ax.get_yticklabels()) == 1


def test_plot_attributions_with_datetimes(pyplot):
    times = pd.to_datetime(["2024-01-01 00:00", "2024-01-01 01:00"] * 2)
    attr = pd.DataFrame(
        {
            "instance": "a",
            "time": times,
            "channel": ["HR", "HR", "MAP", "MAP"],
            "value": 1.0,
            "attribution": [0.1, -0.2, 0.05, 0.0],
        }
    )
    ax = plot_attributions(attr)
    assert ax.get_title() == "instance a"
    assert [label.get_text() for label in ax.get_yticklabels()] == ["MAP", "HR"]


def test_plot_attributions_bad_input(pyplot):
    attr = pd.DataFrame(
        {
            "instance": [0, 1],
            "time": 0.0,
            "channel": "a",
            "value": 1.0,
            "attribution": 0.5,
        }
    )
    with pytest.raises(ValueError, match=re.escape("hold 2 series; pass instance=")):
        plot_attributions(attr)
    with pytest.raises(ValueError, match=re.escape("instance=7 is not in the")):
        plot_attributions(attr, 7)
    with pytest.raises(ValueError, match="must be the DataFrame attributions"):
        plot_attributions(attr.drop(columns="value"), 0)
    with pytest.raises(
        ValueError, match=re.escape("top must be a positive int, got 0.")
    ):
        plot_attributions(attr, 0, top=0)
