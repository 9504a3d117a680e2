"""Forecasting windows over a panel of series (private).

A forecasting model reads a *context* (the observations of one series up to
a cutoff) and forecasts the series at later *query* times. This module
turns sktime's forecasting containers into a :class:`Panel`
(:func:`series_to_panel`, built on :func:`to_panel`) and cuts windows out of
it: every cutoff of every series with the observations after it as targets
for training (:func:`training_windows`), or the contexts that end before
requested times for forecasting (:func:`forecast_windows`). Both give a
:class:`ForecastWindows`.

The panel's first ``n_targets`` channels are the forecast variables; any
further channels are covariates (known at the query times). Per window:

- the variables are divided by their series' own scale and taken relative
  to their *level*, the last value observed before the cutoff; targets are
  relative to the level too, so a model forecasts changes;
- within a window, each channel is carried forward from its last
  observation in the window (0 before it, i.e. the level for a variable and
  the mean for a covariate), next to its observation mask;
- Δt is the gap to the previous observation of the series (so the first
  step of a context that starts after the series' start sees its real gap)
  and, for a query, the time from the cutoff's last observation, both
  divided by ``dt_scale``.
"""

from __future__ import annotations

from decimal import Decimal
from numbers import Integral, Real
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import pandas as pd

from ._convert import to_panel
from ._panel import last_observed
from ._time import NUMERIC, TIME_UNITS, index_to_float

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from sklearn_cfc._typing import TimeUnit

    from ._panel import Panel

__all__ = [
    "ForecastWindows",
    "forecast_windows",
    "series_to_panel",
    "training_windows",
]


class ForecastWindows(NamedTuple):
    """Contexts and queries of forecasting windows, batch-first.

    Each window is a context (left-aligned, zero-padded) and the queries
    forecast from its end. Features per step are, in this order: the
    variables (``n_targets``), their observation mask, the covariates
    (``n_covariates``), their mask, and a flag that is 1 at queries (whose
    variables and variable masks are 0) and 0 in contexts.

    Attributes
    ----------
    context : ndarray of shape (n_windows, n_timepoints, n_features)
        float32 context features; ``n_features = 2 * (n_targets +
        n_covariates) + 1``.
    context_dt : ndarray of shape (n_windows, n_timepoints)
        float32, each context step's gap to the series' previous
        observation, in units of ``dt_scale``; 0 at the series' first
        observation and in the padding.
    lengths : ndarray of shape (n_windows,)
        int64, number of context steps (0: an empty context).
    query : ndarray of shape (n_windows, n_queries, n_features)
        float32 query features; zero rows pad windows with fewer queries.
    query_dt : ndarray of shape (n_windows, n_queries)
        float32, time from the context's last observation to each query, in
        units of ``dt_scale``.
    target : ndarray of shape (n_windows, n_queries, n_targets) or None
        float32 values to forecast, relative to the level and scaled; NaN
        where there is nothing to forecast (missing values, padding). None
        for :func:`forecast_windows`.
    level : ndarray of shape (n_windows, n_targets)
        float64 level of each window, in scaled units (0 where a variable
        has not been observed yet).
    instance : ndarray of shape (n_windows,)
        int64, the panel instance (series) of each window.
    position : ndarray of shape (n_windows, n_queries)
        int64, for :func:`forecast_windows` the position of each query in
        the requested times (-1 in the padding); for
        :func:`training_windows` the step of the series it forecasts (-1 in
        the padding).
    """

    context: np.ndarray
    context_dt: np.ndarray
    lengths: np.ndarray
    query: np.ndarray
    query_dt: np.ndarray
    target: np.ndarray | None
    level: np.ndarray
    instance: np.ndarray
    position: np.ndarray

    def __len__(self) -> int:
        return len(self.lengths)

    def take(self, indices: ArrayLike) -> ForecastWindows:
        """Select windows, trimming the contexts to their own longest.

        Parameters
        ----------
        indices : array-like of int

        Returns
        -------
        ForecastWindows
        """
        idx = np.asarray(indices, dtype=np.intp)
        lengths = self.lengths[idx]
        T = max(1, int(lengths.max())) if len(lengths) else 0
        return ForecastWindows(
            context=self.context[idx, :T],
            context_dt=self.context_dt[idx, :T],
            lengths=lengths,
            query=self.query[idx],
            query_dt=self.query_dt[idx],
            target=None if self.target is None else self.target[idx],
            level=self.level[idx],
            instance=self.instance[idx],
            position=self.position[idx],
        )


# -- sktime containers --------------------------------------------------------
def series_to_panel(
    y: pd.DataFrame, X: pd.DataFrame | None = None, *, time_unit: TimeUnit = "ns"
) -> tuple[Panel, list[tuple | None]]:
    """One panel instance per series of a forecasting ``y`` (and its ``X``).

    Parameters
    ----------
    y : pd.DataFrame
        One series (index = time), or several: an ``(instance, time)``
        MultiIndex (sktime ``pd-multiindex``) or more instance levels
        (``pd_multiindex_hier``). Columns are the variables.
    X : pd.DataFrame or None, default=None
        Covariates indexed like ``y``; their values at ``y``'s rows become
        further channels (NaN where ``X`` has no row).
    time_unit : str, default='ns'
        Unit of the panel's times for datetime and timedelta indices (see
        :func:`to_panel`).

    Returns
    -------
    panel : Panel
        Channels: ``y``'s columns, then ``X``'s, by position. Only rows
        where some column of ``y`` is observed are steps.
    keys : list
        For each instance, its series key: the tuple of its instance levels
        (None for a single series).

    Raises
    ------
    TypeError
        If ``y`` or ``X`` is not a DataFrame, or has a column that does not
        hold numbers.
    ValueError
        If ``y`` (or ``X`` at ``y``'s rows) holds an infinite value or one
        beyond the float32 range; the message names ``y`` or ``X``, the
        series, the column and the time. NaN is a missing value. Also if a
        series of ``y`` has a timestamp twice.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from sklearn_cfc.panel import series_to_panel
    >>> y = pd.DataFrame(
    ...     {"v": [1.0, 2.0, np.nan, 4.0, 5.0]},
    ...     index=pd.MultiIndex.from_tuples(
    ...         [("a", 0), ("a", 1), ("a", 2), ("b", 0), ("b", 5)]
    ...     ),
    ... )
    >>> panel, keys = series_to_panel(y)
    >>> keys, panel.lengths.tolist(), panel.times.tolist()
    ([('a',), ('b',)], [2, 2], [[0.0, 1.0], [0.0, 5.0]])
    """
    _check_frame(y, "y")
    index = y.index
    _check_unique_times(index)
    values = y.to_numpy(dtype=np.float64, na_value=np.nan)
    _check_finite(values, index, y.columns, "y")
    if X is not None:
        _check_frame(X, "X")
        x = X.reindex(index).to_numpy(dtype=np.float64, na_value=np.nan)
        _check_finite(x, index, X.columns, "X")
        values = np.concatenate([values, x], axis=1)
    observed = ~np.all(np.isnan(values[:, : y.shape[1]]), axis=1)
    if isinstance(index, pd.MultiIndex):
        if index.nlevels == 2:
            labels = index.get_level_values(0)
        else:
            labels = pd.MultiIndex.from_arrays(
                [index.get_level_values(level) for level in range(index.nlevels - 1)]
            )
        times = index.get_level_values(-1)
        every = pd.unique(labels)
        # instances in the order of their first observation, as to_panel does
        codes, uniques = pd.factorize(labels[observed])
        keys: list[tuple | None] = [
            tuple(k) if isinstance(k, tuple) else (k,) for k in uniques
        ]
        if len(uniques) < len(every):  # a series without any observation
            seen = set(uniques)
            gone = next(k for k in every if k not in seen)
            gone = tuple(gone) if isinstance(gone, tuple) else (gone,)
            raise ValueError(
                f"Series {_name(gone)} has no observed value: all its values are NaN."
            )
    else:
        times = index
        codes = np.zeros(int(observed.sum()), dtype=np.intp)
        keys = [None]
    if not observed.any():
        raise ValueError("y has no observed value: all its values are NaN.")
    frame = pd.DataFrame(
        values[observed],
        index=pd.MultiIndex.from_arrays([codes, times[observed]]),
    )
    return to_panel(frame, time_unit=time_unit), keys


def _check_frame(data, name):
    """TypeError unless ``data`` is a DataFrame of numeric columns."""
    if not isinstance(data, pd.DataFrame):
        hint = " (use .to_frame())" if isinstance(data, pd.Series) else ""
        raise TypeError(
            f"{name} must be a pandas DataFrame, one column per variable; got "
            f"{type(data).__name__}{hint}."
        )
    for position, (column, dtype) in enumerate(data.dtypes.items()):
        if pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
            continue
        what = f"non-numeric dtype {dtype}"
        if pd.api.types.is_object_dtype(dtype):  # numbers (and NaN) are fine
            values = data.iloc[:, position]
            bad = values[values.map(_not_a_number)]
            if not len(bad):
                continue
            what = f"dtype object and holds {_py(bad.iloc[0])!r}, which is not a number"
        raise TypeError(
            f"{name}: column {_py(column)!r} has {what}; {name} must hold "
            "numbers (NaN for missing values)."
        )


def _not_a_number(value):
    """Whether a value is neither a real number (bool excluded) nor missing."""
    if isinstance(value, (bool, np.bool_)):
        return True
    return not isinstance(value, (Real, Decimal)) and not (
        pd.api.types.is_scalar(value) and pd.isna(value)
    )


def _check_unique_times(index):
    """ValueError naming ``y`` and the series when a time appears twice."""
    duplicated = index.duplicated()
    if not duplicated.any():
        return
    label = index[int(np.argmax(duplicated))]
    if isinstance(index, pd.MultiIndex):
        where = f" in series {_name(tuple(label[:-1]))}"
        label = label[-1]
    else:
        where = ""
    raise ValueError(
        f"y has the duplicate timestamp {_py(label)}{where}; the timestamps of "
        "a series must be unique."
    )


def _name(key):
    if key is None:
        return "''"
    return repr(key[0] if len(key) == 1 else key)


_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _check_finite(values, index, columns, name):
    """Refuse infinite values, and values beyond float32, in ``y`` or ``X``.

    ``values`` (n_rows, n_columns) are those of ``name`` at the rows of
    ``index`` (``y``'s); NaN is missing and allowed. The message names the
    series (under a MultiIndex), the column and the time.
    """
    bad = np.abs(values) > _FLOAT32_MAX  # inf too; NaN compares False
    if not bad.any():
        return
    row, col = np.argwhere(bad)[0]
    value = values[row, col]
    label = index[row]
    where = f"column {_py(columns[col])!r}"
    if isinstance(index, pd.MultiIndex):
        where = f"series {_name(tuple(label[:-1]))}, {where}"
        label = label[-1]
    what = "an infinite value" if np.isinf(value) else f"{value:.6g}, beyond float32,"
    raise ValueError(
        f"{name} has {what} in {where} at time {label}; values must be finite "
        "and within the float32 range (about 3.4e38), NaN for missing."
    )


def _py(value):
    """A numpy scalar as the Python value it holds (for messages)."""
    return value.item() if isinstance(value, np.generic) else value


# -- the features -------------------------------------------------------------
class _Series:
    """The panel's instances as scaled, forward-filled per-step arrays."""

    def __init__(
        self, panel, n_targets, dt_scale, scale, covariate_mean, covariate_scale
    ):
        d = n_targets
        values = panel.values.astype(np.float64)
        self.d, self.k = d, panel.n_channels - d
        self.times = panel.times
        self.lengths = panel.lengths
        n, T, _ = values.shape
        values[..., :d] /= np.asarray(scale, dtype=np.float64)[:, None, :]
        if self.k:
            values[..., d:] -= np.asarray(covariate_mean, dtype=np.float64)
            values[..., d:] /= np.asarray(covariate_scale, dtype=np.float64)
        self.scaled = values  # NaN: missing or padding
        self.mask = panel.mask
        # per channel, the step of its last observation so far (-1: none yet)
        last = last_observed(panel.mask)
        self.last = last
        filled = np.take_along_axis(values, np.maximum(last, 0), axis=1)
        filled[last < 0] = np.nan
        self.filled = filled
        gaps = np.zeros((n, T))
        if T > 1:
            gaps[:, 1:] = np.diff(panel.times, axis=1) / dt_scale
        self.gaps = gaps
        self.dt_scale = dt_scale

    def level(self, instance, end):
        """Each window's level: the last values observed before ``end``."""
        return np.nan_to_num(self.filled[instance, np.maximum(end - 1, 0), : self.d])

    def features(self, instance, steps, valid, since, level, query):
        """Step features: [variables, mask, covariates, mask, query flag].

        ``steps`` (n_windows, W) are steps of each window's series, valid
        where ``valid``; values are carried forward from observations at or
        after step ``since`` (n_windows,) only.
        """
        d = self.d
        inst = instance[:, None]
        steps = np.where(valid, steps, 0)
        fresh = self.last[inst, steps] >= since[:, None, None]
        filled = self.filled[inst, steps]
        parts = []
        if query:
            zeros = np.zeros((*steps.shape, d))
            parts += [zeros, zeros]
        else:
            relative = filled[..., :d] - level[:, None, :]
            parts += [
                np.where(fresh[..., :d], relative, 0.0),
                self.mask[inst, steps, :d],
            ]
        if self.k:
            parts += [
                np.where(fresh[..., d:], filled[..., d:], 0.0),
                self.mask[inst, steps, d:],
            ]
        parts.append(np.full((*steps.shape, 1), float(query)))
        out = np.concatenate(parts, axis=-1).astype(np.float32)
        out[~valid] = 0.0
        return out

    def contexts(self, instance, end, context_length):
        """Contexts of the observations before ``end``, at most ``context_length``."""
        start = np.maximum(end - context_length, 0)
        lengths = (end - start).astype(np.int64)
        W = max(1, int(lengths.max()))
        steps = start[:, None] + np.arange(W)
        valid = np.arange(W) < lengths[:, None]
        level = self.level(instance, end)
        context = self.features(instance, steps, valid, start, level, query=False)
        dt = np.where(valid, self.gaps[instance[:, None], np.where(valid, steps, 0)], 0)
        return context, dt.astype(np.float32), lengths, level


def _check_positive_int(value, name):
    if not isinstance(value, Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r} instead.")


def _check_windows_args(panel, n_targets, dt_scale, scale, context_length):
    _check_positive_int(context_length, "context_length")
    if not 0 < n_targets <= panel.n_channels:
        raise ValueError(
            f"n_targets must be in [1, {panel.n_channels}] for a panel with "
            f"{panel.n_channels} channels; got {n_targets}."
        )
    if not dt_scale > 0:
        raise ValueError(f"dt_scale must be positive; got {dt_scale}.")
    if np.shape(scale) != (len(panel), n_targets):
        raise ValueError(
            f"scale must have shape ({len(panel)}, {n_targets}), one row per "
            f"instance; got {np.shape(scale)}."
        )


def training_windows(
    panel: Panel,
    *,
    n_targets: int,
    context_length: int,
    horizon: int,
    dt_scale: float = 1.0,
    scale: ArrayLike | None = None,
    covariate_mean: ArrayLike | None = None,
    covariate_scale: ArrayLike | None = None,
) -> ForecastWindows:
    """Every cutoff of every series: a context and the observations after it.

    For each instance and each cutoff ``c`` in ``1 .. length - 1``, the
    context is the (at most ``context_length``) observations before step
    ``c`` and the targets are the variables at steps ``c .. c + horizon -
    1`` (fewer at the end of a series), relative to the level at ``c - 1``.
    Query features carry the covariates at those steps.

    Parameters
    ----------
    panel : Panel
        The series; its first ``n_targets`` channels are the variables.
    n_targets : int
        Number of variables (the rest of the channels are covariates).
    context_length : int
        Most context steps, at least 1.
    horizon : int
        Most targets per window, at least 1.
    dt_scale : float, default=1.0
        Divisor of every time difference.
    scale : array-like of shape (n_instances, n_targets), default=None
        Each series' divisor of its variables; None: 1.
    covariate_mean, covariate_scale : array-like of shape (n_covariates,)
        Covariates are fed as ``(value - mean) / scale``; None: 0 and 1.

    Returns
    -------
    ForecastWindows
        ``sum(lengths - 1)`` windows, instance after instance, cutoff after
        cutoff, with ``horizon`` queries each.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_cfc.panel import to_panel, training_windows
    >>> panel = to_panel([np.array([1.0, 2.0, 4.0, 7.0])])
    >>> w = training_windows(panel, n_targets=1, context_length=2, horizon=2)
    >>> w.lengths.tolist(), w.target[..., 0].tolist()
    ([1, 2, 2], [[1.0, 3.0], [2.0, 5.0], [3.0, nan]])
    >>> w.context[1, :, 0].tolist()  # relative to the level 2.0
    [-1.0, 0.0]
    """
    d = n_targets
    scale = np.ones((len(panel), d)) if scale is None else np.asarray(scale)
    _check_windows_args(panel, d, dt_scale, scale, context_length)
    _check_positive_int(horizon, "horizon")
    k = panel.n_channels - d
    series = _Series(
        panel,
        d,
        dt_scale,
        scale,
        np.zeros(k) if covariate_mean is None else covariate_mean,
        np.ones(k) if covariate_scale is None else covariate_scale,
    )
    lengths = panel.lengths
    instance = np.repeat(np.arange(len(panel)), np.maximum(lengths - 1, 0))
    first = np.zeros(len(panel), dtype=np.int64)
    np.cumsum(np.maximum(lengths - 1, 0)[:-1], out=first[1:])
    cutoff = np.arange(len(instance)) - first[instance] + 1
    if not len(instance):
        raise ValueError("No instance has 2 observations: there is no window.")
    context, context_dt, ctx_lengths, level = series.contexts(
        instance, cutoff, context_length
    )
    steps = cutoff[:, None] + np.arange(horizon)
    valid = steps < lengths[instance][:, None]
    query = series.features(instance, steps, valid, cutoff, level, query=True)
    inst = instance[:, None]
    safe = np.where(valid, steps, 0)
    last_time = series.times[instance, cutoff - 1]
    query_dt = (series.times[inst, safe] - last_time[:, None]) / dt_scale
    query_dt = np.where(valid, query_dt, 0.0).astype(np.float32)
    target = series.scaled[inst, safe, :d] - level[:, None, :]
    target[~valid] = np.nan
    return ForecastWindows(
        context=context,
        context_dt=context_dt,
        lengths=ctx_lengths,
        query=query,
        query_dt=query_dt,
        target=target.astype(np.float32),
        level=level,
        instance=instance.astype(np.int64),
        position=np.where(valid, steps, -1).astype(np.int64),
    )


def forecast_windows(
    panel: Panel,
    times: pd.Index | ArrayLike,
    *,
    n_targets: int,
    context_length: int,
    dt_scale: float = 1.0,
    scale: ArrayLike | None = None,
    covariates: ArrayLike | None = None,
    covariate_mean: ArrayLike | None = None,
    covariate_scale: ArrayLike | None = None,
) -> ForecastWindows:
    """The windows that forecast every series at the given times.

    Times after a series' last observation are forecast together, from the
    context of its last ``context_length`` observations. Every other time is
    forecast alone, from the observations strictly before it (one step
    ahead); a time at or before the series' first observation has an empty
    context and the level of that first observation.

    Parameters
    ----------
    panel : Panel
        The series; its first ``n_targets`` channels are the variables.
    times : pd.Index or array-like of shape (n_times,)
        The times to forecast at, unique; numbers, or datetimes and
        timedeltas (converted to the panel's ``time_unit``).
    n_targets : int
        Number of variables (the rest of the channels are covariates).
    context_length : int
        Most context steps, at least 1.
    dt_scale : float, default=1.0
        Divisor of every time difference.
    scale : array-like of shape (n_instances, n_targets), default=None
        Each series' divisor of its variables; None: 1.
    covariates : array-like of shape (n_instances, n_times, n_covariates)
        The covariates at the forecast times (finite); required when the
        panel has covariates.
    covariate_mean, covariate_scale : array-like of shape (n_covariates,)
        Covariates are fed as ``(value - mean) / scale``; None: 0 and 1.

    Returns
    -------
    ForecastWindows
        ``position`` says which of ``times`` each query forecasts.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_cfc.panel import forecast_windows, to_panel
    >>> panel = to_panel([np.array([1.0, 2.0, 4.0])])
    >>> w = forecast_windows(panel, [1, 3, 4], n_targets=1, context_length=8)
    >>> w.lengths.tolist(), w.position.tolist(), w.query_dt.tolist()
    ([3, 1], [[1, 2], [0, -1]], [[1.0, 2.0], [1.0, 0.0]])
    """
    d = n_targets
    scale = np.ones((len(panel), d)) if scale is None else np.asarray(scale)
    _check_windows_args(panel, d, dt_scale, scale, context_length)
    k = panel.n_channels - d
    wanted = _times(times, panel)
    if not np.isfinite(wanted).all():
        at = int(np.argmax(~np.isfinite(wanted)))
        raise ValueError(
            "The forecast times must be finite (no NaN, NaT or inf); got "
            f"{wanted[at]} at position {at}."
        )
    order = np.argsort(wanted, kind="stable")
    sorted_times = wanted[order]
    if np.any(np.diff(sorted_times) <= 0):
        raise ValueError("The forecast times contain duplicates.")
    if k and covariates is None:
        raise ValueError("The panel has covariates: pass their values at the times.")
    series = _Series(
        panel,
        d,
        dt_scale,
        scale,
        np.zeros(k) if covariate_mean is None else covariate_mean,
        np.ones(k) if covariate_scale is None else covariate_scale,
    )
    jobs = []  # (instance, context end, positions in sorted times)
    for i, n in enumerate(panel.lengths.tolist()):
        ends = np.searchsorted(panel.times[i, :n], sorted_times, side="left")
        future = np.flatnonzero(ends == n)
        if len(future):
            jobs.append((i, n, future))
        jobs += [(i, int(ends[q]), np.array([q])) for q in np.flatnonzero(ends < n)]
    instance = np.array([i for i, _, _ in jobs], dtype=np.int64)
    end = np.array([e for _, e, _ in jobs], dtype=np.int64)
    context, context_dt, lengths, level = series.contexts(instance, end, context_length)
    Q = max(len(q) for _, _, q in jobs)
    sorted_pos = np.full((len(jobs), Q), -1, dtype=np.int64)
    for w, (_, _, q) in enumerate(jobs):
        sorted_pos[w, : len(q)] = q
    valid = sorted_pos >= 0
    qt = sorted_times[np.maximum(sorted_pos, 0)]
    last = np.where(end > 0, series.times[instance, np.maximum(end - 1, 0)], qt[:, 0])
    query_dt = np.where(valid, (qt - last[:, None]) / dt_scale, 0.0)
    position = np.where(valid, order[np.maximum(sorted_pos, 0)], -1)
    parts = [np.zeros((len(jobs), Q, 2 * d))]
    if k:
        x = np.asarray(covariates, dtype=np.float64)
        x = x[instance[:, None], np.maximum(position, 0)]
        x = (x - np.asarray(covariate_mean)) / np.asarray(covariate_scale)
        parts += [np.where(valid[..., None], x, 0.0), valid[..., None] * np.ones(k)]
    parts.append(valid[..., None].astype(np.float64))
    query = np.concatenate(parts, axis=-1).astype(np.float32)
    return ForecastWindows(
        context=context,
        context_dt=context_dt,
        lengths=lengths,
        query=query,
        query_dt=query_dt.astype(np.float32),
        target=None,
        level=level,
        instance=instance,
        position=position.astype(np.int64),
    )


def _times(times, panel):
    """Float times in the panel's unit; a TypeError for another kind."""
    unit = panel.time_unit
    unit_ns = (
        1.0 if unit is None else TIME_UNITS.get(unit) or float(pd.Timedelta(unit).value)
    )
    if not isinstance(times, (pd.Index, np.ndarray)):
        times = np.asarray(times)
    values, kind = index_to_float(times, unit_ns)
    if (kind == NUMERIC) != (unit is None):
        have = "numeric" if unit is None else "datetime or timedelta"
        raise TypeError(
            f"The forecast times are {kind} timestamps, but the series have "
            f"{have} timestamps."
        )
    return values
