"""Adagrad (Duchi, Hazan & Singer, 2011): each weight's step shrinks with all the gradient it has seen.

    s <- s + g^2                                   the sum of squares, from initial_accumulator_value
    p <- p - lr_t * g / (sqrt(s) + eps),           lr_t = lr / (1 + (t - 1) lr_decay)

A weight that is rarely updated (the vector of a rare word) keeps a large step;
a frequently updated one gets smaller and smaller steps. That is why GloVe
(Pennington et al., 2014) trains with it; its reference code starts every sum
at 1 (initial_accumulator_value=1), so the first step is exactly lr * g. Unlike
RMSprop the sum never forgets, so the steps only ever decrease.
"""
from ..backend import xp_of
from .optimizer import Optimizer


class Adagrad(Optimizer):
    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10):
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, eps=eps))

    def update(self, p, grad, state, group):
        xp = xp_of(grad)
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * p.data
        if "sum" not in state:
            state["step"] = 0
            state["sum"] = xp.full_like(p.data, group["initial_accumulator_value"])
        state["step"] += 1
        s = state["sum"]
        s += grad * grad
        lr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        p.data -= lr * grad / (xp.sqrt(s) + group["eps"])
