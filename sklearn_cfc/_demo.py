"""The demo behind ``python -m sklearn_cfc``.

Fits a CfC network to an irregular version of the JapaneseVowels speaker
recognition set (which ships with sktime: 9 speakers, 12 channels, 7 to 29
steps per utterance) with half of the observations dropped at random,
keeping the timestamps of the rest, and prints test accuracy and time.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def _batches(encoded, y, indices, device):
    import torch

    batch = encoded.take(indices)
    return (
        torch.as_tensor(batch.inputs, device=device),
        torch.as_tensor(batch.dt, device=device),
        torch.as_tensor(batch.lengths, device=device),
        None if y is None else torch.as_tensor(y[indices], device=device),
    )


def run(epochs: int = 40, drop: float = 0.5, seed: int = 0, verbose=True) -> float:
    """Fit and score the demo model; returns the test accuracy."""
    import torch

    from .datasets import load_uea, make_irregular
    from .nn import CfC
    from .panel import PanelEncoder, bucket_batches

    torch.manual_seed(seed)
    X_train, y_train = load_uea("JapaneseVowels", split="train")
    X_test, y_test = load_uea("JapaneseVowels", split="test")
    X_train = make_irregular(X_train, drop=drop, random_state=seed)
    X_test = make_irregular(X_test, drop=drop, random_state=seed + 1)
    classes, y_train = np.unique(y_train, return_inverse=True)
    y_test = np.searchsorted(classes, y_test)

    encoder = PanelEncoder().fit(X_train)
    train, test = encoder.transform(X_train), encoder.transform(X_test)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    core = CfC(train.inputs.shape[-1], 64).to(device)
    head = torch.nn.Linear(64, len(classes)).to(device)
    params = [*core.parameters(), *head.parameters()]
    optimizer = torch.optim.AdamW(params, lr=5e-3, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs)
    loss_fn = torch.nn.CrossEntropyLoss()
    if verbose:
        print(
            f"JapaneseVowels, {drop:.0%} of observations dropped: "
            f"{len(y_train)} train / {len(y_test)} test utterances, "
            f"{len(classes)} speakers; CfC with 64 units on {device}"
        )
    start = time.perf_counter()
    for epoch in range(epochs):
        core.train()
        total = 0.0
        for idx in bucket_batches(
            train.lengths, 32, shuffle=True, random_state=seed + epoch
        ):
            x, dt, lengths, y = _batches(train, y_train, idx, device)
            optimizer.zero_grad()
            loss = loss_fn(head(core(x, dt, lengths)[1]), y)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
        schedule.step()
        if verbose and (epoch + 1) % 10 == 0:
            print(f"  epoch {epoch + 1:3d}  train loss {total / len(y_train):.4f}")
    fit_time = time.perf_counter() - start

    core.eval()
    predictions = np.empty(len(y_test), dtype=np.int64)
    with torch.no_grad():
        for idx in bucket_batches(test.lengths, 256, shuffle=False):
            x, dt, lengths, _ = _batches(test, None, idx, device)
            predictions[idx] = head(core(x, dt, lengths)[1]).argmax(1).cpu().numpy()
    accuracy = float(np.mean(predictions == y_test))
    if verbose:
        print(f"test accuracy {accuracy:.3f}; fit time {fit_time:.1f} s")
    return accuracy


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m sklearn_cfc", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--drop", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    run(epochs=args.epochs, drop=args.drop, seed=args.seed)
