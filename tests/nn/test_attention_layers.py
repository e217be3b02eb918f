"""Scaled dot-product attention and multi-head attention.

The fused op is checked three ways: against the same math composed from
primitives (matmul, masked_fill, softmax), against PyTorch (fixture), and by
gradcheck. Masks: causal, bool (True = may attend), float (added), padding.
"""
import numpy as np
import pytest

import minilm
import minilm.functional as F
from minilm import nn
from helpers import fixture, t64

R = np.random.default_rng(5)


def composite(q, k, v, allowed=None, additive=None, scale=None):
    """softmax(q k^T * scale + mask) v from primitive ops: the reference for the fused node."""
    s = (q @ k.transpose(-2, -1)) * (scale if scale is not None else 1 / np.sqrt(q.shape[-1]))
    if additive is not None:
        s = s + additive
    if allowed is not None:
        s = s.masked_fill(~np.broadcast_to(allowed, s.shape), -np.inf)
    return F.softmax(s, dim=-1) @ v


def assert_same(fused, reference, inputs, atol=1e-10):
    """Same output and the same gradients for a random output gradient."""
    y1, y2 = fused(*inputs), reference(*inputs)
    np.testing.assert_allclose(y1.numpy(), y2.numpy(), atol=atol)
    gy = R.standard_normal(y1.shape)
    grads = []
    for y in (fused(*inputs), reference(*inputs)):
        for x in inputs:
            x.grad = None
        y.backward(gy)
        grads.append([x.grad.copy() for x in inputs])
    for g1, g2 in zip(*grads):
        np.testing.assert_allclose(g1, g2, atol=atol)


def qkv(Tq=4, Tk=4, lead=(2, 3), hs=5, hv=5):
    return (t64(R.standard_normal((*lead, Tq, hs))), t64(R.standard_normal((*lead, Tk, hs))),
            t64(R.standard_normal((*lead, Tk, hv))))


@pytest.mark.parametrize("reference", [False, True])
def test_fused_matches_composite_causal_and_plain(reference):
    """The fast path (minilm/fast/attention.py on the CPU) and the reference op alike."""
    causal = np.tril(np.ones((6, 6), bool))
    with minilm.reference_ops(reference):
        assert_same(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
                    lambda q, k, v: composite(q, k, v, causal), qkv(6, 6))
        assert_same(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, scale=0.3),
                    lambda q, k, v: composite(q, k, v, scale=0.3), qkv(3, 7, hv=2))


def test_fused_matches_composite_with_masks():
    allowed = R.random((2, 1, 4, 6)) > 0.4
    allowed[..., 0] = True                                    # every query sees some key
    assert_same(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=allowed),
                lambda q, k, v: composite(q, k, v, allowed), qkv(4, 6))
    additive = R.standard_normal((4, 6))
    assert_same(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=additive),
                lambda q, k, v: composite(q, k, v, additive=additive), qkv(4, 6))


def test_causal_with_fewer_queries_than_keys_is_aligned_to_the_last_keys():
    """KV-cache decoding: 2 new queries after 4 cached keys see keys 0..4 and 0..5."""
    allowed = np.tril(np.ones((2, 6), bool), k=4)
    assert_same(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
                lambda q, k, v: composite(q, k, v, allowed), qkv(2, 6))


def test_gradcheck_causal_masked_and_cross_attention():
    q, k, v = (t64(R.standard_normal(s)) for s in [(1, 2, 3, 4), (1, 2, 5, 4), (1, 2, 5, 3)])
    sdpa = F.scaled_dot_product_attention
    assert minilm.gradcheck(lambda q, k, v: sdpa(q, k, v), [q, k, v])                      # Tq != Tk
    assert minilm.gradcheck(lambda q, k, v: sdpa(q, k, v, is_causal=True), [q, k, v])
    mask = np.array([True, False, True, True, False])                                   # broadcasts over rows
    assert minilm.gradcheck(lambda q, k, v: sdpa(q, k, v, attn_mask=mask), [q, k, v])
    bias = R.standard_normal((3, 5))
    assert minilm.gradcheck(lambda q, k, v: sdpa(q, k, v, attn_mask=bias, scale=0.5), [q, k, v])


def test_dropout_is_seeded_and_differentiable():
    q, k, v = qkv(4, 4)

    def attention(q, k, v):
        minilm.manual_seed(3)                                 # the same dropout mask on every call
        return F.scaled_dot_product_attention(q, k, v, dropout_p=0.3)

    np.testing.assert_array_equal(attention(q, k, v).numpy(), attention(q, k, v).numpy())
    assert not np.allclose(attention(q, k, v).numpy(), F.scaled_dot_product_attention(q, k, v).numpy())
    assert minilm.gradcheck(attention, [q, k, v])


def test_matches_pytorch():
    d = fixture("attn_sdpa.safetensors")
    for name, kw in [("plain", {}), ("causal", {"is_causal": True}), ("bool", {}), ("float", {}),
                     ("scale", {"scale": 0.7})]:
        if f"{name}.mask" in d:
            mask = d[f"{name}.mask"]
            kw["attn_mask"] = mask.astype(bool) if mask.dtype == np.uint8 else mask
        q, k, v = (minilm.tensor(d[f"{name}.{x}"], requires_grad=True) for x in "qkv")
        y = F.scaled_dot_product_attention(q, k, v, **kw)
        np.testing.assert_allclose(y.numpy(), d[f"{name}.y"], atol=1e-5, err_msg=name)
        y.backward(d[f"{name}.gy"])
        for x, t in zip("qkv", (q, k, v)):
            np.testing.assert_allclose(t.grad, d[f"{name}.d{x}"], atol=1e-5, err_msg=f"{name} d{x}")


def test_errors_name_the_shapes():
    q, k, v = qkv(4, 6)
    with pytest.raises(ValueError, match=r"attn_mask of shape \(3, 6\)"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=np.ones((3, 6), bool))
    with pytest.raises(ValueError, match="do not fit"):
        F.scaled_dot_product_attention(q, k, qkv(4, 5)[2])


# ---------------------------------------------------------------- nn.MultiheadAttention
def f64(module):
    module.to(dtype=np.float64)
    for p in module.parameters():                             # random, non-zero weights and biases
        p.data[...] = R.uniform(-0.5, 0.5, p.shape)
    return module


def test_multihead_self_and_cross_attention_gradcheck():
    mha = f64(nn.MultiheadAttention(8, 2))
    x, mem = t64(R.standard_normal((2, 4, 8))), t64(R.standard_normal((2, 5, 8)))
    params = list(mha.parameters())
    assert minilm.gradcheck(lambda x, *p: mha(x, x, x, is_causal=True)[0], [x] + params)
    pad = np.array([[False, False, False, True, True], [False] * 5])
    assert minilm.gradcheck(lambda x, m, *p: mha(x, m, m, key_padding_mask=pad)[0], [x, mem] + params,
                            mode="directional")
    other = t64(R.standard_normal((2, 5, 8)))                 # key and value from different sequences
    assert minilm.gradcheck(lambda x, m, o, *p: mha(x, m, o)[0], [x, mem, other] + params, mode="directional")


def test_multihead_attention_matches_pytorch():
    d = fixture("attn_mha.safetensors")
    mha = nn.MultiheadAttention(8, 2)
    mha.load_state_dict({k[len("mha.state."):]: v for k, v in d.items() if k.startswith("mha.state.")})
    x, mem, pad = minilm.tensor(d["x"]), minilm.tensor(d["memory"]), d["pad"].astype(bool)
    causal = np.triu(np.ones((4, 4), bool), 1)                # True = may not attend, as in PyTorch
    np.testing.assert_allclose(mha(x, x, x, attn_mask=causal)[0].numpy(), d["y_self"], atol=1e-5)
    np.testing.assert_allclose(mha(x, x, x, is_causal=True)[0].numpy(), d["y_self"], atol=1e-5)
    np.testing.assert_allclose(mha(x, mem, mem, key_padding_mask=pad)[0].numpy(), d["y_cross"], atol=1e-5)
    # a float mask of 0 / -inf means the same as the bool one
    float_mask = np.where(causal, -np.inf, 0.0).astype(np.float32)
    np.testing.assert_allclose(mha(x, x, x, attn_mask=float_mask)[0].numpy(), d["y_self"], atol=1e-5)


def test_padding_mask_hides_keys_and_sequence_first_layout():
    mha = nn.MultiheadAttention(8, 2)
    x = minilm.tensor(R.standard_normal((1, 4, 8)).astype(np.float32))
    mem = R.standard_normal((1, 5, 8)).astype(np.float32)
    pad = np.array([[False, False, False, True, True]])
    a = mha(x, minilm.tensor(mem), minilm.tensor(mem), key_padding_mask=pad)[0].numpy()
    mem[0, 3:] = 100.0                                        # change only the padded keys
    b = mha(x, minilm.tensor(mem), minilm.tensor(mem), key_padding_mask=pad)[0].numpy()
    np.testing.assert_allclose(a, b, atol=1e-6)
    seq_first = nn.MultiheadAttention(8, 2, batch_first=False)
    seq_first.load_state_dict(mha.state_dict())
    m = minilm.tensor(mem)
    y, weights = seq_first(x.transpose(0, 1), m.transpose(0, 1), m.transpose(0, 1), key_padding_mask=pad)
    assert weights is None
    np.testing.assert_allclose(y.numpy().transpose(1, 0, 2), b, atol=1e-6)


def test_multihead_attention_errors():
    with pytest.raises(ValueError, match="not divisible"):
        nn.MultiheadAttention(10, 3)
    mha = nn.MultiheadAttention(8, 2)
    with pytest.raises(ValueError, match=r"query must be \(B, T, 8\).*\(2, 4, 6\)"):
        x = minilm.tensor(np.zeros((2, 4, 6), np.float32))
        mha(x, x, x)
