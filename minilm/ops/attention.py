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
"""
import math

import numpy as np

from ..autograd import Function
from ..backend import rng, xp_of
from .softmax import softmax_array

_causal_masks = {}


def causal_mask(Tq, Tk, xp=np):
    """Boolean (Tq, Tk), True where query i may attend to key j (j <= i + Tk - Tq)."""
    key = (Tq, Tk, xp.__name__)
    if key not in _causal_masks:
        _causal_masks[key] = xp.tril(xp.ones((Tq, Tk), dtype=bool), k=Tk - Tq)
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
        scale = self.scale if self.scale is not None else 1 / math.sqrt(q.shape[-1])
        self.scale_used = q.dtype.type(scale)
        s = q @ xp.swapaxes(k, -1, -2)                                   # (..., Tq, Tk)
        s *= self.scale_used
        Tq, Tk = s.shape[-2:]
        if self.is_causal:
            xp.putmask(s, ~xp.broadcast_to(causal_mask(Tq, Tk, xp), s.shape), -np.inf)
        if self.attn_mask is not None:
            mask = self.attn_mask
            if mask.dtype == bool:
                s = xp.where(mask, s, -np.inf)
            else:
                s = s + mask.astype(s.dtype)
        p = softmax_array(s, axis=-1)                                    # (..., Tq, Tk)
        if self.dropout_p:
            keep = _uniform(xp, p.shape) >= self.dropout_p
            self.dropped = keep * p.dtype.type(1 / (1 - self.dropout_p))
            self.p = p
            p = p * self.dropped
        else:
            self.dropped, self.p = None, p
        self.q, self.k, self.v, self.p_used = q, k, v, p
        return p @ v                                                     # (..., Tq, hv)

    def backward(self, do):
        xp = xp_of(do)
        q, k, v, p = self.q, self.k, self.v, self.p
        dv = xp.swapaxes(self.p_used, -1, -2) @ do                       # (..., Tk, hv)
        dp = do @ xp.swapaxes(v, -1, -2)                                 # (..., Tq, Tk)
        if self.dropped is not None:
            dp *= self.dropped
        # dS = P * (dP - rowsum(dP * P)), computed in place in dp
        row = (dp * p).sum(axis=-1, keepdims=True)
        dp -= row
        dp *= p
        dp *= self.scale_used
        dq = dp @ k                                                      # (..., Tq, hs)
        dk = xp.swapaxes(dp, -1, -2) @ q                                 # (..., Tk, hs)
        return _unbroadcast(dq, q), _unbroadcast(dk, k), _unbroadcast(dv, v)


def _uniform(xp, shape):
    if xp is np:
        return rng().random(shape, dtype=np.float32)
    return xp.random.random(shape, dtype=np.float32)


def _unbroadcast(g, x):
    from .elementwise import sum_to_shape
    return sum_to_shape(g, x.shape)
