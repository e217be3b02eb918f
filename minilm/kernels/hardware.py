"""What a GPU can hold and how fast it can go: occupancy and a roofline, without a GPU.

Occupancy is how many blocks of a kernel one streaming multiprocessor (SM) keeps
resident at once. Each resource a block uses caps it, and the smallest cap wins:

    blocks per SM = min( max_blocks,                                  hardware slots
                         max_warps // warps_per_block,                 warp slots
                         registers_per_sm // (warps_per_block * registers_per_warp),
                         shared_per_sm // shared_per_block )

    registers_per_warp = 32 * registers_per_thread, rounded up to the allocation unit (256)
    shared_per_block   = static + dynamic + the 1 KB the system reserves per block,
                         rounded up to the allocation unit (128 bytes)

The registers and static shared memory of each kernel come from NVRTC's ptxas report
(nvrtc.compile_report). More resident warps hide more memory latency; a kernel with one
block per SM stalls whenever that block waits at a barrier.

The roofline (Williams, Waterman, Patterson, CACM 2009) bounds a kernel's time by the
busiest of the machine's throughputs. With the emulator's counters (counters.py):

    t_compute = flops / peak flops of the unit doing them (CUDA cores or tensor cores) / grid_fill
    t_l1      = (32-byte global sectors / 4 + shared-memory wavefronts) / (SMs * clock) / grid_fill
                (an SM's L1/shared data path moves 128 bytes, one wavefront, per clock)
    t_dram    = bytes that must come from or go to DRAM / HBM bandwidth
    predicted = max(t_compute, t_l1, t_dram)

grid_fill = (blocks / SMs) / ceil(blocks / SMs) < 1 when the blocks do not share out evenly:
the busiest SM runs ceil(blocks / SMs) blocks' work, however many of them are resident at once.
DRAM traffic is taken as the compulsory bytes (each operand read once, each result written
once): it assumes the 50 MB L2 catches the re-reads between blocks, which the model does not
simulate.
The attainable bound is the same roofline for a perfect kernel: the algorithm's flops at
peak, its compulsory bytes at HBM bandwidth, nothing else. Both assume every unit overlaps
perfectly, so a real kernel is slower; occupancy (not in the formula) says how well it can
hide latency to get close.
"""
import math
from dataclasses import dataclass

# Per-SM limits, from the CUDA C++ Programming Guide, "Compute Capabilities", table
# "Technical Specifications per Compute Capability" (8.0 = A100 = sm_80, 9.0 = H100/H200 =
# sm_90), and its sections 16.x "Shared Memory" (1 KB reserved per block from 8.0 on); the
# allocation units are those of the CUDA Occupancy Calculator (Nsight Compute's
# "Occupancy" section uses the same): registers per warp in units of 256, shared memory in
# units of 128 bytes.
SM_LIMITS = {
    "sm_80": dict(max_threads=2048, max_warps=64, max_blocks=32, registers=65536, max_registers_per_thread=255,
                  register_unit=256, shared=164 * 1024, max_shared_per_block=163 * 1024, shared_reserved=1024,
                  shared_unit=128),
    "sm_90": dict(max_threads=2048, max_warps=64, max_blocks=32, registers=65536, max_registers_per_thread=255,
                  register_unit=256, shared=228 * 1024, max_shared_per_block=227 * 1024, shared_reserved=1024,
                  shared_unit=128),
}


@dataclass
class Occupancy:
    blocks_per_sm: int
    warps_per_sm: int
    fraction: float          # resident warps / the SM's maximum
    limited_by: str


def occupancy(registers, shared_bytes, threads, arch="sm_90", dynamic_shared=0):
    """Resident blocks per SM of a kernel using `registers` per thread and `shared_bytes` per block."""
    limits = SM_LIMITS[arch]
    warps = math.ceil(threads / 32)
    registers_per_warp = math.ceil(registers * 32 / limits["register_unit"]) * limits["register_unit"]
    shared = shared_bytes + dynamic_shared + limits["shared_reserved"]
    shared = math.ceil(shared / limits["shared_unit"]) * limits["shared_unit"]
    caps = {"block slots": limits["max_blocks"], "warp slots": limits["max_warps"] // warps,
            "registers": limits["registers"] // (registers_per_warp * warps) if registers else limits["max_blocks"],
            "shared memory": limits["shared"] // shared}
    limited_by = min(caps, key=caps.get)
    blocks = caps[limited_by]
    return Occupancy(blocks, blocks * warps, blocks * warps / limits["max_warps"], limited_by)


# Peak figures, dense (no 2:4 sparsity), at boost clock. Sources: NVIDIA H100 Tensor Core GPU
# datasheet (SXM5: FP32 67 TFLOPS, TF32 tensor 989 and BF16 1,979 TFLOPS "with sparsity",
# i.e. half that dense; HBM3 3.35 TB/s) and the Hopper whitepaper (132 SMs on SXM5); NVIDIA
# H200 datasheet (same compute, HBM3e 4.8 TB/s); NVIDIA A100 datasheet (SXM4 80GB: FP32
# 19.5, TF32 156, BF16 312 TFLOPS dense; 2,039 GB/s) and the Ampere whitepaper (108 SMs,
# 1,410 MHz). The clock is the one the FP32 figure implies: SMs * 128 FP32 lanes * 2 * f.
GPUS = {
    "H100 SXM": dict(arch="sm_90", sms=132, clock_hz=1.98e9, fp32=67e12, tf32=494.7e12, bf16=989.4e12,
                     hbm_bytes_per_s=3.35e12),
    "H200 SXM": dict(arch="sm_90", sms=132, clock_hz=1.98e9, fp32=67e12, tf32=494.7e12, bf16=989.4e12,
                     hbm_bytes_per_s=4.8e12),
    "A100 SXM": dict(arch="sm_80", sms=108, clock_hz=1.41e9, fp32=19.5e12, tf32=156e12, bf16=312e12,
                     hbm_bytes_per_s=2.039e12),
}
L1_BYTES_PER_CLOCK = 128   # per SM: 32 banks x 4 bytes (CUDA C++ Programming Guide, shared memory)


@dataclass
class Roofline:
    predicted_s: float       # from the counted traffic of this kernel
    bound_s: float           # the attainable bound of the algorithm
    limiter: str             # which ceiling sets `predicted_s`
    ceilings: dict           # every ceiling, in seconds


def roofline(gpu, unit, flops, compulsory_bytes, counts, blocks, algorithm_flops=None):
    """Predicted time of a launch with `counts` (counters.Counts) on `gpu`, and the attainable bound.

    unit: "fp32" (CUDA cores), "tf32" or "bf16" (tensor cores); flops: what the kernel executes
    (with its padding); algorithm_flops: the useful work (defaults to flops).
    """
    spec = GPUS[gpu]
    peak = spec[unit]
    waves = blocks / spec["sms"]
    grid_fill = waves / math.ceil(waves) if blocks else 1.0
    l1_wavefronts = (counts.global_load_sectors + counts.global_store_sectors) / 4 + \
        counts.shared_load_wavefronts + counts.shared_store_wavefronts
    ceilings = {"compute": flops / peak / grid_fill,
                "dram": compulsory_bytes / spec["hbm_bytes_per_s"],
                "l1/shared": l1_wavefronts / (spec["sms"] * spec["clock_hz"]) / grid_fill}
    limiter = max(ceilings, key=ceilings.get)
    bound = max((algorithm_flops or flops) / peak, compulsory_bytes / spec["hbm_bytes_per_s"])
    return Roofline(ceilings[limiter], bound, limiter, ceilings)
