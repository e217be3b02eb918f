"""Choosing the next token from a model's logits.

    temperature  divides the logits: < 1 sharpens the distribution, > 1 flattens it,
                 0 means greedy (always the most likely token)
    top_k        keep only the k most likely tokens
    top_p        keep the smallest set of most likely tokens whose probabilities
                 add up to at least p ("nucleus" sampling, Holtzman et al., 2019)

Everything here runs on NumPy on the host: one (B, V) row of logits per step.
"""
import contextlib

import numpy as np

from ..autograd import no_grad
from ..backend import rng as minilm_rng


def sample_next(logits, temperature=1.0, top_k=None, top_p=None, rng=None):
    """Token ids (B,) drawn from logits (B, V). rng: one generator, or a list of one per row (a server's
    requests, each with its own seed: row b then draws exactly what it would alone)."""
    logits = np.asarray(logits, dtype=np.float64)
    if temperature == 0:
        return logits.argmax(axis=-1)
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    logits = logits / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        kth = np.partition(logits, -top_k, axis=-1)[:, -top_k][:, None]
        logits = np.where(logits < kth, -np.inf, logits)
    probs = np.exp(logits - logits.max(axis=-1, keepdims=True))
    probs /= probs.sum(axis=-1, keepdims=True)
    if top_p is not None and top_p < 1.0:
        order = np.argsort(-probs, axis=-1)
        sorted_probs = np.take_along_axis(probs, order, axis=-1)
        # drop a token when the tokens ranked above it already reach top_p
        drop = np.cumsum(sorted_probs, axis=-1) - sorted_probs >= top_p
        sorted_probs[drop] = 0
        probs = np.zeros_like(probs)
        np.put_along_axis(probs, order, sorted_probs, axis=-1)
        probs /= probs.sum(axis=-1, keepdims=True)
    if isinstance(rng, (list, tuple)):
        u = np.array([[row_rng.random()] for row_rng in rng])
    else:
        u = (rng if rng is not None else np.random.default_rng()).random((probs.shape[0], 1))
    return np.minimum((np.cumsum(probs, axis=-1) < u).sum(axis=-1), probs.shape[-1] - 1)


def generator(seed=None):
    """A generator seeded with seed, or minilm's own (seeded by minilm.manual_seed)."""
    return np.random.default_rng(seed) if seed is not None else minilm_rng()


@contextlib.contextmanager
def inference(model):
    """Evaluation mode (no dropout) and no graph while generating; the mode is restored after."""
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            yield
    finally:
        model.train(was_training)


def append_sample(idx, logits, temperature, top_k, top_p, rng, vocab_size=None):
    """Sample one token per row from the last position of logits (B, T, V); return idx + it, and it.

    vocab_size: sample only ids below it (a padded embedding has rows no tokenizer id names)."""
    last = logits.data[:, -1, :vocab_size]
    last = last.get() if hasattr(last, "get") else last                 # CuPy -> NumPy
    next_ids = sample_next(last, temperature, top_k, top_p, rng)[:, None].astype(idx.dtype)
    return np.concatenate([idx, next_ids], axis=1), next_ids
