# %% [markdown]
# # Lesson 5: Language models before attention
#
# **What you will learn**
#
# - what a language model is: a probability for the next token given the ones before, scored by the
#   loss (cross-entropy) and its exponential, the **perplexity**;
# - the n-gram baseline: counting which character follows which;
# - recurrent networks: a plain RNN and an LSTM, trained with truncated backpropagation through time.
#
# **Exercises** (in `course/exercises/05_language_models.py`; `minilm course check 5`):
# 1. `bigram_log_probs`: a bigram model with add-α smoothing.
# 2. `RNNStep`: one step of an Elman RNN as a minilm `Function`, forward and backward.
# 3. `stream_windows`: the batches of truncated backpropagation through time.

# %%
import math

import matplotlib.pyplot as plt
import numpy as np

import minilm
from minilm import optim
from minilm.course import DEVICE, FAST, check, show
from minilm.data import StreamBatcher, load_corpus
from minilm.metrics import perplexity
from minilm.models import LSTMLM
from minilm.tokenizers import CharTokenizer

text = load_corpus("shakespeare")
tokenizer = CharTokenizer.from_text(text)
ids = np.array(tokenizer.encode(text[:200_000] if FAST else text), dtype=np.int64)
split = int(0.9 * len(ids))
train_ids, val_ids = ids[:split], ids[split:]
V = tokenizer.vocab_size
print(f"{len(train_ids):,} training and {len(val_ids):,} validation characters, vocabulary {V}")

# %% [markdown]
# ## 1. Loss and perplexity
#
# A language model gives p(x_t | x_1 ... x_{t-1}) for every possible next token. Its loss on a text is
# the mean of -log p(right next token): lesson 2's cross-entropy. Its exponential,
# [`perplexity`](../minilm/metrics.py#L27-L32) = e^loss, reads as "as unsure as a uniform choice among
# that many tokens": a model that knows nothing has perplexity V (here 65); a perfect one has 1.
#
# ## 2. The n-gram baseline
#
# The simplest model counts: p(b | a) = (count(a b) + α) / (count(a) + α V). α > 0 (add-α smoothing)
# keeps a pair never seen in training from getting probability 0 (an infinite loss).
#
# ### Exercise 1: `bigram_log_probs(ids, vocab_size, alpha)`
#
# Return the (V, V) matrix whose row a holds log p(b | a) for every b.

# %%
check(5, only="bigram")

# %% [markdown]
# The bigram model's validation loss is the baseline every neural model must beat (computed here with
# the same formula as the exercise, in two lines):

# %%
counts = np.zeros((V, V))
np.add.at(counts, (train_ids[:-1], train_ids[1:]), 1)
log_p = np.log((counts + 1) / (counts + 1).sum(1, keepdims=True))
bigram_loss = -log_p[val_ids[:-1], val_ids[1:]].mean()
print(f"bigram: validation loss {bigram_loss:.3f}, perplexity {perplexity(bigram_loss):.1f} (of {V})")

# %% [markdown]
# ## 3. Recurrent networks
#
# A bigram sees one character back. A recurrent network carries a **hidden state** h, a vector that
# summarizes everything read so far, updated at every step. The Elman RNN
# ([`RNNCell`](../minilm/ops/rnn.py#L10-L31), one fused op):
#
# h_t = tanh(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh)
#
# Backward through one step, with da = dL/dh_t · (1 - h_t²): dL/dx = da W_ih, dL/dh_{t-1} = da W_hh,
# dW_ih = daᵀ x, dW_hh = daᵀ h_{t-1}, db = Σ_batch da.
#
# ### Exercise 2: `RNNStep`
#
# Write `RNNStep(Function)`: `forward(x, h, w_ih, w_hh, b)` returns h_t, `backward(gy)` returns the five
# gradients. The check runs `gradcheck` and compares with minilm's `RNNCell`.

# %%
check(5, only="rnn_step")

# %% [markdown]
# Gradients flowing back through many steps are multiplied by W_hh and tanh' again and again, so they
# shrink (or explode) exponentially: a plain RNN forgets quickly. The **LSTM**
# ([`LSTMCell`](../minilm/ops/lstm.py#L109-L132), equations in [its docstring](../minilm/ops/lstm.py#L1-L20))
# adds a cell state c updated by gates, c' = f · c + i · g, so the gradient can flow along c through many
# steps multiplied only by the forget gate f. minilm runs a whole layer as one op,
# [`LSTMLayer`](../minilm/ops/lstm.py#L135-L185), whose backward loops over time in reverse.
#
# ## 4. Truncated backpropagation through time
#
# A book is too long to backpropagate through. So the text is cut into B parallel **streams**, each read
# in windows of T characters ([`StreamBatcher`](../minilm/data/dataset.py#L74-L108)): row b of one batch
# continues exactly where row b of the previous batch ended, so the final hidden state of one window is
# the right initial state of the next. Between windows, [`detach_state`](../minilm/models/lstm_lm.py#L65-L66)
# keeps the state's values but cuts the graph: memory reaches far back, gradients only T steps.
#
# ### Exercise 3: `stream_windows(tokens, batch_size, bptt)`
#
# Return the list of (x, y) pairs, each (B, T), of one pass over the streams, as `StreamBatcher` makes
# them: stream b is tokens[b L : (b + 1) L + 1] with L = (n - 1) // B; window k of every stream starts at
# offset k T; y is x shifted by one.

# %%
check(5, only="stream_windows")

# %% [markdown]
# Now a plain RNN and an LSTM of the same size, trained the same way ([`LSTMLM`](../minilm/models/lstm_lm.py#L27-L77)
# with `cell="rnn"` or `"lstm"`):

# %%
steps, hidden = (15, 32) if FAST else (150, 96)
B, T = 64, 32


def train_recurrent(cell):
    minilm.manual_seed(0)
    model = LSTMLM(V, embedding_dim=64, hidden_size=hidden, num_layers=1, cell=cell).to(DEVICE)
    optimizer = optim.Adam(model.parameters(), lr=3e-3)
    batches, state, curve = StreamBatcher(train_ids, B, T), None, []
    for step in range(steps):
        x, y = batches.next_batch(DEVICE)
        if batches.wrapped:
            state = None
        _, loss, state = model(x, y, state)
        state = model.detach_state(state)
        optimizer.zero_grad()
        loss.backward()
        optim.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        curve.append(loss.item())
    with minilm.no_grad():
        x, y = StreamBatcher(val_ids, 8, 256).next_batch(DEVICE)
        val_loss = model(x, y)[1].item()
    return curve, val_loss


fig, ax = plt.subplots(figsize=(6, 3.5))
ax.axhline(bigram_loss, color="gray", linestyle="--", label=f"bigram (val {bigram_loss:.2f})")
for cell in ["rnn", "lstm"]:
    curve, val_loss = train_recurrent(cell)
    smooth = np.convolve(curve, np.ones(10) / 10, mode="valid")
    ax.plot(smooth, label=f"{cell} (val {val_loss:.2f}, perplexity {math.exp(val_loss):.1f})")
    print(f"{cell}: validation loss {val_loss:.3f}, perplexity {perplexity(val_loss):.1f}")
ax.set_xlabel("step")
ax.set_ylabel("training loss (smoothed)")
ax.legend()
show(fig, "05_rnn_lstm")

# %% [markdown]
# Both recurrent models pass the bigram baseline after about 50 steps. At this small budget (one layer,
# 150 steps) they end close together: the LSTM's longer memory has had little time to pay off. Does it
# pull ahead with more steps or a larger hidden state? Change `steps` and `hidden` and see; `minilm
# train --preset shakespeare-lstm` trains a two-layer LSTM for much longer.
#
# ## Summary
#
# - A language model's loss is the mean -log p(next token); perplexity = e^loss.
# - A bigram counts pairs; smoothing keeps unseen pairs possible.
# - An RNN carries a hidden state; an LSTM adds a gated cell state that keeps gradients alive.
# - Truncated BPTT: streams read in windows, the state carried over, the graph cut between windows.
#
# Next, lesson 6 replaces recurrence with attention.

# %%
check(5)
