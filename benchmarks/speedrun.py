"""The speedrun ladder: what each piece of the modern recipe buys the classic run, in wall time to val <= 1.90.

The rungs start from the classic run (`minilm train --preset shakespeare-char`: GPT-2
blocks, AdamW, a cosine schedule) and add one change at a time, each on top of the ones before,
as the modded-nanogpt speedrun records list theirs. Every rung is a whole
`python -m minilm train` in a fresh folder (benchmarks/train_to_target.py runs it
and follows its log); for each it prints the wall time to the first evaluation
at val <= 1.90, that time over the classic run's of the same round, the val loss
of the last evaluation within 60 s and 120 s (and, with --nanogpt, within nanoGPT's
whole run of the same round: val@nanoGPT), the final val loss, the whole run's
time, its peak memory, and the steps to target (at the run's evaluations). A round
runs every rung once, alternately forward and backward, so a machine that slows
down in the middle of a round slows every rung alike; --seeds rounds use seeds
1337, 1338, ... and the table gives medians.

With --nanogpt PATH (a checkout of karpathy/nanoGPT with its shakespeare_char data
prepared, see train_to_target.py) nanoGPT's own train.py with its README CPU flags
is one more rung of every round, run by --torch-python (its seed is always 1337).
--stop-at-target ends a minilm run once it reached the target (and the budgets
passed): the ladder's runs cost a fraction of a whole run each.

    python benchmarks/speedrun.py [--seeds 3] [--rungs classic,speedrun] [--nanogpt PATH --torch-python PATH]
    python benchmarks/speedrun.py --list          # the rungs and their flags
"""
import argparse
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare_torch as ct  # noqa: E402
import train_to_target as tt  # noqa: E402

# (name, flags added to the rung before it, or a --preset the rung starts from); "speedrun" is the
# preset of `minilm train` without flags. ReLU^2 and the rungs after it bought no steps once QK-norm was on
LADDER = [
    ("classic", ["--preset", "shakespeare-char"]),
    ("modern", ["--preset", "shakespeare-modern"]),
    ("+muon", ["--optimizer", "muon"]),
    ("+qk_norm", ["--qk_norm"]),
    ("+800_steps", ["--max_iters", "800", "--lr_decay_iters", "800", "--warmup_iters", "30", "--eval_interval", "50"]),
    ("+3_layers", ["--n_layer", "3"]),
    ("+relu2", ["--mlp", "relu2", "--intermediate_size", "512"]),
    ("+zero_init", ["--zero_init_proj"]),
    ("+untied", ["--no-tie_embeddings"]),
    ("+softcap", ["--logit_softcap", "15"]),
    ("+value_res", ["--value_residual"]),
    ("+trapezoid", ["--lr_schedule", "trapezoid"]),
]
PRESETS = {"speedrun": ["--preset", "shakespeare-speedrun"]}      # = the +3_layers rung


def rung_flags():
    """{name: the whole flag list of that rung}: each rung's flags are all the flags up to it (from its preset)."""
    flags, out = [], {}
    for name, added in LADDER:
        flags = added if added[:1] == ["--preset"] else flags + added
        out[name] = flags
    return {**out, **PRESETS}


def steps_to(evals, target):
    """The step of the first evaluation at or below target (None if none was)."""
    return next((e["step"] for e in evals if e["val_loss"] <= target), None)


def last_within(evals, seconds):
    """The val loss of the last evaluation logged within `seconds` (None if none was)."""
    inside = [e["val_loss"] for e in evals if e["seconds"] <= seconds]
    return inside[-1] if inside else None


def median_or_none(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def run_round(names, flags, seed, target, nanogpt, torch_python, backwards, stop_after=None):
    """One run of each rung (and nanoGPT), in order or reversed: {name: (reached, total, evals, peak MB)}."""
    results = {}
    for name in reversed(names) if backwards else names:
        if name == "nanogpt":
            results[name] = tt.run_nanogpt(nanogpt, torch_python, target)     # (its seed is fixed: 1337)
        else:
            results[name] = tt.run_training(target, flags[name] + ["--seed", str(seed)], stop_after)
        reached = results[name][0]
        evals = results[name][2]
        print(f"  seed {seed} {name:<12} to target {reached or float('nan'):7.1f} s (step {steps_to(evals, target)}), "
              f"whole {results[name][1]:7.1f} s (step {evals[-1]['step']}), final val {evals[-1]['val_loss']:.4f}",
              flush=True)
    return results


def table(rounds, names, target, budgets):
    base = next((name for name in ("classic", "nanogpt") if name in names), names[0])
    head = (f"{'rung':<12}{'to %.2f s' % target:>11}{'x ' + base:>11}{'steps':>7}"
            + "".join(f"{'val@%ds' % b:>10}" for b in budgets) + (f"{'val@nanoGPT':>12}" if "nanogpt" in names else "")
            + f"{'final val':>11}{'whole s':>9}{'peak MB':>9}")
    print(head)
    print("-" * len(head))
    for name in names:
        runs = [r[name] for r in rounds]
        ratios = [r[name][0] / r[base][0] if r[name][0] and r[base][0] else None for r in rounds]
        reached, ratio = median_or_none([run[0] for run in runs]), median_or_none(ratios)
        steps = median_or_none([steps_to(run[2], target) for run in runs])
        cells = [f"{reached:>11.1f}" if reached else f"{'never':>11}", f"{ratio:>11.2f}" if ratio else f"{'-':>11}",
                 f"{steps:>7.0f}" if steps else f"{'-':>7}"]
        for budget in budgets:
            val = median_or_none([last_within(run[2], budget) for run in runs])
            cells.append(f"{val:>10.4f}" if val else f"{'-':>10}")
        if "nanogpt" in names:              # the val loss within nanoGPT's whole run of the same round
            val = median_or_none([last_within(r[name][2], r["nanogpt"][1]) for r in rounds])
            cells.append(f"{val:>12.4f}" if val else f"{'-':>12}")
        cells += [f"{median_or_none([run[2][-1]['val_loss'] for run in runs]):>11.4f}",
                  f"{median_or_none([run[1] for run in runs]):>9.1f}", f"{max(run[3] for run in runs):>9.0f}"]
        print(f"{name:<12}" + "".join(cells))


def main():
    flags = rung_flags()
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--target", type=float, default=1.90)
    p.add_argument("--budgets", type=int, nargs="+", default=[60, 120], help="seconds: the val loss by then")
    p.add_argument("--seeds", type=int, default=1, help="rounds, each with its own seed")
    p.add_argument("--rungs", default=",".join(flags), help=f"a comma-separated subset of {', '.join(flags)}")
    p.add_argument("--nanogpt", help="a nanoGPT checkout with prepared shakespeare_char data")
    p.add_argument("--torch-python", help="an interpreter with torch installed (for --nanogpt)")
    p.add_argument("--stop-at-target", action="store_true",
                   help="stop a minilm run once it reached the target and the largest budget passed (then "
                        "'final val' and 'whole s' are those of the stop)")
    p.add_argument("--eval-interval", type=int,
                   help="evaluate every minilm run this often (finer steps to target; default: each run's own)")
    p.add_argument("--json", help="also write every run's evaluations (with their seconds) to this file")
    p.add_argument("--list", action="store_true", help="print the rungs and their flags, and stop")
    args = p.parse_args()
    if args.list:
        for name, rung in flags.items():
            print(f"{name:<12} python -m minilm train {' '.join(rung)}")
        return
    if args.eval_interval:
        flags = {name: rung + ["--eval_interval", str(args.eval_interval)] for name, rung in flags.items()}
    names = args.rungs.split(",")
    unknown = [n for n in names if n not in flags]
    if unknown:
        raise SystemExit(f"unknown rung(s) {unknown}; rungs: {', '.join(flags)}")
    torch_python = ct.find_torch_python(args.torch_python) if args.nanogpt else None
    if args.nanogpt and not torch_python:
        raise SystemExit("--nanogpt needs an interpreter with torch: pass --torch-python")
    if args.nanogpt:
        names.append("nanogpt")
    stop_after = max(args.budgets) if args.stop_at_target else None
    rounds = [run_round(names, flags, 1337 + i, args.target, args.nanogpt, torch_python, i % 2 == 1, stop_after)
              for i in range(args.seeds)]
    if args.json:
        with open(args.json, "w") as f:
            json.dump([{name: {"reached": r[0], "total": r[1], "evals": r[2], "peak_mb": r[3]}
                        for name, r in one.items()} for one in rounds], f)
    base = next((name for name in ("classic", "nanogpt") if name in names), names[0])
    print(f"\nmedians of {args.seeds} round(s), rungs alternately forward and backward; 'x {base}': the time to "
          f"target over {base}'s of the same round\n")
    table(rounds, names, args.target, args.budgets)


if __name__ == "__main__":
    main()
