"""Losses between a prediction x and a real-valued target y, element by element.

Each op returns the loss of every element (the reduction to a mean or a sum is
done after it, by the ordinary Mean and Sum ops; see F.mse_loss). With d = x - y:

    squared error   l = d^2                         dl/dx = 2 d
    absolute error  l = |d|                         dl/dx = sign(d)     (0 at d = 0, as PyTorch)
    smooth L1       l = d^2 / (2 beta)  if |d| < beta,  |d| - beta / 2 otherwise
                    dl/dx = d / beta    if |d| < beta,  sign(d) otherwise

Smooth L1 (Girshick, 2015, "Fast R-CNN") is quadratic near 0, so its gradient
shrinks as the fit improves, and linear far out, so an outlier pulls no harder
than any other wrong point; beta = 0 makes it the absolute error. In every case
dl/dy = -dl/dx: the target may be a Tensor that learns too.
"""
from ..autograd import Function
from ..backend import xp_of


class _ErrorOfDifference(Function):
    """l = loss(x - y) element-wise; subclasses give the loss and its slope in d."""

    def forward(self, x, y):
        d = x - y
        loss, self.slope = self.loss_and_slope(d, xp_of(d))
        return loss

    def backward(self, gy):
        gx = gy * self.slope
        return gx, -gx


class SquaredError(_ErrorOfDifference):
    name = "mse_loss"

    def loss_and_slope(self, d, xp):
        return d * d, 2 * d


class AbsoluteError(_ErrorOfDifference):
    name = "l1_loss"

    def loss_and_slope(self, d, xp):
        return xp.abs(d), xp.sign(d)


class SmoothL1Error(_ErrorOfDifference):
    name = "smooth_l1_loss"

    def __init__(self, beta=1.0):
        if beta < 0:
            raise ValueError(f"smooth_l1_loss: beta must be >= 0, got {beta}")
        self.beta = beta

    def loss_and_slope(self, d, xp):
        size = xp.abs(d)
        if self.beta == 0:
            return size, xp.sign(d)
        near = size < self.beta
        loss = xp.where(near, 0.5 * d * d / self.beta, size - 0.5 * self.beta)
        return loss, xp.where(near, d / self.beta, xp.sign(d))
