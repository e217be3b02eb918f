"""Lesson 2 exercises (NumPy only): replace each `raise NotImplementedError`, then run
`minilm course check 2`."""
import numpy as np


def softmax_backward(y, gy):
    """dL/dx for y = softmax(x) along the last axis, given y and gy = dL/dy (same shape)."""
    raise NotImplementedError("exercise 2.1: write softmax_backward")


def cross_entropy(logits, targets):
    """The mean over rows of -log softmax(logits)[row, target], for logits (N, C) and targets (N,).
    Must stay finite for logits in the thousands."""
    raise NotImplementedError("exercise 2.2: write cross_entropy")


def cross_entropy_backward(logits, targets):
    """d cross_entropy(logits, targets) / d logits, shape (N, C)."""
    raise NotImplementedError("exercise 2.2: write cross_entropy_backward")


def layer_norm_backward(x, weight, gy, eps=1e-5):
    """For y = (x - mean) / sqrt(var + eps) * weight + bias over the last axis of x (N, D):
    return (dL/dx (N, D), dL/dweight (D,), dL/dbias (D,)) given gy = dL/dy (N, D)."""
    raise NotImplementedError("exercise 2.3: write layer_norm_backward")
