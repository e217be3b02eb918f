"""Matrix products on minilm's GEMM kernels (matmul.cu, matmul_wmma.cu), for float32 on "cuda" and "emu".

The same ops as minilm/ops/matmul.py, each product one launch of
launch.matmul, which reads transposed operands in place (ta/tb) instead of
copying them. Which kernel:

- float32: the variant set_float32_matmul_precision chose (switch.float32_gemm():
  exact SIMT float32 by default, TF32 or bf16 tensor cores on request);
- inside autocast with bfloat16 (minilm/amp.py sets self.precision): the bf16
  tensor-core kernel, which rounds the float32 operands to bf16 as it loads them
  and accumulates in float32, so autocast hands it the operands unrounded
  (`rounds_bfloat16_operands`). With float16 autocast rounds them first and the
  float32 variant multiplies them.

The kernel batches over one leading axis: equal batch shapes, or one operand a
plain matrix; other broadcasts run the reference.
"""
import numpy as np

from ..backend import xp_of
from ..dispatch import register
from ..fast.reductions import sum_rows
from ..ops.elementwise import sum_to_shape
from ..ops.matmul import Linear, MatMul, check_linear_shapes, check_matmul_shapes
from . import launch
from .switch import enabled, float32_gemm


class KernelProducts:
    """What both kernel ops share: the GEMM variant, and op(a) @ op(b) over batch axes."""
    precision = None                # "bfloat16" / "float16" inside autocast (minilm/amp.py)
    rounds_bfloat16_operands = True

    def product(self, a, b, ta=False, tb=False):
        variant = "bf16" if self.precision == "bfloat16" else float32_gemm()
        out = launch.matmul(a.reshape((-1,) + a.shape[-2:]), b.reshape((-1,) + b.shape[-2:]),
                            self.device, ta, tb, variant)
        batch = a.shape[:-2] if a.ndim > 2 else b.shape[:-2]
        return out.reshape(batch + out.shape[-2:])


class KernelMatMul(KernelProducts, MatMul):
    def applies(self, a, b):
        return (enabled(self.device) and a.dtype == b.dtype == np.float32
                and (a.ndim == 2 or b.ndim == 2 or a.shape[:-2] == b.shape[:-2]))

    def forward(self, a, b):
        check_matmul_shapes(a, b)
        self.a, self.b = a, b
        return self.product(a, b)                                        # (..., M, N)

    def backward(self, gy):
        a, b = self.a, self.b
        ga = sum_to_shape(self.product(gy, b, tb=True), a.shape) if self.needs_input_grad[0] else None
        gb = sum_to_shape(self.product(a, gy, ta=True), b.shape) if self.needs_input_grad[1] else None
        return ga, gb


class KernelLinear(KernelProducts, Linear):
    def applies(self, x, weight, bias=None):
        return enabled(self.device) and x.dtype == weight.dtype == np.float32

    def forward(self, x, weight, bias=None):
        check_linear_shapes(x, weight)
        self.x2 = x.reshape(-1, x.shape[-1])                             # (N, in)
        self.weight, self.x_shape = weight, x.shape
        y = self.product(self.x2, weight, tb=True)                       # (N, out)
        if bias is not None:
            y += bias
        return y.reshape(*x.shape[:-1], weight.shape[0])

    def backward(self, gy):
        gy2, needs = gy.reshape(-1, gy.shape[-1]), self.needs_input_grad  # (N, out)
        gx = self.product(gy2, self.weight).reshape(self.x_shape) if needs[0] else None
        gw = self.product(gy2, self.x2, ta=True) if needs[1] else None
        if len(needs) == 2:
            return gx, gw
        return gx, gw, (sum_rows(gy2) if needs[2] else None)


register(MatMul, "cuda", KernelMatMul)
register(MatMul, "emu", KernelMatMul)
register(Linear, "cuda", KernelLinear)
register(Linear, "emu", KernelLinear)
