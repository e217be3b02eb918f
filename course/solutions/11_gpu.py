"""Lesson 11: reference solutions."""
import numpy as np


def axpy_source():
    """CUDA C source of extern "C" __global__ void axpy(const float* x, float* y, float a, int n):
    y[i] = a * x[i] + y[i] for i < n, one element per thread."""
    return r"""
extern "C" __global__ void axpy(const float* x, float* y, float a, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = a * x[i] + y[i];
}
"""


def block_sum_source():
    """CUDA C source of extern "C" __global__ void block_sum(const float* x, float* out, int n) for blocks
    of 256 threads: out[blockIdx.x] = the sum of x[blockIdx.x * 256 ... + 255] (0 past n), by a tree
    reduction in shared memory with barriers."""
    return r"""
extern "C" __global__ void block_sum(const float* x, float* out, int n) {
    __shared__ float partial[256];
    int i = blockIdx.x * 256 + threadIdx.x;
    partial[threadIdx.x] = i < n ? x[i] : 0.f;
    __syncthreads();
    for (int stride = 128; stride > 0; stride /= 2) {
        if (threadIdx.x < stride) partial[threadIdx.x] += partial[threadIdx.x + stride];
        __syncthreads();
    }
    if (threadIdx.x == 0) out[blockIdx.x] = partial[0];
}
"""


def to_bfloat16(x):
    """float32 array -> float32 array of the nearest bfloat16 values (ties to even; NaN stays NaN)."""
    bits = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    keep_odd = (bits >> 16) & 1
    rounded = ((bits + 0x7FFF + keep_odd) & 0xFFFF0000).astype(np.uint32)
    out = rounded.view(np.float32)
    return np.where(np.isnan(x), np.float32(np.nan), out)
