"""Lesson 6: reference solutions (NumPy only)."""
import numpy as np


def _probabilities(q, k):
    T, hs = q.shape[-2], q.shape[-1]
    s = q @ np.swapaxes(k, -1, -2) / np.sqrt(hs)                           # (..., T, T)
    s = np.where(np.tril(np.ones((T, T), bool)), s, -np.inf)
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def causal_attention(q, k, v):
    """softmax(q k^T / sqrt(hs), with -inf above the diagonal) v, for q, k, v of shape (..., T, hs)."""
    return _probabilities(q, k) @ v


def causal_attention_backward(q, k, v, do):
    """(dL/dq, dL/dk, dL/dv) of causal_attention, given do = dL/doutput (..., T, hs)."""
    p, scale = _probabilities(q, k), 1 / np.sqrt(q.shape[-1])
    dv = np.swapaxes(p, -1, -2) @ do
    dp = do @ np.swapaxes(v, -1, -2)
    ds = p * (dp - (dp * p).sum(axis=-1, keepdims=True))
    return ds @ k * scale, np.swapaxes(ds, -1, -2) @ q * scale, dv


def rope(x, base=10000.0):
    """x (..., T, hs) rotated at positions 0..T-1: x * cos + rotate_half(x) * sin, where the angle of
    channel pair (i, i + hs/2) at position t is t * base ** (-2 i / hs)."""
    T, hs = x.shape[-2], x.shape[-1]
    angles = np.outer(np.arange(T), base ** (-np.arange(0, hs, 2) / hs))  # (T, hs/2)
    angles = np.concatenate([angles, angles], axis=1)                      # (T, hs)
    half = hs // 2
    rotated = np.concatenate([-x[..., half:], x[..., :half]], axis=-1)
    return x * np.cos(angles) + rotated * np.sin(angles)
