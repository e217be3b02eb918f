"""benchmarks/gpu_acceptance.py runs end to end at tiny sizes on the emulator (as CI runs it)."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import minilm

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks", "gpu_acceptance.py")


def test_emu_tiny_run_validates_every_kernel_and_writes_the_table(tmp_path):
    table = tmp_path / "table.json"
    result = subprocess.run([sys.executable, SCRIPT, "--device", "emu", "--tiny", "--json", str(table)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "minilm GPU acceptance: device emu" in result.stdout and "FAILED" not in result.stdout
    saved = json.loads(table.read_text())
    assert saved["device"] == "emu" and saved["tiny"] is True
    sections = {row["section"] for row in saved["rows"]}
    assert sections == {"tests", "gemm", "attention", "memory", "gpt step", "train"}
    assert all(row["ok"] for row in saved["rows"])
    names = [row["name"] for row in saved["rows"]]
    assert {"fp32 SIMT 64^3", "TF32 64^3", "bf16 64^3", "bfloat16 on emu"} <= set(names)


def test_cuda_without_a_gpu_says_so_in_one_line():
    if minilm.cuda_available():
        return
    result = subprocess.run([sys.executable, SCRIPT, "--device", "cuda"], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "--device emu --tiny" in result.stderr and "Traceback" not in result.stderr


def load_script():
    import importlib.util
    spec = importlib.util.spec_from_file_location("gpu_acceptance", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script


def test_gemm_validation_rejects_wrong_results_at_large_k():
    script = load_script()
    from minilm.bfloat16 import round_to_bfloat16
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal(shape).astype(np.float32) for shape in ((16, 4096), (4096, 16)))
    bf16 = round_to_bfloat16(a) @ round_to_bfloat16(b)                   # what the bf16 kernel computes
    assert script.gemm_within_error(bf16, a, b, 2.0**-8)
    assert script.gemm_within_error(a @ b, a, b, 0.0)
    assert not script.gemm_within_error(bf16, a, b, 0.0)                  # bf16 is not float32
    assert not script.gemm_within_error(np.zeros_like(bf16), a, b, 2.0**-8)
    assert not script.gemm_within_error(1.2 * bf16, a, b, 2.0**-8)


def test_operands_differ_so_a_wrong_backward_fails_validation(monkeypatch):
    script = load_script()
    dev = script.Device("cpu", repeats=1)                               # only NumPy is needed for the operands
    x, dy = dev.random(4, 8), dev.random(4, 8)
    assert not np.array_equal(x, dy)                                    # (they were equal: dx was ~0 whatever the kernel)
    if shutil.which("g++") is None:
        return
    dev = script.Device("emu", repeats=1)
    no_prediction = script.predictor(dev, False)
    assert all(row["ok"] for row in script.memory_bound_rows(dev, (32, 65), (64, 32), no_prediction))
    backward = script.launch.layernorm_backward
    monkeypatch.setattr(script.launch, "layernorm_backward", lambda *a: tuple(1.01 * t for t in backward(*a)))
    assert [row["ok"] for row in script.memory_bound_rows(dev, (32, 65), (64, 32), no_prediction)] == [True, False]
    monkeypatch.setattr(script.launch, "layernorm_backward", backward)
    xent = script.launch.softmax_xent
    monkeypatch.setattr(script.launch, "softmax_xent", lambda *a: (xent(*a)[0], 1.01 * xent(*a)[1]))
    assert [row["ok"] for row in script.memory_bound_rows(dev, (32, 65), (64, 32), no_prediction)] == [False, True]


def test_predicted_time_of_a_tensor_core_gemm_sits_between_its_bound_and_its_tiles():
    if shutil.which("g++") is None:
        return
    script = load_script()
    from minilm.kernels import hardware
    predict = script.predictor(script.Device("emu", repeats=1), True)
    n = 4096
    ms = predict(("gemm", "tf32", n, n, n))
    spec = hardware.GPUS["H100 SXM"]
    assert 2 * n**3 / spec["tf32"] * 1e3 <= ms                    # never faster than the tensor cores' peak
    assert ms < 10 * 2 * n**3 / spec["tf32"] * 1e3                # and this kernel's traffic is not 10x that
    assert predict(("gemm", "tf32", 2 * n, n, n)) == pytest.approx(2 * ms, rel=0.05)   # twice the tiles
