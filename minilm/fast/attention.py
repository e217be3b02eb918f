"""Attention on NumPy, a cache-sized chunk of heads at a time, the chunks on minilm's threads.

The same formulas as minilm/ops/attention.py, computed differently:

- Chunks. Written as whole-array calls, every step streams all heads' (Tq, Tk)
  scores through memory; a chunk of a few heads (a few hundred KiB of scores)
  stays in the CPU cache from q k^T through the softmax to P v, about 2x faster.
  The chunks, ranges of the first (batch) axis, are independent: they are shared
  among minilm's threads (fast/threads.py), BLAS running on one thread in each.
- No max subtraction when it cannot matter. softmax(s) = e^s / sum e^s as long as
  e^s neither overflows nor underflows, i.e. every |s| <= SAFE_EXP. By
  Cauchy-Schwarz |scale q_i . k_j| <= scale max_i |q_i| max_j |k_j|: two squared
  norms per row of q and k (a pass over (N, T, hs)) decide it, instead of a max
  over the (N, Tq, Tk) scores (NumPy's max along short rows costs as much as exp).
- The causal mask is one cached additive (Tq, Tk) bias, the scores are
  overwritten in place by P, and row sums are BLAS products (fast/reductions.py).
- Operands stay as they come: q, k, v of a GPT are (B, nh, T, hs) views of the
  (B, T, 3C) projection, and BLAS reads a view's rows at any stride. The outputs
  take q's memory order: O is then (B, T, C) underneath, and re-assembling the
  heads afterwards copies nothing.
- Grouped-query attention without copies: q is viewed as (..., n_kv, group, Tq, hs)
  and k, v as (..., n_kv, 1, Tk, hs); the products broadcast each K/V head over
  its group, and dK, dV are summed over the group axis.

It applies without a mask or dropout, to q, k, v of 3 or more dims with the same
leading (batch) axes: the reference handles the rest.
"""
import math

import numpy as np

from ..dispatch import register
from ..ops.attention import ScaledDotProductAttention, check_shapes
from .reductions import sum_last
from .threads import balanced_ranges, split_work

CHUNK_ELEMENTS = 65536  # scores per chunk of heads: (Tq, Tk) floats of a few heads, cache-sized
SAFE_EXP = 60.0  # e^60 ~ 1e26: a sum of 10^12 such terms still fits float32; e^-60 is far from underflow
_causal_biases = {}


def causal_bias(Tq, Tk, dtype):
    """(Tq, Tk): 0 where query i may attend to key j (j <= i + Tk - Tq), -inf where it may not."""
    key = (Tq, Tk, np.dtype(dtype).name)
    if key not in _causal_biases:
        _causal_biases[key] = np.where(np.tril(np.ones((Tq, Tk), bool), k=Tk - Tq), 0, -np.inf).astype(dtype)
    return _causal_biases[key]


def scores_bounded(q, k, scale):
    """Is every score |scale q.k| <= SAFE_EXP? Then softmax may skip subtracting the row max."""
    return _largest_norm_sq(q) * _largest_norm_sq(k) * float(scale) ** 2 <= SAFE_EXP ** 2


def _largest_norm_sq(x):
    """max over the rows of x (..., n) of |row|^2 (einsum: no temporary the size of x)."""
    return float(np.einsum("...i,...i->...", x, x).max())


def softmax_in_place(s, shift):
    """s <- softmax(s) along the last axis; shift=False skips the row max (see scores_bounded)."""
    if shift:
        np.subtract(s, s.max(axis=-1, keepdims=True), out=s)
    np.exp(s, out=s)
    s /= sum_last(s)
    return s


class ChunkedAttention(ScaledDotProductAttention):
    def applies(self, q, k, v):
        if self.attn_mask is not None or self.dropout_p or not q.ndim == k.ndim == v.ndim >= 3:
            return False
        return (isinstance(q, np.ndarray) and q.shape[-1] == k.shape[-1] and k.shape[:-1] == v.shape[:-1]
                and q.shape[:-3] == k.shape[:-3] and q.shape[-3] % k.shape[-3] == 0)

    def forward(self, q, k, v):
        check_shapes(q, k, v)
        self.heads_shape, n_kv = q.shape, k.shape[-3]
        if q.shape[-3] != n_kv:                                          # grouped-query attention
            q = q.reshape(q.shape[:-3] + (n_kv, q.shape[-3] // n_kv) + q.shape[-2:])  # (..., n_kv, group, Tq, hs)
            k, v = k[..., None, :, :], v[..., None, :, :]                          # (..., n_kv, 1, Tk, h)
        scale = self.scale if self.scale is not None else 1 / math.sqrt(q.shape[-1])
        self.scale_used = q.dtype.type(scale)
        Tq, Tk, hv = q.shape[-2], k.shape[-2], v.shape[-1]
        p = np.empty(q.shape[:-2] + (Tq, Tk), q.dtype)
        o = np.empty_like(q, shape=q.shape[:-1] + (hv,))
        bias = causal_bias(Tq, Tk, q.dtype) if self.is_causal else None
        shift = not scores_bounded(q, k, self.scale_used)

        def attend(a, b):
            s = np.matmul(q[a:b], k[a:b].swapaxes(-1, -2), out=p[a:b])   # (chunk, ..., Tq, Tk)
            s *= self.scale_used
            if bias is not None:
                s += bias
            softmax_in_place(s, shift)
            np.matmul(s, v[a:b], out=o[a:b])                             # (chunk, ..., Tq, hv)
        self._for_each_chunk(attend, q.shape, Tk)
        self.q, self.k, self.v, self.p = q, k, v, p
        return o if o.ndim == len(self.heads_shape) else o.reshape(self.heads_shape[:-1] + (hv,))  # (..., nh, Tq, hv)

    def backward(self, do):
        q, k, v, p = self.q, self.k, self.v, self.p
        do = do.reshape(q.shape[:-1] + (do.shape[-1],))                  # (..., n_kv, group, Tq, hv)
        dq, dk, dv = np.empty_like(q), np.empty_like(k), np.empty_like(v)

        def backprop(a, b):
            pc = p[a:b]
            _matmul_into(pc.swapaxes(-1, -2), do[a:b], dv[a:b])        # dV = P^T dO
            dp = do[a:b] @ v[a:b].swapaxes(-1, -2)                       # dP = dO V^T
            dp -= sum_last(dp * pc)
            dp *= pc
            dp *= self.scale_used                                        # dS * scale
            np.matmul(dp, k[a:b], out=dq[a:b])                           # dQ = dS K * scale
            _matmul_into(dp.swapaxes(-1, -2), q[a:b], dk[a:b])           # dK = dS^T Q * scale
        self._for_each_chunk(backprop, q.shape, k.shape[-2])
        if q.ndim == len(self.heads_shape):
            return dq, dk, dv
        return dq.reshape(self.heads_shape), dk.reshape(k.shape[:-3] + k.shape[-2:]), \
            dv.reshape(v.shape[:-3] + v.shape[-2:])

    def _for_each_chunk(self, fn, shape, Tk):
        """fn(a, b) for chunks [a, b) of the first axis of q's shape (..., Tq, hs), all the heads of
        those rows at once, about CHUNK_ELEMENTS scores each, shared among minilm's threads."""
        heads_per_row = int(np.prod(shape[1:-2]))
        split_work(fn, balanced_ranges(shape[0], max(1, CHUNK_ELEMENTS // (heads_per_row * shape[-2] * Tk))))


def _matmul_into(a, b, out):
    """out = a @ b; where out has size 1 on an axis that the product broadcast (the query
    group of grouped-query attention), the product is summed over that axis."""
    if out.shape == np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + (a.shape[-2], b.shape[-1]):
        np.matmul(a, b, out=out)
    else:
        out[...] = (a @ b).sum(axis=-3, keepdims=True)


register(ScaledDotProductAttention, "cpu", ChunkedAttention)
