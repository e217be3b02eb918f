"""Lesson 7 checks: the warmup-cosine schedule against minilm's, and the top-k and top-p filters against
hand-computed rows (and sample_next's behaviour)."""
import numpy as np

from minilm.course.checking import expect, expect_close
from minilm.optim import cosine_with_warmup


def check_warmup_cosine(ex):
    """warmup_cosine equals minilm's cosine_with_warmup at every step of a schedule"""
    for step in range(0, 130):
        want = cosine_with_warmup(step, 1e-3, 10, 100, 1e-4)
        expect_close(ex.warmup_cosine(step, 1e-3, 10, 100, 1e-4), want, f"the learning rate at step {step}",
                     check_warmup_cosine.hint, atol=1e-12, rtol=1e-9)


check_warmup_cosine.hint = ("three cases: step < warmup_steps, step >= decay_steps, and the cosine part with "
                            "progress = (step - warmup_steps) / (decay_steps - warmup_steps)")
check_warmup_cosine.hint_zh = ("分三种情况：step < warmup_steps、step >= decay_steps，以及余弦部分，其中 "
                               "progress = (step - warmup_steps) / (decay_steps - warmup_steps)")


def check_top_k_filter(ex):
    """top_k_filter keeps exactly the k largest logits of each row"""
    logits = np.array([[1.0, 5.0, 3.0, 2.0, 4.0], [0.5, -1.0, 2.0, 0.0, 1.0]])
    got = np.asarray(ex.top_k_filter(logits.copy(), 2))
    want = np.array([[-np.inf, 5.0, -np.inf, -np.inf, 4.0], [-np.inf, -np.inf, 2.0, -np.inf, 1.0]])
    expect(got.shape == want.shape and np.array_equal(got, want), f"top_k_filter(k=2) gave\n{got}\nexpected\n{want}",
           check_top_k_filter.hint)
    expect(np.array_equal(np.asarray(ex.top_k_filter(logits.copy(), 5)), logits), "k = V must keep every logit",
           check_top_k_filter.hint)


check_top_k_filter.hint = ("the k-th largest of each row is np.sort(logits, axis=-1)[:, -k] (keep it as a column "
                           "with [:, None]); np.where(logits < kth, -np.inf, logits)")
check_top_k_filter.hint_zh = ("每一行第 k 大的值是 np.sort(logits, axis=-1)[:, -k]（用 [:, None] 保持为列）；"
                              "np.where(logits < kth, -np.inf, logits)")


def check_top_p_filter(ex):
    """top_p_filter keeps the nucleus of each row, always the most likely token, and renormalizes"""
    probs = np.array([[0.1, 0.5, 0.05, 0.25, 0.1], [0.9, 0.04, 0.03, 0.02, 0.01]])
    got = np.asarray(ex.top_p_filter(probs.copy(), 0.8))
    # row 0: 0.5, 0.25 reach 0.75 < 0.8, so the next (a 0.1, the first of the tie in argsort order) stays
    want = np.array([[0.0, 0.5, 0.0, 0.25, 0.1], [0.9, 0.0, 0.0, 0.0, 0.0]])
    want /= want.sum(axis=1, keepdims=True)
    tie = np.array([[0.1, 0.5, 0.0, 0.25, 0.0]]) / 0.85
    ok_first = np.allclose(got[:1], want[:1]) or np.allclose(got[:1], tie)
    expect(ok_first and np.allclose(got[1:], want[1:]), f"top_p_filter(p=0.8) gave\n{np.round(got, 4)}\nexpected\n"
           f"{np.round(want, 4)}", check_top_p_filter.hint)
    expect_close(np.asarray(ex.top_p_filter(probs.copy(), 1.0)), probs, "p = 1 keeps the whole distribution",
                 check_top_p_filter.hint)


check_top_p_filter.hint = ("order = np.argsort(-probs, axis=-1); sorted = np.take_along_axis(probs, order, -1); drop where "
                           "np.cumsum(sorted, -1) - sorted >= p; put back with np.put_along_axis; divide by the row sums")
check_top_p_filter.hint_zh = ("order = np.argsort(-probs, axis=-1)；sorted = np.take_along_axis(probs, order, -1)；在 "
                              "np.cumsum(sorted, -1) - sorted >= p 处丢弃；用 np.put_along_axis 放回；再除以每行之和")
