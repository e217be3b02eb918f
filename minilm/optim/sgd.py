"""Stochastic gradient descent, with optional momentum (heavy ball or Nesterov) and L2 decay.

    g <- g + weight_decay * p
    buf <- momentum * buf + (1 - dampening) * g        (buf = g on the first step)
    g <- g + momentum * buf  if nesterov else  buf
    p <- p - lr * g
"""
from .optimizer import Optimizer


class SGD(Optimizer):
    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum needs momentum > 0 and dampening = 0")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov))

    def update(self, p, grad, state, group):
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * p.data
        momentum = group["momentum"]
        if momentum:
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = grad.copy()
            else:
                buf = state["momentum_buffer"]
                buf *= momentum
                buf += (1 - group["dampening"]) * grad
            buf = state["momentum_buffer"]
            grad = grad + momentum * buf if group["nesterov"] else buf
        p.data -= group["lr"] * grad
