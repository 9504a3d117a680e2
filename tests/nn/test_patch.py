"""Tests of sklearn_cfc.nn.patch_sequences."""

import pytest
import torch

from sklearn_cfc.nn import patch_sequences, patched_size


def _ragged(seed=0, B=5, T=11, F=3):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(B, T, F, generator=gen)
    dt = torch.rand(B, T, generator=gen)
    lengths = torch.tensor([11, 7, 1, 0, 10])[:B]
    return x, dt, lengths


def test_patch_length_one_is_the_identity():
    x, dt, lengths = _ragged()
    xp, dtp, lp = patch_sequences(x, dt, lengths, 1)
    assert xp is x
    assert dtp is dt
    assert lp is lengths


@pytest.mark.parametrize("k", [2, 3, 4, 11, 12])
def test_patches_hold_the_observations_and_gaps_in_order(k):
    x, dt, lengths = _ragged()
    B, T, F = x.shape
    xp, dtp, lp = patch_sequences(x, dt, lengths, k)
    P = -(-T // k)
    assert xp.shape == (B, P, patched_size(F, k))
    assert dtp.shape == (B, P)
    assert lp.tolist() == [-(-int(n) // k) for n in lengths]
    for b in range(B):
        n = int(lengths[b])
        for p in range(P):
            steps = range(p * k, p * k + k)
            want_x = [x[b, t] if t < n else torch.zeros(F) for t in steps]
            want_dt = [float(dt[b, t]) if t < n else 0.0 for t in steps]
            assert torch.equal(xp[b, p, : k * F], torch.cat(want_x))
            assert xp[b, p, k * F :].tolist() == pytest.approx(want_dt)
            assert float(dtp[b, p]) == pytest.approx(sum(want_dt))


def test_padding_never_reaches_a_patch():
    x, dt, lengths = _ragged()
    reference = patch_sequences(x, dt, lengths, 3)
    real = torch.arange(x.shape[1]) < lengths[:, None]
    noisy = patch_sequences(
        torch.where(real.unsqueeze(-1), x, float("nan")),
        torch.where(real, dt, 1e6),
        lengths,
        3,
    )
    for got, want in zip(noisy, reference, strict=False):
        assert torch.equal(got, want)


def test_gradients_flow_to_real_observations_only():
    x, dt, lengths = _ragged()
    x.requires_grad_(True)
    xp, _, _ = patch_sequences(x, dt, lengths, 4)
    xp.sum().backward()
    real = (torch.arange(x.shape[1]) < lengths[:, None]).unsqueeze(-1)
    assert torch.equal(x.grad, real.expand_as(x).to(x.dtype))
