"""Lesson 12 exercises (NumPy only): replace each `raise NotImplementedError`, then run
`minilm course check 12`."""
import numpy as np


def shard_rows(batch_size, rank, world_size):
    """The slice of a global batch's rows that `rank` takes: equal consecutive shares, rank 0 first;
    a ValueError when batch_size does not split into world_size equal shares."""
    raise NotImplementedError("exercise 12.1: write shard_rows")


def ring_all_reduce(arrays):
    """(results, sent): W equal-length 1-D arrays summed by a ring all-reduce (reduce-scatter then all-gather
    over W chunks); results[r] is rank r's copy of the sum, sent the number of values each rank sent."""
    raise NotImplementedError("exercise 12.2: write ring_all_reduce")


def predicted_step_time(t1, gradient_bytes, processes, bandwidth, latency):
    """t1 + 2 (W - 1) / W * gradient_bytes / bandwidth + 2 (W - 1) * latency, in seconds."""
    raise NotImplementedError("exercise 12.3: write predicted_step_time")
