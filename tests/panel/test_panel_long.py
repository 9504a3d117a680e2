"""from_long: long event logs to per-instance frames."""

import re

import numpy as np
import pandas as pd
import pytest

from sklearn_cfc.panel import from_long, to_panel

NAN = np.nan


@pytest.fixture
def events():
    return pd.DataFrame(
        {
            "stay": [2, 1, 2, 2, 2, 1, 2],
            "t": [0.5, 0.0, 0.0, 0.5, 0.5, 3.0, 1.0],
            "var": ["HR", "HR", "BP", "HR", "BP", "BP", "HR"],
            "val": [80.0, 70.0, 120.0, 90.0, NAN, 110.0, 100.0],
        }
    )


def test_list_output(events):
    X, ids = from_long(events, "stay", "t", "var", "val", return_ids=True)
    assert ids.tolist() == [1, 2]
    pd.testing.assert_frame_equal(
        X[0],
        pd.DataFrame(
            {"BP": [NAN, 110.0], "HR": [70.0, NAN]},
            index=pd.Index([0.0, 3.0], name="t"),
        ),
    )
    pd.testing.assert_frame_equal(
        X[1],
        pd.DataFrame(
            {"BP": [120.0, NAN, NAN], "HR": [NAN, 85.0, 100.0]},
            index=pd.Index([0.0, 0.5, 1.0], name="t"),
        ),
    )  # two HR events at 0.5 averaged; the NaN BP event ignored


@pytest.mark.parametrize(
    "agg, value",
    [
        ("mean", 85.0),
        ("sum", 170.0),
        ("first", 80.0),
        ("last", 90.0),
        ("min", 80.0),
        ("max", 90.0),
    ],
)
def test_aggregations(events, agg, value):
    X = from_long(events, "stay", "t", "var", "val", agg=agg)
    assert X[1].loc[0.5, "HR"] == value


def test_multiindex_output_matches_list(events):
    X = from_long(events, "stay", "t", "var", "val")
    M = from_long(events, "stay", "t", "var", "val", return_type="multiindex")
    assert M.index.names == ["stay", "t"]
    pd.testing.assert_frame_equal(M.loc[2], X[1])
    a, b = to_panel(X), to_panel(M)
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.times, b.times)


def test_fixed_variables(events):
    X = from_long(events, "stay", "t", "var", "val", variables=["HR", "Temp"])
    assert list(X[0].columns) == ["HR", "Temp"]
    assert X[0].index.tolist() == [0.0]  # the BP-only row is gone
    assert X[0]["Temp"].isna().all()


def test_datetime_times_keep_their_dtype():
    ev = pd.DataFrame(
        {
            "id": ["a", "a"],
            "time": pd.to_datetime(["2024-01-01 10:00", "2024-01-01 09:00"]),
            "variable": ["x", "x"],
            "value": [1.0, 2.0],
        }
    )
    X = from_long(ev)
    assert isinstance(X[0].index, pd.DatetimeIndex)
    assert X[0]["x"].tolist() == [2.0, 1.0]  # sorted by time
    assert np.diff(to_panel(X, time_unit="h").times[0]).tolist() == [1.0]


def test_errors(events):
    with pytest.raises(
        ValueError,
        match=re.escape(
            "id_col='id' is not a column of df; its columns are "
            "['stay', 't', 'var', 'val']."
        ),
    ):
        from_long(events)
    with pytest.raises(
        ValueError,
        match=re.escape(
            "agg must be one of ['mean', 'sum', 'first', 'last', 'min', 'max']; got "
            "'median' instead."
        ),
    ):
        from_long(events, "stay", "t", "var", "val", agg="median")
    bad = events.assign(val=events["val"].astype(str))
    with pytest.raises(
        TypeError, match=re.escape("Column 'val' has non-numeric dtype")
    ):
        from_long(bad, "stay", "t", "var", "val")
    bad = events.assign(t=events["t"].astype(str))
    with pytest.raises(TypeError, match=re.escape("Column 't' has dtype")):
        from_long(bad, "stay", "t", "var", "val")
    bad = events.assign(stay=[1, None, 2, 2, 2, 1, 2])
    with pytest.raises(
        ValueError, match=re.escape("Column 'stay' has a missing value at row 1.")
    ):
        from_long(bad, "stay", "t", "var", "val")
    with pytest.raises(TypeError, match="df must be a pandas DataFrame"):
        from_long(events.to_numpy())
    with pytest.raises(ValueError, match="return_type must be 'list' or"):
        from_long(events, "stay", "t", "var", "val", return_type="numpy3D")
