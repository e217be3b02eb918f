"""Masked-language-model inputs: BERT's 80/10/10 rule (Devlin et al., 2018).

Each position that is not a special token ([CLS], [SEP], [PAD], ...) is
chosen independently with probability p (15 %). The model must predict the
original token at every chosen position, from an input in which a chosen
position has become

    [MASK]            with probability 0.8
    a random token    with probability 0.1    (so the model cannot trust an unmasked token blindly)
    itself            with probability 0.1    (so the representation of a real token stays useful)

labels hold the original id at chosen positions and -100 everywhere else,
the ignore_index of cross_entropy: the loss counts only the chosen ones.
Random replacements are drawn uniformly from the ordinary tokens (never a
special token or [MASK]). Masking anew each time a batch is drawn (dynamic
masking, as RoBERTa does) shows the model different blanks in every epoch.
"""
import numpy as np

IGNORE = -100


def mask_tokens(ids, mask_id, vocab_size, p=0.15, special_ids=(), seed=None):
    """(inputs, labels), int64 arrays of ids' shape; seed: an int, a np.random.Generator, or None."""
    ids = np.asarray(ids.numpy() if hasattr(ids, "numpy") else ids)
    if ids.dtype.kind not in "iu":
        raise ValueError(f"mask_tokens needs integer token ids, got an array of {ids.dtype}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"mask_tokens: p is the probability of choosing a position, in [0, 1]; got {p}")
    if ids.size and (ids.min() < 0 or ids.max() >= vocab_size):
        raise ValueError(f"mask_tokens: ids must lie in [0, {vocab_size}) for vocab_size {vocab_size}, "
                         f"got ids from {ids.min()} to {ids.max()}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    special = sorted(set(int(i) for i in special_ids) | {int(mask_id)})
    ordinary = np.setdiff1d(np.arange(vocab_size), special)          # what a random replacement may be
    if len(ordinary) == 0:
        raise ValueError(f"mask_tokens: every one of the {vocab_size} ids is special; no token can be predicted")
    chosen = (rng.random(ids.shape) < p) & ~np.isin(ids, special)
    labels = np.where(chosen, ids, IGNORE).astype(np.int64)
    inputs = ids.astype(np.int64)                                    # (a copy: ids stay as they were)
    rule = rng.random(ids.shape)
    inputs[chosen & (rule < 0.8)] = mask_id
    randomised = chosen & (rule >= 0.8) & (rule < 0.9)
    inputs[randomised] = rng.choice(ordinary, int(randomised.sum()))
    return inputs, labels
