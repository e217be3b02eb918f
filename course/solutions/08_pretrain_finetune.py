"""Lesson 8: reference solutions (NumPy only)."""
import numpy as np


def last_token_pool(h, pad_mask):
    """h (B, T, C), pad_mask (B, T) True at padding (after the real tokens) -> (B, C): each row's state at
    its last real token."""
    last = (~pad_mask).sum(axis=1) - 1
    return h[np.arange(len(h)), last]


def precision_recall_f1(predictions, labels):
    """(precision, recall, F1) of binary predictions against labels (1 is the positive class); 0.0 where
    a ratio has nothing to count."""
    predictions, labels = np.asarray(predictions), np.asarray(labels)
    tp = int(((predictions == 1) & (labels == 1)).sum())
    fp = int(((predictions == 1) & (labels == 0)).sum())
    fn = int(((predictions == 0) & (labels == 1)).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def mask_tokens(ids, mask_id, vocab_size, p, special_ids, rng):
    """(inputs, labels), int64 arrays of ids' shape: each position whose id is not in special_ids (nor
    mask_id) is chosen with probability p; a chosen one becomes mask_id (80 %), a random id that is not
    special (10 %) or stays (10 %); labels hold the original id where chosen and -100 elsewhere.
    rng is a np.random.Generator."""
    special = list(special_ids) + [mask_id]
    ordinary = np.setdiff1d(np.arange(vocab_size), special)
    chosen = (rng.random(ids.shape) < p) & ~np.isin(ids, special)
    labels = np.where(chosen, ids, -100).astype(np.int64)
    inputs = ids.astype(np.int64)
    rule = rng.random(ids.shape)
    inputs[chosen & (rule < 0.8)] = mask_id
    randomised = chosen & (rule >= 0.8) & (rule < 0.9)
    inputs[randomised] = rng.choice(ordinary, int(randomised.sum()))
    return inputs, labels
