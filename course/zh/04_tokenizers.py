# %% [markdown]
# # 第 4 课：从文本到词元 id
#
# **本课内容**
#
# - 对语言模型来说，清洗语料应该做什么、不应该做什么；
# - 字符词表：每个不同的字符对应一个 id；
# - 字节级字节对编码（BPE），即 GPT-2 和 GPT-4 的分词器，一次合并一次合并地训练出来；
# - 特殊词元（`<|endoftext|>`、`[CLS]`、`[MASK]` 等），它们永远不会被拆开。
#
# **练习**（在 `course/exercises/04_tokenizers.py` 中完成；运行 `minilm course check 4`）：
# 1. `char_vocabulary`、`encode`、`decode`：一个字符级分词器。
# 2. `train_bpe`：用最慢、最直白的方式写出 BPE 的训练循环。
# 3. `encode_bpe`：按照学到合并规则的先后顺序，把它们应用到新文本上。

# %%
from collections import Counter

import matplotlib.pyplot as plt

from minilm.course import FAST, check, show
from minilm.data import clean_text, load_corpus
from minilm.tokenizers import BPETokenizer, CharTokenizer

text = load_corpus("shakespeare")
if FAST:
    text = text[:20_000]
print(f"{len(text):,} characters; the start:\n{text[:120]}")

# %% [markdown]
# ## 1. 温和地清洗
#
# 语言模型必须按人们书写的原样预测文本：大写字母、标点和虚词都是它要学习的内容。所以
# [`clean_text`](../../minilm/data/text.py#L72-L89) 默认只修复编码上的噪声：把 Unicode 统一成一种规范形式
# （NFC），删除控制字符，把各种换行符统一为 `\n`，把连续的空格合并成一个。转小写、去停用词是给词袋
# 分类器用的选项，而不是给语言模型用的。

# %%
messy = "Cafe\u0301\r\nis   open\x07 today.\u2028Come!"
print(repr(messy))
print(repr(clean_text(messy)))

# %% [markdown]
# ## 2. 字符
#
# 最简单的词表：语料中每个不同的字符就是一个词元，按排序后的顺序编号
# （[`CharTokenizer`](../../minilm/tokenizers/char.py#L15-L76)）。不需要训练，语料中的任何文本都能表示；
# 但序列很长（每个字符一个词元），模型还得自己学会拼写。

# %%
chars = CharTokenizer.from_text(text)
ids = chars.encode("First Citizen:")
print(f"vocabulary of {chars.vocab_size} characters; 'First Citizen:' -> {ids}")
print("back:", repr(chars.decode(ids)))

# %% [markdown]
# ### 练习 1：字符级分词器
#
# 写出 `char_vocabulary(text)`，返回排好序的不同字符列表，以及 `encode(text, vocabulary)` 和
# `decode(ids, vocabulary)`。检查会把它们与 `CharTokenizer` 比较。

# %%
check(4, only="char_tokenizer")

# %% [markdown]
# ## 3. 字节对编码，一次合并一步
#
# BPE 从 UTF-8 的 256 个字节值出发，所以*任何*字符串都能编码（没有未知字符，任何语言、表情符号都可以）。
# 训练过程重复下面这一步：
#
# 1. 统计语料中每一对相邻词元出现的次数；
# 2. 给出现最频繁的那一对分配一个新的 id（256、257、……）；
# 3. 把所有出现的这一对都替换为新 id。
#
# 经过 `vocab_size - 256` 次合并之后，常见的词和词的片段都成了单个词元。在此之前，先用一个正则表达式把文本
# 切成片段（单词、数字、标点、空白），合并永远不会跨越片段边界，因此 "dog." 和 "dog!" 共用 "dog" 的词元。
# minilm 的 [`BPETokenizer.train`](../../minilm/tokenizers/bpe.py#L93-L107) 把每个不同的片段只统计一次，
# 连同它的频次交给 [`learn_merges`](../../minilm/tokenizers/bpe_train.py#L40-L81)；后者在每次合并后增量地
# 更新相邻对的计数，而不是全部重新统计。[`merge`](../../minilm/tokenizers/bpe_train.py#L27-L37) 就是第 3 步
# 的替换。

# %%
bpe = BPETokenizer("gpt4").train(text, vocab_size=256 + 40)
print("the first merges:", bpe.merge_strings()[:8])
sample = "Thou art a villain."
print(sample, "->", [bpe.decode([i]) for i in bpe.encode(sample)])

# %% [markdown]
# 每次合并都会让文本变短。下图展示了随着词表增大，一个词元平均代表多少个字符：

# %%
sizes = [256, 300, 400, 600] if FAST else [256, 300, 400, 600, 1000, 2000]
bench = text[:50_000]
per_token = [len(bench) / len(BPETokenizer("gpt4").train(text, vocab_size=v).encode(bench)) for v in sizes]
fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(sizes, per_token, marker="o")
ax.set_xlabel("vocabulary size (256 bytes + merges)")
ax.set_ylabel("characters per token")
show(fig, "04_bpe_compression")

# %% [markdown]
# ### 练习 2：`train_bpe(chunks, n_merges)`
#
# `chunks` 是一个字典 {片段字符串: 出现次数}。用最直白的方式写出上面的训练循环：把每个片段变成它的
# UTF-8 字节值，然后重复 `n_merges` 次：统计相邻的对（按片段的出现次数加权），取出现最多的那一对（并列时
# 取最小的对），在每个片段中把它替换为下一个 id。按顺序返回被合并的对组成的列表。检查会与 `learn_merges`
# 比较。

# %%
check(4, only="train_bpe")

# %% [markdown]
# 对新文本**编码**时，要*按学到的顺序*应用合并规则：反复找出合并序号最小的相邻对并合并它，直到文本中
# 没有任何一对曾被合并过（[`_merge_by_rank`](../../minilm/tokenizers/bpe.py#L119-L131)）。换一种顺序应用，
# 可能得到与模型训练时不同的词元。
#
# ### 练习 3：`encode_bpe(chunk, merges)`
#
# `merges` 是训练得到的对的列表（第 k 次合并产生 id 256 + k）。返回字符串 `chunk`（一个正则片段）的 id。
# 检查会在莎士比亚的单词上与 `BPETokenizer` 比较。

# %%
check(4, only="encode_bpe")

# %% [markdown]
# ## 4. 特殊词元
#
# 有些词元并不是文本：`<|endoftext|>` 为 GPT 分隔不同的文档；BERT 这样的编码器需要 `[PAD]`、`[CLS]`、
# `[SEP]` 和 `[MASK]`（[列表](../../minilm/tokenizers/base.py#L1-L16)）。它们的 id 排在普通词表之后，并且
# 永远不会被拆开。*用户*文本中如果出现特殊词元的字符串，除非明确允许，否则会被拒绝，这样就没有人能把控制
# 词元偷偷塞进提示词里。

# %%
eot = bpe.add_special_token("<|endoftext|>")
print("<|endoftext|> has id", eot, "; vocabulary", bpe.vocab_size)
print(bpe.encode("the end<|endoftext|>", allowed_special="all"))
try:
    bpe.encode("the end<|endoftext|>")
except ValueError as error:
    print("refused:", error)

# %% [markdown]
# ## 小结
#
# - 只清洗噪声；语言模型从原样的文本中学习。
# - 字符：词表很小，序列很长。字节级 BPE：任何文本都能编码，序列更短，靠反复合并最频繁的相邻对学出来。
# - 编码时按序号应用合并规则；特殊词元位于学到的词表之外。
#
# 下一课（第 5 课）在这些 id 上构建语言模型，先不用注意力机制。

# %%
check(4)
