"""Heads and losses of ``sklearn_cfc.nn`` (``nn/_heads.py``)."""

import math
import re

import pytest
import torch

from sklearn_cfc.nn import (
    READOUTS,
    CfC,
    CfCForecastNetwork,
    CfCSequenceNetwork,
    GaussianHead,
    LinearHead,
    MaskedGaussianNLLLoss,
    patch_sequences,
)


@pytest.mark.parametrize("mixed_memory", [False, True])
def test_linear_head_reads_the_last_real_state(mixed_memory):
    torch.manual_seed(0)
    core, head = CfC(3, 5, mixed_memory=mixed_memory), LinearHead(5, 2)
    x, lengths = torch.randn(4, 6, 3), torch.tensor([6, 2, 4, 1])
    out, state = core(x, lengths=lengths)
    h = state[0] if mixed_memory else state
    torch.testing.assert_close(head(out, state, lengths), head.linear(h))
    for b, n in enumerate(lengths.tolist()):  # the state after the last real step
        torch.testing.assert_close(h[b], out[b, n - 1])


def test_linear_head_refuses_an_unknown_readout():
    assert READOUTS == ("last", "mean", "max", "all")
    msg = "readout must be one of ('last', 'mean', 'max', 'all'), got 'median'"
    with pytest.raises(ValueError, match=re.escape(msg)):
        LinearHead(4, 2, readout="median")


@pytest.mark.parametrize("mixed_memory", [False, True])
def test_pooled_readouts_see_only_real_steps(mixed_memory):
    torch.manual_seed(0)
    core = CfC(3, 5, backbone_units=8, mixed_memory=mixed_memory)
    x, dt = torch.randn(4, 9, 3), torch.rand(4, 9)
    lengths = torch.tensor([9, 4, 1, 0])
    out, state = core(x, dt, lengths)
    h = state[0] if mixed_memory else state
    head = LinearHead(5, 2, readout="all")
    assert head.linear.in_features == 15
    pooled = head.readout(out, state, lengths)
    for b, n in enumerate(lengths.tolist()):
        real = out[b, :n]
        mean = real.mean(0) if n else torch.zeros(5)
        top = real.amax(0) if n else torch.zeros(5)
        torch.testing.assert_close(pooled[b], torch.cat([h[b], mean, top]))
    # padding (NaN included) never reaches the readouts
    noisy = torch.where(torch.arange(9)[:, None] < lengths, 0.0, torch.nan)
    x_noisy = x + noisy.t().unsqueeze(-1)
    out2, state2 = core(x_noisy, dt, lengths)
    for kind in ("mean", "max"):
        one = LinearHead(5, 2, readout=kind)
        torch.testing.assert_close(
            one.readout(out2, state2, lengths), one.readout(out, state, lengths)
        )
    # without lengths every step is real
    full = LinearHead(5, 2, readout="mean").readout(out[:1], state, None)
    torch.testing.assert_close(full, out[:1].mean(1))


def test_sequence_network_reads_patches():
    torch.manual_seed(0)
    net = CfCSequenceNetwork(3, 2, units=5, backbone_units=8, patch_length=4)
    assert net.cfc.input_size == 4 * (3 + 1)
    x, dt, lengths = torch.randn(3, 10, 3), torch.rand(3, 10), torch.tensor([10, 5, 1])
    xp, dtp, lp = patch_sequences(x, dt, lengths, 4)
    out, state = net.cfc(xp, dtp, lp)
    torch.testing.assert_close(net(x, dt, lengths), net.head(out, state, lp))
    # a series cut after its 5th observation reads as the same partial patch
    torch.testing.assert_close(net(x, dt, lengths)[1], net(x[1:2, :5], dt[1:2, :5])[0])


def test_sequence_network_is_core_then_head():
    torch.manual_seed(0)
    net = CfCSequenceNetwork(3, 2, units=5, backbone_units=8)
    x, dt, lengths = torch.randn(4, 6, 3), torch.rand(4, 6), torch.tensor([6, 2, 4, 1])
    out, state = net.cfc(x, dt, lengths)
    torch.testing.assert_close(net(x, dt, lengths), net.head(out, state, lengths))


def test_gaussian_head_scales_are_positive_and_bounded_below():
    head = GaussianHead(4, 3, min_scale=0.1)
    with torch.no_grad():
        head.linear.bias[3:] = -100.0  # softplus underflows to 0
    out = head(torch.zeros(2, 5, 4))
    assert out.shape == (2, 5, 6)
    torch.testing.assert_close(out[..., 3:], torch.full((2, 5, 3), 0.1))
    with pytest.raises(ValueError, match="min_scale must be > 0"):
        GaussianHead(4, 3, min_scale=0.0)


def test_masked_gaussian_nll_is_the_gaussian_nll_of_the_observed_targets():
    pred = torch.tensor([[[0.0, 2.0], [1.0, 0.5], [0.0, 1.0]]], requires_grad=True)
    target = torch.tensor([[[1.0], [float("nan")], [0.0]]])
    loss = MaskedGaussianNLLLoss()(pred, target)
    expected = ((math.log(2.0) + 0.5 / 4) + (0.0 + 0.0)) / 2
    torch.testing.assert_close(loss, torch.tensor([expected]))
    loss.sum().backward()
    assert torch.isfinite(pred.grad).all()
    assert not pred.grad[0, 1].any()
    nothing = torch.full((1, 3, 1), float("nan"))
    assert MaskedGaussianNLLLoss()(pred.detach(), nothing).item() == 0.0
    assert MaskedGaussianNLLLoss("mean")(pred.detach(), target).dim() == 0
    with pytest.raises(ValueError, match="reduction must be"):
        MaskedGaussianNLLLoss("sum")


@pytest.mark.parametrize("mixed_memory", [False, True])
def test_a_forecast_does_not_change_with_the_other_queries(mixed_memory):
    torch.manual_seed(0)
    net = CfCForecastNetwork(3, 2, units=16, mixed_memory=mixed_memory).eval()
    x, dt, lengths = torch.randn(1, 7, 3), torch.rand(1, 7), torch.tensor([7])
    query, query_dt = torch.randn(1, 12, 3), torch.rand(1, 12) * 5
    with torch.no_grad():
        alone = net(x, dt, lengths, query[:, -1:], query_dt[:, -1:])
        for q in range(2, 13):
            together = net(x, dt, lengths, query[:, -q:], query_dt[:, -q:])
            torch.testing.assert_close(together[:, -1], alone[:, 0], rtol=0, atol=0)


def test_forecast_network_steps_once_from_the_context_state():
    torch.manual_seed(0)
    net = CfCForecastNetwork(3, 1, units=4)
    x, dt, lengths = torch.randn(2, 5, 3), torch.rand(2, 5), torch.tensor([5, 0])
    query, query_dt = torch.randn(2, 3, 3), torch.rand(2, 3)
    _, state = net.cfc(x, dt, lengths)
    out, _ = net.cfc(query[1, :1][None], query_dt[1, :1][None], None, state[1:])
    torch.testing.assert_close(
        net(x, dt, lengths, query, query_dt)[1, 0], net.head(out[0, 0])
    )
