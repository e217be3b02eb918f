"""Scaled dot-product attention as one fused node (Vaswani et al., 2017).

For queries Q (..., Tq, hs), keys K (..., Tk, hs) and values V (..., Tk, hv):

    S = scale * Q K^T            (..., Tq, Tk)   scale = 1/sqrt(hs) by default
    S = S masked (-inf where a query may not look)
    P = softmax(S) along Tk      (each query's weights over the keys sum to 1)
    O = P V                      (..., Tq, hv)

Backward, given dO (by the chain rule through each line above, in reverse):

    dV = P^T dO
    dP = dO V^T
    dS = P * (dP - rowsum(dP * P))       the softmax Jacobian, row by row
    dQ = scale * dS K,   dK = scale * dS^T Q

Composed from primitives this would be six graph nodes, each saving its own
temporaries; fused, forward keeps only P and backward is the five lines above.
A causal mask (query t sees keys <= t) is built once per shape and cached.

Masks. A bool attn_mask is True where a query may attend (PyTorch's convention
for this function); a float one is added to the scores (0 keeps, -inf blocks).
Either broadcasts against (..., Tq, Tk). With is_causal and Tq < Tk (a few new
queries after Tk - Tq cached keys, as in KV-cache decoding) the causal mask is
aligned to the bottom right: query i is position Tk - Tq + i. A query row whose
keys are all blocked has no distribution to take: its output is NaN.

Grouped-query attention (Ainslie et al., 2023). Given fewer key/value heads than
query heads, q (..., nh, Tq, hs) and k, v (..., n_kv, Tk, hs) with n_kv dividing
nh, each K/V head serves a group of nh / n_kv consecutive query heads (multi-query
attention at n_kv = 1). q is viewed as (..., n_kv, group, Tq, hs) and k, v as
(..., n_kv, 1, Tk, hs): the products broadcast each K/V head over its group, so
no head is copied and every formula above holds as written; in backward, dK and
dV are summed over the group axis (each K/V head was used by `group` queries).
"""
import math

import numpy as np

from .. import amp, kernels
from ..amp import round_operand
from ..autograd import Function
from ..backend import rng, xp_of
from ..fast.threads import balanced_ranges, split_work
from .matmul import product
from .reduction import sum_last
from .softmax import SAFE_EXP, softmax_array

_causal_masks = {}
GROUP_ELEMENTS = 65536  # scores per group of heads: (Tq, Tk) floats of a few heads, cache-sized
# Callables given each attention's probabilities P (..., Tq, Tk) as soon as they are computed
# (before dropout): minilm.viz.attention_maps adds one to read the model's own attention.
probability_hooks = []


def causal_bias(Tq, Tk, dtype, xp=np):
    """(Tq, Tk): 0 where query i may attend to key j (j <= i + Tk - Tq), -inf where it may not.

    Adding it to the scores is one pass; the softmax then gives the future weight 0.
    """
    key = (Tq, Tk, np.dtype(dtype).name, xp.__name__)
    if key not in _causal_masks:
        allowed = xp.tril(xp.ones((Tq, Tk), dtype=bool), k=Tk - Tq)
        _causal_masks[key] = xp.where(allowed, 0, -np.inf).astype(dtype)
    return _causal_masks[key]


class ScaledDotProductAttention(Function):
    """attn_mask: bool (True = may attend, as in PyTorch) or float (added to the scores)."""

    def __init__(self, attn_mask=None, is_causal=False, dropout_p=0.0, scale=None):
        self.attn_mask, self.is_causal = attn_mask, is_causal
        self.dropout_p, self.scale = dropout_p, scale

    def forward(self, q, k, v):
        xp = xp_of(q)
        if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
            raise ValueError(f"attention: q {q.shape}, k {k.shape}, v {v.shape} do not fit "
                             "(need q (..., Tq, hs), k (..., Tk, hs), v (..., Tk, hv))")
        self.heads_shape = None                   # q's shape when K/V heads are shared (GQA), else None
        if q.ndim >= 3 and q.shape[-3] != k.shape[-3]:
            q, k, v = self._group_queries(q, k, v)
            return self._forward(q, k, v, xp).reshape(self.heads_shape[:-1] + (v.shape[-1],))
        return self._forward(q, k, v, xp)

    def _forward(self, q, k, v, xp):
        scale = self.scale if self.scale is not None else 1 / math.sqrt(q.shape[-1])
        self.scale_used = q.dtype.type(scale)
        self.precision = amp.matmul_precision(self.device) if q.dtype == np.float32 else None
        if self.precision is not None:       # autocast: bf16/fp16 inputs, float32 arithmetic (minilm/amp.py)
            q, k, v = (round_operand(t, self.precision) for t in (q, k, v))
        self.fused_kernel = self._kernel_applies(q, k, v)
        if self.fused_kernel:                # FlashAttention-style kernel: O and log-sum-exp, no P stored
            from ..kernels.launch import attention_forward
            self.q, self.k, self.v = q, k, v
            self.o, self.lse = attention_forward(q, k, v, self.is_causal, scale, self.device)
            return self.o
        if self._grouped_applies(q, k, v):
            return self._forward_grouped(q, k, v)
        s = product(q, k, self.device, tb=True)                          # (..., Tq, Tk)
        s *= self.scale_used
        Tq, Tk = s.shape[-2:]
        if self.is_causal:
            s += causal_bias(Tq, Tk, s.dtype, xp)                         # -inf above the diagonal
        if self.attn_mask is not None:
            mask = self.attn_mask
            if not _broadcasts_to(mask.shape, s.shape):
                raise ValueError(f"attention: attn_mask of shape {mask.shape} does not broadcast to the "
                                 f"scores (..., Tq, Tk) = {s.shape}; give a (Tq, Tk) or (B, nh, Tq, Tk) mask")
            if mask.dtype == bool:
                xp.copyto(s, -np.inf, where=~mask)                        # in place, blocked -> -inf
            else:
                s += mask.astype(s.dtype, copy=False)
        p = softmax_array(s, axis=-1, out=s)                             # (..., Tq, Tk), in place
        for hook in probability_hooks:
            hook(self._per_head(p))
        if self.dropout_p:
            keep = _uniform(xp, p.shape) >= self.dropout_p
            self.dropped = keep * p.dtype.type(1 / (1 - self.dropout_p))
            self.p = p
            p = p * self.dropped
        else:
            self.dropped, self.p = None, p
        self.q, self.k, self.v, self.p_used = q, k, v, p
        return product(p, v, self.device)                                # (..., Tq, hv)

    # ---------------------------------------------------------------- a few heads at a time
    # With NumPy the same arithmetic runs ~2x faster when the scores of a group of heads
    # (a few hundred KiB) stay in the CPU cache from the matmul through the softmax to P V,
    # instead of every step streaming all heads' (Tq, Tk) scores through memory. The groups
    # are independent: half of them run on the helper thread (minilm/fast/threads.py).

    def _grouped_applies(self, q, k, v):
        return (xp_of(q) is np and self.attn_mask is None and not self.dropout_p and q.ndim >= 3
                and k.shape[:-2] == v.shape[:-2]
                and (q.shape[:-2] == k.shape[:-2] or self.heads_shape is not None))

    def _split(self, fn, shape, Tk):
        """fn(a, b) for groups [a, b) along the first axis of q's shape (..., Tq, hs), all the
        heads of those rows at once, the groups shared among minilm's threads (BLAS runs on one
        thread inside each group, minilm/fast/threads.py)."""
        Tq = shape[-2]
        heads_per_row = int(np.prod(shape[1:-2]))
        groups = balanced_ranges(shape[0], max(1, GROUP_ELEMENTS // (heads_per_row * Tq * Tk)))
        split_work(fn, groups)

    # The operands stay as they come: q, k, v of a GPT are (B, nh, T, hs) views of the (B, T, 3C)
    # projection, and BLAS reads a view's rows at any stride. The outputs take q's memory order:
    # O is then (B, T, C) underneath, and re-assembling the heads afterwards copies nothing.

    def _forward_grouped(self, q, k, v):
        Tq, Tk, hv = q.shape[-2], k.shape[-2], v.shape[-1]
        p = np.empty(q.shape[:-2] + (Tq, Tk), q.dtype)
        o = np.empty_like(q, shape=q.shape[:-1] + (hv,))
        bias = causal_bias(Tq, Tk, q.dtype) if self.is_causal else None
        shift = not _scores_bounded(q, k, self.scale_used)

        def attend(a, b):
            s = np.matmul(q[a:b], k[a:b].swapaxes(-1, -2), out=p[a:b])   # (G, ..., Tq, Tk)
            s *= self.scale_used
            if bias is not None:
                s += bias
            softmax_array(s, axis=-1, out=s, shift=shift)
            np.matmul(s, v[a:b], out=o[a:b])                             # (G, ..., Tq, hv)
        self._split(attend, q.shape, Tk)
        for hook in probability_hooks:
            hook(self._per_head(p))
        self.grouped = (q, k, v, p)
        return o

    def _backward_grouped(self, do):
        q, k, v, p = self.grouped
        dq, dk, dv = np.empty_like(q), np.empty_like(k), np.empty_like(v)

        def backprop(a, b):
            pg = p[a:b]
            _matmul_into(pg.swapaxes(-1, -2), do[a:b], dv[a:b])        # dV = P^T dO
            dp = do[a:b] @ v[a:b].swapaxes(-1, -2)                       # dP = dO V^T
            dp -= sum_last(dp * pg)
            dp *= pg
            dp *= self.scale_used                                        # dS, as in backward below
            np.matmul(dp, k[a:b], out=dq[a:b])
            _matmul_into(dp.swapaxes(-1, -2), q[a:b], dk[a:b])
        self._split(backprop, q.shape, k.shape[-2])
        return dq, dk, dv

    def _kernel_applies(self, q, k, v):
        """The kernel covers self-attention shapes (same T, D <= 128), float32, no mask or dropout.
        It never forms P, so it steps aside while someone asks for P (probability_hooks)."""
        return (kernels.enabled(self.device) and self.attn_mask is None and not self.dropout_p
                and not probability_hooks
                and q.dtype == np.float32 and q.shape == k.shape == v.shape and q.shape[-1] <= 128)

    def backward(self, do):
        if self.heads_shape is None:
            return self._backward(do)
        q, k, v = self.q_k_v_grouped
        dq, dk, dv = self._backward(do.reshape(q.shape[:-1] + (do.shape[-1],)))
        return dq.reshape(self.heads_shape), dk.reshape(k.shape[:-3] + k.shape[-2:]), \
            dv.reshape(v.shape[:-3] + v.shape[-2:])

    # ---------------------------------------------------------------- grouped-query attention
    def _group_queries(self, q, k, v):
        """q (..., nh, Tq, hs) -> (..., n_kv, group, Tq, hs); k, v (..., n_kv, T, h) -> (..., n_kv, 1, T, h).

        Views only (splitting an axis and adding one of size 1 never copies).
        """
        nh, n_kv = q.shape[-3], k.shape[-3]
        if v.shape[-3] != n_kv or nh % n_kv or q.shape[:-3] != k.shape[:-3]:
            raise ValueError(f"attention: q {q.shape} has {nh} heads and k {k.shape}, v {v.shape} have "
                             f"{k.shape[-3]} and {v.shape[-3]}: for grouped-query attention k and v need the "
                             "same number of heads, dividing q's, and the same leading dims")
        group = nh // n_kv
        self.heads_shape = q.shape
        q = q.reshape(q.shape[:-3] + (n_kv, group) + q.shape[-2:])        # (..., n_kv, group, Tq, hs)
        k, v = k[..., None, :, :], v[..., None, :, :]                     # (..., n_kv, 1, Tk, hs)
        if self.attn_mask is not None and self.attn_mask.ndim >= 3:
            mask = self.attn_mask
            if mask.shape[-3] == nh:                                      # one mask per query head
                self.attn_mask = mask.reshape(mask.shape[:-3] + (n_kv, group) + mask.shape[-2:])
            else:
                self.attn_mask = mask[..., None, :, :]
        self.q_k_v_grouped = q, k, v
        return q, k, v

    def _per_head(self, p):
        """The probabilities as (..., nh, Tq, Tk) whether or not the K/V heads are shared."""
        return p if self.heads_shape is None else p.reshape(self.heads_shape[:-1] + p.shape[-1:])

    def _backward(self, do):
        if self.precision is not None:
            do = round_operand(do, self.precision)
        if getattr(self, "grouped", None) is not None:
            return self._backward_grouped(do)
        q, k, v = self.q, self.k, self.v
        if self.fused_kernel:
            from ..kernels.launch import attention_backward
            dq, dk, dv = attention_backward(q, k, v, self.o, self.lse, do, self.is_causal,
                                            float(self.scale_used), self.device)
            return dq, dk, dv
        p = self.p
        dv = product(self.p_used, do, self.device, ta=True)              # (..., Tk, hv)
        dp = product(do, v, self.device, tb=True)                        # (..., Tq, Tk)
        if self.dropped is not None:
            dp *= self.dropped
        # dS = P * (dP - rowsum(dP * P)), computed in place in dp
        row = (dp * p).sum(axis=-1, keepdims=True)
        dp -= row
        dp *= p
        dp *= self.scale_used
        dq = product(dp, k, self.device)                                 # (..., Tq, hs)
        dk = product(dp, q, self.device, ta=True)                        # (..., Tk, hs)
        return _unbroadcast(dq, q), _unbroadcast(dk, k), _unbroadcast(dv, v)


def _matmul_into(a, b, out):
    """out = a @ b; where out has size 1 on an axis that the product broadcast (the query
    group of grouped-query attention), the product is summed over that axis."""
    if out.shape == np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + (a.shape[-2], b.shape[-1]):
        np.matmul(a, b, out=out)
    else:
        out[...] = (a @ b).sum(axis=-3, keepdims=True)


def _scores_bounded(q, k, scale):
    """Is every score |scale q.k| <= SAFE_EXP? Then softmax may skip subtracting the row max.

    By Cauchy-Schwarz |q_i . k_j| <= |q_i| |k_j| <= max_i |q_i| max_j |k_j|: two squared
    norms per row of q and k (a pass over (N, T, hs)) instead of a max over (N, T, T) scores.
    """
    return _largest_norm_sq(q) * _largest_norm_sq(k) * float(scale) ** 2 <= SAFE_EXP ** 2


def _largest_norm_sq(x):
    """max over the rows of x (..., n) of |row|^2 (einsum: no temporary the size of x)."""
    return float(np.einsum("...i,...i->...", x, x).max())


def _broadcasts_to(shape, target):
    try:
        return np.broadcast_shapes(shape, target) == tuple(target)
    except ValueError:
        return False


def _uniform(xp, shape):
    if xp is np:
        return rng().random(shape, dtype=np.float32)
    return xp.random.random(shape, dtype=np.float32)


def _unbroadcast(g, x):
    from .elementwise import sum_to_shape
    return sum_to_shape(g, x.shape)
