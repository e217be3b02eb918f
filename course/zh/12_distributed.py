# %% [markdown]
# # 第 12 课：不止一个进程
#
# **本课内容**
#
# - 数据并行：每个进程都持有完整的模型，在每个批次中训练属于自己的那一份；为什么把它们的梯度取平均，恰好
#   就是整个批次的梯度；
# - all-reduce（全归约），以及让它的开销几乎与进程数无关的环形算法；
# - 一个成本模型：根据测得的单进程一步的时间，预测在 W 个进程上的加速比。
#
# **练习**（在 `course/exercises/12_distributed.py` 中完成；运行 `minilm course check 12`）：
# 1. `shard_rows`：一个进程在全局批次中负责的那些行。
# 2. `ring_all_reduce`：模拟 W 个进程在环上对各自的数组求和，并统计每个进程发送了多少数据。
# 3. `predicted_step_time`：成本模型。

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
# ## 1. 数据并行
#
# W 个进程（**rank** 0 .. W-1）各自持有模型的一份完整副本。每一步，进程 r 取全局批次中属于自己的一份
# （[`batch_rows`](../../minilm/distributed/__init__.py#L144-L155)：大小相等、连续的切片），在其上计算损失和
# 梯度，然后所有进程把梯度**取平均**。为什么这样是对的：批次损失是一个平均值，当每个进程都在 B/W 个样本上
# 取平均时，L = (1/B) Σ_i l_i = (1/W) Σ_r L_r；而梯度是线性的，所以 dL/dw = (1/W) Σ_r dL_r/dw。取平均之后，
# 每个进程持有相同的梯度、执行相同的优化步骤：各个副本永远不会走散
# （[推导](../../minilm/distributed/__init__.py#L1-L21)）。
#
# 在一个小 GPT 上验证一下，在一个进程里模拟两个“rank”：

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
# （只有 float32 加法的顺序不同。）minilm 用 [`DistributedDataParallel`](../../minilm/nn/data_parallel.py#L15-L73)
# 包装模型：开始时广播 rank 0 的权重，`loss.backward()` 返回时把梯度复制到几个大的扁平**桶**（bucket）中
# 取平均，每个桶一次 all-reduce（[`make_buckets`](../../minilm/nn/data_parallel.py#L76-L91)）：每条消息都要
# 付出一次延迟，而网络只有在大消息上才能跑满带宽。
#
# ### 练习 1：`shard_rows(batch_size, rank, world_size)`
#
# 返回进程 `rank` 负责的行的切片：大小相等的连续份额，rank 0 在最前面。批次不能均分时必须抛出 ValueError
# （份额不等会让各进程平均损失的权重出错）。

# %%
check(12, only="shard_rows")

# %% [markdown]
# ## 2. 环形 all-reduce
#
# **all-reduce** 让每个进程都得到所有进程数组之和（[`all_reduce`](../../minilm/distributed/__init__.py#L203-L227)，
# 通过 MPI，或在 GPU 上通过 NCCL）。最朴素的做法是大家都把数组发给 rank 0，由它把和发回去，这样 rank 0 的链路要
# 承载 2 (W-1) 个数组。**环形**算法把每个数组切成 W 块，并把进程排成一个圆环：
#
# 1. **reduce-scatter**，共 W-1 步：第 s 步，进程 r 把第 (r - s) mod W 块发给进程 r+1，后者把它加到自己的那一块
#    上。结束后，进程 r 持有第 (r + 1) mod W 块的完整和。
# 2. **all-gather**，共 W-1 步：沿着同一个圆环把已经求好和的块依次传下去，每个进程用收到的块覆盖自己的副本，
#    直到每个进程都拥有所有求好和的块。
#
# 每个进程发送 2 (W-1) 块、每块大小为 N / W：共 2 (W-1)/W · N 个值，无论 W 是多少都接近 2N。这就是同一个算法
# 既能用于 2 块 GPU、也能用于 2000 块 GPU 的原因。
#
# ### 练习 2：`ring_all_reduce(arrays)`
#
# `arrays` 是 W 个等长的一维数组，每个模拟进程一个。在副本上运行上面两个阶段，返回（W 个结果组成的列表，每个
# 进程发送的值的个数）。检查会把每个结果与总和比较，并把发送数与 2 (W-1)/W · N 比较。

# %%
check(12, only="ring_all_reduce")

# %% [markdown]
# ## 3. 能期待多大的加速
#
# 在反向传播之后才做归约（不重叠）的情况下，W 个进程上的一步耗时等于单进程一步的时间 t1（每个进程保持自己的
# 批次大小，所以全局批次变为 W 倍），再加上环形通信的传输量和延迟：
#
# t(W) = t1 + 2 (W-1)/W · G / bandwidth + 2 (W-1) · latency，加速比(W) = W · t1 / t(W)
#
# 其中 G 是梯度的字节数。`benchmarks/distributed.py` 在本机上测出 t1 和 all-reduce 的速度，并打印这个预测。
# 下图用的是 nanoGPT CPU 配置大小的 GPT（约 80 万个参数，float32），t1 = 100 ms：
#
# ### 练习 3：`predicted_step_time(t1, gradient_bytes, processes, bandwidth, latency)`
#
# 返回以秒为单位的 t(W)（带宽单位为字节每秒，延迟单位为秒）。

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
# 小模型的梯度只有几 MB：在 10 Gbit/s 的网络上，环形通信只需几毫秒，加速比接近完美；在 1 Gbit/s 上，它大约要
# 花半步的时间（2 · 3.2 MB 以 125 MB/s 传输需要 51 ms，而 t1 = 100 ms）。有数十亿参数的模型每一步要传输几 GB，
# 这时网络，以及让 all-reduce 与反向传播重叠进行，就成了决定性的因素。
#
# ## 4. 真的跑起来：两个进程
#
# 安装 `distributed` 扩展（`pip install -e '.[distributed]'`：mpi4py 和 MPICH 的 `mpiexec`）之后，
# `minilm train --nproc 2` 会在本机启动两个进程。它们的损失都由 rank 0 打印，并且与单进程训练的损失一致
# （同样的全局批次，一分为二）：

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
# ## 小结
#
# - 数据并行：到处都是同一个模型，每个进程负责批次的一部分，梯度取平均：恰好就是整个批次的梯度。
# - 环形 all-reduce 让每个进程传输数据量的 2 (W-1)/W，无论 W 是多少。
# - t(W) = t1 + 通信时间：小模型在普通网络上就能扩展；大模型需要快速的网络。
#
# 下一课（第 13 课）把这些组件用到本课程开始时提到的那些任务上。

# %%
check(12)
