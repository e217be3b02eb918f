"""matmul.cu: every rung and layout against float64 NumPy, on ragged shapes."""
import numpy as np
import pytest

from minilm.kernels import launch
from minilm.kernels.emulator import set_schedule
from helpers import error_bound

R = np.random.default_rng(10)
SHAPES = [(1, 1, 1), (17, 65, 33), (130, 97, 20), (65, 1, 130)]


def operands(M, N, K, ta, tb, batch=None):
    R = np.random.default_rng([M, N, K, ta, tb, batch or 0])      # the same inputs in any test order
    lead = (batch,) if batch else ()
    a = R.standard_normal(lead + ((K, M) if ta else (M, K))).astype(np.float32)
    b = R.standard_normal(lead + ((N, K) if tb else (K, N))).astype(np.float32)
    return a, b


def reference(a, b, ta, tb, dtype):
    a, b = a.astype(dtype), b.astype(dtype)
    return (np.swapaxes(a, -1, -2) if ta else a) @ (np.swapaxes(b, -1, -2) if tb else b)


@pytest.mark.parametrize("variant", ["matmul_naive", "matmul_tiled", "matmul_blocked"])
@pytest.mark.parametrize("ta,tb", [(0, 0), (0, 1), (1, 0), (1, 1)])
@pytest.mark.parametrize("shape", SHAPES)
def test_layouts_and_ragged_shapes(variant, ta, tb, shape):
    a, b = operands(*shape, ta, tb)
    c = launch.matmul(a, b, "emu", ta, tb, variant)
    error_bound(c, reference(a, b, ta, tb, np.float64), reference(a, b, ta, tb, np.float32))


def test_batched_with_a_shared_operand():
    a, _ = operands(17, 9, 33, 0, 0, batch=3)
    w = R.standard_normal((9, 33)).astype(np.float32)
    c = launch.matmul(a, w, "emu", tb=True)
    error_bound(c, a.astype(np.float64) @ w.T.astype(np.float64), a @ w.T)


def test_vector_loads_and_scalar_fallback_agree():
    a, b = operands(64, 64, 64, 0, 0)              # multiples of 4: float4 path
    offset = np.empty(64 * 64 + 1, np.float32)[1:].reshape(64, 64)   # misaligned: scalar path
    offset[...] = a
    np.testing.assert_array_equal(launch.matmul(a, b, "emu"), launch.matmul(offset, b, "emu"))


@pytest.mark.parametrize("schedule", ["reverse", "shuffle"])
def test_thread_order_does_not_change_the_result(schedule):
    a, b = operands(70, 45, 31, 0, 1)
    expected = {v: launch.matmul(a, b, "emu", 0, 1, v) for v in ("matmul_tiled", "matmul_blocked")}
    set_schedule(schedule, seed=7)
    for variant, c in expected.items():
        np.testing.assert_array_equal(launch.matmul(a, b, "emu", 0, 1, variant), c)
