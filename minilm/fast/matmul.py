"""Large matrix products cut into row blocks, one block per thread of minilm's pool.

minilm runs BLAS on one thread and keeps the cores for its own threads
(fast/threads.py), so a product that should use every core is cut here:

    C = A B        A: (M, K), B: (K, N), C: (M, N)
    C[r0:r1] = A[r0:r1] B       for row blocks [r0, r1) of M, on different threads

Each block is an ordinary BLAS call on a view of A (any stride, A may be a
transposed view) writing into its rows of C. The result equals the product on
one thread to rounding, not bit for bit: BLAS sums a block's edge tiles in
another order than the whole matrix's (for one thread count a run repeats
exactly). Several independent products (a linear layer's dL/dx and dL/dW) are
cut together, so that each thread gets the same amount of work: two products
of equal size on two threads run whole, one on each thread.

A product smaller than SPLIT_WORK multiply-adds stays on the calling thread:
handing a block to a helper costs ~10-40 us, what a core does in ~1M
multiply-adds.

RowSplitMatMul and RowSplitLinear are ops/matmul.py's MatMul (2-D operands)
and Linear on these products; Linear's bias is added to each block of rows
right after its product, while it is in cache, and its gradient sum_n gy2 is
one more product, 1^T gy2, cut with the other two.
"""
import numpy as np

from ..dispatch import register
from ..ops.matmul import Linear, MatMul, check_linear_shapes, check_matmul_shapes
from . import threads
from .reductions import ones, sum_rows

SPLIT_WORK = 1 << 22   # multiply-adds (~4M, ~80 us on one core) from which a product is shared


def row_split_matmul(*pairs, bias=None):
    """[a @ b for (a, b) in pairs] for 2-D NumPy arrays (views allowed), all cut together into
    row blocks across minilm's threads when they are large. `bias` (N,), when given, is added
    to the first product."""
    work = [a.shape[0] * a.shape[1] * b.shape[1] for a, b in pairs]
    count_threads = threads.threads()
    if count_threads < 2 or sum(work) < SPLIT_WORK:
        outs = [a @ b for a, b in pairs]
        if bias is not None:
            outs[0] += bias
        return outs
    outs = [np.empty((a.shape[0], b.shape[1]), np.result_type(a, b)) for a, b in pairs]
    blocks = []                                     # (a rows, b, out rows, bias), about sum(work) / threads each
    for (a, b), out, w in zip(pairs, outs, work):
        count = max(1, min(a.shape[0], round(count_threads * w / sum(work))))
        bounds = [a.shape[0] * k // count for k in range(count + 1)]
        blocks += [(a[r0:r1], b, out[r0:r1], bias if out is outs[0] else None) for r0, r1 in zip(bounds, bounds[1:])]
    threads.split_work(_block_product, blocks)
    return outs


def _block_product(a_rows, b, out_rows, bias):
    np.matmul(a_rows, b, out=out_rows)
    if bias is not None:
        out_rows += bias


class RowSplitMatMul(MatMul):
    """A @ B for 2-D NumPy operands (batched ones run the reference's `@`)."""

    def applies(self, a, b):
        return a.ndim == b.ndim == 2

    def forward(self, a, b):
        check_matmul_shapes(a, b)
        self.a, self.b = a, b
        return row_split_matmul((a, b))[0]                               # (M, N)

    def backward(self, gy):
        ga = row_split_matmul((gy, self.b.T))[0] if self.needs_input_grad[0] else None   # (M, K)
        gb = row_split_matmul((self.a.T, gy))[0] if self.needs_input_grad[1] else None   # (K, N)
        return ga, gb


class RowSplitLinear(Linear):
    def applies(self, x, weight, bias=None):
        return True

    def forward(self, x, weight, bias=None):
        check_linear_shapes(x, weight)
        self.x2 = x.reshape(-1, x.shape[-1])                             # (N, in)
        self.weight, self.x_shape = weight, x.shape
        y = row_split_matmul((self.x2, weight.T), bias=bias)[0]          # (N, out)
        return y.reshape(*x.shape[:-1], weight.shape[0])

    def backward(self, gy):
        gy2, needs = gy.reshape(-1, gy.shape[-1]), self.needs_input_grad  # (N, out)
        wants_gb = len(needs) == 3 and needs[2]
        if needs[0] and needs[1]:                   # the three products side by side on the threads
            pairs = [(gy2, self.weight), (gy2.T, self.x2)] + [(ones(len(gy2), gy2)[None], gy2)] * wants_gb
            gx, gw, *gb = row_split_matmul(*pairs)
            gx, gb = gx.reshape(self.x_shape), (gb[0][0] if gb else None)
        else:
            gx = row_split_matmul((gy2, self.weight))[0].reshape(self.x_shape) if needs[0] else None
            gw = row_split_matmul((gy2.T, self.x2))[0] if needs[1] else None
            gb = sum_rows(gy2) if wants_gb else None
        return (gx, gw) if len(needs) == 2 else (gx, gw, gb)


register(MatMul, "cpu", RowSplitMatMul)
register(Linear, "cpu", RowSplitLinear)
