"""Lesson 11 checks: two kernels compiled and run by minilm's SIMT emulator (the reduction under three
thread schedules), and bfloat16 rounding against minilm.bfloat16."""
import numpy as np

from minilm.bfloat16 import round_to_bfloat16
from minilm.course.checking import expect, expect_close
from minilm.kernels import emulator


def check_axpy(ex):
    """axpy computes a x + y for i < n and writes nothing past n (1000 elements, 8 blocks of 128 threads)"""
    kernel = emulator.RawModule(code=ex.axpy_source()).get_function("axpy")
    rng = np.random.default_rng(19)
    x = rng.standard_normal(1024).astype(np.float32)
    y = rng.standard_normal(1024).astype(np.float32)
    want = y.copy()
    want[:1000] = 2.5 * x[:1000] + y[:1000]
    kernel((8,), (128,), (x, y, np.float32(2.5), np.int32(1000)))
    expect_close(y[:1000], want[:1000], "y[:1000]", check_axpy.hint)
    expect(np.array_equal(y[1000:], want[1000:]), "the kernel wrote past n: threads 1000..1023 exist (8 blocks of "
           "128) and must do nothing", check_axpy.hint)


check_axpy.hint = ('int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) y[i] = a * x[i] + y[i]; in a function '
                   'declared extern "C" __global__ void axpy(const float* x, float* y, float a, int n)')
check_axpy.hint_zh = ('int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) y[i] = a * x[i] + y[i];，函数声明为 '
                      'extern "C" __global__ void axpy(const float* x, float* y, float a, int n)')


def check_block_sum(ex):
    """block_sum gives every block's sum with the threads run forward, reversed and shuffled"""
    kernel = emulator.RawModule(code=ex.block_sum_source()).get_function("block_sum")
    x = np.random.default_rng(20).standard_normal(1000).astype(np.float32)
    want = np.array([x[k * 256:(k + 1) * 256].sum() for k in range(4)])
    try:
        for schedule in ["forward", "reverse", "shuffle"]:
            emulator.set_schedule(schedule, seed=3)
            out = np.full(4, np.nan, np.float32)
            kernel((4,), (256,), (x, out, np.int32(len(x))))
            expect_close(out, want, f"the block sums with the threads run {schedule}", check_block_sum.hint, atol=1e-4)
    finally:
        emulator.set_schedule("forward")


check_block_sum.hint = ("__shared__ float partial[256]; load (0 past n); __syncthreads(); then for stride = 128, 64, ..., 1: "
                        "if (threadIdx.x < stride) partial[t] += partial[t + stride]; __syncthreads(); "
                        "thread 0 writes partial[0]. Every barrier must be reached by all threads (not inside the if)")
check_block_sum.hint_zh = ("__shared__ float partial[256]；加载（超出 n 的位置填 0）；__syncthreads()；然后 stride = 128, 64, ..., 1："
                           "if (threadIdx.x < stride) partial[t] += partial[t + stride]; __syncthreads();"
                           "由线程 0 写出 partial[0]。每个屏障都必须被所有线程执行到（不能放在 if 里面）")


def check_to_bfloat16(ex):
    """to_bfloat16 rounds like minilm's round_to_bfloat16: random values, exact ties, inf and NaN"""
    rng = np.random.default_rng(21)
    x = (rng.standard_normal(2000) * 10.0 ** rng.integers(-30, 30, 2000)).astype(np.float32)
    ties = (np.array([0x3F808000, 0x3F818000, 0xBF808000, 0x3F807FFF, 0x3F808001], np.uint32)).view(np.float32)
    special = np.array([np.inf, -np.inf, 0.0, -0.0, 3.4e38], np.float32)
    for name, values in [("random values", x), ("ties and near-ties", ties), ("inf, zeros, the largest", special)]:
        got = np.asarray(ex.to_bfloat16(values.copy()), dtype=np.float32)
        want = round_to_bfloat16(values)
        expect(np.array_equal(got.view(np.uint32), want.view(np.uint32)),
               f"{name}: {np.sum(got.view(np.uint32) != want.view(np.uint32))} of {len(values)} differ, first "
               f"{values[got.view(np.uint32) != want.view(np.uint32)][:3]}", check_to_bfloat16.hint)
    got = np.asarray(ex.to_bfloat16(np.array([np.nan], np.float32)))
    expect(np.isnan(got).all(), "NaN must stay NaN", check_to_bfloat16.hint)


check_to_bfloat16.hint = ("bits = x.view(np.uint32); keep_odd = (bits >> 16) & 1; rounded = (bits + 0x7FFF + keep_odd) "
                          "& 0xFFFF0000; view back as float32; put NaN back where x was NaN")
check_to_bfloat16.hint_zh = ("bits = x.view(np.uint32)；keep_odd = (bits >> 16) & 1；rounded = (bits + 0x7FFF + keep_odd) "
                             "& 0xFFFF0000；再看作 float32；在 x 为 NaN 的位置放回 NaN")
