"""Long element-wise formulas over big tensors, evaluated in cache-sized pieces.

A formula of many steps (GELU's erf takes about twenty) written as NumPy calls
streams the whole tensor through memory once per step. Cut into pieces of
CHUNK elements, the temporaries of one piece stay in the CPU's cache, and the
same NumPy calls run about 3x faster.

(Handing the pieces to a pool of threads looks tempting, since NumPy releases
the interpreter lock inside its loops, but measured here it loses: BLAS threads
still spinning after the previous matrix product occupy the other core.)
"""
import numpy as np

from ..backend import xp_of

CHUNK = 65536  # elements per piece: ~20 float32 temporaries of this size fit in a 512 KiB L2 cache


def map_pieces(fn, x, n_out):
    """fn(piece) -> n_out arrays, applied piece by piece to flat x; returns n_out flat arrays."""
    flat = x.reshape(-1)
    if xp_of(x) is not np or flat.size <= CHUNK:
        return fn(flat)
    outs = [np.empty_like(flat) for _ in range(n_out)]
    for start in range(0, flat.size, CHUNK):
        for out, piece in zip(outs, fn(flat[start:start + CHUNK])):
            out[start:start + CHUNK] = piece
    return outs
