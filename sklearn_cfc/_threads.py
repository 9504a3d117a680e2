"""How many torch threads a fit or a prediction runs with, scoped to the call.

A CfC steps through time one small kernel after another: at the default
sizes (32 sequences, widest layer 128) each kernel is a few microseconds of
work, and a second intra-op thread only adds the cost of handing work out
and waiting for it. On a busy machine it costs far more: OpenMP threads spin
at every barrier while their partner waits for a core, and a fit that takes
27 s on one thread took 124 s on torch's default two.

The rule
--------
:func:`torch_threads` runs a call with ``n`` torch intra-op threads::

    n = min(available, max(1, work // _WORK_PER_THREAD))
    work = batch size x widest layer (max(units, backbone_units))

``available`` is torch's thread count before the call (one per core unless
the user lowered it), so the rule only ever lowers it: every network that
fits on one thread's share of work runs on one thread, and a network with
``k`` shares of work gets ``k`` threads when the cores are there.
``_WORK_PER_THREAD`` comes from timing a training step and a prediction
pass at 1 and 2 threads side by side (``docs/user_guide/threads.rst`` has
the figures and the command).

Precedence, first match wins:

1. a device other than the CPU: torch's setting is left as it is (the
   GPU runs the kernels; the CPU threads only launch them);
2. ``SKLEARN_CFC_NUM_THREADS`` (an integer >= 1): exactly that many;
3. ``OMP_NUM_THREADS`` or ``MKL_NUM_THREADS`` set: torch took its count
   from them at start-up, and it is left as it is (joblib's workers and
   Dask's nanny set these to share the cores between processes);
4. the rule above.

torch's setter covers every pool torch uses on a CPU: its OpenMP threads,
MKL's (linked into torch, out of threadpoolctl's sight) and oneDNN's (which
run on OpenMP), so threadpoolctl is not needed; numpy's own BLAS pool does
no matrix products in the input encoding.

Threads and concurrency
-----------------------
``torch.set_num_threads`` writes a process-wide default that threads adopt
at their first parallel operation, and (with OpenMP) the calling thread's
own count. Calls on several Python threads at once (a thread pool
predicting) share one module-level record under a lock: the first call in
saves the count the process had (``_baseline``), and every call that
changed its thread's count sets it back on its way out, exceptions
included: a call nested in another on the same thread to the enclosing
call's count, any other to ``_baseline``. When the last call ends, both the
default and each caller's count are what they were before.
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager

import torch

__all__ = ["choose_threads", "env_threads", "network_width", "torch_threads"]

ENV = "SKLEARN_CFC_NUM_THREADS"
# environment variables torch reads for its own count: set means "leave it"
_TORCH_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")
# one thread per this much batch size x width, so two from twice it: about
# where two threads stop losing to one on a busy 2-core machine (figures:
# docs/user_guide/threads.rst)
_WORK_PER_THREAD = 2**20

_lock = threading.Lock()
_depth = 0  # calls inside torch_threads now, on every Python thread
_baseline: int | None = None  # torch's count before the first of them
_local = threading.local()  # .depth: calls inside torch_threads on this thread


def network_width(est):
    """The widest layer of an estimator's network: units or backbone units."""
    backbone = est.backbone_units if est.backbone_layers > 0 else 0
    return max(est.units, backbone)


def env_threads():
    """``SKLEARN_CFC_NUM_THREADS`` as an int, or None when unset or empty."""
    value = os.environ.get(ENV, "").strip()
    if not value:
        return None
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise ValueError(
            f"The environment variable {ENV} must be a whole number of torch "
            f"threads >= 1, got {value!r}. Set it to 1, 2, ... or unset it to "
            "let sklearn-cfc choose."
        )
    return n


def choose_threads(work, device="cpu", *, available=None):
    """The torch thread count for ``work``, or None to leave torch's as it is.

    Parameters
    ----------
    work : int
        Batch size times the widest layer of the network.
    device : str, torch.device or None, default="cpu"
        Where the network runs; None means the CPU.
    available : int or None, default=None
        The most threads the rule uses; None means torch's current count.

    Returns
    -------
    n : int or None
        None on a GPU, or when ``OMP_NUM_THREADS``/``MKL_NUM_THREADS`` set
        torch's count; ``SKLEARN_CFC_NUM_THREADS`` when set; otherwise
        ``min(available, max(1, work // _WORK_PER_THREAD))``.

    Raises
    ------
    ValueError
        When ``SKLEARN_CFC_NUM_THREADS`` is not an integer >= 1.
    """
    if device is not None and torch.device(device).type != "cpu":
        return None
    forced = env_threads()
    if forced is not None:
        return forced
    if any(os.environ.get(name, "").strip() for name in _TORCH_ENV):
        return None
    if available is None:
        available = torch.get_num_threads()
    return max(1, min(available, work // _WORK_PER_THREAD))


@contextmanager
def torch_threads(work, device="cpu", *, verbose=False):
    """Run the body with :func:`choose_threads`'s count; restore it after.

    Safe to enter from several Python threads at once and to nest: see the
    module docstring. With ``verbose``, prints "using N torch threads".
    Yields the count the body runs with.
    """
    global _depth, _baseline
    with _lock:
        current = torch.get_num_threads()  # also starts a new thread's count
        if _depth == 0:
            _baseline = current
        assert _baseline is not None  # set by the first call in, as above
        n = choose_threads(work, device, available=_baseline)
        changed = n is not None and n != current
        if changed:
            torch.set_num_threads(n)
        # nested on this thread: back to the enclosing call's count; first on
        # this thread: back to the process's count (a thread that starts
        # while another call runs adopts that call's count, not its own)
        local_depth = getattr(_local, "depth", 0)
        restore = current if local_depth else _baseline
        _local.depth = local_depth + 1
        _depth += 1
    used = current if n is None else n
    if verbose:
        print(f"using {used} torch thread{'s' if used != 1 else ''}")
    try:
        yield used
    finally:
        with _lock:
            _depth -= 1
            _local.depth -= 1
            if changed:
                torch.set_num_threads(restore)
