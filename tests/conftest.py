"""Shared test set-up."""

import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    """The tests' networks are tiny: one thread is fastest and immune to load.

    With several OpenMP threads on a busy two-core machine, threads wait for
    each other and a test can take ten times longer.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
