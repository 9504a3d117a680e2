"""The skorch side of every estimator: data bridge, net, callbacks, training.

- :class:`_PanelDataset` hands out whole batches of encoded panels or
  forecasting windows (anything with ``lengths`` and ``take``), trimmed to
  the batch's longest sequence; :class:`_BucketLoader` draws them from
  pools of similar length.
- :class:`_WeightedNet` is the skorch net: a sample-weighted loss, and
  sample weights kept away from the module; it tells a user's
  KeyboardInterrupt from the stopping rule's.
- The callbacks that make training reliable: :class:`_LossOfWeights`
  measures the training loss of the weights each epoch ends with (what the
  weights kept without a validation split are chosen by and reported
  with), :class:`_StopOnDivergence` raises on a loss that is not finite or
  explodes, and :class:`_EarlyStopping` stops and keeps the weights of the
  lowest monitored loss.
- :class:`_Training` builds that net from an estimator's validated
  settings and trains it under a seeded torch RNG. Its parts (net class,
  loader, callbacks) are class attributes and its callbacks are listed in
  one method, so that a variant changes only what differs: the
  data-parallel one in ``_accelerate.py`` subclasses it (and this module
  imports nothing back). :func:`train_net` runs it and deals with
  interrupts and divergence; :func:`kept_loss` is the loss of the weights
  a trained net holds.
- The estimators' ``callbacks`` setting: :func:`name_callbacks` checks and
  names it, :func:`user_callbacks` makes the fresh copies a net runs after
  its own callbacks (under names with :data:`USER_CALLBACK_PREFIX`), and
  :func:`replace_user_callbacks` swaps them in a trained net.
"""

from __future__ import annotations

import copy
import io
import pickle
from collections.abc import Callable, Mapping
from copy import deepcopy

import numpy as np
import torch
from sklearn.utils._param_validation import InvalidParameterError
from skorch import NeuralNet
from skorch.callbacks import (
    Callback,
    EarlyStopping,
    GradientNormClipping,
    LRScheduler,
    PrintLog,
    ProgressBar,
)

from .exceptions import DivergenceError
from .panel import bucket_batches

OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
    "rmsprop": torch.optim.RMSprop,
}
LR_SCHEDULES = ("cosine", "plateau", "constant")
# forward arguments of the sequence network -> fields of an EncodedPanel
ENCODED_INPUTS = {"inputs": "inputs", "dt": "dt", "lengths": "lengths"}
# a training loss above its lowest value by more than this many times the
# loss's scale has diverged (see _StopOnDivergence)
DIVERGENCE_FACTOR = 10
# sequences per forward pass when measuring the loss of the weights (as many
# as at prediction, or the training batch if that is larger)
LOSS_BATCH = 512
# the names of the ``callbacks`` setting's callbacks in a net start with this;
# the estimators' own callbacks never do
USER_CALLBACK_PREFIX = "user_"


# ------------------------------------------------------------------ the data
class _PanelDataset(torch.utils.data.Dataset):
    """Whole, trimmed batches of ``data`` (and targets and sample weights).

    ``data`` is an :class:`~sklearn_cfc.panel.EncodedPanel` or
    :class:`~sklearn_cfc.panel.ForecastWindows`: it has ``lengths`` and a
    ``take(indices)`` that trims the padding to the batch's longest
    sequence. ``inputs`` maps the module's forward arguments to fields of
    ``data`` (by default those of an encoded panel). ``__getitems__`` (used
    by the data loader for a list of indices) slices everything at once.
    """

    def __init__(self, data, y=None, sample_weight=None, *, inputs=None):
        self.data = data
        self.y = y
        self.sample_weight = sample_weight
        self.inputs = ENCODED_INPUTS if inputs is None else inputs
        self.lengths = data.lengths

    def __len__(self):
        return len(self.lengths)

    def __getitem__(self, index):
        return self.__getitems__([index])

    def __getitems__(self, indices):
        idx = np.asarray(indices, dtype=np.intp)
        batch = self.data.take(idx)
        X = {
            name: torch.from_numpy(getattr(batch, field))
            for name, field in self.inputs.items()
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
        return int(-(-len(self.lengths) // self.batch_size))


class _BucketLoader(torch.utils.data.DataLoader):
    """The data loader skorch builds for training and validation batches."""

    # makes the batch sampler: (lengths, batch_size, shuffle, seed) -> sampler
    _sampler: Callable[..., torch.utils.data.Sampler] = _BucketSampler

    def __init__(self, dataset, batch_size, shuffle=False, seed=None, **kwargs):
        sampler = self._sampler(_dataset_lengths(dataset), batch_size, shuffle, seed)
        super().__init__(dataset, batch_sampler=sampler, collate_fn=_as_is, **kwargs)


# ------------------------------------------------------------------- the net
class _StopTraining(KeyboardInterrupt):
    """How the stopping rule ends training.

    skorch stops on a KeyboardInterrupt; this one is told apart from a
    user's Ctrl-C.
    """


class _WeightedNet(NeuralNet):
    """A skorch net whose loss is a sample-weighted mean.

    The criterion returns one loss per sample (``reduction="none"``); class
    weights arrive folded into the sample weights, which travel with the
    batch's inputs and are taken out before the module sees them.
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

    def infer(self, x, **fit_params):
        if isinstance(x, Mapping) and "sample_weight" in x:
            x = {k: v for k, v in x.items() if k != "sample_weight"}
        return super().infer(x, **fit_params)

    def _losses(self, y_pred, y_true, X):
        """The loss of each sample of a batch, and its weight (or None)."""
        y_true = torch.as_tensor(y_true, device=y_pred.device)
        loss = self.criterion_(y_pred, y_true)
        if loss.dim() > 1:
            loss = loss.flatten(1).mean(1)
        weight = X.get("sample_weight") if isinstance(X, Mapping) else None
        if weight is not None:
            weight = torch.as_tensor(weight, dtype=loss.dtype, device=loss.device)
        return loss, weight

    def get_loss(self, y_pred, y_true, X=None, training=False):
        loss, weight = self._losses(y_pred, y_true, X)
        if weight is None:
            return loss.mean()
        return (loss * weight).sum() / weight.sum().clamp_min(1e-12)

    def loss_sums(self, y_pred, y_true, X=None):
        """The weighted sum of a batch's losses, and the sum of the weights.

        Summed over batches, their ratio is the sample-weighted mean loss of
        a whole dataset, as :meth:`get_loss` weighs a batch.
        """
        loss, weight = self._losses(y_pred, y_true, X)
        if weight is None:
            return loss.sum(), loss.new_tensor(float(len(loss)))
        return (loss * weight).sum(), weight.sum()

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        """skorch's loop, noting a user's interrupt in the history.

        skorch ends training on any KeyboardInterrupt, its stopping rule's
        and a user's Ctrl-C alike. A user's sets ``_interrupted`` and marks
        the epoch it stopped with ``interrupted=True``; :func:`train_net`
        decides what follows.
        """
        self._interrupted = False
        try:
            return super().fit_loop(X, y, epochs=epochs, **fit_params)
        except _StopTraining:
            raise
        except KeyboardInterrupt:
            self._interrupted = True
            if len(self.history):
                self.history.record("interrupted", True)
            raise

    def notify(self, method_name, **cb_kwargs):
        """skorch's notify, with every callback seeing the epoch training stops.

        The stopping rule (:class:`_EarlyStopping`) ends training by raising
        :class:`_StopTraining` in ``on_epoch_end``; the callbacks after it
        (those of the ``callbacks`` setting, the print log) still see that
        epoch before training ends.
        """
        if method_name != "on_epoch_end":
            return super().notify(method_name, **cb_kwargs)
        self.on_epoch_end(self, **cb_kwargs)
        stop = None
        for _, callback in self.callbacks_:
            caught = _epoch_end(callback, self, cb_kwargs)
            stop = stop or caught
        if stop is not None:
            raise stop
        return None

    def __getstate__(self):
        """skorch's state, less the ``callbacks`` setting's that cannot pickle.

        Such a callback (skorch's ``TensorBoard`` holds a SummaryWriter with
        a thread lock) is left out of ``callbacks`` and ``callbacks_``, and
        ``_callbacks_left_out`` is set, so that continued training gets fresh
        copies of the estimator's (see :func:`replace_user_callbacks`).
        """
        left_out = {
            id(callback)
            for key in ("callbacks", "callbacks_")
            for callback in _user_entries(self.__dict__.get(key))
            if not _pickles(callback, self)
        }
        if not left_out:
            return super().__getstate__()
        twin = type(self).__new__(type(self))
        twin.__dict__.update(self.__dict__)
        for key in ("callbacks", "callbacks_"):
            entries = self.__dict__.get(key)
            if entries:
                twin.__dict__[key] = [
                    entry
                    for entry in entries
                    if not (isinstance(entry, tuple) and id(entry[1]) in left_out)
                ]
        twin.__dict__["_callbacks_left_out"] = True
        return super(_WeightedNet, twin).__getstate__()


def _epoch_end(callback, net, kwargs):
    """Run ``callback.on_epoch_end``; return the stopping rule's signal, if any."""
    try:
        callback.on_epoch_end(net, **kwargs)
    except _StopTraining as exc:
        return exc
    return None


class _EarlyStopping(EarlyStopping):
    """skorch's EarlyStopping, keeping the weights of the lowest monitored loss.

    skorch's saves an epoch's weights only when its score beats the best by
    more than ``threshold``, so a later epoch lower by less is not the one
    restored. Here ``threshold`` (the estimators' ``tol``) only decides when
    to stop; the weights kept at the end, and ``best_epoch_``, are those of
    the epoch with the lowest monitored loss of this training (the first,
    on ties), so that the loss reported for them (:func:`kept_loss`) is
    theirs. It stops by raising :class:`_StopTraining`.
    """

    def on_train_begin(self, net, **kwargs):
        super().on_train_begin(net, **kwargs)
        self.best_score_ = np.inf

    def on_epoch_end(self, net, **kwargs):
        score = net.history[-1, self.monitor]
        if score < self.best_score_:
            self.best_score_ = score
            self.best_epoch_ = net.history[-1, "epoch"]
            if self.load_best:
                self.best_model_weights_ = deepcopy(net.module_.state_dict())
        if self._is_score_improved(score):
            self.misses_ = 0
            self.dynamic_threshold_ = self._calc_new_threshold(score)
        else:
            self.misses_ += 1
        if self.misses_ == self.patience:
            self._sink(
                f"Stopping since {self.monitor} has not improved in the last "
                f"{self.patience} epochs.",
                verbose=net.verbose,
            )
            raise _StopTraining


class _LossOfWeights(Callback):
    """Record ``train_end_loss``: the training loss of an epoch's last weights.

    skorch's ``train_loss`` is the mean of the epoch's batch losses, each
    measured before that batch's step: it is the loss of no single set of
    weights, and after a step that breaks the weights it still looks good.
    Without a validation split, the weights kept at the end of training are
    chosen by this loss instead, and reported with it: one pass over the
    whole training set after the epoch's last step, in evaluation mode (no
    dropout), sample-weighted as in training, in batches of ``LOSS_BATCH``.
    It costs a forward pass over the training data per epoch (about a tenth
    of an epoch's time on a CPU).
    """

    key = "train_end_loss"

    def on_epoch_end(self, net, dataset_train=None, **kwargs):
        total, count = self._sums(net, dataset_train).tolist()
        net.history.record(self.key, total / count if count > 0 else float("nan"))

    def _sums(self, net, dataset):
        """The weighted sum of the losses over ``dataset``, and of the weights.

        A float64 tensor of two numbers on the CPU (MPS has no float64).
        """
        total = count = 0.0
        net.module_.train(False)
        with torch.no_grad():
            for Xi, yi in self._batches(net, dataset):
                y_pred = net.infer(Xi)
                batch_total, batch_count = torch.stack(
                    net.loss_sums(y_pred, yi, X=Xi)
                ).tolist()
                total += batch_total
                count += batch_count
        return torch.tensor([total, count], dtype=torch.float64)

    def _batches(self, net, dataset):
        """The batches of ``dataset``, by the net's validation loader."""
        params = net.get_params_for("iterator_valid")
        params["batch_size"] = max(LOSS_BATCH, net.batch_size)
        return net.iterator_valid(dataset, **params)


class _StopOnDivergence(Callback):
    """Raise :class:`DivergenceError` when the training diverges.

    Two rules. After every training batch: a loss that is NaN or infinite.
    After every epoch: a ``monitor`` loss (the loss of the weights the epoch
    ends with: the validation loss, or ``train_end_loss``) that is not
    finite or that is more than ``DIVERGENCE_FACTOR`` (10) times the loss's
    scale above the lowest such loss so far::

        loss - lowest > 10 * max(1, |initial|, |lowest|)

    ``initial`` is the loss of the untrained network (the first training
    batch of its training) and ``lowest`` the lowest monitored loss of its
    training so far, ``initial`` included. An untrained network's loss is
    the yardstick of a useless model (log K for K classes, about 1 for a
    squared error on scaled targets); a model ten times that worse than the
    best is worse than not training at all by an order of magnitude. The
    epoch losses of sane training, even at learning rates that make them
    jump, stay well within it (measured on the three estimators: at most a
    quarter of the bound, with learning rates up to 100 times the default
    and no gradient clipping, with dropout, and with noise labels overfitted
    for 60 epochs), while a finite divergence grows by orders of magnitude.
    The floor 1 keeps the yardstick where the untrained loss is near 0 (a
    Gaussian negative log-likelihood can be 0 or negative), and
    ``|lowest|`` widens it once such a loss has fallen far below 0.

    The mean training loss of an epoch (``train_loss``) is not judged: it
    is measured while the weights move, and a spike within an epoch that
    the weights recover from by its end is not a divergence. Overfitting
    raises the validation loss slowly, and the stopping rule ends it long
    before it reaches the bound.
    """

    initial_loss_: float | None = None
    lowest_loss_: float | None = None

    def __init__(self, learning_rate=None, monitor="valid_loss"):
        self.learning_rate = learning_rate
        self.monitor = monitor

    def initialize(self):
        self.initial_loss_ = None
        self.lowest_loss_ = None
        return self

    def on_batch_end(self, net, batch=None, training=None, loss=None, **kwargs):
        if not training or loss is None:
            return
        value = loss.item()
        if not np.isfinite(value):
            self._raise(f"The training loss became {value} in epoch {len(net.history)}")
        if self.initial_loss_ is None:
            self.initial_loss_ = self.lowest_loss_ = value

    def on_epoch_end(self, net, **kwargs):
        row = net.history[-1]
        initial, lowest = self.initial_loss_, self.lowest_loss_
        if self.monitor not in row or initial is None or lowest is None:
            return
        value = row[self.monitor]
        what = f"The {self.monitor} of epoch {row['epoch']}"
        if not np.isfinite(value):
            self._raise(f"{what} is {value}")
        bound = DIVERGENCE_FACTOR * max(1.0, abs(initial), abs(lowest))
        if value - lowest > bound:
            self._raise(
                f"{what} is {value:.4g}, more than {bound:.4g} above the lowest "
                f"so far, {lowest:.4g} ({DIVERGENCE_FACTOR} x max(1, |untrained "
                f"loss {initial:.4g}|, |lowest|)): training diverged"
            )
        self.lowest_loss_ = min(lowest, value)

    def _raise(self, what):
        raise DivergenceError(
            f"{what}; the model is not usable. Lower learning_rate (it is "
            f"{self.learning_rate}), set gradient_clip, or check X and y for "
            "extreme values."
        )


def _silent(*args, **kwargs):
    """A print sink that prints nothing (picklable, unlike a lambda)."""


def resolve_device(device):
    """The torch device name for an estimator's ``device`` setting."""
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


# --------------------------------------------------------- the user's callbacks
def name_callbacks(callbacks, caller):
    """The ``callbacks`` setting as (name, callback) pairs, or an error.

    Each element is a skorch callback instance, named after its class as
    skorch names it (``TensorBoard``; ``TensorBoard_1``, ``TensorBoard_2``
    when the class repeats), or a (name, callback) pair. The names are the
    user's, without :data:`USER_CALLBACK_PREFIX`. ``caller`` (the
    estimator's class name) is named in the errors.
    """
    entries = []
    for i, item in enumerate(callbacks or ()):
        where = f"callbacks[{i}]"
        name = None
        if isinstance(item, (tuple, list)):
            if len(item) != 2 or not isinstance(item[0], str):
                raise InvalidParameterError(
                    f"{where} of {caller} is {item!r}; a pair must be (name, "
                    "callback) with a str name, such as ('tensorboard', "
                    "TensorBoard(writer))."
                )
            name, item = item
            where += "[1]"
        if isinstance(item, type) and issubclass(item, Callback):
            raise InvalidParameterError(
                f"{where} of {caller} is the class {item.__name__}, not an "
                f"instance: pass {item.__name__}(...)."
            )
        if not isinstance(item, Callback):
            raise InvalidParameterError(
                f"{where} of {caller} must be a skorch callback (an instance of "
                f"skorch.callbacks.Callback) or a (name, callback) pair; got "
                f"{item!r} ({type(item).__name__})."
            )
        entries.append((i, name, item))
    unnamed = [type(item).__name__ for _, name, item in entries if name is None]
    repeated = {n for n in unnamed if unnamed.count(n) > 1}
    counts: dict[str, int] = {}
    named: list[tuple[str, Callback]] = []
    positions: dict[str, int] = {}
    for i, name, item in entries:
        if name is None:
            name = type(item).__name__
            if name in repeated:
                counts[name] = counts.get(name, 0) + 1
                name = f"{name}_{counts[name]}"
        if name in positions:
            raise ValueError(
                f"callbacks[{positions[name]}] and callbacks[{i}] of {caller} "
                f"are both named {name!r}: give them different names with "
                "(name, callback) pairs."
            )
        positions[name] = i
        named.append((name, item))
    return named


def fresh_callback(callback):
    """A new callback with the parameters of ``callback``, untrained.

    As :func:`sklearn.base.clone`, a new instance built from
    ``get_params(deep=False)`` (for a skorch callback: its public attributes
    whose names do not end in "_"), but with the parameter values shared
    rather than deep-copied: a SummaryWriter, an MLflow client, the
    Checkpoint a LoadInitState loads from are the same objects in the copy.
    A callback that cannot be rebuilt from them (a subclass whose
    constructor takes other arguments), or whose constructor does not keep
    them as given, is copied shallowly instead; skorch's ``initialize``
    then resets its state.
    """
    try:
        params = callback.get_params(deep=False)
        new = type(callback)(**params)
        again = new.get_params(deep=False)
    except Exception:  # any constructor's or get_params' error: copy instead
        return copy.copy(callback)
    if again.keys() == params.keys() and all(again[k] is v for k, v in params.items()):
        return new
    return copy.copy(callback)


def user_callbacks(callbacks, caller="the estimator"):
    """Fresh copies of the ``callbacks`` setting, as (name, callback) pairs.

    The names are the user's (see :func:`name_callbacks`) with
    :data:`USER_CALLBACK_PREFIX` in front, so that none is the name of one of
    the estimators' own callbacks, now or later.
    """
    return [
        (USER_CALLBACK_PREFIX + name, fresh_callback(callback))
        for name, callback in name_callbacks(callbacks, caller)
    ]


def replace_user_callbacks(net, callbacks, caller="the estimator"):
    """Give the initialised ``net`` fresh copies of ``callbacks``.

    They replace the net's callbacks from the ``callbacks`` setting (in its
    ``callbacks`` parameter and in ``callbacks_``, before the print log as
    skorch orders them) and are initialised; the estimator's own callbacks
    keep their state.
    """
    new = user_callbacks(callbacks, caller)
    for _, callback in new:
        callback.initialize()
    ours = [e for e in net.callbacks or [] if not _is_user_entry(e)]
    net.callbacks = ours + new
    kept = [e for e in net.callbacks_ if not _is_user_entry(e)]
    logs = [i for i, (_, callback) in enumerate(kept) if isinstance(callback, PrintLog)]
    at = logs[0] if logs else len(kept)
    net.callbacks_ = kept[:at] + new + kept[at:]
    net.__dict__.pop("_callbacks_left_out", None)


def _is_user_entry(entry):
    return (
        isinstance(entry, tuple)
        and isinstance(entry[0], str)
        and entry[0].startswith(USER_CALLBACK_PREFIX)
    )


def _user_entries(entries):
    """The callbacks of the ``callbacks`` setting among a net's entries."""
    return [entry[1] for entry in entries or () if _is_user_entry(entry)]


class _SkippingPickler(pickle.Pickler):
    """A pickler that does not follow references to one object (``skip``)."""

    def __init__(self, file, skip):
        super().__init__(file)
        self.skip = skip

    def persistent_id(self, obj):
        return 0 if obj is self.skip else None


def _pickles(obj, skip=None):
    """Whether ``obj`` pickles; a reference to ``skip`` is not followed.

    ``skip`` is the net or estimator being pickled, which a callback may
    refer to: it pickles either way, and following it here would recurse.
    """
    try:
        _SkippingPickler(io.BytesIO(), skip).dump(obj)
    except Exception:  # whatever the object raises: TypeError, PicklingError...
        return False
    return True


def picklable_callbacks(callbacks, skip=None):
    """``callbacks`` less the entries that cannot be pickled (or itself)."""
    if not callbacks:
        return callbacks
    kept = [item for item in callbacks if _pickles(item, skip)]
    return callbacks if len(kept) == len(callbacks) else kept


# -------------------------------------------------------------- the training
class _Training:
    """How an estimator's skorch net is built and trained, in one process.

    The parts below are class attributes and :meth:`callbacks` lists every
    callback of the estimators' own, so a new one is added there once (those
    of the ``callbacks`` setting come after them, from :meth:`build_net`); a
    variant (the data-parallel one in ``_accelerate.py``) subclasses this
    and replaces parts or extends the hooks.
    """

    net_class = _WeightedNet
    loader = _BucketLoader
    loss_of_weights = _LossOfWeights
    stop_on_divergence = _StopOnDivergence
    clip = GradientNormClipping

    # ------------------------------------------------------------- hooks
    def check(self):
        """Refuse settings under which this way of training cannot run."""

    def device(self, device):
        """Where the network trains, for the estimator's ``device`` setting."""
        return resolve_device(device)

    def agree(self, seed, dataset):
        """The seed every process uses (one process: ``seed``)."""
        return seed

    def prints(self, verbose):
        """Whether (and how much) this process prints."""
        return verbose

    def net_params(self, device):
        """Further parameters of :attr:`net_class`."""
        return dict(device=device)

    def callbacks(
        self,
        *,
        monitor,
        verbose,
        learning_rate,
        max_epochs,
        gradient_clip,
        lr_schedule,
        n_iter_no_change,
        tol,
    ):
        """The callbacks of the net, as (name, callback) pairs, in order.

        ``monitor`` is the loss the stopping rule watches and the weights
        kept are chosen by: "valid_loss" with a validation split, else
        "train_end_loss", measured by :attr:`loss_of_weights` (which comes
        first, so that the callbacks after it can read it).
        """
        patience = n_iter_no_change
        if monitor != "valid_loss" and lr_schedule == "cosine":
            # a cosine schedule is planned to end at max_epochs: a plateau of
            # the training loss on the way (common on small data) is not the end
            patience = max_epochs + 1
        callbacks = []
        if monitor == _LossOfWeights.key:
            callbacks.append((_LossOfWeights.key, self.loss_of_weights()))
        callbacks += [
            ("stop_on_divergence", self.stop_on_divergence(learning_rate, monitor)),
            (
                "early_stopping",
                _EarlyStopping(
                    monitor=monitor,
                    patience=patience,
                    threshold=tol,
                    threshold_mode="abs",
                    load_best=True,  # a late loss spike must not be what remains
                    sink=print if verbose else _silent,
                ),
            ),
        ]
        if gradient_clip is not None:
            callbacks.append(("gradient_clip", self.clip(gradient_clip)))
        if lr_schedule == "cosine":
            scheduler = LRScheduler(
                torch.optim.lr_scheduler.CosineAnnealingLR, T_max=max_epochs
            )
            callbacks.append(("lr_schedule", scheduler))
        elif lr_schedule == "plateau":
            scheduler = LRScheduler(
                torch.optim.lr_scheduler.ReduceLROnPlateau,
                monitor=monitor,
                patience=max(1, n_iter_no_change // 2),
            )
            callbacks.append(("lr_schedule", scheduler))
        if verbose and verbose > 1:
            callbacks.append(("progress_bar", ProgressBar()))
        return callbacks

    # -------------------------------------------------------------- build
    def build_net(
        self,
        module,
        *,
        module_params,
        criterion,
        train_split,
        device,
        seed,
        max_epochs,
        batch_size,
        learning_rate,
        optimizer,
        weight_decay,
        gradient_clip,
        lr_schedule,
        n_iter_no_change,
        tol,
        verbose,
        callbacks=None,
        caller="the estimator",
    ):
        """The skorch net that trains ``module`` with these settings.

        With a ``train_split`` the stopping rule watches the validation loss
        and restores the best weights; without one it watches the training
        loss of each epoch's last weights (``train_end_loss``). ``seed``
        seeds the order of the batches. ``callbacks`` is the estimator's
        setting: fresh copies of its callbacks run after :meth:`callbacks`'
        (see :func:`user_callbacks`); ``caller`` names the estimator in its
        errors.
        """
        verbose = self.prints(verbose)
        monitor = "valid_loss" if train_split is not None else _LossOfWeights.key
        own = self.callbacks(
            monitor=monitor,
            verbose=verbose,
            learning_rate=learning_rate,
            max_epochs=max_epochs,
            gradient_clip=gradient_clip,
            lr_schedule=lr_schedule,
            n_iter_no_change=n_iter_no_change,
            tol=tol,
        )
        optimizer_params = {"optimizer__weight_decay": weight_decay}
        if optimizer == "sgd":
            optimizer_params["optimizer__momentum"] = 0.9
        return self.net_class(
            module=module,
            **{f"module__{k}": v for k, v in module_params.items()},
            criterion=criterion,
            criterion__reduction="none",
            optimizer=OPTIMIZERS[optimizer],
            lr=learning_rate,
            **optimizer_params,
            max_epochs=max_epochs,
            batch_size=batch_size,
            iterator_train=self.loader,
            iterator_train__shuffle=True,
            iterator_train__seed=seed,
            iterator_valid=self.loader,
            train_split=train_split,
            callbacks=own + user_callbacks(callbacks, caller),
            warm_start=True,
            verbose=int(bool(verbose)),
            **self.net_params(device),
        )


def train_net(net, dataset, y, *, seed, device, first, epochs=None):
    """Train ``net`` on ``dataset`` under a seeded, forked torch RNG.

    ``first`` initialises the network; ``epochs`` None runs up to
    ``max_epochs``. The global random state is left untouched; continued
    training is seeded by ``seed`` and the number of epochs run so far.

    A KeyboardInterrupt (Ctrl-C) ends training as in skorch: the net keeps
    the weights of the best epoch completed, the history's last row has
    ``interrupted=True``, and this returns True. Interrupted before this
    call completed an epoch, the net has nothing to keep: it is put back as
    it was before the call (weights, optimizer state and history; a first
    training's net is left as initialised) and the KeyboardInterrupt is
    raised again. So is a continued net before a :class:`DivergenceError`
    propagates.

    Returns
    -------
    interrupted : bool
        Whether a KeyboardInterrupt ended training early.
    """
    # after unpickling: maybe the CPU; None while an accelerator places it
    where = torch.device(net.device or device)
    devices = [where.index or 0] if where.type == "cuda" else []
    before = None if first else _checkpoint(net)
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed + (0 if first else len(net.history)))
        if first:
            net.initialize()
        try:
            if epochs is None:
                net.partial_fit(dataset, y)
            else:
                net.partial_fit(dataset, y, epochs=epochs)
        except (DivergenceError, KeyboardInterrupt):
            _roll_back(net, before)
            raise
    if not getattr(net, "_interrupted", False):
        return False
    if not dict(net.callbacks_)["early_stopping"].best_epoch_:
        _roll_back(net, before)  # no epoch completed: nothing to keep
        raise KeyboardInterrupt
    return True


def _checkpoint(net):
    """What :func:`_roll_back` needs to put ``net`` back as it is now."""
    return (
        len(net.history),
        deepcopy(net.module_.state_dict()),
        deepcopy(net.optimizer_.state_dict()),
    )


def _roll_back(net, checkpoint):
    """Put ``net`` back as it was at ``checkpoint`` (None: leave it)."""
    if checkpoint is None:
        return
    rows, module_state, optimizer_state = checkpoint
    net.module_.load_state_dict(module_state)
    net.optimizer_.load_state_dict(optimizer_state)
    del net.history[rows:]


def kept_loss(net):
    """The monitored loss of the weights a trained ``net`` holds.

    The stopping rule keeps the weights of the epoch with the lowest
    monitored loss of the last training (restoring them when a later epoch
    ran): this is that epoch's validation loss, or the training loss of its
    last weights (``train_end_loss``). NaN if no epoch was scored.
    """
    stopper = dict(net.callbacks_)["early_stopping"]
    if not stopper.best_epoch_:
        return float("nan")
    return float(net.history[stopper.best_epoch_ - 1, stopper.monitor])
