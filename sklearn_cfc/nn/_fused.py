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


class _Chain:
    """The recurrence rewritten for speed, with the same values.

    ``tanh(a) = 2 * sigmoid(2 * a) - 1``, and sigmoid is several times cheaper
    than tanh on a CPU. The affine parts of that identity are folded into the
    weight matrices of whatever consumes the activation, so the loop applies
    one sigmoid per layer. The heads are reordered to ``[f1, f2, time_b,
    time_a]`` with the ``f`` rows doubled, so that one sigmoid covers both
    tanh heads and the time gate. In default mode the loop carries
    ``s = (h + 1) / 2`` instead of ``h`` (the gated update is a ``lerp`` of two
    sigmoids in that representation), which again folds into the weights.

    Attributes named ``*_eff`` are the matrices the loop multiplies with, in
    (in, out) layout; the backward pass multiplies with their transposes.
    """

    def __init__(self, plan, weights, C, dropout):
        mode, H, L, act_name, _ = plan
        act = ACTIVATIONS[act_name]
        self.mode, self.H, self.L = mode, H, L
        self.n_heads = 1 if mode == "pure" else 4
        # carried state s relates to h as h = c1 * s + c0
        self.c1, self.c0 = (2.0, -1.0) if mode == "default" else (1.0, 0.0)
        self.sigmoid_form = L > 0 and act.base is torch.tanh and not dropout
        if self.sigmoid_form:
            self.base = torch.sigmoid
            self.s_in, self.s_out, self.shift = 2 * act.inner, 2 * act.outer, -act.outer
        else:
            self.base = act.base
            self.s_in, self.s_out, self.shift = act.inner, act.outer, 0.0
        if L == 0:
            self.s_in = 1.0
        self.act_name = act_name

        w1, b1 = weights[0], weights[1]
        w1x, w1h = w1[:, :C], w1[:, C:]
        bias0 = b1 + self.c0 * w1h.sum(1) if self.c0 else b1
        rec = w1h * self.c1 if self.c1 != 1.0 else w1h
        if L == 0:
            w1x, bias0, rec = (
                self.head_rows(w1x),
                self.head_rows(bias0),
                (self.head_rows(rec)),
            )
        self.w1x, self.b0 = w1x, bias0  # zin = s_in * (x @ w1x.T + b0)
        self.rec_eff = (rec * self.s_in).t()  # (H, M)
        self.deep_eff = []
        for k in range(1, L):
            w, b = weights[2 * k], weights[2 * k + 1]
            self.deep_eff.append(
                (
                    (w * (self.s_in * self.s_out)).t(),
                    (b + self.shift * w.sum(1)) * self.s_in,
                )
            )
        if L > 0:
            wh, bh = weights[2 * L], weights[2 * L + 1]
            self.heads_eff = self.head_rows(wh * self.s_out).t()
            self.bheads_eff = self.head_rows(bh + self.shift * wh.sum(1))

    def head_rows(self, w: Tensor) -> Tensor:
        """Map head rows (first dim) from [f1, f2, a, b] to [2f1, 2f2, b, a]."""
        if self.mode == "pure":
            return w
        f1, f2, ta, tb = w.split(self.H)
        return torch.cat([2 * f1, 2 * f2, tb, ta])

    def head_grads(self, g: Tensor) -> Tensor:
        """Gradients w.r.t. the effective heads (last dim) -> original heads."""
        if self.mode == "pure":
            return g
        f1, f2, tb, ta = g.split(self.H, dim=-1)
        return torch.cat([2 * f1, 2 * f2, ta, tb], dim=-1)

    def true_input(self, u: Tensor) -> Tensor:
        """The true activation value from the stored loop activation."""
        if self.s_out == 1.0 and self.shift == 0.0:
            return u
        return u * self.s_out + self.shift


def _forward(x, dt, h0, plan, masks, weights, store):
    mode, H, L, _, steps = plan
    B, T, C = x.shape
    Te = len(steps)
    padded = Te < T or steps[-1] < B
    new = torch.zeros if padded else torch.empty
    opts = dict(dtype=x.dtype, device=x.device)
    ch = _Chain(plan, weights, C, masks is not None)

    zin = torch.addmm(ch.b0, x[:, :Te].transpose(0, 1).reshape(-1, C), ch.w1x.t()).view(
        Te, B, -1
    )
    if ch.s_in != 1.0:
        zin.mul_(ch.s_in)
    dt_tm = dt[:, :Te].t().unsqueeze(-1)  # (Te, B, 1)

    HS = new(Te + 1, B, H, **opts)
    HS[0] = (h0 - ch.c0) / ch.c1 if ch.c1 != 1.0 else h0

    def buffer(width):
        if store:
            return new(Te, B, width, **opts)
        return torch.empty(1, B, width, **opts).expand(Te, B, width)

    U = zin.shape[-1] if L > 0 else 0
    P = [buffer(U) for _ in range(L)]
    A = [buffer(U) for _ in range(L)]
    HEADS = buffer(ch.n_heads * H)
    if mode == "pure":
        EXP = buffer(H)
        abs_w = weights[-2].abs()
        amp = weights[-1]
        neg_amp = -amp
    else:
        SIG = buffer(3 * H)
        if mode == "no_gate":
            ff = torch.empty(B, 2 * H, **opts)
            neg_one = torch.tensor(-1.0, **opts)
    base, sig_out = ch.base, ch.base is torch.sigmoid or ch.base is torch.tanh
    rec, deep = ch.rec_eff, ch.deep_eff

    def rows(buf, t, n, full):
        return buf[t] if full else buf[t][:n]

    u = None  # the current layer's activation, carried between layers
    for t, n in enumerate(steps):
        full = n == B
        s_prev = HS[t] if full else HS[t][:n]
        heads = rows(HEADS, t, n, full)
        if L > 0:
            for k in range(L):
                pre = rows(P[k], t, n, full)
                if k == 0:
                    torch.addmm(rows(zin, t, n, full), s_prev, rec, out=pre)
                else:
                    torch.addmm(deep[k - 1][1], u, deep[k - 1][0], out=pre)
                u = rows(A[k], t, n, full)
                if sig_out:
                    base(pre, out=u)
                else:
                    u.copy_(base(pre))
                if masks is not None:
                    u.mul_(rows(masks[k], t, n, full))
            torch.addmm(ch.bheads_eff, u, ch.heads_eff, out=heads)
        else:
            torch.addmm(rows(zin, t, n, full), s_prev, rec, out=heads)
        s_new = HS[t + 1] if full else HS[t + 1][:n]
        dtc = rows(dt_tm, t, n, full)
        if mode == "pure":
            e = rows(EXP, t, n, full)
            torch.abs(heads, out=e)
            e.add_(abs_w).mul_(dtc).neg_().exp_()
            torch.addcmul(amp, e * heads, neg_amp, out=s_new)
            continue
        gate_pre = heads[:, 2 * H : 3 * H]  # time_b, becomes time_a * dt + time_b
        torch.addcmul(gate_pre, heads[:, 3 * H :], dtc, out=gate_pre)
        sig = torch.sigmoid(heads[:, : 3 * H], out=rows(SIG, t, n, full))
        if mode == "default":
            torch.lerp(sig[:, :H], sig[:, H : 2 * H], sig[:, 2 * H :], out=s_new)
        else:
            f = ff if full else ff[:n]
            torch.add(neg_one, sig[:, : 2 * H], alpha=2, out=f)
            torch.addcmul(f[:, :H], sig[:, 2 * H :], f[:, H:], out=s_new)

    lengths = _lengths(steps, B, x.device) if padded else None
    hs = HS[1:].transpose(0, 1)
    if ch.c1 != 1.0:
        hs = hs * ch.c1 + ch.c0
    if padded:
        active = torch.arange(Te, device=x.device)[None, :] < lengths[:, None]
        hs = hs * active.unsqueeze(-1)
        out = torch.cat([hs, hs.new_zeros(B, T - Te, H)], dim=1) if Te < T else hs
        s_last = HS[lengths, torch.arange(B, device=x.device)]
    else:
        out = hs.contiguous()
        s_last = HS[Te]
    h_last = s_last * ch.c1 + ch.c0 if ch.c1 != 1.0 else s_last.clone()
    saved = None
    if store:
        saved = dict(HS=HS, dt_tm=dt_tm, lengths=lengths, P=P, A=A, HEADS=HEADS)
        if mode == "pure":
            saved["EXP"] = EXP
        else:
            saved["SIG"] = SIG
    return out, h_last, saved


def _lengths(steps: list[int], batch: int, device) -> Tensor:
    """Per-row lengths from the active-row counts of a length-sorted batch."""
    counts = torch.as_tensor(steps, dtype=torch.long)
    rows = torch.arange(batch)
    return (rows[None, :] < counts[:, None]).sum(0).to(device)


def _activation_grad(base, pre: Tensor, act: Tensor) -> Tensor:
    """Derivative of the loop activation at ``pre`` (all steps at once)."""
    if base is torch.sigmoid:
        return act * (1.0 - act)
    if base is torch.tanh:
        th = torch.tanh(pre)
        return 1.0 - th * th
    with torch.enable_grad():
        pre = pre.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(base(pre).sum(), pre)
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
        mode, H, L, _, steps = ctx.plan
        x, *weights = ctx.saved_tensors
        s, masks = ctx.saved, ctx.masks
        B, T, C = x.shape
        Te = len(steps)
        lengths = s["lengths"]
        padded = lengths is not None
        new = torch.zeros if padded else torch.empty
        opts = dict(dtype=x.dtype, device=x.device)
        ch = _Chain(ctx.plan, weights, C, masks is not None)
        dt_tm = s["dt_tm"]
        rows_b = torch.arange(B, device=x.device)

        # dL/ds_t from outside the recurrence, time-major; padding gets none
        G = torch.zeros(Te + 1, B, H, **opts)
        if g_out is not None:
            G[1:] = g_out[:, :Te].transpose(0, 1)
            if padded:
                active = torch.arange(Te, device=x.device)[:, None] < lengths
                G[1:] *= active.unsqueeze(-1)
        if g_last is not None:
            if padded:
                G.index_put_((lengths, rows_b), g_last, accumulate=True)
            else:
                G[Te] += g_last
        if ch.c1 != 1.0:
            G *= ch.c1
        DS, ds0 = G[1:], G[0]

        # local Jacobian of the update w.r.t. the effective heads, all steps
        HEADS = s["HEADS"]
        if mode == "pure":
            amp, w_tau = weights[-1], weights[-2]
            e = s["EXP"]
            J = -amp * e * (1.0 - dt_tm * HEADS.abs())
        else:
            s1, s2, g = s["SIG"].split(H, dim=-1)
            gd = g * (1.0 - g)
            if mode == "default":
                gp = (s2 - s1) * gd
                J = torch.cat(
                    [(1.0 - g) * s1 * (1.0 - s1), g * s2 * (1.0 - s2), gp, gp * dt_tm],
                    dim=-1,
                )
            else:
                gp = (2.0 * s2 - 1.0) * gd
                J = torch.cat(
                    [2.0 * s1 * (1.0 - s1), 2.0 * g * s2 * (1.0 - s2), gp, gp * dt_tm],
                    dim=-1,
                )
        nh = ch.n_heads

        D = []
        for k in range(L):
            d = _activation_grad(ch.base, s["P"][k], s["A"][k])
            if masks is not None:
                d.mul_(masks[k])
            D.append(d)
        heads_t = ch.heads_eff.t() if L > 0 else None  # (nh*H, U)
        deep_t = [w.t() for w, _ in ch.deep_eff]
        rec_t = ch.rec_eff.t()  # (M, H)

        DHEADS = new(Te, B, nh * H, **opts)
        DP = [new(Te, B, ch.w1x.shape[0], **opts) for _ in range(L)]
        for t in range(Te - 1, -1, -1):
            n = steps[t]
            full = n == B
            ds = DS[t] if full else DS[t][:n]
            dheads = DHEADS[t] if full else DHEADS[t][:n]
            jt = J[t] if full else J[t][:n]
            torch.mul(jt.view(n, nh, H), ds.unsqueeze(1), out=dheads.view(n, nh, H))
            grad = dheads
            if L > 0:
                du = torch.mm(dheads, heads_t)
                for k in range(L - 1, -1, -1):
                    if k < L - 1:
                        du = torch.mm(grad, deep_t[k])
                    grad = DP[k][t] if full else DP[k][t][:n]
                    torch.mul(du, D[k][t] if full else D[k][t][:n], out=grad)
            target = DS[t - 1] if t > 0 else ds0
            if not full:
                target = target[:n]
            target.addmm_(grad, rec_t)

        needs = ctx.needs_input_grad
        TB = Te * B
        if L > 0:
            first = (DP[0] * ch.s_in).reshape(TB, -1)
        else:
            first = ch.head_grads(DHEADS).reshape(TB, -1)
        w1 = weights[0]
        dx = ddt = dh0 = None
        if needs[0]:
            dx = x.new_zeros(B, T, C)
            dx[:, :Te] = (first @ w1[:, :C]).view(Te, B, C).transpose(0, 1)
        if mode == "pure":
            f = HEADS
            common = DS * amp * f * e
        if needs[1]:
            if mode == "pure":
                ddt_tm = (common * (w_tau.abs() + f.abs())).sum(-1)
            else:
                ddt_tm = (DHEADS[..., 2 * H : 3 * H] * HEADS[..., 3 * H :]).sum(-1)
            ddt = x.new_zeros(B, T)
            ddt[:, :Te] = ddt_tm.t()
        if needs[2]:
            dh0 = ds0 / ch.c1 if ch.c1 != 1.0 else ds0

        HS = s["HS"]
        h_prev = HS[:Te].reshape(TB, H)
        if ch.c1 != 1.0:
            h_prev = h_prev * ch.c1 + ch.c0
        first_t = first.t()
        grads = [
            torch.cat(
                [first_t @ x[:, :Te].transpose(0, 1).reshape(TB, C), first_t @ h_prev],
                dim=1,
            ),
            first.sum(0),
        ]
        for k in range(1, L):
            dp = (DP[k] * ch.s_in).reshape(TB, -1)
            grads += [dp.t() @ ch.true_input(s["A"][k - 1]).reshape(TB, -1), dp.sum(0)]
        if L > 0:
            dh_orig = ch.head_grads(DHEADS).reshape(TB, -1)
            u_last = ch.true_input(s["A"][L - 1]).reshape(TB, -1)
            grads += [dh_orig.t() @ u_last, dh_orig.sum(0)]
        if mode == "pure":
            grads += [
                (common * dt_tm).sum((0, 1)) * torch.sign(w_tau),
                (DS * (1.0 - e * f)).sum((0, 1)),
            ]
        grads = [gr if need else None for gr, need in zip(grads, needs[5:])]
        return (dx, ddt, dh0, None, None, *grads)
