"""Every rejected input raises a clear error naming what and where."""

import re

import numpy as np
import pandas as pd
import pytest

from sklearn_cfc.panel import check_y_length, to_panel

NAN = np.nan


def df(values, index=None, columns=("a", "b")):
    return pd.DataFrame(
        np.asarray(values, dtype=float), index=index, columns=list(columns)
    )


GOOD = df([[1, 2], [3, 4]], index=[0.0, 1.0])


def raises(exc, message):
    return pytest.raises(exc, match=re.escape(message))


# -- channels -----------------------------------------------------------------
def test_mixed_channel_counts_frames():
    with raises(
        ValueError,
        "instance 1 has 1 channel, but instance 0 has 2; "
        "every instance must have the same channels.",
    ):
        to_panel([GOOD, df([[1]], columns=["a"])])


def test_mixed_channel_counts_arrays():
    with raises(
        ValueError,
        "instance 2 has 3 channels, but instance 0 has 2; "
        "every instance must have the same channels.",
    ):
        to_panel([np.zeros((2, 4)), np.zeros((2, 3)), np.zeros((3, 4))])


def test_different_channel_names():
    with raises(
        ValueError,
        "instance 1 has channels ['a', 'c'], but instance 0 "
        "has ['a', 'b']; every instance must have the same "
        "channels.",
    ):
        to_panel([GOOD, df([[1, 2]], columns=["a", "c"])])


def test_duplicate_column_names():
    bad = pd.DataFrame([[1.0, 2.0]], columns=["a", "a"])
    with raises(
        ValueError,
        "instance 0 has duplicate column names ['a']; channels need unique names.",
    ):
        to_panel([bad])


# -- values -------------------------------------------------------------------
def test_non_numeric_column_in_frames():
    bad = GOOD.assign(b=["x", "y"])
    with raises(TypeError, "instance 1: column 'b' has non-numeric dtype"):
        to_panel([GOOD, bad])


def test_non_numeric_column_in_multiindex():
    X = pd.concat([GOOD, GOOD], keys=[0, 1]).assign(b="x")
    with raises(TypeError, "Column 'b' of X has non-numeric dtype"):
        to_panel(X)


def test_non_numeric_numpy():
    with raises(TypeError, "X has dtype <U1; expected numbers"):
        to_panel(np.array([[["a", "b"]]]))
    with raises(TypeError, "instance 1 has dtype object; expected numbers"):
        to_panel([np.zeros((1, 2)), np.array([[None, 1]], dtype=object)])


def test_empty_instance():
    with raises(ValueError, "instance 1 is empty: it has no rows."):
        to_panel([GOOD, GOOD.iloc[:0]])
    with raises(ValueError, "instance 0 is empty: it has no rows."):
        to_panel([np.zeros((2, 0))])


def test_empty_instance_names_the_id():
    X = pd.DataFrame(
        {"a": [1.0, NAN]}, index=pd.MultiIndex.from_arrays([["p", "q"], [0, 0]])
    )
    with raises(
        ValueError, "instance 1 (id 'q') has no observed value: all its values are NaN."
    ):
        to_panel(X)


def test_all_nan_instance():
    with raises(
        ValueError, "instance 1 has no observed value: all its values are NaN."
    ):
        to_panel([GOOD, df([[NAN, NAN]])])
    with raises(ValueError, "instance 0 has no observed value"):
        to_panel(np.full((1, 2, 3), NAN))


def test_infinite_value():
    bad = df([[1, 2], [3, np.inf]], index=[0.0, 1.5])
    with raises(
        ValueError,
        "instance 1, channel 'b' has an infinite value at "
        "time 1.5; values must be finite",
    ):
        to_panel([GOOD, bad])


def test_infinite_value_numpy_and_multiindex():
    X = np.zeros((2, 3, 4))
    X[1, 2, 3] = -np.inf
    with raises(ValueError, "instance 1, channel 2 has an infinite value at time 3;"):
        to_panel(X)
    M = pd.concat([GOOD, GOOD.assign(a=[1.0, np.inf])], keys=["u", "v"])
    with raises(
        ValueError, "instance 1 (id 'v'), channel 'a' has an infinite value at time 1;"
    ):
        to_panel(M)


def test_value_beyond_float32_range():
    with raises(
        ValueError,
        "instance 0, channel 0 has an infinite value at "
        "time 1; values must be finite (and within the "
        "float32 range)",
    ):
        to_panel(np.array([[1.0, 1e39]]))


# -- timestamps ---------------------------------------------------------------
def test_duplicate_timestamps():
    bad = df([[1, 2], [3, 4]], index=[5.0, 5.0])
    with raises(
        ValueError,
        "instance 1 has the duplicate timestamp 5; "
        "timestamps must be unique within an instance",
    ):
        to_panel([GOOD, bad])


def test_duplicate_timestamps_in_multiindex():
    X = pd.DataFrame(
        {"a": [1.0, 2.0, 3.0]},
        index=pd.MultiIndex.from_arrays([[7, 8, 8], [0.0, 1.0, 1.0]]),
    )
    with raises(ValueError, "instance 1 (id 8) has the duplicate timestamp 1;"):
        to_panel(X)


def test_decreasing_timestamps():
    bad = df([[1, 2], [3, 4], [5, 6]], index=[0.0, 2.0, 1.5])
    with raises(
        ValueError,
        "instance 0 has decreasing timestamps: 1.5 follows "
        "2; sort each instance by time.",
    ):
        to_panel([bad, GOOD])


def test_decreasing_datetimes_are_shown_as_datetimes():
    idx = pd.to_datetime(["2024-01-02", "2024-01-01"])
    with raises(
        ValueError,
        "instance 0 has decreasing timestamps: 2024-01-01 "
        "00:00:00 follows 2024-01-02 00:00:00;",
    ):
        to_panel([df([[1, 2], [3, 4]], index=idx)])


def test_decreasing_time_channel_numpy():
    X = np.array([[[0.0, 2.0, 1.0], [1.0, 1.0, 1.0]]])
    with raises(ValueError, "instance 0 has decreasing timestamps: 1 follows 2;"):
        to_panel(X, time_channel=0)


def test_missing_timestamp_at_observation():
    with raises(
        ValueError,
        "instance 0 has a missing or infinite timestamp (NaN) "
        "at an observed step (row 1 of the instance).",
    ):
        to_panel([df([[1, 2], [3, 4]], index=[0.0, NAN])])
    X = np.array([[[0.0, NAN], [1.0, 2.0]]])
    with raises(ValueError, "instance 0 has a missing or infinite timestamp"):
        to_panel(X, time_channel=0)


def test_mixed_timestamp_kinds_across_instances():
    dated = df([[1, 2]], index=pd.to_datetime(["2024-01-01"]))
    with raises(
        TypeError,
        "instance 1 has datetime64 timestamps, but instance 0 "
        "has numeric timestamps; use one kind of timestamp "
        "for all instances.",
    ):
        to_panel([GOOD, dated])
    delta = df([[1, 2]], index=pd.to_timedelta([1], unit="s"))
    with raises(
        TypeError,
        "instance 1 has timedelta64 timestamps, but instance "
        "0 has datetime64 timestamps",
    ):
        to_panel([dated, delta])


def test_timezone_aware_and_naive_are_different_kinds():
    naive = df([[1, 2]], index=pd.to_datetime(["2024-01-01"]))
    aware = df([[1, 2]], index=pd.to_datetime(["2024-01-01"]).tz_localize("UTC"))
    with raises(
        TypeError,
        "instance 1 has timezone-aware datetime64 timestamps, "
        "but instance 0 has datetime64 timestamps",
    ):
        to_panel([naive, aware])


def test_mixed_timestamp_kinds_within_an_instance():
    idx = pd.Index([1, pd.Timestamp("2024-01-01")], dtype=object)
    with raises(TypeError, "instance 0: timestamps mix kinds (Timestamp, int)."):
        to_panel([df([[1, 2], [3, 4]], index=idx)])


def test_string_timestamps():
    with raises(
        TypeError,
        "instance 0: timestamps are strings; parse them first with pd.to_datetime",
    ):
        to_panel([df([[1, 2]], index=["2024-01-01"])])


def test_boolean_timestamps():
    with raises(TypeError, "instance 0: timestamps are booleans"):
        to_panel([df([[1, 2], [3, 4]], index=[False, True])])


def test_string_time_level_in_multiindex():
    X = pd.DataFrame({"a": [1.0]}, index=pd.MultiIndex.from_arrays([[0], ["t"]]))
    with raises(TypeError, "The time level of X: timestamps are strings"):
        to_panel(X)


# -- y ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "X",
    [np.zeros((3, 1, 2)), [GOOD] * 3, pd.concat([GOOD] * 3, keys=["a", "b", "c"])],
)
def test_x_and_y_lengths(X):
    with raises(ValueError, "X has 3 instances, but y has 2 entries; they must match."):
        check_y_length(X, [0, 1])
    y = np.array([0, 1, 0])
    assert check_y_length(X, y) is y
    assert check_y_length(to_panel(X), y) is y
    assert check_y_length(X, None) is None


# -- containers and settings ----------------------------------------------------
def test_unsupported_container():
    with raises(TypeError, "X must be a numpy array"):
        to_panel({"a": 1})
    with raises(TypeError, "got dict"):
        to_panel({"a": 1})


def test_wide_frame_with_text_column():
    frame = pd.DataFrame({"t0": [1.0, 2.0], "t1": ["a", "b"]})
    with raises(TypeError, "X: column 't1' has non-numeric dtype"):
        to_panel(frame)


def test_wide_frame_with_decreasing_time_labels():
    frame = pd.DataFrame([[1.0, 2.0]], columns=[1.0, 0.5])
    with raises(ValueError, "decreasing timestamps: 0.5 follows 1"):
        to_panel(frame)


def test_numpy_wrong_ndim():
    with raises(
        ValueError,
        "numpy X must be 3D (n_instances, n_channels, "
        "n_timepoints) or 2D (n_instances, n_timepoints); got "
        "an array of shape (3,).",
    ):
        to_panel(np.zeros(3))
    with raises(ValueError, "got an array of shape (1, 1, 1, 1)"):
        to_panel(np.zeros((1, 1, 1, 1)))


def test_no_instances():
    message = "X contains no instances; at least one is required."
    with raises(ValueError, message):
        to_panel([])
    with raises(ValueError, message):
        to_panel(np.zeros((0, 2, 3)))
    with raises(ValueError, message):
        to_panel(pd.concat([GOOD], keys=[0]).iloc[:0])


def test_no_time_points():
    with raises(
        ValueError,
        "X has no time points: found array with 0 feature(s) (shape=(2, 1, 0)) "
        "while a minimum of 1 is required.",
    ):
        to_panel(np.zeros((2, 1, 0)))


def test_complex_values():
    with raises(ValueError, "Complex data not supported: X has dtype complex128"):
        to_panel(np.zeros((2, 1, 3), dtype=complex))


def test_object_arrays_of_numbers_convert_and_others_are_named():
    X = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(to_panel(X.astype(object)).values, to_panel(X).values)
    bad = X.astype(object)
    bad[0, 0] = {"a": 1}
    with raises(TypeError, "X has dtype object and holds a value that is not a number"):
        to_panel(bad)


def test_sparse_input_is_rejected():
    import scipy.sparse

    with raises(TypeError, "Sparse data is not supported: X is a sparse matrix"):
        to_panel(scipy.sparse.csr_matrix(np.eye(3)))


def test_array_likes_convert_like_arrays():
    class ArrayLike:
        def __init__(self, data):
            self.data = data

        def __array__(self, dtype=None, copy=None):
            return self.data

    X = np.arange(12.0).reshape(2, 2, 3)
    np.testing.assert_array_equal(to_panel(ArrayLike(X)).values, to_panel(X).values)


def test_one_dimensional_input_says_how_to_reshape():
    with raises(ValueError, "Reshape your data: X.reshape(1, -1) makes one"):
        to_panel(np.zeros(5))


def test_mixed_instance_types():
    with raises(
        TypeError,
        "instance 1 is a ndarray, but instance 0 is a "
        "DataFrame; all instances must have the same type.",
    ):
        to_panel([GOOD, np.zeros((2, 2))])
    with raises(
        TypeError, "instance 1 is a DataFrame, but instance 0 is a numpy array"
    ):
        to_panel([np.zeros((2, 2)), GOOD])
    with raises(TypeError, "instance 1 is a Series, but instance 0 is a DataFrame"):
        to_panel([GOOD, GOOD["a"]])


def test_time_channel_errors():
    with raises(ValueError, "time_channel is not supported for 2D numpy input"):
        to_panel(np.zeros((2, 3)), time_channel=0)
    with raises(ValueError, "time_channel=5 is out of range for X with 2 channels."):
        to_panel(np.zeros((2, 2, 3)), time_channel=5)
    with raises(
        TypeError,
        "time_channel must be an integer channel position for numpy input; got 't'.",
    ):
        to_panel(np.zeros((2, 2, 3)), time_channel="t")
    with raises(
        ValueError,
        "time_channel='t' is not a column of instance 0; its columns are ['a', 'b'].",
    ):
        to_panel([GOOD], time_channel="t")
    with raises(ValueError, "X has no value channels"):
        to_panel(np.zeros((2, 1, 3)), time_channel=0)


def test_time_unit_errors():
    with raises(ValueError, "time_unit='hours' is not supported; use one of"):
        to_panel([GOOD], time_unit="hours")
    with raises(TypeError, "time_unit must be a string such as 's' or 'h'"):
        to_panel([GOOD], time_unit=3)


def test_multiindex_levels_and_missing_ids():
    X = pd.DataFrame(
        {"a": [1.0]},
        index=pd.MultiIndex.from_arrays([[0], [0], [0]], names=["i", "j", "t"]),
    )
    with raises(
        ValueError,
        "A MultiIndex X must have 2 levels (instance, time); "
        "got 3 levels ['i', 'j', 't'].",
    ):
        to_panel(X)
    X = pd.DataFrame(
        {"a": [1.0, 2.0]}, index=pd.MultiIndex.from_arrays([[0, NAN], [0, 1]])
    )
    with raises(ValueError, "X has a missing instance id at row 1."):
        to_panel(X)
