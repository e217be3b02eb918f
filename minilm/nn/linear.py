"""Linear: y = x W^T + b, the affine map at the heart of every layer.

W is stored (out_features, in_features), as in PyTorch, and initialised like
PyTorch: W, b ~ U(-1/sqrt(in), 1/sqrt(in)).
"""
import math

import numpy as np

from .. import functional as F
from ..tensor import Tensor
from . import init
from .module import Module, Parameter


class Linear(Module):
    def __init__(self, in_features, out_features, bias=True, device="cpu", dtype=None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        bound = 1 / math.sqrt(in_features) if in_features else 0
        self.weight = Parameter(init.uniform_(_empty((out_features, in_features), dtype), -bound, bound),
                                device=device)
        self.bias = (Parameter(init.uniform_(_empty((out_features,), dtype), -bound, bound), device=device)
                     if bias else None)

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


def _empty(shape, dtype=None):
    return Tensor(np.empty(shape, dtype=dtype or np.float32))
