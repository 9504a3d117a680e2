"""Where a benchmark ran: machine, threads, devices and package versions.

Every script in ``benchmarks/`` records this block next to its figures, so
results from different machines or library versions are never compared
unknowingly. Run as ``python benchmarks/<script>.py``, which puts this folder
on ``sys.path``.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform


def cpu_model() -> str:
    """The processor's marketing name, or the architecture where unknown."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def package_version(name: str) -> str | None:
    """The installed version of distribution ``name``, None if absent."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def machine_info(packages=(), **extra) -> dict:
    """Platform, processor, torch threads, GPU and ``packages``' versions.

    ``extra`` items are added as they are (a load average, a device name).
    """
    import torch

    info = {
        "platform": platform.platform(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
        "python": platform.python_version(),
    }
    info.update({name: package_version(name) for name in packages})
    info.update(extra)
    return info
