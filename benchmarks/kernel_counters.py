"""Every kernel's memory traffic, counted on the CPU, and the time it predicts on an H100/H200.

For each kernel at a size a GPU would see, the SIMT emulator's counters
(minilm/kernels/emulator/counters.py) give, per launch:

    sector eff   useful / fetched bytes of its global loads and stores (32-byte sectors)
    conflicts    shared-memory wavefronts per ideal wavefront (1.00: no bank conflicts)
    FFMA         fused multiply-adds the launch executes, per thread (a full warp's FFMA
                 instruction counts 32), counted from the kernel's machine code
                 (minilm/kernels/emulator/arithmetic.py)
    FLOP/B       counted flops (2 per FFMA, plus the tensor cores' MMA flops) per byte moved
                 between the SMs and memory (sectors)
    occupancy    resident warps / 64 per SM, from NVRTC's registers and shared memory
                 (minilm/kernels/hardware.py), and what limits it
    predicted    the roofline time of this launch's counted flops and traffic (hardware.roofline)
    bound        the attainable bound: the algorithm's flops at peak or its compulsory bytes
                 at HBM bandwidth, whichever is slower; predicted / bound is what the kernel's
                 own traffic costs over a perfect one

GPU-sized launches are counted on a part and scaled (minilm's kernels do the same work per
block): a GEMM at M = N = 256 and two depths K (counts are affine in K) times the number
of 128 x 128 tiles; attention per head; cross-entropy and layer norm per block of rows,
with a few blocks sampled (counting(sample_blocks)) where a launch is long.
A deliberately bad layer norm (one thread per row: lanes 4 C bytes apart) is counted
beside the real one, so the counters are seen to respond.

Counted flops against the algorithm's (printed per case): the GEMMs do exactly 2 M N K.
Elsewhere the count is the kernel's own multiply-adds and nothing else: the additions,
multiplications, exponentials and divisions that are not fused are not FFMA (the compute
ceiling leaves them out; these kernels are bound by memory), and the FFMAs inside the GPU's
software division and logf are not in the kernel's source, so not counted either.

Known gap: the counted access widths are those of the CPU build. Where NVCC merges
adjacent scalar shared loads into one LDS.128 (matmul_blocked's inner loop), the emulator
counts four 4-byte requests, so its shared wavefronts and l1 time are overstated; accesses
written as float4/float2 are counted as the GPU makes them.

    python benchmarks/kernel_counters.py [--gpu "H200 SXM"] [--quick] [--lines attention_forward]
Needs g++ (the emulator); NVRTC (pip install 'minilm[nvrtc]') for the occupancy column.
"""
import argparse
import functools
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402

from minilm.kernels import hardware, launch, nvrtc  # noqa: E402
from minilm.kernels.emulator import RawModule, counting  # noqa: E402
from minilm.kernels.emulator.counters import COUNTER_NAMES, Counts  # noqa: E402

RNG = np.random.default_rng(0)
UNITS = {"matmul_blocked": "fp32", "tf32": "tf32", "bf16": "bf16"}

# The bad variant: layer norm forward with one thread per row. Lane l reads row l, so the
# 32 addresses of one load are C floats apart: 32 sectors for 128 useful bytes.
BAD_LAYERNORM = r'''
extern "C" __global__ void layernorm_forward_thread_per_row(const float* x, float* y, int N, int C, float eps) {
    int row = blockIdx.x * blockDim.x + threadIdx.x;
    if (row >= N) return;
    const float* xr = x + (long long)row * C;
    float s = 0.f, v = 0.f;
    for (int i = 0; i < C; ++i) s += xr[i];
    float mu = s / C;
    for (int i = 0; i < C; ++i) v += (xr[i] - mu) * (xr[i] - mu);
    float r = rsqrtf(v / C + eps);
    for (int i = 0; i < C; ++i) y[(long long)row * C + i] = (xr[i] - mu) * r;
}
'''


def random(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def combine(parts):
    """sum of weight * counts over [(weight, [LaunchCounters, ...]), ...], launch by launch."""
    launches = []
    for i, first in enumerate(parts[0][1]):
        total = Counts(dict.fromkeys(COUNTER_NAMES, 0.0))
        for weight, counted in parts:
            for name in COUNTER_NAMES:
                total[name] += weight * (counted[i][name] or 0)
        total.kernel, total.block, total.counted = first.kernel, first.block, first
        total.blocks = sum(weight * np.prod(counted[i].grid) for weight, counted in parts)
        launches.append(total)
    return launches


def count(run, sample_blocks=None):
    with counting(sample_blocks) as launches:
        run()
    return launches


# ---------------------------------------------------------------- the cases: counts, flops, bytes
@functools.lru_cache(maxsize=None)
def gemm_at(variant, layout, k):
    """The counts of one 256 x 256 x k product (4 whole tiles of 128 x 128)."""
    a = random(k, 256) if layout == "tn" else random(256, k)
    b = random(256, k) if layout == "nt" else random(k, 256)
    return count(lambda: launch.matmul(a, b, "emu", ta=layout == "tn", tb=layout == "nt", variant=variant))


def gemm(variant, M, N, K, layout="nn"):
    """C = op(A) op(B): counted at 256 x 256 and K = 256, 512, extrapolated in K, times the tiles."""
    low, high = gemm_at(variant, layout, 256), gemm_at(variant, layout, 512)
    tiles = (M / 256) * (N / 256)
    slope = (K - 256) / 256
    launches = combine([(tiles * (1 - slope), low), (tiles * slope, high)])
    return launches, 2 * M * N * K, 4 * (M * K + K * N + M * N), UNITS[variant]


def attention(BH, T, D):
    """Forward and backward, causal: counted for one head (sampled query tiles), times the heads."""
    q, k, v, do = (random(1, T, D) for _ in range(4))
    scale = 1 / np.sqrt(D)

    def run():
        o, lse = launch.attention_forward(q, k, v, 1, scale, "emu")
        launch.attention_backward(q, k, v, o, lse, do, 1, scale, "emu")
    launches = combine([(BH, count(run, sample_blocks=13))])
    return launches, 7 * BH * T * T * D, 4 * BH * T * (13 * D + 3), "fp32"


def cross_entropy(N, V):
    logits, targets, ones = random(8, V), RNG.integers(0, V, 8), np.ones(8, np.float32)
    launches = combine([(N / 8, count(lambda: launch.softmax_xent(logits, targets, ones, -100, 0.0, "emu")))])
    return launches, 5 * N * V, 8 * N * V, "fp32"


def layer_norm(N, C):
    x, dy, w, b = random(256, C), random(256, C), np.ones(C, np.float32), np.zeros(C, np.float32)

    def run():
        y, mean, rstd = launch.layernorm_forward(x, w, b, 1e-5, "emu")
        launch.layernorm_backward(dy, x, w, mean, rstd, "emu")
    return combine([(N / 256, count(run))]), 20 * N * C, 20 * N * C, "fp32"


def bad_layer_norm(N, C):
    x, y = random(256, C), np.zeros((256, C), np.float32)
    kernel = RawModule(code=BAD_LAYERNORM).get_function("layernorm_forward_thread_per_row")
    launches = count(lambda: kernel((8,), (32,), (x, y, np.int32(256), np.int32(C), np.float32(1e-5))))
    return combine([(N / 256, launches)]), 8 * N * C, 8 * N * C, "fp32"


def cases(quick):
    g = 1024 if quick else 2048
    rows = [(f"GEMM fp32 SIMT {g}^3", lambda: gemm("matmul_blocked", g, g, g)),
            (f"GEMM TF32 NN {g}^3", lambda: gemm("tf32", g, g, g))]
    if not quick:
        rows += [(f"GEMM TF32 NT {g}^3", lambda: gemm("tf32", g, g, g, "nt")),
                 (f"GEMM TF32 TN {g}^3", lambda: gemm("tf32", g, g, g, "tn"))]
    rows += [(f"GEMM bf16 NN {g}^3", lambda: gemm("bf16", g, g, g)),
             ("attention (16, 1024, 64) causal", lambda: attention(16, 256 if quick else 1024, 64)),
             ("cross-entropy (8192, 50304)", lambda: cross_entropy(8192, 50304)),
             ("layer norm fwd+bwd (32768, 768)", lambda: layer_norm(32768, 768)),
             ("BAD: layer norm fwd, thread per row", lambda: bad_layer_norm(32768, 768))]
    return rows


# ---------------------------------------------------------------- occupancy and the table
def resources(arch):
    """{kernel: (registers, static shared bytes)} from NVRTC, or {} without it."""
    if not nvrtc.available():
        return {}
    usage = {}
    for name in nvrtc.KERNELS:
        for kernel, u in nvrtc.compile_report(name, arch).items():
            usage[kernel] = (u["registers"], u["shared_bytes"])
    return usage


def predict(launches, flops, compulsory_bytes, unit, gpu, usage):
    """Rows (kernel, counts, occupancy, Roofline) for one case; flops and bytes shared out by traffic."""
    total_traffic = sum(c.global_bytes for c in launches) or 1
    rows = []
    for c in launches:
        share = c.global_bytes / total_traffic
        threads = int(np.prod(c.block))
        occ = (hardware.occupancy(*usage[c.kernel], threads, hardware.GPUS[gpu]["arch"])
               if c.kernel in usage else None)
        roof = hardware.roofline(gpu, unit, c.counted_flops, compulsory_bytes * share, c, c.blocks,
                                 algorithm_flops=flops * share)
        rows.append((c, flops * share, occ, roof))
    return rows


def predicted_seconds(case, gpu, usage=None):
    """The roofline prediction of a case (a function above, called), all its launches together."""
    launches, flops, compulsory, unit = case()
    return sum(row[3].predicted_s for row in predict(launches, flops, compulsory, unit, gpu, usage or {}))


def print_lines(launch):
    """Per source line of one counted launch (a sampled one scaled to its grid): where the traffic is."""
    print(f"    {launch.kernel}, grid {launch.grid}, per line of its .cu file:")
    print(f"    {'line':>6}{'ld req':>10}{'ld sectors':>12}{'st req':>10}{'st sectors':>12}{'shared req':>12}"
          f"{'wavefronts':>12}{'ideal':>10}{'thr FFMA':>12}")
    for line, c in launch.by_line().items():
        print(f"    {line:>6}{c.global_load_requests:>10.0f}{c.global_load_sectors:>12.0f}"
              f"{c.global_store_requests:>10.0f}{c.global_store_sectors:>12.0f}{c.shared_load_requests + c.shared_store_requests:>12.0f}"
              f"{c.shared_load_wavefronts + c.shared_store_wavefronts:>12.0f}"
              f"{c.shared_load_ideal + c.shared_store_ideal:>10.0f}{c.ffma:>12.0f}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--gpu", default="H100 SXM", choices=sorted(hardware.GPUS))
    p.add_argument("--quick", action="store_true", help="smaller GEMM and attention, fewer layouts")
    p.add_argument("--lines", metavar="KERNEL", help="also the counts of KERNEL per line of its .cu file")
    args = p.parse_args(argv)
    spec = hardware.GPUS[args.gpu]
    usage = resources(spec["arch"])
    print(f"Counted on the SIMT emulator; predicted for {args.gpu} ({spec['sms']} SMs, FP32 {spec['fp32'] / 1e12:.1f}, "
          f"TF32 {spec['tf32'] / 1e12:.1f}, BF16 {spec['bf16'] / 1e12:.1f} TFLOP/s dense, HBM "
          f"{spec['hbm_bytes_per_s'] / 1e12:.2f} TB/s; sources in minilm/kernels/hardware.py)")
    if not usage:
        print("(NVRTC not installed: no occupancy; pip install 'minilm[nvrtc]')")
    header = (f"{'case':<36}{'kernel':<34}{'sector eff':>11}{'conflicts':>10}{'thr FFMA':>10}{'FLOP/B':>8}  "
              f"{'occupancy':<26}{'predicted us':>14}{'bound us':>10}{'limiter':>11}")
    print(header)
    for name, case in cases(args.quick):
        started = time.perf_counter()
        launches, flops, compulsory, unit = case()
        rows = predict(launches, flops, compulsory, unit, args.gpu, usage)
        for i, (c, _, occ, roof) in enumerate(rows):
            occupancy = f"{occ.fraction:.0%} ({occ.blocks_per_sm}/SM, {occ.limited_by})" if occ else "n/a"
            print(f"{name if i == 0 else '':<36}{c.kernel:<34}{c.sector_efficiency:>11.0%}{c.conflict_degree:>9.2f}x"
                  f"{c.ffma / 1e6:>9.1f}M{c.counted_flops / max(c.global_bytes, 1):>8.1f}  {occupancy:<26}"
                  f"{1e6 * roof.predicted_s:>14.1f}{1e6 * roof.bound_s:>10.1f}{roof.limiter:>11}")
        for c, *_ in rows:
            if c.kernel == args.lines:
                print_lines(c.counted)
        if len(rows) > 1:
            print(f"{'':<36}{'all launches':<34}{'':>75}{1e6 * sum(r[3].predicted_s for r in rows):>14.1f}"
                  f"{1e6 * sum(r[3].bound_s for r in rows):>10.1f}")
        counted = sum(c.counted_flops for c in launches)
        print(f"{'':<36}(counted in {time.perf_counter() - started:.0f} s; counted flops / the algorithm's: "
              f"{counted / flops:.2f})", flush=True)


if __name__ == "__main__":
    main()
