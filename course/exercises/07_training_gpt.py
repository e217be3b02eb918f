"""Lesson 7 exercises: replace each `raise NotImplementedError`, then run `minilm course check 7`."""
import math

import numpy as np


def warmup_cosine(step, max_lr, warmup_steps, decay_steps, min_lr=0.0):
    """The learning rate at step: linear warmup to max_lr, half a cosine down to min_lr at decay_steps,
    then min_lr (as minilm.optim.cosine_with_warmup)."""
    raise NotImplementedError("exercise 7.1: write warmup_cosine")


def top_k_filter(logits, k):
    """A copy of logits (B, V) with -inf wherever a logit is below the k-th largest of its row."""
    raise NotImplementedError("exercise 7.2: write top_k_filter")


def top_p_filter(probs, p):
    """probs (B, V) keeping, per row, the most likely tokens while those ranked above add up to less than p;
    the rest zero; each row renormalized to sum to 1."""
    raise NotImplementedError("exercise 7.3: write top_p_filter")
