# %% [markdown]
# # 第 11 课：GPU
#
# **本课内容**
#
# - 什么是 CUDA 内核（kernel）：由成千上万个线程运行的同一个函数，每个线程根据自己的线程块索引和线程索引
#   找到自己负责的元素；
# - 共享内存与屏障，以及 minilm 的 SIMT 模拟器如何在 CPU 上运行真正的内核（并通过改变线程的运行顺序，抓出
#   遗漏的屏障）；
# - 张量核心（tensor core）与 bfloat16：低精度的输入，float32 的累加。
#
# 你不需要 GPU：内核通过模拟器在 CPU 上运行（模拟器用 g++ 编译它们）。使用 `--device cuda` 时，本课自己的
# 内核会改为通过 CuPy 在 GPU 上运行。
#
# **练习**（在 `course/exercises/11_gpu.py` 中完成；运行 `minilm course check 11`）：
# 1. `axpy_source`：你的第一个内核，y = a x + y，带上每个内核都需要的越界检查。
# 2. `block_sum_source`：在共享内存中做归约，无论线程以什么顺序运行都正确。
# 3. `to_bfloat16`：用位运算把 float32 舍入为 bfloat16，平局时舍入到偶数。

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

from minilm.bfloat16 import round_to_bfloat16
from minilm.course import DEVICE, FAST, check, show
from minilm.kernels import emulator, launch

if DEVICE == "cuda":
    import cupy
    to_device, to_host = cupy.asarray, cupy.asnumpy
else:
    to_device, to_host = np.asarray, np.asarray

# %% [markdown]
# ## 1. 内核
#
# GPU 在由**线程块**（block）组成的**网格**（grid）上运行同一个函数，即**内核**；每个线程块中有若干**线程**
# （每块最多 1024 个线程，可以有成千上万个块）。每个线程运行相同的代码；唯一不同的是它的索引 `blockIdx` 和
# `threadIdx`，线程据此算出自己负责哪个元素。同一个线程块的线程在同一个多处理器上运行，每 32 个一组（一个
# **线程束**，warp）一起执行每条指令：单指令多线程（SIMT）。
#
# 最简单的矩阵乘法 [`matmul_naive`](../../minilm/kernels/matmul.cu#L41-L52) 让每个线程负责一个元素
# C[i][j]：i 来自 y 方向的索引，j 来自 x 方向的索引，对 K 做一次点积，并检查 (i, j) 是否在 C 的范围之内，
# 因为网格会向上取整为完整的线程块。minilm 通过 [`launch.matmul`](../../minilm/kernels/launch.py#L56-L79)
# 启动它，在 GPU 上（CuPy）和在 CPU 模拟器上（[`RawModule`](../../minilm/kernels/emulator/__init__.py#L267-L305)）
# 用的是同样的调用方式：

# %%
a = np.random.default_rng(0).standard_normal((50, 70)).astype(np.float32)
b = np.random.default_rng(1).standard_normal((70, 30)).astype(np.float32)
kernel_device = "cuda" if DEVICE == "cuda" else "emu"
c = to_host(launch.matmul(to_device(a), to_device(b), kernel_device, variant="matmul_naive"))
print("largest difference from NumPy:", np.abs(c - a @ b).max())

# %% [markdown]
# ### 练习 1：`axpy_source()`
#
# 返回 `extern "C" __global__ void axpy(const float* x, float* y, float a, int n)` 的 CUDA C 源代码：对每个
# i < n 令 y[i] = a · x[i] + y[i]，每个线程一个元素，i = blockIdx.x · blockDim.x + threadIdx.x。检查会用比元素
# 更多的线程来启动它，并确认 n 之后的位置没有被写入。

# %%
check(11, only="axpy")

# %% [markdown]
# ## 2. 共享内存与屏障
#
# `matmul_naive` 要从缓慢的全局内存中把每个操作数读 K 次。[`matmul_tiled`](../../minilm/kernels/matmul.cu#L57-L76)
# 让一个 16 × 16 的线程块把 A 和 B 的一个 16 × 16 分块复制到**共享内存**（位于多处理器上，速度快，整个线程块
# 都能看到）中，每个值重复使用 16 次。在写完分块和读取分块之间，每个线程都必须等待其他所有线程：这就是
# `__syncthreads()`，一个**屏障**。忘了它，某个线程就可能读到别的线程还没写入的分块元素：结果取决于线程碰巧
# 以什么顺序运行。
#
# 在 GPU 上，这样的错误可能一千次测试都通过。模拟器能让它现形：在两个屏障之间，它可以按正序、倒序或随机打乱的
# 顺序运行一个线程块中的线程（[`set_schedule`](../../minilm/kernels/emulator/__init__.py#L70-L75)）。下面是一个
# 漏掉了屏障的块内求和：

# %%
RACY_SUM = r"""
extern "C" __global__ void block_sum(const float* x, float* out, int n) {
    __shared__ float partial[256];
    int i = blockIdx.x * 256 + threadIdx.x;
    partial[threadIdx.x] = i < n ? x[i] : 0.f;
    // missing: __syncthreads();
    if (threadIdx.x == 0) {
        float total = 0.f;
        for (int t = 0; t < 256; ++t) total += partial[t];
        out[blockIdx.x] = total;
    }
}
"""
x = np.random.default_rng(2).standard_normal(1000).astype(np.float32)
racy = emulator.RawModule(code=RACY_SUM).get_function("block_sum")
correct = np.array([x[k * 256:(k + 1) * 256].sum() for k in range(4)])
print(f"correct:          {np.round(correct, 3)}")
for schedule in ["forward", "reverse"]:
    emulator.set_schedule(schedule)
    out = np.zeros(4, np.float32)
    racy((4,), (256,), (x, out, np.int32(len(x))))
    print(f"{schedule + ' threads:':17s} {np.round(out, 3)}")
emulator.set_schedule("forward")

# %% [markdown]
# 按正序运行时，线程 0 最先运行，读到的是其他线程还没写入的位置：求和结果错误。按倒序运行时，线程 0 最后运行，
# 此时大家都已写完，错误就被掩盖了：同样的代码，对还是错取决于一个 CUDA 从未承诺过的顺序。minilm 的测试会在
# 全部三种调度下运行每一个内核。
#
# ### 练习 2：`block_sum_source()`
#
# 正确地写出块内求和：每个 256 线程的线程块把它的 256 个元素加载到共享内存中（超出 n 的位置填 0），然后每一步
# 把活跃线程数减半（步长 128、64、……、1：线程 t < stride 把 partial[t + stride] 加到 partial[t] 上），加载
# 之后和每一步之后都要有一个屏障。由线程 0 写出 out[blockIdx.x]。检查会按正序、倒序和打乱的顺序运行它。

# %%
check(11, only="block_sum")

# %% [markdown]
# ## 3. 张量核心与 bfloat16
#
# **张量核心**在一条指令中完成小矩阵分块（16 × 16 × 16）的乘法，比普通核心快 8 到 16 倍，输入精度较低，求和用
# float32。minilm 的 [`matmul_wmma.cu`](../../minilm/kernels/matmul_wmma.cu#L1-L24) 在把 float32 操作数放进
# 共享内存时，把它们舍入为 TF32 或 bfloat16。**bfloat16** 保留了 float32 的符号位和 8 位指数（范围相同，最大到
# 3e38），但尾数只有 7 位：相对步长为 2⁻⁸。float16 的尾数更多（10 位），但指数只有 5 位：小于 6e-5 的数会损失
# 精度，大于 65504 的数会溢出。对训练来说，范围更重要：梯度往往非常小。下图展示了两种格式在不同数量级上的相对
# 舍入误差（[`round_to_bfloat16`](../../minilm/bfloat16.py#L60-L62)；位运算的推导见
# [它的文档字符串](../../minilm/bfloat16.py#L1-L30)）：

# %%
values = np.logspace(-10, 6, 2000).astype(np.float32)
with np.errstate(over="ignore", invalid="ignore"):
    bf16_error = np.abs(round_to_bfloat16(values) - values) / values
    fp16_error = np.abs(values.astype(np.float16).astype(np.float32) - values) / values
fig, ax = plt.subplots(figsize=(6.5, 3.5))
ax.loglog(values, np.maximum(bf16_error, 1e-9), ".", markersize=2, label="bfloat16")
ax.loglog(values, np.clip(np.nan_to_num(fp16_error, nan=1.0, posinf=1.0), 1e-9, 1.0), ".", markersize=2, label="float16")
ax.set_xlabel("value")
ax.set_ylabel("relative rounding error")
ax.set_title("float16 is finer in its range; bfloat16 covers float32's")
ax.legend()
show(fig, "11_bfloat16")

# %% [markdown]
# 两端误差为 1，表示 float16 把这个值完全丢掉了：小于 6e-8 时变成 0，大于 65504 时变成 inf。bfloat16 在各处都
# 保留大约 3 位有效数字。
#
# ### 练习 3：`to_bfloat16(x)`
#
# 把一个 float32 数组舍入到最近的 bfloat16（仍以 float32 的值返回），平局时舍入到偶数，要求在位模式
# （`x.view(np.uint32)`）上用整数运算完成：加上 0x7FFF 再加上保留部分的最低位，然后清零低 16 位。NaN 要保持为
# NaN。检查会与 minilm 的 `round_to_bfloat16` 比较，包括平局的情况。

# %%
check(11, only="to_bfloat16")

# %% [markdown]
# bf16 操作数对矩阵乘积有什么影响：张量核心内核（在模拟器或 GPU 上）与 float32 的对比。

# %%
if not FAST or DEVICE == "cuda":
    start = time.perf_counter()
    c16 = to_host(launch.matmul(to_device(a), to_device(b), kernel_device, variant="bf16"))
    print(f"bf16 tensor-core product: largest relative error {np.abs(c16 - a @ b).max() / np.abs(a @ b).max():.1e} "
          f"({time.perf_counter() - start:.1f} s, compiling included)")
c_rounded = round_to_bfloat16(a) @ round_to_bfloat16(b)
print(f"float32 product of bf16-rounded operands: largest relative error {np.abs(c_rounded - a @ b).max() / np.abs(a @ b).max():.1e}")

# %% [markdown]
# ## 小结
#
# - 内核是在一个线程网格上运行的同一个函数；每个线程根据自己的索引找到自己的元素，并检查是否越界。
# - 共享内存让一个线程块可以重复使用数据；屏障让这种重复使用变得安全。模拟器通过调整线程顺序来暴露遗漏的屏障。
# - 张量核心以低精度的分块做乘法、用 float32 求和；bfloat16 用尾数精度换取 float32 的范围。
#   `minilm train --dtype bfloat16` 就是这样训练的。
#
# 下一课（第 12 课）把训练分散到多个进程上。

# %%
check(11)
