"""Softmax and log-softmax along one axis, each one fused node.

    softmax:      y_i = e^(x_i - m) / sum_j e^(x_j - m),  m = max_j x_j
                  (subtracting m changes nothing mathematically and keeps e^ from overflowing)
                  dL/dx_i = y_i (g_i - sum_j g_j y_j)
    log_softmax:  y_i = x_i - m - log sum_j e^(x_j - m)
                  dL/dx_i = g_i - softmax(x)_i sum_j g_j
"""
from ..autograd import Function
from ..backend import xp_of
from .reduction import sum_last


def softmax_array(x, axis, out=None, shift=True):
    """softmax of x along axis; with out=x it overwrites x (no temporary of x's size).

    shift=False skips subtracting the row max: only for callers that know every finite
    |x| <= SAFE_EXP, where e^x can neither overflow nor underflow (attention's scores
    often are: see ops/attention.py). NumPy's max along short rows is slow, as slow as exp.
    """
    xp = xp_of(x)
    if shift:
        e = xp.subtract(x, x.max(axis=axis, keepdims=True), out=out)
    elif out is None:
        e = x.copy()
    else:
        e = out
        e[...] = x
    xp.exp(e, out=e)
    e /= sum_last(e) if axis in (-1, x.ndim - 1) else e.sum(axis=axis, keepdims=True)
    return e


SAFE_EXP = 60.0  # e^60 ~ 1e26: a sum of 10^12 such terms still fits float32; e^-60 is far from underflow


def log_softmax_array(x, axis):
    xp = xp_of(x)
    shifted = x - x.max(axis=axis, keepdims=True)
    e = xp.exp(shifted)
    shifted -= xp.log(sum_last(e) if axis in (-1, x.ndim - 1) else e.sum(axis=axis, keepdims=True))
    return shifted


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
