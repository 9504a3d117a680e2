"""Pure-PyTorch closed-form continuous-time (CfC) networks.

:class:`CfCCell` advances a hidden state by one observation and the time
elapsed since the previous one; :class:`CfC` runs it over batches of
irregularly timed, variable-length sequences with a fused loop. This
subpackage imports torch only, never scikit-learn, skorch or pandas.
"""

from ._cell import CfCCell
from ._cfc import CfC

__all__ = ["CfC", "CfCCell"]
