"""How to add an op to minilm and prove its gradient: softplus, written from scratch.

    softplus(x) = log(1 + e^x),   d softplus / dx = sigmoid(x) = 1 / (1 + e^-x)

A Function subclass has forward and backward on raw arrays. gradcheck
compares backward with central differences (f(x + eps) - f(x - eps)) / 2 eps
in float64 for every element, and names the first place they disagree.

    python examples/gradcheck_tour.py
"""
import sys

import numpy as np

import minilm
from minilm.autograd import Function
from minilm.cli import run_script
from minilm.cli.parser import CommandParser


class Softplus(Function):
    def forward(self, x):
        self.x = x
        return np.logaddexp(0, x)          # log(1 + e^x) without overflow

    def backward(self, gy):
        return gy / (1 + np.exp(-self.x))  # gy * sigmoid(x)


class BuggySoftplus(Softplus):
    def backward(self, gy):
        return gy / (1 + np.exp(self.x))   # wrong sign in the exponent: sigmoid(-x)


def main(argv=None):
    parser = CommandParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="the same: the tour is quick")
    parser.parse_args(argv)
    x = minilm.tensor(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)  # float64
    y = Softplus()(x).sum()
    y.backward()
    print("softplus'(x) from backward:\n", x.grad)
    print("gradcheck, correct backward:", minilm.gradcheck(lambda x: Softplus()(x), [x]))
    try:
        minilm.gradcheck(lambda x: BuggySoftplus()(x), [x])
    except minilm.GradcheckError as err:
        print("gradcheck, buggy backward: caught ->", err)
    print("composed from existing ops, the same function checks too:",
          minilm.gradcheck(lambda x: (1 + x.exp()).log(), [x]))


if __name__ == "__main__":
    sys.exit(run_script(main))
