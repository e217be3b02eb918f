"""Layer normalization as one fused node, with its backward derived by hand.

Over the last D features of each row (Ba et al., 2016):

    mu = mean(x),  rstd = 1 / sqrt(var(x) + eps)      (biased variance)
    xhat = (x - mu) * rstd
    y = xhat * weight + bias

Backward, with g = dL/dy and gxhat = g * weight, for one row:

    dL/dx = rstd * (gxhat - mean(gxhat) - xhat * mean(gxhat * xhat))
    dL/dweight = sum over rows of g * xhat,   dL/dbias = sum over rows of g

(The two means are the gradient flowing through mu and through rstd; the
composite graph would need about ten nodes and their saved temporaries.)

The input is viewed as rows (N, D), D the product of the normalized dims, and
processed a group of rows at a time, so that the group's temporaries stay in
the CPU cache between the ~8 passes the formulas make over them. The groups are
independent, so they are shared among minilm's threads (minilm/fast/threads.py)
once there are SHARE_ELEMENTS or more; in backward each group's share of
dL/dweight and dL/dbias is summed afterwards, in group order.
"""
import numpy as np

from .. import kernels
from ..autograd import Function
from ..backend import xp_of
from ..fast.threads import balanced_ranges, split_work
from .reduction import sum_last, sum_rows

GROUP_ELEMENTS = 131072  # rows x D per group (measured: 2 x 65536 is ~5% slower)
SHARE_ELEMENTS = 65536   # from this many elements the groups go to several threads


def as_rows(x, normalized_ndim):
    """(x viewed as rows (N, D), the shape of the normalized dims) for a norm over the last dims."""
    shape = x.shape[x.ndim - normalized_ndim:]
    return x.reshape(-1, int(np.prod(shape))), shape


def row_groups(n_rows, D, xp):
    if xp is not np or n_rows == 0:                                  # CuPy: one group
        return [(0, n_rows)] if n_rows else []
    return balanced_ranges(n_rows, max(1, GROUP_ELEMENTS // D))


def for_each_group(fn, groups, n_elements):
    """fn(a, b) for every group of rows, on minilm's threads when the rows are many enough."""
    split_work(fn, groups, share=n_elements >= SHARE_ELEMENTS)


class LayerNorm(Function):
    def __init__(self, normalized_ndim, eps=1e-5, has_weight=True, has_bias=True):
        self.normalized_ndim = normalized_ndim
        self.eps, self.has_weight, self.has_bias = eps, has_weight, has_bias

    def forward(self, x, *params):
        xp = xp_of(x)
        x2, self.param_shape = as_rows(x, self.normalized_ndim)          # (N, D)
        D = x2.shape[1]
        weight = params[0].reshape(D) if self.has_weight else None
        bias = params[-1].reshape(D) if self.has_bias else None
        self.kernel = kernels.enabled(self.device) and x.dtype == np.float32
        if self.kernel:
            return self._forward_kernel(x2, weight, bias, xp).reshape(x.shape)
        y, xhat = xp.empty_like(x2), xp.empty_like(x2)
        rstd = xp.empty((len(x2), 1), x.dtype)

        def normalize(a, b):
            xs = x2[a:b]
            xc = xp.subtract(xs, sum_last(xs) / D, out=xhat[a:b])
            r = rstd[a:b]
            r[...] = 1 / xp.sqrt(sum_last(xc * xc) / D + self.eps)
            xc *= r                                                       # xhat
            if weight is not None:
                xp.multiply(xc, weight, out=y[a:b])
            else:
                y[a:b] = xc
            if bias is not None:
                y[a:b] += bias
        for_each_group(normalize, row_groups(len(x2), D, xp), x2.size)
        self.xhat, self.rstd, self.weight = xhat, rstd, weight
        return y.reshape(x.shape)

    def backward(self, gy):
        if self.kernel:
            return self._backward_kernel(gy)
        xp, xhat, rstd, weight = xp_of(gy), self.xhat, self.rstd, self.weight
        N, D = xhat.shape
        gy2 = gy.reshape(N, D)
        gx = xp.empty_like(gy2)
        w = weight if weight is not None else xp.ones(D, gy.dtype)
        groups = row_groups(N, D, xp)
        dweights, dbiases = [None] * len(groups), [None] * len(groups)   # each group's share of the sums

        def backprop(k, a, b):
            g, xh = gy2[a:b], xhat[a:b]
            g_xh = g * xh
            if self.has_weight:
                dweights[k] = sum_rows(g_xh)
            if self.has_bias:
                dbiases[k] = sum_rows(g)
            # with gxhat = g * w, both means are matrix-vector products: no gxhat * xhat copy
            mean_gxhat = (g @ w)[:, None] / D
            mean_gxhat_xhat = (g_xh @ w)[:, None] / D
            out = xp.multiply(g, w, out=gx[a:b])
            out -= mean_gxhat
            out -= xp.multiply(xh, mean_gxhat_xhat, out=g_xh)
            out *= rstd[a:b]
        for_each_group(backprop, [(k, a, b) for k, (a, b) in enumerate(groups)], gy2.size)
        grads = [gx.reshape(gy.shape)]
        if self.has_weight:
            grads.append(sum(dweights, xp.zeros(D, gy.dtype)).reshape(self.param_shape))
        if self.has_bias:
            grads.append(sum(dbiases, xp.zeros(D, gy.dtype)).reshape(self.param_shape))
        return tuple(grads)

    # ---------------------------------------------------------------- minilm's CUDA kernel
    def _forward_kernel(self, x2, weight, bias, xp):
        from ..kernels.launch import layernorm_forward
        D = x2.shape[1]
        self.weight = weight if weight is not None else xp.ones(D, np.float32)
        bias = bias if bias is not None else xp.zeros(D, np.float32)
        self.x2 = x2
        y, self.mean, self.rstd_rows = layernorm_forward(x2, self.weight, bias, self.eps, self.device)
        return y

    def _backward_kernel(self, gy):
        from ..kernels.launch import layernorm_backward
        dx, dw, db = layernorm_backward(gy.reshape(self.x2.shape), self.x2, self.weight, self.mean,
                                        self.rstd_rows, self.device)
        shape = self.param_shape
        return (dx.reshape(gy.shape),) + ((dw.reshape(shape),) if self.has_weight else ()) + \
            ((db.reshape(shape),) if self.has_bias else ())
