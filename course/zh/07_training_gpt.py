# %% [markdown]
# # 第 7 课：训练一个 GPT，并从中采样
#
# **本课内容**
#
# - 训练循环：批次、学习率调度、一次优化步骤、在留出的文本上评估；
# - 采样：温度、top-k 和 top-p（核采样）过滤；
# - 键值缓存（KV cache）：它让生成一个词元只花一个词元的计算量。
#
# **练习**（在 `course/exercises/07_training_gpt.py` 中完成；运行 `minilm course check 7`）：
# 1. `warmup_cosine`：训练循环所用的学习率调度。
# 2. `top_k_filter`：只保留概率最高的 k 个词元。
# 3. `top_p_filter`：保留概率之和达到 p 的最小的高概率词元集合。

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

import minilm
from minilm.amp import GradScaler
from minilm.course import DEVICE, FAST, check, show
from minilm.data import TokenDataset, load_corpus
from minilm.models import GPT, GPTConfig, sample_next
from minilm.optim import cosine_with_warmup
from minilm.tokenizers import CharTokenizer
from minilm.train.evaluation import evaluate_batches
from minilm.train.step import train_step

# %% [markdown]
# ## 1. 训练循环
#
# 训练语言模型就是重复四件事：
#
# 1. 取一批文本窗口 x (B, T)，以及同样的窗口错后一位得到的 y：每个位置上的下一个词元
#    （[`TokenDataset.get_batch`](../../minilm/data/dataset.py#L52-L61)）；
# 2. 按调度设置学习率（先预热，再余弦衰减：第 3 课）；
# 3. 一次优化步骤：前向、损失、反向、裁剪、更新（[`train_step`](../../minilm/train/step.py#L32-L64)，
#    minilm 中每个训练循环都用这同一个步骤：它还负责在多个微批次上累积梯度、处理混合精度，并在出现 NaN 时
#    在改动权重之前停下）；
# 4. 时不时地在留出的文本上计算损失，不计算梯度
#    （[`evaluate_batches`](../../minilm/train/evaluation.py#L34-L57)）。如果训练损失还在下降、验证损失却不再
#    下降，就是过拟合了。
#
# `examples/train_gpt.py` 把默认的 `minilm train`（Muon、QK-norm、Llama 的模块）整个写在一个文件里。下面是一个
# 更小的版本，用 GPT-2 的模块和 AdamW：

# %%
text = load_corpus("shakespeare")
tokenizer = CharTokenizer.from_text(text)
ids = np.array(tokenizer.encode(text), dtype=np.int64)
n = int(0.9 * len(ids))
train_data, val_data = TokenDataset(ids[:n], 64), TokenDataset(ids[n:], 64)

config = GPTConfig(vocab_size=tokenizer.vocab_size, block_size=64, n_layer=2, n_head=4, n_embd=64)
minilm.manual_seed(0)
model = GPT(config).to(DEVICE)
optimizer = model.configure_optimizers(weight_decay=0.1, learning_rate=3e-3, betas=(0.9, 0.99))
scaler = GradScaler(enabled=False)                  # float32: no loss scaling
max_steps, eval_every = (20, 10) if FAST else (600, 100)
batch_rng = np.random.default_rng(0)


def validation_loss(model, data, batches=2 if FAST else 10):
    rng = np.random.default_rng(1)                   # the same batches at every evaluation
    sums = evaluate_batches(model, (data.get_batch(16, rng, DEVICE) for _ in range(batches)),
                            lambda xy: (*model(*xy), xy[1]))
    return sums["loss"] / sums["count"]


history = {"step": [], "train": [], "val": []}
for step in range(max_steps + 1):
    if step % eval_every == 0:
        history["step"].append(step)
        history["train"].append(validation_loss(model, train_data))
        history["val"].append(validation_loss(model, val_data))
        print(f"step {step}: train {history['train'][-1]:.3f}, val {history['val'][-1]:.3f}")
    if step == max_steps:
        break
    for group in optimizer.param_groups:
        group["lr"] = cosine_with_warmup(step, 3e-3, warmup_steps=50, decay_steps=max_steps, min_lr=3e-4)
    loss, norm = train_step(lambda: model(*train_data.get_batch(16, batch_rng, DEVICE))[1], model, optimizer,
                            scaler, grad_clip=1.0, device=DEVICE)

fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(history["step"], history["train"], marker="o", label="train")
ax.plot(history["step"], history["val"], marker="o", label="validation")
ax.set_xlabel("step")
ax.set_ylabel("loss")
ax.legend()
show(fig, "07_losses")

# %% [markdown]
# ### 练习 1：`warmup_cosine(step, max_lr, warmup_steps, decay_steps, min_lr)`
#
# 按照 minilm 的写法写出训练循环所用的调度
# （[`cosine_with_warmup`](../../minilm/optim/lr_scheduler.py#L20-L26)）：预热期间
# lr = max_lr · (step + 1) / (warmup_steps + 1)；超过 decay_steps 之后为 min_lr；两者之间为
# min_lr + (1 + cos(π · progress)) / 2 · (max_lr - min_lr)，其中 progress 从 0 变到 1。

# %%
check(7, only="warmup_cosine")

# %% [markdown]
# ## 2. 采样
#
# 模型给出下一个词元的概率分布；生成文本就是从中抽取一个词元，把它接到后面，再重复。有三个旋钮决定怎么抽取
# （[`sample_next`](../../minilm/models/sampling.py#L19-L43)）：
#
# - **温度** T：把 logits 除以 T。T < 1 使分布更尖锐（更稳妥，也更重复），T > 1 使它更平缓（更出人意料，错误也
#   更多），T = 0 就是贪心解码；
# - **top-k** 只保留概率最高的 k 个词元；
# - **top-p**（核采样）保留概率之和达到 p 的最小的一组高概率词元：模型有把握时只剩几个词元，没把握时则有
#   很多。

# %%
prompt = np.array([tokenizer.encode("ROMEO:")])
for temperature in [0.5, 1.0, 1.5]:
    out = model.generate(prompt, 20 if FAST else 60, temperature=temperature, top_k=40, seed=1)
    print(f"--- temperature {temperature}:\n{tokenizer.decode(out[0].tolist())}")

# %% [markdown]
# ### 练习 2：`top_k_filter(logits, k)`
#
# logits 的形状为 (B, V)。返回一个副本，其中每一行里小于该行第 k 大值的 logit 都变成 -inf。

# %%
check(7, only="top_k_filter")

# %% [markdown]
# ### 练习 3：`top_p_filter(probs, p)`
#
# probs 的形状为 (B, V)，每行之和为 1。把每一行按概率从高到低排序，如果排在某个词元之前的词元概率之和
# 小于 p，就保留这个词元（因此概率最高的词元总会被保留）。其余置零，再把每一行重新归一化。

# %%
check(7, only="top_p_filter")

# %% [markdown]
# ## 3. 键值缓存
#
# 生成第 t + 1 个词元需要让新位置对之前的所有位置做注意力，但之前各位置的键和值不会改变。所以每一层都把它们
# 保存在一个 [`KVCache`](../../minilm/models/gpt.py#L62-L89) 中；[`generate`](../../minilm/models/gpt.py#L252-L270)
# 只输入最新的那个词元，算出它的 q、k、v，把 k 和 v 追加到缓存中，再对全部键值做注意力。这样每一步只花一个
# 词元的计算量，而不用把整个序列重新跑一遍。贪心解码（温度为 0）时两种方法生成的文本完全相同：

# %%
def generate_without_cache(model, idx, steps):
    for _ in range(steps):
        with minilm.no_grad():
            logits, _ = model(minilm.tensor(idx[:, -config.block_size:], device=DEVICE))
        next_id = sample_next(logits.numpy()[:, -1], temperature=0)
        idx = np.concatenate([idx, next_id[:, None]], axis=1)
    return idx


steps = 10 if FAST else 60
start = time.perf_counter()
cached = model.generate(prompt, steps, temperature=0)
middle = time.perf_counter()
uncached = generate_without_cache(model, prompt, steps)
end = time.perf_counter()
print("same tokens:", np.array_equal(cached, uncached))
print(f"with the cache {1000 * (middle - start) / steps:.1f} ms a token, without {1000 * (end - middle) / steps:.1f} ms")

# %% [markdown]
# ## 小结
#
# - 训练循环：取批次、调度学习率、一次步骤（前向、反向、裁剪、更新）、在留出文本上评估。
# - 采样时，温度、top-k 和 top-p 在稳妥与多样之间取舍。
# - KV 缓存保存之前的键和值，所以每个新词元只花一个位置的计算量。
#
# `minilm train` 就是这个循环，再加上检查点、断点续训和日志；`minilm sample` 负责生成。下一课（第 8 课）先
# 预训练一个模型，再把它微调到另一个任务上。

# %%
check(7)
