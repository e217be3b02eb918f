"""Row sums as matrix-vector products: the same additions, done by BLAS.

NumPy's own reduction walks short rows (64, 128 values) one at a time; BLAS's
matrix-vector product does the same additions several times faster (the
figures are in benchmarks/RESULTS.md). The CPU fast paths of softmax, layer
norm and attention use these; the reference ops write `.sum(axis=-1)`.
"""
from ..backend import xp_of

_ones = {}


def ones(n, like):
    """A cached vector of n ones of like's dtype and array type (made once per size)."""
    key = (n, like.dtype.str, type(like))
    if key not in _ones:
        _ones[key] = xp_of(like).ones(n, like.dtype)
    return _ones[key]


def sum_last(a):
    """Sum over the last axis, keeping it (..., 1): a @ ones(n), i.e. a.sum(-1, keepdims=True)."""
    return (a @ ones(a.shape[-1], a))[..., None]


def sum_rows(a):
    """Column sums of a 2-D array, (N, C) -> (C,): ones(N) @ a, a.sum(0)."""
    return ones(a.shape[0], a) @ a
