"""Data-parallel training of the estimators through skorch's Accelerate mixin.

Loaded only when an estimator's ``accelerator`` is set. skorch's
:class:`~skorch.hf.AccelerateMixin` prepares the module (DDP), the optimizer
and every data loader; the pieces here keep what each process decides in
step with the others, and make the fitted net a plain single-process one.
:class:`_AcceleratedTraining` extends ``_skorch._Training`` with them; this
module imports from ``_skorch`` and nothing imports it but the estimators'
base, when an accelerator is set.
"""

from __future__ import annotations

import copy
import zlib

import numpy as np
import torch
from skorch.callbacks import Callback, GradientNormClipping, LRScheduler
from skorch.hf import AccelerateMixin

from ._skorch import (
    _BucketLoader,
    _BucketSampler,
    _LossOfWeights,
    _StopOnDivergence,
    _Training,
    _WeightedNet,
    resolve_device,
)


class _ShardableBucketSampler(torch.utils.data.Sampler):
    """The bucket batches in the form accelerate deals out to processes.

    ``accelerator.prepare`` wraps the batch sampler in accelerate's
    ``BatchSamplerShard``: of ``n`` processes, process ``r`` takes batches
    ``r``, ``r + n``, ... and the last round is completed with whole batches
    from the start of the epoch, so that every process runs the same number
    of steps. Given a ``batch_size`` attribute it would assume that every
    batch but the last is full and skip rounds that end in a short one
    (bucketing leaves a short batch per pool, anywhere in the epoch), and its
    padding concatenates batches as lists: here batches are lists and
    ``batch_size`` is None.
    """

    batch_size = None

    def __init__(self, lengths, batch_size, shuffle, seed):
        self.buckets = _BucketSampler(lengths, batch_size, shuffle, seed)

    def __iter__(self):
        return (batch.tolist() for batch in self.buckets)

    def __len__(self):
        return len(self.buckets)


class _ShardableBucketLoader(_BucketLoader):
    """:class:`_BucketLoader` for ``accelerator.prepare`` to shard."""

    _sampler = _ShardableBucketSampler


class _AverageLossesOverProcesses(Callback):
    """Record each epoch's losses as their mean over all processes.

    Each process computes the losses of its own share of the batches, but the
    decisions taken on them (early stopping, the epoch whose weights are
    restored, the plateau schedule) must be the same everywhere: a process
    that stops alone leaves the others waiting in the next gradient
    all-reduce. Placed before those callbacks, this replaces the epoch's
    ``train_loss`` and ``valid_loss`` (and their ``_best`` flags) by their
    batch-size-weighted means over every process. A no-op on a net without
    an accelerator (a pickled net, for instance).
    """

    def on_epoch_end(self, net, **kwargs):
        accelerator = getattr(net, "accelerator", None)
        if accelerator is None:
            return
        history = net.history
        local = []
        for prefix in ("train", "valid"):
            total = count = 0.0
            for row in history[-1, "batches"]:
                if f"{prefix}_loss" in row:
                    total += row[f"{prefix}_loss"] * row[f"{prefix}_batch_size"]
                    count += row[f"{prefix}_batch_size"]
            local += [total, count]
        every = torch.tensor(local, dtype=torch.float64, device=accelerator.device)
        sums = accelerator.reduce(every, reduction="sum").tolist()
        for prefix, total, count in (("train", *sums[:2]), ("valid", *sums[2:])):
            key = f"{prefix}_loss"
            if count == 0 or key not in history[-1]:
                continue
            loss = total / count
            earlier = [row[key] for row in history[:-1] if key in row]
            history.record(key, loss)
            history.record(f"{key}_best", not earlier or loss < min(earlier))


class _StopOnDivergenceEverywhere(_StopOnDivergence):
    """:class:`_StopOnDivergence` on the mean training loss of all processes.

    One process's loss becoming infinite must stop every process at the same
    step, and the untrained network's loss, the yardstick of the rule on the
    epochs' losses, must be the same everywhere. Costs one all-reduce of a
    number per training batch.
    """

    def on_batch_end(self, net, batch=None, training=None, loss=None, **kwargs):
        accelerator = getattr(net, "accelerator", None)
        if training and loss is not None and accelerator is not None:
            loss = accelerator.reduce(loss.detach().float().reshape(1), "mean")
        super().on_batch_end(net, batch=batch, training=training, loss=loss)


class _LossOfWeightsEverywhere(_LossOfWeights):
    """:class:`_LossOfWeights` over the batches of all processes.

    The data loader (prepared by the accelerator) deals each process its
    share of the batches; the sums of their losses and weights are added
    over the processes, so that every process records the same
    ``train_end_loss`` and keeps the same epoch's weights. Costs one
    all-reduce of two numbers per epoch.
    """

    def _batches(self, net, dataset):
        batches = super()._batches(net, dataset)
        accelerator = getattr(net, "accelerator", None)
        return batches if accelerator is None else accelerator.prepare(batches)

    def _sums(self, net, dataset):
        sums = super()._sums(net, dataset)
        accelerator = getattr(net, "accelerator", None)
        if accelerator is None or accelerator.num_processes == 1:
            return sums
        sums = accelerator.reduce(sums.to(accelerator.device), reduction="sum")
        return sums.cpu()


class _ClipGradNormEverywhere(GradientNormClipping):
    """Gradient norm clipping through the accelerator.

    ``accelerator.clip_grad_norm_`` unscales fp16-scaled gradients first
    (and knows FSDP); the gradients it sees are already averaged over the
    processes, so every process clips alike.
    """

    def on_grad_computed(self, net, named_parameters, **kwargs):
        accelerator = getattr(net, "accelerator", None)
        if accelerator is None or self.gradient_clip_value is None:
            super().on_grad_computed(net, named_parameters, **kwargs)
            return
        accelerator.clip_grad_norm_(
            (p for _, p in named_parameters),
            max_norm=self.gradient_clip_value,
            norm_type=self.gradient_clip_norm_type,
        )


_ACCELERATE_ATTRS = ("accelerator", "unwrap_after_train", "_wrapped_with_accelerator")


class _AcceleratedNet(AccelerateMixin, _WeightedNet):
    """:class:`_WeightedNet` trained data-parallel by skorch's AccelerateMixin.

    Three changes to the mixin, so that between trainings the net is like a
    plain one:

    - ``device`` is None while training (accelerate places the module and
      the batches) and afterwards names where the module is.
    - The module is unwrapped (DDP's wrapper removed) once ``partial_fit``
      is over, after every ``on_train_end`` handler: the mixin unwraps before
      the callbacks, so ``EarlyStopping(load_best=True)`` would load a state
      dict saved from the wrapped module (keys prefixed ``module.``) into the
      bare one. It is wrapped again when training continues (``warm_start``,
      ``partial_fit``); the mixin wraps only in ``initialize``.
    - It pickles as a plain :class:`_WeightedNet` (bare module and optimizer,
      no accelerator), which loads and predicts in a process without
      accelerate or torch.distributed.
    """

    _wrapped_with_accelerator: bool  # the mixin's: whether modules are wrapped

    def _wrap_modules(self):
        # only modules with parameters: DDP refuses the others (a loss, say),
        # and accelerate skips them on GPUs but not on multi-CPU runs
        for name in self._modules + self._criteria:
            module = getattr(self, name + "_")
            if isinstance(module, torch.nn.Module) and any(
                p.requires_grad for p in module.parameters()
            ):
                setattr(self, name + "_", self.accelerator.prepare(module))

    def _initialize_accelerator(self):
        if self._wrapped_with_accelerator:
            return self
        self._wrap_modules()
        for name in self._optimizers:
            optimizer = getattr(self, name + "_")
            if isinstance(optimizer, torch.optim.Optimizer):
                setattr(self, name + "_", self.accelerator.prepare(optimizer))
        # (the mixin also "prepares" LRScheduler.policy_, a class: a no-op)
        self._wrapped_with_accelerator = True
        return self

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        placed = self.accelerator.device_placement
        if placed:
            self.device = None  # the mixin's rule while accelerate places
        if not self.initialized_:
            self.initialize()  # wraps
        elif not self._wrapped_with_accelerator:
            self._wrap_modules()
            self._wrapped_with_accelerator = True
        try:
            return super().partial_fit(X, y, classes=classes, **fit_params)
        finally:
            self._unwrap_accelerator()
            if placed:
                self.device = _placed_device(self.accelerator)

    def __reduce__(self):
        state = {k: v for k, v in self.__dict__.items() if k not in _ACCELERATE_ATTRS}
        if self._wrapped_with_accelerator:  # only if pickled while training
            for name in self._modules + self._criteria:
                module = state[name + "_"]
                if isinstance(module, torch.nn.Module):
                    state[name + "_"] = self.accelerator.unwrap_model(
                        module, keep_fp32_wrapper=False
                    )
        for name in self._optimizers:
            optimizer = state[name + "_"]  # accelerate's wrapper holds the torch one
            state[name + "_"] = getattr(optimizer, "optimizer", optimizer)
        if state["device"] is None:
            state["device"] = _placed_device(self.accelerator)
        # a schedule steps accelerate's optimizer; it is rebuilt when training
        # starts, so copies without it replace it (in callbacks_ and callbacks)
        plain_copies = {}
        for _, callback in state.get("callbacks_", []):
            if isinstance(callback, LRScheduler) and hasattr(callback, "lr_scheduler_"):
                plain_copies[id(callback)] = copy.copy(callback)
                del plain_copies[id(callback)].lr_scheduler_
        for key in ("callbacks_", "callbacks"):
            if state.get(key):
                state[key] = [
                    (name, plain_copies.get(id(cb), cb)) for name, cb in state[key]
                ]
        plain = _WeightedNet.__new__(_WeightedNet)
        plain.__dict__.update(state)
        return _plain_net, (plain.__getstate__(),)


def _plain_net(state):
    """Unpickle an :class:`_AcceleratedNet` as a plain :class:`_WeightedNet`."""
    net = _WeightedNet.__new__(_WeightedNet)
    net.__setstate__(state)
    return net


def _placed_device(accelerator):
    """Where ``accelerator`` places this process's model, as a device name.

    Multi-CPU runs report "cpu:0", a name torch's loading of a pickled net
    does not accept; it is "cpu" here.
    """
    placed = torch.device(accelerator.device)
    return "cpu" if placed.type == "cpu" else str(placed)


def _accelerated_device(accelerator, device):
    """The device of this process's model when ``accelerator`` trains it.

    With device placement (accelerate's default) the accelerator picks it,
    and ``device`` may only be "auto" or agree with that choice.
    """
    if not accelerator.device_placement:
        return resolve_device(device)
    placed = torch.device(_placed_device(accelerator))
    if isinstance(device, str) and device == "auto":
        return str(placed)
    wanted = torch.device(resolve_device(device))
    if wanted.type != placed.type or wanted.index not in (None, placed.index):
        raise ValueError(
            f"device={str(device)!r} conflicts with the accelerator, which places "
            f"this process's model on {str(placed)!r}. Leave device='auto' when "
            "passing an accelerator (accelerate picks each process's device), or "
            "pass an Accelerator(device_placement=False) to place it yourself."
        )
    return str(placed)


def _check_accelerator(accelerator):
    """Refuse accelerate settings under which processes would run apart."""
    if accelerator.num_processes == 1:
        return
    import accelerate
    from packaging.version import Version  # a dependency of accelerate

    if Version(accelerate.__version__) < Version("1.14"):
        # before 1.14 accelerate does not even out batches of unequal size
        raise ImportError(
            "Training on several processes needs accelerate>=1.14; found "
            f"accelerate {accelerate.__version__}. Upgrade it with "
            "pip install -U 'accelerate>=1.14'."
        )
    if not getattr(accelerator, "even_batches", True):
        raise ValueError(
            "The accelerator has even_batches=False: processes would run "
            "different numbers of training steps and wait for each other "
            "forever. Create it with the default even_batches=True."
        )


def _agree_across_processes(accelerator, seed, dataset):
    """Rank 0's seed, after checking that every process got the same data.

    Each process must pass the whole training set: the data loader deals
    its batches out to the processes. A process given other data (its own
    shard, say) would also run a different number of steps and hang the
    others, so differing sizes or targets are an error on every process.
    """
    if accelerator.num_processes == 1:
        return seed

    def crc(array):
        return float(zlib.crc32(np.ascontiguousarray(array).tobytes()))

    mine = [
        float(len(dataset)),
        crc(dataset.lengths),
        crc(dataset.y),
        crc(dataset.sample_weight),
        float(seed),
    ]
    row = torch.tensor([mine], dtype=torch.float64, device=accelerator.device)
    every = accelerator.gather(row).cpu().numpy()
    if not (every[:, :4] == every[0, :4]).all():
        sizes = every[:, 0].astype(int).tolist()
        raise ValueError(
            "Every process must pass the same X, y and sample_weight to fit "
            "when an accelerator is set (the estimator splits the batches "
            f"among the processes); got {sizes} instances on processes "
            f"0..{len(sizes) - 1}, or the same number with different targets "
            "or weights."
        )
    return int(every[0, 4])


class _AcceleratedTraining(_Training):
    """:class:`~sklearn_cfc._skorch._Training` data-parallel over processes.

    The net class and loader that accelerate can wrap and shard, the loss
    of the weights, stopping and clipping that decide on numbers shared by
    all processes, the loss averaging that must run before every callback
    deciding on the losses,
    the device accelerate places the model on, one seed for all, and
    printing by the main process only.
    """

    net_class = _AcceleratedNet
    loader = _ShardableBucketLoader
    loss_of_weights = _LossOfWeightsEverywhere
    stop_on_divergence = _StopOnDivergenceEverywhere
    clip = _ClipGradNormEverywhere

    def __init__(self, accelerator):
        self.accelerator = accelerator

    def check(self):
        _check_accelerator(self.accelerator)

    def device(self, device):
        return _accelerated_device(self.accelerator, device)

    def agree(self, seed, dataset):
        return _agree_across_processes(self.accelerator, seed, dataset)

    def prints(self, verbose):
        return verbose if self.accelerator.is_main_process else 0

    def net_params(self, device):
        return dict(
            # the mixin's rule: None while accelerate places the module
            device=None if self.accelerator.device_placement else device,
            accelerator=self.accelerator,
            unwrap_after_train=False,  # _AcceleratedNet unwraps after callbacks
            callbacks__print_log__sink=print,  # picklable, unlike accelerator.print
        )

    def callbacks(self, **settings):
        average = ("average_losses", _AverageLossesOverProcesses())
        return [average, *super().callbacks(**settings)]
