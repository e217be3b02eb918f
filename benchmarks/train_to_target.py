"""Wall time of the default `python -m minilm train` to a target validation loss.

Runs the default preset (a character GPT, 4 layers x 128 dim, B=12 T=64, 2,000
steps on the bundled Shakespeare) in a fresh temporary folder, exactly as a user
would, and follows its log: the time of the first evaluation at or below the
target (1.90 by default), the final validation loss and the total wall time
(data preparation, evaluations and the closing sample included).

With --torch-python, PyTorch's median step time for the same model (the
reference in ../shared/bench/torch_ref.py) is measured right after, and 2,000 of
those steps are printed beside it: the floor a PyTorch loop of the same run
cannot go under, before any evaluation.

    python benchmarks/train_to_target.py [--target 1.90] [--torch-python PATH] [-- extra train flags]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare_torch as ct  # noqa: E402


def new_evaluations(log_path, offset):
    """Evaluation records (lines with val_loss) written after byte `offset`; returns (records, new offset).

    Only the new bytes are read, so following the log costs the training run next to nothing;
    a line still being written waits for the next call.
    """
    if not os.path.exists(log_path):
        return [], offset
    with open(log_path, "rb") as f:
        f.seek(offset)
        chunk = f.read()
    complete = chunk[:chunk.rfind(b"\n") + 1]
    records = [json.loads(line) for line in complete.splitlines() if b'"val_loss"' in line]
    return records, offset + len(complete)


def run_training(target, extra):
    """Train in a temporary folder; returns (seconds to target or None, total seconds, last evaluation)."""
    with tempfile.TemporaryDirectory() as tmp:
        out_dir = os.path.join(tmp, "out")
        log_path = os.path.join(out_dir, "log.jsonl")
        cmd = [sys.executable, "-m", "minilm", "train", "--out_dir", out_dir, "--progress", "false"] + extra
        errors = open(os.path.join(tmp, "stderr.txt"), "w+")   # a file: a full pipe could stall the run
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=tmp, stdout=subprocess.DEVNULL, stderr=errors)
        evals, offset, reached = [], 0, None
        while True:
            running = proc.poll() is None
            records, offset = new_evaluations(log_path, offset)
            evals += records
            if reached is None and any(r["val_loss"] <= target for r in records):
                reached = time.perf_counter() - start
            if not running:
                break
            time.sleep(0.1)
        total = time.perf_counter() - start
        with errors:
            errors.seek(0)
            if proc.returncode != 0:
                raise RuntimeError(f"training failed:\n{errors.read()[-2000:]}")
        return reached, total, evals[-1]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--target", type=float, default=1.90)
    p.add_argument("--torch-python", help="an interpreter with torch installed")
    p.add_argument("extra", nargs="*", help="more `minilm train` flags, after --")
    args = p.parse_args()
    reached, total, last = run_training(args.target, args.extra)
    print(f"{'run':<40}{'seconds':>10}")
    print("-" * 50)
    reached_text = f"{reached:>10.1f}" if reached is not None else f"{'never':>10}"
    print(f"{f'minilm: first val loss <= {args.target:.2f}':<40}{reached_text}")
    print(f"{'minilm: whole run':<40}{total:>10.1f}")
    print(f"{'minilm: final val loss (step %d)' % last['step']:<40}{last['val_loss']:>10.4f}")
    torch_python = ct.find_torch_python(args.torch_python)
    if torch_python and os.path.exists(ct.TORCH_REF):
        run = ct.settings_for("gpt-baby", argparse.Namespace(warmup=None, steps=50, threads=2, profile=False,
                                                             torch_python=torch_python))
        ms = ct.torch_run("gpt-baby", run)["ms_total"]
        print(f"{'pytorch: 2,000 steps of %.1f ms' % ms:<40}{2000 * ms / 1e3:>10.1f}")


if __name__ == "__main__":
    main()
