"""CfCForecaster: an sktime forecaster whose horizons are points in continuous time."""

from __future__ import annotations

import warnings
from decimal import Decimal
from numbers import Integral, Real
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch
from scipy.stats import norm
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import Interval
from sktime.exceptions import NotFittedError as _SktimeNotFittedError
from sktime.forecasting.base import BaseForecaster

from ._base import _CfCBase
from ._skorch import _PanelDataset
from ._threads import network_width, torch_threads
from .nn import CfCForecastNetwork, MaskedGaussianNLLLoss
from .panel import (
    PanelEncoder,
    bucket_batches,
    forecast_windows,
    series_to_panel,
    training_windows,
)

if TYPE_CHECKING:
    from ._typing import (
        Activation,
        Callbacks,
        Device,
        LRSchedule,
        Mode,
        Optimizer,
        RandomStateLike,
    )

__all__ = ["CfCForecaster"]

_PREDICT_BATCH = 512  # windows per forward pass at prediction time
# forward arguments of the forecast network -> fields of ForecastWindows
_WINDOW_INPUTS = {
    "inputs": "context",
    "dt": "context_dt",
    "lengths": "lengths",
    "query": "query",
    "query_dt": "query_dt",
}


class _NotFittedError(NotFittedError, _SktimeNotFittedError):
    """scikit-learn's NotFittedError that sktime's (skbase's) handlers catch too."""


class CfCForecaster(_CfCBase, BaseForecaster):
    """Forecast (irregularly observed) series at any future timestamps with CfC.

    One global closed-form continuous-time network (Hasani et al., 2022) is
    trained across all series of a panel or hierarchy. It reads the last
    ``context_length`` observations of a series, each with the time elapsed
    since the previous one; from the state after the last observation, each
    requested future timestamp is one closed-form step over the actual gap
    to it, where a Gaussian head gives the mean and spread of every
    variable. A forecast does not depend on which other times are requested.
    Forecast times need not lie on a regular grid: with an irregular index,
    any absolute ``fh`` works.

    Training uses every cutoff of every series: the observations before it
    are the context and the next ``horizon`` observations are the targets.
    Each series is divided by its own standard deviation (per variable), and
    each window is taken relative to its level, the last values observed
    before the cutoff: the network forecasts changes from the level, so a
    series' mean plays no part. Exogenous ``X`` enters, scaled by its mean
    and standard deviation in ``fit``, as extra inputs at observed and at
    forecast times (so future ``X`` must be given to ``predict`` when ``X``
    was given to ``fit``). See :func:`sklearn_cfc.panel.training_windows`.

    Missing values in ``y`` are allowed: a time where every variable is
    missing is not an observation (the model sees the longer gap instead), and
    a partly observed time feeds the network an observation mask. Forecasts
    never contain NaN. Infinite values in ``y`` or ``X`` raise an error
    naming the series, column and time; columns of dtype object holding
    only numbers (and missing values) are read as floats.

    Parameters
    ----------
    context_length : int, default=48
        Number of past observations the network reads before forecasting.
    horizon : int or None, default=None
        Number of future observations each training window predicts. None
        uses the number of steps of ``fh`` when it is passed to ``fit``, and
        12 otherwise. Longer forecasts still work (a longer step from the
        last state), beyond the gaps training covered.
    units : int, default=64
        Size of the CfC state.
    mode : {"default", "no_gate", "pure"}, default="default"
        The closed-form update (see :class:`sklearn_cfc.nn.CfCCell`).
    backbone_units : int, default=128
        Width of each backbone layer.
    backbone_layers : int, default=1
        Number of backbone layers.
    backbone_dropout : float, default=0.0
        Dropout after each backbone activation during training.
    activation : {"lecun_tanh", "tanh", "relu", "gelu", "silu"}, \
            default="lecun_tanh"
        Backbone activation.
    mixed_memory : bool, default=False
        Add an LSTM memory cell in front of the CfC cell (slower).
    max_epochs : int, default=100
        Maximum number of passes over the training windows.
    batch_size : int, default=32
        Windows per gradient step.
    learning_rate : float, default=0.005
        Initial learning rate.
    optimizer : {"adamw", "adam", "sgd", "rmsprop"}, default="adamw"
        The optimizer.
    weight_decay : float, default=1e-4
        Weight decay of the optimizer.
    gradient_clip : float or None, default=1.0
        Clip the gradient norm of each step; None disables.
    lr_schedule : {"cosine", "plateau", "constant"}, default="cosine"
        Learning-rate schedule.
    n_iter_no_change : int, default=20
        Stop when the training loss has not improved by ``tol`` for this many
        epochs; only with the "constant" and "plateau" schedules (a cosine
        schedule runs to ``max_epochs`` as planned).
    tol : float, default=1e-4
        Smallest improvement of the training loss that counts.
    update_epochs : int, default=5
        Epochs of further training from the fitted weights when ``update`` is
        called with ``update_params=True``.
    device : str or torch.device, default="auto"
        Where to train: "auto" picks CUDA, then MPS, then the CPU.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, window order and dropout.
    verbose : int, default=0
        0 is silent, 1 prints a table per epoch, 2 also shows a progress bar.
    callbacks : list of skorch callbacks or None, default=None
        More :mod:`skorch.callbacks` for the net to run, such as loggers
        (``TensorBoard``, ``MlflowLogger``) and checkpoints (``Checkpoint``,
        ``LoadInitState``): instances, or (name, callback) pairs, as in
        skorch. They run after the forecaster's own (schedule, clipping,
        stopping rule) and see every epoch, the one training stops at
        included, of ``fit`` and of every ``update``. Each ``fit`` runs
        fresh copies, built from their parameters as
        :func:`~sklearn.base.clone` builds them but sharing the parameter
        values (a SummaryWriter, say), and leaves those given untouched:
        the copies are in ``net_.callbacks_``, named ``"user_"`` and their
        name (the class name if none is given). Pickling leaves out those
        that cannot be pickled. See :ref:`logging`.

    Attributes
    ----------
    net_ : skorch.NeuralNet
        The fitted skorch net; ``net_.module_`` is the PyTorch network.
    history_ : skorch.History
        Per-epoch records of ``fit`` and of every ``update`` since:
        ``train_loss``, the mean loss over the epoch's batches (measured
        while the weights moved), and ``train_end_loss``, the training loss
        of the weights the epoch ended with. Each ``fit`` or ``update``
        keeps the weights of its epoch with the lowest ``train_end_loss``.
        Training whose loss is not finite, or is more than ``10 * max(1,
        |untrained loss|, |lowest|)`` above the lowest so far, raises a
        :class:`~sklearn_cfc.exceptions.DivergenceError`. A
        KeyboardInterrupt (Ctrl-C) after a complete epoch ends training
        with the weights of the best complete epoch and a
        :class:`~sklearn_cfc.exceptions.TrainingInterruptedWarning`, and
        marks its epoch ``interrupted=True``; one before propagates and
        leaves the forecaster as it was (a first fit: unfitted).
    n_iter_ : int
        Number of epochs run in total.
    dt_scale_ : float
        Median gap between consecutive observations in ``fit`` (in the
        index's units; nanoseconds for datetimes); elapsed times are divided
        by it.
    encoder_ : sklearn_cfc.panel.PanelEncoder
        Fitted on the series in ``fit`` (variables, then exogenous
        columns): the time scale, and the mean and standard deviation of
        the exogenous columns.
    series_scale_ : dict
        Each series' standard deviation of every variable (1 where it is 0
        or undefined), by series key (a tuple of its instance levels; None
        for a single series).
    horizon_ : int
        The number of targets per training window.
    device_ : str
        The device used for training.

    See Also
    --------
    CfCRegressor : Predicts one value per whole series.
    sklearn_cfc.nn.CfC : The PyTorch network.

    Examples
    --------
    >>> from sktime.datasets import load_airline
    >>> from sklearn_cfc import CfCForecaster
    >>> y = load_airline()
    >>> forecaster = CfCForecaster(context_length=24, max_epochs=5, random_state=0)
    >>> forecaster.fit(y[:-12], fh=[1, 2, 3])
    CfCForecaster(...)
    >>> forecaster.predict().shape
    (3,)
    >>> forecaster.predict_interval(coverage=0.8).shape
    (3, 2)
    """

    _tags = {
        # packaging info
        "authors": ["sklearn-cfc developers"],
        "maintainers": ["sklearn-cfc developers"],
        "python_dependencies": ["torch", "skorch"],
        # estimator type
        "y_inner_mtype": ["pd.DataFrame", "pd-multiindex", "pd_multiindex_hier"],
        "X_inner_mtype": ["pd.DataFrame", "pd-multiindex", "pd_multiindex_hier"],
        "capability:multivariate": True,
        "capability:exogenous": True,
        "capability:missing_values": True,
        "capability:insample": True,
        "capability:pred_int": True,
        "capability:pred_int:insample": True,
        "capability:update": True,
        "capability:unequal_length": True,
        "requires-fh-in-fit": False,
        "X-y-must-have-same-index": True,
        "fit_is_empty": False,
        "capability:random_state": True,
        "property:randomness": "derandomized",
    }

    _parameter_constraints = {
        **_CfCBase._parameter_constraints,
        "context_length": [Interval(Integral, 1, None, closed="left")],
        "horizon": [Interval(Integral, 1, None, closed="left"), None],
        "update_epochs": [Interval(Integral, 1, None, closed="left")],
    }
    _module = CfCForecastNetwork
    _criterion = MaskedGaussianNLLLoss

    def __init__(
        self,
        context_length: int = 48,
        horizon: int | None = None,
        units: int = 64,
        mode: Mode = "default",
        backbone_units: int = 128,
        backbone_layers: int = 1,
        backbone_dropout: float = 0.0,
        activation: Activation = "lecun_tanh",
        mixed_memory: bool = False,
        max_epochs: int = 100,
        batch_size: int = 32,
        learning_rate: float = 5e-3,
        optimizer: Optimizer = "adamw",
        weight_decay: float = 1e-4,
        gradient_clip: float | None = 1.0,
        lr_schedule: LRSchedule = "cosine",
        n_iter_no_change: int = 20,
        tol: float = 1e-4,
        update_epochs: int = 5,
        device: Device = "auto",
        random_state: RandomStateLike = None,
        verbose: int = 0,
        callbacks: Callbacks | None = None,
    ) -> None:
        self.context_length = context_length
        self.horizon = horizon
        self.units = units
        self.mode = mode
        self.backbone_units = backbone_units
        self.backbone_layers = backbone_layers
        self.backbone_dropout = backbone_dropout
        self.activation = activation
        self.mixed_memory = mixed_memory
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.optimizer = optimizer
        self.weight_decay = weight_decay
        self.gradient_clip = gradient_clip
        self.lr_schedule = lr_schedule
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.update_epochs = update_epochs
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        with warnings.catch_warnings():
            # sktime warns that remember_data's default will change; we set it
            warnings.filterwarnings(
                "ignore", message=".*remember_data", category=FutureWarning
            )
            super().__init__()
        # update() retrains on all data seen so far, so keep it
        self.set_config(remember_data=True)

    def check_is_fitted(self, method_name: str | None = None) -> None:
        """Raise scikit-learn's NotFittedError when the forecaster is not fitted.

        sktime's check, with an error that is both scikit-learn's
        :class:`~sklearn.exceptions.NotFittedError` (as every estimator of
        this package raises) and sktime's (skbase's), so that the handlers
        of either catch it.

        Parameters
        ----------
        method_name : str, default=None
            The method that calls the check, for the message.
        """
        try:
            super().check_is_fitted(method_name)
        except _SktimeNotFittedError as exc:
            raise _NotFittedError(str(exc)) from None

    # ------------------------------------------------------------ data
    def _check_X_y(self, X=None, y=None, *args, **kwargs):
        """sktime's checks of ``X`` and ``y``, after :func:`_as_numbers`.

        Every public method (``fit``, ``predict``, ``update``, ...) passes its
        data through here first; sktime alone would take an object column
        of numbers for a categorical one.
        """
        return super()._check_X_y(
            _as_numbers(X, "X"), _as_numbers(y, "y"), *args, **kwargs
        )

    def _series(self, y, X):
        """The series as a panel (and their keys), each with 2 observations."""
        panel, keys = series_to_panel(y, X)
        short = np.flatnonzero(panel.lengths < 2)
        if len(short):
            key = keys[short[0]]
            where = "the series" if key is None else f"series {_name(key)}"
            raise ValueError(
                f"{type(self).__name__} needs at least 2 observed time points "
                f"per series (a context and a target); {where} has "
                f"{int(panel.lengths[short[0]])}."
            )
        return panel, keys

    series_scale_: dict[tuple | None, np.ndarray]  # set in fit

    def _series_scales(self, panel, keys, *, learn=True):
        """Each series' scale: its standard deviation of every variable.

        Series seen before keep the scale they were first given; ``learn``
        records those of new series.
        """
        d = len(self.columns_)
        scales = dict(self.series_scale_)
        new = [i for i, key in enumerate(keys) if key not in scales]
        if new:
            values = panel.values[new, :, :d].astype(np.float64)
            with warnings.catch_warnings():  # a never-observed variable
                warnings.simplefilter("ignore", RuntimeWarning)
                std = np.nanstd(values, axis=1)
            std = np.where(np.isfinite(std) & (std > 0), std, 1.0)
            scales.update((keys[i], row) for i, row in zip(new, std, strict=True))
            if learn:
                self.series_scale_ = scales
        return np.stack([scales[key] for key in keys])

    def _window_settings(self):
        d = len(self.columns_)
        return dict(
            n_targets=d,
            context_length=self.context_length,
            dt_scale=self.dt_scale_,
            covariate_mean=self.encoder_.mean_[d:],
            covariate_scale=self.encoder_.scale_[d:],
        )

    def _training_data(self, panel, keys):
        """Every training window of the series, as a dataset."""
        windows = training_windows(
            panel,
            horizon=self.horizon_,
            scale=self._series_scales(panel, keys),
            **self._window_settings(),
        )
        return _PanelDataset(windows, windows.target, inputs=_WINDOW_INPUTS)

    # ------------------------------------------------------------- fit
    def _fit(self, y, X=None, fh=None):
        self._validate_params()
        if self.horizon is not None:
            self.horizon_ = self.horizon
        elif fh is not None:
            self.horizon_ = max(1, len(fh))
        else:
            self.horizon_ = 12
        self.columns_ = list(y.columns)
        self.n_exog_ = 0 if X is None else X.shape[1]
        panel, keys = self._series(y, X)
        # the time scale, and the scaling of the exogenous columns
        self.encoder_ = PanelEncoder().fit(panel)
        self.dt_scale_ = self.encoder_.dt_scale_
        self.series_scale_ = {}
        dataset = self._training_data(panel, keys)
        training = self._training()
        self._init_device_and_seed(training)
        d = len(self.columns_)
        n_inputs = 2 * (d + self.n_exog_) + 1
        self.net_ = self._make_net(training, dict(n_inputs=n_inputs, n_outputs=d))
        self._train(dataset, first=True)
        return self

    def _update(self, y, X=None, update_params=True):
        panel, keys = self._series(self._y, self._X)
        if not update_params:  # new series only get their scale
            self._series_scales(panel, keys)
            return self
        dataset = self._training_data(panel, keys)
        self._train(dataset, first=False, epochs=self.update_epochs)
        return self

    # --------------------------------------------------------- predict
    def _gaussian(self, fh, X):
        """Mean and scale forecasts, each an array (n_series, len(fh), d).

        Each future time is reached from the state after a series' last
        observation in one closed-form step over the whole gap. In-sample
        times are one-step-ahead forecasts, each from the observations
        strictly before it (a time at or before a series' first observation
        has no context and is forecast at the level of that first
        observation). See :func:`sklearn_cfc.panel.forecast_windows`.
        """
        fh_abs = fh.to_absolute_index(self.cutoff)
        kind = _time_kind(fh_abs)
        if kind != self.encoder_.time_kind_:
            raise TypeError(
                f"fh holds {kind} times, but y has {self.encoder_.time_kind_} "
                "timestamps; pass fh as steps ahead (integers) or as times of "
                "y's kind."
            )
        panel, keys = self._series(self._y, self._X)
        scale = self._series_scales(panel, keys, learn=False)
        covariates = self._exog_at(X, fh_abs, keys) if self.n_exog_ else None
        windows = forecast_windows(
            panel,
            fh_abs,
            scale=scale,
            covariates=covariates,
            **self._window_settings(),
        )
        out = self._forward_windows(windows)
        d = len(self.columns_)
        valid = windows.position >= 0
        series = np.broadcast_to(windows.instance[:, None], valid.shape)[valid]
        at = windows.position[valid]
        means = np.empty((len(panel), len(fh_abs), d))
        scales = np.empty((len(panel), len(fh_abs), d))
        means[series, at] = (out[..., :d] + windows.level[:, None, :])[valid]
        means[series, at] *= scale[series]
        scales[series, at] = out[..., d:][valid] * scale[series]
        return means, scales, keys, fh_abs

    def _forward_windows(self, windows):
        """Network outputs (float64) of every window, batch by batch."""
        module = self.net_.module_
        module.eval()
        device = self.net_.device
        out = np.empty((len(windows), windows.query.shape[1], 2 * len(self.columns_)))
        work = min(len(windows), _PREDICT_BATCH) * network_width(self)
        with torch.no_grad(), torch_threads(work, device):
            for idx in bucket_batches(windows.lengths, _PREDICT_BATCH):
                batch = windows.take(idx)
                inputs = {
                    name: torch.from_numpy(getattr(batch, field)).to(device)
                    for name, field in _WINDOW_INPUTS.items()
                }
                out[idx] = module(**inputs).cpu().double().numpy()
        return out

    def _check_exog_columns(self, X):
        """``X`` (when given) must have the exogenous columns seen in ``fit``."""
        if X is None:
            return
        fitted = [] if self._X is None else list(self._X.columns)
        given = list(getattr(X, "columns", [getattr(X, "name", None)]))
        if given != fitted:
            seen = f"exogenous columns {fitted}" if fitted else "no exogenous X"
            raise ValueError(
                f"X has columns {given}, but {type(self).__name__} was fitted "
                f"with {seen}; they must match, in the same order."
            )

    def update(
        self, y: object, X: object = None, update_params: bool = True
    ) -> CfCForecaster:
        """Update the cutoff and, by default, the network with new data.

        sktime's ``update``; ``X`` must have the exogenous columns seen in
        ``fit`` (checked before any state changes).

        Parameters
        ----------
        y : sktime-compatible series or panel
            New observations, after the cutoff.
        X : sktime-compatible frame or None, default=None
            Exogenous values at the times of ``y``.
        update_params : bool, default=True
            Train the network on the new data for ``update_epochs`` epochs;
            with False only the cutoff (and new series' scales) change.

        Returns
        -------
        self : CfCForecaster
        """
        if self.is_fitted:
            self._check_exog_columns(X)
        return super().update(y, X=X, update_params=update_params)

    def _exog_at(self, X, fh_abs, keys):
        """Exogenous values at the forecast times, (n_series, len(fh), n_exog).

        Values passed to ``predict`` take precedence over those seen in
        ``fit`` and ``update`` (which cover in-sample times).
        """
        self._check_exog_columns(X)
        known = [frame for frame in (X, self._X) if frame is not None]
        out = np.full((len(keys), len(fh_abs), self.n_exog_), np.nan)
        for i, key in enumerate(keys):
            for frame in known:
                out[i] = np.where(
                    np.isnan(out[i]), _at(_rows_of(frame, key), fh_abs), out[i]
                )
            if X is None and np.isnan(out[i]).any():
                raise ValueError(
                    f"{type(self).__name__} was fitted with exogenous X, so "
                    "predict needs X at the forecast times too (known future "
                    "values); pass X covering fh."
                )
            if np.isnan(out[i]).any():
                raise ValueError(
                    f"X has missing values at forecast times of series "
                    f"{_name(key)}; future exogenous values must be known."
                )
            if np.isinf(out[i]).any():
                t, c = np.argwhere(np.isinf(out[i]))[0]
                series = "" if key is None else f" of series {_name(key)}"
                raise ValueError(
                    f"X has an infinite value in column {self._X.columns[c]!r} "
                    f"at forecast time {fh_abs[t]}{series}; values must be finite."
                )
        return out

    def _frame(self, keys, fh_abs, data, columns):
        """Forecasts as sktime expects them: fh rows (under series keys)."""
        if keys == [None]:
            return pd.DataFrame(data[0], index=fh_abs, columns=columns)
        names = list(self._y.index.names)
        tuples = [(*key, t) for key in keys for t in fh_abs]
        index = pd.MultiIndex.from_tuples(tuples, names=names)
        return pd.DataFrame(np.concatenate(list(data)), index=index, columns=columns)

    def _predict(self, fh, X=None):
        mean, _, keys, fh_abs = self._gaussian(fh, X)
        return self._frame(keys, fh_abs, mean, self.columns_)

    def _predict_quantiles(self, fh, X, alpha):
        mean, scale, keys, fh_abs = self._gaussian(fh, X)
        columns = pd.MultiIndex.from_product([self.columns_, alpha])
        z = norm.ppf(alpha)
        # (series, steps, variables, alphas): increasing in alpha by construction
        values = mean[..., None] + scale[..., None] * z
        values = values.reshape(*values.shape[:2], -1)
        return self._frame(keys, fh_abs, values, columns)

    # ------------------------------------------------------------ tests
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
        return [
            dict(
                context_length=8,
                units=4,
                backbone_units=8,
                max_epochs=2,
                batch_size=64,
                random_state=0,
                device="cpu",
            ),
            dict(
                context_length=4,
                horizon=2,
                mode="no_gate",
                units=3,
                backbone_units=4,
                backbone_layers=2,
                max_epochs=1,
                lr_schedule="constant",
                update_epochs=1,
                random_state=1,
                device="cpu",
            ),
        ]


def _as_numbers(data, name):
    """``data`` with its object columns of numbers as float64.

    A column of dtype object whose values are all real numbers (ints,
    floats, decimals, not booleans) or missing is converted to float64, as
    :meth:`pandas.DataFrame.infer_objects` and scikit-learn's ``check_array``
    would; one of other scalars (strings, say) raises a TypeError naming
    ``name``, the column and a value that is not a number, and so does a
    column of another dtype that is not numeric (strings, categories,
    datetimes). Numeric columns and columns of series (sktime's nested
    format) pass unchanged.

    Parameters
    ----------
    data : pd.Series, pd.DataFrame, ndarray, other or None
    name : str
        ``"y"`` or ``"X"``, for messages.

    Returns
    -------
    The same kind of container as ``data``.
    """
    if isinstance(data, np.ndarray):
        if data.dtype != object:
            return data
        values = _column_as_numbers(pd.Series(data.ravel()), name)
        return data if values is None else values.reshape(data.shape)
    if isinstance(data, pd.Series):
        if _is_numeric(data.dtype):
            return data
        values = _column_as_numbers(data, name)
        if values is None:
            return data
        return pd.Series(values, index=data.index, name=data.name)
    if not isinstance(data, pd.DataFrame):
        return data
    columns = {
        position: _column_as_numbers(data.iloc[:, position], f"{name} column {c!r}")
        for position, (c, dtype) in enumerate(data.dtypes.items())
        if not _is_numeric(dtype)
    }
    columns = {k: v for k, v in columns.items() if v is not None}
    if not columns:
        return data
    data = data.copy()
    for position, values in columns.items():
        data.isetitem(position, values)
    return data


def _is_numeric(dtype):
    return pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)


def _column_as_numbers(values, label):
    """A column of dtype object holding real numbers, as float64.

    None for columns holding something else than scalars (sktime's nested
    series); a TypeError for a column of other scalars, and for one of
    another dtype that is not numeric (strings, categories, datetimes).
    """
    if values.dtype != object:
        raise TypeError(
            f"{label} has dtype {values.dtype}, which is not numeric; "
            "CfCForecaster does not support categorical values: convert the "
            "column to numbers (e.g. with pd.to_numeric) or drop it."
        )
    if not all(map(pd.api.types.is_scalar, values)):
        return None
    bad = values[values.map(_not_a_number)]
    if len(bad):
        raise TypeError(
            f"{label} has dtype object and holds {bad.iloc[0]!r} at "
            f"{bad.index[0]!r}, which is not a number; CfCForecaster does not "
            "support categorical values: convert the column to numbers (e.g. "
            "with pd.to_numeric) or drop it."
        )
    return values.to_numpy(dtype=np.float64, na_value=np.nan)


def _not_a_number(value):
    """Whether a scalar is neither a real number (bool excluded) nor missing."""
    if isinstance(value, (bool, np.bool_)):
        return True
    return not isinstance(value, (Real, Decimal)) and not pd.isna(value)


def _time_kind(index):
    """'numeric', 'datetime' or 'timedelta', as ``PanelEncoder.time_kind_``."""
    if isinstance(index, (pd.DatetimeIndex, pd.PeriodIndex)):
        return "datetime"
    if isinstance(index, pd.TimedeltaIndex):
        return "timedelta"
    return "numeric"


def _rows_of(frame, key):
    """The rows of one series (its ``key`` as ``series_to_panel`` gives it)."""
    if key is None:
        return frame
    return frame.loc[key if len(key) > 1 else key[0]]


def _at(frame, index):
    """Rows of ``frame`` at the timestamps ``index`` (NaN where absent)."""
    return frame.reindex(index).to_numpy(dtype=np.float64)


def _name(key):
    if key is None:
        return "''"
    return repr(key[0] if len(key) == 1 else key)
