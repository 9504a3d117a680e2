"""Closed-form continuous-time (CfC) networks for irregular time series.

scikit-learn and sktime estimators built on the CfC recurrent network, for
series with timestamps, gaps, missing values and unequal lengths. The
estimators import torch on first use, so ``import sklearn_cfc`` stays cheap.
"""

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


def __getattr__(name):
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
