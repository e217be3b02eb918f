"""One evaluation routine: a model's loss (and next-token accuracy) summed over batches, without gradients.

    sums = evaluate_batches(model, batches, forward, accuracy=True)
    mean_loss = sums["loss"] / sums["count"]

forward(batch) returns (outputs, loss, targets); every batch's loss is weighted
by the targets it averages over (counted: all of them, or those that are not
-100, "not predicted"), so batches of different sizes give the exact mean.
Trainer.estimate_loss, fit's evaluate and `minilm eval` all sum through it.
"""
from contextlib import nullcontext

import numpy as np

from ..amp import autocast
from ..autograd import no_grad
from ..tensor import Tensor

IGNORE = -100          # a target that is not predicted (cross_entropy's ignore_index)


def as_numpy(x):
    return x.numpy() if isinstance(x, Tensor) else np.asarray(x)


def counted(targets):
    """How many targets a batch's loss averages over: the examples, or the targets that are not -100."""
    targets = as_numpy(targets)
    if targets.dtype.kind in "iu":
        return int((targets != IGNORE).sum())
    return len(targets)


def evaluate_batches(model, batches, forward, accuracy=False, keep_outputs=False, device="cpu", dtype="float32"):
    """{"loss": sum of loss * n, "count": sum of n, "correct": correct argmax guesses (accuracy=True),
    "outputs", "targets": NumPy lists (keep_outputs=True)} over batches, in eval mode and without gradients.

    dtype: the autocast precision of the forward passes ("float32": none).
    """
    was_training = model.training
    model.eval()
    sums = {"loss": 0.0, "count": 0, "correct": 0.0, "outputs": [], "targets": []}
    try:
        with no_grad(), autocast(device, dtype) if dtype != "float32" else nullcontext():
            for batch in batches:
                outputs, loss, targets = forward(batch)
                n = counted(targets)
                sums["loss"] += loss.item() * n
                sums["count"] += n
                if accuracy:                                   # over the counted targets (not the -100s)
                    predicted, targets = outputs.numpy().argmax(-1), as_numpy(targets)
                    scored = targets != IGNORE if targets.dtype.kind in "iu" else np.ones(targets.shape, bool)
                    sums["correct"] += float((predicted[scored] == targets[scored]).sum())
                if keep_outputs:
                    sums["outputs"].append(outputs.numpy())
                    sums["targets"].append(as_numpy(targets))
    finally:
        model.train(was_training)
    return sums


def note_best(value, best, since_best):
    """(improved, best, evaluations since the best) after an evaluation: early stopping's patience counter."""
    if value < best:
        return True, value, 0
    return False, best, since_best + 1
