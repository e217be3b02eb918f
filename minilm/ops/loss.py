"""Cross-entropy of logits against class ids, as one fused, numerically stable node.

For one row of logits x (C classes) and target t, with p = softmax(x):

    loss = -log p_t = logsumexp(x) - x_t
    with label smoothing eps the target is the mixture (1 - eps) onehot(t) + eps / C:
    loss = (1 - eps) (logsumexp(x) - x_t) + eps * mean_c (logsumexp(x) - x_c)

    dloss/dx_c = p_c - (1 - eps) [c = t] - eps / C

Computing log p as x - logsumexp(x) (with the max subtracted first) never
takes the log of an underflowed 0, which the composite log(softmax(x)) does.
Rows whose target is `ignore_index` (e.g. padding) add nothing and are not
counted in the mean.
"""
from ..autograd import Function
from ..backend import xp_of
from .softmax import log_softmax_array


class CrossEntropy(Function):
    def __init__(self, targets, ignore_index=-100, label_smoothing=0.0, reduction="mean"):
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
        self.targets, self.ignore_index = targets, ignore_index
        self.eps, self.reduction = label_smoothing, reduction

    def forward(self, logits):
        xp = xp_of(logits)
        rows = self.rows_and_targets(logits)[0]                          # (N, C)
        logp = self.log_softmax(rows)                                    # (N, C)
        loss = -logp[xp.arange(len(rows)), self.t]                       # (N,)
        if self.eps:
            loss = (1 - self.eps) * loss - self.eps * logp.mean(axis=1)
        self.logp = logp
        return self.reduce(loss * self.valid)    # a mean over no rows is nan, like PyTorch

    def backward(self, gy):
        xp = xp_of(gy)
        grad = xp.exp(self.logp)                                         # p, (N, C)
        N, C = grad.shape
        grad[xp.arange(N), self.t] -= 1 - self.eps
        if self.eps:
            grad -= self.eps / C
        return self.scaled_by(grad, gy)

    # ---------------------------------------------------------------- shared with the fast paths
    def log_softmax(self, rows):
        return log_softmax_array(rows, axis=1)

    def rows_and_targets(self, logits):
        """Logits as (N, C) rows and their targets (N,), checked. Sets self.valid (the rows not
        ignored) and self.t (the targets, 0 in ignored rows: an index that exists)."""
        xp = xp_of(logits)
        self.logits_shape = logits.shape
        rows, t = _rows_with_class_last(logits, self.targets)           # (N, C), (N,)
        C = rows.shape[1]
        self.valid = t != self.ignore_index
        bad = self.valid & ((t < 0) | (t >= C))
        if bad.any():
            raise ValueError(f"cross_entropy: target id {int(t[bad][0])} is out of range for {C} classes")
        self.t = xp.where(self.valid, t, 0)
        return rows, t

    def reduce(self, loss):
        xp = xp_of(loss)
        if self.reduction == "none":
            return loss.reshape(self.targets.shape)
        if self.reduction == "sum":
            return xp.asarray(loss.sum())
        self.count = int(self.valid.sum())
        return xp.asarray(loss.sum() / self.count)

    def scaled_by(self, grad, gy):
        """dL/dlogits: the per-row gradient grad (N, C) times each row's dL/dloss, in the input's layout."""
        if self.reduction == "none":
            scale = gy.reshape(-1) * self.valid
        else:
            scale = self.valid * (gy / self.count if self.reduction == "mean" else gy)
        grad *= scale.astype(grad.dtype)[:, None]
        return _restore_layout(grad, self.logits_shape)


def _rows_with_class_last(logits, targets, name="cross_entropy"):
    """PyTorch layouts (C,), (N, C), (N, C, d1, ...) -> logits (rows, C) and targets (rows,)."""
    if logits.ndim == 1:
        expected = ()
    else:
        expected = (logits.shape[0],) + logits.shape[2:]
    if targets.shape != expected:
        raise ValueError(f"{name}: input of shape {logits.shape} needs targets of shape "
                         f"{expected}, got {targets.shape} (flatten (B, T, V) logits to (B*T, V))")
    if targets.dtype.kind not in "iu":
        raise TypeError(f"{name}: targets must be integer class ids, got {targets.dtype}")
    if logits.ndim <= 2:
        return logits.reshape(-1, logits.shape[-1]), targets.reshape(-1)
    C = logits.shape[1]
    moved = xp_of(logits).moveaxis(logits, 1, -1)
    return moved.reshape(-1, C), targets.reshape(-1)


def _restore_layout(grad, shape):
    if len(shape) <= 2:
        return grad.reshape(shape)
    moved_shape = (shape[0],) + shape[2:] + (shape[1],)
    return xp_of(grad).ascontiguousarray(xp_of(grad).moveaxis(grad.reshape(moved_shape), -1, 1))
