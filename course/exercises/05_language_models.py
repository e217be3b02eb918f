"""Lesson 5 exercises: replace each `raise NotImplementedError`, then run `minilm course check 5`."""
import numpy as np

from minilm.autograd import Function


def bigram_log_probs(ids, vocab_size, alpha=1.0):
    """(V, V) array: row a, column b is log p(b | a) = log((count(a b) + alpha) / (count(a) + alpha V)),
    counting the adjacent pairs of the 1-D integer array ids."""
    raise NotImplementedError("exercise 5.1: write bigram_log_probs")


class RNNStep(Function):
    """h' = tanh(x w_ih^T + h w_hh^T + b);  x (B, I), h (B, H), w_ih (H, I), w_hh (H, H), b (H,)."""

    def forward(self, x, h, w_ih, w_hh, b):
        raise NotImplementedError("exercise 5.2: write RNNStep.forward")

    def backward(self, gy):
        """(dL/dx, dL/dh, dL/dw_ih, dL/dw_hh, dL/db) given gy = dL/dh'."""
        raise NotImplementedError("exercise 5.2: write RNNStep.backward")


def stream_windows(tokens, batch_size, bptt):
    """[(x, y), ...] for one pass over batch_size streams of tokens, windows of bptt tokens, as
    minilm.data.StreamBatcher makes them (x, y: int arrays (batch_size, bptt))."""
    raise NotImplementedError("exercise 5.3: write stream_windows")
