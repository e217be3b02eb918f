"""minilm's own CUDA kernels, and the routes that hand ops to them.

    matmul.cu        fp32 GEMM (naive -> shared-memory tiles -> 2-D register blocking)
    matmul_wmma.cu   GEMM on the tensor cores: TF32 and bf16 inputs, float32 accumulation
    attention.cu     fused causal attention, FlashAttention-2 style, forward and backward
    softmax_xent.cu  softmax cross-entropy, loss and gradient in one pass per row
    layernorm.cu     layer norm forward, backward with a deterministic parameter reduction

Each kernel has a route, fast_<op>.py: a subclass of the reference op
(minilm/ops/) registered with minilm/dispatch.py for "cuda" and "emu". On
"cuda" it launches the kernel through CuPy (launch.py); on "emu" through the
CPU SIMT emulator (kernels/emulator/), so the same launch code is tested on
machines without a GPU. `set_enabled(False)` (switch.py) sends "cuda" back to
the reference ops on CuPy/cuBLAS (and "emu" to NumPy), to compare the two.

Without a GPU, the emulator also counts what a profiler would (emulator/counters.py:
memory requests, 32-byte sectors, bank conflicts), hardware.py turns NVRTC's register
and shared-memory figures into occupancy and the counts into a roofline time, and
benchmarks/kernel_counters.py prints both for every kernel.

Float32 products stay exact float32 by default, as in PyTorch;
`set_float32_matmul_precision("high")` (PyTorch's name) lets them run on the
TF32 tensor cores, "medium" on the bf16 ones. It applies to "cuda" and "emu";
NumPy on "cpu" has no reduced-precision BLAS to switch to.
Importing this package needs neither CuPy nor a compiler.
"""
from .switch import (FLOAT32_MATMUL_PRECISIONS, enabled, float32_gemm,  # noqa: F401
                     get_float32_matmul_precision, set_enabled, set_float32_matmul_precision)

# importing a route registers it
from . import fast_attention, fast_cross_entropy, fast_layer_norm, fast_matmul  # noqa: E402,F401
