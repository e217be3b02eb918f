"""RotaryEmbedding: rotate queries and keys by their positions (see ops/rotary.py for the math).

    rope = RotaryEmbedding(head_size, theta=10000.0)
    q, k = rope(q, offset), rope(k, offset)          # (B, nh, T, hs) each, positions offset..offset+T-1

The angles are position * f_i with f_i = theta^(-2i/hs), i = 0 .. hs/2 - 1, as
in the Hugging Face Llama code (frequencies in the rotate-half layout: the
table holds [angles, angles]). The cos/sin tables have no weights: they are
computed in float64 for the positions asked for, grown when a longer sequence
comes, and kept per dtype and array library. `offset` is the number of
positions already in the KV cache, so a decoded token gets its true position
(or each row's positions, for a batch of requests at different lengths).
"""
import numpy as np

from .. import functional as F
from ..backend import to_device
from .module import Module


def rotary_tables(head_size, length, theta):
    """cos, sin (length, head_size) float64 for positions 0 .. length-1."""
    inverse_frequency = theta ** (-np.arange(0, head_size, 2, dtype=np.float64) / head_size)   # (hs/2,)
    angles = np.outer(np.arange(length, dtype=np.float64), inverse_frequency)                 # (T, hs/2)
    angles = np.concatenate([angles, angles], axis=1)                                          # (T, hs)
    return np.cos(angles), np.sin(angles)


class RotaryEmbedding(Module):
    def __init__(self, head_size, theta=10000.0):
        super().__init__()
        if head_size % 2:
            raise ValueError(f"rotary embeddings rotate channel pairs: head_size must be even, got {head_size}")
        self.head_size, self.theta = head_size, theta
        self.length, self.tables = 0, {}

    def cos_sin(self, start, end, dtype, device):
        """cos, sin (end - start, hs) for positions start .. end-1, as arrays of dtype on device."""
        if end > self.length:
            self.length, self.tables = max(end, 2 * self.length), {}
        key = (np.dtype(dtype).str, device)
        if key not in self.tables:
            cos, sin = rotary_tables(self.head_size, self.length, self.theta)
            self.tables[key] = tuple(to_device(t.astype(dtype), device) for t in (cos, sin))
        cos, sin = self.tables[key]
        return cos[start:end], sin[start:end]

    def forward(self, x, offset=0):
        """Rotate x (B, nh, T, hs) by the positions offset .. offset + T - 1, or by positions given as an
        array: (T,) for every row, or (B, T), a row's own (requests decoded together, each at its length)."""
        T = x.shape[-2]
        if np.ndim(offset) == 0:
            cos, sin = self.cos_sin(offset, offset + T, x.dtype, x.device)
            return F.rotary_embedding(x, cos, sin)
        positions = np.asarray(offset)
        cos, sin = self.cos_sin(0, int(positions.max()) + 1, x.dtype, x.device)
        if positions.ndim == 2:                                          # (B, T) -> (B, 1, T, hs)
            return F.rotary_embedding(x, cos[positions][:, None], sin[positions][:, None])
        return F.rotary_embedding(x, cos[positions], sin[positions])

    def extra_repr(self):
        return f"{self.head_size}, theta={self.theta:g}"
