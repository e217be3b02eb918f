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
import argparse
import collections
import time

import minilm  # before NumPy: minilm sets how long BLAS threads spin (minilm/parallel.py)
import numpy as np
from minilm.data import clean_text, collate_labeled, load_corpus, train_val_test_split
from minilm.metrics import accuracy, precision_recall_f1, roc_auc
from minilm.models import GPT, GPTClassifier, GPTConfig
from minilm.tokenizers import CharTokenizer


def speaker_lines(text, k):
    """(line, speaker) for every line of the k speakers with the most lines."""
    examples = []
    for speech in text.split("\n\n"):
        head, _, body = speech.partition("\n")
        if head.endswith(":") and body:
            examples += [(line, head[:-1]) for line in body.split("\n") if len(line) > 10]
    top = [name for name, _ in collections.Counter(s for _, s in examples).most_common(k)]
    return [(line, top.index(s)) for line, s in examples if s in top], top


def shuffled_lines(text, rng):
    """(line, 1) for real lines and (line with its words shuffled, 0), one of each per line.

    Lines are lowercased and stripped of punctuation first, so that only the order of the
    words tells them apart (not a capital or a comma out of place).
    """
    examples = []
    for line in clean_text(text, lowercase=True, strip_punctuation=True).split("\n"):
        words = line.split()
        if len(words) >= 5 and len(set(words)) > 1:                   # a reorder must be possible
            shuffled = list(words)
            while shuffled == words:
                rng.shuffle(shuffled)
            examples += [(line.strip(), 1), (" ".join(shuffled), 0)]
    return examples, ["shuffled", "real"]


def typo_lines(text, rng, typos=3):
    """(line, 1) for real lines and (the line with `typos` letters replaced at random, 0)."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    examples = []
    for line in text.split("\n"):
        positions = [i for i, ch in enumerate(line) if ch.isalpha()]
        if len(line) < 20 or len(positions) < typos:
            continue
        chars = list(line)
        for i in rng.choice(positions, typos, replace=False):
            chars[i] = rng.choice([c for c in letters if c != chars[i].lower()])
        examples += [(line, 1), ("".join(chars), 0)]
    return examples, ["typos", "real"]


def pretrain(tokenizer, text, steps, block_size, device, log):
    minilm.manual_seed(0)
    config = GPTConfig(vocab_size=tokenizer.vocab_size, block_size=block_size, n_layer=2, n_head=4, n_embd=64)
    model = GPT(config).to(device)
    data = np.asarray(tokenizer.encode(text), dtype=np.int64)
    opt = model.configure_optimizers(0.1, 2e-3, (0.9, 0.99))
    rng = np.random.default_rng(0)
    for step in range(steps):
        starts = rng.integers(0, len(data) - block_size - 1, 16)
        rows = np.stack([data[s:s + block_size + 1] for s in starts])
        _, loss = model(minilm.tensor(rows[:, :-1], device=device), minilm.tensor(rows[:, 1:], device=device))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 100 == 0 or step == steps - 1:
            log(f"  pre-training step {step}: loss {loss.item():.3f}")
    return model


def load_pretrained(out_dir, device):
    from minilm.__main__ import load_trained
    model, tokenizer, cfg, _ = load_trained(out_dir, device=device)
    if cfg.model != "gpt":
        raise SystemExit(f"{out_dir} holds a {cfg.model} model; the classifier needs a GPT")
    return model, tokenizer


def encode_examples(examples, tokenizer, block_size):
    return [(tokenizer.encode(line)[:block_size], label) for line, label in examples]


def fine_tune(model, train, steps, device, lr, seed=0):
    rng = np.random.default_rng(seed)
    opt = minilm.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    for _ in range(steps):
        batch = [train[i] for i in rng.integers(0, len(train), 32)]
        ids, pad, labels = collate_labeled(batch, device=device)
        _, loss = model(ids, pad, labels)
        opt.zero_grad()
        loss.backward()
        minilm.optim.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    return model


def evaluate(model, examples, num_classes, device):
    model.eval()
    scores = []
    with minilm.no_grad():
        for start in range(0, len(examples), 64):
            ids, pad, _ = collate_labeled(examples[start:start + 64], device=device)
            logits, _ = model(ids, pad)
            scores.append(minilm.functional.softmax(logits, -1).numpy())
    scores = np.concatenate(scores)
    target = np.array([label for _, label in examples])
    pred = scores.argmax(1)
    p, r, f1 = precision_recall_f1(pred, target, "macro", num_classes)
    return {"accuracy": accuracy(pred, target), "precision": p, "recall": r, "f1": f1,
            "roc_auc": roc_auc(scores, target)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--init-from", help="a training output folder with a pre-trained char GPT")
    parser.add_argument("--task", choices=["typos", "shuffled", "speaker"], default="typos")
    parser.add_argument("--speakers", type=int, default=4, help="K, for --task speaker")
    parser.add_argument("--pretrain-steps", type=int, default=600)
    parser.add_argument("--finetune-steps", type=int, default=200)
    parser.add_argument("--train-lines", type=int, default=800, help="labelled lines to fine-tune on")
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--smoke", action="store_true", help="a few steps, to check the script runs")
    args = parser.parse_args()
    if args.smoke:
        args.pretrain_steps, args.finetune_steps = 3, 3
    text = load_corpus("shakespeare")
    start = time.time()
    if args.init_from:
        gpt, tokenizer = load_pretrained(args.init_from, args.device)
        print(f"pre-trained GPT loaded from {args.init_from}")
    else:
        tokenizer = CharTokenizer.from_text(text)
        print(f"pre-training a small character GPT for {args.pretrain_steps} steps ...")
        gpt = pretrain(tokenizer, text, args.pretrain_steps, 64, args.device, print)
    block = gpt.config.block_size
    if args.task == "speaker":
        labelled, names = speaker_lines(text, args.speakers)
    elif args.task == "shuffled":
        labelled, names = shuffled_lines(text, np.random.default_rng(0))
    else:
        labelled, names = typo_lines(text, np.random.default_rng(0))
    classes = len(names)
    train, val, test = train_val_test_split(labelled, (0.8, 0.0, 0.2), seed=0)
    test = test[:1000]
    train = encode_examples(train[:args.train_lines], tokenizer, block)
    test = encode_examples(test, tokenizer, block)
    print(f"task {args.task}: {len(train)} training and {len(test)} held-out lines; classes {', '.join(names)}")

    results = {}
    for name, model in [("pre-trained", GPTClassifier.from_pretrained_gpt(gpt, classes)),
                        ("from scratch", GPTClassifier(gpt.config, classes))]:
        minilm.manual_seed(1)
        fine_tune(model.to(args.device), train, args.finetune_steps, args.device, args.lr)
        results[name] = evaluate(model, test, classes, args.device)
    print(f"\n{'start':<14}{'accuracy':>10}{'precision':>11}{'recall':>9}{'F1':>8}{'ROC-AUC':>9}")
    for name, m in results.items():
        print(f"{name:<14}{m['accuracy']:>10.3f}{m['precision']:>11.3f}{m['recall']:>9.3f}{m['f1']:>8.3f}"
              f"{m['roc_auc']:>9.3f}")
    print(f"(chance accuracy is about {1 / classes:.2f}; {time.time() - start:.0f} s in all)")


if __name__ == "__main__":
    main()
