"""Weight initialisation, in place, drawing from minilm's seeded generator.

Why it matters: with y = W x over n inputs, Var(y) = n Var(W) Var(x). Drawing
W with variance ~1/n keeps activations at a steady scale through depth;
PyTorch's Linear default, U(-1/sqrt(n), 1/sqrt(n)), has variance 1/(3n).
"""
import numpy as np

from ..backend import rng, to_device


def _fill(tensor, values):
    tensor.data[...] = to_device(values.astype(tensor.dtype), tensor.device if tensor.device == "cuda" else "cpu")
    return tensor


def uniform_(tensor, a=0.0, b=1.0):
    return _fill(tensor, rng().uniform(a, b, tensor.shape))


def normal_(tensor, mean=0.0, std=1.0):
    return _fill(tensor, rng().normal(mean, std, tensor.shape))


def zeros_(tensor):
    return _fill(tensor, np.zeros(tensor.shape))


def ones_(tensor):
    return _fill(tensor, np.ones(tensor.shape))
