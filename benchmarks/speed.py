"""Speed benchmark: sklearn-cfc's CfC against ncps, an ODE-RNN, LSTM and GRU.

What it measures
----------------
Every model gets the same regression task: inputs ``x`` of shape (B, T, C), a
per-sample, irregular elapsed time ``dt`` of shape (B, T) drawn from an
exponential distribution with mean 1 (a Poisson sampling process), a
``Linear(units, 1)`` readout applied to the hidden output of every step, and an
MSE loss against a fixed random target of shape (B, T, 1).  All data and all
initial weights come from a fixed seed.  Two quantities are timed per model:

* **training step** -- ``zero_grad`` + forward + readout + loss + ``backward``
  + ``Adam.step``;
* **inference pass** -- forward + readout under ``torch.inference_mode()``.

Each model first runs a few untimed warm-up iterations.  The timed
repetitions are interleaved round-robin across models (round ``r`` times one
training step and one inference pass of every model), so that the load of a
shared machine is spread evenly over all models rather than hitting whichever
model happened to run at the time.  The report gives the median and the
inter-quartile range (IQR) of the ``time.perf_counter`` samples; the garbage
collector is disabled while timing.

Models
------
``cfc``       ``sklearn_cfc.nn.CfC`` -- this package.
``cfc_mm``    ``sklearn_cfc.nn.CfC(mixed_memory=True)``: an LSTM cell in front of
              the CfC cell at every step, the estimators' default core.
``ncps_cfc``  ``ncps.torch.CfC`` with the same mode and sizes.
``ncps_cfc_mm`` ``ncps.torch.CfC(mixed_memory=True)``, the same variant in ncps.
``ncps_ltc``  ``ncps.torch.LTC`` (fully connected, its default 6 ODE unfolds per
              step).
``ode_rnn``   ODE-RNN (Rubanova et al., 2019) built on ``torchdiffeq.odeint``:
              between observations the hidden state follows an MLP vector
              field (units -> backbone -> units, tanh), at each observation a
              ``GRUCell`` updates it.  The per-sample interval is handled by a
              change of time variable: the batch integrates over s in [0, 1]
              with dh/ds = dt_b * f(h), so one solve per step serves the whole
              batch.  Default solver: ``dopri5`` with rtol=1e-3, atol=1e-4 as
              in Rubanova et al., gradients by direct backpropagation through
              the solver (no adjoint); ``--ode-solver rk4`` selects fixed-step
              RK4 instead.  The mean number of vector-field evaluations per
              observation interval is reported.
``lstm``      ``torch.nn.LSTM(C, units, batch_first=True)`` (ignores ``dt``).
``gru``       ``torch.nn.GRU(C, units, batch_first=True)`` (ignores ``dt``).

How ``dt`` reaches ncps
-----------------------
The ncps 1.0.1 sequence wrappers take ``timespans[:, t].squeeze()``, a tensor
of shape (B,), and broadcast it against (B, units) tensors.  That raises an
error when B != units and silently mixes up samples and units when B == units
(ncps issues 81-83).  ``ncps_cfc`` and ``ncps_ltc`` are therefore called with
``timespans=None``, i.e. a constant elapsed time of 1.0.  The per-step
arithmetic is the same as with a per-sample (B, 1) elapsed time (one
broadcast multiply or division), so the timing is representative.

Settings and targets
--------------------
Two settings, (B, T, C, units, backbone, threads): (32, 50, 16, 64, 128, 1) and
(128, 100, 16, 64, 128, 2); ``torch.set_num_threads`` is called before each.
The targets, checked on the training step in both settings, are: ours at
least 3x faster than ncps CfC, at most 2x the time of torch.nn.LSTM, and at
least 50x faster than ncps LTC and than the ODE-RNN; ours with mixed memory
at least 3x faster than ncps CfC with mixed memory and at most 1.3x the time
of ours without it.

Online step
-----------
``CfC.step`` advances every sequence of a batch by one observation, as a
model serving a stream would. It is timed under ``torch.no_grad()`` on one
thread, in evaluation mode, at batch 1 and batch 1024 (C=16, units 64,
backbone 128), feeding each new state back in, with and without mixed memory,
next to ``torch.nn.LSTMCell(16, 64)`` stepping the same way. Each sample is
the mean over a run of consecutive steps (200 at batch 1, 10 at batch 1024),
interleaved round-robin across the three like the training steps. The target
is at most 3x the time of the LSTM cell per step at batch 1.

Running
-------
Install the package with the ``bench`` extra (``pip install -e ".[bench]"``),
then from the repository root::

    python benchmarks/speed.py            # full run, a few minutes on 2 cores
    python benchmarks/speed.py --quick    # smoke run, about half a minute
    python benchmarks/speed.py --mode pure --models cfc,ncps_cfc,lstm

The full run prints one table per setting and one for the online step, and
writes
``benchmarks/results/speed.json`` and ``benchmarks/results/speed.png``; a
``--quick`` run writes ``speed_quick.json`` and ``speed_quick.png`` instead so
that it never overwrites real results.  ``--help`` lists all options.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from _machine import cpu_model, machine_info
from torch import nn

RESULTS_DIR = Path(__file__).resolve().parent / "results"

ALL_MODELS = (
    "cfc",
    "cfc_mm",
    "ncps_cfc",
    "ncps_cfc_mm",
    "ncps_ltc",
    "ode_rnn",
    "lstm",
    "gru",
)
OURS = "cfc"
SLOW_MODELS = ("ncps_ltc", "ode_rnn")
LABELS = {
    "cfc": "CfC (ours)",
    "cfc_mm": "CfC mixed memory (ours)",
    "ncps_cfc": "ncps CfC",
    "ncps_cfc_mm": "ncps CfC mixed memory",
    "ncps_ltc": "ncps LTC",
    "ode_rnn": "ODE-RNN",
    "lstm": "nn.LSTM",
    "gru": "nn.GRU",
}


@dataclass(frozen=True)
class Setting:
    """One benchmark configuration."""

    name: str
    batch: int
    steps: int
    channels: int
    units: int
    backbone: int
    threads: int

    def describe(self) -> str:
        return (
            f"B={self.batch} T={self.steps} C={self.channels} units={self.units} "
            f"backbone={self.backbone} threads={self.threads}"
        )


SETTINGS = (
    Setting(
        "small", batch=32, steps=50, channels=16, units=64, backbone=128, threads=1
    ),
    Setting(
        "large", batch=128, steps=100, channels=16, units=64, backbone=128, threads=2
    ),
)
QUICK_SETTINGS = (
    Setting("small", batch=8, steps=10, channels=16, units=64, backbone=128, threads=1),
    Setting(
        "large", batch=16, steps=20, channels=16, units=64, backbone=128, threads=2
    ),
)

# (ours, peer, kind, threshold): "speedup" means peer_time / ours_time >=
# threshold, "slowdown" means ours_time / peer_time <= threshold; training
# step only.
TARGETS = (
    ("cfc", "ncps_cfc", "speedup", 3.0),
    ("cfc", "lstm", "slowdown", 2.0),
    ("cfc", "ncps_ltc", "speedup", 50.0),
    ("cfc", "ode_rnn", "speedup", 50.0),
    ("cfc_mm", "ncps_cfc_mm", "speedup", 3.0),
    ("cfc_mm", "cfc", "slowdown", 1.3),
)

# The online step: batch sizes, models, and the target (ours / LSTMCell per
# step at batch 1).
ONLINE_BATCHES = (1, 1024)
ONLINE_MODELS = ("lstm_cell", "cfc", "cfc_mm")
ONLINE_LABELS = {
    "lstm_cell": "nn.LSTMCell",
    "cfc": "CfC.step (ours)",
    "cfc_mm": "CfC.step mixed memory (ours)",
}
ONLINE_TARGET = ("slowdown", 3.0, 1)  # kind, threshold, batch


# --------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------


class _ScaledVectorField(nn.Module):
    """MLP vector field in rescaled time: dh/ds = dt * f(h), s in [0, 1]."""

    def __init__(self, units: int, hidden: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(units, hidden), nn.Tanh(), nn.Linear(hidden, units)
        )
        self.dt: torch.Tensor | None = None
        self.nfe = 0

    def forward(self, s: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        self.nfe += 1
        return self.dt * self.net(h)


class ODERNN(nn.Module):
    """ODE-RNN of Rubanova et al. (2019) with per-sample elapsed times.

    Between observations the state evolves by ``torchdiffeq.odeint``; at each
    observation a ``GRUCell`` folds in the input.  The interval of length
    ``dt_b`` of sample ``b`` is mapped onto s in [0, 1] by scaling the vector
    field with ``dt_b``, so all samples share one solve per step.
    """

    def __init__(
        self,
        input_size: int,
        units: int,
        hidden: int,
        method: str,
        rtol: float,
        atol: float,
        step_size: float,
    ) -> None:
        super().__init__()
        self.units = units
        self.func = _ScaledVectorField(units, hidden)
        self.cell = nn.GRUCell(input_size, units)
        self.method = method
        if method in ("dopri5", "dopri8", "bosh3", "adaptive_heun"):
            self.solver_kwargs = {"rtol": rtol, "atol": atol}
        else:
            self.solver_kwargs = {"options": {"step_size": step_size}}
        self.register_buffer("span", torch.tensor([0.0, 1.0]), persistent=False)
        self.solves = 0

    def forward(self, x: torch.Tensor, dt: torch.Tensor):
        from torchdiffeq import odeint

        h = x.new_zeros(x.shape[0], self.units)
        outputs = []
        for t in range(x.shape[1]):
            self.func.dt = dt[:, t, None]
            h = odeint(
                self.func, h, self.span, method=self.method, **self.solver_kwargs
            )[-1]
            h = self.cell(x[:, t], h)
            outputs.append(h)
        self.solves += x.shape[1]
        self.func.dt = None
        return torch.stack(outputs, dim=1), h


def _import_our_cfc():
    try:
        from sklearn_cfc.nn import CfC
    except ModuleNotFoundError as exc:
        if not (exc.name or "").startswith("sklearn_cfc"):
            raise
        # Running from a source checkout without installing the package.
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from sklearn_cfc.nn import CfC
    return CfC


class SequenceModel(nn.Module):
    """Wraps a recurrent body into ``forward(x, dt) -> (B, T, units)``."""

    def __init__(self, body: nn.Module, call: Callable) -> None:
        super().__init__()
        self.body = body
        self._call = call

    def forward(self, x: torch.Tensor, dt: torch.Tensor) -> torch.Tensor:
        return self._call(self.body, x, dt)


def build_body(name: str, s: Setting, args: argparse.Namespace) -> SequenceModel:
    """Build the recurrent part of model ``name`` for setting ``s``."""
    if name in ("cfc", "cfc_mm"):
        cfc = _import_our_cfc()
        body = cfc(
            s.channels,
            s.units,
            mode=args.mode,
            backbone_units=s.backbone,
            backbone_layers=1,
            mixed_memory=name == "cfc_mm",
        )
        return SequenceModel(body, lambda m, x, dt: m(x, dt)[0])
    if name in ("ncps_cfc", "ncps_cfc_mm"):
        import ncps.torch

        body = ncps.torch.CfC(
            s.channels,
            s.units,
            mode=args.mode,
            backbone_units=s.backbone,
            backbone_layers=1,
            batch_first=True,
            return_sequences=True,
            mixed_memory=name == "ncps_cfc_mm",
        )
        # timespans=None (elapsed time 1.0): see the module docstring.
        return SequenceModel(body, lambda m, x, dt: m(x)[0])
    if name == "ncps_ltc":
        import ncps.torch

        body = ncps.torch.LTC(
            s.channels, s.units, batch_first=True, return_sequences=True
        )
        return SequenceModel(body, lambda m, x, dt: m(x)[0])
    if name == "ode_rnn":
        body = ODERNN(
            s.channels,
            s.units,
            s.backbone,
            args.ode_solver,
            args.ode_rtol,
            args.ode_atol,
            args.ode_step,
        )
        return SequenceModel(body, lambda m, x, dt: m(x, dt)[0])
    if name in ("lstm", "gru"):
        rnn = nn.LSTM if name == "lstm" else nn.GRU
        body = rnn(s.channels, s.units, batch_first=True)
        return SequenceModel(body, lambda m, x, dt: m(x)[0])
    raise ValueError(f"unknown model {name!r}")


class Task(nn.Module):
    """Recurrent body plus the shared per-step ``Linear(units, 1)`` readout."""

    def __init__(self, body: SequenceModel, units: int) -> None:
        super().__init__()
        self.body = body
        self.head = nn.Linear(units, 1)

    def forward(self, x: torch.Tensor, dt: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x, dt))


# --------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------


def summarize(samples_s: list[float]) -> dict:
    """Median, quartiles and IQR in milliseconds."""
    ms = sorted(1e3 * v for v in samples_s)
    if len(ms) >= 2:
        q1, _, q3 = statistics.quantiles(ms, n=4, method="inclusive")
    else:
        q1 = q3 = ms[0]
    return {
        "median": statistics.median(ms),
        "q1": q1,
        "q3": q3,
        "iqr": q3 - q1,
        "min": ms[0],
        "n": len(ms),
        "samples": [round(v, 4) for v in ms],
    }


class Runner:
    """Holds one model with its optimizer and the timed closures."""

    def __init__(self, name, task, x, dt, y, sync):
        self.name = name
        self.task = task
        self.x, self.dt, self.y = x, dt, y
        self.sync = sync
        self.optimizer = torch.optim.Adam(task.parameters(), lr=1e-3)
        self.loss_fn = nn.MSELoss()
        self.train_s: list[float] = []
        self.infer_s: list[float] = []

    def train_step(self) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        loss = self.loss_fn(self.task(self.x, self.dt), self.y)
        loss.backward()
        self.optimizer.step()

    def inference(self) -> None:
        with torch.inference_mode():
            self.task(self.x, self.dt)

    def timed(self, fn: Callable) -> float:
        self.sync()
        start = time.perf_counter()
        fn()
        self.sync()
        return time.perf_counter() - start


def run_setting(s: Setting, models: list[str], args) -> dict:
    """Time every model in ``models`` on setting ``s``; return a result dict."""
    torch.set_num_threads(s.threads)
    device = torch.device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    gen = torch.Generator().manual_seed(args.seed)
    x = torch.randn(s.batch, s.steps, s.channels, generator=gen)
    dt = torch.empty(s.batch, s.steps).exponential_(1.0, generator=gen)
    y = torch.randn(s.batch, s.steps, 1, generator=gen)
    x, dt, y = x.to(device), dt.to(device), y.to(device)

    runners = []
    for name in models:
        torch.manual_seed(args.seed)
        task = Task(build_body(name, s, args), s.units).to(device)
        runner = Runner(name, task, x, dt, y, sync)
        with torch.inference_mode():
            out = task.body(x, dt)
        if tuple(out.shape) != (s.batch, s.steps, s.units):
            raise RuntimeError(
                f"{name}: output shape {tuple(out.shape)}, expected "
                f"{(s.batch, s.steps, s.units)}"
            )
        if not torch.isfinite(out).all():
            raise RuntimeError(f"{name}: non-finite output")
        for _ in range(args.warmup):
            runner.train_step()
            runner.inference()
        runners.append(runner)

    ode_rnn = next((r.task.body.body for r in runners if r.name == "ode_rnn"), None)
    if ode_rnn is not None:
        ode_rnn.func.nfe, ode_rnn.solves = 0, 0

    repeats = {
        r.name: args.slow_repeats if r.name in SLOW_MODELS else args.repeats
        for r in runners
    }
    gc.collect()
    gc.disable()
    try:
        for round_ in range(max(repeats.values(), default=0)):
            for r in runners:
                if round_ < repeats[r.name]:
                    r.train_s.append(r.timed(r.train_step))
                    r.infer_s.append(r.timed(r.inference))
    finally:
        gc.enable()

    result = {"setting": asdict(s), "models": {}}
    for r in runners:
        entry = {
            "label": LABELS[r.name],
            "params": sum(p.numel() for p in r.task.body.parameters()),
            "train_ms": summarize(r.train_s),
            "infer_ms": summarize(r.infer_s),
        }
        if r.name == "ode_rnn":
            entry["nfe_per_interval"] = ode_rnn.func.nfe / max(ode_rnn.solves, 1)
        result["models"][r.name] = entry
    result["ratios"] = compute_ratios(result["models"])
    result["targets"] = check_targets(result["models"])
    return result


def compute_ratios(models: dict) -> dict:
    """Peer/ours ("speedup") and ours/peer ("slowdown") for both phases."""
    ratios = {}
    if OURS not in models:
        return ratios
    for phase in ("train_ms", "infer_ms"):
        ours = models[OURS][phase]["median"]
        ratios[phase.removesuffix("_ms")] = {
            name: {
                "speedup": m[phase]["median"] / ours,
                "slowdown": ours / m[phase]["median"],
            }
            for name, m in models.items()
            if name != OURS
        }
    return ratios


def target_text(ours: str, peer: str, kind: str, threshold: float, labels=None):
    labels = labels or LABELS
    name = "ours" if ours == OURS else labels[ours]
    if kind == "speedup":
        return f"{labels[peer]} / {name} >= {threshold:g}"
    return f"{name} / {labels[peer]} <= {threshold:g}"


def judge(ours_ms: float, peer_ms: float, kind: str, threshold: float):
    """The ratio a target is about, and whether it is met."""
    value = peer_ms / ours_ms if kind == "speedup" else ours_ms / peer_ms
    passed = value >= threshold if kind == "speedup" else value <= threshold
    return value, "PASS" if passed else "MISS"


def check_targets(models: dict) -> list[dict]:
    out = []
    for ours, peer, kind, threshold in TARGETS:
        entry = {
            "target": target_text(ours, peer, kind, threshold),
            "model": ours,
            "peer": peer,
            "kind": kind,
            "threshold": threshold,
            "phase": "train",
        }
        if ours in models and peer in models:
            value, status = judge(
                models[ours]["train_ms"]["median"],
                models[peer]["train_ms"]["median"],
                kind,
                threshold,
            )
            entry.update(value=value, status=status)
        else:
            entry.update(value=None, status="n/a")
        out.append(entry)
    return out


# --------------------------------------------------------------------------
# Online step
# --------------------------------------------------------------------------


def build_stepper(name: str, s: Setting, batch: int, device) -> tuple[Callable, object]:
    """Return ``advance(x, dt, state) -> state`` and the initial state."""
    if name == "lstm_cell":
        cell = nn.LSTMCell(s.channels, s.units).to(device).eval()
        zeros = torch.zeros(batch, s.units, device=device)
        return (lambda x, dt, state: cell(x, state)), (zeros, zeros.clone())
    cfc = _import_our_cfc()
    model = cfc(
        s.channels,
        s.units,
        backbone_units=s.backbone,
        backbone_layers=1,
        mixed_memory=name == "cfc_mm",
    )
    model = model.to(device).eval()
    return model.step, None


def run_online(s: Setting, args) -> dict:
    """Time ``CfC.step`` and ``nn.LSTMCell`` per step; see the module docstring."""
    torch.set_num_threads(1)
    device = torch.device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    batches = (1, 64) if args.quick else ONLINE_BATCHES
    result = {"threads": 1, "grad": "torch.no_grad()", "batches": {}}
    for batch in batches:
        steps = 200 if batch == 1 else 10
        gen = torch.Generator().manual_seed(args.seed)
        x = torch.randn(batch, s.channels, generator=gen).to(device)
        dt = torch.empty(batch).exponential_(1.0, generator=gen).to(device)
        runners = {}
        for name in ONLINE_MODELS:
            torch.manual_seed(args.seed)
            advance, state0 = build_stepper(name, s, batch, device)

            def run(advance=advance, state0=state0, steps=steps):
                state = state0
                for _ in range(steps):
                    state = advance(x, dt, state)

            runners[name] = run
        samples = {name: [] for name in runners}
        with torch.no_grad():
            for run in runners.values():
                for _ in range(args.warmup):
                    run()
            gc.collect()
            gc.disable()
            try:
                for _ in range(args.repeats):
                    for name, run in runners.items():
                        sync()
                        start = time.perf_counter()
                        run()
                        sync()
                        samples[name].append((time.perf_counter() - start) / steps)
            finally:
                gc.enable()
        # summarize() reports milliseconds; store microseconds per step
        entry = {
            name: {
                "label": ONLINE_LABELS[name],
                "steps_per_sample": steps,
                "us_per_step": summarize([1e3 * v for v in values]),
            }
            for name, values in samples.items()
        }
        result["batches"][str(batch)] = entry
    kind, threshold, batch = ONLINE_TARGET
    result["targets"] = []
    for name in ("cfc", "cfc_mm"):
        per_batch = result["batches"].get(str(batch))
        target = {
            "target": f"{ONLINE_LABELS[name]} / nn.LSTMCell <= {threshold:g} "
            f"at batch {batch}",
            "model": name,
            "peer": "lstm_cell",
            "kind": kind,
            "threshold": threshold,
            "batch": batch,
            "value": None,
            "status": "n/a",
        }
        if per_batch is not None:
            value, status = judge(
                per_batch[name]["us_per_step"]["median"],
                per_batch["lstm_cell"]["us_per_step"]["median"],
                kind,
                threshold,
            )
            target.update(value=value, status=status)
        result["targets"].append(target)
    return result


def print_online(result: dict) -> None:
    print(
        "\n== online step (CfC.step, one observation per sequence): "
        "torch.no_grad(), eval mode, 1 thread"
    )
    header = f"{'model':<30}{'batch':>6}  {'us/step (IQR)':>18}  {'x nn.LSTMCell':>13}"
    print(header)
    print("-" * len(header))
    for batch, entry in result["batches"].items():
        base = entry["lstm_cell"]["us_per_step"]["median"]
        for m in entry.values():
            st = m["us_per_step"]
            print(
                f"{m['label']:<30}{batch:>6}  {st['median']:>9.1f} "
                f"({st['iqr']:6.1f})  {st['median'] / base:>13.2f}"
            )
    print("targets (online step):")
    for t in result["targets"]:
        value = "n/a" if t["value"] is None else f"{t['value']:.2f}"
        print(f"  {t['status']:<4}  {t['target']:<52} measured {value}")


# --------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------


def print_table(result: dict, args) -> None:
    s = Setting(**result["setting"])
    models = result["models"]
    print(
        f"\n== setting {s.name}: {s.describe()}, mode={args.mode}, device={args.device}"
    )
    width = max(len(m["label"]) for m in models.values()) + 2
    header = (
        f"{'model':<{width}}{'params':>9}  {'train ms (IQR)':>18}  "
        f"{'infer ms (IQR)':>18}  {'train peer/ours':>15}  "
        f"{'infer peer/ours':>15}"
    )
    print(header)
    print("-" * len(header))
    for name, m in models.items():
        cells = []
        for phase in ("train", "infer"):
            ratio = result["ratios"].get(phase, {}).get(name)
            cells.append(
                "1.00"
                if name == OURS and OURS in models
                else f"{ratio['speedup']:.2f}"
                if ratio
                else "-"
            )
        tr, inf = m["train_ms"], m["infer_ms"]
        print(
            f"{m['label']:<{width}}{m['params']:>9}  "
            f"{tr['median']:>9.2f} ({tr['iqr']:6.2f})  "
            f"{inf['median']:>9.2f} ({inf['iqr']:6.2f})  "
            f"{cells[0]:>15}  {cells[1]:>15}"
        )
    if "ode_rnn" in models:
        print(
            f"ODE-RNN: {solver_text(args)}, "
            f"{models['ode_rnn']['nfe_per_interval']:.1f} vector-field "
            "evaluations per observation interval"
        )
    print("targets (training step):")
    for t in result["targets"]:
        value = "n/a" if t["value"] is None else f"{t['value']:.2f}"
        print(f"  {t['status']:<4}  {t['target']:<52} measured {value}")


def solver_text(args) -> str:
    if args.ode_solver in ("dopri5", "dopri8", "bosh3", "adaptive_heun"):
        return (
            f"torchdiffeq {args.ode_solver} rtol={args.ode_rtol:g} "
            f"atol={args.ode_atol:g}"
        )
    return (
        f"torchdiffeq {args.ode_solver} step_size={args.ode_step:g} "
        "(in units of each sample's interval)"
    )


def plot(results: list[dict], args, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n in ALL_MODELS if any(n in r["models"] for r in results)]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
    width = 0.8 / max(len(names), 1)
    colors = plt.get_cmap("tab10").colors
    for ax, phase, title in zip(
        axes,
        ("train_ms", "infer_ms"),
        ("training step", "inference pass"),
        strict=False,
    ):
        for i, name in enumerate(names):
            xs, med, err_lo, err_hi = [], [], [], []
            for j, r in enumerate(results):
                if name in r["models"]:
                    st = r["models"][name][phase]
                    xs.append(j + (i - (len(names) - 1) / 2) * width)
                    med.append(st["median"])
                    err_lo.append(st["median"] - st["q1"])
                    err_hi.append(st["q3"] - st["median"])
            bars = ax.bar(
                xs,
                med,
                width,
                label=LABELS[name],
                color=colors[i % len(colors)],
                yerr=[err_lo, err_hi],
                capsize=2,
            )
            ax.bar_label(
                bars,
                labels=[f"{v:.3g}" if v < 1e3 else f"{v:.0f}" for v in med],
                fontsize=6,
                padding=2,
                rotation=90,
            )
        ax.set_yscale("log")
        ax.set_xticks(range(len(results)))
        ax.set_xticklabels(
            [
                f"{r['setting']['name']}\n"
                + Setting(**r["setting"]).describe().replace(" backbone", "\nbackbone")
                for r in results
            ],
            fontsize=8,
        )
        ax.set_ylabel("milliseconds (median, IQR bars; log scale)")
        ax.set_title(title)
        ax.margins(y=0.15)
    axes[0].legend(fontsize=8)
    fig.suptitle(
        f"sklearn-cfc speed, mode={args.mode}, torch {torch.__version__}, "
        f"{cpu_model()} ({args.device}); ODE-RNN: {solver_text(args)}",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Time a training step and an inference pass of sklearn-cfc's "
        "CfC and its peers (see the module docstring)."
    )
    p.add_argument(
        "--mode",
        default="default",
        choices=("default", "pure", "no_gate"),
        help="CfC mode, for ours and for ncps CfC (default: default)",
    )
    p.add_argument(
        "--models",
        default=",".join(ALL_MODELS),
        help="comma-separated subset of " + ", ".join(ALL_MODELS),
    )
    p.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="timed repetitions per model (default 20, quick 5)",
    )
    p.add_argument(
        "--slow-repeats",
        type=int,
        default=None,
        help="timed repetitions for ncps LTC and the ODE-RNN (default 10, quick 3)",
    )
    p.add_argument(
        "--warmup",
        type=int,
        default=None,
        help="untimed warm-up iterations per model (default 3, quick 1)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: small sizes, few repetitions, writes "
        "speed_quick.json/png unless --json/--plot are given",
    )
    p.add_argument(
        "--online",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also time the online step, CfC.step against nn.LSTMCell (default: on)",
    )
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--ode-solver",
        default="dopri5",
        help="torchdiffeq method for the ODE-RNN (default dopri5; "
        "e.g. rk4 for fixed steps)",
    )
    p.add_argument("--ode-rtol", type=float, default=1e-3)
    p.add_argument("--ode-atol", type=float, default=1e-4)
    p.add_argument(
        "--ode-step",
        type=float,
        default=0.25,
        help="step size of fixed-step solvers, as a fraction of each "
        "observation interval (default 0.25)",
    )
    p.add_argument(
        "--json",
        type=Path,
        default=None,
        help="output JSON (default benchmarks/results/speed.json)",
    )
    p.add_argument(
        "--plot",
        type=Path,
        default=None,
        help="output figure (default benchmarks/results/speed.png)",
    )
    args = p.parse_args(argv)

    args.models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = sorted(set(args.models) - set(ALL_MODELS))
    if unknown:
        p.error(f"unknown model(s) {unknown}; choose from {list(ALL_MODELS)}")
    args.models = [m for m in ALL_MODELS if m in args.models]
    if args.device == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda requested but CUDA is not available")
    defaults = {"repeats": (20, 5), "slow_repeats": (10, 3), "warmup": (3, 1)}
    for key, (full_value, quick_value) in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, quick_value if args.quick else full_value)
    if min(args.repeats, args.slow_repeats) < 1 or args.warmup < 0:
        p.error("repetitions must be >= 1 and warm-up >= 0")
    suffix = "_quick" if args.quick else ""
    args.json = args.json or RESULTS_DIR / f"speed{suffix}.json"
    args.plot = args.plot or RESULTS_DIR / f"speed{suffix}.png"
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if not args.quick and min(args.repeats, args.slow_repeats) < 10:
        print(
            "warning: fewer than 10 repetitions; the issue asks for >= 10",
            file=sys.stderr,
        )
    settings = QUICK_SETTINGS if args.quick else SETTINGS
    for s in settings:
        if s.threads > (os.cpu_count() or 1):
            print(
                f"warning: setting {s.name} asks for {s.threads} threads, the "
                f"machine has {os.cpu_count()} CPUs",
                file=sys.stderr,
            )

    info = machine_info(
        ("torch", "ncps", "torchdiffeq", "sklearn-cfc"),
        device=args.device,
        # the GPU only where the run used it (the docs title tables by it)
        gpu=torch.cuda.get_device_name() if args.device == "cuda" else None,
    )
    print(
        f"torch {info['torch']}, ncps {info['ncps']}, torchdiffeq "
        f"{info['torchdiffeq']}, CPU: {info['cpu_model']} ({info['cpu_count']} "
        f"logical), device {args.device}"
    )
    if args.quick:
        print("QUICK smoke run: reduced sizes and repetitions, not a measurement")
    print(
        f"repetitions: {args.repeats} ({args.slow_repeats} for ncps LTC and "
        f"ODE-RNN), warm-up {args.warmup}; ODE-RNN solver: {solver_text(args)}"
    )

    start = time.perf_counter()
    results = []
    for s in settings:
        result = run_setting(s, args.models, args)
        print_table(result, args)
        results.append(result)
    online = None
    if args.online:
        online = run_online(settings[0], args)
        print_online(online)
    elapsed = time.perf_counter() - start

    report = {
        "benchmark": "speed",
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"
        ),
        "quick": args.quick,
        "machine": info,
        "config": {
            "mode": args.mode,
            "models": args.models,
            "repeats": args.repeats,
            "slow_repeats": args.slow_repeats,
            "slow_models": list(SLOW_MODELS),
            "warmup": args.warmup,
            "seed": args.seed,
            "optimizer": "Adam(lr=1e-3)",
            "loss": "MSE of Linear(units, 1) per step vs fixed random target",
            "dt": "per-sample, per-step Exponential(mean 1)",
            "ncps_timespans": "None (constant 1.0); ncps 1.0.1 mis-broadcasts "
            "batched timespans",
            "ode_rnn_solver": solver_text(args),
            "ode_rnn_gradients": "backpropagation through the solver (no adjoint)",
            "timing": "round-robin over models, time.perf_counter, gc disabled",
        },
        "elapsed_s": elapsed,
        "settings": results,
    }
    if online is not None:
        report["online"] = online
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    args.plot.parent.mkdir(parents=True, exist_ok=True)
    plot(results, args, args.plot)
    print(f"\nwrote {args.json} and {args.plot} ({elapsed:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
