"""Every kernel compiles with NVRTC for sm_80 and sm_90, spill-free and with no stack frame."""
import pytest

from minilm.kernels import hardware, nvrtc

pytestmark = pytest.mark.skipif(not nvrtc.available(),
                                reason="NVRTC wheels absent: pip install 'minilm[nvrtc]' (cuda-bindings, nvidia-cuda-nvrtc)")

EXPECTED = {"matmul": {"matmul_naive", "matmul_tiled", "matmul_blocked"},
            "matmul_wmma": {f"matmul_wmma_{p}_{layout}" for p in ("tf32", "bf16") for layout in ("nn", "nt", "tn")},
            "attention": {"attention_forward", "attention_backward_preprocess", "attention_backward_dkdv",
                          "attention_backward_dq"},
            "softmax_xent": {"softmax_xent"},
            "layernorm": {"layernorm_forward", "layernorm_backward_dx", "layernorm_backward_params_partial",
                          "layernorm_backward_params_reduce"}}


@pytest.mark.parametrize("arch", ["sm_80", "sm_90"])
@pytest.mark.parametrize("name", nvrtc.KERNELS)
def test_compiles_without_spills(name, arch):
    report = nvrtc.compile_report(name, arch)
    assert set(report) == EXPECTED[name]
    for kernel, usage in report.items():
        assert usage["spill_stores"] == 0 and usage["spill_loads"] == 0, (kernel, usage)
        assert usage["stack_bytes"] == 0, (kernel, usage)
        assert 0 < usage["registers"] <= 255 and usage["shared_bytes"] <= 48 * 1024, (kernel, usage)
        if name == "matmul_wmma":                # registers and shared memory for two blocks of 256 per SM
            assert hardware.occupancy(usage["registers"], usage["shared_bytes"], 256, arch).blocks_per_sm >= 2


def test_register_blocked_gemm_fits_its_launch_bounds():
    usage = nvrtc.compile_report("matmul", "sm_90")["matmul_blocked"]
    assert usage["registers"] * 256 <= 65536


@pytest.mark.skipif(nvrtc.cuobjdump() is None, reason="cuobjdump absent: pip install 'minilm[nvrtc]'")
@pytest.mark.parametrize("arch", ["sm_80", "sm_90"])
def test_tensor_core_gemm_runs_hmma_in_its_inner_loop(arch):
    sass = nvrtc.disassemble(nvrtc.compile_cubin("matmul_wmma", arch)[0])
    assert set(sass) == EXPECTED["matmul_wmma"]
    for kernel, instructions in sass.items():
        mix = nvrtc.hottest_loop_mix(instructions, by="HMMA")
        # 8 mma_sync per fragment depth: m16n16k8 TF32 is 4 HMMA.1684, m16n16k16 bf16 2 HMMA.16816
        assert mix["HMMA"] == (32 if "tf32" in kernel else 16), (kernel, mix)
        assert mix["FFMA"] == 0, (kernel, mix)
        opcode = "HMMA.1684.F32.TF32" if "tf32" in kernel else "HMMA.16816.F32.BF16"
        assert any(opcode in text for _, text in instructions), kernel
        # the fast path: float4 loads from global memory, 16-byte (TF32) or 8-byte (bf16) staging stores
        widths = nvrtc.memory_widths(instructions)
        assert widths["LDG"].get(128, 0) > 0 and widths["STG"].get(128, 0) > 0, (kernel, widths)
        assert widths["STS"].get(128 if "tf32" in kernel else 64, 0) > 0, (kernel, widths)


def test_compile_errors_are_reported(tmp_path, monkeypatch):
    (tmp_path / "broken.cu").write_text('extern "C" __global__ void k(float* x) { x[0] = nope; }\n')
    monkeypatch.setattr(nvrtc, "KERNEL_DIR", str(tmp_path))
    with pytest.raises(RuntimeError, match="nope"):
        nvrtc.compile_report("broken", "sm_90")

