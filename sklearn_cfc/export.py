"""Export a fitted model's whole inference path: TorchScript and ONNX.

:func:`export_torchscript` writes a TorchScript module that needs torch
only, and :func:`export_onnx` an ONNX graph of one streaming step that needs
an ONNX runtime only. Both hold the encoding the model was fitted with
(scaling, forward fill with masks and times since each channel's last
observation or values drawn between observations, changes, running
statistics, the time grid, Δt scaling) and the network, so
they read raw values (NaN where unobserved) and timestamps and give what
``predict_proba`` (a classifier) or ``predict`` (a regressor) gives, to
float32 rounding. :func:`streaming_module` returns the same module in
Python, unscripted. See the user guide's "Deploying a model" page.
"""

from __future__ import annotations

import json
import os
import warnings
from typing import TYPE_CHECKING, Any

import torch
from sklearn.utils.validation import check_is_fitted
from torch import Tensor, nn

from .classifier import CfCClassifier
from .nn._stream import ERRORS, STATE_NAMES, CfCStream
from .regressor import CfCRegressor

if TYPE_CHECKING:
    from typing import TypeAlias

    from torch.jit import ScriptModule

    PathLike: TypeAlias = "str | os.PathLike[str]"

__all__ = ["export_onnx", "export_torchscript", "streaming_module"]

#: Version of the artifacts' contract (inputs, state, metadata).
FORMAT_VERSION = 2
#: The ONNX opset the step graph is written in.
ONNX_OPSET = 17


def _estimator(estimator: Any) -> CfCClassifier | CfCRegressor:
    """The fitted scikit-learn estimator behind ``estimator``."""
    inner = getattr(estimator, "estimator_", None)  # the sktime wrappers
    if isinstance(inner, (CfCClassifier, CfCRegressor)):
        estimator = inner
    if not isinstance(estimator, (CfCClassifier, CfCRegressor)):
        raise TypeError(
            "estimator must be a fitted CfCClassifier or CfCRegressor (or the "
            "sktime CfCTimeSeriesClassifier / CfCTimeSeriesRegressor around "
            f"one), got {type(estimator).__name__}."
        )
    check_is_fitted(estimator, "net_")
    return estimator


def streaming_module(estimator: Any) -> CfCStream:
    """A fitted estimator's encoding and network as one torch module.

    The module (not scripted) that :func:`export_torchscript` scripts: its
    ``forward(values, times, lengths)`` gives the prediction after the last
    observation of each series, and its ``step(values, time, state)`` the
    prediction after one more observation of each series (see
    :func:`export_torchscript` for the contract).

    Parameters
    ----------
    estimator : CfCClassifier or CfCRegressor
        Fitted; the sktime wrappers are accepted too. A copy of its network
        is taken, on the CPU.

    Returns
    -------
    CfCStream
        Outputs are class probabilities (columns ``classes_``) for a
        classifier, targets for a regressor. Its ``metadata`` attribute
        holds the JSON that :func:`export_torchscript` describes.

    Raises
    ------
    TypeError
        For another kind of estimator.
    sklearn.exceptions.NotFittedError
        For an estimator that is not fitted.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from sklearn_cfc import CfCRegressor
    >>> from sklearn_cfc.export import streaming_module
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(20, 2, 8))
    >>> reg = CfCRegressor(units=4, max_epochs=2, random_state=0)
    >>> reg = reg.fit(X, X[:, 0].mean(1))
    >>> stream = streaming_module(reg)
    >>> values = torch.from_numpy(X[:3].transpose(0, 2, 1)).float()  # (B, T, C)
    >>> times = torch.arange(8.0, dtype=torch.float64).expand(3, 8)
    >>> y = stream(values, times)[:, 0].numpy()
    >>> bool(np.allclose(y, reg.predict(X[:3]), atol=1e-5))
    True
    """
    est = _estimator(estimator)
    enc = est.encoder_
    kwargs: dict[str, Any] = {}
    if isinstance(est, CfCClassifier):
        kwargs["proba"] = True
    else:
        kwargs["target_mean"] = est._y_mean
        kwargs["target_scale"] = est._y_scale
    stream = CfCStream(
        est.net_.module_,
        mean=enc.mean_,
        scale=enc.scale_,
        compress=getattr(enc, "compress_", None),
        dt_scale=enc.dt_scale_,
        clip=enc._clip,
        change_scale=enc.change_scale_ if enc.differences else None,
        running_stats=enc.running_stats_,
        time_grid=enc.time_grid_,
        fill=enc.fill_,
        **kwargs,
    )
    stream.metadata = json.dumps(_metadata(est, stream))
    return stream


def _metadata(est: CfCClassifier | CfCRegressor, stream: CfCStream) -> dict:
    """What a user of an artifact needs to know, JSON-serialisable."""
    enc = est.encoder_
    names = getattr(est, "feature_names_in_", None)
    channels = list(range(est.n_features_in_)) if names is None else names.tolist()
    meta: dict[str, Any] = {
        "format": "sklearn_cfc.export",
        "format_version": FORMAT_VERSION,
        "estimator": type(est).__name__,
        "n_channels": est.n_features_in_,
        "channels": channels,
        "time_kind": enc.time_kind_,
        "time_unit": str(est.time_unit),
        "time_grid": enc.time_grid_,
        "fill": enc.fill_,
        "patch_length": stream.patch_length,
        "n_outputs": stream.n_outputs,
        "state": [
            {"name": name, "shape": ["batch", *shape[1:]], "dtype": dtype}
            for name, shape, dtype in _state_layout(stream)
        ],
        "errors": {str(code): text for code, text in ERRORS.items()},
    }
    if isinstance(est, CfCClassifier):
        meta["outputs"] = "probabilities"
        meta["classes"] = [_plain(c) for c in est.classes_]
    else:
        meta["outputs"] = "targets"
        meta["one_dimensional_target"] = bool(est._y_1d)
    return meta


def _plain(value: Any) -> Any:
    """A class label as a JSON value (its string for other types)."""
    value = value.item() if hasattr(value, "item") else value
    return value if isinstance(value, (str, int, float, bool)) else str(value)


def _state_layout(stream: CfCStream) -> list[tuple[str, list[int], str]]:
    """(name, shape for one series, dtype name) of each state tensor."""
    return [
        (name, list(t.shape), str(t.dtype).removeprefix("torch."))
        for name, t in zip(STATE_NAMES, stream.initial_state(1), strict=True)
    ]


def export_torchscript(estimator: Any, path: PathLike) -> ScriptModule:
    """Save a fitted estimator's inference path as a TorchScript module.

    The file loads with ``torch.jit.load`` alone (no sklearn_cfc, no
    scikit-learn) and runs on the CPU.

    Parameters
    ----------
    estimator : CfCClassifier or CfCRegressor
        Fitted; the sktime wrappers are accepted too.
    path : str or path-like
        Where to write the module (``.pt``).

    Returns
    -------
    torch.jit.ScriptModule
        The module saved, with:

        - ``forward(values, times, lengths=None)``: ``values`` (B, T, C)
          float32, NaN where unobserved; ``times`` (B, T) float64;
          ``lengths`` (B,) int64 or None. Returns (B, D) float64: the
          prediction after the last observation of each series.
        - ``step(values, time, state)``: one observation per series,
          ``values`` (B, C) and ``time`` (B,); returns the prediction after
          it and the new state (a list of five tensors).
        - ``step_with_errors(values, time, state)``: the same, returning
          error codes instead of raising.
        - ``initial_state(B)``: the state before any observation (zeros).
        - ``metadata``: a JSON string (see Notes).

    Raises
    ------
    TypeError
        For another kind of estimator.
    sklearn.exceptions.NotFittedError
        For an estimator that is not fitted.

    Notes
    -----
    **Inputs.** ``C`` channels in the order seen in fit
    (``feature_names_in_``, or the column positions of numpy input without
    its ``time_channel``); NaN where a channel is unobserved. A row where
    every channel is NaN is not an observation and changes nothing (as in
    fit), and neither do rows from ``lengths[b]`` on. Times are float64
    numbers, strictly increasing within a series, in the unit the model
    was fitted with: numeric timestamps as they were, step indices
    ``0, 1, ...`` for data fitted without timestamps, and datetimes as the
    time since 1970-01-01 UTC in the estimator's ``time_unit`` (for
    seconds: ``np.asarray(stamps, "datetime64[ns]").astype(np.int64) /
    1e9``), timedeltas likewise from zero.

    **Outputs.** Class probabilities with columns in the order of
    ``classes_`` for a classifier (``predict_proba``), targets for a
    regressor (``predict``; one column for a one-dimensional ``y``). A
    series without any observation gives NaN.

    **Errors.** A time that is not after the series' previous observation
    (duplicate or earlier), a missing time, an infinite value or a
    number of channels other than fit's raise a ValueError naming the
    series; nothing is realigned or dropped silently.

    **Metadata** (``json.loads(module.metadata)``): ``estimator``,
    ``outputs`` ("probabilities" or "targets"), ``classes`` (classifiers),
    ``one_dimensional_target`` (regressors), ``channels``,
    ``n_channels``, ``time_kind`` ("numeric", "datetime" or
    "timedelta"), ``time_unit``, ``time_grid``, ``patch_length``,
    ``n_outputs``, ``state`` (name, shape and dtype of each state tensor)
    and ``errors`` (the codes of ``step_with_errors``).

    Unlike ``predict``, the module neither warns when the time scale
    differs from fit's nor refuses a series whose time grid would be far
    longer than its observations.

    See Also
    --------
    export_onnx : The streaming step as an ONNX graph.
    streaming_module : The same module, not scripted.

    Examples
    --------
    >>> import json, os, tempfile
    >>> import numpy as np
    >>> import torch
    >>> from sklearn_cfc import CfCClassifier
    >>> from sklearn_cfc.export import export_torchscript
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(20, 2, 8))
    >>> clf = CfCClassifier(units=4, max_epochs=2, random_state=0)
    >>> clf = clf.fit(X, X[:, 0].mean(1) > 0)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.pt")
    >>> _ = export_torchscript(clf, path)
    >>> model = torch.jit.load(path)  # torch only from here on
    >>> json.loads(model.metadata)["classes"]
    [False, True]
    >>> values = torch.from_numpy(X[:3].transpose(0, 2, 1)).float()
    >>> times = torch.arange(8.0, dtype=torch.float64).expand(3, 8)
    >>> proba = model(values, times).numpy()
    >>> bool(np.allclose(proba, clf.predict_proba(X[:3]), atol=1e-5))
    True
    >>> state = model.initial_state(3)  # the same, one observation at a time
    >>> for t in range(8):
    ...     proba_t, state = model.step(values[:, t], times[:, t], state)
    >>> bool(np.allclose(proba_t.numpy(), proba, atol=1e-6))
    True
    """
    stream = streaming_module(estimator)
    with warnings.catch_warnings():
        # torch >= 2.10 deprecates TorchScript, which it still runs
        warnings.simplefilter("ignore", DeprecationWarning)
        scripted = torch.jit.script(stream)
        torch.jit.save(scripted, os.fspath(path))
    return scripted


class _OnnxStep(nn.Module):
    """:meth:`CfCStream.step_with_errors` with the state as separate tensors."""

    def __init__(self, stream: CfCStream) -> None:
        super().__init__()
        self.stream = stream

    def forward(
        self,
        values: Tensor,
        time: Tensor,
        channels: Tensor,
        times: Tensor,
        counters: Tensor,
        network: Tensor,
        patch: Tensor,
    ) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
        state = [channels, times, counters, network, patch]
        out, err, new = self.stream.step_with_errors(values, time, state)
        return out, err, new[0], new[1], new[2], new[3], new[4]


def export_onnx(estimator: Any, path: PathLike) -> dict:
    """Save a fitted estimator's streaming step as an ONNX graph.

    One call of the graph feeds one observation of each series and returns
    the prediction after it and the new state: the ONNX form of the
    ``step_with_errors`` method of :func:`export_torchscript`'s module.
    The prediction after the last observation of a series (what
    ``predict`` gives) is a loop over its observations on the host, as the
    user guide's "Deploying a model" page shows. Needs the packages
    ``onnx`` (and ``onnxruntime`` to run the graph).

    Parameters
    ----------
    estimator : CfCClassifier or CfCRegressor
        Fitted; the sktime wrappers are accepted too.
    path : str or path-like
        Where to write the graph (``.onnx``).

    Returns
    -------
    dict
        The metadata stored in the graph (``metadata_props`` key
        ``"sklearn_cfc"``, JSON; see :func:`export_torchscript`).

    Raises
    ------
    ImportError
        When ``onnx`` is not installed.
    TypeError
        For another kind of estimator.
    sklearn.exceptions.NotFittedError
        For an estimator that is not fitted.

    Notes
    -----
    The graph (opset 17) has inputs ``values`` (B, C) float32 (NaN where
    unobserved; a row of NaN only changes nothing), ``time`` (B,) float64
    and the five state tensors ``channels``, ``times``, ``counters``,
    ``network`` and ``patch``, all zero before a series' first observation
    (shapes and dtypes in the metadata's ``state``, and in the graph's
    inputs), and outputs ``outputs`` (B, D) float64 (NaN before a series'
    first observation), ``errors`` (B,) int64 and the new state, named
    with a suffix ``_out``. The batch size is free; ``C`` is fixed, so
    that the runtime refuses another number of channels.

    ONNX has no exceptions: a series whose observation is wrong gets an
    error code, keeps its state (codes 1 to 3) and must not be fed on
    silently: 1 a missing or infinite time, 2 a time not after the series'
    previous observation, 3 an infinite value, 4 an encoded input beyond
    the float32 range (that series' state is then unusable).

    The graph is written by torch's TorchScript-based ONNX exporter, as
    the time grid needs a loop whose length depends on the data (the grid
    points without observation between two observations).

    See Also
    --------
    export_torchscript : The whole inference path as a TorchScript module.
    """
    try:
        import onnx
    except ImportError as exc:  # pragma: no cover - onnx is in the tests' extra
        raise ImportError(
            "export_onnx needs the package onnx; install it with "
            "`pip install onnx onnxruntime` (or sklearn-cfc[onnx])."
        ) from exc
    stream = streaming_module(estimator)
    metadata = json.loads(stream.metadata)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        scripted = torch.jit.script(_OnnxStep(stream))
    state = stream.initial_state(1)
    inputs = ["values", "time", *STATE_NAMES]
    outputs = ["outputs", "errors", *(f"{name}_out" for name in STATE_NAMES)]
    example = (
        torch.zeros(1, stream.n_channels),
        torch.zeros(1, dtype=torch.float64),
        *state,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation
        torch.onnx.export(
            scripted,
            example,
            os.fspath(path),
            dynamo=False,
            opset_version=ONNX_OPSET,
            input_names=inputs,
            output_names=outputs,
            dynamic_axes={name: {0: "batch"} for name in inputs + outputs},
        )
    model = onnx.load(os.fspath(path))
    entry = model.metadata_props.add()
    entry.key, entry.value = "sklearn_cfc", json.dumps(metadata)
    onnx.save(model, os.fspath(path))
    return metadata
