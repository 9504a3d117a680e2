"""CfCForecaster: an sktime forecaster whose horizons are points in continuous time."""

from __future__ import annotations

import warnings
from numbers import Integral

import numpy as np
import pandas as pd
import torch
from scipy.stats import norm
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, validate_parameter_constraints
from sktime.forecasting.base import BaseForecaster
from torch import nn

from ._base import _BaseCfC, _make_net, _resolve_device, _train_net
from .nn import CfC
from .panel._time import index_to_float

__all__ = ["CfCForecaster"]

_MIN_SCALE = 1e-3  # lower bound of the predicted standard deviation (scaled units)


class _ForecastNetwork(nn.Module):
    """The CfC core reads a context; each forecast is one step from its end.

    Every forecast time is reached from the state after the context's last
    observation by a single closed-form step over the whole gap, so a
    forecast never depends on which other times are requested.
    """

    def __init__(self, n_inputs, n_outputs, units, **cfc_params):
        super().__init__()
        self.cfc = CfC(n_inputs, units, **cfc_params)
        self.head = nn.Linear(units, 2 * n_outputs)

    def forward(self, x, dt, lengths, q_x, q_dt, sample_weight=None):
        _, state = self.cfc(x, dt, lengths)
        B, Q, F = q_x.shape
        if isinstance(state, tuple):  # mixed memory: (h, c)
            state = tuple(s.repeat_interleave(Q, 0) for s in state)
        else:
            state = state.repeat_interleave(Q, 0)
        out, _ = self.cfc(q_x.reshape(B * Q, 1, F), q_dt.reshape(B * Q, 1), None, state)
        return self.head(out.reshape(B, Q, -1))


class _WindowDataset(torch.utils.data.Dataset):
    """Training windows: a context and the forecasts to make after it."""

    def __init__(self, x, dt, lengths, q_x, q_dt, y):
        self.x, self.dt, self.lengths = x, dt, lengths
        self.q_x, self.q_dt, self.y = q_x, q_dt, y

    def __len__(self):
        return len(self.lengths)

    def __getitem__(self, index):
        return self.__getitems__([index])

    def __getitems__(self, indices):
        idx = np.asarray(indices, dtype=np.intp)
        lengths = self.lengths[idx]
        T = max(1, int(lengths.max()))
        X = {
            "x": torch.from_numpy(self.x[idx, :T]),
            "dt": torch.from_numpy(self.dt[idx, :T]),
            "lengths": torch.from_numpy(lengths),
            "q_x": torch.from_numpy(self.q_x[idx]),
            "q_dt": torch.from_numpy(self.q_dt[idx]),
        }
        return X, torch.from_numpy(self.y[idx])


def _pad(rows, width, fill=0.0):
    """Stack arrays of unequal length (first dim) into one padded array."""
    rest = rows[0].shape[1:]
    out = np.full((len(rows), width, *rest), fill, dtype=np.float32)
    for i, row in enumerate(rows):
        out[i, : len(row)] = row
    return out


class _GaussianNLL(nn.Module):
    """Negative log-likelihood of the observed targets, one value per window.

    ``y_true`` holds NaN where there is nothing to predict (context steps,
    padding, missing values); those positions do not count.
    """

    def __init__(self, reduction="none"):
        super().__init__()
        self.reduction = reduction

    def forward(self, y_pred, y_true):
        d = y_true.shape[-1]
        y_true = y_true[:, : y_pred.shape[1]]
        mean, scale = y_pred[..., :d], _scale(y_pred[..., d:])
        observed = torch.isfinite(y_true)
        z = (torch.where(observed, y_true, mean) - mean) / scale
        nll = (0.5 * z * z + torch.log(scale)) * observed
        count = observed.sum((1, 2))
        return nll.sum((1, 2)) / count.clamp_min(1)


def _scale(raw):
    return nn.functional.softplus(raw) + _MIN_SCALE


class _Series:
    """One series of the panel: its key, time index, values and exogenous data."""

    def __init__(self, key, index, values, exog):
        self.key = key
        self.index = index
        self.values = values  # (n, d) float64, NaN = missing
        self.exog = exog  # (n, k) float64 or None


class CfCForecaster(BaseForecaster):
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
    are the context and the next ``horizon`` observations are the targets,
    each series scaled by its own mean and standard deviation. Exogenous
    ``X`` enters as extra inputs at observed and at forecast times (so future
    ``X`` must be given to ``predict`` when ``X`` was given to ``fit``).

    Missing values in ``y`` are allowed: a time where every variable is
    missing is not an observation (the model sees the longer gap instead), and
    a partly observed time feeds the network an observation mask. Forecasts
    never contain NaN.

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

    Attributes
    ----------
    net_ : skorch.NeuralNet
        The fitted skorch net; ``net_.module_`` is the PyTorch network.
    history_ : skorch.History
        Per-epoch records of the last ``fit`` or ``update``.
    n_iter_ : int
        Number of epochs run in total.
    dt_scale_ : float
        Median gap between consecutive observations in ``fit`` (in the
        index's units; nanoseconds for datetimes); elapsed times are divided
        by it.
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
        **{
            k: v
            for k, v in _BaseCfC._parameter_constraints.items()
            if k
            not in (
                "early_stopping",
                "validation_fraction",
                "scale",
                "time_channel",
                "time_unit",
                "dt_scale",
                "running_stats",
                "warm_start",
            )
        },
        "context_length": [Interval(Integral, 1, None, closed="left")],
        "horizon": [Interval(Integral, 1, None, closed="left"), None],
        "update_epochs": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        context_length=48,
        horizon=None,
        units=64,
        mode="default",
        backbone_units=128,
        backbone_layers=1,
        backbone_dropout=0.0,
        activation="lecun_tanh",
        mixed_memory=False,
        max_epochs=100,
        batch_size=32,
        learning_rate=5e-3,
        optimizer="adamw",
        weight_decay=1e-4,
        gradient_clip=1.0,
        lr_schedule="cosine",
        n_iter_no_change=20,
        tol=1e-4,
        update_epochs=5,
        device="auto",
        random_state=None,
        verbose=0,
    ):
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
        with warnings.catch_warnings():
            # sktime warns that remember_data's default will change; we set it
            warnings.filterwarnings(
                "ignore", message=".*remember_data", category=FutureWarning
            )
            super().__init__()
        # update() retrains on all data seen so far, so keep it
        self.set_config(remember_data=True)

    # ------------------------------------------------------------ data
    @staticmethod
    def _split(y, X):
        """The panel as a list of :class:`_Series` (X aligned to y's times)."""
        if isinstance(y.index, pd.MultiIndex):
            levels = list(range(y.index.nlevels - 1))
            groups = [
                (key if isinstance(key, tuple) else (key,), frame.droplevel(levels))
                for key, frame in y.groupby(level=levels, sort=False)
            ]
        else:
            groups = [(None, y)]
        series = []
        for key, frame in groups:
            exog = None
            if X is not None:
                exog = _at(_rows_of(X, key), frame.index)
            values = frame.to_numpy(dtype=np.float64)
            series.append(_Series(key, frame.index, values, exog))
        return series

    def _times(self, index):
        """Float timestamps of an index, relative to the first fitted time."""
        times, kind = index_to_float(index, 1.0)
        if self._time_kind is not None and kind != self._time_kind:
            raise TypeError(
                f"The time index has {kind} timestamps, but {type(self).__name__} "
                f"was fitted on {self._time_kind} timestamps."
            )
        return times - self._time_origin

    def _prepare(self, series, first):
        """Observed rows of each series: times, scaled values, masks, features."""
        prepared = []
        for s in series:
            observed = ~np.all(np.isnan(s.values), axis=1)
            where = "the series" if s.key is None else f"series {_name(s.key)}"
            if observed.sum() < 2:
                raise ValueError(
                    f"{type(self).__name__} needs at least 2 observed time points "
                    f"per series (a context and a target); {where} has "
                    f"{int(observed.sum())}."
                )
            times = self._times(s.index)[observed]
            if np.any(np.diff(times) <= 0):
                raise ValueError(
                    f"The time index of {where} is not strictly increasing; sort "
                    "it and remove duplicate timestamps."
                )
            values = s.values[observed]
            if first or s.key not in self._y_stats:
                with warnings.catch_warnings():  # a never-observed variable
                    warnings.simplefilter("ignore", RuntimeWarning)
                    std = np.nanstd(values, axis=0)
                self._y_stats[s.key] = np.where(np.isfinite(std) & (std > 0), std, 1.0)
            scaled = values / self._y_stats[s.key]
            exog = None if s.exog is None else s.exog[observed]
            prepared.append((s.key, times, scaled, exog))
        return prepared

    def _features(self, values, exog, query):
        """Per-step network inputs: [y, y mask, X, X mask, is-forecast].

        ``values`` are a window's scaled values relative to its level (the
        last observed value before the forecast); forecast steps carry no
        value and a zero mask.
        """
        n = len(values)
        if query:
            parts = [np.zeros_like(values), np.zeros_like(values)]
        else:
            mask = np.isfinite(values)
            parts = [np.nan_to_num(_ffill(values)), mask]
        if self._n_exog:
            x = (exog - self._x_mean) / self._x_scale
            parts += [np.nan_to_num(_ffill(x)), np.isfinite(x)]
        parts.append(np.full((n, 1), float(query)))
        return np.concatenate(parts, axis=1).astype(np.float32)

    def _windows(self, prepared):
        """Training windows: each cutoff's context and the next observations."""
        L, H = self.context_length, self._horizon
        ctx, ctx_dt, lengths, qry, qry_dt, targets = [], [], [], [], [], []
        for _, times, scaled, exog in prepared:
            gaps = np.diff(times, prepend=times[0]) / self.dt_scale_
            levels = np.nan_to_num(_ffill(scaled))
            n = len(times)
            for c in range(1, n):
                start, end = max(0, c - L), min(n, c + H)
                level = levels[c - 1]
                x_ctx = None if exog is None else exog[start:c]
                x_qry = None if exog is None else exog[c:end]
                ctx.append(self._features(scaled[start:c] - level, x_ctx, False))
                ctx_dt.append(gaps[start:c])
                lengths.append(c - start)
                qry.append(self._features(scaled[c:end], x_qry, True))
                qry_dt.append((times[c:end] - times[c - 1]) / self.dt_scale_)
                targets.append(scaled[c:end] - level)
        W = max(lengths)
        return _WindowDataset(
            _pad(ctx, W),
            _pad(ctx_dt, W),
            np.asarray(lengths, dtype=np.int64),
            _pad(qry, H),
            _pad(qry_dt, H),
            _pad(targets, H, fill=np.nan),
        )

    # ------------------------------------------------------------- fit
    def _fit(self, y, X=None, fh=None):
        validate_parameter_constraints(
            self._parameter_constraints,
            self.get_params(deep=False),
            caller_name=type(self).__name__,
        )
        self._time_kind = None
        self._time_origin = 0.0
        first_index = y.index.get_level_values(-1)
        origin, self._time_kind = index_to_float(first_index[:1], 1.0)
        self._time_origin = float(origin[0])
        self._columns = list(y.columns)
        self._n_exog = 0 if X is None else X.shape[1]
        if X is not None:
            x = X.to_numpy(dtype=np.float64)
            mean, std = np.nanmean(x, axis=0), np.nanstd(x, axis=0)
            self._x_mean = np.where(np.isfinite(mean), mean, 0.0)
            self._x_scale = np.where(np.isfinite(std) & (std > 0), std, 1.0)
        if self.horizon is not None:
            self._horizon = self.horizon
        elif fh is not None:
            self._horizon = max(1, len(fh))
        else:
            self._horizon = 12
        self._y_stats = {}
        prepared = self._prepare(self._split(y, X), first=True)
        gaps = np.concatenate([np.diff(times) for _, times, _, _ in prepared])
        self.dt_scale_ = float(np.median(gaps)) if len(gaps) else 1.0
        self.device_ = _resolve_device(self.device)
        self._seed = check_random_state(self.random_state).randint(2**31 - 1)
        n_inputs = 2 * len(self._columns) + 2 * self._n_exog + 1
        self.net_ = _make_net(
            self,
            module=_ForecastNetwork,
            module_params=dict(n_inputs=n_inputs, n_outputs=len(self._columns)),
            criterion=_GaussianNLL,
        )
        self._train(self._windows(prepared), first=True, epochs=None)
        return self

    def _train(self, dataset, first, epochs):
        _train_net(self, dataset, None, first=first, epochs=epochs)
        self.history_ = self.net_.history
        self.n_iter_ = sum("train_loss" in row for row in self.net_.history)

    def _update(self, y, X=None, update_params=True):
        if not update_params:
            return self
        prepared = self._prepare(self._split(self._y, self._X), first=False)
        self._train(self._windows(prepared), first=False, epochs=self.update_epochs)
        return self

    # --------------------------------------------------------- predict
    def _gaussian(self, fh, X):
        """Mean and scale forecasts, each an array (n_series, len(fh), d).

        Each future time is reached from the state after a series' last
        observation in one closed-form step over the whole gap. In-sample
        times are one-step-ahead forecasts, each from the observations
        strictly before it (a time at or before a series' first observation
        has no context and is forecast at the level of that first
        observation).
        """
        fh_abs = fh.to_absolute_index(self.cutoff)
        query_times = self._times(fh_abs)
        order = np.argsort(query_times, kind="stable")
        if np.any(np.diff(query_times[order]) <= 0):
            raise ValueError("fh contains duplicate time points.")
        sorted_times = query_times[order]
        prepared = self._prepare(self._split(self._y, self._X), first=False)
        keys = [p[0] for p in prepared]
        exog = self._exog_at(X, fh_abs, keys) if self._n_exog else None
        L, d = self.context_length, len(self._columns)
        jobs = []  # (series position, context end, query positions in sorted fh)
        for i, (key, times, scaled, _) in enumerate(prepared):
            ends = np.searchsorted(times, sorted_times, side="left")
            future = np.flatnonzero(ends == len(times))
            if len(future):
                jobs.append((i, len(times), future))
            jobs += [
                (i, int(ends[q]), np.array([q]))
                for q in np.flatnonzero(ends < len(times))
            ]
        ctx, ctx_dt, lengths, qry, qry_dt, levels = [], [], [], [], [], []
        for i, end, queries in jobs:
            key, times, scaled, series_exog = prepared[i]
            start = max(0, end - L)
            filled = _ffill(scaled)
            level = (
                filled[end - 1]
                if end
                else filled[np.argmax(np.isfinite(scaled).any(1))]
            )
            level = np.nan_to_num(level)
            x_ctx = None if series_exog is None else series_exog[start:end]
            ctx.append(self._features(scaled[start:end] - level, x_ctx, False))
            gaps = np.diff(times[start:end], prepend=times[max(0, start - 1)])
            ctx_dt.append(gaps / self.dt_scale_)
            lengths.append(end - start)
            q_exog = None
            if exog is not None:
                q_exog = exog[key][order][queries]
                if np.isnan(q_exog).any():
                    raise ValueError(
                        f"X has missing values at forecast times of series "
                        f"{_name(key)}; future exogenous values must be known."
                    )
            qry.append(self._features(np.zeros((len(queries), d)), q_exog, True))
            last = times[end - 1] if end else sorted_times[queries][0]
            qry_dt.append((sorted_times[queries] - last) / self.dt_scale_)
            levels.append(level)
        W, Q_max = max(1, max(lengths)), max(len(q) for _, _, q in jobs)
        module = self.net_.module_
        module.eval()
        device = self.net_.device
        with torch.no_grad():
            out = module(
                torch.from_numpy(_pad(ctx, W)).to(device),
                torch.from_numpy(_pad(ctx_dt, W)).to(device),
                torch.as_tensor(lengths).to(device),
                torch.from_numpy(_pad(qry, Q_max)).to(device),
                torch.from_numpy(_pad(qry_dt, Q_max)).to(device),
            ).cpu()
        Q = len(query_times)
        means = np.empty((len(prepared), Q, d))
        scales = np.empty((len(prepared), Q, d))
        for n, (i, _, queries) in enumerate(jobs):
            step = out[n, : len(queries)]
            sd = self._y_stats[prepared[i][0]]
            means[i, order[queries]] = (step[:, :d].double().numpy() + levels[n]) * sd
            scales[i, order[queries]] = _scale(step[:, d:]).double().numpy() * sd
        return means, scales, keys, fh_abs

    def _exog_at(self, X, fh_abs, keys):
        """Exogenous values at the forecast times, per series key.

        Values passed to ``predict`` take precedence over those seen in
        ``fit`` and ``update`` (which cover in-sample times).
        """
        known = [frame for frame in (X, self._X) if frame is not None]
        out = {}
        for key in keys:
            merged = np.full((len(fh_abs), self._n_exog), np.nan)
            for frame in known:
                merged = np.where(
                    np.isnan(merged), _at(_rows_of(frame, key), fh_abs), merged
                )
            if X is None and np.isnan(merged).any():
                raise ValueError(
                    f"{type(self).__name__} was fitted with exogenous X, so "
                    "predict needs X at the forecast times too (known future "
                    "values); pass X covering fh."
                )
            out[key] = merged
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
        return self._frame(keys, fh_abs, mean, self._columns)

    def _predict_quantiles(self, fh, X, alpha):
        mean, scale, keys, fh_abs = self._gaussian(fh, X)
        columns = pd.MultiIndex.from_product([self._columns, alpha])
        z = norm.ppf(alpha)
        # (series, steps, variables, alphas): increasing in alpha by construction
        values = mean[..., None] + scale[..., None] * z
        values = values.reshape(*values.shape[:2], -1)
        return self._frame(keys, fh_abs, values, columns)

    # ------------------------------------------------------------ tests
    @classmethod
    def get_test_params(cls, parameter_set="default"):
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


def _ffill(a):
    """Forward-fill NaN down the rows of a 2D array (leading NaN stay NaN)."""
    a = np.asarray(a, dtype=np.float64)
    idx = np.where(np.isfinite(a), np.arange(len(a))[:, None], 0)
    np.maximum.accumulate(idx, axis=0, out=idx)
    filled = a[idx, np.arange(a.shape[1])]
    filled[~np.isfinite(a) & (np.cumsum(np.isfinite(a), axis=0) == 0)] = np.nan
    return filled


def _rows_of(frame, key):
    """The rows of one series (``key`` from :meth:`CfCForecaster._split`)."""
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
