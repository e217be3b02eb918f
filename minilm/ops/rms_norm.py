"""Root-mean-square normalization as one fused node (Zhang & Sennrich, 2019).

Layer norm without the mean: over the last D features of each row,

    rstd = 1 / sqrt(mean(x^2) + eps)
    xhat = x * rstd
    y = xhat * weight

Only the scale of a row is normalised, not its centre: one reduction instead of
two, and no bias. Llama, Mistral and Qwen use it in place of LayerNorm.

Backward, with g = dL/dy and gxhat = g * weight, for one row:

    dL/dx = rstd * (gxhat - xhat * mean(gxhat * xhat))
    dL/dweight = sum over rows of g * xhat

(Layer norm's formula less its mean(gxhat) term, which came from the mean
that RMSNorm does not subtract. The second term is the gradient through rstd:
d rstd / dx_i = -rstd^3 x_i / D.)

Like layer norm, rows are processed a group at a time so that a group's
temporaries stay in the CPU cache (row_groups in ops/layer_norm.py).
"""
from ..autograd import Function
from ..backend import xp_of
from .layer_norm import as_rows, row_groups
from .reduction import sum_last, sum_rows


class RMSNorm(Function):
    def __init__(self, normalized_ndim, eps, has_weight=True):
        self.normalized_ndim, self.eps, self.has_weight = normalized_ndim, eps, has_weight

    def forward(self, x, *params):
        xp = xp_of(x)
        x2, self.param_shape = as_rows(x, self.normalized_ndim)          # (N, D)
        D = x2.shape[1]
        weight = params[0].reshape(D) if self.has_weight else None
        y, xhat, rstd = xp.empty_like(x2), xp.empty_like(x2), xp.empty((len(x2), 1), x.dtype)
        for a, b in row_groups(len(x2), D, xp):
            xs, r = x2[a:b], rstd[a:b]
            r[...] = 1 / xp.sqrt(sum_last(xs * xs) / D + self.eps)
            xp.multiply(xs, r, out=xhat[a:b])
            if weight is not None:
                xp.multiply(xhat[a:b], weight, out=y[a:b])
            else:
                y[a:b] = xhat[a:b]
        self.xhat, self.rstd, self.weight = xhat, rstd, weight
        return y.reshape(x.shape)

    def backward(self, gy):
        xp, xhat, rstd = xp_of(gy), self.xhat, self.rstd
        N, D = xhat.shape
        gy2 = gy.reshape(N, D)
        gx = xp.empty_like(gy2)
        dweight = xp.zeros(D, gy.dtype) if self.has_weight else None
        w = self.weight if self.weight is not None else xp.ones(D, gy.dtype)
        for a, b in row_groups(N, D, xp):
            g, xh = gy2[a:b], xhat[a:b]
            g_xh = g * xh
            if dweight is not None:
                dweight += sum_rows(g_xh)
            mean_gxhat_xhat = (g_xh @ w)[:, None] / D                    # mean(g * w * xhat), (n, 1)
            out = xp.multiply(g, w, out=gx[a:b])                         # gxhat
            out -= xp.multiply(xh, mean_gxhat_xhat, out=g_xh)
            out *= rstd[a:b]
        grads = [gx.reshape(gy.shape)]
        if self.has_weight:
            grads.append(dweight.reshape(self.param_shape))
        return tuple(grads)
