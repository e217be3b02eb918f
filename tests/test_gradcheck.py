"""gradcheck itself: it passes correct ops and catches wrong ones, naming where."""
import numpy as np
import pytest

import minilm
from minilm.autograd import Function
from helpers import t64


class WrongSquare(Function):
    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, gy):
        return gy * self.x          # missing the factor 2


def test_passes_a_correct_op():
    assert minilm.gradcheck(lambda x: (x * x).sum(), [t64(np.random.randn(3))])


def test_catches_a_wrong_backward_and_says_where():
    x = t64(np.array([1.0, 2.0, 3.0]))
    with pytest.raises(minilm.GradcheckError) as err:
        minilm.gradcheck(lambda x: WrongSquare()(x), [x])
    message = str(err.value)
    assert "input 0" in message and "index" in message and "analytic" in message and "numeric" in message


def test_directional_mode_on_a_big_tensor():
    x = t64(np.random.randn(200, 300))
    assert minilm.gradcheck(lambda x: (x.tanh() * x).sum(), [x], mode="directional")
    with pytest.raises(minilm.GradcheckError):
        minilm.gradcheck(lambda x: WrongSquare()(x), [x], mode="directional")


def test_requires_float64():
    with pytest.raises(TypeError, match="float64"):
        minilm.gradcheck(lambda x: x * 2, [minilm.tensor([1.0], requires_grad=True)])
