"""
=================================================
Forecasting airline passengers with CfCForecaster
=================================================

:class:`sklearn_cfc.CfCForecaster` is an sktime forecaster, so it fits into
sktime's workflows. Here it forecasts the last three years of the classic
airline passenger series with an 80% prediction interval, and is compared
with the seasonal naive forecast.
"""

# %%
# Monthly passenger totals from 1949 to 1960; the last 36 months are held out.
import matplotlib.pyplot as plt
from sktime.datasets import load_airline
from sktime.forecasting.naive import NaiveForecaster
from sktime.performance_metrics.forecasting import mean_absolute_percentage_error

from sklearn_cfc import CfCForecaster

y = load_airline()
y_train, y_test = y[:-36], y[-36:]
fh = list(range(1, 37))

# %%
# The network reads the last 36 months before a cutoff; during training it
# learns to forecast each of the next 36 months (the length of ``fh``) in one
# step from the state at the cutoff. Each training window is taken relative to
# its last value, so the rising level of the series is no obstacle.
forecaster = CfCForecaster(
    context_length=36,
    units=32,
    max_epochs=150,
    n_iter_no_change=200,
    random_state=0,
)
forecaster.fit(y_train, fh=fh)
y_pred = forecaster.predict()
interval = forecaster.predict_interval(coverage=0.8)

# %%
# The symmetric mean absolute percentage error, next to the seasonal naive
# forecast (each month repeats the same month one year earlier).
naive = NaiveForecaster(strategy="last", sp=12).fit(y_train, fh=fh)
for name, pred in [
    ("CfCForecaster", y_pred),
    ("seasonal naive", naive.predict()),
]:
    smape = mean_absolute_percentage_error(y_test, pred, symmetric=True)
    print(f"{name:<20} sMAPE {smape:.3f}")
lower, upper = interval.iloc[:, 0], interval.iloc[:, 1]
inside = ((y_test >= lower) & (y_test <= upper)).mean()
print(f"{inside:.0%} of the held-out months lie inside the 80% interval")

# %%
# The forecast and its 80% interval. (sktime's ``plot_series`` draws the same
# with ``pred_interval=interval`` when seaborn is installed.)
fig, ax = plt.subplots(figsize=(9, 3.5))
months = y.index.to_timestamp()
ax.plot(months[:-36], y_train, label="training")
ax.plot(months[-36:], y_test, label="held out")
ax.plot(months[-36:], y_pred, label="CfCForecaster")
ax.fill_between(months[-36:], lower, upper, color="C2", alpha=0.25, label="80%")
ax.set(ylabel="passengers (thousands)", title="Airline passengers")
ax.legend(loc="upper left")
fig.tight_layout()
plt.show()
