# %% [markdown]
# # Lesson 9: Word vectors
#
# **What you will learn**
#
# - an embedding: a table with one learned vector per word, and the backward that adds into its rows;
# - word2vec (skip-gram with negative sampling): vectors from predicting the words around a word;
# - GloVe: vectors from fitting the logarithm of co-occurrence counts;
# - how to look at them: nearest neighbours by cosine similarity, and a picture in 2-D.
#
# **Exercises** (in `course/exercises/09_word_vectors.py`; `minilm course check 9`):
# 1. `sgns_loss_and_grad`: the skip-gram loss with negative samples, and its gradient.
# 2. `cooccurrence_matrix`: GloVe's counts, weighted by distance.
# 3. `nearest_by_cosine`: the closest words to a word.

# %%
import matplotlib.pyplot as plt
import numpy as np

import minilm
from minilm.course import DEVICE, FAST, check, example, show
from minilm.viz import project_2d

word2vec, glove = example("word2vec"), example("glove")

# %% [markdown]
# ## 1. Embeddings
#
# A word (or token) id indexes a row of a matrix W (V, D): [`Embedding`](../minilm/ops/embedding.py#L23-L38)
# is y = W[ids]. Its backward adds each output gradient into the row it came from (`np.add.at`, so a word
# that appears twice in a batch gets both gradients): only the rows of the words in the batch change.
# Every language model of this course starts with one; this lesson trains embeddings on their own.
#
# The corpus as words: lowercased, without punctuation, words seen at least 5 times
# ([`corpus_words`](../examples/word2vec.py#L51-L58)).

# %%
ids, words, counts = word2vec.corpus_words()
if FAST:
    ids = ids[:20_000]
print(f"{len(ids):,} tokens, {len(words):,} words; the most frequent: {words[:12]}")

# %% [markdown]
# ## 2. word2vec: skip-gram with negative sampling
#
# "You shall know a word by the company it keeps." For a word w and a word c within a small window of it,
# make the dot product of w's vector v_w and c's context vector u_c large; for k random "negative" words
# (drawn from the unigram distribution to the power 0.75), make it small:
#
# loss = -log σ(v_w · u_c) - Σ_k log σ(-v_w · u_neg_k)
#
# Words used in similar contexts are pushed towards the same context vectors, so their own vectors end
# up close. [`SkipGram`](../examples/word2vec.py#L34-L48) is this formula on minilm's autograd,
# [`train_skipgram`](../examples/word2vec.py#L61-L79) its loop.
#
# ### Exercise 1: `sgns_loss_and_grad(v, u, u_neg)`
#
# v (B, D), u (B, D), u_neg (B, k, D). Return the mean loss over the batch and dloss/dv (B, D), with
# dσ(x)/dx = σ(x)(1 - σ(x)), so d(-log σ(x))/dx = -(1 - σ(x)) = σ(x) - 1.

# %%
check(9, only="sgns_loss_and_grad")

# %%
minilm.manual_seed(0)
skipgram = word2vec.train_skipgram(ids, counts, 30 if FAST else 3000, dim=50, device=DEVICE, log_every=1000)
w2v_vectors = skipgram.center.weight.numpy()

# %% [markdown]
# ## 3. GloVe: fitting co-occurrence counts
#
# GloVe first reads the whole corpus once into a matrix X: X_ij adds 1/d each time word j appears d ≤ window
# words before or after word i ([`cooccurrences`](../examples/glove.py#L44-L54)). Then it fits, for every
# non-zero X_ij, w_i · w̃_j + b_i + b̃_j ≈ log X_ij, in weighted least squares
# ([`GloVe`](../examples/glove.py#L62-L77)):
#
# J = Σ f(X_ij) (w_i · w̃_j + b_i + b̃_j - log X_ij)²,   f(x) = min(1, (x / x_max)^0.75)
#
# trained with AdaGrad ([`Adagrad`](../minilm/optim/adagrad.py#L16-L32)) as the paper does.
#
# ### Exercise 2: `cooccurrence_matrix(ids, vocab_size, window)`
#
# Return the dense (V, V) matrix X described above (symmetric: both orders of every pair).

# %%
check(9, only="cooccurrence_matrix")

# %%
rows, cols, values = glove.cooccurrences(ids, len(words), 10)
print(f"{len(values):,} non-zero co-occurrences ({len(values) / len(words) ** 2:.1%} of X)")
minilm.manual_seed(0)
glove_vectors = glove.train_glove(rows, cols, values, len(words), 50, 1 if FAST else 8, 4096, 0.05, 10.0,
                                  DEVICE).vectors()

# %% [markdown]
# ## 4. Looking at them
#
# Similar words should have vectors pointing the same way: compare them by cosine similarity,
# cos(a, b) = a · b / (|a| |b|), which ignores their lengths (frequent words get longer vectors).
#
# ### Exercise 3: `nearest_by_cosine(vectors, index, k)`
#
# Return the indices of the k rows most similar to row `index` (itself excluded), most similar first.

# %%
check(9, only="nearest_by_cosine")

# %%
for query in ["king", "father", "thou", "good"]:
    print(f"{query:>7}  word2vec: {', '.join(word2vec.nearest(w2v_vectors, words, query)):<42} "
          f"GloVe: {', '.join(word2vec.nearest(glove_vectors, words, query))}")

# %% [markdown]
# A picture: the 80 most frequent words on the two principal directions of their vectors
# ([`project_2d`](../minilm/viz/embeddings.py#L21-L35), a PCA by SVD). In GloVe's, the pronouns we, they,
# us, them gather at one edge and the determiners the, his, my, thy at another; with a few thousand
# steps on 200,000 words the pictures are rough, but not random. (Two directions show only part of the
# variance, more of GloVe's than of word2vec's.)

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
# ## Summary
#
# - An embedding is a lookup table; its backward adds into the rows that were used.
# - word2vec learns from local windows by telling real neighbours from sampled noise; GloVe fits the
#   logarithm of global co-occurrence counts. Both put words of similar use close together.
# - Cosine similarity compares directions; PCA draws the vectors in 2-D.
#
# Next, lesson 10 turns a base model into an assistant: the chat format, SFT, reinforcement learning and
# serving.

# %%
check(9)
