"""Lesson 3 checks: two optimizers step for step against minilm's, and global-norm clipping."""
import numpy as np

import minilm
from minilm import optim
from minilm.course.checking import expect, expect_close


def _trajectories(mine, reference, steps=5, seed=6):
    """Two copies of the same parameters, updated by both optimizers from the same random gradients;
    yields (step, parameter index, mine, reference) after every step."""
    rng = np.random.default_rng(seed)
    shapes = [(3, 4), (4,)]
    start = [rng.standard_normal(s) for s in shapes]
    ours = [minilm.tensor(a.copy(), requires_grad=True) for a in start]
    theirs = [minilm.tensor(a.copy(), requires_grad=True) for a in start]
    opt_ours, opt_theirs = mine(ours), reference(theirs)
    for step in range(1, steps + 1):
        for a, b in zip(ours, theirs):
            a.grad = rng.standard_normal(a.shape)
            b.grad = a.grad.copy()
        opt_ours.step()
        opt_theirs.step()
        for i, (a, b) in enumerate(zip(ours, theirs)):
            yield step, i, a.data, b.data


def check_sgd_momentum(ex):
    """SGDMomentum follows minilm's SGD(momentum=0.9) for 5 steps"""
    for step, i, got, want in _trajectories(lambda p: ex.SGDMomentum(p, lr=0.1, momentum=0.9),
                                            lambda p: optim.SGD(p, lr=0.1, momentum=0.9)):
        expect_close(got, want, f"parameter {i} after step {step}", check_sgd_momentum.hint)


check_sgd_momentum.hint = ("on the first step state['buf'] = grad.copy(); afterwards buf = momentum * buf + grad; "
                           "then p.data -= lr * buf (read lr and momentum from group)")
check_sgd_momentum.hint_zh = ("第一步 state['buf'] = grad.copy()；之后 buf = momentum * buf + grad；"
                              "然后 p.data -= lr * buf（lr 和 momentum 从 group 中读取）")


def check_adam(ex):
    """Adam follows minilm's Adam for 5 steps (the bias correction matters most at the start)"""
    for step, i, got, want in _trajectories(lambda p: ex.Adam(p, lr=0.01, betas=(0.8, 0.95)),
                                            lambda p: optim.Adam(p, lr=0.01, betas=(0.8, 0.95))):
        expect_close(got, want, f"parameter {i} after step {step}", check_adam.hint)


check_adam.hint = ("keep m, v and the step count t in state (zeros and 0 at first); t += 1 before using it; "
                   "without the bias correction the first steps are 1 / (1 - b1) times too small")
check_adam.hint_zh = ("在 state 中保存 m、v 和步数 t（初始为零和 0）；先 t += 1 再使用；"
                      "如果没有偏差修正，最初几步会小 1 / (1 - b1) 倍")


def check_clip_grad_norm(ex):
    """clip_grad_norm scales all gradients by one factor to the max norm, and leaves small ones alone"""
    rng = np.random.default_rng(7)
    grads = [rng.standard_normal((3, 4)) * 2, rng.standard_normal(5)]
    norm_before = float(np.sqrt(sum((g ** 2).sum() for g in grads)))
    clipped, norm = ex.clip_grad_norm([g.copy() for g in grads], 1.0)
    expect_close(norm, norm_before, "the returned norm (before clipping)", check_clip_grad_norm.hint)
    tensors = [minilm.tensor(np.zeros_like(g), requires_grad=True) for g in grads]
    for t, g in zip(tensors, grads):
        t.grad = g.copy()
    optim.clip_grad_norm_(tensors, 1.0)
    for k, (got, t) in enumerate(zip(clipped, tensors)):
        expect_close(got, t.grad, f"clipped gradient {k}", check_clip_grad_norm.hint, atol=1e-5)
    kept, norm = ex.clip_grad_norm([g / 100 for g in grads], 1.0)
    expect(all(np.allclose(a, g / 100) for a, g in zip(kept, grads)),
           "gradients whose norm is already below max_norm were changed", check_clip_grad_norm.hint)


check_clip_grad_norm.hint = ("norm = sqrt of the sum of g**2 over every element of every gradient; if it exceeds "
                             "max_norm multiply each gradient by max_norm / norm, otherwise return them unchanged")
check_clip_grad_norm.hint_zh = ("norm = 所有梯度所有元素的 g**2 之和再开平方；若超过 max_norm，把每个梯度乘以 "
                                "max_norm / norm，否则原样返回")
