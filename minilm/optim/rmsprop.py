"""RMSprop (Hinton, 2012): divide each step by a running RMS of that weight's gradients.

    v <- alpha v + (1 - alpha) g^2
    p <- p - lr * g / (sqrt(v) + eps)

Weights with large, noisy gradients take smaller steps; rarely-updated ones larger.
"""
from ..backend import xp_of
from .optimizer import Optimizer


class RMSprop(Optimizer):
    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum))

    def update(self, p, grad, state, group):
        xp = xp_of(grad)
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * p.data
        if "square_avg" not in state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(p.data)
        state["step"] += 1
        v, alpha = state["square_avg"], group["alpha"]
        v *= alpha
        v += (1 - alpha) * grad * grad
        step = grad / (xp.sqrt(v) + group["eps"])
        if group["momentum"]:
            buf = state.setdefault("momentum_buffer", xp.zeros_like(p.data))
            buf *= group["momentum"]
            buf += step
            step = buf
        p.data -= group["lr"] * step
