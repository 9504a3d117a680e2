"""
======================================================
Forecasting an irregularly observed series at any time
======================================================

Many series are not observed on a regular grid: sensors report when they
can, patients are measured when someone has time. :class:`sklearn_cfc.CfCForecaster`
reads each observation together with the time elapsed since the previous
one, and forecasts by advancing its state by the actual gap to each
requested timestamp. So it needs no resampling, and it can forecast at
any future timestamps, given as an absolute forecasting horizon.
"""

# %%
# A damped oscillation observed at random times: the gaps between
# observations are drawn at random, so the series has a DatetimeIndex without
# a frequency. The last few hours are held out.
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sktime.forecasting.base import ForecastingHorizon

from sklearn_cfc import CfCForecaster

rng = np.random.default_rng(0)
hours = np.cumsum(rng.exponential(0.4, size=300))
signal = 10 + 5 * np.exp(-hours / 400) * np.sin(2 * np.pi * hours / 6)
values = signal + rng.normal(0, 0.2, size=len(hours))
start = pd.Timestamp("2024-01-01")
index = pd.DatetimeIndex(start + pd.to_timedelta(np.round(hours * 3600), "s"))
y = pd.Series(values, index=index, name="reading")
y_train, y_test = y[:-15], y[-15:]
print(f"frequency of the index: {y.index.freq}")
print("gaps between the first observations:")
print(y.index[:6].to_series().diff().dropna().astype(str).to_list())

# %%
# One forecaster is fitted on the past. ``horizon`` is how many future
# observations each training window learns to forecast.
forecaster = CfCForecaster(
    context_length=30,
    horizon=15,
    units=32,
    max_epochs=80,
    n_iter_no_change=100,
    random_state=0,
)
forecaster.fit(y_train)
print(f"trained for {forecaster.n_iter_} epochs")

# %%
# Forecast at the held-out observation times, which are irregular too: an
# absolute forecasting horizon lists the timestamps themselves. The Gaussian
# head also gives an 80% prediction interval.
fh = ForecastingHorizon(y_test.index, is_relative=False)
y_pred = forecaster.predict(fh)
interval = forecaster.predict_interval(fh, coverage=0.8)
lower, upper = interval.iloc[:, 0], interval.iloc[:, 1]
inside = ((y_test >= lower) & (y_test <= upper)).mean()
mae = np.mean(np.abs(y_pred - y_test))
mae_last = np.mean(np.abs(y_train.iloc[-1] - y_test))
print(f"MAE {mae:.2f} (last value carried forward: {mae_last:.2f})")
print(f"{inside:.0%} of the held-out observations lie inside the 80% interval")
print(pd.DataFrame({"observed": y_test, "forecast": y_pred}).head())

# %%
# Any other timestamps work as well, for example three chosen by hand that lie
# on no grid at all.
last = y_train.index[-1]
when = pd.DatetimeIndex([last + pd.Timedelta(m, "min") for m in (20, 95, 310)])
print(forecaster.predict(ForecastingHorizon(when, is_relative=False)))

# %%
# The training data, the held-out observations and the forecast with its
# interval.
fig, ax = plt.subplots(figsize=(9, 3.5))
recent = y_train[y_train.index > last - pd.Timedelta(24, "h")]
ax.plot(recent.index, recent, ".", color="C0", label="observed (training)")
ax.plot(y_test.index, y_test, "o", color="C0", mfc="none", label="observed (held out)")
ax.plot(y_pred.index, y_pred, "x-", color="C1", label="forecast")
ax.fill_between(y_pred.index, lower, upper, color="C1", alpha=0.25, label="80%")
ax.set(ylabel="reading", title="Forecasts at irregular timestamps")
ax.legend(loc="upper left", ncol=2)
fig.autofmt_xdate()
fig.tight_layout()
plt.show()
