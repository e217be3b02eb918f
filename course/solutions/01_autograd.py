"""Lesson 1: reference solutions."""
import numpy as np

from minilm.autograd import Function


def central_difference(f, x, eps=1e-4):
    """The derivative of the scalar function f at the float x, as (f(x + eps) - f(x - eps)) / (2 eps)."""
    return (f(x + eps) - f(x - eps)) / (2 * eps)


class Tanh(Function):
    """y = tanh(x) on raw arrays; backward returns dL/dx = gy * dy/dx."""

    def forward(self, x):
        self.y = np.tanh(x)
        return self.y

    def backward(self, gy):
        return gy * (1 - self.y ** 2)


def unbroadcast(g, shape):
    """Sum g over the axes that broadcasting added or stretched, back to `shape`."""
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for axis, n in enumerate(shape):
        if n == 1 and g.shape[axis] != 1:
            g = g.sum(axis=axis, keepdims=True)
    return g


class MulBroadcast(Function):
    """y = a * b, where a and b broadcast like NumPy; backward returns (dL/da, dL/db) in their shapes."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, gy):
        return unbroadcast(gy * self.b, self.a.shape), unbroadcast(gy * self.a, self.b.shape)
