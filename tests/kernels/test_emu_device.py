"""The "emu" device: the whole engine with every hot op through the emulated CUDA kernels."""
import collections

import numpy as np
import pytest

import minilm
from minilm import kernels
from minilm.kernels import launch
from helpers import gpt_training_step


@pytest.fixture
def launches(monkeypatch):
    counts = collections.Counter()
    for name in ("matmul", "attention_forward", "attention_backward", "softmax_xent", "layernorm_forward",
                 "layernorm_backward"):
        original = getattr(launch, name)

        def counted(*args, _original=original, _name=name, **kwargs):
            counts[_name] += 1
            return _original(*args, **kwargs)
        monkeypatch.setattr(launch, name, counted)
    return counts


def test_gpt_training_step_on_emu_matches_cpu(launches):
    loss_cpu, grads_cpu = gpt_training_step("cpu")
    assert not launches
    with minilm.reference_ops(False):   # the kernels are fast paths: on even under MINILM_REFERENCE=1
        loss_emu, grads_emu = gpt_training_step("emu")
    assert set(launches) == {"matmul", "attention_forward", "attention_backward", "softmax_xent",
                             "layernorm_forward", "layernorm_backward"}
    assert abs(loss_emu - loss_cpu) <= 1e-4 * abs(loss_cpu)
    for name, g in grads_cpu.items():
        scale = np.abs(g).max() + 1e-12
        assert np.abs(grads_emu[name] - g).max() <= 1e-4 * scale, name


def test_the_switch_sends_emu_back_to_numpy(launches):
    kernels.set_enabled(False)
    try:
        gpt_training_step("emu")
    finally:
        kernels.set_enabled(True)
    assert not launches
