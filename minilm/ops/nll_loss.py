"""Negative log-likelihood: the loss of log-probabilities against class ids.

For one row of log-probabilities x (C classes, e.g. from log_softmax), its
target t and an optional weight w_c per class:

    loss_n = -w_t x_t                      (0 where t = ignore_index)
    mean   = sum_n loss_n / sum_n w_{t_n}  (a weighted mean: the weights of the rows counted)

    dloss_n/dx_c = -w_t [c = t]

nll_loss(log_softmax(x), t) is cross_entropy(x, t); the fused CrossEntropy
(ops/loss.py) exists because it is faster and safer for logits. Layouts follow
PyTorch: x (N, C) with t (N,), x (C,) with t (), or x (N, C, d1, ...) with t (N, d1, ...).
"""
from ..autograd import Function
from ..backend import xp_of
from .loss import _restore_layout, _rows_with_class_last

REDUCTIONS = ("mean", "sum", "none")


class NLLLoss(Function):
    def __init__(self, targets, weight=None, ignore_index=-100, reduction="mean"):
        if reduction not in REDUCTIONS:
            raise ValueError(f"nll_loss: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
        self.targets, self.weight = targets, weight
        self.ignore_index, self.reduction = ignore_index, reduction

    def forward(self, logp):
        xp = xp_of(logp)
        self.shape = logp.shape
        rows, t = _rows_with_class_last(logp, self.targets, "nll_loss")  # (N, C), (N,)
        C = rows.shape[1]
        valid = t != self.ignore_index
        bad = valid & ((t < 0) | (t >= C))
        if bad.any():
            raise ValueError(f"nll_loss: target id {int(t[bad][0])} is out of range for {C} classes")
        if self.weight is not None and self.weight.shape != (C,):
            raise ValueError(f"nll_loss: weight must have one entry per class, shape ({C},), got {self.weight.shape}")
        safe_t = xp.where(valid, t, 0)
        row_weight = valid.astype(logp.dtype)                            # (N,)
        if self.weight is not None:
            row_weight = row_weight * self.weight[safe_t]
        loss = -rows[xp.arange(len(t)), safe_t] * row_weight
        self.t, self.row_weight = safe_t, row_weight
        if self.reduction == "none":
            return loss.reshape(self.targets.shape)
        if self.reduction == "sum":
            return xp.asarray(loss.sum())
        self.total_weight = row_weight.sum()
        return xp.asarray(loss.sum() / self.total_weight)              # no rows counted: nan, like PyTorch

    def backward(self, gy):
        xp = xp_of(gy)
        if self.reduction == "none":
            scale = gy.reshape(-1) * self.row_weight
        else:
            scale = self.row_weight * (gy / self.total_weight if self.reduction == "mean" else gy)
        N = len(self.t)
        grad = xp.zeros((N, self.shape[1] if len(self.shape) > 1 else self.shape[0]), gy.dtype)
        grad[xp.arange(N), self.t] = -scale
        return _restore_layout(grad, self.shape)
