"""What the CfC estimators share: parameters, the skorch net, training, prediction.

The public estimators (:class:`~sklearn_cfc.CfCClassifier`,
:class:`~sklearn_cfc.CfCRegressor`) are thin: they add their task's target
handling, loss and outputs. Everything else lives here:

- ``_BaseCfC``: the scikit-learn estimator with the shared hyperparameters,
  validated by scikit-learn's ``_parameter_constraints``. ``fit`` converts
  ``X`` to a :class:`~sklearn_cfc.panel.Panel`, fits a
  :class:`~sklearn_cfc.panel.PanelEncoder` and builds a skorch net
  (``net_``) that owns the training loop, callbacks and history.
- ``_PanelDataset`` / ``_BucketLoader``: the bridge from encoded panels to
  batches. Batches are drawn from pools of similar length (so short series
  do not pay for the longest one) and trimmed to their own longest series.
- ``_CfCNetwork``: the CfC core and a linear head on its final state.
"""

from __future__ import annotations

import inspect
import warnings
from abc import ABCMeta, abstractmethod
from collections.abc import Iterator, Mapping
from numbers import Integral, Real

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted
from skorch import NeuralNet
from skorch.callbacks import (
    Callback,
    EarlyStopping,
    GradientNormClipping,
    LRScheduler,
    ProgressBar,
)
from skorch.dataset import ValidSplit
from torch import nn

from .exceptions import DivergenceError
from .nn import CfC
from .nn._cell import ACTIVATIONS, MODES
from .panel import PanelEncoder, bucket_batches, check_y_length, to_panel
from .panel._encode import _check_running_stats

_OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
    "rmsprop": torch.optim.RMSprop,
}
_PREDICT_BATCH = 512  # sequences per forward pass at prediction time
# instances of an in-memory X converted and encoded at once at prediction
# time: bounds the memory prediction adds to what X itself holds
_PREDICT_CHUNK = 8192


# --------------------------------------------------------------- the network
class _CfCNetwork(nn.Module):
    """The CfC core followed by a linear head on each sequence's last state."""

    def __init__(self, n_inputs, n_outputs, units, **cfc_params):
        super().__init__()
        self.cfc = CfC(n_inputs, units, **cfc_params)
        self.head = nn.Linear(units, n_outputs)

    def forward(self, x, dt, lengths, sample_weight=None):
        _, state = self.cfc(x, dt, lengths)
        if isinstance(state, tuple):  # mixed memory: (h, c)
            state = state[0]
        return self.head(state)


# ------------------------------------------------------------------ the data
class _PanelDataset(torch.utils.data.Dataset):
    """An encoded panel (and targets) that hands out whole, trimmed batches.

    ``__getitems__`` (used by the data loader for a list of indices) slices
    every array at once and trims the padding to the batch's longest series.
    """

    def __init__(self, encoded, y=None, sample_weight=None):
        self.encoded = encoded
        self.y = y
        self.sample_weight = sample_weight
        self.lengths = encoded.lengths

    def __len__(self):
        return len(self.lengths)

    def __getitem__(self, index):
        return self.__getitems__([index])

    def __getitems__(self, indices):
        idx = np.asarray(indices, dtype=np.intp)
        batch = self.encoded.take(idx)
        X = {
            "x": torch.from_numpy(batch.inputs),
            "dt": torch.from_numpy(batch.dt),
            "lengths": torch.from_numpy(batch.lengths),
        }
        if self.sample_weight is not None:
            X["sample_weight"] = torch.from_numpy(self.sample_weight[idx])
        y = torch.from_numpy(self.y[idx]) if self.y is not None else None
        return X, y


def _as_is(batch):
    """Collate function for datasets that already return whole batches."""
    return batch


def _dataset_lengths(dataset):
    if isinstance(dataset, torch.utils.data.Subset):
        return _dataset_lengths(dataset.dataset)[np.asarray(dataset.indices)]
    return dataset.lengths


class _BucketSampler(torch.utils.data.Sampler):
    """Batches of similar length; a new seeded order every epoch."""

    def __init__(self, lengths, batch_size, shuffle, seed):
        self.lengths = lengths
        self.batch_size = batch_size
        self.shuffle = shuffle
        self._rng = np.random.default_rng(seed)

    def __iter__(self):
        seed = int(self._rng.integers(2**31 - 1)) if self.shuffle else None
        batches = bucket_batches(
            self.lengths, self.batch_size, shuffle=self.shuffle, random_state=seed
        )
        return iter(batches)

    def __len__(self):
        return -(-len(self.lengths) // self.batch_size)


class _BucketLoader(torch.utils.data.DataLoader):
    """The data loader skorch builds for training and validation batches."""

    _sampler = _BucketSampler

    def __init__(self, dataset, batch_size, shuffle=False, seed=None, **kwargs):
        sampler = self._sampler(_dataset_lengths(dataset), batch_size, shuffle, seed)
        super().__init__(dataset, batch_sampler=sampler, collate_fn=_as_is, **kwargs)


# ------------------------------------------------------------- skorch pieces
class _WeightedNet(NeuralNet):
    """A skorch net whose loss is a sample-weighted mean.

    The criterion returns one loss per sample (``reduction="none"``); class
    weights arrive folded into the sample weights.
    """

    # Callbacks hold device tensors too: early stopping's copy of the best
    # weights, a learning-rate schedule's reference to the optimizer. Pickled
    # with the module and optimizer (skorch maps these to the CPU where there
    # is no GPU), they load anywhere, and the schedule keeps stepping the
    # net's own optimizer rather than a copy of it. The prefix covers the
    # ``callbacks`` parameter, which holds the same callback objects, and the
    # initialised ``callbacks_``; skorch adds module_, criterion_ and
    # optimizer_ to this list as it initialises them.
    cuda_dependent_attributes_ = ["callbacks"]

    def get_loss(self, y_pred, y_true, X=None, training=False):
        y_true = torch.as_tensor(y_true, device=y_pred.device)
        loss = self.criterion_(y_pred, y_true)
        if loss.dim() > 1:
            loss = loss.flatten(1).mean(1)
        weight = X.get("sample_weight") if isinstance(X, Mapping) else None
        if weight is None:
            return loss.mean()
        weight = torch.as_tensor(weight, dtype=loss.dtype, device=loss.device)
        return (loss * weight).sum() / weight.sum().clamp_min(1e-12)


class _StopOnDivergence(Callback):
    """Raise :class:`DivergenceError` as soon as a training loss is not finite."""

    def __init__(self, learning_rate=None):
        self.learning_rate = learning_rate

    def on_batch_end(self, net, batch=None, training=None, loss=None, **kwargs):
        if training and loss is not None and not torch.isfinite(loss).item():
            epoch = len(net.history)
            raise DivergenceError(
                f"The training loss became {loss.item()} in epoch {epoch}; the "
                "model is not usable. Lower learning_rate (it is "
                f"{self.learning_rate}), set gradient_clip, or check X and y "
                "for extreme values."
            )


def _resolve_device(device):
    if isinstance(device, torch.device):
        return str(device)
    if device == "auto":
        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return "mps"
        return "cpu"
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(
            f"device must be 'auto' or a torch device such as 'cpu' or 'cuda:0'; "
            f"got {device!r}."
        ) from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested, but CUDA is not available on "
            "this machine. Use device='auto' to pick what is available."
        )
    return str(resolved)


def _make_net(est, *, module, module_params, criterion, train_split=None):
    """The skorch net that trains ``module`` with ``est``'s hyperparameters.

    ``est`` is any of our estimators: the network (``units``, ``mode``, ...)
    and training (``learning_rate``, ``optimizer``, ``max_epochs``, ...)
    settings are read from it, together with its fitted ``device_`` and
    ``_seed``. With a ``train_split`` the stopping rule watches the
    validation loss and restores the best weights; without one it stops when
    the training loss stalls. With an ``accelerator`` (classifier and
    regressor) the net trains data-parallel through skorch's AccelerateMixin
    and only the main process prints.
    """
    verbose = est.verbose
    # the pieces a net is made of; an accelerator swaps some of them
    parts = dict(
        net_class=_WeightedNet,
        loader=_BucketLoader,
        stop_on_divergence=_StopOnDivergence,
        clip=GradientNormClipping,
        first_callbacks=[],
        net_params=dict(device=est.device_),
    )
    accelerator = getattr(est, "accelerator", None)
    if accelerator is not None:
        from ._accelerate import accelerated_parts

        parts = accelerated_parts(accelerator, est.device_)
        verbose = verbose if accelerator.is_main_process else 0
    network = dict(
        units=est.units,
        mode=est.mode,
        backbone_units=est.backbone_units,
        backbone_layers=est.backbone_layers,
        backbone_dropout=est.backbone_dropout,
        activation=est.activation,
        mixed_memory=est.mixed_memory,
        **module_params,
    )
    monitor = "valid_loss" if train_split is not None else "train_loss"
    patience = est.n_iter_no_change
    if train_split is None and est.lr_schedule == "cosine":
        # a cosine schedule is planned to end at max_epochs: a plateau of the
        # training loss on the way (common on small data) is not the end
        patience = est.max_epochs + 1
    callbacks = [
        *parts["first_callbacks"],
        ("stop_on_divergence", parts["stop_on_divergence"](est.learning_rate)),
        (
            "early_stopping",
            EarlyStopping(
                monitor=monitor,
                patience=patience,
                threshold=est.tol,
                threshold_mode="abs",
                load_best=True,  # a late loss spike must not be what remains
                sink=print if verbose else _silent,
            ),
        ),
    ]
    if est.gradient_clip is not None:
        callbacks.append(("gradient_clip", parts["clip"](est.gradient_clip)))
    if est.lr_schedule == "cosine":
        scheduler = LRScheduler(
            torch.optim.lr_scheduler.CosineAnnealingLR, T_max=est.max_epochs
        )
        callbacks.append(("lr_schedule", scheduler))
    elif est.lr_schedule == "plateau":
        scheduler = LRScheduler(
            torch.optim.lr_scheduler.ReduceLROnPlateau,
            monitor=monitor,
            patience=max(1, est.n_iter_no_change // 2),
        )
        callbacks.append(("lr_schedule", scheduler))
    if verbose and verbose > 1:
        callbacks.append(("progress_bar", ProgressBar()))
    optimizer_params = {"optimizer__weight_decay": est.weight_decay}
    if est.optimizer == "sgd":
        optimizer_params["optimizer__momentum"] = 0.9
    return parts["net_class"](
        module=module,
        **{f"module__{k}": v for k, v in network.items()},
        criterion=criterion,
        criterion__reduction="none",
        optimizer=_OPTIMIZERS[est.optimizer],
        lr=est.learning_rate,
        **optimizer_params,
        max_epochs=est.max_epochs,
        batch_size=est.batch_size,
        iterator_train=parts["loader"],
        iterator_train__shuffle=True,
        iterator_train__seed=est._seed,
        iterator_valid=parts["loader"],
        train_split=train_split,
        callbacks=callbacks,
        warm_start=True,
        verbose=int(bool(verbose)),
        **parts["net_params"],
    )


def _train_net(est, dataset, y, *, first, epochs=None):
    """Train ``est.net_`` on ``dataset`` under a seeded, forked torch RNG.

    ``first`` initialises the network; ``epochs`` None runs up to
    ``max_epochs``. The global random state is left untouched. If the loss
    diverges on a first fit, ``net_`` is removed so the estimator is unfitted.
    """
    # after unpickling: maybe the CPU; None while an accelerator places it
    where = torch.device(est.net_.device or est.device_)
    devices = [where.index or 0] if where.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(est._seed + (0 if first else len(est.net_.history)))
        if first:
            est.net_.initialize()
        try:
            if epochs is None:
                est.net_.partial_fit(dataset, y)
            else:
                est.net_.partial_fit(dataset, y, epochs=epochs)
        except DivergenceError:
            if first:
                del est.net_
            raise


# the settings a warm_start or partial_fit may change: everything else is
# built into the network, its training, its input encoding, its device, seed
# and printing by the first fit (the accelerator has its own check)
_MAY_CHANGE = frozenset({"warm_start", "accelerator", "class_weight"})


def _same_setting(a, b):
    try:
        return bool(a == b)
    except (TypeError, ValueError):  # arrays and the like
        return a is b


# ----------------------------------------------------------------- estimator
class _BaseCfC(BaseEstimator, metaclass=ABCMeta):
    """Base class for the CfC estimators; do not use it directly."""

    _parameter_constraints: dict = {
        "units": [Interval(Integral, 1, None, closed="left")],
        "mode": [StrOptions(set(MODES))],
        "backbone_units": [Interval(Integral, 1, None, closed="left")],
        "backbone_layers": [Interval(Integral, 0, None, closed="left")],
        "backbone_dropout": [Interval(Real, 0, 1, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "mixed_memory": ["boolean"],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "optimizer": [StrOptions(set(_OPTIMIZERS))],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "gradient_clip": [Interval(Real, 0, None, closed="neither"), None],
        "lr_schedule": [StrOptions({"cosine", "plateau", "constant"})],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "scale": ["boolean", StrOptions({"standard", "robust"})],
        "time_channel": "no_validation",  # checked by to_panel
        "time_unit": "no_validation",  # checked by to_panel
        "dt_scale": [StrOptions({"median"}), Interval(Real, 0, None, closed="neither")],
        "running_stats": ["boolean", list, tuple],  # names checked by the encoder
        "device": [str, torch.device],
        "accelerator": [HasMethods(["prepare", "unwrap_model", "reduce"]), None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
    }

    @abstractmethod
    def __init__(
        self,
        *,
        units,
        mode,
        backbone_units,
        backbone_layers,
        backbone_dropout,
        activation,
        mixed_memory,
        max_epochs,
        batch_size,
        learning_rate,
        optimizer,
        weight_decay,
        gradient_clip,
        lr_schedule,
        early_stopping,
        validation_fraction,
        n_iter_no_change,
        tol,
        scale,
        time_channel,
        time_unit,
        dt_scale,
        running_stats,
        device,
        accelerator,
        random_state,
        verbose,
        warm_start,
    ):
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
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.scale = scale
        self.time_channel = time_channel
        self.time_unit = time_unit
        self.dt_scale = dt_scale
        self.running_stats = running_stats
        self.device = device
        self.accelerator = accelerator
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start

    # ------------------------------------------------------ task hooks
    _criterion = None  # a torch loss class, reduction="none"
    _stratify = False

    @abstractmethod
    def _prepare_targets(self, y, first, classes=None):
        """Validate ``y``; return the training targets and their output width.

        ``first`` is True when the model is built anew (targets' encoding is
        learnt); ``classes`` are those passed to ``partial_fit``.
        """

    def _target_sample_weight(self, y):
        """Extra per-sample weights derived from the targets (class weights)."""
        return None

    # ------------------------------------------------------ data in
    def _to_panel(self, X):
        return to_panel(X, time_channel=self.time_channel, time_unit=self.time_unit)

    def _check_features(self, panel):
        name = type(self).__name__
        if panel.n_channels != self.n_features_in_:
            raise ValueError(
                f"X has {panel.n_channels} channels, but {name} is expecting "
                f"{self.n_features_in_} channels as input."
            )
        names = getattr(self, "feature_names_in_", None)
        if names is not None:
            given = np.asarray(panel.channels, dtype=object)
            if len(given) == len(names) and not np.array_equal(given, names):
                raise ValueError(
                    f"X has channels {list(given)}, but {name} was fitted with "
                    f"channels {list(names)}; pass them in the same order."
                )

    # ------------------------------------------------------ training
    def _fit(self, X, y, sample_weight=None, *, incremental=False, classes=None):
        """Fit for ``max_epochs`` (or one epoch if ``incremental``)."""
        first = not hasattr(self, "net_") or not (self.warm_start or incremental)
        # a net trained by an accelerator has one (until pickled)
        accelerated = hasattr(self, "net_") and hasattr(self.net_, "accelerator")
        if not first and accelerated != (self.accelerator is not None):
            how = "with" if accelerated else "without"
            raise ValueError(
                f"The fitted network was trained {how} an accelerator, but "
                f"accelerator={self.accelerator!r} now; warm_start and "
                "partial_fit continue training the way it began. Restore the "
                "accelerator setting, or train anew (warm_start=False, or a "
                "clone for partial_fit)."
            )
        if not first:
            self._check_unchanged_settings(incremental)
        _check_running_stats(self.running_stats, type(self).__name__)
        if self.early_stopping and incremental:
            raise ValueError(
                "partial_fit does not support early_stopping=True: each call "
                "runs one epoch without a validation split. Set "
                "early_stopping=False."
            )
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y "
                "is None."
            )
        if not hasattr(y, "iloc"):  # array-likes (but keep pandas' dtypes)
            y = np.asarray(y)
        panel = self._to_panel(X)
        check_y_length(panel, y)
        if not first:
            self._check_features(panel)
        targets, n_outputs = self._prepare_targets(y, first, classes)
        sample_weight = _check_sample_weight(
            sample_weight, np.empty((len(panel), 0)), ensure_non_negative=True
        )
        extra = self._target_sample_weight(targets)
        if extra is not None:
            sample_weight = sample_weight * extra
        if not np.any(sample_weight > 0):
            raise ValueError("sample_weight must have at least one positive entry.")

        if first:
            self.encoder_ = PanelEncoder(
                scale=self.scale,
                dt_scale=self.dt_scale,
                running_stats=self.running_stats,
                time_channel=self.time_channel,
                time_unit=self.time_unit,
            ).fit(panel)
            self.n_features_in_ = panel.n_channels
            names = np.asarray(panel.channels, dtype=object)
            if all(isinstance(c, str) for c in names):
                self.feature_names_in_ = names
            elif hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
            if self.accelerator is None:
                self.device_ = _resolve_device(self.device)
            else:
                from ._accelerate import _accelerated_device, _check_accelerator

                _check_accelerator(self.accelerator)
                self.device_ = _accelerated_device(self.accelerator, self.device)
            self._seed = check_random_state(self.random_state).randint(2**31 - 1)
        encoded = self.encoder_.transform(panel)
        dataset = _PanelDataset(encoded, targets, sample_weight.astype(np.float32))
        if self.accelerator is not None:  # same seed: same splits and batches
            from ._accelerate import _agree_across_processes

            self._seed = _agree_across_processes(self.accelerator, self._seed, dataset)
        if first:
            self.net_ = self._build_net(encoded.inputs.shape[-1], n_outputs)
            self._built_with = {
                name: getattr(self, name)
                for name in inspect.signature(type(self)).parameters
                if name not in _MAY_CHANGE
            }
        stratify = targets if self._stratify and self.early_stopping else None

        epochs_before = len(self.net_.history) if not first else 0
        _train_net(
            self, dataset, stratify, first=first, epochs=1 if incremental else None
        )
        self._set_fitted_state(incremental, epochs_before)
        return self

    def _check_unchanged_settings(self, incremental):
        """Refuse to continue training under settings the net does not have.

        The network, its optimizer, schedule and stopping rule and the input
        encoder are built by the first fit; a changed setting would be
        silently ignored by ``warm_start`` and ``partial_fit``.
        """
        built = getattr(self, "_built_with", None)
        if built is None:  # fitted by a version that did not record them
            return
        changed = [
            f"{name}={built[name]!r} to {name}={getattr(self, name)!r}"
            for name in built
            if not (incremental and name == "max_epochs")  # one epoch per call
            and not _same_setting(built[name], getattr(self, name))
        ]
        if changed:
            raise ValueError(
                f"{type(self).__name__} was fitted with other settings: "
                f"{', '.join(changed)}. warm_start and partial_fit continue "
                "training the network the first fit built, with its settings. "
                "Restore them, or train anew (warm_start=False, or a clone for "
                "partial_fit)."
            )

    def _build_net(self, n_inputs, n_outputs):
        train_split = None
        if self.early_stopping:
            train_split = ValidSplit(
                self.validation_fraction,
                stratified=self._stratify,
                random_state=self._seed,
            )
        return _make_net(
            self,
            module=_CfCNetwork,
            module_params=dict(n_inputs=n_inputs, n_outputs=n_outputs),
            criterion=self._criterion,
            train_split=train_split,
        )

    def _set_fitted_state(self, incremental, epochs_before):
        history = self.net_.history
        self.history_ = history
        # an interrupted epoch leaves a row without losses: count whole epochs
        done = [row for row in history if "train_loss" in row]
        self.n_iter_ = len(done)
        self.loss_curve_ = [float(row["train_loss"]) for row in done]
        if self.early_stopping:
            self.validation_scores_ = [
                float(row["valid_loss"]) for row in done if "valid_loss" in row
            ]
            self.best_loss_ = min(self.validation_scores_)
        else:
            self.best_loss_ = float(np.min(self.loss_curve_))
        run = len(done) - epochs_before
        stopper = dict(self.net_.callbacks_)["early_stopping"]
        # a cosine schedule is planned to end at max_epochs: no warning then
        if (
            not incremental
            and self.lr_schedule != "cosine"
            and run >= self.max_epochs
            and (stopper.misses_ < stopper.patience)
        ):
            what = "validation" if self.early_stopping else "training"
            warnings.warn(
                f"{type(self).__name__} stopped at max_epochs={self.max_epochs} "
                f"while its {what} loss was still improving by more than "
                f"tol={self.tol}; increase max_epochs for a better fit.",
                ConvergenceWarning,
            )

    # ------------------------------------------------------ prediction
    def _forward(self, X):
        """Network outputs for every instance of ``X``, in order (float64).

        ``X`` is any accepted panel, or an iterator of such panels (batches).
        Large in-memory arrays and lists are cut into chunks of
        ``_PREDICT_CHUNK`` instances, so what prediction allocates on top of
        ``X`` is bounded by the chunk, not by the number of instances.
        """
        check_is_fitted(self, "net_")
        outputs = [self._forward_panel(panel) for panel in self._panels(X)]
        if not outputs:
            raise ValueError(
                "X is an empty iterator: pass at least one batch of series to predict."
            )
        return outputs[0] if len(outputs) == 1 else np.concatenate(outputs)

    def _panels(self, X):
        """Yield ``X`` as validated panels, chunk by chunk.

        Errors raised inside a chunk say which part of ``X`` they come from,
        since their instance numbers count from the chunk's start.
        """
        if isinstance(X, Iterator):  # a generator of batches: stream it
            chunks = ((f"batch {k} of X", batch) for k, batch in enumerate(X))
        else:
            if hasattr(X, "__array__") and not isinstance(X, (pd.DataFrame, pd.Series)):
                X = np.asarray(X)  # tensors, xarray, ...: slice as numpy
            sliceable = isinstance(X, (list, tuple)) or (
                isinstance(X, np.ndarray) and X.ndim >= 2
            )
            if not sliceable or len(X) <= _PREDICT_CHUNK:
                yield self._checked_panel(X)
                return
            step = _PREDICT_CHUNK
            chunks = (
                (f"X[{i}:{i + step}]", X[i : i + step]) for i in range(0, len(X), step)
            )
        for where, chunk in chunks:
            try:
                panel = self._checked_panel(chunk)
            except (TypeError, ValueError) as exc:
                if type(exc) not in (TypeError, ValueError):
                    raise
                raise type(exc)(f"{where}: {exc}") from exc
            yield panel

    def _checked_panel(self, X):
        panel = self._to_panel(X)
        self._check_features(panel)
        return panel

    def _forward_panel(self, panel):
        net = self.net_
        module = net.module_
        module.eval()
        out = np.empty((len(panel), 0), dtype=np.float64)
        with torch.no_grad():
            for idx in bucket_batches(panel.lengths, _PREDICT_BATCH):
                batch = self.encoder_.transform(panel.take(idx))
                y = module(
                    torch.from_numpy(batch.inputs).to(net.device),
                    torch.from_numpy(batch.dt).to(net.device),
                    torch.from_numpy(batch.lengths).to(net.device),
                )
                y = y.cpu().numpy()
                if out.shape[1] != y.shape[1]:
                    out = np.empty((len(panel), y.shape[1]), dtype=np.float64)
                out[idx] = y
        return out

    def plot_history(self, ax=None):
        """Plot the training (and validation) loss per epoch.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; a new figure is made when None.

        Returns
        -------
        ax : matplotlib Axes
        """
        check_is_fitted(self, "net_")
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        epochs = np.arange(1, len(self.loss_curve_) + 1)
        ax.plot(epochs, self.loss_curve_, label="training loss")
        if self.early_stopping:
            ax.plot(epochs, self.validation_scores_, label="validation loss")
        ax.set(xlabel="epoch", ylabel="loss", title=type(self).__name__)
        ax.legend()
        return ax

    def __getstate__(self):
        state = super().__getstate__()
        if getattr(self, "accelerator", None) is not None:
            # an accelerator belongs to its process and process group: a
            # pickled copy trains in one process (its net_ pickles plain)
            state = {**state, "accelerator": None}
        return state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.three_d_array = True
        return tags


def _silent(*args, **kwargs):
    """A print sink that prints nothing (picklable, unlike a lambda)."""
