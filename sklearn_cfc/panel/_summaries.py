"""Per-channel summaries of each series: a scikit-learn transformer (private)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted

from sklearn_cfc._typing import fit_context

if TYPE_CHECKING:
    from sklearn_cfc._typing import PanelLike, TimeUnitLike
from ._convert import by_instance, to_panel
from ._encode import _Satisfies, check_channels, record_channels

__all__ = ["PanelSummarizer"]

# the statistics PanelSummarizer offers, per channel of a series
SUMMARY_STATISTICS = (
    "first",
    "last",
    "min",
    "max",
    "mean",
    "std",
    "count",
    "first_time",
    "last_time",
)
# the default: what the trees of benchmarks/accuracy.py read on PhysioNet
_DEFAULT_STATISTICS = ("first", "last", "min", "max", "mean", "count")


def _valid_statistics(value):
    return (
        isinstance(value, (list, tuple))
        and len(value) > 0
        and all(isinstance(v, str) and v in SUMMARY_STATISTICS for v in value)
        and len(set(value)) == len(value)
    )


STATISTICS = _Satisfies(
    _valid_statistics,
    f"a non-empty list of distinct names among {list(SUMMARY_STATISTICS)}",
)


def _summaries(panel, statistics):
    """``(n_instances, n_channels * len(statistics))`` float64, channel-major."""
    values, mask = panel.values, panel.mask
    n, T, C = values.shape
    count = mask.sum(axis=1)  # (n, C)
    seen = count > 0
    # step of each channel's first and last observation (0 when never seen)
    first = mask.argmax(axis=1)
    last = T - 1 - mask[:, ::-1].argmax(axis=1)

    def at(array, step):  # array (n, T) or (n, T, C) at one step per channel
        if array.ndim == 2:
            return np.take_along_axis(array, step, axis=1)
        return np.take_along_axis(array, step[:, None, :], axis=1)[:, 0]

    with np.errstate(invalid="ignore", divide="ignore"):  # never seen: NaN
        mean = np.nansum(values, axis=1, dtype=np.float64) / count
        columns = {
            "first": lambda: at(values, first),
            "last": lambda: at(values, last),
            "min": lambda: np.fmin.reduce(values, axis=1),
            "max": lambda: np.fmax.reduce(values, axis=1),
            "mean": lambda: mean,
            "std": lambda: np.sqrt(
                np.nansum(np.square(values - mean[:, None, :]), axis=1) / count
            ),
            "count": lambda: count,
            "first_time": lambda: np.where(seen, at(panel.times, first), np.nan),
            "last_time": lambda: np.where(seen, at(panel.times, last), np.nan),
        }
        out = np.empty((n, C, len(statistics)))
        for k, name in enumerate(statistics):
            out[:, :, k] = columns[name]()
    return out.reshape(n, C * len(statistics))


class PanelSummarizer(TransformerMixin, BaseEstimator):
    """Per-channel summary statistics of each series, as a feature table.

    Each series becomes one row: for every channel, the chosen statistics
    of its observed values (NaN values are not observations), channel by
    channel. A statistic of a channel a series never observes is NaN (its
    ``count`` is 0), which :class:`~sklearn.ensemble.HistGradientBoostingClassifier`
    and its regressor take as missing. Such a table is a strong baseline on
    irregularly sampled records (PhysioNet 2012, say) and a complement to a
    network's learned representation (see :ref:`learned-features`).

    Parameters
    ----------
    statistics : list of str, default=("first", "last", "min", "max", "mean", \
"count")
        Which statistics, in this order within each channel, among:

        - ``"first"``, ``"last"``: the value at the channel's first and last
          observation;
        - ``"min"``, ``"max"``, ``"mean"``: of its observed values;
        - ``"std"``: their standard deviation (``ddof=0``; 0 for a single
          observation);
        - ``"count"``: the number of observations (0 when never observed);
        - ``"first_time"``, ``"last_time"``: the time of its first and last
          observation, in the panel's time unit (see :func:`to_panel`).

        Values go through :func:`to_panel`, which stores them as float32;
        the statistics are computed in float64 from there.
    time_channel : int or hashable, default=None
        Passed to :func:`to_panel`.
    time_unit : str or pd.Timedelta, default='s'
        Passed to :func:`to_panel`.

    Attributes
    ----------
    n_features_in_ : int
        Number of channels seen in ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Channel names seen in ``fit``; defined only when they are all
        strings.

    See Also
    --------
    PanelEncoder : The network inputs, step by step.
    sklearn_cfc.CfCClassifier.transform : A network's learned representation.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from sklearn_cfc.panel import PanelSummarizer
    >>> X = [
    ...     pd.DataFrame({"hr": [80.0, np.nan, 90.0], "temp": [np.nan, 37.0, np.nan]},
    ...                  index=[0.0, 1.5, 4.0]),
    ...     pd.DataFrame({"hr": [70.0], "temp": [np.nan]}, index=[2.0]),
    ... ]
    >>> summaries = PanelSummarizer(statistics=["last", "count", "last_time"])
    >>> summaries.fit_transform(X)
    array([[90. ,  2. ,  4. , 37. ,  1. ,  1.5],
           [70. ,  1. ,  2. ,  nan,  0. ,  nan]])
    >>> summaries.get_feature_names_out().tolist()  # doctest: +NORMALIZE_WHITESPACE
    ['hr_last', 'hr_count', 'hr_last_time', 'temp_last', 'temp_count',
     'temp_last_time']
    """

    _parameter_constraints: dict = {
        "statistics": [STATISTICS],
        "time_channel": "no_validation",  # checked by to_panel
        "time_unit": "no_validation",  # checked by to_panel
    }

    def __init__(
        self,
        *,
        statistics: Sequence[str] = _DEFAULT_STATISTICS,
        time_channel: int | Hashable | None = None,
        time_unit: TimeUnitLike = "s",
    ) -> None:
        self.statistics = statistics
        self.time_channel = time_channel
        self.time_unit = time_unit

    def _panel(self, X):
        return to_panel(X, time_channel=self.time_channel, time_unit=self.time_unit)

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: PanelLike, y: object = None) -> PanelSummarizer:
        """Learn the channels.

        Parameters
        ----------
        X : Panel or any format accepted by :func:`to_panel`
        y : ignored

        Returns
        -------
        self : PanelSummarizer
        """
        record_channels(self, self._panel(X))
        return self

    def transform(self, X: PanelLike) -> np.ndarray | pd.DataFrame:
        """The summaries of each series.

        Parameters
        ----------
        X : Panel or any format accepted by :func:`to_panel`
            With the channels seen in ``fit``.

        Returns
        -------
        X_new : ndarray of shape (n_instances, n_channels * n_statistics)
            float64, the statistics of the first channel, then of the
            second, ...; named by :meth:`get_feature_names_out`. With
            ``set_output(transform="pandas")`` a DataFrame, indexed by the
            instance ids of a MultiIndex ``X``.

        Raises
        ------
        ValueError
            When the channels differ from those seen in ``fit``.
        """
        check_is_fitted(self)
        return self._transform(self._panel(X), X)

    def fit_transform(
        self, X: PanelLike, y: object = None
    ) -> np.ndarray | pd.DataFrame:
        """Fit, then transform the same data (converted once).

        Parameters
        ----------
        X : Panel or any format accepted by :func:`to_panel`
        y : ignored

        Returns
        -------
        X_new : ndarray of shape (n_instances, n_channels * n_statistics)
        """
        panel = self._panel(X)
        return self.fit(panel)._transform(panel, X)

    def _transform(self, panel, X):
        check_channels(panel, self)
        return by_instance(_summaries(panel, tuple(self.statistics)), X, self)

    def get_feature_names_out(
        self, input_features: Sequence[str] | None = None
    ) -> np.ndarray:
        """Names of the summaries: ``"<channel>_<statistic>"``.

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
        channels = _check_feature_names_in(self, input_features)
        return np.asarray(
            [f"{c}_{s}" for c in channels for s in self.statistics], dtype=object
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.three_d_array = True
        tags.requires_fit = True
        return tags
