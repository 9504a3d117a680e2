"""How fast could a CfC training step be? Time its matrix products alone.

A training step of ``sklearn_cfc.nn.CfC`` (mode "default", one backbone layer)
must at least run, per time step, the recurrent half of the backbone and the
heads forward, the same two products backward, and then one weight-gradient
product per layer over all steps. This script times exactly those products
(with the shapes the fused loop uses) next to a full ``torch.nn.LSTM``
training step and our full training step, in the two settings of
``benchmarks/speed.py``. The products alone are a lower bound for any
implementation of the same model on this machine's BLAS.

Run from the repository root::

    python benchmarks/gemm_floor.py
"""

from __future__ import annotations

import statistics
import time

import torch

from sklearn_cfc.nn import CfC

SETTINGS = [  # (B, T, C, units, backbone, threads)
    (32, 50, 16, 64, 128, 1),
    (128, 100, 16, 64, 128, 2),
]


def median_ms(fn, repeats=20, warmup=3):
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return 1e3 * statistics.median(samples)


def gemm_only(B, T, C, H, U):
    """The matrix products of one CfC training step, nothing else."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(T * B, C, generator=g)
    s = torch.randn(B, H, generator=g)
    u = torch.randn(B, U, generator=g)
    heads = torch.randn(B, 4 * H, generator=g)
    w_in, w_rec = torch.randn(C, U, generator=g), torch.randn(H, U, generator=g)
    w_heads = torch.randn(U, 4 * H, generator=g)
    all_u, all_heads = torch.randn(T * B, U), torch.randn(T * B, 4 * H)
    all_s = torch.randn(T * B, H)

    def step():
        torch.mm(x, w_in)  # input half of the backbone, all steps
        for _ in range(T):  # forward
            torch.mm(s, w_rec)
            torch.mm(u, w_heads)
        for _ in range(T):  # backward through time
            torch.mm(heads, w_heads.t())
            torch.mm(u, w_rec.t())
        all_heads.t() @ all_u  # weight gradients over all steps
        all_u.t() @ all_s
        all_u.t() @ x

    return step


def full_step(model, x, dt, readout, target):
    params = [*model.parameters(), *readout.parameters()]
    optimizer = torch.optim.Adam(params)

    def step():
        optimizer.zero_grad()
        out = model(x, dt)[0] if isinstance(model, CfC) else model(x)[0]
        loss = torch.nn.functional.mse_loss(readout(out), target)
        loss.backward()
        optimizer.step()

    return step


def main():
    print(f"torch {torch.__version__}; median ms of 20 repetitions")
    for B, T, C, H, U, threads in SETTINGS:
        torch.set_num_threads(threads)
        torch.manual_seed(0)
        x, dt = torch.randn(B, T, C), torch.rand(B, T)
        target = torch.randn(B, T, 1)
        lstm = torch.nn.LSTM(C, H, batch_first=True)
        cfc = CfC(C, H, backbone_units=U)
        runs = {
            "CfC matrix products only": gemm_only(B, T, C, H, U),
            "CfC training step": full_step(cfc, x, dt, torch.nn.Linear(H, 1), target),
            "nn.LSTM training step": full_step(
                lstm, x, dt, torch.nn.Linear(H, 1), target
            ),
        }
        times = {name: [] for name in runs}
        for _ in range(3):  # interleave to share the machine's noise
            for name, fn in runs.items():
                times[name].append(median_ms(fn, repeats=7))
        print(f"\nB={B} T={T} C={C} units={H} backbone={U} threads={threads}")
        lstm_ms = statistics.median(times["nn.LSTM training step"])
        for name, samples in times.items():
            ms = statistics.median(samples)
            print(f"  {name:26s} {ms:8.2f} ms   {ms / lstm_ms:5.2f}x nn.LSTM")


if __name__ == "__main__":
    main()
