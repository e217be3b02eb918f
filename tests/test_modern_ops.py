"""RMSNorm, SiLU, rotary embeddings and grouped-query attention: gradients, composites, references.

The references (fixtures/hf/ops.safetensors, made by fixtures/make_hf_fixtures.py) are
torch.nn.functional.rms_norm, the transformers Llama rotary embedding and PyTorch's
scaled_dot_product_attention with enable_gqa.
"""
import os

import numpy as np
import pytest

import minilm
import minilm.functional as F
from helpers import FIXTURES, t64
from minilm import nn

R = np.random.default_rng(3)
OPS = minilm.load(os.path.join(FIXTURES, "hf", "ops.safetensors"))


def rand(*shape):
    return t64(R.standard_normal(shape))


# ---------------------------------------------------------------- gradients in float64
def test_rms_norm_gradcheck_with_and_without_weight():
    x, w = rand(2, 3, 6), rand(6)
    assert minilm.gradcheck(lambda x, w: F.rms_norm(x, 6, w, 1e-5), [x, w])
    assert minilm.gradcheck(lambda x: F.rms_norm(x, (3, 6), eps=1e-5), [x])


def test_silu_gradcheck_and_values():
    x = rand(4, 5)
    assert minilm.gradcheck(F.silu, [x])
    np.testing.assert_allclose(F.silu(x).numpy(), x.numpy() / (1 + np.exp(-x.numpy())), rtol=1e-12)
    np.testing.assert_allclose(nn.SiLU()(x).numpy(), F.silu(x).numpy())


def test_swiglu_gradcheck_and_equal_to_its_three_ops():
    """The fused gated unit (and its fast path) against split, SiLU and Mul: values and gradients, float64."""
    assert minilm.gradcheck(F.swiglu, [rand(2, 3, 8)])
    with minilm.reference_ops():
        assert minilm.gradcheck(F.swiglu, [rand(2, 3, 8)])
    h, weights = rand(3, 5, 14), t64(R.standard_normal((3, 5, 7)), requires_grad=False)
    gate, up = F.split(h, 7, dim=-1)
    composite = F.silu(gate) * up
    (composite * weights).sum().backward()
    expected, h.grad = h.grad, None
    fused = F.swiglu(h)
    (fused * weights).sum().backward()
    np.testing.assert_allclose(fused.numpy(), composite.numpy(), rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(h.grad, expected, rtol=1e-13, atol=1e-14)
    with pytest.raises(ValueError, match="even last axis"):
        F.swiglu(rand(2, 5))


def test_rotary_gradcheck_with_an_offset():
    rope = nn.RotaryEmbedding(8, theta=100.0)
    assert minilm.gradcheck(lambda x: rope(x, offset=5), [rand(2, 3, 4, 8)])


def test_grouped_query_attention_gradcheck():
    q, k, v = rand(2, 4, 5, 3), rand(2, 2, 5, 3), rand(2, 2, 5, 3)
    assert minilm.gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True), [q, k, v])
    k1, v1 = rand(2, 1, 5, 3), rand(2, 1, 5, 3)                          # multi-query
    assert minilm.gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v), [q, k1, v1])


# ---------------------------------------------------------------- fused against composite
def values_and_grads(fn, inputs, g):
    for x in inputs:
        x.grad = None
    out = fn(*inputs)
    (out * t64(g, False)).sum().backward()
    return [out.numpy()] + [x.grad.copy() for x in inputs]


def test_rms_norm_equals_its_composite():
    x, w = rand(4, 7), rand(7)
    g = R.standard_normal((4, 7))
    fused = values_and_grads(lambda x, w: F.rms_norm(x, 7, w, 1e-6), [x, w], g)
    composite = values_and_grads(lambda x, w: x / ((x * x).mean(-1, keepdim=True) + 1e-6).sqrt() * w, [x, w], g)
    for a, b in zip(fused, composite):
        np.testing.assert_allclose(a, b, atol=1e-12)


def test_rotary_equals_its_composite_rotation_of_channel_pairs():
    """Pair (i, i + hs/2) rotated by position * theta^(-2i/hs): the 2-D rotation written out."""
    x, hs, theta = rand(1, 2, 5, 6), 6, 10.0
    g = R.standard_normal((1, 2, 5, 6))
    angles = np.arange(5)[:, None] * theta ** (-np.arange(0, hs, 2) / hs)          # (T, hs/2)
    c, s = t64(np.cos(angles), False), t64(np.sin(angles), False)

    def composite(x):
        x1, x2 = x[..., :3], x[..., 3:]
        return F.cat([x1 * c - x2 * s, x2 * c + x1 * s], dim=-1)
    fused = values_and_grads(lambda x: nn.RotaryEmbedding(hs, theta)(x), [x], g)
    for a, b in zip(fused, values_and_grads(composite, [x], g)):
        np.testing.assert_allclose(a, b, atol=1e-12)


def test_rotary_scores_depend_only_on_the_distance():
    rope = nn.RotaryEmbedding(8)
    q, k = rand(1, 1, 1, 8), rand(1, 1, 1, 8)
    scores = [(rope(q, m).numpy() * rope(k, m + 3).numpy()).sum() for m in (0, 7, 20)]
    np.testing.assert_allclose(scores, scores[0], rtol=1e-10)


@pytest.mark.parametrize("mask", [None, "per-head bool", "shared float"])
def test_grouped_query_attention_equals_repeated_heads(mask):
    q, k, v = rand(2, 6, 4, 3), rand(2, 3, 5, 3), rand(2, 3, 5, 3)
    g = R.standard_normal((2, 6, 4, 3))
    attn_mask = {None: None, "per-head bool": R.random((2, 6, 4, 5)) > 0.3,
                 "shared float": np.where(R.random((4, 5)) > 0.3, 0.0, -np.inf)}[mask]
    if attn_mask is not None and mask == "per-head bool":
        attn_mask[..., 0] = True                                         # every query sees a key

    def repeated(q, k, v):
        k, v = (F.cat([t[:, i:i + 1] for i in range(3) for _ in range(2)], dim=1) for t in (k, v))
        return F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, is_causal=mask is None)
    grouped = values_and_grads(lambda q, k, v: F.scaled_dot_product_attention(
        q, k, v, attn_mask=attn_mask, is_causal=mask is None), [q, k, v], g)
    for a, b in zip(grouped, values_and_grads(repeated, [q, k, v], g)):
        np.testing.assert_allclose(a, b, atol=1e-12)


def test_grouped_query_attention_rejects_heads_that_do_not_divide():
    with pytest.raises(ValueError, match="dividing q's"):
        F.scaled_dot_product_attention(rand(1, 4, 3, 2), rand(1, 3, 3, 2), rand(1, 3, 3, 2))


# ---------------------------------------------------------------- the PyTorch / transformers references
def test_rms_norm_matches_torch():
    x, w = t64(OPS["rms.x"]), t64(OPS["rms.w"])
    out = values_and_grads(lambda x, w: F.rms_norm(x, (8,), w, 1e-6), [x, w], OPS["rms.g"])
    for ours, name in zip(out, ("rms.y", "rms.dx", "rms.dw")):
        np.testing.assert_allclose(ours, OPS[name], rtol=1e-12, atol=1e-12)
    x = minilm.tensor(OPS["rms_default_eps.x"])                          # float32, eps = float32's epsilon
    np.testing.assert_allclose(nn.RMSNorm(6, elementwise_affine=False)(x).numpy(), OPS["rms_default_eps.y"],
                               rtol=1e-6)


def test_rotary_matches_transformers_llama():
    rope = nn.RotaryEmbedding(8, theta=float(OPS["rope.theta"]))
    for name in ("q", "k"):
        ours = rope(minilm.tensor(OPS[f"rope.{name}"]), offset=3).numpy()
        np.testing.assert_allclose(ours, OPS[f"rope.{name}_rot"], rtol=1e-5, atol=1e-6)


def test_grouped_query_attention_matches_torch_enable_gqa():
    q, k, v = (t64(OPS[f"gqa.{n}"]) for n in "qkv")
    out = values_and_grads(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
                           [q, k, v], OPS["gqa.g"])
    for ours, name in zip(out, ("gqa.o", "gqa.dq", "gqa.dk", "gqa.dv")):
        np.testing.assert_allclose(ours, OPS[name], rtol=1e-10, atol=1e-12)
