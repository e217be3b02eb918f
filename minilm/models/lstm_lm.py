"""LSTMLM: a character (or token) language model made of an LSTM (Graves, 2013; char-rnn).

    idx (B, T) -> embedding (B, T, E) -> LSTM, num_layers (B, T, H) -> linear head (B, T, V)

The recurrent layer may also be a GRU or a plain tanh RNN (cell="gru" or
"rnn"; `minilm train --model lstm --cell rnn`), kept under its own name
(model.lstm, model.gru or model.rnn), so the three are one model to compare.
The state is then the tuple (h_n,) instead of (h_n, c_n).

The hidden state carries across calls: pass the state returned by one window
into the next, and consecutive windows of a text read as one long sequence
(truncated backpropagation through time: `detach_state` keeps the values
but cuts the graph, so backward stops at the window's start). With
tie_weights the head reuses the embedding matrix (needs E == H).
"""
import numpy as np

from .. import functional as F
from ..nn import GRU, LSTM, RNN, Dropout, Embedding, Linear, Module
from ..tensor import Tensor
from .sampling import append_sample, generator, inference


CELLS = {"lstm": LSTM, "gru": GRU, "rnn": RNN}


class LSTMLM(Module):
    def __init__(self, vocab_size, embedding_dim=128, hidden_size=256, num_layers=2, dropout=0.0,
                 tie_weights=False, cell="lstm"):
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {', '.join(map(repr, CELLS))}, got {cell!r}")
        self.vocab_size, self.cell = vocab_size, cell
        self.embedding = Embedding(vocab_size, embedding_dim)
        self.drop = Dropout(dropout)
        setattr(self, cell, CELLS[cell](embedding_dim, hidden_size, num_layers, batch_first=True, dropout=dropout))
        self.head = Linear(hidden_size, vocab_size)
        if tie_weights:
            if embedding_dim != hidden_size:
                raise ValueError(f"tie_weights needs embedding_dim == hidden_size, got {embedding_dim} "
                                 f"and {hidden_size}")
            self.head.weight = self.embedding.weight

    @property
    def recurrent(self):
        return getattr(self, self.cell)

    def forward(self, idx, targets=None, state=None):
        """(logits (B, T, V), loss or None, state (h_n, c_n) or (h_n,)) for ids (B, T)."""
        idx = idx if isinstance(idx, Tensor) else Tensor(np.asarray(idx))
        x = self.drop(self.embedding(idx))                               # (B, T, E)
        hx = state if self.cell == "lstm" or state is None else state[0]   # the LSTM's is (h, c), the others' h
        y, state = self.recurrent(x, hx)                                 # (B, T, H)
        if self.cell != "lstm":
            state = (state,)
        logits = self.head(self.drop(y))                                 # (B, T, V)
        loss = None
        if targets is not None:
            B, T = idx.shape
            targets = targets.data if isinstance(targets, Tensor) else np.asarray(targets)
            loss = F.cross_entropy(logits.reshape(B * T, self.vocab_size), targets.reshape(B * T))
        return logits, loss, state

    @staticmethod
    def detach_state(state):
        return tuple(s.detach() for s in state) if state is not None else None

    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None, top_p=None, seed=None, vocab_size=None):
        """Read the prompt once, then feed one token at a time, carrying (h, c): O(1) per token."""
        idx = np.asarray(idx.numpy() if isinstance(idx, Tensor) else idx)
        rng = generator(seed)
        with inference(self):
            logits, _, state = self(Tensor(idx, device=self.device))
            for _ in range(max_new_tokens):
                idx, next_ids = append_sample(idx, logits, temperature, top_k, top_p, rng, vocab_size)
                logits, _, state = self(Tensor(next_ids.astype(np.int64), device=self.device), state=state)
        return idx
