"""attention.cu: forward and backward against float64 NumPy, causal and not, ragged T."""
import numpy as np
import pytest

from minilm.kernels import launch
from minilm.kernels.emulator import set_schedule
from helpers import error_bound

R = np.random.default_rng(11)


def reference(q, k, v, do, causal, scale, dtype):
    q, k, v, do = (x.astype(dtype) for x in (q, k, v, do))
    s = q @ np.swapaxes(k, -1, -2) * scale
    T = q.shape[-2]
    if causal:
        s = np.where(np.tril(np.ones((T, T), bool)), s, -np.inf)
    m = s.max(-1, keepdims=True)
    e = np.exp(s - m)
    p = e / e.sum(-1, keepdims=True)
    o = p @ v
    dp = do @ np.swapaxes(v, -1, -2)
    ds = p * (dp - (dp * p).sum(-1, keepdims=True)) * scale
    return {"o": o, "lse": (m + np.log(e.sum(-1, keepdims=True)))[..., 0], "dq": ds @ k,
            "dk": np.swapaxes(ds, -1, -2) @ q, "dv": np.swapaxes(p, -1, -2) @ do}


def run(q, k, v, do, causal, scale):
    o, lse = launch.attention_forward(q, k, v, causal, scale, "emu")
    dq, dk, dv = launch.attention_backward(q, k, v, o, lse, do, causal, scale, "emu")
    return {"o": o, "lse": lse, "dq": dq, "dk": dk, "dv": dv}


@pytest.mark.parametrize("causal", [0, 1])
@pytest.mark.parametrize("shape", [(1, 1, 8), (2, 17, 16), (3, 65, 32), (1, 97, 64), (1, 130, 128)])
def test_forward_and_backward(shape, causal):
    q, k, v, do = (R.standard_normal(shape).astype(np.float32) for _ in range(4))
    scale = 1 / np.sqrt(shape[-1])
    got = run(q, k, v, do, causal, scale)
    ref64 = reference(q, k, v, do, causal, scale, np.float64)
    ref32 = reference(q, k, v, do, causal, scale, np.float32)
    for name in got:
        error_bound(got[name], ref64[name], ref32[name], floor=1e-5)


def test_deterministic_under_any_thread_order():
    q, k, v, do = (R.standard_normal((2, 40, 16)).astype(np.float32) for _ in range(4))
    first = run(q, k, v, do, 1, 0.25)
    for schedule in ("reverse", "shuffle"):
        set_schedule(schedule, seed=1)
        again = run(q, k, v, do, 1, 0.25)
        for name in first:
            np.testing.assert_array_equal(first[name], again[name])
