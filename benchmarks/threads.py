"""Threads benchmark: one against two intra-op threads, by problem size.

What it measures
----------------
The estimators' network (``CfCSequenceNetwork`` with the classifier's
default settings: mixed memory, ``readout="all"``) on batches of ``B``
sequences of ``T`` steps and ``C`` channels, at several batch sizes and
widths. Two quantities per size:

* **training step** -- ``zero_grad`` + forward + loss + ``backward`` +
  ``Adam.step``, as in one batch of a training epoch;
* **prediction pass** -- forward under ``torch.no_grad()``, as in one batch
  of ``predict``.

Each sample times ``--steps`` consecutive calls at one thread count. Rounds
interleave the thread counts (1, 2, then 2, 1, ...), so that the load of a
shared machine falls on both. The report gives, per size, the median wall
and CPU milliseconds per call at each count and the median of the per-round
ratios wall(2 threads) / wall(1 thread): below 1, two threads pay.

The "work" column is ``B x width``, width being the widest layer
(``max(units, backbone_units)``): the size of one step's elementwise work,
which is what an extra thread can split. ``sklearn_cfc._threads`` gives one
thread per ``_WORK_PER_THREAD`` of it.

Run: ``env -u OMP_NUM_THREADS python benchmarks/threads.py`` (a set
``OMP_NUM_THREADS`` would fix torch's count for the whole run; the script
sets 1 and 2 itself). The largest sizes take a few seconds per call on a
busy 2-core machine; ``--min-work``/``--max-work`` select sizes,
``--quick`` runs 3 rounds.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import time

import torch
from _machine import machine_info

# (kind, B, units, backbone_units)
SIZES = [
    ("train", 32, 64, 128),
    ("train", 64, 64, 128),
    ("train", 128, 64, 128),
    ("train", 256, 64, 128),
    ("train", 32, 256, 512),
    ("train", 128, 256, 512),
    ("predict", 32, 64, 128),
    ("predict", 128, 64, 128),
    ("predict", 512, 64, 128),
    ("predict", 128, 256, 512),
    ("train", 512, 64, 128),
    ("train", 256, 256, 512),
    ("predict", 512, 256, 512),
    ("predict", 512, 512, 1024),
    ("predict", 512, 1024, 2048),
]


def _network(C, units, backbone_units):
    from sklearn_cfc import CfCClassifier
    from sklearn_cfc.nn import CfCSequenceNetwork

    p = CfCClassifier().get_params()
    return CfCSequenceNetwork(
        C,
        9,
        units,
        readout=p["readout"],
        mode=p["mode"],
        backbone_units=backbone_units,
        backbone_layers=p["backbone_layers"],
        backbone_dropout=p["backbone_dropout"],
        activation=p["activation"],
        mixed_memory=p["mixed_memory"],
    )


def _case(kind, B, units, backbone, T, C):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(B, T, C, generator=g)
    dt = torch.rand(B, T, generator=g) + 0.5
    lengths = torch.full((B,), T)
    y = torch.randint(0, 9, (B,), generator=g)
    torch.manual_seed(0)
    net = _network(C, units, backbone)
    if kind == "predict":
        net.eval()

        def call():
            with torch.no_grad():
                net(x, dt, lengths)

        return call
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()

    def call():
        opt.zero_grad()
        loss_fn(net(x, dt, lengths), y).backward()
        opt.step()

    return call


def _time(call, steps):
    gc.disable()
    try:
        c0, w0 = time.process_time(), time.perf_counter()
        for _ in range(steps):
            call()
        return (time.perf_counter() - w0) / steps, (time.process_time() - c0) / steps
    finally:
        gc.enable()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--T", type=int, default=32)
    parser.add_argument("--C", type=int, default=12)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--min-work", type=int, default=0)
    parser.add_argument("--max-work", type=int, default=2**21)
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds = 3
    info = machine_info(["torch"], load_average=os.getloadavg())
    print(info)
    rows = []
    for kind, B, units, backbone in SIZES:
        if not args.min_work <= B * max(units, backbone) <= args.max_work:
            continue
        call = _case(kind, B, units, backbone, args.T, args.C)
        for n in (1, 2):  # warm-up at both counts
            torch.set_num_threads(n)
            call()
        samples = {1: [], 2: []}
        for r in range(args.rounds):
            for n in (1, 2) if r % 2 == 0 else (2, 1):
                torch.set_num_threads(n)
                samples[n].append(_time(call, args.steps))
        ratios = [
            w2 / w1 for (w1, _), (w2, _) in zip(samples[1], samples[2], strict=False)
        ]
        med = {
            n: (
                1e3 * statistics.median(w for w, _ in s),
                1e3 * statistics.median(c for _, c in s),
            )
            for n, s in samples.items()
        }
        row = dict(
            kind=kind,
            B=B,
            units=units,
            backbone=backbone,
            work=B * max(units, backbone),
            wall1=med[1][0],
            cpu1=med[1][1],
            wall2=med[2][0],
            cpu2=med[2][1],
            ratio=statistics.median(ratios),
            ratio_min=min(ratios),
            ratio_max=max(ratios),
        )
        rows.append(row)
        print(
            f"{kind:8s} B={B:4d} units={units:4d} backbone={backbone:4d} "
            f"work={row['work']:6d} | 1 thread {row['wall1']:7.1f} ms "
            f"(cpu {row['cpu1']:7.1f}) | 2 threads {row['wall2']:7.1f} ms "
            f"(cpu {row['cpu2']:7.1f}) | wall 2/1 {row['ratio']:.2f} "
            f"[{row['ratio_min']:.2f}-{row['ratio_max']:.2f}]",
            flush=True,
        )
    print(f"load average after: {os.getloadavg()}")
    return rows


if __name__ == "__main__":
    main()
