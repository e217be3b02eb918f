"""Loss functions: cross-entropy, negative log-likelihood, regression and binary losses."""
import numpy as np

from ..backend import xp_of
from ..ops.binary_loss import BinaryCrossEntropy, BinaryCrossEntropyWithLogits
from ..ops.loss import CrossEntropy
from ..ops.nll_loss import NLLLoss
from ..ops.regression_loss import AbsoluteError, SmoothL1Error, SquaredError
from .tensor_ops import _constant, _pair, _raw, add, div, log_softmax, mean, mul, neg, sum


def _class_ids(targets):
    targets = _raw(targets)
    return targets if hasattr(targets, "dtype") else np.asarray(targets)


def cross_entropy(logits, targets, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """Softmax cross-entropy of logits (N, C) [or (C,) or (N, C, d...)] against class ids.

    With a per-class `weight` it is composed from nll_loss and log_softmax (_weighted_cross_entropy).
    """
    if weight is not None:
        return _weighted_cross_entropy(logits, _class_ids(targets), weight, ignore_index, reduction, label_smoothing)
    return CrossEntropy(_class_ids(targets), ignore_index, label_smoothing, reduction)(logits)


def _weighted_cross_entropy(logits, targets, weight, ignore_index, reduction, eps):
    """PyTorch's class-weighted cross-entropy: (1 - eps) nll_loss(log p, t, w) + eps / C * sum_c -w_c log p_c.

    The smoothing term is reduced like the nll term: its mean divides by the weights of the counted rows.
    """
    class_dim = 1 if logits.ndim > 1 else 0
    logp = log_softmax(logits, dim=class_dim)
    loss = nll_loss(logp, targets, weight, ignore_index, reduction)
    if not eps:
        return loss
    xp = xp_of(logp.data)
    w, t = xp.asarray(_raw(weight), dtype=logp.dtype), xp.asarray(targets)
    C = logp.shape[class_dim]
    w_shape = tuple(C if d == class_dim else 1 for d in range(logp.ndim))
    valid = t != ignore_index
    smooth = neg(sum(mul(logp, _constant(w.reshape(w_shape), logp)), dim=class_dim))   # (N, d...)
    smooth = mul(smooth, _constant(valid.astype(logp.dtype), smooth))
    if reduction == "mean":
        smooth = div(sum(smooth), float(w[xp.where(valid, t, 0)][valid].sum()))
    elif reduction == "sum":
        smooth = sum(smooth)
    return add(mul(loss, 1 - eps), mul(smooth, eps / C))


def nll_loss(log_probs, targets, weight=None, ignore_index=-100, reduction="mean"):
    """-log_probs[target] per row (weighted per class), for log-probabilities (N, C) [or (C,) or (N, C, d...)]."""
    if weight is not None:
        weight = xp_of(log_probs.data).asarray(_raw(weight), dtype=log_probs.dtype)
    return NLLLoss(_class_ids(targets), weight, ignore_index, reduction)(log_probs)


def _reduced(loss, reduction):
    if reduction == "mean":
        return mean(loss)
    if reduction == "sum":
        return sum(loss)
    return loss


def _elementwise_loss(op, input, target, reduction, weight=None):
    """op(input, target) per element, times an optional weight, then reduced as PyTorch's `reduction` says."""
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{op.name}: reduction must be 'mean', 'sum' "
                         f"or 'none', got {reduction!r}")
    input, target = _pair(input, target)
    if input.shape != target.shape:        # PyTorch broadcasts some of these with a warning; a bug more often
        raise ValueError(f"{op.name}: input of shape {input.shape} and target of shape {target.shape} differ; "
                         "pass a target of the input's shape")
    loss = op(input, target)
    if weight is not None:
        loss = mul(loss, _constant(_raw(weight), loss).detach())
    return _reduced(loss, reduction)


def mse_loss(input, target, reduction="mean"):
    """(input - target)^2, reduced."""
    return _elementwise_loss(SquaredError(), input, target, reduction)


def l1_loss(input, target, reduction="mean"):
    """|input - target|, reduced."""
    return _elementwise_loss(AbsoluteError(), input, target, reduction)


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    """Quadratic for |input - target| < beta, linear beyond (Huber's loss divided by beta), reduced."""
    return _elementwise_loss(SmoothL1Error(beta), input, target, reduction)


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """-(y log p + (1 - y) log(1 - p)) for probabilities p = input, each log clamped at -100 as PyTorch."""
    return _elementwise_loss(BinaryCrossEntropy(), input, target, reduction, weight)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None):
    """binary_cross_entropy(sigmoid(input), target), computed stably from the logits; pos_weight scales positives."""
    if pos_weight is not None:
        pos_weight = xp_of(input.data).asarray(_raw(pos_weight), dtype=input.dtype)
    return _elementwise_loss(BinaryCrossEntropyWithLogits(pos_weight), input, target, reduction, weight)
