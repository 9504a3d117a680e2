"""Property tests: every format of the same data yields identical arrays."""

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from sklearn_cfc.panel import PanelEncoder, from_long, to_panel

NAN = np.nan


@st.composite
def raw_panels(draw):
    """(channels, [(times (L,), values (L, C))]) with exact float timestamps."""
    n = draw(st.integers(1, 4))
    C = draw(st.integers(1, 3))
    value = st.one_of(st.just(NAN), st.floats(-1e6, 1e6, allow_nan=False, width=32))
    instances = []
    for _ in range(n):
        L = draw(st.integers(1, 6))
        gaps = draw(st.lists(st.integers(1, 40), min_size=L, max_size=L))
        start = draw(st.integers(-8, 8))
        times = start + 0.25 * np.cumsum(gaps).astype(float)
        values = np.array(
            draw(
                st.lists(
                    st.lists(value, min_size=C, max_size=C), min_size=L, max_size=L
                )
            ),
            dtype=float,
        )
        if np.isnan(values).all():
            values[draw(st.integers(0, L - 1)), draw(st.integers(0, C - 1))] = 1.5
        instances.append((times, values))
    return [f"c{j}" for j in range(C)], instances


def all_formats(channels, instances):
    """The same panel in every accepted format."""
    frames = [
        pd.DataFrame(v, index=pd.Index(t), columns=channels) for t, v in instances
    ]
    ids = [f"id{i}" for i in range(len(instances))]
    T = max(len(t) for t, _ in instances)
    X3 = np.full((len(instances), len(channels) + 1, T), NAN)
    for i, (t, v) in enumerate(instances):
        X3[i, 0, : len(t)] = t
        X3[i, 1:, : len(t)] = v.T
    long = pd.DataFrame(
        [
            (i, t[r], c, v[r, j])
            for i, (t, v) in zip(ids, instances, strict=False)
            for r in range(len(t))
            for j, c in enumerate(channels)
        ],
        columns=["id", "time", "variable", "value"],
    )
    seconds = [f.set_axis(pd.to_timedelta(f.index, unit="s")) for f in frames]
    return {
        "frames": frames,
        "series": [f[channels[0]] for f in frames] if len(channels) == 1 else None,
        "multiindex": pd.concat(frames, keys=ids),
        "nested": pd.DataFrame(
            {c: [f[c] for f in frames] for c in channels}, index=ids
        ),
        "arrays": ([np.vstack([t, v.T]) for t, v in instances], 0),
        "numpy3d": (X3, 0),
        "long_list": from_long(long, variables=channels),
        "long_multiindex": from_long(
            long, variables=channels, return_type="multiindex"
        ),
        "timedelta": seconds,
    }


@settings(max_examples=60, deadline=None)
@given(raw_panels())
def test_every_format_yields_identical_arrays(raw):
    channels, instances = raw
    reference = to_panel(all_formats(channels, instances)["frames"])
    for name, X in all_formats(channels, instances).items():
        if X is None:
            continue
        time_channel = None
        if isinstance(X, tuple):
            X, time_channel = X
        panel = to_panel(X, time_channel=time_channel)
        for field in ("values", "times", "mask", "lengths"):
            np.testing.assert_array_equal(
                getattr(panel, field),
                getattr(reference, field),
                err_msg=f"{name}: {field}",
            )


@settings(max_examples=40, deadline=None)
@given(raw_panels())
def test_panel_invariants(raw):
    channels, instances = raw
    panel = to_panel([pd.DataFrame(v, index=t, columns=channels) for t, v in instances])
    T = panel.n_timepoints
    valid = np.arange(T) < panel.lengths[:, None]
    assert panel.lengths.max() == T
    assert panel.lengths.min() >= 1
    np.testing.assert_array_equal(panel.mask, ~np.isnan(panel.values))
    assert panel.mask.any(axis=2)[valid].all()  # every step is an observation
    assert not panel.mask[~valid].any()
    assert np.isnan(panel.times[~valid]).all()
    assert (np.diff(panel.times, axis=1)[valid[:, 1:]] > 0).all()
    # observed values are kept exactly, in time order
    for i, (t, v) in enumerate(instances):
        keep = ~np.isnan(v).all(axis=1)
        np.testing.assert_array_equal(panel.times[i, : panel.lengths[i]], t[keep])
        np.testing.assert_array_equal(
            panel.values[i, : panel.lengths[i]], v[keep].astype(np.float32)
        )


@settings(max_examples=40, deadline=None)
@given(raw_panels(), st.data())
def test_encoding_a_batch_equals_slicing_the_encoding(raw, data):
    channels, instances = raw
    panel = to_panel([pd.DataFrame(v, index=t, columns=channels) for t, v in instances])
    enc = PanelEncoder().fit(panel)
    whole = enc.transform(panel)
    idx = data.draw(st.lists(st.integers(0, len(panel) - 1), min_size=1, max_size=4))
    batch = enc.transform(panel.take(idx))
    sliced = whole.take(idx)
    np.testing.assert_array_equal(batch.inputs, sliced.inputs)
    np.testing.assert_array_equal(batch.dt, sliced.dt)
    np.testing.assert_array_equal(batch.lengths, sliced.lengths)
    assert np.isfinite(whole.inputs).all()
    assert np.isfinite(whole.dt).all()
