"""Layer normalization (Ba et al., 2016) over the last D features of each row (N, D).

    mu = mean(x),   rstd = 1 / sqrt(var(x) + eps)   (biased variance),   xhat = (x - mu) * rstd
    y = xhat * weight + bias

Backward, with g = dL/dy and gxhat = g * weight, per row (the two means: the paths through mu and rstd):

    dL/dx = rstd * (gxhat - mean(gxhat) - xhat * mean(gxhat * xhat))
    dL/dweight = sum over rows of g * xhat,   dL/dbias = sum over rows of g
"""
import math

from ..autograd import Function
from ..backend import xp_of


def as_rows(x, normalized_ndim):
    """(x viewed as rows (N, D), the shape of the normalized dims) for a norm over the last dims."""
    shape = x.shape[x.ndim - normalized_ndim:]
    return x.reshape(-1, math.prod(shape)), shape


class LayerNorm(Function):
    def __init__(self, normalized_ndim, eps=1e-5, has_weight=True, has_bias=True):
        self.normalized_ndim = normalized_ndim
        self.eps, self.has_weight, self.has_bias = eps, has_weight, has_bias

    def forward(self, x, *params):
        x2, self.param_shape = as_rows(x, self.normalized_ndim)          # (N, D)
        D = x2.shape[1]
        xc = x2 - x2.mean(-1, keepdims=True)                             # x - mu, (N, D)
        self.rstd = 1 / xp_of(x).sqrt((xc * xc).mean(-1, keepdims=True) + self.eps)   # (N, 1)
        self.xhat = xc * self.rstd                                       # (N, D)
        self.weight = params[0].reshape(D) if self.has_weight else None
        y = self.xhat * self.weight if self.has_weight else self.xhat
        if self.has_bias:
            y = y + params[-1].reshape(D)
        return y.reshape(x.shape)

    def backward(self, gy):
        xhat, rstd = self.xhat, self.rstd
        g = gy.reshape(xhat.shape)                                       # (N, D)
        gxhat = g * self.weight if self.has_weight else g
        gx = rstd * (gxhat - gxhat.mean(-1, keepdims=True) - xhat * (gxhat * xhat).mean(-1, keepdims=True))
        grads = [gx.reshape(gy.shape)]
        if self.has_weight:
            grads.append((g * xhat).sum(0).reshape(self.param_shape))    # dL/dweight
        if self.has_bias:
            grads.append(g.sum(0).reshape(self.param_shape))             # dL/dbias
        return tuple(grads)
