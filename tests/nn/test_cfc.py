"""Tests of the pure-PyTorch CfC core, sklearn_cfc.nn."""

import re
import subprocess
import sys

import pytest
import torch

from sklearn_cfc.nn import CfC, CfCCell
from sklearn_cfc.nn._fused import cfc_sequence

MODES = ["default", "no_gate", "pure"]
ACTIVATIONS = ["lecun_tanh", "tanh", "relu", "gelu", "silu"]


def _data(B=4, T=6, C=3, H=5, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(B, T, C, generator=g, dtype=dtype)
    dt = torch.rand(B, T, generator=g, dtype=dtype) * 2
    h0 = torch.randn(B, H, generator=g, dtype=dtype)
    return x, dt, h0


def _state(h0, mixed_memory, seed=2):
    """``h0``, or with mixed memory a pair ``(h0, c0)`` with a random ``c0``."""
    if not mixed_memory:
        return h0
    g = torch.Generator().manual_seed(seed)
    return h0, torch.randn(h0.shape, generator=g, dtype=h0.dtype)


def _flat(out, state):
    """``[out, h]`` or ``[out, h, c]``."""
    return [out, *state] if isinstance(state, tuple) else [out, state]


def _grads(out, h, inputs, seed=1):
    """Gradients of a random linear function of ``out`` and the state ``h``."""
    g = torch.Generator().manual_seed(seed)
    loss = sum(
        (t * torch.randn(t.shape, generator=g, dtype=t.dtype)).sum()
        for t in _flat(out, h)
    )
    return torch.autograd.grad(loss, inputs)


# ----------------------------------------------------------------- ncps parity
def _ncps_cell(model, mode, activation, backbone_layers):
    ncps_torch = pytest.importorskip("ncps.torch")
    cell = model.cell
    ref = ncps_torch.CfCCell(
        cell.input_size,
        cell.units,
        mode=mode,
        backbone_activation=activation,
        backbone_units=cell.backbone_units,
        backbone_layers=backbone_layers,
    ).double()
    with torch.no_grad():
        linear = [m for m in (ref.backbone or []) if isinstance(m, torch.nn.Linear)]
        for theirs, ours in zip(linear, cell.backbone, strict=False):
            theirs.weight.copy_(ours.weight)
            theirs.bias.copy_(ours.bias)
        names = ["ff1"] if mode == "pure" else ["ff1", "ff2", "time_a", "time_b"]
        for name, w, b in zip(
            names,
            cell.heads.weight.split(cell.units),
            cell.heads.bias.split(cell.units),
            strict=False,
        ):
            getattr(ref, name).weight.copy_(w)
            getattr(ref, name).bias.copy_(b)
        if mode == "pure":
            ref.w_tau.copy_(cell.w_tau.view(1, -1))
            ref.A.copy_(cell.A.view(1, -1))
    return ref


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "activation, backbone_layers",
    [(a, n) for a in ACTIVATIONS for n in (1, 2)] + [("lecun_tanh", 0)],
)
@pytest.mark.parametrize("batch", [3, 8])  # 8 == units, where broadcasting bugs hide
def test_matches_official_cell(mode, activation, backbone_layers, batch):
    torch.manual_seed(0)
    model = CfC(
        4,
        8,
        mode=mode,
        activation=activation,
        backbone_units=16,
        backbone_layers=backbone_layers,
    ).double()
    # official weights at their own initialisation, shared with ours
    with torch.no_grad():
        for p in model.parameters():
            p.uniform_(-0.8, 0.8)
    ref = _ncps_cell(model, mode, activation, backbone_layers)
    x, dt, _ = _data(B=batch, T=7, C=4, H=8)
    out, h = model(x, dt)
    h_ref = torch.zeros(batch, 8, dtype=torch.float64)
    for t in range(x.shape[1]):
        # ncps's sequence wrapper mis-broadcasts per-sample timespans (its
        # issues 81-83); its cell is right when given a (B, 1) column
        h_ref, _ = ref(x[:, t], h_ref, dt[:, t : t + 1])
        torch.testing.assert_close(out[:, t], h_ref, rtol=0, atol=1e-5)
    torch.testing.assert_close(h, h_ref, rtol=0, atol=1e-5)


# ------------------------------------------- fused loop == reference autograd loop
@pytest.mark.parametrize("mixed_memory", [False, True])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(  # without a backbone the activation is unused
    "backbone_layers, activation",
    [(0, "lecun_tanh")] + [(n, a) for n in (1, 2) for a in ACTIVATIONS],
)
@pytest.mark.parametrize("lengths", [None, [6, 2, 0, 4]])  # full, short, empty
def test_fused_matches_reference(
    mode, backbone_layers, activation, lengths, mixed_memory
):
    torch.manual_seed(0)
    model = CfC(
        3,
        5,
        mode=mode,
        backbone_units=7,
        backbone_layers=backbone_layers,
        activation=activation,
        mixed_memory=mixed_memory,
    ).double()
    x, dt, h0 = _data()
    state = _state(h0, mixed_memory)
    leaves = [x, dt, *_flat(h0, state)[1:]]
    for t in leaves:
        t.requires_grad_(True)
    lengths = None if lengths is None else torch.tensor(lengths)
    out, h = model(x, dt, lengths, state)
    ref_out, ref_h = model._reference_forward(x, dt, lengths, state)
    for a, b in zip(_flat(out, h), _flat(ref_out, ref_h), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
    inputs = [*leaves, *model.parameters()]
    for g, ref_g in zip(
        _grads(out, h, inputs), _grads(ref_out, ref_h, inputs), strict=False
    ):
        torch.testing.assert_close(g, ref_g, rtol=0, atol=1e-11)


@pytest.mark.parametrize(  # out, h, and with mixed memory c: each alone
    "mixed_memory, which", [(False, 0), (False, 1), (True, 0), (True, 1), (True, 2)]
)
@pytest.mark.parametrize("lengths", [None, [4, 4, 1, 0]])
def test_gradient_of_each_output_matches_reference(which, lengths, mixed_memory):
    torch.manual_seed(0)
    model = CfC(3, 5, backbone_units=7, mixed_memory=mixed_memory).double()
    x, dt, h0 = _data(T=4)
    state = _state(h0, mixed_memory)
    leaves = [x, dt, *_flat(h0, state)[1:]]
    for t in leaves:
        t.requires_grad_(True)
    lengths = None if lengths is None else torch.tensor(lengths)
    inputs = [*leaves, *model.parameters()]
    fused = _flat(*model(x, dt, lengths, state))[which]
    ref = _flat(*model._reference_forward(x, dt, lengths, state))[which]
    weight = torch.randn(fused.shape, dtype=torch.float64)
    grads = torch.autograd.grad((fused * weight).sum(), inputs, allow_unused=True)
    ref_grads = torch.autograd.grad((ref * weight).sum(), inputs, allow_unused=True)
    for g, ref_g in zip(grads, ref_grads, strict=True):
        g = torch.zeros(()) if g is None else g
        ref_g = torch.zeros(()) if ref_g is None else ref_g
        torch.testing.assert_close(g, ref_g.expand_as(g), rtol=0, atol=1e-11)


@pytest.mark.parametrize("mixed_memory", [False, True])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("lengths", [None, [5, 1, 3]])
def test_gradcheck(mode, lengths, mixed_memory):
    torch.manual_seed(0)
    model = CfC(
        2, 3, mode=mode, backbone_units=4, backbone_layers=2, mixed_memory=mixed_memory
    ).double()
    x, dt, h0 = _data(B=3, T=5, C=2, H=3)
    state = _state(h0, mixed_memory)
    lengths = None if lengths is None else torch.tensor(lengths)
    names = [n for n, _ in model.named_parameters()]
    params = [p.detach().clone().requires_grad_(True) for p in model.parameters()]
    n_state = 2 if mixed_memory else 1

    def fn(x, dt, *rest):
        state = tuple(rest[:n_state]) if mixed_memory else rest[0]
        weights = dict(zip(names, rest[n_state:], strict=False))
        out, h = torch.func.functional_call(model, weights, (x, dt, lengths, state))
        return tuple(_flat(out, h))

    state_leaves = _flat(h0, state)[1:]
    args = [t.requires_grad_(True) for t in (x, dt, *state_leaves)] + params
    assert torch.autograd.gradcheck(fn, args, atol=1e-6)


def _masks(T, B, U, layers, seed=3):
    g = torch.Generator().manual_seed(seed)
    p = torch.full((T, B, U), 0.5, dtype=torch.float64)
    return [torch.bernoulli(p, generator=g) * 2 for _ in range(layers)]


@pytest.mark.parametrize("mixed_memory", [False, True])
def test_gradcheck_with_dropout_masks(mixed_memory):
    torch.manual_seed(0)
    model = CfC(
        2,
        3,
        backbone_units=4,
        backbone_layers=2,
        backbone_dropout=0.5,
        mixed_memory=mixed_memory,
    ).double()
    x, dt, h0 = _data(B=3, T=4, C=2, H=3)
    masks = _masks(4, 3, 4, 2)
    lstm = model.lstm

    def fn(x, dt, *state):
        state = state if mixed_memory else state[0]
        out, last = cfc_sequence(model.cell, x, dt, state, [3, 3, 2, 1], masks, lstm)
        return tuple(_flat(out, last))

    state_leaves = _flat(h0, _state(h0, mixed_memory))[1:]
    args = [t.requires_grad_(True) for t in (x, dt, *state_leaves)]
    assert torch.autograd.gradcheck(fn, args, atol=1e-6)


class _ReplayDropout(torch.nn.Module):
    """Stands in for the cell's dropout: multiplies by given masks in order.

    The reference loop applies dropout once per backbone layer per step, so
    call ``n`` uses layer ``n % layers`` of step ``n // layers``.
    """

    def __init__(self, masks):
        super().__init__()
        self.masks, self.calls = masks, 0

    def forward(self, z):
        layers = len(self.masks)
        t, k = divmod(self.calls, layers)
        self.calls += 1
        return z * self.masks[k][t]


@pytest.mark.parametrize("mixed_memory", [False, True])
@pytest.mark.parametrize("activation", ["lecun_tanh", "relu"])
@pytest.mark.parametrize("lengths", [None, [5, 3, 3, 0]])  # sorted, as fused wants
def test_dropout_masks_match_reference(activation, lengths, mixed_memory):
    """The fused loop applies mask ``[k][t]`` where the cell applies dropout."""
    torch.manual_seed(0)
    model = CfC(
        3,
        5,
        backbone_units=6,
        backbone_layers=2,
        backbone_dropout=0.5,
        activation=activation,
        mixed_memory=mixed_memory,
    ).double()
    x, dt, h0 = _data(T=5)
    state = _state(h0, mixed_memory)
    masks = _masks(5, 4, 6, 2)
    steps = [4] * 5 if lengths is None else [3, 3, 3, 1, 1]
    inputs = [x, dt, *model.parameters()]
    x.requires_grad_(True)
    dt.requires_grad_(True)
    out, h = cfc_sequence(model.cell, x, dt, state, steps, masks, model.lstm)
    model.cell.dropout = _ReplayDropout(masks)
    lengths = None if lengths is None else torch.tensor(lengths)
    ref_out, ref_h = model._reference_forward(x, dt, lengths, state)
    for a, b in zip(_flat(out, h), _flat(ref_out, ref_h), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
    for g, ref_g in zip(
        _grads(out, h, inputs), _grads(ref_out, ref_h, inputs), strict=False
    ):
        torch.testing.assert_close(g, ref_g, rtol=0, atol=1e-11)


# ------------------------------------------------------------ variable length
@pytest.mark.parametrize("mixed_memory", [False, True])
@pytest.mark.parametrize("mode", MODES)
def test_padding_never_changes_states_or_outputs(mode, mixed_memory):
    torch.manual_seed(0)
    model = CfC(3, 5, mode=mode, backbone_units=7, mixed_memory=mixed_memory)
    model = model.double()
    lengths = [6, 2, 4]
    seqs = [_data(B=1, T=n, seed=i)[:2] for i, n in enumerate(lengths)]
    padded_x = torch.full((3, 9, 3), float("nan"), dtype=torch.float64)
    padded_dt = torch.full((3, 9), float("nan"), dtype=torch.float64)
    for i, (x, dt) in enumerate(seqs):
        padded_x[i, : lengths[i]] = x[0]
        padded_dt[i, : lengths[i]] = dt[0]
    padded_x.requires_grad_(True)
    out, state = model(padded_x, padded_dt, torch.tensor(lengths))
    loss = sum(t.sum() for t in _flat(out, state))
    loss.backward()
    for i, (x, dt) in enumerate(seqs):
        alone_out, alone_state = model(x, dt)
        n = lengths[i]
        torch.testing.assert_close(out[i, :n], alone_out[0], rtol=0, atol=1e-12)
        for a, b in zip(
            _flat(out, state)[1:], _flat(alone_out, alone_state)[1:], strict=False
        ):
            torch.testing.assert_close(a[i], b[0], rtol=0, atol=1e-12)
        assert torch.equal(out[i, n:], torch.zeros_like(out[i, n:]))
        assert torch.equal(padded_x.grad[i, n:], torch.zeros_like(padded_x.grad[i, n:]))
    for p in model.parameters():
        assert torch.isfinite(p.grad).all()


@pytest.mark.parametrize("mixed_memory", [False, True])
def test_zero_length_sequences_keep_their_state(mixed_memory):
    model = CfC(3, 5, mixed_memory=mixed_memory).double()
    x, dt, h0 = _data(B=2, T=3)
    state = _state(h0, mixed_memory)
    for lengths in ([0, 0], [3, 0]):
        out, last = model(x, dt, torch.tensor(lengths), state)
        for a, b in zip(_flat(out, last)[1:], _flat(x, state)[1:], strict=False):
            assert torch.equal(a[1], b[1])
        assert torch.equal(out[1], torch.zeros_like(out[1]))


# ------------------------------------------------------------ single-step API
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("mixed_memory", [False, True])
@pytest.mark.parametrize(
    "backbone_layers, activation", [(0, "lecun_tanh"), (1, "lecun_tanh"), (2, "silu")]
)
@pytest.mark.parametrize("grad", [False, True])
def test_step_matches_sequence(mode, mixed_memory, backbone_layers, activation, grad):
    torch.manual_seed(0)
    model = CfC(
        3,
        5,
        mode=mode,
        backbone_units=7,
        backbone_layers=backbone_layers,
        activation=activation,
        mixed_memory=mixed_memory,
    ).double()
    x, dt, h0 = _data()
    start = _state(h0, mixed_memory)

    def row(state, i):  # the state of sequence i: unbatched, or a batch of one
        return tuple(s[i] for s in state) if mixed_memory else state[i]

    with torch.set_grad_enabled(grad):
        out, final = model(x, dt, state=start)
        state, alone, one = start, row(start, 1), row(start, slice(1, 2))
        for t in range(x.shape[1]):
            state = model.step(x[:, t], dt[:, t], state)
            alone = model.step(x[1, t], dt[1, t], alone)  # unbatched
            one = model.step(x[1:2, t], float(dt[1, t]), one)  # dt a number
            for s, expected in [(state, out[:, t]), (alone, out[1, t])]:
                h = s[0] if mixed_memory else s
                torch.testing.assert_close(h, expected, rtol=0, atol=1e-12)
    for s, i in [(state, slice(None)), (alone, 1), (one, slice(1, 2))]:
        for a, b in zip(
            _flat(None, s)[1:], _flat(None, row(final, i))[1:], strict=False
        ):
            torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
    assert h.requires_grad == grad


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            dict(x=torch.randn(2, 4)),
            (
                "CfC.step: expected x with 3 features in its last dimension, got shape "
                "(2, 4)."
            ),
        ),
        (
            dict(dt=torch.tensor([1.0, -1.0])),
            (
                "CfCCell: dt must be finite and non-negative at every real step "
                "(the time since the previous observation); got -1.0 for sequence 1."
            ),
        ),
        (
            dict(dt=float("nan")),
            (
                "CfCCell: dt must be finite and non-negative (the time since the "
                "previous observation); got nan."
            ),
        ),
        (
            dict(state=torch.zeros(2, 5)),
            (
                "CfC: with mixed_memory=True, state must be a pair (h, c) of "
                "tensors of shape (2, 5), got a tensor of shape (2, 5)."
            ),
        ),
    ],
)
def test_step_bad_input_is_named(kwargs, message):
    model = CfC(3, 5, mixed_memory=True)
    args = dict(x=torch.randn(2, 3), dt=None, state=None)
    args.update(kwargs)
    with pytest.raises(ValueError, match=re.escape(message)):
        model.step(**args)


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf")])
def test_step_of_one_series_checks_its_dt(bad):
    # one series is checked by reading its one value, not by a reduction
    model = CfC(3, 5, mixed_memory=True)
    message = (
        "CfCCell: dt must be finite and non-negative at every real step (the "
        f"time since the previous observation); got {bad} for sequence 0."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        model.step(torch.randn(1, 3), torch.tensor([bad]))
    state = model.step(torch.randn(1, 3), torch.tensor([0.0]))  # 0 is allowed
    assert state[0].shape == (1, 5)


def test_cell_unbatched_and_scalar_dt():
    cell = CfCCell(3, 4).double()
    x = torch.randn(3, dtype=torch.float64)
    h = cell(x, None, 0.5)
    assert h.shape == (4,)
    batched = cell(x[None], None, torch.tensor([0.5], dtype=torch.float64))
    torch.testing.assert_close(h, batched[0])


# ---------------------------------------------------------------- mixed memory
def test_mixed_memory_state_is_a_pair_and_respects_lengths():
    torch.manual_seed(0)
    model = CfC(3, 5, mixed_memory=True).double()
    x, dt, _ = _data(B=2, T=6)
    out, (h, c) = model(x, dt, torch.tensor([6, 3]))
    short_out, (short_h, short_c) = model(x[1:, :3], dt[1:, :3])
    torch.testing.assert_close(h[1], short_h[0])
    torch.testing.assert_close(c[1], short_c[0])
    torch.testing.assert_close(out[1, :3], short_out[0])
    assert torch.equal(out[1, 3:], torch.zeros(3, 5, dtype=torch.float64))
    out.sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())


# --------------------------------------------------------------------- layout
def test_unbatched_and_time_major_layouts():
    torch.manual_seed(0)
    model = CfC(3, 5).double()
    x, dt, _ = _data(B=2)
    out, h = model(x, dt)
    out1, h1 = model(x[1], dt[1])
    torch.testing.assert_close(out1, out[1])
    torch.testing.assert_close(h1, h[1])
    tm = CfC(3, 5, batch_first=False).double()
    tm.load_state_dict(model.state_dict())
    out_tm, h_tm = tm(x.transpose(0, 1), dt.t())
    torch.testing.assert_close(out_tm.transpose(0, 1), out)
    torch.testing.assert_close(h_tm, h)


def test_dt_defaults_to_one_and_accepts_a_number():
    model = CfC(3, 5).double()
    x, _, _ = _data()
    ones = torch.ones(x.shape[:2], dtype=torch.float64)
    torch.testing.assert_close(model(x)[0], model(x, ones)[0])
    torch.testing.assert_close(model(x, 2.5)[0], model(x, ones * 2.5)[0])


def test_state_follows_input_dtype():
    model = CfC(3, 5).double()
    out, h = model(torch.randn(2, 4, 3, dtype=torch.float64))
    assert out.dtype == h.dtype == torch.float64
    model32 = CfC(3, 5)
    out, h = model32(torch.randn(2, 4, 3))
    assert out.dtype == h.dtype == torch.float32


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("mixed_memory", [False, True])
def test_cuda_matches_cpu(mixed_memory):
    torch.manual_seed(0)
    model = CfC(3, 5, mixed_memory=mixed_memory)
    x, dt, _ = _data(dtype=torch.float32)
    lengths = torch.tensor([6, 2, 0, 4])
    out, h = model(x, dt, lengths)
    gpu = CfC(3, 5, mixed_memory=mixed_memory).cuda()
    gpu.load_state_dict(model.state_dict())
    out_g, h_g = gpu(x.cuda(), dt.cuda(), lengths.cuda())
    assert out_g.device.type == "cuda"
    for a, b in zip(_flat(out_g, h_g), _flat(out, h), strict=True):
        torch.testing.assert_close(a.cpu(), b, rtol=1e-4, atol=1e-5)
    out_g.sum().backward()
    # the online step runs there too
    state = gpu.step(x[:, 0].cuda(), dt[:, 0].cuda())
    assert _flat(None, state)[1].device.type == "cuda"


# ---------------------------------------------------------------- dropout
@pytest.mark.parametrize("mixed_memory", [False, True])
def test_dropout_acts_with_one_backbone_layer(mixed_memory):
    torch.manual_seed(0)
    model = CfC(
        3, 5, backbone_layers=1, backbone_dropout=0.5, mixed_memory=mixed_memory
    )
    x = torch.randn(2, 6, 3)
    assert not torch.equal(model(x)[0], model(x)[0])
    model.eval()
    torch.testing.assert_close(model(x)[0], model(x)[0], rtol=0, atol=0)
    model.train()
    model(x)[0].sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())


# ----------------------------------------------------------------- bad input
BAD_INPUT = [
    (
        dict(x=torch.randn(2, 3, 4, 3)),
        ValueError,
        (
            "CfC: expected x of shape (B, T, C) or (T, C) with C=3, got a 4D tensor of "
            "shape (2, 3, 4, 3)."
        ),
    ),
    (
        dict(x=torch.randn(2, 4, 2)),
        ValueError,
        "CfC: expected x with C=3 features in its last dimension, got shape (2, 4, 2).",
    ),
    (
        dict(dt=torch.ones(2, 5)),
        ValueError,
        "CfC: expected dt of shape (2, 4) to match x of shape (2, 4, 3), got (2, 5).",
    ),
    (
        dict(dt=torch.ones(3, 4)),
        ValueError,
        "CfC: expected dt of shape (2, 4) to match x of shape (2, 4, 3), got (3, 4).",
    ),
    (
        dict(dt=torch.tensor([[1.0, -1.0, 1.0, 1.0]] * 2)),
        ValueError,
        (
            "CfC: dt must be finite and non-negative at every real step (the time "
            "since the previous observation); got -1.0 for sequence 0 at step 1."
        ),
    ),
    (
        dict(dt=torch.tensor([[1.0] * 4, [1.0, 1.0, float("nan"), 1.0]])),
        ValueError,
        "got nan for sequence 1 at step 2.",
    ),
    (
        dict(dt=torch.tensor([[1.0] * 4, [1.0, float("inf"), 1.0, 1.0]])),
        ValueError,
        "got inf for sequence 1 at step 1.",
    ),
    (
        dict(lengths=torch.tensor([4, 5])),
        ValueError,
        "CfC: lengths must lie in [0, T=4]; lengths[1] = 5.",
    ),
    (
        dict(lengths=torch.tensor([-1, 2])),
        ValueError,
        "CfC: lengths must lie in [0, T=4]; lengths[0] = -1.",
    ),
    (
        dict(lengths=torch.tensor([4, 4, 4])),
        ValueError,
        "CfC: expected lengths of shape (2,) (one per sequence), got shape (3,).",
    ),
    (
        dict(lengths=torch.tensor([4.0, 2.0])),
        TypeError,
        "CfC: lengths must hold integers, got dtype torch.float32.",
    ),
    (
        dict(state=torch.zeros(2, 4)),
        ValueError,
        "CfC: expected state of shape (2, 5), got (2, 4).",
    ),
    (dict(x=[[1.0, 2.0, 3.0]]), TypeError, "CfC: x must be a torch.Tensor, got list."),
]


@pytest.mark.parametrize("kwargs, error, message", BAD_INPUT)
def test_bad_input_is_named(kwargs, error, message):
    model = CfC(3, 5)
    args = dict(x=torch.randn(2, 4, 3), dt=None, lengths=None, state=None)
    args.update(kwargs)
    with pytest.raises(error, match=re.escape(message)):
        model(**args)


def test_dt_at_padded_steps_is_ignored():
    model = CfC(3, 5)
    dt = torch.tensor([[1.0, 1.0, float("nan"), -3.0]] * 2)
    out, _ = model(torch.randn(2, 4, 3), dt, lengths=torch.tensor([2, 2]))
    assert torch.isfinite(out).all()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            dict(mode="fast"),
            "mode must be one of ('default', 'no_gate', 'pure'), got 'fast'.",
        ),
        (
            dict(activation="swish"),
            (
                "activation must be one of ('lecun_tanh', "
                "'tanh', 'relu', 'gelu', 'silu'), got 'swish'."
            ),
        ),
        (
            dict(backbone_dropout=1.0),
            "backbone_dropout must be a float in [0, 1), got 1.0.",
        ),
        (dict(backbone_units=0), "backbone_units must be a positive int, got 0."),
        (
            dict(backbone_layers=-1),
            "backbone_layers must be a non-negative int, got -1.",
        ),
        (
            dict(backbone_layers=0, backbone_dropout=0.1),
            "backbone_dropout > 0 needs a backbone; got backbone_layers=0.",
        ),
    ],
)
def test_bad_configuration_is_named(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        CfC(3, 5, **kwargs)


def test_repr_shows_non_defaults():
    assert "mode='pure'" in repr(CfC(3, 5, mode="pure"))
    assert "mixed_memory=True" in repr(CfC(3, 5, mixed_memory=True))
    assert "backbone_units" not in repr(CfC(3, 5))


# --------------------------------------------------------------------- layering
def test_nn_imports_torch_only():
    code = (
        "import sys, sklearn_cfc.nn; "
        "bad = [m for m in ('sklearn', 'skorch', 'pandas', 'sktime') "
        "if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ------------------------------------------------------------- recycled memory
def test_interleaved_graphs_keep_their_own_buffers():
    """Buffers are recycled only once their autograd node is gone."""
    torch.manual_seed(0)
    model = CfC(3, 5).double()
    batches = [_data(B=4, T=7, seed=s) for s in range(3)]
    outs = [model(x, dt) for x, dt, _ in batches]  # three live graphs
    params = list(model.parameters())
    for (x, dt, _), (out, h) in reversed(list(zip(batches, outs, strict=False))):
        ref_out, ref_h = model._reference_forward(x, dt, None, torch.zeros(4, 5))
        for g, ref_g in zip(
            _grads(out, h, params), _grads(ref_out, ref_h, params), strict=False
        ):
            torch.testing.assert_close(g, ref_g, rtol=0, atol=1e-11)


def test_backward_twice_with_retained_graph():
    model = CfC(3, 5).double()
    x, dt, _ = _data()
    out, _ = model(x, dt)
    first = torch.autograd.grad(out.sum(), list(model.parameters()), retain_graph=True)
    model(x, dt)  # another call must not take the retained graph's memory
    second = torch.autograd.grad(out.sum(), list(model.parameters()))
    for a, b in zip(first, second, strict=False):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
