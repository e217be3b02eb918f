"""Large matrix products cut into row blocks, one block per thread of minilm's pool.

minilm runs BLAS on one thread and keeps the cores for its own threads
(minilm/fast/threads.py), so a product that should use every core is cut here:

    C = A B        A: (M, K), B: (K, N), C: (M, N)
    C[r0:r1] = A[r0:r1] B       for row blocks [r0, r1) of M, on different threads

Each block is an ordinary BLAS call on a view of A (any stride, A may be a
transposed view) writing into its rows of C, so the result is bit for bit the
product on one thread. Several independent products (a linear layer's dL/dx and
dL/dW) are cut together, so that each thread gets the same amount of work:
two products of equal size on two threads run whole, one on each thread.

A product smaller than SPLIT_WORK multiply-adds stays on the calling thread:
handing a block to a helper costs ~10-40 us, what a core does in ~1M
multiply-adds.
"""
import numpy as np

from ..fast import threads as parallel

SPLIT_WORK = 1 << 22   # multiply-adds (~4M, ~80 us on one core) from which a product is shared


def matmul_2d(a, b, bias=None):
    """a @ b (+ bias) for 2-D NumPy arrays (views allowed), on every thread of minilm's pool when it
    is large. A bias (N,) is added to each block of rows right after its product, while it is in cache."""
    return matmul_many([(a, b)], bias)[0]


def matmul_many(pairs, bias=None):
    """[a @ b for (a, b) in pairs] for 2-D NumPy arrays, all cut together across the pool
    (bias, when given, is added to the first product)."""
    work = [a.shape[0] * a.shape[1] * b.shape[1] for a, b in pairs]
    threads = parallel.threads()
    if threads < 2 or sum(work) < SPLIT_WORK:
        outs = [a @ b for a, b in pairs]
        if bias is not None:
            outs[0] += bias
        return outs
    outs = [np.empty((a.shape[0], b.shape[1]), np.result_type(a, b)) for a, b in pairs]
    blocks = []                                     # (a rows, b, out rows), about sum(work) / threads each
    for (a, b), out, w in zip(pairs, outs, work):
        count = max(1, min(a.shape[0], round(threads * w / sum(work))))
        bounds = [a.shape[0] * k // count for k in range(count + 1)]
        blocks += [(a[r0:r1], b, out[r0:r1], bias if out is outs[0] else None) for r0, r1 in zip(bounds, bounds[1:])]
    parallel.split_work(_block_product, blocks)
    return outs


def _block_product(a_rows, b, out_rows, bias):
    np.matmul(a_rows, b, out=out_rows)
    if bias is not None:
        out_rows += bias
