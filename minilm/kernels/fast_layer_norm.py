"""Layer norm on minilm's CUDA kernel (layernorm.cu), for float32 on "cuda" and "emu".

The same op as minilm/ops/layer_norm.py: one kernel writes y and each row's
mean and rstd; backward is one kernel for dL/dx and two for the parameter
gradients (per-chunk partial sums, then a fixed-order reduction of the chunks,
so dL/dweight and dL/dbias do not depend on how the GPU schedules blocks).
The kernel always takes a weight and a bias: ones and zeros stand in for
missing ones.
"""
import numpy as np

from ..backend import xp_of
from ..dispatch import register
from ..ops.layer_norm import LayerNorm, as_rows
from . import launch
from .switch import enabled


class KernelLayerNorm(LayerNorm):
    def applies(self, x, *params):
        return enabled(self.device) and x.dtype == np.float32

    def forward(self, x, *params):
        xp = xp_of(x)
        x2, self.param_shape = as_rows(x, self.normalized_ndim)          # (N, D)
        D = x2.shape[1]
        self.weight = params[0].reshape(D) if self.has_weight else xp.ones(D, np.float32)
        bias = params[-1].reshape(D) if self.has_bias else xp.zeros(D, np.float32)
        self.x2 = x2
        y, self.mean, self.rstd_rows = launch.layernorm_forward(x2, self.weight, bias, self.eps, self.device)
        return y.reshape(x.shape)

    def backward(self, gy):
        dx, dw, db = launch.layernorm_backward(gy.reshape(self.x2.shape), self.x2, self.weight, self.mean,
                                        self.rstd_rows, self.device)
        shape = self.param_shape
        return (dx.reshape(gy.shape),) + ((dw.reshape(shape),) if self.has_weight else ()) + \
            ((db.reshape(shape),) if self.has_bias else ())


register(LayerNorm, "cuda", KernelLayerNorm)
register(LayerNorm, "emu", KernelLayerNorm)
