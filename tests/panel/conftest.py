"""Shared helpers for the panel tests."""

import numpy as np
import pytest


def _assert_same_panel(a, b, *, check_channels=True):
    assert a.values.shape == b.values.shape
    np.testing.assert_array_equal(a.lengths, b.lengths)
    np.testing.assert_array_equal(a.values, b.values)  # NaN == NaN here
    np.testing.assert_array_equal(a.times, b.times)
    np.testing.assert_array_equal(a.mask, b.mask)
    assert a.values.dtype == np.float32
    assert a.times.dtype == np.float64
    if check_channels:
        assert a.channels == b.channels


@pytest.fixture
def assert_same_panel():
    """``assert_same_panel(a, b)``: identical arrays, NaN included."""
    return _assert_same_panel
