"""Compile minilm's kernels with NVRTC for real GPU architectures, without a GPU.

NVRTC (the runtime compiler CuPy uses) comes as a pip wheel, so the same
compile a GPU machine would do can run anywhere, with CuPy's own options
(--std=c++17 -ftz=true -arch=sm_XX --device-as-default-execution-space).
Asking ptxas for verbose output (-Xptxas=-v) reports, per kernel, the
registers, shared memory, spill stores/loads and stack frame: a spill or a
non-zero stack frame means an array meant to live in registers went to slow
local memory (usually an index the compiler cannot resolve at compile time).

    report = compile_report("matmul", arch="sm_90")   # {kernel: {"registers": 128, ...}}

Needs the `cuda-bindings` and `nvidia-cuda-nvrtc` wheels (pip install 'minilm[nvrtc]').
"""
import glob
import os
import re

KERNEL_DIR = os.path.dirname(os.path.abspath(__file__))
KERNELS = ("matmul", "attention", "softmax_xent", "layernorm")
CUPY_OPTIONS = ("--std=c++17", "-ftz=true", "--device-as-default-execution-space")


def available():
    try:
        from cuda.bindings import nvrtc  # noqa: F401
        return True
    except ImportError:
        return False


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
    options = [o.encode() for o in (*CUPY_OPTIONS, f"-arch={arch}", "-Xptxas=-v", *extra)]
    result = nvrtc.nvrtcCompileProgram(prog, len(options), options)
    log = _log(prog)
    if result[0] != nvrtc.nvrtcResult.NVRTC_SUCCESS:
        raise RuntimeError(f"NVRTC could not compile {name}.cu for {arch}:\n{log}")
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
