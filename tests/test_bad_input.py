"""Every rejected input in one place: the bad-input battery.

Each case is a call, the exception it must raise and a fragment of the
message, which names the argument at fault (for ``X``, the instance and the
channel within it; for a classifier's ``y``, its labels or classes). Cases
are grouped by argument: settings, ``X``, ``y``, ``sample_weight``,
prediction, the forecaster, the panel functions and the dataset loaders.

Cases marked ``xfail(strict=True)`` are known bugs: the call should raise
as written but does not yet (the reason says what happens instead). When a
fix lands the case passes, strict xfail turns that into a failure, and the
mark is removed. The last test lists calls that must give finite outputs
or a named error, never NaN.
"""

import functools
import re
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError

from sklearn_cfc import CfCClassifier, CfCForecaster, CfCRegressor
from sklearn_cfc.datasets import (
    fetch_physionet2012,
    load_physionet2012,
    load_uea,
    make_irregular,
)
from sklearn_cfc.panel import (
    PanelEncoder,
    bucket_batches,
    check_channels,
    check_y_length,
    count_instances,
    forecast_windows,
    from_long,
    input_format,
    series_to_panel,
    to_panel,
    training_windows,
)

pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning",
    "ignore::sklearn.exceptions.DataConversionWarning",
    "ignore::FutureWarning",
)

NAN, INF = np.nan, np.inf
TINY = dict(
    units=4,
    backbone_units=4,
    mixed_memory=False,
    max_epochs=1,
    batch_size=4,
    device="cpu",
    random_state=0,
)
FORECAST_TINY = dict(
    context_length=4,
    units=4,
    backbone_units=4,
    max_epochs=1,
    batch_size=8,
    device="cpu",
    random_state=0,
)


# ---------------------------------------------------------------- helpers
def clf(**params):
    return CfCClassifier(**{**TINY, **params})


def reg(**params):
    return CfCRegressor(**{**TINY, **params})


def fc(**params):
    return CfCForecaster(**{**FORECAST_TINY, **params})


def X3(n=6, C=2, T=5):
    """Series of standard normal values, (n, C, T)."""
    return np.random.default_rng(0).normal(size=(n, C, T))


def labels(n=6):
    return np.array(["a", "b"] * (n // 2))


def targets(n=6):
    return np.linspace(-1.0, 1.0, n)


def with_value(value, at=(2, 1, 3)):
    X = X3()
    X[at] = value
    return X


def frame(index, **columns):
    """One instance as a DataFrame indexed by ``index`` (column 'a' by default)."""
    n = len(index)
    columns = columns or {"a": np.arange(n, dtype=float)}
    return pd.DataFrame(columns, index=index)


def frames(last, n=6):
    """``n`` instances, the last one ``last`` and the others regular."""
    return [frame([0.0, 1.0])] * (n - 1) + [last]


def with_time_channel(times):
    """Numpy X whose channel 0 holds ``times`` in every instance."""
    one = np.array([times, [1.0, 2.0, 3.0]])
    return np.stack([one] * 6)


def multiindex(frames_, keys):
    return pd.concat(frames_, keys=keys)


def series(n=20, index=None):
    return pd.Series(np.sin(np.arange(n, dtype=float)), index=index)


def panel_y(a, b):
    """Two series 'a' and 'b' as one pd-multiindex frame."""
    return pd.concat([a, b], keys=["a", "b"]).to_frame("v")


def exog(index):
    return pd.DataFrame({"x": np.arange(len(index), dtype=float)}, index=index)


@functools.cache
def fitted(kind):
    """Small fitted models shared by the prediction cases (never modified)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if kind == "classifier":
            return clf().fit(X3(), labels())
        if kind == "regressor":
            return reg().fit(X3(), targets())
        if kind == "named":  # channels 'a' and 'b'
            named = [frame([0.0, 1.0], a=[1.0, 2.0], b=[3.0, 4.0])] * 6
            return clf().fit(named, labels())
        if kind == "encoder":
            return PanelEncoder().fit(X3())
        if kind == "forecaster":
            return fc().fit(series(), fh=[1, 2])
        if kind == "forecaster with X":
            y = series()
            return fc().fit(y, X=exog(y.index), fh=[1])
    raise KeyError(kind)


def future_exog(**columns):
    """Exogenous values at the forecast time after ``series()`` (t = 20)."""
    return pd.DataFrame(columns or {"x": [20.0]}, index=[20])


def param(estimator, name, got):
    """sklearn's message for a setting that breaks its constraint."""
    return (
        rf"The '{name}' parameter of {estimator} must be .* "
        rf"Got {re.escape(got)} instead\."
    )


def case(id, call, exc, match=None, *, regex=None, bug=None):
    """One row: ``call()`` raises ``exc`` with ``match`` (literal) in its message.

    ``regex`` replaces ``match`` where the text varies (sets are printed in
    any order). ``bug`` marks a known defect: the row states the correct
    behaviour and is expected to fail until it is fixed.
    """
    pattern = regex if regex is not None else re.escape(match)
    marks = ()
    if bug is not None:
        marks = pytest.mark.xfail(strict=True, reason=f"issue 16: {bug}")
    return pytest.param(call, exc, pattern, id=id, marks=marks)


# ------------------------------------------------------------- settings
SETTINGS = [
    # an integer range
    case(
        "units=0",
        lambda: clf(units=0).fit(X3(), labels()),
        ValueError,
        regex=param("CfCClassifier", "units", "0"),
    ),
    case(
        "units=2.5",
        lambda: reg(units=2.5).fit(X3(), targets()),
        ValueError,
        regex=param("CfCRegressor", "units", "2.5"),
    ),
    case(
        "backbone_layers=-1",
        lambda: clf(backbone_layers=-1).fit(X3(), labels()),
        ValueError,
        regex=param("CfCClassifier", "backbone_layers", "-1"),
    ),
    case(
        "max_epochs=0",
        lambda: clf(max_epochs=0).fit(X3(), labels()),
        ValueError,
        regex=param("CfCClassifier", "max_epochs", "0"),
    ),
    case(
        "batch_size=0",
        lambda: reg(batch_size=0).fit(X3(), targets()),
        ValueError,
        regex=param("CfCRegressor", "batch_size", "0"),
    ),
    case(
        "n_iter_no_change=0",
        lambda: clf(n_iter_no_change=0).fit(X3(), labels()),
        ValueError,
        regex=param("CfCClassifier", "n_iter_no_change", "0"),
    ),
    # a real range: open, half-open, bounded on both sides
    case(
        "learning_rate=0",
        lambda: reg(learning_rate=0.0).fit(X3(), targets()),
        ValueError,
        regex=param("CfCRegressor", "learning_rate", "0.0"),
    ),
    case(
        "weight_decay<0",
        lambda: clf(weight_decay=-1e-3).fit(X3(), labels()),
        ValueError,
        regex=param("CfCClassifier", "weight_decay", "-0.001"),
    ),
    case(
        "tol<0",
        lambda: clf(tol=-1.0).fit(X3(), labels()),
        ValueError,
        regex=param("CfCClassifier", "tol", "-1.0"),
    ),
    case(
        "backbone_dropout=1",
        lambda: clf(backbone_dropout=1.0).fit(X3(), labels()),
        ValueError,
        regex=param("CfCClassifier", "backbone_dropout", "1.0"),
    ),
    case(
        "validation_fraction=1",
        lambda: clf(validation_fraction=1.0).fit(X3(), labels()),
        ValueError,
        regex=param("CfCClassifier", "validation_fraction", "1.0"),
    ),
    case(
        "gradient_clip=0",
        lambda: clf(gradient_clip=0.0).fit(X3(), labels()),
        ValueError,
        regex=param("CfCClassifier", "gradient_clip", "0.0"),
    ),
    case(
        "dt_scale=0",
        lambda: clf(dt_scale=0.0).fit(X3(), labels()),
        ValueError,
        regex=param("CfCClassifier", "dt_scale", "0.0"),
    ),
    case(
        "dt_scale=inf",
        lambda: clf(dt_scale=INF).fit(X3(), labels()),
        ValueError,
        regex=param("CfCClassifier", "dt_scale", "inf"),
    ),
    # one of several strings
    case(
        "mode",
        lambda: clf(mode="fast").fit(X3(), labels()),
        ValueError,
        regex=param("CfCClassifier", "mode", "'fast'"),
    ),
    case(
        "activation",
        lambda: reg(activation="swish").fit(X3(), targets()),
        ValueError,
        regex=param("CfCRegressor", "activation", "'swish'"),
    ),
    case(
        "optimizer",
        lambda: clf(optimizer="lbfgs").fit(X3(), labels()),
        ValueError,
        regex=param("CfCClassifier", "optimizer", "'lbfgs'"),
    ),
    case(
        "lr_schedule",
        lambda: clf(lr_schedule="step").fit(X3(), labels()),
        ValueError,
        regex=param("CfCClassifier", "lr_schedule", "'step'"),
    ),
    case(
        "readout",
        lambda: clf(readout="first").fit(X3(), labels()),
        ValueError,
        regex=param("CfCClassifier", "readout", "'first'"),
    ),
    case(
        "scale",
        lambda: clf(scale="minmax").fit(X3(), labels()),
        ValueError,
        regex=param("CfCClassifier", "scale", "'minmax'"),
    ),
    # booleans, and a boolean or a string
    case(
        "mixed_memory",
        lambda: clf(mixed_memory="yes").fit(X3(), labels()),
        ValueError,
        regex=param("CfCClassifier", "mixed_memory", "'yes'"),
    ),
    case(
        "differences",
        lambda: reg(differences="no").fit(X3(), targets()),
        ValueError,
        regex=param("CfCRegressor", "differences", "'no'"),
    ),
    case(
        "warm_start",
        lambda: clf(warm_start="yes").fit(X3(), labels()),
        ValueError,
        regex=param("CfCClassifier", "warm_start", "'yes'"),
    ),
    case(
        "scale_target",
        lambda: reg(scale_target="yes").fit(X3(), targets()),
        ValueError,
        regex=param("CfCRegressor", "scale_target", "'yes'"),
    ),
    case(
        "early_stopping",
        lambda: clf(early_stopping="sometimes").fit(X3(), labels()),
        ValueError,
        regex=param("CfCClassifier", "early_stopping", "'sometimes'"),
    ),
    case(
        "patch_length=0",
        lambda: clf(patch_length=0).fit(X3(), labels()),
        ValueError,
        regex=param("CfCClassifier", "patch_length", "0"),
    ),
    # a list of names
    case(
        "running_stats-unknown-name",
        lambda: clf(running_stats=["median"]).fit(X3(), labels()),
        ValueError,
        regex=param("CfCClassifier", "running_stats", "['median']"),
    ),
    case(
        "running_stats-a-string",
        lambda: clf(running_stats="min").fit(X3(), labels()),
        ValueError,
        regex=param("CfCClassifier", "running_stats", "'min'"),
    ),
    # seeds, printing, devices, objects
    case(
        "random_state",
        lambda: clf(random_state="seed").fit(X3(), labels()),
        ValueError,
        regex=param("CfCClassifier", "random_state", "'seed'"),
    ),
    case(
        "verbose<0",
        lambda: clf(verbose=-1).fit(X3(), labels()),
        ValueError,
        regex=param("CfCClassifier", "verbose", "-1"),
    ),
    case(
        "device-type",
        lambda: clf(device=3).fit(X3(), labels()),
        ValueError,
        regex=param("CfCClassifier", "device", "3"),
    ),
    case(
        "device-name",
        lambda: clf(device="tpu").fit(X3(), labels()),
        ValueError,
        "device must be 'auto' or a torch device such as 'cpu' or 'cuda:0'; got 'tpu'.",
    ),
    case(
        "accelerator",
        lambda: clf(accelerator=object()).fit(X3(), labels()),
        ValueError,
        regex=r"The 'accelerator' parameter of CfCClassifier must be an object "
        r"implementing 'prepare', 'unwrap_model' and 'reduce' or None\.",
    ),
    # class weights
    case(
        "class_weight-type",
        lambda: clf(class_weight="auto").fit(X3(), labels()),
        ValueError,
        regex=param("CfCClassifier", "class_weight", "'auto'"),
    ),
    case(
        "class_weight-unknown-class",
        lambda: clf(class_weight={"z": 2.0}).fit(X3(), labels()),
        ValueError,
        "class_weight names classes ['z'] that are not in the data's classes "
        "['a', 'b'].",
    ),
    case(
        "class_weight-negative",
        lambda: clf(class_weight={"a": -1.0, "b": 1.0}).fit(X3(), labels()),
        ValueError,
        "class_weight['a'] is -1.0; class weights must be non-negative finite numbers.",
    ),
    case(
        "class_weight-not-a-number",
        lambda: clf(class_weight={"a": "heavy", "b": 1.0}).fit(X3(), labels()),
        ValueError,
        "class_weight['a'] is 'heavy'; class weights must be non-negative finite "
        "numbers.",
    ),
    case(
        "class_weight-all-zero",
        lambda: clf(class_weight={"a": 0.0, "b": 0.0}).fit(X3(), labels()),
        ValueError,
        "class_weight gives every class in y (['a', 'b']) a weight of 0; at least "
        "one class needs a positive weight.",
    ),
    case(
        "class_weight-zero-where-sample_weight-is-positive",
        lambda: clf(class_weight={"a": 0.0, "b": 1.0}).fit(
            X3(), labels(), sample_weight=[1.0, 0.0] * 3
        ),
        ValueError,
        "sample_weight and class_weight leave no instance with a positive weight",
    ),
    # timestamps' settings
    case(
        "time_unit-name",
        lambda: clf(time_unit="fortnight").fit(X3(), labels()),
        ValueError,
        "time_unit='fortnight' is not supported; use one of",
    ),
    case(
        "time_unit-type",
        lambda: clf(time_unit=3).fit(X3(), labels()),
        TypeError,
        "time_unit must be a string such as 's' or 'h', or a pd.Timedelta; got int.",
    ),
    case(
        "time_unit-zero",
        lambda: clf(time_unit=pd.Timedelta(0)).fit(X3(), labels()),
        ValueError,
        "time_unit must be a positive duration",
    ),
    case(
        "time_channel-out-of-range",
        lambda: clf(time_channel=5).fit(X3(), labels()),
        ValueError,
        "time_channel=5 is out of range for X with 2 channels.",
    ),
    case(
        "time_channel-name-for-numpy",
        lambda: clf(time_channel="t").fit(X3(), labels()),
        TypeError,
        "time_channel must be an integer channel position for numpy input; got 't'.",
    ),
    case(
        "time_channel-not-a-column",
        lambda: clf(time_channel="t").fit(frames(frame([0.0, 1.0])), labels()),
        ValueError,
        "time_channel='t' is not a column of instance 0; its columns are ['a'].",
    ),
    case(
        "time_channel-with-2d-numpy",
        lambda: clf(time_channel=0).fit(X3()[:, 0], labels()),
        ValueError,
        "time_channel is not supported for 2D numpy input",
    ),
    # forecaster settings
    case(
        "forecaster-context_length=0",
        lambda: fc(context_length=0).fit(series(), fh=[1]),
        ValueError,
        regex=param("CfCForecaster", "context_length", "0"),
    ),
    case(
        "forecaster-horizon=0",
        lambda: fc(horizon=0).fit(series(), fh=[1]),
        ValueError,
        regex=param("CfCForecaster", "horizon", "0"),
    ),
    case(
        "forecaster-update_epochs=0",
        lambda: fc(update_epochs=0).fit(series(), fh=[1]),
        ValueError,
        regex=param("CfCForecaster", "update_epochs", "0"),
    ),
    case(
        "forecaster-learning_rate<0",
        lambda: fc(learning_rate=-1.0).fit(series(), fh=[1]),
        ValueError,
        regex=param("CfCForecaster", "learning_rate", "-1.0"),
    ),
]


def _warm_start_changed():
    est = clf(warm_start=True).fit(X3(), labels())
    return est.set_params(units=5).fit(X3(), labels())


# --------------------------------------------- continuing a fitted model
CONTINUATION = [
    case(
        "warm_start-changed-setting",
        _warm_start_changed,
        ValueError,
        "CfCClassifier was fitted with other settings: units=4 to units=5.",
    ),
    case(
        "partial_fit-without-classes",
        lambda: clf().partial_fit(X3(), labels()),
        ValueError,
        "classes must be passed on the first call to partial_fit",
    ),
    case(
        "partial_fit-label-outside-classes",
        lambda: clf().partial_fit(X3(), labels(), classes=["a"]),
        ValueError,
        "y contains labels ['b'] that are not in classes ['a'].",
    ),
    case(
        "partial_fit-new-label",
        lambda: (
            clf()
            .partial_fit(X3(), labels(), classes=["a", "b"])
            .partial_fit(X3(), np.array(["a", "c"] * 3))
        ),
        ValueError,
        "y contains labels ['c'] not seen in the first fit",
    ),
    case(
        "partial_fit-other-channels",
        lambda: (
            clf()
            .partial_fit(X3(), labels(), classes=["a", "b"])
            .partial_fit(X3(C=1), labels())
        ),
        ValueError,
        "X has 1 channel, but CfCClassifier is expecting 2 channels as input.",
    ),
    case(
        "partial_fit-other-outputs",
        lambda: reg().fit(X3(), targets()).partial_fit(X3(), np.zeros((6, 2))),
        ValueError,
        "y has 2 outputs, but CfCRegressor was fitted with 1.",
    ),
    case(
        "partial_fit-early_stopping",
        lambda: clf(early_stopping=True).partial_fit(
            X3(), labels(), classes=["a", "b"]
        ),
        ValueError,
        "partial_fit does not support early_stopping=True",
    ),
]


# ------------------------------------------------------------------ X at fit
def fit_clf(X):
    return lambda: clf().fit(X, labels())


BAD_X = [
    # containers and shapes
    case(
        "X-None",
        fit_clf(None),
        TypeError,
        regex=r"^X must be a numpy array .*; got NoneType\.$",
    ),
    case("X-dict", fit_clf({"a": 1}), TypeError, regex=r"^X must be .*; got dict\.$"),
    case(
        "X-sparse",
        fit_clf(sp.csr_matrix(np.ones((6, 5)))),
        TypeError,
        "Sparse data is not supported: X is a sparse matrix",
    ),
    case(
        "X-1d",
        fit_clf(np.zeros(6)),
        ValueError,
        "numpy X must be 3D (n_instances, n_channels, n_timepoints) or 2D "
        "(n_instances, n_timepoints); got an array of shape (6,).",
    ),
    case(
        "X-4d",
        fit_clf(np.zeros((6, 1, 1, 5))),
        ValueError,
        "numpy X must be 3D (n_instances, n_channels, n_timepoints) or 2D "
        "(n_instances, n_timepoints); got an array of shape (6, 1, 1, 5).",
    ),
    case(
        "X-no-instances",
        lambda: clf().fit(np.zeros((0, 2, 5)), []),
        ValueError,
        "X contains no instances; at least one is required.",
    ),
    case(
        "X-no-time-points",
        fit_clf(np.zeros((6, 2, 0))),
        ValueError,
        "X has no time points",
    ),
    case(
        "X-no-channels",
        fit_clf(np.zeros((6, 0, 5))),
        ValueError,
        "X has no value channels",
    ),
    case(
        "X-list-of-strings",
        fit_clf(["a"] * 6),
        TypeError,
        "A list X must hold pandas DataFrames, Series or 2D numpy arrays (one per "
        "instance); instance 0 is a str.",
    ),
    case(
        "X-list-of-mixed-types",
        fit_clf([frame([0.0, 1.0]), np.zeros((1, 2))] * 3),
        TypeError,
        "instance 1 is a ndarray, but instance 0 is a DataFrame; all instances "
        "must have the same type.",
    ),
    case(
        "X-list-with-a-3d-array",
        fit_clf([np.zeros((1, 2, 3))] * 6),
        ValueError,
        "instance 0 is an array of shape (1, 2, 3); each instance must be 2D",
    ),
    case(
        "X-empty-instance",
        fit_clf(frames(frame([]))),
        ValueError,
        "instance 5 is empty: it has no rows.",
    ),
    # values
    case(
        "X-all-NaN-instance",
        fit_clf(with_value(NAN, at=2)),
        ValueError,
        "instance 2 has no observed value: all its values are NaN.",
    ),
    case(
        "X-inf",
        fit_clf(with_value(INF)),
        ValueError,
        "instance 2, channel 1 has an infinite value at time 3; values must be finite",
    ),
    case(
        "X-beyond-float32",
        fit_clf(with_value(1e39)),
        ValueError,
        "instance 2, channel 1 has an infinite value at time 3; values must be "
        "finite (and within the float32 range)",
    ),
    case(
        "X-strings",
        fit_clf(np.full((6, 1, 3), "a")),
        TypeError,
        "X has dtype <U1; expected numbers",
    ),
    case(
        "X-object-non-numbers",
        fit_clf(np.full((6, 1, 3), "a", dtype=object)),
        TypeError,
        "X has dtype object and holds a value that is not a number",
    ),
    case(
        "X-complex",
        fit_clf(X3().astype(complex)),
        ValueError,
        "Complex data not supported: X has dtype complex128",
    ),
    case(
        "X-datetimes-as-values",
        fit_clf(np.zeros((6, 1, 3), dtype="datetime64[s]")),
        TypeError,
        "X has dtype datetime64[s]; expected numbers",
    ),
    case(
        "X-frame-non-numeric-column",
        fit_clf(frames(frame([0.0, 1.0], a=["x", "y"]))),
        TypeError,
        "instance 5: column 'a' has non-numeric dtype",
    ),
    case(
        "X-wide-frame-non-numeric",
        fit_clf(pd.DataFrame({"t0": ["x"] * 6, "t1": ["y"] * 6})),
        TypeError,
        "X: column 't0' has non-numeric dtype",
    ),
    case(
        "X-nested-cell-not-a-series",
        fit_clf(pd.DataFrame({"a": [pd.Series([1.0, 2.0])] * 5 + [3.0]})),
        TypeError,
        "instance 5 (id 5), column 'a' holds a float; every cell of a nested "
        "frame must be a pd.Series.",
    ),
    # channels
    case(
        "X-unequal-channel-counts",
        fit_clf([np.zeros((2, 4)), np.zeros((3, 4))] * 3),
        ValueError,
        "instance 1 has 3 channels, but instance 0 has 2; every instance must "
        "have the same channels.",
    ),
    case(
        "X-unequal-channel-names",
        fit_clf(frames(frame([0.0, 1.0], c=[1.0, 2.0]))),
        ValueError,
        "instance 5 has channels ['c'], but instance 0 has ['a']; every instance "
        "must have the same channels.",
    ),
    case(
        "X-duplicate-column-names",
        fit_clf([pd.DataFrame([[1.0, 2.0]], columns=["a", "a"])] * 6),
        ValueError,
        "instance 0 has duplicate column names ['a']; channels need unique names.",
    ),
    # timestamps
    case(
        "X-duplicate-timestamps",
        fit_clf(frames(frame([1.0, 1.0]))),
        ValueError,
        "instance 5 has the duplicate timestamp 1; timestamps must be unique",
    ),
    case(
        "X-decreasing-timestamps",
        fit_clf(frames(frame([2.0, 1.0]))),
        ValueError,
        "instance 5 has decreasing timestamps: 1 follows 2; sort each instance "
        "by time.",
    ),
    case(
        "X-NaN-timestamp",
        fit_clf(frames(frame([0.0, NAN]))),
        ValueError,
        "instance 5 has a missing or infinite timestamp (NaN) at an observed step",
    ),
    case(
        "X-infinite-timestamp",
        fit_clf(frames(frame([0.0, INF]))),
        ValueError,
        "instance 5 has a missing or infinite timestamp (inf) at an observed step",
    ),
    case(
        "X-string-timestamps",
        fit_clf(frames(frame(["a", "b"]))),
        TypeError,
        "instance 5: timestamps are strings; parse them first with pd.to_datetime",
    ),
    case(
        "X-boolean-timestamps",
        fit_clf(frames(frame([False, True]))),
        TypeError,
        "instance 5: timestamps are booleans",
    ),
    case(
        "X-MultiIndex-timestamps-per-instance",
        fit_clf(frames(frame(pd.MultiIndex.from_tuples([(0, 0), (0, 1)])))),
        TypeError,
        "instance 5: timestamps are a MultiIndex",
    ),
    case(
        "X-mixed-timestamp-kinds",
        fit_clf(frames(frame(pd.to_datetime(["2020-01-01", "2020-01-02"])))),
        TypeError,
        "instance 5 has datetime64 timestamps, but instance 0 has numeric "
        "timestamps; use one kind of timestamp for all instances.",
    ),
    case(
        "X-time_channel-duplicates",
        lambda: clf(time_channel=0).fit(with_time_channel([0, 0, 1]), labels()),
        ValueError,
        "instance 0 has the duplicate timestamp 0",
    ),
    case(
        "X-time_channel-decreasing",
        lambda: clf(time_channel=0).fit(with_time_channel([0, 2, 1]), labels()),
        ValueError,
        "instance 0 has decreasing timestamps: 1 follows 2",
    ),
    case(
        "X-time_channel-NaN",
        lambda: clf(time_channel=0).fit(with_time_channel([0, NAN, 1]), labels()),
        ValueError,
        "instance 0 has a missing or infinite timestamp (NaN) at an observed step",
    ),
    # pd-multiindex
    case(
        "X-MultiIndex-three-levels",
        fit_clf(pd.concat([multiindex([frame([0.0, 1.0])] * 6, range(6))], keys=[0])),
        ValueError,
        "A MultiIndex X must have 2 levels (instance, time); got 3 levels",
    ),
    case(
        "X-MultiIndex-missing-instance-id",
        fit_clf(
            pd.DataFrame(
                {"a": [1.0, 2.0]},
                index=pd.MultiIndex.from_arrays([[0, NAN], [0, 1]]),
            )
        ),
        ValueError,
        "X has a missing instance id at row 1.",
    ),
    case(
        "X-MultiIndex-string-times",
        fit_clf(multiindex([frame(["a", "b"])] * 6, range(6))),
        TypeError,
        "The time level of X: timestamps are strings",
    ),
    case(
        "X-MultiIndex-non-numeric-column",
        fit_clf(multiindex([frame([0.0, 1.0], a=["x", "y"])] * 6, range(6))),
        TypeError,
        "Column 'a' of X has non-numeric dtype",
    ),
    case(
        "X-MultiIndex-all-NaN-instance",
        fit_clf(
            multiindex(
                [frame([0.0, 1.0])] * 5 + [frame([0.0], a=[NAN])], list("pqrstu")
            )
        ),
        ValueError,
        "instance 5 (id 'u') has no observed value: all its values are NaN.",
    ),
]


# ------------------------------------------------------------------------ y
def fit_with(estimator, y):
    return lambda: estimator.fit(X3(), y)


def labels_with_missing():
    return pd.array(["a", "b", pd.NA, "a", "b", "a"], dtype="string")


BAD_Y = [
    case(
        "y-None",
        fit_with(clf(), None),
        ValueError,
        "CfCClassifier requires y to be passed, but the target y is None.",
    ),
    case(
        "y-shorter-than-X",
        fit_with(clf(), labels()[:-1]),
        ValueError,
        "X has 6 instances, but y has 5 entries; they must match.",
    ),
    case(
        "y-longer-than-X",
        fit_with(reg(), np.zeros(7)),
        ValueError,
        "X has 6 instances, but y has 7 entries; they must match.",
    ),
    case(
        "y-scalar",
        fit_with(reg(), 1.0),
        ValueError,
        "X has 6 instances, but y has 0 entries; they must match.",
    ),
    case(
        "y-NaN-label",
        fit_with(clf(), np.array([0.0, 1.0, NAN, 0.0, 1.0, 0.0])),
        ValueError,
        "Input y contains NaN.",
    ),
    case(
        "y-missing-label",
        fit_with(clf(), labels_with_missing()),
        ValueError,
        "y has a missing label (<NA>) at position 2; every instance needs a label.",
    ),
    case(
        "y-NaN-target",
        fit_with(reg(), np.array([0.0, 1.0, NAN, 0.0, 1.0, 0.0])),
        ValueError,
        "Input y contains NaN.",
    ),
    case(
        "y-infinite-target",
        fit_with(reg(), np.array([0.0, 1.0, INF, 0.0, 1.0, 0.0])),
        ValueError,
        "Input y contains infinity",
    ),
    case(
        "y-2d-labels",
        fit_with(clf(), np.zeros((6, 2))),
        ValueError,
        "y should be a 1d array, got an array of shape (6, 2) instead.",
    ),
    case(
        "y-3d-targets",
        fit_with(reg(), np.zeros((6, 1, 1))),
        ValueError,
        "y must be 1D (one target) or 2D (n_instances, n_outputs) with at least "
        "one output; got shape (6, 1, 1).",
    ),
    case(
        "y-no-outputs",
        fit_with(reg(), np.zeros((6, 0))),
        ValueError,
        "y must be 1D (one target) or 2D (n_instances, n_outputs) with at least "
        "one output; got shape (6, 0).",
    ),
    case(
        "y-strings-for-a-regressor",
        fit_with(reg(), labels()),
        ValueError,
        "y has dtype <U1; CfCRegressor needs numeric targets (for class labels, "
        "use CfCClassifier).",
    ),
    case(
        "y-object-non-numbers-for-a-regressor",
        fit_with(reg(), np.array([1.0, "a", 1.0, 1.0, 1.0, 1.0], dtype=object)),
        ValueError,
        "y has dtype object and holds a value that is not a number;",
    ),
    case(
        "y-missing-target",
        fit_with(reg(), pd.array([0.0, 1.0, None, 0.0, 1.0, 0.0], dtype="Float64")),
        ValueError,
        "Input y contains NaN.",
    ),
    case(
        "y-one-class",
        fit_with(clf(), np.zeros(6)),
        ValueError,
        "CfCClassifier needs samples of at least 2 classes in the data",
    ),
    case(
        "y-continuous-labels",
        fit_with(clf(), targets()),
        ValueError,
        "Unknown label type: continuous.",
    ),
]


# ----------------------------------------------------------- sample_weight
def fit_weighted(sample_weight):
    return lambda: clf().fit(X3(), labels(), sample_weight=sample_weight)


BAD_SAMPLE_WEIGHT = [
    case(
        "sample_weight-length",
        fit_weighted(np.ones(5)),
        ValueError,
        "sample_weight.shape == (5,), expected (6,)!",
    ),
    case(
        "sample_weight-2d",
        fit_weighted(np.ones((6, 2))),
        ValueError,
        "Sample weights must be 1D array or scalar",  # scikit-learn's words
    ),
    case(
        "sample_weight-negative",
        fit_weighted(-np.ones(6)),
        ValueError,
        "Negative values in data passed to `sample_weight`.",
    ),
    case(
        "sample_weight-all-zero",
        fit_weighted(np.zeros(6)),
        ValueError,
        "Sample weights must contain at least one non-zero number.",
    ),
    case(
        "sample_weight-NaN",
        fit_weighted(np.r_[NAN, np.ones(5)]),
        ValueError,
        "Input sample_weight contains NaN.",
    ),
    case(
        "sample_weight-inf",
        fit_weighted(np.r_[INF, np.ones(5)]),
        ValueError,
        "Input sample_weight contains infinity",
    ),
    case(
        "sample_weight-strings",
        fit_weighted(np.array(list("abcdef"))),
        TypeError,
        "sample_weight has dtype <U1; expected numbers.",
    ),
    case(
        "sample_weight-object-non-numbers",
        fit_weighted(np.array([1.0, "a", 1.0, 1.0, 1.0, 1.0], dtype=object)),
        TypeError,
        "sample_weight has dtype object and holds a value that is not a number.",
    ),
]


# --------------------------------------------------------------- prediction
def predict_with(kind, X, method="predict"):
    return lambda: getattr(fitted(kind), method)(X)


NOT_FITTED = "instance is not fitted yet. Call 'fit' with appropriate arguments"

PREDICTION = [
    # before fit
    case(
        "predict-before-fit",
        lambda: clf().predict(X3()),
        NotFittedError,
        "This CfCClassifier " + NOT_FITTED,
    ),
    case(
        "predict_proba-before-fit",
        lambda: clf().predict_proba(X3()),
        NotFittedError,
        "This CfCClassifier " + NOT_FITTED,
    ),
    case(
        "predict_log_proba-before-fit",
        lambda: clf().predict_log_proba(X3()),
        NotFittedError,
        "This CfCClassifier " + NOT_FITTED,
    ),
    case(
        "score-before-fit",
        lambda: reg().score(X3(), targets()),
        NotFittedError,
        "This CfCRegressor " + NOT_FITTED,
    ),
    case(
        "plot_history-before-fit",
        lambda: reg().plot_history(),
        NotFittedError,
        "This CfCRegressor " + NOT_FITTED,
    ),
    # channels
    case(
        "predict-fewer-channels",
        predict_with("classifier", X3(C=1)),
        ValueError,
        "X has 1 channel, but CfCClassifier is expecting 2 channels as input.",
    ),
    case(
        "predict-2d-numpy-to-a-2-channel-model",
        predict_with("regressor", X3()[:, 0]),
        ValueError,
        "X has 1 channel, but CfCRegressor is expecting 2 channels as input.",
    ),
    case(
        "predict-more-channels",
        predict_with("classifier", X3(C=3), "predict_proba"),
        ValueError,
        "X has 3 channels, but CfCClassifier is expecting 2 channels as input.",
    ),
    case(
        "predict-other-channel-names",
        predict_with("named", [frame([0.0], a=[1.0], c=[2.0])]),
        ValueError,
        "X has channels ['a', 'c'], but CfCClassifier was fitted with channels "
        "['a', 'b']; they must match, in the same order.",
    ),
    case(
        "predict-reordered-channel-names",
        predict_with("named", [frame([0.0], b=[1.0], a=[2.0])]),
        ValueError,
        "X has channels ['b', 'a'], but CfCClassifier was fitted with channels "
        "['a', 'b']",
    ),
    # values and containers
    case(
        "predict-no-instances",
        predict_with("classifier", X3(n=0)),
        ValueError,
        "X contains no instances; at least one is required.",
    ),
    case(
        "predict-all-NaN-instance",
        predict_with("regressor", with_value(NAN, at=2)),
        ValueError,
        "instance 2 has no observed value: all its values are NaN.",
    ),
    case(
        "predict-inf",
        predict_with("regressor", with_value(-INF)),
        ValueError,
        "instance 2, channel 1 has an infinite value at time 3",
    ),
    case(
        "predict-strings",
        predict_with("classifier", np.full((2, 2, 3), "a")),
        TypeError,
        "X has dtype <U1; expected numbers",
    ),
    case(
        "predict-1d",
        predict_with("classifier", np.zeros(5)),
        ValueError,
        "numpy X must be 3D (n_instances, n_channels, n_timepoints) or 2D",
    ),
    case(
        "predict-empty-iterator",
        predict_with("classifier", iter([])),
        ValueError,
        "X is an empty iterator: pass at least one batch of series to predict.",
    ),
    case(
        "transform-empty-iterator",
        predict_with("regressor", iter([]), "transform"),
        ValueError,
        "X is an empty iterator: pass at least one batch of series to transform.",
    ),
    case(
        "predict-iterator-batch-with-other-channels",
        predict_with("classifier", iter([X3(n=2), X3(n=2, C=3)])),
        ValueError,
        "batch 1 of X: X has 3 channels, but CfCClassifier is expecting 2",
    ),
    case(
        "predict-iterator-of-None",
        predict_with("classifier", iter([None])),
        TypeError,
        "batch 0 of X: X must be a numpy array",
    ),
]


# -------------------------------------------------------------- forecaster
FORECASTER = [
    case(
        "forecaster-predict-before-fit",
        lambda: fc().predict(fh=[1]),
        NotFittedError,
        "This instance of CfCForecaster has not been fitted yet.",
    ),
    case(
        "forecaster-update-before-fit",
        lambda: fc().update(series()),
        NotFittedError,
        "This instance of CfCForecaster has not been fitted yet.",
    ),
    case(
        "forecaster-predict_interval-before-fit",
        lambda: fc().predict_interval(fh=[1]),
        NotFittedError,
        "This instance of CfCForecaster has not been fitted yet.",
    ),
    # y
    case(
        "forecaster-y-one-observation",
        lambda: fc().fit(series(1), fh=[1]),
        ValueError,
        "CfCForecaster needs at least 2 observed time points per series (a context "
        "and a target); the series has 1.",
    ),
    case(
        "forecaster-y-all-NaN",
        lambda: fc().fit(pd.Series(NAN, index=range(5)), fh=[1]),
        ValueError,
        "y has no observed value: all its values are NaN.",
    ),
    case(
        "forecaster-panel-y-series-all-NaN",
        lambda: fc().fit(
            panel_y(series(5), pd.Series(NAN, index=range(5))),
            fh=[1],
        ),
        ValueError,
        "Series 'b' has no observed value: all its values are NaN.",
    ),
    case(
        "forecaster-panel-y-short-series",
        lambda: fc().fit(panel_y(series(5), series(1)), fh=[1]),
        ValueError,
        "series 'b' has 1.",
    ),
    case(
        "forecaster-y-strings",
        lambda: fc().fit(pd.DataFrame({"v": list("abcde")}), fh=[1]),
        TypeError,
        regex=r"\by\b",
    ),
    case(
        "forecaster-y-duplicate-times",
        lambda: fc().fit(series(5, index=[0, 1, 1, 3, 4]), fh=[1]),
        ValueError,
        "y has the duplicate timestamp 1; the timestamps of a series must be unique.",
    ),
    case(
        "forecaster-panel-y-duplicate-times",
        lambda: fc().fit(panel_y(series(5), series(5, index=[0, 1, 1, 3, 4])), fh=[1]),
        ValueError,
        "y has the duplicate timestamp 1 in series 'b'; the timestamps of a "
        "series must be unique.",
    ),
    # fh
    case(
        "forecaster-no-fh",
        lambda: fc().fit(series()).predict(),
        ValueError,
        "The forecasting horizon `fh` must be passed either to `fit` or `predict`",
    ),
    case(
        "forecaster-fh-string",
        lambda: fc().fit(series(), fh="a"),
        TypeError,
        "Invalid `fh`.",
    ),
    case(
        "forecaster-fh-floats",
        lambda: fc().fit(series(), fh=[1.5]),
        TypeError,
        "Invalid `fh`.",
    ),
    case(
        "forecaster-fh-duplicates",
        lambda: fc().fit(series(), fh=[1, 1]),
        ValueError,
        "Invalid `fh`. The `fh` values must not contain any duplicates.",
    ),
    case(
        "forecaster-fh-empty",
        lambda: fc().fit(series(), fh=[]),
        ValueError,
        "`fh` must not be empty",
    ),
    case(
        "forecaster-fh-datetimes-for-integer-times",
        lambda: fitted("forecaster").predict(fh=pd.to_datetime(["2020-01-01"])),
        TypeError,
        "fh holds datetime times, but y has numeric timestamps; pass fh as steps "
        "ahead (integers) or as times of y's kind.",
    ),
    case(
        "forecaster-coverage",
        lambda: fitted("forecaster").predict_interval(coverage=1.5),
        ValueError,
        "values in coverage must lie in the open interval (0, 1)",
    ),
    case(
        "forecaster-alpha",
        lambda: fitted("forecaster").predict_quantiles(alpha=[1.5]),
        ValueError,
        "values in alpha must lie in the open interval (0, 1)",
    ),
    # exogenous X
    case(
        "forecaster-X-missing-at-predict",
        lambda: fitted("forecaster with X").predict(),
        ValueError,
        "CfCForecaster was fitted with exogenous X, so predict needs X at the "
        "forecast times too",
    ),
    case(
        "forecaster-X-NaN-at-predict",
        lambda: fitted("forecaster with X").predict(X=future_exog(x=[NAN])),
        ValueError,
        "X has missing values at forecast times of series ''",
    ),
    case(
        "forecaster-X-extra-column-at-predict",
        lambda: fitted("forecaster with X").predict(X=future_exog(x=[20.0], z=[1.0])),
        ValueError,
        "X has columns ['x', 'z'], but CfCForecaster was fitted with exogenous "
        "columns ['x']; they must match, in the same order.",
    ),
    case(
        "forecaster-X-renamed-column-at-predict",
        lambda: fitted("forecaster with X").predict(X=future_exog(z=[20.0])),
        ValueError,
        "X has columns ['z'], but CfCForecaster was fitted with exogenous "
        "columns ['x']; they must match, in the same order.",
    ),
    case(
        "forecaster-X-inf-at-predict",
        lambda: fitted("forecaster with X").predict(X=future_exog(x=[INF])),
        ValueError,
        regex=r"^X has an infinite value in column 'x'",
    ),
    case(
        "forecaster-X-strings",
        lambda: fc().fit(series(), X=exog(range(20)).assign(x="a"), fh=[1]),
        TypeError,
        # pandas 3 reads strings as the str dtype, pandas 2 as objects
        regex=r"X column 'x' has dtype (str, which is not numeric|object and "
        r"holds 'a' at 0, which is not a number); CfCForecaster does not "
        r"support categorical values",
    ),
    case(
        "forecaster-X-categories",
        lambda: fc().fit(
            series(), X=exog(range(20)).assign(x=pd.Categorical(["a"] * 20)), fh=[1]
        ),
        TypeError,
        "X column 'x' has dtype category, which is not numeric",
    ),
    case(
        "forecaster-X-inf",
        lambda: fc().fit(series(), X=exog(range(20)).replace(3.0, INF), fh=[1]),
        ValueError,
        regex=r"^X has an infinite value in column 'x' at time 3",
    ),
]


# ------------------------------------------------------------ panel functions
def events(**columns):
    """A long event log (id, time, variable, value) of two instances."""
    base = {
        "id": [1, 1, 2],
        "time": [0.0, 1.0, 0.0],
        "variable": ["a", "b", "a"],
        "value": [1.0, 2.0, 3.0],
    }
    return pd.DataFrame({**base, **columns})


def panel():
    return to_panel(X3())


PANEL = [
    # to_panel and the format helpers
    case(
        "to_panel-None",
        lambda: to_panel(None),
        TypeError,
        regex=r"^X must be a numpy array .*; got NoneType\.$",
    ),
    case(
        "to_panel-empty-list",
        lambda: to_panel([]),
        ValueError,
        "X contains no instances; at least one is required.",
    ),
    case(
        "to_panel-time_unit",
        lambda: to_panel(X3(), time_unit="week"),
        ValueError,
        "time_unit='week' is not supported",
    ),
    case(
        "to_panel-negative-time_unit",
        lambda: to_panel(X3(), time_unit=pd.Timedelta(-1, "s")),
        ValueError,
        "time_unit must be a positive duration",
    ),
    case(
        "to_panel-time_channel-for-wide-frame",
        lambda: to_panel(pd.DataFrame({"a": [1.0]}), time_channel="a"),
        ValueError,
        "time_channel is not supported for a wide DataFrame",
    ),
    case(
        "to_panel-time_channel-for-series",
        lambda: to_panel([pd.Series([1.0, 2.0])], time_channel="a"),
        ValueError,
        "time_channel needs DataFrame instances, not Series.",
    ),
    case(
        "to_panel-frames-then-series",
        lambda: to_panel([frame([0.0]), pd.Series([1.0])]),
        TypeError,
        "instance 1 is a Series, but instance 0 is a DataFrame; all instances "
        "must have the same type.",
    ),
    case(
        "to_panel-timezone-aware-and-naive",
        lambda: to_panel(
            [
                frame(pd.to_datetime(["2020-01-01"]).tz_localize("UTC")),
                frame(pd.to_datetime(["2020-01-01"])),
            ]
        ),
        TypeError,
        "instance 1 has datetime64 timestamps, but instance 0 has timezone-aware "
        "datetime64 timestamps",
    ),
    case(
        "input_format-sparse",
        lambda: input_format(sp.csr_matrix(np.ones((2, 2)))),
        TypeError,
        "Sparse data is not supported: X is a sparse matrix",
    ),
    case(
        "count_instances-None",
        lambda: count_instances(None),
        TypeError,
        regex=r"^X must be .*; got NoneType\.$",
    ),
    case(
        "check_y_length",
        lambda: check_y_length(X3(), [1, 2]),
        ValueError,
        "X has 6 instances, but y has 2 entries; they must match.",
    ),
    case(
        "check_channels",
        lambda: check_channels(to_panel(X3(C=1)), fitted("encoder")),
        ValueError,
        "X has 1 channel, but PanelEncoder is expecting 2 channels as input.",
    ),
    # PanelEncoder
    case(
        "PanelEncoder-transform-before-fit",
        lambda: PanelEncoder().transform(X3()),
        NotFittedError,
        "This PanelEncoder " + NOT_FITTED,
    ),
    case(
        "PanelEncoder-inverse_scale-before-fit",
        lambda: PanelEncoder().inverse_scale(np.zeros((3, 2))),
        NotFittedError,
        "This PanelEncoder " + NOT_FITTED,
    ),
    case(
        "PanelEncoder-transform-other-channels",
        lambda: fitted("encoder").transform(X3(C=3)),
        ValueError,
        "X has 3 channels, but PanelEncoder is expecting 2 channels as input.",
    ),
    case(
        "PanelEncoder-scale",
        lambda: PanelEncoder(scale="minmax").fit(X3()),
        ValueError,
        "The 'scale' parameter of PanelEncoder must be a bool, 'standard', "
        "'robust' or 'auto'. Got 'minmax' instead.",
    ),
    case(
        "PanelEncoder-dt_scale-negative",
        lambda: PanelEncoder(dt_scale=-1.0).fit(X3()),
        ValueError,
        "The 'dt_scale' parameter of PanelEncoder must be 'median' or a positive "
        "float. Got -1.0 instead.",
    ),
    case(
        "PanelEncoder-dt_scale-bool",
        lambda: PanelEncoder(dt_scale=True).fit(X3()),
        ValueError,
        "The 'dt_scale' parameter of PanelEncoder must be 'median' or a positive "
        "float. Got True instead.",
    ),
    case(
        "PanelEncoder-dt_scale-NaN",
        lambda: PanelEncoder(dt_scale=NAN).fit(X3()),
        ValueError,
        "The 'dt_scale' parameter of PanelEncoder must be 'median' or a positive "
        "float. Got nan instead.",
    ),
    case(
        "PanelEncoder-dt_scale-inf",
        lambda: PanelEncoder(dt_scale=INF).fit(X3()),
        ValueError,
        "The 'dt_scale' parameter of PanelEncoder must be 'median' or a positive "
        "float. Got inf instead.",
    ),
    case(
        "PanelEncoder-time_grid-inf",
        lambda: PanelEncoder(time_grid=INF).fit(X3()),
        ValueError,
        "The 'time_grid' parameter of PanelEncoder must be None, 'auto' or a "
        "positive float. Got inf instead.",
    ),
    case(
        "PanelEncoder-running_stats-repeated",
        lambda: PanelEncoder(running_stats=["min", "min"]).fit(X3()),
        ValueError,
        "The 'running_stats' parameter of PanelEncoder must be a bool or a list "
        "of distinct names among ['min', 'max', 'mean', 'count']. Got ['min', "
        "'min'] instead.",
    ),
    case(
        "PanelEncoder-differences",
        lambda: PanelEncoder(differences=1).fit(X3()),
        ValueError,
        regex=param("PanelEncoder", "differences", "1"),
    ),
    case(
        "PanelEncoder-inverse_scale-width",
        lambda: fitted("encoder").inverse_scale(np.zeros((3, 5))),
        ValueError,
        "values must have shape (..., 2), its last axis one entry per channel seen "
        "in fit; got shape (3, 5).",
    ),
    case(
        "PanelEncoder-transform-value-beyond-float32",
        lambda: PanelEncoder().fit(X3(C=1) * 1e-40).transform(X3(C=1)),
        ValueError,
        regex=r"^X: instance 0, channel 0 has the value 0\.12573 at time 0: "
        r".* once scaled by the fitted mean_=.* and scale_=.*, beyond the float32 "
        r"range the network computes in",
    ),
    case(
        "PanelEncoder-transform-change-beyond-float32",
        lambda: (
            PanelEncoder(differences=True)
            .fit(np.array([[[1e38, 1e38]], [[-1e38, -1e38]]]))
            .transform(np.array([[[3e38, -3e38]]]))
        ),
        ValueError,
        "X: instance 0, channel 0 changes by -6e+38 at time 1: -6e+38 once "
        "divided by the fitted change_scale_=1, beyond the float32 range",
    ),
    case(
        "PanelEncoder-transform-gap-beyond-float32",
        lambda: (
            PanelEncoder()
            .fit([frame([0.0, 1.0])])
            .transform([frame([0.0, 1.0, 1e39], a=[1.0, 2.0, 3.0])])
        ),
        ValueError,
        "X: instance 0 has a gap of 1e+39 between its observations at times 1 and "
        "1e+39: 1e+39 times the time scale dt_scale_=1, beyond the float32 range",
    ),
    # from_long
    case(
        "from_long-not-a-frame",
        lambda: from_long(events().to_numpy()),
        TypeError,
        "df must be a pandas DataFrame; got ndarray.",
    ),
    case(
        "from_long-agg",
        lambda: from_long(events(), agg="median"),
        ValueError,
        "agg must be one of ['mean', 'sum', 'first', 'last', 'min', 'max']; got "
        "'median' instead.",
    ),
    case(
        "from_long-return_type",
        lambda: from_long(events(), return_type="numpy"),
        ValueError,
        "return_type must be 'list' or 'multiindex'; got 'numpy'.",
    ),
    case(
        "from_long-missing-column",
        lambda: from_long(events(), id_col="patient"),
        ValueError,
        "id_col='patient' is not a column of df; its columns are",
    ),
    case(
        "from_long-non-numeric-values",
        lambda: from_long(events(value=["x", "y", "z"])),
        TypeError,
        "Column 'value' has non-numeric dtype",
    ),
    case(
        "from_long-string-times",
        lambda: from_long(events(time=["0", "1", "2"])),
        TypeError,
        regex=r"Column 'time' has dtype (str|object); timestamps must be numbers, "
        r"datetime64 or timedelta64",
    ),
    case(
        "from_long-missing-id",
        lambda: from_long(events(id=[1, NAN, 2])),
        ValueError,
        "Column 'id' has a missing value at row 1.",
    ),
    case(
        "from_long-missing-time",
        lambda: from_long(events(time=[0.0, NAN, 2.0])),
        ValueError,
        "Column 'time' has a missing value at row 1.",
    ),
    case(
        "from_long-repeated-variables",
        lambda: from_long(events(), variables=["a", "a"]),
        ValueError,
        "variables has duplicate names.",
    ),
    case(
        "from_long-variables-a-string",
        lambda: from_long(events(), variables="ab"),
        TypeError,
        "variables must be a sequence of variable names, not a string; for the "
        "one variable 'ab', pass ['ab'].",
    ),
    case(
        "from_long-variables-not-a-sequence",
        lambda: from_long(events(), variables=3),
        TypeError,
        "variables must be a sequence of variable names; got int.",
    ),
    # make_irregular
    case(
        "make_irregular-drop=1",
        lambda: make_irregular(X3(), drop=1.0),
        ValueError,
        "drop must be a float in [0, 1); got 1.0 instead.",
    ),
    case(
        "make_irregular-drop<0",
        lambda: make_irregular(X3(), drop=-0.1),
        ValueError,
        "drop must be a float in [0, 1); got -0.1 instead.",
    ),
    case(
        "make_irregular-drop-string",
        lambda: make_irregular(X3(), drop="0.3"),
        ValueError,
        "drop must be a float in [0, 1); got '0.3' instead.",
    ),
    case(
        "make_irregular-drop-NaN",
        lambda: make_irregular(X3(), drop=NAN),
        ValueError,
        "drop must be a float in [0, 1); got nan instead.",
    ),
    case(
        "make_irregular-X-None",
        lambda: make_irregular(None),
        TypeError,
        "make_irregular needs a format accepted by to_panel; got NoneType.",
    ),
    case(
        "make_irregular-X-1d",
        lambda: make_irregular(np.zeros(5)),
        ValueError,
        "numpy X must be 3D (n_instances, n_channels, n_timepoints) or 2D "
        "(n_instances, n_timepoints); got an array of shape (5,).",
    ),
    case(
        "make_irregular-duplicate-timestamps",
        lambda: make_irregular([frame([0.0, 0.0])]),
        ValueError,
        "instance 0 has the duplicate timestamp 0",
    ),
    case(
        "make_irregular-X-strings",
        lambda: make_irregular(np.array([["a", "b"]])),
        TypeError,
        "X has dtype <U1; expected numbers",
    ),
    case(
        "make_irregular-unequal-channel-counts",
        lambda: make_irregular([np.zeros((1, 3)), np.zeros((2, 3))]),
        ValueError,
        "instance 1 has 2 channels, but instance 0 has 1",
    ),
    case(
        "make_irregular-empty-list",
        lambda: make_irregular([]),
        ValueError,
        "X contains no instances; at least one is required.",
    ),
    case(
        "make_irregular-wide-frame-strings",
        lambda: make_irregular(pd.DataFrame({"t0": ["x"], "t1": ["y"]})),
        TypeError,
        "X: column 't0' has non-numeric dtype",
    ),
    case(
        "make_irregular-per_channel",
        lambda: make_irregular(X3(), per_channel="yes"),
        ValueError,
        "per_channel must be a bool; got 'yes' instead.",
    ),
    case(
        "make_irregular-random_state",
        lambda: make_irregular(X3(), random_state="seed"),
        ValueError,
        "random_state must be None, an int or a numpy.random.RandomState "
        "instance; got 'seed' instead.",
    ),
    # batches and forecasting windows
    case(
        "bucket_batches-batch_size",
        lambda: bucket_batches([1, 2], 0),
        ValueError,
        "batch_size must be a positive integer; got 0 instead.",
    ),
    case(
        "bucket_batches-pool_batches",
        lambda: bucket_batches([1, 2], 2, pool_batches=0),
        ValueError,
        "pool_batches must be a positive integer; got 0 instead.",
    ),
    case(
        "bucket_batches-2d-lengths",
        lambda: bucket_batches([[1, 2]], 2),
        ValueError,
        "lengths must be 1D; got shape (1, 2).",
    ),
    case(
        "bucket_batches-string-lengths",
        lambda: bucket_batches(["a", "b"], 2),
        TypeError,
        "lengths must be integers (numbers of observations); got dtype <U1.",
    ),
    case(
        "bucket_batches-negative-lengths",
        lambda: bucket_batches([1, -2], 2),
        ValueError,
        "lengths must be non-negative; got -2 at position 1.",
    ),
    case(
        "training_windows-n_targets",
        lambda: training_windows(panel(), n_targets=0, context_length=2, horizon=1),
        ValueError,
        "n_targets must be in [1, 2] for a panel with 2 channels; got 0.",
    ),
    case(
        "training_windows-dt_scale",
        lambda: training_windows(
            panel(), n_targets=1, context_length=2, horizon=1, dt_scale=0.0
        ),
        ValueError,
        "dt_scale must be positive; got 0.0.",
    ),
    case(
        "training_windows-scale-shape",
        lambda: training_windows(
            panel(), n_targets=1, context_length=2, horizon=1, scale=np.ones(3)
        ),
        ValueError,
        "scale must have shape (6, 1), one row per instance; got (3,).",
    ),
    case(
        "training_windows-one-observation-each",
        lambda: training_windows(
            to_panel(X3(T=1)), n_targets=1, context_length=2, horizon=1
        ),
        ValueError,
        "No instance has 2 observations: there is no window.",
    ),
    case(
        "training_windows-context_length=0",
        lambda: training_windows(panel(), n_targets=2, context_length=0, horizon=1),
        ValueError,
        "context_length must be a positive integer; got 0 instead.",
    ),
    case(
        "training_windows-horizon=0",
        lambda: training_windows(panel(), n_targets=2, context_length=2, horizon=0),
        ValueError,
        "horizon must be a positive integer; got 0 instead.",
    ),
    case(
        "forecast_windows-context_length=0",
        lambda: forecast_windows(panel(), [6], n_targets=2, context_length=0),
        ValueError,
        "context_length must be a positive integer; got 0 instead.",
    ),
    case(
        "forecast_windows-duplicate-times",
        lambda: forecast_windows(panel(), [6, 6], n_targets=2, context_length=2),
        ValueError,
        "The forecast times contain duplicates.",
    ),
    case(
        "forecast_windows-no-covariates",
        lambda: forecast_windows(panel(), [6], n_targets=1, context_length=2),
        ValueError,
        "The panel has covariates: pass their values at the times.",
    ),
    case(
        "forecast_windows-times-of-another-kind",
        lambda: forecast_windows(
            panel(), pd.to_datetime(["2020-01-01"]), n_targets=2, context_length=2
        ),
        TypeError,
        "The forecast times are datetime64 timestamps, but the series have "
        "numeric timestamps.",
    ),
    case(
        "forecast_windows-NaN-time",
        lambda: forecast_windows(panel(), [NAN], n_targets=2, context_length=2),
        ValueError,
        "The forecast times must be finite (no NaN, NaT or inf); got nan at "
        "position 0.",
    ),
    case(
        "series_to_panel-all-NaN",
        lambda: series_to_panel(pd.DataFrame({"v": [NAN, NAN]})),
        ValueError,
        "y has no observed value: all its values are NaN.",
    ),
    case(
        "series_to_panel-strings",
        lambda: series_to_panel(pd.DataFrame({"v": ["x", "y"]})),
        TypeError,
        regex=r"y: column 'v' has (non-numeric dtype str|dtype object and holds "
        r"'x', which is not a number); y must hold numbers",
    ),
    case(
        "series_to_panel-object-non-numbers",
        lambda: series_to_panel(
            pd.DataFrame({"v": [1.0, 2.0]}),
            pd.DataFrame({"x": pd.Series([1.0, "a"], dtype=object)}),
        ),
        TypeError,
        "X: column 'x' has dtype object and holds 'a', which is not a number; X "
        "must hold numbers",
    ),
    case(
        "series_to_panel-a-Series",
        lambda: series_to_panel(pd.Series([1.0, 2.0])),
        TypeError,
        "y must be a pandas DataFrame, one column per variable; got Series (use "
        ".to_frame()).",
    ),
    case(
        "series_to_panel-duplicate-times",
        lambda: series_to_panel(pd.DataFrame({"v": [1.0, 2.0]}, index=[3, 3])),
        ValueError,
        "y has the duplicate timestamp 3; the timestamps of a series must be unique.",
    ),
]


# ----------------------------------------------------------------- datasets
STAY = "Time,Parameter,Value\n00:00,RecordID,132539\n00:00,HR,80\n"


def physionet(folder, stay=STAY, outcomes="RecordID,In-hospital_death\n132539,0\n"):
    """A one-stay set-a/ folder (and its outcomes file) in ``folder``."""
    stays = folder / "set-a"
    stays.mkdir()
    (stays / "132539.txt").write_text(stay)
    if outcomes is not None:
        (folder / "Outcomes-a.txt").write_text(outcomes)
    return stays


def _text_file(path):
    path.write_text("a,b\n")
    return path


def _two_stays(folder):
    stays = physionet(folder)
    (stays / "132540.txt").write_text(STAY.replace("132539", "132540"))
    return stays


DATASETS = [
    case(
        "physionet-no-such-path",
        lambda tmp: load_physionet2012(tmp / "nope.tar.gz"),
        FileNotFoundError,
        "nope.tar.gz does not exist.",
    ),
    case(
        "physionet-folder-without-stays",
        lambda tmp: load_physionet2012(tmp),
        ValueError,
        "No per-stay files (<RecordID>.txt) found in",
    ),
    case(
        "physionet-neither-folder-nor-archive",
        lambda tmp: load_physionet2012(_text_file(tmp / "x.csv")),
        ValueError,
        "x.csv is neither a folder of per-stay .txt files nor a .tar.gz archive",
    ),
    case(
        "physionet-bad-header",
        lambda tmp: load_physionet2012(physionet(tmp, stay="Bad,Header\n")),
        ValueError,
        "Stay 132539: expected the header 'Time,Parameter,Value', got b'Bad,Header'.",
    ),
    case(
        "physionet-no-outcomes-file",
        lambda tmp: load_physionet2012(physionet(tmp, outcomes=None)),
        FileNotFoundError,
        "No Outcomes file found next to",
    ),
    case(
        "physionet-outcomes-missing-a-stay",
        lambda tmp: load_physionet2012(
            physionet(tmp, outcomes="RecordID,In-hospital_death\n1,0\n")
        ),
        ValueError,
        "1 stays have no row in",
    ),
    case(
        "physionet-outcomes-no-such-file",
        lambda tmp: load_physionet2012(physionet(tmp), outcomes=tmp / "nope.txt"),
        FileNotFoundError,
        "nope.txt",
    ),
    case(
        "physionet-return_type",
        lambda tmp: load_physionet2012(physionet(tmp), return_type="numpy"),
        ValueError,
        "return_type must be 'list' or 'multiindex'; got 'numpy'.",
    ),
    case(
        "physionet-agg",
        lambda tmp: load_physionet2012(physionet(tmp), agg="median"),
        ValueError,
        "agg must be one of",
    ),
    case(
        "physionet-outcomes-without-RecordID",
        lambda tmp: load_physionet2012(physionet(tmp, outcomes="Foo\n1\n")),
        ValueError,
        regex=r"The outcomes file .*Outcomes-a\.txt has no column 'RecordID'; "
        r"its columns are \['Foo'\]\.",
    ),
    case(
        "physionet-bad-time",
        lambda tmp: load_physionet2012(
            physionet(tmp, stay="Time,Parameter,Value\nab:cd,HR,80\n")
        ),
        ValueError,
        "Stay 132539, line 2: the time is not HH:MM: b'ab:cd,HR,80'.",
    ),
    case(
        "physionet-bad-value",
        lambda tmp: load_physionet2012(
            physionet(tmp, stay="Time,Parameter,Value\n00:00,HR,high\n")
        ),
        ValueError,
        "Stay 132539, line 2: the value is not a number: b'00:00,HR,high'.",
    ),
    case(
        "physionet-extra-field",
        lambda tmp: load_physionet2012(
            physionet(tmp, stay="Time,Parameter,Value\n00:00,HR,80\n00:01,HR,8,0\n")
        ),
        ValueError,
        "Stay 132539, line 3: expected 3 fields (Time,Parameter,Value), got 4: "
        "b'00:01,HR,8,0'.",
    ),
    case(
        "physionet-max_stays-negative",
        lambda tmp: load_physionet2012(_two_stays(tmp), max_stays=-1),
        ValueError,
        "max_stays must be a positive integer or None; got -1 instead.",
    ),
    case(
        "fetch_physionet2012-subset",
        lambda tmp: fetch_physionet2012(tmp, subset="z"),
        ValueError,
        "subset must be one of ['a', 'b', 'c']; got 'z'.",
    ),
    case(
        "fetch_physionet2012-not-cached",
        lambda tmp: fetch_physionet2012(tmp, download_if_missing=False),
        OSError,
        "set-a.tar.gz is not cached and download_if_missing=False.",
    ),
    case(
        "load_uea-return_type",
        lambda tmp: load_uea("BasicMotions", return_type="xarray"),
        ValueError,
        "return_type must be one of 'list', 'multiindex', 'numpy3D', 'panel'; "
        "got 'xarray'.",
    ),
]


# -------------------------------------------------------------------- tests
CASES = [
    *SETTINGS,
    *CONTINUATION,
    *BAD_X,
    *BAD_Y,
    *BAD_SAMPLE_WEIGHT,
    *PREDICTION,
    *FORECASTER,
    *PANEL,
]


@pytest.mark.parametrize("call, exc, pattern", CASES)
def test_rejected(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()


@pytest.mark.parametrize("call, exc, pattern", DATASETS)
def test_rejected_files(call, exc, pattern, tmp_path):
    with pytest.raises(exc, match=pattern):
        call(tmp_path)


def _finite_or_named_error(call, n_rows):
    """``call()`` raises a ValueError naming X, or returns finite rows."""
    try:
        out = call()
    except ValueError as exc:
        message = str(exc)
    else:
        assert out.shape[0] == n_rows
        assert np.isfinite(out).all(), out
        return
    assert re.search(r"\bX\b|instance", message), message


def _fit_on_tiny_values():
    X = X3(C=1) * 1e-40  # a channel whose spread is near float32's smallest
    return reg().fit(X, targets())


@pytest.mark.parametrize(
    "call, n_rows",
    [
        pytest.param(
            lambda: fitted("classifier").predict_proba(
                np.array([[[3e38, -3e38, 3e38], [0.0, 0.0, 0.0]]])
            ),
            1,
            id="changes-beyond-float32",
        ),
        pytest.param(
            lambda: _fit_on_tiny_values().predict(X3(C=1)),
            6,
            id="scale-far-from-training",
        ),
        pytest.param(
            lambda: fit_clf([frame([0.0, 1e-300, 2e-300])] * 6)().predict_proba(
                [frame([0.0, 1e-300, 2e-300])]
            ),
            1,
            id="gaps-below-float32",
        ),
        pytest.param(
            lambda: fitted("classifier").predict_proba(np.full((2, 2, 3), 3e38)),
            2,
            id="constant-near-float32-max",
        ),
        pytest.param(
            lambda: fitted("regressor").predict(X3(n=2, T=40)),
            2,
            id="longer-than-in-fit",
        ),
    ],
)
def test_predictions_are_finite_or_a_named_error(call, n_rows):
    _finite_or_named_error(call, n_rows)


def test_sample_weight_beyond_float32_only_its_ratios_matter():
    # the loss is a weighted mean: weights near 1e300 (inf in float32) train
    # the same model as the same weights near 1
    weight = np.r_[2.0, np.ones(5)]
    small = clf().fit(X3(), labels(), sample_weight=weight)
    huge = clf().fit(X3(), labels(), sample_weight=weight * 2.0**1000)
    np.testing.assert_array_equal(huge.predict_proba(X3()), small.predict_proba(X3()))


def test_gaps_below_float32_encode_like_their_ratios():
    # timestamps 1e-300 apart (0 in float32) encode like timestamps 1 apart:
    # gaps are divided by the time scale before the cast
    values = [frame([0.0, 1.0, 3.0], a=[1.0, NAN, 2.0], b=[0.5, 1.5, NAN])] * 2
    tiny = [v.set_axis(v.index * 1e-300) for v in values]
    expected = PanelEncoder().fit_transform(values)
    got = PanelEncoder().fit_transform(tiny)
    np.testing.assert_allclose(got.inputs, expected.inputs, rtol=1e-6)
    np.testing.assert_allclose(got.dt, expected.dt, rtol=1e-6)
