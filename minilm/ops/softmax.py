"""Softmax and log-softmax along one axis, each one fused node.

    softmax:      y_i = e^(x_i - m) / sum_j e^(x_j - m),  m = max_j x_j
                  (subtracting m changes nothing mathematically and keeps e^ from overflowing)
                  dL/dx_i = y_i (g_i - sum_j g_j y_j)
    log_softmax:  y_i = x_i - m - log sum_j e^(x_j - m)
                  dL/dx_i = g_i - softmax(x)_i sum_j g_j
"""
from ..autograd import Function
from ..backend import xp_of


def softmax_array(x, axis):
    xp = xp_of(x)
    e = xp.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax_array(x, axis):
    xp = xp_of(x)
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))


class Softmax(Function):
    def __init__(self, dim):
        self.dim = dim

    def forward(self, x):
        self.y = softmax_array(x, self.dim)
        return self.y

    def backward(self, gy):
        y = self.y
        gx = gy * y
        gx -= y * gx.sum(axis=self.dim, keepdims=True)
        return gx


class LogSoftmax(Function):
    def __init__(self, dim):
        self.dim = dim

    def forward(self, x):
        self.y = log_softmax_array(x, self.dim)
        return self.y

    def backward(self, gy):
        return gy - xp_of(gy).exp(self.y) * gy.sum(axis=self.dim, keepdims=True)
