"""Embedding lookup: row `ids[n]` of a (V, C) weight table.

    forward:   y[n] = W[ids[n]]                      gather
    backward:  dL/dW[v] = sum over n with ids[n] = v of dL/dy[n]     scatter-add

A token that appears several times in the batch collects the gradient of
every occurrence: plain assignment `gW[ids] = gy` would keep only one, while
`add.at` adds every row in (NumPy; CuPy's add.at adds with atomics on the GPU).
"""
from ..autograd import Function
from ..backend import xp_of


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
        xp, C = xp_of(gy), self.weight_shape[1]
        gw = xp.zeros(self.weight_shape, self.dtype)                     # (V, C)
        xp.add.at(gw, self.ids.ravel(), gy.reshape(-1, C))               # gw[ids[n]] += gy[n], (N,) and (N, C)
        if self.padding_idx is not None:
            gw[self.padding_idx] = 0
        return gw
