"""The same kernel comparisons through CuPy on a real GPU; skipped where there is none."""
import numpy as np
import pytest

import minilm
from minilm.kernels import launch
from helpers import gpt_training_step

pytestmark = pytest.mark.skipif(not minilm.cuda_available(), reason="no CUDA device (CuPy with a GPU) here")

R = np.random.default_rng(20)


def to_gpu(*arrays):
    import cupy
    return [cupy.asarray(a) for a in arrays]


@pytest.mark.parametrize("shape", [(17, 65, 33), (130, 97, 20)])
@pytest.mark.parametrize("ta,tb", [(0, 0), (0, 1), (1, 0)])
def test_matmul_on_gpu(shape, ta, tb):
    M, N, K = shape
    a = R.standard_normal((K, M) if ta else (M, K)).astype(np.float32)
    b = R.standard_normal((N, K) if tb else (K, N)).astype(np.float32)
    c = launch.matmul(*to_gpu(a, b), "cuda", ta, tb).get()
    np.testing.assert_allclose(c, (a.T if ta else a) @ (b.T if tb else b), rtol=1e-4, atol=1e-4)


def test_attention_softmax_xent_layernorm_on_gpu():
    q, k, v, do = (R.standard_normal((2, 65, 32)).astype(np.float32) for _ in range(4))
    o_cpu, lse_cpu = launch.attention_forward(q, k, v, 1, 0.2, "emu")
    o, lse = launch.attention_forward(*to_gpu(q, k, v), 1, 0.2, "cuda")
    np.testing.assert_allclose(o.get(), o_cpu, atol=1e-5)
    grads = launch.attention_backward(*to_gpu(q, k, v), o, lse, *to_gpu(do), 1, 0.2, "cuda")
    for g, g_cpu in zip(grads, launch.attention_backward(q, k, v, o_cpu, lse_cpu, do, 1, 0.2, "emu")):
        np.testing.assert_allclose(g.get(), g_cpu, atol=1e-4)
    x, t = R.standard_normal((9, 65)).astype(np.float32), R.integers(0, 65, 9)
    ones = np.ones(9, np.float32)
    for a, b in zip(launch.softmax_xent(*to_gpu(x, t, ones), -100, 0.0, "cuda"),
                    launch.softmax_xent(x, t, ones, -100, 0.0, "emu")):
        np.testing.assert_allclose(a.get(), b, atol=1e-5)
    w, bias = np.ones(65, np.float32), np.zeros(65, np.float32)
    for a, b in zip(launch.layernorm_forward(*to_gpu(x, w, bias), 1e-5, "cuda"),
                    launch.layernorm_forward(x, w, bias, 1e-5, "emu")):
        np.testing.assert_allclose(a.get(), b, atol=1e-5)


def test_gpt_step_on_cuda_matches_cpu():
    loss_cpu, grads_cpu = gpt_training_step("cpu")
    loss_gpu, grads_gpu = gpt_training_step("cuda")
    assert abs(loss_gpu - loss_cpu) <= 1e-4 * abs(loss_cpu)
    for name, g in grads_cpu.items():
        assert np.abs(grads_gpu[name] - g).max() <= 1e-3 * (np.abs(g).max() + 1e-12), name


@pytest.mark.parametrize("variant", ["tf32", "bf16"])
@pytest.mark.parametrize("ta,tb", [(0, 0), (0, 1), (1, 0)])
def test_tensor_core_matmul_on_gpu_matches_the_emulator(variant, ta, tb):
    M, N, K = 130, 97, 40
    a = R.standard_normal((K, M) if ta else (M, K)).astype(np.float32)
    b = R.standard_normal((N, K) if tb else (K, N)).astype(np.float32)
    c = launch.matmul(*to_gpu(a, b), "cuda", ta, tb, variant).get()
    np.testing.assert_allclose(c, launch.matmul(a, b, "emu", ta, tb, variant), rtol=1e-4, atol=1e-4)


def test_bf16_autocast_gpt_step_on_cuda_matches_cpu():
    from minilm.models import GPT, GPTConfig
    losses = []
    for device in ("cpu", "cuda"):
        minilm.manual_seed(0)
        model = GPT(GPTConfig(vocab_size=13, block_size=16, n_layer=2, n_head=2, n_embd=32)).to(device)
        seq = np.random.default_rng(0).integers(0, 13, (3, 17))
        with minilm.autocast(device, dtype="bfloat16"):
            _, loss = model(minilm.tensor(seq[:, :-1], device=device), minilm.tensor(seq[:, 1:], device=device))
        losses.append(loss.item())
    assert abs(losses[1] - losses[0]) <= 1e-4 * abs(losses[0])
