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
    or scaled inputs usually help.
    """
