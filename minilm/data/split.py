"""Train / validation / test splits.

A token stream is cut into contiguous pieces, never shuffled: neighbouring
windows overlap in text, so a shuffled split would leak validation text into
training. Labelled examples are independent, so they are shuffled (with a
seed, for reproducibility) before cutting.
"""
import numpy as np


def split_sizes(n, fractions):
    """(n_train, n_val) for n items; the test split gets the rest."""
    if len(fractions) != 3 or abs(sum(fractions) - 1) > 1e-6 or min(fractions) < 0:
        raise ValueError(f"fractions must be three non-negative numbers adding up to 1, got {fractions}")
    n_train = int(n * fractions[0])
    n_val = int(n * fractions[1])
    return n_train, n_val


def train_val_test_split(data, fractions=(0.9, 0.05, 0.05), shuffle=None, seed=0):
    """(train, val, test). Arrays and strings are cut contiguously; lists are shuffled first.

    `shuffle` defaults to False for an array or string (a token stream) and True
    for a list (labelled examples).
    """
    n_train, n_val = split_sizes(len(data), fractions)
    if shuffle is None:
        shuffle = isinstance(data, list)
    if shuffle:
        order = np.random.default_rng(seed).permutation(len(data))
        data = [data[i] for i in order]
    return data[:n_train], data[n_train:n_train + n_val], data[n_train + n_val:]
