"""Matrix products: batched matmul and the fused linear layer.

For Y = A B with A: (..., M, K), B: (..., K, N):
    dL/dA = dL/dY B^T      (..., M, N) @ (..., N, K)
    dL/dB = A^T dL/dY      (..., K, M) @ (..., M, N)
summed over any batch axes that broadcasting stretched.

`linear` (y = x W^T + b, W stored (out, in) as in PyTorch) is one node instead
of three (transpose, matmul, add): it folds every leading axis of x into one,
so each product is a single 2-D product on contiguous memory.

Faster versions are registered beside these: products cut into row blocks
across the CPU cores (minilm/fast/matmul.py) and minilm's GEMM kernels on
"cuda"/"emu" (minilm/kernels/fast_matmul.py). Autocast (minilm/amp.py) rounds
the operands of both ops to bf16/fp16 from outside: nothing here knows of it.
"""
from ..autograd import Function
from ..backend import xp_of
from .elementwise import sum_to_shape


def check_matmul_shapes(a, b):
    if a.ndim < 2 or b.ndim < 2 or a.shape[-1] != b.shape[-2]:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not line up "
                         f"(need (..., M, K) @ (..., K, N))")


def check_linear_shapes(x, weight):
    if x.shape[-1] != weight.shape[1]:
        raise ValueError(f"linear: input of shape {x.shape} has {x.shape[-1]} features, "
                         f"but the weight of shape {weight.shape} expects {weight.shape[1]}")


class MatMul(Function):
    def forward(self, a, b):
        check_matmul_shapes(a, b)
        self.a, self.b = a, b
        try:
            return a @ b                                                 # (..., M, N)
        except ValueError:
            raise ValueError(f"matmul: batch dims of {a.shape} and {b.shape} do not broadcast") from None

    def backward(self, gy):
        xp, a, b = xp_of(gy), self.a, self.b
        ga = sum_to_shape(gy @ xp.swapaxes(b, -1, -2), a.shape) if self.needs_input_grad[0] else None
        gb = sum_to_shape(xp.swapaxes(a, -1, -2) @ gy, b.shape) if self.needs_input_grad[1] else None
        return ga, gb


class Linear(Function):
    """y = x W^T + b.  x: (..., in), W: (out, in), b: (out,) -> y: (..., out).

    With x2 = x viewed as (N, in) and gy2 = gy as (N, out):
        dL/dx = gy2 W        (N, in)
        dL/dW = gy2^T x2     (out, in)
        dL/db = sum_n gy2    (out,)
    """

    def forward(self, x, weight, bias=None):
        check_linear_shapes(x, weight)
        self.x2 = x.reshape(-1, x.shape[-1])                             # (N, in)
        self.weight, self.x_shape = weight, x.shape
        y = self.x2 @ weight.T                                           # (N, out)
        if bias is not None:
            y += bias
        return y.reshape(*x.shape[:-1], weight.shape[0])                 # (..., out)

    def backward(self, gy):
        gy2 = gy.reshape(-1, gy.shape[-1])                               # (N, out)
        needs = self.needs_input_grad
        gx = (gy2 @ self.weight).reshape(self.x_shape) if needs[0] else None
        gw = gy2.T @ self.x2 if needs[1] else None
        if len(needs) == 2:
            return gx, gw
        return gx, gw, (gy2.sum(axis=0) if needs[2] else None)
