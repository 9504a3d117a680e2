"""Every accepted input format to one validated :class:`Panel` (private).

Each format is first reduced to a *flat* layout: one ``(N, C)`` float32
block of rows (observations of all instances, instance after instance),
one ``(N,)`` float64 vector of timestamps and the number of rows of each
instance. :func:`_assemble` then validates and pads it, with vectorised
numpy only, so that the cost per instance stays small.
"""

from __future__ import annotations

import warnings
from numbers import Integral
from operator import attrgetter
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.utils._set_output import _get_output_config

from ._panel import Panel
from ._time import NUMERIC, check_time_unit, format_time, index_to_float

if TYPE_CHECKING:
    from collections.abc import Hashable

    from numpy.typing import ArrayLike

    from sklearn_cfc._typing import PanelFormat, PanelLike, TimeUnitLike

__all__ = ["check_y_length", "count_instances", "input_format", "to_panel"]


# -- labels for messages ------------------------------------------------------
def _py(value):
    return value.item() if isinstance(value, np.generic) else value


def _where(i, ids=None):
    """'instance 3' or 'instance 3 (id 'a')'."""
    if ids is None:
        return f"instance {i}"
    return f"instance {i} (id {_py(ids[i])!r})"


def _count(k, noun):
    return f"{k} {noun}" if k == 1 else f"{k} {noun}s"


def _channel(name):
    name = _py(name)
    return f"channel {name!r}" if isinstance(name, str) else f"channel {name}"


# -- the common core ----------------------------------------------------------
def _assemble(
    values, times, lengths, *, channels, ids, kind, unit, unit_ns, row_times=None
):
    """Validate and pad a flat panel.

    Parameters
    ----------
    values : ndarray of shape (N, C), float32, any memory layout
    times : ndarray of shape (N,), float64, or None with ``row_times``
    lengths : ndarray of shape (n,), int64, rows per instance (sum N)
    row_times : ndarray of shape (T,), optional
        Set when every instance has the same T rows at these times; spares
        materialising and checking ``n * T`` timestamps.
    """
    n = len(lengths)
    if n == 0:
        raise ValueError("X contains no instances; at least one is required.")
    empty = np.flatnonzero(lengths == 0)
    if len(empty):
        raise ValueError(f"{_where(empty[0], ids)} is empty: it has no rows.")
    starts = np.zeros(n, dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])

    finite = np.isfinite(values)
    observed = None
    if not finite.all():
        inf = np.isinf(values)
        if inf.any():
            row, col = np.unravel_index(np.argmax(inf), inf.shape)
            i = int(np.searchsorted(starts, row, side="right") - 1)
            if times is None:
                times = np.tile(row_times, n)
            raise ValueError(
                f"{_where(i, ids)}, {_channel(channels[col])} has an infinite "
                f"value at time {format_time(times[row], kind, unit_ns)}; values "
                "must be finite (and within the float32 range), NaN for missing."
            )
        observed = finite.any(axis=1)
        if observed.all():
            observed = None

    if observed is None and row_times is not None:
        # every instance has the same times: check them once, share them
        _check_times(row_times, np.zeros(1, np.int64), lengths[:1], ids, kind, unit_ns)
        T = len(row_times)
        return _panel(
            values.reshape(n, T, -1),
            np.broadcast_to(row_times, (n, T)),
            finite.reshape(n, T, -1),
            lengths,
            channels,
            ids,
            kind,
            unit,
        )
    if times is None:
        times = np.tile(row_times, n)
    if observed is not None:
        new_lengths = np.add.reduceat(observed, starts).astype(np.int64)
        gone = np.flatnonzero(new_lengths == 0)
        if len(gone):
            raise ValueError(
                f"{_where(gone[0], ids)} has no observed value: all its values are NaN."
            )
        values, times, finite = values[observed], times[observed], finite[observed]
        lengths = new_lengths
        np.cumsum(lengths[:-1], out=starts[1:])

    _check_times(times, starts, lengths, ids, kind, unit_ns)

    n_rows, n_channels = values.shape
    T = int(lengths.max())
    if n_rows == n * T:  # every instance has T observations: no padding
        values = values.reshape(n, T, n_channels)
        mask = finite.reshape(n, T, n_channels)
        times = times.reshape(n, T)
    else:
        inst = np.repeat(np.arange(n), lengths)
        pos = np.arange(n_rows) - np.repeat(starts, lengths)
        out_v = np.full((n, T, n_channels), np.nan, dtype=np.float32)
        out_v[inst, pos] = values
        out_m = np.zeros((n, T, n_channels), dtype=bool)
        out_m[inst, pos] = finite
        out_t = np.full((n, T), np.nan)
        out_t[inst, pos] = times
        values, mask, times = out_v, out_m, out_t
    return _panel(values, times, mask, lengths, channels, ids, kind, unit)


def _panel(values, times, mask, lengths, channels, ids, kind, unit):
    return Panel(
        values=values,
        times=times,
        mask=mask,
        lengths=lengths.astype(np.int64, copy=False),
        channels=tuple(_py(c) for c in channels),
        instance_ids=ids,
        time_unit=None if kind == NUMERIC else unit,
        time_kind=kind,
    )


def _check_times(times, starts, lengths, ids, kind, unit_ns):
    bad = ~np.isfinite(times)
    if bad.any():
        row = int(np.argmax(bad))
        i = int(np.searchsorted(starts, row, side="right") - 1)
        raise ValueError(
            f"{_where(i, ids)} has a missing or infinite timestamp "
            f"({format_time(times[row], kind, unit_ns)}) at an observed step "
            f"(row {row - starts[i]} of the instance)."
        )
    if len(times) < 2:
        return
    step = np.diff(times)
    wrong = step <= 0
    wrong[starts[1:] - 1] = False  # the first row of each instance
    if wrong.any():
        row = int(np.argmax(wrong))
        i = int(np.searchsorted(starts, row, side="right") - 1)
        prev = format_time(times[row], kind, unit_ns)
        cur = format_time(times[row + 1], kind, unit_ns)
        if step[row] == 0:
            raise ValueError(
                f"{_where(i, ids)} has the duplicate timestamp {cur}; timestamps "
                "must be unique within an instance (aggregate repeated "
                "observations, e.g. with from_long(..., agg='mean'))."
            )
        raise ValueError(
            f"{_where(i, ids)} has decreasing timestamps: {cur} follows {prev}; "
            "sort each instance by time."
        )


class _KindTracker:
    """Checks that all instances share one kind of timestamp."""

    def __init__(self, ids=None):
        self.kind = None
        self.first = None
        self.ids = ids

    def __call__(self, kind, i):
        if self.kind is None:
            self.kind, self.first = kind, i
        elif kind != self.kind:
            raise TypeError(
                f"{_where(i, self.ids)} has {kind} timestamps, but "
                f"{_where(self.first, self.ids)} has {self.kind} timestamps; "
                "use one kind of timestamp for all instances."
            )


def _to_float32(block):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # overflow: caught later
        return np.ascontiguousarray(block, dtype=np.float32)


# -- numpy --------------------------------------------------------------------
def _check_numeric_array(arr, what):
    if arr.dtype.kind == "c":
        raise ValueError(
            f"Complex data not supported: {what} has dtype {arr.dtype}; expected "
            "real numbers (use NaN for missing values)."
        )
    if arr.dtype.kind not in "biuf":
        raise TypeError(
            f"{what} has dtype {arr.dtype}; expected numbers (use NaN for missing "
            "values)."
        )


def _numeric_object_array(X):
    """An object array of numbers as floats; a clear TypeError otherwise."""
    try:
        return X.astype(np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"X has dtype object and holds a value that is not a number: {err}"
        ) from None


def _from_numpy(X, time_channel, unit, unit_ns):
    X = np.asarray(X)
    if X.dtype == object:
        X = _numeric_object_array(X)
    shape = X.shape
    if X.ndim == 2:
        if time_channel is not None:
            raise ValueError(
                "time_channel is not supported for 2D numpy input (one univariate "
                "series per row); pass a 3D array (n_instances, n_channels, "
                "n_timepoints) with the timestamps in one channel."
            )
        X = X[:, None, :]
    elif X.ndim != 3:
        hint = (
            " Reshape your data: X.reshape(1, -1) makes one univariate series."
            if X.ndim == 1
            else ""
        )
        raise ValueError(
            f"numpy X must be 3D (n_instances, n_channels, n_timepoints) or 2D "
            f"(n_instances, n_timepoints); got an array of shape {X.shape}.{hint}"
        )
    _check_numeric_array(X, "X")
    n, C, T = X.shape
    if T == 0:
        raise ValueError(
            f"X has no time points: found array with 0 feature(s) (shape={shape}) "
            "while a minimum of 1 is required."
        )
    channels = list(range(C))
    times = row_times = None
    if time_channel is not None:
        tc = _numpy_time_channel(time_channel, C)
        times = X[:, tc, :].astype(np.float64).ravel()
        X = np.delete(X, tc, axis=1)
        del channels[tc]
    else:
        row_times = np.arange(T, dtype=np.float64)
    if not channels:
        raise ValueError(f"X has no value channels (shape {X.shape}).")
    values = _to_float32(X.transpose(0, 2, 1)).reshape(n * T, len(channels))
    lengths = np.full(n, T, dtype=np.int64)
    return _assemble(
        values,
        times,
        lengths,
        channels=channels,
        ids=None,
        kind=NUMERIC,
        unit=unit,
        unit_ns=unit_ns,
        row_times=row_times,
    )


def _from_wide(X, time_channel, unit, unit_ns):
    """A flat DataFrame as sktime's ``pd-wide``: a univariate series per row.

    The columns are the time points; their labels are the timestamps when
    they are numbers, datetimes or timedeltas, else time is the step index.
    """
    if time_channel is not None:
        raise ValueError(
            "time_channel is not supported for a wide DataFrame (one univariate "
            "series per row, columns = time points); pass a list of per-instance "
            "DataFrames indexed by time instead."
        )
    bad = _non_numeric_column(X)
    if bad is not None:
        raise TypeError(
            f"X: column {_py(bad[0])!r} has non-numeric dtype {bad[1]}; a wide "
            "DataFrame holds one univariate series per row and must hold numbers "
            "(NaN for missing values)."
        )
    n, T = X.shape
    if T == 0:
        raise ValueError(
            f"X has no time points: found array with 0 feature(s) (shape={X.shape}) "
            "while a minimum of 1 is required."
        )
    try:
        row_times, kind = index_to_float(X.columns, unit_ns)
    except TypeError:  # labels that are not times (e.g. names): step index
        row_times, kind = np.arange(T, dtype=np.float64), NUMERIC
    ids = None if isinstance(X.index, pd.RangeIndex) else X.index.to_numpy()
    values = _to_float32(X.to_numpy(dtype=np.float64, na_value=np.nan))
    return _assemble(
        values.reshape(n * T, 1),
        None,
        np.full(n, T, dtype=np.int64),
        channels=[0],
        ids=ids,
        kind=kind,
        unit=unit,
        unit_ns=unit_ns,
        row_times=row_times,
    )


def _numpy_time_channel(time_channel, n_channels):
    if not isinstance(time_channel, Integral) or isinstance(time_channel, bool):
        raise TypeError(
            f"time_channel must be an integer channel position for numpy input; "
            f"got {time_channel!r}."
        )
    time_channel = int(time_channel)
    if not 0 <= time_channel < n_channels:
        raise ValueError(
            f"time_channel={time_channel} is out of range for X with "
            f"{n_channels} channels."
        )
    return int(time_channel)


# -- lists --------------------------------------------------------------------
def _from_list(X, time_channel, unit, unit_ns, ids=None):
    if len(X) == 0:
        raise ValueError("X contains no instances; at least one is required.")
    first = X[0]
    if isinstance(first, (pd.DataFrame, pd.Series)):
        return _from_frames(X, time_channel, unit, unit_ns, ids)
    if isinstance(first, np.ndarray):
        return _from_arrays(X, time_channel, unit, unit_ns)
    try:  # nested Python lists of numbers: an array-like
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            arr = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError):
        if all(np.ndim(x) >= 1 for x in X):
            return _from_arrays([np.asarray(x) for x in X], time_channel, unit, unit_ns)
        raise TypeError(
            "A list X must hold pandas DataFrames, Series or 2D numpy arrays "
            f"(one per instance); instance 0 is a {type(first).__name__}."
        ) from None
    return _from_numpy(arr, time_channel, unit, unit_ns)


def _from_arrays(X, time_channel, unit, unit_ns):
    n = len(X)
    blocks, tparts, lengths = [], [], np.empty(n, dtype=np.int64)
    n_channels = None
    for i, a in enumerate(X):
        if not isinstance(a, np.ndarray):
            raise TypeError(
                f"{_where(i)} is a {type(a).__name__}, but instance 0 is a numpy "
                "array; all instances must have the same type."
            )
        if a.ndim == 1:
            a = a[None, :]
        elif a.ndim != 2:
            raise ValueError(
                f"{_where(i)} is an array of shape {a.shape}; each instance must "
                "be 2D (n_channels, n_timepoints) or 1D (n_timepoints,)."
            )
        _check_numeric_array(a, _where(i))
        if n_channels is None:
            n_channels = a.shape[0]
            if time_channel is not None:
                tc = _numpy_time_channel(time_channel, n_channels)
        elif a.shape[0] != n_channels:
            raise ValueError(
                f"{_where(i)} has {_count(a.shape[0], 'channel')}, but instance 0 "
                f"has {n_channels}; every instance must have the same channels."
            )
        if time_channel is not None:
            tparts.append(a[tc].astype(np.float64))
            a = np.delete(a, tc, axis=0)
        lengths[i] = a.shape[1]
        blocks.append(a.T)
    assert n_channels is not None  # X has at least one instance
    channels = list(range(n_channels))
    times = row_times = None
    if time_channel is not None:
        del channels[tc]
        times = np.concatenate(tparts)
    elif (lengths == lengths[0]).all():
        row_times = np.arange(lengths[0], dtype=np.float64)
    else:
        times = _step_times(lengths)
    if not channels:
        raise ValueError("X has no value channels besides the time channel.")
    values = _to_float32_concat(blocks)
    return _assemble(
        values,
        times,
        lengths,
        channels=channels,
        ids=None,
        kind=NUMERIC,
        unit=unit,
        unit_ns=unit_ns,
        row_times=row_times,
    )


def _step_times(lengths, start=None, step=None):
    """Concatenated ``start + step * arange(L)`` for each instance."""
    n_rows = int(lengths.sum())
    first = np.zeros(len(lengths), dtype=np.int64)
    np.cumsum(lengths[:-1], out=first[1:])
    pos = np.arange(n_rows, dtype=np.float64) - np.repeat(first, lengths)
    if start is None:
        return pos
    return np.repeat(start, lengths) + np.repeat(step, lengths) * pos


def _non_numeric_column(df):
    for name, dtype in df.dtypes.items():
        if not (
            pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)
        ):
            return name, dtype
    return None


def _frame_block(df, where):
    """(rows, channels) float array of one frame; raises on non-numbers."""
    a = df.to_numpy()
    if a.dtype.kind in "biuf":
        return a
    bad = _non_numeric_column(df)
    if bad is not None:
        raise TypeError(
            f"{where}: column {_py(bad[0])!r} has non-numeric dtype {bad[1]}; X "
            "must hold numbers (NaN for missing values). Convert or drop it."
        )
    return df.to_numpy(dtype=np.float64, na_value=np.nan)  # nullable dtypes


def _frame_instance(df, i, ids, first, cols0, time_channel):
    """Checks and unpacks one instance that is not a plain DataFrame (or has a
    time channel): returns the frame of values and its timestamps."""
    if isinstance(df, pd.Series):
        if cols0 is not None:
            raise TypeError(
                f"{_where(i, ids)} is a Series, but instance 0 is a DataFrame; "
                "all instances must have the same type."
            )
        if time_channel is not None:
            raise ValueError("time_channel needs DataFrame instances, not Series.")
        return df.to_frame(), df.index
    if not isinstance(df, pd.DataFrame):
        raise TypeError(
            f"{_where(i, ids)} is a {type(df).__name__}, but instance 0 is a "
            f"{type(first).__name__}; all instances must have the same type."
        )
    if cols0 is None:
        raise TypeError(
            f"{_where(i, ids)} is a DataFrame, but instance 0 is a Series; "
            "all instances must have the same type."
        )
    index = df.index
    if time_channel is not None:
        if time_channel not in df.columns:
            raise ValueError(
                f"time_channel={time_channel!r} is not a column of {_where(i, ids)}."
            )
        index = df[time_channel]
        df = df.drop(columns=time_channel)
    if not df.columns.equals(cols0):
        df = _align_columns(df, cols0, i, ids)
    return df, index


def _check_frame_columns(X, names, cols0, blocks, ids):
    """Every frame must have the columns of the first (reordered if needed)."""
    names0 = np.asarray(cols0)
    C = len(names0)
    stacked = np.concatenate(names)
    if len(stacked) == len(names) * C:
        suspect = (stacked.reshape(len(names), C) != names0).any(axis=1)
    else:
        widths = np.fromiter(map(len, names), dtype=np.int64, count=len(names))
        suspect = widths != C
    for i in np.flatnonzero(suspect).tolist():
        df = _align_columns(X[i], cols0, i, ids)  # raises unless only reordered
        blocks[i] = _frame_block(df, _where(i, ids))


def _from_frames(X, time_channel, unit, unit_ns, ids=None):
    first = X[0]
    cols0 = first.columns if isinstance(first, pd.DataFrame) else None
    if cols0 is not None and time_channel is not None:
        if time_channel not in cols0:
            raise ValueError(
                f"time_channel={time_channel!r} is not a column of "
                f"{_where(0, ids)}; its columns are {list(cols0)}."
            )
        cols0 = cols0.drop(time_channel)
    if cols0 is not None and cols0.has_duplicates:
        raise ValueError(
            f"{_where(0, ids)} has duplicate column names "
            f"{list(cols0[cols0.duplicated()])}; channels need unique names."
        )
    names0 = list(cols0) if cols0 is not None else None

    # pass 1, the hot part: one block of values and one index per instance;
    # column names are gathered here and compared in one vectorised step
    frame_type = pd.DataFrame
    if time_channel is None and cols0 is not None and set(map(type, X)) == {frame_type}:
        blocks = [df.values for df in X]
        indexes = [df.index for df in X]
        # .values.__array__(): the names as an ndarray, at half the cost of
        # np.asarray(df.columns) for pandas string indexes
        names = [df.columns.values.__array__() for df in X]
        _check_frame_columns(X, names, cols0, blocks, ids)
        if not {dtype.kind for dtype in set(map(attrgetter("dtype"), blocks))} <= set(
            "biuf"
        ):
            for i, a in enumerate(blocks):
                if a.dtype.kind not in "biuf":
                    blocks[i] = _frame_block(X[i], _where(i, ids))
    else:
        blocks, indexes = [], []
        for i, df in enumerate(X):
            df, index = _frame_instance(df, i, ids, first, cols0, time_channel)
            blocks.append(_frame_block(df, _where(i, ids)))
            indexes.append(index)
    lengths = np.fromiter(map(len, blocks), dtype=np.int64, count=len(blocks))

    # pass 2: timestamps; a RangeIndex is only a start and a step
    range_type = pd.RangeIndex
    n = len(indexes)
    irregular, tparts = [], []
    track = _KindTracker(ids)
    if set(map(type, indexes)) == {range_type}:
        track(NUMERIC, 0)
        spans = {(ix.start, ix.step) for ix in indexes}
        if len(spans) == 1:
            start, step = spans.pop()
            rstart, rstep = np.full(n, float(start)), np.full(n, float(step))
        else:
            rstart = np.array([ix.start for ix in indexes], dtype=np.float64)
            rstep = np.array([ix.step for ix in indexes], dtype=np.float64)
    else:
        rstart, rstep = np.zeros(n), np.ones(n)
        kind0 = None
        for i, index in enumerate(indexes):
            if type(index) is range_type:
                kind = NUMERIC
                rstart[i], rstep[i] = index.start, index.step
            else:
                try:
                    t, kind = index_to_float(index, unit_ns)
                except TypeError as exc:
                    raise TypeError(f"{_where(i, ids)}: {exc}.") from None
                rstart[i] = np.nan
                irregular.append(i)
                tparts.append(t)
            if kind is not kind0:
                track(kind, i)
                kind0 = kind

    channels = names0 if names0 is not None else [_py(first.name) or 0]
    if not channels:
        raise ValueError(f"{_where(0, ids)} has no columns.")
    times = row_times = None
    if (
        not irregular
        and (lengths == lengths[0]).all()
        and (rstart == rstart[0]).all()
        and (rstep == rstep[0]).all()
    ):
        row_times = rstart[0] + rstep[0] * np.arange(lengths[0], dtype=np.float64)
    else:
        times = _step_times(lengths, rstart, rstep)
        if irregular:
            rows = np.repeat(np.isnan(rstart), lengths)
            times[rows] = np.concatenate(tparts)
    values = _to_float32_concat(blocks)
    return _assemble(
        values,
        times,
        lengths,
        channels=channels,
        ids=ids,
        kind=track.kind,
        unit=unit,
        unit_ns=unit_ns,
        row_times=row_times,
    )


def _to_float32_concat(blocks):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.concatenate(blocks, dtype=np.float32)


def _align_columns(df, cols0, i, ids):
    cols = df.columns
    if len(cols) != len(cols0):
        raise ValueError(
            f"{_where(i, ids)} has {_count(len(cols), 'channel')}, but instance 0 "
            f"has {len(cols0)}; every instance must have the same channels."
        )
    if set(cols) != set(cols0) or cols.has_duplicates:
        raise ValueError(
            f"{_where(i, ids)} has channels {list(cols)}, but instance 0 has "
            f"{list(cols0)}; every instance must have the same channels."
        )
    return df[cols0]  # same names in another order: reorder like instance 0


# -- pandas frames ------------------------------------------------------------
def _from_multiindex(X, time_channel, unit, unit_ns):
    index = X.index
    if index.nlevels != 2:
        raise ValueError(
            f"A MultiIndex X must have 2 levels (instance, time); got "
            f"{index.nlevels} levels {list(index.names)}."
        )
    if len(X) == 0:
        raise ValueError("X contains no instances; at least one is required.")
    codes0 = index.codes[0]
    if (codes0 < 0).any():
        row = int(np.argmax(codes0 < 0))
        raise ValueError(f"X has a missing instance id at row {row}.")
    order = None
    if (codes0[1:] < codes0[:-1]).any():
        # instances not in level order or not contiguous: group them, keeping
        # the order of first appearance and the row order within each
        order = np.argsort(pd.factorize(codes0)[0], kind="stable")
        codes0 = codes0[order]
    firsts = np.concatenate([[0], np.flatnonzero(codes0[1:] != codes0[:-1]) + 1])
    lengths = np.diff(np.append(firsts, len(codes0))).astype(np.int64)
    ids = np.asarray(index.levels[0][codes0[firsts]])

    frame = X
    times = row_times = None
    if time_channel is not None:
        if time_channel not in X.columns:
            raise ValueError(
                f"time_channel={time_channel!r} is not a column of X; its columns "
                f"are {list(X.columns)}."
            )
        try:
            times, kind = index_to_float(X[time_channel], unit_ns)
        except TypeError as exc:
            raise TypeError(f"Column {time_channel!r} of X: {exc}.") from None
        frame = X.drop(columns=time_channel)
        if order is not None:
            times = times[order]
    else:
        level = index.levels[1]
        try:
            level_t, kind = index_to_float(level, unit_ns)
        except TypeError as exc:
            raise TypeError(f"The time level of X: {exc}.") from None
        codes1 = index.codes[1]
        if order is not None:
            codes1 = codes1[order]
        n, T = len(lengths), int(lengths[0])
        if (
            n * T == len(codes1)
            and (lengths == T).all()
            and (codes1[:T] >= 0).all()
            and (codes1.reshape(n, T) == codes1[:T]).all()
        ):  # every instance has the same time points
            row_times = level_t[codes1[:T]]
        elif len(level_t) == 0:
            times = np.full(len(codes1), np.nan)
        else:
            times = level_t[codes1]
            missing = codes1 < 0
            if missing.any():
                times[missing] = np.nan
    if frame.columns.has_duplicates:
        dup = list(frame.columns[frame.columns.duplicated()])
        raise ValueError(
            f"X has duplicate column names {dup}; channels need unique names."
        )
    bad = _non_numeric_column(frame)
    if bad is not None:
        raise TypeError(
            f"Column {_py(bad[0])!r} of X has non-numeric dtype {bad[1]}; X must "
            "hold numbers (NaN for missing values). Convert or drop it."
        )
    if frame.shape[1] == 0:
        raise ValueError("X has no value columns.")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # overflow: caught later
        if all(isinstance(d, np.dtype) for d in frame.dtypes):
            values = frame.to_numpy(dtype=np.float32)
        else:
            values = frame.to_numpy(dtype=np.float32, na_value=np.nan)
    if order is not None:
        values = values[order]
    return _assemble(
        values,
        times,
        lengths,
        channels=list(frame.columns),
        ids=ids,
        kind=kind,
        unit=unit,
        unit_ns=unit_ns,
        row_times=row_times,
    )


def _is_nested(X):
    if X.shape[0] == 0 or X.shape[1] == 0:
        return False
    return isinstance(X.iat[0, 0], (pd.Series, np.ndarray))


def _from_nested(X, time_channel, unit, unit_ns):
    frames = []
    columns = X.columns
    for i, row in enumerate(X.itertuples(index=False)):
        cells = []
        for name, cell in zip(columns, row, strict=True):
            if isinstance(cell, np.ndarray):
                cell = pd.Series(cell)
            if not isinstance(cell, pd.Series):
                raise TypeError(
                    f"{_where(i, np.asarray(X.index))}, column {_py(name)!r} "
                    f"holds a {type(cell).__name__}; every cell of a nested "
                    "frame must be a pd.Series."
                )
            cells.append(cell)
        index0 = cells[0].index
        if all(c.index.equals(index0) for c in cells[1:]):
            df = pd.DataFrame(
                {k: c.to_numpy() for k, c in enumerate(cells)}, index=index0
            )
        else:  # channels observed at different times: outer join on time
            try:
                df = pd.concat(cells, axis=1, keys=range(len(cells))).sort_index()
            except (ValueError, TypeError) as exc:
                raise ValueError(
                    f"{_where(i, np.asarray(X.index))}: its channels cannot be "
                    f"aligned on time ({exc})."
                ) from None
        df.columns = columns
        frames.append(df)
    return _from_frames(frames, time_channel, unit, unit_ns, ids=np.asarray(X.index))


# -- dispatch -----------------------------------------------------------------
_FORMATS = (
    "a numpy array (n_instances, n_channels, n_timepoints) or (n_instances, "
    "n_timepoints), a list of per-instance DataFrames or 2D arrays, a "
    "DataFrame with an (instance, time) MultiIndex, a nested_univ or wide "
    "DataFrame, or a Panel"
)


def input_format(X: object) -> PanelFormat:
    """Which of the accepted panel formats ``X`` is in, without converting it.

    The one place that tells the formats apart: :func:`to_panel`,
    :func:`count_instances` and
    :func:`~sklearn_cfc.datasets.make_irregular` dispatch on it.

    Parameters
    ----------
    X : object

    Returns
    -------
    str
        One of (sktime's names where there is one):

        - ``"Panel"``: a :class:`Panel`;
        - ``"numpy"``: a numpy array or another array-like (tensors, xarray):
          3D ``(n_instances, n_channels, n_timepoints)`` or 2D
          ``(n_instances, n_timepoints)``;
        - ``"np-list"``: a list or tuple of arrays (or nested lists of
          numbers), one per instance;
        - ``"df-list"``: a list or tuple of DataFrames or Series, one per
          instance;
        - ``"pd-multiindex"``: a DataFrame (or Series) with an
          ``(instance, time)`` MultiIndex;
        - ``"nested_univ"``: a DataFrame whose cells are Series;
        - ``"pd-wide"``: any other DataFrame, one univariate series per row.

    Raises
    ------
    TypeError
        For anything else (sparse matrices included).

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from sklearn_cfc.panel import input_format
    >>> input_format(np.zeros((4, 2, 10))), input_format([pd.DataFrame({"x": [1.0]})])
    ('numpy', 'df-list')
    """
    if isinstance(X, Panel):
        return "Panel"
    if isinstance(X, pd.DataFrame):
        if isinstance(X.index, pd.MultiIndex):
            return "pd-multiindex"
        return "nested_univ" if _is_nested(X) else "pd-wide"
    if isinstance(X, pd.Series) and isinstance(X.index, pd.MultiIndex):
        return "pd-multiindex"
    if isinstance(X, (list, tuple)):
        if len(X) and isinstance(X[0], (pd.DataFrame, pd.Series)):
            return "df-list"
        return "np-list"
    if sp.issparse(X):
        raise TypeError(
            "Sparse data is not supported: X is a sparse matrix, but sequences "
            "need dense data; pass X.toarray() (NaN for missing values)."
        )
    if isinstance(X, np.ndarray) or hasattr(X, "__array__"):
        return "numpy"
    raise TypeError(f"X must be {_FORMATS}; got {type(X).__name__}.")


def _from_panel(X, time_channel, unit, unit_ns):
    return X


def _from_multiindex_data(X, time_channel, unit, unit_ns):
    if isinstance(X, pd.Series):
        X = X.to_frame()
    return _from_multiindex(X, time_channel, unit, unit_ns)


def _from_array_like(X, time_channel, unit, unit_ns):
    return _from_numpy(np.asarray(X), time_channel, unit, unit_ns)


_CONVERTERS = {
    "Panel": _from_panel,
    "numpy": _from_array_like,
    "np-list": _from_list,
    "df-list": _from_list,
    "pd-multiindex": _from_multiindex_data,
    "nested_univ": _from_nested,
    "pd-wide": _from_wide,
}


def to_panel(
    X: PanelLike,
    *,
    time_channel: Hashable | None = None,
    time_unit: TimeUnitLike = "s",
) -> Panel:
    """Convert any accepted panel format into a validated :class:`Panel`.

    Accepted formats of ``X``:

    - numpy ``(n_instances, n_channels, n_timepoints)`` (sktime
      ``numpy3D``) or ``(n_instances, n_timepoints)`` (one univariate
      series per row). Time is the step index unless ``time_channel``
      names the channel holding the timestamps.
    - a list (or tuple) of per-instance ``pd.DataFrame`` (rows =
      observations, columns = channels, index = timestamps: int, float,
      datetime64 or timedelta64) of any lengths, or of ``pd.Series``
      (univariate), or of numpy arrays ``(n_channels, n_timepoints_i)``
      or ``(n_timepoints_i,)``. Frames with the same column names in
      another order are reordered like the first one.
    - a ``pd.DataFrame`` with a 2-level ``(instance, time)`` MultiIndex
      (sktime ``pd-multiindex``); instances keep the order of their first
      row. Or a ``pd.DataFrame`` whose cells are ``pd.Series`` (sktime
      ``nested_univ``); channels with different time indices are joined
      on time.
    - a flat ``pd.DataFrame`` (sktime ``pd-wide``): one univariate series
      per row, columns are the time points; their labels are the
      timestamps when they are numbers, datetimes or timedeltas, else time
      is the step index.
    - the long event format: convert it first with :func:`from_long`.
    - a :class:`Panel`, returned unchanged.

    What is dropped, and nothing else: steps (rows) where every channel is
    NaN are not observations; trailing all-NaN steps of numpy input
    therefore make a shorter series, and interior ones a gap (the later
    steps keep their step-index or channel timestamps).

    Parameters
    ----------
    X : array-like, list, DataFrame or Panel
        The panel, in one of the formats above.
    time_channel : int or hashable, default=None
        Where the timestamps are, when not in the index: a channel position
        for numpy input, a column label for DataFrame input. That channel
        is removed from the values. None: the time index (pandas) or the
        step index ``0 .. n_timepoints - 1`` (numpy).
    time_unit : {'ns', 'us', 'ms', 's', 'min', 'h', 'D'} or pd.Timedelta, \
default='s'
        Unit of the float times that datetime64 and timedelta64 timestamps
        become (datetimes: time since 1970-01-01, UTC for timezone-aware
        ones). Numeric timestamps are kept as they are.

    Returns
    -------
    Panel
        values ``(n, T, C)`` float32, times ``(n, T)`` float64, mask
        ``(n, T, C)`` bool and lengths ``(n,)``; padding is NaN in values
        and times and False in mask.

    Raises
    ------
    TypeError
        Unsupported container, non-numeric values, mixed instance types or
        mixed or unusable timestamp kinds.
    ValueError
        No instances, an empty or all-NaN instance, mixed channel counts or
        names, infinite values, missing, duplicate or decreasing timestamps
        within an instance. Messages name the instance (index, and id when
        known) and the channel.

    See Also
    --------
    from_long : Long event logs (id, time, variable, value) to frames.
    PanelEncoder : Network inputs from a panel.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from sklearn_cfc.panel import to_panel
    >>> frames = [
    ...     pd.DataFrame({"hr": [80.0, 82.0, np.nan], "bp": [np.nan, 120.0, 118.0]},
    ...                  index=[0.0, 0.5, 2.0]),
    ...     pd.DataFrame({"hr": [75.0], "bp": [110.0]}, index=[1.0]),
    ... ]
    >>> panel = to_panel(frames)
    >>> panel.values.shape, panel.lengths.tolist(), panel.channels
    ((2, 3, 2), [3, 1], ('hr', 'bp'))
    >>> panel.times
    array([[0. , 0.5, 2. ],
           [1. , nan, nan]])

    Datetime indices become floats in ``time_unit``:

    >>> idx = pd.to_datetime(["2024-01-01 00:00", "2024-01-01 01:30"])
    >>> p = to_panel([pd.DataFrame({"x": [1.0, 2.0]}, index=idx)], time_unit="h")
    >>> np.diff(p.times[0])
    array([1.5])
    """
    convert = _CONVERTERS[input_format(X)]
    if isinstance(X, Panel):  # convert is _from_panel
        return X
    unit = time_unit if isinstance(time_unit, str) else str(pd.Timedelta(time_unit))
    unit_ns = check_time_unit(time_unit)
    return convert(X, time_channel, unit, unit_ns)


# -- y ------------------------------------------------------------------------
def count_instances(X: PanelLike) -> int:
    """Number of instances of ``X`` in any accepted format, without converting.

    Parameters
    ----------
    X : array-like, list, DataFrame or Panel
        A panel in one of the formats :func:`to_panel` accepts.

    Returns
    -------
    int
        The number of instances (series).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_cfc.panel import count_instances
    >>> count_instances(np.zeros((4, 2, 10)))
    4
    """
    fmt = input_format(X)
    data: Any = X  # of the type fmt names
    if fmt == "pd-multiindex":
        codes = data.index.codes[0]
        return len(np.unique(codes[codes >= 0]))
    if fmt == "numpy":
        # through __array__, as to_panel reads it (np.shape would go through
        # __array_function__, which array-likes need not support)
        shape = np.asarray(data).shape
        return shape[0] if shape else 0
    return len(data)


def check_y_length(X: PanelLike, y: ArrayLike | None) -> ArrayLike | None:
    """Check that ``y`` has one entry per instance of ``X``.

    Parameters
    ----------
    X : Panel or any format accepted by :func:`to_panel`
    y : array-like of shape (n_instances, ...) or None
        None passes.

    Returns
    -------
    y : the input ``y``, unchanged

    Raises
    ------
    ValueError
        When the lengths differ. When ``X`` is a 2D array with more rows
        than ``y`` has entries, the message adds that a transformer ahead
        of the estimator may have turned a ``pd-multiindex`` frame into a
        bare array of observations, and how to keep the frame.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_cfc.panel import check_y_length
    >>> check_y_length(np.zeros((3, 1, 5)), [0, 1])
    Traceback (most recent call last):
    ...
    ValueError: X has 3 instances, but y has 2 entries; they must match.
    """
    if y is None:
        return y
    n_X = count_instances(X)
    n_y = np.shape(y)[0] if np.ndim(y) else 0
    if n_X != n_y:
        message = f"X has {n_X} instances, but y has {n_y} entries; they must match."
        if n_X > n_y and input_format(X) == "numpy" and np.asarray(X).ndim == 2:
            # rows of observations that lost the (instance, time) index
            message += (
                " X is a 2D array, read as one univariate series per row. If a "
                "transformer ahead of this estimator (a scikit-learn scaler, "
                "say) made it from a DataFrame with an (instance, time) "
                "MultiIndex, it dropped the index that groups the rows into "
                'instances: call set_output(transform="pandas") on the pipeline '
                "or on that transformer, or use the panel transformers of "
                "sklearn_cfc.panel (PanelScaler, PanelResampler, ChannelSelector)."
            )
        raise ValueError(message)
    return y


def by_instance(out: np.ndarray, X: Any, transformer: Any) -> Any:
    """A transformer's output of one row per instance, in the container
    ``set_output`` asks for.

    With ``set_output(transform="pandas")`` and a MultiIndex ``X``, a
    DataFrame indexed by ``X``'s instance ids (in their order of first
    appearance, as :func:`to_panel` orders instances): its rows are
    instances, not the rows of ``X``, so the index scikit-learn would take
    from ``X`` does not fit. Otherwise ``out`` unchanged.
    """
    if (
        isinstance(X, (pd.DataFrame, pd.Series))
        and input_format(X) == "pd-multiindex"
        and _get_output_config("transform", transformer)["dense"] == "pandas"
    ):
        ids = X.index.get_level_values(0)
        return pd.DataFrame(out, index=pd.Index(ids.unique(), name=ids.name))
    return out


# the two channels that carry each row's number through to_panel (float32
# holds whole numbers exactly up to 2**24: a high and a low part)
_ROW_CHANNELS = ("__sklearn_cfc_row_high__", "__sklearn_cfc_row_low__")
_ROW_BASE = 2**24


def _per_observation(X, y):
    """Whether ``y`` gives a label per observation of ``X`` (see
    :func:`observation_rows`)."""
    fmt = input_format(X)
    if fmt == "pd-multiindex":
        return isinstance(y, (pd.Series, pd.DataFrame)) and isinstance(
            y.index, pd.MultiIndex
        )
    if fmt == "df-list" and isinstance(y, (list, tuple)) and len(y):
        return all(np.ndim(entry) >= 1 for entry in y)
    return False


def observation_rows(
    X: Any,
    y: Any,
    *,
    time_channel: Hashable | None = None,
    time_unit: TimeUnitLike = "s",
) -> tuple[Panel, np.ndarray, np.ndarray] | None:
    """Align labels given per observation with the steps of ``X``'s panel.

    ``y`` labels the observations of ``X`` when ``X`` is a ``pd-multiindex``
    DataFrame and ``y`` a Series or DataFrame with the same (instance, time)
    index, or ``X`` a list of DataFrames and ``y`` a list of as many arrays,
    one entry per row of each frame. Missing labels (NaN, None) mark rows
    without one.

    Parameters
    ----------
    X : pd-multiindex DataFrame or list of DataFrames
    y : pd.Series, pd.DataFrame or list of array-like
    time_channel, time_unit
        As for :func:`to_panel`.

    Returns
    -------
    None, when ``y`` has one entry per instance rather than per observation;
    else
    panel : Panel
        ``to_panel(X)``.
    labels : ndarray of shape (n_rows, ...)
        The rows of ``y``, in the order of ``X``'s rows.
    rows : ndarray of shape (n_instances, n_timepoints), int64
        The row of ``labels`` of each step of ``panel``; -1 in the padding.

    Raises
    ------
    ValueError
        When ``y``'s index or lengths differ from ``X``'s, or a label sits on
        a row of ``X`` without any observed value (no step of the panel),
        naming the instance.
    """
    if not _per_observation(X, y):
        return None
    if isinstance(X, pd.DataFrame):
        if not y.index.equals(X.index):
            if len(y) != len(X):
                where = f"{len(y)} rows where X has {len(X)}"
            else:
                k = int(np.argmax(y.index != X.index))
                where = f"row {k} is {y.index[k]!r} in y but {X.index[k]!r} in X"
            raise ValueError(
                "y is indexed by (instance, time), a label per observation, "
                f"but its index differs from X's: {where}. Give y the index of "
                "X (the same rows in the same order)."
            )
        labels = y.to_numpy()
        frames = [X]

        def name(k):
            instance, time = X.index[k]
            return f"instance {_py(instance)!r} at time {_py(time)!r}"

    else:
        if len(y) != len(X):
            raise ValueError(
                f"y is a list of {len(y)} arrays of labels per observation, but "
                f"X holds {len(X)} instances; they must match."
            )
        for i, (frame, entry) in enumerate(zip(X, y, strict=True)):
            if len(entry) != len(frame):
                raise ValueError(
                    f"y[{i}] has {len(entry)} labels, but instance {i} of X "
                    f"has {len(frame)} rows; give one label per row (NaN for "
                    "none)."
                )
        entries = [np.asarray(entry) for entry in y]
        # numpy would turn numbers among strings into strings: keep them
        text = {entry.dtype.kind in "USO" for entry in entries}
        mixed = len(text) > 1
        labels = np.concatenate(entries, dtype=object if mixed else None)
        frames = list(X)
        starts = np.cumsum([0] + [len(frame) for frame in frames])

        def name(k):
            i = int(np.searchsorted(starts, k, side="right") - 1)
            r = k - starts[i]
            return f"instance {i} at row {r} (time {_py(frames[i].index[r])!r})"

    # carry each row's number through the conversion, on the rows where X
    # observes something (the others are no step of the panel)
    number = 0
    tagged = []
    for frame in frames:
        values = frame.drop(columns=time_channel) if time_channel is not None else frame
        observed = values.notna().to_numpy().any(axis=1)
        row = np.arange(number, number + len(frame), dtype=np.float64)
        row[~observed] = np.nan
        number += len(frame)
        tagged.append(
            frame.assign(
                **{
                    _ROW_CHANNELS[0]: np.floor(row / _ROW_BASE),
                    _ROW_CHANNELS[1]: np.mod(row, _ROW_BASE),
                }
            )
        )
    missing = pd.isna(labels)
    if missing.ndim > 1:
        missing = missing.all(axis=tuple(range(1, missing.ndim)))
    on_step = np.concatenate(
        [np.isfinite(frame[_ROW_CHANNELS[1]].to_numpy()) for frame in tagged]
    )
    stray = np.flatnonzero(~missing & ~on_step)
    if len(stray):
        raise ValueError(
            f"y labels {name(int(stray[0]))}, where X observes no channel: a label "
            "needs an observation to go with. Mark it missing (NaN), or give X "
            "a value there."
        )
    full = to_panel(
        tagged[0] if isinstance(X, pd.DataFrame) else tagged,
        time_channel=time_channel,
        time_unit=time_unit,
    )
    C = full.n_channels - 2
    row = np.nan_to_num(full.values[:, :, C:], nan=-1.0).astype(np.int64)
    rows = np.where(full.mask[:, :, C], row[:, :, 0] * _ROW_BASE + row[:, :, 1], -1)
    panel = Panel(
        values=full.values[:, :, :C],
        times=full.times,
        mask=full.mask[:, :, :C],
        lengths=full.lengths,
        channels=full.channels[:C],
        instance_ids=full.instance_ids,
        time_unit=full.time_unit,
        time_kind=full.time_kind,
    )
    return panel, labels, rows
