"""minilm's own CUDA kernels, and the switch that routes ops to them.

    matmul.cu        fp32 GEMM (naive -> shared-memory tiles -> 2-D register blocking)
    attention.cu     fused causal attention, FlashAttention-2 style, forward and backward
    softmax_xent.cu  softmax cross-entropy, loss and gradient in one pass per row
    layernorm.cu     layer norm forward, backward with a deterministic parameter reduction

On device "cuda" the ops in minilm/ops launch these through CuPy; on "emu"
through the CPU SIMT emulator (minilm/kernels/emulator), so the same launch
code is tested on machines without a GPU. `set_enabled(False)` sends "cuda"
back to plain CuPy/cuBLAS (and "emu" to NumPy), to compare the two.
Importing this package needs neither CuPy nor a compiler.
"""
_enabled = True


def set_enabled(flag):
    global _enabled
    _enabled = bool(flag)


def enabled(device):
    """True when ops on `device` should run minilm's kernels."""
    return _enabled and device in ("cuda", "emu")
