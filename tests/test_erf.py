"""float64 means float64: erf by its series and the float64 GELU built on it, against math.erf."""
import math

import numpy as np
import pytest

import minilm
import minilm.functional as F
from minilm.ops.erf import erf
from minilm.fast.pieces import CHUNK

R = np.random.default_rng(0)


def test_erf_matches_math_erf_to_float64_accuracy():
    z = np.concatenate([np.linspace(-8, 8, 20001), R.standard_normal(2000) * 2, [0.0, -0.0, 5.9, 6.0, 6.1, 1e-300]])
    reference = np.array([math.erf(v) for v in z])
    assert np.max(np.abs(erf(z) - reference)) < 1e-14
    assert erf(np.array([np.inf, -np.inf])).tolist() == [1.0, -1.0] and np.isnan(erf(np.array([np.nan])))[0]


def test_float32_erf_is_within_its_polynomial_error():
    z = np.linspace(-8, 8, 20001)
    reference = np.array([math.erf(v) for v in z])
    got = erf(z.astype(np.float32))
    # 1.5e-7 from the polynomial, the rest from float32 rounding of 1 - poly e^(-z^2) near z = 0
    assert got.dtype == np.float32 and np.max(np.abs(got - reference)) < 1e-6
    assert erf(np.array([np.inf, -np.inf], np.float32)).tolist() == [1.0, -1.0]


@pytest.mark.parametrize("reference", [True, False], ids=["reference", "fast"])
def test_float64_gelu_and_its_slope_are_exact(reference):
    """Fast: more than one piece (on several threads), and the tails where Phi is 0 or 1."""
    x = np.concatenate([R.standard_normal(CHUNK + 1000) * 3, [0.0, -0.0, 1e-30, 8.0, -8.0, 40.0, -40.0]])
    x64 = minilm.tensor(x, requires_grad=True)
    with minilm.reference_ops(reference):
        y = F.gelu(x64)
        y.backward(np.ones(x.shape))
    assert y.numpy().dtype == np.float64 and x64.grad.dtype == np.float64
    cdf = np.array([0.5 * (1 + math.erf(v / math.sqrt(2))) for v in x])
    slope = cdf + x * np.exp(-x * x / 2) / math.sqrt(2 * math.pi)
    assert np.max(np.abs(y.numpy() - x * cdf) / np.maximum(1, np.abs(x))) < 1e-13
    assert np.max(np.abs(x64.grad - slope)) < 1e-13


@pytest.mark.parametrize("reference", [True, False], ids=["reference", "fast"])
def test_float32_keeps_its_polynomial(reference):
    """The float32 result is the polynomial's (within its 1.5e-7), not the series' rounded."""
    x = np.linspace(-4, 4, 4001)
    with minilm.reference_ops(reference):
        y32 = F.gelu(minilm.tensor(x.astype(np.float32))).numpy()
        y64 = F.gelu(minilm.tensor(x.astype(np.float32).astype(np.float64))).numpy()
    assert y32.dtype == np.float32
    difference = np.abs(y32.astype(np.float64) - y64)
    assert 1e-8 < difference.max() < 5e-7
