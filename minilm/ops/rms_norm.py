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
"""
from ..autograd import Function
from ..backend import xp_of
from .layer_norm import as_rows


class RMSNorm(Function):
    def __init__(self, normalized_ndim, eps, has_weight=True):
        self.normalized_ndim, self.eps, self.has_weight = normalized_ndim, eps, has_weight

    def forward(self, x, *params):
        x2, self.param_shape = as_rows(x, self.normalized_ndim)          # (N, D)
        self.rstd = 1 / xp_of(x).sqrt((x2 * x2).mean(-1, keepdims=True) + self.eps)   # (N, 1)
        self.xhat = x2 * self.rstd                                       # (N, D)
        self.weight = params[0].reshape(x2.shape[1]) if self.has_weight else None
        y = self.xhat * self.weight if self.has_weight else self.xhat
        return y.reshape(x.shape)

    def backward(self, gy):
        xhat, rstd = self.xhat, self.rstd
        g = gy.reshape(xhat.shape)                                       # (N, D)
        gxhat = g * self.weight if self.has_weight else g
        gx = rstd * (gxhat - xhat * (gxhat * xhat).mean(-1, keepdims=True))
        grads = [gx.reshape(gy.shape)]
        if self.has_weight:
            grads.append((g * xhat).sum(0).reshape(self.param_shape))    # dL/dweight
        return tuple(grads)
