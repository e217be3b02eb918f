# %% [markdown]
# # 第 6 课：注意力机制与 Transformer
#
# **本课内容**
#
# - 缩放点积注意力：查询、键、值，因果掩码，以及它的反向传播；
# - 一个模块一个模块地拆解 GPT：词嵌入、注意力、MLP、残差连接、层归一化；
# - Llama 风格模型的改动：旋转位置编码（RoPE）、RMSNorm 和 SwiGLU；
# - 训练后的注意力头在看什么。
#
# **练习**（在 `course/exercises/06_attention_transformer.py` 中完成；运行 `minilm course check 6`）：
# 1. `causal_attention`：前向计算，带上遮住未来的掩码。
# 2. `causal_attention_backward`：dQ、dK、dV。
# 3. `rope`：按位置旋转查询和键。

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
# ## 1. 注意力
#
# RNN 把整个过去压缩进一个向量。注意力让每个位置都能直接回看之前的每一个位置，并自己选择读取什么。每个
# 位置 t 产生三个向量（都是它的输入的线性映射）：**查询** q_t（我在找什么）、**键** k_t（我有什么）和
# **值** v_t（我传递什么）。然后
#
# S = q kᵀ / sqrt(hs)，对 j > t 令 S_tj = -∞（因果掩码），P = 逐行 softmax(S)，O = P v
#
# P 的第 t 行是位置 0..t 上的一个概率分布：查询 t 从每个更早的值中读取多少。除以 sqrt(hs) 使分数的尺度与
# 头的大小 hs 无关，softmax 就不会饱和。反向传播把前向计算倒过来，中间用到第 2 课的 softmax 反向传播：
# dV = Pᵀ dO，dP = dO vᵀ，dS = P ⊙ (dP - rowsum(dP ⊙ P))，dQ = dS k / sqrt(hs)，dK = dSᵀ q / sqrt(hs)。
# minilm 的 [`ScaledDotProductAttention`](../../minilm/ops/attention.py#L24-L61) 正是这几行。
#
# ### 练习 1：`causal_attention(q, k, v)`
#
# q、k、v 是形状为 (..., T, hs) 的数组。返回带因果掩码的 O (..., T, hs)。检查会与
# `F.scaled_dot_product_attention(..., is_causal=True)` 比较，并确认任何输出都不依赖于更靠后的位置。

# %%
check(6, only="causal_attention")

# %% [markdown]
# ### 练习 2：`causal_attention_backward(q, k, v, do)`
#
# 已知 dO = dL/dO，返回 (dQ, dK, dV)。用 q 和 k 重新计算 P（真正的运算在 forward 中保存了它）。

# %%
check(6, only="causal_attention_backward")

# %% [markdown]
# ## 2. 一个模块一个模块地拆解 GPT
#
# [`GPT`](../../minilm/models/gpt.py#L188-L257) 把词元 id (B, T) 变成下一个词元的 logits (B, T, V)：
#
# 1. x = wte[idx] + wpe[0..T-1]：每个词元和每个位置各有一个学到的向量 (B, T, C)；
# 2. n_layer 个 [`Block`](../../minilm/models/gpt.py#L175-L185)，每个先算 x = x + attn(ln_1(x))，再算
#    x = x + mlp(ln_2(x))。**残差** x + ... 让梯度有一条直通每个模块的路径；每个子层*之前*的归一化
#    （pre-norm）让尺度保持稳定；
# 3. [`CausalSelfAttention`](../../minilm/models/gpt.py#L99-L126) 用一次矩阵乘法为 nh 个**头**算出 q、k、v，
#    把 C 个通道分成 nh 个头、每头 hs = C / nh 个通道 (B, nh, T, hs)，在每个头里分别做注意力，再用一个投影
#    把各个头合并回来；
# 4. [`MLP`](../../minilm/models/gpt.py#L141-L150) 对每个位置单独计算：C -> 4C，GELU，4C -> C；
# 5. 最后一次层归一化，然后 logits = x wteᵀ（输出层与词嵌入共用同一个矩阵）。
#
# 在一个小模型上跟踪一下各个形状：

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
# ## 3. 注意力头学到了什么
#
# 在莎士比亚上训练一小会儿（第 7 课会讲解训练循环），然后对一行文本画出每个头的 P
# （[`attention_maps`](../../minilm/viz/attention.py#L71-L90) 在模型运行时记录下这些概率）：

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
# 每一行的和都为 1，对角线以上全是空的：查询永远看不到未来。训练 400 步之后，第一层的头主要看当前字符和前
# 一两个字符（一个学出来的 n 元语法），而第二层的一些头则盯住换行符，或当前单词前面的空格：也就是这个词、
# 这一行开始的地方。
#
# ## 4. Llama 的改动
#
# 同一个类也能搭建 Llama 风格模型的模块，每项改动对应一个配置字段：
#
# - `norm="rmsnorm"`：[`RMSNorm`](../../minilm/ops/rms_norm.py#L26-L46) 只除以均方根，不减均值，也没有偏置：
#   一次归约而不是两次。
# - `mlp="swiglu"`：[`SwiGLU`](../../minilm/models/gpt.py#L153-L166)，c_proj(silu(gate) ⊙ up)：每个通道有一个
#   学到的门，而不是固定的 GELU。
# - `pos="rope"`：没有 wpe；取而代之的是 [`Rotary`](../../minilm/ops/rotary.py#L45-L62) 把 q 和 k 的每一对
#   通道 (i, i + hs/2) 旋转 位置 · f_i 的角度，f_i = base^(-2i/hs)。于是查询 m 与键 n 的分数只依赖于距离
#   n - m：q·R((n - m) f) k。
#
# ### 练习 3：`rope(x, base)`
#
# x 的形状为 (..., T, hs)。返回在位置 0..T-1 上按 rotate-half 布局旋转后的 x：
# y = x · cos + rotate_half(x) · sin，其中沿最后一个轴 rotate_half([x1, x2]) = [-x2, x1]，cos、sin 取角度
# [θ, θ]（前后两半用同样的 hs/2 个角度）。

# %%
check(6, only="rope")

# %%
modern = GPTConfig(vocab_size=tokenizer.vocab_size, block_size=32, n_layer=2, n_head=4, n_embd=64,
                   norm="rmsnorm", pos="rope", mlp="swiglu")
print(f"Llama-style: {GPT(modern).num_parameters():,} parameters (no position table, a gated MLP)")

# %% [markdown]
# ## 小结
#
# - 注意力：P = softmax(q kᵀ / sqrt(hs) + 因果掩码)，O = P v；它的反向传播就是把前向倒过来，中间是 softmax
#   的反向传播。
# - GPT 的一个模块：x + attn(norm(x))，然后 x + mlp(norm(x))；多个头把通道分开。
# - Llama 的模块：RMSNorm、SwiGLU，以及让注意力分数只依赖相对位置的 RoPE。
#
# 下一课（第 7 课）好好训练一个 GPT，并从中采样生成文本。

# %%
check(6)
