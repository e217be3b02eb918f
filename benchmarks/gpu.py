"""minilm's CUDA kernels on a real GPU: GEMM GFLOP/s, attention time, a GPT training step.

    python benchmarks/gpu.py            (needs a CUDA device and pip install 'minilm[gpu]')

Every kernel result is checked against CuPy first (validate, then time);
times are medians of CUDA-event-timed repeats after warm-up. The GEMM is
compared with cupy.matmul in plain fp32 (CUPY_TF32=0: no tensor-core TF32);
attention with the same attention composed from CuPy ops.
"""
import os
import statistics
import sys

os.environ.setdefault("CUPY_TF32", "0")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402

import minilm  # noqa: E402
from minilm.kernels import launch  # noqa: E402
from gpu_acceptance import composed_attention  # noqa: E402  (beside this file)


def gpu_time(fn, repeats=20, warmup=3):
    import cupy
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start, end = cupy.cuda.Event(), cupy.cuda.Event()
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(cupy.cuda.get_elapsed_time(start, end))
    return statistics.median(times)


def main():
    if not minilm.cuda_available():
        sys.exit("no CUDA device: this benchmark needs a GPU (the kernels are checked on the CPU by the tests)")
    import cupy
    print(f"device: {cupy.cuda.runtime.getDeviceProperties(0)['name'].decode()}")
    print(f"\n{'GEMM M=N=K':<14}{'kernel':<16}{'ms':>8}{'GFLOP/s':>10}{'% cupy':>8}")
    for n in (256, 1024, 2048, 4096):
        a, b = (cupy.random.standard_normal((n, n), dtype=np.float32) for _ in range(2))
        ref_ms = gpu_time(lambda: cupy.matmul(a, b))
        for variant in ("matmul_naive", "matmul_tiled", "matmul_blocked"):
            if variant == "matmul_naive" and n > 2048:
                continue
            c = launch.matmul(a, b, "cuda", variant=variant)
            assert float(cupy.abs(c - a @ b).max()) < 1e-2 * n ** 0.5, variant
            ms = gpu_time(lambda: launch.matmul(a, b, "cuda", variant=variant))
            print(f"{n:<14}{variant:<16}{ms:>8.3f}{2 * n ** 3 / ms / 1e6:>10.0f}{100 * ref_ms / ms:>7.0f}%")
        print(f"{n:<14}{'cupy.matmul':<16}{ref_ms:>8.3f}{2 * n ** 3 / ref_ms / 1e6:>10.0f}{100:>7}%")

    print(f"\n{'attention (B*H, T, D)':<24}{'fused fwd+bwd ms':>18}{'composed ms':>13}")
    for T in (64, 256, 1024):
        q, k, v, do = (cupy.random.standard_normal((48, T, 64), dtype=np.float32) for _ in range(4))

        def fused():
            o, lse = launch.attention_forward(q, k, v, 1, 0.125, "cuda")
            launch.attention_backward(q, k, v, o, lse, do, 1, 0.125, "cuda")

        def composed():
            composed_attention(cupy, q, k, v, do, 0.125)

        print(f"{f'(48, {T}, 64)':<24}{gpu_time(fused):>18.3f}{gpu_time(composed):>13.3f}")

    from minilm.models import GPT, GPTConfig
    model = GPT(GPTConfig(vocab_size=65, block_size=256, n_layer=6, n_head=6, n_embd=384)).to("cuda")
    opt = model.configure_optimizers(0.1, 1e-3, (0.9, 0.99))
    idx = minilm.tensor(np.random.default_rng(0).integers(0, 65, (32, 257)), device="cuda")

    def step():
        _, loss = model(idx[:, :-1], idx[:, 1:])
        loss.backward()
        minilm.optim.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad()

    for use_kernels in (True, False):
        minilm.kernels.set_enabled(use_kernels)
        label = "minilm kernels" if use_kernels else "plain CuPy/cuBLAS"
        print(f"\nGPT 6x384, B=32, T=256 training step ({label}): {gpu_time(step, repeats=10):.1f} ms")
    minilm.kernels.set_enabled(True)


if __name__ == "__main__":
    main()
