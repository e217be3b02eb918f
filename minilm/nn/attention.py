"""Multi-head attention: several attention "heads" side by side, each on its own slice.

With model width E split into nh heads of size hs = E / nh:

    q, k, v = x_q W_q^T, x_kv W_k^T, x_kv W_v^T        project, (B, T, E)
    split into heads                                   (B, nh, T, hs)
    o = softmax(q k^T / sqrt(hs) + mask) v             each head attends on its own
    y = concat_heads(o) W_o^T                          (B, T, E)

Self-attention uses one sequence for x_q and x_kv; cross-attention (a decoder
reading the encoder) uses two. Masks follow nn.MultiheadAttention: in
`key_padding_mask` (B, Tk) and a bool `attn_mask` (Tq, Tk), True means "may not
attend"; a float attn_mask is added to the scores. Parameters are PyTorch's:
in_proj_weight (3E, E) holds W_q, W_k, W_v stacked, out_proj is a Linear, so a
PyTorch state_dict loads unchanged.

Two departures from torch.nn.MultiheadAttention, both deliberate:
  - batch_first=True by default: (B, T, E) is the layout of every minilm model;
    pass batch_first=False for PyTorch's (T, B, E).
  - the attention weights are never returned (the fused attention op does not
    keep them in a form worth exposing): forward returns (output, None).
"""
import math

import numpy as np

from .. import functional as F
from ..backend import xp_of
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
    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, batch_first=True, device="cpu"):
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

    def _project(self, query, key, value):
        """q, k, v (B, T, E) from the inputs: one matmul per distinct input sequence."""
        E, w, b = self.embed_dim, self.in_proj_weight, self.in_proj_bias
        if query is key is value:                                        # self-attention
            return F.split(F.linear(query, w, b), E, dim=2)              # 3 x (B, T, E)
        w_q, w_kv = F.split(w, [E, 2 * E], dim=0)
        b_q, b_kv = F.split(b, [E, 2 * E], dim=0) if b is not None else (None, None)
        q = F.linear(query, w_q, b_q)                                    # (B, Tq, E)
        if key is value:                                                 # cross-attention on one memory
            k, v = F.split(F.linear(key, w_kv, b_kv), E, dim=2)          # 2 x (B, Tk, E)
        else:
            w_k, w_v = F.split(w_kv, E, dim=0)
            b_k, b_v = F.split(b_kv, E, dim=0) if b_kv is not None else (None, None)
            k, v = F.linear(key, w_k, b_k), F.linear(value, w_v, b_v)
        return q, k, v

    def forward(self, query, key, value, key_padding_mask=None, need_weights=False, attn_mask=None,
                is_causal=False):
        """Attention output (B, Tq, E) [(Tq, B, E) when not batch_first], and None in place of weights."""
        if not self.batch_first:
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        for name, t in (("query", query), ("key", key), ("value", value)):
            if t.ndim != 3 or t.shape[-1] != self.embed_dim:
                raise ValueError(f"MultiheadAttention: {name} must be (B, T, {self.embed_dim}) "
                                 f"(batch_first={self.batch_first}), got {t.shape}")
        q, k, v = self._project(query, key, value)
        q, k, v = (split_heads(t, self.num_heads) for t in (q, k, v))   # (B, nh, T, hs)
        mask = combined_mask(key_padding_mask, attn_mask, q.dtype)
        o = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=is_causal,
                                           dropout_p=self.dropout if self.training else 0.0)
        y = self.out_proj(merge_heads(o))                                # (B, Tq, E)
        return (y if self.batch_first else y.transpose(0, 1)), None


MultiHeadAttention = MultiheadAttention


def combined_mask(key_padding_mask, attn_mask, dtype):
    """PyTorch's "True = blocked" masks as one mask for scaled_dot_product_attention (or None).

    Bool masks combine into "True = may attend"; a float attn_mask (added to the
    scores) turns the padding into -inf added on top.
    """
    def raw(m):
        return m.data if isinstance(m, Tensor) else m
    attn_mask, key_padding_mask = raw(attn_mask), raw(key_padding_mask)
    keep = None
    if key_padding_mask is not None:
        keep = ~key_padding_mask.astype(bool)[:, None, None, :]         # (B, 1, 1, Tk)
    if attn_mask is None:
        return keep
    if attn_mask.dtype == bool:
        return ~attn_mask if keep is None else ~attn_mask & keep        # (Tq, Tk) or (B, 1, Tq, Tk)
    if keep is None:
        return attn_mask.astype(dtype)                                  # (Tq, Tk)
    xp = xp_of(attn_mask)
    return attn_mask.astype(dtype) + xp.where(keep, 0, -np.inf).astype(dtype)  # (B, 1, Tq, Tk)
