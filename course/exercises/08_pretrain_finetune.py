"""Lesson 8 exercises (NumPy only): replace each `raise NotImplementedError`, then run
`minilm course check 8`."""
import numpy as np


def last_token_pool(h, pad_mask):
    """h (B, T, C), pad_mask (B, T) True at padding (after the real tokens) -> (B, C): each row's state at
    its last real token."""
    raise NotImplementedError("exercise 8.1: write last_token_pool")


def precision_recall_f1(predictions, labels):
    """(precision, recall, F1) of binary predictions against labels (1 is the positive class); 0.0 where
    a ratio has nothing to count."""
    raise NotImplementedError("exercise 8.2: write precision_recall_f1")


def mask_tokens(ids, mask_id, vocab_size, p, special_ids, rng):
    """(inputs, labels), int64 arrays of ids' shape: each position whose id is not in special_ids (nor
    mask_id) is chosen with probability p; a chosen one becomes mask_id (80 %), a random id that is not
    special (10 %) or stays (10 %); labels hold the original id where chosen and -100 elsewhere.
    rng is a np.random.Generator."""
    raise NotImplementedError("exercise 8.3: write mask_tokens")
