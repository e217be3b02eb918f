"""From a token stream to training batches.

A language model learns from windows of block_size tokens: the input x is
tokens[i : i+T], the target y is tokens[i+1 : i+T+1] (each position predicts
the next token). Three ways to cut windows:

    get_batch       B windows at random offsets: the usual training batch
    iter_windows    consecutive, non-overlapping windows: evaluation covers
                    every token exactly once
    StreamBatcher   B parallel streams, each a contiguous 1/B of the data, cut
                    into consecutive windows: window k+1 of stream b continues
                    window k, so a recurrent model can carry its hidden state
                    across windows (truncated backpropagation through time)
"""
import os

import numpy as np

from ..tensor import Tensor
from .prepare import load_meta


def windows(data, starts, T, device="cpu"):
    """x, y (B, T) int64 tensors from the windows data[s : s+T+1], one per start s."""
    rows = data[np.asarray(starts)[:, None] + np.arange(T + 1)].astype(np.int64)   # (B, T+1)
    return Tensor(rows[:, :-1], device=device), Tensor(rows[:, 1:], device=device)  # (B, T) each


class TokenDataset:
    """Token ids (a .bin file, memory-mapped, or any 1-D integer array) cut into windows."""

    def __init__(self, data, block_size, dtype=None):
        if isinstance(data, (str, os.PathLike)):
            path = os.fspath(data)
            if dtype is None:
                dtype = load_meta(os.path.dirname(path) or ".")["dtype"]
            # an empty split cannot be memory-mapped; as an empty array it gets the error below
            data = np.memmap(path, dtype=dtype, mode="r") if os.path.getsize(path) else np.zeros(0, dtype)
        self.data = np.asarray(data) if not isinstance(data, np.memmap) else data
        if self.data.ndim != 1:
            raise ValueError(f"token data must be 1-D, got shape {self.data.shape}")
        if not (isinstance(block_size, (int, np.integer)) and block_size >= 1):
            raise ValueError(f"block_size must be a positive integer, got {block_size!r}")
        if len(self.data) < block_size + 1:
            raise ValueError(f"this split has {len(self.data)} tokens, fewer than block_size + 1 = "
                             f"{block_size + 1}: use a smaller block_size or more text")
        self.block_size = block_size

    def __len__(self):
        return len(self.data)

    def get_batch(self, batch_size, rng, device="cpu", rows=slice(None)):
        """x, y of shape (B, T) from random offsets; y is x shifted one token left.

        `rows` keeps only some of the B windows (data-parallel training: each
        process its slice of the batch). The generator draws all B offsets
        either way, so the batches that follow do not depend on it.
        """
        T = self.block_size
        starts = rng.integers(0, len(self.data) - T, size=batch_size)[rows]          # (B,) or fewer
        return windows(self.data, starts, T, device)

    def iter_windows(self, batch_size, device="cpu", max_batches=None):
        """Consecutive non-overlapping windows, batch_size at a time (the last batch may be smaller)."""
        T = self.block_size
        # window k predicts tokens kT+1 .. kT+T, so together they score every token but the first once
        starts = np.arange(0, len(self.data) - T, T)
        for n, first in enumerate(range(0, len(starts), batch_size)):
            if max_batches is not None and n >= max_batches:
                return
            yield windows(self.data, starts[first:first + batch_size], T, device)


class StreamBatcher:
    """B contiguous streams cut into BPTT windows, for recurrent models.

    Stream b is tokens[b*L : (b+1)*L + 1] with L = (n - 1) // B; batch k holds
    window k of every stream, so row b of batch k+1 starts where row b of
    batch k ended and the model's final hidden state is the right initial
    state for the next batch. After the last full window the streams start
    over and `wrapped` is True for that batch: reset the hidden state then.
    `position` (the offset inside each stream) lets training resume mid-epoch.
    """

    def __init__(self, data, batch_size, bptt):
        data = data.data if isinstance(data, TokenDataset) else np.asarray(data)
        stream_len = (len(data) - 1) // batch_size
        if stream_len < bptt + 1:
            raise ValueError(f"{len(data)} tokens make streams of {stream_len} tokens for batch size "
                             f"{batch_size}, shorter than bptt + 1 = {bptt + 1}")
        self.streams = np.asarray(data[:batch_size * stream_len + 1])
        self.batch_size, self.bptt, self.stream_len = batch_size, bptt, stream_len
        self.position = 0

    def __len__(self):
        return (self.stream_len - 1) // self.bptt

    def next_batch(self, device="cpu", rows=slice(None)):
        """x, y (B, bptt); wraps around at the end of the streams (then `wrapped` is True).

        `rows` keeps only some of the streams (data-parallel training: each process its own).
        """
        self.wrapped = self.position + self.bptt + 1 > self.stream_len
        if self.wrapped:
            self.position = 0
        starts = (np.arange(self.batch_size) * self.stream_len + self.position)[rows]  # (B,) or fewer
        self.position += self.bptt
        return windows(self.streams, starts, self.bptt, device)
