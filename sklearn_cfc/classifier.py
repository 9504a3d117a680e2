"""CfCClassifier: sequence classification with a closed-form continuous-time network."""

from __future__ import annotations

from numbers import Number, Real
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
import torch
from scipy.special import log_softmax, softmax
from sklearn.base import ClassifierMixin
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d

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

__all__ = ["CfCClassifier"]


class CfCClassifier(ClassifierMixin, _BaseCfC):
    """Classify (irregularly sampled) time series with a CfC network.

    A closed-form continuous-time (CfC) recurrent network (Hasani et al.,
    2022) reads each series observation by observation, together with the
    time elapsed since the previous one, and a linear layer maps its final
    state to class scores. Series may have unequal lengths, irregular
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
        Hold out ``validation_fraction`` of the training data (stratified),
        stop when its loss has not improved by ``tol`` for
        ``n_iter_no_change`` epochs, and keep the weights of the epoch with
        the lowest validation loss. The split needs 2 instances of every
        class and one of each class on both sides: ``fit`` raises a
        ValueError before training when the data cannot be split so. If
        False, the weights kept are those of the epoch with the lowest
        training loss of the weights it ended with, measured on the whole
        training set after the epoch (``train_end_loss``; a forward pass per
        epoch), and with a non-cosine schedule training stops when that loss
        stalls. "auto" turns it on from 1,000 training instances where such
        a split can be drawn (never in ``partial_fit``); the choice is
        ``early_stopping_``. Either way ``best_loss_`` is the loss of the
        weights kept. Training that diverges raises a
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
        network, its training and its input encoding with (all but
        ``class_weight``) must not change in between: an error names any
        that did.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the loss, as in scikit-learn's linear
        models; multiplied with ``sample_weight``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    n_features_in_ : int
        Number of channels seen in ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Channel names seen in ``fit``, when they are all strings.
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
        Training loss per epoch.
    validation_scores_ : list of float
        Validation loss per epoch (only when ``early_stopping_`` is True).
    best_loss_ : float
        The loss of the weights the model holds, which are those of the
        epoch of the last ``fit`` (or ``partial_fit`` call) with the lowest
        such loss: with ``early_stopping_`` their validation loss; otherwise
        their training loss, measured on the whole training set after the
        epoch's last step, with dropout off (``history_``'s
        ``train_end_loss``). Not the minimum of ``loss_curve_``, whose means
        over each epoch's batches belong to no single set of weights.
    patch_length_ : int
        Observations per network step (``patch_length``, "auto" resolved).
    early_stopping_ : bool
        Whether a validation split stopped training (``early_stopping``,
        "auto" resolved: off below 1,000 instances, in ``partial_fit``, and
        where no validation split can be drawn, as with a class of a
        single instance).
    n_iter_ : int
        Number of epochs run.
    device_ : str
        The device used for training (with an ``accelerator``: this
        process's).

    See Also
    --------
    CfCRegressor : The same network for regression.
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
    >>> from sklearn_cfc import CfCClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 2, 15))  # 40 series, 2 channels, 15 steps
    >>> y = np.where(X[:, 0].mean(axis=1) > 0, "up", "down")
    >>> clf = CfCClassifier(units=8, max_epochs=50, random_state=0).fit(X, y)
    >>> clf.classes_.tolist()
    ['down', 'up']
    >>> clf.predict_proba(X[:3]).shape
    (3, 2)
    >>> bool(clf.score(X, y) > 0.9)
    True
    """

    _parameter_constraints = {
        **_BaseCfC._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }
    _criterion = torch.nn.CrossEntropyLoss
    _stratify = True

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
        self.class_weight = class_weight

    # ---------------------------------------------------------------- fit
    @fit_context(prefer_skip_nested_validation=True)
    def fit(
        self, X: PanelLike, y: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> CfCClassifier:
        """Fit the network to labelled series.

        Parameters
        ----------
        X : array-like, list of DataFrames or DataFrame
            The series, in any format :func:`sklearn_cfc.panel.to_panel`
            accepts: numpy ``(n_instances, n_channels, n_timepoints)``, a
            list of per-instance DataFrames indexed by time, a
            ``(instance, time)`` MultiIndex DataFrame, ...
        y : array-like of shape (n_instances,), Series or list of arrays
            Class labels: numbers, or strings (not a mix of both).
            Or one label per observation (sequence labelling): a Series
            with the same (instance, time) index as a MultiIndex
            ``X``, or a list of arrays, one entry per row of each DataFrame
            of a list ``X``; missing values (NaN, None) mark rows without
            one. The network then learns from every labelled step (one step
            per observation: ``time_grid`` "auto" uses no grid, a number is
            refused, and ``patch_length`` "auto" is 1),
            :meth:`staged_predict` predicts at every observation, and
            :meth:`predict` after each series' last one.
            See :ref:`over-time`.
        sample_weight : array-like of shape (n_instances,), default=None
            Per-instance weights in the loss.

        Returns
        -------
        self : CfCClassifier
        """
        _check_label_types(y, "y")
        return self._fit(X, y, sample_weight)

    @fit_context(prefer_skip_nested_validation=True)
    def partial_fit(
        self,
        X: PanelLike,
        y: ArrayLike,
        classes: ArrayLike | None = None,
        sample_weight: ArrayLike | None = None,
    ) -> CfCClassifier:
        """Run one epoch over ``(X, y)``, starting from the current weights.

        Parameters
        ----------
        X : array-like, list of DataFrames or DataFrame
            The series (see :meth:`fit`).
        y : array-like of shape (n_instances,), Series or list of arrays
            Class labels, all among ``classes``; per observation if the
            first fit had them so (see :meth:`fit`).
        classes : array-like of shape (n_classes,), default=None
            Every class that will ever be seen; required on the first call.
        sample_weight : array-like of shape (n_instances,), default=None
            Per-instance weights in the loss.

        Returns
        -------
        self : CfCClassifier
        """
        if not hasattr(self, "net_") and classes is None:
            raise ValueError(
                "classes must be passed on the first call to partial_fit: "
                "the network's output layer needs every class up front."
            )
        _check_label_types(y, "y")
        _check_label_types(classes, "classes")
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def _prepare_targets(self, y, first, classes=None):
        _check_label_types(y, "y")  # the labels per observation, too
        y = column_or_1d(y, warn=True)
        if y.dtype.kind == "O":  # pd.NA, None: numpy's NaN is sklearn's check
            missing = np.flatnonzero(pd.isna(y))
            if len(missing):
                i = missing[0]
                raise ValueError(
                    f"y has a missing label ({_py(y[i])!r}) at position {i}; "
                    "every instance needs a label."
                )
        check_classification_targets(y)
        if first:
            if classes is not None:
                self.classes_ = np.unique(np.asarray(classes))
                unseen = np.setdiff1d(np.unique(y), self.classes_)
                if len(unseen):
                    raise ValueError(
                        f"y contains labels {unseen.tolist()} that are not in "
                        f"classes {self.classes_.tolist()}."
                    )
            else:
                self.classes_ = np.unique(y)
            if len(self.classes_) < 2:
                raise ValueError(
                    "CfCClassifier needs samples of at least 2 classes in the "
                    f"data, but the data contains only one class: "
                    f"{self.classes_[0]!r}."
                )
        else:
            unseen = np.setdiff1d(np.unique(y), self.classes_)
            if len(unseen):
                raise ValueError(
                    f"y contains labels {unseen.tolist()} not seen in the first "
                    f"fit; the model knows {self.classes_.tolist()}."
                )
        codes = np.searchsorted(self.classes_, y).astype(np.int64)
        return codes, len(self.classes_)

    def _target_sample_weight(self, codes):
        if self.class_weight is None:
            return None
        if codes.ndim > 1:
            raise ValueError(
                "class_weight weighs each series by its class, but y gives a "
                "label per observation. Pass class_weight=None (and, to weigh "
                "series, sample_weight)."
            )
        if isinstance(self.class_weight, dict):
            known = set(self.classes_.tolist())
            unknown = [c for c in self.class_weight if c not in known]
            if unknown:
                raise ValueError(
                    f"class_weight names classes {unknown} that are not in the "
                    f"data's classes {self.classes_.tolist()}."
                )
            for c, w in self.class_weight.items():
                if (
                    not isinstance(w, Real)
                    or isinstance(w, bool)
                    or not 0 <= float(w) < float("inf")
                ):
                    raise ValueError(
                        f"class_weight[{_py(c)!r}] is {_py(w)!r}; class weights "
                        "must be non-negative finite numbers."
                    )
            weights = {
                int(np.searchsorted(self.classes_, c)): w
                for c, w in self.class_weight.items()
            }
            sample_weight = compute_sample_weight(weights, codes)
        else:
            sample_weight = compute_sample_weight(self.class_weight, codes)
        if not np.any(sample_weight > 0):
            present = self.classes_[np.unique(codes)].tolist()
            raise ValueError(
                f"class_weight gives every class in y ({present}) a weight of 0; "
                "at least one class needs a positive weight."
            )
        return sample_weight

    # ------------------------------------------------------------ predict
    def predict_proba(self, X: PanelOrBatches) -> np.ndarray:
        """Class probabilities of each series.

        Parameters
        ----------
        X : array-like, list of DataFrames, DataFrame or iterator of these
            The series (see :meth:`fit`), or an iterator (e.g. a generator)
            yielding batches of them, to predict on more series than fit
            in memory; outputs follow the order of the batches.

        Returns
        -------
        proba : ndarray of shape (n_instances, n_classes)
            Probabilities, columns ordered as ``classes_``.
        """
        check_is_fitted(self, "net_")
        return softmax(self._forward(X), axis=1)

    def predict(self, X: PanelOrBatches) -> np.ndarray:
        """Predicted class of each series.

        Parameters
        ----------
        X : array-like, list of DataFrames, DataFrame or iterator of these
            The series (see :meth:`fit`), or an iterator (e.g. a generator)
            yielding batches of them, to predict on more series than fit
            in memory; outputs follow the order of the batches.

        Returns
        -------
        y : ndarray of shape (n_instances,)
            Labels from ``classes_``.
        """
        check_is_fitted(self, "net_")
        return self.classes_[np.argmax(self._forward(X), axis=1)]

    def predict_log_proba(self, X: PanelOrBatches) -> np.ndarray:
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : array-like, list of DataFrames, DataFrame or iterator of these
            The series (see :meth:`fit`), or an iterator (e.g. a generator)
            yielding batches of them, to predict on more series than fit
            in memory; outputs follow the order of the batches.

        Returns
        -------
        log_proba : ndarray of shape (n_instances, n_classes)
        """
        check_is_fitted(self, "net_")
        return log_softmax(self._forward(X), axis=1)

    def staged_predict_proba(self, X: PanelOrBatches) -> pd.DataFrame:
        """Class probabilities after every observation of each series.

        The row of an observation holds what :meth:`predict_proba` says of
        the series cut after it: a causal prediction that uses that
        observation and the earlier ones only, as an online model would
        after each new measurement. All the rows of a series cost about
        one :meth:`predict_proba` on it, not one per observation.

        Parameters
        ----------
        X : array-like, list of DataFrames, DataFrame or iterator of these
            The series (see :meth:`fit`), or an iterator (e.g. a generator)
            yielding batches of them.

        Returns
        -------
        proba : pd.DataFrame of shape (n_observations, n_classes)
            One row per observation (a time at which some channel is
            observed), indexed by (instance, time): the instance ids of a
            MultiIndex ``X`` (else instance positions) and the timestamps in
            ``X``'s own type (see Notes); columns ``classes_``.

        See Also
        --------
        staged_predict : The predicted class after every observation.

        Notes
        -----
        Datetimes and timedeltas come back to the nanosecond nearest their
        float64 form (timezone-aware datetimes in UTC); numeric timestamps
        and the step numbers of data without timestamps come back as
        integers when they all are whole numbers.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn_cfc import CfCClassifier
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(20, 2, 15))
        >>> y = X[:, 0].mean(axis=1) > 0
        >>> clf = CfCClassifier(units=4, max_epochs=3, random_state=0).fit(X, y)
        >>> risk = clf.staged_predict_proba(X[:2])
        >>> risk.shape
        (30, 2)
        >>> risk.index[:2].tolist()
        [(0, 0), (0, 1)]
        >>> np.allclose(risk.loc[0].iloc[-1], clf.predict_proba(X[:1])[0], atol=1e-6)
        True
        """
        index, out = self._staged(X)
        return pd.DataFrame(
            softmax(out, axis=1), index=index, columns=pd.Index(self.classes_)
        )

    def staged_predict(self, X: PanelOrBatches) -> pd.Series:
        """Predicted class after every observation of each series.

        The class of :meth:`staged_predict_proba`'s most probable column: at
        each observation, what :meth:`predict` says of the series cut after
        it.

        Parameters
        ----------
        X : array-like, list of DataFrames, DataFrame or iterator of these
            The series (see :meth:`fit`), or an iterator (e.g. a generator)
            yielding batches of them.

        Returns
        -------
        y : pd.Series of shape (n_observations,)
            Labels from ``classes_``, indexed as :meth:`staged_predict_proba`.
        """
        index, out = self._staged(X)
        return pd.Series(self.classes_[np.argmax(out, axis=1)], index=index)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        return tags


def _check_label_types(labels, name):
    """Refuse labels that mix strings and numbers, naming ``name``.

    Checked on the labels as given: numpy would turn a list of both into
    strings (1 into '1') without a word, and sorting an object array of both
    fails with Python's own error.
    """
    if labels is None or isinstance(labels, str):
        return
    # numpy's numbers and strings, pandas' numbers: one type; object arrays,
    # lists and pandas' categoricals (kind "O") may hold both
    if getattr(getattr(labels, "dtype", None), "kind", "O") != "O":
        return
    flat = np.asarray(labels, dtype=object).ravel()
    text = [i for i, v in enumerate(flat) if isinstance(v, (str, bytes))]
    if not text or len(text) == len(flat):
        return
    number = next(  # a missing label (NaN) is not a number here
        (i for i, v in enumerate(flat) if isinstance(v, Number) and v == v), None
    )
    if number is None:
        return  # other objects: check_classification_targets' business
    s, n = (_py(flat[i]) for i in (text[0], number))
    raise ValueError(
        f"Mix of label input types (string and number) in {name}: {s!r} at "
        f"position {text[0]} and {n!r} at position {number}. Use one type for "
        f"all labels, e.g. strings: [str(label) for label in {name}]."
    )


def _py(value):
    """A numpy scalar as the Python value it holds (for messages)."""
    return value.item() if isinstance(value, np.generic) else value
