"""Matrix products: batched matmul and the fused linear layer.

For Y = A B with A: (..., M, K), B: (..., K, N):
    dL/dA = dL/dY B^T      (..., M, N) @ (..., N, K)
    dL/dB = A^T dL/dY      (..., K, M) @ (..., M, N)
summed over any batch axes that broadcasting stretched.

`linear` (y = x W^T + b, W stored (out, in) as in PyTorch) is one node instead
of three (transpose, matmul, add): it folds every leading axis of x into one,
so each product is a single 2-D BLAS call on contiguous memory.
"""
import numpy as np

from .. import amp, kernels
from ..amp import round_operand
from ..autograd import Function
from ..backend import xp_of
from .elementwise import sum_to_shape
from .reduction import ones, sum_rows
from .split_product import matmul_2d, matmul_many


def product(a, b, device, ta=False, tb=False, precision=None):
    """op(a) @ op(b): minilm's GEMM kernel on "cuda"/"emu" for float32, else the array library's.

    precision: None, or "bfloat16"/"float16" inside autocast (minilm/amp.py): float32 operands
    are rounded to it and the products accumulated in float32 (bf16 on "cuda"/"emu": the
    tensor-core kernel, which rounds as it loads). Plain float32 products on the kernels use
    the variant kernels.set_float32_matmul_precision chose: exact SIMT, TF32 or bf16.
    """
    use_kernel = kernels.enabled(device) and a.dtype == b.dtype == np.float32 and _kernel_batchable(a, b)
    if precision is not None and a.dtype == b.dtype == np.float32 and not (use_kernel and precision == "bfloat16"):
        a, b = round_operand(a, precision), round_operand(b, precision)
    if use_kernel:
        from ..kernels.launch import matmul
        variant = "bf16" if precision == "bfloat16" else kernels.float32_gemm()
        out = matmul(a.reshape((-1,) + a.shape[-2:]), b.reshape((-1,) + b.shape[-2:]), device, ta, tb, variant)
        return out.reshape(a.shape[:-2] + out.shape[-2:]) if a.ndim > 2 else out.reshape(b.shape[:-2] + out.shape[-2:])
    xp = xp_of(a)
    a, b = (xp.swapaxes(a, -1, -2) if ta else a), (xp.swapaxes(b, -1, -2) if tb else b)
    return matmul_2d(a, b) if xp is np and a.ndim == b.ndim == 2 else a @ b   # (all cores: split_product.py)


def _kernel_batchable(a, b):
    """The kernel batches over one leading axis, with equal batch shapes or one plain matrix."""
    return a.ndim == 2 or b.ndim == 2 or a.shape[:-2] == b.shape[:-2]


class MatMul(Function):
    def forward(self, a, b):
        if a.ndim < 2 or b.ndim < 2 or a.shape[-1] != b.shape[-2]:
            raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not line up "
                             f"(need (..., M, K) @ (..., K, N))")
        self.a, self.b = a, b
        self.precision = amp.matmul_precision(self.device)
        try:
            return product(a, b, self.device, precision=self.precision)
        except ValueError:
            raise ValueError(f"matmul: batch dims of {a.shape} and {b.shape} do not broadcast") from None

    def backward(self, gy):
        a, b, p = self.a, self.b, self.precision
        ga = sum_to_shape(product(gy, b, self.device, tb=True, precision=p), a.shape) if self.needs_input_grad[0] else None
        gb = sum_to_shape(product(a, gy, self.device, ta=True, precision=p), b.shape) if self.needs_input_grad[1] else None
        return ga, gb


class Linear(Function):
    """y = x W^T + b.  x: (..., in), W: (out, in), b: (out,) -> y: (..., out).

    With x2 = x viewed as (N, in) and gy2 = gy as (N, out):
        dL/dx = gy2 W        (N, in)
        dL/dW = gy2^T x2     (out, in)
        dL/db = sum_n gy2    (out,)
    """

    def forward(self, x, weight, bias=None):
        if x.shape[-1] != weight.shape[1]:
            raise ValueError(f"linear: input of shape {x.shape} has {x.shape[-1]} features, "
                             f"but the weight of shape {weight.shape} expects {weight.shape[1]}")
        self.x2 = x.reshape(-1, x.shape[-1])
        self.weight, self.x_shape = weight, x.shape
        self.precision = amp.matmul_precision(self.device)
        if self.device == "cpu" and self.precision is None:     # the bias added while each block is in cache
            y = matmul_2d(self.x2, weight.T, bias)
        else:
            y = product(self.x2, weight, self.device, tb=True, precision=self.precision)
            if bias is not None:
                y += bias
        return y.reshape(*x.shape[:-1], weight.shape[0])

    def backward(self, gy):
        gy2 = gy.reshape(-1, gy.shape[-1])
        p = self.precision
        wants_gb = len(self.needs_input_grad) == 3 and self.needs_input_grad[2]
        if self.device == "cpu" and p is None and all(self.needs_input_grad[:2]):
            # The three products side by side on the pool's threads; db = 1^T gy2 is the third.
            pairs = [(gy2, self.weight), (gy2.T, self.x2)] + [(ones(len(gy2), gy2)[None], gy2)] * wants_gb
            gx, gw, *gb = matmul_many(pairs)
            gx, gb = gx.reshape(self.x_shape), (gb[0][0] if gb else None)
        else:
            gx = product(gy2, self.weight, self.device, precision=p).reshape(self.x_shape) if self.needs_input_grad[0] else None
            gw = product(gy2, self.x2, self.device, ta=True, precision=p) if self.needs_input_grad[1] else None
            gb = sum_rows(gy2) if wants_gb else None
        return (gx, gw) if len(self.needs_input_grad) == 2 else (gx, gw, gb)
