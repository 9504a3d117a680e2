"""Panel preprocessing as scikit-learn transformers (private).

Each transformer takes any format :func:`to_panel` accepts and returns a
``pd-multiindex`` DataFrame (rows are the observations, indexed by
``(instance, time)``; columns are the channels), which the next panel
transformer, a scikit-learn transformer under
``set_output(transform="pandas")`` and the estimators all read as the same
panel.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from numbers import Integral
from typing import TYPE_CHECKING, Literal, TypeVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted

from sklearn_cfc._typing import fit_context

from ._convert import _where, input_format, to_panel
from ._encode import (
    GRID_MAX_STRETCH,
    _auto_grid,
    _channel_scaling,
    _check_time_kind,
    _grid_lengths,
    _is_bool,
    _is_positive_number,
    _Satisfies,
    _time_kind,
    check_channels,
    record_channels,
)

__all__ = ["ChannelSelector", "PanelResampler", "PanelScaler"]

LEVELS = ("instance", "time")


def level_names(X, time_channel):
    """Names of the output's index levels: X's own where it has them."""
    names = list(LEVELS)
    if input_format(X) == "pd-multiindex":
        for k, name in enumerate(X.index.names[:2]):
            if name is not None:
                names[k] = name
    if time_channel is not None:
        names[1] = time_channel
    return names


def _to_frame(values, mask, panel, names):
    """The observed steps of a panel as a ``pd-multiindex`` DataFrame.

    ``values`` and ``mask`` ``(n, T, C')`` replace the panel's own (same
    steps, maybe other channels, given by ``names[2]``); a step where no
    channel is observed is not a row (and the padding never is).
    """
    rows = mask.any(axis=2)
    ids = panel.instance_ids
    if ids is None:
        ids = np.arange(len(panel))
    index = pd.MultiIndex.from_arrays(
        [np.repeat(np.asarray(ids), rows.sum(axis=1)), panel.times[rows]],
        names=names[:2],
    )
    return pd.DataFrame(values[rows], index=index, columns=pd.Index(names[2]))


if TYPE_CHECKING:
    from sklearn_cfc._typing import PanelLike, TimeUnitLike

_T = TypeVar("_T", bound="_PanelTransformer")


class _PanelTransformer(TransformerMixin, BaseEstimator):
    """What the panel transformers share: conversion, channels and output.

    Subclasses implement ``_fit(panel)`` and ``_apply(panel)``, which returns
    the output's ``(panel, values, mask, channels)``: the panel whose
    instances and times index it, and its values, mask and channel names.
    """

    _parameter_constraints: dict = {
        "time_channel": "no_validation",  # checked by to_panel
        "time_unit": "no_validation",  # checked by to_panel
    }

    def _panel(self, X):
        return to_panel(X, time_channel=self.time_channel, time_unit=self.time_unit)

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self: _T, X: PanelLike, y: object = None) -> _T:
        """Learn what the transformation needs from a panel.

        Parameters
        ----------
        X : Panel or any format accepted by :func:`to_panel`
        y : ignored

        Returns
        -------
        self : object
            The fitted transformer.
        """
        panel = self._panel(X)
        record_channels(self, panel)
        self._fit(panel)
        return self

    def transform(self, X: PanelLike) -> pd.DataFrame:
        """Transform a panel.

        Parameters
        ----------
        X : Panel or any format accepted by :func:`to_panel`
            With the channels seen in ``fit``.

        Returns
        -------
        X_new : pd.DataFrame
            ``pd-multiindex``: one row per observation, indexed by
            ``(instance, time)`` (the instance ids of ``X``, or positions
            when it has none; float times in ``time_unit``), one column per
            channel. Under ``set_output(transform="pandas")`` the columns
            are named by :meth:`get_feature_names_out`.

        Raises
        ------
        ValueError
            When the channels differ from those seen in ``fit``.
        """
        check_is_fitted(self)
        return self._transform(self._panel(X), X)

    def fit_transform(self, X: PanelLike, y: object = None) -> pd.DataFrame:
        """Fit, then transform the same data (converted once).

        Parameters
        ----------
        X : Panel or any format accepted by :func:`to_panel`
        y : ignored

        Returns
        -------
        X_new : pd.DataFrame
            ``pd-multiindex``, as :meth:`transform` returns it.
        """
        panel = self._panel(X)
        return self.fit(panel)._transform(panel, X)

    def _transform(self, panel, X):
        check_channels(panel, self)
        panel, values, mask, channels = self._apply(panel)
        names = [*level_names(X, self.time_channel), list(channels)]
        return _to_frame(values, mask, panel, names)

    def get_feature_names_out(
        self, input_features: Sequence[Hashable] | None = None
    ) -> np.ndarray:
        """Names of the output channels.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Channel names; by default ``feature_names_in_``, or ``x0``,
            ``x1``, ... when the channels had no string names.

        Returns
        -------
        feature_names_out : ndarray of str objects
        """
        check_is_fitted(self, "n_features_in_")
        return _check_feature_names_in(self, input_features)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.three_d_array = True
        tags.requires_fit = True
        return tags


class PanelScaler(_PanelTransformer):
    """Scale each channel of a panel by statistics of its observed values.

    Each channel is centred and scaled by the statistics of all its
    observations in ``fit`` (every instance and time together): the mean
    and standard deviation, or the median and interquartile range. NaN
    (not observed) stays NaN and is no value in the statistics; the steps
    and timestamps do not change. These are the statistics the estimators'
    own input encoding (:class:`PanelEncoder`, ``scale=True`` by default)
    computes, so in front of :class:`~sklearn_cfc.CfCClassifier` or
    :class:`~sklearn_cfc.CfCRegressor` the scaler matters for the robust
    statistics or for the other steps of a pipeline.

    On a ``pd-multiindex`` frame, scikit-learn's
    :class:`~sklearn.preprocessing.StandardScaler` under
    ``set_output(transform="pandas")`` computes the standard statistics
    too; :class:`PanelScaler` takes every panel format (a list of
    per-instance frames, which cross-validation needs, or numpy arrays).

    Parameters
    ----------
    method : {'standard', 'robust'}, default='standard'
        ``'standard'``: subtract the mean, divide by the standard deviation
        (``ddof=0``). ``'robust'``: subtract the median, divide by the
        interquartile range over 1.349 (the standard deviation of a normal
        distribution with that range; the standard deviation where the
        range is 0), which a few wild values (a unit error, a sentinel such
        as 9999) do not throw off. A scale of 0 (a constant channel)
        becomes 1.
    time_channel : int or hashable, default=None
        Passed to :func:`to_panel`.
    time_unit : str or pd.Timedelta, default='s'
        Passed to :func:`to_panel`: datetime and timedelta timestamps
        become floats in this unit in the output.

    Attributes
    ----------
    center_ : ndarray of shape (`n_features_in_`,)
        Per channel, the mean (``'standard'``) or the median (``'robust'``)
        of its observed values; 0 for a channel never observed.
    scale_ : ndarray of shape (`n_features_in_`,)
        Per channel, the standard deviation or the robust scale; 1 where it
        is 0.
    n_features_in_ : int
        Number of channels seen in ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Channel names seen in ``fit``; defined only when they are all
        strings.

    See Also
    --------
    PanelResampler : Put a panel on a regular time grid.
    ChannelSelector : Keep or drop channels.
    PanelEncoder : The network inputs, scaling included.

    Notes
    -----
    Values go through :func:`to_panel`, which stores them as float32; the
    statistics and the scaled values are computed in float64, and the
    output holds float64.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from sklearn_cfc.panel import PanelScaler
    >>> X = [
    ...     pd.DataFrame({"hr": [80.0, np.nan, 90.0], "temp": [np.nan, 37.0, 38.0]},
    ...                  index=[0.0, 1.5, 4.0]),
    ...     pd.DataFrame({"hr": [70.0], "temp": [36.0]}, index=[2.0]),
    ... ]
    >>> scaler = PanelScaler().fit(X)
    >>> scaler.center_, scaler.scale_
    (array([80., 37.]), array([8.1649..., 0.8164...]))
    >>> scaler.transform(X)  # doctest: +NORMALIZE_WHITESPACE
                         hr      temp
    instance time
    0        0.0   0.000000       NaN
             1.5        NaN  0.000000
             4.0   1.224745  1.224745
    1        2.0  -1.224745 -1.224745
    >>> scaler.inverse_transform(scaler.transform(X)).loc[1].round(5).values
    array([[70., 36.]])
    """

    _parameter_constraints: dict = {
        **_PanelTransformer._parameter_constraints,
        "method": [StrOptions({"standard", "robust"})],
    }

    def __init__(
        self,
        *,
        method: Literal["standard", "robust"] = "standard",
        time_channel: int | Hashable | None = None,
        time_unit: TimeUnitLike = "s",
    ) -> None:
        self.method = method
        self.time_channel = time_channel
        self.time_unit = time_unit

    def _fit(self, panel):
        self.center_, self.scale_ = _channel_scaling(panel, self.method)

    def _apply(self, panel):
        values = (panel.values - self.center_) / self.scale_  # float64, NaN kept
        return panel, values, panel.mask, panel.channels

    def inverse_transform(self, X: PanelLike) -> pd.DataFrame:
        """Undo the scaling: ``values * scale_ + center_``.

        Parameters
        ----------
        X : Panel or any format accepted by :func:`to_panel`
            Scaled data, with the channels seen in ``fit``.

        Returns
        -------
        X_original : pd.DataFrame
            ``pd-multiindex``, as :meth:`transform` returns it.

        Raises
        ------
        ValueError
            When the channels differ from those seen in ``fit``.
        """
        check_is_fitted(self)
        panel = self._panel(X)
        check_channels(panel, self)
        values = panel.values * self.scale_ + self.center_
        names = [*level_names(X, self.time_channel), list(panel.channels)]
        return _to_frame(values, panel.mask, panel, names)


def _is_step(value):
    return (isinstance(value, str) and value == "auto") or _is_positive_number(value)


STEP = _Satisfies(_is_step, "'auto' or a positive float")


class PanelResampler(_PanelTransformer):
    """Put each series on a regular time grid, averaging what meets there.

    Each instance's grid runs ``t_0, t_0 + step, ...`` from its first
    observation ``t_0``; every observation moves to the grid point nearest
    its time, and several observations of a channel that meet at one grid
    point are averaged (:meth:`Panel.on_grid`). Where every gap is a
    multiple of ``step``, nothing moves. Densely sampled, jittered series
    become shorter sequences on a common clock; the values of each channel
    are not interpolated.

    Grid points where no channel is observed are not rows of the output (a
    step where every channel is NaN is no observation, see
    :func:`to_panel`); the network sees the longer gap to the next one. To
    have the network step through empty grid points, set the estimators'
    ``time_grid`` instead.

    Parameters
    ----------
    step : 'auto' or float, default='auto'
        The grid spacing, in the unit of the timestamps (``time_unit`` for
        datetimes and timedeltas). ``'auto'``: the typical sampling
        interval of the panel seen in ``fit`` when it is irregular and
        dense, as :class:`PanelEncoder`'s ``time_grid='auto'`` chooses it;
        for regularly sampled or sparse panels (a few of many channels at
        each time), no grid: the data passes through unchanged.
    time_channel : int or hashable, default=None
        Passed to :func:`to_panel`.
    time_unit : str or pd.Timedelta, default='s'
        Passed to :func:`to_panel`: datetime and timedelta timestamps
        become floats in this unit in the output.

    Attributes
    ----------
    step_ : float or None
        The grid spacing used by :meth:`transform`; None when
        ``step='auto'`` found no grid for the data seen in ``fit``.
    time_kind_ : str
        The kind of timestamps seen in ``fit``: ``'numeric'``,
        ``'datetime'`` or ``'timedelta'``; :meth:`transform` refuses
        another kind.
    n_features_in_ : int
        Number of channels seen in ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Channel names seen in ``fit``; defined only when they are all
        strings.

    See Also
    --------
    Panel.on_grid : The resampling itself.
    PanelScaler : Scale each channel.
    ChannelSelector : Keep or drop channels.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from sklearn_cfc.panel import PanelResampler
    >>> X = [pd.DataFrame({"x": [1.0, 2.0, 4.0, 6.0]}, index=[0.0, 0.9, 1.1, 3.1])]
    >>> PanelResampler(step=1.0).fit_transform(X)  # doctest: +NORMALIZE_WHITESPACE
                     x
    instance time
    0        0.0   1.0
             1.0   3.0
             3.0   6.0
    """

    _parameter_constraints: dict = {
        **_PanelTransformer._parameter_constraints,
        "step": [STEP],
    }

    def __init__(
        self,
        *,
        step: float | Literal["auto"] = "auto",
        time_channel: int | Hashable | None = None,
        time_unit: TimeUnitLike = "s",
    ) -> None:
        self.step = step
        self.time_channel = time_channel
        self.time_unit = time_unit

    step_: float | None  # set in fit

    def _fit(self, panel):
        self.time_kind_ = _time_kind(panel)
        if self.step == "auto":
            self.step_ = _auto_grid(panel)
        else:
            self.step_ = float(self.step)

    def _apply(self, panel):
        _check_time_kind(panel, self, type(self).__name__)
        step = self.step_
        if step is not None:
            self._check_stretch(panel, step)
            panel = panel.on_grid(step)  # the output's steps are the grid's
        return panel, panel.values, panel.mask, panel.channels

    def _check_stretch(self, panel, step):
        """ValueError where the grid would be far longer than the series."""
        points = _grid_lengths(panel, step)
        i = int(np.argmax(points))
        longest = panel.lengths.max()
        if points[i] > GRID_MAX_STRETCH * longest:
            raise ValueError(
                f"X: on a time grid of step {step:.6g}, "
                f"{_where(i, panel.instance_ids)} would take {points[i]:.6g} "
                f"grid points, more than {GRID_MAX_STRETCH} times the "
                f"{longest} observations of the longest series; its timestamps "
                "span far more time than the grid was made for. Pass a larger "
                "step to PanelResampler, or check the timestamps."
            )


def _channel_list(value):
    """``channels`` as a list, or None when it is not a valid setting."""
    if isinstance(value, (str, Integral)) and not _is_bool(value):
        return [value]
    if isinstance(value, (list, tuple, np.ndarray, pd.Index)):
        items = [v.item() if isinstance(v, np.generic) else v for v in value]
        names = all(isinstance(v, str) for v in items)
        positions = all(isinstance(v, Integral) and not _is_bool(v) for v in items)
        if (names or positions) and len(set(items)) == len(items):
            return items
    return None


CHANNELS = _Satisfies(
    lambda v: _channel_list(v) is not None,
    "a channel name (str), a channel position (int), or a list of distinct "
    "names or of distinct positions",
)


class ChannelSelector(_PanelTransformer):
    """Keep (or drop) channels of a panel, by name or position.

    Strings are channel names (the column labels of pandas input) and
    integers are positions (``0`` is the first channel; negative positions
    count from the end), as in scikit-learn's
    :class:`~sklearn.compose.ColumnTransformer`; numpy input has positions
    only. The kept channels come out in the order of ``channels`` (in
    their input order with ``drop=True``). A step where none of the kept
    channels is observed is no longer an observation.

    Parameters
    ----------
    channels : str, int or list of str or of int
        The channels to keep, or to drop with ``drop=True``.
    drop : bool, default=False
        Drop the listed channels and keep the others.
    time_channel : int or hashable, default=None
        Passed to :func:`to_panel`. Positions in ``channels`` count the
        channels without it.
    time_unit : str or pd.Timedelta, default='s'
        Passed to :func:`to_panel`: datetime and timedelta timestamps
        become floats in this unit in the output.

    Attributes
    ----------
    channel_indices_ : ndarray of shape (n_channels_out,)
        The positions of the kept channels among the channels seen in
        ``fit``, in output order.
    n_features_in_ : int
        Number of channels seen in ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Channel names seen in ``fit``; defined only when they are all
        strings.

    Raises
    ------
    ValueError
        In ``fit``, naming the offending entries of ``channels``: names
        that are not channels of ``X``, positions out of range, two entries
        for one channel, or a selection that keeps no channel. In
        ``transform``, when an instance has no observed value in the kept
        channels (it would vanish from the output).

    See Also
    --------
    PanelScaler : Scale each channel.
    PanelResampler : Put a panel on a regular time grid.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from sklearn_cfc.panel import ChannelSelector
    >>> X = [pd.DataFrame({"hr": [80.0, np.nan], "temp": [37.0, 38.0],
    ...                    "bp": [np.nan, 120.0]}, index=[0.0, 1.0])]
    >>> ChannelSelector(["bp", "hr"]).fit_transform(X)  # doctest: +NORMALIZE_WHITESPACE
                      bp    hr
    instance time
    0        0.0     NaN  80.0
             1.0   120.0   NaN
    >>> ChannelSelector("temp", drop=True).fit(X).get_feature_names_out()
    array(['hr', 'bp'], dtype=object)
    >>> ChannelSelector(["pulse"]).fit(X)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: channels=['pulse'] of ChannelSelector: 'pulse' is not a channel ...
    """

    _parameter_constraints: dict = {
        **_PanelTransformer._parameter_constraints,
        "channels": [CHANNELS],
        "drop": ["boolean"],
    }

    def __init__(
        self,
        channels: Hashable | Sequence[Hashable],
        *,
        drop: bool = False,
        time_channel: int | Hashable | None = None,
        time_unit: TimeUnitLike = "s",
    ) -> None:
        self.channels = channels
        self.drop = drop
        self.time_channel = time_channel
        self.time_unit = time_unit

    def _fit(self, panel):
        listed = _channel_list(self.channels) or []  # valid: fit checked it
        C = panel.n_channels
        setting = f"channels={self.channels!r} of {type(self).__name__}"
        known = f"X, whose channels are {list(panel.channels)} (strings are names, "
        known += "integers positions)"
        if listed and isinstance(listed[0], str):
            unknown = [c for c in listed if c not in panel.channels]
            if unknown:
                which = ", ".join(repr(c) for c in unknown)
                verb = "is not a channel" if len(unknown) == 1 else "are not channels"
                raise ValueError(f"{setting}: {which} {verb} of {known}.")
            positions = [panel.channels.index(c) for c in listed]
        else:
            wrong = [p for p in listed if not -C <= p < C]
            if wrong:
                which = ", ".join(str(p) for p in wrong)
                noun = "position" if len(wrong) == 1 else "positions"
                raise ValueError(
                    f"{setting}: {noun} {which} out of range for the {C} "
                    f"channel{'' if C == 1 else 's'} of {known}; positions run "
                    f"from {-C} to {C - 1}."
                )
            positions = [p % C for p in listed]
            if len(set(positions)) < len(positions):
                raise ValueError(
                    f"{setting}: two positions name the same channel of the {C} "
                    "channels of X; list each channel once."
                )
        if self.drop:
            positions = [c for c in range(C) if c not in set(positions)]
        if not positions:
            raise ValueError(
                f"{setting} with drop={self.drop!r} keeps no channel of {known}; "
                "keep at least one."
            )
        self.channel_indices_ = np.asarray(positions, dtype=np.intp)

    def _apply(self, panel):
        keep = self.channel_indices_
        mask = panel.mask[:, :, keep]
        empty = np.flatnonzero(~mask.any(axis=(1, 2)))
        if len(empty):
            kept = [panel.channels[c] for c in keep]
            raise ValueError(
                f"X: {_where(empty[0], panel.instance_ids)} has no observed value "
                f"in the channels {type(self).__name__} keeps ({kept}), so it "
                "would vanish from the output; keep a channel it observes, or "
                "remove the instance."
            )
        return panel, panel.values[:, :, keep], mask, [panel.channels[c] for c in keep]

    def get_feature_names_out(
        self, input_features: Sequence[Hashable] | None = None
    ) -> np.ndarray:
        """Names of the kept channels, in output order.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Channel names; by default ``feature_names_in_``, or ``x0``,
            ``x1``, ... when the channels had no string names.

        Returns
        -------
        feature_names_out : ndarray of str objects
        """
        check_is_fitted(self, "channel_indices_")
        names = _check_feature_names_in(self, input_features)
        return names[self.channel_indices_]
