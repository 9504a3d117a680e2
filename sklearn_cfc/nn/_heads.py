"""Heads and losses on top of the CfC core, and the networks they make.

A head turns what :class:`~sklearn_cfc.nn.CfC` returns (the state after
every step and each sequence's final state) into predictions. Shapes, where
``B`` is the batch size, ``T`` the number of steps, ``H`` the number of
units, ``Q`` the number of queries, ``D`` the number of outputs and ``F``
the width of a readout:

- :class:`LinearHead`: a readout of the CfC's outputs, then a linear layer.
  Readouts are listed in :data:`READOUTS`: ``"last"`` is each sequence's
  state after its last real step, (B, H) -> (B, D). A readout over the
  whole sequence (pooling over the real steps, or one output per step,
  (B, T, D)) is one more entry there and one more branch in
  :meth:`LinearHead.readout`.
- :class:`GaussianHead`: the mean and standard deviation of a Gaussian per
  output, (..., H) -> (..., 2D), and :class:`MaskedGaussianNLLLoss`, its
  loss on targets that may be missing.
- :class:`CfCSequenceNetwork` (core + linear head: one output per sequence)
  and :class:`CfCForecastNetwork` (the core reads a context; one closed-form
  step from its end to each query time; Gaussian head): the modules the
  estimators train. :meth:`CfCSequenceNetwork.features` is the learned
  representation, what the linear layer reads: (B, T, C) -> (B, F).

Imports torch only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from ._cfc import CfC
from ._patch import patch_sequences, patched_size

if TYPE_CHECKING:
    from sklearn_cfc._typing import Readout, State

__all__ = [
    "READOUTS",
    "CfCForecastNetwork",
    "CfCSequenceNetwork",
    "GaussianHead",
    "LinearHead",
    "MaskedGaussianNLLLoss",
    "PerStepLoss",
]

#: The readouts :class:`LinearHead` offers: what of the CfC's outputs it maps.
READOUTS = ("last", "mean", "max", "all")
_WIDTH = {"last": 1, "mean": 1, "max": 1, "all": 3}  # readout width in units
_ROW_BLOCK = 8  # CfCForecastNetwork steps to the queries in blocks of this many


def _final_state(state):
    """The hidden state of a CfC state (mixed memory returns ``(h, c)``)."""
    return state[0] if isinstance(state, tuple) else state


class LinearHead(nn.Module):
    """A readout of the CfC's outputs followed by a linear layer.

    Parameters
    ----------
    units : int
        Size ``H`` of the CfC state.
    n_outputs : int
        Number ``D`` of outputs per prediction.
    readout : {"last", "mean", "max", "all"}, default="last"
        What the linear layer reads, one row per sequence: "last" is each
        sequence's state after its last real step; "mean" and "max" pool the
        states after every real step (padding never reaches any of them);
        "all" is the three side by side (width ``3 H``). Pooling lets the
        gradient reach every step directly, not only through the recurrence
        from the last one. See :data:`READOUTS`.

    Attributes
    ----------
    linear : torch.nn.Linear
        The map from the readout to the outputs.

    Examples
    --------
    >>> import torch
    >>> from sklearn_cfc.nn import CfC, LinearHead
    >>> core, head = CfC(3, 8), LinearHead(8, 2)
    >>> x, lengths = torch.randn(4, 10, 3), torch.tensor([10, 7, 3, 10])
    >>> out, state = core(x, lengths=lengths)
    >>> head(out, state, lengths).shape
    torch.Size([4, 2])
    """

    def __init__(
        self, units: int, n_outputs: int, *, readout: Readout = "last"
    ) -> None:
        super().__init__()
        if readout not in READOUTS:
            raise ValueError(
                f"LinearHead: readout must be one of {READOUTS}, got {readout!r}."
            )
        self.readout_kind = readout
        self.linear = nn.Linear(_WIDTH[readout] * units, n_outputs)

    def readout(
        self, out: Tensor, state: State, lengths: Tensor | None = None
    ) -> Tensor:
        """What the linear layer reads.

        Parameters
        ----------
        out : Tensor of shape (B, T, H)
            The state after every step (zero at padded steps).
        state : Tensor of shape (B, H), or a tuple (h, c) with mixed memory
            Each sequence's state after its last real step.
        lengths : Tensor of shape (B,) or None, default=None
            Number of real steps of each sequence.

        Returns
        -------
        Tensor of shape (B, H), or (B, 3 H) for "all"
        """
        if self.readout_kind == "last":
            return _final_state(state)
        T = out.shape[1]
        if lengths is None:
            real = None
            count = out.new_full((out.shape[0], 1), max(T, 1))
        else:
            real = (torch.arange(T, device=out.device) < lengths[:, None]).unsqueeze(-1)
            count = lengths.clamp_min(1).to(out.dtype)[:, None]
        if T == 0:
            peak = out.new_zeros(out.shape[0], out.shape[2])
        else:
            masked = out if real is None else out.masked_fill(~real, -torch.inf)
            peak = masked.amax(1)
            # a sequence without real steps: 0, like its last state
            peak = torch.where(torch.isinf(peak), 0.0, peak)
        # padded outputs are zero: the sum is over the real steps
        return self.combine(_final_state(state), out.sum(1), peak, count)

    def combine(
        self, last: Tensor, total: Tensor, peak: Tensor, count: Tensor
    ) -> Tensor:
        """The readout from its parts: what :meth:`readout` reads of a sequence.

        One definition of the readout for whole sequences (:meth:`readout`)
        and for prefixes of them
        (:meth:`CfCSequenceNetwork.forward_prefixes`).

        Parameters
        ----------
        last : Tensor of shape (N, H)
            The state after the last step.
        total : Tensor of shape (N, H)
            The sum of the outputs of the steps read.
        peak : Tensor of shape (N, H)
            Their elementwise maximum.
        count : Tensor of shape (N, 1)
            How many steps were read (at least 1).

        Returns
        -------
        Tensor of shape (N, H), or (N, 3 H) for "all"
        """
        kind = self.readout_kind
        parts = []
        if kind in ("last", "all"):
            parts.append(last)
        if kind in ("mean", "all"):
            parts.append(total / count)
        if kind in ("max", "all"):
            parts.append(peak)
        return parts[0] if len(parts) == 1 else torch.cat(parts, -1)

    def forward(
        self, out: Tensor, state: State, lengths: Tensor | None = None
    ) -> Tensor:
        """Outputs from the CfC's outputs.

        Parameters
        ----------
        out : Tensor of shape (B, T, H)
            The state after every step.
        state : Tensor of shape (B, H), or a tuple (h, c) with mixed memory
            Each sequence's state after its last real step.
        lengths : Tensor of shape (B,) or None, default=None
            Number of real steps of each sequence.

        Returns
        -------
        Tensor of shape (B, D)
            One row per sequence for the readout "last".
        """
        return self.linear(self.readout(out, state, lengths))

    def extra_repr(self) -> str:
        return "" if self.readout_kind == "last" else f"readout={self.readout_kind!r}"


class GaussianHead(nn.Module):
    """Mean and standard deviation of a Gaussian for every output.

    A linear layer gives ``2 D`` numbers per state: the means, and raw
    scales made positive as ``softplus(raw) + min_scale``.

    Parameters
    ----------
    units : int
        Size ``H`` of the CfC state.
    n_outputs : int
        Number ``D`` of variables.
    min_scale : float, default=1e-3
        Lower bound of the standard deviation.

    Attributes
    ----------
    linear : torch.nn.Linear
        The map from a state to ``[mean, raw scale]``.

    Examples
    --------
    >>> import torch
    >>> from sklearn_cfc.nn import GaussianHead
    >>> out = GaussianHead(8, 2)(torch.randn(4, 3, 8))
    >>> out.shape, bool((out[..., 2:] > 0).all())
    (torch.Size([4, 3, 4]), True)
    """

    def __init__(self, units: int, n_outputs: int, *, min_scale: float = 1e-3) -> None:
        super().__init__()
        if not min_scale > 0:
            raise ValueError(f"GaussianHead: min_scale must be > 0, got {min_scale}.")
        self.n_outputs = n_outputs
        self.min_scale = min_scale
        self.linear = nn.Linear(units, 2 * n_outputs)

    def forward(self, h: Tensor) -> Tensor:
        """Gaussian parameters from states.

        Parameters
        ----------
        h : Tensor of shape (..., H)

        Returns
        -------
        Tensor of shape (..., 2 D)
            The means (first ``D``), then the standard deviations.
        """
        mean, raw = self.linear(h).split(self.n_outputs, dim=-1)
        return torch.cat([mean, F.softplus(raw) + self.min_scale], dim=-1)

    def extra_repr(self) -> str:
        return "" if self.min_scale == 1e-3 else f"min_scale={self.min_scale}"


class MaskedGaussianNLLLoss(nn.Module):
    """Gaussian negative log-likelihood over the targets that are observed.

    Per sample, the mean over its observed targets of
    ``log(scale) + (target - mean)**2 / (2 scale**2)``, computed by
    :func:`torch.nn.functional.gaussian_nll_loss` (without its constant).
    Targets that are NaN (missing values, padding) do not count; a sample
    with none counts 0.

    Parameters
    ----------
    reduction : {"none", "mean"}, default="none"
        "none" returns one loss per sample, "mean" their mean.

    Examples
    --------
    >>> import torch
    >>> from sklearn_cfc.nn import MaskedGaussianNLLLoss
    >>> pred = torch.tensor([[[0.0, 1.0], [0.0, 1.0]]])  # mean 0, scale 1
    >>> target = torch.tensor([[[1.0], [float("nan")]]])
    >>> MaskedGaussianNLLLoss()(pred, target)
    tensor([0.5000])
    """

    def __init__(self, reduction: Literal["none", "mean"] = "none") -> None:
        super().__init__()
        if reduction not in ("none", "mean"):
            raise ValueError(
                "MaskedGaussianNLLLoss: reduction must be 'none' or 'mean', got "
                f"{reduction!r}."
            )
        self.reduction = reduction

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        """The loss of each sample.

        Parameters
        ----------
        pred : Tensor of shape (B, Q, 2 D)
            Means, then standard deviations (:class:`GaussianHead`).
        target : Tensor of shape (B, Q', D) with Q' >= Q
            NaN where there is nothing to predict; steps from ``Q`` on are
            ignored.

        Returns
        -------
        Tensor of shape (B,), or a scalar with ``reduction="mean"``
        """
        d = target.shape[-1]
        target = target[:, : pred.shape[1]]
        mean, scale = pred[..., :d], pred[..., d:]
        observed = torch.isfinite(target)
        nll = F.gaussian_nll_loss(
            mean,
            torch.where(observed, target, mean.detach()),
            scale * scale,
            reduction="none",
            eps=0.0,
        )
        loss = (nll * observed).sum((1, 2)) / observed.sum((1, 2)).clamp_min(1)
        return loss.mean() if self.reduction == "mean" else loss


class PerStepLoss(nn.Module):
    """A loss per step, averaged over each sequence's labelled steps.

    For outputs at every step (:class:`CfCSequenceNetwork` with
    ``per_step=True``) and a label per step, of which some are missing:
    class labels -100 (``ignore_index`` of
    :class:`torch.nn.CrossEntropyLoss`) or float targets NaN. A sequence
    without a labelled step counts 0.

    Parameters
    ----------
    loss : type of torch.nn.Module, default=torch.nn.CrossEntropyLoss
        The loss of one step, built with ``reduction="none"``: one taking
        class scores and int64 labels, such as
        :class:`~torch.nn.CrossEntropyLoss`, or one comparing outputs with
        float targets elementwise, such as :class:`~torch.nn.MSELoss`.
    reduction : {"none", "mean"}, default="none"
        "none" returns one loss per sequence, "mean" their mean.

    Examples
    --------
    >>> import torch
    >>> from sklearn_cfc.nn import PerStepLoss
    >>> scores = torch.zeros(1, 3, 2)  # two classes, equally likely
    >>> labels = torch.tensor([[1, -100, 0]])  # the middle step has none
    >>> PerStepLoss()(scores, labels)  # log 2
    tensor([0.6931])
    >>> targets = torch.tensor([[[2.0], [float("nan")]]])  # the second: none
    >>> PerStepLoss(torch.nn.MSELoss)(torch.zeros(1, 2, 1), targets)
    tensor([4.])
    """

    def __init__(
        self,
        loss: type[nn.Module] = nn.CrossEntropyLoss,
        reduction: Literal["none", "mean"] = "none",
    ) -> None:
        super().__init__()
        if reduction not in ("none", "mean"):
            raise ValueError(
                f"PerStepLoss: reduction must be 'none' or 'mean', got {reduction!r}."
            )
        self.loss = loss(reduction="none")
        self.reduction = reduction

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        """The loss of each sequence.

        Parameters
        ----------
        pred : Tensor of shape (B, T, D)
            Outputs at every step.
        target : Tensor of shape (B, T') (class labels) or (B, T', D) with T' >= T
            Steps from ``T`` on are ignored.

        Returns
        -------
        Tensor of shape (B,), or a scalar with ``reduction="mean"``
        """
        B, T = pred.shape[:2]
        target = target[:, :T]
        if target.is_floating_point():
            labelled = torch.isfinite(target)
            each = self.loss(pred, torch.where(labelled, target, pred.detach()))
        else:
            labelled = target != -100
            each = self.loss(pred.reshape(B * T, -1), target.reshape(B * T))
            each = each.reshape(B, T)
        each = torch.where(labelled, each, 0.0).reshape(B, -1)
        loss = each.sum(1) / labelled.reshape(B, -1).sum(1).clamp_min(1)
        return loss.mean() if self.reduction == "mean" else loss


class CfCSequenceNetwork(nn.Module):
    """The CfC core followed by a :class:`LinearHead`.

    Parameters
    ----------
    n_inputs : int
        Number of input features ``C`` per step.
    n_outputs : int
        Number of outputs ``D``.
    units : int
        Size ``H`` of the CfC state.
    readout : {"last", "mean", "max", "all"}, default="last"
        The head's readout (see :class:`LinearHead`).
    patch_length : int, default=1
        Consecutive observations the core reads as one step (see
        :func:`patch_sequences`); the readout pools over patches.
    per_step : bool, default=False
        Whether :meth:`forward` gives an output after every step (that of
        the sequence cut there, see :meth:`forward_prefixes`), shape
        ``(B, T, D)``, to learn from a label per step.
    **cfc_params
        Further arguments of :class:`CfC` (``mode``, ``backbone_units``, ...).

    Attributes
    ----------
    cfc : CfC
    head : LinearHead
    n_features : int
        Width ``F`` of the learned representation (:meth:`features`): ``H``,
        or ``3 H`` for the readout "all".

    Examples
    --------
    >>> import torch
    >>> from sklearn_cfc.nn import CfCSequenceNetwork
    >>> net = CfCSequenceNetwork(3, 2, units=8)
    >>> x, dt = torch.randn(4, 10, 3), torch.rand(4, 10)
    >>> net(x, dt, torch.tensor([10, 7, 3, 1])).shape
    torch.Size([4, 2])
    >>> net.features(x, dt, torch.tensor([10, 7, 3, 1])).shape
    torch.Size([4, 8])
    """

    def __init__(
        self,
        n_inputs: int,
        n_outputs: int,
        units: int,
        *,
        readout: Readout = "last",
        patch_length: int = 1,
        per_step: bool = False,
        **cfc_params: Any,
    ) -> None:
        super().__init__()
        if not isinstance(patch_length, int) or patch_length < 1:
            raise ValueError(
                "CfCSequenceNetwork: patch_length must be a positive int, got "
                f"{patch_length!r}."
            )
        self.patch_length = patch_length
        self.per_step = per_step
        self.cfc = CfC(patched_size(n_inputs, patch_length), units, **cfc_params)
        self.head = LinearHead(units, n_outputs, readout=readout)

    @property
    def n_features(self) -> int:
        return self.head.linear.in_features

    def forward(
        self,
        inputs: Tensor,
        dt: Tensor | None = None,
        lengths: Tensor | None = None,
        *,
        every_step: bool | None = None,
    ) -> Tensor:
        """Outputs of a batch of sequences.

        Parameters
        ----------
        inputs : Tensor of shape (B, T, C)
        dt : Tensor of shape (B, T) or None, default=None
            Time since each sequence's previous observation (see :class:`CfC`).
        lengths : Tensor of shape (B,) or None, default=None
            Number of real steps of each sequence.
        every_step : bool or None, default=None
            Whether to give the output after every step; None follows
            ``per_step``. False gives each sequence's output after its last
            real step without computing the others'.

        Returns
        -------
        Tensor of shape (B, D), or (B, T, D) after every step
            The outputs at padded steps are those of zero inputs there.
        """
        per_step = getattr(self, "per_step", False)  # pickled before it existed
        if per_step if every_step is None else every_step:
            B, T = inputs.shape[:2]
            rows = torch.arange(B, device=inputs.device).repeat_interleave(T)
            ends = torch.arange(T, device=inputs.device).repeat(B)
            readout = self._prefix_readout(inputs, dt, rows, ends, None)
            return self.head.linear(readout).reshape(B, T, -1)
        return self.head(*self._core(inputs, dt, lengths))

    def features(
        self,
        inputs: Tensor,
        dt: Tensor | None = None,
        lengths: Tensor | None = None,
    ) -> Tensor:
        """The learned representation of a batch of sequences.

        What the head's linear layer reads: its readout of the core's
        outputs (see :class:`LinearHead`), so that ``forward`` equals
        ``head.linear(features(...))``.

        Parameters
        ----------
        inputs : Tensor of shape (B, T, C)
        dt : Tensor of shape (B, T) or None, default=None
            Time since each sequence's previous observation (see :class:`CfC`).
        lengths : Tensor of shape (B,) or None, default=None
            Number of real steps of each sequence.

        Returns
        -------
        Tensor of shape (B, F)
            ``F`` is :attr:`n_features`.
        """
        return self.head.readout(*self._core(inputs, dt, lengths))

    def forward_prefixes(
        self,
        inputs: Tensor,
        dt: Tensor | None,
        rows: Tensor,
        ends: Tensor,
        last: Tensor | None = None,
    ) -> Tensor:
        """Outputs of prefixes of a batch of sequences, as :meth:`forward` gives.

        Prefix ``r`` is sequence ``rows[r]`` cut after step ``ends[r]``;
        its output equals :meth:`forward` on that prefix alone, the only
        real steps of its sequence. With ``last``, the prefix's last step
        reads ``last[r]`` instead of the sequence's own inputs there (what
        the data up to a point encodes to when later observations share
        its step). Asking for the output after every step of a sequence
        costs one pass over the sequence and one more step per prefix.

        Parameters
        ----------
        inputs : Tensor of shape (B, T, C)
        dt : Tensor of shape (B, T) or None
            Time since each sequence's previous observation (None: 1).
        rows : Tensor of shape (R,), int64
            The sequence each prefix belongs to.
        ends : Tensor of shape (R,), int64
            The index of each prefix's last step, in ``[0, T)``.
        last : Tensor of shape (R, C) or None, default=None
            Inputs of each prefix's last step, in place of its sequence's.

        Returns
        -------
        Tensor of shape (R, D)

        Examples
        --------
        >>> import torch
        >>> from sklearn_cfc.nn import CfCSequenceNetwork
        >>> net = CfCSequenceNetwork(3, 2, units=8, patch_length=2).eval()
        >>> x, dt = torch.randn(1, 5, 3), torch.rand(1, 5)
        >>> every = net.forward_prefixes(x, dt, torch.zeros(5, dtype=torch.long),
        ...                              torch.arange(5))
        >>> each = torch.cat([net(x[:, : t + 1], dt[:, : t + 1]) for t in range(5)])
        >>> torch.allclose(every, each, atol=1e-6)
        True
        """
        B, T, C = inputs.shape
        if rows.shape != ends.shape or rows.dim() != 1:
            raise ValueError(
                "CfCSequenceNetwork.forward_prefixes: rows and ends must be 1D "
                f"of one length; got shapes {tuple(rows.shape)} and "
                f"{tuple(ends.shape)}."
            )
        if len(rows) and not (
            0 <= int(rows.min()) <= int(rows.max()) < B
            and 0 <= int(ends.min()) <= int(ends.max()) < T
        ):
            raise ValueError(
                "CfCSequenceNetwork.forward_prefixes: rows must lie in [0, "
                f"{B}) and ends in [0, {T}) for inputs of shape {(B, T, C)}."
            )
        if last is not None and tuple(last.shape) != (len(rows), C):
            raise ValueError(
                "CfCSequenceNetwork.forward_prefixes: last must have shape "
                f"{(len(rows), C)}, one row of inputs per prefix; got "
                f"{tuple(last.shape)}."
            )
        return self.head.linear(self._prefix_readout(inputs, dt, rows, ends, last))

    def _prefix_readout(self, inputs, dt, rows, ends, last):
        """The readout of each prefix (see :meth:`forward_prefixes`)."""
        B, T, _ = inputs.shape
        if not isinstance(dt, Tensor):  # None (gaps of 1) or a number
            dt = inputs.new_full((B, T), 1.0 if dt is None else dt)
        k = self.patch_length
        patch = torch.div(ends, k, rounding_mode="floor")  # the prefix's last
        patches, patch_dt, _ = patch_sequences(inputs, dt, None, k)
        H = self.cfc.units
        last_patch = int(patch.max()) + 1 if len(patch) else 0
        # Each prefix ends in a patch of its own: the whole patches before it
        # are shared with its sequence, its own (cut short, or with other
        # last inputs) is one more step from the state before it. Where
        # every prefix ends a whole step of its sequence as it is (one
        # observation per step, its own inputs), that step is shared too.
        own_step = k > 1 or last is not None
        n_shared = last_patch - 1 if own_step else last_patch
        start: State | None = None
        if n_shared <= 0:
            seen = inputs.new_zeros(B, 0, H)
        elif own_step and self.cfc.mixed_memory:
            # the memory cell is part of the state before a prefix's own
            # step, and only a step returns it: one patch at a time
            outs, states = [], []
            for j in range(n_shared):
                out, state = self.cfc(
                    patches[:, j : j + 1], patch_dt[:, j : j + 1], None, start
                )
                outs.append(out[:, 0])
                states.append(state)
                start = state
            seen = torch.stack(outs, 1)
        else:
            seen, _ = self.cfc(patches[:, :n_shared], patch_dt[:, :n_shared])
        before = patch - 1 if own_step else patch  # shared steps it reads
        has = (before >= 0)[:, None]
        at = before.clamp(0, max(n_shared - 1, 0))
        if n_shared > 0:
            total = torch.where(has, seen.cumsum(1)[rows, at], 0.0)
            peak = torch.where(has, seen.cummax(1).values[rows, at], -torch.inf)
        else:
            total = inputs.new_zeros(len(rows), H)
            peak = inputs.new_full((len(rows), H), -torch.inf)
        if not own_step:  # the prefix's last step is its sequence's
            h = seen[rows, patch]
            count = (patch + 1).to(h.dtype)[:, None]
            return self.head.combine(h, total, peak, count)
        if n_shared > 0:
            if self.cfc.mixed_memory:
                h0, c0 = (
                    torch.where(has, torch.stack(part, 1)[rows, at], 0.0)
                    for part in zip(*states, strict=True)
                )
                start = (h0, c0)
            else:
                start = torch.where(has, seen[rows, at], 0.0)
        else:
            start = None
        # each prefix's own last patch: its steps up to the prefix's end
        steps = patch[:, None] * k + torch.arange(k, device=inputs.device)
        span = (ends - patch * k) + 1  # steps of it in the prefix
        steps = steps.clamp_max(T - 1)
        x = inputs[rows[:, None], steps]
        gaps = dt[rows[:, None], steps]
        if last is not None:
            x[torch.arange(len(rows), device=x.device), span - 1] = last.to(x.dtype)
        x, gaps, _ = patch_sequences(x, gaps, span, k)  # one step: (R, 1, ...)
        out, state = self.cfc(x, gaps, None, start)
        h = out[:, 0]
        count = (patch + 1).to(h.dtype)[:, None]
        return self.head.combine(
            _final_state(state), total + h, torch.maximum(peak, h), count
        )

    def _core(self, inputs, dt, lengths):
        """The core's outputs, final state and the lengths in (patched) steps."""
        if self.patch_length > 1:
            if not isinstance(dt, Tensor):  # None (gaps of 1) or a number
                dt = inputs.new_full(inputs.shape[:2], 1.0 if dt is None else dt)
            if lengths is not None:
                lengths = torch.as_tensor(lengths, device=inputs.device)
            inputs, dt, lengths = patch_sequences(
                inputs, dt, lengths, self.patch_length
            )
        out, state = self.cfc(inputs, dt, lengths)
        return out, state, lengths


class CfCForecastNetwork(nn.Module):
    """The CfC core reads a context; each forecast is one step from its end.

    Every query time is reached from the state after the context's last
    observation by a single closed-form step over the whole gap, with the
    query's own inputs (known covariates, say), and a :class:`GaussianHead`
    reads the state there. A forecast never depends on which other times are
    queried.

    Parameters
    ----------
    n_inputs : int
        Number of input features ``C`` per step (context and queries alike).
    n_outputs : int
        Number of forecast variables ``D``.
    units : int
        Size ``H`` of the CfC state.
    min_scale : float, default=1e-3
        Lower bound of the forecast standard deviation.
    **cfc_params
        Further arguments of :class:`CfC` (``mode``, ``backbone_units``, ...).

    Attributes
    ----------
    cfc : CfC
    head : GaussianHead

    Examples
    --------
    >>> import torch
    >>> from sklearn_cfc.nn import CfCForecastNetwork
    >>> net = CfCForecastNetwork(3, 2, units=8)
    >>> x, dt = torch.randn(4, 10, 3), torch.rand(4, 10)
    >>> lengths = torch.tensor([10, 7, 3, 0])  # the last context is empty
    >>> net(x, dt, lengths, torch.randn(4, 5, 3), torch.rand(4, 5)).shape
    torch.Size([4, 5, 4])
    """

    def __init__(
        self,
        n_inputs: int,
        n_outputs: int,
        units: int,
        *,
        min_scale: float = 1e-3,
        **cfc_params: Any,
    ) -> None:
        super().__init__()
        self.cfc = CfC(n_inputs, units, **cfc_params)
        self.head = GaussianHead(units, n_outputs, min_scale=min_scale)

    def forward(
        self,
        inputs: Tensor,
        dt: Tensor,
        lengths: Tensor,
        query: Tensor,
        query_dt: Tensor,
    ) -> Tensor:
        """Gaussian forecasts at the query times of a batch of contexts.

        Parameters
        ----------
        inputs : Tensor of shape (B, T, C)
            The contexts (``lengths`` 0 is an empty context: a zero state).
        dt : Tensor of shape (B, T)
            Time since each context's previous observation.
        lengths : Tensor of shape (B,)
            Number of real steps of each context.
        query : Tensor of shape (B, Q, C)
            Inputs at the query times.
        query_dt : Tensor of shape (B, Q)
            Time from each context's last observation to each query.

        Returns
        -------
        Tensor of shape (B, Q, 2 D)
            Means, then standard deviations (see :class:`GaussianHead`).
        """
        _, state = self.cfc(inputs, dt, lengths)
        B, Q, C = query.shape
        rows = B * Q
        # One step per query, and the head, over whole blocks of _ROW_BLOCK
        # rows: matrix products take other paths for a few rows, and a
        # forecast must not change with the number of other times queried.
        pad = -rows % _ROW_BLOCK

        def per_query(t):
            t = t.repeat_interleave(Q, 0)
            return torch.cat([t, t.new_zeros(pad, *t.shape[1:])]) if pad else t

        if isinstance(state, tuple):  # mixed memory: (h, c)
            state = tuple(per_query(s) for s in state)
        else:
            state = per_query(state)
        x = query.reshape(rows, 1, C)
        step_dt = query_dt.reshape(rows, 1)
        if pad:
            x = torch.cat([x, x.new_zeros(pad, 1, C)])
            step_dt = torch.cat([step_dt, step_dt.new_zeros(pad, 1)])
        out, _ = self.cfc(x, step_dt, None, state)
        return self.head(out[:, 0])[:rows].reshape(B, Q, -1)
