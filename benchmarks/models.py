"""Milliseconds per training step of minilm's models, beside PyTorch on the same machine.

One step = forward + backward + clip + AdamW, float32, 2 threads:
    GPT  B=12 T=64,  4 layers, 4 heads, 128 dim, vocab 65
    GPT  B=32 T=128, 6 layers, 6 heads, 384 dim, vocab 65
    LSTMLM B=32 T=64, embedding 256, 2 x 256 hidden, vocab 65
PyTorch runs ../shared/bench/torch_ref.py in the same invocation (when an
interpreter with torch is found). For the phase split, peak memory and a
per-op profile, use benchmarks/compare_torch.py, which this script shares its
measurement code with.

    python benchmarks/models.py [--repeats 3] [--torch-python PATH]
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare_torch as ct  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--torch-python")
    args = p.parse_args()
    torch_python = ct.find_torch_python(args.torch_python)
    if torch_python is None or not os.path.exists(ct.TORCH_REF):
        print("PyTorch reference not available: only minilm is timed. To compare, install torch in a venv:\n"
              "    python -m venv V && V/bin/pip install torch==2.13.0 numpy\n"
              "and pass --torch-python V/bin/python (or use /tmp/torchvenv/bin/python).")
        torch_python = None
    print(f"{'model':<12}{'minilm ms':>11}{'pytorch ms':>12}{'ratio':>8}")
    for name in ct.MODELS:
        run = ct.settings_for(name, argparse.Namespace(warmup=None, steps=None, threads=2, profile=False,
                                                       torch_python=torch_python))
        ours = [ct.minilm_run(name, run)["ms_total"] for _ in range(args.repeats)]
        theirs = [ct.torch_run(name, run)["ms_total"] for _ in range(args.repeats)] if torch_python else []
        ratio = f"{ct.statistics.median(ours) / ct.statistics.median(theirs):>8.2f}" if theirs else ""
        torch_ms = f"{ct.statistics.median(theirs):>12.1f}" if theirs else f"{'n/a':>12}"
        print(f"{name:<12}{ct.statistics.median(ours):>11.1f}{torch_ms}{ratio}")


if __name__ == "__main__":
    main()
