"""Every accepted input format gives the documented Panel."""

import numpy as np
import pandas as pd
import pytest

from sklearn_cfc.panel import Panel, count_instances, input_format, to_panel

NAN = np.nan


@pytest.fixture
def frames():
    """Two instances, two channels, irregular float times, partial NaN."""
    a = pd.DataFrame(
        {"hr": [1.0, NAN, 3.0, NAN], "bp": [NAN, NAN, 2.0, 5.0]},
        index=pd.Index([0.0, 1.0, 2.5, 4.0], name="time"),
    )  # the row at 1.0 is all-NaN: not an observation
    b = pd.DataFrame({"hr": [4.0, 5.0], "bp": [1.0, NAN]}, index=[1.0, 3.0])
    return [a, b]


@pytest.fixture
def expected():
    return {
        "values": np.array(
            [[[1, NAN], [3, 2], [NAN, 5]], [[4, 1], [5, NAN], [NAN, NAN]]],
            dtype=np.float32,
        ),
        "times": np.array([[0.0, 2.5, 4.0], [1.0, 3.0, NAN]]),
        "lengths": np.array([3, 2]),
    }


def _check(panel, expected):
    np.testing.assert_array_equal(panel.values, expected["values"])
    np.testing.assert_array_equal(panel.times, expected["times"])
    np.testing.assert_array_equal(panel.lengths, expected["lengths"])
    np.testing.assert_array_equal(panel.mask, ~np.isnan(expected["values"]))
    assert panel.lengths.dtype == np.int64
    assert panel.mask.dtype == bool


def test_list_of_frames(frames, expected):
    panel = to_panel(frames)
    _check(panel, expected)
    assert panel.channels == ("hr", "bp")
    assert panel.instance_ids is None
    assert panel.time_unit is None


def test_multiindex(frames, expected):
    X = pd.concat(frames, keys=["s1", "s2"], names=["stay", "time"])
    panel = to_panel(X)
    _check(panel, expected)
    assert panel.instance_ids.tolist() == ["s1", "s2"]


def test_multiindex_instances_not_contiguous(frames, expected):
    X = pd.concat(frames, keys=["s1", "s2"], names=["stay", "time"])
    shuffled = X.iloc[[0, 4, 1, 2, 5, 3]]  # interleaved, time order kept
    panel = to_panel(shuffled)
    _check(panel, expected)
    assert panel.instance_ids.tolist() == ["s1", "s2"]


def test_multiindex_order_of_first_appearance(frames, expected):
    X = pd.concat(frames[::-1], keys=["z", "a"], names=["stay", "time"])
    panel = to_panel(X)
    assert panel.instance_ids.tolist() == ["z", "a"]
    np.testing.assert_array_equal(panel.lengths, [2, 3])


def test_multiindex_series(frames):
    X = pd.concat(frames, keys=[0, 1])["hr"]
    panel = to_panel(X)
    assert panel.channels == ("hr",)
    np.testing.assert_array_equal(panel.lengths, [2, 2])


def test_multiindex_time_channel(frames, expected):
    X = pd.concat(frames, keys=[0, 1], names=["id", "time"])
    ids = X.index.get_level_values(0)
    X = X.assign(t=X.index.get_level_values(1)).set_axis(
        pd.MultiIndex.from_arrays([ids, np.arange(len(X))])
    )
    panel = to_panel(X, time_channel="t")
    _check(panel, expected)
    assert panel.channels == ("hr", "bp")


def test_nested_univ(frames, expected):
    X = pd.DataFrame(
        {c: [f[c] for f in frames] for c in ["hr", "bp"]}, index=["s1", "s2"]
    )
    panel = to_panel(X)
    _check(panel, expected)
    assert panel.instance_ids.tolist() == ["s1", "s2"]


def test_nested_univ_channels_at_different_times():
    X = pd.DataFrame(
        {
            "a": [pd.Series([1.0, 2.0], index=[0, 2])],
            "b": [pd.Series([3.0], index=[1])],
        }
    )
    panel = to_panel(X)
    np.testing.assert_array_equal(panel.times, [[0, 1, 2]])
    np.testing.assert_array_equal(panel.values[0], [[1, NAN], [NAN, 3], [2, NAN]])


def test_sktime_nested_univ_matches_numpy3d():
    convert_to = pytest.importorskip("sktime.datatypes").convert_to
    X = np.random.default_rng(0).normal(size=(3, 2, 5))
    X[1, :, 3:] = NAN
    nested = convert_to(X, "nested_univ")
    a, b = to_panel(nested), to_panel(X)
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.times, b.times)


def test_list_of_arrays_with_time_channel(frames, expected):
    arrays = [np.vstack([f.index.to_numpy(float), f.to_numpy().T]) for f in frames]
    panel = to_panel(arrays, time_channel=0)
    _check(panel, expected)
    assert panel.channels == (1, 2)


def test_numpy3d_with_time_channel(frames, expected):
    X = np.full((2, 3, 4), NAN)
    for i, f in enumerate(frames):
        X[i, 0, : len(f)] = f.index
        X[i, 1:, : len(f)] = f.to_numpy().T
    _check(to_panel(X, time_channel=0), expected)


def test_numpy3d_step_time_gaps_and_trailing_nan():
    X = np.array(
        [[[1.0, NAN, 3.0, 4.0]], [[5.0, 6.0, NAN, NAN]]]
    )  # instance 0 has a gap at step 1, instance 1 ends at step 1
    panel = to_panel(X)
    np.testing.assert_array_equal(panel.times, [[0, 2, 3], [0, 1, NAN]])
    np.testing.assert_array_equal(panel.lengths, [3, 2])
    np.testing.assert_array_equal(panel.values[:, :, 0], [[1, 3, 4], [5, 6, NAN]])
    assert panel.channels == (0,)


def test_numpy3d_regular_fast_path_is_exact():
    X = np.arange(24.0).reshape(2, 3, 4)
    panel = to_panel(X)
    np.testing.assert_array_equal(panel.values, X.transpose(0, 2, 1))
    np.testing.assert_array_equal(panel.times, [[0, 1, 2, 3]] * 2)
    assert panel.mask.all()
    assert panel.channels == (0, 1, 2)
    np.testing.assert_array_equal(panel.to_numpy3d(), X)


def test_numpy2d_is_univariate():
    X = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, NAN]])
    a, b = to_panel(X), to_panel(X[:, None, :])
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.lengths, [3, 2])


def test_numpy_int_and_bool_values():
    panel = to_panel(np.array([[1, 0, 1]], dtype=bool))
    np.testing.assert_array_equal(panel.values[0, :, 0], [1, 0, 1])
    panel = to_panel(np.array([[[3, 4]]], dtype=np.int64))
    np.testing.assert_array_equal(panel.values[0, :, 0], [3, 4])


def test_nested_python_lists():
    a = to_panel([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(a.values[:, :, 0], [[1, 2], [3, 4]])
    ragged = to_panel([[1.0, 2.0, 3.0], [4.0]])
    np.testing.assert_array_equal(ragged.lengths, [3, 1])


def test_list_of_1d_arrays_of_any_length():
    panel = to_panel([np.arange(3.0), np.arange(5.0)])
    np.testing.assert_array_equal(panel.lengths, [3, 5])
    np.testing.assert_array_equal(panel.times[0], [0, 1, 2, NAN, NAN])


def test_list_of_series():
    panel = to_panel(
        [
            pd.Series([1.0, 2.0], index=[0.5, 0.7], name="x"),
            pd.Series([3.0], index=[0.1], name="x"),
        ]
    )
    assert panel.channels == ("x",)
    np.testing.assert_array_equal(panel.times, [[0.5, 0.7], [0.1, NAN]])


def test_tuple_is_a_list(frames):
    a, b = to_panel(frames), to_panel(tuple(frames))
    np.testing.assert_array_equal(a.values, b.values)


def test_frames_with_reordered_columns(frames, expected):
    frames[1] = frames[1][["bp", "hr"]]
    _check(to_panel(frames), expected)


def test_frames_time_channel_column(frames, expected):
    moved = [f.reset_index(names="t").set_axis(range(len(f))) for f in frames]
    panel = to_panel(moved, time_channel="t")
    _check(panel, expected)
    assert panel.channels == ("hr", "bp")


def test_frames_with_range_index_and_int_index():
    a = pd.DataFrame({"x": [1.0, 2.0, 3.0]})  # RangeIndex
    b = pd.DataFrame({"x": [1.0, 2.0]}, index=pd.RangeIndex(10, 14, 2))
    c = pd.DataFrame({"x": [7.0]}, index=np.array([5], dtype=np.int32))
    panel = to_panel([a, b, c])
    np.testing.assert_array_equal(
        panel.times, [[0, 1, 2], [10, 12, NAN], [5, NAN, NAN]]
    )


def test_nullable_dtypes():
    df = pd.DataFrame(
        {
            "a": pd.array([1, None, 3], dtype="Int64"),
            "b": pd.array([0.5, 1.5, None], dtype="Float64"),
            "c": pd.array([True, None, False], dtype="boolean"),
        }
    )
    panel = to_panel([df])
    np.testing.assert_array_equal(
        panel.values[0], [[1, 0.5, 1], [NAN, 1.5, NAN], [3, NAN, 0]]
    )


@pytest.mark.parametrize(
    "unit, gaps", [("s", [5400.0]), ("min", [90.0]), ("h", [1.5]), ("D", [1 / 16])]
)
def test_datetime_index_units(unit, gaps):
    idx = pd.to_datetime(["2024-03-01 00:00", "2024-03-01 01:30"])
    panel = to_panel([pd.DataFrame({"x": [1.0, 2.0]}, index=idx)], time_unit=unit)
    np.testing.assert_allclose(np.diff(panel.times[0]), gaps)
    assert panel.time_unit == unit


def test_datetime_is_time_since_epoch():
    idx = pd.to_datetime(["1970-01-02", "1970-01-03"])
    panel = to_panel([pd.DataFrame({"x": [1.0, 2.0]}, index=idx)], time_unit="D")
    np.testing.assert_array_equal(panel.times, [[1.0, 2.0]])


def test_timedelta_and_custom_unit():
    idx = pd.to_timedelta([0, 30, 45], unit="min")
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0]}, index=idx)
    panel = to_panel([df], time_unit=pd.Timedelta(minutes=15))
    np.testing.assert_array_equal(panel.times, [[0, 2, 3]])
    assert to_panel([df], time_unit="h").times[0, 1] == 0.5


def test_timezone_aware_becomes_utc():
    idx = pd.date_range("2024-01-01", periods=2, freq="h", tz="Europe/Paris")
    panel = to_panel([pd.DataFrame({"x": [1.0, 2.0]}, index=idx)], time_unit="h")
    naive = pd.date_range("2023-12-31 23:00", periods=2, freq="h")
    ref = to_panel([pd.DataFrame({"x": [1.0, 2.0]}, index=naive)], time_unit="h")
    np.testing.assert_array_equal(panel.times, ref.times)


def test_period_index():
    idx = pd.period_range("2024-01-01", periods=3, freq="D")
    panel = to_panel([pd.DataFrame({"x": [1.0, 2.0, 3.0]}, index=idx)], time_unit="D")
    np.testing.assert_array_equal(np.diff(panel.times[0]), [1, 1])


def test_datetime_multiindex_level():
    idx = pd.MultiIndex.from_product(
        [["a", "b"], pd.date_range("2024-01-01", periods=3, freq="10s")]
    )
    X = pd.DataFrame({"x": np.arange(6.0)}, index=idx)
    panel = to_panel(X)
    np.testing.assert_allclose(np.diff(panel.times, axis=1), 10.0)


def test_object_index_of_numbers():
    df = pd.DataFrame({"x": [1.0, 2.0]}, index=pd.Index([1, 2.5], dtype=object))
    np.testing.assert_array_equal(to_panel([df]).times, [[1.0, 2.5]])


def test_panel_passes_through(frames):
    panel = to_panel(frames)
    assert to_panel(panel) is panel


def test_panel_take_trims_padding(frames):
    panel = to_panel(frames)
    sub = panel.take([1])
    assert sub.values.shape == (1, 2, 2)
    np.testing.assert_array_equal(sub.times, [[1.0, 3.0]])
    assert panel.take(np.array([False, True])).n_timepoints == 2
    assert len(panel.take([1, 0, 1])) == 3


def test_panel_exports_round_trip(frames, assert_same_panel):
    panel = to_panel(frames)
    assert_same_panel(to_panel(panel.to_frames()), panel)
    assert_same_panel(to_panel(panel.to_multiindex()), panel)
    X3 = panel.to_numpy3d()
    assert X3.shape == (2, 2, 3)


def test_panel_repr_and_sizes(frames):
    panel = to_panel(frames)
    assert repr(panel) == (
        "Panel(n_instances=2, n_timepoints=3, n_channels=2, lengths=2..3)"
    )
    assert (panel.n_instances, panel.n_timepoints, panel.n_channels) == (2, 3, 2)
    assert len(panel) == 2


def test_panel_constructor_checks_shapes():
    v = np.zeros((2, 3, 1), dtype=np.float32)
    ok = dict(
        values=v,
        times=np.zeros((2, 3)),
        mask=v > 0,
        lengths=np.array([3, 3]),
        channels=(0,),
    )
    Panel(**ok)
    with pytest.raises(ValueError, match="Inconsistent Panel shapes"):
        Panel(**{**ok, "times": np.zeros((2, 2))})
    with pytest.raises(TypeError, match="float32"):
        Panel(**{**ok, "values": v.astype(np.float64)})
    with pytest.raises(ValueError, match="2 channel names"):
        Panel(**{**ok, "channels": (0, 1)})


@pytest.mark.parametrize(
    "X, n",
    [
        (np.zeros((4, 2, 3)), 4),
        (np.zeros((5, 3)), 5),
        ([np.zeros(2)] * 3, 3),
        (
            pd.DataFrame(
                {"x": [1.0, 2, 3]},
                index=pd.MultiIndex.from_arrays([[0, 0, 7], [0, 1, 0]]),
            ),
            2,
        ),
    ],
)
def test_count_instances(X, n):
    assert count_instances(X) == n


def test_wide_frame_is_a_univariate_series_per_row():
    values = np.array([[1.0, 2.0, np.nan], [3.0, 4.0, 5.0]])
    wide = pd.DataFrame(values, index=["a", "b"])
    panel = to_panel(wide)
    expected = to_panel(values)
    np.testing.assert_array_equal(panel.values, expected.values)
    np.testing.assert_array_equal(panel.lengths, [2, 3])
    assert list(panel.instance_ids) == ["a", "b"]


def test_wide_frame_columns_are_timestamps_when_they_are_times():
    wide = pd.DataFrame([[1.0, 2.0, 3.0]], columns=[0.0, 0.5, 2.0])
    np.testing.assert_array_equal(to_panel(wide).times[0], [0.0, 0.5, 2.0])
    named = pd.DataFrame([[1.0, 2.0]], columns=["first", "second"])
    np.testing.assert_array_equal(to_panel(named).times[0], [0.0, 1.0])
    stamps = pd.to_datetime(["2024-01-01 00:00", "2024-01-01 02:00"])
    dated = pd.DataFrame([[1.0, 2.0]], columns=stamps)
    np.testing.assert_array_equal(
        np.diff(to_panel(dated, time_unit="h").times[0]), [2.0]
    )


@pytest.mark.parametrize(
    "X, name",
    [
        (np.zeros((4, 2, 3)), "numpy"),
        (np.zeros((4, 3)), "numpy"),
        ([np.zeros(2)] * 3, "np-list"),
        ([[1.0, 2.0], [3.0]], "np-list"),
        ([pd.DataFrame({"x": [1.0]})], "df-list"),
        ((pd.Series([1.0]),), "df-list"),
        (
            pd.DataFrame(
                {"x": [1.0, 2.0]}, index=pd.MultiIndex.from_arrays([[0, 1], [0, 0]])
            ),
            "pd-multiindex",
        ),
        (
            pd.Series([1.0, 2.0], index=pd.MultiIndex.from_arrays([[0, 1], [0, 0]])),
            "pd-multiindex",
        ),
        (pd.DataFrame({"x": [pd.Series([1.0, 2.0])]}), "nested_univ"),
        (pd.DataFrame([[1.0, 2.0]]), "pd-wide"),
    ],
)
def test_input_format_names_every_accepted_format(X, name):
    assert input_format(X) == name
    assert count_instances(X) == len(to_panel(X))


def test_input_format_refuses_the_rest():
    import scipy.sparse as sp

    with pytest.raises(TypeError, match="Sparse data is not supported"):
        input_format(sp.csr_matrix(np.eye(2)))
    with pytest.raises(TypeError, match="X must be a numpy array"):
        input_format("abc")
    assert input_format(to_panel(np.zeros((2, 3)))) == "Panel"
