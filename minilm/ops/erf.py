"""The error function, elementwise, to the accuracy of the array's dtype (NumPy has none).

    erf(z) = 2/sqrt(pi) int_0^z e^(-t^2) dt

float64 (gradcheck's dtype): the series

    erf(z) = 2/sqrt(pi) e^(-z^2) sum_{n>=0} 2^n z^(2n+1) / (1 * 3 * 5 * ... * (2n+1))

(Abramowitz & Stegun 7.1.6). Every term is positive for z > 0, so, unlike the
Taylor series of erf itself, nothing cancels: the sum is exact to a few
float64 roundings. Term n+1 is term n times 2 z^2 / (2n+3); the terms grow
while 2n+3 < 2 z^2, then shrink, and the loop stops when the last one no
longer changes the sum. Beyond |z| = 6, erf(z) rounds to +-1 in float64 (its
distance from 1 is 2e-17), so z is clipped there and its erf set to 1: at most
~120 terms. Measured against math.erf over [-8, 8]: max abs error 2.8e-15
(tests/test_erf.py).

float32 and narrower: five terms (Abramowitz & Stegun 7.1.26),

    erf(z) ~ 1 - (a1 t + a2 t^2 + ... + a5 t^5) e^(-z^2),   t = 1 / (1 + p z),   z >= 0,

absolute error < 1.5e-7, float32's resolution near 1, and smooth.
On a GPU, CuPy's own erf (cupyx.scipy.special) is used.
"""
import math

import numpy as np

from ..backend import xp_of

LARGEST = 6.0                   # erf(6) = 1 - 2.2e-17: 1.0 in float64
ERF_P = 0.3275911               # A&S 7.1.26's p and a1 .. a5
ERF_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)
_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)


def erf(z):
    """erf of a float array, elementwise, to the accuracy of its dtype."""
    xp = xp_of(z)
    if xp is not np:
        from cupyx.scipy.special import erf as cupy_erf
        return cupy_erf(z)
    return erf_series(z) if z.dtype == np.float64 else erf_polynomial(z)


def erf_polynomial(z):
    """A&S 7.1.26, error < 1.5e-7: for float32 (and narrower) arrays."""
    a = np.abs(z)
    t = 1 / (1 + ERF_P * a)
    poly = t * (ERF_A[0] + t * (ERF_A[1] + t * (ERF_A[2] + t * (ERF_A[3] + t * ERF_A[4]))))
    return np.copysign(1 - poly * np.exp(-a * a), z)


def erf_series(z):
    """A&S 7.1.6, to float64 accuracy: for float64 arrays."""
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
