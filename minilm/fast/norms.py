"""Layer norm and RMS norm on NumPy, a cache-sized block of rows at a time (layer norm's on minilm's threads).

The same formulas as minilm/ops/layer_norm.py and ops/rms_norm.py, computed
differently. Written as whole-array calls, each of the ~8 passes the formulas
make streams the whole (N, D) input through memory; done a block of rows at a
time, the block's temporaries stay in the CPU cache between the passes. Layer
norm's blocks are independent, so they are shared among minilm's threads
(fast/threads.py) once there are SHARE_ELEMENTS or more; in backward each
block's share of dL/dweight and dL/dbias is summed afterwards, in block order,
so the result does not depend on the thread count. (RMS norm, with fewer passes,
measured slower shared at GPT's sizes: its blocks run on the calling thread.)
Other tricks:

- row sums are BLAS matrix-vector products (fast/reductions.py);
- results are written into preallocated arrays (out=), not new ones per pass;
- with gxhat = g * w, the backward's means are matrix-vector products,
  mean(gxhat) = (g @ w) / D and mean(gxhat * xhat) = ((g * xhat) @ w) / D,
  and g * xhat is needed anyway for dL/dweight: no gxhat * xhat temporary.
"""
import numpy as np

from ..dispatch import register
from ..ops.layer_norm import LayerNorm, as_rows
from ..ops.rms_norm import RMSNorm
from .reductions import sum_last, sum_rows
from .threads import balanced_ranges, split_work

BLOCK_ELEMENTS = 131072  # rows x D per block (measured: 2 x 65536 is ~5% slower)
SHARE_ELEMENTS = 65536   # from this many elements the blocks go to several threads


def row_blocks(n_rows, D):
    """(start, stop) ranges of rows, each about BLOCK_ELEMENTS elements."""
    return balanced_ranges(n_rows, max(1, BLOCK_ELEMENTS // D)) if n_rows else []


def for_each_block(fn, blocks, n_elements):
    """fn(*block) for every block of rows, on minilm's threads when the rows are many enough."""
    split_work(fn, blocks, share=n_elements >= SHARE_ELEMENTS)


def sum_in_order(parts, D, dtype):
    """The blocks' shares of a parameter gradient, added in block order (any thread count alike)."""
    return sum(parts, np.zeros(D, dtype))


class RowBlockLayerNorm(LayerNorm):
    def applies(self, x, *params):
        return isinstance(x, np.ndarray)

    def forward(self, x, *params):
        x2, self.param_shape = as_rows(x, self.normalized_ndim)          # (N, D)
        D = x2.shape[1]
        weight = params[0].reshape(D) if self.has_weight else None
        bias = params[-1].reshape(D) if self.has_bias else None
        y, xhat = np.empty_like(x2), np.empty_like(x2)
        rstd = np.empty((len(x2), 1), x.dtype)

        def normalize(a, b):
            xs = x2[a:b]
            xc = np.subtract(xs, sum_last(xs) / D, out=xhat[a:b])
            r = rstd[a:b]
            r[...] = 1 / np.sqrt(sum_last(xc * xc) / D + self.eps)
            xc *= r                                                       # xhat
            if weight is not None:
                np.multiply(xc, weight, out=y[a:b])
            else:
                y[a:b] = xc
            if bias is not None:
                y[a:b] += bias
        for_each_block(normalize, row_blocks(len(x2), D), x2.size)
        self.xhat, self.rstd, self.weight = xhat, rstd, weight
        return y.reshape(x.shape)

    def backward(self, gy):
        xhat, rstd = self.xhat, self.rstd
        N, D = xhat.shape
        gy2 = gy.reshape(N, D)
        gx = np.empty_like(gy2)
        w = self.weight if self.weight is not None else np.ones(D, gy.dtype)
        blocks = row_blocks(N, D)
        dweights, dbiases = [None] * len(blocks), [None] * len(blocks)   # each block's share of the sums

        def backprop(k, a, b):
            g, xh = gy2[a:b], xhat[a:b]
            g_xh = g * xh
            if self.has_weight:
                dweights[k] = sum_rows(g_xh)
            if self.has_bias:
                dbiases[k] = sum_rows(g)
            mean_gxhat = (g @ w)[:, None] / D
            mean_gxhat_xhat = (g_xh @ w)[:, None] / D
            out = np.multiply(g, w, out=gx[a:b])                          # gxhat
            out -= mean_gxhat
            out -= np.multiply(xh, mean_gxhat_xhat, out=g_xh)
            out *= rstd[a:b]
        for_each_block(backprop, [(k, a, b) for k, (a, b) in enumerate(blocks)], gy2.size)
        grads = [gx.reshape(gy.shape)]
        if self.has_weight:
            grads.append(sum_in_order(dweights, D, gy.dtype).reshape(self.param_shape))
        if self.has_bias:
            grads.append(sum_in_order(dbiases, D, gy.dtype).reshape(self.param_shape))
        return tuple(grads)


class RowBlockRMSNorm(RMSNorm):
    def applies(self, x, *params):
        return isinstance(x, np.ndarray)

    def forward(self, x, *params):
        x2, self.param_shape = as_rows(x, self.normalized_ndim)          # (N, D)
        D = x2.shape[1]
        weight = params[0].reshape(D) if self.has_weight else None
        y, xhat, rstd = np.empty_like(x2), np.empty_like(x2), np.empty((len(x2), 1), x.dtype)

        for a, b in row_blocks(len(x2), D):
            xs, r = x2[a:b], rstd[a:b]
            r[...] = 1 / np.sqrt(sum_last(xs * xs) / D + self.eps)
            np.multiply(xs, r, out=xhat[a:b])
            if weight is not None:
                np.multiply(xhat[a:b], weight, out=y[a:b])
            else:
                y[a:b] = xhat[a:b]
        self.xhat, self.rstd, self.weight = xhat, rstd, weight
        return y.reshape(x.shape)

    def backward(self, gy):
        xhat, rstd = self.xhat, self.rstd
        N, D = xhat.shape
        gy2 = gy.reshape(N, D)
        gx = np.empty_like(gy2)
        w = self.weight if self.weight is not None else np.ones(D, gy.dtype)
        dweight = np.zeros(D, gy.dtype) if self.has_weight else None
        for a, b in row_blocks(N, D):
            g, xh = gy2[a:b], xhat[a:b]
            g_xh = g * xh
            if dweight is not None:
                dweight += sum_rows(g_xh)
            mean_gxhat_xhat = (g_xh @ w)[:, None] / D                    # mean(g * w * xhat), (n, 1)
            out = np.multiply(g, w, out=gx[a:b])                          # gxhat
            out -= np.multiply(xh, mean_gxhat_xhat, out=g_xh)
            out *= rstd[a:b]
        grads = [gx.reshape(gy.shape)]
        if self.has_weight:
            grads.append(dweight.reshape(self.param_shape))
        return tuple(grads)


register(LayerNorm, "cpu", RowBlockLayerNorm)
register(RMSNorm, "cpu", RowBlockRMSNorm)
