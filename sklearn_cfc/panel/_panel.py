"""The ``Panel`` value: one validated, padded batch-first layout (private)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ._time import NUMERIC

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

__all__ = ["Panel"]


@dataclass(frozen=True, eq=False, repr=False)
class Panel:
    """A validated panel of irregularly sampled multivariate series.

    Build it with :func:`to_panel`; the constructor only checks shapes and
    dtypes. Every instance holds ``lengths[i]`` observations, stored at
    steps ``0 .. lengths[i] - 1`` in increasing time order; steps from
    ``lengths[i]`` on are padding. A step is an observation when at least
    one channel is observed there.

    Treat a panel as immutable: methods return new panels and never write
    into the arrays, and the arrays may be read-only views of the input (for
    a regular panel, ``times`` is one row broadcast to every instance);
    copy an array before writing into it.

    Parameters
    ----------
    values : ndarray of shape (n_instances, n_timepoints, n_channels)
        float32 values, NaN where a channel is not observed and in the
        padding.
    times : ndarray of shape (n_instances, n_timepoints)
        float64 timestamps, strictly increasing within ``lengths[i]``,
        NaN in the padding. Datetimes and timedeltas are stored as the
        time since 1970-01-01 (UTC) or since zero, in ``time_unit``.
    mask : ndarray of shape (n_instances, n_timepoints, n_channels)
        bool, True where a value is observed (exactly ``~isnan(values)``);
        False in the padding.
    lengths : ndarray of shape (n_instances,)
        int64, number of observations of each instance, at least 1.
    channels : tuple of length n_channels
        Channel names: column labels for pandas input, the original
        channel positions for numpy input.
    instance_ids : ndarray of shape (n_instances,) or None, default=None
        Instance labels when the input had them (the first level of a
        MultiIndex frame, the index of a nested frame), else None.
    time_unit : str or None, default=None
        Unit of ``times`` when the input timestamps were datetimes or
        timedeltas; None for numeric timestamps or step indices.
    time_kind : str, default='numeric'
        What the input timestamps were: 'numeric' (numbers or step
        indices), 'datetime64', 'timezone-aware datetime64' or
        'timedelta64'.

    Attributes
    ----------
    n_instances : int
    n_timepoints : int
        Padded length, ``lengths.max()``.
    n_channels : int

    See Also
    --------
    to_panel : Build a panel from any accepted input format.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_cfc.panel import to_panel
    >>> X = np.array([[[1.0, np.nan, 3.0]], [[4.0, np.nan, np.nan]]])
    >>> panel = to_panel(X)  # a gap in the first, a shorter second series
    >>> panel
    Panel(n_instances=2, n_timepoints=2, n_channels=1, lengths=1..2)
    >>> panel.times
    array([[ 0.,  2.],
           [ 0., nan]])
    >>> panel.values[:, :, 0]
    array([[ 1.,  3.],
           [ 4., nan]], dtype=float32)
    """

    values: np.ndarray
    times: np.ndarray
    mask: np.ndarray
    lengths: np.ndarray
    channels: tuple
    instance_ids: np.ndarray | None = None
    time_unit: str | None = None
    time_kind: str = NUMERIC

    def __post_init__(self):
        v, t, m, n = self.values, self.times, self.mask, self.lengths
        if not (isinstance(v, np.ndarray) and v.ndim == 3 and v.dtype == np.float32):
            raise TypeError("Panel.values must be a 3D float32 ndarray.")
        if not (isinstance(t, np.ndarray) and t.dtype == np.float64):
            raise TypeError("Panel.times must be a float64 ndarray.")
        if not (isinstance(m, np.ndarray) and m.dtype == np.bool_):
            raise TypeError("Panel.mask must be a bool ndarray.")
        if not (isinstance(n, np.ndarray) and n.dtype == np.int64 and n.ndim == 1):
            raise TypeError("Panel.lengths must be a 1D int64 ndarray.")
        if t.shape != v.shape[:2] or m.shape != v.shape or n.shape != v.shape[:1]:
            raise ValueError(
                f"Inconsistent Panel shapes: values {v.shape}, times {t.shape}, "
                f"mask {m.shape}, lengths {n.shape}."
            )
        if len(self.channels) != v.shape[2]:
            raise ValueError(
                f"Panel has {v.shape[2]} channels but {len(self.channels)} "
                "channel names."
            )
        ids = self.instance_ids
        if ids is not None and len(ids) != v.shape[0]:
            raise ValueError(
                f"Panel has {v.shape[0]} instances but {len(ids)} instance ids."
            )

    # -- sizes ---------------------------------------------------------------
    @property
    def n_instances(self) -> int:
        return self.values.shape[0]

    @property
    def n_timepoints(self) -> int:
        return self.values.shape[1]

    @property
    def n_channels(self) -> int:
        return self.values.shape[2]

    def __len__(self) -> int:
        return self.values.shape[0]

    def __repr__(self) -> str:
        span = f"{self.lengths.min()}..{self.lengths.max()}" if len(self) else "-"
        return (
            f"Panel(n_instances={self.n_instances}, "
            f"n_timepoints={self.n_timepoints}, n_channels={self.n_channels}, "
            f"lengths={span})"
        )

    # -- subsets -------------------------------------------------------------
    def take(self, indices: ArrayLike, *, lengths: ArrayLike | None = None) -> Panel:
        """Select instances, trimming the padding to their own longest.

        Parameters
        ----------
        indices : array-like of int or bool mask
            Instances to keep, in this order (an instance may repeat).
        lengths : array-like of int or None, default=None
            Keep only the first ``lengths[k]`` observations of the ``k``-th
            instance selected (between 1 and its length): the series up to
            that observation. None keeps them all.

        Returns
        -------
        Panel
            ``n_timepoints`` is the longest length kept.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn_cfc.panel import to_panel
        >>> panel = to_panel([np.arange(5.0), np.arange(2.0)])
        >>> panel.take([1]).values.shape
        (1, 2, 1)
        """
        idx = np.asarray(indices)
        if idx.dtype == np.bool_:
            idx = np.flatnonzero(idx)
        idx = idx.astype(np.intp, copy=False)
        kept = self.lengths[idx]
        values, times, mask = self.values, self.times, self.mask
        if lengths is not None:
            cut = np.asarray(lengths, dtype=np.int64)
            if cut.shape != kept.shape or ((cut < 1) | (cut > kept)).any():
                raise ValueError(
                    "Panel.take: lengths must hold one int per instance taken, "
                    "between 1 and that instance's length."
                )
            kept = cut
        T = int(kept.max()) if len(kept) else 0
        values, times, mask = values[idx, :T], times[idx, :T], mask[idx, :T]
        if lengths is not None:  # the observations cut off become padding
            past = np.arange(T) >= kept[:, None]
            values = np.where(past[:, :, None], np.float32(np.nan), values)
            times = np.where(past, np.nan, times)
            mask = mask & ~past[:, :, None]
        ids = None if self.instance_ids is None else self.instance_ids[idx]
        return Panel(
            values=values,
            times=times,
            mask=mask,
            lengths=kept,
            channels=self.channels,
            instance_ids=ids,
            time_unit=self.time_unit,
            time_kind=self.time_kind,
        )

    def observed_fraction(self) -> float:
        """Mean fraction of the channels observed at an observation time.

        1.0 when every channel is observed at every step (and for a panel
        without observations); about ``k / n_channels`` when each time holds
        ``k`` channels, as in health records.

        Returns
        -------
        float

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn_cfc.panel import to_panel
        >>> to_panel(np.array([[[1.0, np.nan], [2.0, 3.0]]])).observed_fraction()
        0.75
        """
        real = np.arange(self.n_timepoints) < self.lengths[:, None]
        return float(self.mask[real].mean()) if real.any() else 1.0

    def is_dense(self) -> bool:
        """Whether most channels are observed at each observation time.

        True when :meth:`observed_fraction` is at least one half: series
        sampled as a whole (sensors, spectra, audio) rather than records
        where each time holds a few of many channels (health records). The
        estimators' ``patch_length="auto"`` and :class:`PanelEncoder`'s
        ``time_grid="auto"`` group steps only for dense panels.

        Returns
        -------
        bool
        """
        return self.observed_fraction() >= 0.5

    # -- resampling ----------------------------------------------------------
    def on_grid(self, step: float) -> Panel:
        """The panel on a regular time grid, empty steps included.

        Each instance's steps become the grid ``t_0, t_0 + step, ...`` from
        its first observation ``t_0`` to the grid point nearest its last;
        an observation moves to the grid point nearest its time. A grid
        point with no observation is a step with every channel unobserved
        (the encoder carries the values forward and counts the time since
        each was observed); several observations of a channel that meet at
        one grid point are averaged. Where every gap is a multiple of
        ``step`` (regular data with dropped observations), nothing moves and
        nothing is averaged: the steps are the original sampling grid.

        Parameters
        ----------
        step : float
            Grid spacing, in the unit of :attr:`times`.

        Returns
        -------
        Panel
            ``lengths`` counts grid points (observed or not).

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn_cfc.panel import to_panel
        >>> panel = to_panel([np.array([1.0, np.nan, np.nan, 4.0])])
        >>> panel.lengths.tolist(), panel.on_grid(1.0).lengths.tolist()
        ([2], [4])
        >>> panel.on_grid(1.0).mask[0, :, 0]
        array([ True, False, False,  True])
        """
        n, T, C = self.values.shape
        if n == 0 or T == 0:
            return self
        slot = self.grid_slots(step)
        lengths = slot.max(axis=1) + 1
        width = int(lengths.max())
        # sums and counts of observed values per (instance, grid point, channel)
        i, t, c = np.nonzero(self.mask)
        flat = (i * width + slot[i, t]) * C + c
        size = n * width * C
        count = np.bincount(flat, minlength=size)
        total = np.bincount(
            flat, weights=self.values[i, t, c].astype(np.float64), minlength=size
        )
        mask = (count > 0).reshape(n, width, C)
        values = np.full(n * width * C, np.nan, dtype=np.float32)
        seen = count > 0
        values[seen] = total[seen] / count[seen]
        grid = np.arange(width, dtype=np.float64)[None, :] * float(step)
        times = self.times[:, :1] + grid
        times[np.arange(width) >= lengths[:, None]] = np.nan
        return Panel(
            values=values.reshape(n, width, C),
            times=times,
            mask=mask,
            lengths=lengths.astype(np.int64),
            channels=self.channels,
            instance_ids=self.instance_ids,
            time_unit=self.time_unit,
            time_kind=self.time_kind,
        )

    def grid_slots(self, step: float) -> np.ndarray:
        """The grid point :meth:`on_grid` moves each observation to.

        Parameters
        ----------
        step : float
            Grid spacing, in the unit of :attr:`times`.

        Returns
        -------
        ndarray of shape (n_instances, n_timepoints), int64
            The number of the grid point (0 at each instance's first
            observation) nearest each observation; 0 in the padding.
            Non-decreasing along each instance.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn_cfc.panel import to_panel
        >>> to_panel([np.array([1.0, np.nan, 2.0, 4.0])]).grid_slots(2.0)
        array([[0, 1, 2]])
        """
        n, T = self.times.shape
        real = np.arange(T) < self.lengths[:, None]
        slot = np.zeros((n, T), dtype=np.int64)
        with np.errstate(invalid="ignore"):
            offsets = (self.times - self.times[:, :1]) / float(step)
        slot[real] = np.rint(offsets[real]).astype(np.int64)
        return slot

    # -- export --------------------------------------------------------------
    def to_numpy3d(self) -> np.ndarray:
        """Values as sktime ``numpy3D``: NaN-padded ``(n, n_channels, T)``.

        Timestamps are not included (see :attr:`times`).

        Returns
        -------
        ndarray of shape (n_instances, n_channels, n_timepoints), float32
        """
        return np.ascontiguousarray(self.values.transpose(0, 2, 1))

    def to_frames(self) -> list[pd.DataFrame]:
        """One DataFrame per instance: index = times, columns = channels.

        Returns
        -------
        list of pd.DataFrame
            Float times (in :attr:`time_unit` for converted datetimes).

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn_cfc.panel import to_panel
        >>> frames = to_panel(np.array([[1.0, np.nan, 3.0]])).to_frames()
        >>> frames[0]  # doctest: +NORMALIZE_WHITESPACE
                0
        time
        0.0   1.0
        2.0   3.0
        """
        columns = pd.Index(list(self.channels))
        out = []
        for i, n in enumerate(self.lengths.tolist()):
            index = pd.Index(self.times[i, :n], name="time")
            out.append(pd.DataFrame(self.values[i, :n], index=index, columns=columns))
        return out

    def to_multiindex(self) -> pd.DataFrame:
        """Values as an sktime ``pd-multiindex`` frame (instance, time).

        Returns
        -------
        pd.DataFrame
            Rows are the observations; the first level holds
            :attr:`instance_ids` (or positions when there are none).
        """
        valid = np.arange(self.n_timepoints) < self.lengths[:, None]
        ids = self.instance_ids
        if ids is None:
            ids = np.arange(self.n_instances)
        index = pd.MultiIndex.from_arrays(
            [np.repeat(np.asarray(ids), self.lengths), self.times[valid]],
            names=["instance", "time"],
        )
        return pd.DataFrame(
            self.values[valid], index=index, columns=pd.Index(list(self.channels))
        )


def last_observed(mask):
    """Per step and channel, the step of the channel's latest observation.

    The forward fill of a panel (and how stale each value is) reads the
    values at these steps.

    Parameters
    ----------
    mask : ndarray of shape (n_instances, n_timepoints, n_channels), bool

    Returns
    -------
    ndarray of the same shape, int32 (int64 for more than 2**31 entries)
        -1 before a channel's first observation.
    """
    n, T, C = mask.shape
    itype = np.int32 if n * T * C < 2**31 else np.int64
    last = np.where(mask, np.arange(T, dtype=itype)[None, :, None], itype(-1))
    np.maximum.accumulate(last, axis=1, out=last)
    return last
