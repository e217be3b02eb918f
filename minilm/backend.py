"""Devices and array modules: which library holds a tensor's numbers.

minilm keeps every tensor's data in a raw array of an "array module" `xp`:
NumPy on the CPU, CuPy on an NVIDIA GPU. NumPy and CuPy share one API, so an op
is written once against `xp` and runs on both (the idiom DeZero made popular).

Devices
    "cpu"   NumPy arrays, NumPy ops.
    "cuda"  CuPy arrays; hot ops run minilm's own CUDA kernels (minilm/kernels).
    "emu"   NumPy arrays, but hot ops run those same CUDA kernels through the
            CPU SIMT emulator, so the GPU dispatch code is tested without a GPU.

CuPy is imported lazily: `import minilm` works on a machine without it.
"""
import ctypes
import os
import shutil
import sys

import numpy as np

from .errors import DeviceUnavailable

DEVICES = ("cpu", "cuda", "emu")
default_dtype = np.float32

_cupy = None
_rng = np.random.default_rng(0)


def _import_cupy():
    global _cupy
    if _cupy is None:
        try:
            import cupy
        except ImportError:
            raise DeviceUnavailable("device 'cuda' needs CuPy, which is not installed: pip install 'minilm[gpu]' "
                                    "(or use --device cpu)") from None
        _cupy = cupy
    return _cupy


def cuda_available():
    """True when CuPy is installed and sees at least one CUDA device."""
    try:
        return _import_cupy().cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


def check_device(device):
    if device not in DEVICES:
        raise ValueError(f"unknown device {device!r}; expected one of {DEVICES}")
    return device


def require_device(device):
    """Raise DeviceUnavailable, saying what is missing and how to get it, unless `device` can run here."""
    check_device(device)
    if device == "cuda":
        cupy = _import_cupy()
        try:
            count, why = cupy.cuda.runtime.getDeviceCount(), "it counts 0"
        except Exception as e:                    # no driver, or CUDA_VISIBLE_DEVICES hides every GPU
            count, why = 0, str(e).splitlines()[0]
        if count == 0:
            raise DeviceUnavailable(f"device 'cuda': CuPy is installed but sees no GPU ({why}); check "
                                    "`nvidia-smi` and CUDA_VISIBLE_DEVICES, or use --device cpu")
    if device == "emu" and shutil.which("g++") is None:       # the compiler minilm/kernels/emulator runs
        raise DeviceUnavailable("device 'emu' compiles minilm's CUDA kernels for the CPU with g++, which is not "
                                "installed: install it (e.g. apt-get install g++), or use --device cpu")
    return device


def get_array_module(device):
    """The array module that holds data on `device`: numpy or cupy."""
    return _import_cupy() if check_device(device) == "cuda" else np


def xp_of(array):
    """The array module an array belongs to (numpy for anything that is not a CuPy array)."""
    if type(array).__module__.startswith("cupy"):
        return _cupy
    return np


def to_device(array, device):
    """Copy `array` to `device` (a no-op when it already lives there)."""
    on_gpu = type(array).__module__.startswith("cupy")
    if device == "cuda":
        return array if on_gpu else _import_cupy().asarray(array)
    check_device(device)
    return array.get() if on_gpu else np.asarray(array)


def reuse_freed_memory():
    """Let freed array memory be reused instead of handed back to the OS (glibc only).

    By default glibc serves every allocation above ~128 KiB with a fresh mmap
    and unmaps it on free. Training allocates and frees arrays of the same
    sizes every step, so each new one page-faults on every 4 KiB page as it
    is first written: measured here, a third of a small GPT's forward pass.
    Raising the mmap and trim thresholds keeps those pages in the process.
    Set MINILM_DEFAULT_MALLOC=1 to leave the allocator alone.
    """
    if os.environ.get("MINILM_DEFAULT_MALLOC") or sys.platform != "linux":
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    return bool(libc.mallopt(M_MMAP_THRESHOLD, 1 << 30) and libc.mallopt(M_TRIM_THRESHOLD, 1 << 30))


def rng():
    """minilm's NumPy random generator (dropout masks, initialisation, sampling)."""
    return _rng


def manual_seed(seed):
    """Seed every random source minilm uses: its NumPy generator, and CuPy's when present."""
    global _rng
    _rng = np.random.default_rng(seed)
    if _cupy is not None:
        _cupy.random.seed(seed)


def get_rng_state():
    return _rng.bit_generator.state


def set_rng_state(state):
    _rng.bit_generator.state = state


