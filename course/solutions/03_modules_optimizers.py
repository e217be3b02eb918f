"""Lesson 3: reference solutions."""
import numpy as np

from minilm.optim import Optimizer


class SGDMomentum(Optimizer):
    """Heavy-ball momentum: buf = g on the first step, then buf <- momentum * buf + g; p <- p - lr * buf."""

    def __init__(self, params, lr=0.1, momentum=0.9):
        super().__init__(params, dict(lr=lr, momentum=momentum))

    def update(self, p, grad, state, group):
        """Change p.data in place; keep the buffer in state (a dict of this parameter's own)."""
        if "buf" not in state:
            state["buf"] = grad.copy()
        else:
            state["buf"] = group["momentum"] * state["buf"] + grad
        p.data -= group["lr"] * state["buf"]


class Adam(Optimizer):
    """m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;  p <- p - lr * m_hat / (sqrt(v_hat) + eps),
    with m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t) at step t = 1, 2, ..."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps))

    def update(self, p, grad, state, group):
        b1, b2 = group["betas"]
        if not state:
            state.update(t=0, m=np.zeros_like(grad), v=np.zeros_like(grad))
        state["t"] += 1
        state["m"] = b1 * state["m"] + (1 - b1) * grad
        state["v"] = b2 * state["v"] + (1 - b2) * grad ** 2
        m_hat = state["m"] / (1 - b1 ** state["t"])
        v_hat = state["v"] / (1 - b2 ** state["t"])
        p.data -= group["lr"] * m_hat / (np.sqrt(v_hat) + group["eps"])


def clip_grad_norm(grads, max_norm):
    """(the gradients scaled so that their global norm is at most max_norm, the norm before clipping)."""
    norm = float(np.sqrt(sum((g ** 2).sum() for g in grads)))
    if norm <= max_norm:
        return grads, norm
    return [g * (max_norm / norm) for g in grads], norm
