"""minilm's own CUDA kernels, and the switch that routes ops to them.

    matmul.cu        fp32 GEMM (naive -> shared-memory tiles -> 2-D register blocking)
    matmul_wmma.cu   GEMM on the tensor cores: TF32 and bf16 inputs, float32 accumulation
    attention.cu     fused causal attention, FlashAttention-2 style, forward and backward
    softmax_xent.cu  softmax cross-entropy, loss and gradient in one pass per row
    layernorm.cu     layer norm forward, backward with a deterministic parameter reduction

On device "cuda" the ops in minilm/ops launch these through CuPy; on "emu"
through the CPU SIMT emulator (minilm/kernels/emulator), so the same launch
code is tested on machines without a GPU. `set_enabled(False)` sends "cuda"
back to plain CuPy/cuBLAS (and "emu" to NumPy), to compare the two.

Float32 products stay exact float32 by default, as in PyTorch;
`set_float32_matmul_precision("high")` (PyTorch's name) lets them run on the
TF32 tensor cores, "medium" on the bf16 ones. It applies to "cuda" and "emu";
NumPy on "cpu" has no reduced-precision BLAS to switch to.
Importing this package needs neither CuPy nor a compiler.
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


from . import fast_layer_norm  # noqa: E402,F401  (registers the layer norm kernel for "cuda" and "emu")
