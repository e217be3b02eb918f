"""Before vs after a change: ms per training step and the default run's wall time, in one invocation.

Three variants are timed, alternately (A, B, C, A, B, C, ...), each in a fresh process started from an
empty temporary folder so that only PYTHONPATH decides which minilm is imported:

    before     the tree given by --before (e.g. a checkout of main)
    after      this tree
    reference  this tree with MINILM_REFERENCE=1: the readable reference ops, no fast paths

For each model of benchmarks/compare_torch.py, one step (forward + backward + clip + AdamW) is timed by
compare_torch.time_minilm, the same function compare_torch itself uses; PyTorch's step is timed too,
once per round, when compare_torch finds an interpreter with torch (e.g. /tmp/torchvenv). With --train,
the default run `python -m minilm train` (the README's first command, about a minute on 2 cores) is
timed end to end as well; --max-iters N shortens it for a quick check. The table gives medians over the
rounds: after/before is the speed kept (1.00 = same, above 1 = slower), reference/after the price of
the readable path. Run it on a quiet machine: its absolute speed drifts, alternation cancels the drift.

    python benchmarks/before_after.py --before /tmp/minilm-before --rounds 3 --train
    python benchmarks/before_after.py --before /tmp/minilm-before --rounds 1 --steps 3 --train --max-iters 30
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import compare_torch  # noqa: E402  (its timing function, its models, its PyTorch runner)

AFTER = os.path.dirname(HERE)
VARIANTS = ("before", "after", "reference")

# a child process: time one model with compare_torch's own function, and say which minilm it imported
CHILD = """
import json, sys
sys.path.insert(0, {here!r})
import compare_torch
result = compare_torch.time_minilm(compare_torch.MODELS[{name!r}], {warmup}, {steps}, False)
import minilm
result["file"] = minilm.__file__
print(json.dumps(result))
"""


def environment(variant, trees):
    """The child's environment: PYTHONPATH names the tree to import, MINILM_REFERENCE only for 'reference'."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MINILM_REFERENCE")}
    env["PYTHONPATH"] = trees[variant]
    if variant == "reference":
        env["MINILM_REFERENCE"] = "1"
    return env


def run(cmd, variant, trees, cwd):
    proc = subprocess.run(cmd, env=environment(variant, trees), cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{variant}: {' '.join(cmd[:4])} ... failed (exit {proc.returncode}):\n"
                           f"{proc.stderr[-3000:]}")
    return proc.stdout


def step_ms(name, settings, variant, trees, cwd):
    """Median ms per training step of model `name`, timed in a fresh process of `variant`."""
    code = CHILD.format(here=HERE, name=name, warmup=settings.warmup, steps=settings.steps)
    result = json.loads(run([sys.executable, "-c", code], variant, trees, cwd).strip().splitlines()[-1])
    tree = os.path.realpath(trees[variant])
    if not os.path.realpath(result["file"]).startswith(tree + os.sep):
        raise RuntimeError(f"{variant} imported {result['file']}, not the minilm of {tree}")
    return result["ms_total"]


def train_seconds(args, variant, trees, cwd):
    """Wall time of `python -m minilm train` (the default run, or a shortened one with --max-iters)."""
    out_dir = tempfile.mkdtemp(prefix=f"run-{variant}-", dir=cwd)
    cmd = [sys.executable, "-m", "minilm", "train", "--out_dir", out_dir]
    if args.max_iters:
        warmup = min(100, args.max_iters)                   # the default warmup, capped: config requires <= max_iters
        cmd += ["--max_iters", str(args.max_iters), "--lr_decay_iters", str(args.max_iters),
                "--warmup_iters", str(warmup)]
    t0 = time.perf_counter()
    run(cmd, variant, trees, cwd)
    return time.perf_counter() - t0


def check_imports(trees, cwd):
    """Each variant must import its own tree's minilm (the editable install must not shadow --before)."""
    for variant in VARIANTS:
        file = run([sys.executable, "-c", "import minilm; print(minilm.__file__)"], variant, trees, cwd).strip()
        tree = os.path.realpath(trees[variant])
        if not os.path.realpath(file).startswith(tree + os.sep):
            sys.exit(f"{variant} imports {file}, not the minilm of {tree}")
        print(f"{variant:<10} imports {file}", file=sys.stderr)


def table(rows, torch_ms):
    """The markdown table: per row, the medians and the two ratios."""
    lines = ["| what | before | after | reference | after/before | reference/after | PyTorch |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for label, unit, times in rows:
        med = {v: statistics.median(times[v]) for v in VARIANTS}
        torch = torch_ms.get(label)
        torch_cell = f"{statistics.median(torch):.1f} {unit}" if torch else "-"
        lines.append(f"| {label} | {med['before']:.1f} {unit} | {med['after']:.1f} {unit} | "
                     f"{med['reference']:.1f} {unit} | {med['after'] / med['before']:.3f} | "
                     f"{med['reference'] / med['after']:.2f} | {torch_cell} |")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--before", required=True, help="the source tree to compare against (holds minilm/)")
    p.add_argument("--after", default=AFTER, help="the changed tree (default: this one)")
    p.add_argument("--rounds", type=int, default=3, help="alternations of before, after, reference")
    p.add_argument("--models", nargs="+", choices=list(compare_torch.MODELS),
                   default=["gpt-baby", "gpt-small", "lstm"], help="default: the three PyTorch compares")
    p.add_argument("--warmup", type=int, default=None, help="default: per model, compare_torch.STEPS")
    p.add_argument("--steps", type=int, default=None, help="timed steps per process")
    p.add_argument("--threads", type=int, default=2, help="PyTorch's threads")
    p.add_argument("--no-torch", action="store_true", help="skip PyTorch even when found")
    p.add_argument("--train", action="store_true", help="also time `python -m minilm train`")
    p.add_argument("--max-iters", type=int, default=0, help="shorten that run to N iterations (quick checks)")
    args = p.parse_args()
    trees = {"before": os.path.abspath(args.before), "after": os.path.abspath(args.after)}
    trees["reference"] = trees["after"]

    torch_python = None if args.no_torch else compare_torch.find_torch_python(None)
    if torch_python and not os.path.exists(compare_torch.TORCH_REF):
        torch_python = None
    print(f"PyTorch: {torch_python or 'not found, skipped'}", file=sys.stderr)
    args.torch_python, args.profile = torch_python, False   # the fields compare_torch.torch_run reads

    cwd = tempfile.mkdtemp(prefix="before-after-")
    check_imports(trees, cwd)
    step_times = {name: {v: [] for v in VARIANTS} for name in args.models}
    train_times = {v: [] for v in VARIANTS}
    torch_ms = {}
    t_start = time.perf_counter()
    for r in range(args.rounds):
        for name in args.models:
            settings = compare_torch.settings_for(name, args)
            for variant in VARIANTS:
                step_times[name][variant].append(step_ms(name, settings, variant, trees, cwd))
            if torch_python and "options" not in compare_torch.MODELS[name]:
                torch_ms.setdefault(name, []).append(compare_torch.torch_run(name, settings)["ms_total"])
            print(f"round {r + 1} {name:<10} " + "  ".join(
                f"{v} {step_times[name][v][-1]:.1f}" for v in VARIANTS) + " ms", file=sys.stderr)
        if args.train:
            for variant in VARIANTS:
                train_times[variant].append(train_seconds(args, variant, trees, cwd))
            print(f"round {r + 1} train      " + "  ".join(
                f"{v} {train_times[v][-1]:.1f}" for v in VARIANTS) + " s", file=sys.stderr)

    rows = [(f"{name} step", "ms", step_times[name]) for name in args.models]
    torch_ms = {f"{name} step": times for name, times in torch_ms.items()}
    if args.train:
        iters = f"--max_iters {args.max_iters}" if args.max_iters else "default run"
        rows.append((f"`minilm train` ({iters}) wall", "s", train_times))
    steps = f", steps {args.steps}" if args.steps else ""
    print(f"\nbefore = {trees['before']}, after = {trees['after']}, reference = after with MINILM_REFERENCE=1;"
          f" medians over {args.rounds} rounds{steps}; {time.perf_counter() - t_start:.0f} s in all\n")
    print(table(rows, torch_ms))


if __name__ == "__main__":
    main()
