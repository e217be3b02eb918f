"""Whether ops on "cuda" and "emu" run minilm's kernels, and which GEMM float32 products use.

Kept apart from kernels/__init__.py so that the kernel routes (kernels/fast_*.py)
can read the switch without importing the package that imports them.
"""
_enabled = True
FLOAT32_MATMUL_PRECISIONS = {"highest": "matmul_blocked", "high": "tf32", "medium": "bf16"}
_float32_matmul_precision = "highest"


def set_float32_matmul_precision(precision):
    """"highest" (exact float32, the default), "high" (TF32 tensor cores) or "medium" (bf16)."""
    global _float32_matmul_precision
    if precision not in FLOAT32_MATMUL_PRECISIONS:
        raise ValueError(f"float32 matmul precision must be one of {sorted(FLOAT32_MATMUL_PRECISIONS)}, "
                         f"got {precision!r} (\"high\" allows TF32, as torch.set_float32_matmul_precision)")
    _float32_matmul_precision = precision


def get_float32_matmul_precision():
    return _float32_matmul_precision


def float32_gemm():
    """The GEMM variant that float32 products use now (see minilm/kernels/launch.py)."""
    return FLOAT32_MATMUL_PRECISIONS[_float32_matmul_precision]


def set_enabled(flag):
    global _enabled
    _enabled = bool(flag)


def enabled(device):
    """True when ops on `device` should run minilm's kernels."""
    return _enabled and device in ("cuda", "emu")
