# %% [markdown]
# # Lesson 6: Attention and the Transformer
#
# **What you will learn**
#
# - scaled dot-product attention: queries, keys, values, the causal mask, and its backward;
# - a GPT block by block: embeddings, attention, the MLP, residual connections, layer norm;
# - the changes of Llama-style models: rotary position embeddings (RoPE), RMSNorm and SwiGLU;
# - what trained attention heads look at.
#
# **Exercises** (in `course/exercises/06_attention_transformer.py`; `minilm course check 6`):
# 1. `causal_attention`: the forward pass, with the mask that hides the future.
# 2. `causal_attention_backward`: dQ, dK, dV.
# 3. `rope`: rotate queries and keys by their positions.

# %%
import matplotlib.pyplot as plt
import numpy as np

import minilm
import minilm.functional as F
from minilm import optim
from minilm.course import DEVICE, FAST, check, show
from minilm.data import TokenDataset, load_corpus
from minilm.models import GPT, GPTConfig
from minilm.tokenizers import CharTokenizer
from minilm.viz import attention_maps, plot_attention

# %% [markdown]
# ## 1. Attention
#
# An RNN squeezes the whole past into one vector. Attention lets every position look back at every
# earlier position directly, and choose what to read. Each position t emits three vectors (linear maps of
# its input): a **query** q_t (what I am looking for), a **key** k_t (what I hold) and a **value** v_t (what
# I pass on). Then
#
# S = q kᵀ / sqrt(hs),   S_tj = -∞ for j > t (the causal mask),   P = softmax(S) row by row,   O = P v
#
# Row t of P is a probability distribution over positions 0..t: how much query t reads from each
# earlier value. Dividing by sqrt(hs) keeps the scores' scale independent of the head size hs, so softmax
# does not saturate. The backward runs the forward in reverse, with lesson 2's softmax backward in the
# middle: dV = Pᵀ dO, dP = dO vᵀ, dS = P ⊙ (dP - rowsum(dP ⊙ P)), dQ = dS k / sqrt(hs), dK = dSᵀ q / sqrt(hs).
# minilm's [`ScaledDotProductAttention`](../minilm/ops/attention.py#L24-L61) is exactly these lines.
#
# ### Exercise 1: `causal_attention(q, k, v)`
#
# q, k, v are (..., T, hs) arrays. Return O (..., T, hs) with the causal mask. The check compares with
# `F.scaled_dot_product_attention(..., is_causal=True)` and makes sure no output depends on a later
# position.

# %%
check(6, only="causal_attention")

# %% [markdown]
# ### Exercise 2: `causal_attention_backward(q, k, v, do)`
#
# Return (dQ, dK, dV) given dO = dL/dO. Recompute P from q and k (the op saves it in forward).

# %%
check(6, only="causal_attention_backward")

# %% [markdown]
# ## 2. A GPT, block by block
#
# [`GPT`](../minilm/models/gpt.py#L188-L257) turns token ids (B, T) into next-token logits (B, T, V):
#
# 1. x = wte[idx] + wpe[0..T-1]: a learned vector per token and per position (B, T, C);
# 2. n_layer [`Block`](../minilm/models/gpt.py#L175-L185)s, each x = x + attn(ln_1(x)), then
#    x = x + mlp(ln_2(x)). The **residual** x + ... gives the gradient a straight path through every
#    block; the norm *before* each sublayer (pre-norm) keeps the scale steady;
# 3. [`CausalSelfAttention`](../minilm/models/gpt.py#L99-L126) computes q, k, v for nh **heads** in one
#    matmul, splits C into nh heads of hs = C / nh channels (B, nh, T, hs), attends in each head
#    separately, and joins the heads back with a projection;
# 4. the [`MLP`](../minilm/models/gpt.py#L141-L150) works on each position alone: C -> 4C, GELU, 4C -> C;
# 5. a final layer norm, and logits = x wteᵀ (the output shares the embedding matrix).
#
# Follow the shapes through a small one:

# %%
text = load_corpus("shakespeare")
tokenizer = CharTokenizer.from_text(text)
config = GPTConfig(vocab_size=tokenizer.vocab_size, block_size=32, n_layer=2, n_head=4, n_embd=64)
minilm.manual_seed(0)
model = GPT(config).to(DEVICE)
idx = minilm.tensor([tokenizer.encode("ROMEO: what light")], device=DEVICE)   # (1, 17)
x = model.transformer.wte(idx) + model.transformer.wpe(minilm.tensor(np.arange(17), device=DEVICE))
print("embeddings", x.shape)
for block in model.transformer.h:
    x = block(x)
    print("after a block", x.shape)
logits = model.lm_head(model.transformer.ln_f(x))
print("logits", logits.shape, "- the same as model(idx):", np.allclose(logits.numpy(), model(idx)[0].numpy(), atol=1e-5))
print(f"{model.num_parameters():,} parameters")

# %% [markdown]
# ## 3. What the heads learn
#
# Train it for a little while on Shakespeare (lesson 7 explains the loop), then draw every head's P for
# one line of text ([`attention_maps`](../minilm/viz/attention.py#L71-L90) records the probabilities
# while the model runs):

# %%
data = TokenDataset(np.array(tokenizer.encode(text[:300_000]), dtype=np.int64), config.block_size)
optimizer = optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
rng = np.random.default_rng(0)
for step in range(15 if FAST else 400):
    xb, yb = data.get_batch(32, rng, DEVICE)
    _, loss = model(xb, yb)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
print(f"training loss after {step + 1} steps: {loss.item():.2f}")
line = "ROMEO:\nWhat light is this?"
maps = attention_maps(model, tokenizer.encode(line))                 # (n_layer, n_head, T, T)
fig = plot_attention(maps, [c if c != "\n" else "\\n" for c in line])
show(fig, "06_attention_maps")

# %% [markdown]
# Every row sums to 1 and nothing lies above the diagonal: a query never sees the future. After 400 steps
# the first layer's heads look mostly at the current and the previous one or two characters (a learned
# n-gram), while some heads of the second layer fix on the line break or on the space before the current
# word: where the word, or the line, began.
#
# ## 4. The Llama changes
#
# The same class builds the blocks of Llama-style models, one configuration field per change:
#
# - `norm="rmsnorm"`: [`RMSNorm`](../minilm/ops/rms_norm.py#L26-L46) divides by the root mean square only,
#   without subtracting the mean and without a bias: one reduction instead of two.
# - `mlp="swiglu"`: [`SwiGLU`](../minilm/models/gpt.py#L153-L166), c_proj(silu(gate) ⊙ up): a learned gate
#   per channel instead of a fixed GELU.
# - `pos="rope"`: no wpe; instead [`Rotary`](../minilm/ops/rotary.py#L45-L62) rotates each pair of channels
#   (i, i + hs/2) of q and k by the angle position · f_i, f_i = base^(-2i/hs). The score of query m and
#   key n then depends only on the distance n - m: q·R((n - m) f) k.
#
# ### Exercise 3: `rope(x, base)`
#
# x is (..., T, hs). Return x rotated at positions 0..T-1 in the rotate-half layout:
# y = x · cos + rotate_half(x) · sin, with rotate_half([x1, x2]) = [-x2, x1] over the last axis and
# cos, sin of the angles [θ, θ] (each half uses the same hs/2 angles).

# %%
check(6, only="rope")

# %%
modern = GPTConfig(vocab_size=tokenizer.vocab_size, block_size=32, n_layer=2, n_head=4, n_embd=64,
                   norm="rmsnorm", pos="rope", mlp="swiglu")
print(f"Llama-style: {GPT(modern).num_parameters():,} parameters (no position table, a gated MLP)")

# %% [markdown]
# ## Summary
#
# - Attention: P = softmax(q kᵀ / sqrt(hs) + causal mask), O = P v; its backward is the forward reversed
#   with softmax's backward inside.
# - A GPT block: x + attn(norm(x)), then x + mlp(norm(x)); heads split the channels.
# - Llama's blocks: RMSNorm, SwiGLU, and RoPE, which makes attention scores depend on relative positions.
#
# Next, lesson 7 trains a GPT properly and samples text from it.

# %%
check(6)
