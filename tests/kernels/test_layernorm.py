"""layernorm.cu: forward and backward against float64 NumPy; the parameter reduction is deterministic."""
import numpy as np
import pytest

from minilm.kernels import launch
from minilm.kernels.emulator import set_schedule
from helpers import error_bound

R = np.random.default_rng(13)


def reference(x, w, b, dy, dtype, eps=1e-5):
    x, w, b, dy = (a.astype(dtype) for a in (x, w, b, dy))
    mu = x.mean(1, keepdims=True)
    rstd = 1 / np.sqrt(((x - mu) ** 2).mean(1, keepdims=True) + eps)
    xhat = (x - mu) * rstd
    g = dy * w
    dx = rstd * (g - g.mean(1, keepdims=True) - xhat * (g * xhat).mean(1, keepdims=True))
    return xhat * w + b, dx, (dy * xhat).sum(0), dy.sum(0)


@pytest.mark.parametrize("N,C", [(1, 1), (17, 65), (130, 97), (5, 300)])
def test_forward_and_backward(N, C):
    x = (R.standard_normal((N, C)) * 2 + 1).astype(np.float32)
    w, b = R.standard_normal(C).astype(np.float32), R.standard_normal(C).astype(np.float32)
    dy = R.standard_normal((N, C)).astype(np.float32)
    y, mean, rstd = launch.layernorm_forward(x, w, b, 1e-5, "emu")
    dx, dw, db = launch.layernorm_backward(dy, x, w, mean, rstd, "emu", rows_per_chunk=16)
    ref64, ref32 = reference(x, w, b, dy, np.float64), reference(x, w, b, dy, np.float32)
    for got, r64, r32 in zip((y, dx, dw, db), ref64, ref32):
        error_bound(got, r64, r32, floor=1e-5)


def test_deterministic_under_any_thread_order():
    x, dy = R.standard_normal((70, 33)).astype(np.float32), R.standard_normal((70, 33)).astype(np.float32)
    w, b = np.ones(33, np.float32), np.zeros(33, np.float32)
    y, mean, rstd = launch.layernorm_forward(x, w, b, 1e-5, "emu")
    first = launch.layernorm_backward(dy, x, w, mean, rstd, "emu", rows_per_chunk=8)
    set_schedule("reverse")
    again = launch.layernorm_backward(dy, x, w, mean, rstd, "emu", rows_per_chunk=8)
    for a, b_ in zip(first, again):
        np.testing.assert_array_equal(a, b_)
