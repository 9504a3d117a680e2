"""Timestamps: kinds, units and conversion to float64 (private)."""

from __future__ import annotations

import datetime

import numpy as np
import pandas as pd

__all__ = [
    "TIME_UNITS",
    "check_time_unit",
    "float_to_index",
    "format_time",
    "index_to_float",
]

#: Nanoseconds per unit accepted by ``time_unit``.
TIME_UNITS = {
    "ns": 1.0,
    "us": 1e3,
    "ms": 1e6,
    "s": 1e9,
    "min": 60e9,
    "h": 3600e9,
    "D": 86400e9,
}

# Kinds of timestamps; instances of one panel must all share one kind.
NUMERIC = "numeric"
DATETIME = "datetime64"
DATETIME_TZ = "timezone-aware datetime64"
TIMEDELTA = "timedelta64"


def check_time_unit(time_unit):
    """Return the number of nanoseconds in ``time_unit``.

    ``time_unit`` is one of the keys of :data:`TIME_UNITS` or a duration
    (``pd.Timedelta``, ``np.timedelta64`` or ``datetime.timedelta``).
    """
    if isinstance(time_unit, str):
        if time_unit not in TIME_UNITS:
            raise ValueError(
                f"time_unit={time_unit!r} is not supported; use one of "
                f"{sorted(TIME_UNITS)} or a pd.Timedelta."
            )
        return TIME_UNITS[time_unit]
    if isinstance(time_unit, (pd.Timedelta, np.timedelta64, datetime.timedelta)):
        ns = float(pd.Timedelta(time_unit).value)
        if not ns > 0:
            raise ValueError(f"time_unit must be a positive duration, got {time_unit}.")
        return ns
    raise TypeError(
        "time_unit must be a string such as 's' or 'h', or a pd.Timedelta; "
        f"got {type(time_unit).__name__}."
    )


def _ns_to_float(i8, isna, unit_ns):
    out = i8.astype(np.float64)
    if unit_ns != 1.0:
        out /= unit_ns
    if isna is not None and isna.any():
        out[isna] = np.nan
    return out


def index_to_float(index, unit_ns):
    """Convert timestamps to float64.

    Parameters
    ----------
    index : pd.Index, pd.Series or ndarray
        Timestamps of one instance (or of a whole time level).
    unit_ns : float
        Nanoseconds per output unit; used for datetimes and timedeltas only.

    Returns
    -------
    times : ndarray of shape (len(index),), dtype float64
        NaN where a timestamp is missing (NaN or NaT).
    kind : str
        One of ``"numeric"``, ``"datetime64"``, ``"timezone-aware
        datetime64"``, ``"timedelta64"``.

    Raises
    ------
    TypeError
        If the timestamps are strings, booleans or of mixed kinds; the
        message starts with what was found, the caller prefixes where.
    """
    if isinstance(index, np.ndarray):
        kind = index.dtype.kind
        if kind in "iuf":
            return index.astype(np.float64, copy=False), NUMERIC
        index = pd.Index(index)
    elif isinstance(index, pd.Series):
        index = pd.Index(index)
    if isinstance(index, pd.RangeIndex):
        return np.arange(index.start, index.stop, index.step, dtype=np.float64), NUMERIC
    if isinstance(index, pd.MultiIndex):
        raise TypeError(
            "timestamps are a MultiIndex; each instance needs a single time index"
        )
    if isinstance(index, pd.PeriodIndex):
        index = index.to_timestamp()
    dtype = index.dtype
    if isinstance(index, pd.DatetimeIndex):
        kind = DATETIME
        if index.tz is not None:
            kind = DATETIME_TZ
            index = index.tz_convert("UTC").tz_localize(None)
        return _ns_to_float(index.as_unit("ns").asi8, index.isna(), unit_ns), kind
    if isinstance(index, pd.TimedeltaIndex):
        return (
            _ns_to_float(index.as_unit("ns").asi8, index.isna(), unit_ns),
            TIMEDELTA,
        )
    if dtype.kind == "b" or pd.api.types.is_bool_dtype(dtype):
        raise TypeError("timestamps are booleans; use numbers or datetimes")
    if dtype.kind in "iuf":
        if isinstance(dtype, np.dtype):
            return np.asarray(index, dtype=np.float64), NUMERIC
        return index.to_numpy(dtype=np.float64, na_value=np.nan), NUMERIC
    inferred = pd.api.types.infer_dtype(index, skipna=True)
    if inferred in ("integer", "floating", "mixed-integer-float", "decimal", "empty"):
        return index.to_numpy(dtype=np.float64, na_value=np.nan), NUMERIC
    if inferred in ("datetime", "datetime64", "date"):
        try:
            return index_to_float(pd.DatetimeIndex(index), unit_ns)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"timestamps mix time zones or datetime kinds ({exc})"
            ) from None
    if inferred in ("timedelta", "timedelta64"):
        return index_to_float(pd.TimedeltaIndex(index), unit_ns)
    if inferred in ("string", "bytes"):
        raise TypeError(
            "timestamps are strings; parse them first with pd.to_datetime, "
            "pd.to_timedelta or pd.to_numeric"
        )
    types = sorted({type(v).__name__ for v in index if not pd.isna(v)})
    raise TypeError(f"timestamps mix kinds ({', '.join(types)})")


def float_to_index(times, kind, unit_ns):
    """Timestamps of the kind the user gave, from their float64 form.

    The inverse of :func:`index_to_float`, to the precision of a float64:
    datetimes and timedeltas come back to the nearest nanosecond
    (timezone-aware datetimes in UTC, as the panel keeps no zone), numbers
    as int64 when every one is a whole number (the step numbers of data
    without timestamps, say), else as float64.

    Parameters
    ----------
    times : ndarray of shape (n,), float64
    kind : str
        A kind returned by :func:`index_to_float`.
    unit_ns : float
        Nanoseconds per unit of ``times``.

    Returns
    -------
    pd.Index
    """
    times = np.asarray(times, dtype=np.float64)
    if kind in (DATETIME, DATETIME_TZ, TIMEDELTA):
        ns = np.rint(times * unit_ns).astype(np.int64)
        if kind == TIMEDELTA:
            return pd.TimedeltaIndex(ns.astype("timedelta64[ns]"))
        index = pd.DatetimeIndex(ns.astype("datetime64[ns]"))
        return index.tz_localize("UTC") if kind == DATETIME_TZ else index
    whole = np.isfinite(times).all() and (np.abs(times) < 2.0**53).all()
    if whole and (times == np.round(times)).all():
        return pd.Index(times.astype(np.int64))
    return pd.Index(times)


def format_time(value, kind, unit_ns):
    """Human-readable timestamp for error messages."""
    if np.isnan(value):
        return "NaN"
    if kind in (DATETIME, DATETIME_TZ):
        return str(pd.Timestamp(round(value * unit_ns), unit="ns"))
    if kind == TIMEDELTA:
        return str(pd.Timedelta(round(value * unit_ns), unit="ns"))
    value = float(value)
    return repr(int(value)) if value.is_integer() else repr(value)
