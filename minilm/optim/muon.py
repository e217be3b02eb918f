"""Muon: momentum, orthogonalised by Newton-Schulz, for a network's hidden matrices (Jordan et al., 2024).

    m <- mu m + (1 - mu) g                      momentum, as an average of the gradients
    u <- (1 - mu) g + mu m                      Nesterov: look one momentum step ahead
    O <- newton_schulz(u)                       ~ U V^T, where u = U S V^T (its SVD)
    p <- p (1 - lr wd) - lr sqrt(max(1, out / in)) O

Why orthogonalise. A gradient of a weight matrix in a transformer is nearly
low-rank: a few directions dominate it, and SGD or Adam spend almost the whole
step on them. U V^T keeps the directions of the update and sets every one of its
singular values to 1, so the rare directions move as far as the common ones.
It is also the steepest-descent step under the spectral norm: of all matrices
O with ||O||_2 <= 1, O = U V^T maximises <u, O> = trace(S V^T O^T U) (= sum of
the singular values of u). The scale sqrt(max(1, out / in)) makes the step's
RMS per weight about the same for tall and wide matrices.

Why the iteration gives U V^T. An odd matrix polynomial of X acts on its
singular values alone: with X = U S V^T, X X^T X = U S^3 V^T, so

    p(X) = a X + b (X X^T) X + c (X X^T)^2 X = U p(S) V^T,   p(s) = a s + b s^3 + c s^5.

Iterating X <- p(X) keeps U and V and maps each singular value s through the
scalar p, again and again. Start from X = u / ||u||_F: every s is in (0, 1],
since the spectral norm is at most the Frobenius norm. If the iterated p sends
every s in (0, 1] to 1, the result is U V^T. The classic cubic Newton-Schulz
p(s) = 1.5 s - 0.5 s^3 does, but a small s only grows by 1.5x per step. The
quintic coefficients (3.4445, -4.7750, 2.0315) make the slope at zero 3.4445
(small singular values grow ~3.4x a step) at the price of not converging exactly:
the iterates settle in a band around 1 instead. After 5 steps every singular value
s >= 0.002 ||u||_F ends in [0.68, 1.21] (tests/test_muon.py checks this band), and
an update U S' V^T with S' in that band trains as well as U V^T itself: five cheap
matrix products instead of an SVD. For X of shape (r, c), X X^T is (r, r): the
iteration runs on the wide orientation (a tall matrix is transposed first and
back after), so the products are as small as they can be.

Muon is for the 2-D hidden matrices only. The token embedding (a lookup: one
row per token, not a linear map of a hidden state), the output head, and the
1-D gains and biases train better with AdamW: this optimizer steps a parameter
group with use_muon=False exactly as AdamW would (adam.py), so one optimizer
(one state_dict, one schedule) serves the whole model. `build_optimizer(model,
"muon")` (build.py) makes the split.

    optimizer = Muon([{"params": hidden, "lr": 0.02},
                      {"params": others, "use_muon": False, "lr": 1e-3, "weight_decay": 0.1}])

Reference: Keller Jordan et al., "Muon: An optimizer for hidden layers in neural
networks", 2024, https://kellerjordan.github.io/posts/muon/ (and github.com/KellerJordan/Muon,
which runs the iteration in bfloat16 on a GPU; minilm runs it in the weights' dtype).
"""
import math

import numpy as np

from ..autograd import no_grad
from ..backend import xp_of
from ..fast import threads
from .adam import AdamW
from .optimizer import Optimizer

NEWTON_SCHULZ_COEFFICIENTS = (3.4445, -4.7750, 2.0315)


def newton_schulz(update, steps=5, eps=1e-7):
    """An approximation of the orthogonal polar factor U V^T of a 2-D array update = U S V^T (see above)."""
    a, b, c = NEWTON_SCHULZ_COEFFICIENTS
    tall = update.shape[0] > update.shape[1]
    X = update.T if tall else update                                    # (r, c), r <= c
    X = X / (xp_of(X).linalg.norm(X) + eps)                             # singular values in (0, 1]
    for _ in range(steps):
        A = X @ X.T                                                     # (r, r)
        B = b * A + c * (A @ A)                                         # (r, r)
        X = a * X + B @ X                                               # (r, c): U p(S) V^T
    return X.T if tall else X


def shape_scale(shape):
    """sqrt(max(1, out / in)) of a (out, in) matrix: the same RMS step for tall and wide matrices."""
    return math.sqrt(max(1.0, shape[0] / shape[1]))


class Muon(AdamW):
    """Muon for groups with use_muon (the default), AdamW for groups with use_muon=False.

    lr, momentum, nesterov, ns_steps, weight_decay: Muon's (weight decay decoupled, p <- p (1 - lr wd));
    betas, eps: AdamW's, for the use_muon=False groups, whose lr and weight_decay are given per group.
    """

    def __init__(self, params, lr=0.02, momentum=0.95, nesterov=True, ns_steps=5, weight_decay=0.0,
                 betas=(0.9, 0.95), eps=1e-10):
        Optimizer.__init__(self, params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                              momentum=momentum, nesterov=nesterov, ns_steps=ns_steps, use_muon=True))
        for group in self.param_groups:
            flat = [tuple(p.shape) for p in group["params"] if p.ndim != 2]
            if group["use_muon"] and flat:
                raise ValueError(f"Muon orthogonalises matrices: a use_muon group holds parameters of shape "
                                 f"{flat}; put them in a group with use_muon=False (stepped by AdamW)")

    def step(self):
        """Optimizer.step, with the Muon matrices shared among minilm's threads (fast/threads.py).

        On a small model the five Newton-Schulz products of every matrix cost as much as the
        forward pass. Each matrix's update is its own BLAS calls, which run side by side on
        NumPy; every matrix gets exactly the arithmetic it gets on one thread.
        """
        with no_grad():
            matrices = []
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    if group["use_muon"]:
                        matrices.append((p, p.grad, self.state.setdefault(p, {}), group))
                    else:
                        self.update(p, p.grad, self.state.setdefault(p, {}), group)
            threads.split_work(self.update, matrices, share=all(isinstance(m[1], np.ndarray) for m in matrices))

    def update(self, p, grad, state, group):
        if not group["use_muon"]:
            return super().update(p, grad, state, group)
        mu = group["momentum"]
        if "momentum_buffer" not in state:
            state["momentum_buffer"] = xp_of(grad).zeros_like(p.data)
        m = state["momentum_buffer"]
        m *= mu
        m += (1 - mu) * grad
        u = (1 - mu) * grad + mu * m if group["nesterov"] else m
        orthogonal = newton_schulz(u, group["ns_steps"])
        lr = group["lr"]
        if group["weight_decay"]:
            p.data *= 1 - lr * group["weight_decay"]
        p.data -= (lr * shape_scale(p.shape)) * orthogonal
