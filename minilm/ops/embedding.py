"""Embedding lookup: row `ids[n]` of a (V, C) weight table.

    forward:   y[n] = W[ids[n]]                      gather
    backward:  dL/dW[v] = sum over n with ids[n] = v of dL/dy[n]     scatter-add

A token that appears several times in the batch collects the gradient of
every occurrence (plain assignment `gW[ids] = gy` would keep only one). Sorting
the ids groups the occurrences of each token into one contiguous run, and
`add.reduceat` sums every run in a single pass: deterministic, and several
times faster than the element-by-element `add.at`. For a small vocabulary
(characters) one matrix product is faster still: dL/dW = onehot(ids)^T dL/dy,
with onehot(ids) the (N, V) matrix of ones at (n, ids[n]).
"""
import numpy as np

from ..autograd import Function
from ..backend import xp_of
from .split_product import matmul_2d

ONE_HOT_VOCAB = 128  # up to this many rows, the one-hot product beats sort + reduceat (2x at V = 65)


def check_ids(ids, num_embeddings, what="token id"):
    """Out-of-range ids would silently wrap around (negative) or crash later: name them now."""
    if ids.dtype.kind not in "iu":
        raise TypeError(f"embedding ids must be integers, got dtype {ids.dtype}")
    if ids.size and (ids.min() < 0 or ids.max() >= num_embeddings):
        bad = ids[(ids < 0) | (ids >= num_embeddings)].ravel()[0]
        raise IndexError(f"{what} {int(bad)} is out of range for a vocabulary of size {num_embeddings}")


class Embedding(Function):
    def __init__(self, ids, padding_idx=None):
        self.ids, self.padding_idx = ids, padding_idx

    def forward(self, weight):
        check_ids(self.ids, weight.shape[0])
        self.weight_shape, self.dtype = weight.shape, weight.dtype
        return weight[self.ids]

    def backward(self, gy):
        xp = xp_of(gy)
        V, C = self.weight_shape
        ids, gy2 = self.ids.ravel(), gy.reshape(-1, C)                   # (N,), (N, C)
        if xp is np and V <= ONE_HOT_VOCAB:
            one_hot_t = ids[None, :] == xp.arange(V)[:, None]                  # (V, N)
            gw = matmul_2d(one_hot_t.astype(self.dtype), gy2)                   # (V, C), on all cores
        else:
            gw = xp.zeros(self.weight_shape, self.dtype)
            if xp is not np:  # CuPy: scatter-add with atomics on the GPU
                import cupyx
                cupyx.scatter_add(gw, ids, gy2)
            elif ids.size:
                order = xp.argsort(ids, kind="stable")
                sorted_ids = ids[order]                                        # (N,)
                run_starts = xp.flatnonzero(xp.concatenate(
                    [xp.ones(1, bool), sorted_ids[1:] != sorted_ids[:-1]]))     # (tokens used,)
                gw[sorted_ids[run_starts]] = xp.add.reduceat(gy2[order], run_starts, axis=0)
        if self.padding_idx is not None:
            gw[self.padding_idx] = 0
        return gw
