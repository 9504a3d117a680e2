"""
===================================================
How fast is a CfC step? A comparison with its peers
===================================================

A closed-form continuous-time network reads elapsed time like an ODE-based
network (LTC, ODE-RNN) but needs no numerical solver: each observation is one
closed-form update. This example times one training step of
:class:`sklearn_cfc.nn.CfC` against the official ``ncps`` implementation of
CfC and LTC and against PyTorch's LSTM, on the same small problem. The full,
repeated benchmark with an ODE-RNN and two problem sizes is
``benchmarks/speed.py``.
"""

# %%
# One batch of irregular sequences: 32 sequences of 30 steps with 8
# channels, a gap before each step, and a regression target per step.
import time

import matplotlib.pyplot as plt
import numpy as np
import torch

from sklearn_cfc.nn import CfC

torch.manual_seed(0)
B, T, C, H = 32, 30, 8, 32
x = torch.randn(B, T, C)
dt = torch.rand(B, T) * 2
target = torch.randn(B, T, 1)

# %%
# Each model gets the same linear readout, loss and optimizer. ``ncps`` is
# optional (it comes with the ``dev`` extra); without it only our CfC and the
# LSTM are timed. Its sequence classes mis-handle per-sample time spans in a
# batch, so they run with unit gaps; the arithmetic per step is the same.
models = {"CfC (sklearn-cfc)": (CfC(C, H), lambda m: m(x, dt)[0])}
try:
    from ncps.torch import LTC
    from ncps.torch import CfC as NcpsCfC

    models["CfC (ncps)"] = (NcpsCfC(C, H, batch_first=True), lambda m: m(x)[0])
    models["LTC (ncps)"] = (LTC(C, H, batch_first=True), lambda m: m(x)[0])
except ImportError:
    print("ncps is not installed: timing our CfC and the LSTM only")
models["LSTM (torch)"] = (
    torch.nn.LSTM(C, H, batch_first=True),
    lambda m: m(x)[0],
)


def step_time(model, forward, repeats=7):
    """Median seconds of one training step (forward, backward, Adam)."""
    readout = torch.nn.Linear(H, 1)
    params = [*model.parameters(), *readout.parameters()]
    optimizer = torch.optim.Adam(params, lr=1e-3)
    times = []
    for i in range(repeats + 2):
        start = time.perf_counter()
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(readout(forward(model)), target)
        loss.backward()
        optimizer.step()
        if i >= 2:  # the first steps warm up
            times.append(time.perf_counter() - start)
    return float(np.median(times))


timings = {name: step_time(model, fwd) for name, (model, fwd) in models.items()}
ours = timings["CfC (sklearn-cfc)"]
for name, seconds in timings.items():
    print(f"{name:18s} {1e3 * seconds:7.2f} ms  ({seconds / ours:5.1f}x ours)")

# %%
# The time per training step on a log scale. An ODE-based LTC unfolds its
# solver several times per observation; the CfC does one closed-form update,
# and the fused loop of sklearn-cfc avoids the autograd graph per step.
fig, ax = plt.subplots(figsize=(6, 3))
names = list(timings)
ax.barh(names, [1e3 * timings[n] for n in names], color="tab:blue")
ax.set_xscale("log")
ax.set_xlabel("training step (ms, log scale)")
ax.invert_yaxis()
ax.set_title(f"batch {B}, {T} steps, {C} channels, {H} units")
fig.tight_layout()
plt.show()
