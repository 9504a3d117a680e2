"""Exceptions and warnings raised by sklearn-cfc.

Warnings about training that hit ``max_epochs`` before its stopping rule
use scikit-learn's :class:`~sklearn.exceptions.ConvergenceWarning`, and
estimators used before ``fit`` raise scikit-learn's
:class:`~sklearn.exceptions.NotFittedError`, so existing handlers catch them.
"""

from sklearn.exceptions import ConvergenceWarning, NotFittedError

__all__ = [
    "ConvergenceWarning",
    "DivergenceError",
    "NotFittedError",
    "TimeScaleWarning",
    "TrainingInterruptedWarning",
]


class DivergenceError(FloatingPointError):
    """The training loss became NaN or infinite, or exploded.

    Raised by ``fit``, ``partial_fit`` and ``update`` instead of returning a
    model whose weights may hold NaN or be useless: when a training loss is
    not finite, or when one exceeds the lowest training loss so far by more
    than 10 times ``max(1, |untrained|, |lowest|)``, where ``untrained`` is
    the loss of the untrained network (its first batch); and, with a
    validation split, when even the lowest validation loss is that far
    above. Sane training, noisy or not, stays far below that bound. The
    estimator is left as before the call: a first fit leaves it unfitted.
    A smaller ``learning_rate``, a ``gradient_clip`` or scaled inputs
    usually help. It subclasses :class:`FloatingPointError`.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_cfc import CfCRegressor
    >>> from sklearn_cfc.exceptions import DivergenceError
    >>> X = np.random.default_rng(0).normal(size=(8, 1, 5))
    >>> y = np.full(8, 1e25)  # squared errors overflow float32
    >>> try:
    ...     CfCRegressor(scale_target=False, max_epochs=1).fit(X, y)
    ... except DivergenceError as err:
    ...     print(str(err)[:31])
    The training loss became inf in
    """


class TrainingInterruptedWarning(UserWarning):
    """Training was interrupted (KeyboardInterrupt) after a complete epoch.

    As in skorch, ``fit`` then returns a usable model: the weights of the
    best epoch completed, with ``best_loss_`` their loss, and the epoch the
    interrupt stopped marked ``interrupted=True`` in ``history_``. An
    interrupt before the first epoch is complete propagates instead and
    leaves the estimator as before the call (a first fit: unfitted).
    """


class TimeScaleWarning(UserWarning):
    """The time scale of data at prediction is far from the one seen in ``fit``.

    Issued by :func:`~sklearn_cfc.panel.check_channels`, which the
    estimators call on every panel they predict on, when the median gap
    between consecutive observations lies outside ``[dt_median_ / 100,
    dt_median_ * 100]`` of the fitted
    :class:`~sklearn_cfc.panel.PanelEncoder`: timestamps in another unit
    (milliseconds where ``fit`` saw seconds, say) shift every prediction.
    It subclasses :class:`UserWarning`.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> import pandas as pd
    >>> from sklearn_cfc.exceptions import TimeScaleWarning
    >>> from sklearn_cfc.panel import PanelEncoder, check_channels, to_panel
    >>> seconds = [pd.Series([1.0, 2.0, 4.0], index=[0.0, 1.0, 2.0])]
    >>> encoder = PanelEncoder().fit(seconds)
    >>> milliseconds = [s.set_axis(s.index * 1000) for s in seconds]
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     check_channels(to_panel(milliseconds), encoder)
    >>> caught[0].category.__name__
    'TimeScaleWarning'
    """
