"""Exceptions and warnings raised by sklearn-cfc.

Warnings about training that hit ``max_epochs`` before its stopping rule
use scikit-learn's :class:`~sklearn.exceptions.ConvergenceWarning`, and
estimators used before ``fit`` raise scikit-learn's
:class:`~sklearn.exceptions.NotFittedError`, so existing handlers catch them.
"""

from sklearn.exceptions import ConvergenceWarning, NotFittedError

__all__ = ["ConvergenceWarning", "DivergenceError", "NotFittedError"]


class DivergenceError(FloatingPointError):
    """The training loss became NaN or infinite.

    Raised by ``fit`` and ``partial_fit`` instead of returning a model whose
    weights may hold NaN. A smaller ``learning_rate``, a ``gradient_clip``
    or scaled inputs usually help. It subclasses :class:`FloatingPointError`.

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
