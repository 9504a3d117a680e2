"""The skorch side of every estimator: data bridge, net, callbacks, training.

- :class:`_PanelDataset` hands out whole batches of encoded panels or
  forecasting windows (anything with ``lengths`` and ``take``), trimmed to
  the batch's longest sequence; :class:`_BucketLoader` draws them from
  pools of similar length.
- :class:`_WeightedNet` is the skorch net: a sample-weighted loss, and
  sample weights kept away from the module.
- :class:`_Training` builds that net from an estimator's validated
  settings and trains it under a seeded torch RNG. Its parts (net class,
  loader, callbacks) are class attributes and its callbacks are listed in
  one method, so that a variant changes only what differs: the
  data-parallel one in ``_accelerate.py`` subclasses it (and this module
  imports nothing back).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import (
    Callback,
    EarlyStopping,
    GradientNormClipping,
    LRScheduler,
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

    _sampler = _BucketSampler

    def __init__(self, dataset, batch_size, shuffle=False, seed=None, **kwargs):
        sampler = self._sampler(_dataset_lengths(dataset), batch_size, shuffle, seed)
        super().__init__(dataset, batch_sampler=sampler, collate_fn=_as_is, **kwargs)


# ------------------------------------------------------------------- the net
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


# -------------------------------------------------------------- the training
class _Training:
    """How an estimator's skorch net is built and trained, in one process.

    The parts below are class attributes and :meth:`callbacks` lists every
    callback, so a new callback is added there once; a variant (the
    data-parallel one in ``_accelerate.py``) subclasses this and replaces
    parts or extends the hooks.
    """

    net_class = _WeightedNet
    loader = _BucketLoader
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
        """The callbacks of the net, as (name, callback) pairs, in order."""
        patience = n_iter_no_change
        if monitor == "train_loss" and lr_schedule == "cosine":
            # a cosine schedule is planned to end at max_epochs: a plateau of
            # the training loss on the way (common on small data) is not the end
            patience = max_epochs + 1
        callbacks = [
            ("stop_on_divergence", self.stop_on_divergence(learning_rate)),
            (
                "early_stopping",
                EarlyStopping(
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
    ):
        """The skorch net that trains ``module`` with these settings.

        With a ``train_split`` the stopping rule watches the validation loss
        and restores the best weights; without one it watches the training
        loss. ``seed`` seeds the order of the batches.
        """
        verbose = self.prints(verbose)
        monitor = "valid_loss" if train_split is not None else "train_loss"
        callbacks = self.callbacks(
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
            callbacks=callbacks,
            warm_start=True,
            verbose=int(bool(verbose)),
            **self.net_params(device),
        )


def train_net(net, dataset, y, *, seed, device, first, epochs=None):
    """Train ``net`` on ``dataset`` under a seeded, forked torch RNG.

    ``first`` initialises the network; ``epochs`` None runs up to
    ``max_epochs``. The global random state is left untouched; continued
    training is seeded by ``seed`` and the number of epochs run so far.
    """
    # after unpickling: maybe the CPU; None while an accelerator places it
    where = torch.device(net.device or device)
    devices = [where.index or 0] if where.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed + (0 if first else len(net.history)))
        if first:
            net.initialize()
        if epochs is None:
            net.partial_fit(dataset, y)
        else:
            net.partial_fit(dataset, y, epochs=epochs)
