"""What the GPU compiler makes of minilm's kernels, without a GPU.

For every kernel, compiled by NVRTC for sm_90 (and sm_80) with CuPy's options:
registers per thread, static shared memory, spill stores/loads and stack
frame. For the GEMM ladder it also disassembles the cubin (cuobjdump -sass)
and counts, in the hottest loop, the fused multiply-adds (FFMA) against the
shared-memory loads (LDS): register blocking exists to raise that ratio.

    python benchmarks/kernels_static.py [--arch sm_90]
Needs: pip install 'minilm[nvrtc]'
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from minilm.kernels import nvrtc  # noqa: E402


def sass_by_kernel(cubin):
    tool = nvrtc.cuobjdump()
    if tool is None:
        return {}
    with tempfile.NamedTemporaryFile(suffix=".cubin", delete=False) as f:
        f.write(cubin)
    try:
        env = dict(os.environ, PATH=os.path.dirname(tool) + os.pathsep + os.environ.get("PATH", ""))  # nvdisasm
        out = subprocess.run([tool, "-sass", f.name], capture_output=True, text=True, env=env).stdout
    finally:
        os.remove(f.name)
    kernels, current = {}, None
    for line in out.splitlines():
        m = re.search(r"Function : (\w+)", line)
        if m:
            current = kernels.setdefault(m.group(1), [])
        elif current is not None:
            m = re.match(r"\s*/\*([0-9a-f]{4,})\*/\s+(.*?);", line)
            if m:
                current.append((int(m.group(1), 16), m.group(2)))
    return kernels


def hottest_loop_mix(instructions):
    """(FFMA, LDS, instructions) of the backward-branch loop that holds the most FFMA."""
    best = (0, 0, 0)
    for addr, text in instructions:
        m = re.search(r"\bBRA\b.*?(0x[0-9a-f]+)", text)
        if not m:
            continue
        target = int(m.group(1), 16)
        if target >= addr:
            continue
        body = [t for a, t in instructions if target <= a <= addr]
        if any("EXIT" in t for t in body):
            continue
        ffma = sum(bool(re.search(r"\bFFMA\b", t)) for t in body)
        lds = sum(bool(re.search(r"\bLDS\b", t)) for t in body)
        if ffma > best[0]:
            best = (ffma, lds, len(body))
    return best


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--arch", nargs="+", default=["sm_90", "sm_80"])
    args = p.parse_args()
    if not nvrtc.available():
        sys.exit("NVRTC is not installed: pip install 'minilm[nvrtc]'")
    for arch in args.arch:
        print(f"\n{arch}: resource usage per kernel (NVRTC, CuPy's options)")
        print(f"{'kernel':<36}{'regs':>6}{'smem B':>9}{'spill st':>10}{'spill ld':>10}{'stack B':>9}")
        for name in nvrtc.KERNELS:
            for kernel, u in sorted(nvrtc.compile_report(name, arch).items()):
                print(f"{kernel:<36}{u['registers']:>6}{u['shared_bytes']:>9}{u.get('spill_stores', 0):>10}"
                      f"{u.get('spill_loads', 0):>10}{u.get('stack_bytes', 0):>9}")
    cubin, _ = nvrtc.compile_cubin("matmul", args.arch[0])
    sass = sass_by_kernel(cubin)
    if not sass:
        print("\n(cuobjdump/nvdisasm not found: pip install nvidia-cuda-cuobjdump nvidia-cuda-nvdisasm for the instruction mix)")
        return
    print(f"\nGEMM inner loop, {args.arch[0]} SASS: FFMA per shared-memory load")
    print(f"{'kernel':<20}{'FFMA':>6}{'LDS':>6}{'instr':>7}{'FFMA/LDS':>10}")
    for kernel in ("matmul_naive", "matmul_tiled", "matmul_blocked"):
        ffma, lds, n = hottest_loop_mix(sass.get(kernel, []))
        ratio = f"{ffma / lds:.1f}" if lds else "n/a"
        print(f"{kernel:<20}{ffma:>6}{lds:>6}{n:>7}{ratio:>10}")


if __name__ == "__main__":
    main()
