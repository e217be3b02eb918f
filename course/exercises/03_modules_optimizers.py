"""Lesson 3 exercises: replace each `raise NotImplementedError`, then run `minilm course check 3`."""
import numpy as np

from minilm.optim import Optimizer


class SGDMomentum(Optimizer):
    """Heavy-ball momentum: buf = g on the first step, then buf <- momentum * buf + g; p <- p - lr * buf."""

    def __init__(self, params, lr=0.1, momentum=0.9):
        super().__init__(params, dict(lr=lr, momentum=momentum))

    def update(self, p, grad, state, group):
        """Change p.data in place; keep the buffer in state (a dict of this parameter's own)."""
        raise NotImplementedError("exercise 3.1: write SGDMomentum.update")


class Adam(Optimizer):
    """m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;  p <- p - lr * m_hat / (sqrt(v_hat) + eps),
    with m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t) at step t = 1, 2, ..."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps))

    def update(self, p, grad, state, group):
        raise NotImplementedError("exercise 3.2: write Adam.update")


def clip_grad_norm(grads, max_norm):
    """(the gradients scaled so that their global norm is at most max_norm, the norm before clipping)."""
    raise NotImplementedError("exercise 3.3: write clip_grad_norm")
