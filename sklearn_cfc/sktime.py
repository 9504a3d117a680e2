"""sktime time series classifier and regressor around the CfC estimators.

:class:`CfCTimeSeriesClassifier` and :class:`CfCTimeSeriesRegressor` are
sktime's :class:`~sktime.classification.base.BaseClassifier` and
:class:`~sktime.regression.base.BaseRegressor` with the settings of
:class:`~sklearn_cfc.CfCClassifier` and :class:`~sklearn_cfc.CfCRegressor`:
``fit`` builds that scikit-learn estimator from ``get_params()`` and fits it
on the data as sktime hands it over (``estimator_``); the predictions are
its. sktime's own tooling (transformer pipelines such as
``ExponentTransformer() * CfCTimeSeriesClassifier()``, benchmarking,
``check_estimator``) then sees the capabilities the network has: several
channels, unequal lengths and missing values.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Literal

from sklearn.utils._param_validation import validate_parameter_constraints
from sktime.classification.base import BaseClassifier
from sktime.regression.base import BaseRegressor

from ._base import _BaseCfC
from ._skorch import picklable_callbacks
from .classifier import CfCClassifier
from .regressor import CfCRegressor

if TYPE_CHECKING:
    from accelerate import Accelerator

    from ._typing import (
        Activation,
        Callbacks,
        Device,
        DtScale,
        Fill,
        LRSchedule,
        Mode,
        Optimizer,
        RandomStateLike,
        Readout,
        RunningStats,
        Scaling,
        TimeGrid,
        TimeUnit,
    )

__all__ = ["CfCTimeSeriesClassifier", "CfCTimeSeriesRegressor"]

# sktime hands X over unchanged in these formats, all of which
# sklearn_cfc.panel.to_panel reads; any other Panel mtype is converted to the
# first, which holds unequal lengths, missing values and timestamps
_X_INNER_MTYPES = ["pd-multiindex", "numpy3D", "df-list"]

_COMMON_TAGS = {
    # packaging info
    "authors": ["sklearn-cfc developers"],
    "maintainers": ["sklearn-cfc developers"],
    "python_dependencies": ["torch", "skorch"],
    # estimator type
    "X_inner_mtype": _X_INNER_MTYPES,
    "capability:multivariate": True,
    "capability:unequal_length": True,
    "capability:missing_values": True,
    "capability:categorical_in_X": False,  # channels must be numbers
    "capability:random_state": True,
    "property:randomness": "derandomized",
}

_PARAMETERS = "    %(parameters)s\n"


def _parameters_of(estimator: type[_BaseCfC]):
    """Class decorator: the docstring's Parameters are ``estimator``'s.

    The placeholder line ``%(parameters)s`` under the class's Parameters
    heading becomes the body of that section of ``estimator``'s docstring,
    so the two classes document their shared settings in one place.
    """

    def decorate(cls):
        if cls.__doc__ is not None and estimator.__doc__ is not None:  # not -OO
            cls.__doc__ = cls.__doc__.replace(
                _PARAMETERS, _section(estimator.__doc__, "Parameters")
            )
        return cls

    return decorate


def _section(doc: str, name: str) -> str:
    """The body of the numpydoc section ``name`` of a class docstring."""
    heading = f"\n    {name}\n    {'-' * len(name)}\n"
    start = doc.index(heading) + len(heading)
    # up to the blank line before the next heading (a line underlined by -)
    following = re.search(r"\n\n    \S[^\n]*\n    -+\n", doc[start:])
    end = len(doc) if following is None else start + following.start() + 1
    return doc[start:end]


class _SktimeCfC:
    """What the two sktime classes share: build, fit and keep ``estimator_``.

    A subclass names its scikit-learn estimator in ``_estimator_class`` and
    repeats its signature in ``__init__`` (sktime reads the parameters from
    it, as scikit-learn does).
    """

    _estimator_class: type[_BaseCfC]
    estimator_: Any
    warm_start: bool
    accelerator: Any

    # sktime's fit begins with reset(), which deletes every attribute but
    # those with "__" in their name: this one carries the fitted estimator
    # over to the next fit for warm_start
    _warm__estimator: Any = None

    if TYPE_CHECKING:  # sktime's base class provides it

        def get_params(self, deep: bool = True) -> dict[str, Any]: ...

    def _fit(self, X, y):
        """Fit a new ``_estimator_class`` (or, with warm_start, the last one).

        Parameters
        ----------
        X : pd.DataFrame, np.ndarray or list of pd.DataFrame
            In one of ``X_inner_mtype``, as sktime hands it over.
        y : np.ndarray
            Labels or targets, one per instance.

        Returns
        -------
        self
        """
        params = self.get_params(deep=False)
        # the settings' rules, in this class's name
        validate_parameter_constraints(
            self._estimator_class._parameter_constraints,
            params,
            caller_name=type(self).__name__,
        )
        estimator = self._warm__estimator if self.warm_start else None
        if estimator is None:
            estimator = self._estimator_class(**params)
        else:
            estimator.set_params(**params)
        self.estimator_ = estimator.fit(X, y)
        self._warm__estimator = self.estimator_ if self.warm_start else None
        return self

    def __getstate__(self):
        state = self.__dict__.copy()
        if state.get("accelerator") is not None:
            # an accelerator belongs to its process and process group, as in
            # the scikit-learn estimators: a pickled copy trains in one process
            state["accelerator"] = None
        # as in the scikit-learn estimators: callbacks that cannot be pickled
        # (a TensorBoard's SummaryWriter) are left out
        state["callbacks"] = picklable_callbacks(state.get("callbacks"), self)
        return state

    @classmethod
    def _test_params(cls):
        """Two tiny configurations, for sktime's ``check_estimator``."""
        return [
            dict(
                units=4,
                backbone_units=8,
                mixed_memory=False,
                max_epochs=3,
                batch_size=16,
                learning_rate=0.02,
                device="cpu",
                random_state=0,
            ),
            dict(
                units=3,
                mode="no_gate",
                backbone_units=4,
                backbone_layers=2,
                readout="last",
                patch_length=2,
                max_epochs=2,
                lr_schedule="constant",
                differences=False,
                device="cpu",
                random_state=1,
            ),
        ]


@_parameters_of(CfCClassifier)
class CfCTimeSeriesClassifier(_SktimeCfC, BaseClassifier):
    """sktime time series classifier: a CfC network over (irregular) series.

    The sktime face of :class:`~sklearn_cfc.CfCClassifier`, with the same
    parameters: ``fit`` builds a ``CfCClassifier`` from them and fits it
    (``estimator_``), and ``predict`` and ``predict_proba`` are its. What
    sktime adds is its own handling of ``X`` and ``y``: any Panel mtype is
    accepted (``pd-multiindex``, ``numpy3D`` and ``df-list`` pass
    unchanged, others are converted to ``pd-multiindex``), and the tags
    declare what the network reads: several channels, unequal lengths and
    missing values. So it works in sktime's transformer pipelines
    (``ExponentTransformer() * CfCTimeSeriesClassifier()``), benchmarks and
    evaluation tools on unequal-length panels.

    Timestamps come from the time index of ``pd-multiindex`` and ``df-list``
    data (irregular gaps are the elapsed times the network sees), or from
    the channel ``time_channel`` of a ``numpy3D`` array.

    Parameters
    ----------
    %(parameters)s

    Attributes
    ----------
    estimator_ : CfCClassifier
        The fitted scikit-learn estimator (its ``net_``, ``history_``,
        ``encoder_``, ... describe the network and its training).
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    n_classes_ : int
        Number of classes.
    fit_time_ : int
        Time ``fit`` took, in milliseconds.

    See Also
    --------
    CfCClassifier : The scikit-learn classifier this class fits.
    CfCTimeSeriesRegressor : The same for regression.

    Notes
    -----
    sktime's ``fit`` starts from a clean estimator (``reset``), so a fitted
    ``estimator_`` is replaced at every ``fit``; with ``warm_start=True`` it
    is trained further instead, as in ``CfCClassifier``. ``partial_fit``,
    ``sample_weight`` and the scikit-learn estimator's other methods are on
    ``estimator_``. If ``y`` holds a single class, sktime predicts that
    class without fitting a network (and there is no ``estimator_``).
    Data-parallel training (``accelerator``) works as the Notes of
    :class:`~sklearn_cfc.CfCClassifier` describe.

    Examples
    --------
    >>> from sktime.datasets import load_basic_motions
    >>> from sklearn_cfc import CfCTimeSeriesClassifier
    >>> X, y = load_basic_motions(split="train", return_type="pd-multiindex")
    >>> clf = CfCTimeSeriesClassifier(units=8, max_epochs=5, random_state=0)
    >>> clf.fit(X, y)
    CfCTimeSeriesClassifier(...)
    >>> clf.predict_proba(X.loc[:2]).shape
    (3, 4)
    >>> clf.estimator_
    CfCClassifier(...)
    """

    _tags = {
        **_COMMON_TAGS,
        "capability:predict_proba": True,
        "capability:class_weight": True,
    }
    _estimator_class = CfCClassifier

    def __init__(
        self,
        *,
        units: int = 64,
        mode: Mode = "default",
        backbone_units: int = 128,
        backbone_layers: int = 1,
        backbone_dropout: float = 0.0,
        activation: Activation = "lecun_tanh",
        mixed_memory: bool = True,
        readout: Readout = "all",
        patch_length: int | Literal["auto"] = "auto",
        max_epochs: int = 100,
        batch_size: int = 32,
        learning_rate: float = 5e-3,
        optimizer: Optimizer = "adamw",
        weight_decay: float = 1e-4,
        gradient_clip: float | None = 1.0,
        lr_schedule: LRSchedule = "cosine",
        early_stopping: bool | Literal["auto"] = "auto",
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 10,
        tol: float = 1e-4,
        scale: Scaling = "auto",
        time_channel: int | str | None = None,
        time_unit: TimeUnit = "s",
        dt_scale: DtScale = "median",
        running_stats: RunningStats = False,
        differences: bool = True,
        time_grid: TimeGrid = "auto",
        fill: Fill = "auto",
        device: Device = "auto",
        accelerator: Accelerator | None = None,
        random_state: RandomStateLike = None,
        verbose: int = 0,
        callbacks: Callbacks | None = None,
        warm_start: bool = False,
        class_weight: dict | Literal["balanced"] | None = None,
    ) -> None:
        self.units = units
        self.mode = mode
        self.backbone_units = backbone_units
        self.backbone_layers = backbone_layers
        self.backbone_dropout = backbone_dropout
        self.activation = activation
        self.mixed_memory = mixed_memory
        self.readout = readout
        self.patch_length = patch_length
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.optimizer = optimizer
        self.weight_decay = weight_decay
        self.gradient_clip = gradient_clip
        self.lr_schedule = lr_schedule
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.scale = scale
        self.time_channel = time_channel
        self.time_unit = time_unit
        self.dt_scale = dt_scale
        self.running_stats = running_stats
        self.differences = differences
        self.time_grid = time_grid
        self.fill = fill
        self.device = device
        self.accelerator = accelerator
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.class_weight = class_weight
        super().__init__()

    def _predict(self, X):
        """Predicted class of each series (see ``CfCClassifier.predict``).

        Parameters
        ----------
        X : pd.DataFrame, np.ndarray or list of pd.DataFrame
            In one of ``X_inner_mtype``.

        Returns
        -------
        y : ndarray of shape (n_instances,)
        """
        return self.estimator_.predict(X)

    def _predict_proba(self, X):
        """Class probabilities (see ``CfCClassifier.predict_proba``).

        Parameters
        ----------
        X : pd.DataFrame, np.ndarray or list of pd.DataFrame
            In one of ``X_inner_mtype``.

        Returns
        -------
        proba : ndarray of shape (n_instances, n_classes)
            Columns ordered as ``classes_``.
        """
        return self.estimator_.predict_proba(X)

    @classmethod
    def get_test_params(cls, parameter_set: str = "default") -> list[dict[str, Any]]:
        """Two small, fast configurations for sktime's estimator checks.

        Parameters
        ----------
        parameter_set : str, default="default"
            Unused; there is one set.

        Returns
        -------
        params : list of dict
        """
        first, second = cls._test_params()
        return [first, {**second, "class_weight": "balanced"}]


@_parameters_of(CfCRegressor)
class CfCTimeSeriesRegressor(_SktimeCfC, BaseRegressor):
    """sktime time series regressor: a CfC network over (irregular) series.

    The sktime face of :class:`~sklearn_cfc.CfCRegressor`, with the same
    parameters: ``fit`` builds a ``CfCRegressor`` from them and fits it
    (``estimator_``), and ``predict`` is its. What sktime adds is its own
    handling of ``X`` and ``y``: any Panel mtype is accepted
    (``pd-multiindex``, ``numpy3D`` and ``df-list`` pass unchanged, others
    are converted to ``pd-multiindex``), and the tags declare what the
    network reads: several channels, unequal lengths, missing values and
    several targets (a 2D ``y``, fitted by one network). So it works in
    sktime's transformer pipelines, benchmarks and evaluation tools on
    unequal-length panels.

    Timestamps come from the time index of ``pd-multiindex`` and ``df-list``
    data (irregular gaps are the elapsed times the network sees), or from
    the channel ``time_channel`` of a ``numpy3D`` array.

    Parameters
    ----------
    %(parameters)s

    Attributes
    ----------
    estimator_ : CfCRegressor
        The fitted scikit-learn estimator (its ``net_``, ``history_``,
        ``encoder_``, ... describe the network and its training).
    fit_time_ : int
        Time ``fit`` took, in milliseconds.

    See Also
    --------
    CfCRegressor : The scikit-learn regressor this class fits.
    CfCTimeSeriesClassifier : The same for classification.

    Notes
    -----
    sktime's ``fit`` starts from a clean estimator (``reset``), so a fitted
    ``estimator_`` is replaced at every ``fit``; with ``warm_start=True`` it
    is trained further instead, as in ``CfCRegressor``. ``partial_fit``,
    ``sample_weight`` and the scikit-learn estimator's other methods are on
    ``estimator_``. Data-parallel training (``accelerator``) works as the
    Notes of :class:`~sklearn_cfc.CfCRegressor` describe.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_cfc import CfCTimeSeriesRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 2, 12))  # 40 series, 2 channels, 12 steps
    >>> y = X[:, 0].sum(axis=1)
    >>> reg = CfCTimeSeriesRegressor(units=8, max_epochs=5, random_state=0)
    >>> reg.fit(X, y)
    CfCTimeSeriesRegressor(...)
    >>> reg.predict(X[:3]).shape
    (3,)
    """

    _tags = {
        **_COMMON_TAGS,
        "y_inner_mtype": ["numpy2D", "numpy1D"],  # a 2D y stays 2D
        "capability:multioutput": True,
    }
    _estimator_class = CfCRegressor

    def __init__(
        self,
        *,
        units: int = 64,
        mode: Mode = "default",
        backbone_units: int = 128,
        backbone_layers: int = 1,
        backbone_dropout: float = 0.0,
        activation: Activation = "lecun_tanh",
        mixed_memory: bool = True,
        readout: Readout = "all",
        patch_length: int | Literal["auto"] = "auto",
        max_epochs: int = 100,
        batch_size: int = 32,
        learning_rate: float = 5e-3,
        optimizer: Optimizer = "adamw",
        weight_decay: float = 1e-4,
        gradient_clip: float | None = 1.0,
        lr_schedule: LRSchedule = "cosine",
        early_stopping: bool | Literal["auto"] = "auto",
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 10,
        tol: float = 1e-4,
        scale: Scaling = "auto",
        time_channel: int | str | None = None,
        time_unit: TimeUnit = "s",
        dt_scale: DtScale = "median",
        running_stats: RunningStats = False,
        differences: bool = True,
        time_grid: TimeGrid = "auto",
        fill: Fill = "auto",
        device: Device = "auto",
        accelerator: Accelerator | None = None,
        random_state: RandomStateLike = None,
        verbose: int = 0,
        callbacks: Callbacks | None = None,
        warm_start: bool = False,
        scale_target: bool = True,
    ) -> None:
        self.units = units
        self.mode = mode
        self.backbone_units = backbone_units
        self.backbone_layers = backbone_layers
        self.backbone_dropout = backbone_dropout
        self.activation = activation
        self.mixed_memory = mixed_memory
        self.readout = readout
        self.patch_length = patch_length
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.optimizer = optimizer
        self.weight_decay = weight_decay
        self.gradient_clip = gradient_clip
        self.lr_schedule = lr_schedule
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.scale = scale
        self.time_channel = time_channel
        self.time_unit = time_unit
        self.dt_scale = dt_scale
        self.running_stats = running_stats
        self.differences = differences
        self.time_grid = time_grid
        self.fill = fill
        self.device = device
        self.accelerator = accelerator
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.scale_target = scale_target
        super().__init__()

    def _predict(self, X):
        """Predicted targets of each series (see ``CfCRegressor.predict``).

        Parameters
        ----------
        X : pd.DataFrame, np.ndarray or list of pd.DataFrame
            In one of ``X_inner_mtype``.

        Returns
        -------
        y : ndarray of shape (n_instances,) or (n_instances, n_outputs)
        """
        return self.estimator_.predict(X)

    @classmethod
    def get_test_params(cls, parameter_set: str = "default") -> list[dict[str, Any]]:
        """Two small, fast configurations for sktime's estimator checks.

        Parameters
        ----------
        parameter_set : str, default="default"
            Unused; there is one set.

        Returns
        -------
        params : list of dict
        """
        first, second = cls._test_params()
        return [first, {**second, "scale_target": False}]
