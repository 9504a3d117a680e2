"""Closed-form continuous-time (CfC) networks for irregular time series.

scikit-learn and sktime estimators built on the CfC recurrent network, for
series with timestamps, gaps, missing values and unequal lengths. The
estimators import torch on first use, so ``import sklearn_cfc`` stays cheap.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what the lazy imports below give, for type checkers
    from .classifier import CfCClassifier
    from .forecaster import CfCForecaster
    from .regressor import CfCRegressor
    from .sktime import CfCTimeSeriesClassifier, CfCTimeSeriesRegressor

try:  # written by setuptools-scm at install time
    from ._version import __version__
except ImportError:  # pragma: no cover - running from a bare source tree
    from importlib.metadata import PackageNotFoundError, version

    try:
        __version__ = version("sklearn-cfc")
    except PackageNotFoundError:
        __version__ = "0.0.0+unknown"

__all__ = [
    "CfCClassifier",
    "CfCForecaster",
    "CfCRegressor",
    "CfCTimeSeriesClassifier",
    "CfCTimeSeriesRegressor",
    "__version__",
]

_LAZY = {
    "CfCClassifier": "classifier",
    "CfCForecaster": "forecaster",
    "CfCRegressor": "regressor",
    "CfCTimeSeriesClassifier": "sktime",
    "CfCTimeSeriesRegressor": "sktime",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
