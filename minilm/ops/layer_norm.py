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
import numpy as np

from .. import kernels
from ..autograd import Function
from ..backend import xp_of


class LayerNorm(Function):
    def __init__(self, normalized_ndim, eps=1e-5, has_weight=True, has_bias=True):
        self.axes = tuple(range(-normalized_ndim, 0))
        self.eps, self.has_weight, self.has_bias = eps, has_weight, has_bias

    def forward(self, x, *params):
        xp, axes = xp_of(x), self.axes
        self.kernel = kernels.enabled(self.device) and len(axes) == 1 and x.dtype == np.float32
        if self.kernel:
            return self._forward_kernel(x, params, xp)
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

    def _forward_kernel(self, x, params, xp):
        from ..kernels.launch import layernorm_forward
        C = x.shape[-1]
        self.weight = params[0] if self.has_weight else xp.ones(C, np.float32)
        bias = params[-1] if self.has_bias else xp.zeros(C, np.float32)
        self.x2 = x.reshape(-1, C)
        y, self.mean, self.rstd_rows = layernorm_forward(self.x2, self.weight, bias, self.eps, self.device)
        return y.reshape(x.shape)

    def _backward_kernel(self, gy):
        from ..kernels.launch import layernorm_backward
        dx, dw, db = layernorm_backward(gy.reshape(self.x2.shape), self.x2, self.weight, self.mean,
                                        self.rstd_rows, self.device)
        return (dx.reshape(gy.shape),) + ((dw,) if self.has_weight else ()) + ((db,) if self.has_bias else ())

    def backward(self, gy):
        if self.kernel:
            return self._backward_kernel(gy)
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
