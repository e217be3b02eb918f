# %% [markdown]
# # Lesson 13: Applications: translation
#
# **What you will learn**
#
# - an encoder-decoder Transformer: the encoder reads the source sentence, the decoder writes the
#   translation while attending to it (cross-attention);
# - training with teacher forcing on a small English-Chinese corpus, and decoding greedily or by beam
#   search;
# - scoring translations with BLEU (and chrF), against references the model never saw.
#
# The other applications of the seed articles are covered elsewhere: the classifier behind
# sentiment analysis is lesson 8's (fine-tuned on a labelled task); dialogue with a chat model is
# lesson 10's.
#
# **Exercises** (in `course/exercises/13_applications.py`; `minilm course check 13`):
# 1. `teacher_forcing`: the decoder's input and target from a batch of target sentences.
# 2. `corpus_bleu`: BLEU from n-gram precisions and the brevity penalty.

# %%
import matplotlib.pyplot as plt
import numpy as np

from minilm.course import DEVICE, FAST, check, example, show, use_cjk_font
from minilm.data import train_val_test_split
from minilm.viz import attention_probabilities

translate = example("translate")

# %% [markdown]
# ## 1. The corpus
#
# `examples/data/en_zh_hsk.tsv` holds 4,349 short English-Chinese sentence pairs, graded by the HSK
# levels 1-6 of the Chinese proficiency test. They come from the PyPI package `hsk-sentences-audio` under
# the CC-BY-SA-4.0 licence (see `examples/data/en_zh_hsk.LICENSE.md`; `examples/data/make_en_zh_pairs.py`
# wrote the file). One character vocabulary covers both languages
# ([`build_tokenizer`](../examples/translate.py#L40-L43)), with `[PAD]`, `[BOS]` and `[EOS]`.
# A tenth of the pairs is held out for testing.

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
# ## 2. Encoder, decoder, teacher forcing
#
# [`Seq2SeqTransformer`](../minilm/models/seq2seq.py#L27-L118) is the model of "Attention Is All You
# Need". The **encoder** (self-attention in both directions, lesson 8's BERT blocks) turns the English
# characters into vectors, the *memory*. The **decoder** is lesson 6's GPT block plus a
# **cross-attention** layer whose queries come from the Chinese written so far and whose keys and values
# are the memory: each output character looks up the parts of the source it needs.
#
# Training uses **teacher forcing**: the decoder reads the true translation shifted right,
# [BOS] y_1 ... y_{T-1}, and predicts y_1 ... y_T [EOS] at every position at once
# ([`forward`](../minilm/models/seq2seq.py#L57-L66)); padding is neither attended to nor predicted
# ([`make_batch`](../examples/translate.py#L46-L51)).
#
# ### Exercise 1: `teacher_forcing(targets, bos, eos, pad)`
#
# `targets` is a list of id lists (the Chinese sentences). Write each as [bos] + sentence + [eos], pad
# them with `pad` to the longest, and return (tgt_in, tgt_out): all columns but the last, and all but the
# first with padding replaced by -100 (not predicted). Both are (B, T), T = the longest sentence + 1.

# %%
check(13, only="teacher_forcing")

# %%
model, history = translate.train(train_pairs, tokenizer, special, epochs=1 if FAST else 8, device=DEVICE,
                                 d_model=64 if FAST else 128)
print("training loss per epoch:", np.round(history.history["loss"], 3))

# %% [markdown]
# ## 3. Decoding and BLEU
#
# At test time there is no true translation to read: the decoder feeds back its own output, one
# character at a time, until [EOS]. **Greedy** decoding takes the most likely character each step;
# **beam search** keeps the k best partial translations by total log-probability
# ([`greedy_decode`](../minilm/models/seq2seq.py#L68-L82), [`beam_search`](../minilm/models/seq2seq.py#L84-L89)).
#
# **BLEU** compares a system's translations with references over the whole test set: for n = 1..4, the
# fraction of the hypothesis' n-grams that occur in the reference (each counted at most as often as in the
# reference: "clipped"), combined by a geometric mean and multiplied by a **brevity penalty**
# exp(1 - r/c) when the hypotheses (c n-grams long in total) are shorter than the references (r): otherwise
# a system could score well by saying little. For Chinese the n-grams are of characters. `sacrebleu`, the
# standard implementation, scores the model ([`scores`](../examples/translate.py#L80-L87)):

# %%
hypotheses = translate.translate(model, [en for en, _ in test_pairs], tokenizer, special, max_len=12 if FAST else 48)
references = [zh for _, zh in test_pairs]
for (en, zh), hyp in list(zip(test_pairs, hypotheses))[:6]:
    print(f"{en}\n   reference {zh}\n   model     {hyp}")
print("held-out:", translate.scores(hypotheses, references))

# %% [markdown]
# Be prepared for a low score. A few thousand sentences and a few minutes of a CPU teach the model the
# shape of a Chinese sentence and its most frequent words (他, 我们, 很, 。), not translation: it writes
# fluent-looking sentences that have little to do with the source, and BLEU stays at a few points (12
# epochs gave BLEU 1.4 and chrF 4.4 on the held-out pairs). Systems that translate well learn from
# millions of pairs. `python examples/translate.py --epochs 40 --beam 4` trains longer and decodes with a
# beam, if you have the time.
#
# ### Exercise 2: `corpus_bleu(hypotheses, references, max_n=4)`
#
# Strings in, BLEU (0-100) out, on characters, without smoothing: p_n = Σ clipped matches / Σ hypothesis
# n-grams over the corpus; BLEU = 100 · BP · exp(mean of log p_n), 0 if some p_n is 0; BP = 1 if c > r
# else exp(1 - r/c), with c and r the total hypothesis and reference lengths. The check compares with
# sacrebleu (`tokenize="char"`, `smooth_method="none"`).

# %%
check(13, only="corpus_bleu")

# %% [markdown]
# ## 4. What cross-attention looks at
#
# [`attention_probabilities`](../minilm/viz/attention.py#L45-L68) records every attention of one forward
# pass. The decoder's cross-attention maps each Chinese character (rows) to the English characters it
# read (columns). This small model has learned little alignment: its heads mostly look at the spaces
# between English words, where words begin and end. A model trained on far more pairs lines up words with
# their translations.

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
# (The row labels are the characters each position predicts. Without a font that has Chinese characters,
# such as Noto Sans CJK, matplotlib draws them as boxes.)
#
# ## Summary
#
# - An encoder-decoder reads the source with bidirectional attention and writes the target with causal
#   self-attention plus cross-attention to the source.
# - Teacher forcing trains all positions at once; decoding feeds the output back, greedily or by beam.
# - BLEU: clipped n-gram precisions, a geometric mean and a brevity penalty, over the whole corpus.

# %%
check(13)
