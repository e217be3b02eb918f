"""GPT: a decoder-only Transformer language model (Radford et al., 2018, 2019).

Token ids (B, T) -> next-token logits (B, T, V):

    x = wte[idx] + wpe[0..T-1]                          token + learned position embeddings
    for each block:  x = x + attn(ln_1(x))              causal self-attention
                     x = x + mlp(ln_2(x))               4x GELU feed-forward
    logits = ln_f(x) @ wte^T                            the head shares the embedding matrix

Parameter names are GPT-2's as used by nanoGPT (transformer.wte, transformer.h.0.attn.c_attn,
..., lm_head), with Linear weights stored (out, in), so a nanoGPT state_dict
loads unchanged. Shapes: B batch, T time, C = n_embd, nh heads, hs = C / nh, V vocab,
nkv key/value heads, I the feed-forward width.

The same class builds the blocks of Llama-style models (Touvron et al., 2023), one
config field per change, so each can be switched on alone and compared:

    norm="rmsnorm"     RMSNorm instead of LayerNorm (ops/rms_norm.py)
    pos="rope"         rotary embeddings on q and k instead of wpe (ops/rotary.py)
    mlp="swiglu"       c_proj(silu(gate) * up) with [gate, up] = c_fc(x), c_fc: C -> 2I
    n_kv_head < n_head grouped-query attention: c_attn makes nh query heads and nkv key and
                       value heads, each shared by nh / nkv queries (ops/attention.py)
    tie_embeddings     False: lm_head has its own matrix

and the pieces of the modded-nanogpt speedrun recipe (Jordan et al., 2024), each off by default:

    qk_norm=True          q, k <- rmsnorm(q), rmsnorm(k) per head, before rotary: the scores q.k / sqrt(hs)
                          stay bounded whatever the weights' scale, so larger learning rates stay stable.
                          With Llama's blocks this is Qwen3 (its q_norm, k_norm with gains of 1)
    mlp="relu2"           c_proj(relu(c_fc(x))^2) (So et al., 2021): cheaper than GELU, learns as fast
    zero_init_proj=True   every c_proj (and an untied lm_head) starts at 0: each block starts as the
                          identity on the residual stream, and the model as a bigram of embeddings
    logit_softcap=c       logits <- c tanh(logits / c) (Gemma 2): no logit can run past +-c
    value_residual=True   v <- l v + (1 - l) v_1 in every layer after the first, l a learned scalar per
                          layer starting at 1/2 (Zhou et al., 2024): later layers keep access to
                          the first layer's token values

GPT.from_pretrained / save_pretrained read and write Hugging Face folders of
GPT-2, Llama and Qwen3 models (the name mappings are in models/gpt_hf.py).

Generation keeps a key/value cache per layer: each new token computes its own
q, k, v and attends to the cached keys and values of all earlier tokens, so a
step costs one token's worth of model work instead of re-running the whole
sequence.
"""
import math

import numpy as np

from .. import functional as F
from ..backend import xp_of
from ..nn import (GELU, Dropout, Embedding, LayerNorm, Linear, Module, ModuleDict, ModuleList, Parameter,
                  ReLUSquared, RMSNorm, RotaryEmbedding, init)
from ..optim import build_optimizer, describe_split
from ..tensor import Tensor
from .gpt_config import GPTConfig  # noqa: F401  (minilm.models.gpt.GPTConfig, as in nanoGPT)
from .gpt_hf import read_pretrained, save_pretrained
from .decoding import Decoding
from .sampling import generator


class KVCache:
    """Keys and values (B, nkv, up to block_size, hs) of the positions decoded so far, for one layer.

    The buffers grow by doubling as positions come, up to block_size: a pre-trained model may
    allow 100,000 positions, and a short sample should not reserve memory for all of them.
    Every row has the same length; a batch of requests at different lengths, decoded together,
    uses minilm/serve/batch_cache.py instead, which keeps the same two methods.
    """

    def __init__(self, capacity):
        self.capacity = capacity
        self.k = self.v = None
        self.length = 0

    def positions(self, T):
        """The positions (T,) of the next T tokens: right after the cached ones."""
        return np.arange(self.length, self.length + T)

    def extend(self, k, v):
        """Store this step's k, v (B, nkv, t, hs); return all keys and values so far."""
        B, nh, t, hs = k.shape
        end = self.length + t
        if self.k is None or self.k.shape[0] != B or end > self.k.shape[2]:
            xp = xp_of(k.data)
            size = min(self.capacity, max(end, 2 * (self.k.shape[2] if self.k is not None else 0), 64))
            grown_k, grown_v = xp.zeros((B, nh, size, hs), k.dtype), xp.zeros((B, nh, size, hs), v.dtype)
            if self.k is not None and self.k.shape[0] == B:
                grown_k[:, :, :self.length], grown_v[:, :, :self.length] = self.k[:, :, :self.length], \
                    self.v[:, :, :self.length]
            self.k, self.v = grown_k, grown_v
        self.k[:, :, self.length:end] = k.data
        self.v[:, :, self.length:end] = v.data
        self.length = end
        # (no mask: the causal mask, aligned bottom-right, is the right one for rows of one length)
        return Tensor._wrap(self.k[:, :, :end], k.device), Tensor._wrap(self.v[:, :, :end], v.device), None


class CausalSelfAttention(Module):
    def __init__(self, config, first_layer=False):
        super().__init__()
        if config.n_embd % config.n_head:
            raise ValueError(f"n_embd {config.n_embd} is not divisible by n_head {config.n_head}")
        hs = config.n_embd // config.n_head
        kv = config.n_kv_head * hs
        self.c_attn = Linear(config.n_embd, config.n_embd + 2 * kv, bias=config.bias)  # q, k, v in one matmul
        self.c_proj = Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.resid_dropout = Dropout(config.dropout)
        self.rotary = RotaryEmbedding(hs, config.rope_theta) if config.pos == "rope" else None
        self.n_head, self.n_kv_head, self.dropout = config.n_head, config.n_kv_head, config.dropout
        self.qk_norm, self.norm_eps = config.qk_norm, config.norm_eps
        if config.value_residual and not first_layer:
            self.value_mix = Parameter(np.full(1, 0.5, np.float32))    # l of v <- l v + (1 - l) v_1

    def forward(self, x, cache=None, first_values=None):
        """The attention's output (B, T, C). first_values (value_residual): a dict that the first layer
        stores its values v (B, nkv, T, hs) in, and the later layers mix them from."""
        B, T, C = x.shape
        hs = C // self.n_head
        q, k, v = F.split(self.c_attn(x), [C, self.n_kv_head * hs, self.n_kv_head * hs], dim=2)
        q = q.view(B, T, self.n_head, hs).transpose(1, 2)                # (B, nh, T, hs)
        k, v = (t.view(B, T, self.n_kv_head, hs).transpose(1, 2) for t in (k, v))   # (B, nkv, T, hs)
        if first_values is not None and "v" in first_values:
            v = self.value_mix * v + (1 - self.value_mix) * first_values["v"]   # (B, nkv, T, hs)
        elif first_values is not None:
            first_values["v"] = v                                       # (this step's tokens, not the cache)
        if self.qk_norm:
            q, k = F.rms_norm(q, (hs,), eps=self.norm_eps), F.rms_norm(k, (hs,), eps=self.norm_eps)  # Qwen3's eps
        if self.rotary is not None:
            positions = cache.positions(T) if cache is not None else 0   # after the cached ones
            q, k = self.rotary(q, positions), self.rotary(k, positions)
        mask = None
        if cache is not None:
            k, v, mask = cache.extend(k, v)             # (B, nkv, T_past + T, hs); a mask when rows differ
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=mask is None,
                                           dropout_p=self.dropout if self.training else 0.0)
        y = y.transpose(1, 2).reshape(B, T, C)                           # re-assemble the heads
        return self.resid_dropout(self.c_proj(y))


class MLP(Module):
    def __init__(self, config):
        super().__init__()
        self.c_fc = Linear(config.n_embd, config.intermediate_size, bias=config.bias)
        self.act = ReLUSquared() if config.mlp == "relu2" else GELU("tanh" if config.mlp == "gelu_tanh" else "none")
        self.c_proj = Linear(config.intermediate_size, config.n_embd, bias=config.bias)
        self.dropout = Dropout(config.dropout)

    def forward(self, x):
        return self.dropout(self.c_proj(self.act(self.c_fc(x))))        # (B, T, C)


class SwiGLU(Module):
    """c_proj(silu(gate) * up), [gate, up] = c_fc(x) (Shazeer, 2020): a learned gate per channel.

    Llama's gate_proj and up_proj are the two halves of c_fc (one matmul), its down_proj is c_proj.
    """

    def __init__(self, config):
        super().__init__()
        self.c_fc = Linear(config.n_embd, 2 * config.intermediate_size, bias=config.bias)
        self.c_proj = Linear(config.intermediate_size, config.n_embd, bias=config.bias)
        self.dropout = Dropout(config.dropout)

    def forward(self, x):
        return self.dropout(self.c_proj(F.swiglu(self.c_fc(x))))           # silu(gate) * up: (B, T, I) -> (B, T, C)


def make_norm(config):
    if config.norm == "rmsnorm":
        return RMSNorm(config.n_embd, eps=config.norm_eps)
    return LayerNorm(config.n_embd, eps=config.norm_eps, bias=config.bias)


class Block(Module):
    def __init__(self, config, first_layer=False):
        super().__init__()
        self.ln_1 = make_norm(config)
        self.attn = CausalSelfAttention(config, first_layer)
        self.ln_2 = make_norm(config)
        self.mlp = SwiGLU(config) if config.mlp == "swiglu" else MLP(config)

    def forward(self, x, cache=None, first_values=None):
        x = x + self.attn(self.ln_1(x), cache, first_values)
        return x + self.mlp(self.ln_2(x))


class GPT(Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        modules = dict(wte=Embedding(config.vocab_size, config.n_embd))
        if config.pos == "learned":
            modules["wpe"] = Embedding(config.block_size, config.n_embd)
        self.transformer = ModuleDict(dict(
            **modules,
            drop=Dropout(config.dropout),
            h=ModuleList(Block(config, first_layer=i == 0) for i in range(config.n_layer)),
            ln_f=make_norm(config),
        ))
        self.lm_head = Linear(config.n_embd, config.vocab_size, bias=False)
        if config.tie_embeddings:
            self.lm_head.weight = self.transformer.wte.weight  # weight tying: one matrix in and out
        self.apply(_init_weights)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):  # residual projections: variance independent of depth
                init.normal_(p, 0.0, 0.02 / math.sqrt(2 * config.n_layer))
            zeroed = name.endswith("c_proj.weight") or name == "lm_head.weight" and not config.tie_embeddings
            if config.zero_init_proj and zeroed:
                init.zeros_(p)

    def forward(self, idx, targets=None, caches=None):
        """Logits (B, T, V) and, given targets (B, T), the mean cross-entropy (else None)."""
        idx = idx if isinstance(idx, Tensor) else Tensor(np.asarray(idx))
        B, T = idx.shape
        logits = self.lm_head(transformer_body(self.transformer, self.config, idx, caches))  # (B, T, V)
        if self.config.logit_softcap:
            cap = self.config.logit_softcap
            logits = cap * F.tanh(logits / cap)                          # (B, T, V), in (-cap, cap)
        if targets is None:
            return logits, None
        targets = targets.data if isinstance(targets, Tensor) else np.asarray(targets)
        loss = F.cross_entropy(logits.view(B * T, -1), targets.reshape(B * T))
        return logits, loss

    @classmethod
    def from_pretrained(cls, folder):
        """A GPT in eval mode from a Hugging Face folder of a GPT2LMHeadModel, LlamaForCausalLM or Qwen3ForCausalLM
        (models/gpt_hf.py)."""
        config, state = read_pretrained(folder)
        model = cls(config)
        model.load_state_dict(state)
        return model.eval()

    def save_pretrained(self, folder, overwrite=False):
        """Write a Hugging Face folder (config.json, model.safetensors) that transformers loads."""
        save_pretrained(self, folder, overwrite)

    def configure_optimizers(self, weight_decay, learning_rate, betas=(0.9, 0.95), eps=1e-8, optimizer="adamw",
                             muon_lr=0.02, muon_momentum=0.95):
        """AdamW that decays the matrices and embeddings (>= 2-D) but not biases or norm gains; optimizer="muon":
        Muon for the blocks' matrices, that AdamW for the rest (the split is printed)."""
        built = build_optimizer(self, optimizer, learning_rate, weight_decay, betas, eps,
                                muon_lr=muon_lr, muon_momentum=muon_momentum)
        if optimizer == "muon":
            print(describe_split(built))
        return built

    def new_caches(self):
        return [KVCache(self.config.block_size) for _ in self.transformer.h]

    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None, top_p=None, seed=None, vocab_size=None):
        """Extend idx (B, T) by max_new_tokens sampled tokens; returns (B, T + max_new_tokens) ids.
        vocab_size: sample only ids below it (the tokenizer's, when the embedding is padded).

        When the sequence outgrows block_size, the cache restarts from the last
        block_size // 2 tokens (one full forward), then decoding goes on incrementally.
        """
        rng = generator(seed)
        decoding = Decoding(self, idx)
        for _ in range(max_new_tokens):
            next_ids = decoding.sample(temperature, top_k, top_p, rng, vocab_size)   # (B,)
            decoding.feed(next_ids[:, None])
        return decoding.idx


def transformer_body(transformer, config, idx, caches=None):
    """The final hidden states ln_f(x) (B, T, C) of token ids idx (B, T), shared by GPT and GPTClassifier."""
    if idx.ndim != 2:
        raise ValueError(f"GPT expects token ids of shape (B, T), got {idx.shape}")
    T = idx.shape[1]
    positions = caches[0].positions(T) if caches else np.arange(T)      # (T,), or (B, T) for rows at own lengths
    if positions.max() >= config.block_size:
        raise ValueError(f"cannot forward a sequence of length T={positions.max() + 1}: block_size is "
                         f"{config.block_size}; crop the input to its last {config.block_size} tokens "
                         "(idx[:, -block_size:])")
    x = transformer.wte(idx)                                             # (B, T, C)
    if config.pos == "learned":                                          # (rope rotates q, k instead)
        x = x + transformer.wpe(Tensor(positions, device=idx.device))    # + (T, C) or (B, T, C)
    x = transformer.drop(x)
    first_values = {} if config.value_residual else None                 # filled by the first layer
    for i, block in enumerate(transformer.h):
        x = block(x, caches[i] if caches else None, first_values)
    return transformer.ln_f(x)


def _init_weights(module):
    if isinstance(module, Linear):
        init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            init.zeros_(module.bias)
    elif isinstance(module, Embedding):
        init.normal_(module.weight, 0.0, 0.02)
