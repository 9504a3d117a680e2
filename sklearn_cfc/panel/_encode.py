"""Network inputs from a panel: scaling, forward fill, mask and Δt (private)."""

from __future__ import annotations

import dataclasses
import warnings
from numbers import Real
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Options, StrOptions
from sklearn.utils.validation import check_is_fitted

from sklearn_cfc._typing import fit_context
from sklearn_cfc.exceptions import TimeScaleWarning

from ._convert import _channel, _where, to_panel
from ._panel import last_observed
from ._time import (
    DATETIME,
    DATETIME_TZ,
    NUMERIC,
    TIMEDELTA,
    check_time_unit,
    format_time,
)

if TYPE_CHECKING:
    from collections.abc import Hashable

    from numpy.typing import ArrayLike

    from sklearn_cfc._typing import (
        DtScale,
        Fill,
        PanelLike,
        RunningStats,
        Scaling,
        TimeGrid,
        TimeUnitLike,
    )

    from ._panel import Panel

__all__ = ["EncodedPanel", "PanelEncoder", "check_channels"]

RUNNING_STATS = ("min", "max", "mean", "count")
ROBUST_CLIP = 10.0  # robustly scaled values are clipped to +-ROBUST_CLIP
# scale="auto" compresses a channel whose instances' standard deviations span
# more than this factor (90th over 10th percentile): see _compression
COMPRESS_SPAN = 1000.0
# check_channels warns when a panel's median gap is more than this factor
# away from the one seen in fit (either way); see PanelEncoder's Notes
DT_DRIFT_FACTOR = 100.0
# the kinds of timestamps a model must see at fit and at prediction alike,
# from a Panel's time_kind: naive and timezone-aware datetimes are both
# instants (their gaps mean the same), timedeltas are elapsed times
_TIME_KINDS = {
    NUMERIC: "numeric",
    DATETIME: "datetime",
    DATETIME_TZ: "datetime",
    TIMEDELTA: "timedelta",
}


class _Satisfies(Options):
    """A parameter constraint given by a test and its description.

    For rules scikit-learn's constraints cannot state (a list of distinct
    names, say). It subclasses ``Options`` so that scikit-learn's parameter
    validation takes it as it is; the error reads "The 'name' parameter of
    Owner must be <description>. Got <value> instead."
    """

    def __init__(self, test, description):
        super().__init__(object, set())
        self.test = test
        self.description = description

    def is_satisfied_by(self, val):
        return bool(self.test(val))

    def __str__(self):
        return self.description


def _is_bool(value):
    return isinstance(value, (bool, np.bool_))


def _scaling(value):
    """'standard', 'robust' or None (no scaling) for a valid ``scale``."""
    if _is_bool(value):
        return "standard" if value else None
    return "standard" if value == "auto" else value


def _compression(panel):
    """The reference scale of each channel that ``scale="auto"`` compresses.

    A channel is compressed when the standard deviations of its instances
    (each over its own observations; instances whose values do not vary
    beyond float32 resolution left out) span more than ``COMPRESS_SPAN``
    (three orders of magnitude), 90th percentile over 10th: one global
    scale would then squash the series of the small instances flat. Its
    reference is that 10th percentile; 0 marks a channel left as it is.

    Returns
    -------
    ndarray of shape (n_channels,), float64
    """
    C = panel.n_channels
    ref = np.zeros(C)
    values = np.where(panel.mask, panel.values, np.nan).astype(np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # unobserved: NaN
        spread = np.nanstd(values, axis=1)  # (n, C)
        level = np.abs(np.nanmean(values, axis=1))
    del values
    # beyond a few float32 steps of the level (NaN compares False)
    varies = spread > 1e-6 * level
    for c in range(C):
        varying = spread[varies[:, c], c]
        if len(varying) < 2:
            continue
        low, high = np.percentile(varying, [10, 90])
        if high > COMPRESS_SPAN * low:
            ref[c] = low
    return ref


def _compressed(panel, ref):
    """``panel`` with each channel ``c`` where ``ref[c] > 0`` mapped by
    ``asinh(value / ref[c])`` (float32, as panel values are): about linear
    within a few references of 0 and logarithmic beyond, so that a series
    keeps its shape whatever its scale, and the scale becomes a level."""
    if ref is None or not np.any(ref > 0):
        return panel
    values = panel.values.copy()
    cols = np.flatnonzero(ref > 0)
    values[:, :, cols] = np.arcsinh(values[:, :, cols].astype(np.float64) / ref[cols])
    return dataclasses.replace(panel, values=values)


def _stats(value):
    """The statistics a ``running_stats`` setting asks for, in their fixed order;
    None when the setting is not valid."""
    if _is_bool(value):
        return RUNNING_STATS if value else ()
    if not isinstance(value, str) and isinstance(value, (list, tuple)):
        unknown = [v for v in value if v not in RUNNING_STATS]
        if not unknown and len(set(value)) == len(value):
            return tuple(s for s in RUNNING_STATS if s in value)
    return None


def _is_positive_number(value):
    """A positive finite real number (not a bool)."""
    return (
        isinstance(value, Real)
        and not _is_bool(value)
        and 0 < float(value) < float("inf")
    )


SCALE = _Satisfies(
    lambda v: (
        _is_bool(v) or (isinstance(v, str) and v in ("standard", "robust", "auto"))
    ),
    "a bool, 'standard', 'robust' or 'auto'",
)
DT_SCALE = _Satisfies(
    lambda v: (isinstance(v, str) and v == "median") or _is_positive_number(v),
    "'median' or a positive float",
)
TIME_GRID = _Satisfies(
    lambda v: (
        v is None or (isinstance(v, str) and v == "auto") or _is_positive_number(v)
    ),
    "None, 'auto' or a positive float",
)


def _auto_grid(panel):
    """The grid step ``time_grid="auto"`` chooses for a panel, or None.

    The typical sampling interval (the median over instances of the span
    between first and last observation divided by the number of gaps) when
    the sampling is irregular (the gaps are not all equal) and the panel
    is dense (:meth:`Panel.is_dense`); else None. Sparse records, where each
    time holds a few of many channels, stay one step per observation.
    """
    gaps = np.diff(panel.times, axis=1)
    gaps = gaps[gaps > 0]  # NaN (padding) compares False
    if gaps.size == 0 or np.allclose(gaps, gaps[0], rtol=1e-6, atol=0.0):
        return None
    if not panel.is_dense():
        return None
    rows = np.flatnonzero(panel.lengths > 1)
    span = panel.times[rows, panel.lengths[rows] - 1] - panel.times[rows, 0]
    step = float(np.median(span / (panel.lengths[rows] - 1)))
    points = _grid_lengths(panel, step)
    if points.max() > GRID_MAX_STRETCH * panel.lengths.max():
        return None  # a series far longer in time than the others
    return step


# a time grid may have at most this many steps for each observation of the
# panel's longest series (a series with a long silence would otherwise
# become a mostly empty sequence, and the padded panel huge)
GRID_MAX_STRETCH = 4


def _grid_lengths(panel, step):
    """Grid points of each instance on a grid of ``step`` (as floats)."""
    last = panel.times[np.arange(len(panel)), panel.lengths - 1]
    return np.rint((last - panel.times[:, 0]) / step) + 1


def _on_grid(panel, step):
    """``panel.on_grid(step)``, refused where it would stretch a series."""
    points = _grid_lengths(panel, step)
    i = int(np.argmax(points))
    if points[i] > GRID_MAX_STRETCH * panel.lengths.max():
        ids = panel.instance_ids
        name = f"instance {i}" + ("" if ids is None else f" (id {ids[i]!r})")
        raise ValueError(
            f"X: on the time grid of step {step:.6g} (time_grid), {name} would "
            f"take {points[i]:.6g} steps, more than {GRID_MAX_STRETCH} times the "
            f"{panel.lengths.max()} observations of the longest series; its "
            "timestamps span far more time than the grid was made for. Pass "
            "time_grid=None (or a larger step), or check the timestamps."
        )
    return panel.on_grid(step)


STATS = _Satisfies(
    lambda v: _stats(v) is not None,
    f"a bool or a list of distinct names among {list(RUNNING_STATS)}",
)


def _forward_fill(panel):
    """Each channel's latest value so far, with where it comes from.

    Returns ``(filled, last, seen, times)``: the values (NaN before a
    channel's first observation), the step of that observation (0 before
    it), whether there is one, and the panel's times as (n, T, 1) with 0
    in the padding.
    """
    n, T, C = panel.values.shape
    last = last_observed(panel.mask)
    seen = last >= 0
    itype = last.dtype.type
    np.maximum(last, 0, out=last)
    times = np.nan_to_num(panel.times)[:, :, None]
    # flat index of each step's latest observed value
    flat = last + (np.arange(n, dtype=itype) * itype(T))[:, None, None]
    flat *= itype(C)
    flat += np.arange(C, dtype=itype)
    filled = np.take(np.ascontiguousarray(panel.values).reshape(-1), flat)
    return filled, last, seen, times


def _draw_plan(panel, seen):
    """Where ``fill="linear"`` draws a channel, how far along, and towards which step.

    A channel is drawn at a step without any observation when it has a
    value already (``seen``, from :func:`_forward_fill`) and is observed at
    the next step that has an observation; the line goes from its value at
    the last step with an observation to that observation.

    Returns
    -------
    drawn : ndarray of shape (n, T, C), bool
    share : ndarray of shape (n, T, C), float64
        How far along its line each drawn value lies, in [0, 1] (NaN
        elsewhere).
    upcoming : ndarray of shape (n, T, C), int
        The step of the observation each drawn value goes towards (clipped
        to the last step elsewhere).

    A step depends then only on observations up to the next step that has
    one, so a series cut after any observation encodes each of its steps
    as the whole series does.
    """
    mask = panel.mask
    T = mask.shape[1]
    times = np.nan_to_num(panel.times)[:, :, None]
    occupied = mask.any(axis=-1)
    steps = np.arange(T)
    # per step, the last step before or at it, and the first at or after
    # it, with an observation
    before = np.maximum.accumulate(np.where(occupied, steps, 0), axis=1)
    after = np.minimum.accumulate(np.where(occupied, steps, T)[:, ::-1], axis=1)
    after = after[:, ::-1]
    # per step and channel, the channel's first observation at or after it
    ahead = last_observed(mask[:, ::-1])[:, ::-1]
    upcoming = np.where(ahead >= 0, T - 1 - ahead, T)
    drawn = ~occupied[:, :, None] & seen & (upcoming == after[:, :, None])
    drawn &= upcoming < T
    upcoming = np.minimum(upcoming, T - 1)
    start = np.take_along_axis(times[:, :, 0], before, axis=1)[:, :, None]
    end = np.take_along_axis(times, upcoming, axis=1)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        share = np.where(drawn, (times - start) / (end - start), np.nan)
    return drawn, share, upcoming


def _drawn(panel, filled, seen):
    """``filled`` (from :func:`_forward_fill`) with the values ``fill="linear"``
    draws across steps without an observation (see :func:`_draw_plan`)."""
    # float64 whether or not anything is drawn, so that the changes along
    # the path round alike for a series and its cuts
    filled = filled.astype(np.float64)
    drawn, share, upcoming = _draw_plan(panel, seen)
    if not drawn.any():
        return filled
    target = np.take_along_axis(panel.values, upcoming, axis=1)
    with np.errstate(invalid="ignore", over="ignore"):
        line = filled + share * (target - filled)
    return np.where(drawn, line, filled)


def _path_changes(filled, lengths):
    """Per step and channel, the change of the drawn values since the
    previous step; NaN at the first step, before a channel's first
    observation and in the padding (``fill="linear"``).
    """
    changes = np.full(filled.shape, np.nan)
    if filled.shape[1] > 1:
        np.subtract(filled[:, 1:], filled[:, :-1], out=changes[:, 1:])
        changes[np.arange(filled.shape[1]) >= lengths[:, None]] = np.nan
    return changes


def _changes_read(panel, linear, shown, filled):
    """The changes the ``differences`` inputs read: along the values the
    steps show (``shown``) with ``fill="linear"``, else since each
    channel's previous observation (``filled``: the forward fill)."""
    return _path_changes(shown, panel.lengths) if linear else _changes(panel, filled)


def _changes(panel, filled=None):
    """Per step and channel, the change of the value since the channel's
    previous observation; NaN where it is not observed now or not before.

    ``filled`` is the panel's forward fill (each channel's latest value so
    far, NaN before its first observation), when the caller has it already.

    Returns
    -------
    ndarray of shape (n_instances, n_timepoints, n_channels), float64
    """
    n, T, C = panel.values.shape
    changes = np.full((n, T, C), np.nan)
    if T < 2:
        return changes
    if filled is None:
        before = last_observed(panel.mask)[:, :-1]  # latest observation before t
        previous = np.take_along_axis(
            panel.values[:, :-1].astype(np.float64), np.maximum(before, 0), axis=1
        )
        has = panel.mask[:, 1:] & (before >= 0)
    else:
        previous = filled[:, :-1]
        has = panel.mask[:, 1:] & ~np.isnan(previous)
    np.subtract(
        panel.values[:, 1:], previous, out=changes[:, 1:], where=has, dtype=np.float64
    )
    return changes


# what every message about an encoded value beyond float32 ends with
_BEYOND_FLOAT32 = (
    "beyond the float32 range the network computes in (about 3.4e38). Data "
    "this far from the scale seen in fit cannot be encoded: check its unit, "
    "or fit on data that covers it."
)


def _time_at(panel, i, t):
    """Timestamp ``t`` of instance ``i``, as the user wrote it (for messages)."""
    value = panel.times[i, t]
    if panel.time_kind == NUMERIC and abs(value) >= 1e16:  # not all its digits
        return f"{value:.6g}"
    unit_ns = 1.0 if panel.time_unit is None else check_time_unit(panel.time_unit)
    return format_time(value, panel.time_kind, unit_ns)


def _first_inf(encoded):
    """Index of the first infinite entry of ``encoded``, or None."""
    inf = np.isinf(encoded)
    return np.unravel_index(np.argmax(inf), inf.shape) if inf.any() else None


def _check_gaps(dt, panel, dt_scale):
    """ValueError when a gap over ``dt_scale`` overflowed float32."""
    at = _first_inf(dt)
    if at is None:
        return
    i, t = at
    gap = panel.times[i, t] - panel.times[i, t - 1]
    with np.errstate(over="ignore"):
        ratio = gap / dt_scale
    times = "more than 1.8e308 times" if np.isinf(ratio) else f"{ratio:.6g} times"
    raise ValueError(
        f"X: {_where(i, panel.instance_ids)} has a gap of {gap:.6g} between its "
        f"observations at times {_time_at(panel, i, t - 1)} and "
        f"{_time_at(panel, i, t)}: {times} the time scale "
        f"dt_scale_={dt_scale:.6g}, {_BEYOND_FLOAT32}"
    )


def _check_values(head, panel, mean, scale):
    """ValueError when a scaled value overflowed float32.

    The first infinite entry is at an observation: forward filling repeats
    a value only after the step it was observed at.
    """
    at = _first_inf(head)
    if at is None:
        return
    i, t, c = at
    value = float(panel.values[i, t, c])
    raise ValueError(
        f"X: {_where(i, panel.instance_ids)}, {_channel(panel.channels[c])} has "
        f"the value {value:.6g} at time {_time_at(panel, i, t)}: "
        f"{(value - mean[c]) / scale[c]:.6g} once scaled by the fitted "
        f"mean_={mean[c]:.6g} and scale_={scale[c]:.6g}, {_BEYOND_FLOAT32}"
    )


def _check_changes(change, changes, panel, change_scale):
    """ValueError when a change over ``change_scale`` overflowed float32."""
    at = _first_inf(change)
    if at is None:
        return
    i, t, c = at
    raise ValueError(
        f"X: {_where(i, panel.instance_ids)}, {_channel(panel.channels[c])} "
        f"changes by {changes[i, t, c]:.6g} at time {_time_at(panel, i, t)}: "
        f"{changes[i, t, c] / change_scale[c]:.6g} once divided by the fitted "
        f"change_scale_={change_scale[c]:.6g}, {_BEYOND_FLOAT32}"
    )


def _channel_scaling(panel, scaling):
    """Per-channel centre and scale of a panel's observed values (float64).

    Statistics of the observed values only (NaN and padding are not
    values), per channel. ``scaling="standard"``: the mean and the
    standard deviation (``ddof=0``). ``scaling="robust"``: the median and
    the interquartile range divided by 1.349 (the standard deviation of a
    normal distribution with that range), or the standard deviation where
    the range is 0. A scale of 0 (a constant channel, or one never
    observed, whose centre is 0) becomes 1.

    Returns
    -------
    center, scale : ndarray of shape (n_channels,), float64
    """
    C = panel.n_channels
    observed = panel.values[panel.mask].astype(np.float64)
    channel = np.nonzero(panel.mask)[2]
    count = np.bincount(channel, minlength=C)
    seen = count > 0
    total = np.bincount(channel, weights=observed, minlength=C)
    mean = np.divide(total, count, out=np.zeros(C), where=seen)
    sq = np.bincount(channel, weights=np.square(observed - mean[channel]), minlength=C)
    std = np.sqrt(np.divide(sq, count, out=np.zeros(C), where=seen))
    if scaling == "robust":
        order = np.argsort(channel, kind="stable")
        groups = np.split(observed[order], np.cumsum(count)[:-1])
        for c in np.flatnonzero(seen):
            q1, mean[c], q3 = np.percentile(groups[c], [25, 50, 75])
            if q3 > q1:
                std[c] = (q3 - q1) / 1.349
    return mean, np.where(std > 0, std, 1.0)


def _time_kind(panel):
    """The kind of a panel's timestamps: 'numeric', 'datetime' or 'timedelta'."""
    return _TIME_KINDS[panel.time_kind]


def _median_gap(panel):
    """Median positive gap between consecutive observations (NaN for none)."""
    gaps = np.diff(panel.times, axis=1)
    gaps = gaps[gaps > 0]  # NaN (padding) compares False
    return float(np.median(gaps)) if gaps.size else float("nan")


def record_channels(fitted: object, panel: Panel) -> None:
    """Set ``n_features_in_`` and, for string names, ``feature_names_in_``.

    What :func:`check_channels` later compares a panel with; the fitted
    object's ``feature_names_in_`` is removed when the names are not all
    strings (as scikit-learn does for arrays).
    """
    fitted.n_features_in_ = panel.n_channels  # type: ignore[attr-defined]
    if all(isinstance(c, str) for c in panel.channels):
        fitted.feature_names_in_ = np.asarray(  # type: ignore[attr-defined]
            panel.channels, dtype=object
        )
    elif hasattr(fitted, "feature_names_in_"):
        del fitted.feature_names_in_


def check_channels(panel: Panel, fitted: object) -> None:
    """Check that a panel matches what a model was fitted on.

    The number of channels must match ``fitted.n_features_in_``; when
    ``fitted`` has ``feature_names_in_`` and the panel's channels are all
    strings (column names), the names must match too, in the same order.

    The timestamps are checked against the fitted :class:`PanelEncoder`
    (``fitted`` itself, or its ``encoder_``): they must be of the kind seen
    in ``fit`` (``time_kind_``: numbers, datetimes or timedeltas), and
    a :class:`~sklearn_cfc.exceptions.TimeScaleWarning` is issued when
    their median gap is more than 100 times smaller or larger than the one
    seen in ``fit`` (``dt_median_``; see the Notes of :class:`PanelEncoder`). The
    estimators call this function on every panel they predict on, and on
    the data of a continued fit (``warm_start``, ``partial_fit``).

    Parameters
    ----------
    panel : Panel
    fitted : object
        A fitted model with ``n_features_in_`` (and maybe
        ``feature_names_in_``): a :class:`PanelEncoder`, or an estimator
        with a fitted ``encoder_``. Messages name its class.

    Raises
    ------
    ValueError
        When the channels differ.
    TypeError
        When the timestamps are of another kind than in ``fit``.

    Warns
    -----
    TimeScaleWarning
        When the median gap is far from the one seen in ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_cfc.panel import PanelEncoder, check_channels, to_panel
    >>> enc = PanelEncoder().fit(np.zeros((2, 3, 5)))
    >>> check_channels(to_panel(np.zeros((1, 2, 5))), enc)
    Traceback (most recent call last):
    ...
    ValueError: X has 2 channels, but PanelEncoder is expecting 3 channels as input.
    """
    _check_channel_layout(panel, fitted)
    encoder = fitted
    if not isinstance(fitted, PanelEncoder):
        encoder = getattr(fitted, "encoder_", None)
    if encoder is not None:
        owner = type(fitted).__name__
        _check_time_kind(panel, encoder, owner)
        _check_time_scale(panel, encoder, owner)


def _check_time_kind(panel, encoder, owner):
    """TypeError when the panel's timestamps are of another kind than in fit."""
    fitted = getattr(encoder, "time_kind_", None)  # None: not recorded
    got = _time_kind(panel)
    if fitted is not None and got != fitted:
        raise TypeError(
            f"X has {got} timestamps, but {owner} was fitted on {fitted} "
            "timestamps; pass timestamps of the kind the model was fitted on "
            "(numbers in the same unit, datetimes or timedeltas)."
        )


def _check_time_scale(panel, encoder, owner):
    """TimeScaleWarning when the panel's median gap is far from fit's."""
    fitted = getattr(encoder, "dt_median_", float("nan"))  # NaN: not recorded
    median = _median_gap(panel)
    if np.isnan(fitted) or np.isnan(median):
        return
    if fitted / DT_DRIFT_FACTOR <= median <= fitted * DT_DRIFT_FACTOR:
        return
    unit = "" if panel.time_unit is None else f" (in time_unit={panel.time_unit!r})"
    warnings.warn(
        f"The timestamps of X are on another time scale than in fit: their "
        f"median gap between consecutive observations is {median:.6g}, "
        f"against {fitted:.6g} in fit{unit}, a factor of "
        f"{max(median / fitted, fitted / median):.3g} (more than "
        f"{DT_DRIFT_FACTOR:g}). {owner} sees elapsed times divided by the "
        "time scale learnt in fit, so its predictions shift. Check the unit "
        "of the timestamps (and time_unit).",
        TimeScaleWarning,
        stacklevel=3,
    )


def _check_channel_layout(panel, fitted):
    """ValueError when the channels differ from those of ``fitted``."""
    owner = type(fitted).__name__
    expected = fitted.n_features_in_
    if panel.n_channels != expected:
        k = panel.n_channels
        raise ValueError(
            f"X has {k} channel{'' if k == 1 else 's'}, but {owner} is expecting "
            f"{expected} channel{'' if expected == 1 else 's'} as input."
        )
    names = getattr(fitted, "feature_names_in_", None)
    if (
        names is not None
        and all(isinstance(c, str) for c in panel.channels)
        and list(panel.channels) != list(names)
    ):
        raise ValueError(
            f"X has channels {list(panel.channels)}, but {owner} was fitted "
            f"with channels {list(names)}; they must match, in the same order."
        )


class EncodedPanel(NamedTuple):
    """Arrays ready for a recurrent network, batch-first.

    Padding (steps ``t >= lengths[i]``) is zero in ``inputs`` and ``dt``.

    Attributes
    ----------
    inputs : ndarray of shape (n_instances, n_timepoints, (b + d + k) * n_channels)
        float32: the scaled, forward-filled values (channels
        ``0 .. C-1``), the observation mask as 0/1 (channels ``C .. 2C-1``)
        and, per channel, ``log1p`` of the time since its last observation
        in units of ``dt_scale_`` (channels ``2C .. 3C-1``; 0 when observed
        now, -1 before its first observation): b = 3. With ``differences``
        (d = 1), a block of ``C`` channels with each channel's change since
        its previous observation, divided by ``change_scale_`` (0 where it
        is not observed now or not before). Then one block of ``C`` channels
        for each of the ``k`` running statistics asked for, in the order
        min, max, mean, count (see ``PanelEncoder``). With
        ``fill_ == "linear"``, b = 1: the values, drawn between
        observations, without mask or time since; the changes are those
        from step to step along the drawn values.
    dt : ndarray of shape (n_instances, n_timepoints)
        float32: gap to the previous observation divided by the fitted
        ``dt_scale_``; 0 at the first observation and in the padding.
    lengths : ndarray of shape (n_instances,)
        int64, number of observations.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_cfc.panel import PanelEncoder
    >>> encoded = PanelEncoder().fit_transform([np.arange(4.0), np.arange(2.0)])
    >>> encoded.inputs.shape, encoded.lengths.tolist()
    ((2, 4, 3), [4, 2])
    >>> encoded.take([1]).inputs.shape  # trimmed to the batch's longest
    (1, 2, 3)
    """

    inputs: np.ndarray
    dt: np.ndarray
    lengths: np.ndarray

    def take(self, indices: ArrayLike) -> EncodedPanel:
        """Select instances, trimming the padding to their own longest.

        Parameters
        ----------
        indices : array-like of int

        Returns
        -------
        EncodedPanel
        """
        idx = np.asarray(indices)
        if idx.dtype == np.bool_:
            idx = np.flatnonzero(idx)
        lengths = self.lengths[idx]
        T = int(lengths.max()) if len(lengths) else 0
        return EncodedPanel(self.inputs[idx, :T], self.dt[idx, :T], lengths)


class PanelEncoder(BaseEstimator):
    """Turn a panel into network inputs with statistics learnt in ``fit``.

    ``fit`` learns, on the training data only, the centre and scale of
    each channel (ignoring NaN: mean and standard deviation, or median and
    interquartile range) and the time scale (the median positive gap between
    consecutive observations of an instance).
    ``transform`` then returns, per instance and step, the scaled
    value carried forward from the last observation of each channel, the
    observation mask, the time since each channel was last observed, and the
    gap Δt to the previous observation divided by the time scale (see
    :class:`EncodedPanel`). Knowing how stale each value is helps on sparse
    data (GRU-D, Che et al. 2018): on PhysioNet 2012 it raised the CfC's ROC
    AUC on one fold from 0.839 to 0.846. On dense series put on a time grid
    the grid points between observations are drawn linearly instead, without
    mask and time since (``fill``).

    Before the first observation of a channel its input is 0, i.e. the
    channel mean; the mask tells the network it is not observed.

    With ``running_stats``, each step also carries, per channel, statistics
    of all the channel's observations so far: the minimum, maximum and mean
    of its scaled values and ``log1p`` of their count (0 before the
    first observation). They are causal (a step never sees later values),
    so the network's last state can use the extremes and the amount of
    measurement over the whole series without having to remember them.
    ``transform`` works instance by instance, so encoding a batch equals
    slicing the encoding of the whole panel (up to padding width).

    Parameters
    ----------
    scale : bool, 'standard', 'robust' or 'auto', default=True
        How each channel is scaled, as ``(value - mean_) / scale_``.
        'standard' (or True): by its mean and standard deviation. 'robust':
        by its median and its interquartile range divided by 1.349 (the
        standard deviation, were the values normal), then clipped to
        [-10, 10], so that a few wild values (unit errors, sentinels such as
        -1 or 9999) neither squash the ordinary ones towards 0 nor dominate
        the running statistics. False: no scaling (``mean_`` 0, ``scale_`` 1).
        'auto': 'standard', after compressing each channel whose scale
        differs between instances by orders of magnitude (electrical
        currents of appliances from phone chargers to heaters, case counts
        of small and large countries): where the standard deviations of the
        training instances span more than a factor 1000 (90th percentile over
        10th), every value ``x`` of the channel becomes
        ``asinh(x / compress_[c])`` first, ``compress_[c]`` being that 10th
        percentile. The map is about linear near 0 and logarithmic beyond,
        so the shape of a small series is no longer squashed flat by the
        large ones, and its scale becomes a level the network can read. It
        works on each value alone, so it is causal. Other channels are as
        with 'standard'.
    dt_scale : 'median' or float, default='median'
        Divisor of Δt: 'median' learns the median positive gap between
        consecutive observations in ``fit`` (``dt_median_``; 1.0 when no
        instance has two observations); a positive float is used as is.
        Either way, data whose median gap is more than 100 times smaller or
        larger than ``dt_median_`` gets a
        :class:`~sklearn_cfc.exceptions.TimeScaleWarning` from
        :func:`check_channels` (see Notes).
    running_stats : bool or list of str, default=False
        Append running statistics of each channel: any of ``"min"``,
        ``"max"``, ``"mean"`` and ``"count"``, or True for all four.
    differences : bool, default=False
        Append, per channel, the change of its value since its previous
        observation, divided by the root mean square of those changes in the
        training data (``change_scale_``). Where a series' level varies more
        between instances than its shape within one (spectra, sensor
        drifts), a global scale squashes the shape; the changes restore it,
        causally (a step sees only its own and earlier observations).
    time_grid : "auto", float or None, default=None
        Encode each series on a regular time grid instead of one step per
        observation (:meth:`Panel.on_grid`, in ``fit`` and ``transform``):
        a step every ``time_grid`` time units from the series' first
        observation, steps without an observation carrying the last values
        forward with a zero mask (see ``fill``). "auto" picks the typical
        sampling interval (median over series of span / number of gaps)
        when the gaps of the training data are not all equal and the panel
        is dense (:meth:`Panel.is_dense`), else no grid. None: no grid.
    fill : {"auto", "forward", "linear"}, default="auto"
        What a step without any observation (a grid point between
        observations) holds. "forward": each channel's latest value, next
        to the observation mask and the time since each channel was last
        observed, so that when channels are measured can inform a model
        (health records). "linear": each channel drawn on a line from its
        value at the last step with an observation to its observation at
        the next step that has one (where that step observes it; else its
        latest value), its change (``differences``) taken along that path
        from step to step, and neither mask nor time since among the
        inputs: for series sampled at random times, where the sampling
        pattern is noise a network would memorise. A step depends only on
        observations up to the next step that has one, so a series cut
        after an observation encodes each of its steps as the whole series
        does, except where later observations meet the cut one at its grid
        point. "auto": "linear" for a dense panel (:meth:`Panel.is_dense`)
        on a time grid, else "forward". The choice is ``fill_``.
    time_channel : int or hashable, default=None
        Passed to :func:`to_panel` when ``X`` is not already a
        :class:`Panel`.
    time_unit : str or pd.Timedelta, default='s'
        Passed to :func:`to_panel` when ``X`` is not already a
        :class:`Panel`.

    Attributes
    ----------
    mean_ : ndarray of shape (n_channels,)
        Per-channel centre of the observed training values: their mean, or
        their median when ``scale='robust'`` (0 for a channel never
        observed).
    scale_ : ndarray of shape (n_channels,)
        Per-channel standard deviation, or interquartile range / 1.349 when
        ``scale='robust'`` (then the standard deviation where that range is
        0; 1 where both are 0 or undefined).
    compress_ : ndarray of shape (n_channels,)
        Per channel, the reference ``r`` of the compression
        ``asinh(value / r)`` applied before scaling with ``scale='auto'``,
        0 for a channel left as it is (every channel with another
        ``scale``).
    dt_scale_ : float
        The time scale Δt is divided by.
    dt_median_ : float
        Median positive gap between consecutive observations of an instance
        in the training data, in the panel's time unit (NaN when no
        instance has two observations); the reference of the time-scale
        check (see Notes), whatever ``dt_scale`` is.
    time_kind_ : {'numeric', 'datetime', 'timedelta'}
        The kind of timestamps seen in ``fit``; data of the other kind is
        refused by :meth:`transform` and :func:`check_channels`.
    time_grid_ : float or None
        The grid step used (None: one step per observation).
    fill_ : {"forward", "linear"}
        The ``fill`` used.
    running_stats_ : tuple of str
        The running statistics appended, in their order (empty for none).
    change_scale_ : ndarray of shape (n_channels,)
        Root mean square of each channel's change between consecutive
        observations in the training data (1 where there is none); only with
        ``differences=True``.
    n_features_in_ : int
        Number of channels seen in ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Channel names seen in ``fit``; defined only when they are all
        strings.

    See Also
    --------
    to_panel : The accepted input formats.
    check_channels : Check a panel against a fitted encoder.

    Notes
    -----
    **Time-scale drift.** The network sees every gap divided by
    ``dt_scale_``, so timestamps in another unit than in ``fit`` (numbers
    in milliseconds where ``fit`` had seconds, datetimes where ``fit`` had
    hours as numbers) shift every prediction without failing. Two rules
    guard against it:

    - the kind of timestamps must be the one seen in ``fit``
      (``time_kind_``): numbers, datetimes (naive or timezone-aware) or
      timedeltas (both converted to ``time_unit``); otherwise
      :meth:`transform` and :func:`check_channels` raise a TypeError naming
      both kinds;
    - :func:`check_channels` warns with a
      :class:`~sklearn_cfc.exceptions.TimeScaleWarning`, naming both
      medians, when the median positive gap between consecutive
      observations of the panel (all instances together) lies outside
      ``[dt_median_ / 100, dt_median_ * 100]``. The estimators
      apply it to every panel they predict on, and to the data of a
      continued fit; :meth:`transform`, which they call batch by batch, does
      not repeat it.

    The factor 100 separates what data does from what unit mistakes do.
    Keeping a random share of the observations multiplies the median gap
    by at most about the inverse of that share (2 for half of them), so
    up to 99% may be dropped; shorter or fewer series, or irregular
    sampling, move the median of all gaps by far less. The usual unit
    confusions are factors of 1000 (s, ms, µs and ns between each other),
    3600 (seconds and hours) and 86400 (seconds and days). Confusions by 60
    (seconds and minutes, minutes and hours) or 24 (hours and days) stay
    under the factor; a tighter one would warn on sparse but legitimate
    data.

    **Float32.** The network computes in float32. :meth:`transform` scales
    in float64 and then casts, so only the encoded values must fit float32
    (about 3.4e38 in magnitude): it raises a ValueError naming the
    instance, the channel and the time when a scaled value, a scaled change
    (``differences``) or a gap divided by ``dt_scale_`` does not, as data
    far from the scale seen in ``fit`` can give (values near 1 for a model
    fitted on values near 1e-40, say). It never clips them, except with
    ``scale='robust'``, which clips scaled values and changes to [-10, 10].
    Gaps and the times since each channel's last observation are divided by
    ``dt_scale_`` before the cast, so timestamps only 1e-300 apart encode
    like timestamps 1 apart.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_cfc.panel import PanelEncoder
    >>> X = np.array([[[1.0, np.nan, 3.0, 5.0]], [[3.0, 5.0, np.nan, np.nan]]])
    >>> enc = PanelEncoder().fit(X)
    >>> enc.mean_, enc.scale_, enc.dt_scale_
    (array([3.4]), array([1.4966...]), 1.0)
    >>> out = enc.transform(X)
    >>> out.inputs.shape, out.dt.tolist(), out.lengths.tolist()
    ((2, 3, 3), [[0.0, 2.0, 1.0], [0.0, 1.0, 0.0]], [3, 2])
    >>> out.inputs[1, :, 1]  # mask; the padding step is zero
    array([1., 1., 0.], dtype=float32)
    >>> enc = PanelEncoder(scale=False, running_stats=["max", "count"]).fit(X)
    >>> enc.transform(X).inputs[0, :, 3:].T  # running max, log1p(count)
    array([[1.       , 3.       , 5.       ],
           [0.6931472, 1.0986123, 1.3862944]], dtype=float32)
    >>> enc = PanelEncoder(differences=True).fit(X)
    >>> enc.change_scale_  # changes +2, +2 (first series) and +2 (second)
    array([2.])
    >>> enc.transform(X).inputs[0, :, 3]  # change since the last observation
    array([0., 1., 1.], dtype=float32)
    >>> enc.dt_median_, enc.time_kind_
    (1.0, 'numeric')
    """

    _parameter_constraints: dict = {
        "scale": [SCALE],
        "dt_scale": [DT_SCALE],
        "running_stats": [STATS],
        "differences": ["boolean"],
        "time_grid": [TIME_GRID],
        "fill": [StrOptions({"auto", "forward", "linear"})],
        "time_channel": "no_validation",  # checked by to_panel
        "time_unit": "no_validation",  # checked by to_panel
    }

    def __init__(
        self,
        *,
        scale: Scaling = True,
        dt_scale: DtScale = "median",
        running_stats: RunningStats = False,
        differences: bool = False,
        time_grid: TimeGrid = None,
        fill: Fill = "auto",
        time_channel: Hashable | None = None,
        time_unit: TimeUnitLike = "s",
    ) -> None:
        self.scale = scale
        self.dt_scale = dt_scale
        self.running_stats = running_stats
        self.differences = differences
        self.time_grid = time_grid
        self.fill = fill
        self.time_channel = time_channel
        self.time_unit = time_unit

    time_grid_: float | None  # set in fit

    def _panel(self, X):
        """The panel of ``X``, on the fitted time grid if there is one."""
        panel = to_panel(X, time_channel=self.time_channel, time_unit=self.time_unit)
        step = getattr(self, "time_grid_", None)
        return panel if step is None else _on_grid(panel, step)

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: PanelLike, y: object = None) -> PanelEncoder:
        """Learn per-channel statistics and the time scale.

        Parameters
        ----------
        X : Panel or any format accepted by :func:`to_panel`
        y : ignored

        Returns
        -------
        self : PanelEncoder
        """
        scaling = _scaling(self.scale)
        if hasattr(self, "time_grid_"):
            del self.time_grid_
        panel = self._panel(X)
        # what the time-scale check compares predict's data with: the data
        # as given, before any grid
        self.time_kind_ = _time_kind(panel)
        self.dt_median_ = _median_gap(panel)
        if self.time_grid == "auto":
            self.time_grid_ = _auto_grid(panel)
        else:
            self.time_grid_ = None if self.time_grid is None else float(self.time_grid)
        if self.fill == "auto":
            # dense series on a grid: their sampling is noise to draw across
            dense = self.time_grid_ is not None and panel.is_dense()
            self.fill_ = "linear" if dense else "forward"
        else:
            self.fill_ = self.fill
        if self.time_grid_ is not None:
            panel = _on_grid(panel, self.time_grid_)
        C = panel.n_channels
        self.compress_ = _compression(panel) if self.scale == "auto" else np.zeros(C)
        panel = _compressed(panel, self.compress_)
        if scaling is not None:
            self.mean_, self.scale_ = _channel_scaling(panel, scaling)
        else:
            self.mean_ = np.zeros(C)
            self.scale_ = np.ones(C)
        if self.dt_scale == "median":  # of the steps the network sees
            median = _median_gap(panel)
            self.dt_scale_ = 1.0 if np.isnan(median) else median
        else:
            self.dt_scale_ = float(self.dt_scale)
        self.running_stats_ = _stats(self.running_stats)
        if self.differences:
            linear = self.fill_ == "linear"
            filled, _, seen, _ = _forward_fill(panel)
            shown = _drawn(panel, filled, seen) if linear else filled
            changes = _changes_read(panel, linear, shown, filled)
            seen = np.isfinite(changes)
            count = seen.sum((0, 1))
            square = np.where(seen, np.square(changes), 0.0).sum((0, 1))
            rms = np.sqrt(np.divide(square, count, out=np.zeros(C), where=count > 0))
            self.change_scale_ = np.where(rms > 0, rms, 1.0)
        elif hasattr(self, "change_scale_"):
            del self.change_scale_
        self._clip = ROBUST_CLIP if scaling == "robust" else None
        record_channels(self, panel)
        return self

    def transform(self, X: PanelLike) -> EncodedPanel:
        """Encode a panel for the network.

        Parameters
        ----------
        X : Panel or any format accepted by :func:`to_panel`

        Returns
        -------
        EncodedPanel
            ``inputs`` (n, T, (b + d + k)C) float32 with b = 3 (value,
            mask, time since; 1 with ``fill_ == "linear"``: the value), d = 1
            for ``differences`` and k running statistics,
            ``dt`` (n, T) float32 and ``lengths`` (n,); zeros in the padding.

        Raises
        ------
        ValueError
            When the channels differ from those seen in ``fit``, or when a
            scaled value, change or gap is beyond the float32 range (see
            Notes).
        TypeError
            When the timestamps are of another kind than in ``fit`` (see
            Notes). The time scale is judged by :func:`check_channels`.
        """
        check_is_fitted(self)
        stats = self.running_stats_
        panel = self._panel(X)
        # the channels and the kind of timestamps; not the time scale, which
        # check_channels judges once per panel (estimators transform batches)
        _check_channel_layout(panel, self)
        _check_time_kind(panel, self, type(self).__name__)
        panel = _compressed(panel, getattr(self, "compress_", None))
        n, T, C = panel.values.shape
        mask = panel.mask
        filled, step, seen, times = _forward_fill(panel)
        last_time = np.take_along_axis(times, step, axis=1)
        linear = self.fill_ == "linear"
        # what each step holds: the forward fill, or the values drawn
        shown = _drawn(panel, filled, seen) if linear else filled

        width = (1 if linear else 3) + bool(self.differences) + len(stats)
        inputs = np.empty((n, T, width * C), dtype=np.float32)
        valid = np.arange(T) < panel.lengths[:, None]
        # scaled in float64, then cast: only the results must fit float32
        # (checked, see Notes); the gaps first, as the times since a
        # channel's last observation are sums of them
        dt = np.zeros((n, T), dtype=np.float32)
        if T > 1:
            with np.errstate(over="ignore"):
                gaps = np.diff(panel.times, axis=1) / self.dt_scale_
                dt[:, 1:] = np.where(valid[:, 1:], gaps, 0.0)
            _check_gaps(dt, panel, self.dt_scale_)
        head = inputs[:, :, :C]
        clip = self._clip
        with np.errstate(over="ignore"):
            np.divide(shown - self.mean_, self.scale_, out=head, casting="unsafe")
        if clip is not None:
            np.clip(head, -clip, clip, out=head)
        else:
            _check_values(head, panel, self.mean_, self.scale_)
        # NaN left = no observation yet (step 0 unobserved): input 0 = mean
        np.copyto(head, 0.0, where=np.isnan(shown))
        np.copyto(head, 0.0, where=~valid[:, :, None])  # padding
        start = C
        if not linear:
            inputs[:, :, C : 2 * C] = mask
            since = inputs[:, :, 2 * C : 3 * C]
            elapsed = np.maximum(times - last_time, 0.0)
            np.log1p(elapsed / self.dt_scale_, out=since, casting="unsafe")
            del elapsed
            np.copyto(since, -1.0, where=~seen)
            np.copyto(since, 0.0, where=~valid[:, :, None])  # padding
            start = 3 * C
        if self.differences:
            change = inputs[:, :, start : start + C]
            changes = _changes_read(panel, linear, shown, filled)
            with np.errstate(over="ignore"):
                np.divide(changes, self.change_scale_, out=change, casting="unsafe")
            if clip is not None:
                np.clip(change, -clip, clip, out=change)
            else:
                _check_changes(change, changes, panel, self.change_scale_)
            np.copyto(change, 0.0, where=np.isnan(change))  # padding too
            start += C
        if stats:
            self._running_stats(
                panel, stats, self.mean_, self.scale_, clip, inputs[:, :, start:], valid
            )
        return EncodedPanel(inputs, dt, panel.lengths)

    @staticmethod
    def _running_stats(panel, stats, mean, scale, clip, out, valid):
        """Write each channel's statistics of its observations so far."""
        C = panel.n_channels
        mask = panel.mask
        # scaled observations in float64 (finite in float32: transform
        # checked them), NaN where a channel is not observed
        z = np.where(mask, (panel.values - mean) / scale, np.nan)
        if clip is not None:
            np.clip(z, -clip, clip, out=z)
        count = np.cumsum(mask, axis=1, dtype=np.float32)
        with np.errstate(invalid="ignore"):  # all-NaN prefixes stay NaN
            for k, name in enumerate(stats):
                block = out[:, :, k * C : (k + 1) * C]
                if name == "min":
                    block[...] = np.fmin.accumulate(z, axis=1)
                elif name == "max":
                    block[...] = np.fmax.accumulate(z, axis=1)
                elif name == "mean":  # a float64 sum cannot overflow
                    total = np.cumsum(np.nan_to_num(z), axis=1)
                    np.divide(total, np.maximum(count, 1), out=block, casting="unsafe")
                else:
                    np.log1p(count, out=block)
        # before a channel's first observation, and in the padding: 0
        np.copyto(out, 0.0, where=np.isnan(out))
        np.copyto(out, 0.0, where=~valid[:, :, None])

    def fit_transform(self, X: PanelLike, y: object = None) -> EncodedPanel:
        """Fit, then transform the same data.

        Parameters
        ----------
        X : Panel or any format accepted by :func:`to_panel`
        y : ignored

        Returns
        -------
        EncodedPanel
        """
        panel = to_panel(X, time_channel=self.time_channel, time_unit=self.time_unit)
        return self.fit(panel).transform(panel)

    def inverse_scale(self, values: ArrayLike) -> np.ndarray:
        """Undo the scaling of values laid out ``(..., n_channels)``; not clipping.

        Parameters
        ----------
        values : array-like of shape (..., n_channels)

        Returns
        -------
        ndarray of the same shape
            ``values * scale_ + mean_``, then ``compress_ * sinh(.)`` on the
            channels ``scale='auto'`` compressed.
        """
        check_is_fitted(self)
        values = np.asarray(values)
        C = self.n_features_in_
        if values.ndim == 0 or values.shape[-1] != C:
            raise ValueError(
                f"values must have shape (..., {C}), its last axis one entry per "
                f"channel seen in fit; got shape {values.shape}."
            )
        out = values * self.scale_ + self.mean_
        ref = getattr(self, "compress_", None)
        if ref is not None and np.any(ref > 0):
            out = np.where(ref > 0, np.sinh(out) * ref, out)
        return out
