"""Irregular panel data in: every accepted format to one validated value.

Pure numpy/pandas (no torch). :func:`to_panel` turns what users hold into a
:class:`Panel`, dispatching on :func:`input_format`; :class:`PanelEncoder`
turns a panel into network inputs; :func:`bucket_batches` orders batches of
similar length. For forecasting, :func:`series_to_panel` reads sktime's
series containers and :func:`training_windows` and :func:`forecast_windows`
cut :class:`ForecastWindows` out of a panel.
"""

from ._batch import bucket_batches
from ._convert import check_y_length, count_instances, input_format, to_panel
from ._encode import EncodedPanel, PanelEncoder, check_channels
from ._long import from_long
from ._panel import Panel
from ._summaries import PanelSummarizer
from ._time import TIME_UNITS
from ._transformers import ChannelSelector, PanelResampler, PanelScaler
from ._window import (
    ForecastWindows,
    forecast_windows,
    series_to_panel,
    training_windows,
)

__all__ = [
    "TIME_UNITS",
    "ChannelSelector",
    "EncodedPanel",
    "ForecastWindows",
    "Panel",
    "PanelEncoder",
    "PanelResampler",
    "PanelScaler",
    "PanelSummarizer",
    "bucket_batches",
    "check_channels",
    "check_y_length",
    "count_instances",
    "forecast_windows",
    "from_long",
    "input_format",
    "series_to_panel",
    "to_panel",
    "training_windows",
]
