"""Lesson 5 checks: a smoothed bigram model, one RNN step's backward, the windows of truncated BPTT."""
import numpy as np

import minilm
from minilm.course.checking import CheckFailed, expect, expect_close
from minilm.data import StreamBatcher
from minilm.ops.rnn import RNNCell


def check_bigram(ex):
    """bigram_log_probs: a hand-counted case, rows that sum to 1, and smoothing for unseen pairs"""
    ids = np.array([0, 1, 0, 1, 1, 2])
    got = np.asarray(ex.bigram_log_probs(ids, 3, alpha=1.0))
    # pairs: 0->1 twice, 1->0 once, 1->1 once, 1->2 once
    want = np.log(np.array([[1, 3, 1], [2, 2, 2], [1, 1, 1]]) / np.array([[5], [6], [3]]))
    expect_close(got, want, "log p(b | a) for ids [0, 1, 0, 1, 1, 2], alpha = 1", check_bigram.hint)
    rng = np.random.default_rng(8)
    big = np.asarray(ex.bigram_log_probs(rng.integers(0, 7, 200), 7, alpha=0.5))
    expect_close(np.exp(big).sum(axis=1), np.ones(7), "each row's probabilities summed", check_bigram.hint)


check_bigram.hint = ("count pairs with np.add.at(counts, (ids[:-1], ids[1:]), 1), add alpha to every cell, divide "
                     "each row by its sum, take the log")
check_bigram.hint_zh = ("用 np.add.at(counts, (ids[:-1], ids[1:]), 1) 统计相邻对，每个格子加上 alpha，"
                        "每一行除以该行之和，再取对数")


def check_rnn_step(ex):
    """RNNStep's forward matches minilm's RNNCell and its backward passes gradcheck"""
    rng = np.random.default_rng(9)
    x, h = rng.standard_normal((3, 4)), rng.standard_normal((3, 5))
    w_ih, w_hh, b = rng.standard_normal((5, 4)) * 0.5, rng.standard_normal((5, 5)) * 0.5, rng.standard_normal(5)
    arrays = [x, h, w_ih, w_hh, b]
    want = RNNCell()(*[minilm.tensor(a) for a in arrays])
    expect_close(ex.RNNStep()(*[minilm.tensor(a) for a in arrays]), want, "h' = tanh(...)", check_rnn_step.hint)
    try:
        minilm.gradcheck(lambda *xs: ex.RNNStep()(*xs), [minilm.tensor(a, requires_grad=True) for a in arrays])
    except AssertionError as error:
        raise CheckFailed(f"backward: {error} (inputs: 0 x, 1 h, 2 w_ih, 3 w_hh, 4 b)", check_rnn_step.hint) from None


check_rnn_step.hint = ("save x, h, the weights and h' in forward; da = gy * (1 - h'^2); then dx = da @ w_ih, "
                       "dh = da @ w_hh, dw_ih = da.T @ x, dw_hh = da.T @ h, db = da.sum(axis=0)")
check_rnn_step.hint_zh = ("在 forward 中保存 x、h、权重和 h'；da = gy * (1 - h'^2)；然后 dx = da @ w_ih，"
                          "dh = da @ w_hh，dw_ih = da.T @ x，dw_hh = da.T @ h，db = da.sum(axis=0)")


def check_stream_windows(ex):
    """stream_windows gives StreamBatcher's batches, and row b continues where it ended"""
    tokens = np.arange(103) * 7 % 101
    got = ex.stream_windows(tokens, 4, 5)
    batcher = StreamBatcher(tokens, 4, 5)
    expect(len(got) == len(batcher), f"{len(got)} windows, expected {len(batcher)} (stream length "
           f"L = (n - 1) // B = {(len(tokens) - 1) // 4}, windows = (L - 1) // bptt)", check_stream_windows.hint)
    for k, (x, y) in enumerate(got):
        want_x, want_y = batcher.next_batch()
        expect_close(x, want_x.numpy(), f"x of window {k}", check_stream_windows.hint)
        expect_close(y, want_y.numpy(), f"y of window {k}", check_stream_windows.hint)


check_stream_windows.hint = ("L = (len(tokens) - 1) // B; window k of stream b is tokens[b*L + k*T : b*L + k*T + T + 1]; "
                             "x is its first T tokens, y its last T; there are (L - 1) // T windows")
check_stream_windows.hint_zh = ("L = (len(tokens) - 1) // B；第 b 条流的第 k 个窗口是 tokens[b*L + k*T : b*L + k*T + T + 1]；"
                                "x 是它的前 T 个词元，y 是后 T 个；一共 (L - 1) // T 个窗口")
