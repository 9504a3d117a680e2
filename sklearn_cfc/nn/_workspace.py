"""Reusable scratch memory for the fused CfC loop.

The fused loop keeps several (T, B, width) buffers per call. Fresh memory of
that size comes from the operating system page by page, and on virtual
machines a page fault can cost microseconds: touching 20 MB of new memory
took longer than all the loop's arithmetic in our measurements. CUDA's
caching allocator already recycles device memory; on the CPU this module
does it for the loop's own buffers, keeping a few freed blocks for the next
call.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence

import torch
from torch import Tensor

__all__ = ["Arena"]

_MAX_FREE = 4  # freed blocks kept per (dtype, device)
_lock = threading.Lock()
_free: dict[tuple, list[Tensor]] = {}


def _take(numel: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    if device.type != "cpu":
        return torch.empty(numel, dtype=dtype, device=device)
    key = (dtype, device)
    with _lock:
        blocks = _free.get(key, [])
        fits = [
            i for i, b in enumerate(blocks) if numel <= b.numel() <= 4 * numel + 65536
        ]
        if fits:
            return blocks.pop(min(fits, key=lambda i: blocks[i].numel()))
    # leave room to grow: batches of one run vary in length
    return torch.empty(int(numel * 1.25) + 1024, dtype=dtype, device=device)


def _give(block: Tensor) -> None:
    if block.device.type != "cpu":
        return
    with _lock:
        blocks = _free.setdefault((block.dtype, block.device), [])
        blocks.append(block)
        if len(blocks) > _MAX_FREE:
            blocks.pop(min(range(len(blocks)), key=lambda i: blocks[i].numel()))


class Arena:
    """Tensors of the given shapes carved from one reused block of memory.

    The block returns to the pool when the arena is released or garbage
    collected, so an arena must own no tensor that escapes to the caller.

    Parameters
    ----------
    shapes : list of tuple of int
        Shapes of the tensors to carve, in order.
    like : Tensor
        Dtype and device to allocate with.
    zero : bool
        Whether the tensors start zeroed.
    """

    def __init__(
        self, shapes: Sequence[Sequence[int]], like: Tensor, zero: bool = False
    ) -> None:
        sizes = [math.prod(s) for s in shapes]
        block = _take(sum(sizes), like.dtype, like.device)
        self._block: Tensor | None = block  # None once released
        self.tensors: list[Tensor] = []
        offset = 0
        for shape, size in zip(shapes, sizes, strict=True):
            self.tensors.append(block[offset : offset + size].view(shape))
            offset += size
        if zero:
            block[:offset].zero_()

    def release(self) -> None:
        """Return the memory to the pool; the tensors must not be used again."""
        block, self._block = getattr(self, "_block", None), None
        self.tensors = []
        if block is not None:
            _give(block)

    def __del__(self) -> None:
        self.release()
