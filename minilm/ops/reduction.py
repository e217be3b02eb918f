"""Reductions over axes: sum, mean, max, var.

A reduction collapses axes; its backward spreads the gradient back over them.
Without keepdim the reduced axes are gone from gy, so they are re-inserted
(size 1) before broadcasting gy back to the input's shape.
"""
from ..autograd import Function
from ..backend import xp_of


def normalize_axes(axis, ndim):
    """None -> all axes; an int or a sequence -> a sorted tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    for a in axes:
        if not -max(ndim, 1) <= a < max(ndim, 1):
            raise ValueError(f"axis {a} is out of range for a tensor with {ndim} dimensions")
    return tuple(sorted(a % max(ndim, 1) for a in axes)) if ndim else ()


def expand_reduced(gy, shape, axes, keepdim):
    """Broadcast the gradient of a reduction back to the input's shape (a read-only view)."""
    xp = xp_of(gy)
    if not keepdim:
        gy = xp.expand_dims(gy, axes) if axes else gy
    return xp.broadcast_to(gy, shape)


class Sum(Function):
    """y = sum_i x_i over `axes`;  dy/dx_i = 1."""

    def __init__(self, axis=None, keepdim=False):
        self.axis, self.keepdim = axis, keepdim

    def forward(self, x):
        self.shape, self.axes = x.shape, normalize_axes(self.axis, x.ndim)
        return xp_of(x).asarray(x.sum(axis=self.axes, keepdims=self.keepdim))

    def backward(self, gy):
        return expand_reduced(gy, self.shape, self.axes, self.keepdim)


class Mean(Function):
    """y = (1/n) sum_i x_i;  dy/dx_i = 1/n."""

    def __init__(self, axis=None, keepdim=False):
        self.axis, self.keepdim = axis, keepdim

    def forward(self, x):
        self.shape, self.axes = x.shape, normalize_axes(self.axis, x.ndim)
        self.count = 1
        for a in self.axes:
            self.count *= x.shape[a]
        return xp_of(x).asarray(x.mean(axis=self.axes, keepdims=self.keepdim))

    def backward(self, gy):
        return expand_reduced(gy * (1 / self.count), self.shape, self.axes, self.keepdim)


class Max(Function):
    """y = max_i x_i;  dy/dx_i = 1/k for the k positions that hold the max, else 0.

    (Splitting the gradient evenly between ties is the subgradient torch.amax uses.)
    """

    def __init__(self, axis=None, keepdim=False):
        self.axis, self.keepdim = axis, keepdim

    def forward(self, x):
        self.x, self.axes = x, normalize_axes(self.axis, x.ndim)
        self.y = xp_of(x).asarray(x.max(axis=self.axes, keepdims=True))
        return self.y if self.keepdim else self.y.reshape(
            [n for i, n in enumerate(x.shape) if i not in self.axes])

    def backward(self, gy):
        is_max = self.x == self.y
        ties = is_max.sum(axis=self.axes, keepdims=True)
        gy = gy.reshape(self.y.shape)
        return is_max * (gy / ties)


class Var(Function):
    """y = sum_i (x_i - mean)^2 / (n - correction);  dy/dx_i = 2 (x_i - mean) / (n - correction).

    (The mean's own dependence on x_i drops out because sum_i (x_i - mean) = 0.)
    correction=1 is the unbiased estimate, PyTorch's default.
    """

    def __init__(self, axis=None, keepdim=False, correction=1):
        self.axis, self.keepdim, self.correction = axis, keepdim, correction

    def forward(self, x):
        self.shape, self.axes = x.shape, normalize_axes(self.axis, x.ndim)
        n = 1
        for a in self.axes:
            n *= x.shape[a]
        self.dof = max(n - self.correction, 0)
        self.centered = x - x.mean(axis=self.axes, keepdims=True)
        sq = (self.centered * self.centered).sum(axis=self.axes, keepdims=self.keepdim)
        return xp_of(x).asarray(sq / self.dof if self.dof else sq * float("nan"))

    def backward(self, gy):
        gy = expand_reduced(gy, self.shape, self.axes, self.keepdim)
        return gy * self.centered * (2 / self.dof)
