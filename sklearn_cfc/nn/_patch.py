"""Patches: several consecutive observations read as one step of the network.

A recurrent network that reads a long series one observation at a time needs
many sequential steps per gradient and must carry local shape (a peak, a
slope) in its state. Reading ``k`` consecutive observations at once (a
*patch*, as in patch-based sequence models) shortens the recurrence ``k``
times and hands the network the local shape directly. Time stays continuous:
a patch carries the gap before each of its observations as inputs, and the
network's time gate sees the time the patch spans since the previous one.

Imports torch only.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["patch_sequences", "patched_size"]


def patched_size(n_inputs: int, patch_length: int) -> int:
    """Number of input features per step after :func:`patch_sequences`.

    Parameters
    ----------
    n_inputs : int
        Features ``F`` per observation.
    patch_length : int
        Observations per patch ``k``.

    Returns
    -------
    int
        ``F`` when ``k == 1``, else ``k * (F + 1)``.
    """
    return n_inputs if patch_length == 1 else patch_length * (n_inputs + 1)


def patch_sequences(
    x: Tensor, dt: Tensor, lengths: Tensor | None, patch_length: int
) -> tuple[Tensor, Tensor, Tensor | None]:
    """Group every ``patch_length`` consecutive observations into one step.

    Patches start at each sequence's first observation; the last patch of a
    sequence may be partial. A patch's inputs are the inputs of its
    observations followed by the gap before each of them, zero where the
    patch runs past the sequence's end, so that a partial patch reads like
    a truncated series. Its gap is the sum of its observations' gaps: the
    time from the previous patch's last observation to its own last one.

    Parameters
    ----------
    x : Tensor of shape (B, T, F)
        The observations; zero at padded steps.
    dt : Tensor of shape (B, T)
        Gap before each observation; zero at padded steps.
    lengths : Tensor of shape (B,) or None
        Number of real observations of each sequence (None: all ``T``).
    patch_length : int
        Observations per patch ``k >= 1``; 1 returns the inputs unchanged.

    Returns
    -------
    x : Tensor of shape (B, ceil(T / k), k * (F + 1))
    dt : Tensor of shape (B, ceil(T / k))
    lengths : Tensor of shape (B,) or None
        ``ceil(lengths / k)``.

    Examples
    --------
    >>> import torch
    >>> from sklearn_cfc.nn import patch_sequences
    >>> x = torch.arange(5.0).reshape(1, 5, 1)
    >>> xp, dtp, lp = patch_sequences(x, torch.ones(1, 5), torch.tensor([5]), 2)
    >>> xp[0].tolist()  # [x1, x2, dt1, dt2] per patch; the last is partial
    [[0.0, 1.0, 1.0, 1.0], [2.0, 3.0, 1.0, 1.0], [4.0, 0.0, 1.0, 0.0]]
    >>> dtp.tolist(), lp.tolist()
    ([[2.0, 2.0, 1.0]], [3])
    """
    if patch_length == 1:
        return x, dt, lengths
    B, T, F = x.shape
    k = patch_length
    P = -(-T // k)
    if lengths is not None:
        # padding may hold anything (NaN included): it must not reach a patch
        real = torch.arange(T, device=x.device) < lengths[:, None]
        x = torch.where(real.unsqueeze(-1), x, 0.0)
        dt = torch.where(real, dt, 0.0)
    extra = P * k - T
    if extra:
        x = torch.cat([x, x.new_zeros(B, extra, F)], 1)
        dt = torch.cat([dt, dt.new_zeros(B, extra)], 1)
    gaps = dt.reshape(B, P, k)
    patches = torch.cat([x.reshape(B, P, k * F), gaps], -1)
    if lengths is not None:
        lengths = torch.div(lengths + (k - 1), k, rounding_mode="floor")
    return patches, gaps.sum(-1), lengths
