"""Multi-head attention: several attention "heads" side by side, each on its own slice.

With model width E split into nh heads of size hs = E / nh:

    q, k, v = x_q W_q^T, x_kv W_k^T, x_kv W_v^T        project, (B, T, E)
    split into heads                                   (B, nh, T, hs)
    o = softmax(q k^T / sqrt(hs) + mask) v             each head attends on its own
    y = concat_heads(o) W_o^T                          (B, T, E)

Self-attention uses one sequence for x_q and x_kv; cross-attention (a decoder
reading the encoder) uses two. Masks follow nn.MultiheadAttention: in
`key_padding_mask` (B, Tk) and a bool `attn_mask` (Tq, Tk), True means "may not
attend". Parameters are PyTorch's: in_proj_weight (3E, E) holds W_q, W_k, W_v
stacked, out_proj is a Linear.
"""
import math

import numpy as np

from .. import functional as F
from ..tensor import Tensor
from . import init
from .linear import Linear
from .module import Module, Parameter


def split_heads(x, n_head):
    B, T, E = x.shape
    return x.reshape(B, T, n_head, E // n_head).transpose(1, 2)        # (B, nh, T, hs)


def merge_heads(x):
    B, nh, T, hs = x.shape
    return x.transpose(1, 2).reshape(B, T, nh * hs)                    # (B, T, E)


class MultiheadAttention(Module):
    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, batch_first=False, device="cpu"):
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(f"embed_dim {embed_dim} is not divisible by num_heads {num_heads}")
        self.embed_dim, self.num_heads = embed_dim, num_heads
        self.dropout, self.batch_first = dropout, batch_first
        bound = math.sqrt(6 / (embed_dim + 3 * embed_dim))  # xavier_uniform, as PyTorch
        self.in_proj_weight = Parameter(init.uniform_(Tensor(np.empty((3 * embed_dim, embed_dim), np.float32)),
                                                      -bound, bound), device=device)
        self.in_proj_bias = Parameter(np.zeros(3 * embed_dim, np.float32), device=device) if bias else None
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, device=device)
        if bias:
            init.zeros_(self.out_proj.bias)

    def _project(self, x, part):
        E = self.embed_dim
        w = self.in_proj_weight[part * E:(part + 1) * E]
        b = self.in_proj_bias[part * E:(part + 1) * E] if self.in_proj_bias is not None else None
        return F.linear(x, w, b)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=False, attn_mask=None,
                is_causal=False):
        if not self.batch_first:
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        if query is key is value:  # self-attention: one matmul for q, k, v
            q, k, v = F.split(F.linear(query, self.in_proj_weight, self.in_proj_bias), self.embed_dim, dim=2)
        else:
            q, k, v = self._project(query, 0), self._project(key, 1), self._project(value, 2)
        q, k, v = (split_heads(t, self.num_heads) for t in (q, k, v))   # (B, nh, T, hs)
        mask = allowed_mask(key_padding_mask, attn_mask, q.shape[-2], k.shape[-2])
        o = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=is_causal,
                                           dropout_p=self.dropout if self.training else 0.0)
        y = self.out_proj(merge_heads(o))
        return (y if self.batch_first else y.transpose(0, 1)), None


MultiHeadAttention = MultiheadAttention


def allowed_mask(key_padding_mask, attn_mask, Tq, Tk):
    """PyTorch's "True = blocked" masks combined into one "True = may attend" mask (or None)."""
    allowed = None
    if attn_mask is not None:
        m = attn_mask.data if isinstance(attn_mask, Tensor) else attn_mask
        if m.dtype != bool:
            raise TypeError("attn_mask must be boolean (True = may not attend)")
        allowed = ~m                                                    # (Tq, Tk)
    if key_padding_mask is not None:
        m = key_padding_mask.data if isinstance(key_padding_mask, Tensor) else key_padding_mask
        keep = ~m.astype(bool)[:, None, None, :]                       # (B, 1, 1, Tk)
        allowed = keep if allowed is None else allowed & keep
    return allowed
