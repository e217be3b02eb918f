# %% [markdown]
# # 第 13 课：应用：机器翻译
#
# **本课内容**
#
# - 编码器-解码器 Transformer：编码器读入源语言句子，解码器一边对它做注意力（交叉注意力），一边写出译文；
# - 在一个小型英汉语料上用教师强制（teacher forcing）训练，并用贪心解码或束搜索（beam search）解码；
# - 用 BLEU（以及 chrF）给译文打分，参考译文是模型从未见过的。
#
# 种子文章提到的其他应用在别处讲解：情感分析背后的分类器就是第 8 课的分类器（在带标注的任务上微调）；
# 与聊天模型的对话见第 10 课。
#
# **练习**（在 `course/exercises/13_applications.py` 中完成；运行 `minilm course check 13`）：
# 1. `teacher_forcing`：由一批目标句子构造解码器的输入和目标。
# 2. `corpus_bleu`：由 n 元组精确率和简短惩罚计算 BLEU。

# %%
import matplotlib.pyplot as plt
import numpy as np

from minilm.course import DEVICE, FAST, check, example, show, use_cjk_font
from minilm.data import train_val_test_split
from minilm.viz import attention_probabilities

translate = example("translate")

# %% [markdown]
# ## 1. 语料
#
# `examples/data/en_zh_hsk.tsv` 包含 4349 对简短的英汉句对，按汉语水平考试（HSK）的 1-6 级分级。它们来自
# PyPI 包 `hsk-sentences-audio`，采用 CC-BY-SA-4.0 许可（见 `examples/data/en_zh_hsk.LICENSE.md`；文件由
# `examples/data/make_en_zh_pairs.py` 生成）。一个字符词表同时覆盖两种语言
# （[`build_tokenizer`](../../examples/translate.py#L40-L43)），外加 `[PAD]`、`[BOS]` 和 `[EOS]`。十分之一的
# 句对留作测试。

# %%
pairs = translate.load_pairs()
tokenizer, special = translate.build_tokenizer(pairs)
train_pairs, _, test_pairs = train_val_test_split(pairs, (0.9, 0.0, 0.1), seed=0)
if FAST:
    train_pairs, test_pairs = train_pairs[:128], test_pairs[:8]
print(f"{len(train_pairs)} training pairs, {len(test_pairs)} held out, {tokenizer.vocab_size} characters")
for en, zh in train_pairs[:3]:
    print(f"  {en}  ->  {zh}")

# %% [markdown]
# ## 2. 编码器、解码器与教师强制
#
# [`Seq2SeqTransformer`](../../minilm/models/seq2seq.py#L27-L118) 就是《Attention Is All You Need》中的模型。
# **编码器**（双向自注意力，即第 8 课 BERT 的模块）把英文字符变成向量，称为 *memory*。**解码器**是第 6 课的
# GPT 模块再加一个**交叉注意力**层：它的查询来自已经写出的中文，键和值来自 memory：每个输出字符都去查找它
# 需要的那部分源句。
#
# 训练时使用**教师强制**：解码器读入右移一位的真实译文 [BOS] y_1 ... y_{T-1}，并在所有位置上同时预测
# y_1 ... y_T [EOS]（[`forward`](../../minilm/models/seq2seq.py#L57-L66)）；填充位置既不参与注意力，也不被预测
# （[`make_batch`](../../examples/translate.py#L46-L51)）。
#
# ### 练习 1：`teacher_forcing(targets, bos, eos, pad)`
#
# `targets` 是 id 列表组成的列表（中文句子）。把每句写成 [bos] + 句子 + [eos]，用 `pad` 补齐到最长的长度，
# 然后返回 (tgt_in, tgt_out)：除最后一列以外的所有列，以及除第一列以外的所有列（其中填充换成 -100，表示不
# 预测）。两者的形状都是 (B, T)，T = 最长句子的长度 + 1。

# %%
check(13, only="teacher_forcing")

# %%
model, history = translate.train(train_pairs, tokenizer, special, epochs=1 if FAST else 8, device=DEVICE,
                                 d_model=64 if FAST else 128)
print("training loss per epoch:", np.round(history.history["loss"], 3))

# %% [markdown]
# ## 3. 解码与 BLEU
#
# 测试时没有真实译文可读：解码器把自己的输出一个字符一个字符地喂回去，直到 [EOS]。**贪心**解码每一步取
# 概率最高的字符；**束搜索**按总对数概率保留最好的 k 个部分译文
# （[`greedy_decode`](../../minilm/models/seq2seq.py#L68-L82)、[`beam_search`](../../minilm/models/seq2seq.py#L84-L89)）。
#
# **BLEU** 在整个测试集上把系统译文与参考译文比较：对 n = 1..4，计算假设译文的 n 元组中出现在参考译文里的
# 比例（每个 n 元组最多按它在参考译文中出现的次数计数，即“截断”），用几何平均合并，再乘以**简短惩罚**：当
# 假设译文的总长度 c 小于参考译文的总长度 r 时乘以 exp(1 - r/c)，否则系统只要少说话就能得高分。对中文来说，
# n 元组由字符组成。标准实现 `sacrebleu` 给模型打分（[`scores`](../../examples/translate.py#L80-L87)）：

# %%
hypotheses = translate.translate(model, [en for en, _ in test_pairs], tokenizer, special, max_len=12 if FAST else 48)
references = [zh for _, zh in test_pairs]
for (en, zh), hyp in list(zip(test_pairs, hypotheses))[:6]:
    print(f"{en}\n   reference {zh}\n   model     {hyp}")
print("held-out:", translate.scores(hypotheses, references))

# %% [markdown]
# 分数会很低，要有心理准备。几千个句子、在 CPU 上训练几分钟，模型学到的是中文句子的样子和最常见的字
# （他、我们、很、。），而不是翻译：它写出的句子看起来通顺，却和源句关系不大，BLEU 只有几分（训练 12 轮时，在
# 留出的句对上 BLEU 为 1.4，chrF 为 4.4）。翻译得好的系统要用数百万个句对来训练。如果有时间，
# `python examples/translate.py --epochs 40 --beam 4` 会训练得更久，并用束搜索解码。
#
# ### 练习 2：`corpus_bleu(hypotheses, references, max_n=4)`
#
# 输入字符串，输出 BLEU（0-100），以字符为单位，不做平滑：p_n = 整个语料上截断后的匹配数之和 / 假设译文的
# n 元组数之和；BLEU = 100 · BP · exp(log p_n 的平均值)，若某个 p_n 为 0 则 BLEU 为 0；若 c > r 则 BP = 1，否则
# BP = exp(1 - r/c)，c 和 r 分别是假设译文和参考译文的总长度。检查会与 sacrebleu（`tokenize="char"`，
# `smooth_method="none"`）比较。

# %%
check(13, only="corpus_bleu")

# %% [markdown]
# ## 4. 交叉注意力在看什么
#
# [`attention_probabilities`](../../minilm/viz/attention.py#L45-L68) 记录一次前向计算中的每一个注意力。解码器的
# 交叉注意力把每个中文字符（行）对应到它读取的英文字符（列）上。这个小模型还没学到多少对齐：它的头主要看英文
# 单词之间的空格，也就是词开始和结束的地方。用多得多的句对训练出来的模型，会把词和它的译文对齐。

# %%
en, zh = test_pairs[0][0], hypotheses[0] or "?"
src, tgt_in, _ = translate.make_batch([(en, zh)], tokenizer, special, DEVICE)
found = attention_probabilities(model, src, tgt_in)
cross = [p for name, p in found.items() if "multihead_attn" in name or "cross" in name][-1]   # last layer
weights = cross.reshape(-1, *cross.shape[-2:]).mean(0)                                     # heads averaged
use_cjk_font()
fig, ax = plt.subplots(figsize=(min(12, 0.25 * len(en) + 2), 0.35 * (len(zh) + 1) + 1.5))
ax.imshow(weights, cmap="viridis", aspect="auto")
ax.set_xticks(range(len(en)), list(en), fontsize=7)
ax.set_yticks(range(len(zh) + 1), ["[BOS]"] + [f"→{c}" for c in zh], fontsize=7)
ax.set_xlabel("English source (keys)")
ax.set_ylabel("decoder position (query)")
show(fig, "13_cross_attention")

# %% [markdown]
# （行标签是每个位置要预测的字符。如果没有包含汉字的字体，例如 Noto Sans CJK，matplotlib 会把汉字画成方框。）
#
# ## 小结
#
# - 编码器-解码器用双向注意力读入源句，用因果自注意力加上对源句的交叉注意力写出目标句。
# - 教师强制让所有位置同时训练；解码时把输出喂回去，用贪心或束搜索。
# - BLEU：截断的 n 元组精确率、几何平均和简短惩罚，在整个语料上计算。

# %%
check(13)
