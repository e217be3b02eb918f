"""The embedding's backward on NumPy, dL/dW = scatter-add of dL/dy by token id, without add.at.

The reference (ops/embedding.py) adds row by row with `np.add.at`, which NumPy
runs one element at a time. Two faster ways to the same sums:

- a small vocabulary (characters, V <= ONE_HOT_VOCAB): one matrix product,
  dL/dW = onehot(ids)^T dL/dy, with onehot(ids) the (N, V) matrix of ones at
  (n, ids[n]), computed on all cores (the row-split product of fast/matmul.py);
- a larger one: sort the ids, so that the occurrences of each token form one
  contiguous run, and sum every run in a single pass with `add.reduceat`
  (deterministic, and several times faster than add.at).
"""
import numpy as np

from ..dispatch import register
from ..ops.embedding import Embedding
from .matmul import row_split_matmul

ONE_HOT_VOCAB = 128  # up to this many rows, the one-hot product beats sort + reduceat (2x at V = 65)


class OneHotOrSortedEmbedding(Embedding):
    def applies(self, weight):
        return isinstance(weight, np.ndarray)

    def backward(self, gy):
        V, C = self.weight_shape
        ids, gy2 = self.ids.ravel(), gy.reshape(-1, C)                   # (N,), (N, C)
        if V <= ONE_HOT_VOCAB:
            one_hot_t = ids[None, :] == np.arange(V)[:, None]           # (V, N)
            gw = row_split_matmul((one_hot_t.astype(self.dtype), gy2))[0]   # (V, C), on all cores
        else:
            gw = np.zeros(self.weight_shape, self.dtype)
            if ids.size:
                order = np.argsort(ids, kind="stable")
                sorted_ids = ids[order]                                  # (N,)
                run_starts = np.flatnonzero(np.concatenate(
                    [np.ones(1, bool), sorted_ids[1:] != sorted_ids[:-1]]))   # (tokens used,)
                gw[sorted_ids[run_starts]] = np.add.reduceat(gy2[order], run_starts, axis=0)
        if self.padding_idx is not None:
            gw[self.padding_idx] = 0
        return gw


register(Embedding, "cpu", OneHotOrSortedEmbedding)
