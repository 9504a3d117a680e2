"""Exported models against the estimators, on real data.

What it measures
----------------
For default estimators fitted on real data, the largest absolute
difference between ``predict_proba`` / ``predict`` and what the exported
models give on the test series:

- the TorchScript module (:func:`sklearn_cfc.export.export_torchscript`),
  loaded with ``torch.jit.load``, on whole series (its ``forward``);
- the ONNX streaming step (:func:`sklearn_cfc.export.export_onnx`) run by
  onnxruntime, one observation at a time, against ``staged_predict_proba``
  (every row) — when onnxruntime is installed.

Data (each with the estimator's defaults but ``max_epochs``, which only
shortens the run: the exported path is the same whatever the training):

``physionet2012``  set B, 1,000 stays for training, 300 for testing
                   (sparse records: no time grid, one observation per step).
``japanese_vowels`` sktime's JapaneseVowels (unequal lengths, dense: patches).
``basic_motions_irregular`` BasicMotions with half the observations dropped
                   (float times: a time grid where observations meet).
``activity_streams`` BasicMotions recordings joined into streams labelled per
                   observation (``benchmarks/sequence_labelling.py``'s
                   streams, fewer of them).

Running
-------
From the repository root::

    OMP_NUM_THREADS=1 python benchmarks/export_parity.py

writes ``benchmarks/results/export_parity.json`` and fails if a difference
exceeds ``TOLERANCE``. PhysioNet is found as in ``accuracy.py``
(``$SKLEARN_CFC_DATA``, ``../shared/data`` or ``--physionet-path``); without
it that row is skipped.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import importlib.util
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from _machine import machine_info

from sklearn_cfc import CfCClassifier
from sklearn_cfc.datasets import load_physionet2012, load_uea, make_irregular
from sklearn_cfc.export import export_onnx, export_torchscript
from sklearn_cfc.panel import to_panel

TOLERANCE = 1e-5
RESULTS = Path(__file__).resolve().parent / "results" / "export_parity.json"


def find_physionet(path):
    candidates = [path] if path else []
    if os.environ.get("SKLEARN_CFC_DATA"):
        candidates.append(Path(os.environ["SKLEARN_CFC_DATA"]) / "physionet2012")
    candidates.append(
        Path(__file__).resolve().parents[2] / "shared" / "data" / "physionet2012"
    )
    for c in candidates:
        if c and (Path(c) / "set-b.tar.gz").exists():
            return Path(c)
    return None


def physionet(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        X, y = load_physionet2012(path, return_X_y=True)
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(y))
    train, test = idx[:1000], idx[1000:1300]
    return [X[i] for i in train], y[train], [X[i] for i in test]


def uea(name, irregular=False):
    X_train, y_train = load_uea(name, split="train")
    X_test, _ = load_uea(name, split="test")
    if irregular:
        X_train = make_irregular(X_train, drop=0.5, random_state=0)
        X_test = make_irregular(X_test, drop=0.5, random_state=1)
    return X_train, y_train, X_test


def activity_streams():
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import sequence_labelling as sl

    rng = np.random.default_rng(0)
    train = sl.make_streams(*sl.load_recordings("train"), 20, rng)
    test = sl.make_streams(*sl.load_recordings("test"), 10, rng)
    frames = [s["frame"] for s in train]
    labels = [s["labels"] for s in train]
    return frames, labels, [s["frame"] for s in test]


def torchscript_diff(model, X_test):
    """Max |TorchScript forward - predict_proba| on X_test."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.pt")
        export_torchscript(model, path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            loaded = torch.jit.load(path)
    panel = to_panel(X_test, time_channel=model.time_channel, time_unit=model.time_unit)
    values = torch.from_numpy(panel.values)  # NaN where unobserved
    times = torch.from_numpy(np.nan_to_num(panel.times, nan=0.0))
    lengths = torch.from_numpy(panel.lengths)
    start = time.process_time()
    with torch.no_grad():
        exported = loaded(values, times, lengths).numpy()
    cpu = time.process_time() - start
    return float(np.abs(exported - model.predict_proba(X_test)).max()), cpu


def onnx_diff(model, X_test, n_series=20):
    """Max |ONNX streaming step loop - staged_predict_proba| on some series."""
    if importlib.util.find_spec("onnxruntime") is None:
        return None
    import onnxruntime

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.onnx")
        meta = export_onnx(model, path)
        session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    X_part = X_test[:n_series]
    staged = model.staged_predict_proba(X_part).to_numpy()
    panel = to_panel(X_part, time_channel=model.time_channel, time_unit=model.time_unit)
    names = [s["name"] for s in meta["state"]]
    rows = []
    for i in range(len(panel)):
        state = {
            s["name"]: np.zeros([1, *s["shape"][1:]], dtype=s["dtype"])
            for s in meta["state"]
        }
        for t in range(int(panel.lengths[i])):
            feed = {
                "values": panel.values[i, t][None].astype(np.float32),
                "time": panel.times[i, t : t + 1].astype(np.float64),
                **state,
            }
            out = session.run(None, feed)
            outputs, errors = out[0], out[1]
            assert not errors.any(), errors
            state = dict(zip(names, out[2:], strict=True))
            rows.append(outputs[0])
    return float(np.abs(np.array(rows) - staged).max())


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--physionet-path", default=None)
    p.add_argument("--max-epochs", type=int, default=5)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    sets = {
        "japanese_vowels": lambda: uea("JapaneseVowels"),
        "basic_motions_irregular": lambda: uea("BasicMotions", irregular=True),
        "activity_streams": activity_streams,
    }
    path = find_physionet(args.physionet_path)
    if path is not None:
        sets = {"physionet2012": lambda: physionet(path), **sets}
    record = {"tolerance": TOLERANCE, "max_epochs": args.max_epochs, "sets": {}}
    failed = False
    for name, load in sets.items():
        X_train, y_train, X_test = load()
        model = CfCClassifier(max_epochs=args.max_epochs, random_state=0)
        model.fit(X_train, y_train)
        ts, ts_cpu = torchscript_diff(model, X_test)
        ox = onnx_diff(model, X_test)
        row = {
            "n_test": len(X_test),
            "patch_length_": int(model.patch_length_),
            "time_grid_": model.encoder_.time_grid_,
            "fill_": model.encoder_.fill_,
            "torchscript_max_abs_diff": ts,
            "torchscript_cpu_s": round(ts_cpu, 2),
            "onnx_streaming_max_abs_diff": ox,
        }
        record["sets"][name] = row
        failed |= ts > TOLERANCE or (ox is not None and ox > TOLERANCE)
        print(name, row, flush=True)
    record["command"] = "OMP_NUM_THREADS=1 python benchmarks/export_parity.py"
    record["machine"] = machine_info()
    RESULTS.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(f"wrote benchmarks/results/{RESULTS.name}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
