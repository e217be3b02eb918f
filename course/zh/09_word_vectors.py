# %% [markdown]
# # 第 9 课：词向量
#
# **本课内容**
#
# - 嵌入：一张为每个词存一个学到的向量的表，以及把梯度加回到它各行上的反向传播；
# - word2vec（带负采样的 skip-gram）：通过预测一个词周围的词来学到向量；
# - GloVe：通过拟合共现次数的对数来学到向量；
# - 怎样观察它们：按余弦相似度找最近邻，以及画在二维平面上。
#
# **练习**（在 `course/exercises/09_word_vectors.py` 中完成；运行 `minilm course check 9`）：
# 1. `sgns_loss_and_grad`：带负采样的 skip-gram 损失及其梯度。
# 2. `cooccurrence_matrix`：GloVe 的共现计数，按距离加权。
# 3. `nearest_by_cosine`：与一个词最接近的词。

# %%
import matplotlib.pyplot as plt
import numpy as np

import minilm
from minilm.course import DEVICE, FAST, check, example, show
from minilm.viz import project_2d

word2vec, glove = example("word2vec"), example("glove")

# %% [markdown]
# ## 1. 嵌入
#
# 一个词（或词元）的 id 用来索引矩阵 W (V, D) 的一行：[`Embedding`](../../minilm/ops/embedding.py#L23-L38)
# 就是 y = W[ids]。它的反向传播把每个输出梯度加回到它来自的那一行（用 `np.add.at`，所以一个词在一个批次中
# 出现两次就会得到两份梯度）：只有批次中出现过的词所在的行会改变。本课程中的每个语言模型都从一个嵌入层开始；
# 这一课单独训练嵌入。
#
# 把语料看作词的序列：转为小写、去掉标点，只保留至少出现 5 次的词
# （[`corpus_words`](../../examples/word2vec.py#L51-L58)）。

# %%
ids, words, counts = word2vec.corpus_words()
if FAST:
    ids = ids[:20_000]
print(f"{len(ids):,} tokens, {len(words):,} words; the most frequent: {words[:12]}")

# %% [markdown]
# ## 2. word2vec：带负采样的 skip-gram
#
# “观其伴，知其义。”对一个词 w 和它附近小窗口内的一个词 c，让 w 的向量 v_w 与 c 的上下文向量 u_c 的点积变大；
# 对 k 个随机的“负”词（从一元语法分布的 0.75 次方中抽取），让点积变小：
#
# loss = -log σ(v_w · u_c) - Σ_k log σ(-v_w · u_neg_k)
#
# 用法相似的词会被推向相同的上下文向量，于是它们自己的向量也会彼此接近。
# [`SkipGram`](../../examples/word2vec.py#L34-L48) 就是在 minilm 的自动微分上写出的这个公式，
# [`train_skipgram`](../../examples/word2vec.py#L61-L79) 是它的训练循环。
#
# ### 练习 1：`sgns_loss_and_grad(v, u, u_neg)`
#
# v (B, D)，u (B, D)，u_neg (B, k, D)。返回批次上的平均损失和 dloss/dv (B, D)；已知 dσ(x)/dx = σ(x)(1 - σ(x))，
# 所以 d(-log σ(x))/dx = -(1 - σ(x)) = σ(x) - 1。

# %%
check(9, only="sgns_loss_and_grad")

# %%
minilm.manual_seed(0)
skipgram = word2vec.train_skipgram(ids, counts, 30 if FAST else 3000, dim=50, device=DEVICE, log_every=1000)
w2v_vectors = skipgram.center.weight.numpy()

# %% [markdown]
# ## 3. GloVe：拟合共现计数
#
# GloVe 先把整个语料读一遍，得到矩阵 X：词 j 每次出现在词 i 之前或之后 d ≤ window 个词的位置上，X_ij 就加上
# 1/d（[`cooccurrences`](../../examples/glove.py#L44-L54)）。然后对每个非零的 X_ij，用加权最小二乘拟合
# w_i · w̃_j + b_i + b̃_j ≈ log X_ij（[`GloVe`](../../examples/glove.py#L62-L77)）：
#
# J = Σ f(X_ij) (w_i · w̃_j + b_i + b̃_j - log X_ij)²，f(x) = min(1, (x / x_max)^0.75)
#
# 并像论文中那样用 AdaGrad（[`Adagrad`](../../minilm/optim/adagrad.py#L16-L32)）训练。
#
# ### 练习 2：`cooccurrence_matrix(ids, vocab_size, window)`
#
# 返回上面描述的稠密矩阵 X (V, V)（对称：每一对的两种顺序都要计入）。

# %%
check(9, only="cooccurrence_matrix")

# %%
rows, cols, values = glove.cooccurrences(ids, len(words), 10)
print(f"{len(values):,} non-zero co-occurrences ({len(values) / len(words) ** 2:.1%} of X)")
minilm.manual_seed(0)
glove_vectors = glove.train_glove(rows, cols, values, len(words), 50, 1 if FAST else 8, 4096, 0.05, 10.0,
                                  DEVICE).vectors()

# %% [markdown]
# ## 4. 观察它们
#
# 相似的词的向量应该指向相同的方向：用余弦相似度比较它们，cos(a, b) = a · b / (|a| |b|)，它不考虑向量的长度
# （高频词的向量往往更长）。
#
# ### 练习 3：`nearest_by_cosine(vectors, index, k)`
#
# 返回与第 `index` 行最相似的 k 行的下标（不含它自己），最相似的排在前面。

# %%
check(9, only="nearest_by_cosine")

# %%
for query in ["king", "father", "thou", "good"]:
    print(f"{query:>7}  word2vec: {', '.join(word2vec.nearest(w2v_vectors, words, query)):<42} "
          f"GloVe: {', '.join(word2vec.nearest(glove_vectors, words, query))}")

# %% [markdown]
# 画一张图：把最常见的 80 个词投影到它们向量的两个主方向上（[`project_2d`](../../minilm/viz/embeddings.py#L21-L35)，
# 用 SVD 做的主成分分析）。在 GloVe 的图中，代词 we、they、us、them 聚在一边，限定词 the、his、my、thy 聚在
# 另一边；在 20 万个词上只训练几千步，这两张图还很粗糙，但并不是随机的。（两个方向只能展示一部分方差，GloVe
# 展示的比 word2vec 多。）

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 5))
for ax, (name, vectors) in zip(axes, [("word2vec", w2v_vectors), ("GloVe", glove_vectors)]):
    points, explained = project_2d(vectors[:80])
    ax.scatter(points[:, 0], points[:, 1], s=6, color="tab:blue")
    for (x, y), word in zip(points, words[:80]):
        ax.annotate(word, (x, y), fontsize=7)
    ax.set_title(f"{name}: {explained.sum():.0%} of the variance shown")
show(fig, "09_word_vectors")

# %% [markdown]
# ## 小结
#
# - 嵌入就是一张查找表；它的反向传播把梯度加到用到的那些行上。
# - word2vec 通过区分真实的邻居和采样出的噪声，从局部窗口中学习；GloVe 拟合全局共现计数的对数。两者都让用法
#   相似的词彼此靠近。
# - 余弦相似度比较的是方向；主成分分析把向量画到二维平面上。
#
# 下一课（第 10 课）把基础模型变成助手：对话格式、监督微调、强化学习与推理服务。

# %%
check(9)
