"""Gradient clipping by global norm.

    norm = sqrt(sum over all parameters of sum g^2)
    if norm > max_norm: every g <- g * max_norm / norm

Scaling all gradients by one factor keeps the update's direction and bounds
its size, which tames the rare huge step that would otherwise wreck training.
"""
import math

from ..backend import xp_of


def clip_grad_norm_(parameters, max_norm):
    """Clip in place; returns the total norm before clipping (a float; inf/nan pass through)."""
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return 0.0
    xp = xp_of(grads[0])
    total = math.sqrt(sum(float(xp.vdot(g.ravel(), g.ravel())) for g in grads))
    if total > max_norm:
        scale = max_norm / (total + 1e-6)
        for g in grads:
            g *= g.dtype.type(scale)
    return total
