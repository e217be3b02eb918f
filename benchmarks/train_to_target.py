"""Wall time of the default `python -m minilm train` to a target validation loss.

Runs the default preset (a character GPT, 4 layers x 128 dim, B=12 T=64, 2,000
steps on the bundled Shakespeare) in a fresh temporary folder, exactly as a user
would, and follows its log: the time of the first evaluation at or below the
target (1.90 by default), the final validation loss and the total wall time
(data preparation, evaluations and the closing sample included).

With --nanogpt PATH (a checkout of karpathy/nanoGPT whose shakespeare_char data
is prepared), nanoGPT's own train.py runs its README CPU configuration, the same
model and batch for 2,000 iterations, alternating with minilm's run (--repeats
each), under the interpreter that has torch; its command is printed. Without it,
with --torch-python, PyTorch's median step time for the same model (the
reference in ../shared/bench/torch_ref.py) is measured instead, and 2,000 of
those steps are printed: the floor a PyTorch loop of the same run cannot go
under, before any evaluation.

    python benchmarks/train_to_target.py [--target 1.90] [--torch-python PATH] [--nanogpt PATH] [-- train flags]

nanoGPT's data from minilm's bundled copy of the corpus (its prepare.py would
download it, and it imports requests only for that):
    cp minilm/data/tinyshakespeare.txt PATH/data/shakespeare_char/input.txt
    /tmp/torchvenv/bin/python PATH/data/shakespeare_char/prepare.py
"""
import argparse
import json
import os
import re
import statistics
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


def peak_rss_mb(pid, so_far=0.0):
    """The larger of so_far and the process's peak resident memory (VmHWM) in MB; so_far once it has exited."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return max(so_far, int(line.split()[1]) / 1024)
    except OSError:
        pass
    return so_far


def run_training(target, extra, stop_after=None):
    """Train in a temporary folder; returns (seconds to target or None, total seconds, evaluations, peak MB).

    Each evaluation record (step, val_loss, ...) gets "seconds": when it appeared in the log.
    stop_after: seconds; once the target is reached and that much time has passed, the run is stopped
    (SIGTERM: it saves a checkpoint and exits 143), so the total is then the time until the stop.
    """
    with tempfile.TemporaryDirectory() as tmp:
        out_dir = os.path.join(tmp, "out")
        log_path = os.path.join(out_dir, "log.jsonl")
        cmd = [sys.executable, "-m", "minilm", "train", "--out_dir", out_dir, "--progress", "false"] + extra
        errors = open(os.path.join(tmp, "stderr.txt"), "w+")   # a file: a full pipe could stall the run
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=tmp, stdout=subprocess.DEVNULL, stderr=errors)
        evals, offset, reached, peak = [], 0, None, 0.0
        while True:
            running = proc.poll() is None
            peak = peak_rss_mb(proc.pid, peak)
            records, offset = new_evaluations(log_path, offset)
            now = time.perf_counter() - start
            evals += [{**r, "seconds": now} for r in records]
            if reached is None and any(r["val_loss"] <= target for r in records):
                reached = now
            if running and stop_after is not None and reached is not None and now >= stop_after:
                proc.terminate()
                proc.wait()
                running = False
            if not running:
                break
            time.sleep(0.1)
        total = time.perf_counter() - start
        with errors:
            errors.seek(0)
            if proc.returncode not in (0, -15, 143):
                raise RuntimeError(f"training failed:\n{errors.read()[-2000:]}")
        return reached, total, evals, peak


# nanoGPT README's "I only have a macbook" run, written to a temporary out_dir
NANOGPT_FLAGS = ["config/train_shakespeare_char.py", "--device=cpu", "--compile=False", "--eval_iters=20",
                 "--log_interval=1", "--block_size=64", "--batch_size=12", "--n_layer=4", "--n_head=4",
                 "--n_embd=128", "--max_iters=2000", "--lr_decay_iters=2000", "--dropout=0.0"]
NANOGPT_EVAL = re.compile(r"step (\d+): train loss [\d.]+, val loss ([\d.]+)")


def run_nanogpt(path, torch_python, target, extra_flags=()):
    """nanoGPT's train.py in its checkout; returns (seconds to target or None, total seconds, evaluations as
    {"step", "val_loss", "seconds"}, peak MB)."""
    if not os.path.exists(os.path.join(path, "data", "shakespeare_char", "train.bin")):
        raise SystemExit(f"no prepared data in {path}/data/shakespeare_char: see this script's docstring")
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [torch_python, "-u", "train.py"] + NANOGPT_FLAGS + list(extra_flags) + [f"--out_dir={tmp}"]
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        reached, evals, tail, peak = None, [], [], 0.0
        for line in proc.stdout:                         # (nanoGPT logs every step: the memory is read often)
            tail = (tail + [line])[-20:]
            peak = peak_rss_mb(proc.pid, peak)
            found = NANOGPT_EVAL.search(line)
            if found:
                evals.append({"step": int(found[1]), "val_loss": float(found[2]),
                              "seconds": time.perf_counter() - start})
                if reached is None and evals[-1]["val_loss"] <= target:
                    reached = evals[-1]["seconds"]
        proc.wait()
        total = time.perf_counter() - start
        if proc.returncode != 0 or not evals:
            raise RuntimeError(f"nanoGPT failed:\n{''.join(tail)}")
        return reached, total, evals, peak


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--target", type=float, default=1.90)
    p.add_argument("--torch-python", help="an interpreter with torch installed")
    p.add_argument("--nanogpt", help="a nanoGPT checkout with prepared shakespeare_char data")
    p.add_argument("--repeats", type=int, default=1, help="runs of each, alternating (with --nanogpt)")
    p.add_argument("extra", nargs="*", help="more `minilm train` flags, after --")
    args = p.parse_args()
    torch_python = ct.find_torch_python(args.torch_python)
    if args.nanogpt and not torch_python:
        raise SystemExit("--nanogpt needs an interpreter with torch: pass --torch-python")
    if args.nanogpt:
        print("nanoGPT:", " ".join(["cd", args.nanogpt, "&&", torch_python, "train.py"] + NANOGPT_FLAGS), "\n")
    runs = {"minilm": [], "nanogpt": []}
    for i in range(args.repeats):
        order = ["minilm", "nanogpt"] if i % 2 == 0 else ["nanogpt", "minilm"]
        for who in order if args.nanogpt else ["minilm"]:
            run = (run_training(args.target, args.extra) if who == "minilm"
                   else run_nanogpt(args.nanogpt, torch_python, args.target))
            reached, total, evals, _ = run
            runs[who].append((reached, total, (evals[-1]["step"], evals[-1]["val_loss"])))
    print(f"{'run (median of %d)' % args.repeats:<40}{'seconds':>10}")
    print("-" * 50)
    for who in [w for w in runs if runs[w]]:
        reached = [r[0] for r in runs[who]]
        reached_text = f"{statistics.median(reached):>10.1f}" if None not in reached else f"{'never':>10}"
        print(f"{f'{who}: first val loss <= {args.target:.2f}':<40}{reached_text}")
        print(f"{f'{who}: whole run':<40}{statistics.median(r[1] for r in runs[who]):>10.1f}")
        step, val = runs[who][-1][2]
        print(f"{f'{who}: final val loss (step {step})':<40}{val:>10.4f}")
        if args.repeats > 1:
            each = " ".join(f"{r[0] or float('nan'):.1f}/{r[1]:.1f}" for r in runs[who])
            print(f"{f'{who}: each run (to target/whole)':<40}{each}")
    if torch_python and os.path.exists(ct.TORCH_REF) and not args.nanogpt:
        run = ct.settings_for("gpt-baby", argparse.Namespace(warmup=None, steps=50, threads=2, profile=False,
                                                             torch_python=torch_python))
        ms = ct.torch_run("gpt-baby", run)["ms_total"]
        print(f"{'pytorch: 2,000 steps of %.1f ms' % ms:<40}{2000 * ms / 1e3:>10.1f}")


if __name__ == "__main__":
    main()
