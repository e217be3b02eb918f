"""Binary cross-entropy: the loss of a probability p (or its logit z) against a target y in [0, 1].

    BCE              l = -(y log p + (1 - y) log(1 - p))
                     dl/dp = (p - y) / (p (1 - p)),        dl/dy = log(1 - p) - log p

    BCE with logits  p = sigmoid(z), and with a weight w_+ for the positive term (pos_weight):
                     l = -(w_+ y log sigmoid(z) + (1 - y) log(1 - sigmoid(z)))
                       = (1 - y) z + q softplus(-z),        q = 1 + (w_+ - 1) y
                     dl/dz = (1 - y) - q sigmoid(-z)        (= sigmoid(z) - y when w_+ = 1)
                     dl/dy = -z + (w_+ - 1) softplus(-z)

Both ops return the loss of every element; the reduction follows (F.binary_cross_entropy).

Numerics. log p of a p that is exactly 0 is -inf; like PyTorch, each log is
clamped at -100, so a confident wrong answer costs 100, not inf, and the
gradient divides by max(p (1 - p), 1e-12) (the target's gradient is left
unclamped, +-inf there, also as PyTorch). The logit form never takes a log
of a sigmoid: softplus(-z) = log(1 + e^-z) is computed as max(-z, 0) +
log1p(e^-|z|), which neither overflows for z = -1000 nor loses z = +1000 to
rounding. That is why a model should output logits and use the second loss.
"""
import numpy as np

from ..autograd import Function
from ..backend import xp_of
from .elementwise import sigmoid_array

LOG_FLOOR = -100.0          # PyTorch's clamp of log(p) and log(1 - p)
SLOPE_EPSILON = float(np.float32(1e-12))   # PyTorch's floor of p (1 - p) in the gradient (a float32 constant)


def softplus_array(x):
    """log(1 + e^x) without overflow: max(x, 0) + log1p(e^-|x|)."""
    xp = xp_of(x)
    return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))


class BinaryCrossEntropy(Function):
    """(p, y) -> l, element-wise; p must lie in [0, 1]."""
    name = "binary_cross_entropy"

    def forward(self, p, y):
        xp = xp_of(p)
        if ((p < 0) | (p > 1)).any():
            raise ValueError(f"binary_cross_entropy: input must be probabilities in [0, 1], got values from "
                             f"{float(p.min()):g} to {float(p.max()):g}; for logits use "
                             "binary_cross_entropy_with_logits")
        with np.errstate(divide="ignore"):   # (NumPy warns of log(0); CuPy does not)
            log_p = xp.maximum(xp.log(p), LOG_FLOOR)
            log_q = xp.maximum(xp.log1p(-p), LOG_FLOOR)                  # log(1 - p)
        self.saved = p, y
        return -(y * log_p + (1 - y) * log_q)

    def backward(self, gy):
        xp = xp_of(gy)
        p, y = self.saved
        gp = gy * (p - y) / xp.maximum(p * (1 - p), SLOPE_EPSILON) if self.needs_input_grad[0] else None
        gt = None
        if self.needs_input_grad[1]:                                     # unclamped, as PyTorch: +-inf at p = 0, 1
            with np.errstate(divide="ignore"):   # (NumPy warns of log(0); CuPy does not)
                gt = gy * (xp.log1p(-p) - xp.log(p))
        return gp, gt


class BinaryCrossEntropyWithLogits(Function):
    """(z, y) -> l, element-wise; pos_weight (an array broadcast against z, or None) weighs the positives."""
    name = "binary_cross_entropy_with_logits"

    def __init__(self, pos_weight=None):
        self.pos_weight = pos_weight

    def forward(self, z, y):
        w = 1.0 if self.pos_weight is None else self.pos_weight
        q = 1 + (w - 1) * y
        soft = softplus_array(-z)                                        # -log sigmoid(z)
        self.saved = z, y, q, soft, w
        return (1 - y) * z + q * soft

    def backward(self, gy):
        z, y, q, soft, w = self.saved
        gz = gy * ((1 - y) - q * sigmoid_array(-z)) if self.needs_input_grad[0] else None
        gt = gy * (-z + (w - 1) * soft) if self.needs_input_grad[1] else None
        return gz, gt
