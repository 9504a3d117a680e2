"""The demo behind ``python -m sklearn_cfc``.

Fits :class:`~sklearn_cfc.CfCClassifier` with its defaults to an irregular
version of the JapaneseVowels speaker-recognition set (shipped with sktime:
9 speakers, 12 channels, 7 to 29 steps per utterance) with half of the
observations dropped at random, keeping the timestamps of the rest. It prints
its settings (seed, device, torch threads, epochs), one line per training
epoch, then the test accuracy, the fit time and the fitted ``patch_length_``.
"""

from __future__ import annotations

import argparse
import os
import time

# The test accuracy of the demo with its default options on a CPU, as the
# README states it (`OMP_NUM_THREADS=1 python -m sklearn_cfc`). Measure it
# again and update README.md with it when training changes;
# tests/test_docs.py checks that both agree and that the demo reaches it.
README_ACCURACY = 0.978
DEFAULTS = {"drop": 0.5, "seed": 0, "max_epochs": 100}

DESCRIPTION = f"""\
Fit a CfCClassifier with its default settings to an irregularly sampled
version of the JapaneseVowels speaker-recognition data (shipped with sktime:
9 speakers, 12 channels, 7 to 29 steps per utterance; 270 utterances to train
on, 370 to test on). A share of each utterance's observations is dropped at
random and the rest keep their timestamps. The demo prints its settings, one
line per training epoch, the test accuracy and the fit time.

With the default options, on a CPU, the test accuracy is {README_ACCURACY:.3f}, as
the README states. The fit takes about 10 s on one free CPU core, longer on a
busy machine; --max-epochs 20 takes about a quarter of that."""

EPILOG = """\
threads: on a CPU, sklearn-cfc runs each fit on as many torch threads as the
network's size warrants (one for this network). SKLEARN_CFC_NUM_THREADS=k
sets the count yourself; OMP_NUM_THREADS, when set, is left to torch. With a
CUDA or MPS GPU the demo trains there (device "auto")."""


def _thread_source(device):
    """How the torch thread count of a fit on ``device`` is chosen, in words."""
    if device != "cpu":
        return "torch's setting; the GPU runs the kernels"
    if os.environ.get("SKLEARN_CFC_NUM_THREADS", "").strip():
        return "from SKLEARN_CFC_NUM_THREADS"
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if os.environ.get(name, "").strip():
            return f"torch's, from {name}"
    return "chosen for the network's size"


def run(
    drop: float = 0.5, seed: int = 0, verbose: int = 2, *, max_epochs: int = 100
) -> float:
    """Fit and score the demo model; return the test accuracy.

    ``verbose`` 0 prints nothing, 1 the settings and the result, 2 also one
    line per training epoch.
    """
    import torch

    from . import CfCClassifier
    from ._skorch import resolve_device
    from ._threads import choose_threads, network_width
    from .datasets import load_uea, make_irregular

    X_train, y_train = load_uea("JapaneseVowels", split="train")
    X_test, y_test = load_uea("JapaneseVowels", split="test")
    X_train = make_irregular(X_train, drop=drop, random_state=seed)
    X_test = make_irregular(X_test, drop=drop, random_state=seed + 1)
    clf = CfCClassifier(
        max_epochs=max_epochs, random_state=seed, verbose=int(verbose > 1)
    )
    device = resolve_device(clf.device)
    threads = choose_threads(clf.batch_size * network_width(clf), device)
    threads = torch.get_num_threads() if threads is None else threads
    default = {"drop": drop, "seed": seed, "max_epochs": max_epochs} == DEFAULTS
    if verbose:
        print("sklearn-cfc demo: CfCClassifier with its defaults on JapaneseVowels")
        print(
            f"data:     {len(y_train)} train / {len(y_test)} test utterances with "
            f"{drop:.0%} of their\n          observations dropped, as lists of "
            "DataFrames indexed by time"
        )
        print(
            f"settings: seed {seed}, device {device}, max_epochs {max_epochs}, "
            f"{threads} torch thread{'s' if threads != 1 else ''}\n"
            f"          ({_thread_source(device)})"
        )
        if default:
            print("expect:   about 10 s on one free core; --max-epochs 20 is faster")
        if verbose > 1:
            print(
                "training: one line per epoch with its losses, learning rate (lr) "
                "and seconds (dur);\n          --quiet hides them"
            )
    start, start_cpu = time.perf_counter(), time.process_time()
    clf.fit(X_train, y_train)
    fit_time = time.perf_counter() - start
    cpu_time = time.process_time() - start_cpu
    accuracy = clf.score(X_test, y_test)
    if verbose:
        stated = ""
        if default and device == "cpu":
            stated = f" (the README states {README_ACCURACY:.3f} for these settings)"
        print(f"result:   test accuracy {accuracy:.3f}{stated}")
        print(
            f"          fit time {fit_time:.1f} s ({cpu_time:.1f} s of CPU time), "
            f"{clf.n_iter_} epochs, patch_length_ {clf.patch_length_}"
        )
    return accuracy


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m sklearn_cfc``."""
    parser = argparse.ArgumentParser(
        prog="python -m sklearn_cfc",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--drop",
        type=float,
        default=DEFAULTS["drop"],
        metavar="FRACTION",
        help="share of each utterance's observations to drop at random, "
        "from 0 (keep all) to below 1 (default: %(default)s)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=DEFAULTS["seed"],
        help="seed of the dropped observations and of the network's training "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--max-epochs",
        type=int,
        default=DEFAULTS["max_epochs"],
        metavar="N",
        help="passes over the training data; fewer are faster (20 take about a "
        "quarter of the time of 100) and can be less accurate (default: "
        "%(default)s, the estimator's default)",
    )
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="print the settings and the result only, not a line per epoch",
    )
    return parser


def main(argv=None) -> None:
    """Run the demo with the options in ``argv`` (None: the command line)."""
    args = build_parser().parse_args(argv)
    run(
        drop=args.drop,
        seed=args.seed,
        verbose=1 if args.quiet else 2,
        max_epochs=args.max_epochs,
    )
