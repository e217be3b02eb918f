"""Decoding one token at a time with a key/value cache, with room to put tokens in between.

    decoding = Decoding(model, prompt_ids)           the prompt (B, T) in one forward pass
    while ...:
        next_ids = decoding.sample(temperature, top_k, top_p, rng)   (B,) drawn from the last logits
        decoding.feed(next_ids[:, None])             appended: one forward of the new token(s)

GPT.generate is this loop. A chat (minilm/chat/reply.py) feeds more than what it
samples: when the model closes a calculator call, the engine feeds the tool's output
tokens and sampling goes on after them, all through the same cache.

Each feed runs the model on the new tokens only: their queries attend to the
cached keys and values of everything before (gpt.py's KVCache). The cache holds at
most block_size positions; when the new tokens would not fit, it restarts from the
last block_size // 2 tokens (one full forward), so long generations go on with a
sliding context at the price of one recomputation every block_size // 2 tokens.
"""
import numpy as np

from ..tensor import Tensor
from .sampling import inference, sample_next


class Decoding:
    """The ids so far (B, T), the model's per-layer caches, and how many of the ids the model has not seen."""

    def __init__(self, model, idx):
        self.model, self.window = model, model.config.block_size
        self.idx = np.asarray(idx.numpy() if isinstance(idx, Tensor) else idx)          # (B, T)
        self.caches, self.unseen, self.last_logits = None, self.idx.shape[1], None

    def feed(self, new_ids):
        """Append ids (B, t); the model reads them at the next sample()."""
        self.idx = np.concatenate([self.idx, np.asarray(new_ids, dtype=self.idx.dtype)], axis=1)
        self.unseen += np.shape(new_ids)[1]

    def sample(self, temperature=1.0, top_k=None, top_p=None, rng=None, vocab_size=None):
        """Token ids (B,) drawn from the logits after the last id (only ids below vocab_size); not yet fed."""
        if self.unseen:
            self._forward_unseen()
        return sample_next(self.last_logits[:, :vocab_size], temperature, top_k, top_p, rng).astype(self.idx.dtype)

    def _forward_unseen(self):
        if self.caches is None or self.caches[0].length + self.unseen > self.window:
            self.caches = self.model.new_caches()                        # restart on the latest tokens
            context = self.idx[:, -(self.window // 2 if self.idx.shape[1] >= self.window else self.window):]
        else:
            context = self.idx[:, -self.unseen:]                         # (B, t): the rest is cached
        with inference(self.model):
            logits, _ = self.model(Tensor(context, device=self.model.device), caches=self.caches)   # (B, t, V)
        last = logits.data[:, -1, :]                                     # (B, V)
        self.last_logits = last.get() if hasattr(last, "get") else last  # CuPy -> NumPy
        self.unseen = 0
