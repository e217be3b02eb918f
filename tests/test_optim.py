"""Optimizers against their update formulas written out independently, and a learning test."""
import math

import numpy as np
import pytest

import minilm
import minilm.functional as F
from minilm import nn, optim

R = np.random.default_rng(3)
GRADS = [R.standard_normal(4).astype(np.float32) for _ in range(3)]
P0 = R.standard_normal(4).astype(np.float32)


def run(make_optimizer, steps=3):
    p = nn.Parameter(P0.copy())
    opt = make_optimizer([p])
    history = []
    for g in GRADS[:steps]:
        p.grad = g.copy()
        opt.step()
        history.append(p.numpy().copy())
    return history


def check(make_optimizer, reference):
    for ours, theirs in zip(run(make_optimizer), reference()):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def test_sgd_plain_and_weight_decay():
    def ref():
        p, out = P0.astype(np.float64), []
        for g in GRADS:
            p = p - 0.1 * (g + 0.01 * p)
            out.append(p)
        return out
    check(lambda ps: optim.SGD(ps, lr=0.1, weight_decay=0.01), ref)


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_momentum(nesterov):
    def ref():
        p, buf, out = P0.astype(np.float64), None, []
        for g in GRADS:
            buf = g if buf is None else 0.9 * buf + g
            p = p - 0.1 * (g + 0.9 * buf if nesterov else buf)
            out.append(p)
        return out
    check(lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=nesterov), ref)


def test_rmsprop():
    def ref():
        p, v, out = P0.astype(np.float64), 0.0, []
        for g in GRADS:
            v = 0.99 * v + 0.01 * g * g
            p = p - 0.01 * g / (np.sqrt(v) + 1e-8)
            out.append(p)
        return out
    check(lambda ps: optim.RMSprop(ps, lr=0.01), ref)


@pytest.mark.parametrize("decoupled", [False, True])
def test_adam_and_adamw(decoupled):
    lr, b1, b2, eps, wd = 0.01, 0.9, 0.99, 1e-8, 0.1

    def ref():
        p, m, v, out = P0.astype(np.float64), 0.0, 0.0, []
        for t, g in enumerate(GRADS, 1):
            if decoupled:
                p = p * (1 - lr * wd)
            else:
                g = g + wd * p
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            p = p - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
            out.append(p)
        return out
    cls = optim.AdamW if decoupled else optim.Adam
    check(lambda ps: cls(ps, lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd), ref)


@pytest.mark.parametrize("lr_decay,wd,initial", [(0.0, 0.0, 0.0), (0.1, 0.05, 1.0)])
def test_adagrad(lr_decay, wd, initial):
    lr, eps = 0.05, 1e-10

    def ref():
        p, s, out = P0.astype(np.float64), np.full(4, initial), []
        for t, g in enumerate(GRADS, 1):
            g = g + wd * p
            s = s + g * g
            p = p - lr / (1 + (t - 1) * lr_decay) * g / (np.sqrt(s) + eps)
            out.append(p)
        return out
    check(lambda ps: optim.Adagrad(ps, lr=lr, lr_decay=lr_decay, weight_decay=wd,
                                   initial_accumulator_value=initial), ref)


def test_param_groups_decay_only_matrices():
    w = nn.Parameter(np.ones((2, 2), np.float32))
    b = nn.Parameter(np.ones(2, np.float32))
    opt = optim.AdamW([{"params": [w], "weight_decay": 0.5}, {"params": [b], "weight_decay": 0.0}], lr=0.1)
    w.grad, b.grad = np.zeros((2, 2), np.float32), np.zeros(2, np.float32)
    opt.step()
    assert np.allclose(w.numpy(), 0.95) and np.allclose(b.numpy(), 1.0)
    with pytest.raises(ValueError, match="unknown option"):
        optim.AdamW([{"params": [w], "wd": 0.1}])


def test_clip_grad_norm():
    a, b = nn.Parameter(np.zeros(2, np.float32)), nn.Parameter(np.zeros(1, np.float32))
    a.grad, b.grad = np.array([3.0, 0.0], np.float32), np.array([4.0], np.float32)
    total = optim.clip_grad_norm_([a, b], 1.0)
    assert math.isclose(total, 5.0, rel_tol=1e-6)
    assert np.allclose(np.concatenate([a.grad, b.grad]), [0.6, 0.0, 0.8], atol=1e-5)


def test_schedules():
    lr = lambda s: optim.cosine_with_warmup(s, 1e-3, 100, 2000, 1e-4)  # noqa: E731
    assert lr(0) == pytest.approx(1e-3 / 101)
    assert lr(100) == pytest.approx(1e-3)
    assert lr(1050) == pytest.approx(1e-4 + 0.5 * 0.9e-3)
    assert lr(2000) == lr(5000) == pytest.approx(1e-4)
    assert optim.step_decay(25, 0.1, 10, 0.5) == pytest.approx(0.025)
    p = nn.Parameter(np.zeros(1, np.float32))
    sched = optim.StepLR(optim.SGD([p], lr=1.0), step_size=2, gamma=0.1)
    for _ in range(4):
        sched.step()
    assert sched.get_last_lr() == [pytest.approx(0.01)]


def test_trapezoid_warms_up_holds_then_cools_down_linearly():
    lr = lambda s: optim.trapezoid(s, 1e-3, 100, 2000, 1e-4, cooldown_frac=0.4)  # noqa: E731
    assert lr(0) == pytest.approx(1e-3 / 101) and lr(100) == lr(1199) == 1e-3      # flat until 60% of 2000
    assert lr(1200) == 1e-3 and lr(1600) == pytest.approx(1e-3 - 0.5 * 0.9e-3)      # halfway down the line
    assert lr(2000) == lr(3000) == pytest.approx(1e-4)
    assert optim.trapezoid(50, 1e-3, 100, 120, cooldown_frac=1.0) == pytest.approx(1e-3 * 51 / 101)
    assert optim.trapezoid(110, 1e-3, 100, 120, cooldown_frac=1.0) == pytest.approx(0.5e-3)  # cooldown after warmup


def test_optimizer_state_dict_round_trip_continues_identically():
    def make():
        minilm.manual_seed(0)
        model = nn.Linear(3, 2)
        return model, optim.AdamW(model.parameters(), lr=0.1)
    x = minilm.tensor(R.standard_normal((5, 3)).astype(np.float32))

    def step(model, opt):
        opt.zero_grad()
        (model(x) ** 2).mean().backward()
        opt.step()

    a, opt_a = make()
    for _ in range(3):
        step(a, opt_a)
    b, opt_b = make()
    b.load_state_dict(a.state_dict())
    opt_b.load_state_dict(opt_a.state_dict())
    step(a, opt_a)
    step(b, opt_b)
    assert np.array_equal(a.weight.numpy(), b.weight.numpy())


def two_spirals(n, rng):
    t = np.sqrt(rng.random(n)) * 3 * np.pi
    a = np.stack([t * np.cos(t), t * np.sin(t)], 1) / 10
    x = np.concatenate([a, -a]) + rng.normal(0, 0.02, (2 * n, 2))
    y = np.concatenate([np.zeros(n), np.ones(n)]).astype(np.int64)
    return x.astype(np.float32), y


def test_mlp_learns_two_spirals():
    rng = np.random.default_rng(0)
    x, y = two_spirals(300, rng)
    model = nn.Sequential(nn.Linear(2, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 2))
    opt = optim.Adam(model.parameters(), lr=0.01)
    X, Y = minilm.tensor(x), minilm.tensor(y)
    for _ in range(1500):
        loss = F.cross_entropy(model(X), Y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    accuracy = (model(X).numpy().argmax(1) == y).mean()
    assert accuracy >= 0.95, accuracy
