"""Long element-wise formulas over big tensors, evaluated in cache-sized pieces.

A formula of many steps (GELU's erf takes about twenty) written as NumPy calls
streams the whole tensor through memory once per step. Cut into pieces of
CHUNK elements, the temporaries of one piece stay in the CPU's cache, and the
same NumPy calls run several times faster. The pieces are independent, so they are
shared among minilm's threads (fast/threads.py): each element is computed the
same way whatever the thread count.
"""
import numpy as np

from .threads import balanced_ranges, split_work

CHUNK = 262144  # elements per piece: its few 1 MiB temporaries stay in cache (measured best of 64K-4M)


def map_pieces(fn, x, n_out):
    """fn(piece, *outs) writes n_out results of a piece of flat x; returns the n_out flat arrays."""
    flat = x.reshape(-1)
    outs = [np.empty_like(flat) for _ in range(n_out)]
    if flat.size <= CHUNK:
        fn(flat, *outs)
        return outs

    def piece(start, stop):
        fn(flat[start:stop], *(out[start:stop] for out in outs))
    split_work(piece, balanced_ranges(flat.size, CHUNK))
    return outs
