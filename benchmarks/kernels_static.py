"""What the GPU compiler makes of minilm's kernels, without a GPU.

For every kernel, compiled by NVRTC for sm_90 (and sm_80) with CuPy's options:
registers per thread, static shared memory, spill stores/loads and stack
frame, and the blocks per SM they allow (minilm/kernels/hardware.py). Then the
memory instructions of each kernel by width (32/64/128 bits): vector loads and
stores are what the counters of benchmarks/kernel_counters.py assume. For the GEMM ladder it also disassembles the cubin (cuobjdump -sass)
and counts, in the hottest loop, the fused multiply-adds (FFMA) against the
shared-memory loads (LDS): register blocking exists to raise that ratio. For the
tensor-core GEMM (matmul_wmma.cu) it counts the HMMA instructions per load instead.

    python benchmarks/kernels_static.py [--arch sm_90]
Needs: pip install 'minilm[nvrtc]'
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from minilm.kernels import hardware, nvrtc  # noqa: E402


def threads(kernel):
    """Threads per block, as minilm/kernels/launch.py launches the kernel."""
    return {"softmax_xent": 256, "layernorm_backward_params_partial": 32}.get(
        kernel, 256 if kernel.startswith("matmul") else 128)


def print_memory_widths(arch):
    print(f"\n{arch}: memory instructions by width, 32/64/128 bits (LD/ST: generic, e.g. WMMA fragments)")
    print(f"{'kernel':<36}" + "".join(f"{op:>14}" for op in nvrtc.MEMORY_OPCODES))
    for name in nvrtc.KERNELS:
        for kernel, instructions in sorted(nvrtc.disassemble(nvrtc.compile_cubin(name, arch)[0]).items()):
            widths = nvrtc.memory_widths(instructions)
            print(f"{kernel:<36}" + "".join(f"{'/'.join(str(widths[op].get(b, 0)) for b in (32, 64, 128)):>14}"
                                            for op in nvrtc.MEMORY_OPCODES))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--arch", nargs="+", default=["sm_90", "sm_80"])
    args = p.parse_args()
    if not nvrtc.available():
        sys.exit("NVRTC is not installed: pip install 'minilm[nvrtc]'")
    for arch in args.arch:
        print(f"\n{arch}: resource usage per kernel (NVRTC, CuPy's options)")
        print(f"{'kernel':<36}{'regs':>6}{'smem B':>9}{'spill st':>10}{'spill ld':>10}{'stack B':>9}"
              f"{'blocks/SM':>11}  limited by")
        for name in nvrtc.KERNELS:
            for kernel, u in sorted(nvrtc.compile_report(name, arch).items()):
                occupancy = hardware.occupancy(u["registers"], u["shared_bytes"], threads(kernel), arch)
                print(f"{kernel:<36}{u['registers']:>6}{u['shared_bytes']:>9}{u.get('spill_stores', 0):>10}"
                      f"{u.get('spill_loads', 0):>10}{u.get('stack_bytes', 0):>9}{occupancy.blocks_per_sm:>11}"
                      f"  {occupancy.limited_by}")
    cubin, _ = nvrtc.compile_cubin("matmul", args.arch[0])
    sass = nvrtc.disassemble(cubin)
    if not sass:
        print("\n(cuobjdump/nvdisasm not found: pip install nvidia-cuda-cuobjdump nvidia-cuda-nvdisasm for the instruction mix)")
        return
    print_memory_widths(args.arch[0])
    print(f"\nGEMM inner loop, {args.arch[0]} SASS: FFMA per shared-memory load")
    print(f"{'kernel':<20}{'FFMA':>6}{'LDS':>6}{'instr':>7}{'FFMA/LDS':>10}")
    for kernel in ("matmul_naive", "matmul_tiled", "matmul_blocked"):
        mix = nvrtc.hottest_loop_mix(sass.get(kernel, []))
        ratio = f"{mix['FFMA'] / mix['LDS']:.1f}" if mix["LDS"] else "n/a"
        print(f"{kernel:<20}{mix['FFMA']:>6}{mix['LDS']:>6}{mix['instructions']:>7}{ratio:>10}")
    for arch in args.arch:
        sass = nvrtc.disassemble(nvrtc.compile_cubin("matmul_wmma", arch)[0])
        print(f"\nTensor-core GEMM inner loop (one fragment depth), {arch} SASS: HMMA per shared-memory load")
        print("(WMMA fragment loads compile to generic LD, not LDS: NVRTC emits wmma.load without .shared)")
        print(f"{'kernel':<24}{'HMMA':>6}{'LDS':>6}{'LD':>6}{'instr':>7}{'HMMA/load':>11}")
        for kernel in sorted(sass):
            mix = nvrtc.hottest_loop_mix(sass[kernel], by="HMMA")
            loads = mix["LDS"] + mix["LD"]
            ratio = f"{mix['HMMA'] / loads:.2f}" if loads else "n/a"
            print(f"{kernel:<24}{mix['HMMA']:>6}{mix['LDS']:>6}{mix['LD']:>6}{mix['instructions']:>7}{ratio:>11}")

if __name__ == "__main__":
    main()
