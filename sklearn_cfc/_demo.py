"""The demo behind ``python -m sklearn_cfc``.

Fits :class:`~sklearn_cfc.CfCClassifier` with its defaults to an irregular
version of the JapaneseVowels speaker-recognition set (shipped with sktime:
9 speakers, 12 channels, 7 to 29 steps per utterance) with half of the
observations dropped at random, keeping the timestamps of the rest, and
prints test accuracy and fit time.
"""

from __future__ import annotations

import argparse
import time


def run(drop: float = 0.5, seed: int = 0, verbose: bool = True) -> float:
    """Fit and score the demo model; returns the test accuracy."""
    from . import CfCClassifier
    from .datasets import load_uea, make_irregular

    X_train, y_train = load_uea("JapaneseVowels", split="train")
    X_test, y_test = load_uea("JapaneseVowels", split="test")
    X_train = make_irregular(X_train, drop=drop, random_state=seed)
    X_test = make_irregular(X_test, drop=drop, random_state=seed + 1)
    clf = CfCClassifier(random_state=seed)
    if verbose:
        print(
            f"JapaneseVowels with {drop:.0%} of observations dropped: "
            f"{len(y_train)} train / {len(y_test)} test utterances as lists of "
            "DataFrames indexed by time."
        )
        print(f"Fitting {clf} ...")
    start = time.perf_counter()
    clf.fit(X_train, y_train)
    fit_time = time.perf_counter() - start
    accuracy = clf.score(X_test, y_test)
    if verbose:
        import torch

        from ._threads import choose_threads, network_width

        work = clf.batch_size * network_width(clf)
        threads = choose_threads(work, clf.device_) or torch.get_num_threads()
        print(
            f"test accuracy {accuracy:.3f}; fit time {fit_time:.1f} s "
            f"({clf.n_iter_} epochs on {clf.device_}, {threads} torch "
            f"thread{'s' if threads != 1 else ''}; see the user guide on threads)"
        )
    return accuracy


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m sklearn_cfc", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--drop", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    run(drop=args.drop, seed=args.seed)
