"""Dropout (Srivastava et al., 2014): zero each element with probability p while training.

    y = x * m / (1 - p),  m_i ~ Bernoulli(1 - p);   dL/dx = dL/dy * m / (1 - p)

Dividing by 1 - p keeps E[y] = x, so evaluation (no dropout) needs no rescaling.
The mask comes from minilm's seeded generator, so runs are reproducible.
"""
import numpy as np

from ..autograd import Function
from ..backend import rng, xp_of


class Dropout(Function):
    def __init__(self, p):
        if not 0 <= p < 1:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p = p

    def forward(self, x):
        xp = xp_of(x)
        if xp is np:
            keep = rng().random(x.shape, dtype=np.float32) >= self.p
        else:
            keep = xp.random.random(x.shape, dtype=np.float32) >= self.p
        self.scaled_mask = keep * x.dtype.type(1 / (1 - self.p))
        return x * self.scaled_mask

    def backward(self, gy):
        return gy * self.scaled_mask
