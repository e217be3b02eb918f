"""Cross-entropy on minilm's fused kernel (softmax_xent.cu), for float32 logits on "cuda" and "emu".

The same op as minilm/ops/loss.py: one block per row finds the row's max and
sum of exponentials in one pass, then writes the row's loss and its gradient
dloss/dlogits = softmax - (1 - eps) onehot - eps / C (for a dL/dloss of 1) in a
second. Backward only scales that saved gradient by each row's dL/dloss, so the
(N, C) log-probabilities are never stored.
"""
import numpy as np

from ..backend import xp_of
from ..dispatch import register
from ..ops.loss import CrossEntropy
from . import launch
from .switch import enabled


class KernelCrossEntropy(CrossEntropy):
    def applies(self, logits):
        return enabled(self.device) and logits.dtype == np.float32

    def forward(self, logits):
        xp = xp_of(logits)
        rows, t = self.rows_and_targets(logits)                          # (N, C), (N,)
        loss, self.unit_grad = launch.softmax_xent(rows, t, xp.ones(len(t), np.float32),
                                                   self.ignore_index, self.eps, self.device)
        return self.reduce(loss)

    def backward(self, gy):
        return self.scaled_by(self.unit_grad.copy(), gy)


register(CrossEntropy, "cuda", KernelCrossEntropy)
register(CrossEntropy, "emu", KernelCrossEntropy)
