"""Lesson 7: reference solutions."""
import math

import numpy as np


def warmup_cosine(step, max_lr, warmup_steps, decay_steps, min_lr=0.0):
    """The learning rate at step: linear warmup to max_lr, half a cosine down to min_lr at decay_steps,
    then min_lr (as minilm.optim.cosine_with_warmup)."""
    if step < warmup_steps:
        return max_lr * (step + 1) / (warmup_steps + 1)
    if step >= decay_steps:
        return min_lr
    progress = (step - warmup_steps) / max(1, decay_steps - warmup_steps)
    return min_lr + 0.5 * (1 + math.cos(math.pi * progress)) * (max_lr - min_lr)


def top_k_filter(logits, k):
    """A copy of logits (B, V) with -inf wherever a logit is below the k-th largest of its row."""
    kth = np.sort(logits, axis=-1)[:, -k][:, None]
    return np.where(logits < kth, -np.inf, logits)


def top_p_filter(probs, p):
    """probs (B, V) keeping, per row, the most likely tokens while those ranked above add up to less than p;
    the rest zero; each row renormalized to sum to 1."""
    order = np.argsort(-probs, axis=-1)
    ranked = np.take_along_axis(probs, order, axis=-1)
    ranked[np.cumsum(ranked, axis=-1) - ranked >= p] = 0
    kept = np.zeros_like(probs)
    np.put_along_axis(kept, order, ranked, axis=-1)
    return kept / kept.sum(axis=-1, keepdims=True)
