"""Mixed precision: autocast rounds matrix-product operands to bf16/fp16; GradScaler skips overflowing steps."""
import shutil

import numpy as np
import pytest

import minilm
from minilm import amp
from minilm.bfloat16 import round_to_bfloat16
from minilm.models import GPT, GPTConfig

# bf16 keeps 8 significant bits: each rounded operand is off by up to 2^-9 relative, and a
# product of two by ~2^-8. A loss averaged over many such products moves far less: we allow
# 1e-2 relative for the loss and 5e-2 for a gradient's norm-wise error, and state it here.
BF16_LOSS_RTOL, BF16_GRAD_RTOL = 1e-2, 5e-2


def test_linear_multiplies_bf16_rounded_operands_on_cpu(rng):
    x = minilm.tensor(rng.standard_normal((5, 7)).astype(np.float32), requires_grad=True)
    w = minilm.tensor(rng.standard_normal((3, 7)).astype(np.float32), requires_grad=True)
    with minilm.autocast("cpu"):
        y = minilm.functional.linear(x, w)
    expected = round_to_bfloat16(x.data) @ round_to_bfloat16(w.data).T
    np.testing.assert_array_equal(y.data, expected)
    assert not np.array_equal(y.data, x.data @ w.data.T)                # it really is not float32
    y.sum().backward()                                                  # backward, outside: still bf16
    np.testing.assert_array_equal(w.grad, np.ones((5, 3), np.float32).T @ round_to_bfloat16(x.data))
    np.testing.assert_array_equal(minilm.functional.linear(x, w).data, x.data @ w.data.T)   # off again


def test_autocast_is_a_layer_over_the_reference_or_the_fast_path(rng):
    x = minilm.tensor(rng.standard_normal((5, 7)).astype(np.float32), requires_grad=True)
    w = minilm.tensor(rng.standard_normal((3, 7)).astype(np.float32), requires_grad=True)
    b = minilm.tensor(rng.standard_normal(3).astype(np.float32), requires_grad=True)
    gy = rng.standard_normal((5, 3)).astype(np.float32)
    for reference, op in [(True, "AutocastLinear"), (False, "AutocastRowSplitLinear")]:
        x.grad = w.grad = b.grad = None
        with minilm.reference_ops(reference), minilm.autocast("cpu"):
            y = minilm.functional.linear(x, w, b)
        assert type(y.creator).__name__ == op
        np.testing.assert_allclose(y.data, round_to_bfloat16(x.data) @ round_to_bfloat16(w.data).T + b.data,
                                   rtol=1e-6, atol=1e-6)
        y.backward(minilm.tensor(gy))
        np.testing.assert_allclose(w.grad, round_to_bfloat16(gy).T @ round_to_bfloat16(x.data), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(b.grad, gy.sum(axis=0), rtol=1e-6, atol=1e-6)   # the bias: float32


def test_bf16_products_on_emu_run_the_tensor_core_kernel(rng):
    if shutil.which("g++") is None:
        pytest.skip("the emulator needs g++")
    a, b = (rng.standard_normal(s).astype(np.float32) for s in [(2, 9, 16), (16, 5)])
    with minilm.reference_ops(False), minilm.autocast("emu"):   # the kernels are fast paths
        y = minilm.tensor(a, device="emu", requires_grad=True) @ minilm.tensor(b, device="emu")
    assert type(y.creator).__name__ == "AutocastKernelMatMul" and y.creator.precision == "bfloat16"
    np.testing.assert_allclose(y.data, round_to_bfloat16(a) @ round_to_bfloat16(b), rtol=1e-5, atol=1e-5)


def test_autocast_only_touches_its_device_and_float32(rng):
    a = rng.standard_normal((4, 4))
    with minilm.autocast("cuda"):                                       # another device: cpu untouched
        y = minilm.tensor(a.astype(np.float32)) @ minilm.tensor(a.astype(np.float32))
    np.testing.assert_array_equal(y.data, a.astype(np.float32) @ a.astype(np.float32))
    with minilm.autocast("cpu"):                                        # float64 stays float64
        y = minilm.tensor(a) @ minilm.tensor(a)
    np.testing.assert_array_equal(y.data, a @ a)
    with minilm.autocast("cpu", dtype="float16"):
        y = minilm.tensor(a.astype(np.float32)) @ minilm.tensor(np.eye(4, dtype=np.float32))
    np.testing.assert_array_equal(y.data, a.astype(np.float16).astype(np.float32))


def test_autocast_is_per_device_when_nested():
    with minilm.autocast("cpu"):
        with minilm.autocast("cuda", dtype="float16"):                  # another device: cpu stays bf16
            assert (amp.matmul_precision("cpu"), amp.matmul_precision("cuda")) == ("bfloat16", "float16")
            with minilm.autocast("cpu", enabled=False):                 # off for cpu only
                assert (amp.matmul_precision("cpu"), amp.matmul_precision("cuda")) == (None, "float16")
            assert amp.matmul_precision("cpu") == "bfloat16"
        assert amp.matmul_precision("cuda") is None
    assert amp.matmul_precision("cpu") is None


def test_bad_arguments_are_one_clear_line():
    with pytest.raises(ValueError, match="bfloat16"):
        minilm.autocast("cpu", dtype="int8")
    with pytest.raises(ValueError, match="unknown device"):
        minilm.autocast("tpu")
    with pytest.raises(ValueError, match="highest"):
        minilm.set_float32_matmul_precision("fast")


def gpt_step(device, dtype):
    minilm.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=13, block_size=16, n_layer=2, n_head=2, n_embd=32)).to(device)
    seq = np.random.default_rng(0).integers(0, 13, (3, 17))
    x, y = minilm.tensor(seq[:, :-1], device=device), minilm.tensor(seq[:, 1:], device=device)
    with minilm.autocast(device, dtype=dtype or "float32"):
        _, loss = model(x, y)
    loss.backward()
    return loss.item(), {n: minilm.backend.to_device(p.grad, "cpu") for n, p in model.named_parameters()}


@pytest.mark.parametrize("device", ["cpu", pytest.param("emu", marks=pytest.mark.skipif(
    shutil.which("g++") is None, reason="the emulator needs g++"))])
def test_gpt_forward_and_backward_in_bf16_are_close_to_float32(device):
    loss32, grads32 = gpt_step(device, None)
    loss16, grads16 = gpt_step(device, "bfloat16")
    assert loss16 != loss32                                             # bf16 was used ...
    assert abs(loss16 - loss32) <= BF16_LOSS_RTOL * loss32              # ... and is close
    for name, g in grads32.items():
        err = np.linalg.norm(grads16[name] - g) / max(np.linalg.norm(g), 1e-12)
        assert err <= BF16_GRAD_RTOL, (name, err)
    if device == "emu":                                                 # the kernels agree with the CPU's rounding
        cpu_loss, _ = gpt_step("cpu", "bfloat16")
        assert abs(cpu_loss - loss16) <= 1e-4 * loss32


def train_losses(dtype, steps=40):
    minilm.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=13, block_size=16, n_layer=2, n_head=2, n_embd=32))
    opt = minilm.optim.AdamW(model.parameters(), lr=3e-3)
    data = np.random.default_rng(0).integers(0, 13, 400)
    data[1::2] = (data[::2] + 1) % 13                                    # something learnable
    rng, losses = np.random.default_rng(1), []
    for _ in range(steps):
        starts = rng.integers(0, len(data) - 17, 8)
        seq = np.stack([data[s:s + 17] for s in starts])
        with minilm.autocast("cpu", dtype=dtype or "float32"):
            _, loss = model(minilm.tensor(seq[:, :-1]), minilm.tensor(seq[:, 1:]))
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
    return np.array(losses)


def test_bf16_training_follows_the_float32_loss_curve_within_2_percent():
    losses32, losses16 = train_losses(None), train_losses("bfloat16")
    assert losses32[-1] < 0.8 * losses32[0]                              # it learned something
    assert np.all(np.abs(losses16 - losses32) <= 0.02 * losses32), np.abs(losses16 / losses32 - 1).max()


def test_grad_scaler_skips_an_inf_step_halves_the_scale_and_grows_back():
    w = minilm.tensor(np.ones(3, np.float32), requires_grad=True)
    opt = minilm.optim.SGD([w], lr=0.1)
    scaler = amp.GradScaler(init_scale=8.0, growth_interval=2)
    scaler.scale((w * w).sum()).backward()
    np.testing.assert_array_equal(w.grad, 8 * 2 * np.ones(3))           # scaled gradients
    assert scaler.step(opt)
    scaler.update()
    np.testing.assert_allclose(w.data, 1 - 0.1 * 2)                     # the step used unscaled ones
    opt.zero_grad()
    scaler.scale((w * w).sum()).backward()
    w.grad[1] = np.inf                                                  # an overflow
    before = w.data.copy()
    assert not scaler.step(opt)
    scaler.update()
    np.testing.assert_array_equal(w.data, before)                       # skipped
    assert scaler.scale_value == 4.0                                    # halved
    for _ in range(2):                                                  # two clean steps: doubled again
        opt.zero_grad()
        scaler.scale((w * w).sum()).backward()
        assert scaler.step(opt)
        scaler.update()
    assert scaler.scale_value == 8.0
    assert amp.GradScaler(**{}).state_dict()["scale"] == 2.0**16


def test_float16_overflow_is_inf_without_a_numpy_warning():
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")                                  # a warning would reach the user's terminal
        rounded = amp.round_operand(np.array([1e6, -1e6, 3.0], np.float32), "float16")
    np.testing.assert_array_equal(rounded, [np.inf, -np.inf, 3.0])


def test_tf32_switch_routes_float32_products_to_the_tensor_cores(rng):
    if shutil.which("g++") is None:
        pytest.skip("the emulator needs g++")
    a = np.full((16, 16), 1 + 2.0**-11, np.float32)
    b = np.eye(16, dtype=np.float32)
    with minilm.reference_ops(False):   # the kernels are fast paths: on even under MINILM_REFERENCE=1
        exact = (minilm.tensor(a, device="emu") @ minilm.tensor(b, device="emu")).data
        try:
            minilm.set_float32_matmul_precision("high")
            assert minilm.get_float32_matmul_precision() == "high"
            tf32 = (minilm.tensor(a, device="emu") @ minilm.tensor(b, device="emu")).data
        finally:
            minilm.set_float32_matmul_precision("highest")
    assert exact[0, 0] == np.float32(1 + 2.0**-11) and tf32[0, 0] == np.float32(1 + 2.0**-10)
