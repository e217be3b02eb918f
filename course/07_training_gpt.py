# %% [markdown]
# # Lesson 7: Training a GPT, and sampling from it
#
# **What you will learn**
#
# - the training loop: batches, the learning-rate schedule, one optimizer step, evaluation on held-out text;
# - sampling: temperature, top-k and top-p (nucleus) filtering;
# - the key/value cache, which makes generating a token cost one token's work.
#
# **Exercises** (in `course/exercises/07_training_gpt.py`; `minilm course check 7`):
# 1. `warmup_cosine`: the learning-rate schedule of the loop.
# 2. `top_k_filter`: keep the k most likely tokens.
# 3. `top_p_filter`: keep the smallest set of likely tokens whose probability reaches p.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

import minilm
from minilm.amp import GradScaler
from minilm.course import DEVICE, FAST, check, show
from minilm.data import TokenDataset, load_corpus
from minilm.models import GPT, GPTConfig, sample_next
from minilm.optim import cosine_with_warmup
from minilm.tokenizers import CharTokenizer
from minilm.train.evaluation import evaluate_batches
from minilm.train.step import train_step

# %% [markdown]
# ## 1. The loop
#
# Training a language model repeats four things:
#
# 1. draw a batch of windows of text, x (B, T), and the same windows shifted by one, y: the next token at
#    every position ([`TokenDataset.get_batch`](../minilm/data/dataset.py#L52-L61));
# 2. set the learning rate from the schedule (warmup, then cosine decay: lesson 3);
# 3. one optimizer step: forward, loss, backward, clip, step ([`train_step`](../minilm/train/step.py#L32-L64),
#    the one step every loop of minilm uses: it also accumulates gradients over micro-batches, handles
#    mixed precision and stops on a NaN before it touches the weights);
# 4. now and then, the loss on held-out text, without gradients
#    ([`evaluate_batches`](../minilm/train/evaluation.py#L34-L57)). A validation loss that stops falling
#    while the training loss keeps going down is overfitting.
#
# `examples/train_gpt.py` is the whole default `minilm train` run written out in one file (Muon, QK-norm,
# Llama's blocks). Here is a smaller one, with GPT-2's blocks and AdamW:

# %%
text = load_corpus("shakespeare")
tokenizer = CharTokenizer.from_text(text)
ids = np.array(tokenizer.encode(text), dtype=np.int64)
n = int(0.9 * len(ids))
train_data, val_data = TokenDataset(ids[:n], 64), TokenDataset(ids[n:], 64)

config = GPTConfig(vocab_size=tokenizer.vocab_size, block_size=64, n_layer=2, n_head=4, n_embd=64)
minilm.manual_seed(0)
model = GPT(config).to(DEVICE)
optimizer = model.configure_optimizers(weight_decay=0.1, learning_rate=3e-3, betas=(0.9, 0.99))
scaler = GradScaler(enabled=False)                  # float32: no loss scaling
max_steps, eval_every = (20, 10) if FAST else (600, 100)
batch_rng = np.random.default_rng(0)


def validation_loss(model, data, batches=2 if FAST else 10):
    rng = np.random.default_rng(1)                   # the same batches at every evaluation
    sums = evaluate_batches(model, (data.get_batch(16, rng, DEVICE) for _ in range(batches)),
                            lambda xy: (*model(*xy), xy[1]))
    return sums["loss"] / sums["count"]


history = {"step": [], "train": [], "val": []}
for step in range(max_steps + 1):
    if step % eval_every == 0:
        history["step"].append(step)
        history["train"].append(validation_loss(model, train_data))
        history["val"].append(validation_loss(model, val_data))
        print(f"step {step}: train {history['train'][-1]:.3f}, val {history['val'][-1]:.3f}")
    if step == max_steps:
        break
    for group in optimizer.param_groups:
        group["lr"] = cosine_with_warmup(step, 3e-3, warmup_steps=50, decay_steps=max_steps, min_lr=3e-4)
    loss, norm = train_step(lambda: model(*train_data.get_batch(16, batch_rng, DEVICE))[1], model, optimizer,
                            scaler, grad_clip=1.0, device=DEVICE)

fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(history["step"], history["train"], marker="o", label="train")
ax.plot(history["step"], history["val"], marker="o", label="validation")
ax.set_xlabel("step")
ax.set_ylabel("loss")
ax.legend()
show(fig, "07_losses")

# %% [markdown]
# ### Exercise 1: `warmup_cosine(step, max_lr, warmup_steps, decay_steps, min_lr)`
#
# Write the schedule the loop used, as minilm writes it
# ([`cosine_with_warmup`](../minilm/optim/lr_scheduler.py#L20-L26)): during warmup
# lr = max_lr · (step + 1) / (warmup_steps + 1); after decay_steps, min_lr; in between,
# min_lr + (1 + cos(π · progress)) / 2 · (max_lr - min_lr) with progress going from 0 to 1.

# %%
check(7, only="warmup_cosine")

# %% [markdown]
# ## 2. Sampling
#
# The model gives a distribution over the next token; generating text means drawing from it, appending
# the token and repeating. Three knobs shape the draw ([`sample_next`](../minilm/models/sampling.py#L19-L43)):
#
# - **temperature** T divides the logits: T < 1 sharpens the distribution (safer, more repetitive),
#   T > 1 flattens it (more surprising, more mistakes), T = 0 is greedy;
# - **top-k** keeps only the k most likely tokens;
# - **top-p** (nucleus) keeps the smallest set of most likely tokens whose probabilities add up to p:
#   few tokens where the model is sure, many where it is not.

# %%
prompt = np.array([tokenizer.encode("ROMEO:")])
for temperature in [0.5, 1.0, 1.5]:
    out = model.generate(prompt, 20 if FAST else 60, temperature=temperature, top_k=40, seed=1)
    print(f"--- temperature {temperature}:\n{tokenizer.decode(out[0].tolist())}")

# %% [markdown]
# ### Exercise 2: `top_k_filter(logits, k)`
#
# logits is (B, V). Return a copy where every logit below the k-th largest of its row is -inf.

# %%
check(7, only="top_k_filter")

# %% [markdown]
# ### Exercise 3: `top_p_filter(probs, p)`
#
# probs is (B, V), rows summing to 1. Sort each row from most to least likely and keep a token while the
# tokens ranked above it add up to less than p (so the most likely token is always kept). Zero the rest
# and renormalize each row.

# %%
check(7, only="top_p_filter")

# %% [markdown]
# ## 3. The key/value cache
#
# Generating token t + 1 needs attention of the new position over all earlier positions, but the keys and
# values of the earlier positions do not change. So each layer keeps them in a
# [`KVCache`](../minilm/models/gpt.py#L62-L89); [`generate`](../minilm/models/gpt.py#L252-L270) feeds only
# the newest token, computes its q, k, v, appends k and v to the cache and attends over all of them. A
# step then costs one token's work instead of re-running the whole sequence. Greedy decoding
# (temperature 0) gives the same text either way:

# %%
def generate_without_cache(model, idx, steps):
    for _ in range(steps):
        with minilm.no_grad():
            logits, _ = model(minilm.tensor(idx[:, -config.block_size:], device=DEVICE))
        next_id = sample_next(logits.numpy()[:, -1], temperature=0)
        idx = np.concatenate([idx, next_id[:, None]], axis=1)
    return idx


steps = 10 if FAST else 60
start = time.perf_counter()
cached = model.generate(prompt, steps, temperature=0)
middle = time.perf_counter()
uncached = generate_without_cache(model, prompt, steps)
end = time.perf_counter()
print("same tokens:", np.array_equal(cached, uncached))
print(f"with the cache {1000 * (middle - start) / steps:.1f} ms a token, without {1000 * (end - middle) / steps:.1f} ms")

# %% [markdown]
# ## Summary
#
# - The loop: batch, schedule, one step (forward, backward, clip, update), evaluation on held-out text.
# - Temperature, top-k and top-p trade safety for variety when sampling.
# - The KV cache keeps earlier keys and values, so each new token costs one position's work.
#
# `minilm train` is this loop with checkpoints, resumption and logs; `minilm sample` generates. Next,
# lesson 8 pre-trains a model and fine-tunes it for another task.

# %%
check(7)
