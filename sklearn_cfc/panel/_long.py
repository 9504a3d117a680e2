"""Long event logs (id, time, variable, value) to panel frames (private)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from collections.abc import Hashable, Sequence

    from sklearn_cfc._typing import Aggregation

__all__ = ["from_long"]

_AGGS = ("mean", "sum", "first", "last", "min", "max")


def _column(df, name, role):
    if name not in df.columns:
        raise ValueError(
            f"{role}={name!r} is not a column of df; its columns are "
            f"{list(df.columns)}."
        )
    return df[name]


def _variable_names(variables):
    """``variables`` as a list; a TypeError for a string or a non-sequence."""
    if isinstance(variables, (str, bytes)):
        raise TypeError(
            f"variables must be a sequence of variable names, not a string; for "
            f"the one variable {variables!r}, pass [{variables!r}]."
        )
    try:
        return list(variables)
    except TypeError:
        raise TypeError(
            "variables must be a sequence of variable names; got "
            f"{type(variables).__name__}."
        ) from None


def from_long(
    df: pd.DataFrame,
    id_col: Hashable = "id",
    time_col: Hashable = "time",
    variable_col: Hashable = "variable",
    value_col: Hashable = "value",
    *,
    variables: Sequence[Hashable] | None = None,
    agg: Aggregation = "mean",
    return_type: Literal["list", "multiindex"] = "list",
    return_ids: bool = False,
) -> (
    list[pd.DataFrame]
    | pd.DataFrame
    | tuple[list[pd.DataFrame] | pd.DataFrame, np.ndarray]
):
    """Turn a long event log into per-instance frames or a MultiIndex frame.

    Each row of ``df`` is one event: an instance id, a timestamp, the name
    of the variable measured and its value (the layout of the PhysioNet
    2012 files, or of most clinical and sensor logs). The result has one
    row per distinct (instance, time) and one column per variable, NaN
    where that variable was not measured at that time.

    Documented reductions: events whose value is NaN are ignored; several
    events of one variable at the same (instance, time) are aggregated
    with ``agg``; with ``variables`` given, other variables are ignored; an
    instance left without any event is absent from the output (see
    ``return_ids``).

    Parameters
    ----------
    df : pd.DataFrame
        The events, in any row order.
    id_col, time_col, variable_col, value_col : hashable
        Column names. Timestamps may be numbers, datetime64 or timedelta64
        and keep their dtype in the output.
    variables : sequence, default=None
        The output columns, in this order (a variable never measured gives
        an all-NaN column); a sequence of names, not a string (pass
        ``["HR"]`` for one variable). None: every variable seen, sorted.
    agg : {'mean', 'sum', 'first', 'last', 'min', 'max'}, default='mean'
        How repeated events of one variable at one time are combined
        ('first' and 'last' follow the row order of ``df``).
    return_type : {'list', 'multiindex'}, default='list'
        'list': one DataFrame per instance (index = time, sorted);
        'multiindex': one frame with an (id, time) MultiIndex.
    return_ids : bool, default=False
        Also return the instance ids, in output order.

    Returns
    -------
    X : list of pd.DataFrame or pd.DataFrame
        Instances sorted by id, rows by time.
    ids : ndarray of shape (n_instances,)
        Only when ``return_ids`` is True.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn_cfc.panel import from_long
    >>> events = pd.DataFrame({
    ...     "id": [7, 7, 7, 7, 3],
    ...     "time": [0.0, 0.0, 1.5, 1.5, 2.0],
    ...     "variable": ["HR", "Temp", "HR", "HR", "HR"],
    ...     "value": [80.0, 36.6, 90.0, 94.0, 70.0],
    ... })
    >>> X, ids = from_long(events, return_ids=True)
    >>> ids
    array([3, 7])
    >>> X[1]  # doctest: +NORMALIZE_WHITESPACE
            HR  Temp
    time
    0.0   80.0  36.6
    1.5   92.0   NaN
    >>> from_long(events, return_type="multiindex").shape
    (3, 2)
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame; got {type(df).__name__}.")
    if agg not in _AGGS:
        raise ValueError(f"agg must be one of {list(_AGGS)}; got {agg!r} instead.")
    if return_type not in ("list", "multiindex"):
        raise ValueError(
            f"return_type must be 'list' or 'multiindex'; got {return_type!r}."
        )
    ids = _column(df, id_col, "id_col")
    times = _column(df, time_col, "time_col")
    names = _column(df, variable_col, "variable_col")
    vals = _column(df, value_col, "value_col")
    if not (
        pd.api.types.is_numeric_dtype(vals.dtype)
        or pd.api.types.is_bool_dtype(vals.dtype)
    ):
        raise TypeError(
            f"Column {value_col!r} has non-numeric dtype {vals.dtype}; values "
            "must be numbers (NaN for missing)."
        )
    kind = times.dtype.kind
    if not (kind in "iufmM" or pd.api.types.is_numeric_dtype(times.dtype)):
        raise TypeError(
            f"Column {time_col!r} has dtype {times.dtype}; timestamps must be "
            "numbers, datetime64 or timedelta64 (parse strings first, e.g. "
            "with pd.to_datetime)."
        )
    for col, s in ((id_col, ids), (time_col, times), (variable_col, names)):
        missing = s.isna().to_numpy()
        if missing.any():
            raise ValueError(
                f"Column {col!r} has a missing value at row {int(np.argmax(missing))}."
            )

    value = vals.to_numpy(dtype=np.float64, na_value=np.nan)
    keep = ~np.isnan(value)
    if variables is None:
        var_codes, var_names = pd.factorize(names, sort=True)
    else:
        var_names = pd.Index(_variable_names(variables))
        if var_names.has_duplicates:
            raise ValueError("variables has duplicate names.")
        var_codes = var_names.get_indexer(names)
        keep &= var_codes >= 0
    id_codes, id_values = pd.factorize(ids, sort=True)
    time_values = times.to_numpy()[keep]
    id_codes, var_codes, value = id_codes[keep], var_codes[keep], value[keep]
    V = len(var_names)

    # sort events by (id, time, variable); lexsort is stable, so 'first' and
    # 'last' follow the row order of df within an (id, time, variable) cell
    order = np.lexsort((var_codes, time_values, id_codes))
    id_codes, var_codes = id_codes[order], var_codes[order]
    time_values, value = time_values[order], value[order]
    if agg in ("min", "max"):
        sub = np.lexsort((value, var_codes, time_values, id_codes))
        id_codes, var_codes = id_codes[sub], var_codes[sub]
        time_values, value = time_values[sub], value[sub]

    n_ev = len(value)
    new_row = np.ones(n_ev, dtype=bool)
    new_row[1:] = id_codes[1:] != id_codes[:-1]
    new_row[1:] |= time_values[1:] != time_values[:-1]
    row = np.cumsum(new_row) - 1
    new_cell = new_row.copy()
    new_cell[1:] |= var_codes[1:] != var_codes[:-1]
    cell_start = np.flatnonzero(new_cell)
    if agg in ("mean", "sum"):
        out = np.add.reduceat(value, cell_start) if n_ev else value
        if agg == "mean":
            out = out / np.diff(np.append(cell_start, n_ev))
    elif agg in ("first", "min"):
        out = value[cell_start]
    else:  # last, max
        out = value[np.append(cell_start[1:], n_ev) - 1]
    n_rows = int(row[-1]) + 1 if n_ev else 0
    dense = np.full((n_rows, V), np.nan)
    dense[row[cell_start], var_codes[cell_start]] = out

    row_start = np.flatnonzero(new_row)
    row_ids = id_codes[row_start]
    row_times = time_values[row_start]
    present = np.unique(row_ids)  # instances with at least one kept event
    out_ids = np.asarray(id_values[present])
    columns = pd.Index(var_names, name=None)
    if return_type == "multiindex":
        index = pd.MultiIndex.from_arrays(
            [np.asarray(id_values)[row_ids], row_times], names=[id_col, time_col]
        )
        X = pd.DataFrame(dense, index=index, columns=columns)
    else:
        bounds = np.flatnonzero(row_ids[1:] != row_ids[:-1]) + 1
        starts = np.concatenate([[0], bounds]) if n_rows else np.zeros(0, int)
        stops = np.append(bounds, n_rows) if n_rows else np.zeros(0, int)
        time_name = time_col
        X = [
            pd.DataFrame(
                dense[a:b],
                index=pd.Index(row_times[a:b], name=time_name),
                columns=columns,
                copy=False,
            )
            for a, b in zip(starts.tolist(), stops.tolist(), strict=True)
        ]
    return (X, out_ids) if return_ids else X
