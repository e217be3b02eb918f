"""Launching minilm's CUDA kernels: grid sizes, argument order and types, in one place.

Each function takes raw arrays and a device, and runs a kernel through an
object with CuPy's call shape `kernel(grid, block, args, shared_mem=...)`:
cupy.RawModule on "cuda", the CPU SIMT emulator's RawModule on "emu". The same
code serves both, so every launch the GPU would do is exercised on the CPU.
Operands are made contiguous first and scalars are explicit np.int32 /
np.float32 / np.int64, because a kernel sees raw memory and raw argument bytes.
"""
import os

import numpy as np

from ..backend import xp_of

KERNEL_DIR = os.path.dirname(os.path.abspath(__file__))
_modules = {}


def get_module(name, device):
    """The compiled module for minilm/kernels/<name>.cu on device "emu" or "cuda" (cached)."""
    key = (name, device)
    if key not in _modules:
        path = os.path.join(KERNEL_DIR, f"{name}.cu")
        if device == "emu":
            from .emulator import RawModule
            _modules[key] = RawModule(path=path)
        elif device == "cuda":
            import cupy

            from .nvrtc import include_options   # <mma.h> for the tensor-core kernels
            with open(path) as f:
                _modules[key] = cupy.RawModule(code=f.read(), options=("--std=c++17", *include_options()))
        else:
            raise ValueError(f"CUDA kernels run on 'cuda' or 'emu', not {device!r}")
    return _modules[key]


def _kernel(module, name, device):
    return get_module(module, device).get_function(name)


def _c(x):
    return xp_of(x).ascontiguousarray(x)


def _output(xp, shape, device):
    """A buffer for a kernel to fill. On "emu" it starts as NaN, so an element a kernel forgets
    to write shows up in every comparison instead of passing as whatever memory held."""
    return xp.full(shape, np.nan, np.float32) if device == "emu" else xp.empty(shape, np.float32)


TENSOR_CORE_VARIANTS = ("tf32", "bf16")   # matmul_wmma.cu; the others are the rungs of matmul.cu


def matmul(a, b, device, ta=False, tb=False, variant="matmul_blocked"):
    """op(a) @ op(b) for 2-D operands or 3-D batches (a batch of 1 is shared by every matrix).

    variant: a rung of matmul.cu (exact float32 on the CUDA cores), or "tf32" / "bf16" for the
    tensor-core kernels, which round float32 operands to that precision as they stage them.
    """
    xp = xp_of(a)
    a3, b3 = _c(a).reshape((-1,) + a.shape[-2:]), _c(b).reshape((-1,) + b.shape[-2:])
    M, K = (a3.shape[2], a3.shape[1]) if ta else a3.shape[1:]
    N = b3.shape[1] if tb else b3.shape[2]
    batch = max(len(a3), len(b3))
    c = _output(xp, (batch, M, N), device)
    tile, block = (16, (16, 16, 1)) if variant in ("matmul_naive", "matmul_tiled") else (128, (256, 1, 1))
    grid = ((N + tile - 1) // tile, (M + tile - 1) // tile, batch)
    strides = [np.int64(0 if len(x) == 1 else x[0].size) for x in (a3, b3)] + [np.int64(M * N)]
    sizes = (np.int32(M), np.int32(N), np.int32(K))
    if variant in TENSOR_CORE_VARIANTS:
        if ta and tb:
            raise ValueError("the tensor-core GEMM has NN, NT and TN kernels, not one with both operands transposed")
        layout = "tn" if ta else "nt" if tb else "nn"
        _kernel("matmul_wmma", f"matmul_wmma_{variant}_{layout}", device)(grid, block, (a3, b3, c, *sizes, *strides))
    else:
        _kernel("matmul", variant, device)(grid, block, (a3, b3, c, *sizes, np.int32(ta), np.int32(tb), *strides))
    return c if a.ndim == 3 or b.ndim == 3 else c[0]


def attention_forward(q, k, v, causal, scale, device):
    """q, k, v (..., T, D) -> O (..., T, D) and the log-sum-exp L (..., T)."""
    xp, shape = xp_of(q), q.shape
    T, D = shape[-2:]
    q3, k3, v3 = (_c(t).reshape(-1, T, D) for t in (q, k, v))
    o, lse = _output(xp, q3.shape, device), _output(xp, q3.shape[:2], device)
    grid = ((T + 3) // 4, len(q3))
    _kernel("attention", "attention_forward", device)(
        grid, (128,), (q3, k3, v3, o, lse, np.int32(T), np.int32(D), np.float32(scale), np.int32(causal)))
    return o.reshape(shape), lse.reshape(shape[:-1])


def attention_backward(q, k, v, o, lse, do, causal, scale, device):
    """dQ, dK, dV from the saved O and L (probabilities are recomputed, never stored)."""
    xp, shape = xp_of(q), q.shape
    T, D = shape[-2:]
    q3, k3, v3, o3, do3 = (_c(t).reshape(-1, T, D) for t in (q, k, v, o, do))
    lse2 = _c(lse).reshape(-1, T)
    rows = q3.shape[0] * T
    delta = _output(xp, (q3.shape[0], T), device)
    _kernel("attention", "attention_backward_preprocess", device)(
        ((rows + 3) // 4,), (128,), (o3, do3, delta, np.int32(rows), np.int32(D)))
    dq, dk, dv = (_output(xp, q3.shape, device) for _ in range(3))
    grid = ((T + 3) // 4, len(q3))
    common = (np.int32(T), np.int32(D), np.float32(scale), np.int32(causal))
    _kernel("attention", "attention_backward_dkdv", device)(grid, (128,), (q3, k3, v3, do3, lse2, delta, dk, dv) + common)
    _kernel("attention", "attention_backward_dq", device)(grid, (128,), (q3, k3, v3, do3, lse2, delta, dq) + common)
    return dq.reshape(shape), dk.reshape(shape), dv.reshape(shape)


def softmax_xent(logits, targets, dloss, ignore_index, smoothing, device):
    """Per-row losses (N,) and logit gradients (N, V) of logits (N, V) against targets (N,)."""
    xp = xp_of(logits)
    N, V = logits.shape
    loss, grad = _output(xp, N, device), _output(xp, (N, V), device)
    _kernel("softmax_xent", "softmax_xent", device)(
        (N,), (256,), (_c(logits), _c(targets.astype(np.int64)), _c(dloss.astype(np.float32)), loss, grad,
                       np.int32(V), np.int64(ignore_index), np.float32(smoothing)))
    return loss, grad


def layernorm_forward(x, weight, bias, eps, device):
    """y, mean, rstd for x (N, C) normalised over C."""
    xp = xp_of(x)
    N, C = x.shape
    y, mean, rstd = _output(xp, x.shape, device), _output(xp, N, device), _output(xp, N, device)
    _kernel("layernorm", "layernorm_forward", device)(
        ((N + 3) // 4,), (128,), (_c(x), _c(weight), _c(bias), y, mean, rstd, np.int32(N), np.int32(C), np.float32(eps)))
    return y, mean, rstd


def layernorm_backward(dy, x, weight, mean, rstd, device, rows_per_chunk=64):
    """dx (N, C), dweight (C,), dbias (C,); the parameter sums in a fixed order (deterministic)."""
    xp = xp_of(x)
    N, C = x.shape
    dy, x = _c(dy), _c(x)
    dx = _output(xp, x.shape, device)
    _kernel("layernorm", "layernorm_backward_dx", device)(
        ((N + 3) // 4,), (128,), (dy, x, _c(weight), mean, rstd, dx, np.int32(N), np.int32(C)))
    chunks = (N + rows_per_chunk - 1) // rows_per_chunk
    partial_w, partial_b = _output(xp, (chunks, C), device), _output(xp, (chunks, C), device)
    _kernel("layernorm", "layernorm_backward_params_partial", device)(
        ((C + 31) // 32, chunks), (32,), (dy, x, mean, rstd, partial_w, partial_b, np.int32(N), np.int32(C),
                                          np.int32(rows_per_chunk)))
    dw, db = _output(xp, C, device), _output(xp, C, device)
    _kernel("layernorm", "layernorm_backward_params_reduce", device)(
        ((C + 127) // 128,), (128,), (partial_w, partial_b, dw, db, np.int32(chunks), np.int32(C)))
    return dx, dw, db
