"""Pure-PyTorch closed-form continuous-time (CfC) networks.

:class:`CfCCell` advances a hidden state by one observation and the time
elapsed since the previous one; :class:`CfC` runs it over batches of
irregularly timed, variable-length sequences with a fused loop. Heads turn
its outputs into predictions (:class:`LinearHead`, :class:`GaussianHead`,
with the loss :class:`MaskedGaussianNLLLoss`; :class:`PerStepLoss` for
a label per step), and
:class:`CfCSequenceNetwork` and :class:`CfCForecastNetwork` put core and
head together. This subpackage imports torch only, never scikit-learn,
skorch or pandas.
"""

from ._cell import ACTIVATIONS as _ACTIVATIONS
from ._cell import MODES as _MODES
from ._cell import CfCCell
from ._cfc import CfC
from ._heads import (
    READOUTS,
    CfCForecastNetwork,
    CfCSequenceNetwork,
    GaussianHead,
    LinearHead,
    MaskedGaussianNLLLoss,
    PerStepLoss,
)
from ._patch import patch_sequences, patched_size

#: Names of the closed-form updates ``mode`` accepts.
MODES = tuple(_MODES)
#: Names of the backbone activations ``activation`` accepts.
ACTIVATIONS = tuple(_ACTIVATIONS)

__all__ = [
    "ACTIVATIONS",
    "MODES",
    "READOUTS",
    "CfC",
    "CfCCell",
    "CfCForecastNetwork",
    "CfCSequenceNetwork",
    "GaussianHead",
    "LinearHead",
    "MaskedGaussianNLLLoss",
    "PerStepLoss",
    "patch_sequences",
    "patched_size",
]
