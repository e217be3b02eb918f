"""Scaled dot-product attention (Vaswani et al., 2017): q (..., Tq, hs), k (..., Tk, hs), v (..., Tk, hv).

    S = q k^T * scale        (..., Tq, Tk)   scale = 1/sqrt(hs) by default
    S = -inf where a query may not look; P = softmax(S) along Tk; O = dropout(P) v  (..., Tq, hv)

Backward, the forward in reverse (D: dropout's keep / (1 - p), or 1):
    dV = (P D)^T dO,  dP = (dO v^T) D,  dS = P * (dP - rowsum(dP * P)),  dQ = dS k * scale,  dK = dS^T q * scale

A bool attn_mask is True where a query may attend (as in PyTorch), a float one is added to
S. is_causal with Tq < Tk (queries after Tk - Tq cached keys) aligns to the bottom right:
query i sees keys j <= i + Tk - Tq. A query with every key blocked gets NaN. Grouped-query
attention (Ainslie et al., 2023): k, v have n_kv heads (..., n_kv, Tk, hs) dividing q's nh,
each serving nh / n_kv consecutive query heads: repeated, its gradient summed over them.
"""
import math

import numpy as np

from ..autograd import Function
from ..backend import rng, xp_of
from .elementwise import sum_to_shape


class ScaledDotProductAttention(Function):
    def __init__(self, attn_mask=None, is_causal=False, dropout_p=0.0, scale=None):
        self.attn_mask, self.is_causal, self.dropout_p, self.scale = attn_mask, is_causal, dropout_p, scale

    def forward(self, q, k, v):
        xp, self.shapes = xp_of(q), check_shapes(q, k, v)
        self.repeats = q.shape[-3] // k.shape[-3] if q.ndim >= 3 else 1
        if self.repeats > 1:                                                  # (..., n_kv, Tk, h) -> (..., nh, Tk, h)
            k, v = xp.repeat(k, self.repeats, axis=-3), xp.repeat(v, self.repeats, axis=-3)
        self.scale_used = q.dtype.type(self.scale if self.scale is not None else 1 / math.sqrt(q.shape[-1]))
        s = q @ xp.swapaxes(k, -1, -2) * self.scale_used                    # (..., Tq, Tk)
        if self.is_causal:                                                   # keys j <= i + Tk - Tq
            s = xp.where(xp.tril(xp.ones(s.shape[-2:], bool), k=s.shape[-1] - s.shape[-2]), s, -np.inf)
        if (mask := self.attn_mask) is not None:
            if not _broadcasts_to(mask.shape, s.shape):
                raise ValueError(f"attention: attn_mask of shape {mask.shape} does not broadcast to the "
                                 f"scores (..., Tq, Tk) = {s.shape}; give a (Tq, Tk) or (B, nh, Tq, Tk) mask")
            s = xp.where(mask, s, -np.inf) if mask.dtype == bool else s + mask.astype(s.dtype)
        e = xp.exp(s - s.max(axis=-1, keepdims=True))                      # minus the max: e^ cannot overflow
        p = e / e.sum(axis=-1, keepdims=True)                              # (..., Tq, Tk)
        self.q, self.k, self.v, self.p, self.dropped = q, k, v, p, None
        if self.dropout_p:
            uniform = (rng() if xp is np else xp.random).random(p.shape, dtype=np.float32)
            self.dropped = (uniform >= self.dropout_p) * p.dtype.type(1 / (1 - self.dropout_p))
        return (p if self.dropped is None else p * self.dropped) @ v        # (..., Tq, hv)

    def backward(self, do):
        xp, q, k, v, p, dropped = xp_of(do), self.q, self.k, self.v, self.p, self.dropped
        dv = xp.swapaxes(p if dropped is None else p * dropped, -1, -2) @ do  # (..., Tk, hv)
        dp = do @ xp.swapaxes(v, -1, -2)                                     # (..., Tq, Tk)
        if dropped is not None:
            dp = dp * dropped
        ds = p * (dp - (dp * p).sum(axis=-1, keepdims=True))                 # the softmax Jacobian, row by row
        dq = ds @ k * self.scale_used                                        # (..., Tq, hs)
        dk = xp.swapaxes(ds, -1, -2) @ q * self.scale_used                   # (..., Tk, hs)
        if self.repeats > 1:                                                 # (..., nh, ...) -> (..., n_kv, ...)
            dk, dv = (g.reshape(g.shape[:-3] + (-1, self.repeats) + g.shape[-2:]).sum(axis=-3) for g in (dk, dv))
        return tuple(sum_to_shape(g, shape) for g, shape in zip((dq, dk, dv), self.shapes))


def check_shapes(q, k, v):
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ValueError(f"attention: q {q.shape}, k {k.shape}, v {v.shape} do not fit "
                         "(need q (..., Tq, hs), k (..., Tk, hs), v (..., Tk, hv))")
    nh, n_kv = (q.shape[-3], k.shape[-3]) if q.ndim >= 3 else (1, 1)
    if nh != n_kv and (v.shape[-3] != n_kv or nh % n_kv or q.shape[:-3] != k.shape[:-3]):
        raise ValueError(f"attention: q {q.shape} has {nh} heads and k {k.shape}, v {v.shape} have "
                         f"{k.shape[-3]} and {v.shape[-3]}: for grouped-query attention k and v need the "
                         "same number of heads, dividing q's, and the same leading dims")
    return q.shape, k.shape, v.shape


def _broadcasts_to(shape, target):
    try:
        return np.broadcast_shapes(shape, target) == tuple(target)
    except ValueError:
        return False
