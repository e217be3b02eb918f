# %% [markdown]
# # 第 8 课：先预训练，再微调
#
# **本课内容**
#
# - 为什么在纯文本上预训练过的模型，用很少的标注学习新任务时比从零开始的模型学得更快；
# - 把 GPT 微调成分类器：同样的主体，一个新的输出头，取最后一个真实词元做池化；
# - BERT 的掩码语言模型预训练，以及它的 80/10/10 规则；
# - 给分类器打分：准确率、精确率、召回率、F1。
#
# **练习**（在 `course/exercises/08_pretrain_finetune.py` 中完成；运行 `minilm course check 8`）：
# 1. `last_token_pool`：取每个序列最后一个真实词元的隐藏状态。
# 2. `precision_recall_f1`：二分类器的各项分数。
# 3. `mask_tokens`：选出 15% 的位置，并按 BERT 的方式把它们遮住。

# %%
import functools

import matplotlib.pyplot as plt
import numpy as np

import minilm
import minilm.functional as F
from minilm.course import DEVICE, FAST, check, show
from minilm.data import collate_labeled, load_corpus, mask_tokens, train_val_test_split, typo_lines
from minilm.models import BERT, BERTConfig, GPT, GPTClassifier, GPTConfig
from minilm.tokenizers import ENCODER_SPECIAL_TOKENS, CharTokenizer
from minilm.train import evaluate, fit, sequence_cross_entropy

text = load_corpus("shakespeare")
tokenizer = CharTokenizer.from_text(text)

# %% [markdown]
# ## 1. 在纯文本上预训练一个 GPT
#
# 标注数据稀少，纯文本却很多。一个被训练来预测下一个字符的语言模型，必须顺带学会拼写、单词和一些语法，
# 而这一切只来自文本本身。我们用 [`fit`](../../minilm/train/fit.py#L69-L78)（minilm 通用的训练循环，它运行的
# 正是 `minilm train` 所用的同一个优化步骤）把一个小 GPT 训练几百步。

# %%
pretrain_steps = 10 if FAST else 400
minilm.manual_seed(0)
config = GPTConfig(vocab_size=tokenizer.vocab_size, block_size=64, n_layer=2, n_head=4, n_embd=64)
gpt = GPT(config).to(DEVICE)
data = np.asarray(tokenizer.encode(text[:int(0.9 * len(text))]), dtype=np.int64)
starts = np.random.default_rng(0).integers(0, len(data) - 65, 16 * pretrain_steps)
rows = np.stack([data[s:s + 65] for s in starts])                            # (16 steps, 65)
history = fit(gpt, (rows[:, :-1], rows[:, 1:]), loss_fn=sequence_cross_entropy, epochs=1, batch_size=16,
              optimizer=gpt.configure_optimizers(0.1, 2e-3, (0.9, 0.99)), progress=False, seed=0)
print(f"pre-training loss (mean over the run): {history.history['loss'][0]:.3f}")

# %% [markdown]
# ## 2. 任务：拼写是真的，还是有错别字？
#
# [`typo_lines`](../../minilm/data/tasks/labelled.py#L23-L34) 用语料中的行构造一个带标注的任务：每一行（标签 1，真实）
# 旁边放一份随机替换了三个字母的副本（标签 0）。懂拼写的模型应该能把它们区分开。
#
# [`GPTClassifier`](../../minilm/models/classifier.py#L20-L53) 保留 GPT 的主体（`transformer.*`，所以预训练的
# 权重可以原样载入），再在每个序列的一个向量上加一个线性输出头。在因果注意力下，只有**最后一个真实词元**
# 读过整行文本，所以池化取的就是它的状态（在一批长短不一的行中，填充位于它之后）。

# %%
labelled, names = typo_lines(text[int(0.9 * len(text)):], np.random.default_rng(0))
train, _, test = train_val_test_split(labelled, (0.8, 0.0, 0.2), seed=0)
train, test = train[:64 if FAST else 1200], test[:64 if FAST else 1000]
encode = lambda examples: [(tokenizer.encode(line)[:64], label) for line, label in examples]
train, test = encode(train), encode(test)
print(f"{len(train)} training and {len(test)} test lines; for example {labelled[1][0]!r} (label {labelled[1][1]})")

# %% [markdown]
# ## 3. 微调，并与从零训练对比
#
# 两个架构相同、训练预算相同的分类器：一个从预训练的主体开始，另一个从随机权重开始。

# %%
collate = functools.partial(collate_labeled, device=DEVICE)
scores = {}
for name, model in [("pre-trained", GPTClassifier.from_pretrained_gpt(gpt, 2)),
                    ("from scratch", GPTClassifier(config, 2))]:
    minilm.manual_seed(1)
    model = model.to(DEVICE)
    fit(model, train, loss_fn=F.cross_entropy, optimizer=minilm.optim.AdamW(model.parameters(), lr=5e-4),
        epochs=1 if FAST else 4, batch_size=32, grad_clip=1.0, collate=collate, progress=False, seed=1)
    scores[name] = evaluate(model, test, F.cross_entropy, ["accuracy", "f1"], 64, collate)
    print(f"{name:13s} accuracy {scores[name]['val_accuracy']:.3f}  F1 {scores[name]['val_f1']:.3f}")

fig, ax = plt.subplots(figsize=(5, 3))
ax.bar(list(scores), [s["val_accuracy"] for s in scores.values()], color=["tab:green", "tab:gray"])
ax.axhline(0.5, color="black", linestyle=":", label="chance")
ax.set_ylabel("test accuracy")
ax.set_ylim(0.4, 1.0)
ax.legend()
show(fig, "08_finetuning")

# %% [markdown]
# 在标注和步数都相同的情况下，预训练的起点领先：它在预测字符时学到的东西迁移了过来。
# （`python examples/finetune_classifier.py` 以完整规模运行这个对比。）
#
# ### 练习 1：`last_token_pool(h, pad_mask)`
#
# h 是形状为 (B, T, C) 的隐藏状态，pad_mask (B, T) 在填充处为 True（填充总在真实词元之后）。返回 (B, C)：
# 每一行在其最后一个真实词元处的状态。

# %%
check(8, only="last_token_pool")

# %% [markdown]
# ### 练习 2：`precision_recall_f1(predictions, labels)`
#
# 对于二值的预测和标签（1 = 正类）：精确率 = TP / (TP + FP)，召回率 = TP / (TP + FN)，F1 是二者的调和平均。
# 只看准确率，会看不出一个在大多是真实行的测试集上永远回答“真实”的分类器；精确率和召回率则不会被骗。minilm
# 的实现见 [`precision_recall_f1`](../../minilm/metrics.py#L62-L76)。

# %%
check(8, only="precision_recall_f1")

# %% [markdown]
# ## 4. BERT：通过填空来预训练
#
# GPT 从左往右读。BERT（[`BERT`](../../minilm/models/bert.py#L111-L142)）是一个编码器：每个位置都对整个序列、
# 左右两边做注意力。这样一来预测下一个词元就变得毫无难度，所以它以**掩码语言模型**的方式预训练：选出大约
# 15% 的位置，让模型根据输入预测它们原来的词元；在输入中，被选中的位置变成 `[MASK]`（80%）、一个随机词元
# （10%）或保持不变（10%）：[`mask_tokens`](../../minilm/data/masking.py#L23-L45)。其他位置的标签都是 -100
# （不预测，即交叉熵的 `ignore_index`）。

# %%
encoder_tok = CharTokenizer.from_text(text)
pad, cls, sep, mask = encoder_tok.add_special_tokens(ENCODER_SPECIAL_TOKENS)
window = [cls] + encoder_tok.encode("To be, or not to be, that is the question") + [sep]
inputs, labels = mask_tokens(np.array([window]), mask, encoder_tok.vocab_size, 0.15, special_ids=(cls, sep, pad), seed=3)
print("input: ", encoder_tok.decode([i for i in inputs[0].tolist()]).replace("[MASK]", "_"))
print("labels:", {position: encoder_tok.decode([i]) for position, i in enumerate(labels[0].tolist()) if i != -100})

# %%
bert_config = BERTConfig(vocab_size=encoder_tok.vocab_size, block_size=34, n_layer=2, n_head=4, n_embd=64,
                         dropout=0.0, pad_id=pad)
minilm.manual_seed(0)
bert = BERT(bert_config).to(DEVICE)
body = np.array(encoder_tok.encode(text[:200_000]))
windows = np.concatenate([np.full((len(body) // 32, 1), cls), body[:len(body) // 32 * 32].reshape(-1, 32),
                          np.full((len(body) // 32, 1), sep)], axis=1)              # (N, 34)
optimizer = minilm.optim.AdamW(bert.parameters(), lr=3e-3, weight_decay=0.01)
rng = np.random.default_rng(0)
for step in range(5 if FAST else 150):
    batch = windows[rng.integers(0, len(windows), 32)]
    x, y = mask_tokens(batch, mask, encoder_tok.vocab_size, 0.15, special_ids=(cls, sep, pad), seed=rng)
    logits = bert(minilm.tensor(x, device=DEVICE))
    loss = sequence_cross_entropy(logits, minilm.tensor(y, device=DEVICE))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 50 == 0 or step == (4 if FAST else 149):
        print(f"step {step}: masked-character loss {loss.item():.3f}")

# %% [markdown]
# `examples/bert_pretrain_finetune.py` 把这个 BERT 预训练得更久，并表明它同样比从零开始的模型更好地微调到
# 错别字任务上。
#
# ### 练习 3：`mask_tokens(ids, mask_id, vocab_size, p, special_ids, rng)`
#
# 按上面的描述返回 (inputs, labels)：每个非特殊位置以概率 p 被选中；被选中的位置中，80% 变为 mask_id，10% 变为
# 一个随机的普通词元（绝不是特殊词元），10% 保持不变。labels 在被选中的位置是原来的 id，其他位置为 -100。
# 检查会在大量位置上统计这些比例。

# %%
check(8, only="mask_tokens")

# %% [markdown]
# ## 小结
#
# - 在纯文本上预训练，学到的是许多任务共有的东西；用少量标注微调一个新的输出头，就能用上它。
# - GPT 分类器对最后一个真实词元做池化；BERT 双向阅读，通过填空来预训练。
# - 评价分类器要看精确率、召回率和 F1，而不能只看准确率。
#
# 下一课（第 9 课）看最简单的学到的表示：词向量。

# %%
check(8)
