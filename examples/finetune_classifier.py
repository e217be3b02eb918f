"""Pre-train, then fine-tune a GPT as a classifier of lines of Shakespeare.

1. A character-level GPT is pre-trained on the corpus as a language model
   (or loaded with --init-from out/, the folder `python -m minilm train` writes).
2. A labelled data set is cut from the same text, by --task:
     speaker   every line spoken by one of the K most frequent speakers, labelled
               with the speaker (hard: a single line says little about who speaks it)
     shuffled  lines of at least five words, lowercased and without punctuation, half of
               them with their words shuffled: is the word order real?
     typos     lines of at least 20 characters, half of them with three letters replaced
               by random ones: is the spelling real? (a language model knows spelling)
3. Two GPTClassifiers with the same architecture and the same budget of
   fine-tuning steps are trained: one starts from the pre-trained body, one
   from random weights. Both are scored on held-out lines.

    python examples/finetune_classifier.py                 # pre-trains a small GPT first
    python examples/finetune_classifier.py --init-from out/
"""
import functools
import sys
import time

import numpy as np

import minilm
import minilm.functional as F
from minilm.cli import run_script
from minilm.cli.parser import CommandParser
from minilm.data import (collate_labeled, load_corpus, shuffled_lines, speaker_lines, train_val_test_split,
                         typo_lines)
from minilm.models import GPT, GPTClassifier, GPTConfig
from minilm.tokenizers import CharTokenizer
from minilm.train import evaluate, fit, sequence_cross_entropy


def pretrain(tokenizer, text, steps, block_size, device):
    """A small GPT trained for `steps` batches of 16 random windows (one epoch of fit)."""
    minilm.manual_seed(0)
    config = GPTConfig(vocab_size=tokenizer.vocab_size, block_size=block_size, n_layer=2, n_head=4, n_embd=64)
    model = GPT(config).to(device)
    data = np.asarray(tokenizer.encode(text), dtype=np.int64)
    starts = np.random.default_rng(0).integers(0, len(data) - block_size - 1, 16 * steps)
    rows = np.stack([data[s:s + block_size + 1] for s in starts])                  # (16 steps, T + 1)
    history = fit(model, (rows[:, :-1], rows[:, 1:]), loss_fn=sequence_cross_entropy, epochs=1, batch_size=16,
                  optimizer=model.configure_optimizers(0.1, 2e-3, (0.9, 0.99)), seed=0)
    print(f"  pre-training loss {history.history['loss'][0]:.3f} (the mean over the epoch)")
    return model


def load_pretrained(out_dir, device):
    from minilm.train.trained import load_trained
    model, tokenizer, cfg, _ = load_trained(out_dir, device=device)
    if cfg.model != "gpt":
        raise ValueError(f"{out_dir} holds a {cfg.model} model; the classifier needs a GPT: "
                         "give --init-from a folder of `minilm train` (the default preset)")
    return model, tokenizer


def encode_examples(examples, tokenizer, block_size):
    return [(tokenizer.encode(line)[:block_size], label) for line, label in examples]


def fine_tune_and_score(model, train, test, epochs, device, lr, seed=0):
    """fit() for `epochs` epochs, then accuracy, F1 and ROC-AUC on the test lines."""
    collate = functools.partial(collate_labeled, device=device)
    fit(model, train, loss_fn=F.cross_entropy, optimizer=minilm.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01),
        epochs=epochs, batch_size=32, grad_clip=1.0, collate=collate, progress=False, seed=seed)
    return evaluate(model, test, F.cross_entropy, ["accuracy", "precision", "recall", "f1", "roc_auc"], 64, collate)


def main(argv=None):
    parser = CommandParser(description=__doc__.split("\n")[0])
    parser.add_argument("--init-from", help="a training output folder with a pre-trained char GPT")
    parser.add_argument("--task", choices=["typos", "shuffled", "speaker"], default="typos")
    parser.add_argument("--speakers", type=int, default=4, help="K, for --task speaker")
    parser.add_argument("--pretrain-steps", type=int, default=600)
    parser.add_argument("--finetune-epochs", type=int, default=8)
    parser.add_argument("--train-lines", type=int, default=800, help="labelled lines to fine-tune on")
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--smoke", action="store_true", help="a few steps, to check the script runs")
    args = parser.parse_args(argv)
    if args.smoke:
        args.pretrain_steps, args.finetune_epochs, args.train_lines = 3, 1, 64
    text = load_corpus("shakespeare")
    start = time.time()
    if args.init_from:
        gpt, tokenizer = load_pretrained(args.init_from, args.device)
        print(f"pre-trained GPT loaded from {args.init_from}")
    else:
        tokenizer = CharTokenizer.from_text(text)
        print(f"pre-training a small character GPT for {args.pretrain_steps} steps ...")
        gpt = pretrain(tokenizer, text, args.pretrain_steps, 64, args.device)
    block = gpt.config.block_size
    if args.task == "speaker":
        labelled, names = speaker_lines(text, args.speakers)
    elif args.task == "shuffled":
        labelled, names = shuffled_lines(text, np.random.default_rng(0))
    else:
        labelled, names = typo_lines(text, np.random.default_rng(0))
    classes = len(names)
    train, val, test = train_val_test_split(labelled, (0.8, 0.0, 0.2), seed=0)
    test = test[:1000 if not args.smoke else 64]
    train = encode_examples(train[:args.train_lines], tokenizer, block)
    test = encode_examples(test, tokenizer, block)
    print(f"task {args.task}: {len(train)} training and {len(test)} held-out lines; classes {', '.join(names)}")

    results = {}
    for name, model in [("pre-trained", GPTClassifier.from_pretrained_gpt(gpt, classes)),
                        ("from scratch", GPTClassifier(gpt.config, classes))]:
        minilm.manual_seed(1)
        results[name] = fine_tune_and_score(model.to(args.device), train, test, args.finetune_epochs, args.device,
                                            args.lr)
    print(f"\n{'start':<14}{'accuracy':>10}{'precision':>11}{'recall':>9}{'F1':>8}{'ROC-AUC':>9}")
    for name, m in results.items():
        print(f"{name:<14}{m['val_accuracy']:>10.3f}{m['val_precision']:>11.3f}{m['val_recall']:>9.3f}"
              f"{m['val_f1']:>8.3f}{m['val_roc_auc']:>9.3f}")
    print(f"(chance accuracy is about {1 / classes:.2f}; {time.time() - start:.0f} s in all)")


if __name__ == "__main__":
    sys.exit(run_script(main))
