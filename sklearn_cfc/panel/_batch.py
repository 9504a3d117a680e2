"""Length-bucketed batch order (private)."""

from __future__ import annotations

from numbers import Integral
from typing import TYPE_CHECKING

import numpy as np
from sklearn.utils import check_random_state

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from sklearn_cfc._typing import RandomStateLike

__all__ = ["bucket_batches"]


def bucket_batches(
    lengths: ArrayLike,
    batch_size: int,
    *,
    shuffle: bool = False,
    random_state: RandomStateLike = None,
    pool_batches: int = 50,
    drop_last: bool = False,
) -> list[np.ndarray]:
    """Batch order in which series of similar lengths are batched together.

    Without shuffling, instances are sorted by length (stable, so ties keep
    their order) and cut into consecutive batches. With shuffling, the
    instances are permuted, cut into pools of ``pool_batches * batch_size``,
    sorted by length within each pool and cut into batches, and the order
    of the batches is shuffled: each epoch sees new batches, and a batch of
    short series is padded only to its own longest member.

    Parameters
    ----------
    lengths : array-like of int of shape (n_instances,)
        Number of observations of each instance (``Panel.lengths``).
    batch_size : int
        Instances per batch (the last one of a pool may be smaller).
    shuffle : bool, default=False
        Randomise the composition and the order of the batches.
    random_state : int, RandomState instance or None, default=None
        Seed of the shuffling.
    pool_batches : int, default=50
        Pool size, in batches, within which lengths are sorted when
        shuffling; larger pools give tighter buckets and less randomness.
    drop_last : bool, default=False
        Drop batches smaller than ``batch_size``.

    Returns
    -------
    batches : list of ndarray of int64
        Instance indices of each batch; together they cover every instance
        once (unless ``drop_last``).

    Examples
    --------
    >>> from sklearn_cfc.panel import bucket_batches
    >>> bucket_batches([5, 1, 4, 2, 3, 1], batch_size=2)
    [array([1, 5]), array([3, 4]), array([2, 0])]
    >>> sorted(len(b) for b in bucket_batches(
    ...     [5, 1, 4, 2, 3, 1], batch_size=4, shuffle=True, random_state=0))
    [2, 4]
    """
    lengths = np.asarray(lengths)
    if lengths.ndim != 1:
        raise ValueError(f"lengths must be 1D; got shape {lengths.shape}.")
    if lengths.size and lengths.dtype.kind not in "iu":
        raise TypeError(
            f"lengths must be integers (numbers of observations); got dtype "
            f"{lengths.dtype}."
        )
    if lengths.size and lengths.min() < 0:
        raise ValueError(
            f"lengths must be non-negative; got {lengths.min()} at position "
            f"{int(np.argmin(lengths))}."
        )
    for name, value in (("batch_size", batch_size), ("pool_batches", pool_batches)):
        if not isinstance(value, Integral) or isinstance(value, bool) or value < 1:
            raise ValueError(
                f"{name} must be a positive integer; got {value!r} instead."
            )
    n = len(lengths)
    if not shuffle:
        order = np.argsort(lengths, kind="stable")
        batches = [order[i : i + batch_size] for i in range(0, n, batch_size)]
    else:
        rng = check_random_state(random_state)
        perm = rng.permutation(n)
        pool = pool_batches * batch_size
        batches = []
        for start in range(0, n, pool):
            members = perm[start : start + pool]
            members = members[np.argsort(lengths[members], kind="stable")]
            batches.extend(
                members[i : i + batch_size] for i in range(0, len(members), batch_size)
            )
        batches = [batches[i] for i in rng.permutation(len(batches))]
    batches = [b.astype(np.int64, copy=False) for b in batches]
    if drop_last:
        batches = [b for b in batches if len(b) == batch_size]
    return batches
