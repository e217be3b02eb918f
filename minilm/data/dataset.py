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


def _as_tensor(array, device):
    return Tensor(np.asarray(array, dtype=np.int64), device=device)


class TokenDataset:
    """Token ids (a .bin file, memory-mapped, or any 1-D integer array) cut into windows."""

    def __init__(self, data, block_size, dtype=None):
        if isinstance(data, (str, os.PathLike)):
            path = os.fspath(data)
            if dtype is None:
                dtype = load_meta(os.path.dirname(path) or ".")["dtype"]
            data = np.memmap(path, dtype=dtype, mode="r")
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

    def get_batch(self, batch_size, rng, device="cpu"):
        """x, y of shape (B, T) from random offsets; y is x shifted one token left."""
        T = self.block_size
        starts = rng.integers(0, len(self.data) - T, size=batch_size)
        rows = np.stack([self.data[s:s + T + 1] for s in starts]).astype(np.int64)   # (B, T+1)
        return _as_tensor(rows[:, :-1], device), _as_tensor(rows[:, 1:], device)

    def iter_windows(self, batch_size, device="cpu", max_batches=None):
        """Consecutive non-overlapping windows, batch_size at a time (the last batch may be smaller)."""
        T = self.block_size
        starts = range(0, len(self.data) - T, T)
        batch = []
        produced = 0
        for s in starts:
            batch.append(self.data[s:s + T + 1])
            if len(batch) == batch_size:
                rows = np.stack(batch).astype(np.int64)
                yield _as_tensor(rows[:, :-1], device), _as_tensor(rows[:, 1:], device)
                batch, produced = [], produced + 1
                if max_batches is not None and produced >= max_batches:
                    return
        if batch:
            rows = np.stack(batch).astype(np.int64)
            yield _as_tensor(rows[:, :-1], device), _as_tensor(rows[:, 1:], device)


class StreamBatcher:
    """B contiguous streams cut into BPTT windows; `position` lets training resume mid-epoch."""

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

    def next_batch(self, device="cpu"):
        """x, y (B, bptt); wraps around at the end of the streams (then `wrapped` is True)."""
        self.wrapped = self.position + self.bptt + 1 > self.stream_len
        if self.wrapped:
            self.position = 0
        p, L = self.position, self.stream_len
        offsets = np.arange(self.batch_size)[:, None] * L + p + np.arange(self.bptt + 1)  # (B, bptt+1)
        rows = self.streams[offsets].astype(np.int64)
        self.position += self.bptt
        return _as_tensor(rows[:, :-1], device), _as_tensor(rows[:, 1:], device)
