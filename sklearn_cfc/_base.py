"""What the CfC estimators share: settings, the skorch net, training, prediction.

The public estimators are thin: they add their task's targets, network
module, loss and outputs. Everything else lives here:

- ``_CfCBase``: what all three estimators share, the forecaster included:
  the constraints of the network and training settings, device and seed,
  building the skorch net (through ``_skorch._Training``, or its
  data-parallel variant when an ``accelerator`` is set), training it, and
  recording how it went. A subclass names its network module and loss
  (``_module``, ``_criterion``) and the module's arguments.
- ``_BaseCfC``: the scikit-learn estimators of whole series
  (:class:`~sklearn_cfc.CfCClassifier`, :class:`~sklearn_cfc.CfCRegressor`).
  ``fit`` converts ``X`` to a :class:`~sklearn_cfc.panel.Panel`, fits a
  :class:`~sklearn_cfc.panel.PanelEncoder` and trains a
  :class:`~sklearn_cfc.nn.CfCSequenceNetwork` on the encoded panel;
  prediction encodes and runs it batch by batch.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from abc import ABCMeta, abstractmethod
from collections.abc import Iterator
from numbers import Integral, Real
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    StrOptions,
    validate_parameter_constraints,
)
from sklearn.utils.validation import _check_sample_weight, check_is_fitted
from skorch.dataset import ValidSplit

from ._skorch import (
    LR_SCHEDULES,
    OPTIMIZERS,
    _PanelDataset,
    _Training,
    kept_loss,
    name_callbacks,
    picklable_callbacks,
    replace_user_callbacks,
    train_net,
)
from ._threads import env_threads, network_width, torch_threads
from .exceptions import DivergenceError, TrainingInterruptedWarning
from .nn import ACTIVATIONS, MODES, READOUTS, CfCSequenceNetwork, PerStepLoss
from .panel import (
    PanelEncoder,
    bucket_batches,
    check_channels,
    check_y_length,
    input_format,
    to_panel,
)
from .panel._convert import by_instance, observation_rows
from .panel._time import check_time_unit, float_to_index
from .panel._transformers import LEVELS, level_names

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ._typing import PanelOrBatches

_PREDICT_BATCH = 512  # sequences per forward pass at prediction time
# instances of an in-memory X converted and encoded at once at prediction
# time: bounds the memory prediction adds to what X itself holds
_PREDICT_CHUNK = 8192

# the settings of the network (module arguments) and of its training
_NETWORK_PARAMS = (
    "units",
    "mode",
    "backbone_units",
    "backbone_layers",
    "backbone_dropout",
    "activation",
    "mixed_memory",
)
_TRAINING_PARAMS = (
    "max_epochs",
    "batch_size",
    "learning_rate",
    "optimizer",
    "weight_decay",
    "gradient_clip",
    "lr_schedule",
    "n_iter_no_change",
    "tol",
    "verbose",
    "callbacks",
)
# the settings of the input encoding (PanelEncoder arguments)
_ENCODER_PARAMS = (
    "scale",
    "dt_scale",
    "running_stats",
    "differences",
    "time_grid",
    "fill",
    "time_channel",
    "time_unit",
)
# patch_length="auto": about this many network steps for a series of median
# length (longer series are cut into patches of several steps) when the
# panel is dense (Panel.is_dense)
_AUTO_PATCH_STEPS = 32
# early_stopping="auto": on from this many training instances (a tenth of
# them is then a validation set of at least 100)
_AUTO_EARLY_STOPPING = 1000

# the settings a warm_start or partial_fit may change: everything else is
# built into the network, its training, its input encoding, its device, seed
# and printing by the first fit (the accelerator has its own check). The
# callbacks watch training rather than shape it: changed ones replace the
# net's when training continues (_CfCBase._continue_with_callbacks)
_MAY_CHANGE = frozenset({"warm_start", "accelerator", "class_weight", "callbacks"})


def _numbers(values, name):
    """``values`` as a numeric array, or a TypeError naming ``name``."""
    array = np.asarray(values)
    if array.dtype.kind == "O":
        try:
            return array.astype(np.float64)
        except (TypeError, ValueError):
            raise TypeError(
                f"{name} has dtype object and holds a value that is not a number."
            ) from None
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} has dtype {array.dtype}; expected numbers.")
    return array


def _same_setting(a, b):
    try:
        return bool(a == b)
    except (TypeError, ValueError):  # arrays and the like
        return a is b


# ------------------------------------------------------- all three estimators
class _CfCBase:
    """The network, training, device and seed of every CfC estimator.

    Subclasses set ``_module`` (a torch module class whose first arguments
    are the module parameters they pass to :meth:`_make_net`, followed by
    the network settings ``units``, ``mode``, ...) and ``_criterion`` (a
    loss class returning one loss per sample with ``reduction="none"``), and
    extend ``_parameter_constraints`` with their own settings.
    """

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
        "optimizer": [StrOptions(set(OPTIMIZERS))],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "gradient_clip": [Interval(Real, 0, None, closed="neither"), None],
        "lr_schedule": [StrOptions(set(LR_SCHEDULES))],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "device": [str, torch.device],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "callbacks": [list, None],  # each element: see name_callbacks
    }

    _module: type[torch.nn.Module] | None = None  # the module the net trains
    # its loss, one value per sample (reduction="none")
    _criterion: type[torch.nn.Module] | None = None

    # What the mixin reads of the estimator it is mixed into: settings that
    # every CfC estimator has, the fitted skorch net, and ``get_params`` of
    # scikit-learn's or sktime's base class.
    device: str | torch.device
    random_state: int | np.random.RandomState | None
    batch_size: int
    verbose: int
    callbacks: list | None
    net_: Any

    if TYPE_CHECKING:

        def get_params(self, deep: bool = True) -> dict[str, Any]: ...

    def _validate_params(self):
        """Check every setting against ``_parameter_constraints``.

        And each element of ``callbacks``: a skorch callback or a (name,
        callback) pair, with names that differ.
        """
        validate_parameter_constraints(
            self._parameter_constraints,
            self.get_params(deep=False),
            caller_name=type(self).__name__,
        )
        name_callbacks(self.callbacks, type(self).__name__)

    def _training(self):
        """How the net is built and trained: in this process, or data-parallel."""
        accelerator = getattr(self, "accelerator", None)
        if accelerator is None:
            return _Training()
        from ._accelerate import _AcceleratedTraining

        return _AcceleratedTraining(accelerator)

    def _init_device_and_seed(self, training):
        """Fix the device (``device_``) and the seed of a new network."""
        training.check()
        env_threads()  # a bad SKLEARN_CFC_NUM_THREADS fails before any work
        self.device_ = training.device(self.device)
        self._seed = check_random_state(self.random_state).randint(2**31 - 1)

    def _make_net(self, training, module_params, *, train_split=None):
        """The skorch net that trains a new ``_module`` with these settings.

        The net runs fresh copies of the ``callbacks`` after its own; the
        list they were copied from is kept (``_callbacks_given``) to tell
        whether a continued training has other callbacks.
        """
        params = self.get_params(deep=False)
        self._callbacks_given = list(params["callbacks"] or [])
        return training.build_net(
            self._module,
            module_params={
                **module_params,
                **{name: params[name] for name in _NETWORK_PARAMS},
            },
            criterion=self._loss(),
            train_split=train_split,
            device=self.device_,
            seed=self._seed,
            **{name: params[name] for name in _TRAINING_PARAMS},
            caller=type(self).__name__,
        )

    def _loss(self):
        """The criterion class the net builds (with ``reduction="none"``)."""
        criterion = self._criterion
        if criterion is not None and getattr(self, "_per_step", False):
            return functools.partial(PerStepLoss, criterion)
        return criterion

    def _continue_with_callbacks(self):
        """Before training continues: the net runs the ``callbacks`` now set.

        Callbacks may change between warm starts, ``partial_fit`` calls and
        updates: if the list differs from the one the net's copies came
        from (element by element, by identity), or some were left out of a
        pickle, fresh copies of the current ones replace them. Unchanged
        ones keep their state (a ``LoadInitState`` does not load again).
        """
        given = list(getattr(self, "callbacks", None) or [])
        if _same_setting(given, getattr(self, "_callbacks_given", [])) and not (
            getattr(self.net_, "_callbacks_left_out", False)
        ):
            return
        replace_user_callbacks(self.net_, given, type(self).__name__)
        self._callbacks_given = given

    def __getstate__(self):
        """The state to pickle, less the callbacks that cannot be pickled.

        Callbacks watch training: one that cannot be pickled (skorch's
        ``TensorBoard`` holds a SummaryWriter, which cannot) is left out of
        ``callbacks`` (and of the net's, see ``_WeightedNet.__getstate__``)
        rather than making the fitted model impossible to save.
        """
        getstate = getattr(super(), "__getstate__", None)
        state = getstate() if getstate is not None else self.__dict__
        callbacks = state.get("callbacks") or []
        kept = picklable_callbacks(callbacks, self)
        if kept is not callbacks:
            left_out = {id(item) for item in callbacks} - {id(item) for item in kept}
            given = state.get("_callbacks_given")
            state = {**state, "callbacks": kept}
            if given is not None:
                given = [item for item in given if id(item) not in left_out]
                state["_callbacks_given"] = given
        return state

    def _train(self, dataset, y=None, *, first, epochs=None):
        """Train ``net_``; record ``history_`` and ``n_iter_``.

        ``first`` initialises the network; ``epochs`` None runs up to
        ``max_epochs``. It runs with the torch thread count
        ``_threads.torch_threads`` chooses for the batch size.

        If the loss diverges (:class:`DivergenceError`), or a
        KeyboardInterrupt comes before this call completed an epoch, the
        error propagates and the estimator is as before the call: a first
        fit removes ``net_`` (the estimator is unfitted), a continued one
        has its weights back (see :func:`~sklearn_cfc._skorch.train_net`).
        A later KeyboardInterrupt ends training with the weights of the
        best complete epoch and a :class:`TrainingInterruptedWarning`; the
        epoch it stopped is marked ``interrupted=True`` in ``history_``.
        """
        if not first:
            self._continue_with_callbacks()
        work = self.batch_size * network_width(self)
        device = self.net_.device or self.device_  # None while accelerate places
        try:
            with torch_threads(work, device, verbose=self.net_.verbose):
                interrupted = train_net(
                    self.net_,
                    dataset,
                    y,
                    seed=self._seed,
                    device=self.device_,
                    first=first,
                    epochs=epochs,
                )
        except (DivergenceError, KeyboardInterrupt):
            if first:
                del self.net_
            raise
        self.history_ = self.net_.history
        # an interrupted epoch leaves a row without losses: count whole epochs
        self.n_iter_ = sum("train_loss" in row for row in self.history_)
        if interrupted:
            stopper = dict(self.net_.callbacks_)["early_stopping"]
            warnings.warn(
                f"{type(self).__name__}: training was interrupted "
                f"(KeyboardInterrupt) in epoch {self.history_[-1, 'epoch']}. "
                f"The weights of epoch {stopper.best_epoch_}, the best of "
                "those completed, are kept; history_ marks the interrupted "
                "epoch with interrupted=True.",
                TrainingInterruptedWarning,
                stacklevel=3,
            )


# ----------------------------------------------- the estimators of whole series
class _BaseCfC(
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _CfCBase,
    BaseEstimator,
    metaclass=ABCMeta,
):
    """Base class for the CfC estimators of whole series; do not use it directly."""

    _parameter_constraints: dict = {
        **_CfCBase._parameter_constraints,
        "readout": [StrOptions(set(READOUTS))],
        "patch_length": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "early_stopping": ["boolean", StrOptions({"auto"})],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "scale": ["boolean", StrOptions({"standard", "robust", "auto"})],
        "time_channel": "no_validation",  # checked by to_panel
        "time_unit": "no_validation",  # checked by to_panel
        "dt_scale": [StrOptions({"median"}), Interval(Real, 0, None, closed="neither")],
        "running_stats": ["boolean", list, tuple],  # names: the encoder's rule
        "differences": ["boolean"],
        "time_grid": [
            None,
            StrOptions({"auto"}),
            Interval(Real, 0, None, closed="neither"),
        ],
        "fill": [StrOptions({"auto", "forward", "linear"})],
        "accelerator": [HasMethods(["prepare", "unwrap_model", "reduce"]), None],
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
        readout,
        patch_length,
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
        differences,
        time_grid,
        fill,
        device,
        accelerator,
        random_state,
        verbose,
        callbacks,
        warm_start,
    ):
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

    # ------------------------------------------------------ task hooks
    _module = CfCSequenceNetwork
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

    # ------------------------------------------------------ fitted channels
    # the encoder learns the channels; the estimator shows them
    @property
    def n_features_in_(self) -> int:
        """Number of channels seen in ``fit`` (the encoder's)."""
        return self.encoder_.n_features_in_

    @property
    def feature_names_in_(self) -> np.ndarray:
        """Channel names seen in ``fit``, when they are all strings."""
        return self.encoder_.feature_names_in_

    # ------------------------------------------------------ training
    def _fit(self, X, y, sample_weight=None, *, incremental=False, classes=None):
        """Fit for ``max_epochs`` (or one epoch if ``incremental``).

        The steps, in order: continuation checks, settings and data checks,
        the panel, targets and weights; for a new network the encoder, device
        and seed; the dataset; for a new network the net; training; the
        fitted state.
        """
        first = not hasattr(self, "net_") or not (self.warm_start or incremental)
        if not first:
            self._check_continuation(incremental)
        self._check_fit_request(y, first=first, incremental=incremental)
        panel, y, rows = self._panel_and_y(X, y)
        self._check_label_kind(rows is not None, first)
        if not first:
            check_channels(panel, self)
        if rows is None:
            targets, n_outputs = self._prepare_targets(y, first, classes)
        else:
            targets, n_outputs = self._step_targets(y, rows, first, classes)
        weights = self._sample_weights(sample_weight, targets, len(panel))
        if rows is not None:  # a series without a label teaches nothing
            weights[~self._labelled(targets).any(1)] = 0.0
        training = self._training()
        if first:
            self._resolve_early_stopping(targets, incremental)
        if self.early_stopping_:  # before the encoder and any training
            self._check_validation_split(targets)
        if first:
            self.encoder_ = self._new_encoder().fit(panel)
            self._resolve_patch_length(panel)
            self._init_device_and_seed(training)
        dataset = _PanelDataset(self.encoder_.transform(panel), targets, weights)
        self._seed = training.agree(self._seed, dataset)  # one seed: same batches
        if first:
            self.net_ = self._new_net(training, dataset, n_outputs)
        epochs_before = 0 if first else len(self.net_.history)
        stratify = (
            targets if self._stratified(targets) and self.early_stopping_ else None
        )
        self._train(dataset, stratify, first=first, epochs=1 if incremental else None)
        self._set_fitted_state(incremental, epochs_before)
        return self

    def _check_continuation(self, incremental):
        """Refuse to continue training under settings the net does not have.

        The network, its optimizer, schedule and stopping rule and the input
        encoder are built by the first fit; a changed setting would be
        silently ignored by ``warm_start`` and ``partial_fit``.
        """
        # a net trained by an accelerator has one (until pickled)
        accelerated = hasattr(self.net_, "accelerator")
        if accelerated != (self.accelerator is not None):
            how = "with" if accelerated else "without"
            raise ValueError(
                f"The fitted network was trained {how} an accelerator, but "
                f"accelerator={self.accelerator!r} now; warm_start and "
                "partial_fit continue training the way it began. Restore the "
                "accelerator setting, or train anew (warm_start=False, or a "
                "clone for partial_fit)."
            )
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

    def _check_fit_request(self, y, *, first, incremental):
        """Rules that span several settings, or a setting and the data."""
        if first:  # the encoder's rules, in this estimator's name
            validate_parameter_constraints(
                PanelEncoder._parameter_constraints,
                {name: getattr(self, name) for name in _ENCODER_PARAMS},
                caller_name=type(self).__name__,
            )
        if (
            incremental
            and self.early_stopping is not False
            and self.early_stopping != "auto"
        ):
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

    def _panel_and_y(self, X, y):
        """``X`` as a panel and ``y``, with the rows of ``y`` at each step.

        ``y`` has one entry per instance, or one per observation (see
        :func:`observation_rows`): then it comes back as one array of its
        rows, with the row of each step of the panel (``(n, T)``, -1 in the
        padding); else that is None.
        """
        labels = observation_rows(
            X, y, time_channel=self.time_channel, time_unit=self.time_unit
        )
        if labels is not None:
            return labels
        if not hasattr(y, "iloc"):  # array-likes (but keep pandas' dtypes)
            y = np.asarray(y)
        if input_format(X) == "numpy":
            # one instance per row, whatever the values: a mismatch (a 2D
            # array of observations, say) shows before an error about a row
            check_y_length(X, y)
        panel = self._to_panel(X)
        check_y_length(panel, y)
        return panel, y, None

    def _check_label_kind(self, per_step, first):
        """Fix, or hold to, whether the labels are per observation."""
        if first:
            if per_step and self.time_grid not in ("auto", None):
                raise ValueError(
                    f"time_grid={self.time_grid!r} puts observations that meet "
                    "at a grid point on one step, but y gives a label per "
                    "observation. Pass time_grid=None (or 'auto', which uses "
                    "no grid with labels per observation)."
                )
            self._per_step = per_step
        elif per_step != getattr(self, "_per_step", False):
            fitted = "one label per observation" if not per_step else "one per series"
            given = "one per observation" if per_step else "one per series"
            raise ValueError(
                f"{type(self).__name__} was fitted with {fitted} in y, and "
                f"continued training was given {given}. Continue with labels "
                "of the kind the first fit had, or train anew."
            )

    @staticmethod
    def _labelled(targets):
        """Where per-step targets hold a label: ``(n, T)`` bool."""
        if targets.dtype.kind == "f":
            return np.isfinite(targets).reshape(*targets.shape[:2], -1).all(-1)
        return targets >= 0

    def _step_targets(self, y, rows, first, classes):
        """Per-step targets from the rows of ``y`` (see :meth:`_panel_and_y`).

        The labelled rows (those not all missing) go through
        ``_prepare_targets`` like labels per series; the result is laid out
        per step, ``(n, T)`` class codes (-100 where unlabelled) or ``(n, T,
        n_outputs)`` floats (NaN where unlabelled).
        """
        missing = pd.isna(y)
        if missing.ndim > 1:
            missing = missing.all(axis=tuple(range(1, missing.ndim)))
        labelled = np.flatnonzero(~missing)
        if not len(labelled):
            raise ValueError(
                "y gives one label per observation, but every one is missing "
                "(NaN): there is nothing to learn from."
            )
        known, n_outputs = self._prepare_targets(y[labelled], first, classes)
        if known.dtype.kind == "f":
            per_row = np.full((len(y), *known.shape[1:]), np.nan, known.dtype)
            fill = np.nan
        else:
            per_row = np.full(len(y), -100, known.dtype)
            fill = -100
        per_row[labelled] = known
        targets = per_row[np.maximum(rows, 0)]
        targets[rows < 0] = fill
        return targets, n_outputs

    def _stratified(self, targets):
        """Whether the validation split is stratified by ``targets``' labels."""
        return self._stratify and np.ndim(targets) == 1

    def _sample_weights(self, sample_weight, targets, n):
        """Per-instance weights of the loss: given ones times class weights.

        The loss is a weighted mean, so only the weights' ratios matter: they
        are divided by the largest, which keeps any finite float64 weights
        representable in float32 (and their sums in a batch finite).
        """
        if sample_weight is not None:
            sample_weight = _numbers(sample_weight, "sample_weight")
        weights = _check_sample_weight(
            sample_weight, np.empty((n, 0)), ensure_non_negative=True
        )
        if not np.any(weights > 0):  # scikit-learn checks this from 1.7 only
            raise ValueError(
                "Sample weights must contain at least one non-zero number."
            )
        extra = self._target_sample_weight(targets)
        if extra is not None:
            weights = weights * extra
            if not np.any(weights > 0):
                raise ValueError(
                    "sample_weight and class_weight leave no instance with a "
                    "positive weight: every instance with a positive "
                    "sample_weight has a class weight of 0."
                )
        return (weights / weights.max()).astype(np.float32)

    def _resolve_patch_length(self, panel):
        """Fix ``patch_length_`` for a new network."""
        if self.patch_length == "auto" and self._per_step:
            # a label per observation: one observation per step, so that
            # each label's output comes from a step of its own (as without
            # a time grid), not from a patch cut short
            self.patch_length_ = 1
        elif self.patch_length == "auto":
            # long, densely observed series: patches; sparse records (a few
            # of many channels at a time, as in health records): one
            # observation per step, each informative on its own. The steps
            # the network sees are on the encoder's time grid if it has one
            grid = self.encoder_.time_grid_
            steps = panel.lengths if grid is None else panel.on_grid(grid).lengths
            median = float(np.median(steps)) if len(panel) else 1.0
            k = int(np.ceil(median / _AUTO_PATCH_STEPS))
            self.patch_length_ = max(1, k) if panel.is_dense() else 1
        else:
            self.patch_length_ = self.patch_length

    def _resolve_early_stopping(self, targets, incremental):
        """Fix ``early_stopping_`` for a new network.

        "auto" is on from ``_AUTO_EARLY_STOPPING`` training instances, except
        in ``partial_fit`` and where no validation split can be drawn (a
        class with a single instance, say): then it is off, as on less data.
        """
        if self.early_stopping == "auto":
            self.early_stopping_ = (
                not incremental
                and len(targets) >= _AUTO_EARLY_STOPPING
                and self._validation_split_problem(targets) is None
            )
        else:
            self.early_stopping_ = self.early_stopping

    def _validation_split_problem(self, targets):
        """Why no validation split can be held out of ``targets``, or None.

        The split is drawn by scikit-learn's ``ShuffleSplit`` (for a
        classifier ``StratifiedShuffleSplit``) with ``test_size`` the
        ``validation_fraction``; these are their conditions. Returns the
        reason, then what to do instead, as two sentences.
        """
        n = len(targets)
        n_valid = int(np.ceil(self.validation_fraction * n))
        n_train = n - n_valid
        split = (
            f"validation_fraction={self.validation_fraction} of the {n} "
            f"training instance{'s' * (n != 1)} is {n_valid} for validation, "
            f"leaving {n_train} to train on"
        )
        if not self._stratified(targets):
            if n_train < 1:
                return (
                    f"{split}. Set early_stopping=False, or give at least 2 instances."
                )
            return None
        codes, counts = np.unique(targets, return_counts=True)
        single = codes[counts < 2]
        if len(single):
            labels = getattr(self, "classes_", codes)[single].tolist()
            has = "has" if len(single) == 1 else "have"
            return (
                "the split is stratified and needs at least 2 instances of "
                "every class (one to train on, one to validate), but "
                f"{len(single)} of the {len(codes)} classes {has} a single "
                f"instance: {labels[:10]}{' ...' if len(labels) > 10 else ''}. "
                "Set early_stopping=False, or give more instances of these "
                "classes."
            )
        if min(n_valid, n_train) < len(codes):
            return (
                f"{split}, but a stratified split needs at least one instance "
                f"of each of the {len(codes)} classes in both parts. Set "
                "early_stopping=False, give more instances, or change "
                "validation_fraction."
            )
        return None

    def _check_validation_split(self, targets):
        """Refuse training data from which no validation split can be held out."""
        problem = self._validation_split_problem(targets)
        if problem is not None:
            raise ValueError(
                f"early_stopping={self.early_stopping!r} holds out part of the "
                f"training data to decide when to stop: {problem}"
            )

    def _new_encoder(self):
        params = {name: getattr(self, name) for name in _ENCODER_PARAMS}
        if self._per_step:  # one step per observation: one per label
            params["time_grid"] = None
        return PanelEncoder(**params)

    def _new_net(self, training, dataset, n_outputs):
        """A new net for the encoded ``dataset``; records the settings it has."""
        train_split = None
        if self.early_stopping_:
            train_split = ValidSplit(
                self.validation_fraction,
                stratified=self._stratified(dataset.y),
                random_state=self._seed,
            )
        n_inputs = dataset.data.inputs.shape[-1]
        net = self._make_net(
            training,
            dict(
                n_inputs=n_inputs,
                n_outputs=n_outputs,
                readout=self.readout,
                patch_length=self.patch_length_,
                per_step=self._per_step,
            ),
            train_split=train_split,
        )
        self._built_with = {
            name: getattr(self, name)
            for name in inspect.signature(type(self)).parameters
            if name not in _MAY_CHANGE
        }
        return net

    def _set_fitted_state(self, incremental, epochs_before):
        history = self.history_
        done = [row for row in history if "train_loss" in row]
        self.loss_curve_ = [float(row["train_loss"]) for row in done]
        if self.early_stopping_:
            self.validation_scores_ = [
                float(row["valid_loss"]) for row in done if "valid_loss" in row
            ]
        # the loss of the weights kept: validation loss, or train_end_loss
        self.best_loss_ = kept_loss(self.net_)
        run = len(done) - epochs_before
        stopper = dict(self.net_.callbacks_)["early_stopping"]
        # a cosine schedule is planned to end at max_epochs: no warning then
        if (
            not incremental
            and self.lr_schedule != "cosine"
            and run >= self.max_epochs
            and (stopper.misses_ < stopper.patience)
        ):
            what = "validation" if self.early_stopping_ else "training"
            warnings.warn(
                f"{type(self).__name__} stopped at max_epochs={self.max_epochs} "
                f"while its {what} loss was still improving by more than "
                f"tol={self.tol}; increase max_epochs for a better fit.",
                ConvergenceWarning,
                stacklevel=2,
            )

    # ------------------------------------------------------ data in
    def _to_panel(self, X):
        return to_panel(X, time_channel=self.time_channel, time_unit=self.time_unit)

    # ------------------------------------------------------ prediction
    def _forward(self, X, *, features=False):
        """Network outputs for every instance of ``X``, in order (float64).

        ``X`` is any accepted panel, or an iterator of such panels (batches).
        Large in-memory arrays and lists are cut into chunks of
        ``_PREDICT_CHUNK`` instances, so what prediction allocates on top of
        ``X`` is bounded by the chunk, not by the number of instances.
        ``features=True`` returns the learned representation instead
        (:meth:`~sklearn_cfc.nn.CfCSequenceNetwork.features`).
        """
        check_is_fitted(self, "net_")
        outputs = [
            self._forward_panel(panel, features=features) for panel in self._panels(X)
        ]
        if not outputs:
            what = "transform" if features else "predict"
            raise ValueError(
                f"X is an empty iterator: pass at least one batch of series to {what}."
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
            fmt = input_format(X)
            if fmt == "numpy":
                X = np.asarray(X)  # tensors, xarray, ...: slice as numpy
            chunked = fmt in ("np-list", "df-list") or (fmt == "numpy" and X.ndim >= 2)
            if not chunked or len(X) <= _PREDICT_CHUNK:
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
        check_channels(panel, self)
        return panel

    def _encoded_batches(self, panel, batch_size=_PREDICT_BATCH):
        """The panel in batches of similar lengths, encoded for the network.

        Yields ``(idx, part, encoded, tensors)``: the instances' positions
        in ``panel``, the sub-panel, its :class:`EncodedPanel` and its
        ``(inputs, dt, lengths)`` as tensors on the network's device.
        """
        device = self.net_.device
        for idx in bucket_batches(panel.lengths, batch_size):
            part = panel.take(idx)
            encoded = self.encoder_.transform(part)
            tensors = (
                torch.from_numpy(encoded.inputs).to(device),
                torch.from_numpy(encoded.dt).to(device),
                torch.from_numpy(encoded.lengths).to(device),
            )
            yield idx, part, encoded, tensors

    def _forward_panel(self, panel, *, features=False):
        """Network outputs of one panel, batch by batch of similar lengths.

        Outputs per sequence give ``(n_instances, ...)``; outputs per step
        (``(B, T, ...)`` per batch) give ``(n_instances, n_timepoints, ...)``,
        NaN after each instance's last step. ``features=True`` runs the
        module's ``features`` instead of the module: what its last linear
        layer reads. A network trained on a label per step gives its output
        after each series' last step only (``every_step=False``).
        """
        net = self.net_
        module = net.module_
        module.eval()
        if features:
            run = module.features
        else:  # through __call__: the module's hooks see every pass
            run = functools.partial(module, every_step=False)
        out = None
        work = min(len(panel), _PREDICT_BATCH) * network_width(self)
        with torch.no_grad(), torch_threads(work, net.device):
            for idx, _, _, tensors in self._encoded_batches(panel):
                y = run(*tensors).cpu().numpy()
                if out is None:
                    shape = (len(panel), *y.shape[1:])
                    if y.ndim > 2:
                        shape = (len(panel), panel.n_timepoints, *y.shape[2:])
                    out = np.full(shape, np.nan)
                out[idx, : y.shape[1]] = y
        return out

    # ------------------------------------------------------ over time
    def _staged(self, X):
        """Network outputs after every observation of every instance of ``X``.

        The output at an observation is the network's output on the
        instance cut after it: the same encoding (scaling, forward fill,
        time grid), the same patches and readout, computed for all cuts of
        a batch at once (:meth:`CfCSequenceNetwork.forward_prefixes`).

        Returns
        -------
        index : pd.MultiIndex
            (instance, time) of each observation, in the user's time type.
        outputs : ndarray of shape (n_observations, n_outputs), float64
        """
        check_is_fitted(self, "net_")
        names = (
            list(LEVELS)
            if isinstance(X, Iterator)
            else level_names(X, self.time_channel)
        )
        ids, times, outputs = [], [], []
        offset = 0
        kind = unit = None
        for panel in self._panels(X):
            outputs.append(self._staged_panel(panel))
            own = panel.instance_ids
            if own is None:
                own = np.arange(offset, offset + len(panel))
            offset += len(panel)
            ids.append(np.repeat(np.asarray(own), panel.lengths))
            valid = np.arange(panel.n_timepoints) < panel.lengths[:, None]
            times.append(panel.times[valid])
            kind, unit = panel.time_kind, panel.time_unit
        if not outputs:
            raise ValueError(
                "X is an empty iterator: pass at least one batch of series to "
                "predict on."
            )
        unit_ns = 1.0 if unit is None else check_time_unit(unit)
        index = pd.MultiIndex.from_arrays(
            [np.concatenate(ids), float_to_index(np.concatenate(times), kind, unit_ns)],
            names=names,
        )
        return index, np.concatenate(outputs)

    def _staged_panel(self, panel):
        """:meth:`_staged`'s outputs for one panel, batch by batch."""
        net = self.net_
        module = net.module_
        module.eval()
        encoder = self.encoder_
        step = encoder.time_grid_
        first = np.concatenate([[0], np.cumsum(panel.lengths)[:-1]])
        out = None
        work = min(len(panel), _PREDICT_BATCH) * network_width(self)
        with torch.no_grad(), torch_threads(work, net.device):
            for idx, part, batch, (inputs, dt, _) in self._encoded_batches(panel):
                rows = np.repeat(np.arange(len(idx)), part.lengths)
                obs = np.arange(len(rows)) - np.repeat(
                    np.cumsum(part.lengths) - part.lengths, part.lengths
                )
                last = redo = None
                if step is None:  # one step per observation
                    ends = obs
                else:  # the grid point of each observation
                    slots = part.grid_slots(step)
                    ends = slots[rows, obs]
                    later = np.minimum(obs + 1, part.n_timepoints - 1)
                    shared = (obs + 1 < part.lengths[rows]) & (
                        slots[rows, later] == ends
                    )
                    if encoder.fill_ == "linear":
                        # points drawn towards a shared one lead to the
                        # average of all its observations; cut there, they
                        # lead to that of some, so those prefixes run whole
                        occupied = np.zeros((len(part), int(ends.max()) + 1), bool)
                        occupied[rows, ends] = True
                        before = np.maximum(ends - 1, 0)
                        redo = shared & (ends > 0) & ~occupied[rows, before]
                        shared &= ~redo
                    if shared.any():
                        last = batch.inputs[rows, ends]
                        last[shared] = self._cut_inputs(part, rows[shared], obs[shared])
                y = module.forward_prefixes(
                    inputs,
                    dt,
                    torch.from_numpy(rows).to(net.device),
                    torch.from_numpy(ends).to(net.device),
                    None if last is None else torch.from_numpy(last).to(net.device),
                )
                y = y.cpu().numpy()
                if redo is not None and redo.any():
                    cut = part.take(rows[redo], lengths=obs[redo] + 1)
                    y[redo] = self._forward_panel(cut)
                if out is None:
                    out = np.empty((int(panel.lengths.sum()), y.shape[1]))
                out[first[idx][rows] + obs] = y
        return out

    def _cut_inputs(self, panel, rows, obs):
        """Encoded inputs of the last grid point of each series cut after an
        observation that shares its grid point with later ones.

        Cut there, the series holds only some of the observations that
        meet at that point (the grid averages them), so the point encodes
        differently from the whole series'.
        """
        encoder = self.encoder_
        parts = []
        for start in range(0, len(rows), _PREDICT_BATCH):
            sl = slice(start, start + _PREDICT_BATCH)
            cut = panel.take(rows[sl], lengths=obs[sl] + 1).on_grid(encoder.time_grid_)
            encoded = encoder.transform(cut)
            parts.append(encoded.inputs[np.arange(len(cut)), encoded.lengths - 1])
        return np.concatenate(parts)

    # ------------------------------------------------------ representation
    def transform(self, X: PanelOrBatches) -> np.ndarray | pd.DataFrame:
        """The learned representation of each series.

        What the network's last linear layer reads: its ``readout`` of the
        CfC's outputs (the state after each series' last observation for
        "last", their mean or maximum over the observations for "mean" and
        "max", the three side by side for "all"). Another estimator can
        learn on these features, alone or next to others (see
        :ref:`learned-features`). Computed like :meth:`predict`: chunk by
        chunk and in batches of similar lengths.

        Parameters
        ----------
        X : array-like, list of DataFrames, DataFrame or iterator of these
            The series (see :meth:`fit`), or an iterator (e.g. a generator)
            yielding batches of them; rows follow the order of the batches.

        Returns
        -------
        X_new : ndarray of shape (n_instances, n_features_out)
            float64; ``n_features_out`` is ``units``, or ``3 * units`` for
            ``readout="all"``. Columns are named by
            :meth:`get_feature_names_out`. With ``set_output(transform=
            "pandas")`` a DataFrame, indexed by the instance ids of a
            MultiIndex ``X``.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn_cfc import CfCClassifier
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(20, 2, 15))
        >>> y = X[:, 0].mean(axis=1) > 0
        >>> clf = CfCClassifier(units=4, max_epochs=3, random_state=0).fit(X, y)
        >>> clf.transform(X).shape  # last state, mean and max: 3 * units
        (20, 12)
        >>> clf.get_feature_names_out()[:3].tolist()
        ['cfcclassifier0', 'cfcclassifier1', 'cfcclassifier2']
        """
        check_is_fitted(self, "net_")
        return by_instance(self._forward(X, features=True), X, self)

    @property
    def _n_features_out(self):
        """Width of :meth:`transform`'s output (for ``get_feature_names_out``)."""
        return self.net_.module_.n_features

    def plot_history(self, ax: Axes | None = None) -> Axes:
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
        if self.early_stopping_:
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
