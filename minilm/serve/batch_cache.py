"""A key/value cache for many requests at once, each row at its own length.

models/gpt.py's KVCache holds rows of one length: fine for G samples of one prompt,
not for requests that arrive at different times with prompts of different sizes.
BatchCache keeps, for one layer, a fixed block of rows

    k, v      (rows, nkv, block_size, hs)      row r holds lengths[r] positions
    lengths   (rows,)

and the first `active` rows are in use: a request's row is filled by put() after
its prompt's own forward pass (its prefill), and a finished request's row is
refilled by the last active row (remove), so the active rows stay packed at the
front and a decoding step reads them as one slice, without copying.

It speaks KVCache's two methods, so the model runs on it unchanged:

    positions(T)    (B, T): row b's next positions, lengths[b] .. lengths[b] + T - 1
                    (learned position embeddings and rotary angles are per row)
    extend(k, v)    stores the new keys and values after each row's own, and returns
                    all of them with a mask (B, 1, T, S): key j is visible to the
                    query at row b, step t when j <= lengths[b] + t. A shorter row's
                    unused tail (stale keys of an earlier request) is masked out.

Shapes: B active rows, nkv key/value heads, S the longest active row, hs head size.
"""
import numpy as np

from ..backend import xp_of
from ..tensor import Tensor


class BatchCache:
    def __init__(self, rows, capacity):
        self.rows, self.capacity = rows, capacity
        self.k = self.v = None
        self.lengths = np.zeros(rows, dtype=np.int64)
        self.active = 0

    def put(self, row, k, v):
        """Fill `row` with one request's keys and values (nkv, L, hs), e.g. from its prefill's KVCache."""
        if self.k is None:
            xp = xp_of(k)
            shape = (self.rows, k.shape[0], self.capacity, k.shape[2])
            self.k, self.v = xp.zeros(shape, k.dtype), xp.zeros(shape, v.dtype)
        length = k.shape[1]
        self.k[row, :, :length], self.v[row, :, :length] = k, v
        self.lengths[row] = length

    def remove(self, row):
        """Free `row`: the last active row moves into it (the caller moves its request there too)."""
        last = self.active - 1
        if row != last:
            length = self.lengths[last]
            self.k[row, :, :length], self.v[row, :, :length] = self.k[last, :, :length], self.v[last, :, :length]
            self.lengths[row] = length
        self.lengths[last] = 0
        self.active = last

    def positions(self, T):
        return self.lengths[:self.active, None] + np.arange(T)                     # (B, T)

    def extend(self, k, v):
        """k, v (B, nkv, T, hs) of the active rows' new tokens -> all their keys, values and the mask."""
        B, _, T, _ = k.shape
        lengths = self.lengths[:B].copy()
        for t in range(T):                            # (T is 1 while decoding)
            self.k[np.arange(B), :, lengths + t] = k.data[:, :, t]
            self.v[np.arange(B), :, lengths + t] = v.data[:, :, t]
        self.lengths[:B] += T
        S = int(self.lengths[:B].max())
        visible = np.arange(S)[None, None, :] < (lengths[:, None] + np.arange(1, T + 1))[:, :, None]   # (B, T, S)
        xp = xp_of(self.k)
        mask = Tensor._wrap(xp.asarray(visible[:, None]), k.device)                                     # (B, 1, T, S)
        return Tensor._wrap(self.k[:B, :, :S], k.device), Tensor._wrap(self.v[:B, :, :S], v.device), mask
