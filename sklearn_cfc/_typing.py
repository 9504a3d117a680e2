"""Type aliases of the public API, and a typed decorator (private).

One place for the types that several signatures share. The string options
are ``Literal`` types that match the run-time tuples (``sklearn_cfc.nn.MODES``
and the like; ``tests/test_typing.py`` checks it). The aliases that name
numpy, pandas, torch or sklearn_cfc types are strings, read by type
checkers only, so importing this module imports none of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, TypeAlias, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    import numpy as np
    import pandas as pd
    import torch
    from numpy.typing import ArrayLike
    from skorch.callbacks import Callback

    from .panel import Panel

# ------------------------------------------------------------- string options
#: The closed-form updates (``sklearn_cfc.nn.MODES``).
Mode: TypeAlias = Literal["default", "no_gate", "pure"]
#: The backbone activations (``sklearn_cfc.nn.ACTIVATIONS``).
Activation: TypeAlias = Literal["lecun_tanh", "tanh", "relu", "gelu", "silu"]
#: How a sequence's outputs become one vector (``sklearn_cfc.nn.READOUTS``).
Readout: TypeAlias = Literal["last", "mean", "max", "all"]
#: The optimizers the estimators train with.
Optimizer: TypeAlias = Literal["adamw", "adam", "sgd", "rmsprop"]
#: The learning-rate schedules.
LRSchedule: TypeAlias = Literal["cosine", "plateau", "constant"]
#: The units that datetime and timedelta timestamps become
#: (``sklearn_cfc.panel.TIME_UNITS``).
TimeUnit: TypeAlias = Literal["ns", "us", "ms", "s", "min", "h", "D"]
#: The panel formats (``sklearn_cfc.panel.input_format``).
PanelFormat: TypeAlias = Literal[
    "Panel", "numpy", "np-list", "df-list", "pd-multiindex", "nested_univ", "pd-wide"
]
#: How repeated events at one time are combined (``from_long``).
Aggregation: TypeAlias = Literal["mean", "sum", "first", "last", "min", "max"]

# ------------------------------------------------------ input encoding options
#: ``scale``: standard (True) or robust scaling, none, or "auto" (standard, after
#: compressing channels whose scale spans orders of magnitude between series).
Scaling: TypeAlias = "bool | Literal['standard', 'robust', 'auto']"
#: ``running_stats``: all four (True), none, or some of them by name.
RunningStats: TypeAlias = "bool | list[str] | tuple[str, ...]"
#: ``dt_scale``: learnt from the data ("median") or given.
DtScale: TypeAlias = "float | Literal['median']"
#: ``time_grid``: a grid step, chosen from the data ("auto"), or no grid.
TimeGrid: TypeAlias = "float | Literal['auto'] | None"
#: ``fill``: steps without an observation carry the latest values forward
#: (with the observation mask and the time since), or draw them linearly;
#: "auto" draws them for dense series on a time grid.
Fill: TypeAlias = "Literal['auto', 'forward', 'linear']"
#: ``time_unit`` as a unit name or as a duration.
TimeUnitLike: TypeAlias = "TimeUnit | pd.Timedelta"

# -------------------------------------------------------------------- data
#: Any panel :func:`sklearn_cfc.panel.to_panel` accepts: a Panel, an array
#: (2D or 3D, or anything with ``__array__``), a DataFrame (MultiIndex,
#: nested or wide) or MultiIndex Series, or a list or tuple of per-instance
#: DataFrames, Series or arrays.
PanelLike: TypeAlias = (
    "Panel | ArrayLike | pd.DataFrame | pd.Series"
    " | Sequence[pd.DataFrame | pd.Series | ArrayLike]"
)
#: What the estimators predict on: a panel, or an iterator of panels
#: (batches).
PanelOrBatches: TypeAlias = "PanelLike | Iterator[PanelLike]"

# ----------------------------------------------------------------- settings
#: A seed, a RandomState instance or None (scikit-learn's ``random_state``).
RandomStateLike: TypeAlias = "int | np.random.RandomState | None"
#: Where a network runs: a device name ("auto", "cpu", "cuda", ...) or one.
Device: TypeAlias = "str | torch.device"
#: skorch callbacks: instances, or (name, callback) pairs.
Callbacks: TypeAlias = "list[Callback | tuple[str, Callback]]"

# ----------------------------------------------------------------- networks
#: A CfC's state: ``h``, or ``(h, c)`` with mixed memory.
State: TypeAlias = "torch.Tensor | tuple[torch.Tensor, torch.Tensor]"


# --------------------------------------------------------------- decorators
_F = TypeVar("_F", bound="Callable[..., Any]")


def fit_context(*, prefer_skip_nested_validation: bool) -> Callable[[_F], _F]:
    """scikit-learn's ``_fit_context`` decorator, typed to keep the signature.

    scikit-learn ships no type information, so to a type checker a method
    decorated with its ``_fit_context`` has no signature at all (``fit``
    would return ``Any``); this is the same decorator, with one.
    """
    from sklearn.base import _fit_context

    return _fit_context(prefer_skip_nested_validation=prefer_skip_nested_validation)
