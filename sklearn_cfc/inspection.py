"""Looking inside a fitted CfC estimator: time constants and attributions.

:func:`time_constants` reads how fast each unit of the fitted network's CfC
core forgets, in the time unit of the data, from its time gate.
:func:`attributions` explains each series' prediction by integrated
gradients, summed onto the observations of the series (one value per
channel and time that was measured), and :func:`plot_attributions` draws
them for one series as a channels x time heatmap. See :ref:`inspection`.

They work on fitted :class:`~sklearn_cfc.CfCClassifier` and
:class:`~sklearn_cfc.CfCRegressor` estimators (and the sktime classes that
wrap them). :func:`attributions` needs captum and :func:`plot_attributions`
matplotlib: ``pip install "sklearn-cfc[inspection]"``; both are imported on
first use.
"""

from __future__ import annotations

import importlib
import numbers
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import numpy as np
import pandas as pd
import torch
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from ._base import _BaseCfC
from ._threads import network_width, torch_threads
from .classifier import CfCClassifier
from .nn import patch_sequences
from .panel._encode import _draw_plan
from .panel._panel import last_observed
from .panel._time import check_time_unit, float_to_index

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable, Iterator

    from matplotlib.axes import Axes
    from torch import Tensor

    from ._typing import PanelLike
    from .panel import Panel

__all__ = ["attributions", "plot_attributions", "time_constants"]

# the columns of what attributions() returns, in order
COLUMNS = ("instance", "time", "channel", "value", "attribution")
_INSTALL = 'pip install "sklearn-cfc[inspection]"'


# ------------------------------------------------------------------ checks
def _fitted_estimator(estimator: object, who: str) -> _BaseCfC:
    """The fitted CfC estimator of whole series behind ``estimator``."""
    inner = getattr(estimator, "estimator_", None)
    if isinstance(inner, _BaseCfC):  # CfCTimeSeriesClassifier / ...Regressor
        estimator = inner
    elif not isinstance(estimator, _BaseCfC):
        name = type(estimator).__name__
        wrapped = getattr(type(estimator), "_estimator_class", None)
        if isinstance(wrapped, type) and issubclass(wrapped, _BaseCfC):
            raise NotFittedError(
                f"This {name} instance is not fitted yet. Call 'fit' with "
                f"appropriate arguments before using {who}."
            )
        hint = ""
        if name == "CfCForecaster":
            hint = (
                " A forecaster's network reads context windows and steps to "
                "query times, which these tools do not cover."
            )
        raise TypeError(
            f"{who} needs a CfCClassifier or CfCRegressor (or the sktime "
            f"CfCTimeSeriesClassifier or CfCTimeSeriesRegressor), got {name}."
            f"{hint}"
        )
    check_is_fitted(estimator, "net_")
    return estimator


def _check_count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a positive int, got {value!r}.")
    if value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}.")
    return int(value)


@contextmanager
def _evaluating(module: torch.nn.Module) -> Iterator[None]:
    """Run ``module`` in eval mode (no dropout); restore its mode after."""
    training = module.training
    module.eval()
    try:
        yield
    finally:
        module.train(training)


def _user_times(values: np.ndarray, panel: Panel) -> Any:
    """Float times of ``panel`` back in the kind of timestamps it was given."""
    unit_ns = 1.0 if panel.time_unit is None else check_time_unit(panel.time_unit)
    return float_to_index(values, panel.time_kind, unit_ns)


# ---------------------------------------------------------- time constants
def time_constants(
    estimator: Any, X: PanelLike, *, batch_size: int = 64
) -> pd.DataFrame:
    """Time constant of each unit of a fitted network's CfC core.

    The CfC cell updates its state through a time gate whose value depends
    on the time ``Δt`` since the previous observation. How fast the gate
    moves with ``Δt`` is the unit's time constant: how long, in the time of
    the data, the unit takes to move from what it last read towards its
    long-gap value. It depends on what the unit reads (see Notes), so it is
    summarised over every step the network takes on ``X``: the median and
    the quartiles.

    Parameters
    ----------
    estimator : CfCClassifier or CfCRegressor
        A fitted estimator (or a fitted sktime ``CfCTimeSeriesClassifier`` /
        ``CfCTimeSeriesRegressor``).
    X : array-like, list of DataFrames or DataFrame
        Series in any format the estimator accepts (see
        :meth:`~sklearn_cfc.CfCClassifier.fit`); typically the training
        data, or a sample of it.
    batch_size : int, default=64
        Series per forward pass (bounds the memory used).

    Returns
    -------
    pandas.DataFrame
        One row per unit (index ``unit``, ``0 .. units - 1``) and the
        columns ``median``, ``q25`` and ``q75``: the median and the first
        and third quartile of the time constant, in the unit of the
        timestamps of ``X`` (numbers as given, datetimes and timedeltas in
        the estimator's ``time_unit``, steps when ``X`` has no timestamps).
        ``inf`` where the gate does not depend on ``Δt``.

    Raises
    ------
    TypeError
        When ``estimator`` is not a CfC estimator of whole series (a
        :class:`~sklearn_cfc.CfCForecaster` is not supported).
    sklearn.exceptions.NotFittedError
        When ``estimator`` is not fitted.
    ValueError
        When ``X`` does not match the data the estimator was fitted on.

    See Also
    --------
    attributions : Which observations drove each prediction.

    Notes
    -----
    In the modes "default" and "no_gate" the gate of step ``t`` is
    ``σ_t = sigmoid(a(z_t) Δt + b(z_t))``, elementwise over the units, where
    ``z_t`` is the backbone's reading of the step's inputs and the previous
    state (see :class:`~sklearn_cfc.nn.CfCCell`). Along ``Δt`` the gate's
    logit moves by 1 every ``1 / |a(z_t)|``: that is the time constant of
    step ``t``, the analogue of ``1 / f`` in the paper's gate
    ``σ(-f Δt)``. With ``a < 0`` a long gap closes the gate (``"default"``:
    the state tends to the head ``f1``), with ``a > 0`` it opens it. In the
    mode "pure" the state decays as ``exp(-Δt (|w_τ| + |f(z_t)|))``, and
    the time constant is ``1 / (|w_τ| + |f(z_t)|)``. With mixed memory the
    backbone reads the LSTM's state instead of the previous CfC state; the
    time constant is the CfC gate's, as above.

    Rates are computed at every real step of every series of ``X``; their
    median and quartiles are turned into times (so a rate of 0 gives an
    infinite time constant). The network reads each gap divided by the
    encoder's ``dt_scale_``, so a rate ``r`` is a time constant of
    ``dt_scale_ / r`` in the time of the data. With patches
    (``patch_length_ > 1``) one step of the network reads a patch, and
    its ``Δt`` is the time the patch spans; the conversion is the same,
    but the state is updated once per patch. With a time grid
    (``encoder_.time_grid_``) the steps are grid points.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_cfc import CfCClassifier
    >>> from sklearn_cfc.inspection import time_constants
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(20, 2, 15))
    >>> y = X[:, 0].mean(axis=1) > 0
    >>> clf = CfCClassifier(units=4, max_epochs=2, random_state=0).fit(X, y)
    >>> tau = time_constants(clf, X)
    >>> tau.shape, tau.columns.tolist()
    ((4, 3), ['median', 'q25', 'q75'])
    >>> bool((tau["q25"] <= tau["median"]).all())
    True
    """
    est = _fitted_estimator(estimator, "time_constants")
    batch_size = _check_count("batch_size", batch_size)
    panel = est._checked_panel(X)
    module = est.net_.module_
    rates = []
    device = next(module.parameters()).device
    work = min(len(panel), batch_size) * network_width(est)
    with torch.no_grad(), torch_threads(work, device), _evaluating(module):
        for _, _, _, tensors in est._encoded_batches(panel, batch_size):
            rates.append(_gate_rates(module, *tensors).cpu().double().numpy())
    rate = np.concatenate(rates)
    q75, median, q25 = np.quantile(rate, [0.25, 0.5, 0.75], axis=0)
    with np.errstate(divide="ignore"):
        taus = {
            name: est.encoder_.dt_scale_ / q
            for name, q in (("median", median), ("q25", q25), ("q75", q75))
        }
    return pd.DataFrame(taus, index=pd.RangeIndex(rate.shape[1], name="unit"))


def _gate_rates(module: Any, x: Tensor, dt: Tensor, lengths: Tensor) -> Tensor:
    """The time gate's rate per unit at every real step, (n_steps, H).

    ``|a(z_t)|`` in the modes "default" and "no_gate", ``|w_τ| + |f(z_t)|``
    in the mode "pure"; ``z_t`` is what the cell's backbone reads at step
    ``t``: the step's inputs and the previous state (the LSTM's new state
    with mixed memory).
    """
    x, dt, patches = patch_sequences(x, dt, lengths, module.patch_length)
    assert patches is not None  # lengths in, lengths out
    cfc = module.cfc
    cell = cfc.cell
    out, _ = cfc(x, dt, patches)
    B, T, H = out.shape
    previous = torch.cat([out.new_zeros(B, 1, H), out[:, :-1]], 1)
    if cfc.lstm is not None:  # the cell reads the memory cell's new state
        c = out.new_zeros(B, H)
        states = []
        for t in range(T):
            h, c = cfc.lstm(x[:, t], (previous[:, t], c))
            states.append(h)
        previous = torch.stack(states, 1)
    z = cell.backbone_forward(x.reshape(B * T, -1), previous.reshape(B * T, H))
    heads = cell.heads(z)
    real = (torch.arange(T, device=x.device) < patches[:, None]).reshape(-1)
    heads = heads[real]
    if cell.mode == "pure":
        return cell.w_tau.abs() + heads.abs()
    return heads[:, 2 * H : 3 * H].abs()


# ------------------------------------------------------------ attributions
def _captum_ig() -> Any:
    """captum's IntegratedGradients class, imported on first use."""
    try:
        captum_attr = importlib.import_module("captum.attr")
    except ImportError as exc:
        raise ImportError(
            "attributions needs captum, for integrated gradients: "
            f"{_INSTALL} (or pip install captum)."
        ) from exc
    return captum_attr.IntegratedGradients


def _target(
    est: _BaseCfC, target: object, output: str | None
) -> tuple[Callable[[Tensor], Tensor], Callable[[Tensor], Tensor], np.ndarray]:
    """What is explained: the outputs, the index explained per row, labels.

    Returns ``(outputs, choose, labels)``: ``outputs`` maps the network's
    raw outputs (B, K) to the explained quantities (B, K), ``choose`` picks
    from raw outputs the column explained for each row (B,), and ``labels``
    names the columns (class labels, or output indices).
    """
    name = type(est).__name__
    if isinstance(est, CfCClassifier):
        if output is None:
            output = "probability"
        if output not in ("probability", "logit"):
            raise ValueError(
                f"output must be 'probability' or 'logit' for {name}, got {output!r}."
            )
        classes = est.classes_
        if target is None:
            fixed = 1 if len(classes) == 2 else None  # the positive class
        else:
            # compared one by one: numpy warns when comparing an array of
            # numbers with a string
            found = (
                [k for k, c in enumerate(classes.tolist()) if c == target]
                if _scalar(target)
                else []
            )
            if len(found) != 1:
                raise ValueError(
                    f"target={target!r} is not a class of this {name}; "
                    f"classes_ are {classes.tolist()}."
                )
            fixed = int(found[0])
        outputs = _probability if output == "probability" else _logit
        labels = classes
    else:
        if output is not None:
            raise ValueError(
                f"output applies to classifiers; {name} explains its "
                f"prediction. Got output={output!r}; leave it None."
            )
        n_outputs = est.n_outputs_
        if target is None:
            if n_outputs > 1:
                raise ValueError(
                    f"target: this {name} predicts {n_outputs} outputs; pass "
                    f"target=k with k in 0..{n_outputs - 1} to choose one."
                )
            fixed = 0
        elif (
            isinstance(target, numbers.Integral)
            and not isinstance(target, bool)
            and 0 <= int(target) < n_outputs
        ):
            fixed = int(target)
        else:
            raise ValueError(
                f"target must be an int in 0..{n_outputs - 1} (the output to "
                f"explain) for this {name}, got {target!r}."
            )
        mean = torch.as_tensor(est._y_mean, dtype=torch.float32)
        scale = torch.as_tensor(est._y_scale, dtype=torch.float32)

        def outputs(raw: Tensor) -> Tensor:
            return raw * scale.to(raw.device) + mean.to(raw.device)

        labels = np.arange(n_outputs)

    def choose(raw: Tensor) -> Tensor:
        if fixed is None:
            return raw.argmax(1)
        return torch.full((raw.shape[0],), fixed, device=raw.device)

    return outputs, choose, labels


def _scalar(value: Any) -> bool:
    return np.ndim(value) == 0


def _probability(raw: Tensor) -> Tensor:
    return torch.softmax(raw, 1)


def _logit(raw: Tensor) -> Tensor:
    """``log(p_k / (1 - p_k))`` for every class ``k``, computed stably."""
    K = raw.shape[1]
    others = raw.unsqueeze(1).expand(-1, K, K)
    eye = torch.eye(K, dtype=torch.bool, device=raw.device)
    others = others.masked_fill(eye, -torch.inf)
    return raw - torch.logsumexp(others, -1)


def attributions(
    estimator: Any,
    X: PanelLike,
    *,
    target: Hashable | None = None,
    output: Literal["probability", "logit"] | None = None,
    baseline: Literal["mean", "unobserved"] = "mean",
    n_steps: int = 50,
    batch_size: int = 16,
    return_summary: bool = False,
) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """Attribute each series' prediction to its observations.

    Integrated gradients (Sundararajan et al., 2017, computed by captum's
    :class:`~captum.attr.IntegratedGradients`) of the explained output with
    respect to everything the network reads, from a baseline series,
    summed onto the observations the inputs derive from: one value per
    channel and time that was observed. The values of a series add up to
    its prediction minus the baseline's (see Notes).

    Parameters
    ----------
    estimator : CfCClassifier or CfCRegressor
        A fitted estimator (or a fitted sktime ``CfCTimeSeriesClassifier`` /
        ``CfCTimeSeriesRegressor``).
    X : array-like, list of DataFrames or DataFrame
        The series to explain, in any format the estimator accepts (see
        :meth:`~sklearn_cfc.CfCClassifier.fit`).
    target : class label or int, default=None
        What is explained. For a classifier, a class label (from
        ``classes_``); None explains the positive class ``classes_[1]`` of a
        binary classifier and each series' predicted class otherwise. For a
        regressor, the index of the output; None for a single output.
    output : {'probability', 'logit'}, default=None
        Classifiers only: explain the predicted probability of the class
        (None means this), or its logit ``log(p / (1 - p))``, which for a
        binary classifier is the network's log-odds. Leave None for a
        regressor, whose prediction (in the units of ``y``) is explained.
    baseline : {'mean', 'unobserved'}, default='mean'
        What a prediction is compared with. "mean": the same series with
        every observed value at its channel's centre (the training mean),
        so the attributions say what the values contributed. "unobserved":
        the same steps with nothing observed, so they also credit the fact
        that a channel was measured, and when. See Notes.
    n_steps : int, default=50
        Steps of the integral's quadrature (captum's Gauss-Legendre rule);
        more steps make the values add up more closely (see ``delta`` in
        the summary).
    batch_size : int, default=16
        Series per call; the network runs on ``batch_size * n_steps``
        sequences at once, which bounds the memory used.
    return_summary : bool, default=False
        Also return one row per series with the explained quantity.

    Returns
    -------
    attributions : pandas.DataFrame
        One row per observation: a channel observed at a time, in the order
        of ``X``'s series, then time, then channel. Columns ``instance``
        (the instance ids of ``X``, or positions ``0 .. n - 1`` when it has
        none), ``time`` (in the kind of timestamps of ``X``: numbers,
        datetimes or timedeltas; step indices when there are none),
        ``channel`` (the names of ``X``'s columns, or positions for
        arrays), ``value`` (the observed value) and ``attribution`` (in the
        unit of the explained output).
    summary : pandas.DataFrame
        With ``return_summary=True``: indexed by ``instance``, columns
        ``target`` (the class or output explained), ``prediction`` (its
        value for the series), ``baseline`` (its value for the baseline
        series), ``attribution`` (the sum of the series' attributions)
        and ``delta``, ``prediction - baseline - attribution``: the
        quadrature's error, which shrinks as ``n_steps`` grows.

    Raises
    ------
    ImportError
        When captum is not installed.
    TypeError
        When ``estimator`` is not a CfC estimator of whole series.
    sklearn.exceptions.NotFittedError
        When ``estimator`` is not fitted.
    ValueError
        When ``target``, ``output`` or ``baseline`` does not fit the
        estimator, or ``X`` does not match the data it was fitted on.

    See Also
    --------
    plot_attributions : Draw the attributions of one series.
    time_constants : How fast each unit of the network forgets.

    Notes
    -----
    The network reads, per step and channel, the channel's latest value
    (scaled, forward filled), an observation flag, the log of the time
    since its latest observation, and with the estimator's settings the
    change since its previous observation (``differences``) and running
    statistics (``running_stats``); see
    :class:`~sklearn_cfc.panel.PanelEncoder`. The gaps between steps
    (``Δt``) are not attributed: the baseline keeps them.

    **Baselines.** Both are the encoding of a series the network could
    read, with the series' own steps:

    - ``"mean"``: every observed value replaced by its channel's centre,
      the encoder's ``mean_`` (the training mean; the median with
      ``scale="robust"``, 0 with ``scale=False``): scaled values, changes
      and running statistics of values are 0; the flags, the times since
      and the counts are the series' own. Only values are credited, and a
      value at its channel's centre gets nothing.
    - ``"unobserved"``: no channel ever observed: every input is 0 except
      the time since, at the encoder's "never observed yet" code (-1). The
      flags and times since are credited too, so where and when channels
      were measured (informative in health records) counts, but so does
      the large difference between reading something and reading nothing,
      spread over every observation.

    **From inputs to observations.** Integrated gradients give every input
    of every step an attribution, 0 where the input equals the baseline's.
    The latest value, the time since and the running statistics at a step
    derive from the channel's latest observation at or before it; the flag
    and the change derive from the observation at the step itself. Each
    input's attribution is added to the observation it derives from, so an
    observation collects what it contributed at every step until the
    channel is measured again. With ``fill="linear"`` the network reads no
    flag or time since, and a value drawn between two observations of a
    channel, ``(1 - w)`` times the earlier plus ``w`` times the later,
    credits the earlier with ``1 - w`` of its attribution and the later
    with ``w``; the change at such a point moves towards the later and is
    credited to it. Inputs before a channel's first observation
    equal the baseline's, so nothing is left over, and the attributions of
    a series add up to its prediction minus the baseline's prediction, up
    to the quadrature's error (``delta``).

    With a time grid (``encoder_.time_grid_``) the network reads each
    observation at the grid point nearest its time, averaging a channel's
    observations that meet at one point; such observations share their
    grid point's attribution equally. With patches the attributions are
    taken with respect to the inputs before patching, so they are the
    same kind of values.

    References
    ----------
    Sundararajan, M., Taly, A. and Yan, Q. (2017). Axiomatic attribution for
    deep networks. In *Proceedings of the 34th International Conference on
    Machine Learning*, PMLR 70, 3319-3328.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_cfc import CfCClassifier
    >>> from sklearn_cfc.inspection import attributions
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(20, 2, 15))
    >>> y = X[:, 0].mean(axis=1) > 0
    >>> clf = CfCClassifier(units=4, max_epochs=2, random_state=0).fit(X, y)
    >>> attr, summary = attributions(clf, X[:3], return_summary=True)
    >>> attr.columns.tolist()
    ['instance', 'time', 'channel', 'value', 'attribution']
    >>> len(attr)  # 3 series, 2 channels, 15 times
    90
    >>> bool((summary["delta"].abs() < 1e-3).all())
    True
    """
    est = _fitted_estimator(estimator, "attributions")
    integrated_gradients = _captum_ig()
    if not isinstance(baseline, str) or baseline not in ("mean", "unobserved"):
        raise ValueError(f"baseline must be 'mean' or 'unobserved', got {baseline!r}.")
    layout = _Layout.of(est.encoder_)
    n_steps = _check_count("n_steps", n_steps)
    batch_size = _check_count("batch_size", batch_size)
    if not isinstance(return_summary, (bool, np.bool_)):
        raise TypeError(f"return_summary must be a bool, got {return_summary!r}.")
    outputs, choose, labels = _target(est, target, output)
    panel = est._checked_panel(X)
    module = est.net_.module_
    device = next(module.parameters()).device

    def explained(inputs: Tensor, dt: Tensor, lengths: Tensor) -> Tensor:
        return outputs(module(inputs, dt, lengths))

    ig = integrated_gradients(explained)
    n = len(panel)
    parts: list[tuple[np.ndarray, ...]] = []
    summary = np.zeros((n, 3))  # prediction, baseline, target index
    work = min(n, batch_size) * n_steps * network_width(est)
    with torch_threads(work, device), _evaluating(module):
        for idx, sub, _, (x, dt, lengths) in est._encoded_batches(panel, batch_size):
            base = _baseline(x, lengths, sub.n_channels, layout, baseline)
            with torch.no_grad():
                raw = module(x, dt, lengths)
                raw_base = module(base, dt, lengths)
            if raw.dim() != 2:
                raise ValueError(
                    "attributions explains one prediction per series, but the "
                    f"network of this {type(est).__name__} gives outputs of "
                    f"shape {tuple(raw.shape)} for {len(idx)} series (one per "
                    "step); it is not supported."
                )
            chosen = choose(raw)
            rows = torch.arange(len(idx), device=device)
            summary[idx, 0] = outputs(raw)[rows, chosen].double().cpu().numpy()
            summary[idx, 1] = outputs(raw_base)[rows, chosen].double().cpu().numpy()
            summary[idx, 2] = chosen.cpu().numpy()
            attr = ig.attribute(
                x,
                baselines=base,
                target=chosen,
                additional_forward_args=(dt, lengths),
                n_steps=n_steps,
            )
            per_step = _per_observation(
                attr.detach().double().cpu().numpy(),
                est.encoder_._panel(sub),
                layout,
            )
            parts.append(_to_raw(per_step, sub, idx, est.encoder_.time_grid_))
    position, t, c, values, attribution, times = (
        np.concatenate(a) for a in zip(*parts, strict=True)
    )
    order = np.lexsort((c, t, position))
    position, c = position[order], c[order]
    ids = pd.Index(np.arange(n) if panel.instance_ids is None else panel.instance_ids)
    frame = pd.DataFrame(
        {
            "instance": ids[position],
            "time": _user_times(times[order], panel),
            "channel": pd.Index(list(panel.channels))[c],
            "value": values[order].astype(np.float64),
            "attribution": attribution[order],
        }
    )
    if not return_summary:
        return frame
    total = np.bincount(position, weights=frame["attribution"].to_numpy(), minlength=n)
    table = pd.DataFrame(
        {
            "target": labels[summary[:, 2].astype(np.intp)],
            "prediction": summary[:, 0],
            "baseline": summary[:, 1],
            "attribution": total,
            "delta": summary[:, 0] - summary[:, 1] - total,
        },
        index=pd.Index(ids, name="instance"),
    )
    return frame, table


class _Layout(NamedTuple):
    """Which blocks of ``C`` inputs of a step hold what (PanelEncoder.transform).

    Blocks: 0 the latest value (drawn with ``fill="linear"``), then with
    ``fill="forward"`` 1 the observation flag and 2 the time since the
    latest observation, then the change (with ``differences``), then the
    running statistics in ``running_stats_`` order.
    """

    n_blocks: int
    linear: bool
    change: int | None
    stats: dict[str, int]

    @classmethod
    def of(cls, encoder: Any) -> _Layout:
        linear = encoder.fill_ == "linear"
        first = 1 if linear else 3
        change = first if encoder.differences else None
        first += bool(encoder.differences)
        stats = {name: first + k for k, name in enumerate(encoder.running_stats_)}
        return cls(first + len(stats), linear, change, stats)

    @property
    def since(self) -> int | None:
        """The block of times since the latest observation, if any."""
        return None if self.linear else 2

    def of_values(self) -> list[int]:
        """Blocks that hold scaled values: 0 at the channel's centre."""
        stats = [k for name, k in self.stats.items() if name != "count"]
        return [0, *([] if self.change is None else [self.change]), *stats]


def _baseline(x: Tensor, lengths: Tensor, C: int, layout: _Layout, kind: str) -> Tensor:
    """The encoded baseline of a batch (see :func:`attributions`' Notes).

    ``"mean"``: ``x`` with every block of values (the latest value, the
    change and the statistics of values) zero, as if every observation had
    been its channel's centre. ``"unobserved"``: zero everywhere except the
    time since the latest observation, which the encoder sets to -1 before
    a channel's first one (at real steps; the padding stays zero, as in
    ``x``).
    """
    B, T, _ = x.shape
    if kind == "mean":
        base = x.clone().view(B, T, layout.n_blocks, C)
        base[:, :, layout.of_values()] = 0.0
        return base.view(B, T, -1)
    base = torch.zeros_like(x)
    if layout.since is not None:
        real = torch.arange(T, device=x.device) < lengths[:, None]
        since = slice(layout.since * C, (layout.since + 1) * C)
        base[:, :, since] = torch.where(real, -1.0, 0.0).unsqueeze(-1)
    return base


def _per_observation(attr: np.ndarray, panel: Panel, layout: _Layout) -> np.ndarray:
    """Sum the attributions of a batch's inputs onto the observed steps.

    Parameters
    ----------
    attr : ndarray of shape (B, T, W * C)
        Attributions of the encoded inputs, in the blocks of ``layout``.
    panel : Panel
        The batch's panel as the network read it (on the encoder's grid).
    layout : _Layout

    Returns
    -------
    ndarray of shape (B, T, C)
        At each observed step and channel, what its observation collected;
        0 elsewhere.
    """
    B, T, _ = attr.shape
    C = panel.n_channels
    blocks = attr.reshape(B, T, layout.n_blocks, C)
    observed = panel.mask  # (B, T, C): the encoder made one step per point
    last = last_observed(observed)  # -1 before a channel's first one
    seen = last >= 0
    change = 0.0 if layout.change is None else blocks[:, :, layout.change]
    stats = blocks[:, :, list(layout.stats.values())].sum(2)

    def credit(where, to, weights):
        """``weights`` at the steps ``where``, summed onto step ``to`` of
        their series and channel."""
        b, t, c = np.nonzero(where)
        flat = (b * T + to[b, t, c]) * C + c
        total = np.bincount(flat, weights=weights[b, t, c], minlength=B * T * C)
        return total.reshape(B, T, C)

    if layout.linear:
        # a drawn value is (1 - w) times the latest observation plus w times
        # the one it goes towards, and its change moves towards the latter
        drawn, share, upcoming = _draw_plan(panel, seen)
        value = blocks[:, :, 0]
        latest = np.where(drawn, (1.0 - share) * value, value) + stats
        ahead = np.where(drawn, share * value + change, 0.0)
        out = np.where(observed, change, 0.0) + credit(drawn, upcoming, ahead)
    else:
        here = blocks[:, :, 1] + change
        latest = blocks[:, :, 0] + blocks[:, :, 2] + stats
        out = np.where(observed, here, 0.0)
    return out + credit(seen, last, latest)


def _to_raw(
    per_step: np.ndarray, sub: Panel, idx: np.ndarray, grid: float | None
) -> tuple[np.ndarray, ...]:
    """The observations of a batch's panel and what each collected.

    ``per_step`` (B, T, C) holds the attributions of the steps the network
    read: the panel's own, or its grid points. On a grid, the observations
    of a channel that met at one point share its attribution equally.

    Returns
    -------
    position, step, channel, value, attribution, time : ndarray of shape (m,)
        One entry per observation: its series' position in ``X``, its step
        and channel in ``sub``, its value, attribution and float time.
    """
    b, t, c = np.nonzero(sub.mask)
    if grid is None:
        share = per_step[b, t, c]
    else:  # the slots of Panel.on_grid
        B, T, C = per_step.shape
        with np.errstate(invalid="ignore"):
            offsets = (sub.times - sub.times[:, :1]) / float(grid)
        slot = np.rint(offsets[b, t]).astype(np.intp)
        key = (b * T + slot) * C + c
        count = np.bincount(key, minlength=B * T * C)
        share = per_step.reshape(-1)[key] / count[key]
    return idx[b], t, c, sub.values[b, t, c], share, sub.times[b, t]


# ---------------------------------------------------------------- plotting
def plot_attributions(
    attributions: pd.DataFrame,
    instance: Hashable | None = None,
    *,
    top: int | None = None,
    ax: Axes | None = None,
    cmap: str = "RdBu_r",
) -> Axes:
    """Draw one series' attributions as a channels x time heatmap.

    Each observation is a cell, coloured by its attribution on a scale
    symmetric around 0 (red raised the explained output, blue lowered it
    with the default colormap); a cell spans from halfway to the previous
    observation time of the series to halfway to the next one. Channels
    are sorted by their total absolute attribution, the largest on top;
    times that were not observed stay blank.

    Parameters
    ----------
    attributions : pandas.DataFrame
        What :func:`attributions` returns (its first value).
    instance : hashable, default=None
        The series to draw, a value of the ``instance`` column; may be left
        None when the frame holds a single series.
    top : int, default=None
        Draw only the ``top`` channels with the largest total absolute
        attribution; None draws every channel the series observed.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure is made when None.
    cmap : str or matplotlib Colormap, default="RdBu_r"
        A diverging colormap.

    Returns
    -------
    ax : matplotlib Axes
        With a colorbar labelled "attribution" next to it.

    Raises
    ------
    ValueError
        When ``attributions`` is not a frame of :func:`attributions`, or
        ``instance`` is not in it.

    See Also
    --------
    attributions : Compute the values drawn.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from sklearn_cfc.inspection import plot_attributions
    >>> attr = pd.DataFrame({
    ...     "instance": [0, 0, 0], "time": [0.0, 1.5, 1.5],
    ...     "channel": ["HR", "HR", "Temp"], "value": [80.0, 95.0, 38.2],
    ...     "attribution": [0.01, 0.12, -0.03],
    ... })
    >>> ax = plot_attributions(attr)
    >>> [label.get_text() for label in ax.get_yticklabels()]
    ['Temp', 'HR']
    """
    try:
        import matplotlib.pyplot as plt
        from matplotlib import dates
    except ImportError as exc:
        raise ImportError(
            f"plot_attributions needs matplotlib: {_INSTALL} (or pip install "
            "matplotlib)."
        ) from exc
    if not isinstance(attributions, pd.DataFrame) or not set(COLUMNS) <= set(
        attributions.columns
    ):
        got = (
            f"columns {list(attributions.columns)}"
            if isinstance(attributions, pd.DataFrame)
            else type(attributions).__name__
        )
        raise ValueError(
            "attributions must be the DataFrame attributions() returns, with "
            f"the columns {list(COLUMNS)}; got {got}."
        )
    ids = attributions["instance"].unique()
    if instance is None:
        if len(ids) != 1:
            raise ValueError(
                f"instance: the attributions hold {len(ids)} series; pass "
                f"instance= one of {ids[:5].tolist()}"
                f"{' ...' if len(ids) > 5 else ''}."
            )
        instance = ids[0]
    rows = attributions[attributions["instance"] == instance]
    if rows.empty:
        raise ValueError(
            f"instance={instance!r} is not in the attributions; they hold "
            f"{ids[:5].tolist()}{' ...' if len(ids) > 5 else ''}."
        )
    if top is not None:
        top = _check_count("top", top)
    weight = rows["attribution"].abs().groupby(rows["channel"], sort=False).sum()
    channels = weight.sort_values(ascending=False, kind="stable").index[:top]
    rows = rows[rows["channel"].isin(channels)]

    time = rows["time"]
    label = "time"
    if pd.api.types.is_timedelta64_dtype(time):
        time, label = time.dt.total_seconds(), "time (s)"
    is_date = pd.api.types.is_datetime64_any_dtype(time)
    if is_date:
        if getattr(time.dt, "tz", None) is not None:
            time = time.dt.tz_convert("UTC").dt.tz_localize(None)
        x = dates.date2num(time.to_numpy())
    else:
        x = time.to_numpy(dtype=np.float64)
    grid_x, column = np.unique(x, return_inverse=True)
    row = {ch: i for i, ch in enumerate(reversed(channels))}  # largest on top
    heat = np.full((len(channels), len(grid_x)), np.nan)
    heat[[row[ch] for ch in rows["channel"]], column] = rows["attribution"]
    if len(grid_x) > 1:
        middle = (grid_x[1:] + grid_x[:-1]) / 2
        edges = np.concatenate(
            [
                [grid_x[0] - (middle[0] - grid_x[0])],
                middle,
                [grid_x[-1] + (grid_x[-1] - middle[-1])],
            ]
        )
    else:
        edges = grid_x[0] + np.array([-0.5, 0.5])
    peak = np.nanmax(np.abs(heat)) if np.isfinite(heat).any() else 0.0
    peak = peak if peak > 0 else 1.0
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 0.3 * len(channels) + 1.5))
    mesh = ax.pcolormesh(
        edges,
        np.arange(len(channels) + 1) - 0.5,
        np.ma.masked_invalid(heat),
        cmap=cmap,
        vmin=-peak,
        vmax=peak,
    )
    ax.set_yticks(np.arange(len(channels)), [str(ch) for ch in reversed(channels)])
    if is_date:
        ax.xaxis_date()
    ax.set(xlabel=label, ylabel="channel", title=f"instance {instance}")
    ax.figure.colorbar(mesh, ax=ax, label="attribution")
    return ax
