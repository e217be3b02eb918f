"""Positional information: attention alone cannot tell a sequence from a shuffle of it.

Sinusoidal (Vaswani et al., 2017), fixed, for position t and channel pair i:
    PE[t, 2i] = sin(t / 10000^(2i/C)),   PE[t, 2i+1] = cos(t / 10000^(2i/C))
Wavelengths grow geometrically, so nearby positions differ in the fast channels
and distant ones in the slow channels. Learned positions (GPT) are just an
Embedding indexed by position.
"""
import math

import numpy as np

from ..tensor import Tensor
from .embedding import Embedding
from .module import Module


def sinusoidal_table(max_len, d_model):
    position = np.arange(max_len)[:, None]                                   # (T, 1)
    frequency = np.exp(np.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))  # (C/2,)
    table = np.zeros((max_len, d_model), np.float32)
    table[:, 0::2] = np.sin(position * frequency)
    table[:, 1::2] = np.cos(position * frequency[: d_model // 2])
    return table


class PositionalEncoding(Module):
    """x + PE[:T] for x of shape (B, T, C); the table is a buffer, not a weight (not saved)."""

    def __init__(self, d_model, max_len=5000, dropout=0.0):
        super().__init__()
        from .activation import Dropout
        self.dropout = Dropout(dropout)
        self.register_buffer("pe", sinusoidal_table(max_len, d_model), persistent=False)

    def forward(self, x, offset=0):
        T = x.shape[1]
        if offset + T > self.pe.shape[0]:
            raise ValueError(f"sequence of length {offset + T} is longer than max_len {self.pe.shape[0]}")
        return self.dropout(x + Tensor(self.pe[offset:offset + T], device=x.device))


class LearnedPositionalEmbedding(Module):
    """x + E[t] with a learned (max_len, C) table."""

    def __init__(self, max_len, d_model):
        super().__init__()
        self.max_len = max_len
        self.embedding = Embedding(max_len, d_model)

    def forward(self, x, offset=0):
        T = x.shape[1]
        if offset + T > self.max_len:
            raise ValueError(f"sequence of length {offset + T} is longer than max_len {self.max_len}")
        positions = Tensor(np.arange(offset, offset + T), device=x.device)
        return x + self.embedding(positions)
