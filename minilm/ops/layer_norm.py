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
"""
from ..autograd import Function
from ..backend import xp_of


class LayerNorm(Function):
    def __init__(self, normalized_ndim, eps=1e-5, has_weight=True, has_bias=True):
        self.axes = tuple(range(-normalized_ndim, 0))
        self.eps, self.has_weight, self.has_bias = eps, has_weight, has_bias

    def forward(self, x, *params):
        xp, axes = xp_of(x), self.axes
        mu = x.mean(axis=axes, keepdims=True)
        xc = x - mu
        var = (xc * xc).mean(axis=axes, keepdims=True)
        self.rstd = 1 / xp.sqrt(var + self.eps)
        xc *= self.rstd
        self.xhat = xc
        self.weight = params[0] if self.has_weight else None
        y = xc * self.weight if self.has_weight else xc.copy()
        if self.has_bias:
            y += params[-1]
        return y

    def backward(self, gy):
        axes, xhat = self.axes, self.xhat
        batch_axes = tuple(range(gy.ndim - len(axes)))
        gxhat = gy * self.weight if self.has_weight else gy
        gx = gxhat - gxhat.mean(axis=axes, keepdims=True)
        gx -= xhat * (gxhat * xhat).mean(axis=axes, keepdims=True)
        gx *= self.rstd
        grads = [gx]
        if self.has_weight:
            grads.append((gy * xhat).sum(axis=batch_axes) if self.needs_input_grad[1] else None)
        if self.has_bias:
            grads.append(gy.sum(axis=batch_axes) if self.needs_input_grad[-1] else None)
        return tuple(grads)
