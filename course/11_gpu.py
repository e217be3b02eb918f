# %% [markdown]
# # Lesson 11: The GPU
#
# **What you will learn**
#
# - what a CUDA kernel is: one function run by thousands of threads, each finding its own element
#   from its block and thread index;
# - shared memory and barriers, and how minilm's SIMT emulator runs the real kernels on a CPU (and
#   catches a missing barrier by changing the order in which threads run);
# - tensor cores and bfloat16: lower-precision inputs, float32 accumulation.
#
# You need no GPU: the kernels run on the CPU through the emulator (it compiles them with g++). With
# `--device cuda` the lesson's own kernels run on the GPU through CuPy instead.
#
# **Exercises** (in `course/exercises/11_gpu.py`; `minilm course check 11`):
# 1. `axpy_source`: your first kernel, y = a x + y, with the bounds check every kernel needs.
# 2. `block_sum_source`: a reduction in shared memory, correct whatever order the threads run in.
# 3. `to_bfloat16`: round float32 to bfloat16 with bit arithmetic, ties to even.

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
# ## 1. A kernel
#
# A GPU runs one function, the **kernel**, on a **grid** of **blocks** of **threads** (up to 1024 threads a
# block, thousands of blocks). Every thread runs the same code; the only thing that differs is its
# index, `blockIdx` and `threadIdx`, from which it computes which element it owns. Threads of a block run
# on one multiprocessor, in groups of 32 (a **warp**) that execute each instruction together: single
# instruction, multiple threads (SIMT).
#
# The simplest matrix product, [`matmul_naive`](../minilm/kernels/matmul.cu#L41-L52), gives each thread
# one element C[i][j]: i from the y indices, j from the x indices, a dot product over K, and a check
# that (i, j) lies inside C, since the grid is rounded up to whole blocks. minilm launches it through
# [`launch.matmul`](../minilm/kernels/launch.py#L56-L79), with the same call on a GPU (CuPy) and on the
# CPU emulator ([`RawModule`](../minilm/kernels/emulator/__init__.py#L267-L305)):

# %%
a = np.random.default_rng(0).standard_normal((50, 70)).astype(np.float32)
b = np.random.default_rng(1).standard_normal((70, 30)).astype(np.float32)
kernel_device = "cuda" if DEVICE == "cuda" else "emu"
c = to_host(launch.matmul(to_device(a), to_device(b), kernel_device, variant="matmul_naive"))
print("largest difference from NumPy:", np.abs(c - a @ b).max())

# %% [markdown]
# ### Exercise 1: `axpy_source()`
#
# Return the CUDA C source of `extern "C" __global__ void axpy(const float* x, float* y, float a, int n)`,
# which sets y[i] = a · x[i] + y[i] for every i < n, one element per thread, i = blockIdx.x · blockDim.x +
# threadIdx.x. The check launches it with more threads than elements and makes sure nothing past n is
# written.

# %%
check(11, only="axpy")

# %% [markdown]
# ## 2. Shared memory and barriers
#
# `matmul_naive` reads every operand K times from slow global memory. [`matmul_tiled`](../minilm/kernels/matmul.cu#L57-L76)
# lets a block of 16 × 16 threads copy a 16 × 16 tile of A and of B into **shared memory** (fast, on the
# multiprocessor, visible to the whole block) and reuse each value 16 times. Between writing the tiles
# and reading them, every thread must wait for all the others: `__syncthreads()`, a **barrier**. Forget it,
# and a thread may read a tile element another thread has not written yet: the result depends on the
# order in which the threads happen to run.
#
# On a GPU such a bug can pass a test a thousand times. The emulator makes it visible: between barriers
# it can run a block's threads forward, in reverse or shuffled
# ([`set_schedule`](../minilm/kernels/emulator/__init__.py#L70-L75)). Here is a block sum that forgets a
# barrier:

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
# Run forward, thread 0 runs first and reads slots the other threads have not written yet: wrong sums.
# In reverse, thread 0 runs last, after everyone has written, and the bug hides: the same code, right or
# wrong depending on an order CUDA never promises. minilm's tests run every kernel under all three
# schedules.
#
# ### Exercise 2: `block_sum_source()`
#
# Write the block sum properly: each block of 256 threads loads its 256 elements into shared memory
# (0 past n), then halves the number of active threads at each step (stride 128, 64, ..., 1: thread t < stride
# adds partial[t + stride] into partial[t]), with a barrier after the load and after every step. Thread 0
# writes out[blockIdx.x]. The check runs it forward, reversed and shuffled.

# %%
check(11, only="block_sum")

# %% [markdown]
# ## 3. Tensor cores and bfloat16
#
# A **tensor core** multiplies small matrix tiles (16 × 16 × 16) in one instruction, 8-16 times faster
# than the ordinary cores, on lower-precision inputs with a float32 sum. minilm's
# [`matmul_wmma.cu`](../minilm/kernels/matmul_wmma.cu#L1-L24) rounds float32 operands to TF32 or bfloat16
# as it stages them. **bfloat16** keeps float32's sign and 8-bit exponent (the same range, up to 3e38)
# but only 7 mantissa bits: a relative step of 2⁻⁸. float16 has more mantissa (10 bits) but a 5-bit
# exponent: values below 6e-5 lose precision and above 65504 overflow. For training, range matters more:
# gradients are tiny. The picture shows the relative rounding error of each format across magnitudes
# ([`round_to_bfloat16`](../minilm/bfloat16.py#L60-L62); the bit arithmetic is in [its docstring](../minilm/bfloat16.py#L1-L30)):

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
# An error of 1 at the edges means float16 lost the value entirely: flushed to 0 below 6e-8, inf above
# 65504. bfloat16 keeps about 3 significant digits everywhere.
#
# ### Exercise 3: `to_bfloat16(x)`
#
# Round a float32 array to the nearest bfloat16 (returned as float32 values), ties to even, with integer
# operations on the bit pattern (`x.view(np.uint32)`): add 0x7FFF plus the lowest kept bit, then clear the
# low 16 bits. Keep NaN a NaN. The check compares with minilm's `round_to_bfloat16`, ties included.

# %%
check(11, only="to_bfloat16")

# %% [markdown]
# What bf16 operands do to a product: the tensor-core kernel (on the emulator, or the GPU) against float32.

# %%
if not FAST or DEVICE == "cuda":
    start = time.perf_counter()
    c16 = to_host(launch.matmul(to_device(a), to_device(b), kernel_device, variant="bf16"))
    print(f"bf16 tensor-core product: largest relative error {np.abs(c16 - a @ b).max() / np.abs(a @ b).max():.1e} "
          f"({time.perf_counter() - start:.1f} s, compiling included)")
c_rounded = round_to_bfloat16(a) @ round_to_bfloat16(b)
print(f"float32 product of bf16-rounded operands: largest relative error {np.abs(c_rounded - a @ b).max() / np.abs(a @ b).max():.1e}")

# %% [markdown]
# ## Summary
#
# - A kernel is one function on a grid of threads; each finds its element from its indices and checks
#   the bounds.
# - Shared memory lets a block reuse data; barriers make the reuse safe. The emulator reorders threads
#   to expose a missing one.
# - Tensor cores multiply low-precision tiles with float32 sums; bfloat16 trades mantissa for float32's
#   range. `minilm train --dtype bfloat16` trains this way.
#
# Next, lesson 12 spreads training over several processes.

# %%
check(11)
