"""What to run when something is wrong, and what to paste into a bug report (`minilm doctor` prints it).

    versions()      Python, minilm, NumPy and its BLAS with its thread count, minilm's own threads, CuPy and CUDA
                    when present, the C++ compiler the emulator uses, NVRTC when installed
    run_checks()    one result per device it can check: ok / failed (reason) / not available (why)

The checks:

    gpt      a tiny GPT's forward and backward on the device, in float32, against
             the same GPT in float64 NumPy: the loss and every gradient must agree
             to 1e-4 of their size (float32 rounding gives ~1e-6)
    kernel   minilm's GEMM kernel compiled for the device and run once, against NumPy
    nvrtc    matmul.cu compiled by NVRTC for a real GPU architecture (no GPU needed)

A device that cannot run here (no CuPy, no GPU, no C++ compiler) is "not
available", with the reason and the fix: that is not a failure (`minilm doctor`
exits 1 only if an available check failed).
"""
import os
import platform
import shutil
import subprocess
import sys

import numpy as np

TOLERANCE = 1e-4                 # of the largest |value|: float32 against float64
NVRTC_ARCH = "sm_90"


# ---------------------------------------------------------------- versions
def _blas():
    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    try:
        from threadpoolctl import threadpool_info
        threads = ", ".join(f"{p['internal_api']} {p['num_threads']} threads" for p in threadpool_info()
                            if p["user_api"] == "blas") or "unknown"
    except ImportError:
        threads = f"threads unknown (pip install threadpoolctl to see them); {os.cpu_count()} CPUs"
    return f"{blas.get('name', '?')} {blas.get('version', '?')}, {threads}"


def _threads():
    """minilm's own thread count, beside BLAS's (which it sets to 1 while it owns the cores)."""
    from .fast import threads
    count = threads.threads()
    if count > 1:
        return (f"{count}; BLAS on 1 by design: minilm's threads cut the work, so two pools never fight "
                "over the cores (minilm/fast/threads.py; MINILM_THREADS=N to change)")
    return "1; BLAS keeps its own threads (minilm/fast/threads.py; MINILM_THREADS=N to change)"


def _cupy():
    try:
        import cupy
    except ImportError:
        return "not installed (pip install 'minilm[gpu]')"
    try:
        runtime, driver = cupy.cuda.runtime.runtimeGetVersion(), cupy.cuda.runtime.driverGetVersion()
        return f"{cupy.__version__}, CUDA runtime {runtime // 1000}.{runtime % 1000 // 10}, driver {driver // 1000}.{driver % 1000 // 10}"
    except Exception as e:                  # installed, but no driver
        return f"{cupy.__version__} ({str(e).splitlines()[0]})"


def _compiler():
    if shutil.which("g++") is None:
        return "g++ not found (the emu device needs it: e.g. apt-get install g++)"
    first_line = subprocess.run(["g++", "--version"], capture_output=True, text=True).stdout.splitlines()
    return first_line[0] if first_line else "g++ (version unknown)"


def _nvrtc():
    from .kernels import nvrtc
    if not nvrtc.available():
        return "not installed (pip install 'minilm[nvrtc]')"
    from cuda.bindings import nvrtc as bindings
    _, major, minor = bindings.nvrtcVersion()
    return f"{major}.{minor}"


def versions():
    import minilm
    return {"python": f"{platform.python_version()} ({sys.executable})", "minilm": minilm.__version__,
            "numpy": np.__version__, "blas": _blas(), "minilm threads": _threads(), "cupy": _cupy(), "c++ compiler": _compiler(),
            "nvrtc": _nvrtc(), "platform": platform.platform()}


# ---------------------------------------------------------------- checks
def _relative_error(value, reference):
    value, reference = np.asarray(value, np.float64), np.asarray(reference, np.float64)
    return float(np.max(np.abs(value - reference)) / max(float(np.max(np.abs(reference))), 1e-30))


def gpt_matches_float64(device):
    """A one-layer GPT's loss and gradients on `device` (float32) against float64 NumPy; returns the detail."""
    import minilm
    from .models import GPT, GPTConfig
    from .backend import to_device
    config = GPTConfig(vocab_size=11, block_size=8, n_layer=1, n_head=2, n_embd=16)
    minilm.manual_seed(0)
    reference = GPT(config)
    model = GPT(config)
    model.load_state_dict(reference.state_dict())
    reference.to(dtype=np.float64)
    model.to(device)
    x = np.random.default_rng(0).integers(0, config.vocab_size, (2, config.block_size))
    y = np.roll(x, -1, axis=1)
    losses = []
    for m, on in ((reference, "cpu"), (model, device)):
        loss = m(minilm.Tensor(x, device=on), minilm.Tensor(y, device=on))[1]
        loss.backward()
        losses.append(loss.item())
    grads = dict(model.named_parameters())
    errors = {"loss": _relative_error(losses[1], losses[0])}
    for name, p in reference.named_parameters():
        errors[name] = _relative_error(to_device(grads[name].grad, "cpu"), p.grad)
    worst = max(errors, key=errors.get)
    if errors[worst] > TOLERANCE:
        raise AssertionError(f"{worst} differs from float64 by {errors[worst]:.1e} of its size "
                             f"(allowed {TOLERANCE:.0e})")
    return f"forward and backward match float64 to {errors[worst]:.1e}"


def kernel_runs(device):
    """minilm's GEMM kernel compiled for `device` and run once, against NumPy."""
    from .backend import to_device
    from .kernels.launch import matmul
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((33, 20)).astype(np.float32), rng.standard_normal((20, 17)).astype(np.float32)
    c = to_device(matmul(to_device(a, device), to_device(b, device), device), "cpu")
    error = _relative_error(c, a.astype(np.float64) @ b)
    if error > TOLERANCE:
        raise AssertionError(f"matmul kernel differs from NumPy by {error:.1e} of its size")
    return f"matmul.cu compiled and matches NumPy to {error:.1e}"


def nvrtc_compiles():
    from .kernels.nvrtc import compile_cubin
    cubin, _ = compile_cubin("matmul", arch=NVRTC_ARCH)
    return f"matmul.cu compiled for {NVRTC_ARCH} ({len(cubin):,} bytes of cubin)"


def _device_missing(device):
    """None if `device` can run here, else why not (DeviceUnavailable's message: what and how to fix)."""
    from .backend import require_device
    from .errors import DeviceUnavailable
    try:
        require_device(device)
    except DeviceUnavailable as e:
        return str(e)
    return None


def _nvrtc_missing():
    from .kernels import nvrtc
    return None if nvrtc.available() else "NVRTC is not installed: pip install 'minilm[nvrtc]'"


CHECKS = [  # (device, what, check, why it cannot run here or None)
    ("cpu", "gpt", lambda: gpt_matches_float64("cpu"), lambda: None),
    ("emu", "gpt", lambda: gpt_matches_float64("emu"), lambda: _device_missing("emu")),
    ("emu", "kernel", lambda: kernel_runs("emu"), lambda: _device_missing("emu")),
    ("cuda", "gpt", lambda: gpt_matches_float64("cuda"), lambda: _device_missing("cuda")),
    ("cuda", "kernel", lambda: kernel_runs("cuda"), lambda: _device_missing("cuda")),
    ("nvrtc", "compile", nvrtc_compiles, _nvrtc_missing),
]


def run_checks():
    results = []
    for device, what, check, missing in CHECKS:
        why = missing()
        if why is not None:
            results.append({"device": device, "check": what, "status": "not available", "detail": why})
            continue
        try:
            results.append({"device": device, "check": what, "status": "ok", "detail": check()})
        except Exception as e:               # a failed check is the report, not a crash of the doctor
            reason = (str(e).splitlines() or [""])[0]
            results.append({"device": device, "check": what, "status": "failed",
                            "detail": f"{type(e).__name__}: {reason}"})
    return results
