"""Adam (Kingma & Ba, 2015) and AdamW (Loshchilov & Hutter, 2019).

Adam keeps two running averages per weight, of the gradient (m, "momentum")
and of its square (v, the scale), and steps by their ratio:

    m <- b1 m + (1 - b1) g
    v <- b2 v + (1 - b2) g^2
    p <- p - lr * m_hat / (sqrt(v_hat) + eps),   m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t)

The hats undo the bias of averages that start at zero. Weight decay:
    Adam   adds it to the gradient (L2 regularisation), so it gets divided by sqrt(v) too;
    AdamW  shrinks the weight directly, p <- p - lr * wd * p, "decoupled" from the adaptive scale.
"""
import math

from ..backend import xp_of
from .optimizer import Optimizer


class Adam(Optimizer):
    decoupled = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay))

    def update(self, p, grad, state, group):
        xp = xp_of(grad)
        lr, (b1, b2), wd = group["lr"], group["betas"], group["weight_decay"]
        if wd and self.decoupled:
            p.data *= 1 - lr * wd
        elif wd:
            grad = grad + wd * p.data
        if "exp_avg" not in state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(p.data)
            state["exp_avg_sq"] = xp.zeros_like(p.data)
        state["step"] += 1
        m, v, t = state["exp_avg"], state["exp_avg_sq"], state["step"]
        m *= b1
        m += (1 - b1) * grad
        v *= b2
        v += (1 - b2) * grad * grad
        # lr * m_hat / (sqrt(v_hat) + eps), arranged as PyTorch does to match it to the last bit
        denom = xp.sqrt(v)
        denom /= math.sqrt(1 - b2 ** t)
        denom += group["eps"]
        p.data -= (lr / (1 - b1 ** t)) * m / denom


class AdamW(Adam):
    decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        super().__init__(params, lr, betas, eps, weight_decay)
