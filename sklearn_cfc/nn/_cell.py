"""The closed-form continuous-time (CfC) cell: one observation, one update."""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import torch
from torch import Tensor, nn

__all__ = ["ACTIVATIONS", "MODES", "CfCCell"]

MODES = ("default", "no_gate", "pure")

if TYPE_CHECKING:
    from sklearn_cfc._typing import Activation, Mode

    class _Linears(nn.ModuleList):
        """An ``nn.ModuleList`` of ``nn.Linear`` (torch's is not generic)."""

        def __iter__(self) -> Iterator[nn.Linear]: ...


@dataclass(frozen=True)
class _Activation:
    """A backbone activation written as ``outer * base(inner * a)``.

    Splitting out the two constant factors lets the fused sequence loop fold
    them into the weight matrices, so that the time loop calls one kernel per
    activation.
    """

    base: Callable[[Tensor], Tensor]
    inner: float = 1.0
    outer: float = 1.0

    def __call__(self, a: Tensor) -> Tensor:
        if self.inner == 1.0 and self.outer == 1.0:
            return self.base(a)
        return self.outer * self.base(self.inner * a)


# LeCun's scaled tanh, 1.7159 * tanh(0.666 * a), as used by the paper's code.
ACTIVATIONS = {
    "lecun_tanh": _Activation(torch.tanh, inner=0.666, outer=1.7159),
    "tanh": _Activation(torch.tanh),
    "relu": _Activation(torch.relu),
    "gelu": _Activation(nn.functional.gelu),
    "silu": _Activation(nn.functional.silu),
}


def _check_positive_int(name: str, value, *, allow_zero: bool = False) -> None:
    lowest = 0 if allow_zero else 1
    if isinstance(value, bool) or not isinstance(value, int) or value < lowest:
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{name} must be a {kind} int, got {value!r}.")


def _check_config(
    input_size,
    units,
    mode,
    backbone_units,
    backbone_layers,
    backbone_dropout,
    activation,
) -> None:
    _check_positive_int("input_size", input_size)
    _check_positive_int("units", units)
    _check_positive_int("backbone_units", backbone_units)
    _check_positive_int("backbone_layers", backbone_layers, allow_zero=True)
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}.")
    if activation not in ACTIVATIONS:
        raise ValueError(
            f"activation must be one of {tuple(ACTIVATIONS)}, got {activation!r}."
        )
    if (
        isinstance(backbone_dropout, bool)
        or not isinstance(backbone_dropout, (int, float))
        or not 0.0 <= backbone_dropout < 1.0
    ):
        raise ValueError(
            f"backbone_dropout must be a float in [0, 1), got {backbone_dropout!r}."
        )
    if backbone_layers == 0 and backbone_dropout > 0:
        raise ValueError(
            "backbone_dropout > 0 needs a backbone; got backbone_layers=0. Set "
            "backbone_layers >= 1 or backbone_dropout=0."
        )


class CfCCell(nn.Module):
    r"""One closed-form continuous-time update of a hidden state.

    Given an observation ``x_t``, the previous state ``h_{t-1}`` and the time
    ``Δt`` elapsed since the previous observation, a backbone MLP reads
    ``z = MLP([x_t, h_{t-1}])`` and the cell returns, depending on ``mode``:

    ``"default"`` (the paper's eq. 10, gated)
        ``h_t = f1 ⊙ (1 − σ_t) + σ_t ⊙ f2``
    ``"no_gate"``
        ``h_t = f1 + σ_t ⊙ f2``
    ``"pure"`` (the direct closed-form solution)
        ``h_t = A − A ⊙ exp(−Δt (|w_τ| + |f|)) ⊙ f``

    with ``f1 = tanh(W1 z + b1)``, ``f2 = tanh(W2 z + b2)``, the time gate
    ``σ_t = sigmoid(a(z) Δt + b(z))`` (the official implementation's
    realisation of ``σ(−f Δt)`` with learnt heads ``time_a`` and ``time_b``),
    and in pure mode ``f = W z + b`` with learnt vectors ``A`` and ``w_τ``
    (``⊙`` is the elementwise product).

    Parameters
    ----------
    input_size : int
        Number of input features ``C``.
    units : int
        Size ``H`` of the hidden state.
    mode : {"default", "no_gate", "pure"}, default="default"
        Which closed-form update to use (see above).
    backbone_units : int, default=128
        Width ``U`` of each backbone layer.
    backbone_layers : int, default=1
        Number of backbone layers. With 0 the heads read ``[x, h]`` directly.
    backbone_dropout : float, default=0.0
        Dropout probability applied after every backbone activation
        (including the first, so it acts with ``backbone_layers=1``).
    activation : str, default="lecun_tanh"
        Backbone activation: "lecun_tanh", "tanh", "relu", "gelu" or
        "silu". ``lecun_tanh`` is ``1.7159 * tanh(0.666 * a)``.

    Attributes
    ----------
    backbone : torch.nn.ModuleList of torch.nn.Linear
        The backbone layers; the first maps ``C + H`` features to ``U``.
    heads : torch.nn.Linear
        All output heads in one layer. Its rows are, in order, ``f1``, ``f2``,
        ``time_a`` and ``time_b`` (``4 * H`` rows), or ``f`` alone in pure
        mode (``H`` rows).
    w_tau, A : torch.nn.Parameter of shape (H,)
        Pure mode only: the time-constant offset and the amplitude.

    Notes
    -----
    Shapes:

    - ``x``: (B, C) or (C,) for one unbatched observation.
    - ``h``: (B, H), (H,) or ``None`` for a zero state.
    - ``dt``: ``None`` (means 1), a number, or a tensor of shape (B,) or
      (B, 1) (() unbatched).
    - Output: the new state, (B, H) or (H,).

    Examples
    --------
    >>> import torch
    >>> from sklearn_cfc.nn import CfCCell
    >>> cell = CfCCell(3, 8)
    >>> h = cell(torch.randn(5, 3), None, dt=torch.rand(5))
    >>> h.shape
    torch.Size([5, 8])
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
    ) -> None:
        super().__init__()
        _check_config(
            input_size,
            units,
            mode,
            backbone_units,
            backbone_layers,
            backbone_dropout,
            activation,
        )
        self.input_size = input_size
        self.units = units
        self.mode = mode
        self.backbone_units = backbone_units
        self.backbone_layers = backbone_layers
        self.backbone_dropout = float(backbone_dropout)
        self.activation = activation
        self._act = ACTIVATIONS[activation]
        widths = [input_size + units] + [backbone_units] * backbone_layers
        self.backbone = cast(
            "_Linears",
            nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(widths)),
        )
        self.dropout = nn.Dropout(self.backbone_dropout)
        n_heads = 1 if mode == "pure" else 4
        self.heads = nn.Linear(widths[-1], n_heads * units)
        if mode == "pure":
            self.w_tau = nn.Parameter(torch.empty(units))
            self.A = nn.Parameter(torch.empty(units))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-initialise all weights.

        Weight matrices get Xavier-uniform values, biases PyTorch's default
        uniform values; in pure mode ``w_tau`` starts at 0 and ``A`` at 1, as
        in the official implementation.
        """
        for layer in self.backbone:
            layer.reset_parameters()
            nn.init.xavier_uniform_(layer.weight)
        self.heads.reset_parameters()
        with torch.no_grad():  # Xavier per head, as if each were its own layer
            for block in self.heads.weight.split(self.units):
                nn.init.xavier_uniform_(block)
        if self.mode == "pure":
            nn.init.zeros_(self.w_tau)
            nn.init.ones_(self.A)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.units}"
        defaults = {
            "mode": "default",
            "backbone_units": 128,
            "backbone_layers": 1,
            "backbone_dropout": 0.0,
            "activation": "lecun_tanh",
        }
        for name, default in defaults.items():
            value = getattr(self, name)
            if value != default:
                s += f", {name}={value!r}"
        return s

    def backbone_forward(self, x: Tensor, h: Tensor) -> Tensor:
        """Backbone features ``z`` of shape (B, U) from ``x`` (B, C), ``h`` (B, H)."""
        z, scale = self._features(x, h)
        return z * scale if scale != 1.0 else z

    def forward(
        self, x: Tensor, h: Tensor | None = None, dt: Tensor | float | None = None
    ) -> Tensor:
        """Advance the state by one observation; see the class docstring."""
        if x.dim() not in (1, 2):
            raise ValueError(
                f"CfCCell: expected x of shape (B, {self.input_size}) or "
                f"({self.input_size},), got {tuple(x.shape)}."
            )
        unbatched = x.dim() == 1
        if unbatched:
            x = x.unsqueeze(0)
            h = None if h is None else h.unsqueeze(0)
            if isinstance(dt, Tensor):
                dt = dt.reshape(1)
        if x.shape[1] != self.input_size:
            raise ValueError(
                f"CfCCell: expected x with {self.input_size} features (last "
                f"dimension), got shape {tuple(x.shape)}."
            )
        batch = x.shape[0]
        if h is None:
            h = x.new_zeros(batch, self.units)
        elif h.shape != (batch, self.units):
            raise ValueError(
                f"CfCCell: expected h of shape ({batch}, {self.units}), got "
                f"{tuple(h.shape)}."
            )
        out = self._step(x, h, _cell_dt(dt, batch, x))
        return out.squeeze(0) if unbatched else out

    def _step(self, x: Tensor, h: Tensor, dt: Tensor) -> Tensor:
        """:meth:`forward` without argument checks: x (B, C), h (B, H), dt (B, 1)."""
        z, scale = self._features(x, h)
        return self._update(z, dt, scale)

    def _features(self, x: Tensor, h: Tensor) -> tuple[Tensor, float]:
        """Backbone features as a pair ``(z / scale, scale)``.

        An activation ``outer * base(inner * a)`` costs one kernel here: both
        constant factors ride on the matrix products (``addmm``'s ``alpha``
        and ``beta``), the outer one on the next layer's, or on the heads'
        when it is the last (hence the returned ``scale``). Dropout commutes
        with the factor.
        """
        act = self._act
        z, scale = torch.cat([x, h], dim=-1), 1.0
        drop = self.training and self.backbone_dropout > 0
        for layer in cast("_Linears", self._modules["backbone"]):
            # inner * (W (scale * z) + b)
            a = torch.addmm(
                layer.bias,
                z,
                layer.weight.t(),
                beta=act.inner,
                alpha=act.inner * scale,
            )
            z, scale = act.base(a), act.outer
            if drop:
                z = self.dropout(z)
        return z, scale

    def _update(self, z: Tensor, dt: Tensor, scale: float = 1.0) -> Tensor:
        """The closed-form update from features ``scale * z`` and ``dt`` (B, 1)."""
        # as in CfC.step: one lookup, without nn.Module's fallback
        layer = cast("nn.Linear", self._modules["heads"])
        heads = torch.addmm(layer.bias, z, layer.weight.t(), alpha=scale)
        if self.mode == "pure":
            decay = torch.exp(-dt * (self.w_tau.abs() + heads.abs()))
            return self.A - self.A * decay * heads
        H = self.units
        # one split and one chunk rather than five slices: step() runs this
        # once per observation, where each indexing call costs as much as a
        # small kernel
        f, time_a, time_b = heads.split_with_sizes((2 * H, H, H), dim=1)
        ff1, ff2 = torch.tanh(f).chunk(2, dim=1)  # f1 and f2 in one call
        gate = torch.sigmoid(torch.addcmul(time_b, time_a, dt))
        if self.mode == "no_gate":
            return torch.addcmul(ff1, gate, ff2)  # f1 + gate * f2
        return torch.lerp(ff1, ff2, gate)  # f1 * (1 - gate) + gate * f2


def _cell_dt(dt, batch: int, like: Tensor) -> Tensor:
    """Return ``dt`` as a (B, 1) tensor in the dtype and device of ``like``.

    ``None`` and numbers become a 0-dim tensor, which broadcasts like (B, 1).
    """
    # a tensor is the usual case (step() calls this once per observation)
    if not isinstance(dt, Tensor):
        if dt is None or (isinstance(dt, numbers.Real) and not isinstance(dt, bool)):
            value = 1.0 if dt is None else float(dt)
            if not 0.0 <= value < math.inf:
                raise ValueError(
                    "CfCCell: dt must be finite and non-negative (the time since "
                    f"the previous observation); got {value}."
                )
            return torch.tensor(value, dtype=like.dtype, device=like.device)
        dt = torch.as_tensor(dt)
    if dt.dtype != like.dtype or dt.device != like.device:
        dt = dt.to(dtype=like.dtype, device=like.device)
    if dt.dim() == 0:
        dt = dt.expand(batch)
    if dt.shape not in ((batch,), (batch, 1)):
        raise ValueError(
            f"CfCCell: expected dt of shape ({batch},) or ({batch}, 1), got "
            f"{tuple(dt.shape)}."
        )
    dt = dt.view(batch, 1) if dt.dim() == 1 else dt
    _check_dt(dt, None, "CfCCell")
    return dt


def _check_dt(dt: Tensor, lengths: Tensor | None, who: str) -> None:
    """Raise if ``dt`` (B, T) is NaN, infinite or negative at a real step."""
    if lengths is None and dt.numel():
        # the common path: one read for a single value (an online step of
        # one series), else one reduction (NaN propagates through both ends)
        if dt.numel() == 1:
            if 0.0 <= dt.item() < math.inf:
                return
        else:
            lo, hi = torch.aminmax(dt)
            if lo.item() >= 0 and hi.item() < math.inf:
                return
    bad = ~torch.isfinite(dt) | (dt < 0)
    if lengths is not None:
        steps = torch.arange(dt.shape[1], device=dt.device)
        bad &= steps[None, :] < lengths[:, None]
    if bool(bad.any()):
        b, t = (int(i) for i in torch.nonzero(bad)[0])
        where = f"sequence {b} at step {t}" if dt.shape[1] > 1 else f"sequence {b}"
        raise ValueError(
            f"{who}: dt must be finite and non-negative at every real step (the "
            f"time since the previous observation); got {float(dt[b, t])} for "
            f"{where}."
        )
