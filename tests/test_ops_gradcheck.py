"""Every differentiable op against central differences, in float64, with non-zero random inputs."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minilm
import minilm.functional as F
from helpers import t64

R = np.random.default_rng(1)


def rand(*shape, positive=False, away_from_zero=False):
    x = R.standard_normal(shape)
    if positive:
        x = np.abs(x) + 0.5
    if away_from_zero:
        x = np.sign(x) * (np.abs(x) + 0.1)
    return t64(x)


BINARY = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b, "pow": lambda a, b: a ** b,
}


@pytest.mark.parametrize("name", list(BINARY))
@pytest.mark.parametrize("shapes", [((3, 4), (3, 4)), ((2, 3, 4), (4,)), ((3, 1), (1, 5)), ((), (2, 3))])
def test_binary_ops_with_broadcasting(name, shapes):
    positive = name in ("div", "pow")
    a, b = rand(*shapes[0], positive=positive), rand(*shapes[1], positive=positive)
    assert minilm.gradcheck(BINARY[name], [a, b])


def test_scalar_operands_and_reflected_ops():
    x = rand(3, positive=True)
    assert minilm.gradcheck(lambda x: 2.0 - x + 3.0 / x + x ** 2.5 - (-x) * 4 + 2 ** x, [x])


UNARY = {
    "exp": (F.exp, {}), "log": (F.log, {"positive": True}), "sqrt": (F.sqrt, {"positive": True}),
    "tanh": (F.tanh, {}), "sigmoid": (F.sigmoid, {}), "relu": (F.relu, {"away_from_zero": True}),
    "gelu": (F.gelu, {}), "gelu_tanh": (lambda x: F.gelu(x, "tanh"), {}),
    "abs": (F.abs, {"away_from_zero": True}), "clamp": (lambda x: F.clamp(x, -0.5, 0.7), {}),
}


@pytest.mark.parametrize("name", list(UNARY))
def test_unary_ops(name):
    fn, kind = UNARY[name]
    assert minilm.gradcheck(fn, [rand(3, 5, **kind)])


@pytest.mark.parametrize("op", ["sum", "mean", "max", "var"])
@pytest.mark.parametrize("axis,keepdim", [(None, False), (0, False), (-1, True), ((0, 2), False), ((1, -1), True)])
def test_reductions(op, axis, keepdim):
    x = rand(3, 4, 5)
    assert minilm.gradcheck(lambda x: getattr(x, op)(axis, keepdim), [x])


def test_reductions_of_0d_tensors():
    x = t64(2.5)
    assert minilm.gradcheck(lambda x: (x * x).sum() + x.mean(), [x])


def test_shape_ops():
    x = rand(2, 3, 4)
    assert minilm.gradcheck(lambda x: x.reshape(4, 6) * 2, [x])
    assert minilm.gradcheck(lambda x: x.view(6, 4).T, [x])
    assert minilm.gradcheck(lambda x: x.transpose(0, 2), [x])
    assert minilm.gradcheck(lambda x: x.permute(1, 2, 0), [x])
    assert minilm.gradcheck(lambda x: F.unsqueeze(x, 1).expand(2, 5, 3, 4), [x])


def test_indexing():
    x = rand(5, 4)
    assert minilm.gradcheck(lambda x: x[1:4, ::2], [x])
    assert minilm.gradcheck(lambda x: x[2], [x])
    assert minilm.gradcheck(lambda x: x[np.array([0, 0, 3, 1])], [x])         # repeats add up
    assert minilm.gradcheck(lambda x: x[np.array([1, 1]), np.array([2, 2])], [x])
    assert minilm.gradcheck(lambda x: x[x.data > 0], [x])


def test_joins_and_masks():
    a, b, c = rand(2, 3), rand(2, 3), rand(2, 5)
    assert minilm.gradcheck(lambda a, b: F.stack([a, b], dim=1), [a, b])
    assert minilm.gradcheck(lambda a, c: F.cat([a, c], dim=-1), [a, c])
    assert minilm.gradcheck(lambda c: F.split(c, [2, 3], dim=1)[1] * 2, [c])
    cond = R.random((2, 3)) > 0.5
    assert minilm.gradcheck(lambda a, b: F.where(cond, a, b), [a, b])
    assert minilm.gradcheck(lambda a: a.masked_fill(np.array([True, False, True]), -1.0), [a])


def test_matmul_batched_and_broadcast():
    assert minilm.gradcheck(lambda a, b: a @ b, [rand(3, 4), rand(4, 2)])
    assert minilm.gradcheck(lambda a, b: a @ b, [rand(2, 3, 3, 4), rand(4, 5)])
    assert minilm.gradcheck(lambda a, b: a @ b, [rand(2, 1, 3, 4), rand(3, 4, 2)])
    assert minilm.gradcheck(lambda a, b: a @ b, [rand(4), rand(4, 3)])
    assert minilm.gradcheck(lambda a, b: a @ b, [rand(2, 4), rand(4)])
    assert minilm.gradcheck(lambda a, b: a @ b, [rand(4), rand(4)])


def test_nn_ops():
    x, w, b = rand(2, 3, 4), rand(5, 4), rand(5)
    assert minilm.gradcheck(F.linear, [x, w, b])
    assert minilm.gradcheck(F.linear, [x, w])
    assert minilm.gradcheck(lambda x: F.softmax(x, dim=1), [x])
    assert minilm.gradcheck(lambda x: F.log_softmax(x, dim=-1), [x])
    g, beta = rand(4), rand(4)
    assert minilm.gradcheck(lambda x, g, beta: F.layer_norm(x, 4, g, beta), [x, g, beta])
    assert minilm.gradcheck(lambda x: F.layer_norm(x, (3, 4)), [x])
    table = rand(7, 3)
    ids = minilm.tensor(np.array([[1, 6, 1], [0, 1, 1]]))
    assert minilm.gradcheck(lambda t: F.embedding(ids, t), [table])


def test_dropout_train_and_eval():
    x = rand(4, 6)
    minilm.manual_seed(5)
    y = F.dropout(x, 0.3).numpy()
    # replay the same mask inside the check: reseed before each call
    def fn(x):
        minilm.manual_seed(5)
        return F.dropout(x, 0.3)
    assert minilm.gradcheck(fn, [x])
    kept = y != 0
    assert np.allclose(y[kept], x.numpy()[kept] / 0.7)
    assert F.dropout(x, 0.3, training=False) is x


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy(reduction, smoothing):
    logits = rand(6, 5)
    targets = np.array([0, 4, -100, 2, 2, 1])
    assert minilm.gradcheck(lambda z: F.cross_entropy(z, targets, label_smoothing=smoothing,
                                                      reduction=reduction), [logits])


def test_cross_entropy_with_spatial_layout():
    logits = rand(2, 4, 3)                     # (N, C, d)
    targets = np.array([[0, 3, 1], [2, 2, 0]])
    assert minilm.gradcheck(lambda z: F.cross_entropy(z, targets), [logits])


def test_attention_op():
    q, k, v = rand(2, 2, 4, 3), rand(2, 2, 5, 3), rand(2, 2, 5, 2)
    assert minilm.gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v), [q, k, v])
    q2, k2, v2 = rand(1, 2, 5, 3), rand(1, 2, 5, 3), rand(1, 2, 5, 3)
    assert minilm.gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True), [q2, k2, v2])
    mask = np.array([True, True, False, True, False])
    assert minilm.gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=mask), [q, k, v])


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 3), min_size=1, max_size=3), st.integers(0, 2), st.sampled_from(["add", "mul", "sub"]))
def test_random_broadcast_shapes(shape, drop, op):
    a = rand(*shape)
    b_shape = [1 if i % 2 else n for i, n in enumerate(shape[drop:])]
    b = rand(*b_shape) if b_shape else rand()
    assert minilm.gradcheck(BINARY[op], [a, b])


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=1, max_size=3), st.data())
def test_random_reductions(shape, data):
    x = rand(*shape)
    axis = data.draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1)))
    keepdim = data.draw(st.booleans())
    op = data.draw(st.sampled_from(["sum", "mean"]))
    assert minilm.gradcheck(lambda x: getattr(x, op)(axis, keepdim), [x])


@pytest.mark.parametrize("reference", [True, False], ids=["add.at", "fast"])
@pytest.mark.parametrize("vocab", [7, 300])  # fast: the one-hot product (small vocabulary) and sort + reduceat
def test_embedding_backward_sums_repeated_ids(vocab, reference):
    with minilm.reference_ops(reference):
        _embedding_backward_sums_repeated_ids(vocab)


def _embedding_backward_sums_repeated_ids(vocab):
    ids = np.random.default_rng(3).integers(0, vocab, (4, 50))
    ids[0, :5] = 2                                                       # one id many times
    table = minilm.tensor(np.random.default_rng(4).standard_normal((vocab, 3)), requires_grad=True)
    gy = np.random.default_rng(5).standard_normal((4, 50, 3))
    F.embedding(minilm.tensor(ids), table, padding_idx=1).backward(gy)
    expected = np.zeros((vocab, 3))
    np.add.at(expected, ids.ravel(), gy.reshape(-1, 3))
    expected[1] = 0
    np.testing.assert_allclose(table.grad, expected, atol=1e-12)
    small = minilm.tensor(np.random.default_rng(6).standard_normal((vocab, 2)), requires_grad=True)
    assert minilm.gradcheck(lambda t: F.embedding(minilm.tensor(ids[:1, :6]), t), [small])
