"""Each fused op equals the same function composed from primitive ops, in value and gradient."""
import numpy as np
import pytest

import minilm
import minilm.functional as F
from helpers import t64

R = np.random.default_rng(2)


def values_and_grads(fn, inputs):
    for x in inputs:
        x.grad = None
    out = fn(*inputs)
    (out * t64(R.standard_normal(out.shape), False) if out.ndim else out).sum().backward()
    return out.numpy(), [x.grad.copy() for x in inputs]


def assert_same(fused, composite, inputs, atol=1e-10):
    rng_state = R.bit_generator.state
    a, ga = values_and_grads(fused, inputs)
    R.bit_generator.state = rng_state
    b, gb = values_and_grads(composite, inputs)
    np.testing.assert_allclose(a, b, atol=atol)
    for x, y in zip(ga, gb):
        np.testing.assert_allclose(x, y, atol=atol)


def composite_softmax(x, dim=-1):
    e = (x - x.max(dim, keepdim=True)).exp()
    return e / e.sum(dim, keepdim=True)


def composite_layer_norm(x, w, b, eps=1e-5):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / (var + eps).sqrt() * w + b


def composite_cross_entropy(logits, targets, ignore_index=-100, smoothing=0.0):
    valid = targets != ignore_index
    logp = composite_softmax(logits).log()
    onehot = np.eye(logits.shape[1])[np.where(valid, targets, 0)]
    target_dist = (1 - smoothing) * onehot + smoothing / logits.shape[1]
    per_row = -(logp * t64(target_dist, False)).sum(-1) * t64(valid.astype(float), False)
    return per_row.sum() / valid.sum()


def test_softmax_and_log_softmax():
    x = t64(R.standard_normal((3, 7)))
    assert_same(lambda x: F.softmax(x, -1), composite_softmax, [x])
    assert_same(lambda x: F.log_softmax(x, -1), lambda x: composite_softmax(x).log(), [x])


def test_layer_norm():
    x, w, b = t64(R.standard_normal((4, 6))), t64(R.standard_normal(6)), t64(R.standard_normal(6))
    assert_same(lambda x, w, b: F.layer_norm(x, 6, w, b), composite_layer_norm, [x, w, b])


def test_cross_entropy_with_smoothing_and_ignore():
    logits = t64(R.standard_normal((6, 5)))
    targets = np.array([1, 0, -100, 4, 4, 2])
    assert_same(lambda z: F.cross_entropy(z, targets, label_smoothing=0.2),
                lambda z: composite_cross_entropy(z, targets, smoothing=0.2), [logits])


def test_cross_entropy_is_stable_where_the_composite_is_not():
    logits = t64(np.array([[1e4, 0.0, -1e4], [0.0, 2e4, 1.0]]))
    loss = F.cross_entropy(logits, np.array([2, 0]))
    assert np.isfinite(loss.item()) and np.isclose(loss.item(), (2e4 + 2e4) / 2)
    with np.errstate(all="ignore"):
        naive = -(composite_softmax(logits).log())
    assert not np.isfinite(naive.numpy()).all()


def composite_causal_attention(q, k, v):
    T, hs = q.shape[-2:]
    s = (q @ k.transpose(-2, -1)) * (1 / np.sqrt(hs))
    s = s.masked_fill(~np.tril(np.ones((T, T), bool)), -np.inf)
    return composite_softmax(s) @ v


def test_attention_matches_composite():
    q, k, v = (t64(R.standard_normal((2, 3, 5, 4))) for _ in range(3))
    assert_same(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
                composite_causal_attention, [q, k, v])


@pytest.mark.parametrize("reference", [True, False], ids=["reference", "fast"])
def test_gelu_float32_matches_math_erf(reference):
    """float32 GELU (fast: in pieces, sign by bit operations) against the exact formula in float64."""
    import math

    from minilm.fast.pieces import CHUNK
    x = np.concatenate([R.standard_normal(CHUNK + 1000) * 3, [0.0, -0.0, 1e-30, -1e-30, 8.0, -8.0, 40.0, -40.0]])
    x32 = minilm.tensor(x.astype(np.float32), requires_grad=True)
    with minilm.reference_ops(reference):
        y = F.gelu(x32)
        y.backward(np.ones(x.shape, np.float32))
    xs = x32.numpy().astype(np.float64)
    phi = np.array([0.5 * (1 + math.erf(v / math.sqrt(2))) for v in xs])
    slope = phi + xs * np.exp(-xs * xs / 2) / math.sqrt(2 * math.pi)
    scale = np.maximum(1, np.abs(xs))   # float32 resolves |x| Phi(x) to about 1e-7 |x|
    assert np.max(np.abs(y.numpy() - xs * phi) / scale) < 5e-7
    assert np.max(np.abs(x32.grad - slope) / scale) < 5e-7


@pytest.mark.parametrize("size", [1.0, 300.0])
def test_attention_with_and_without_the_max_shift(size):
    """Small scores skip the row max (bounded by |q| |k|); large ones (exp would overflow) use it."""
    from minilm.fast.attention import scores_bounded
    q, k, v = (t64(R.standard_normal((2, 3, 5, 4)) * size) for _ in range(3))
    assert scores_bounded(q.data, k.data, 0.5) == (size == 1.0)

    fused = lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True)  # noqa: E731
    assert np.isfinite(fused(q, k, v).numpy()).all()
    assert_same(fused, composite_causal_attention, [q, k, v], atol=1e-10 * size ** 3)
