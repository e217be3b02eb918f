"""Compile minilm's kernels with NVRTC for real GPU architectures, without a GPU.

NVRTC (the runtime compiler CuPy uses) comes as a pip wheel, so the same
compile a GPU machine would do can run anywhere, with CuPy's own options
(--std=c++17 -ftz=true -arch=sm_XX --device-as-default-execution-space).
Asking ptxas for verbose output (-Xptxas=-v) reports, per kernel, the
registers, shared memory, spill stores/loads and stack frame: a spill or a
non-zero stack frame means an array meant to live in registers went to slow
local memory (usually an index the compiler cannot resolve at compile time).

    report = compile_report("matmul", arch="sm_90")   # {kernel: {"registers": 128, ...}}

Needs the `cuda-bindings` and `nvidia-cuda-nvrtc` wheels (pip install 'minilm[nvrtc]'),
and for the tensor-core kernel CUDA's device headers (<mma.h>, <cuda_bf16.h>), which
NVRTC does not build in: the `nvidia-cuda-runtime` and `nvidia-cuda-crt` wheels of the
same extra, or a CUDA toolkit (see cuda_include_dirs).
"""
import glob
import os
import re

KERNEL_DIR = os.path.dirname(os.path.abspath(__file__))
KERNELS = ("matmul", "matmul_wmma", "attention", "softmax_xent", "layernorm")
CUPY_OPTIONS = ("--std=c++17", "-ftz=true", "--device-as-default-execution-space")


def available():
    try:
        from cuda.bindings import nvrtc  # noqa: F401
        return True
    except ImportError:
        return False


def cuda_include_dirs():
    """Folders with CUDA's <mma.h>: pip's nvidia wheels (nvidia/*/include), else a toolkit's include/.

    CuPy adds its toolkit's include folder itself when it finds one; the wheels it does not.
    """
    roots = []
    try:
        import nvidia
        roots += sorted(glob.glob(os.path.join(root, "*", "include")) for root in nvidia.__path__)
        roots = [path for group in roots for path in group]
    except ImportError:
        pass
    for variable in ("CUDA_PATH", "CUDA_HOME"):
        if os.environ.get(variable):
            roots.append(os.path.join(os.environ[variable], "include"))
    roots.append("/usr/local/cuda/include")
    return [path for path in roots if os.path.exists(os.path.join(path, "mma.h"))][:1]


def include_options():
    return tuple(f"-I{path}" for path in cuda_include_dirs())


def _check(result, prog=None):
    from cuda.bindings import nvrtc
    err = result[0]
    if err != nvrtc.nvrtcResult.NVRTC_SUCCESS:
        raise RuntimeError(f"NVRTC error {err}" + (f":\n{_log(prog)}" if prog is not None else ""))
    return result[1:] if len(result) > 2 else (result[1] if len(result) == 2 else None)


def _log(prog):
    from cuda.bindings import nvrtc
    size = _check(nvrtc.nvrtcGetProgramLogSize(prog))
    buf = b" " * size
    nvrtc.nvrtcGetProgramLog(prog, buf)
    return buf.decode(errors="replace").rstrip("\x00")


def compile_cubin(name, arch="sm_90", extra=()):
    """(cubin bytes, compiler log) for minilm/kernels/<name>.cu."""
    from cuda.bindings import nvrtc
    with open(os.path.join(KERNEL_DIR, f"{name}.cu"), "rb") as f:
        source = f.read()
    prog = _check(nvrtc.nvrtcCreateProgram(source, f"{name}.cu".encode(), 0, [], []))
    options = [o.encode() for o in (*CUPY_OPTIONS, *include_options(), f"-arch={arch}", "-Xptxas=-v", *extra)]
    result = nvrtc.nvrtcCompileProgram(prog, len(options), options)
    log = _log(prog)
    if result[0] != nvrtc.nvrtcResult.NVRTC_SUCCESS:
        hint = ("\nCUDA's device headers were not found: pip install 'minilm[nvrtc]' (nvidia-cuda-runtime, "
                "nvidia-cuda-crt) or set CUDA_PATH to a CUDA toolkit") if not cuda_include_dirs() else ""
        raise RuntimeError(f"NVRTC could not compile {name}.cu for {arch}:\n{log}{hint}")
    size = _check(nvrtc.nvrtcGetCUBINSize(prog))
    cubin = b" " * size
    _check(nvrtc.nvrtcGetCUBIN(prog, cubin))
    return cubin, log


def parse_ptxas(log):
    """{kernel: {registers, shared_bytes, spill_stores, spill_loads, stack_bytes}} from a -v log."""
    report, current = {}, None
    for line in log.splitlines():
        m = re.search(r"Function properties for (\w+)", line)
        if m:
            current = report.setdefault(m.group(1), {"registers": 0, "shared_bytes": 0})
            continue
        m = re.search(r"Compiling entry function '(\w+)'", line)
        if m:
            current = report.setdefault(m.group(1), {"registers": 0, "shared_bytes": 0})
            continue
        if current is None:
            continue
        m = re.search(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads", line)
        if m:
            current.update(stack_bytes=int(m.group(1)), spill_stores=int(m.group(2)), spill_loads=int(m.group(3)))
        m = re.search(r"Used (\d+) registers", line)
        if m:
            current["registers"] = int(m.group(1))
            s = re.search(r"(\d+) bytes smem", line)
            current["shared_bytes"] = int(s.group(1)) if s else 0
    return report


def compile_report(name, arch="sm_90"):
    """Per-kernel resource usage of minilm/kernels/<name>.cu compiled for arch."""
    _, log = compile_cubin(name, arch, extra=("--no-cache",) if _supports_no_cache() else ())
    return parse_ptxas(log)


def _supports_no_cache():
    # NVRTC >= 12.9 caches compilations and then prints no ptxas report
    from cuda.bindings import nvrtc
    _, major, minor = nvrtc.nvrtcVersion()
    return (major, minor) >= (12, 9)


def cuobjdump():
    """Path of the cuobjdump tool from the nvidia-cuda-cuobjdump wheel (or PATH), or None."""
    try:
        import nvidia
        for root in nvidia.__path__:
            found = glob.glob(os.path.join(root, "*", "bin", "cuobjdump"))
            if found:
                return found[0]
    except ImportError:
        pass
    from shutil import which
    return which("cuobjdump")


def disassemble(cubin):
    """{kernel: [(address, instruction), ...]}: the SASS of a cubin (cuobjdump -sass), {} without the tool."""
    import subprocess
    import tempfile
    tool = cuobjdump()
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


# LDSM: ldmatrix. LD: a generic load, which is what WMMA fragment loads from shared memory
# compile to (NVRTC emits wmma.load without the .shared state space, see matmul_wmma.cu).
OPCODES = {"FFMA": r"\bFFMA\b", "HMMA": r"\bHMMA\b", "LDS": r"\bLDS(M)?\b", "LD": r"\bLD\b"}


def hottest_loop_mix(instructions, by="FFMA"):
    """{FFMA, HMMA, LDS, LD, instructions}: counts in the loop (a backward branch) with the most `by`.

    Ranges that contain EXIT are skipped: those are out-of-line fallback blocks jumping back
    (e.g. for divergent shuffles), not loops.
    """
    best = dict.fromkeys(OPCODES, 0) | {"instructions": 0}
    for addr, text in instructions:
        m = re.search(r"\bBRA\b.*?(0x[0-9a-f]+)", text)
        if not m or int(m.group(1), 16) >= addr:
            continue
        body = [t for a, t in instructions if int(m.group(1), 16) <= a <= addr]
        if any("EXIT" in t for t in body):
            continue
        counts = {name: sum(bool(re.search(rx, t)) for t in body) for name, rx in OPCODES.items()}
        if counts[by] > best[by]:
            best = counts | {"instructions": len(body)}
    return best



MEMORY_OPCODES = ("LDG", "STG", "LDS", "STS", "LD", "ST")   # global, shared, generic (LD/ST)


def memory_widths(instructions):
    """{opcode: {bits: count}}: the memory instructions of a kernel by access width (32, 64, 128).

    What the GPU compiler made of the source's loads and stores: LDG.E.128 is a float4 load,
    LDS.128 four floats from shared memory in one instruction (NVCC merges adjacent aligned
    scalar reads into it, which the emulator's counters, counting the CPU build, do not).
    """
    widths = {op: {} for op in MEMORY_OPCODES}
    for _, text in instructions:
        m = re.search(r"\b(LDG|STG|LDS|STS|LD|ST)((?:\.[A-Z0-9]+)*)(?=\s)", text)
        if m:
            bits = 128 if ".128" in m.group(2) else 64 if ".64" in m.group(2) else 32
            widths[m.group(1)][bits] = widths[m.group(1)].get(bits, 0) + 1
    return widths
