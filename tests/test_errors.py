"""Bad input is a clear error that names what was wrong."""
import numpy as np
import pytest

import minilm
import minilm.functional as F


def test_matmul_shape_error_names_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4, 5\)"):
        minilm.tensor(np.ones((2, 3))) @ minilm.tensor(np.ones((4, 5)))


def test_broadcast_error_names_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4,\)"):
        minilm.tensor(np.ones((2, 3))) + minilm.tensor(np.ones(4))


def test_cross_entropy_errors():
    logits = minilm.tensor(np.zeros((3, 5), np.float32))
    with pytest.raises(ValueError, match=r"target id 7 is out of range for 5 classes"):
        F.cross_entropy(logits, np.array([0, 7, 1]))
    with pytest.raises(ValueError, match=r"\(3, 5\).*\(3,\).*\(2,\)"):
        F.cross_entropy(logits, np.array([0, 1]))


def test_embedding_id_out_of_range():
    with pytest.raises(IndexError, match="token id 12 is out of range for a vocabulary of size 10"):
        F.embedding(minilm.tensor(np.array([1, 12])), minilm.tensor(np.zeros((10, 3))))


def test_layer_norm_and_linear_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4,\)"):
        F.layer_norm(minilm.tensor(np.ones((2, 3))), 4)
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4, 5\)"):
        F.linear(minilm.tensor(np.ones((2, 3))), minilm.tensor(np.ones((4, 5))))


def test_devices_must_match():
    a = minilm.tensor([1.0])
    b = minilm.tensor([1.0], device="emu")
    with pytest.raises(RuntimeError, match="'cpu' and 'emu'"):
        a + b


def test_reshape_error():
    with pytest.raises(ValueError, match=r"\(2, 3\)"):
        minilm.tensor(np.ones((2, 3))).reshape(4, 2)
