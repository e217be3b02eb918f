"""Lesson 12: reference solutions (NumPy only)."""
import numpy as np


def shard_rows(batch_size, rank, world_size):
    """The slice of a global batch's rows that `rank` takes: equal consecutive shares, rank 0 first;
    a ValueError when batch_size does not split into world_size equal shares."""
    if batch_size % world_size:
        raise ValueError(f"batch_size {batch_size} does not split into {world_size} equal shares")
    share = batch_size // world_size
    return slice(rank * share, (rank + 1) * share)


def ring_all_reduce(arrays):
    """(results, sent): W equal-length 1-D arrays summed by a ring all-reduce (reduce-scatter then all-gather
    over W chunks); results[r] is rank r's copy of the sum, sent the number of values each rank sent."""
    W = len(arrays)
    chunks = [np.array_split(np.array(a, dtype=np.float64), W) for a in arrays]   # chunks[rank][c]
    sent = 0
    for step in range(W - 1):                                   # reduce-scatter
        outgoing = [(r, (r - step) % W, chunks[r][(r - step) % W].copy()) for r in range(W)]
        for r, c, data in outgoing:
            chunks[(r + 1) % W][c] += data
        sent += len(outgoing[0][2])
    for step in range(W - 1):                                   # all-gather: rank r owns chunk (r + 1) % W
        outgoing = [(r, (r + 1 - step) % W, chunks[r][(r + 1 - step) % W].copy()) for r in range(W)]
        for r, c, data in outgoing:
            chunks[(r + 1) % W][c] = data
        sent += len(outgoing[0][2])
    return [np.concatenate(c) for c in chunks], sent


def predicted_step_time(t1, gradient_bytes, processes, bandwidth, latency):
    """t1 + 2 (W - 1) / W * gradient_bytes / bandwidth + 2 (W - 1) * latency, in seconds."""
    W = processes
    return t1 + 2 * (W - 1) / W * gradient_bytes / bandwidth + 2 * (W - 1) * latency
