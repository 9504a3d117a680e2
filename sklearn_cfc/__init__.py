"""Closed-form continuous-time (CfC) networks for irregular time series.

scikit-learn and sktime estimators built on the CfC recurrent network, for
series with timestamps, gaps, missing values and unequal lengths. Importing
the top-level package is cheap: it imports neither torch nor pandas.
"""

try:  # written by setuptools-scm at install time
    from ._version import __version__
except ImportError:  # pragma: no cover - running from a bare source tree
    from importlib.metadata import PackageNotFoundError, version

    try:
        __version__ = version("sklearn-cfc")
    except PackageNotFoundError:
        __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
