"""Lesson 11 exercises: replace each `raise NotImplementedError`, then run `minilm course check 11`.
The kernels are CUDA C, returned as strings; the checks compile them with minilm's SIMT emulator (g++)."""
import numpy as np


def axpy_source():
    """CUDA C source of extern "C" __global__ void axpy(const float* x, float* y, float a, int n):
    y[i] = a * x[i] + y[i] for i < n, one element per thread."""
    raise NotImplementedError("exercise 11.1: return the source of the axpy kernel")


def block_sum_source():
    """CUDA C source of extern "C" __global__ void block_sum(const float* x, float* out, int n) for blocks
    of 256 threads: out[blockIdx.x] = the sum of x[blockIdx.x * 256 ... + 255] (0 past n), by a tree
    reduction in shared memory with barriers."""
    raise NotImplementedError("exercise 11.2: return the source of the block_sum kernel")


def to_bfloat16(x):
    """float32 array -> float32 array of the nearest bfloat16 values (ties to even; NaN stays NaN)."""
    raise NotImplementedError("exercise 11.3: write to_bfloat16")
