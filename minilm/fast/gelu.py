"""The exact GELU on NumPy, y = x Phi(x) and its slope, in cache-sized pieces on minilm's threads.

The reference (ops/elementwise.py, GELU) evaluates Phi(x) = (1 + erf(x / sqrt 2)) / 2
and phi(x) as whole-array expressions: some twenty passes over the tensor, each
with a new temporary. Here the same math runs on pieces of the flat tensor
(fast/pieces.py), mostly in place, so a piece's few temporaries stay in the CPU
cache, and the pieces are shared among minilm's threads. For float32 (and
narrower) the erf polynomial (ops/erf.py, A&S 7.1.26) is rearranged to take 25
passes:

- its coefficients are halved once, so it gives (1 - erf|z|) / 2 directly;
- e^(-z^2) = e^(-x^2/2) = sqrt(2 pi) phi(x) is computed once, for erf and phi;
- erf's sign is or-ed into the IEEE sign bit (two integer passes: NumPy's
  copysign is not vectorised and takes about 3x as long).

float64 keeps erf's float64 series (ops/erf.py), only cut into pieces.
"""
import math

import numpy as np

from ..dispatch import register
from ..ops.elementwise import GELU
from ..ops.erf import ERF_A, ERF_P, erf_series
from .pieces import map_pieces

_SQRT_HALF = 1 / math.sqrt(2)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)


def gelu_piece(x, y, slope):
    """Write y = x Phi(x) and the slope Phi(x) + x phi(x) for one piece of x (25 passes, mostly in place).

    With z = x / sqrt 2:  Phi = 1/2 + erf(z) / 2, and erf z = sign(z) (1 - poly(t) e^(-z^2)),
    t = 1 / (1 + p|z|).
    """
    f = x.dtype.type
    a = np.abs(x)
    t = a * f(ERF_P * _SQRT_HALF)
    t += 1
    np.divide(f(1), t, out=t)              # t  (NumPy's divide is faster than its reciprocal here)
    poly = t * f(ERF_A[4] / 2)
    for coefficient in reversed(ERF_A[:4]):
        poly += f(coefficient / 2)
        poly *= t
    np.multiply(a, a, out=a)
    a *= f(-0.5)
    np.exp(a, out=a)                       # e^(-x^2/2)
    poly *= a                              # (1 - erf|z|) / 2
    np.subtract(f(0.5), poly, out=poly)    # erf|z| / 2
    copy_sign(poly, x, out=poly)           # erf(z) / 2
    poly += f(0.5)                         # Phi(x)
    a *= f(_INV_SQRT_2PI)                  # phi(x)
    a *= x
    np.add(a, poly, out=slope)             # Phi(x) + x phi(x)
    np.multiply(poly, x, out=y)            # x Phi(x)


def gelu_piece_float64(x, y, slope):
    """The same two results to float64 accuracy: erf by its series, not float32's polynomial."""
    phi = np.exp(x * x * -0.5) * _INV_SQRT_2PI
    cdf = 0.5 + 0.5 * erf_series(x * _SQRT_HALF)  # Phi(x)
    np.add(cdf, x * phi, out=slope)                # Phi(x) + x phi(x)
    np.multiply(x, cdf, out=y)                     # x Phi(x)


def copy_sign(magnitude, sign_of, out):
    """|magnitude| with the sign of sign_of, for magnitude >= 0: or-ing in the IEEE sign bit (float32)."""
    if out.dtype != np.float32:
        return np.copysign(magnitude, sign_of, out=out)
    bits = out.view(np.int32)
    sign = np.bitwise_and(sign_of.view(np.int32), np.int32(-2 ** 31))
    return np.bitwise_or(magnitude.view(np.int32), sign, out=bits).view(np.float32)


class PiecewiseGELU(GELU):
    def applies(self, x):
        return self.approximate == "none" and isinstance(x, np.ndarray)

    def forward(self, x):
        y, slope = map_pieces(gelu_piece_float64 if x.dtype == np.float64 else gelu_piece, x, 2)
        self.slope = slope.reshape(x.shape)                              # Phi(x) + x phi(x)
        return y.reshape(x.shape)


register(GELU, "cpu", PiecewiseGELU)
