"""minilm vs PyTorch on the CPU: milliseconds per training step, phase by phase.

For each model below, one training step (forward + backward + grad-norm clip +
AdamW) is timed in minilm and in PyTorch (../shared/bench/torch_ref.py, run
with an interpreter that has torch), alternating the two, each in a fresh
process whose peak RSS is read when it exits. The table gives medians over
the repeats; the ratio minilm/PyTorch is what counts, because this machine's
absolute speed drifts by about 25% from minute to minute.

    python benchmarks/compare_torch.py                    # all models, 3 repeats
    python benchmarks/compare_torch.py --models gpt-baby --profile
    python benchmarks/compare_torch.py --torch-python /path/to/venv/bin/python

PyTorch is never a dependency of minilm. To get a reference interpreter:
    python -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch==2.13.0 numpy
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TORCH_REF = os.path.join(HERE, "..", "..", "shared", "bench", "torch_ref.py")

MODELS = {
    "gpt-baby": dict(model="gpt", batch=12, block=64, n_layer=4, n_head=4, n_embd=128, vocab=65),
    "gpt-small": dict(model="gpt", batch=32, block=128, n_layer=6, n_head=6, n_embd=384, vocab=65),
    "lstm": dict(model="lstm", batch=32, block=64, emb=256, hidden=256, lstm_layers=2, vocab=65),
    # gpt-baby with the shakespeare-modern preset's blocks: about the same parameters (minilm only:
    # the PyTorch reference script builds GPT-2 blocks)
    "gpt-modern": dict(model="gpt", batch=12, block=64, n_layer=4, n_head=4, n_embd=128, vocab=65,
                       options=dict(norm="rmsnorm", pos="rope", mlp="swiglu", n_kv_head=2, bias=False,
                                    intermediate_size=384)),
    # gpt-baby with the shakespeare-speedrun preset: Muon and QK-norm on the modern blocks (minilm only)
    "gpt-speedrun": dict(model="gpt", batch=12, block=64, n_layer=4, n_head=4, n_embd=128, vocab=65, optimizer="muon",
                         options=dict(norm="rmsnorm", pos="rope", mlp="swiglu", n_kv_head=2, bias=False,
                                      intermediate_size=384, qk_norm=True)),
}
# (warmup, timed steps) per model: the big GPT takes seconds per step
STEPS = {"gpt-baby": (5, 20), "gpt-small": (2, 5), "lstm": (3, 10), "gpt-modern": (5, 20), "gpt-speedrun": (5, 20)}


def settings_for(name, args):
    """args with warmup/steps filled in from STEPS where the command line left them out."""
    warmup, steps = STEPS[name]
    return argparse.Namespace(**{**vars(args), "warmup": args.warmup if args.warmup is not None else warmup,
                                 "steps": args.steps if args.steps is not None else steps})


# ---------------------------------------------------------------- the minilm side (child process)
def build_minilm(cfg):
    import minilm
    from minilm.models import GPT, GPTConfig, LSTMLM
    minilm.manual_seed(1337)
    if cfg["model"] == "gpt":
        options = {"bias": True, **cfg.get("options", {})}                # e.g. benchmarks/models.py's gpt-modern
        model = GPT(GPTConfig(vocab_size=cfg["vocab"], block_size=cfg["block"], n_layer=cfg["n_layer"],
                              n_head=cfg["n_head"], n_embd=cfg["n_embd"], dropout=0.0, **options))
        optimizer = model.configure_optimizers(weight_decay=0.1, learning_rate=1e-3, betas=(0.9, 0.99),
                                               optimizer=cfg.get("optimizer", "adamw"))
    else:
        model = LSTMLM(cfg["vocab"], cfg["emb"], cfg["hidden"], cfg["lstm_layers"])
        decay = [p for p in model.parameters() if p.ndim >= 2]
        no_decay = [p for p in model.parameters() if p.ndim < 2]
        optimizer = minilm.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                                        {"params": no_decay, "weight_decay": 0.0}],
                                       lr=1e-3, betas=(0.9, 0.99))
    return model, optimizer


def time_minilm(cfg, warmup, steps, profile):
    import minilm
    import minilm.profiler
    import numpy as np
    model, optimizer = build_minilm(cfg)
    params = list(model.parameters())
    rng = np.random.default_rng(0)
    pool = [rng.integers(0, cfg["vocab"], (cfg["batch"], cfg["block"] + 1)) for _ in range(8)]
    phases = {"fwd": [], "bwd": [], "opt": [], "total": []}
    prof_ctx = None
    for step in range(warmup + steps):
        if profile and step == warmup:
            prof_ctx = minilm.profiler.profile()
            prof = prof_ctx.__enter__()
        seq = pool[step % len(pool)]
        x, y = minilm.tensor(seq[:, :-1]), minilm.tensor(seq[:, 1:])
        t0 = time.perf_counter()
        loss = model(x, y)[1]
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        minilm.optim.clip_grad_norm_(params, 1.0)
        optimizer.step()
        optimizer.zero_grad()
        t3 = time.perf_counter()
        if step >= warmup:
            for name, value in zip(phases, (t1 - t0, t2 - t1, t3 - t2, t3 - t0)):
                phases[name].append(value * 1e3)
    result = {f"ms_{k}": statistics.median(v) for k, v in phases.items()}
    if prof_ctx is not None:
        prof_ctx.__exit__(None, None, None)
        result["profile"] = prof.table(top=25)
    return result


# ---------------------------------------------------------------- running children
def run_child(cmd):
    """Run cmd, return (stdout, peak RSS in MB of that child alone)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])} ... failed:\n{err[-2000:]}")
    return out, usage.ru_maxrss / 1024


def minilm_run(name, args, first="minilm"):
    """One child process timing minilm; first="numpy" imports NumPy before minilm, as most scripts do."""
    out, rss = run_child([sys.executable, __file__, "--child", name, "--warmup", str(args.warmup),
                          "--steps", str(args.steps), "--first", first] + (["--profile"] if args.profile else []))
    result = json.loads(out.strip().splitlines()[-1])
    result["rss_mb"] = rss
    return result


def torch_run(name, args):
    cfg = MODELS[name]
    flags = ["--model", cfg["model"], "--batch", str(cfg["batch"]), "--block", str(cfg["block"]),
             "--vocab", str(cfg["vocab"]), "--threads", str(args.threads),
             "--warmup", str(args.warmup), "--steps", str(args.steps)]
    if cfg["model"] == "gpt":
        flags += ["--n-layer", str(cfg["n_layer"]), "--n-head", str(cfg["n_head"]), "--n-embd", str(cfg["n_embd"])]
    else:
        flags += ["--emb", str(cfg["emb"]), "--hidden", str(cfg["hidden"]), "--lstm-layers", str(cfg["lstm_layers"])]
    out, rss = run_child([args.torch_python, TORCH_REF] + flags)
    r = json.loads(out.strip().splitlines()[-1])
    return {"ms_fwd": r["ms_fwd_median"], "ms_bwd": r["ms_bwd_median"], "ms_opt": r["ms_opt_median"],
            "ms_total": r["ms_step_median"], "rss_mb": rss}


def find_torch_python(explicit):
    candidates = [explicit] if explicit else [sys.executable, "/tmp/torchvenv/bin/python"]
    for python in candidates:
        if python and shutil.which(python) and subprocess.run(
                [python, "-c", "import torch"], capture_output=True).returncode == 0:
            return python
    return None


def median_of(runs, key):
    return statistics.median(r[key] for r in runs)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--warmup", type=int, default=None, help="default: per model, see STEPS")
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--torch-python", help="an interpreter with torch installed")
    p.add_argument("--profile", action="store_true", help="print minilm's top ops by time")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--first", choices=["minilm", "numpy"], default="minilm", help=argparse.SUPPRESS)
    args = p.parse_args()

    if args.child:
        if args.first == "numpy":
            import numpy  # noqa: F401  (before minilm: the speed must not depend on the order)
        print(json.dumps(time_minilm(MODELS[args.child], args.warmup, args.steps, args.profile)))
        return


    torch_python = args.torch_python = find_torch_python(args.torch_python)
    if torch_python is None:
        print("PyTorch not found: only minilm is timed. For the comparison, run\n"
              "  python -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch==2.13.0 numpy\n"
              "and pass --torch-python /tmp/torchvenv/bin/python\n")
    if not os.path.exists(TORCH_REF):
        print(f"no PyTorch reference script at {TORCH_REF}: only minilm is timed\n")
        torch_python = None

    header = (f"{'model':<10}{'lib':<8}{'fwd ms':>9}{'bwd ms':>9}{'opt ms':>9}{'step ms':>10}"
              f"{'RSS MB':>9}{'ratio':>8}")
    print(header)
    print("-" * len(header))
    for name in args.models:
        ours, theirs = [], []
        run = settings_for(name, args)
        for _ in range(args.repeats):
            ours.append(minilm_run(name, run))
            if torch_python and "options" not in MODELS[name]:
                theirs.append(torch_run(name, run))
        rows = [("minilm", ours)] + ([("torch", theirs)] if theirs else [])
        ratio = median_of(ours, "ms_total") / median_of(theirs, "ms_total") if theirs else None
        for lib, runs in rows:
            cells = "".join(f"{median_of(runs, k):>9.1f}" for k in ("ms_fwd", "ms_bwd", "ms_opt"))
            r = f"{ratio:>8.2f}" if lib == "minilm" and ratio else ""
            print(f"{name:<10}{lib:<8}{cells}{median_of(runs, 'ms_total'):>10.1f}"
                  f"{max(x['rss_mb'] for x in runs):>9.0f}{r}")
        if args.profile:
            print(f"\nminilm {name}: time per op type over {run.steps} steps\n{ours[-1]['profile']}\n")


if __name__ == "__main__":
    main()
