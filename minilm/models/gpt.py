"""GPT: a decoder-only Transformer language model (Radford et al., 2018, 2019).

Token ids (B, T) -> next-token logits (B, T, V):

    x = wte[idx] + wpe[0..T-1]                          token + learned position embeddings
    for each block:  x = x + attn(ln_1(x))              causal self-attention
                     x = x + mlp(ln_2(x))               4x GELU feed-forward
    logits = ln_f(x) @ wte^T                            the head shares the embedding matrix

Parameter names are GPT-2's as used by nanoGPT (transformer.wte, transformer.h.0.attn.c_attn,
..., lm_head), with Linear weights stored (out, in), so a nanoGPT state_dict
loads unchanged. Shapes: B batch, T time, C = n_embd, nh heads, hs = C / nh, V vocab.

Generation keeps a key/value cache per layer: each new token computes its own
q, k, v and attends to the cached keys and values of all earlier tokens, so a
step costs one token's worth of model work instead of re-running the whole
sequence.
"""
import math
from dataclasses import asdict, dataclass

import numpy as np

from .. import functional as F
from ..backend import xp_of
from ..nn import GELU, Dropout, Embedding, LayerNorm, Linear, Module, ModuleDict, ModuleList, init
from ..optim import AdamW
from ..tensor import Tensor
from .sampling import append_sample, generator, inference


@dataclass
class GPTConfig:
    vocab_size: int = 65
    block_size: int = 64
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0
    bias: bool = True

    def to_dict(self):
        return asdict(self)


class KVCache:
    """Keys and values (B, nh, block_size, hs) of the positions decoded so far, for one layer."""

    def __init__(self, capacity):
        self.capacity = capacity
        self.k = self.v = None
        self.length = 0

    def extend(self, k, v):
        """Store this step's k, v (B, nh, t, hs); return all keys and values so far."""
        B, nh, t, hs = k.shape
        if self.k is None or self.k.shape[0] != B:
            xp = xp_of(k.data)
            self.k = xp.zeros((B, nh, self.capacity, hs), k.dtype)
            self.v = xp.zeros((B, nh, self.capacity, hs), v.dtype)
        end = self.length + t
        self.k[:, :, self.length:end] = k.data
        self.v[:, :, self.length:end] = v.data
        self.length = end
        return Tensor._wrap(self.k[:, :, :end], k.device), Tensor._wrap(self.v[:, :, :end], v.device)


class CausalSelfAttention(Module):
    def __init__(self, config):
        super().__init__()
        if config.n_embd % config.n_head:
            raise ValueError(f"n_embd {config.n_embd} is not divisible by n_head {config.n_head}")
        self.c_attn = Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)  # q, k, v in one matmul
        self.c_proj = Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.resid_dropout = Dropout(config.dropout)
        self.n_head, self.dropout = config.n_head, config.dropout

    def forward(self, x, cache=None):
        B, T, C = x.shape
        q, k, v = F.split(self.c_attn(x), C, dim=2)                      # 3 x (B, T, C)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
                   for t in (q, k, v))                                   # (B, nh, T, hs)
        if cache is not None:
            k, v = cache.extend(k, v)                                    # (B, nh, T_past + T, hs)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True,
                                           dropout_p=self.dropout if self.training else 0.0)
        y = y.transpose(1, 2).reshape(B, T, C)                           # re-assemble the heads
        return self.resid_dropout(self.c_proj(y))


class MLP(Module):
    def __init__(self, config):
        super().__init__()
        self.c_fc = Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = GELU()
        self.c_proj = Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = Dropout(config.dropout)

    def forward(self, x):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))       # (B, T, C)


class Block(Module):
    def __init__(self, config):
        super().__init__()
        self.ln_1 = LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x, cache=None):
        x = x + self.attn(self.ln_1(x), cache)
        return x + self.mlp(self.ln_2(x))


class GPT(Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.transformer = ModuleDict(dict(
            wte=Embedding(config.vocab_size, config.n_embd),
            wpe=Embedding(config.block_size, config.n_embd),
            drop=Dropout(config.dropout),
            h=ModuleList(Block(config) for _ in range(config.n_layer)),
            ln_f=LayerNorm(config.n_embd, bias=config.bias),
        ))
        self.lm_head = Linear(config.n_embd, config.vocab_size, bias=False)
        self.lm_head.weight = self.transformer.wte.weight  # weight tying: one matrix in and out
        self.apply(_init_weights)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):  # residual projections: variance independent of depth
                init.normal_(p, 0.0, 0.02 / math.sqrt(2 * config.n_layer))

    def forward(self, idx, targets=None, caches=None):
        """Logits (B, T, V) and, given targets (B, T), the mean cross-entropy (else None)."""
        idx = idx if isinstance(idx, Tensor) else Tensor(np.asarray(idx))
        B, T = idx.shape
        logits = self.lm_head(transformer_body(self.transformer, self.config, idx, caches))  # (B, T, V)
        if targets is None:
            return logits, None
        targets = targets.data if isinstance(targets, Tensor) else np.asarray(targets)
        loss = F.cross_entropy(logits.view(B * T, -1), targets.reshape(B * T))
        return logits, loss

    def configure_optimizers(self, weight_decay, learning_rate, betas=(0.9, 0.95), eps=1e-8):
        """AdamW that decays the matrices and embeddings (>= 2-D) but not biases or norm gains."""
        params = list(self.parameters())
        decay = [p for p in params if p.ndim >= 2]
        no_decay = [p for p in params if p.ndim < 2]
        return AdamW([{"params": decay, "weight_decay": weight_decay},
                      {"params": no_decay, "weight_decay": 0.0}], lr=learning_rate, betas=betas, eps=eps)

    def new_caches(self):
        return [KVCache(self.config.block_size) for _ in self.transformer.h]

    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None, top_p=None, seed=None):
        """Extend idx (B, T) by max_new_tokens sampled tokens; returns (B, T + max_new_tokens) ids.

        When the sequence outgrows block_size, the cache restarts from the last
        block_size // 2 tokens (one full forward), then decoding goes on incrementally.
        """
        idx = np.asarray(idx.numpy() if isinstance(idx, Tensor) else idx)
        rng, window, caches = generator(seed), self.config.block_size, None
        with inference(self):
            for _ in range(max_new_tokens):
                if caches is None or caches[0].length >= window:
                    caches = self.new_caches()
                    context = idx[:, -(window // 2 if idx.shape[1] >= window else window):]
                else:
                    context = idx[:, -1:]                                # one new token, the rest is cached
                logits, _ = self(Tensor(context, device=self.device), caches=caches)
                idx, _ = append_sample(idx, logits, temperature, top_k, top_p, rng)
        return idx


def transformer_body(transformer, config, idx, caches=None):
    """The final hidden states ln_f(x) (B, T, C) of token ids idx (B, T), shared by GPT and GPTClassifier."""
    if idx.ndim != 2:
        raise ValueError(f"GPT expects token ids of shape (B, T), got {idx.shape}")
    T = idx.shape[1]
    start = caches[0].length if caches else 0
    if start + T > config.block_size:
        raise ValueError(f"cannot forward a sequence of length T={start + T}: block_size is {config.block_size}; "
                         f"crop the input to its last {config.block_size} tokens (idx[:, -block_size:])")
    positions = Tensor(np.arange(start, start + T), device=idx.device)
    tok_emb = transformer.wte(idx)                                       # (B, T, C)
    pos_emb = transformer.wpe(positions)                                 # (T, C)
    x = transformer.drop(tok_emb + pos_emb)
    for i, block in enumerate(transformer.h):
        x = block(x, caches[i] if caches else None)
    return transformer.ln_f(x)


def _init_weights(module):
    if isinstance(module, Linear):
        init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            init.zeros_(module.bias)
    elif isinstance(module, Embedding):
        init.normal_(module.weight, 0.0, 0.02)
