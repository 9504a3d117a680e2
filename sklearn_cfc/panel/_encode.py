"""Network inputs from a panel: scaling, forward fill, mask and Δt (private)."""

from __future__ import annotations

from numbers import Real
from typing import NamedTuple

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from ._convert import to_panel

__all__ = ["EncodedPanel", "PanelEncoder"]


class EncodedPanel(NamedTuple):
    """Arrays ready for a recurrent network, batch-first.

    Padding (steps ``t >= lengths[i]``) is zero in ``inputs`` and ``dt``.

    Attributes
    ----------
    inputs : ndarray of shape (n_instances, n_timepoints, 3 * n_channels)
        float32: the standardised, forward-filled values (channels
        ``0 .. C-1``), the observation mask as 0/1 (channels ``C .. 2C-1``)
        and, per channel, ``log1p`` of the time since its last observation
        in units of ``dt_scale_`` (channels ``2C .. 3C-1``; 0 when observed
        now, -1 before its first observation).
    dt : ndarray of shape (n_instances, n_timepoints)
        float32: gap to the previous observation divided by the fitted
        ``dt_scale_``; 0 at the first observation and in the padding.
    lengths : ndarray of shape (n_instances,)
        int64, number of observations.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_cfc.panel import PanelEncoder
    >>> encoded = PanelEncoder().fit_transform([np.arange(4.0), np.arange(2.0)])
    >>> encoded.inputs.shape, encoded.lengths.tolist()
    ((2, 4, 3), [4, 2])
    >>> encoded.take([1]).inputs.shape  # trimmed to the batch's longest
    (1, 2, 3)
    """

    inputs: np.ndarray
    dt: np.ndarray
    lengths: np.ndarray

    def take(self, indices):
        """Select instances, trimming the padding to their own longest.

        Parameters
        ----------
        indices : array-like of int

        Returns
        -------
        EncodedPanel
        """
        idx = np.asarray(indices)
        if idx.dtype == np.bool_:
            idx = np.flatnonzero(idx)
        lengths = self.lengths[idx]
        T = int(lengths.max()) if len(lengths) else 0
        return EncodedPanel(self.inputs[idx, :T], self.dt[idx, :T], lengths)


class PanelEncoder(BaseEstimator):
    """Turn a panel into network inputs with statistics learnt in ``fit``.

    ``fit`` learns, on the training data only, the mean and standard
    deviation of each channel (ignoring NaN) and the time scale (the median
    positive gap between consecutive observations of an instance).
    ``transform`` then returns, per instance and step, the standardised
    value carried forward from the last observation of each channel, the
    observation mask, the time since each channel was last observed, and the
    gap Δt to the previous observation divided by the time scale (see
    :class:`EncodedPanel`). Knowing how stale each value is helps on sparse
    data (GRU-D, Che et al. 2018): on PhysioNet 2012 it raised the CfC's ROC
    AUC on one fold from 0.839 to 0.846.

    Before the first observation of a channel its input is 0, i.e. the
    channel mean; the mask tells the network it is not observed.
    ``transform`` works instance by instance, so encoding a batch equals
    slicing the encoding of the whole panel (up to padding width).

    Parameters
    ----------
    scale : bool, default=True
        Standardise each channel with the fitted ``mean_`` and ``scale_``.
        If False, ``mean_`` is 0 and ``scale_`` is 1.
    dt_scale : 'median' or float, default='median'
        Divisor of Δt: 'median' learns the median positive gap between
        consecutive observations in ``fit`` (1.0 when no instance has two
        observations); a positive float is used as is.
    time_channel : int or hashable, default=None
        Passed to :func:`to_panel` when ``X`` is not already a
        :class:`Panel`.
    time_unit : str or pd.Timedelta, default='s'
        Passed to :func:`to_panel` when ``X`` is not already a
        :class:`Panel`.

    Attributes
    ----------
    mean_ : ndarray of shape (n_channels,)
        Per-channel mean of the observed training values (0 for a channel
        never observed).
    scale_ : ndarray of shape (n_channels,)
        Per-channel standard deviation (1 where it is 0 or undefined).
    dt_scale_ : float
        The time scale Δt is divided by.
    n_features_in_ : int
        Number of channels seen in ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Channel names seen in ``fit``; defined only when they are all
        strings.

    See Also
    --------
    to_panel : The accepted input formats.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_cfc.panel import PanelEncoder
    >>> X = np.array([[[1.0, np.nan, 3.0, 5.0]], [[3.0, 5.0, np.nan, np.nan]]])
    >>> enc = PanelEncoder().fit(X)
    >>> enc.mean_, enc.scale_, enc.dt_scale_
    (array([3.4]), array([1.4966...]), 1.0)
    >>> out = enc.transform(X)
    >>> out.inputs.shape, out.dt.tolist(), out.lengths.tolist()
    ((2, 3, 3), [[0.0, 2.0, 1.0], [0.0, 1.0, 0.0]], [3, 2])
    >>> out.inputs[1, :, 1]  # mask; the padding step is zero
    array([1., 1., 0.], dtype=float32)
    """

    def __init__(
        self, *, scale=True, dt_scale="median", time_channel=None, time_unit="s"
    ):
        self.scale = scale
        self.dt_scale = dt_scale
        self.time_channel = time_channel
        self.time_unit = time_unit

    def _panel(self, X):
        return to_panel(X, time_channel=self.time_channel, time_unit=self.time_unit)

    def fit(self, X, y=None):
        """Learn per-channel statistics and the time scale.

        Parameters
        ----------
        X : Panel or any format accepted by :func:`to_panel`
        y : ignored

        Returns
        -------
        self : PanelEncoder
        """
        if not (
            self.dt_scale == "median"
            or (
                isinstance(self.dt_scale, Real)
                and not isinstance(self.dt_scale, bool)
                and self.dt_scale > 0
            )
        ):
            raise ValueError(
                "The 'dt_scale' parameter of PanelEncoder must be 'median' or a "
                f"positive float; got {self.dt_scale!r} instead."
            )
        panel = self._panel(X)
        C = panel.n_channels
        if self.scale:
            # statistics of the observed values only, per channel, in float64
            observed = panel.values[panel.mask].astype(np.float64)
            channel = np.nonzero(panel.mask)[2]
            count = np.bincount(channel, minlength=C)
            seen = count > 0
            total = np.bincount(channel, weights=observed, minlength=C)
            mean = np.divide(total, count, out=np.zeros(C), where=seen)
            sq = np.bincount(
                channel, weights=np.square(observed - mean[channel]), minlength=C
            )
            std = np.sqrt(np.divide(sq, count, out=np.zeros(C), where=seen))
            self.mean_ = mean
            self.scale_ = np.where(std > 0, std, 1.0)
        else:
            self.mean_ = np.zeros(C)
            self.scale_ = np.ones(C)
        if self.dt_scale == "median":
            gaps = np.diff(panel.times, axis=1)
            gaps = gaps[gaps > 0]  # NaN (padding) compares False
            self.dt_scale_ = float(np.median(gaps)) if gaps.size else 1.0
        else:
            self.dt_scale_ = float(self.dt_scale)
        self.n_features_in_ = C
        names = panel.channels
        if all(isinstance(c, str) for c in names):
            self.feature_names_in_ = np.asarray(names, dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        return self

    def _check_channels(self, panel):
        if panel.n_channels != self.n_features_in_:
            k = panel.n_channels
            raise ValueError(
                f"X has {k} channel{'' if k == 1 else 's'}, but PanelEncoder was "
                f"fitted with {self.n_features_in_}."
            )
        fitted = getattr(self, "feature_names_in_", None)
        if fitted is not None and all(isinstance(c, str) for c in panel.channels):
            if list(panel.channels) != list(fitted):
                raise ValueError(
                    f"X has channels {list(panel.channels)}, but PanelEncoder was "
                    f"fitted with channels {list(fitted)}; they must match, in "
                    "the same order."
                )

    def transform(self, X):
        """Encode a panel for the network.

        Parameters
        ----------
        X : Panel or any format accepted by :func:`to_panel`

        Returns
        -------
        EncodedPanel
            ``inputs`` (n, T, 3C) float32, ``dt`` (n, T) float32 and
            ``lengths`` (n,); zeros in the padding.
        """
        check_is_fitted(self)
        panel = self._panel(X)
        self._check_channels(panel)
        n, T, C = panel.values.shape
        mask = panel.mask
        # per channel, the step of its last observation so far
        itype = np.int32 if n * T * C < 2**31 else np.int64
        step = np.where(mask, np.arange(T, dtype=itype)[None, :, None], itype(0))
        np.maximum.accumulate(step, axis=1, out=step)
        times = np.nan_to_num(panel.times)[:, :, None]
        last_time = np.take_along_axis(times, step, axis=1)
        seen = np.maximum.accumulate(mask, axis=1)
        # forward fill: flat index of that observation's value
        last = step + (np.arange(n, dtype=itype) * itype(T))[:, None, None]
        last *= itype(C)
        last += np.arange(C, dtype=itype)
        filled = np.take(np.ascontiguousarray(panel.values).reshape(-1), last)
        del last

        inputs = np.empty((n, T, 3 * C), dtype=np.float32)
        head = inputs[:, :, :C]
        np.subtract(filled, self.mean_.astype(np.float32), out=head)
        np.divide(head, self.scale_.astype(np.float32), out=head)
        # NaN left = no observation yet (step 0 unobserved): input 0 = mean
        np.copyto(head, 0.0, where=np.isnan(filled))
        valid = np.arange(T) < panel.lengths[:, None]
        np.copyto(head, 0.0, where=~valid[:, :, None])  # padding
        inputs[:, :, C : 2 * C] = mask
        since = inputs[:, :, 2 * C :]
        np.subtract(times, last_time, out=since, casting="unsafe")
        np.log1p(np.maximum(since, 0.0) / np.float32(self.dt_scale_), out=since)
        np.copyto(since, -1.0, where=~seen)
        np.copyto(since, 0.0, where=~valid[:, :, None])  # padding
        dt = np.zeros((n, T), dtype=np.float32)
        if T > 1:
            gaps = np.diff(panel.times, axis=1) / self.dt_scale_
            dt[:, 1:] = np.where(valid[:, 1:], gaps, 0.0)
        return EncodedPanel(inputs, dt, panel.lengths)

    def fit_transform(self, X, y=None):
        """Fit, then transform the same data.

        Parameters
        ----------
        X : Panel or any format accepted by :func:`to_panel`
        y : ignored

        Returns
        -------
        EncodedPanel
        """
        panel = self._panel(X)
        return self.fit(panel).transform(panel)

    def inverse_scale(self, values):
        """Undo the standardisation of values laid out ``(..., n_channels)``.

        Parameters
        ----------
        values : array-like of shape (..., n_channels)

        Returns
        -------
        ndarray of the same shape, ``values * scale_ + mean_``
        """
        check_is_fitted(self)
        return np.asarray(values) * self.scale_ + self.mean_
