"""GRPO after SFT: held-out exact match before and after `minilm rl`, three seeds, and batched sampling's speed.

    minilm sft --init-from out --task arithmetic,spelling,shakespeare --max_iters 3000 --out_dir out-sft3k
    python benchmarks/rl.py --sft out-sft3k --max-iters 800 -- --temperature 0.7 --eval_interval 200 --eval-items 50
    python benchmarks/rl.py --sft out-sft3k --task spelling --max-iters 150      # count and spell
    python benchmarks/rl.py --sft out-sft/ --seeds 1 --max-iters 40 --items 50    a quick look

--sft is a `minilm sft` run on the bundled tasks. The chat issue's full SFT (7000 steps,
benchmarks/sft.py) already answers 3-digit addition and subtraction at 96-100%, so these
measurements start from the same command run for 3000 steps (`out-sft3k`), where
3-digit subtraction is near 50% and counting and spelling below 70%. For each seed:
`minilm rl --init-from SFT --task TASK --kinds KINDS --no-tools` for --max-iters steps
(timed: the issue's budget is 10 minutes on 2 CPU cores), then greedy exact match on test
items of each --measure kind (chat/task_accuracy.py, what `minilm eval --task TASK
--no-tools` prints). The default kinds of arithmetic are add3 and sub3 (3-digit addition
and subtraction, worked in columns); of another task, all of its kinds. --tools keeps the
calculator on in RL and in evaluation (--kinds mul2: does RL teach the model to call it and
copy its result?). --kinds sub3 --measure add3,sub3 trains on one kind and measures both (RL
on subtraction alone costs addition: RESULTS.md). Seeds can run side by side, one invocation
each with its --seeds and the same --work; then --evaluate-only --seeds 1 2 3 prints their
table and curves.

Prints one table (rows: kinds; columns: SFT, then each seed after RL, with its minutes),
saves the reward curves of the seeds to --picture (docs/rl_reward.png), and measures
sampling (--speed-prompts 0: not): completion tokens/s of G replies to a prompt sampled together
(chat/group_sampling.py, one Decoding of G rows) and of the same number of replies
sampled one at a time (chat/reply.py's generate_reply), alternately, on the same prompts.
Timings depend on the machine's load; the ratio is measured in one run.
"""
import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from minilm.chat import generate_reply, task_accuracy  # noqa: E402
from minilm.chat.group_sampling import sample_group  # noqa: E402
from minilm.cli import main as minilm  # noqa: E402
from minilm.data.tasks import get_task  # noqa: E402
from minilm.train.trained import load_trained  # noqa: E402
from minilm.viz.figures import new_figure, save_figure  # noqa: E402


def accuracy_by_kind(run, task, items, tools):
    model, tokenizer, _, _ = load_trained(run)
    return task_accuracy(model, tokenizer, task, items, tools=tools)


def sampling_speed(run, task, groups, prompts, repeats):
    """{G: (batched tokens/s, one-at-a-time tokens/s)}: completion tokens sampled per second, temperature 1."""
    model, tokenizer, _, _ = load_trained(run)
    items = task.items("val", prompts, seed=5)
    out = {}
    for G in groups:
        batched, single = [0, 0.0], [0, 0.0]                    # [tokens, seconds]
        for r in range(repeats):                                # alternately, so both see the same load
            for item in items:
                start = time.perf_counter()
                group = sample_group(model, tokenizer, task.prompt(item), G, 1.0, None, np.random.default_rng(r),
                                     tools=False)
                batched[1] += time.perf_counter() - start
                batched[0] += int(group.learned.sum())
                start = time.perf_counter()
                for g in range(G):
                    reply = generate_reply(model, tokenizer, task.prompt(item), temperature=1.0, seed=r * G + g,
                                           tools=False)
                    single[0] += len(reply.ids)
                single[1] += time.perf_counter() - start
        out[G] = (batched[0] / batched[1], single[0] / single[1])
    return out


def draw_curves(runs, path, window=10):
    """Mean reward of the sampled replies (smoothed) and greedy val accuracy, one line per seed."""
    figure = new_figure(11, 4.2)
    reward_ax, accuracy_ax = figure.subplots(1, 2)
    for seed, run in runs.items():
        with open(os.path.join(run, "log.jsonl")) as f:
            records = [json.loads(line) for line in f]
        steps = [(r["step"], r["reward"]) for r in records if "reward" in r]
        x, y = np.array(steps).T
        w = min(window, len(y))
        line, = reward_ax.plot(x, y, alpha=0.25)
        reward_ax.plot(x[w - 1:], np.convolve(y, np.ones(w) / w, mode="valid"), color=line.get_color(),
                       label=f"seed {seed} (mean of {w} steps)")
        evals = [(r["step"], r["val_accuracy"]) for r in records if "val_accuracy" in r]
        accuracy_ax.plot(*np.array(evals).T, "o-", color=line.get_color(), label=f"seed {seed}")
    reward_ax.set(title="GRPO: mean reward of the sampled replies", xlabel="step", ylabel="reward")
    accuracy_ax.set(title="greedy exact match on val items", xlabel="step", ylabel="accuracy", ylim=(-0.02, 1.02))
    reward_ax.legend()
    accuracy_ax.legend()
    save_figure(figure, path)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sft", default="out-sft", help="a `minilm sft` run on the bundled tasks")
    p.add_argument("--task", default="arithmetic")
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--kinds", help="the task's kinds to train and measure (default: add3,sub3 of arithmetic, "
                                   "every kind of another task)")
    p.add_argument("--tools", action="store_true", help="the calculator on, in RL and evaluation (e.g. --kinds mul2)")
    p.add_argument("--max-iters", type=int, default=300)
    p.add_argument("--items", type=int, default=200, help="test items per kind")
    p.add_argument("--picture", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs",
                                                      "rl_reward.png"))
    p.add_argument("--speed-prompts", type=int, default=4)
    p.add_argument("--speed-repeats", type=int, default=2)
    p.add_argument("--measure", help="the kinds measured on test items (default: --kinds); e.g. add3,sub3 "
                                     "after RL on sub3 alone")
    p.add_argument("--work", default=None, help="where the RL runs go (default: a temporary folder)")
    p.add_argument("--evaluate-only", action="store_true",
                   help="train nothing: measure the seed runs already in --work (e.g. seeds run side by side)")
    p.add_argument("rl_flags", nargs="*", help="more `minilm rl` flags, after --")
    args = p.parse_args()
    if args.evaluate_only and not args.work:
        sys.exit("--evaluate-only measures the runs in --work: give --work")
    work = args.work or tempfile.mkdtemp(prefix="minilm-rl-bench-")
    task = get_task(args.task)
    args.kinds = args.kinds or ("add3,sub3" if args.task == "arithmetic" else ",".join(task.kinds))
    measured = tuple((args.measure or args.kinds).split(","))
    test = task.items("test", args.items * len(measured), seed=0, kinds=measured)

    if args.speed_prompts:
        speed = sampling_speed(args.sft, task, (8, 16), args.speed_prompts, args.speed_repeats)
        print("| G | batched tokens/s | one at a time tokens/s | speed-up |\n|---|---|---|---|")
        for G, (batched, single) in speed.items():
            print(f"| {G} | {batched:,.0f} | {single:,.0f} | {batched / single:.1f}x |", flush=True)

    columns = {"SFT": accuracy_by_kind(args.sft, task, test, args.tools)}
    print(f"SFT: {columns['SFT']}", flush=True)
    runs = {}
    for seed in args.seeds:
        out = runs[seed] = os.path.join(work, f"seed{seed}")
        timing = os.path.join(work, f"seed{seed}.minutes")
        if not args.evaluate_only:
            start = time.perf_counter()
            status = minilm(["rl", "--init-from", args.sft, "--task", args.task, "--kinds", args.kinds,
                             *([] if args.tools else ["--no-tools"]), "--out_dir", out, "--seed", str(seed),
                             "--max_iters", str(args.max_iters),
                             "--progress", "false", "--overwrite", *args.rl_flags])
            if status != 0:
                sys.exit(f"minilm rl failed (status {status})")
            with open(timing, "w") as f:
                f.write(f"{(time.perf_counter() - start) / 60:.1f}")
        with open(timing) as f:
            minutes = f.read()
        columns[f"RL seed {seed} ({minutes} min)"] = accuracy_by_kind(out, task, test, args.tools)
        print(f"seed {seed}: RL in {minutes} min: {columns[list(columns)[-1]]}", flush=True)
    draw_curves(runs, args.picture)

    print(f"\n| kind | {' | '.join(columns)} | RL - SFT (mean of seeds) |\n" + "|---" * (len(columns) + 2) + "|")
    for kind in (*measured, "all"):
        cells = " | ".join(f"{column.get(kind, 0):.3f}" for column in columns.values())
        gain = np.mean([column.get(kind, 0) for name, column in columns.items() if name != "SFT"]) - columns["SFT"][kind]
        print(f"| {kind} | {cells} | {gain:+.3f} |")
    print(f"\n{args.items} test items per kind, greedy, calculator {'on' if args.tools else 'off'}; RL runs in {work}; reward curves in {args.picture}")


if __name__ == "__main__":
    main()
