"""Occupancy from a kernel's resources, by the hardware table; the roofline's ceilings."""
import pytest

from minilm.kernels import hardware, nvrtc
from minilm.kernels.emulator.counters import COUNTER_NAMES, Counts


@pytest.mark.parametrize("registers,shared,threads,blocks,limit", [
    (32, 0, 256, 8, "warp slots"),            # 8 warps per block: 64 / 8
    (128, 0, 256, 2, "registers"),            # 128 x 32 = 4096 per warp, x 8 warps = 32768: two fit
    (129, 0, 256, 1, "registers"),            # rounds up to 4352 per warp: only one block of 8 warps
    (255, 0, 256, 1, "registers"),
    (32, 48 * 1024, 128, 4, "shared memory"),  # (48 KB + 1 KB reserved) into 228 KB
    (16, 0, 32, 32, "block slots"),
])
def test_occupancy_on_sm_90(registers, shared, threads, blocks, limit):
    o = hardware.occupancy(registers, shared, threads, "sm_90")
    assert (o.blocks_per_sm, o.limited_by) == (blocks, limit)
    assert o.fraction == blocks * ((threads + 31) // 32) / 64


def test_sm_80_has_less_shared_memory():
    assert hardware.occupancy(32, 48 * 1024, 128, "sm_80").blocks_per_sm == 3      # 164 KB // 49 KB


def test_roofline_takes_the_busiest_ceiling_and_the_partial_last_wave():
    counts = Counts(dict.fromkeys(COUNTER_NAMES, 0), global_load_sectors=4e9)
    spec = hardware.GPUS["H100 SXM"]
    full = hardware.roofline("H100 SXM", "fp32", 0, 1e9, counts, blocks=2 * 132)
    assert full.limiter == "l1/shared" and full.predicted_s == pytest.approx(1e9 / (132 * spec["clock_hz"]))
    assert full.bound_s == pytest.approx(1e9 / spec["hbm_bytes_per_s"])
    uneven = hardware.roofline("H100 SXM", "fp32", 0, 1e9, counts, blocks=3 * 66)
    assert uneven.predicted_s == pytest.approx(full.predicted_s * 4 / 3)   # half the SMs run 2 blocks, half 1


@pytest.mark.skipif(not nvrtc.available(), reason="NVRTC wheels absent: pip install 'minilm[nvrtc]'")
def test_occupancy_of_the_register_blocked_gemm_follows_its_registers():
    usage = nvrtc.compile_report("matmul", "sm_90")["matmul_blocked"]
    o = hardware.occupancy(usage["registers"], usage["shared_bytes"], 256, "sm_90")
    assert o.blocks_per_sm == 65536 // (((usage["registers"] * 32 + 255) // 256 * 256) * 8)
