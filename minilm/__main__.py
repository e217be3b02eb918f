"""The `minilm` command (also `python -m minilm`).

    minilm train [--preset NAME] [--config FILE.json] [--key value ...]
    minilm sample --out out/ --prompt "ROMEO:" --max-new-tokens 500 --temperature 0.8 --top-k 200 --top-p 0.95 --seed 1
    minilm eval --out out/ --split test             loss, perplexity, accuracy, bits per byte
    minilm export --out out/ --to hf-folder/        a GPT as a Hugging Face folder (transformers loads it)
    minilm prepare --input text.txt --out data/ [--tokenizer char|bpe] [--vocab-size 512]
    minilm plot out/
    minilm doctor [--json]         versions, and a check of every device (what to run when something is wrong)
    minilm viz attention|embeddings|graph --out out/ --save picture.png

`minilm train` with no arguments trains a character-level GPT on the bundled
Shakespeare (the shakespeare-char preset), checkpoints to out/, and ends by
printing a sample. Any TrainConfig field can be set: --n_layer 6 (or --n-layer 6).
Every command takes --device cuda (train: `--device cuda`, like any field).

    minilm train --preset shakespeare-lstm --out_dir out-lstm
    minilm train --out_dir out --resume --max_iters 4000       continue a run exactly
    minilm train --out_dir out --overwrite                     start over (a trained out/ is refused otherwise)

Ctrl-C saves a checkpoint of the current step first. A user's error is one
line on stderr and exit status 2 (1 for a failed write or a diverged run);
see minilm/errors.py.

Fine-tuning starts from a trained checkpoint (its architecture and tokenizer)
and trains on other text: only one speaker's speeches of the corpus, or any
text file (tokenized with the checkpoint's tokenizer):

    minilm train --init-from out --speaker ROMEO --out_dir out-romeo --max_iters 300 --learning_rate 3e-4
    minilm train --init-from out --data my_text.txt --out_dir out-mine
    minilm sample --out out-romeo --prompt "ROMEO:"

A Hugging Face folder of a GPT-2 or Llama model (config.json, model.safetensors,
tokenizer.json) can be sampled from and fine-tuned; the run folder it makes
exports back with `minilm export`:

    minilm sample --pretrained path/to/hf-folder --prompt "Once upon a time"
    minilm train --init-from path/to/hf-folder --data my.txt --out_dir out-ft
"""
import json
import math
import os
import sys

from .errors import CommandParser, run_command


def cmd_train(argv):
    from .train.launcher import as_rank
    return as_rank(train_one_rank, argv)         # --nproc N: N processes under mpiexec (see launcher.py)


def train_one_rank(argv):
    from . import distributed
    from .train.checkpoint import saved_config
    from .train.config import PRESETS, TrainConfig, config_from, parse_overrides, read_json
    from .train.loop import Trainer
    from .train.run_folder import reached_step
    parser = CommandParser(prog="minilm train", description="Train a language model.",
                                     epilog="Any TrainConfig field can follow as --name value.")
    parser.add_argument("--preset", default="shakespeare-char", help=f"one of {sorted(PRESETS)}")
    parser.add_argument("--config", help="a JSON file of TrainConfig fields")
    parser.add_argument("--init-from", dest="init_from", help="a checkpoint folder to fine-tune from")
    parser.add_argument("--speaker", help="train on this speaker's speeches only (e.g. ROMEO)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out_dir exactly")
    parser.add_argument("--overwrite", action="store_true", help="delete the run in --out_dir and start over")
    parser.add_argument("--nproc", type=int, default=1, help="train on N processes (data-parallel, MPI)")
    args, rest = parser.parse_known_args(argv)
    if args.resume and args.overwrite:
        raise ValueError("--resume continues the run in --out_dir and --overwrite deletes it: give one of them")
    overrides = parse_overrides(rest)
    if args.init_from:
        overrides["init_from"] = args.init_from
    if args.resume:
        overrides["resume"] = True
    if args.speaker:
        overrides["speaker"] = args.speaker
    if args.resume:
        # a resumed run continues with the settings it was started with, except those given now
        out_dir = overrides.get("out_dir") or read_json(args.config).get("out_dir") or TrainConfig.out_dir
        cfg = config_from(json_path=args.config, overrides=overrides, base=saved_config(out_dir))
        step = reached_step(cfg.out_dir)
        if step >= cfg.max_iters:
            print(f"{cfg.out_dir} is already trained to step {step} (max_iters {cfg.max_iters}): nothing to do; "
                  f"to train further, resume with a larger --max_iters")
            return 0
    else:
        cfg = config_from(args.preset, args.config, overrides)
    trainer = Trainer(cfg, overwrite=args.overwrite)
    print(f"training a {(cfg.cell if cfg.model == 'lstm' else cfg.model).upper()} of "
          f"{trainer.model.num_parameters():,} parameters on {len(trainer.train_data):,} tokens "
          f"(vocabulary {trainer.tokenizer.vocab_size}), {cfg.max_iters} iterations with "
          f"{type(trainer.optimizer).__name__}, device {cfg.device}{distributed.describe(cfg.batch_size)}")
    result = trainer.run()
    print(f"final: train loss {result['train_loss']:.4f}, val loss {result['val_loss']:.4f} "
          f"(perplexity {result['val_ppl']:.2f}, next-token accuracy {result['val_acc']:.3f}); "
          f"checkpoints in {cfg.out_dir}/")
    if distributed.is_main():
        print("-" * 60)
        try:
            print(trainer.sample(seed=cfg.seed))
        except ValueError as error:          # e.g. the default prompt "\n" is not in a char vocabulary
            print(f"(no sample: {error}; the model is saved: try `minilm sample --out {cfg.out_dir} --prompt TEXT`)")
    return 0


def load_trained(out_dir, which="best", device=None):
    """(model, tokenizer, config, state) from a training output folder."""
    from .tokenizers import tokenizer_from_dict
    from .train.checkpoint import checkpoint_folder, load_model_weights, load_state
    from .train.config import TrainConfig
    from .train.setup import build_model
    from .backend import require_device
    if device:
        require_device(device)
    folder = checkpoint_folder(out_dir, which)
    state = load_state(folder)
    cfg = TrainConfig.from_dict(state["config"])
    if device:
        cfg.device = device
    tokenizer = tokenizer_from_dict(state["tokenizer"])
    model = build_model(cfg, tokenizer.vocab_size)
    load_model_weights(folder, model)
    return model.to(cfg.device), tokenizer, cfg, state


def load_pretrained(folder, device):
    """(model, tokenizer, device) of a Hugging Face folder of a GPT-2 or Llama model."""
    from .backend import require_device
    from .models import GPT
    from .tokenizers import BPETokenizer
    from .train.setup import check_tokenizer_fits
    require_device(device)
    model, tokenizer = GPT.from_pretrained(folder), BPETokenizer.from_pretrained(folder)
    check_tokenizer_fits(folder, model, tokenizer)
    return model.to(device), tokenizer, device


def cmd_export(argv):
    from .models import GPT
    from .tokenizers import BPETokenizer
    p = CommandParser(prog="minilm export", description="Write a trained GPT as a Hugging Face folder.")
    p.add_argument("--out", default="out", help="the training output folder")
    p.add_argument("--to", required=True, help="the folder to write (config.json, model.safetensors, tokenizer.json)")
    p.add_argument("--overwrite", action="store_true", help="replace a model already in --to")
    args = p.parse_args(argv)
    model, tokenizer, _, _ = load_trained(args.out, device="cpu")
    if not isinstance(model, GPT):
        raise ValueError(f"{args.out} holds a {type(model).__name__}; only a GPT has a Hugging Face layout")
    model.save_pretrained(args.to, overwrite=args.overwrite)
    written = "config.json, model.safetensors"
    if isinstance(tokenizer, BPETokenizer):
        tokenizer.save_pretrained(args.to, overwrite=args.overwrite)
        written += ", tokenizer.json"
    else:
        written += f" (no tokenizer.json: a {tokenizer.kind} tokenizer is not byte-level BPE; its "\
                   "vocabulary is in the run's checkpoints)"
    print(f"wrote {args.to}: {written}")
    return 0


def cmd_sample(argv):
    from .train.config import Range, at_least, checked
    from .train.loop import generate_text
    p = CommandParser(prog="minilm sample", description="Generate text from a trained model.")
    p.add_argument("--out", default="out", help="the training output folder")
    p.add_argument("--pretrained", default=None,
                   help="a Hugging Face folder (config.json, model.safetensors, tokenizer.json) instead of --out")
    p.add_argument("--prompt", default="\n")
    p.add_argument("--max-new-tokens", type=checked(int, at_least(0)), default=500)
    p.add_argument("--temperature", type=checked(float, at_least(0)), default=0.8, help="0: the most likely token")
    p.add_argument("--top-k", type=checked(int, at_least(1)), default=200)
    p.add_argument("--top-p", type=checked(float, Range(0, 1, low_open=True)), default=None)
    p.add_argument("--seed", type=checked(int, at_least(0)), default=None)
    p.add_argument("--num-samples", type=checked(int, at_least(1)), default=1)
    p.add_argument("--device", default=None)
    args = p.parse_args(argv)
    if args.pretrained:
        model, tokenizer, device = load_pretrained(args.pretrained, args.device or "cpu")
    else:
        model, tokenizer, cfg, _ = load_trained(args.out, device=args.device)
        device = cfg.device
    for i in range(args.num_samples):
        seed = None if args.seed is None else args.seed + i
        print(generate_text(model, tokenizer, args.prompt, args.max_new_tokens, args.temperature,
                            args.top_k, args.top_p, seed, device))
        if i + 1 < args.num_samples:
            print("-" * 60)
    return 0


def cmd_eval(argv):
    from .autograd import no_grad
    import numpy as np

    from .metrics import accuracy, bits_per_byte, perplexity
    from .train.config import at_least, checked
    from .train.setup import load_split, prepare_data
    p = CommandParser(prog="minilm eval", description="Loss, perplexity and accuracy on a split.")
    p.add_argument("--out", default="out")
    p.add_argument("--split", default="test", choices=["train", "val", "test"])
    p.add_argument("--batch-size", type=checked(int, at_least(1)), default=32)
    p.add_argument("--max-batches", type=checked(int, at_least(1)), default=None)
    p.add_argument("--device", default=None)
    args = p.parse_args(argv)
    model, tokenizer, cfg, _ = load_trained(args.out, device=args.device)
    _, data_dir = prepare_data(cfg, tokenizer)
    data = load_split(data_dir, args.split, cfg.block_size)
    model.eval()
    total_loss, correct, count, n_bytes = 0.0, 0, 0, 0
    byte_lengths = np.asarray(tokenizer.token_byte_lengths())
    with no_grad():
        for x, y in data.iter_windows(args.batch_size, cfg.device, args.max_batches):
            logits, loss = model(x, y)[:2]
            n = y.numel()
            total_loss += loss.item() * n
            correct += accuracy(logits.numpy().argmax(-1), y.numpy()) * n
            count += n
            n_bytes += int(byte_lengths[y.numpy()].sum())
    mean, ppl = total_loss / count, perplexity(total_loss / count)
    # an infinite perplexity as the string "inf": strict JSON has no Infinity
    print(json.dumps({"split": args.split, "tokens": count, "loss": round(mean, 4),
                      "perplexity": round(ppl, 3) if math.isfinite(ppl) else str(ppl),
                      "accuracy": round(correct / count, 4),
                      "bits_per_byte": round(bits_per_byte(total_loss, n_bytes), 4)}))
    return 0


def cmd_prepare(argv):
    from .data import load_corpus, prepare
    from .train.config import RULES, TrainConfig, checked
    from .train.setup import build_tokenizer
    p = CommandParser(prog="minilm prepare", description="Tokenize a text file into a dataset folder.")
    p.add_argument("--input", default="shakespeare", help="a text file, or a bundled corpus name")
    p.add_argument("--out", required=True, help="the dataset folder to write")
    p.add_argument("--tokenizer", default="char", choices=["char", "bpe"])
    p.add_argument("--vocab-size", type=checked(int, RULES["bpe_vocab_size"]), default=512, help="for bpe")
    p.add_argument("--encoding", default="utf-8", help="the text encoding of --input (default utf-8, strict)")
    args = p.parse_args(argv)
    text = load_corpus(args.input, args.encoding)
    tokenizer = build_tokenizer(TrainConfig(tokenizer=args.tokenizer, bpe_vocab_size=args.vocab_size), text)
    meta = prepare(text, tokenizer, args.out)
    print(f"wrote {args.out}: {meta['tokens']} tokens, vocabulary {meta['vocab_size']}, {meta['dtype']}")
    return 0


def cmd_plot(argv):
    from .viz import plot_training
    p = CommandParser(prog="minilm plot", description="Draw a run's training curves to a PNG: "
                      "losses, learning rate, gradient norm and tokens/s.")
    p.add_argument("out", nargs="?", default="out")
    p.add_argument("--png", default=None, help="where to write (default: OUT/loss.png)")
    args = p.parse_args(argv)
    path = args.png or os.path.join(args.out, "loss.png")
    plot_training(os.path.join(args.out, "log.jsonl"), path)
    print(f"wrote {path}")
    return 0


def cmd_viz(argv):
    from .viz.cli import main as viz_main
    return viz_main(argv)


def cmd_doctor(argv):
    from .doctor import main as doctor
    return doctor(argv)


COMMANDS = {"train": cmd_train, "sample": cmd_sample, "eval": cmd_eval, "export": cmd_export,
            "prepare": cmd_prepare, "plot": cmd_plot,
            "viz": cmd_viz, "doctor": cmd_doctor}


def show_help(argv):
    print(__doc__)
    if argv and argv[0] not in ("-h", "--help"):
        print(f"unknown command {argv[0]!r}; commands: {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    return 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    # every command's user errors become one line and an exit status (see minilm/errors.py)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        return run_command("help", show_help, argv)
    return run_command(argv[0], COMMANDS[argv[0]], argv[1:])


if __name__ == "__main__":
    sys.exit(main())
