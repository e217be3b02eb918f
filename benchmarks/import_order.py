"""Step time with NumPy imported before minilm, and after: the speed must not depend on it.

Each model of compare_torch.py is timed in fresh processes, alternating
`import numpy; import minilm` (what most scripts do) with `import minilm`
first; medians over the repeats, and the ratio numpy-first / minilm-first,
which should be 1 within this machine's noise.

    python benchmarks/import_order.py [--models gpt-baby lstm] [--repeats 3]

Why the order mattered, and the two designs that remove it (minilm/fast/threads.py):

- Keep BLAS's threads and shorten their spin. OpenBLAS keeps its threads
  spinning ~0.1 s after every product; minilm's element-wise helper thread then
  loses the second core to them. The spin time (OPENBLAS_THREAD_TIMEOUT) is read
  when NumPy loads OpenBLAS, so setting it in `import minilm` only works when
  minilm comes first. After the load it can only be changed through OpenBLAS
  internals (re-read the environment with `openblas_read_env`, then restart the
  threads with `blas_thread_shutdown_`): OpenBLAS-only, and two pools still
  share the cores.
- One owner (what minilm does): BLAS on one thread through threadpoolctl,
  which works after the load and for OpenBLAS, MKL and BLIS alike, and minilm's
  own threads cut the products by rows, beside the element-wise work they
  already shared. One handover per product costs ~10-40 us, so only products
  of a few million multiply-adds are cut.
"""
import argparse
import statistics

import compare_torch as ct


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--models", nargs="+", choices=list(ct.MODELS), default=["gpt-baby", "lstm"])
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    header = f"{'model':<11}{'numpy first ms':>16}{'minilm first ms':>17}{'ratio':>8}"
    print(header)
    print("-" * len(header))
    for name in args.models:
        run = ct.settings_for(name, argparse.Namespace(warmup=None, steps=None, profile=False))
        times = {"numpy": [], "minilm": []}
        for i in range(args.repeats):
            for first in ("numpy", "minilm") if i % 2 == 0 else ("minilm", "numpy"):
                times[first].append(ct.minilm_run(name, run, first)["ms_total"])
        numpy_ms, minilm_ms = statistics.median(times["numpy"]), statistics.median(times["minilm"])
        print(f"{name:<11}{numpy_ms:>16.1f}{minilm_ms:>17.1f}{numpy_ms / minilm_ms:>8.2f}")


if __name__ == "__main__":
    main()
