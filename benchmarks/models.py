"""Milliseconds per training step of minilm's models, beside PyTorch on the same machine.

One step = forward + backward + clip + AdamW, float32, 2 threads:
    GPT  B=12 T=64,  4 layers, 4 heads, 128 dim, vocab 65
    GPT  B=32 T=128, 6 layers, 6 heads, 384 dim, vocab 65
    LSTMLM B=32 T=64, embedding 256, 2 x 256 hidden, vocab 65
    gpt-modern: gpt-baby with the shakespeare-modern preset's blocks (rope, RMSNorm, SwiGLU
                I = 384, 2 key/value heads of 4, no biases): about the same parameters, minilm only
PyTorch runs ../shared/bench/torch_ref.py in the same invocation (when an
interpreter with torch is found). For the phase split, peak memory and a
per-op profile, use benchmarks/compare_torch.py, which this script shares its
measurement code with.

With --wall SECONDS it then trains `minilm train --preset shakespeare-char` and
`--preset shakespeare-modern` for the same wall time each (the learning-rate
schedule stretched to end at SECONDS) and prints the validation loss each reaches:
which blocks learn more per second. The machine's speed drifts: compare the two
presets of one invocation, alternated with --rounds.

    python benchmarks/models.py [--repeats 3] [--models gpt-baby ...] [--torch-python PATH] [--wall 180 [--rounds 2]] [--skip-table]
"""
import argparse
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare_torch as ct  # noqa: E402

PRESETS = ("shakespeare-char", "shakespeare-modern")


def time_models(args, torch_python):
    print(f"{'model':<12}{'minilm ms':>11}{'pytorch ms':>12}{'ratio':>8}")
    medians = {}
    for name in args.models:
        run = ct.settings_for(name, argparse.Namespace(warmup=None, steps=None, threads=2, profile=False,
                                                       torch_python=torch_python))
        ours, theirs = [], []
        for _ in range(args.repeats):
            ours.append(ct.minilm_run(name, run)["ms_total"])
            if name == "gpt-baby":                                      # alternate with its modern twin
                ours_modern = medians.setdefault("gpt-modern", [])
                ours_modern.append(ct.minilm_run("gpt-modern", run)["ms_total"])
            if torch_python:
                theirs.append(ct.torch_run(name, run)["ms_total"])
        ratio = f"{statistics.median(ours) / statistics.median(theirs):>8.2f}" if theirs else ""
        torch_ms = f"{statistics.median(theirs):>12.1f}" if theirs else f"{'n/a':>12}"
        print(f"{name:<12}{statistics.median(ours):>11.1f}{torch_ms}{ratio}")
        medians[name] = ours
    if "gpt-baby" not in args.models:
        return
    modern, baby = statistics.median(medians["gpt-modern"]), statistics.median(medians["gpt-baby"])
    print(f"{'gpt-modern':<12}{modern:>11.1f}{'n/a':>12}{'':>8}   {modern / baby:.2f}x gpt-baby's step "
          f"(alternated with it)")


def train_for(preset, seconds):
    """(val loss, training seconds, steps, parameters) of the `minilm train --preset` run given `seconds`.

    The cosine schedule is re-planned after every step to end when the time does: its length is
    the steps done so far scaled by seconds / elapsed. The val loss is estimated afterwards
    (50 batches), outside the budget.
    """
    from minilm.train.config import config_from
    from minilm.train.loop import Trainer
    with tempfile.TemporaryDirectory() as out:
        cfg = config_from(preset, overrides={"out_dir": out, "progress": False, "max_iters": 10 ** 7,
                                             "eval_iters": 50})
        trainer = Trainer(cfg)
        start = time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            if trainer.step >= 20:                                      # enough steps to know their pace
                cfg.lr_decay_iters = max(trainer.step + 1, int(trainer.step * seconds / elapsed))
            trainer.train_step()
        return trainer.estimate_loss()["val_loss"], elapsed, trainer.step, trainer.model.num_parameters()


def compare_presets(seconds, rounds):
    print(f"\n`minilm train --preset P`, about {seconds:g} s of training each, alternating "
          f"({rounds} round{'s' if rounds > 1 else ''}):")
    print(f"{'preset':<20}{'params':>10}{'steps':>8}{'train s':>9}{'ms/step':>9}{'val loss':>10}")
    order = [p for r in range(rounds) for p in (PRESETS if r % 2 == 0 else PRESETS[::-1])]
    for preset in order:
        loss, elapsed, steps, params = train_for(preset, seconds)
        print(f"{preset:<20}{params:>10,}{steps:>8}{elapsed:>9.0f}{1e3 * elapsed / steps:>9.1f}{loss:>10.4f}",
              flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--torch-python")
    p.add_argument("--models", nargs="+", choices=["gpt-baby", "gpt-small", "lstm"],
                   default=["gpt-baby", "gpt-small", "lstm"], help="gpt-modern runs alternated with gpt-baby")
    p.add_argument("--wall", type=float, default=0, help="seconds of training per preset (0: skip)")
    p.add_argument("--rounds", type=int, default=1, help="--wall runs of each preset, alternating")
    p.add_argument("--skip-table", action="store_true", help="only the --wall comparison")
    args = p.parse_args()
    if not args.skip_table:
        torch_python = ct.find_torch_python(args.torch_python)
        if torch_python is None or not os.path.exists(ct.TORCH_REF):
            print("PyTorch reference not available: only minilm is timed. To compare, install torch in a venv:\n"
                  "    python -m venv V && V/bin/pip install torch==2.13.0 numpy\n"
                  "and pass --torch-python V/bin/python (or use /tmp/torchvenv/bin/python).")
            torch_python = None
        time_models(args, torch_python)
    if args.wall:
        compare_presets(args.wall, args.rounds)


if __name__ == "__main__":
    main()
