"""Exported models (``sklearn_cfc.export``): TorchScript and ONNX.

The defining properties: an artifact, loaded in a process where
sklearn_cfc, scikit-learn and skorch cannot be imported (torch only, or
onnxruntime only), gives ``predict_proba`` / ``predict`` to 1e-5 from raw
values and timestamps; feeding it one observation at a time gives the rows
of ``staged_predict_proba`` / ``staged_predict``; bad input raises (or, in
ONNX, reports) a clear error instead of being realigned.
"""

import json
import re
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from _panels import as_multiindex, irregular_frames
from sklearn.exceptions import NotFittedError

from sklearn_cfc import CfCClassifier, CfCRegressor
from sklearn_cfc.export import export_onnx, export_torchscript, streaming_module
from sklearn_cfc.nn._stream import STATE_NAMES, CfCStream
from sklearn_cfc.panel import to_panel

TINY = dict(units=6, backbone_units=8, max_epochs=3, learning_rate=0.02)
TOL = dict(rtol=1e-5, atol=1e-5)

# what a deployment has: these packages cannot be imported in the subprocess
_GUARD = """
import sys
for _name in ("sklearn_cfc", "sklearn", "skorch", "pandas", "sktime"{extra}):
    sys.modules[_name] = None  # import fails
"""
_CHECK = """
_leaked = [m for m in sys.modules if m.split(".")[0] in
           ("sklearn_cfc", "sklearn", "skorch", "pandas", "sktime"{extra})
           and sys.modules[m] is not None]
assert not _leaked, _leaked
"""

TORCH_ONLY = (
    _GUARD.format(extra="")
    + """
import numpy as np
import torch

model = torch.jit.load(sys.argv[1])
data = np.load(sys.argv[2])
values, times = torch.from_numpy(data["values"]), torch.from_numpy(data["times"])
lengths = torch.from_numpy(data["lengths"])
final = model(values, times, lengths)
state = model.initial_state(values.shape[0])
steps = []
for t in range(values.shape[1]):
    row = values[:, t].clone()
    row[lengths <= t] = float("nan")  # padding: not an observation
    out, state = model.step(row, times[:, t], state)
    steps.append(out.numpy())
np.savez(sys.argv[3], final=final.numpy(), steps=np.stack(steps, 1),
         metadata=np.array(model.metadata))
"""
    + _CHECK.format(extra="")
)

ORT_ONLY = (
    _GUARD.format(extra=', "torch"')
    + """
import numpy as np
import onnxruntime as ort

options = ort.SessionOptions()
options.intra_op_num_threads = 1
session = ort.InferenceSession(sys.argv[1], options)
names = [i.name for i in session.get_inputs()]
data = np.load(sys.argv[2])
values, times, lengths = data["values"], data["times"], data["lengths"]
B = len(values)
dtypes = {"tensor(float)": np.float32, "tensor(double)": np.float64,
          "tensor(int64)": np.int64}
state = [np.zeros((B, *i.shape[1:]), dtypes[i.type]) for i in session.get_inputs()[2:]]
steps = []
for t in range(values.shape[1]):
    row = values[:, t].copy()
    row[lengths <= t] = np.nan
    feed = dict(zip(names, [row, times[:, t], *state]))
    out, errors, *state = session.run(None, feed)
    assert (errors == 0).all(), errors
    steps.append(out)
meta = session.get_modelmeta().custom_metadata_map["sklearn_cfc"]
np.savez(sys.argv[3], steps=np.stack(steps, 1), metadata=np.array(meta))
"""
    + _CHECK.format(extra=', "torch"')
)


def _run(script, *args):
    """Run ``script`` in a fresh interpreter (-I: no user site, no cwd)."""
    done = subprocess.run(
        [sys.executable, "-I", "-c", script, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        env={"OMP_NUM_THREADS": "1", "PATH": ""},
    )
    assert done.returncode == 0, done.stderr[-3000:]


# ------------------------------------------------------------------ data
def _raw(X, est):
    """Raw values (B, T, C) float32, times (B, T) float64 and lengths of X.

    Built as a deployment would, without sklearn_cfc: the rows of each
    series, NaN where unobserved, with its timestamps as floats (datetimes:
    seconds since the epoch, numpy data without timestamps: step indices).
    """
    if isinstance(X, np.ndarray):  # (n, C, T), time = step index
        values = X.transpose(0, 2, 1).astype(np.float32)
        n, T = values.shape[:2]
        times = np.broadcast_to(np.arange(T, dtype=np.float64), (n, T)).copy()
        lengths = np.full(n, T)
        return values, times, lengths
    if isinstance(X, pd.DataFrame):  # (instance, datetime) MultiIndex
        assert est.time_unit == "s"
        X = [
            frame.droplevel(0).set_axis(
                np.asarray(frame.index.get_level_values(1), "datetime64[ns]").astype(
                    np.int64
                )
                / 1e9
            )
            for _, frame in X.groupby(level=0, sort=False)
        ]
    n, T, C = len(X), max(len(f) for f in X), X[0].shape[1]
    values = np.full((n, T, C), np.nan, dtype=np.float32)
    times = np.zeros((n, T))
    lengths = np.array([len(f) for f in X])
    for i, frame in enumerate(X):
        values[i, : len(frame)] = frame.to_numpy()
        times[i, : len(frame)] = frame.index.to_numpy(dtype=float)
    return values, times, lengths


def _stage_rows(steps, values, lengths):
    """The rows of the steps that are observations, series by series."""
    rows = []
    for i, n in enumerate(lengths):
        observed = ~np.isnan(values[i, :n]).all(1)
        rows.append(steps[i, :n][observed])
    return np.concatenate(rows)


def _expected(est, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # time scale of small test sets
        if isinstance(est, CfCClassifier):
            return est.predict_proba(X), est.staged_predict_proba(X).to_numpy()
        final, staged = est.predict(X), est.staged_predict(X).to_numpy()
        return final.reshape(len(final), -1), staged.reshape(len(staged), -1)


# --------------------------------------------------------------- models
def _grid_clf():
    """A time grid where observations meet, patches of 3, mixed memory, the
    readout "all", running statistics and differences, values carried
    forward across empty grid points."""
    rng = np.random.default_rng(1)
    frames = irregular_frames(rng, 30, 3, 14, scale=3.0, shift=1.0)
    y = np.array([f"c{k % 3}" for k in range(30)])
    est = CfCClassifier(
        **TINY,
        patch_length=3,
        time_grid=1.5,
        fill="forward",
        running_stats=True,
        differences=True,
        random_state=0,
    ).fit(frames, y)
    return est, irregular_frames(
        np.random.default_rng(5), 6, 3, 12, scale=3.0, shift=1.0
    )


def _plain_clf():
    """One step per observation, no mixed memory, the mean readout, robust
    scaling (clipped values), numpy input without timestamps."""
    rng = np.random.default_rng(2)
    X = rng.normal(size=(30, 2, 10))
    X[rng.random(X.shape) < 0.3] = np.nan
    X[:, 0, 0] = 0.5
    X[:3, 1, 4] = 50.0  # clipped once scaled
    y = np.nan_to_num(X[:, 0]).sum(1) > 0
    est = CfCClassifier(
        **TINY,
        patch_length=1,
        time_grid=None,
        mixed_memory=False,
        readout="mean",
        scale="robust",
        differences=False,
        random_state=0,
    ).fit(X, y)
    test = rng.normal(size=(5, 2, 10))
    test[rng.random(test.shape) < 0.4] = np.nan
    test[:, :, 0] = 0.1
    test[0, 0, 3] = -80.0
    return est, test


def _datetime_reg():
    """Multi-output regression on datetimes: patches of 2, the readout
    "last", some running statistics, a time grid (in seconds) on dense
    series, so values drawn across empty grid points (fill "auto")."""
    rng = np.random.default_rng(3)
    X = as_multiindex(
        irregular_frames(rng, 30, 2, 10, gaps=(0.5, 1.5), scale=3.0, shift=1.0)
    )
    groups = X.groupby(level=0, sort=False)
    y = np.column_stack([groups[0].mean().fillna(0), groups[1].count()])
    est = CfCRegressor(
        **TINY,
        readout="last",
        patch_length=2,
        time_grid=3600.0,
        running_stats=["max", "count"],
        random_state=0,
    ).fit(X, y)
    return est, as_multiindex(
        irregular_frames(np.random.default_rng(6), 5, 2, 9, scale=3.0, shift=1.0)
    )


def _plain_reg():
    """One-dimensional regression, patches of 1, the readout "max"."""
    rng = np.random.default_rng(4)
    frames = irregular_frames(rng, 25, 1, 8, scale=3.0, shift=1.0)
    y = np.array([np.nanmean(f.to_numpy()) for f in frames])
    est = CfCRegressor(
        **TINY, readout="max", patch_length=1, time_grid=None, random_state=0
    ).fit(frames, y)
    return est, irregular_frames(
        np.random.default_rng(7), 4, 1, 8, scale=3.0, shift=1.0
    )


def _linear_clf():
    """fill="linear" on a time grid where observations meet after empty
    points, patches of 2, differences along the drawn path, robust
    scaling."""
    rng = np.random.default_rng(8)
    frames = irregular_frames(rng, 30, 2, 14, scale=3.0, shift=1.0)
    y = np.array([k % 2 for k in range(30)])
    est = CfCClassifier(
        **TINY,
        patch_length=2,
        time_grid=1.5,
        fill="linear",
        scale="robust",
        running_stats=["min"],
        random_state=0,
    ).fit(frames, y)
    return est, irregular_frames(
        np.random.default_rng(9), 6, 2, 12, scale=3.0, shift=1.0
    )


def _compressed_clf():
    """scale="auto" compressing the first channel, whose scale differs by
    orders of magnitude between series (the second is left as it is), on
    a time grid where observations meet, values drawn across empty points."""
    rng = np.random.default_rng(10)

    def frames(rng, n):
        out = irregular_frames(rng, n, 2, 14, scale=3.0, shift=1.0)
        for f in out:
            f[f.columns[0]] *= 10.0 ** rng.uniform(-3.0, 2.0)
        return out

    X = frames(rng, 30)
    y = np.array([k % 2 for k in range(30)])
    est = CfCClassifier(
        **TINY, patch_length=2, time_grid=1.5, fill="linear", random_state=0
    ).fit(X, y)
    assert est.encoder_.compress_[0] > 0
    assert est.encoder_.compress_[1] == 0
    return est, frames(np.random.default_rng(11), 6)


MODELS = {
    "grid_clf": _grid_clf,
    "compressed_clf": _compressed_clf,
    "linear_clf": _linear_clf,
    "plain_clf": _plain_clf,
    "datetime_reg": _datetime_reg,
    "plain_reg": _plain_reg,
}


@pytest.fixture(scope="module", params=list(MODELS))
def fitted(request):
    return MODELS[request.param]()


@pytest.fixture(scope="module")
def grid_clf():
    return _grid_clf()


# --------------------------------------------------------- the property
def test_torchscript_in_a_torch_only_process_equals_predict(fitted, tmp_path):
    est, X = fitted
    path = tmp_path / "model.pt"
    export_torchscript(est, path)
    values, times, lengths = _raw(X, est)
    np.savez(tmp_path / "data.npz", values=values, times=times, lengths=lengths)
    _run(TORCH_ONLY, path, tmp_path / "data.npz", tmp_path / "out.npz")
    got = np.load(tmp_path / "out.npz")
    final, staged = _expected(est, X)
    np.testing.assert_allclose(got["final"], final, **TOL)
    # the streaming loop: the row of every observation
    np.testing.assert_allclose(
        _stage_rows(got["steps"], values, lengths), staged, **TOL
    )
    meta = json.loads(str(got["metadata"]))
    assert meta["n_channels"] == est.n_features_in_
    if isinstance(est, CfCClassifier):
        assert meta["outputs"] == "probabilities"
        assert meta["classes"] == est.classes_.tolist()
    else:
        assert meta["outputs"] == "targets"
        assert meta["one_dimensional_target"] == est._y_1d


def test_onnx_in_an_onnxruntime_only_process_equals_staged_predict(fitted, tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    est, X = fitted
    path = tmp_path / "model.onnx"
    meta = export_onnx(est, path)
    values, times, lengths = _raw(X, est)
    np.savez(tmp_path / "data.npz", values=values, times=times, lengths=lengths)
    _run(ORT_ONLY, path, tmp_path / "data.npz", tmp_path / "out.npz")
    got = np.load(tmp_path / "out.npz")
    final, staged = _expected(est, X)
    steps = got["steps"]
    np.testing.assert_allclose(_stage_rows(steps, values, lengths), staged, **TOL)
    last = steps[np.arange(len(steps)), lengths - 1]  # after the last row
    np.testing.assert_allclose(last, final, **TOL)
    assert json.loads(str(got["metadata"])) == meta
    assert [s["name"] for s in meta["state"]] == list(STATE_NAMES)


def test_all_nan_rows_and_padding_are_not_observations(grid_clf):
    est, X = grid_clf
    values, times, lengths = _raw(X, est)
    B, T, C = values.shape
    # a row of NaN only, with a time that would be an error, in each series
    v = np.full((B, T + 1, C), np.nan, dtype=np.float32)
    t = np.full((B, T + 1), np.nan)
    v[:, 0], t[:, 0] = values[:, 0], times[:, 0]
    v[:, 2:], t[:, 2:] = values[:, 1:], times[:, 1:]
    t[:, 1] = -1e9
    module = streaming_module(est)
    got = module(
        torch.from_numpy(v), torch.from_numpy(t), torch.from_numpy(lengths + 1)
    )
    np.testing.assert_allclose(got.numpy(), _expected(est, X)[0], **TOL)


def test_a_series_without_observation_gives_nan(grid_clf):
    module = streaming_module(grid_clf[0])
    values = torch.full((2, 3, 3), float("nan"))
    values[0, 1, 2] = 1.0
    out = module(values, torch.zeros(2, 3, dtype=torch.float64) + torch.arange(3.0))
    assert torch.isfinite(out[0]).all()
    assert torch.isnan(out[1]).all()


@pytest.mark.parametrize(
    "name, n_channels", [("BasicMotions", 6), ("JapaneseVowels", 12)]
)
def test_sktime_shipped_sets_default_model(name, n_channels, tmp_path):
    # the default network (64 units, mixed memory, readout "all", changes,
    # patch_length and time_grid "auto"), briefly trained; JapaneseVowels
    # has series of unequal lengths (trailing NaN rows: no observations)
    pytest.importorskip("sktime")
    from sklearn_cfc.datasets import load_uea

    X, y = load_uea(name, split="train", return_type="numpy3D")
    test, _ = load_uea(name, split="test", return_type="numpy3D")
    est = CfCClassifier(max_epochs=1, random_state=0).fit(X, y)
    module = export_torchscript(est, tmp_path / "model.pt")
    values, times, _ = _raw(test[:20], est)
    got = module(torch.from_numpy(values), torch.from_numpy(times))
    np.testing.assert_allclose(got.numpy(), est.predict_proba(test[:20]), **TOL)
    meta = json.loads(module.metadata)
    assert meta["estimator"] == "CfCClassifier"
    assert meta["n_channels"] == n_channels


def test_sktime_wrapper_is_exported_through_its_estimator(grid_clf):
    pytest.importorskip("sktime")
    from sklearn_cfc.sktime import CfCTimeSeriesClassifier

    est, X = grid_clf
    wrapper = CfCTimeSeriesClassifier.__new__(CfCTimeSeriesClassifier)
    wrapper.estimator_ = est  # as fit leaves it
    values, times, lengths = _raw(X, est)
    got = streaming_module(wrapper)(
        torch.from_numpy(values), torch.from_numpy(times), torch.from_numpy(lengths)
    )
    np.testing.assert_allclose(got.numpy(), _expected(est, X)[0], **TOL)


# ------------------------------------------------------------ bad input
@pytest.fixture(scope="module")
def scripted(grid_clf, tmp_path_factory):
    path = tmp_path_factory.mktemp("export") / "model.pt"
    export_torchscript(grid_clf[0], path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return torch.jit.load(path)


def _step(module, values, time, state):
    return module.step(
        torch.tensor([values], dtype=torch.float32),
        torch.tensor([time], dtype=torch.float64),
        state,
    )


@pytest.mark.parametrize("kind", ["eager", "scripted"])
def test_a_time_earlier_than_the_previous_is_an_error(grid_clf, scripted, kind):
    module = streaming_module(grid_clf[0]) if kind == "eager" else scripted
    error = ValueError if kind == "eager" else torch.jit.Error
    _, state = _step(module, [1.0, 2.0, 3.0], 10.0, module.initial_state(1))
    _, state = _step(module, [1.0, np.nan, 3.0], 11.0, state)
    before = [s.clone() for s in state]
    # (TorchScript writes the float 11.0 as "11.")
    message = (
        r"series 0 has the time 10\.5, earlier than its previous observation at "
        r"11\.0?; feed each series' observations in increasing time order"
    )
    with pytest.raises(error, match=message):
        _step(module, [1.0, 2.0, 3.0], 10.5, state)
    with pytest.raises(error, match=r"has the time 11\.0? of its previous observation"):
        _step(module, [1.0, 2.0, 3.0], 11.0, state)
    with pytest.raises(error, match="not a finite number"):
        _step(module, [1.0, 2.0, 3.0], float("nan"), state)
    with pytest.raises(error, match="infinite value in channel 1"):
        _step(module, [1.0, float("inf"), 3.0], 12.0, state)
    for old, new in zip(before, state, strict=True):  # the state is untouched
        assert torch.equal(old, new)
    # the batch forward names the row
    values = torch.ones(1, 3, 3)
    times = torch.tensor([[0.0, 2.0, 1.0]], dtype=torch.float64)
    with pytest.raises(error, match=r"series 0 at row 2 has the time 1\.0?, earlier"):
        module(values, times)


@pytest.mark.parametrize("kind", ["eager", "scripted"])
def test_a_wrong_channel_count_is_an_error(grid_clf, scripted, kind):
    module = streaming_module(grid_clf[0]) if kind == "eager" else scripted
    error = ValueError if kind == "eager" else torch.jit.Error
    state = module.initial_state(1)
    with pytest.raises(error, match=re.escape("expected values of shape (B, 3)")):
        _step(module, [1.0, 2.0], 0.0, state)
    with pytest.raises(error, match=re.escape("expected values of shape (B, T, 3)")):
        module(torch.ones(1, 4, 2), torch.zeros(1, 4, dtype=torch.float64))
    with pytest.raises(error, match=re.escape("expected state[0] of shape")):
        _step(module, [1.0, 2.0, 3.0], 0.0, module.initial_state(2))


def test_onnx_reports_errors_and_refuses_other_channel_counts(grid_clf, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    path = tmp_path / "model.onnx"
    export_onnx(grid_clf[0], path)
    session = ort.InferenceSession(str(path))
    names = [i.name for i in session.get_inputs()]
    state = [s.numpy() for s in streaming_module(grid_clf[0]).initial_state(2)]

    def step(values, time, state):
        inputs = [np.asarray(values, np.float32), time, *state]
        feed = dict(zip(names, inputs, strict=True))
        out, errors, *new = session.run(None, feed)
        return out, errors, new

    t = np.array([1.0, 1.0])
    out, errors, state = step([[1.0, 2.0, 3.0], [np.nan] * 3], t, state)
    assert errors.tolist() == [0, 0]
    assert np.isfinite(out[0]).all()
    assert np.isnan(out[1]).all()
    # earlier, equal, missing time; infinite value
    values = [[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]]
    _, errors, new = step(values, np.array([0.5, np.nan]), state)
    assert errors.tolist() == [2, 1]
    for old, kept in zip(state, new, strict=True):  # the state is untouched
        np.testing.assert_array_equal(old, kept)
    _, errors, _ = step([[1.0, np.inf, 3.0], [1.0, 2.0, 3.0]], t + 1, state)
    assert errors.tolist() == [3, 0]
    with pytest.raises(Exception, match="values"):
        step([[1.0, 2.0], [1.0, 2.0]], t + 1, state)


def test_export_refuses_other_estimators():
    with pytest.raises(TypeError, match="must be a fitted CfCClassifier"):
        streaming_module(object())
    with pytest.raises(NotFittedError):
        streaming_module(CfCClassifier())


def test_stream_module_refuses_an_encoding_that_does_not_fit_the_network(grid_clf):
    net = grid_clf[0].net_.module_
    with pytest.raises(ValueError, match="the network reads"):
        CfCStream(net, mean=[0.0, 0.0], scale=[1.0, 1.0], dt_scale=1.0)
    with pytest.raises(ValueError, match="scale must hold 3 finite numbers"):
        CfCStream(net, mean=[0.0] * 3, scale=[1.0, 1.0], dt_scale=1.0)
    with pytest.raises(ValueError, match="dt_scale must be a positive float"):
        CfCStream(net, mean=[0.0] * 3, scale=[1.0] * 3, dt_scale=0.0)


def test_nn_stream_imports_torch_only():
    script = textwrap.dedent(
        """
        import sys
        import sklearn_cfc.nn._stream
        bad = [m for m in sys.modules
               if m.split(".")[0] in ("sklearn", "skorch", "pandas")]
        assert not bad, bad
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_to_panel_times_are_the_documented_contract():
    # the datetimes of a MultiIndex become seconds since the epoch
    X = as_multiindex(
        irregular_frames(np.random.default_rng(0), 2, 2, 4, scale=3.0, shift=1.0)
    )
    est = CfCRegressor()
    panel = to_panel(X, time_unit=est.time_unit)
    _, times, lengths = _raw(X, est)
    valid = np.arange(times.shape[1]) < lengths[:, None]
    np.testing.assert_array_equal(times[valid], panel.times[valid])


@pytest.mark.parametrize("name", ["grid_clf", "datetime_reg"])
def test_grid_models_are_tested_where_points_are_shared_and_empty(name):
    # what the streaming step must get right: observations that meet at a
    # grid point (averaged, the point re-encoded) and grid points without
    # one between two observations (added as empty steps)
    est, X = MODELS[name]()
    panel = to_panel(X, time_unit=est.time_unit)
    slots = panel.grid_slots(est.encoder_.time_grid_)
    real = np.arange(panel.n_timepoints)[1:] < panel.lengths[:, None]
    jumps = np.diff(slots, axis=1)[real]
    assert (jumps == 0).any()
    assert (jumps > 1).any()
