"""CfCRegressor: sequence regression with a closed-form continuous-time network."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
import torch
from scipy import sparse
from sklearn.base import RegressorMixin
from sklearn.utils.validation import check_array, check_is_fitted

from ._base import _BaseCfC
from ._typing import fit_context

if TYPE_CHECKING:
    from accelerate import Accelerator
    from numpy.typing import ArrayLike

    from ._typing import (
        Activation,
        Callbacks,
        Device,
        DtScale,
        Fill,
        LRSchedule,
        Mode,
        Optimizer,
        PanelLike,
        PanelOrBatches,
        RandomStateLike,
        Readout,
        RunningStats,
        Scaling,
        TimeGrid,
        TimeUnit,
    )

__all__ = ["CfCRegressor"]


class CfCRegressor(RegressorMixin, _BaseCfC):
    """Predict one or more numbers per (irregularly sampled) time series.

    A closed-form continuous-time (CfC) recurrent network (Hasani et al.,
    2022) reads each series observation by observation, together with the
    time elapsed since the previous one, and a linear layer maps its final
    state to the targets. Series may have unequal lengths, irregular
    timestamps and missing values.

    Parameters
    ----------
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
    mixed_memory : bool, default=True
        Put an LSTM memory cell in front of the CfC cell at every step (the
        paper's mixed-memory variant). It keeps information over long series
        (on BasicMotions' 100 steps it lifts test accuracy from 0.25 to
        0.95) and makes training steadier across seeds; both variants run
        in the fused loop, and without it a training step is about a third
        cheaper.
    readout : {"all", "last", "mean", "max"}, default="all"
        What the output layer reads: "last" is the state after the last
        observation; "mean" and "max" pool the states after every step;
        "all" is the three side by side. Pooling lets every step reach the
        loss directly, which is what makes long series trainable; see
        :class:`sklearn_cfc.nn.LinearHead`.
    patch_length : int or "auto", default="auto"
        Consecutive steps the network reads as one (a patch carries each
        step's values and gap; see :func:`sklearn_cfc.nn.patch_sequences`).
        A step is an observation, or a point of the time grid with
        ``time_grid``. "auto" picks ``ceil(median steps / 32)`` from the
        training data (1 for series of up to 32 steps), so that long series
        take about 32 steps of the recurrence: faster, and easier to train;
        but 1 where fewer than half of the channels are observed at a step
        on average (sparse records such as PhysioNet's, where patches cost
        0.02-0.03 ROC AUC on validation), and 1 with a label per
        observation (each label's output from a step of its own). The
        value used is ``patch_length_``.
    max_epochs : int, default=100
        Maximum number of passes over the training data.
    batch_size : int, default=32
        Series per gradient step.
    learning_rate : float, default=0.005
        Initial learning rate.
    optimizer : {"adamw", "adam", "sgd", "rmsprop"}, default="adamw"
        The optimizer (SGD with momentum 0.9).
    weight_decay : float, default=1e-4
        Weight decay of the optimizer.
    gradient_clip : float or None, default=1.0
        Clip the gradient norm of each step to this value; None disables.
    lr_schedule : {"cosine", "plateau", "constant"}, default="cosine"
        Learning-rate schedule: cosine annealing over ``max_epochs``, a
        reduction when the monitored loss stalls, or none.
    early_stopping : bool or "auto", default="auto"
        Hold out ``validation_fraction`` of the training data, stop when
        its loss has not improved by ``tol`` for ``n_iter_no_change``
        epochs, and keep the weights of the epoch with the lowest validation
        loss (``fit`` raises a ValueError before training when no instance
        would be left to train on). If False, the weights kept are those of
        the epoch with the lowest training loss of the weights it ended
        with, measured on the whole training set after the epoch
        (``train_end_loss``; a forward pass per epoch), and with a
        non-cosine schedule training stops when that loss stalls. "auto"
        turns it on from 1,000 training instances (never in
        ``partial_fit``); the choice is ``early_stopping_``. Either way
        ``best_loss_`` is the loss of the weights kept. Training that diverges raises a
        :class:`~sklearn_cfc.exceptions.DivergenceError`: a loss that is not
        finite, or a monitored loss more than ``10 * max(1, |untrained
        loss|, |lowest|)`` above the lowest so far.
    validation_fraction : float, default=0.1
        Share of the training data held out when ``early_stopping=True``.
    n_iter_no_change : int, default=10
        Epochs without improvement before stopping. Without
        ``early_stopping`` the rule watches the training loss and applies
        only to the "constant" and "plateau" schedules: a cosine schedule
        runs to ``max_epochs`` as planned.
    tol : float, default=1e-4
        Smallest change of the monitored loss that counts as improvement.
    scale : bool, "standard", "robust" or "auto", default="auto"
        Scale each channel with statistics of the training data: "standard"
        (or True) by mean and standard deviation, "robust" by median and
        interquartile range, clipped to +-10 (for channels with outliers);
        False leaves values as they are. "auto" is "standard", after
        compressing, with ``asinh(x / r)``, each channel whose scale differs
        between series by orders of magnitude (standard deviations of the
        training series spanning more than a factor 1000; ``r`` is their
        10th percentile, in ``encoder_.compress_``), so that small series
        keep their shape. See :class:`sklearn_cfc.panel.PanelEncoder`.
    time_channel : int, str or None, default=None
        For numpy input, the channel holding each observation's timestamp
        (removed from the features); for data frames the timestamps are the
        time index. See :func:`sklearn_cfc.panel.to_panel`.
    time_unit : str, default="s"
        Unit that datetime and timedelta timestamps are converted to.
        Prediction needs timestamps of the kind ``fit`` saw, numbers or
        datetimes and timedeltas; a TypeError names both otherwise.
    dt_scale : "median" or float, default="median"
        Divisor of the elapsed time fed to the network; "median" learns the
        median gap between observations in ``fit``. Prediction, and a
        continued fit, warn with a :class:`~sklearn_cfc.exceptions.TimeScaleWarning`
        when the median gap of their data is more than 100 times smaller or
        larger than the one in ``fit`` (``encoder_.dt_median_``): most
        likely, timestamps in another unit. See
        :class:`~sklearn_cfc.panel.PanelEncoder`.
    running_stats : bool or list of str, default=False
        Also feed the network, at every step and per channel, the minimum,
        maximum and mean of the channel's observations so far and how many
        there were: True for all four, or a list among "min", "max", "mean"
        and "count". Helps on long, sparsely measured series whose outcome
        depends on extremes (see :class:`sklearn_cfc.panel.PanelEncoder`).
    differences : bool, default=True
        Also feed the network, per channel, the change of its value since
        its previous observation, scaled by the typical change in the
        training data. Where the level of a series varies more between
        instances than its shape within one (spectra, sensor drift), a
        per-channel scale squashes the shape; the changes restore it.
    time_grid : "auto", float or None, default="auto"
        Put each series on a regular time grid (one step every
        ``time_grid`` time units from its first observation, see
        :meth:`sklearn_cfc.panel.Panel.on_grid`) before encoding: a grid
        point without an observation is a step where nothing is observed,
        so a patch covers a fixed span of time rather than a fixed number
        of observations. "auto" uses the typical sampling interval of the
        training data (median over series of span / number of gaps) when
        the sampling is irregular and most channels are observed at each
        time (dense series that lost observations), and no grid otherwise
        (regular series; sparse records). Observations that meet at a grid
        point are averaged, so a spike of one observation may be smoothed
        by a neighbour. On the benchmark's irregular sets (half the
        observations dropped) it raised validation accuracy by 0.03 on
        average over five sets. The step used is ``encoder_.time_grid_``.
    fill : {"auto", "forward", "linear"}, default="auto"
        How a grid point without an observation is encoded (see
        ``time_grid``). "forward": each channel's latest value carried
        forward, next to its observation mask and the time since it was
        observed, so that when and how often a channel is measured can
        inform the model (as in health records). "linear": each channel
        drawn on a straight line to its observation at the next point that
        has one, its change taken along that line, and no mask or time
        since: for series sampled at random times, where the sampling
        pattern is noise the network would memorise. "auto": "linear" for
        dense series on a time grid (those ``time_grid="auto"`` grids),
        "forward" otherwise; the choice is ``encoder_.fill_``. Each step
        depends on observations up to the next observed point only, so
        :meth:`staged_predict` rows equal predictions on the cut series,
        and :mod:`sklearn_cfc.export` streams either. On validation splits
        of the benchmark's six irregular sets "linear" raised mean accuracy
        from 0.618 to 0.647 (better on four, about equal on two; see the
        changelog).
    device : str or torch.device, default="auto"
        Where to train: "auto" picks CUDA, then MPS, then the CPU.
    accelerator : accelerate.Accelerator or None, default=None
        Train data-parallel over the processes of an ``accelerate launch``
        run (PyTorch DDP) through skorch's Accelerate integration: each
        process passes the same data to ``fit``, takes its share of every
        epoch's batches, and all end with the same weights. The accelerator
        places the model (leave ``device="auto"``) and may add mixed
        precision. Each process can predict afterwards. See Notes.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, data order and dropout; the same seed
        gives the same predictions on a CPU with the same number of torch
        threads.
    verbose : int, default=0
        0 is silent, 1 prints a table per epoch, 2 also shows a progress bar.
    callbacks : list of skorch callbacks or None, default=None
        More :mod:`skorch.callbacks` for the net to run, such as loggers
        (``TensorBoard``, ``MlflowLogger``) and checkpoints (``Checkpoint``,
        ``LoadInitState``): instances, or (name, callback) pairs, as in
        skorch. They run after the estimator's own (stopping rule, schedule,
        clipping) and see every epoch, the one training stops at included.
        Each ``fit`` runs fresh copies, built from their parameters as
        :func:`~sklearn.base.clone` builds them but sharing the parameter
        values (a SummaryWriter, say), and leaves those given untouched:
        the copies are in ``net_.callbacks_``, named ``"user_"`` and their
        name (the class name if none is given). They may change between
        warm starts and ``partial_fit`` calls (unchanged ones keep their
        state). Pickling leaves out those that cannot be pickled. See
        :ref:`logging`.
    warm_start : bool, default=False
        Continue from the fitted weights when ``fit`` is called again, for
        another ``max_epochs`` epochs. The settings the first fit built the
        network, its training and its input encoding with (all of them) must
        not change in between: an error names any that did.
    scale_target : bool, default=True
        Standardise the targets with their training mean and standard
        deviation while fitting (predictions are returned in the original
        units); targets of any finite float64 magnitude then train. Without
        it, the network trains on the targets as they are, in float32: an
        error names any beyond its range (about 3.4e38).

    Attributes
    ----------
    n_features_in_ : int
        Number of channels seen in ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Channel names seen in ``fit``, when they are all strings.
    n_outputs_ : int
        Number of targets.
    encoder_ : sklearn_cfc.panel.PanelEncoder
        The fitted input encoder (scaling and time scale).
    net_ : skorch.NeuralNet
        The fitted skorch net; ``net_.module_`` is the PyTorch network.
    history_ : skorch.History
        Per-epoch records (losses, durations, learning rates):
        ``train_loss``, the mean loss over the epoch's batches (measured
        while the weights moved); ``valid_loss`` with ``early_stopping_``,
        else ``train_end_loss``, the training loss of the weights the epoch
        ended with; and ``interrupted=True`` in an epoch a KeyboardInterrupt
        (Ctrl-C) stopped. Such an interrupt after a complete epoch ends
        ``fit`` with the weights of the best complete epoch and a
        :class:`~sklearn_cfc.exceptions.TrainingInterruptedWarning`, as
        skorch does; one before the first epoch is complete propagates and
        leaves the estimator as it was (a first fit: unfitted).
    loss_curve_ : list of float
        Training loss per epoch (on the scaled targets).
    validation_scores_ : list of float
        Validation loss per epoch (only when ``early_stopping_`` is True).
    best_loss_ : float
        The loss of the weights the model holds (on the scaled targets),
        which are those of the epoch of the last ``fit`` (or ``partial_fit``
        call) with the lowest such loss: with ``early_stopping_`` their
        validation loss; otherwise their training loss, measured on the
        whole training set after the epoch's last step, with dropout off
        (``history_``'s ``train_end_loss``). Not the minimum of
        ``loss_curve_``, whose means over each epoch's batches belong to no
        single set of weights.
    patch_length_ : int
        Observations per network step (``patch_length``, "auto" resolved).
    early_stopping_ : bool
        Whether a validation split stopped training (``early_stopping``,
        "auto" resolved: off below 1,000 instances and in ``partial_fit``).
    n_iter_ : int
        Number of epochs run.
    device_ : str
        The device used for training (with an ``accelerator``: this
        process's).

    See Also
    --------
    CfCClassifier : The same network for classification.
    sklearn_cfc.nn.CfC : The PyTorch network.
    sklearn_cfc.panel.PanelSummarizer : Per-channel summaries, to learn on
        next to the network's features (:meth:`transform`).

    Notes
    -----
    **Data-parallel training.** With ``accelerator=Accelerator()``, run the
    same script in every process with ``accelerate launch`` (each process
    passes the whole training set to ``fit``). A step then trains on
    ``num_processes * batch_size`` series; epoch losses are averaged over the
    processes, so all of them stop alike. Pickling leaves
    ``accelerator=None``: a model saved by a distributed run predicts in a
    plain process. Recipes: :ref:`scaling`.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_cfc import CfCRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 1, 12))
    >>> y = X[:, 0].sum(axis=1)
    >>> reg = CfCRegressor(units=16, max_epochs=60, random_state=0).fit(X, y)
    >>> reg.predict(X[:2]).shape
    (2,)
    >>> bool(reg.score(X, y) > 0.9)
    True
    """

    _parameter_constraints = {
        **_BaseCfC._parameter_constraints,
        "scale_target": ["boolean"],
    }
    _criterion = torch.nn.MSELoss

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
        super().__init__(
            units=units,
            mode=mode,
            backbone_units=backbone_units,
            backbone_layers=backbone_layers,
            backbone_dropout=backbone_dropout,
            activation=activation,
            mixed_memory=mixed_memory,
            readout=readout,
            patch_length=patch_length,
            max_epochs=max_epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            optimizer=optimizer,
            weight_decay=weight_decay,
            gradient_clip=gradient_clip,
            lr_schedule=lr_schedule,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change,
            tol=tol,
            scale=scale,
            time_channel=time_channel,
            time_unit=time_unit,
            dt_scale=dt_scale,
            running_stats=running_stats,
            differences=differences,
            time_grid=time_grid,
            fill=fill,
            device=device,
            accelerator=accelerator,
            random_state=random_state,
            verbose=verbose,
            callbacks=callbacks,
            warm_start=warm_start,
        )
        self.scale_target = scale_target

    @fit_context(prefer_skip_nested_validation=True)
    def fit(
        self, X: PanelLike, y: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> CfCRegressor:
        """Fit the network to series and their targets.

        Parameters
        ----------
        X : array-like, list of DataFrames or DataFrame
            The series, in any format :func:`sklearn_cfc.panel.to_panel`
            accepts: numpy ``(n_instances, n_channels, n_timepoints)``, a
            list of per-instance DataFrames indexed by time, a
            ``(instance, time)`` MultiIndex DataFrame, ...
        y : array-like of shape (n_instances,) or (n_instances, n_outputs), \
Series, DataFrame or list of arrays
            Targets. Or targets per observation (sequence labelling): a
            Series (a DataFrame for several targets) with the same
            (instance, time) index as a MultiIndex ``X``, or a list of
            arrays, one entry (row) per row of each DataFrame of a list
            ``X``; missing values (NaN) mark rows without one. The network
            then learns from every labelled step (one step per observation:
            ``time_grid`` "auto" uses no grid, a number is refused, and
            ``patch_length`` "auto" is 1), :meth:`staged_predict` predicts
            at every observation, and
            :meth:`predict` after each series' last one.
            See :ref:`over-time`.
        sample_weight : array-like of shape (n_instances,), default=None
            Per-instance weights in the loss.

        Returns
        -------
        self : CfCRegressor
        """
        return self._fit(X, y, sample_weight)

    @fit_context(prefer_skip_nested_validation=True)
    def partial_fit(
        self, X: PanelLike, y: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> CfCRegressor:
        """Run one epoch over ``(X, y)``, starting from the current weights.

        The target scaling is learnt on the first call and kept afterwards.

        Parameters
        ----------
        X : array-like, list of DataFrames or DataFrame
            The series (see :meth:`fit`).
        y : array-like of shape (n_instances,) or (n_instances, n_outputs), \
Series, DataFrame or list of arrays
            Targets; per observation if the first fit had them so (see
            :meth:`fit`).
        sample_weight : array-like of shape (n_instances,), default=None
            Per-instance weights in the loss.

        Returns
        -------
        self : CfCRegressor
        """
        return self._fit(X, y, sample_weight, incremental=True)

    def _prepare_targets(self, y, first, classes=None):
        y = _numeric_targets(y)
        if y.ndim > 2 or (y.ndim == 2 and y.shape[1] == 0):
            raise ValueError(
                "y must be 1D (one target) or 2D (n_instances, n_outputs) with "
                f"at least one output; got shape {y.shape}."
            )
        y = check_array(
            y, ensure_2d=False, dtype=np.float64, input_name="y", ensure_min_samples=1
        )
        y2 = y.reshape(len(y), -1)
        if first:
            self._y_1d = y.ndim == 1
            self.n_outputs_ = y2.shape[1]
            if self.scale_target:
                self._y_mean, self._y_scale = _mean_and_scale(y2)
            else:
                self._y_mean = np.zeros(y2.shape[1])
                self._y_scale = np.ones(y2.shape[1])
        elif y2.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {y2.shape[1]} outputs, but {type(self).__name__} was "
                f"fitted with {self.n_outputs_}."
            )
        # in units of the scale: (y - mean) / scale overflows for targets near
        # the float64 limit, (y / scale) - (mean / scale) does not
        with np.errstate(over="ignore", invalid="ignore"):
            scaled = (y2 / self._y_scale - self._y_mean / self._y_scale).astype(
                np.float32
            )
        if not np.isfinite(scaled).all():
            row, col = np.argwhere(~np.isfinite(scaled))[0]
            where = f"y[{row}]" if y.ndim == 1 else f"y[{row}, {col}]"
            if self.scale_target:  # only a later fit: the first sets the scale
                how = (
                    f"once scaled by the first fit's mean {self._y_mean[col]:.6g} "
                    f"and standard deviation {self._y_scale[col]:.6g}; later "
                    "fits need targets on the first fit's scale"
                )
            else:
                how = "with scale_target=False; set scale_target=True, or rescale y"
            raise ValueError(
                f"{where}={y2[row, col]:.6g} is beyond the float32 range the "
                f"network trains in (about 3.4e38) {how}."
            )
        return scaled, self.n_outputs_

    def predict(self, X: PanelOrBatches) -> np.ndarray:
        """Predicted targets of each series.

        Parameters
        ----------
        X : array-like, list of DataFrames, DataFrame or iterator of these
            The series (see :meth:`fit`), or an iterator (e.g. a generator)
            yielding batches of them, to predict on more series than fit
            in memory; outputs follow the order of the batches.

        Returns
        -------
        y : ndarray of shape (n_instances,) or (n_instances, n_outputs)
        """
        check_is_fitted(self, "net_")
        y = self._forward(X) * self._y_scale + self._y_mean
        return y[:, 0] if self._y_1d else y

    def staged_predict(self, X: PanelOrBatches) -> pd.Series | pd.DataFrame:
        """Predicted targets after every observation of each series.

        The row of an observation holds what :meth:`predict` says of the
        series cut after it: a causal prediction that uses that observation
        and the earlier ones only, as an online model would after each new
        measurement. All the rows of a series cost about one
        :meth:`predict` on it, not one per observation.

        Parameters
        ----------
        X : array-like, list of DataFrames, DataFrame or iterator of these
            The series (see :meth:`fit`), or an iterator (e.g. a generator)
            yielding batches of them.

        Returns
        -------
        y : pd.Series of shape (n_observations,) or pd.DataFrame of shape \
(n_observations, n_outputs)
            A Series for a one-dimensional ``y`` in fit, else one column per
            target. One row per observation (a time at which some channel is
            observed), indexed by (instance, time): the instance ids of a
            MultiIndex ``X`` (else instance positions) and the timestamps in
            ``X``'s own type (as
            :meth:`CfCClassifier.staged_predict_proba` describes).

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn_cfc import CfCRegressor
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(20, 2, 15))
        >>> y = X[:, 0].mean(axis=1)
        >>> reg = CfCRegressor(units=4, max_epochs=3, random_state=0).fit(X, y)
        >>> path = reg.staged_predict(X[:2])
        >>> path.shape
        (30,)
        >>> bool(np.isclose(path.loc[1].iloc[-1], reg.predict(X[1:2])[0], atol=1e-5))
        True
        """
        index, out = self._staged(X)
        y = out * self._y_scale + self._y_mean
        if self._y_1d:
            return pd.Series(y[:, 0], index=index)
        return pd.DataFrame(y, index=index)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


def _numeric_targets(y):
    """``y`` as a numeric ndarray (missing values NaN), or a ValueError naming it."""
    if sparse.issparse(y):
        return y  # check_array's message
    array = np.asarray(y)
    if array.dtype.kind in "biuf":
        return array
    what = f"y has dtype {array.dtype}"
    if array.dtype.kind == "O":
        array = np.where(pd.isna(array), np.nan, array)  # pd.NA, None
        try:
            return array.astype(np.float64)
        except (TypeError, ValueError):
            what += " and holds a value that is not a number"
    raise ValueError(
        f"{what}; CfCRegressor needs numeric targets (for class labels, use "
        "CfCClassifier)."
    )


def _mean_and_scale(y):
    """Per-column mean and standard deviation (1 where it is 0), without overflow.

    The columns are divided by their largest absolute value first, so that
    squares stay finite for targets up to the float64 limit.

    Parameters
    ----------
    y : ndarray of shape (n_instances, n_outputs), float64, finite

    Returns
    -------
    mean, scale : ndarray of shape (n_outputs,)
    """
    peak = np.abs(y).max(axis=0)
    peak = np.where(peak > 0, peak, 1.0)
    unit = y / peak
    mean = unit.mean(axis=0) * peak
    std = unit.std(axis=0) * peak
    return mean, np.where(std > 0, std, 1.0)
