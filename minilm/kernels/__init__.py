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
from .switch import (FLOAT32_MATMUL_PRECISIONS, enabled, float32_gemm,  # noqa: F401
                     get_float32_matmul_precision, set_enabled, set_float32_matmul_precision)

from . import fast_layer_norm  # noqa: E402,F401  (registers the layer norm kernel for "cuda" and "emu")
from . import fast_attention  # noqa: E402,F401  (registers the fused attention kernel for "cuda" and "emu")
from . import fast_matmul  # noqa: E402,F401  (registers the GEMM kernels for "cuda" and "emu")
from . import fast_cross_entropy  # noqa: E402,F401  (registers the softmax cross-entropy kernel for "cuda" and "emu")
