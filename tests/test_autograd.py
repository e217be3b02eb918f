"""The graph and backward: ordering, accumulation, freeing, and the classic reuse bugs."""
import numpy as np
import pytest

import minilm
import minilm.functional as F
from helpers import t64


def test_reused_node_gets_both_contributions():
    a = minilm.tensor([3.0], requires_grad=True)
    (a + a).backward()
    assert a.grad.tolist() == [2.0]
    x = minilm.tensor([3.0], requires_grad=True)
    (x * x).backward()
    assert x.grad.tolist() == [6.0]


def test_diamond_graph_waits_for_all_consumers():
    x = minilm.tensor(2.0, requires_grad=True)
    y = x * 3
    z = y * y + y.exp()               # y feeds two branches
    z.backward()
    expected = (2 * 6.0 + np.exp(6.0)) * 3
    assert np.isclose(x.grad, expected)


def test_long_chain_has_no_recursion_limit():
    x = minilm.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y + 1.0
    y.backward()
    assert x.grad == 1.0


def test_gradients_accumulate_across_backward_calls():
    x = minilm.tensor([1.0, 2.0], requires_grad=True)
    (x * 2).sum().backward()
    (x * 3).sum().backward()
    assert x.grad.tolist() == [5.0, 5.0]


def test_broadcasting_is_summed_back():
    a = minilm.tensor(np.ones((2, 3, 4)), requires_grad=True)
    b = minilm.tensor(np.ones((3, 1)), requires_grad=True)
    (a * b).sum().backward()
    assert b.grad.shape == (3, 1)
    assert np.all(b.grad == 8)


def test_graph_is_freed_unless_retained():
    x = minilm.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.tolist() == [4.0, 8.0]
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_backward_of_non_scalar_needs_a_gradient():
    x = minilm.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="scalar"):
        (x * 2).backward()
    (x * 2).backward(np.array([1.0, 10.0], dtype=np.float32))
    assert x.grad.tolist() == [2.0, 20.0]


def test_no_grad_records_nothing():
    x = minilm.tensor([1.0], requires_grad=True)
    with minilm.no_grad():
        y = x * 2
    assert not y.requires_grad and y.creator is None
    assert minilm.is_grad_enabled()


def test_unused_outputs_of_multi_output_op():
    x = t64(np.arange(6.0))
    a, b, c = F.split(x, 2)
    (b * 3).sum().backward()
    assert x.grad.tolist() == [0, 0, 3, 3, 0, 0]


def test_detach_cuts_the_graph():
    x = minilm.tensor([1.0], requires_grad=True)
    y = (x * 2).detach() * x
    y.backward()
    assert x.grad.tolist() == [2.0]


def test_leaf_gradients_do_not_share_memory():
    a = minilm.tensor([1.0, 2.0], requires_grad=True)
    b = minilm.tensor([1.0, 2.0], requires_grad=True)
    (a + b).sum().backward()
    a.grad *= 10
    assert b.grad.tolist() == [1.0, 1.0]


def test_manual_seed_reproduces_dropout():
    x = minilm.tensor(np.ones(100))
    minilm.manual_seed(3)
    a = F.dropout(x, 0.5).numpy()
    minilm.manual_seed(3)
    b = F.dropout(x, 0.5).numpy()
    assert np.array_equal(a, b)
