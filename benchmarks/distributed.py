"""Data-parallel training over MPI: tokens/s on 1 and 2 processes, all-reduce bandwidth, predicted scaling.

    python benchmarks/distributed.py [--steps 6] [--latency-us 10] [--bandwidth-gbit 10 100]
    python benchmarks/distributed.py --step-ms 5 40    # predict for faster processes (e.g. GPUs)

It starts itself under mpiexec (the mpich wheel's, `pip install -e '.[distributed]'`) with
1 and then 2 processes, each with one BLAS thread and no helper thread (so that 2 processes
use the 2 cores of a small machine and nothing else), and prints:

1. tokens/s of a training step (forward, backward, gradient all-reduce, AdamW) for the
   default GPT (4x128, B=12, T=64) and a 6x384 GPT (B=32, T=128), the global batch fixed
   (2 processes each take half of it), and the share of the 2-process step spent in the
   all-reduce of the gradients;
2. the MPI all-reduce's bandwidth for 1, 10 and 100 MB of float32 between the 2 processes:
   algorithm bandwidth (bytes / time) and bus bandwidth (2 (W-1)/W x bytes / time, the
   bytes each rank actually moves in a ring, comparable across W);
3. the predicted step on W = 8 and 64 processes (one per machine or GPU) connected by a
   network of the given bandwidth, each process keeping the batch measured on one
   (so the global batch grows to W x B: --batch_size W*B), from the 1-process step t1:

       t(W) = t1  +  2 (W - 1) / W * G / bandwidth  +  2 (W - 1) * latency
       tokens/s(W) = W * B * T / t(W),   speed-up(W) = W * t1 / t(W)

   G = the gradient's bytes; the reduction follows backward (no overlap, see
   minilm/distributed.py), so compute and communication add.

Timings on a shared machine are noisy: compare numbers of the same run.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

import minilm
from minilm import autograd, distributed
from minilm.nn.data_parallel import DistributedDataParallel
from minilm.data import TokenDataset
from minilm.models.gpt import GPT, GPTConfig
from minilm.optim import AdamW

MODELS = {
    "GPT 4x128 (default), B=12 T=64": dict(batch=12, block=64, n_layer=4, n_head=4, n_embd=128),
    "GPT 6x384, B=32 T=128": dict(batch=32, block=128, n_layer=6, n_head=6, n_embd=384),
}
SIZES_MB = (1, 10, 100)


# ---------------------------------------------------------------- the measurements, on every rank
def time_training(spec, steps):
    """Seconds per step and per gradient all-reduce, for this job's world size."""
    minilm.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=65, block_size=spec["block"], n_layer=spec["n_layer"],
                          n_head=spec["n_head"], n_embd=spec["n_embd"]))
    ddp = DistributedDataParallel(model)
    optimizer = AdamW(model.parameters(), lr=1e-3)
    data = TokenDataset(np.random.default_rng(0).integers(0, 65, 100_000), spec["block"])
    rng, rows = np.random.default_rng(1), distributed.batch_rows(spec["batch"])
    reduce_seconds = [0.0]

    def timed_average():
        start = time.perf_counter()
        ddp.average_gradients()
        reduce_seconds[0] += time.perf_counter() - start
    if distributed.world_size() > 1:
        ddp.close()
        autograd.post_backward_hooks.append(timed_average)

    def step():
        x, y = data.get_batch(spec["batch"], rng, rows=rows)
        model(x, y)[1].backward()
        optimizer.step()
        optimizer.zero_grad()
    for _ in range(2):                                           # warm up
        step()
    distributed.barrier()
    reduce_seconds[0], start = 0.0, time.perf_counter()
    for _ in range(steps):
        step()
    seconds = (time.perf_counter() - start) / steps
    if timed_average in autograd.post_backward_hooks:
        autograd.post_backward_hooks.remove(timed_average)
    # the slowest rank sets the pace
    seconds, reduce_time = distributed.all_reduce([np.array([seconds, reduce_seconds[0] / steps])], op="max")[0]
    return {"step_s": float(seconds), "reduce_s": float(reduce_time),
            "tokens_per_s": spec["batch"] * spec["block"] / float(seconds),
            "gradient_bytes": sum(p.data.nbytes for p in model.parameters())}


def time_all_reduce(megabytes, repeats):
    buffer = np.ones(megabytes * 2 ** 20 // 4, dtype=np.float32)
    distributed.all_reduce([buffer])
    distributed.barrier()
    start = time.perf_counter()
    for _ in range(repeats):
        distributed.all_reduce([buffer], op="sum")
    seconds = (time.perf_counter() - start) / repeats
    return float(distributed.all_reduce([np.array([seconds])], op="max")[0][0])


def worker(steps):
    distributed.init()
    result = {"models": {name: time_training(spec, steps if spec["n_embd"] < 384 else max(2, steps // 2))
                         for name, spec in MODELS.items()}}
    if distributed.world_size() > 1:
        result["all_reduce_s"] = {mb: time_all_reduce(mb, 20 if mb < 100 else 5) for mb in SIZES_MB}
    if distributed.is_main():
        print("RESULT " + json.dumps(result))


# ---------------------------------------------------------------- the driver: start the jobs, print tables
def run_job(processes, steps):
    from minilm.cli.launcher import find_mpiexec
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "MINILM_THREADS": "1"}
    done = subprocess.run([find_mpiexec(), "-n", str(processes), sys.executable, __file__, "--worker",
                           "--steps", str(steps)], capture_output=True, text=True, env=env, check=True)
    line = next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def predicted_step(t1, gradient_bytes, processes, bandwidth_bytes, latency_s):
    W = processes
    return t1 + 2 * (W - 1) / W * gradient_bytes / bandwidth_bytes + 2 * (W - 1) * latency_s


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, default=6, help="timed steps (half of them for the 6x384 GPT)")
    parser.add_argument("--latency-us", type=float, default=10.0, help="one message's latency on the network")
    parser.add_argument("--bandwidth-gbit", type=float, nargs="+", default=[10.0, 100.0])
    parser.add_argument("--step-ms", type=float, nargs=2, metavar=("SMALL", "LARGE"),
                        help="predict with these 1-process step times (e.g. a GPU's) instead of the measured ones")
    args = parser.parse_args()
    if args.worker:
        return worker(args.steps)
    one, two = run_job(1, args.steps), run_job(2, args.steps)
    print(f"{'model':34} {'1 process tok/s':>16} {'2 processes tok/s':>18} {'speed-up':>9} {'all-reduce share':>17}")
    for name in MODELS:
        a, b = one["models"][name], two["models"][name]
        print(f"{name:34} {a['tokens_per_s']:16,.0f} {b['tokens_per_s']:18,.0f} "
              f"{b['tokens_per_s'] / a['tokens_per_s']:8.2f}x {b['reduce_s'] / b['step_s']:16.1%}")
    print(f"\n{'MPI all-reduce, 2 processes':28} {'time':>10} {'algorithm GB/s':>15} {'bus GB/s':>9}")
    for mb, seconds in two["all_reduce_s"].items():
        size = int(mb) * 2 ** 20
        print(f"{mb + ' MB':28} {seconds * 1e3:8.2f} ms {size / seconds / 1e9:15.2f} {size / seconds / 1e9:9.2f}")
    print("(with 2 processes, 2 (W-1)/W = 1: bus and algorithm bandwidth are equal)")
    print("\npredicted, each of W processes on the batch B above (global batch W x B):\n"
          "  t(W) = t1 + 2 (W-1)/W * G / bandwidth + 2 (W-1) * latency,  speed-up = W * t1 / t(W)\n"
          f"  (t1: the 1-process step {'given by --step-ms' if args.step_ms else 'measured above'}; "
          f"latency {args.latency_us:g} us)")
    print(f"{'model':34} {'G MB':>5} {'network':>10} {'W':>3} {'step ms':>9} {'tokens/s':>10} {'comm share':>11} "
          f"{'speed-up':>9}")
    for name, spec in MODELS.items():
        t1, G = one["models"][name]["step_s"], one["models"][name]["gradient_bytes"]
        if args.step_ms:
            t1 = args.step_ms[list(MODELS).index(name)] / 1e3
        for gbit in args.bandwidth_gbit:
            for W in (8, 64):
                t = predicted_step(t1, G, W, gbit * 1e9 / 8, args.latency_us * 1e-6)
                print(f"{name:34} {G / 2**20:5.1f} {gbit:>5g} Gbit {W:3} {t * 1e3:9.1f} "
                      f"{W * spec['batch'] * spec['block'] / t:10,.0f} {1 - t1 / t:11.1%} {W * t1 / t:8.1f}x")


if __name__ == "__main__":
    main()
