"""Attention on minilm's fused kernel (attention.cu), for float32 on "cuda" and "emu".

The same op as minilm/ops/attention.py, FlashAttention-2 style: the forward
kernel walks the keys in tiles with a running max and sum, so it writes only O
and each query's log-sum-exp L, never the (Tq, Tk) probabilities; backward
recomputes P tile by tile from q, k and L. It covers self-attention shapes
(q, k, v of one shape, head size <= 128, causal or not) without a mask or
dropout; grouped-query heads, masks and cross-attention run the reference.
"""
import math

import numpy as np

from ..dispatch import register
from ..ops.attention import ScaledDotProductAttention
from . import launch
from .switch import enabled


class KernelAttention(ScaledDotProductAttention):
    def applies(self, q, k, v):
        return (enabled(self.device) and self.attn_mask is None and not self.dropout_p
                and q.dtype == np.float32 and q.shape == k.shape == v.shape and q.shape[-1] <= 128)

    def forward(self, q, k, v):
        self.scale_used = np.float32(self.scale if self.scale is not None else 1 / math.sqrt(q.shape[-1]))
        self.q, self.k, self.v = q, k, v
        self.o, self.lse = launch.attention_forward(q, k, v, self.is_causal, self.scale_used, self.device)
        return self.o

    def backward(self, do):
        return launch.attention_backward(self.q, self.k, self.v, self.o, self.lse, do, self.is_causal,
                                         float(self.scale_used), self.device)


register(ScaledDotProductAttention, "cuda", KernelAttention)
register(ScaledDotProductAttention, "emu", KernelAttention)
