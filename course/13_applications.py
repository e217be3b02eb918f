# %% [markdown]
# # Lesson 13: Applications: sentiment, translation, dialogue
#
# **What you will learn**
#
# - sentiment analysis as text classification: lesson 8's GPT classifier trained on review sentences
#   labelled positive or negative, and scored against the simplest baseline, always guessing the more
#   frequent label;
# - an encoder-decoder Transformer: the encoder reads the source sentence, the decoder writes the
#   translation while attending to it (cross-attention);
# - training with teacher forcing on a small English-Chinese corpus, and decoding greedily or by beam
#   search;
# - scoring translations with BLEU (and chrF), against references the model never saw.
#
# The last application of the seed articles, question answering and dialogue, is the chat model of
# lesson 10.
#
# **Exercises** (in `course/exercises/13_applications.py`; `minilm course check 13`):
# 1. `teacher_forcing`: the decoder's input and target from a batch of target sentences.
# 2. `corpus_bleu`: BLEU from n-gram precisions and the brevity penalty.

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
# ## 1. Sentiment analysis
#
# Is a review positive or negative? That is a classification task, and a classifier learns it from
# examples somebody labelled. `examples/data/sentiment_sentences.jsonl` holds 2,982 sentences from
# reviews of phones and phone accessories (Amazon), films (IMDb) and restaurants (Yelp), half of them
# labelled 1 (positive) and half 0 (negative): the "Sentiment Labelled Sentences" of Kotzias et al.
# (KDD 2015), from the UCI Machine Learning Repository under CC BY 4.0 (see
# `examples/data/sentiment_sentences.LICENSE.md`). It holds one JSON object per line, such as
# `{"text": "Great for the jawbone.", "label": 1, "source": "amazon"}`, so minilm's
# [`load_labeled`](../minilm/data/text.py#L92-L120) reads it as it is, into (sentence, label) pairs. A
# fifth of them is held out for testing.

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
# Before training anything, know what doing nothing scores. The **majority-class baseline** always
# answers the label that is more frequent in the training set; its accuracy is the share of that label
# in the test set. Here the two labels are about equally frequent, so it is near 0.5, and a classifier
# is worth something only by how far it climbs above it. (On a test set of 90 % positive reviews, 90 %
# accuracy would be worth nothing: lesson 8's precision and recall tell such a classifier apart.)

# %%
majority = np.bincount([label for _, label in train_reviews]).argmax()
baseline = np.mean([label == majority for _, label in test_reviews])
print(f"majority-class baseline: always {names[majority]!r}, held-out accuracy {baseline:.3f}")

# %% [markdown]
# The classifier is lesson 8's [`GPTClassifier`](../minilm/models/classifier.py#L20-L53): a GPT body, the
# state of the last real token, a linear head with two outputs. Two things change for this task.
# The sentences are cut by a byte-pair tokenizer trained on the training sentences (lesson 4's
# [`BPETokenizer.train`](../minilm/tokenizers/bpe.py#L93-L107)), so that frequent words such as
# " great" and " worst" are one token each: sentiment sits mostly in words, and 2,400 sentences are too
# few for a model to learn words from characters. And the body starts from random weights, as there is
# no pre-trained model that knows these words: one small layer, trained for four epochs with `fit` and
# scored on the held-out sentences by [`evaluate`](../minilm/train/fit.py#L239-L252).

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
# The classifier's answer for a sentence is the softmax of its two logits, p(positive). Here it is for a
# few held-out sentences, and for four of our own:

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
# About three held-out sentences in four come out right (the six above hold more than their share of
# mistakes): far above the baseline, from 2,400 examples and a minute of CPU. The mistakes show what such
# a classifier has learned: which words are signs of a good or a bad review, not what the sentence says.
# "not bad at all" reads as negative because " bad" is nearly always negative in training; "would"
# mostly comes in complaints ("I would not recommend this item to anyone"); "fabulous", four tokens
# (" f", "ab", "ul", "ous") seen together in two training sentences, means little to it. Negation, irony
# and rare words need a model that knows the language, which is lesson 8's remedy: a body pre-trained on
# far more text, then fine-tuned on the labels.
#
# ## 2. Translation: the corpus
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
# ## 3. Encoder, decoder, teacher forcing
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
model, history = translate.train(train_pairs, tokenizer, special, epochs=1 if FAST else 4, device=DEVICE,
                                 d_model=64)
print("training loss per epoch:", np.round(history.history["loss"], 3))

# %% [markdown]
# ## 4. Decoding and BLEU
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
# Be prepared for a low score. A few thousand sentences and a minute of CPU teach the model the shape of
# a Chinese sentence and its most frequent characters (他, 的, 很, 。), not translation: it writes the same
# short sentence for most sources, and BLEU stays below one point. Training longer helps only a little:
# `python examples/translate.py --epochs 12` (a model twice as wide, 12 epochs, 740 s) gave BLEU 1.4 and
# chrF 4.4 on the held-out pairs; `--epochs 40 --beam 4` trains longer still and decodes with a beam, if
# you have the time. Systems that translate well learn from millions of pairs.
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
# ## 5. What cross-attention looks at
#
# [`attention_probabilities`](../minilm/viz/attention.py#L45-L68) records every attention of one forward
# pass. The decoder's cross-attention maps each Chinese character (rows) to the English characters it
# read (columns). This small model has learned almost no alignment: its rows hardly differ, so whatever
# character it writes it looks at the same few places of the source. A model trained on far more pairs
# lines up words with their translations.

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
# ## 6. Question answering and dialogue
#
# The third application is a model that answers questions and holds a conversation. That is the chat
# model of lesson 10: a base model fine-tuned on conversations (SFT) and then by reinforcement learning
# on questions with checkable answers, served with `minilm serve` and talked to with `minilm chat`.
#
# ## Summary
#
# - Sentiment analysis is classification: a classifier trained on labelled sentences, worth only what it
#   scores above the majority-class baseline on sentences it never saw.
# - An encoder-decoder reads the source with bidirectional attention and writes the target with causal
#   self-attention plus cross-attention to the source.
# - Teacher forcing trains all positions at once; decoding feeds the output back, greedily or by beam.
# - BLEU: clipped n-gram precisions, a geometric mean and a brevity penalty, over the whole corpus.

# %%
check(13)
