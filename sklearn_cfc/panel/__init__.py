"""Irregular panel data in: every accepted format to one validated value.

Pure numpy/pandas (no torch). :func:`to_panel` turns what users hold into a
:class:`Panel`; :class:`PanelEncoder` turns a panel into network inputs;
:func:`bucket_batches` and :func:`take_batch` order and slice batches.
"""

from ._batch import bucket_batches, take_batch
from ._convert import check_y_length, count_instances, to_panel
from ._encode import EncodedPanel, PanelEncoder
from ._long import from_long
from ._panel import Panel
from ._time import TIME_UNITS

__all__ = [
    "TIME_UNITS",
    "EncodedPanel",
    "Panel",
    "PanelEncoder",
    "bucket_batches",
    "check_y_length",
    "count_instances",
    "from_long",
    "take_batch",
    "to_panel",
]
