"""The error function to float64 accuracy, for float64 tensors (gradcheck's dtype).

    erf(z) = 2/sqrt(pi) int_0^z e^(-t^2) dt

NumPy has no erf. float32 GELU uses a five-term polynomial (Abramowitz &
Stegun 7.1.26, see elementwise.py) whose error, 1.5e-7, is below float32's
resolution but a million times float64's. Here, the series

    erf(z) = 2/sqrt(pi) e^(-z^2) sum_{n>=0} 2^n z^(2n+1) / (1 * 3 * 5 * ... * (2n+1))

(Abramowitz & Stegun 7.1.6). Every term is positive for z > 0, so, unlike the
Taylor series of erf itself, nothing cancels: the sum is exact to a few
float64 roundings. Term n+1 is term n times 2 z^2 / (2n+3); the terms grow
while 2n+3 < 2 z^2, then shrink, and the loop stops when the last one no
longer changes the sum. Beyond |z| = 6, erf(z) rounds to +-1 in float64 (its
distance from 1 is 2e-17), so z is clipped there and its erf set to 1: at most
~120 terms.

Measured against math.erf over [-8, 8]: max abs error 2.8e-15 (tests/test_erf.py).
On a GPU, CuPy's own erf (cupyx.scipy.special) is used.
"""
import math

import numpy as np

from ..backend import xp_of

LARGEST = 6.0                   # erf(6) = 1 - 2.2e-17: 1.0 in float64
_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)


def erf(z):
    """erf of a float64 array, elementwise, to float64 accuracy."""
    xp = xp_of(z)
    if xp is not np:
        from cupyx.scipy.special import erf as cupy_erf
        return cupy_erf(z)
    a = np.minimum(np.abs(z), LARGEST)
    a2 = a * a
    term = a.copy()                                  # n = 0: z
    total = a.copy()
    n = 0
    while True:
        n += 1
        term *= a2 * (2 / (2 * n + 1))               # 2^n z^(2n+1) / (2n+1)!!
        total += term
        if not (term > total * np.finfo(np.float64).epsneg).any():
            break
    total *= np.exp(-a2)
    total *= _TWO_OVER_SQRT_PI
    total[a == LARGEST] = 1.0                        # (the series' roundings there are ~1e-15 below 1)
    return np.copysign(total, z)
