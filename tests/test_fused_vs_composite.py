"""Each fused op equals the same function composed from primitive ops, in value and gradient."""
import numpy as np

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


def test_attention_matches_composite():
    q, k, v = (t64(R.standard_normal((2, 3, 5, 4))) for _ in range(3))

    def composite(q, k, v):
        s = (q @ k.transpose(-2, -1)) * (1 / np.sqrt(4))
        s = s.masked_fill(~np.tril(np.ones((5, 5), bool)), -np.inf)
        return composite_softmax(s) @ v

    assert_same(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True), composite, [q, k, v])
