"""Length bucketing and trimmed batches."""

import re

import numpy as np
import pytest

from sklearn_cfc.panel import PanelEncoder, bucket_batches, to_panel


def test_sorted_batches_without_shuffle():
    batches = bucket_batches([5, 1, 4, 2, 3, 1, 6], batch_size=3)
    assert [b.tolist() for b in batches] == [[1, 5, 3], [4, 2, 0], [6]]
    assert all(b.dtype == np.int64 for b in batches)


def test_shuffle_covers_every_instance_once_and_is_seeded():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 200, size=1000)
    a = bucket_batches(lengths, 32, shuffle=True, random_state=0, pool_batches=5)
    b = bucket_batches(lengths, 32, shuffle=True, random_state=0, pool_batches=5)
    c = bucket_batches(lengths, 32, shuffle=True, random_state=1, pool_batches=5)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=False))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c, strict=False))
    np.testing.assert_array_equal(np.sort(np.concatenate(a)), np.arange(1000))


def test_bucketing_reduces_padding():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 200, size=2000)

    def padded(batches):
        return sum(len(b) * lengths[b].max() for b in batches)

    bucketed = padded(bucket_batches(lengths, 32, shuffle=True, random_state=0))
    plain = padded(np.array_split(rng.permutation(2000), 2000 // 32))
    assert bucketed < 0.7 * plain


def test_drop_last():
    batches = bucket_batches(np.arange(10), 4, drop_last=True)
    assert [len(b) for b in batches] == [4, 4]
    batches = bucket_batches(
        np.arange(10), 4, shuffle=True, drop_last=True, random_state=0
    )
    assert sorted(len(b) for b in batches) == [4, 4]


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_bad_batch_size(bad):
    with pytest.raises(
        ValueError,
        match=re.escape(f"batch_size must be a positive integer; got {bad!r} instead."),
    ):
        bucket_batches([1, 2], bad)


def test_take_trims_a_batch_to_its_own_longest():
    panel = to_panel([np.arange(9.0), np.arange(2.0), np.arange(3.0)])
    enc = PanelEncoder().fit_transform(panel)
    for batch in bucket_batches(panel.lengths, 2):
        sub = panel.take(batch)
        assert sub.n_timepoints == panel.lengths[batch].max()
        e = enc.take(batch)
        assert e.inputs.shape[1] == e.dt.shape[1] == sub.n_timepoints
