"""A fused CfC sequence loop with a hand-written backward pass through time.

Running :class:`~sklearn_cfc.nn.CfCCell` step by step under autograd records
some twenty small graph nodes per observation; on a CPU the time goes to that
bookkeeping, not to arithmetic. This module runs the same recurrence as one
``torch.autograd.Function``:

- the input half of the first layer is one matmul over all steps;
- the four heads are one matmul per step, and the loop writes every
  intermediate straight into preallocated (T, B, ...) buffers (``out=``), so a
  step costs about eight kernel calls and no graph;
- the backward pass precomputes, for all steps at once, the local Jacobian of
  the update with respect to the heads, so a step of backpropagation through
  time is four kernel calls; weight gradients are then one matmul each over
  all steps.

Variable-length batches arrive sorted by decreasing length, so the active
sequences at step ``t`` are the first ``steps[t]`` rows and finished ones are
simply not touched (as in packed sequences).

The reference semantics are :meth:`CfCCell.forward` applied in a loop; tests
check values and gradients of this module against it.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ._cell import ACTIVATIONS, CfCCell

__all__ = ["cfc_sequence"]


def _weights(cell: CfCCell) -> list[Tensor]:
    ws = [p for layer in cell.backbone for p in (layer.weight, layer.bias)]
    ws += [cell.heads.weight, cell.heads.bias]
    if cell.mode == "pure":
        ws += [cell.w_tau, cell.A]
    return ws


def cfc_sequence(
    cell: CfCCell,
    x: Tensor,
    dt: Tensor,
    h0: Tensor,
    steps: list[int],
    dropout_masks: list[Tensor] | None = None,
) -> tuple[Tensor, Tensor]:
    """Run ``cell`` over a batch of sequences sorted by decreasing length.

    Parameters
    ----------
    cell : CfCCell
        The cell whose parameters are used.
    x : Tensor of shape (B, T, C)
    dt : Tensor of shape (B, T)
    h0 : Tensor of shape (B, H)
    steps : list of int
        ``steps[t]`` is the number of sequences still running at step ``t``;
        non-increasing, and ``len(steps) <= T`` (later steps are all padding).
    dropout_masks : list of Tensor of shape (len(steps), B, U), optional
        One scaled Bernoulli mask per backbone layer, applied after its
        activation.

    Returns
    -------
    out : Tensor of shape (B, T, H)
        The state after every step; zero at padded steps.
    h_last : Tensor of shape (B, H)
        Each sequence's state after its last real step (``h0`` for length 0).
    """
    if not steps:  # every sequence is empty: nothing runs
        B, T, _ = x.shape
        return x.new_zeros(B, T, cell.units) + 0 * h0.sum(), h0.clone()
    weights = _weights(cell)
    plan = (cell.mode, cell.units, cell.backbone_layers, cell.activation, steps)
    needs_grad = torch.is_grad_enabled() and any(
        t.requires_grad for t in (x, dt, h0, *weights)
    )
    if needs_grad:
        return _CfCSequence.apply(x, dt, h0, plan, dropout_masks, *weights)
    with torch.no_grad():
        out, h_last, _ = _forward(x, dt, h0, plan, dropout_masks, weights, False)
    return out, h_last


def _forward(x, dt, h0, plan, masks, weights, store):
    mode, H, L, act_name, steps = plan
    act = ACTIVATIONS[act_name]
    B, T, C = x.shape
    Te = len(steps)
    padded = Te < T or (Te > 0 and steps[-1] < B)
    new = torch.zeros if padded else torch.empty
    opts = dict(dtype=x.dtype, device=x.device)

    w_first, b_first = weights[0], weights[1]
    inner = act.inner if L > 0 else 1.0
    # input half of the first layer, all steps at once, time-major (Te, B, M)
    zin = torch.addmm(
        b_first, x[:, :Te].transpose(0, 1).reshape(-1, C), w_first[:, :C].t()
    ).view(Te, B, -1)
    w_rec = w_first[:, C:].t()
    if inner != 1.0:
        zin.mul_(inner)
        w_rec = w_rec * inner
    deep = [
        (weights[2 * k + 1] * act.inner, (weights[2 * k] * (act.inner * act.outer)).t())
        for k in range(1, L)
    ]
    w_heads = weights[2 * L].t() * act.outer if L > 0 else None
    b_heads = weights[2 * L + 1]
    n_heads = 1 if mode == "pure" else 4
    U = w_first.shape[0]
    dt_tm = dt[:, :Te].t().unsqueeze(-1)  # (Te, B, 1)

    HS = new(Te + 1, B, H, **opts)
    HS[0] = h0

    def buffer(width):
        if store:
            return list(new(Te, B, width, **opts).unbind(0)), None
        tmp = torch.empty(B, width, **opts)
        return [tmp] * Te, tmp

    A = [buffer(U) for _ in range(L)]
    Ub = [buffer(U) for _ in range(L)]
    HEADS = buffer(n_heads * H)
    if mode == "pure":
        EXP = buffer(H)
        abs_w = weights[-2].abs()
        amp = weights[-1]
        neg_amp = -amp
    else:
        FF = buffer(2 * H)
        GATE = buffer(H)
    hs = HS.unbind(0)
    use_tanh = act.base is torch.tanh

    for t, n in enumerate(steps):
        full = n == B
        h = hs[t] if full else hs[t][:n]
        if L > 0:
            a_out = A[0][0][t] if full else A[0][0][t][:n]
            z = zin[t] if full else zin[t][:n]
            for k in range(L):
                if k > 0:
                    a_out = A[k][0][t] if full else A[k][0][t][:n]
                    bias, w = deep[k - 1]
                    torch.addmm(bias, u, w, out=a_out)
                else:
                    torch.addmm(z, h, w_rec, out=a_out)
                u = Ub[k][0][t] if full else Ub[k][0][t][:n]
                if use_tanh:
                    torch.tanh(a_out, out=u)
                else:
                    u.copy_(act.base(a_out))
                if masks is not None:
                    u.mul_(masks[k][t] if full else masks[k][t][:n])
            heads = HEADS[0][t] if full else HEADS[0][t][:n]
            torch.addmm(b_heads, u, w_heads, out=heads)
        else:
            heads = HEADS[0][t] if full else HEADS[0][t][:n]
            torch.addmm(zin[t] if full else zin[t][:n], h, w_rec, out=heads)
        h_new = hs[t + 1] if full else hs[t + 1][:n]
        dtc = dt_tm[t] if full else dt_tm[t][:n]
        if mode == "pure":
            e = EXP[0][t] if full else EXP[0][t][:n]
            torch.abs(heads, out=e)
            e.add_(abs_w).mul_(dtc).neg_().exp_()
            torch.addcmul(amp, e * heads, neg_amp, out=h_new)
        else:
            ff = FF[0][t] if full else FF[0][t][:n]
            g = GATE[0][t] if full else GATE[0][t][:n]
            torch.tanh(heads[:, : 2 * H], out=ff)
            torch.addcmul(heads[:, 3 * H :], heads[:, 2 * H : 3 * H], dtc, out=g)
            g.sigmoid_()
            if mode == "default":
                torch.lerp(ff[:, :H], ff[:, H:], g, out=h_new)
            else:
                torch.addcmul(ff[:, :H], g, ff[:, H:], out=h_new)

    out = HS[1:].transpose(0, 1)
    if Te < T:
        out = torch.cat([out, out.new_zeros(B, T - Te, H)], dim=1)
    else:
        out = out.contiguous()
    if padded:
        lengths = _lengths(steps, B, x.device)
        h_last = HS[lengths, torch.arange(B, device=x.device)]
    else:
        h_last = HS[Te].clone()
    saved = None
    if store:
        stack = torch.stack
        saved = dict(
            HS=HS, dt_tm=dt_tm, padded=padded,
            A=[stack(a[0]) for a in A], U=[stack(u[0]) for u in Ub],
            HEADS=stack(HEADS[0]),
        )
        if mode == "pure":
            saved["EXP"] = stack(EXP[0])
        else:
            saved["FF"] = stack(FF[0])
            saved["GATE"] = stack(GATE[0])
    return out, h_last, saved


def _lengths(steps: list[int], batch: int, device) -> Tensor:
    """Per-row lengths from the active-row counts of a length-sorted batch."""
    counts = torch.as_tensor(steps + [0], dtype=torch.long)
    # row b runs while b < steps[t]: its length is the number of such t
    rows = torch.arange(batch)
    return (rows[None, :] < counts[:-1, None]).sum(0).to(device)


def _activation_grad(name: str, a: Tensor) -> Tensor:
    """Elementwise derivative of the base activation at ``a`` (all steps)."""
    base = ACTIVATIONS[name].base
    if base is torch.tanh:
        th = torch.tanh(a)
        return 1.0 - th * th
    with torch.enable_grad():
        a = a.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(base(a).sum(), a)
    return grad


class _CfCSequence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, dt, h0, plan, masks, *weights):
        out, h_last, saved = _forward(x, dt, h0, plan, masks, weights, True)
        ctx.plan, ctx.masks, ctx.saved = plan, masks, saved
        ctx.save_for_backward(x, *weights)
        return out, h_last

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, g_out, g_last):
        mode, H, L, act_name, steps = ctx.plan
        act = ACTIVATIONS[act_name]
        x, *weights = ctx.saved_tensors
        s = ctx.saved
        B, T, C = x.shape
        Te = len(steps)
        padded = s["padded"]
        new = torch.zeros if padded else torch.empty
        opts = dict(dtype=x.dtype, device=x.device)
        dt_tm = s["dt_tm"]

        # dL/dh_t from outside the recurrence, time-major; padding gets none
        G = torch.zeros(Te + 1, B, H, **opts)
        if g_out is not None:
            G[1:] = g_out[:, :Te].transpose(0, 1)
        if padded:
            lengths = _lengths(steps, B, x.device)
            active = torch.arange(Te, device=x.device)[:, None] < lengths[None, :]
            G[1:] *= active.unsqueeze(-1)
        else:
            lengths = None
        if g_last is not None:
            if padded:
                G.index_put_(
                    (lengths, torch.arange(B, device=x.device)), g_last,
                    accumulate=True,
                )
            else:
                G[Te] += g_last
        DH, dh0 = G[1:], G[0]

        # local Jacobian of the update w.r.t. the heads, for all steps at once
        heads_all = s["HEADS"]
        if mode == "pure":
            amp, w_tau = weights[-1], weights[-2]
            e = s["EXP"]
            J = -amp * e * (1.0 - dt_tm * heads_all.abs())
        else:
            ff1, ff2 = s["FF"].split(H, dim=-1)
            g = s["GATE"]
            if mode == "default":
                gp = g * (1.0 - g) * (ff2 - ff1)
                j1 = (1.0 - g) * (1.0 - ff1 * ff1)
            else:
                gp = g * (1.0 - g) * ff2
                j1 = 1.0 - ff1 * ff1
            J = torch.cat([j1, g * (1.0 - ff2 * ff2), gp * dt_tm, gp], dim=-1)
        n_heads = 1 if mode == "pure" else 4

        if L > 0:
            D = []
            for k in range(L):
                d = _activation_grad(act_name, s["A"][k])
                if act.inner != 1.0:
                    d.mul_(act.inner)
                if ctx.masks is not None:
                    d.mul_(ctx.masks[k])
                D.append(d)
            w_heads_o = weights[2 * L] * act.outer  # (nh*H, U)
            w_deep_o = [weights[2 * k] * act.outer for k in range(L)]
        w_first = weights[0]
        w_rec = w_first[:, C:]  # (M, H)

        DHEADS = new(Te, B, n_heads * H, **opts)
        DA = [new(Te, B, w_first.shape[0], **opts) for _ in range(L)]
        dheads_v = DHEADS.unbind(0)
        da_v = [d.unbind(0) for d in DA]
        dh_v = DH.unbind(0)
        for t in range(Te - 1, -1, -1):
            n = steps[t]
            full = n == B
            dh = dh_v[t] if full else dh_v[t][:n]
            jt = J[t] if full else J[t][:n]
            dheads = dheads_v[t] if full else dheads_v[t][:n]
            torch.mul(
                jt.view(n, n_heads, H), dh.unsqueeze(1),
                out=dheads.view(n, n_heads, H),
            )
            grad = dheads
            if L > 0:
                du = torch.mm(dheads, w_heads_o)
                for k in range(L - 1, -1, -1):
                    if k < L - 1:
                        du = torch.mm(grad, w_deep_o[k + 1])
                    grad = da_v[k][t] if full else da_v[k][t][:n]
                    torch.mul(du, D[k][t] if full else D[k][t][:n], out=grad)
            target = dh_v[t - 1] if t > 0 else dh0
            if not full:
                target = target[:n]
            target.addmm_(grad, w_rec)

        needs = ctx.needs_input_grad
        first_grad = (DA[0] if L > 0 else DHEADS).reshape(Te * B, -1)
        dx = ddt = None
        if needs[0]:
            dx = x.new_zeros(B, T, C)
            dx[:, :Te] = (first_grad @ w_first[:, :C]).view(Te, B, C).transpose(0, 1)
        if needs[1]:
            if mode == "pure":
                f = heads_all
                ddt_tm = (DH * amp * f * e * (w_tau.abs() + f.abs())).sum(-1)
            else:
                ddt_tm = (DHEADS[..., 3 * H :] * heads_all[..., 2 * H : 3 * H]).sum(-1)
            ddt = x.new_zeros(B, T)
            ddt[:, :Te] = ddt_tm.t()
        dh0_out = dh0 if needs[2] else None

        grads = []
        xs = x[:, :Te].transpose(0, 1).reshape(Te * B, C)
        hs_prev = s["HS"][:Te].reshape(Te * B, H)
        fg_t = first_grad.t()
        grads.append(torch.cat([fg_t @ xs, fg_t @ hs_prev], dim=1))
        grads.append(first_grad.sum(0))
        for k in range(1, L):
            da = DA[k].reshape(Te * B, -1)
            prev = s["U"][k - 1].reshape(Te * B, -1) * act.outer
            grads += [da.t() @ prev, da.sum(0)]
        if L > 0:
            dheads_flat = DHEADS.reshape(Te * B, -1)
            prev = s["U"][L - 1].reshape(Te * B, -1) * act.outer
            grads += [dheads_flat.t() @ prev, dheads_flat.sum(0)]
        if mode == "pure":
            f = heads_all
            d_tau = (DH * amp * f * e * dt_tm).sum((0, 1)) * torch.sign(w_tau)
            d_amp = (DH * (1.0 - e * f)).sum((0, 1))
            grads += [d_tau, d_amp]
        grads = [
            gr if need else None for gr, need in zip(grads, needs[5:])
        ]
        return (dx, ddt, dh0_out, None, None, *grads)
