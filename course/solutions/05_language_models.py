"""Lesson 5: reference solutions."""
import numpy as np

from minilm.autograd import Function


def bigram_log_probs(ids, vocab_size, alpha=1.0):
    """(V, V) array: row a, column b is log p(b | a) = log((count(a b) + alpha) / (count(a) + alpha V)),
    counting the adjacent pairs of the 1-D integer array ids."""
    counts = np.zeros((vocab_size, vocab_size))
    np.add.at(counts, (ids[:-1], ids[1:]), 1)
    smoothed = counts + alpha
    return np.log(smoothed / smoothed.sum(axis=1, keepdims=True))


class RNNStep(Function):
    """h' = tanh(x w_ih^T + h w_hh^T + b);  x (B, I), h (B, H), w_ih (H, I), w_hh (H, H), b (H,)."""

    def forward(self, x, h, w_ih, w_hh, b):
        self.saved = x, h, w_ih, w_hh
        self.h_next = np.tanh(x @ w_ih.T + h @ w_hh.T + b)
        return self.h_next

    def backward(self, gy):
        """(dL/dx, dL/dh, dL/dw_ih, dL/dw_hh, dL/db) given gy = dL/dh'."""
        x, h, w_ih, w_hh = self.saved
        da = gy * (1 - self.h_next ** 2)
        return da @ w_ih, da @ w_hh, da.T @ x, da.T @ h, da.sum(axis=0)


def stream_windows(tokens, batch_size, bptt):
    """[(x, y), ...] for one pass over batch_size streams of tokens, windows of bptt tokens, as
    minilm.data.StreamBatcher makes them (x, y: int arrays (batch_size, bptt))."""
    stream_len = (len(tokens) - 1) // batch_size
    out = []
    for k in range((stream_len - 1) // bptt):
        starts = np.arange(batch_size) * stream_len + k * bptt
        rows = np.stack([tokens[s:s + bptt + 1] for s in starts])
        out.append((rows[:, :-1], rows[:, 1:]))
    return out
