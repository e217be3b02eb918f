"""The default `minilm train` run (a character-level GPT on Shakespeare, the speedrun recipe), written out as one loop.

`python -m minilm train` does exactly this, plus checkpoints, resuming, logging and several
processes (minilm/train/loop.py); here only the training is left, in the order it happens:
data, model, optimizer, learning-rate schedule, the loop with its evaluations, a sample.
With the same settings and seed it prints the same losses as `minilm train`. The model has
Llama's blocks with QK-norm (a Qwen3); Muon steps its hidden matrices, AdamW the rest
(`--preset shakespeare-char` of `minilm train` is the classic GPT-2 with AdamW: drop the
fields marked "speedrun" below and the optimizer's name to get it).

    python examples/train_gpt.py                    # 800 iterations, as `minilm train`
    python examples/train_gpt.py --max-iters 200 --out out-train-gpt
    python examples/train_gpt.py --smoke            # a few iterations, in seconds
"""
import argparse
import os
import sys
import tempfile
from types import SimpleNamespace

import numpy as np

import minilm
from minilm.cli import run_script
from minilm.cli.parser import CommandParser
from minilm.data import TokenDataset, load_corpus, prepare
from minilm.errors import RunExists
from minilm.models import GPT, GPTConfig
from minilm.optim import clip_grad_norm_, cosine_with_warmup
from minilm.tokenizers import CharTokenizer
from minilm.train.evaluation import evaluate_batches
from minilm.train.rules import describe_fit, fit_to_run

# the default run's settings: the shakespeare-speedrun preset's (tests/test_example_train_gpt.py checks that they agree)
DEFAULTS = dict(batch_size=12, block_size=64, gradient_accumulation_steps=1,           # B, T, micro-batches
                n_layer=3, n_head=4, n_embd=128, dropout=0.0,                          # the model
                bias=False, norm="rmsnorm", pos="rope", mlp="swiglu", n_kv_head=2,     # speedrun: Llama's blocks,
                intermediate_size=384, qk_norm=True,                                   # with QK-norm
                optimizer="muon", muon_lr=0.02, muon_momentum=0.95,                    # speedrun: Muon
                max_iters=800, learning_rate=1e-3, min_lr=1e-4, warmup_iters=30, lr_decay_iters=800,
                weight_decay=0.1, beta1=0.9, beta2=0.99, grad_clip=1.0,                # AdamW, clipping
                eval_interval=50, eval_iters=20, log_interval=10, seed=1337,
                sample_tokens=300, temperature=0.8, top_k=200, prompt="\n")
SMOKE = dict(max_iters=20, warmup_iters=2, lr_decay_iters=20, eval_interval=10, eval_iters=2, log_interval=5,
             sample_tokens=40)


def estimate_loss(model, splits, c):
    """Mean loss over eval_iters batches of each split, the same batches at every evaluation (as minilm train)."""
    out = {}
    for split, data in splits.items():
        rng = np.random.default_rng(c.seed + 1)          # a generator of its own: training's batches are untouched
        batches = (data.get_batch(c.batch_size, rng, c.device) for _ in range(c.eval_iters))   # x, y (B, T)
        sums = evaluate_batches(model, batches, lambda xy: (*model(*xy), xy[1]))   # (logits, loss, y)
        out[split] = sums["loss"] / sums["count"]
    return out


def train(c, data_dir):
    minilm.manual_seed(c.seed)                           # the weights' initialisation
    batch_rng = np.random.default_rng(c.seed)            # the training batches' offsets
    # data: the bundled corpus, a character per token, cut 90/5/5 into train/val/test token files
    text = load_corpus("shakespeare")
    tokenizer = CharTokenizer.from_text(text)
    prepare(text, tokenizer, data_dir)
    splits = {s: TokenDataset(os.path.join(data_dir, f"{s}.bin"), c.block_size) for s in ("train", "val")}
    # model and optimizer: Muon for the blocks' matrices; AdamW for the rest, decaying the embeddings, not the
    # norm gains (configure_optimizers prints the split)
    config = GPTConfig(vocab_size=tokenizer.vocab_size, block_size=c.block_size, n_layer=c.n_layer,
                       n_head=c.n_head, n_embd=c.n_embd, dropout=c.dropout, bias=c.bias, norm=c.norm, pos=c.pos,
                       mlp=c.mlp, n_kv_head=c.n_kv_head, intermediate_size=c.intermediate_size, qk_norm=c.qk_norm)
    model = GPT(config).to(c.device)
    optimizer = model.configure_optimizers(c.weight_decay, c.learning_rate, betas=(c.beta1, c.beta2),
                                           optimizer=c.optimizer, muon_lr=c.muon_lr, muon_momentum=c.muon_momentum)
    # the schedule scales every group's peak lr alike: Muon's is muon_lr, AdamW's learning_rate
    peaks = [group["lr"] / c.learning_rate for group in optimizer.param_groups]
    print(f"GPT of {model.num_parameters():,} parameters, vocabulary {tokenizer.vocab_size}, "
          f"{len(splits['train']):,} training tokens, {c.max_iters} iterations on {c.device}")
    for step in range(c.max_iters + 1):
        if step % c.eval_interval == 0 or step == c.max_iters:
            losses = estimate_loss(model, splits, c)
            print(f"step {step}: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}")
        if step == c.max_iters:
            break
        lr = cosine_with_warmup(step, c.learning_rate, c.warmup_iters, c.lr_decay_iters, c.min_lr)
        for group, peak in zip(optimizer.param_groups, peaks):
            group["lr"] = lr * peak
        # one step: the gradients of gradient_accumulation_steps micro-batches add up (a larger batch, in pieces)
        for _ in range(c.gradient_accumulation_steps):
            x, y = splits["train"].get_batch(c.batch_size, batch_rng, c.device)     # (B, T) each
            _, loss = model(x, y)                                                   # logits (B, T, V), loss ()
            (loss / c.gradient_accumulation_steps).backward()
        norm = clip_grad_norm_(model.parameters(), c.grad_clip)   # a rare huge gradient cannot throw the weights far
        optimizer.step()
        optimizer.zero_grad()
        if step % c.log_interval == 0:
            print(f"iter {step}: loss {loss.item():.4f}, lr {lr:.2e}, grad norm {norm:.2f}")
    ids = np.asarray([tokenizer.encode(c.prompt)])                                  # (1, T)
    out = model.generate(ids, c.sample_tokens, temperature=c.temperature, top_k=c.top_k, seed=c.seed)
    print("-" * 60 + "\n" + tokenizer.decode(np.asarray(out)[0].tolist()))
    return model, losses


def positive(text):
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expects a positive integer, got {text!r}")
    return int(text)


def main(argv=None):
    parser = CommandParser(prog="train_gpt.py", description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="a few iterations and a tiny evaluation")
    parser.add_argument("--max-iters", type=positive, help=f"iterations (default {DEFAULTS['max_iters']})")
    parser.add_argument("--device", default="cpu", choices=minilm.backend.DEVICES)
    parser.add_argument("--out", help="keep the token files and the trained weights (model.safetensors) here")
    parser.add_argument("--overwrite", action="store_true", help="replace the weights already in --out")
    args = parser.parse_args(argv)
    c = SimpleNamespace(**{**DEFAULTS, **(SMOKE if args.smoke else {}), "device": args.device})
    if args.max_iters:
        c.max_iters = args.max_iters
        shortened = fit_to_run(c, given=("max_iters",))   # the schedule fits the run, as minilm train's does
        if shortened:
            print(describe_fit(shortened, c.max_iters))
    weights = os.path.join(args.out or "", "model.safetensors")
    if args.out and os.path.exists(weights) and not args.overwrite:     # a trained model is never lost
        raise RunExists(f"{weights} already exists; nothing was changed. Replace it with --overwrite, "
                        "or choose another --out")
    minilm.backend.require_device(c.device)   # errors are one line and exit 2 (1: a failed write): run_script
    with tempfile.TemporaryDirectory() as scratch:
        model, _ = train(c, os.path.join(args.out or scratch, "data"))
    if args.out:
        minilm.save(model.state_dict(), weights)


if __name__ == "__main__":
    sys.exit(run_script(main))
