"""Lesson 6 checks: causal attention forward and backward against minilm's op, and RoPE against
minilm's RotaryEmbedding (plus the relative-position property)."""
import numpy as np

import minilm
import minilm.functional as F
from minilm.course.checking import expect, expect_close
from minilm.nn import RotaryEmbedding


def _qkv(seed, shape=(2, 3, 6, 4)):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape) for _ in range(3)]


def check_causal_attention(ex):
    """causal_attention matches minilm's, and changing a later position changes no earlier output"""
    q, k, v = _qkv(10)
    want = F.scaled_dot_product_attention(*[minilm.tensor(a) for a in (q, k, v)], is_causal=True)
    got = np.asarray(ex.causal_attention(q, k, v))
    expect_close(got, want, "the attention output", check_causal_attention.hint)
    k2, v2 = k.copy(), v.copy()
    k2[..., 4:, :] += 5.0
    v2[..., 4:, :] -= 3.0
    changed = np.asarray(ex.causal_attention(q, k2, v2))
    expect(np.allclose(changed[..., :4, :], got[..., :4, :]), "changing keys and values at positions 4 and 5 "
           "changed the output at earlier positions: the future is not masked", check_causal_attention.hint)


check_causal_attention.hint = ("scores = q @ k^T / sqrt(hs) (swap the last two axes of k); set scores[t, j] = -inf for "
                               "j > t (np.tril of ones gives the allowed part); softmax over the last axis; then @ v")
check_causal_attention.hint_zh = ("scores = q @ k^T / sqrt(hs)（交换 k 的最后两个轴）；对 j > t 令 scores[t, j] = -inf"
                                  "（np.tril 得到允许的部分）；沿最后一个轴做 softmax；再乘以 v")


def check_causal_attention_backward(ex):
    """causal_attention_backward's dQ, dK, dV match minilm's attention backward"""
    q, k, v = _qkv(11)
    do = np.random.default_rng(12).standard_normal(q.shape)
    tensors = [minilm.tensor(a, requires_grad=True) for a in (q, k, v)]
    F.scaled_dot_product_attention(*tensors, is_causal=True).backward(minilm.tensor(do))
    got = ex.causal_attention_backward(q, k, v, do)
    for name, g, t in zip(["dQ", "dK", "dV"], got, tensors):
        expect_close(g, t.grad, name, check_causal_attention_backward.hint)


check_causal_attention_backward.hint = ("recompute P; dV = P^T dO; dP = dO v^T; dS = P * (dP - sum(dP * P, last axis)); "
                                        "dQ = dS k / sqrt(hs); dK = dS^T q / sqrt(hs) (masked entries have P = 0, "
                                        "so they need no special case)")
check_causal_attention_backward.hint_zh = ("重新计算 P；dV = P^T dO；dP = dO v^T；dS = P * (dP - sum(dP * P, 最后一个轴))；"
                                           "dQ = dS k / sqrt(hs)；dK = dS^T q / sqrt(hs)（被遮住的位置 P = 0，无需特殊处理）")


def check_rope(ex):
    """rope matches minilm's RotaryEmbedding, and q.k after rotation depends only on the distance"""
    x = np.random.default_rng(13).standard_normal((2, 7, 8))
    want = RotaryEmbedding(8, 100.0)(minilm.tensor(x))
    expect_close(ex.rope(x, 100.0), want, "rope(x, base=100)", check_rope.hint)
    q, k = np.random.default_rng(14).standard_normal((2, 8))
    same_q, same_k = np.tile(q, (7, 1)), np.tile(k, (7, 1))             # the same q and k at every position
    rq, rk = np.asarray(ex.rope(same_q, 100.0)), np.asarray(ex.rope(same_k, 100.0))
    expect(np.isclose(rq[1] @ rk[3], rq[3] @ rk[5]), "the score of positions (1, 3) differs from (3, 5): "
           "with the right rotation it depends only on the distance", check_rope.hint)


check_rope.hint = ("angles = outer(arange(T), base ** (-arange(0, hs, 2) / hs)), then concatenated with itself to "
                   "(T, hs); rotate_half(x) = concatenate([-x[..., hs//2:], x[..., :hs//2]], axis=-1)")
check_rope.hint_zh = ("angles = outer(arange(T), base ** (-arange(0, hs, 2) / hs))，再与自身拼接成 (T, hs)；"
                      "rotate_half(x) = concatenate([-x[..., hs//2:], x[..., :hs//2]], axis=-1)")
