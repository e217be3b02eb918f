"""Exact-match accuracy of the default pre-trained run, prompted, and after SFT on the bundled tasks.

    python benchmarks/sft.py --base out/                      the default `minilm train` run, three seeds
    python benchmarks/sft.py --base out/ --seeds 1 --max-iters 300 --items 50    a quick look

For each seed: `minilm sft --init-from BASE --task arithmetic,spelling,shakespeare`
(the command's defaults, --max-iters steps), timed, then greedy exact match on held-out
test items of every kind (chat/task_accuracy.py), the calculator on; mul2x is the same
multiplications with the system message "Answer without the calculator." (no tool).

The base model has no chat format, so it is prompted with plain text, three solved
examples of the same kind then the question, its greedy continuation up to the line's
end being the reply. A character tokenizer built on Shakespeare lacks most digits
(only "3" occurs in the corpus), so it cannot even read most arithmetic questions:
those items count as wrong, and the table says how many could be encoded.

Prints one table: rows are kinds, columns the base model and each seed after SFT, with
the issue's targets. Timings depend on the machine's load: the SFT wall time is printed.
"""
import argparse
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from minilm.chat import task_accuracy  # noqa: E402
from minilm.cli import main as minilm  # noqa: E402
from minilm.data.tasks import get_task  # noqa: E402
from minilm.train.trained import load_trained  # noqa: E402

TASKS = ("arithmetic", "spelling", "shakespeare")
TARGETS = {"add2": 0.95, "add3": 0.80, "sub3": 0.80, "mul2": 0.90, "count": 0.80}


def base_accuracy(model, tokenizer, task, items, shots):
    """Plain-text few-shot prompting of a base model: (accuracy by kind, items it could encode)."""
    right, count, encodable = {}, {}, 0
    for item in items:
        examples = "".join(f"{s.prompt}\n{s.reply}\n\n" for s in shots[item.kind])
        count[item.kind] = count.get(item.kind, 0) + 1
        try:
            ids = tokenizer.encode(examples + item.prompt + "\n")
        except ValueError:                                   # a character the vocabulary lacks
            continue
        encodable += 1
        window = ids[-model.config.block_size:]
        out = model.generate(np.asarray([window]), 16, temperature=0, vocab_size=tokenizer.vocab_size)
        reply = tokenizer.decode(out[0, len(window):].tolist()).split("\n")[0]
        right[item.kind] = right.get(item.kind, 0) + task.reward(item, reply)
    return {kind: right.get(kind, 0) / count[kind] for kind in count}, encodable


def evaluate_run(out, tasks, test):
    """{kind: exact-match accuracy} of a fine-tuned run on the test items, the calculator on."""
    model, tokenizer, _, _ = load_trained(out)
    scores = {}
    for name, task in tasks.items():
        scores.update({k: v for k, v in task_accuracy(model, tokenizer, task, test[name]).items() if k != "all"})
    return scores


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base", default="out", help="the default pre-trained run (`minilm train`)")
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--max-iters", type=int, default=7000, help="SFT steps a seed (7000: under 10 min on 2 quiet cores)")
    p.add_argument("--items", type=int, default=200, help="test items per kind")
    p.add_argument("--work", default=None, help="where the SFT runs go (default: a temporary folder)")
    p.add_argument("--evaluate-only", action="store_true",
                   help="train nothing: evaluate the seed runs already in --work (e.g. after stopping this script)")
    p.add_argument("sft_flags", nargs="*", help="more `minilm sft` flags, after --")
    args = p.parse_args()
    work = args.work or tempfile.mkdtemp(prefix="minilm-sft-bench-")
    tasks = {name: get_task(name) for name in TASKS}
    # (the short lines of the plays' 8 main speakers are about 1,000, 109 of them test lines)
    test = {name: task.items("test", min(args.items, 100 if name == "shakespeare" else args.items) * len(task.kinds),
                             seed=0) for name, task in tasks.items()}

    columns, kinds = {}, [kind for task in tasks.values() for kind in task.kinds]
    model, tokenizer, _, _ = load_trained(args.base)
    base, encodable = {}, 0
    for name, task in tasks.items():
        shots = {kind: task.items("train", 3, seed=9, kinds=(kind,)) for kind in task.kinds}
        scores, n = base_accuracy(model, tokenizer, task, test[name], shots)
        base.update(scores)
        encodable += n
    columns["base (prompted)"] = base
    print(f"base model: {encodable} of {sum(map(len, test.values()))} test prompts encodable", flush=True)

    for seed in args.seeds:
        out = os.path.join(work, f"seed{seed}")
        if args.evaluate_only:
            columns[f"seed {seed}"] = evaluate_run(out, tasks, test)
            continue
        start = time.perf_counter()
        status = minilm(["sft", "--init-from", args.base, "--task", ",".join(TASKS), "--out_dir", out,
                         "--seed", str(seed), "--max_iters", str(args.max_iters), "--progress", "false",
                         "--eval-items", "20", "--eval_interval", str(args.max_iters), "--overwrite", *args.sft_flags])
        minutes = (time.perf_counter() - start) / 60
        if status != 0:
            sys.exit(f"minilm sft failed (status {status})")
        columns[f"seed {seed} ({minutes:.1f} min)"] = evaluate_run(out, tasks, test)
        print(f"seed {seed}: SFT {args.max_iters} steps in {minutes:.1f} min", flush=True)

    header = f"| kind | {' | '.join(columns)} | target |"
    print("\n" + header + "\n" + "|---" * (len(columns) + 2) + "|")
    for kind in kinds:
        cells = " | ".join(f"{column.get(kind, 0):.3f}" for column in columns.values())
        print(f"| {kind} | {cells} | {TARGETS.get(kind, '')} |")
    print(f"\n{args.items} test items per kind; SFT runs in {work}")


if __name__ == "__main__":
    main()
