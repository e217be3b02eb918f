# %% [markdown]
# # Lesson 12: More than one process
#
# **What you will learn**
#
# - data parallelism: every process holds the whole model and trains on its slice of each batch; why
#   averaging their gradients gives exactly the full batch's gradient;
# - the all-reduce, and the ring algorithm that makes its cost almost independent of the number of
#   processes;
# - a cost model that predicts the speed-up on W processes from one measured step.
#
# **Exercises** (in `course/exercises/12_distributed.py`; `minilm course check 12`):
# 1. `shard_rows`: the rows of a global batch that one process takes.
# 2. `ring_all_reduce`: W simulated processes sum their arrays in a ring, counting what each one sends.
# 3. `predicted_step_time`: the cost model.

# %%
import os
import shutil
import subprocess
import sys
import tempfile

import matplotlib.pyplot as plt
import numpy as np

import minilm
from minilm.course import DEVICE, FAST, check, show
from minilm.data import TokenDataset, load_corpus
from minilm.models import GPT, GPTConfig
from minilm.tokenizers import CharTokenizer

# %% [markdown]
# ## 1. Data parallelism
#
# W processes (**ranks** 0 .. W-1) each hold a full copy of the model. Each step, rank r takes its share of
# the global batch ([`batch_rows`](../minilm/distributed/__init__.py#L144-L155): equal, consecutive slices),
# computes the loss and the gradients on it, and then all ranks **average** their gradients. Why that is
# right: the batch loss is a mean, L = (1/B) Σ_i l_i = (1/W) Σ_r L_r when every rank averages over B/W
# examples, and the gradient is linear, so dL/dw = (1/W) Σ_r dL_r/dw. After the average every rank holds
# the same gradient and takes the same optimizer step: the copies never drift apart
# ([the derivation](../minilm/distributed/__init__.py#L1-L21)).
#
# Check it on a small GPT, with two "ranks" simulated in one process:

# %%
text = load_corpus("shakespeare")
tokenizer = CharTokenizer.from_text(text)
data = TokenDataset(np.array(tokenizer.encode(text[:100_000]), dtype=np.int64), 32)
minilm.manual_seed(0)
model = GPT(GPTConfig(vocab_size=tokenizer.vocab_size, block_size=32, n_layer=1, n_head=2, n_embd=32)).to(DEVICE)
x, y = data.get_batch(8, np.random.default_rng(0), DEVICE)


def gradients(rows):
    model.zero_grad()
    model(x[rows], y[rows])[1].backward()
    return {name: p.grad.copy() for name, p in model.named_parameters()}


full = gradients(slice(0, 8))
shards = [gradients(slice(0, 4)), gradients(slice(4, 8))]
largest = max(np.abs((shards[0][n] + shards[1][n]) / 2 - full[n]).max() for n in full)
print(f"the mean of the two shards' gradients differs from the full batch's by at most {largest:.1e}")

# %% [markdown]
# (Only the order of float32 additions differs.) minilm wraps a model in
# [`DistributedDataParallel`](../minilm/nn/data_parallel.py#L15-L73): rank 0's weights are broadcast at
# the start, and when `loss.backward()` returns the gradients are copied into a few large flat
# **buckets** and averaged, one all-reduce per bucket ([`make_buckets`](../minilm/nn/data_parallel.py#L76-L91)):
# every message costs a latency, and networks reach their bandwidth only on large ones.
#
# ### Exercise 1: `shard_rows(batch_size, rank, world_size)`
#
# Return the slice of rows rank `rank` takes: equal consecutive shares, rank 0 first. A batch that does
# not split evenly must raise a ValueError (unequal shares would weight the ranks' mean losses wrongly).

# %%
check(12, only="shard_rows")

# %% [markdown]
# ## 2. The all-reduce, in a ring
#
# An **all-reduce** leaves the sum of every rank's array on every rank
# ([`all_reduce`](../minilm/distributed/__init__.py#L203-L227), through MPI, or NCCL on GPUs). The naive way,
# everyone sends everything to rank 0 which sends the sum back, makes rank 0's link carry 2 (W-1) arrays.
# The **ring** algorithm cuts each array into W chunks and arranges the ranks in a circle:
#
# 1. **reduce-scatter**, W-1 steps: at step s, rank r sends chunk (r - s) mod W to rank r+1, which adds it to
#    its own copy of that chunk. Afterwards rank r holds the complete sum of chunk (r + 1) mod W.
# 2. **all-gather**, W-1 steps: the same circle passes the completed chunks on, each rank overwriting its
#    copy, until every rank has every summed chunk.
#
# Each rank sends 2 (W-1) chunks of size N / W: 2 (W-1)/W · N values, almost 2N whatever W is. That is why
# the same algorithm serves 2 GPUs and 2,000.
#
# ### Exercise 2: `ring_all_reduce(arrays)`
#
# `arrays` is a list of W equal-length 1-D arrays, one per simulated rank. Run the two phases above on
# copies and return (the list of W results, the number of values each rank sent). The check compares
# every result with the sum and the count with 2 (W-1)/W · N.

# %%
check(12, only="ring_all_reduce")

# %% [markdown]
# ## 3. What speed-up to expect
#
# With the reduction after backward (no overlap), one step on W processes costs the one-process step t1
# (each process keeping its batch, so the global batch grows W-fold) plus the ring's traffic and latencies:
#
# t(W) = t1 + 2 (W-1)/W · G / bandwidth + 2 (W-1) · latency,   speed-up(W) = W · t1 / t(W)
#
# with G the gradient's bytes. `benchmarks/distributed.py` measures t1 and the all-reduce on this machine
# and prints this prediction. The picture uses nanoGPT's CPU-sized GPT (about 0.8 M parameters, float32) at
# t1 = 100 ms:
#
# ### Exercise 3: `predicted_step_time(t1, gradient_bytes, processes, bandwidth, latency)`
#
# Return t(W) in seconds (bandwidth in bytes per second, latency in seconds).

# %%
check(12, only="predicted_step_time")

# %%
G = 4 * 0.8e6
W = np.array([1, 2, 4, 8, 16, 32, 64, 128])
fig, ax = plt.subplots(figsize=(6, 3.5))
for gbit, latency in [(1, 50e-6), (10, 10e-6), (100, 5e-6)]:
    bandwidth = gbit * 1e9 / 8
    t = 0.1 + 2 * (W - 1) / W * G / bandwidth + 2 * (W - 1) * latency
    ax.plot(W, W * 0.1 / t, marker="o", label=f"{gbit} Gbit/s")
ax.plot(W, W, "k:", label="perfect")
ax.set_xscale("log", base=2)
ax.set_yscale("log", base=2)
ax.set_xlabel("processes W")
ax.set_ylabel("predicted speed-up")
ax.legend()
show(fig, "12_speedup")

# %% [markdown]
# A small model's gradient is only a few megabytes: on 10 Gbit/s the ring costs a few milliseconds and
# the speed-up stays close to perfect; on 1 Gbit/s it costs about half a step (2 · 3.2 MB at 125 MB/s is
# 51 ms against t1 = 100 ms). A model of billions of parameters moves gigabytes per step, and then the
# network, and overlapping the all-reduce with backward, decide.
#
# ## 4. For real: two processes
#
# With the `distributed` extra (`pip install -e '.[distributed]'`: mpi4py and MPICH's `mpiexec`),
# `minilm train --nproc 2` starts two ranks on this machine. Both print their losses through rank 0, and
# the losses follow the single-process run's (the same global batches, split in two):

# %%
if not FAST and shutil.which("mpiexec") and __import__("importlib").util.find_spec("mpi4py"):
    folder = tempfile.mkdtemp()
    common = ["--n_layer", "1", "--n_embd", "32", "--n_head", "2", "--max_iters", "20", "--warmup_iters", "5",
              "--lr_decay_iters", "20", "--eval_interval", "10", "--eval_iters", "2", "--batch_size", "8",
              "--progress", "false", "--sample_tokens", "0"]
    for nproc in ["1", "2"]:
        done = subprocess.run([sys.executable, "-m", "minilm", "train", "--nproc", nproc, "--out_dir",
                               os.path.join(folder, nproc), *common], capture_output=True, text=True, timeout=300)
        steps = [line for line in done.stdout.splitlines() if line.startswith("step")]
        print(f"--- {nproc} process(es):", *(steps or [done.stderr.strip()]), sep="\n")
    shutil.rmtree(folder)
else:
    print("(skipped: needs MINILM_COURSE_FAST unset, mpiexec and mpi4py)")

# %% [markdown]
# ## Summary
#
# - Data parallel: the same model everywhere, a slice of the batch each, gradients averaged: the full
#   batch's gradient, exactly.
# - A ring all-reduce moves 2 (W-1)/W of the data per rank, whatever W.
# - t(W) = t1 + communication: a small model scales on an ordinary network; a large one needs a fast one.
#
# Next, lesson 13 puts the pieces to work on the tasks the course began with.

# %%
check(12)
