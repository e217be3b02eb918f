# %% [markdown]
# # Lesson 4: From text to token ids
#
# **What you will learn**
#
# - what cleaning a corpus should and should not do for a language model;
# - the character vocabulary: one id per distinct character;
# - byte-level byte-pair encoding (BPE), the tokenizer of GPT-2 and GPT-4, trained merge by merge;
# - special tokens (`<|endoftext|>`, `[CLS]`, `[MASK]`, ...), which are never split.
#
# **Exercises** (in `course/exercises/04_tokenizers.py`; `minilm course check 4`):
# 1. `char_vocabulary`, `encode`, `decode`: a character tokenizer.
# 2. `train_bpe`: the BPE training loop, the slow and obvious way.
# 3. `encode_bpe`: apply learned merges to new text, in the order they were learned.

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
# ## 1. Cleaning, gently
#
# A language model must predict text exactly as people write it: capitals, punctuation and small words
# are part of what it learns. So [`clean_text`](../minilm/data/text.py#L72-L89) by default only repairs
# encoding noise: it puts Unicode in one normal form (NFC), drops control characters, turns every kind
# of line break into `\n` and collapses runs of spaces. Lowercasing or removing stopwords are options for
# bag-of-words classifiers, not for language models.

# %%
messy = "Cafe\u0301\r\nis   open\x07 today.\u2028Come!"
print(repr(messy))
print(repr(clean_text(messy)))

# %% [markdown]
# ## 2. Characters
#
# The simplest vocabulary: every distinct character of the corpus is one token, numbered in sorted order
# ([`CharTokenizer`](../minilm/tokenizers/char.py#L15-L76)). Nothing to train, and any text of the
# corpus can be written; but the sequences are long (one token per character) and the model must learn
# spelling itself.

# %%
chars = CharTokenizer.from_text(text)
ids = chars.encode("First Citizen:")
print(f"vocabulary of {chars.vocab_size} characters; 'First Citizen:' -> {ids}")
print("back:", repr(chars.decode(ids)))

# %% [markdown]
# ### Exercise 1: a character tokenizer
#
# Write `char_vocabulary(text)`, which returns the sorted list of distinct characters, and
# `encode(text, vocabulary)` / `decode(ids, vocabulary)`. The check compares them with `CharTokenizer`.

# %%
check(4, only="char_tokenizer")

# %% [markdown]
# ## 3. Byte-pair encoding, merge by merge
#
# BPE starts from the 256 byte values of UTF-8, so *any* string can be encoded (no unknown
# characters, any language, emoji). Training then repeats one step:
#
# 1. count every pair of adjacent tokens in the corpus;
# 2. give the most frequent pair a new id (256, 257, ...);
# 3. replace the pair by the new id everywhere.
#
# After `vocab_size - 256` merges, frequent words and pieces of words are single tokens. A regex first
# cuts the text into chunks (words, numbers, punctuation, spaces) and merges never cross a chunk, so
# "dog." and "dog!" share the token of "dog". minilm's [`BPETokenizer.train`](../minilm/tokenizers/bpe.py#L93-L107)
# counts each distinct chunk once with its frequency and hands them to
# [`learn_merges`](../minilm/tokenizers/bpe_train.py#L40-L81), which keeps the pair counts up to date
# instead of recounting after each merge. [`merge`](../minilm/tokenizers/bpe_train.py#L27-L37) is the
# replacement of step 3.

# %%
bpe = BPETokenizer("gpt4").train(text, vocab_size=256 + 40)
print("the first merges:", bpe.merge_strings()[:8])
sample = "Thou art a villain."
print(sample, "->", [bpe.decode([i]) for i in bpe.encode(sample)])

# %% [markdown]
# Each merge shortens the text. The picture shows how many characters one token stands for, as the
# vocabulary grows:

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
# ### Exercise 2: `train_bpe(chunks, n_merges)`
#
# `chunks` is a dict {chunk string: count}. Write the training loop above the obvious way: turn each
# chunk into its UTF-8 byte values, then `n_merges` times count the adjacent pairs (weighted by the
# chunk's count), take the most frequent (on a tie, the smallest pair), and replace it in every chunk by
# the next id. Return the list of merged pairs in order. The check compares with `learn_merges`.

# %%
check(4, only="train_bpe")

# %% [markdown]
# **Encoding** new text applies the learned merges *in the order they were learned*: repeatedly find the
# adjacent pair with the lowest merge rank and merge it, until no pair of the text was ever merged
# ([`_merge_by_rank`](../minilm/tokenizers/bpe.py#L119-L131)). Applying them in another order can give
# other tokens than the model was trained on.
#
# ### Exercise 3: `encode_bpe(chunk, merges)`
#
# `merges` is the list of pairs from training (merge k made id 256 + k). Return the ids of the string
# `chunk` (one regex chunk). The check compares with `BPETokenizer` on words of Shakespeare.

# %%
check(4, only="encode_bpe")

# %% [markdown]
# ## 4. Special tokens
#
# Some tokens are not text: `<|endoftext|>` separates documents for a GPT; an encoder such as BERT needs
# `[PAD]`, `[CLS]`, `[SEP]` and `[MASK]` ([the list](../minilm/tokenizers/base.py#L1-L16)). They get ids
# after the ordinary vocabulary and are never split. A special token's string inside *user* text is
# refused unless allowed, so nobody can smuggle a control token into a prompt.

# %%
eot = bpe.add_special_token("<|endoftext|>")
print("<|endoftext|> has id", eot, "; vocabulary", bpe.vocab_size)
print(bpe.encode("the end<|endoftext|>", allowed_special="all"))
try:
    bpe.encode("the end<|endoftext|>")
except ValueError as error:
    print("refused:", error)

# %% [markdown]
# ## Summary
#
# - Clean only what is noise; a language model learns from the text as written.
# - Characters: a tiny vocabulary and long sequences. Byte-level BPE: any text, shorter sequences,
#   learned by repeatedly merging the most frequent adjacent pair.
# - Encoding applies merges by rank; special tokens sit outside the learned vocabulary.
#
# Next, lesson 5 builds language models on these ids, before attention.

# %%
check(4)
