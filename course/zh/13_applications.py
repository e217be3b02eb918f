# %% [markdown]
# # 第 13 课：应用：情感分析、机器翻译、对话
#
# **本课内容**
#
# - 把情感分析当作文本分类：用第 8 课的 GPT 分类器，在标注为正面或负面的评论句子上训练，并与最简单的
#   基线（总是猜训练集中更常见的那个标签）比较；
# - 编码器-解码器 Transformer：编码器读入源语言句子，解码器一边对它做注意力（交叉注意力），一边写出译文；
# - 在一个小型英汉语料上用教师强制（teacher forcing）训练，并用贪心解码或束搜索（beam search）解码；
# - 用 BLEU（以及 chrF）给译文打分，参考译文是模型从未见过的。
#
# 种子文章提到的最后一种应用，问答与对话，就是第 10 课的聊天模型。
#
# **练习**（在 `course/exercises/13_applications.py` 中完成；运行 `minilm course check 13`）：
# 1. `teacher_forcing`：由一批目标句子构造解码器的输入和目标。
# 2. `corpus_bleu`：由 n 元组精确率和简短惩罚计算 BLEU。

# %%
import functools

import matplotlib.pyplot as plt
import numpy as np

import minilm
import minilm.functional as F
from minilm.course import DEVICE, FAST, check, course_dir, example, show, use_cjk_font
from minilm.data import collate_labeled, load_labeled, train_val_test_split
from minilm.models import GPTClassifier, GPTConfig
from minilm.tokenizers import BPETokenizer
from minilm.train import evaluate, fit
from minilm.viz import attention_probabilities

translate = example("translate")

# %% [markdown]
# ## 1. 情感分析
#
# 一条评论是正面的还是负面的？这是一个分类任务，分类器从有人标注过的样本中学会它。
# `examples/data/sentiment_sentences.jsonl` 收录了 2982 个句子，来自手机及配件（Amazon）、电影（IMDb）
# 和餐馆（Yelp）的评论，一半标为 1（正面），一半标为 0（负面）。它就是 Kotzias 等人（KDD 2015）的
# “Sentiment Labelled Sentences”数据集，来自 UCI 机器学习数据库，采用 CC BY 4.0 许可（见
# `examples/data/sentiment_sentences.LICENSE.md`）。文件每行一个 JSON 对象，例如
# `{"text": "Great for the jawbone.", "label": 1, "source": "amazon"}`，所以 minilm 的
# [`load_labeled`](../../minilm/data/text.py#L92-L120) 可以直接读取，得到 (句子, 标签) 的列表。五分之一的
# 句子留作测试。

# %%
reviews = load_labeled(course_dir().parent / "examples" / "data" / "sentiment_sentences.jsonl")  # [(text, label)]
train_reviews, _, test_reviews = train_val_test_split(reviews, (0.8, 0.0, 0.2), seed=0)
if FAST:
    train_reviews, test_reviews = train_reviews[:256], test_reviews[:64]
names = ["negative", "positive"]
print(f"{len(train_reviews)} training and {len(test_reviews)} held-out sentences")
for text, label in train_reviews[:4]:
    print(f"  {names[label]:8s}  {text}")

# %% [markdown]
# 训练任何模型之前，先弄清楚“什么都不学”能得几分。**多数类基线**总是回答训练集中更常见的那个标签，它的
# 准确率就是这个标签在测试集中所占的比例。这里两种标签差不多一样多，所以基线接近 0.5；分类器的价值只在于它
# 比基线高出多少。（如果测试集中 90 % 是正面评论，90 % 的准确率就一文不值：第 8 课的精确率和召回率能把这样的
# 分类器识别出来。）

# %%
majority = np.bincount([label for _, label in train_reviews]).argmax()
baseline = np.mean([label == majority for _, label in test_reviews])
print(f"majority-class baseline: always {names[majority]!r}, held-out accuracy {baseline:.3f}")

# %% [markdown]
# 分类器就是第 8 课的 [`GPTClassifier`](../../minilm/models/classifier.py#L20-L53)：GPT 主体，取最后一个真实
# 词元的状态，再接一个有两个输出的线性头。针对这个任务有两处改动。第一，句子由一个在训练句子上训练的字节对
# 分词器切分（第 4 课的 [`BPETokenizer.train`](../../minilm/tokenizers/bpe.py#L93-L107)），这样 " great"、
# " worst" 这类常见的词各自是一个词元：情感主要体现在词上，而 2400 个句子太少，模型没法从字符中学出词来。
# 第二，主体从随机权重开始，因为没有一个认识这些词的预训练模型：只用一个小层，用 `fit` 训练四轮，再用
# [`evaluate`](../../minilm/train/fit.py#L239-L252) 在留出的句子上打分。

# %%
bpe = BPETokenizer().train("\n".join(text for text, _ in train_reviews), 400 if FAST else 1500)
encode = lambda examples: [(bpe.encode(text)[:64], label) for text, label in examples]
sentence = test_reviews[1][0]
print(f"{bpe.vocab_size} tokens; {sentence!r} is cut into\n ", [bpe.decode([i]) for i in bpe.encode(sentence)])
minilm.manual_seed(0)
config = GPTConfig(vocab_size=bpe.vocab_size, block_size=64, n_layer=1, n_head=4, n_embd=64, dropout=0.1)
classifier = GPTClassifier(config, 2).to(DEVICE)
collate = functools.partial(collate_labeled, device=DEVICE)
fit(classifier, encode(train_reviews), loss_fn=F.cross_entropy, epochs=1 if FAST else 4, batch_size=32, grad_clip=1.0,
    optimizer=minilm.optim.AdamW(classifier.parameters(), lr=1e-3, weight_decay=0.01), collate=collate,
    progress=False, seed=0)
sentiment = evaluate(classifier, encode(test_reviews), F.cross_entropy, ["accuracy", "f1"], 64, collate)
print(f"classifier: held-out accuracy {sentiment['val_accuracy']:.3f}, F1 {sentiment['val_f1']:.3f} "
      f"(majority-class baseline {baseline:.3f})")

# %% [markdown]
# 分类器对一个句子的回答是它两个 logit 的 softmax，即 p(positive)（句子为正面的概率）。下面是几个留出句子的
# 结果，以及我们自己写的四个句子：

# %%
def p_positive(sentences):
    ids, pad_mask, _ = collate([(bpe.encode(text)[:64], 0) for text in sentences])
    classifier.eval()
    with minilm.no_grad():
        logits, _ = classifier(ids, pad_mask)                      # (B, 2)
    return F.softmax(logits, dim=-1).numpy()[:, 1]


for (text, label), p in zip(test_reviews[:6], p_positive([text for text, _ in test_reviews[:6]])):
    print(f"  p(positive) {p:.2f}  {'right' if (p > 0.5) == label else 'WRONG'} (it is {names[label]})  {text}")
ours = ["Great food and friendly staff.", "The battery died after two days.", "The film was not bad at all.",
        "I would buy this phone again."]
for text, p in zip(ours, p_positive(ours)):
    print(f"  p(positive) {p:.2f}  {text}")
for word in [" bad", "would "]:
    found = [label for text, label in train_reviews if word in text.lower()]
    print(f"{word.strip()!r} is in {len(found)} training sentences, {np.mean(found):.0%} of them positive")

# %% [markdown]
# 留出的句子大约四个中有三个分对了（上面这六句里的错误偏多）：在 2400 个样本、一分钟 CPU 时间的条件下，
# 远高于基线。错误揭示了这样的分类器学到了什么：哪些词是好评或差评的信号，而不是句子在说什么。
# “not bad at all”被判为负面，是因为训练集中含 " bad" 的句子几乎都是负面的；“would”多出现在抱怨里
# （“I would not recommend this item to anyone”）；“fabulous”被切成四个词元（" f"、"ab"、"ul"、"ous"），
# 在训练集中只出现在两个句子里，对它来说几乎没有意义。否定、反讽和罕见词需要一个懂语言的模型，这正是
# 第 8 课给出的办法：先在多得多的文本上预训练主体，再用标注数据微调。
#
# ## 2. 机器翻译：语料
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
# ## 3. 编码器、解码器与教师强制
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
model, history = translate.train(train_pairs, tokenizer, special, epochs=1 if FAST else 4, device=DEVICE,
                                 d_model=64)
print("training loss per epoch:", np.round(history.history["loss"], 3))

# %% [markdown]
# ## 4. 解码与 BLEU
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
# 分数会很低，要有心理准备。几千个句子、一分钟的 CPU 时间，模型学到的是中文句子的样子和最常见的字
# （他、的、很、。），而不是翻译：对大多数源句它都写出同一个短句，BLEU 不到 1 分。训练更久也只好一点：
# `python examples/translate.py --epochs 12`（模型宽一倍，训练 12 轮，740 秒）在留出的句对上得到 BLEU 1.4、
# chrF 4.4；如果有时间，`--epochs 40 --beam 4` 会训练得更久，并用束搜索解码。翻译得好的系统要用数百万个句对
# 来训练。
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
# ## 5. 交叉注意力在看什么
#
# [`attention_probabilities`](../../minilm/viz/attention.py#L45-L68) 记录一次前向计算中的每一个注意力。解码器的
# 交叉注意力把每个中文字符（行）对应到它读取的英文字符（列）上。这个小模型几乎没有学到对齐：各行几乎一样，
# 也就是说，无论写哪个字，它看的都是源句中同样的几个位置。用多得多的句对训练出来的模型，会把词和它的译文对齐。

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
# ## 6. 问答与对话
#
# 第三种应用是能回答问题、进行对话的模型，也就是第 10 课的聊天模型：基础模型先在对话上做监督微调（SFT），
# 再在答案可以核对的问题上做强化学习，用 `minilm serve` 部署，用 `minilm chat` 与它对话。
#
# ## 小结
#
# - 情感分析就是分类：分类器在带标注的句子上训练，它的价值只在于它在从未见过的句子上比多数类基线高出多少。
# - 编码器-解码器用双向注意力读入源句，用因果自注意力加上对源句的交叉注意力写出目标句。
# - 教师强制让所有位置同时训练；解码时把输出喂回去，用贪心或束搜索。
# - BLEU：截断的 n 元组精确率、几何平均和简短惩罚，在整个语料上计算。

# %%
check(13)
