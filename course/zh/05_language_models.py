# %% [markdown]
# # 第 5 课：注意力机制之前的语言模型
#
# **本课内容**
#
# - 什么是语言模型：在给定前面词元的条件下，给出下一个词元的概率；用损失（交叉熵）及其指数
#   **困惑度**来衡量；
# - n 元语法（n-gram）基线：统计哪个字符跟在哪个字符后面；
# - 循环神经网络：普通 RNN 和 LSTM，用截断的随时间反向传播来训练。
#
# **练习**（在 `course/exercises/05_language_models.py` 中完成；运行 `minilm course check 5`）：
# 1. `bigram_log_probs`：带加 α 平滑的二元语法模型。
# 2. `RNNStep`：把 Elman RNN 的一步写成 minilm 的 `Function`，包括前向与反向。
# 3. `stream_windows`：截断随时间反向传播所用的批次。

# %%
import math

import matplotlib.pyplot as plt
import numpy as np

import minilm
from minilm import optim
from minilm.course import DEVICE, FAST, check, show
from minilm.data import StreamBatcher, load_corpus
from minilm.metrics import perplexity
from minilm.models import LSTMLM
from minilm.tokenizers import CharTokenizer

text = load_corpus("shakespeare")
tokenizer = CharTokenizer.from_text(text)
ids = np.array(tokenizer.encode(text[:200_000] if FAST else text), dtype=np.int64)
split = int(0.9 * len(ids))
train_ids, val_ids = ids[:split], ids[split:]
V = tokenizer.vocab_size
print(f"{len(train_ids):,} training and {len(val_ids):,} validation characters, vocabulary {V}")

# %% [markdown]
# ## 1. 损失与困惑度
#
# 语言模型为每一个可能的下一个词元给出 p(x_t | x_1 ... x_{t-1})。它在一段文本上的损失是
# -log p(正确的下一个词元) 的平均值：也就是第 2 课的交叉熵。它的指数
# [`perplexity`](../../minilm/metrics.py#L27-L32) = e^loss 可以理解为“和在这么多个词元中均匀地猜一样没把握”：
# 什么都不懂的模型困惑度为 V（这里是 65）；完美的模型困惑度为 1。
#
# ## 2. n 元语法基线
#
# 最简单的模型就是计数：p(b | a) = (count(a b) + α) / (count(a) + α V)。α > 0（加 α 平滑）保证训练中从未
# 出现过的字符对不会得到概率 0（那会带来无穷大的损失）。
#
# ### 练习 1：`bigram_log_probs(ids, vocab_size, alpha)`
#
# 返回 (V, V) 矩阵，其第 a 行包含每个 b 的 log p(b | a)。

# %%
check(5, only="bigram")

# %% [markdown]
# 二元语法模型的验证损失是每个神经网络模型都必须超过的基线（这里用与练习相同的公式，两行算出）：

# %%
counts = np.zeros((V, V))
np.add.at(counts, (train_ids[:-1], train_ids[1:]), 1)
log_p = np.log((counts + 1) / (counts + 1).sum(1, keepdims=True))
bigram_loss = -log_p[val_ids[:-1], val_ids[1:]].mean()
print(f"bigram: validation loss {bigram_loss:.3f}, perplexity {perplexity(bigram_loss):.1f} (of {V})")

# %% [markdown]
# ## 3. 循环神经网络
#
# 二元语法只往回看一个字符。循环网络带着一个**隐藏状态** h：这是一个向量，概括了到目前为止读到的一切，
# 每一步都会更新。Elman RNN（[`RNNCell`](../../minilm/ops/rnn.py#L10-L31)，一个融合的运算）：
#
# h_t = tanh(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh)
#
# 对一步做反向传播，记 da = dL/dh_t · (1 - h_t²)：dL/dx = da W_ih，dL/dh_{t-1} = da W_hh，
# dW_ih = daᵀ x，dW_hh = daᵀ h_{t-1}，db = Σ_批次 da。
#
# ### 练习 2：`RNNStep`
#
# 写出 `RNNStep(Function)`：`forward(x, h, w_ih, w_hh, b)` 返回 h_t，`backward(gy)` 返回五个梯度。检查会运行
# `gradcheck`，并与 minilm 的 `RNNCell` 比较。

# %%
check(5, only="rnn_step")

# %% [markdown]
# 梯度沿许多步往回传时，要一次又一次地乘以 W_hh 和 tanh'，所以会指数式地变小（或爆炸）：普通 RNN 忘得很快。
# **LSTM**（[`LSTMCell`](../../minilm/ops/lstm.py#L109-L132)，公式见[它的文档字符串](../../minilm/ops/lstm.py#L1-L20)）
# 增加了一个由门控制更新的细胞状态 c，c' = f · c + i · g，于是梯度可以沿着 c 流过许多步，只乘以遗忘门 f。
# minilm 把一整层作为一个运算来运行：[`LSTMLayer`](../../minilm/ops/lstm.py#L135-L185)，它的反向传播沿时间
# 倒序循环。
#
# ## 4. 截断的随时间反向传播
#
# 一本书太长，无法对整本书做反向传播。所以把文本切成 B 条并行的**流**，每条流按 T 个字符的窗口依次读取
# （[`StreamBatcher`](../../minilm/data/dataset.py#L74-L108)）：一个批次的第 b 行正好接着上一个批次第 b 行
# 结束的地方，所以一个窗口最后的隐藏状态恰好是下一个窗口正确的初始状态。在窗口之间，
# [`detach_state`](../../minilm/models/lstm_lm.py#L65-L66) 保留状态的值，但切断计算图：记忆可以延伸得很远，
# 梯度只回传 T 步。
#
# ### 练习 3：`stream_windows(tokens, batch_size, bptt)`
#
# 返回对所有流遍历一遍得到的 (x, y) 对的列表，每个形状为 (B, T)，与 `StreamBatcher` 生成的一样：第 b 条流是
# tokens[b L : (b + 1) L + 1]，其中 L = (n - 1) // B；每条流的第 k 个窗口从偏移 k T 开始；y 是 x 向后错一位。

# %%
check(5, only="stream_windows")

# %% [markdown]
# 现在用同样的方法训练同样大小的普通 RNN 和 LSTM（[`LSTMLM`](../../minilm/models/lstm_lm.py#L27-L77)，
# `cell="rnn"` 或 `"lstm"`）：

# %%
steps, hidden = (15, 32) if FAST else (150, 96)
B, T = 64, 32


def train_recurrent(cell):
    minilm.manual_seed(0)
    model = LSTMLM(V, embedding_dim=64, hidden_size=hidden, num_layers=1, cell=cell).to(DEVICE)
    optimizer = optim.Adam(model.parameters(), lr=3e-3)
    batches, state, curve = StreamBatcher(train_ids, B, T), None, []
    for step in range(steps):
        x, y = batches.next_batch(DEVICE)
        if batches.wrapped:
            state = None
        _, loss, state = model(x, y, state)
        state = model.detach_state(state)
        optimizer.zero_grad()
        loss.backward()
        optim.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        curve.append(loss.item())
    with minilm.no_grad():
        x, y = StreamBatcher(val_ids, 8, 256).next_batch(DEVICE)
        val_loss = model(x, y)[1].item()
    return curve, val_loss


fig, ax = plt.subplots(figsize=(6, 3.5))
ax.axhline(bigram_loss, color="gray", linestyle="--", label=f"bigram (val {bigram_loss:.2f})")
for cell in ["rnn", "lstm"]:
    curve, val_loss = train_recurrent(cell)
    smooth = np.convolve(curve, np.ones(10) / 10, mode="valid")
    ax.plot(smooth, label=f"{cell} (val {val_loss:.2f}, perplexity {math.exp(val_loss):.1f})")
    print(f"{cell}: validation loss {val_loss:.3f}, perplexity {perplexity(val_loss):.1f}")
ax.set_xlabel("step")
ax.set_ylabel("training loss (smoothed)")
ax.legend()
show(fig, "05_rnn_lstm")

# %% [markdown]
# 两个循环模型大约 50 步之后就都超过了二元语法基线。在这么小的预算下（一层、150 步），它们最终的结果很接近：
# LSTM 更长的记忆还没来得及发挥作用。步数更多或隐藏状态更大时，它会不会领先？改一改 `steps` 和 `hidden`
# 试试看；`minilm train --preset shakespeare-lstm` 会训练一个两层的 LSTM，训练时间也长得多。
#
# ## 小结
#
# - 语言模型的损失是 -log p(下一个词元) 的平均值；困惑度 = e^loss。
# - 二元语法统计字符对；平滑让没见过的字符对仍有可能出现。
# - RNN 带着一个隐藏状态；LSTM 增加了一个门控的细胞状态，让梯度得以保持。
# - 截断 BPTT：按窗口读取各条流，状态向后传递，窗口之间切断计算图。
#
# 下一课（第 6 课）用注意力机制取代循环。

# %%
check(5)
