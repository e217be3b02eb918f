"""`minilm eval`: a trained run's loss, perplexity, next-token accuracy and bits per byte on one split.

Loss, perplexity and accuracy are over every predicted token. Bits per byte is over ordinary text
only: a special token (<|endoftext|>, a chat turn's boundary) stands for no bytes, so the loss of
predicting it is left out of the sum and its string out of the byte count, as the best-known
implementations do (nanochat's evaluate_bpb); otherwise a document separator would count as the
13 bytes of its name.
"""
import json
import math

import numpy as np

from .. import functional as F
from ..metrics import bits_per_byte, perplexity
from ..train.config import at_least
from ..train.evaluation import evaluate_batches
from ..train.setup import load_split, prepare_data
from ..train.trained import load_trained
from .parser import CommandParser, checked


def evaluate(argv):
    if any(arg == "--task" or arg.startswith("--task=") for arg in argv):
        from .eval_task import evaluate_task           # exact match on a chat task (eval_task.py)
        return evaluate_task(argv)
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
    byte_lengths = np.asarray(tokenizer.token_byte_lengths())     # 0 for a special token
    text_loss, n_bytes = 0.0, 0

    def forward(batch):              # (logits, loss, targets), summing the loss and bytes of ordinary text
        nonlocal text_loss, n_bytes
        x, y = batch
        logits, loss = model(x, y)[:2]
        bytes_of = byte_lengths[y.numpy()]                                         # (B, T)
        token_losses = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="none")
        text_loss += float((token_losses.numpy() * (bytes_of.reshape(-1) > 0)).sum())
        n_bytes += int(bytes_of.sum())
        return logits, loss, y
    sums = evaluate_batches(model, data.iter_windows(args.batch_size, cfg.device, args.max_batches), forward,
                            accuracy=True)
    total_loss, correct, count = sums["loss"], sums["correct"], sums["count"]
    mean, ppl = total_loss / count, perplexity(total_loss / count)
    # an infinite perplexity as the string "inf": strict JSON has no Infinity
    print(json.dumps({"split": args.split, "tokens": count, "loss": round(mean, 4),
                      "perplexity": round(ppl, 3) if math.isfinite(ppl) else str(ppl),
                      "accuracy": round(correct / count, 4),
                      "bits_per_byte": round(bits_per_byte(text_loss, n_bytes), 4)}))
    return 0
