"""Irregular panels the tests of predictions over time and of export share."""

import numpy as np
import pandas as pd


def irregular_frames(rng, n, C, T, *, gaps=(0.2, 2.5), scale=1.0, shift=0.0):
    """n frames of 1..T rows with irregular float times (gaps drawn from
    ``gaps``), C channels of ``shift + scale * normal`` values, 30% NaN,
    and at least one value in every row."""
    frames = []
    for _ in range(n):
        length = int(rng.integers(1, T + 1))
        times = np.cumsum(rng.uniform(*gaps, size=length))
        values = rng.normal(size=(length, C)) * scale + shift
        values[rng.random(values.shape) < 0.3] = np.nan
        values[:, 0] = np.where(np.isnan(values).all(1), 1.0, values[:, 0])
        frames.append(pd.DataFrame(values, index=pd.Index(times, name="time")))
    return frames


def as_multiindex(frames, start="2026-01-01"):
    """The frames as a pd-multiindex frame (stay, when): datetimes, in hours
    from ``start``."""
    parts = []
    for k, frame in enumerate(frames):
        times = pd.Timestamp(start) + pd.to_timedelta(frame.index * 3600, unit="s")
        index = pd.MultiIndex.from_arrays(
            [np.full(len(frame), f"s{k}"), times.round("s")], names=["stay", "when"]
        )
        parts.append(pd.DataFrame(frame.to_numpy(), index=index))
    return pd.concat(parts)
