"""LayerNorm and RMSNorm: normalise each row over its last dims, then scale (and shift).

The math is in ops/layer_norm.py and ops/rms_norm.py.
"""
import numpy as np

from .. import functional as F
from .module import Module, Parameter


class LayerNorm(Module):
    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, device="cpu", dtype=None):
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape, self.eps = tuple(normalized_shape), eps
        dtype = dtype or np.float32
        self.weight = Parameter(np.ones(self.normalized_shape, dtype), device=device) if elementwise_affine else None
        self.bias = Parameter(np.zeros(self.normalized_shape, dtype), device=device) if elementwise_affine and bias else None
        for name in ("weight", "bias"):
            if getattr(self, name) is None:
                self.register_parameter(name, None)

    def forward(self, x):
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}"


class RMSNorm(Module):
    """x / sqrt(mean(x^2) + eps) * weight; eps=None is the dtype's machine epsilon (PyTorch's default)."""

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True, device="cpu", dtype=None):
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape, self.eps = tuple(normalized_shape), eps
        dtype = dtype or np.float32
        if elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dtype), device=device)
        else:
            self.register_parameter("weight", None)

    def forward(self, x):
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}"
