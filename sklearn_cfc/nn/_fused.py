"""A fused CfC sequence loop with a hand-written backward pass through time.

Running :class:`~sklearn_cfc.nn.CfCCell` step by step under autograd records
some twenty small graph nodes per observation (about thirty with the
mixed-memory LSTM in front); on a CPU the time goes to that bookkeeping, not
to arithmetic. This module runs the same recurrence, with or without the
mixed memory, as one ``torch.autograd.Function``:

- the input half of the first layer, and of the LSTM gates with mixed memory,
  is one matmul over all steps;
- the four heads are one matmul per step, the four LSTM gates one more, and
  the loop writes every intermediate straight into preallocated
  (T, B, ...) buffers (``out=``), so a step costs about eight kernel calls
  (fifteen with mixed memory) and no graph;
- the backward pass precomputes, for all steps at once, the local Jacobians
  of the update with respect to the heads and of the memory cell with respect
  to its gates, so a step of backpropagation through time is four kernel calls
  (nine with mixed memory); weight gradients are then one matmul each over
  all steps.

Variable-length batches arrive sorted by decreasing length, so the active
sequences at step ``t`` are the first ``steps[t]`` rows and finished ones are
simply not touched (as in packed sequences).

The reference semantics are ``CfC._reference_forward``, a loop over
:meth:`CfCCell.forward` (after :meth:`torch.nn.LSTMCell.forward` with mixed
memory); tests check values and gradients of this module against it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from ._cell import ACTIVATIONS, CfCCell
from ._workspace import Arena

__all__ = ["cfc_sequence"]

# (mode, units, backbone_layers, activation, mixed, steps): what the loop runs
_Plan = tuple[str, int, int, str, bool, list[int]]


def _weights(cell: CfCCell, lstm: nn.LSTMCell | None = None) -> list[Tensor]:
    ws = [p for layer in cell.backbone for p in (layer.weight, layer.bias)]
    ws += [cell.heads.weight, cell.heads.bias]
    if cell.mode == "pure":
        ws += [cell.w_tau, cell.A]
    if lstm is not None:
        ws += [lstm.weight_ih, lstm.weight_hh, lstm.bias_ih, lstm.bias_hh]
    return ws


def cfc_sequence(
    cell: CfCCell,
    x: Tensor,
    dt: Tensor,
    state,
    steps: list[int],
    dropout_masks: list[Tensor] | None = None,
    lstm: nn.LSTMCell | None = None,
):
    """Run ``cell`` over a batch of sequences sorted by decreasing length.

    Parameters
    ----------
    cell : CfCCell
        The cell whose parameters are used.
    x : Tensor of shape (B, T, C)
    dt : Tensor of shape (B, T)
    state : Tensor of shape (B, H), or a pair (h0, c0) of them with ``lstm``
        The initial state.
    steps : list of int
        ``steps[t]`` is the number of sequences still running at step ``t``;
        non-increasing, and ``len(steps) <= T`` (later steps are all padding).
    dropout_masks : list of Tensor of shape (len(steps), B, U), optional
        One scaled Bernoulli mask per backbone layer, applied after its
        activation.
    lstm : torch.nn.LSTMCell, optional
        The memory cell of the mixed-memory variant: at every step it reads
        ``(x_t, (h, c))`` and ``cell`` reads its new ``h``.

    Returns
    -------
    out : Tensor of shape (B, T, H)
        The state ``h`` after every step; zero at padded steps.
    state : Tensor of shape (B, H), or a pair (h, c) of them with ``lstm``
        Each sequence's state after its last real step (the initial state
        for length 0).
    """
    mixed = lstm is not None
    h0, c0 = state if mixed else (state, None)
    if not steps:  # every sequence is empty: nothing runs
        B, T, _ = x.shape
        out = x.new_zeros(B, T, cell.units) + 0 * h0.sum()
        if not mixed:
            return out, h0.clone()
        assert c0 is not None  # the second half of the state pair
        return out, (h0.clone(), c0.clone())
    weights = _weights(cell, lstm)
    plan = (
        cell.mode,
        cell.units,
        cell.backbone_layers,
        cell.activation,
        mixed,
        steps,
    )
    needs_grad = torch.is_grad_enabled() and any(
        t is not None and t.requires_grad for t in (x, dt, h0, c0, *weights)
    )
    if needs_grad:
        out, *last = _CfCSequence.apply(x, dt, h0, c0, plan, dropout_masks, *weights)
    else:
        with torch.no_grad():
            (out, *last), _ = _forward(x, dt, h0, c0, plan, dropout_masks, weights)
    return out, (tuple(last) if mixed else last[0])


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

    With mixed memory the LSTM's ``g`` rows are doubled so that one sigmoid
    covers its four gates, and the loop carries ``k = -2 c`` instead of the
    cell state ``c``: then ``sigmoid(k) = (1 - tanh(c)) / 2`` and the LSTM's
    output ``o * tanh(c)`` is ``o - 2 o sigmoid(k)``, one more sigmoid. The
    LSTM reads ``h = c1 * s + c0`` from the carried state, folded into its
    weights; the CfC's first layer then reads the LSTM's output as it is.

    Attributes named ``*_eff`` are the matrices the loop multiplies with, in
    (in, out) layout; the backward pass multiplies with their transposes.
    """

    def __init__(
        self, plan: _Plan, weights: Sequence[Tensor], C: int, dropout: bool
    ) -> None:
        mode, H, L, act_name, mixed, _ = plan
        act = ACTIVATIONS[act_name]
        self.mode, self.H, self.L, self.mixed = mode, H, L, mixed
        self.n_heads = 1 if mode == "pure" else 4
        # carried state s relates to h as h = c1 * s + c0
        self.c1, self.c0 = (2.0, -1.0) if mode == "default" else (1.0, 0.0)
        # the first layer reads (in_scale * r + in_shift) from the recurrent
        # input r: the carried state s, or with mixed memory the LSTM's output
        self.in_scale, self.in_shift = (1.0, 0.0) if mixed else (self.c1, self.c0)
        self.sigmoid_form = L > 0 and act.base is torch.tanh and not dropout
        self.base: Callable[[Tensor], Tensor]
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
        bias0 = b1 + self.in_shift * w1h.sum(1) if self.in_shift else b1
        rec = w1h * self.in_scale if self.in_scale != 1.0 else w1h
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
        n_cfc = 2 * L + 2
        if mode == "pure":
            self.w_tau, self.amp = weights[n_cfc], weights[n_cfc + 1]
            n_cfc += 2
        if mixed:
            w_ih, w_hh, b_ih, b_hh = weights[n_cfc:]
            self.mem_w_ih = w_ih  # (4H, C), for the backward pass
            self.mem_w_hh = w_hh * self.c1 if self.c1 != 1.0 else w_hh  # (4H, H)
            bias = b_ih + b_hh
            if self.c0:
                bias = bias + self.c0 * w_hh.sum(1)
            self.mem_wx = self.gate_rows(w_ih)  # gates = x @ mem_wx.T + mem_b + ...
            self.mem_b = self.gate_rows(bias)
            self.mem_rec_eff = self.gate_rows(self.mem_w_hh).t()  # (H, 4H)

    def gate_rows(self, w: Tensor) -> Tensor:
        """Double the ``g`` rows of LSTM gate rows ``[i, f, g, o]``."""
        i, f, g, o = w.split(self.H)
        return torch.cat([i, f, 2 * g, o])

    def head_rows(self, w: Tensor) -> Tensor:
        """Map head rows (first dim) from [f1, f2, a, b] to [2f1, 2f2, b, a]."""
        if self.mode == "pure":
            return w
        f1, f2, ta, tb = w.split(self.H)
        return torch.cat([2 * f1, 2 * f2, tb, ta])

    def head_grads(self, g: Tensor) -> Tensor:
        """Map gradients (first dim) from the effective heads to the original."""
        if self.mode == "pure":
            return g
        f1, f2, tb, ta = g.split(self.H)
        return torch.cat([2 * f1, 2 * f2, ta, tb])

    def weight_grad(
        self, dpre: Tensor, stored: Tensor, scale: float, shift: float
    ) -> tuple[Tensor, Tensor]:
        """``dpre.T @ (scale * stored + shift)`` over all steps, without the temporary.

        ``dpre`` and ``stored`` are (Te, B, *) buffers; returns the weight and
        bias gradients of the layer whose pre-activation gradient is ``dpre``.
        """
        rows = dpre.shape[0] * dpre.shape[1]
        dpre = dpre.reshape(rows, -1)
        db = dpre.sum(0)
        dw = dpre.t() @ stored.reshape(rows, -1)
        if scale != 1.0:
            dw.mul_(scale)
        if shift != 0.0:
            dw.add_(db[:, None], alpha=shift)
        return dw, db


def _stepper(steps: list[int], batch: int) -> Callable[[Tensor], list[Tensor]]:
    """Return ``rows(buf)``: per-step views of a (Te, B, *) buffer.

    Step ``t`` sees the first ``steps[t]`` rows (the sequences still running);
    a (Te, B, *) view with stride 0 in time yields one shared scratch.
    """
    padded = any(n < batch for n in steps)

    def rows(buf: Tensor) -> list[Tensor]:
        views = list(buf.unbind(0)) if buf.stride(0) else [buf[0]] * len(steps)
        if padded:
            views = [v[:n] for v, n in zip(views, steps, strict=True)]
        return views

    return rows


def _forward(x, dt, h0, c0, plan, masks, weights, store=False):
    """The forward loop; returns ``(out, h_last[, c_last])`` and what backward needs.

    With ``store`` every intermediate is kept for the backward pass (and
    returned in a dict); otherwise per-step scratch is shared across steps.
    """
    mode, H, L, _, mixed, steps = plan
    B, T, C = x.shape
    Te = len(steps)
    padded = Te < T or steps[-1] < B
    opts = dict(dtype=x.dtype, device=x.device)
    ch = _Chain(plan, weights, C, masks is not None)
    U = ch.w1x.shape[0] if L > 0 else 0
    in_place = ch.base is torch.sigmoid  # its derivative comes from its output
    # The first layer's pre-activations accumulate in place on top of the
    # input half ``zin``; deeper layers and the heads get their own buffers.
    widths = [None if in_place or k == 0 else U for k in range(L)]  # P
    widths += [None if in_place and k == 0 else U for k in range(L)]  # A
    widths += [ch.n_heads * H if L > 0 else None]  # HEADS
    widths += [H] if mode == "pure" else []  # EXP
    widths += [H, H] if mixed else []  # Q = sigmoid(k), HL = the LSTM's h
    per_step = [(Te if store else 1, B, w) for w in widths if w is not None]
    # with mixed memory: the carried k = -2 c, and the LSTM gates whose input
    # half is computed for all steps at once
    memory = [(Te + 1, B, H), (Te, B, 4 * H)] if mixed else []
    arena = Arena(
        [(Te + 1, B, H), (Te, B, C), (Te, B, ch.w1x.shape[0]), *memory, *per_step],
        x,
        zero=padded,
    )
    HS, x_tm, zin, *rest = arena.tensors
    KS, GATES = (rest.pop(0), rest.pop(0)) if mixed else (None, None)
    bufs = iter(t.expand(Te, *t.shape[1:]) for t in rest)
    # width None: the first layer's P, or its A when the activation runs in
    # place, is zin itself; in place there are no P at all
    P = [None if in_place else zin if w is None else next(bufs) for w in widths[:L]]
    A = [zin if w is None else next(bufs) for w in widths[L : 2 * L]]
    HEADS = next(bufs) if L > 0 else zin
    EXP = next(bufs) if mode == "pure" else None
    Q, HL = (next(bufs), next(bufs)) if mixed else (None, None)

    x_tm.copy_(x[:, :Te].transpose(0, 1))
    x_tm = x_tm.view(Te * B, C)
    torch.addmm(ch.b0, x_tm, ch.w1x.t(), out=zin.view(Te * B, -1))
    if ch.s_in != 1.0:
        zin.mul_(ch.s_in)
    if mixed:
        assert KS is not None  # both allocated with mixed memory
        assert GATES is not None
        torch.addmm(ch.mem_b, x_tm, ch.mem_wx.t(), out=GATES.view(Te * B, -1))
        torch.mul(c0, -2.0, out=KS[0])
    dt_tm = dt[:, :Te].t().unsqueeze(-1)  # (Te, B, 1)
    if ch.c1 != 1.0:
        torch.sub(h0, ch.c0, out=HS[0]).div_(ch.c1)
    else:
        HS[0] = h0
    if mode == "pure":
        abs_w = ch.w_tau.abs()
        amp = ch.amp
        neg_amp = -amp
    elif mode == "no_gate":
        ff = torch.empty(B, 2 * H, **opts)
        neg_one = torch.tensor(-1.0, **opts)
    base = ch.base
    has_out = base is torch.tanh  # then the loop calls it with out=
    tanh = torch.tanh
    rec, deep = ch.rec_eff, ch.deep_eff
    rows = _stepper(steps, B)
    s_prev_v, s_new_v, dt_v = rows(HS[:-1]), rows(HS[1:]), rows(dt_tm)
    heads_v, a_v = rows(HEADS), [rows(a) for a in A]
    p_v = [rows(p) for p in P if p is not None]  # empty when in place
    mask_v = None if masks is None else [rows(m) for m in masks]
    if mode == "pure":
        assert EXP is not None  # allocated in pure mode
        exp_v = rows(EXP)
    else:
        # time_b's slot becomes time_a * dt + time_b, then [s1, s2, gate]
        gate_v, time_a_v = rows(HEADS[..., 2 * H : 3 * H]), rows(HEADS[..., 3 * H :])
        sig_v = rows(HEADS[..., : 3 * H])
        s1_v, s2_v, g_v = (rows(HEADS[..., k * H : (k + 1) * H]) for k in range(3))
        if mode == "no_gate":
            ff_v = rows(ff.expand(Te, B, 2 * H))
    if mixed:
        assert KS is not None  # all four allocated with mixed memory
        assert GATES is not None
        assert Q is not None
        assert HL is not None
        gates_v, k_prev_v, k_new_v = rows(GATES), rows(KS[:-1]), rows(KS[1:])
        mi_v, mf_v, mg_v, mo_v = (rows(gate) for gate in GATES.split(H, dim=-1))
        q_v, src_v = rows(Q), rows(HL)
    else:
        src_v = s_prev_v  # the first layer reads the carried state

    # the current layer's activation, carried between layers: layer 0 sets it
    # before any read, so the initial value is only a placeholder
    u = zin
    for t in range(Te):
        if mixed:
            # LSTM: gates [i, f, g~, o] = sigmoid(...), with g = 2 g~ - 1;
            # k' = f k - 2 i g, and its output o tanh(c') = o - 2 o sigmoid(k')
            gates, k_new, q = gates_v[t], k_new_v[t], q_v[t]
            gates.addmm_(s_prev_v[t], ch.mem_rec_eff)
            gates.sigmoid_()
            torch.mul(mf_v[t], k_prev_v[t], out=k_new)
            k_new.add_(mi_v[t], alpha=2.0).addcmul_(mi_v[t], mg_v[t], value=-4.0)
            torch.sigmoid(k_new, out=q)
            torch.addcmul(mo_v[t], mo_v[t], q, value=-2.0, out=src_v[t])
        heads = heads_v[t]
        if L > 0:
            for k in range(L):
                u_new = a_v[k][t]
                pre = u_new if in_place else p_v[k][t]
                if k == 0:
                    pre.addmm_(src_v[t], rec)
                else:
                    torch.addmm(deep[k - 1][1], u, deep[k - 1][0], out=pre)
                u = u_new
                if in_place:
                    u.sigmoid_()
                elif has_out:
                    tanh(pre, out=u)
                else:
                    u.copy_(base(pre))
                if mask_v is not None:
                    u.mul_(mask_v[k][t])
            torch.addmm(ch.bheads_eff, u, ch.heads_eff, out=heads)
        else:
            heads.addmm_(src_v[t], rec)
        if mode == "pure":
            e = exp_v[t]
            torch.abs(heads, out=e)
            e.add_(abs_w).mul_(dt_v[t]).neg_().exp_()
            torch.addcmul(amp, e * heads, neg_amp, out=s_new_v[t])
            continue
        gate = gate_v[t]
        torch.addcmul(gate, time_a_v[t], dt_v[t], out=gate)
        sig_v[t].sigmoid_()
        if mode == "default":
            torch.lerp(s1_v[t], s2_v[t], g_v[t], out=s_new_v[t])
        else:
            f = ff_v[t]
            torch.add(neg_one, sig_v[t][:, : 2 * H], alpha=2, out=f)
            torch.addcmul(f[:, :H], g_v[t], f[:, H:], out=s_new_v[t])

    lengths = _lengths(steps, B, x.device) if padded else None
    out = torch.empty(B, T, H, **opts)
    hs = HS[1:].transpose(0, 1)
    if ch.c1 != 1.0:
        c0_, c1_ = torch.tensor(ch.c0, **opts), torch.tensor(ch.c1, **opts)
        torch.addcmul(c0_, hs, c1_, out=out[:, :Te])
    else:
        out[:, :Te] = hs
    if lengths is not None:  # padded
        active = torch.arange(Te, device=x.device)[None, :] < lengths[:, None]
        out[:, :Te].mul_(active.unsqueeze(-1))
        out[:, Te:] = 0.0
        last = (lengths, torch.arange(B, device=x.device))
        s_last = HS[last]
        k_last = KS[last] if KS is not None else None
    else:
        s_last, k_last = HS[Te], (KS[Te] if KS is not None else None)
    h_last = s_last * ch.c1 + ch.c0 if ch.c1 != 1.0 else s_last.clone()
    if lengths is not None and ch.c1 != 1.0:  # h0 itself, not its round trip
        h_last = torch.where((lengths == 0)[:, None], h0, h_last)
    outputs = (out, h_last) + ((k_last * -0.5,) if k_last is not None else ())
    if not store:
        arena.release()
        return outputs, None
    saved = dict(HS=HS, x_tm=x_tm, dt_tm=dt_tm, lengths=lengths, P=P, A=A, chain=ch)
    saved.update(HEADS=HEADS, EXP=EXP, KS=KS, GATES=GATES, Q=Q, HL=HL, arena=arena)
    return outputs, saved


def _lengths(steps: list[int], batch: int, device: torch.device) -> Tensor:
    """Per-row lengths from the active-row counts of a length-sorted batch."""
    counts = torch.as_tensor(steps, dtype=torch.long)
    rows = torch.arange(batch)
    return (rows[None, :] < counts[:, None]).sum(0).to(device)


def _activation_grad(
    base: Callable[[Tensor], Tensor], pre: Tensor | None, act: Tensor, out: Tensor
) -> Tensor:
    """Derivative of the loop activation, all steps at once, into ``out``.

    ``pre`` is the stored pre-activation (None for sigmoid, whose derivative
    follows from its output ``act``).
    """
    if base is torch.sigmoid:
        return torch.addcmul(act, act, act, value=-1.0, out=out)
    assert pre is not None  # stored for every other activation
    if base is torch.tanh:
        th = torch.tanh(pre, out=out)
        return th.mul_(th).neg_().add_(1.0)
    with torch.enable_grad():
        pre = pre.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(base(pre).sum(), pre)
    return out.copy_(grad)


def _update_jacobian(
    mode: str,
    H: int,
    HEADS: Tensor,
    dt_tm: Tensor,
    J: Tensor,
    scratch: Tensor,
    e: Tensor | None = None,
    amp: Tensor | None = None,
) -> Tensor:
    """d s_t / d (effective heads), elementwise, for all steps, into ``J``.

    ``HEADS`` holds ``[s1, s2, gate, time_a]`` after the forward loop (``f``
    in pure mode); ``s`` is the state the loop carries. ``J`` has the layout
    of the effective heads; ``scratch`` is (Te, B, 3H) work space.
    """
    if mode == "pure":
        assert e is not None  # both passed in pure mode
        assert amp is not None
        # d/df [A - A e f] with e = exp(-dt (|w| + |f|))
        torch.mul(dt_tm, HEADS.abs(), out=J).neg_().add_(1.0)
        return J.mul_(e).mul_(-amp)
    sig = HEADS[..., : 3 * H]
    q = torch.addcmul(sig, sig, sig, value=-1.0, out=scratch)  # sigmoid'
    s1, s2, g = sig.split(H, dim=-1)
    q1, q2, qg = q.split(H, dim=-1)
    j1, j2, jg, ja = J.split(H, dim=-1)
    if mode == "default":  # s = lerp(s1, s2, g)
        torch.addcmul(q1, g, q1, value=-1.0, out=j1)
        torch.mul(g, q2, out=j2)
        torch.sub(s2, s1, out=jg)
    else:  # h = (2 s1 - 1) + g (2 s2 - 1)
        torch.mul(q1, 2.0, out=j1)
        torch.mul(g, q2, out=j2).mul_(2.0)
        torch.mul(s2, 2.0, out=jg).sub_(1.0)
    jg.mul_(qg)
    torch.mul(jg, dt_tm, out=ja)
    return J


def _memory_jacobian(
    H: int, GATES: Tensor, KS: Tensor, Q: Tensor, K: Tensor, AQ: Tensor, tmp: Tensor
) -> Tensor:
    """Local derivatives of the memory cell, for all steps, into ``K`` and ``AQ``.

    The forward loop computed ``[i, f, g~, o] = sigmoid(gates)``,
    ``k' = f k + 2 i - 4 i g~``, ``q = sigmoid(k')`` and ``hl = o - 2 o q``.
    ``K`` (layout of the gates) receives d k' / d gates for ``i, f, g``
    (with respect to the LSTM's own, undoubled ``g`` pre-activation) and
    d hl / d gates for ``o``; ``AQ`` receives d hl / d k' divided by -2 (the
    loop multiplies by -2 for free). ``tmp`` is (Te, B, H) work space.
    """
    mi, _mf, mg, mo = GATES.split(H, dim=-1)
    torch.addcmul(GATES, GATES, GATES, value=-1.0, out=K)  # sigmoid'
    ki, kf, kg, ko = K.split(H, dim=-1)
    one = GATES.new_ones(())
    ki.mul_(torch.add(one, mg, alpha=-2.0, out=tmp)).mul_(2.0)  # 2 - 4 g~
    kf.mul_(KS[:-1])
    kg.mul_(mi).mul_(-8.0)  # -4 i, times 2 for the doubled g rows
    ko.mul_(torch.add(one, Q, alpha=-2.0, out=tmp))  # 1 - 2 q
    return torch.addcmul(Q, Q, Q, value=-1.0, out=AQ).mul_(mo)  # times -2


class _CfCSequence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, dt, h0, c0, plan, masks, *weights):
        outputs, saved = _forward(x, dt, h0, c0, plan, masks, weights, True)
        # the saved buffers (and their arena) live as long as this node
        ctx.plan, ctx.masks, ctx.saved = plan, masks, saved
        ctx.save_for_backward(x, *weights)
        return outputs

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, g_out, g_last, g_c=None):
        mode, H, L, _, mixed, steps = ctx.plan
        x, *_ = ctx.saved_tensors
        s, masks = ctx.saved, ctx.masks
        B, T, C = x.shape
        Te = len(steps)
        lengths = s["lengths"]
        padded = lengths is not None
        ch = s["chain"]  # the effective weights the forward pass used
        dt_tm, HEADS = s["dt_tm"], s["HEADS"]
        nh, M = ch.n_heads, ch.w1x.shape[0]
        zeroed = [(Te, B, nh * H)] + [(Te, B, M)] * L  # DHEADS, DP
        zeroed += [(Te, B, 4 * H), (Te + 1, B, H)] if mixed else []  # DGATES, DK
        work = [(Te + 1, B, H), (Te, B, nh * H), (Te, B, 3 * H)] + [(Te, B, M)] * L
        work += [(Te, B, 4 * H), (Te, B, H), (1, B, H)] if mixed else []
        scratch = Arena(zeroed + work, x, zero=padded)
        DHEADS, *rest = scratch.tensors
        DP, rest = rest[:L], rest[L:]
        if mixed:  # the gradients of the memory cell's gates and of its k
            DGATES, DK = rest.pop(0), rest.pop(0)
        (G, J, work3H), D, rest = rest[:3], rest[3 : 3 + L], rest[3 + L :]

        # dL/ds_t from outside the recurrence, time-major; padding gets none
        if g_out is not None:
            torch.mul(g_out[:, :Te].transpose(0, 1), ch.c1, out=G[1:])
            G[0].zero_()
            if padded:
                active = torch.arange(Te, device=x.device)[:, None] < lengths
                G[1:] *= active.unsqueeze(-1)
        else:
            G.zero_()
        if padded:  # each sequence's last step, as an index into (Te + 1, B, ...)
            last = (lengths, torch.arange(B, device=x.device))
        if g_last is not None:
            g_last = g_last * ch.c1 if ch.c1 != 1.0 else g_last
            if padded:
                G.index_put_(last, g_last, accumulate=True)
            else:
                G[Te] += g_last
        DS, ds0 = G[1:], G[0]
        if mixed:  # dL/dk_t (k = -2 c) from outside: only the returned c
            if not padded:
                DK.zero_()
            if g_c is not None:
                if padded:
                    DK.index_put_(last, g_c * -0.5, accumulate=True)
                else:
                    DK[Te].add_(g_c, alpha=-0.5)

        if mode == "pure":
            amp, w_tau, e = ch.amp, ch.w_tau, s["EXP"]
            _update_jacobian(mode, H, HEADS, dt_tm, J, work3H, e, amp)
        else:
            _update_jacobian(mode, H, HEADS, dt_tm, J, work3H)
        for k in range(L):
            _activation_grad(ch.base, s["P"][k], s["A"][k], D[k])
            if masks is not None:
                D[k].mul_(masks[k])
        if mixed:
            K, AQ, DHL = rest
            GATES, KS, Q = s["GATES"], s["KS"], s["Q"]
            _memory_jacobian(H, GATES, KS, Q, K, AQ, work3H[..., :H])

        # backpropagation through time: four kernels a step (nine with memory)
        if L > 0:
            heads_t = ch.heads_eff.t()  # (nh * H, U)
        deep_t = [w.t() for w, _ in ch.deep_eff]
        rec_t = ch.rec_eff.t()
        rows = _stepper(steps, B)
        ds_v, j_v = rows(DS), rows(J.view(Te, B, nh, H))
        # step t adds into the previous state's rows of the sequences it ran
        ds_prev_v = [G[t][:n] for t, n in enumerate(steps)]
        dheads_v, dheads4_v = rows(DHEADS), rows(DHEADS.view(Te, B, nh, H))
        dp_v, d_v = [rows(d) for d in DP], [rows(d) for d in D]
        if mixed:
            dk_v, dhl_v = rows(DK[1:]), rows(DHL.expand(Te, B, H))
            dk_prev_v = [DK[t][:n] for t, n in enumerate(steps)]
            aq_v, mf_v = rows(AQ), rows(GATES[..., H : 2 * H])
            # i, f, g take dk, o takes dhl
            dg_v, dgo_v = rows(DGATES), rows(DGATES[..., 3 * H :])
            dg3_v = rows(DGATES[..., : 3 * H].unflatten(-1, (3, H)))
            k3_v = rows(K[..., : 3 * H].unflatten(-1, (3, H)))
            ko_v = rows(K[..., 3 * H :])
            mem_back = ch.mem_w_hh  # (4H, H)
        for t in range(Te - 1, -1, -1):
            torch.mul(j_v[t], ds_v[t].unsqueeze(1), out=dheads4_v[t])
            grad = dheads_v[t]
            if L > 0:
                du = torch.mm(grad, heads_t)
                for k in range(L - 1, -1, -1):
                    if k < L - 1:
                        du = torch.mm(grad, deep_t[k])
                    grad = torch.mul(du, d_v[k][t], out=dp_v[k][t])
            if not mixed:
                ds_prev_v[t].addmm_(grad, rec_t)
                continue
            dhl, dk = torch.mm(grad, rec_t, out=dhl_v[t]), dk_v[t]
            dk.addcmul_(dhl, aq_v[t], value=-2.0)
            torch.mul(dk.unsqueeze(1), k3_v[t], out=dg3_v[t])
            torch.mul(dhl, ko_v[t], out=dgo_v[t])
            dk_prev_v[t].addcmul_(dk, mf_v[t])
            ds_prev_v[t].addmm_(dg_v[t], mem_back)

        # gradients of inputs, then of weights as one matmul each over all steps
        needs = ctx.needs_input_grad
        first = DP[0] if L > 0 else DHEADS  # w.r.t. the effective first layer
        s_in = ch.s_in
        TB = Te * B
        dx = ddt = dh0 = dc0 = None
        if needs[0]:
            w1x = ch.w1x * s_in if s_in != 1.0 else ch.w1x
            dx_tm = (first @ w1x).view(TB, C)
            if mixed:
                dx_tm.addmm_(DGATES.view(TB, -1), ch.mem_w_ih)
            dx = x.new_zeros(B, T, C)
            dx[:, :Te] = dx_tm.view(Te, B, C).transpose(0, 1)
        if mode == "pure":
            common = DS * amp * HEADS * e  # DS is dL/dh here (c1 = 1)
        if needs[1]:
            if mode == "pure":
                ddt_tm = (common * (w_tau.abs() + HEADS.abs())).sum(-1)
            else:
                ddt_tm = (DHEADS[..., 2 * H : 3 * H] * HEADS[..., 3 * H :]).sum(-1)
            ddt = x.new_zeros(B, T)
            ddt[:, :Te] = ddt_tm.t()
        if needs[2]:
            dh0 = ds0 / ch.c1
        if mixed and needs[3]:
            dc0 = DK[0] * -2.0

        first_flat = first.reshape(TB, -1)
        d_first_b = first_flat.sum(0)
        d_first_x = first_flat.t() @ s["x_tm"]
        src = s["HL"] if mixed else s["HS"][:Te]  # what the first layer read
        d_first_h, _ = ch.weight_grad(first, src, ch.in_scale, ch.in_shift)
        d_first = torch.cat([d_first_x, d_first_h], dim=1)
        if L > 0:
            grads = [d_first * s_in, d_first_b * s_in]
        else:
            grads = [ch.head_grads(d_first), ch.head_grads(d_first_b)]
        for k in range(1, L):
            dw, db = ch.weight_grad(DP[k], s["A"][k - 1], ch.s_out, ch.shift)
            grads += [dw * s_in, db * s_in]
        if L > 0:
            dw, db = ch.weight_grad(DHEADS, s["A"][L - 1], ch.s_out, ch.shift)
            grads += [ch.head_grads(dw), ch.head_grads(db)]
        if mode == "pure":
            grads += [
                (common * dt_tm).sum((0, 1)) * torch.sign(w_tau),
                (DS * (1.0 - e * HEADS)).sum((0, 1)),
            ]
        if mixed:
            d_hh, d_b = ch.weight_grad(DGATES, s["HS"][:Te], ch.c1, ch.c0)
            d_ih = DGATES.view(TB, -1).t() @ s["x_tm"]
            grads += [d_ih, d_hh, d_b, d_b.clone()]
        scratch.release()
        grads = [
            gr if need else None for gr, need in zip(grads, needs[6:], strict=True)
        ]
        return (dx, ddt, dh0, dc0, None, None, *grads)
