# %% [markdown]
# # Lesson 8: Pre-training, then fine-tuning
#
# **What you will learn**
#
# - why a model pre-trained on plain text learns a new task from few labels faster than one from scratch;
# - fine-tuning a GPT as a classifier: the same body, a new head, pooling the last real token;
# - BERT's masked-language-model pre-training and its 80/10/10 rule;
# - scoring a classifier: accuracy, precision, recall, F1.
#
# **Exercises** (in `course/exercises/08_pretrain_finetune.py`; `minilm course check 8`):
# 1. `last_token_pool`: the hidden state of each sequence's last real token.
# 2. `precision_recall_f1`: the scores of a binary classifier.
# 3. `mask_tokens`: choose 15 % of the positions and hide them the way BERT does.

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
# ## 1. Pre-training a GPT on plain text
#
# Labelled data is scarce; plain text is not. A language model trained to predict the next character
# must learn spelling, words and some grammar on the way, from text alone. We train a small GPT for a few
# hundred steps with [`fit`](../minilm/train/fit.py#L69-L78), minilm's general training loop (it runs
# the same one optimizer step as `minilm train`).

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
# ## 2. The task: real spelling or typos?
#
# [`typo_lines`](../minilm/data/tasks/labelled.py#L23-L34) makes a labelled task from lines of the corpus: each line
# (label 1, real) next to a copy with three letters replaced at random (label 0). A model that knows
# spelling should tell them apart.
#
# [`GPTClassifier`](../minilm/models/classifier.py#L20-L53) keeps GPT's body (`transformer.*`, so the
# pre-trained weights load unchanged) and adds a linear head on one vector per sequence. With causal
# attention only the **last real token** has read the whole line, so that is the state it pools
# (padding comes after it in a batch of lines of different lengths).

# %%
labelled, names = typo_lines(text[int(0.9 * len(text)):], np.random.default_rng(0))
train, _, test = train_val_test_split(labelled, (0.8, 0.0, 0.2), seed=0)
train, test = train[:64 if FAST else 1200], test[:64 if FAST else 1000]
encode = lambda examples: [(tokenizer.encode(line)[:64], label) for line, label in examples]
train, test = encode(train), encode(test)
print(f"{len(train)} training and {len(test)} test lines; for example {labelled[1][0]!r} (label {labelled[1][1]})")

# %% [markdown]
# ## 3. Fine-tuning, against training from scratch
#
# Two classifiers with the same architecture and the same budget: one starts from the pre-trained body,
# the other from random weights.

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
# The pre-trained start is ahead with the same labels and steps: what it learned from predicting
# characters transfers. (`python examples/finetune_classifier.py` runs this comparison at full size.)
#
# ### Exercise 1: `last_token_pool(h, pad_mask)`
#
# h is (B, T, C) hidden states, pad_mask (B, T) is True at padding (always after the real tokens).
# Return (B, C): each row's state at its last real token.

# %%
check(8, only="last_token_pool")

# %% [markdown]
# ### Exercise 2: `precision_recall_f1(predictions, labels)`
#
# For binary predictions and labels (1 = positive): precision = TP / (TP + FP), recall = TP / (TP + FN),
# F1 = their harmonic mean. Accuracy alone hides a classifier that always says "real" on a test set of
# mostly real lines; precision and recall do not. minilm's versions are in
# [`precision_recall_f1`](../minilm/metrics.py#L62-L76).

# %%
check(8, only="precision_recall_f1")

# %% [markdown]
# ## 4. BERT: pre-training by filling in blanks
#
# A GPT reads left to right. BERT ([`BERT`](../minilm/models/bert.py#L111-L142)) is an encoder: every
# position attends to the whole sequence, both sides. Predicting the next token would then be trivial,
# so it is pre-trained as a **masked language model**: about 15 % of the positions are chosen, and the
# model predicts their original tokens from an input in which a chosen position is `[MASK]` (80 %), a
# random token (10 %) or unchanged (10 %): [`mask_tokens`](../minilm/data/masking.py#L23-L45). The
# labels are -100 (not predicted, cross-entropy's `ignore_index`) everywhere else.

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
# `examples/bert_pretrain_finetune.py` pre-trains this BERT for longer and shows that it, too, fine-tunes
# to the typo task better than one from scratch.
#
# ### Exercise 3: `mask_tokens(ids, mask_id, vocab_size, p, special_ids, rng)`
#
# Return (inputs, labels) as described above: choose each non-special position with probability p; of the
# chosen, 80 % become mask_id, 10 % a random ordinary token (never a special one), 10 % stay. labels is the
# original id at chosen positions and -100 elsewhere. The check measures these rates on many positions.

# %%
check(8, only="mask_tokens")

# %% [markdown]
# ## Summary
#
# - Pre-training on plain text teaches what many tasks share; fine-tuning a new head on few labels uses it.
# - A GPT classifier pools its last real token; BERT, reading both ways, pre-trains by filling in blanks.
# - Score a classifier with precision, recall and F1, not accuracy alone.
#
# Next, lesson 9 looks at the simplest learned representations: word vectors.

# %%
check(8)
