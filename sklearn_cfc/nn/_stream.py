"""A CfC network with its input encoding, one observation at a time (private).

:class:`CfCStream` holds a fitted :class:`~sklearn_cfc.nn.CfCSequenceNetwork`
and the constants of the encoding the network was trained on (per-channel
centre and scale, time scale, time grid, ...), and turns raw observations
(values with NaN where a channel is unobserved, and a float64 time) into
predictions, one observation per call: the online form of what
``staged_predict`` computes. It is written for TorchScript
(``torch.jit.script``) and for the TorchScript-based ONNX exporter, so that
a model can be served without this package, and imports torch only.
"""

import copy
import math
import numbers
import warnings
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from ._heads import CfCSequenceNetwork
from ._patch import patch_sequences, patched_size

__all__ = ["ERRORS", "STATE_NAMES", "CfCStream"]

#: Names of the state tensors, in the order :meth:`CfCStream.step` takes them.
STATE_NAMES = ("channels", "times", "counters", "network", "patch")

#: Error codes of :meth:`CfCStream.check` (0: none).
ERRORS = {
    1: "a missing or infinite time",
    2: "a time not after the series' previous observation",
    3: "an infinite value",
    4: "an encoded input beyond the float32 range",
}


class _PatchStep(nn.Module):
    """One CfC step over one patch (cut short by ``span``); traced."""

    def __init__(self, network: CfCSequenceNetwork) -> None:
        super().__init__()
        self.cfc = network.cfc
        self.patch_length = network.patch_length

    def forward(
        self, steps: Tensor, gaps: Tensor, span: Tensor, h: Tensor, c: Tensor
    ) -> tuple[Tensor, Tensor]:
        x, dt, _ = patch_sequences(steps, gaps, span, self.patch_length)
        x = x[:, 0]
        lstm = self.cfc.lstm
        if lstm is not None:
            # torch.nn.LSTMCell's update, its gates sliced rather than
            # chunked (the ONNX exporter cannot chunk inside a loop)
            gates = nn.functional.linear(
                x, lstm.weight_ih, lstm.bias_ih
            ) + nn.functional.linear(h, lstm.weight_hh, lstm.bias_hh)
            u = lstm.hidden_size
            i, f = torch.sigmoid(gates[:, :u]), torch.sigmoid(gates[:, u : 2 * u])
            g, o = torch.tanh(gates[:, 2 * u : 3 * u]), torch.sigmoid(gates[:, 3 * u :])
            c = f * c + i * g
            h = o * torch.tanh(c)
        return self.cfc.cell._step(x, h, dt[:, :1]), c


class _Head(nn.Module):
    """The head's readout from its parts, then its linear layer; traced."""

    def __init__(self, network: CfCSequenceNetwork) -> None:
        super().__init__()
        self.head = network.head

    def forward(
        self, last: Tensor, total: Tensor, peak: Tensor, count: Tensor
    ) -> Tensor:
        return self.head.linear(self.head.combine(last, total, peak, count))


def _vector(values: Any, n: int, name: str, each: str = "channel") -> Tensor:
    out = torch.as_tensor(values, dtype=torch.float64).reshape(-1).clone()
    if out.shape != (n,) or not bool(torch.isfinite(out).all()):
        raise ValueError(
            f"CfCStream: {name} must hold {n} finite numbers (one per {each}), "
            f"got {out.numel()} values: {out.tolist()[:8]}."
        )
    return out


def _positive(value: Any, name: str, *, optional: bool = False) -> float:
    if value is None and optional:
        return 0.0
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not 0 < float(value) < math.inf
    ):
        what = "None or a positive float" if optional else "a positive float"
        raise ValueError(f"CfCStream: {name} must be {what}, got {value!r}.")
    return float(value)


class CfCStream(nn.Module):
    r"""A fitted CfC network and its input encoding, fed one observation at a time.

    The online form of a fitted estimator's ``staged_predict``: after each
    observation of a series, :meth:`step` gives what the estimator predicts
    on the series cut after it, from the raw values (NaN where a channel is
    unobserved) and the observation's time, carrying a fixed set of state
    tensors from one call to the next. :meth:`forward` loops it over whole
    series and gives the prediction after the last observation of each,
    what ``predict`` gives. The encoding (per-channel scaling, forward fill,
    observation masks, time since each channel's last observation, changes,
    running statistics, the time grid, Δt divided by the time scale) and the
    network (patches, the CfC core with or without mixed memory, the
    readout and the linear head) are those of the estimator, so the module
    needs nothing but torch and scripts with :func:`torch.jit.script`.

    Parameters
    ----------
    network : CfCSequenceNetwork
        The fitted network; copied, to the CPU, in evaluation mode.
    mean, scale : array-like of shape (C,)
        Each channel's centre and scale: the network reads
        ``(value - mean) / scale``.
    compress : array-like of shape (C,) or None, default=None
        ``PanelEncoder``'s ``compress_``: where positive, each value of the
        channel (a grid point's average, with a grid) is first mapped to
        ``asinh(value / compress)`` and rounded to float32, as
        ``scale="auto"`` does; None or 0 leave the channel as it is.
    dt_scale : float
        The time scale gaps and times since an observation are divided by.
    clip : float or None, default=None
        Clip scaled values and changes to ``[-clip, clip]`` (robust scaling).
    change_scale : array-like of shape (C,) or None, default=None
        With a value, each step also reads each channel's change since its
        previous observation divided by it (``differences``).
    running_stats : sequence of str, default=()
        Running statistics of the scaled values appended per channel, among
        "min", "max", "mean", "count", in this order.
    time_grid : float or None, default=None
        The grid step: observations are moved to the nearest point of a grid
        starting at each series' first observation; those meeting at a point
        are averaged, points without one are steps with nothing observed.
    fill : {"forward", "linear"}, default="forward"
        What a grid point without an observation holds (``PanelEncoder``'s
        ``fill``): each channel's latest value, with the observation masks
        and the times since each channel's latest observation as inputs; or
        a value drawn towards the channel's observation at the next point
        that has one, with changes along the drawn path and neither masks
        nor times since.
    proba : bool, default=False
        Return the softmax of the network's outputs (class probabilities).
    target_mean, target_scale : array-like of shape (D,) or None, default=None
        Return ``outputs * target_scale + target_mean`` (a regressor's
        targets); both or neither.

    Attributes
    ----------
    n_channels : int
        Number ``C`` of channels each observation holds.
    n_outputs : int
        Number ``D`` of outputs per prediction.
    metadata : str
        Free text (JSON, from :func:`sklearn_cfc.export.export_torchscript`)
        kept with the module when scripted and saved.

    Notes
    -----
    Shapes, where ``B`` is the number of series, ``T`` the number of
    observations, ``C`` = ``n_channels``, ``D`` = ``n_outputs``, ``H`` the
    CfC's units, ``k`` the patch length and ``F`` the width of an encoded
    step:

    - ``values``: (B, C) for :meth:`step`, (B, T, C) for :meth:`forward`,
      float32 (other float dtypes are cast), NaN where unobserved. A row with
      every channel NaN is not an observation: it changes nothing.
    - ``time``: (B,) for :meth:`step`, (B, T) for :meth:`forward`, float64:
      strictly increasing within a series.
    - the state: five tensors (:data:`STATE_NAMES`), all zero at the start
      of a series (:meth:`initial_state`): ``channels`` (B, 9, C) float64,
      ``times`` (B, 4) float64, ``counters`` (B, 4) int64, ``network``
      (B, 4, H) float32 and ``patch`` (B, k, F + 1) float32. They hold the
      encoder's running state before the current step (the latest value,
      the time of the latest observation, the number of observations and
      the running minimum, maximum and sum of each channel, and the value
      the previous step held), the current step (the sums and counts of
      the observations at the current grid point, its time), the times of
      the previous step, of the first and of the latest observation, the
      number of steps, of observations, the current grid point and the
      number of grid points without an observation before it not yet
      encoded, the network's state before the current patch (``h``, ``c``
      with mixed memory, and the sum and maximum of the outputs of the
      patches so far), and the encoded steps of the current patch.
    - outputs: (B, D) float64; NaN for a series without an observation yet.

    The output after an observation is that of one CfC step over the
    current patch, cut after the current step, from the state before the
    patch: what ``CfCSequenceNetwork.forward_prefixes`` computes. An
    observation at the current grid point re-encodes that point from the
    state before it, with the average of its observations; one at a later
    point first closes the current one, with the grid points without an
    observation before it, and opens its own. Those empty points are
    encoded when the point after them closes, because with
    ``fill="linear"`` they are drawn towards its values; until then each
    prediction encodes them as they stand.

    Examples
    --------
    >>> import torch
    >>> from sklearn_cfc.nn import CfCSequenceNetwork
    >>> from sklearn_cfc.nn._stream import CfCStream
    >>> net = CfCSequenceNetwork(3 * 2, 1, units=4).eval()  # 2 channels
    >>> stream = CfCStream(net, mean=[0.0, 0.0], scale=[1.0, 1.0], dt_scale=1.0)
    >>> values = torch.tensor([[[0.5, float("nan")], [1.0, 2.0]]])
    >>> times = torch.tensor([[0.0, 1.5]], dtype=torch.float64)
    >>> state = stream.initial_state(1)
    >>> for t in range(2):
    ...     out, state = stream.step(values[:, t], times[:, t], state)
    >>> torch.allclose(out, stream(values, times))
    True
    """

    mean: Tensor
    scale: Tensor
    compress: Tensor
    change_scale: Tensor
    target_mean: Tensor
    target_scale: Tensor

    # rows of the state tensors (see the Notes)
    FILLED, LAST_TIME, COUNT, ZMIN, ZMAX, ZSUM, OPEN_SUM, OPEN_COUNT = range(8)
    PREV_VALUE = 8
    PREV_TIME, T0, OPEN_TIME, LAST_OBS = range(4)
    N_STEPS, N_OBS, SLOT, PENDING = range(4)
    HIDDEN, MEMORY, TOTAL, PEAK = range(4)

    __constants__ = [
        "n_channels",
        "n_outputs",
        "width",
        "patch_length",
        "units",
        "dt_scale",
        "clip",
        "has_clip",
        "has_compress",
        "differences",
        "stat_min",
        "stat_max",
        "stat_mean",
        "stat_count",
        "grid",
        "has_grid",
        "linear",
        "proba",
        "affine",
        "FILLED",
        "LAST_TIME",
        "COUNT",
        "ZMIN",
        "ZMAX",
        "ZSUM",
        "OPEN_SUM",
        "OPEN_COUNT",
        "PREV_VALUE",
        "PREV_TIME",
        "T0",
        "OPEN_TIME",
        "LAST_OBS",
        "N_STEPS",
        "N_OBS",
        "SLOT",
        "PENDING",
        "HIDDEN",
        "MEMORY",
        "TOTAL",
        "PEAK",
    ]

    def __init__(
        self,
        network: CfCSequenceNetwork,
        *,
        mean: Any,
        scale: Any,
        dt_scale: float,
        compress: Any = None,
        clip: float | None = None,
        change_scale: Any = None,
        running_stats: Sequence[str] = (),
        time_grid: float | None = None,
        fill: str = "forward",
        proba: bool = False,
        target_mean: Any = None,
        target_scale: Any = None,
    ) -> None:
        super().__init__()
        if not isinstance(network, CfCSequenceNetwork):
            raise TypeError(
                "CfCStream: network must be a CfCSequenceNetwork, got "
                f"{type(network).__name__}."
            )
        network = copy.deepcopy(network).cpu().float().eval()
        for p in network.parameters():
            p.requires_grad_(False)
        mean_ = torch.as_tensor(mean, dtype=torch.float64).reshape(-1)
        C = int(mean_.numel())
        self.n_channels = C
        self.register_buffer("mean", _vector(mean, C, "mean"))
        self.register_buffer("scale", _vector(scale, C, "scale"))
        self.register_buffer(
            "compress",
            torch.zeros(C, dtype=torch.float64)
            if compress is None
            else _vector(compress, C, "compress"),
        )
        self.has_compress = bool((self.compress > 0).any())
        self.dt_scale = _positive(dt_scale, "dt_scale")
        self.clip = _positive(clip, "clip", optional=True)
        self.has_clip = clip is not None
        self.differences = change_scale is not None
        self.register_buffer(
            "change_scale",
            _vector(change_scale, C, "change_scale")
            if change_scale is not None
            else torch.ones(C, dtype=torch.float64),
        )
        stats = tuple(running_stats)
        known = ("min", "max", "mean", "count")
        if any(s not in known for s in stats) or len(set(stats)) != len(stats):
            raise ValueError(
                f"CfCStream: running_stats must be distinct names among {known}, "
                f"got {stats!r}."
            )
        self.stat_min, self.stat_max = "min" in stats, "max" in stats
        self.stat_mean, self.stat_count = "mean" in stats, "count" in stats
        self.grid = _positive(time_grid, "time_grid", optional=True)
        self.has_grid = time_grid is not None
        if fill not in ("forward", "linear"):
            raise ValueError(
                f"CfCStream: fill must be 'forward' or 'linear', got {fill!r}."
            )
        self.linear = fill == "linear"
        self.width = (
            (1 if self.linear else 3) + int(self.differences) + len(stats)
        ) * C
        k = network.patch_length
        if network.cfc.input_size != patched_size(self.width, k):
            raise ValueError(
                f"CfCStream: the network reads {network.cfc.input_size} inputs "
                f"per step, but {C} channels with these encoding options make "
                f"{patched_size(self.width, k)} (patch_length={k})."
            )
        self.patch_length = k
        self.units = network.cfc.units
        self.n_outputs = network.head.linear.out_features
        self.proba = bool(proba)
        self.affine = target_mean is not None or target_scale is not None
        D = self.n_outputs
        if self.affine:
            if target_mean is None or target_scale is None:
                raise ValueError(
                    "CfCStream: pass both target_mean and target_scale, or neither."
                )
            self.register_buffer(
                "target_mean", _vector(target_mean, D, "target_mean", "output")
            )
            self.register_buffer(
                "target_scale", _vector(target_scale, D, "target_scale", "output")
            )
        else:
            self.register_buffer("target_mean", torch.zeros(D, dtype=torch.float64))
            self.register_buffer("target_scale", torch.ones(D, dtype=torch.float64))
        self.metadata = "{}"
        # the network's own code, traced once: the CfC step over a patch and
        # the head (their Python-level branches are fixed by the model)
        B, H, F = 2, self.units, self.width
        with torch.no_grad(), warnings.catch_warnings():
            # the patch's length is fixed: patch_sequences' shape branches are
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            # torch >= 2.10 deprecates TorchScript, which it still runs
            warnings.simplefilter("ignore", DeprecationWarning)
            self.patch_step = torch.jit.trace(
                _PatchStep(network),
                (
                    torch.zeros(B, k, F),
                    torch.ones(B, k),
                    torch.ones(B, dtype=torch.long),
                    torch.zeros(B, H),
                    torch.zeros(B, H),
                ),
            )
            self.head = torch.jit.trace(
                _Head(network),
                (
                    torch.zeros(B, H),
                    torch.zeros(B, H),
                    torch.zeros(B, H),
                    torch.ones(B, 1),
                ),
            )

    # ------------------------------------------------------------ public
    @torch.jit.export
    def initial_state(self, batch: int) -> list[Tensor]:
        """The state before any observation: zeros.

        Parameters
        ----------
        batch : int
            Number ``B`` of series.

        Returns
        -------
        list of Tensor
            The five state tensors (see the Notes).
        """
        C, H, k = self.n_channels, self.units, self.patch_length
        f64 = torch.float64
        return [
            torch.zeros(batch, 9, C, dtype=f64),
            torch.zeros(batch, 4, dtype=f64),
            torch.zeros(batch, 4, dtype=torch.long),
            torch.zeros(batch, 4, H),
            torch.zeros(batch, k, self.width + 1),
        ]

    @torch.jit.export
    def step(
        self, values: Tensor, time: Tensor, state: list[Tensor]
    ) -> tuple[Tensor, list[Tensor]]:
        """Feed one observation of each series; its prediction and the new state.

        Parameters
        ----------
        values : Tensor of shape (B, C)
            The observed values, NaN where a channel is unobserved; a row of
            NaN only is no observation (its series' state does not change).
        time : Tensor of shape (B,)
            The time of each observation (float64), after the series'
            previous one.
        state : list of Tensor
            The state after the previous observations (:meth:`initial_state`
            before the first); not modified.

        Returns
        -------
        outputs : Tensor of shape (B, D), float64
            The prediction after this observation (NaN before any).
        state : list of Tensor
            The new state.

        Raises
        ------
        ValueError
            On a time that is not after the series' previous observation, a
            missing time, an infinite value or a wrong shape, naming the
            series; nothing is realigned.
        """
        values, time = self._check_step_args(values, time, state)
        active = torch.ones(values.shape[0], dtype=torch.bool)
        err = self.check(values, time, active, state)
        self._raise(err, values, time, state, "")
        state, bad = self._advance(values, time, active, state, err)
        out, bad_now = self._predict(state)
        self._raise_overflow(bad | bad_now, "")
        return out, state

    @torch.jit.export
    def step_with_errors(
        self, values: Tensor, time: Tensor, state: list[Tensor]
    ) -> tuple[Tensor, Tensor, list[Tensor]]:
        """:meth:`step` that reports errors instead of raising them.

        For runtimes without exceptions (the ONNX graph is this method).
        Arguments as :meth:`step`, whose shape checks are left to the caller.

        Returns
        -------
        outputs : Tensor of shape (B, D), float64
            NaN before a series' first observation.
        errors : Tensor of shape (B,), int64
            0, or the code of what is wrong with the series' observation
            (see :meth:`check`; 4: an encoded input beyond float32, the
            series' state is then unusable). A series with an error code
            from 1 to 3 keeps its state.
        state : list of Tensor
            The new state.
        """
        values, time = values.to(torch.float32), time.to(torch.float64)
        active = torch.ones(values.shape[0], dtype=torch.bool)
        err = self.check(values, time, active, state)
        state, bad = self._advance(values, time, active, state, err)
        out, bad_now = self._predict(state)
        err = torch.where((err == 0) & (bad | bad_now), 4, err)
        return out, err, state

    def forward(
        self, values: Tensor, times: Tensor, lengths: Tensor | None = None
    ) -> Tensor:
        """The prediction after the last observation of each series.

        Parameters
        ----------
        values : Tensor of shape (B, T, C)
            NaN where unobserved; rows of NaN only, and rows from
            ``lengths[b]`` on, are not observations.
        times : Tensor of shape (B, T)
            float64, strictly increasing over each series' observations.
        lengths : Tensor of shape (B,) or None, default=None
            Number of rows of each series (None: all ``T``).

        Returns
        -------
        Tensor of shape (B, D), float64
            NaN for a series without any observation.
        """
        if values.dim() != 3 or values.shape[2] != self.n_channels:
            raise ValueError(
                f"CfCStream: expected values of shape (B, T, {self.n_channels}) "
                f"(channels in the order seen in fit), got {list(values.shape)}."
            )
        B, T = values.shape[0], values.shape[1]
        if times.dim() != 2 or times.shape[0] != B or times.shape[1] != T:
            raise ValueError(
                f"CfCStream: expected times of shape ({B}, {T}) to match values, "
                f"got {list(times.shape)}."
            )
        values = values.to(torch.float32)
        times = times.to(torch.float64)
        if lengths is None:
            n = torch.full((B,), T, dtype=torch.long)
        else:
            n = lengths.to(torch.long)
            if n.shape != (B,):
                raise ValueError(
                    f"CfCStream: expected lengths of shape ({B},), got {list(n.shape)}."
                )
        state = self.initial_state(B)
        bad = torch.zeros(B, dtype=torch.bool)
        for t in range(T):
            x, time = values[:, t], times[:, t]
            active = n > t
            err = self.check(x, time, active, state)
            self._raise(err, x, time, state, f" at row {t}")
            state, bad_t = self._advance(x, time, active, state, err)
            bad = bad | bad_t
        out, bad_now = self._predict(state)
        self._raise_overflow(bad | bad_now, "")
        return out

    @torch.jit.export
    def check(
        self, values: Tensor, time: Tensor, active: Tensor, state: list[Tensor]
    ) -> Tensor:
        """Error code of each series' observation (0: none, see ``ERRORS``).

        1: a missing or infinite time; 2: a time not after the series'
        previous observation; 3: an infinite value. Rows that are not
        ``active``, or hold no observation, have none.
        """
        observed = (~torch.isnan(values)).any(-1) & active
        last = state[1][:, self.LAST_OBS]
        started = state[2][:, self.N_OBS] > 0
        err = torch.zeros(values.shape[0], dtype=torch.long)
        err = torch.where(torch.isinf(values).any(-1), 3, err)
        err = torch.where(started & ~(time > last), 2, err)
        err = torch.where(~torch.isfinite(time), 1, err)
        return torch.where(observed, err, 0)

    # ----------------------------------------------------------- checks
    def _check_step_args(
        self, values: Tensor, time: Tensor, state: list[Tensor]
    ) -> tuple[Tensor, Tensor]:
        C = self.n_channels
        if values.dim() != 2 or values.shape[1] != C:
            raise ValueError(
                f"CfCStream.step: expected values of shape (B, {C}), one row per "
                f"series with its {C} channels in the order seen in fit; got "
                f"{list(values.shape)}."
            )
        B = values.shape[0]
        if time.dim() != 1 or time.shape[0] != B:
            raise ValueError(
                f"CfCStream.step: expected time of shape ({B},), one per row of "
                f"values; got {list(time.shape)}."
            )
        C, H, k = self.n_channels, self.units, self.patch_length
        shapes = [[B, 9, C], [B, 4], [B, 4], [B, 4, H], [B, k, self.width + 1]]
        dtypes = [torch.float64, torch.float64, torch.long, torch.float32]
        dtypes.append(torch.float32)
        if len(state) != len(shapes):
            raise ValueError(
                f"CfCStream.step: expected a state of {len(shapes)} tensors "
                f"(initial_state({B})), got {len(state)}."
            )
        for i in range(len(shapes)):
            if list(state[i].shape) != shapes[i]:
                raise ValueError(
                    f"CfCStream.step: expected state[{i}] of shape {shapes[i]} "
                    f"(initial_state({B})), got {list(state[i].shape)}."
                )
            if state[i].dtype != dtypes[i]:
                raise ValueError(
                    f"CfCStream.step: expected state[{i}] of dtype "
                    f"{dtypes[i]}, got {state[i].dtype}."
                )
        return values.to(torch.float32), time.to(torch.float64)

    def _raise(
        self, err: Tensor, values: Tensor, time: Tensor, state: list[Tensor], at: str
    ) -> None:
        if not bool((err > 0).any()):
            return
        b = int(torch.nonzero(err > 0)[0, 0])
        code = int(err[b])
        t = float(time[b])
        if code == 1:
            raise ValueError(
                f"CfCStream: series {b}{at} has the time {t}, not a finite number; "
                "every observation needs its time (float64)."
            )
        if code == 2:
            last = float(state[1][b, self.LAST_OBS])
            if t == last:
                raise ValueError(
                    f"CfCStream: series {b}{at} has the time {t} of its previous "
                    "observation; times must be strictly increasing within a "
                    "series (combine observations that share a time into one)."
                )
            raise ValueError(
                f"CfCStream: series {b}{at} has the time {t}, earlier than its "
                f"previous observation at {last}; feed each series' observations "
                "in increasing time order (nothing is realigned)."
            )
        c = int(torch.nonzero(torch.isinf(values[b]))[0, 0])
        raise ValueError(
            f"CfCStream: series {b}{at} has an infinite value in channel {c}; "
            "values must be finite, NaN where a channel is unobserved."
        )

    def _raise_overflow(self, bad: Tensor, at: str) -> None:
        if bool(bad.any()):
            b = int(torch.nonzero(bad)[0, 0])
            raise ValueError(
                f"CfCStream: series {b}{at} has a value, change or gap beyond the "
                "float32 range once scaled by the statistics of fit (about "
                "3.4e38); check its unit."
            )

    # ----------------------------------------------------------- encoding
    def _encode(
        self,
        channels: Tensor,
        counters: Tensor,
        values: Tensor,
        observed: Tensor,
        time: Tensor,
        shown: Tensor,
        prev_time: Tensor,
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Encode one step from the encoder's state before it.

        ``values`` (B, C) float64 (NaN unobserved), ``observed`` (B, C) bool,
        ``time`` (B,); ``shown`` (B, C) float64: the value the step holds
        for each channel (the latest observed one, or with ``fill="linear"``
        one drawn towards the next observation); ``prev_time`` (B,) the
        time of the previous step. Returns the step's inputs (B, F)
        float32, its Δt (B,) float32, whether an input is beyond float32,
        and the encoder's rows of ``channels`` after it (B, 6, C) followed
        by ``shown`` (B, 1, C).
        """
        filled, last_time = channels[:, self.FILLED], channels[:, self.LAST_TIME]
        count = channels[:, self.COUNT]
        before = count > 0
        seen = before | observed
        now = time[:, None]
        new_filled = torch.where(observed, values, filled)
        new_last = torch.where(observed, now, last_time)
        new_count = count + observed.to(torch.float64)
        head = ((shown - self.mean) / self.scale).to(torch.float32)
        if self.has_clip:
            head = head.clamp(-self.clip, self.clip)
        head = torch.where(seen, head, 0.0)
        parts = [head]
        if not self.linear:
            elapsed = (now - new_last).clamp_min(0.0)
            since = torch.log1p(elapsed / self.dt_scale).to(torch.float32)
            since = torch.where(seen, since, -1.0)
            parts += [observed.to(torch.float32), since]
        if self.differences:
            if self.linear:  # along the drawn path, from the previous step
                diff = shown - channels[:, self.PREV_VALUE]
                has = before
            else:  # since the channel's previous observation
                diff = values - filled
                has = observed & before
            change = (diff / self.change_scale).to(torch.float32)
            if self.has_clip:
                change = change.clamp(-self.clip, self.clip)
            parts.append(torch.where(has, change, 0.0))
        zmin, zmax = channels[:, self.ZMIN], channels[:, self.ZMAX]
        zsum = channels[:, self.ZSUM]
        if self.stat_min or self.stat_max or self.stat_mean:
            z = (values - self.mean) / self.scale
            if self.has_clip:
                z = z.clamp(-self.clip, self.clip)
            zmin = torch.where(
                observed, torch.where(before, torch.minimum(zmin, z), z), zmin
            )
            zmax = torch.where(
                observed, torch.where(before, torch.maximum(zmax, z), z), zmax
            )
            zsum = zsum + torch.where(observed, z, 0.0)
        if self.stat_min:
            parts.append(torch.where(seen, zmin.to(torch.float32), 0.0))
        if self.stat_max:
            parts.append(torch.where(seen, zmax.to(torch.float32), 0.0))
        if self.stat_mean:
            parts.append((zsum / new_count.clamp_min(1.0)).to(torch.float32))
        if self.stat_count:
            parts.append(torch.log1p(new_count.to(torch.float32)))
        x = torch.cat(parts, -1)
        first = counters[:, self.N_STEPS] == 0
        gap = ((time - prev_time) / self.dt_scale).to(torch.float32)
        dt = torch.where(first, 0.0, gap)
        bad = ~(torch.isfinite(x).all(-1) & torch.isfinite(dt))
        encoder = torch.stack(
            [new_filled, new_last, new_count, zmin, zmax, zsum, shown], 1
        )
        return x, dt, bad, encoder

    def _open_values(self, channels: Tensor) -> tuple[Tensor, Tensor]:
        """The current grid point's values (its observations averaged) and
        which channels it observes."""
        total, n = channels[:, self.OPEN_SUM], channels[:, self.OPEN_COUNT]
        observed = n > 0
        # as Panel.on_grid: the float32 mean of the values meeting at a point
        mean = (total / n.clamp_min(1.0)).to(torch.float32).to(torch.float64)
        if self.has_compress:
            mean = self._compress(mean)
        return torch.where(observed, mean, float("nan")), observed

    def _compress(self, values: Tensor) -> Tensor:
        """``asinh(values / compress)`` on the compressed channels, rounded
        to float32 as ``PanelEncoder`` rounds it. Written with logarithm and
        square root, which every ONNX runtime has, and ``log(2|x|)`` beyond
        1e8, where it equals asinh to float64 precision (and ``x * x``
        could overflow)."""
        on = self.compress > 0
        x = values / torch.where(on, self.compress, 1.0)
        a = x.abs()
        near = torch.log(a + torch.sqrt(torch.where(a > 1e8, 0.0, a * a) + 1.0))
        y = torch.sign(x) * torch.where(a > 1e8, torch.log(2.0 * a), near)
        return torch.where(on, y.to(torch.float32).to(torch.float64), values)

    def _open_step(
        self, channels: Tensor, times: Tensor, counters: Tensor
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """:meth:`_encode` of the current step (its observations averaged)."""
        values, observed = self._open_values(channels)
        shown = torch.where(observed, values, channels[:, self.FILLED])
        return self._encode(
            channels,
            counters,
            values,
            observed,
            times[:, self.OPEN_TIME],
            shown,
            times[:, self.PREV_TIME],
        )

    def _pending_step(
        self, channels: Tensor, times: Tensor, counters: Tensor, start: Tensor, e: int
    ) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        """:meth:`_encode` of the ``e``-th grid point without an observation
        before the current one (1: the first after the previous step, which
        was at time ``start``); also returns its time.

        Each channel keeps its latest value, or with ``fill="linear"`` is
        drawn on the line from it at ``start`` to its value at the current
        point, where the current point observes it.
        """
        slot = counters[:, self.SLOT] - counters[:, self.PENDING] - 1 + e
        point = times[:, self.T0] + slot.to(torch.float64) * self.grid
        filled = channels[:, self.FILLED]
        shown = filled
        if self.linear:
            target, observed = self._open_values(channels)
            end = times[:, self.OPEN_TIME]
            share = ((point - start) / (end - start))[:, None]
            drawn = observed & (channels[:, self.COUNT] > 0)
            shown = torch.where(drawn, filled + share * (target - filled), filled)
        values = torch.full_like(filled, float("nan"))
        # nothing is observed; a comparison (counts are never negative), as
        # the ONNX exporter types its result as bool inside a loop
        nothing = channels[:, self.COUNT] < 0
        x, dt, bad, encoder = self._encode(
            channels, counters, values, nothing, point, shown, times[:, self.PREV_TIME]
        )
        return x, dt, bad, encoder, point

    # ----------------------------------------------------------- network
    def _with_step(
        self, patch: Tensor, counters: Tensor, x: Tensor, dt: Tensor
    ) -> Tensor:
        """The current patch with the step ``(x, dt)`` at its next position."""
        k = self.patch_length
        pos = torch.remainder(counters[:, self.N_STEPS], k)
        at = torch.arange(k)[None, :] == pos[:, None]
        entry = torch.cat([x, dt[:, None]], -1)
        return torch.where(at[:, :, None], entry[:, None, :], patch)

    def _predict(self, state: list[Tensor]) -> tuple[Tensor, Tensor]:
        """Outputs after the current step, and which rows overflowed."""
        started = state[2][:, self.N_OBS] > 0
        # the grid points before the current one, as they would be encoded
        # were the current point closed now
        channels, times, counters, network, patch, bad = self._close_pending(
            started, state[0], state[1], state[2], state[3], state[4]
        )
        x, dt, bad_now, _ = self._open_step(channels, times, counters)
        k, F = self.patch_length, self.width
        steps = self._with_step(patch, counters, x, dt)
        span = torch.remainder(counters[:, self.N_STEPS], k) + 1
        h, _ = self.patch_step(
            steps[:, :, :F],
            steps[:, :, F],
            span,
            network[:, self.HIDDEN],
            network[:, self.MEMORY],
        )
        done = torch.div(counters[:, self.N_STEPS], k, rounding_mode="floor")
        count = (done + 1).to(torch.float32)[:, None]
        total = network[:, self.TOTAL] + h
        peak = torch.where(
            (done > 0)[:, None], torch.maximum(network[:, self.PEAK], h), h
        )
        out = self.head(h, total, peak, count).to(torch.float64)
        if self.proba:
            out = torch.softmax(out, -1)
        if self.affine:
            out = out * self.target_scale + self.target_mean
        bad = bad | bad_now
        return torch.where(started[:, None], out, float("nan")), bad & started

    def _commit(
        self,
        rows: Tensor,
        channels: Tensor,
        times: Tensor,
        counters: Tensor,
        network: Tensor,
        patch: Tensor,
        step: tuple[Tensor, Tensor, Tensor, Tensor],
        time: Tensor,
    ) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
        """Add the encoded ``step`` (at ``time``) of the series ``rows`` for
        good: to the patch and, when that is full, step the CfC over it.

        Returns the five state tensors (separate, not a list: the ONNX
        exporter keeps the types of tensors a loop carries, not those of a
        list) and which rows overflowed.
        """
        x, dt, bad, encoder = step
        r = rows[:, None]
        k, F = self.patch_length, self.width
        patch = torch.where(
            r[:, :, None], self._with_step(patch, counters, x, dt), patch
        )
        n_steps = counters[:, self.N_STEPS]
        full = rows & (torch.remainder(n_steps + 1, k) == 0)
        if bool(full.any()):
            span = torch.full_like(n_steps, k)
            h, c = self.patch_step(
                patch[:, :, :F],
                patch[:, :, F],
                span,
                network[:, self.HIDDEN],
                network[:, self.MEMORY],
            )
            done = torch.div(n_steps, k, rounding_mode="floor")
            peak = torch.where(
                (done > 0)[:, None], torch.maximum(network[:, self.PEAK], h), h
            )
            new = torch.stack([h, c, network[:, self.TOTAL] + h, peak], 1)
            network = torch.where(full[:, None, None], new, network)
        # the encoder's rows (0-5 and PREV_VALUE); the current point's sums
        # (OPEN_SUM, OPEN_COUNT) stay
        old = torch.cat([channels[:, :6], channels[:, 8:]], 1)
        kept = torch.where(r[:, :, None], encoder, old)
        channels = torch.cat([kept[:, :6], channels[:, 6:8], kept[:, 6:]], 1)
        prev = torch.where(rows, time, times[:, self.PREV_TIME])
        times = torch.cat([prev[:, None], times[:, 1:]], 1)
        steps = torch.where(rows, n_steps + 1, n_steps)
        counters = torch.cat([steps[:, None], counters[:, 1:]], 1)
        return channels, times, counters, network, patch, bad & rows

    def _close_pending(
        self,
        rows: Tensor,
        channels: Tensor,
        times: Tensor,
        counters: Tensor,
        network: Tensor,
        patch: Tensor,
    ) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
        """Commit the grid points without an observation before the current
        one, of the series ``rows``; they are encoded only now because with
        ``fill="linear"`` they depend on the current point's values.

        Takes and returns the five state tensors one by one (see
        :meth:`_commit`), and which rows overflowed.
        """
        pending = torch.where(rows, counters[:, self.PENDING], 0)
        bad = torch.zeros_like(rows)
        start = times[:, self.PREV_TIME]  # the step before the points
        e = 1
        while bool((pending >= e).any()):
            x, dt, bad_x, encoder, point = self._pending_step(
                channels, times, counters, start, e
            )
            channels, times, counters, network, patch, bad_e = self._commit(
                pending >= e,
                channels,
                times,
                counters,
                network,
                patch,
                (x, dt, bad_x, encoder),
                point,
            )
            bad = bad | bad_e
            e += 1
        left = torch.where(rows, 0, counters[:, self.PENDING])
        counters = torch.cat([counters[:, :3], left[:, None]], 1)
        return channels, times, counters, network, patch, bad

    def _advance(
        self,
        values: Tensor,
        time: Tensor,
        active: Tensor,
        state: list[Tensor],
        err: Tensor,
    ) -> tuple[list[Tensor], Tensor]:
        """The state after one observation of each ``active`` series.

        Rows that are not active, hold no observation or have an error
        (``err``, from :meth:`check`) keep their state. Also returns which
        rows overflowed.
        """
        observed = ~torch.isnan(values)
        active = active & observed.any(-1) & (err == 0)
        times, counters = state[1], state[2]
        first = active & (counters[:, self.N_OBS] == 0)
        t0 = torch.where(first, time, times[:, self.T0])
        slot = counters[:, self.SLOT]
        if self.has_grid:
            offset = torch.where(active, (time - t0) / self.grid, 0.0)
            new_slot = torch.round(offset).to(torch.long)
        else:
            new_slot = slot + 1
        new_slot = torch.where(first, 0, new_slot)
        later = active & ~first & (new_slot > slot)
        same = active & ~first & (new_slot == slot)
        times = torch.cat([times[:, :1], t0[:, None], times[:, 2:]], 1)
        # a later grid point closes the current one: first the points
        # without an observation before it, then the point itself
        channels, times, counters, network, patch, bad = self._close_pending(
            later, state[0], times, counters, state[3], state[4]
        )
        opened = self._open_step(channels, times, counters)
        channels, times, counters, network, patch, bad_open = self._commit(
            later,
            channels,
            times,
            counters,
            network,
            patch,
            opened,
            times[:, self.OPEN_TIME],
        )
        bad = bad | bad_open
        v = torch.where(observed, values.to(torch.float64), 0.0)
        n = observed.to(torch.float64)
        new = (first | later)[:, None]
        add = same[:, None]
        total = channels[:, self.OPEN_SUM]
        total = torch.where(new, v, torch.where(add, total + v, total))
        count = channels[:, self.OPEN_COUNT]
        count = torch.where(new, n, torch.where(add, count + n, count))
        channels = torch.cat(
            [channels[:, :6], total[:, None], count[:, None], channels[:, 8:]], 1
        )
        point = time
        if self.has_grid:
            point = t0 + new_slot.to(torch.float64) * self.grid
        opened_at = torch.where(first | later, point, times[:, self.OPEN_TIME])
        last_obs = torch.where(active, time, times[:, self.LAST_OBS])
        times = torch.stack([times[:, self.PREV_TIME], t0, opened_at, last_obs], 1)
        n_obs = counters[:, self.N_OBS] + active.to(torch.long)
        # the grid points skipped on the way to this one wait for it to close
        pending = torch.where(later, new_slot - slot - 1, counters[:, self.PENDING])
        slot = torch.where(active, new_slot, slot)
        counters = torch.stack([counters[:, self.N_STEPS], n_obs, slot, pending], 1)
        return [channels, times, counters, network, patch], bad
