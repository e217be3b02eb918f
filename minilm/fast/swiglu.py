"""SwiGLU on NumPy, y = silu(g) u for h = [g, u], a cache-sized block of rows at a time, on minilm's threads.

The reference (ops/elementwise.py, SwiGLU) writes sigmoid, silu, y and the slope
dy/dg = u (s + silu (1 - s)) as whole-array expressions: each streams a (B, T, I)
temporary through memory. Here a block of rows holds them in the CPU cache, they
are written into preallocated arrays (out=), and the blocks are shared among
minilm's threads (fast/threads.py): every element is computed the same way
whatever the thread count. Backward writes dL/dg and dL/du straight into the two
halves of one (N, 2I) gradient.
"""
import numpy as np

from ..dispatch import register
from ..ops.elementwise import SwiGLU, sigmoid_array
from .pieces import CHUNK
from .threads import balanced_ranges, split_work


class RowBlockSwiGLU(SwiGLU):
    def applies(self, h):
        return isinstance(h, np.ndarray)

    def forward(self, h):
        h2 = h.reshape(-1, h.shape[-1])                                  # (N, 2I)
        N, I = h2.shape[0], h2.shape[1] // 2
        y, silu, g_slope = (np.empty((N, I), h.dtype) for _ in range(3))

        def block(a, b):
            g, u = h2[a:b, :I], h2[a:b, I:]
            s = sigmoid_array(g, out=g_slope[a:b])
            np.multiply(g, s, out=silu[a:b])                             # dy/du
            np.multiply(silu[a:b], u, out=y[a:b])
            one_minus_s = np.subtract(h.dtype.type(1), s)
            one_minus_s *= silu[a:b]
            s += one_minus_s
            s *= u                                                       # dy/dg = u (s + silu (1 - s))
        split_work(block, balanced_ranges(N, max(1, CHUNK // (2 * I))), share=h2.size >= CHUNK)
        self.silu, self.g_slope = silu, g_slope
        return y.reshape(*h.shape[:-1], I)

    def backward(self, gy):
        N, I = self.silu.shape
        gy2 = gy.reshape(N, I)
        gh = np.empty((N, 2 * I), gy.dtype)
        np.multiply(gy2, self.g_slope, out=gh[:, :I])
        np.multiply(gy2, self.silu, out=gh[:, I:])
        return gh.reshape(*gy.shape[:-1], 2 * I)


register(SwiGLU, "cpu", RowBlockSwiGLU)
