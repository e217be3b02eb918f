"""Lesson 6 exercises (NumPy only): replace each `raise NotImplementedError`, then run
`minilm course check 6`."""
import numpy as np


def causal_attention(q, k, v):
    """softmax(q k^T / sqrt(hs), with -inf above the diagonal) v, for q, k, v of shape (..., T, hs)."""
    raise NotImplementedError("exercise 6.1: write causal_attention")


def causal_attention_backward(q, k, v, do):
    """(dL/dq, dL/dk, dL/dv) of causal_attention, given do = dL/doutput (..., T, hs)."""
    raise NotImplementedError("exercise 6.2: write causal_attention_backward")


def rope(x, base=10000.0):
    """x (..., T, hs) rotated at positions 0..T-1: x * cos + rotate_half(x) * sin, where the angle of
    channel pair (i, i + hs/2) at position t is t * base ** (-2 i / hs)."""
    raise NotImplementedError("exercise 6.3: write rope")
