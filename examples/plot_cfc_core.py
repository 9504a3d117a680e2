"""
=====================================================
The CfC core on an irregularly sampled damped spring
=====================================================

A closed-form continuous-time network reads the time elapsed since the
previous observation, so it can learn dynamics from series observed at
irregular times. Here :class:`sklearn_cfc.nn.CfC` learns to predict the next
position of a damped spring from positions observed at random times.
"""

# %%
# Irregular observations of a damped oscillation: each series has its own
# frequency and random gaps between observations.
import matplotlib.pyplot as plt
import numpy as np
import torch

from sklearn_cfc.nn import CfC

rng = np.random.default_rng(0)
torch.manual_seed(0)
n_series, n_obs = 256, 40
gaps = rng.exponential(0.3, size=(n_series, n_obs)).astype(np.float32)
times = np.cumsum(gaps, axis=1)
omega = rng.uniform(1.5, 3.0, size=(n_series, 1))
values = (np.exp(-0.1 * times) * np.cos(omega * times)).astype(np.float32)

x = torch.from_numpy(values[:, :-1, None])
dt = torch.from_numpy(gaps[:, :-1])
target = torch.from_numpy(values[:, 1:])
next_gap = torch.from_numpy(gaps[:, 1:])

# %%
# The network sees each value, the gap before it, and the gap to the value it
# must predict; a linear readout maps its state to the prediction.
core = CfC(input_size=2, units=32)
readout = torch.nn.Linear(32, 1)
params = [*core.parameters(), *readout.parameters()]
optimizer = torch.optim.Adam(params, lr=1e-2)
inputs = torch.cat([x, next_gap[..., None]], dim=-1)
losses = []
for _epoch in range(150):
    optimizer.zero_grad()
    out, _ = core(inputs, dt)
    loss = torch.nn.functional.mse_loss(readout(out).squeeze(-1), target)
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
print(f"final training MSE {losses[-1]:.4f} (variance {target.var().item():.4f})")

# %%
# One series, its irregular observations and the one-step-ahead predictions.
with torch.no_grad():
    prediction = readout(core(inputs, dt)[0]).squeeze(-1)
fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 3.5))
ax0.plot(losses)
ax0.set(xlabel="epoch", ylabel="training MSE", yscale="log", title="Training")
ax1.plot(times[0, 1:], values[0, 1:], "o", label="observed")
ax1.plot(times[0, 1:], prediction[0], "x-", label="predicted one step ahead")
ax1.set(xlabel="time", title="One irregular series")
ax1.legend()
fig.tight_layout()
plt.show()
