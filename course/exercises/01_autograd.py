"""Lesson 1 exercises: replace each `raise NotImplementedError` with your code, then run
`minilm course check 1` (or the check cells of the lesson)."""
import numpy as np

from minilm.autograd import Function


def central_difference(f, x, eps=1e-4):
    """The derivative of the scalar function f at the float x, as (f(x + eps) - f(x - eps)) / (2 eps)."""
    raise NotImplementedError("exercise 1.1: write central_difference")


class Tanh(Function):
    """y = tanh(x) on raw arrays; backward returns dL/dx = gy * dy/dx."""

    def forward(self, x):
        raise NotImplementedError("exercise 1.2: write Tanh.forward (save what backward needs on self)")

    def backward(self, gy):
        raise NotImplementedError("exercise 1.2: write Tanh.backward")


class MulBroadcast(Function):
    """y = a * b, where a and b broadcast like NumPy; backward returns (dL/da, dL/db) in their shapes."""

    def forward(self, a, b):
        raise NotImplementedError("exercise 1.3: write MulBroadcast.forward")

    def backward(self, gy):
        raise NotImplementedError("exercise 1.3: write MulBroadcast.backward")
