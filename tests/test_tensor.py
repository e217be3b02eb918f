"""Tensor construction, dtypes, conversion, and the no-needless-copy rules."""
import numpy as np
import pytest

import minilm
import minilm.functional as F


def test_default_dtypes():
    assert minilm.tensor([1.0, 2.0]).dtype == np.float32
    assert minilm.tensor([1, 2]).dtype == np.int64
    assert minilm.tensor(np.zeros(2)).dtype == np.float64
    assert minilm.tensor([1, 2], dtype=np.float64).dtype == np.float64


def test_attributes_and_conversions():
    t = minilm.Tensor([[1.0, 2.0]], requires_grad=True)
    assert t.shape == (1, 2) and t.ndim == 2 and t.device == "cpu" and t.requires_grad
    assert isinstance(t.numpy(), np.ndarray) and t.sum().item() == 3.0
    assert t.to("cpu") is t
    assert t.to(dtype=np.float64).dtype == np.float64
    with pytest.raises(ValueError, match="unknown device"):
        t.to("tpu")


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(TypeError):
        minilm.tensor([1, 2], requires_grad=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_ops_keep_dtype(dtype):
    x = minilm.tensor(np.random.randn(4, 6).astype(dtype), requires_grad=True)
    w = minilm.tensor(np.random.randn(3, 6).astype(dtype), requires_grad=True)
    y = F.gelu(F.layer_norm(F.linear(x, w) * 2.0 + 1, 3)).softmax(-1)
    loss = F.cross_entropy(y, np.array([0, 1, 2, 0])) + (x ** 2).mean() + F.sigmoid(x).var()
    assert y.dtype == dtype and loss.dtype == dtype
    loss.backward()
    assert x.grad.dtype == dtype and w.grad.dtype == dtype


def test_reshape_and_transpose_are_views():
    x = minilm.tensor(np.arange(12.0))
    assert np.shares_memory(x.reshape(3, 4).data, x.data)
    m = x.view(3, 4)
    assert np.shares_memory(m.transpose(0, 1).data, x.data)
    assert np.shares_memory(m.T.data, x.data)


def test_comparison_and_repr():
    x = minilm.tensor([1.0, 3.0])
    assert (x > 2).numpy().tolist() == [False, True]
    assert "tensor(" in repr(x)
