"""The CfC sequence module: a CfC cell run over irregularly timed sequences."""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, cast

import torch
from torch import Tensor, nn

from ._cell import CfCCell, _cell_dt, _check_dt
from ._fused import cfc_sequence

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sklearn_cfc._typing import Activation, Mode, State

__all__ = ["CfC"]


class CfC(nn.Module):
    r"""A closed-form continuous-time (CfC) recurrent network.

    Runs a :class:`CfCCell` over each sequence, feeding it the time elapsed
    since the previous observation, so irregular sampling is part of the
    model rather than a preprocessing step (Hasani et al., 2022). The loop is
    fused, with or without the mixed-memory variant: one hand-written forward
    and backward pass through time instead of an autograd graph per step,
    which is several times faster on a CPU and gives the same values and
    gradients.

    Parameters
    ----------
    input_size : int
        Number of input features ``C`` per observation.
    units : int
        Size ``H`` of the hidden state, which is also the output size.
    mode : {"default", "no_gate", "pure"}, default="default"
        The closed-form update; see :class:`CfCCell`.
    backbone_units : int, default=128
        Width ``U`` of each backbone layer.
    backbone_layers : int, default=1
        Number of backbone layers; 0 feeds ``[x, h]`` to the heads directly.
    backbone_dropout : float, default=0.0
        Dropout after each backbone activation, in training mode only.
    activation : str, default="lecun_tanh"
        Backbone activation: "lecun_tanh", "tanh", "relu", "gelu" or "silu".
    mixed_memory : bool, default=False
        Put an LSTM memory cell in front of the CfC cell at every step (the
        "mixed memory" variant, Lechner & Hasani 2020), which helps with long
        term dependencies. The state is then a pair ``(h, c)``. At every step
        the LSTM reads ``(x_t, (h, c))`` and the CfC cell reads ``x_t`` and the
        LSTM's new ``h``; its output becomes the new ``h``, and the LSTM's new
        ``c`` the new ``c``. It runs in the same fused loop; a training step
        costs about 1.5 times one without it on a CPU (the LSTM adds some 45%
        to the matrix products).
    batch_first : bool, default=True
        If True, ``x`` is (B, T, C) and ``dt`` is (B, T); otherwise (T, B, C)
        and (T, B). Outputs follow the same layout.

    Attributes
    ----------
    cell : CfCCell
        The recurrent cell holding the CfC parameters.
    lstm : torch.nn.LSTMCell or None
        The memory cell of the mixed-memory variant.

    Notes
    -----
    Shapes, where ``B`` is the batch size, ``T`` the number of steps, ``C`` =
    ``input_size`` and ``H`` = ``units``:

    - ``x``: (B, T, C), or (T, C) for one unbatched sequence.
    - ``dt``: ``None`` (every gap is 1), a number, or (B, T) (``(T,)``
      unbatched): the time since the previous observation of the same
      sequence; finite and non-negative at every real step.
    - ``lengths``: ``None`` (all sequences have ``T`` steps) or (B,) integers
      in ``[0, T]`` (an int unbatched). Steps at or after ``lengths[b]`` are
      padding: they never change a state, their outputs are zero, and their
      ``x`` and ``dt`` values are ignored.
    - ``state``: ``None`` (zeros) or (B, H); a pair of (B, H) tensors with
      ``mixed_memory=True``. Unbatched: (H,).
    - Returns ``(out, state)``: ``out`` is (B, T, H), the state after each
      step; ``state`` is each sequence's state after its last real step.

    The state takes the dtype and device of ``x``. The computation is the
    same as this loop over the cell, for sequences without padding::

        h = torch.zeros(B, H)
        for t in range(T):
            h = cell(x[:, t], h, dt[:, t])
            out[:, t] = h

    and with mixed memory::

        h, c = torch.zeros(B, H), torch.zeros(B, H)
        for t in range(T):
            h, c = lstm(x[:, t], (h, c))
            h = cell(x[:, t], h, dt[:, t])
            out[:, t] = h

    Examples
    --------
    >>> import torch
    >>> from sklearn_cfc.nn import CfC
    >>> model = CfC(input_size=3, units=16)
    >>> x = torch.randn(4, 10, 3)
    >>> dt = torch.rand(4, 10)  # irregular gaps between observations
    >>> out, h = model(x, dt, lengths=torch.tensor([10, 7, 3, 10]))
    >>> out.shape, h.shape
    (torch.Size([4, 10, 16]), torch.Size([4, 16]))
    >>> torch.equal(out[1, 7:], torch.zeros(3, 16))  # padding stays silent
    True
    """

    def __init__(
        self,
        input_size: int,
        units: int,
        *,
        mode: Mode = "default",
        backbone_units: int = 128,
        backbone_layers: int = 1,
        backbone_dropout: float = 0.0,
        activation: Activation = "lecun_tanh",
        mixed_memory: bool = False,
        batch_first: bool = True,
    ) -> None:
        super().__init__()
        if not isinstance(mixed_memory, bool):
            raise ValueError(f"mixed_memory must be a bool, got {mixed_memory!r}.")
        if not isinstance(batch_first, bool):
            raise ValueError(f"batch_first must be a bool, got {batch_first!r}.")
        self.cell = CfCCell(
            input_size,
            units,
            mode=mode,
            backbone_units=backbone_units,
            backbone_layers=backbone_layers,
            backbone_dropout=backbone_dropout,
            activation=activation,
        )
        self.mixed_memory = mixed_memory
        self.batch_first = batch_first
        self.lstm = nn.LSTMCell(input_size, units) if mixed_memory else None
        self.reset_parameters()

    @property
    def input_size(self) -> int:
        return self.cell.input_size

    @property
    def units(self) -> int:
        return self.cell.units

    def reset_parameters(self) -> None:
        """Re-initialise all weights (see :meth:`CfCCell.reset_parameters`).

        The memory cell's forget-gate bias starts at 1 so that it remembers by
        default.
        """
        self.cell.reset_parameters()
        if self.lstm is not None:
            self.lstm.reset_parameters()
            h = self.units
            with torch.no_grad():
                for bias in (self.lstm.bias_ih, self.lstm.bias_hh):
                    bias[h : 2 * h].fill_(0.5)  # the two biases add up to 1

    def extra_repr(self) -> str:
        extras = [s for s in ("mixed_memory=True",) if self.mixed_memory]
        if not self.batch_first:
            extras.append("batch_first=False")
        return ", ".join(extras)

    # ------------------------------------------------------------------ api
    def forward(
        self,
        x: Tensor,
        dt: Tensor | float | None = None,
        lengths: Tensor | Sequence[int] | int | None = None,
        state: State | None = None,
    ) -> tuple[Tensor, State]:
        """Run the network over a batch of sequences.

        Parameters
        ----------
        x : Tensor of shape (B, T, C) or (T, C)
            The observations (see the class Notes for all shapes).
        dt : Tensor of shape (B, T), float or None, default=None
            Time elapsed since each sequence's previous observation.
        lengths : Tensor or sequence of int of shape (B,), optional
            Number of real steps of each sequence; later steps are padding.
        state : Tensor of shape (B, H), tuple of two, or None
            Initial state; zeros when None.

        Returns
        -------
        out : Tensor of shape (B, T, H)
            The state after every step, zero at padded steps.
        state : Tensor of shape (B, H), or a tuple (h, c) with mixed memory
            The state after each sequence's last real step.
        """
        x, dt, lengths, state, unbatched = self._check_forward_args(
            x, dt, lengths, state
        )
        out, final = self._fused_forward(x, dt, lengths, state)
        if unbatched:
            out = out.squeeze(0)
            final = (
                tuple(s.squeeze(0) for s in final)
                if self.mixed_memory
                else (final.squeeze(0))
            )
        elif not self.batch_first:
            out = out.transpose(0, 1)
        return out, final

    def step(
        self, x: Tensor, dt: Tensor | float | None = None, state: State | None = None
    ) -> State:
        """Advance the state by one observation (online use).

        Parameters
        ----------
        x : Tensor of shape (B, C) or (C,)
            One observation per sequence.
        dt : Tensor of shape (B,), float or None, default=None
            Time since each sequence's previous observation (None means 1).
        state : Tensor of shape (B, H), tuple of two, or None
            The current state (zeros when None).

        Returns
        -------
        state : Tensor of shape (B, H), or a tuple (h, c) with mixed memory
            The new state; for a plain CfC it is also the step's output.

        Examples
        --------
        >>> import torch
        >>> from sklearn_cfc.nn import CfC
        >>> model = CfC(2, 8).eval()
        >>> x, dt = torch.randn(1, 5, 2), torch.rand(1, 5)
        >>> h = None
        >>> for t in range(5):
        ...     h = model.step(x[:, t], dt[:, t], h)
        >>> torch.allclose(h, model(x, dt)[1], atol=1e-6)
        True
        """
        # Called once per observation: every attribute lookup and indexing
        # call here costs about as much as a small kernel (see the online
        # step in benchmarks/speed.py), so each is done once, and submodules
        # are read from the registry that ``nn.Module.__getattr__`` consults
        # (the same objects, without its fallback lookup).
        modules = self._modules
        cell = cast("CfCCell", modules["cell"])
        ndim = x.dim() if isinstance(x, Tensor) else 0
        if ndim not in (1, 2):
            raise ValueError(
                f"CfC.step: expected x of shape (B, {cell.input_size}) or "
                f"({cell.input_size},), got {_describe(x)}."
            )
        if x.shape[-1] != cell.input_size:
            raise ValueError(
                f"CfC.step: expected x with {cell.input_size} features in its last "
                f"dimension, got shape {tuple(x.shape)}."
            )
        unbatched = ndim == 1
        xb = x.unsqueeze(0) if unbatched else x
        batch = xb.shape[0]
        checked = self._check_state(state, batch, xb, unbatched)
        if isinstance(dt, Tensor) and dt.shape != (batch,):
            dt = dt.reshape(batch)
        dtb = _cell_dt(dt, batch, xb)
        # the cell's own update, without its argument checks (done above)
        new: State
        # an LSTM cell exactly with mixed memory
        lstm = cast("nn.LSTMCell | None", modules.get("lstm"))
        if lstm is not None:
            # torch.nn.LSTMCell's own update, without its module call
            h, c = torch.lstm_cell(
                xb, checked, lstm.weight_ih, lstm.weight_hh, lstm.bias_ih, lstm.bias_hh
            )
            new = (cell._step(xb, h, dtb), c)
        else:
            new = cell._step(xb, checked, dtb)
        if unbatched:
            if self.mixed_memory:
                return cast("State", tuple(s[0] for s in new))
            return new[0]
        return new

    # -------------------------------------------------------------- engines
    def _fused_forward(self, x, dt, lengths, state):
        B, T, _ = x.shape
        if lengths is None:
            steps = [B] * T
            perm = None
        else:
            lengths_cpu = lengths.cpu()
            order = torch.argsort(lengths_cpu, descending=True, stable=True)
            sorted_lengths = lengths_cpu[order]
            t_max = int(sorted_lengths[0]) if B else 0
            steps = (
                (sorted_lengths[None, :] > torch.arange(t_max)[:, None]).sum(1).tolist()
            )
            perm = order.to(x.device)
            # padding may hold anything (NaN included): zero it so that it
            # cannot reach a weight gradient through 0 * NaN
            active = torch.arange(T, device=x.device) < lengths[:, None]
            x = torch.where(active.unsqueeze(-1), x, 0.0)[perm]
            dt = torch.where(active, dt, 0.0)[perm]
            state = tuple(s[perm] for s in state) if self.mixed_memory else state[perm]
        masks = None
        p = self.cell.backbone_dropout
        if self.training and p > 0 and steps:
            shape = (len(steps), B, self.cell.backbone_units)
            masks = [
                torch.empty(shape, dtype=x.dtype, device=x.device).bernoulli_(1 - p)
                / (1 - p)
                for _ in range(self.cell.backbone_layers)
            ]
        out, state = cfc_sequence(self.cell, x, dt, state, steps, masks, self.lstm)
        if perm is not None:
            inverse = torch.empty_like(perm)
            inverse[perm] = torch.arange(B, device=x.device)
            out = out[inverse]
            if self.mixed_memory:
                state = tuple(s[inverse] for s in state)
            else:
                state = state[inverse]
        return out, state

    def _reference_forward(self, x, dt, lengths, state):
        """Step-by-step loop under autograd: the reference semantics.

        :meth:`forward` computes the same values and gradients with the fused
        loop of ``_fused.py``; this loop is kept as the test oracle. Arguments
        are those of :meth:`forward` after ``_check_forward_args``.
        """
        B, T, _ = x.shape
        lstm = self.lstm  # not None exactly with mixed memory
        if self.mixed_memory:
            h, c = state
        else:
            h, c = state, None
        outputs = []
        for t in range(T):
            xt = x[:, t]
            if lstm is not None:
                h_new, c_new = lstm(xt, (h, c))
                h_new = self.cell(xt, h_new, dt[:, t])
            else:
                h_new = self.cell(xt, h, dt[:, t])
            if lengths is None:
                h, c = h_new, (c_new if self.mixed_memory else None)
                outputs.append(h)
            else:
                active = (lengths > t).unsqueeze(1)
                h = torch.where(active, h_new, h)
                if self.mixed_memory:
                    c = torch.where(active, c_new, c)
                outputs.append(torch.where(active, h_new, torch.zeros_like(h_new)))
        out = torch.stack(outputs, 1) if outputs else x.new_zeros(B, 0, self.units)
        return out, ((h, c) if self.mixed_memory else h)

    # ----------------------------------------------------------- validation
    def _check_forward_args(self, x, dt, lengths, state):
        layout = "(B, T, C)" if self.batch_first else "(T, B, C)"
        if not isinstance(x, Tensor):
            raise TypeError(f"CfC: x must be a torch.Tensor, got {_describe(x)}.")
        if x.dim() not in (2, 3):
            raise ValueError(
                f"CfC: expected x of shape {layout} or (T, C) with C="
                f"{self.input_size}, got a {x.dim()}D tensor of shape "
                f"{tuple(x.shape)}."
            )
        if not x.is_floating_point():
            raise TypeError(f"CfC: x must be a floating point tensor, got {x.dtype}.")
        if x.shape[-1] != self.input_size:
            raise ValueError(
                f"CfC: expected x with C={self.input_size} features in its last "
                f"dimension, got shape {tuple(x.shape)}."
            )
        unbatched = x.dim() == 2
        if unbatched:
            x = x.unsqueeze(0)
        elif not self.batch_first:
            x = x.transpose(0, 1)
        B, T, _ = x.shape
        dt_shape = (
            f"({T},)"
            if unbatched
            else (f"({B}, {T})" if self.batch_first else f"({T}, {B})")
        )

        # dt
        if dt is None:
            dt = x.new_ones(B, T)
        elif isinstance(dt, numbers.Real) and not isinstance(dt, bool):
            dt = x.new_full((B, T), float(dt))
        elif isinstance(dt, Tensor):
            expected = (T,) if unbatched else ((B, T) if self.batch_first else (T, B))
            if tuple(dt.shape) != expected:
                raise ValueError(
                    f"CfC: expected dt of shape {dt_shape} to match x of shape "
                    f"{_shape_of(x, unbatched, self.batch_first)}, got "
                    f"{tuple(dt.shape)}."
                )
            dt = dt.to(dtype=x.dtype, device=x.device)
            dt = dt.unsqueeze(0) if unbatched else (dt if self.batch_first else dt.t())
        else:
            raise TypeError(
                f"CfC: dt must be None, a number or a tensor of shape {dt_shape}, "
                f"got {_describe(dt)}."
            )

        # lengths
        if lengths is not None:
            lengths = self._check_lengths(lengths, B, T, unbatched, x.device)
            if bool((lengths == T).all()):
                lengths = None
        _check_dt(dt, lengths, "CfC")
        state = self._check_state(state, B, x, unbatched)
        return x, dt, lengths, state, unbatched

    @staticmethod
    def _check_lengths(lengths, B, T, unbatched, device):
        expected = "an int" if unbatched else f"shape ({B},)"
        if isinstance(lengths, numbers.Integral) and not isinstance(lengths, bool):
            lengths = torch.tensor([int(lengths)])
        elif isinstance(lengths, Tensor):
            if (
                lengths.is_floating_point()
                or lengths.is_complex()
                or (lengths.dtype == torch.bool)
            ):
                raise TypeError(
                    f"CfC: lengths must hold integers, got dtype {lengths.dtype}."
                )
            lengths = (
                lengths.reshape(-1) if unbatched and lengths.dim() == 0 else (lengths)
            )
        else:
            try:
                lengths = torch.as_tensor(lengths)
            except (TypeError, ValueError, RuntimeError):
                raise TypeError(
                    f"CfC: lengths must be {expected} of integers, got "
                    f"{_describe(lengths)}."
                ) from None
            if lengths.is_floating_point() or lengths.dtype == torch.bool:
                raise TypeError(
                    f"CfC: lengths must hold integers, got dtype {lengths.dtype}."
                )
        if tuple(lengths.shape) != (B,):
            raise ValueError(
                f"CfC: expected lengths of {expected} (one per sequence), got "
                f"shape {tuple(lengths.shape)}."
            )
        lengths = lengths.to(device=device, dtype=torch.long)
        if B and (int(lengths.min()) < 0 or int(lengths.max()) > T):
            bad = int(torch.nonzero((lengths < 0) | (lengths > T))[0, 0])
            raise ValueError(
                f"CfC: lengths must lie in [0, T={T}]; lengths[{bad}] = "
                f"{int(lengths[bad])}."
            )
        return lengths

    def _check_state(self, state, B, x, unbatched):
        if state is None:
            zeros = x.new_zeros(B, self.units)
            return (zeros, zeros.clone()) if self.mixed_memory else zeros
        # the expected shape; step() calls this once per observation, so the
        # text of the messages is only made when one is raised
        expected = (self.units,) if unbatched else (B, self.units)
        if self.mixed_memory:
            if not (isinstance(state, (tuple, list)) and len(state) == 2):
                raise ValueError(
                    "CfC: with mixed_memory=True, state must be a pair (h, c) of "
                    f"tensors of shape {expected}, got "
                    f"{_describe(state)}."
                )
            h, c = state
            return (
                self._check_state_tensor(h, "state[0]", expected, x, unbatched),
                self._check_state_tensor(c, "state[1]", expected, x, unbatched),
            )
        return self._check_state_tensor(state, "state", expected, x, unbatched)

    @staticmethod
    def _check_state_tensor(s, name, expected, x, unbatched):
        if not isinstance(s, Tensor):
            raise TypeError(
                f"CfC: {name} must be a tensor of shape {expected}, got {_describe(s)}."
            )
        if s.shape != expected:
            raise ValueError(
                f"CfC: expected {name} of shape {expected}, got {tuple(s.shape)}."
            )
        if s.dtype != x.dtype or s.device != x.device:
            s = s.to(dtype=x.dtype, device=x.device)
        return s.unsqueeze(0) if unbatched else s


def _describe(obj) -> str:
    if isinstance(obj, Tensor):
        return f"a tensor of shape {tuple(obj.shape)}"
    return f"{type(obj).__name__}"


def _shape_of(x: Tensor, unbatched: bool, batch_first: bool):
    if unbatched:
        return tuple(x.shape[1:])
    return tuple(x.shape) if batch_first else (x.shape[1], x.shape[0], x.shape[2])
