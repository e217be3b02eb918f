"""Activation and dropout layers: Module wrappers of functions in minilm.functional."""
from .. import functional as F
from .module import Module


class ReLU(Module):
    def forward(self, x):
        return F.relu(x)


class Tanh(Module):
    def forward(self, x):
        return F.tanh(x)


class Sigmoid(Module):
    def forward(self, x):
        return F.sigmoid(x)


class SiLU(Module):
    """x sigmoid(x), the gate of a SwiGLU feed-forward."""

    def forward(self, x):
        return F.silu(x)


class ReLUSquared(Module):
    """relu(x)^2 (So et al., 2021, "Primer"): as cheap as ReLU, smooth at 0, and sparse like it.
    d/dx = 2 relu(x); composed of relu and a product, which gradcheck covers."""

    def forward(self, x):
        r = F.relu(x)
        return r * r


class GELU(Module):
    """x Phi(x); approximate="tanh" is the cheaper curve GPT-2 was trained with."""

    def __init__(self, approximate="none"):
        super().__init__()
        self.approximate = approximate

    def forward(self, x):
        return F.gelu(x, self.approximate)


class Dropout(Module):
    """Zero elements with probability p in training mode; the identity in eval mode."""

    def __init__(self, p=0.5):
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p = p

    def forward(self, x):
        return F.dropout(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}"
