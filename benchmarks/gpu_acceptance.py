"""One command that says whether minilm's GPU path works on this machine, and how fast it is.

    python benchmarks/gpu_acceptance.py                    on a GPU (pip install 'minilm[gpu]'), < 8 min
    python benchmarks/gpu_acceptance.py --device emu --tiny    the same script on the CPU emulator (CI)

In order:
  1. the GPU tests (tests/kernels/test_gpu.py and every test named cuda/gpu), through pytest;
  2. every kernel validated, then timed, against the array library in the same precision
     (CuPy/cuBLAS on "cuda", NumPy on "emu"):
       GEMM TFLOP/s: fp32 SIMT, TF32 and bf16 tensor cores, M = N = K = 1024 ... 8192
       (cupy.matmul in TF32 for TF32; CuPy has no bf16, so bf16 is held against float16,
       which the tensor cores run at the same rate);
       attention forward + backward against the composed version, T = 256, 1024, 4096;
       cross-entropy and layer norm in GB/s (bytes each must read and write, once);
  3. one GPT training step in float32 and in bf16 (autocast), on the device and on the CPU;
  4. 300 iterations of the classic `minilm train --preset shakespeare-char` configuration on the device, in tokens/s,
     against the CPU's tokens/s over a few iterations of the same run.
It prints one table and writes it as JSON (--json). --tiny shrinks every size so that the
emulator gets through it in seconds: then the numbers say nothing about speed, only that the
script and every code path it drives run end to end.

Beside each kernel's measured time it prints the time the roofline model predicts from the
SIMT emulator's counters (benchmarks/kernel_counters.py, for the GPU's peaks in
minilm/kernels/hardware.py): a lower bound that assumes perfect overlap, so measured /
predicted says how far a kernel is from what its own memory traffic allows, and a first
GPU run checks the model. Needs g++; on "emu" only with --predict (the prediction is for
a GPU, not for the emulator's own time).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402

import minilm  # noqa: E402
from minilm.backend import get_array_module, to_device  # noqa: E402
from minilm.bfloat16 import round_to_bfloat16  # noqa: E402
from minilm.kernels import launch  # noqa: E402
from minilm.serialization import save_json  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
SIZES = {  # (full, tiny)
    "gemm": ([1024, 2048, 4096, 8192], [64, 80]),
    "attention": ([(16, 256, 64), (16, 1024, 64), (16, 4096, 64)], [(2, 16, 16), (2, 33, 16)]),
    "xent": ((8192, 50304), (32, 65)),
    "layernorm": ((32768, 768), (64, 32)),
    "gpt": (dict(n_layer=6, n_head=6, n_embd=384, block_size=256, batch=32),
            dict(n_layer=1, n_head=2, n_embd=16, block_size=16, batch=2)),
    "train_iters": (300, 3),
}


class Device:
    """The array module and the clock of a device: CUDA events on "cuda", wall time elsewhere."""

    def __init__(self, name, repeats):
        self.name, self.xp, self.repeats = name, get_array_module(name), repeats
        self.rng = np.random.default_rng(0)

    def sync(self):
        if self.name == "cuda":
            self.xp.cuda.Device().synchronize()

    def time_ms(self, fn, repeats=None):
        repeats = repeats or self.repeats
        fn()                                             # warm-up: compiles, allocates
        self.sync()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            self.sync()
            times.append(1e3 * (time.perf_counter() - start))
        return statistics.median(times)

    def random(self, *shape):
        # one generator for the run: operands of one check must differ (q, k, v, dO; x and dy; A and B)
        return self.xp.asarray(self.rng.standard_normal(shape).astype(np.float32))


def set_library_tf32(xp, enabled):
    """Let xp.matmul use TF32 tensor cores (CuPy: its cuBLAS compute type, a CuPy-internal switch).
    False where that cannot be done (NumPy; a CuPy without the switch): the reference stays fp32."""
    if xp is np:
        return False
    try:
        from cupy._core import _routines_linalg as linalg
        linalg.set_compute_type(np.float32, linalg.COMPUTE_TYPE_TF32 if enabled else linalg.COMPUTE_TYPE_DEFAULT)
        return True
    except (ImportError, AttributeError):
        return False


def check(ok, what):
    """True if the validation passed; a failure is reported and the run goes on (exit status 1)."""
    if not ok:
        print(f"VALIDATION FAILED: {what}", file=sys.stderr)
    return bool(ok)


# ---------------------------------------------------------------- 1. the GPU tests
def predictor(dev, enabled):
    """predict(case) -> predicted ms on this GPU (H100 SXM numbers on emu), or None if not wanted."""
    if not enabled:
        return lambda case: None
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import kernel_counters
    from minilm.kernels import hardware
    name = dev.xp.cuda.runtime.getDeviceProperties(0)["name"].decode() if dev.name == "cuda" else ""
    gpu = next((g for g in hardware.GPUS if g.split()[0] in name), "H100 SXM")
    print(f"predictions for {gpu} (from the emulator's counters and the roofline)", flush=True)

    def predict(case):                           # case: (function of kernel_counters, its arguments...)
        return 1e3 * kernel_counters.predicted_seconds(lambda: getattr(kernel_counters, case[0])(*case[1:]), gpu)
    return predict


def run_tests(device):
    """pytest's summary line for the GPU tests (on "emu" they are collected and skip: no GPU)."""
    selection = ["tests", "-k", "cuda or gpu"] if device == "cuda" else ["tests/kernels/test_gpu.py"]
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *selection],
                            cwd=ROOT, capture_output=True, text=True)
    summary = (result.stdout.strip().splitlines() or ["(no output)"])[-1]
    return [{"section": "tests", "name": " ".join(selection), "result": summary, "ok": result.returncode == 0}]


# ---------------------------------------------------------------- 2. kernels
def gemm_within_error(c, a, b, unit):
    """True if every checked element of c = a @ b lies within its own error bound.

    Rounding each operand to `unit` (relative; 0 for float32) moves a product a_ik b_kj by at
    most ~2 unit |a_ik b_kj|; float32 accumulation of K terms, whose rounding errors add up
    like a random walk, stays far below 4 sqrt(K) 2^-24 of sum_k |a_ik b_kj| (tight enough
    that a bf16 result fails the float32 check). Both are measured against |a| @ |b|, never
    against max |c|, which a wrong or all-zero result passes at large K. Checked on a spread
    of rows (every n // 512-th, so every 128-row block of the kernel is seen) to keep the float64
    reference cheap.
    """
    rows = slice(None, None, max(1, len(a) // 512))
    a64, b64 = a[rows].astype(np.float64), b.astype(np.float64)
    bound = (2.01 * unit + 4 * np.sqrt(a.shape[1]) * 2.0**-24) * (np.abs(a64) @ np.abs(b64)) + 1e-6
    return bool(np.all(np.abs(c[rows] - a64 @ b64) <= bound))


def gemm_rows(dev, sizes, predict):
    xp, rows = dev.xp, []
    for n in sizes:
        a, b = dev.random(n, n), dev.random(n, n)
        for label, variant, unit in (("fp32 SIMT", "matmul_blocked", 0.0), ("TF32", "tf32", 2.0**-11),
                                     ("bf16", "bf16", 2.0**-8)):
            c = to_device(launch.matmul(a, b, dev.name, variant=variant), "cpu")
            ok = gemm_within_error(c, to_device(a, "cpu"), to_device(b, "cpu"), unit)
            ms = dev.time_ms(lambda: launch.matmul(a, b, dev.name, variant=variant))
            if variant == "bf16":
                a16, b16 = a.astype(xp.float16), b.astype(xp.float16)
                reference, ref_label = (lambda: xp.matmul(a16, b16)), "matmul float16"
            else:
                in_tf32 = set_library_tf32(xp, variant == "tf32") and variant == "tf32"
                reference, ref_label = (lambda: xp.matmul(a, b)), f"matmul {'TF32' if in_tf32 else 'fp32'}"
            ref_ms = dev.time_ms(reference)
            set_library_tf32(xp, False)
            rows.append({"section": "gemm", "name": f"{label} {n}^3", "ms": ms,
                         "predicted_ms": predict(("gemm", variant, n, n, n)), "TFLOP/s": 2 * n**3 / ms / 1e9,
                         "reference": ref_label, "reference_ms": ref_ms, "vs_reference": ref_ms / ms,
                         "ok": check(ok, f"GEMM {label} {n}")})
    return rows


def composed_attention(xp, q, k, v, do, scale):
    T = q.shape[1]
    s = q @ k.transpose(0, 2, 1) * scale
    s = xp.where(xp.tril(xp.ones((T, T), bool)), s, -xp.inf)
    p = xp.exp(s - s.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    o = p @ v
    dp = do @ v.transpose(0, 2, 1)
    ds = p * (dp - (dp * p).sum(-1, keepdims=True)) * scale
    return o, (ds @ k, ds.transpose(0, 2, 1) @ q, p.transpose(0, 2, 1) @ do)


def attention_rows(dev, shapes, predict):
    rows = []
    for BH, T, D in shapes:
        q, k, v, do = (dev.random(BH, T, D) for _ in range(4))
        scale = 1 / np.sqrt(D)

        def fused():
            o, lse = launch.attention_forward(q, k, v, 1, scale, dev.name)
            return o, launch.attention_backward(q, k, v, o, lse, do, 1, scale, dev.name)
        (o, grads), (o_ref, grads_ref) = fused(), composed_attention(dev.xp, q, k, v, do, scale)
        errors = [float(dev.xp.abs(x - y).max()) for x, y in zip((o, *grads), (o_ref, *grads_ref))]
        ms, ref_ms = dev.time_ms(fused), dev.time_ms(lambda: composed_attention(dev.xp, q, k, v, do, scale))
        rows.append({"section": "attention", "name": f"fwd+bwd ({BH}, {T}, {D}) causal", "ms": ms,
                     "predicted_ms": predict(("attention", BH, T, D)),
                     "reference": "composed", "reference_ms": ref_ms, "vs_reference": ref_ms / ms,
                     "ok": check(max(errors) < 1e-3, f"attention T={T}: errors {errors}")})
    return rows


def memory_bound_rows(dev, xent_shape, ln_shape, predict):
    xp, rows = dev.xp, []
    N, V = xent_shape
    logits = dev.random(N, V)
    targets = xp.asarray(np.random.default_rng(0).integers(0, V, N))
    ones = xp.ones(N, np.float32)
    loss, grad = launch.softmax_xent(logits, targets, ones, -100, 0.0, dev.name)
    shifted = logits - logits.max(-1, keepdims=True)
    ref = xp.log(xp.exp(shifted).sum(-1)) - shifted[xp.arange(N), targets]
    grad_ref = xp.exp(shifted) / xp.exp(shifted).sum(-1, keepdims=True)     # softmax - one-hot (dloss 1)
    grad_ref[xp.arange(N), targets] -= 1
    xent_errors = [float(xp.abs(loss - ref).max()), float(xp.abs(grad - grad_ref).max())]
    ms = dev.time_ms(lambda: launch.softmax_xent(logits, targets, ones, -100, 0.0, dev.name))
    rows.append({"section": "memory", "name": f"cross-entropy ({N}, {V})", "ms": ms,
                 "predicted_ms": predict(("cross_entropy", N, V)),
                 "GB/s": 2 * N * V * 4 / ms / 1e6,                 # read the logits, write their gradient
                 "ok": check(max(xent_errors) < 1e-4, f"cross-entropy: errors (loss, gradient) {xent_errors}")})
    N, C = ln_shape
    x, dy = dev.random(N, C), dev.random(N, C)
    w, b = xp.ones(C, np.float32), xp.zeros(C, np.float32)
    y, mean, rstd = launch.layernorm_forward(x, w, b, 1e-5, dev.name)
    ref = (x - x.mean(-1, keepdims=True)) / xp.sqrt(x.var(-1, keepdims=True) + 1e-5)
    dx, dw, db = launch.layernorm_backward(dy, x, w, mean, rstd, dev.name)
    inv = 1 / xp.sqrt(x.var(-1, keepdims=True) + 1e-5)          # weight 1: dx = rstd (dy - mean dy - y mean(dy y))
    dx_ref = inv * (dy - dy.mean(-1, keepdims=True) - ref * (dy * ref).mean(-1, keepdims=True))
    backward_errors = [float(xp.abs(got - want).max() / (1 + xp.abs(want).max()))
                       for got, want in ((dx, dx_ref), (dw, (dy * ref).sum(0)), (db, dy.sum(0)))]

    def forward_backward():
        y, mean, rstd = launch.layernorm_forward(x, w, b, 1e-5, dev.name)
        launch.layernorm_backward(dy, x, w, mean, rstd, dev.name)
    ms = dev.time_ms(forward_backward)
    rows.append({"section": "memory", "name": f"layer norm fwd+bwd ({N}, {C})", "ms": ms,
                 "predicted_ms": predict(("layer_norm", N, C)),
                 "GB/s": 5 * N * C * 4 / ms / 1e6,                 # x, y; then dy, x, dx
                 "ok": check(float(xp.abs(y - ref).max()) < 1e-4 and max(backward_errors) < 1e-4,
                             f"layer norm: backward errors (dx, dw, db) {backward_errors}")})
    return rows


# ---------------------------------------------------------------- 3. a GPT training step
def gpt_step_rows(dev, size):
    from minilm.models import GPT, GPTConfig
    rows = []
    seq = np.random.default_rng(0).integers(0, 65, (size["batch"], size["block_size"] + 1))
    for dtype in ("float32", "bfloat16"):
        for device in (dev.name, "cpu"):
            minilm.manual_seed(0)
            config = GPTConfig(vocab_size=65, block_size=size["block_size"], n_layer=size["n_layer"],
                               n_head=size["n_head"], n_embd=size["n_embd"])
            model = GPT(config).to(device)
            opt = model.configure_optimizers(0.1, 1e-3, (0.9, 0.99))
            x, y = minilm.tensor(seq[:, :-1], device=device), minilm.tensor(seq[:, 1:], device=device)
            losses = []

            def step():
                with minilm.autocast(device, dtype=dtype):
                    _, loss = model(x, y)
                loss.backward()
                opt.step()
                opt.zero_grad()
                losses.append(loss.item())
            ms = Device(device, 1 if device == "cpu" else dev.repeats).time_ms(step)
            rows.append({"section": "gpt step", "name": f"{dtype} on {device}", "ms": ms, "first_loss": losses[0],
                         "ok": check(np.isfinite(losses).all(), f"GPT step {dtype} on {device}")})
    first = {r["name"]: r["first_loss"] for r in rows}
    close = {"bf16 loss within 1% of float32's": abs(first[f"bfloat16 on {dev.name}"] - first[f"float32 on {dev.name}"])
             < 1e-2 * first[f"float32 on {dev.name}"],
             f"float32 loss on {dev.name} equals the CPU's": abs(first[f"float32 on {dev.name}"] - first["float32 on cpu"])
             < 1e-4 * first["float32 on cpu"]}
    rows += [{"section": "gpt step", "name": what, "ok": check(holds, what), "result": ""} for what, holds in close.items()]
    return rows


# ---------------------------------------------------------------- 4. the classic training run (--preset shakespeare-char)
def training_rows(dev, iters, tiny):
    from minilm.train.config import config_from
    from minilm.train.loop import Trainer
    shrink = dict(n_layer=1, n_head=2, n_embd=16, block_size=16, batch_size=2) if tiny else {}
    rows = []
    for device, n in ((dev.name, iters), ("cpu", max(3, iters // 10))):
        with tempfile.TemporaryDirectory() as out:
            # evaluations only at the start and the end, on one batch: the time is training's
            cfg = config_from(overrides=dict(shrink, device=device, max_iters=n, lr_decay_iters=n, eval_iters=1,
                                             warmup_iters=min(100, n), eval_interval=n, out_dir=out,
                                             progress=False, sample_tokens=0))
            trainer = Trainer(cfg)
            start = time.perf_counter()
            trainer.run()
            seconds = time.perf_counter() - start
        tokens = n * cfg.batch_size * cfg.block_size
        rows.append({"section": "train", "name": f"default config, {n} iterations on {device}",
                     "seconds": seconds, "tokens/s": tokens / seconds, "ok": True})
    return rows


def print_table(rows, header):
    print(header)
    for r in rows:
        numbers = [f"{k} {r[k]:.4g}" for k in ("ms", "predicted_ms", "TFLOP/s", "GB/s", "vs_reference", "seconds",
                                                 "tokens/s")
                   if isinstance(r.get(k), float)]
        extra = f"  (vs {r['reference']})" if "reference" in r else ""
        print(f"{r['section']:<10}{r['name']:<44}{r.get('result', '  '.join(numbers))}{extra}  "
              f"[{'ok' if r['ok'] else 'FAILED'}]")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", choices=("cuda", "emu"), default="cuda")
    p.add_argument("--tiny", action="store_true", help="tiny sizes: checks the script runs, measures nothing")
    p.add_argument("--json", default=None, help="where to write the table (default gpu_acceptance-<device>.json)")
    p.add_argument("--skip-tests", action="store_true", help="leave out step 1 (pytest)")
    p.add_argument("--predict", action=argparse.BooleanOptionalAction, default=None,
                   help="roofline predictions beside the measured times (default: on for cuda, off for emu)")
    args = p.parse_args(argv)
    if args.device == "cuda" and not minilm.cuda_available():
        sys.exit("no CUDA device here (CuPy with a GPU: pip install 'minilm[gpu]'); "
                 "run with --device emu --tiny to check the script on the CPU emulator")
    pick = 1 if args.tiny else 0
    dev = Device(args.device, repeats=1 if args.device == "emu" else 10)
    if args.device == "cuda":
        gpu = dev.xp.cuda.runtime.getDeviceProperties(0)["name"].decode()
    else:
        gpu = "none (SIMT emulator on the CPU)"
    started = time.perf_counter()
    rows = [] if args.skip_tests else run_tests(args.device)
    predict = predictor(dev, args.predict if args.predict is not None else args.device == "cuda")
    rows += gemm_rows(dev, SIZES["gemm"][pick], predict)
    rows += attention_rows(dev, SIZES["attention"][pick], predict)
    rows += memory_bound_rows(dev, SIZES["xent"][pick], SIZES["layernorm"][pick], predict)
    rows += gpt_step_rows(dev, SIZES["gpt"][pick])
    rows += training_rows(dev, SIZES["train_iters"][pick], args.tiny)
    seconds = time.perf_counter() - started
    header = (f"minilm GPU acceptance: device {args.device}, GPU {gpu}, {time.strftime('%Y-%m-%d')}, "
              f"{'tiny sizes' if args.tiny else 'full sizes'}, {seconds:.0f} s")
    print_table(rows, header)
    path = args.json or f"gpu_acceptance-{args.device}.json"
    save_json({"device": args.device, "gpu": gpu, "date": time.strftime("%Y-%m-%d"), "tiny": args.tiny,
               "seconds": seconds, "rows": rows}, path)
    print(f"table written to {path}")
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
