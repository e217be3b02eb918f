"""train_step (minilm/train/step.py): accumulation, clipping, and the one non-finite check per step."""
import math

import numpy as np
import pytest

import minilm
import minilm.functional as F
from minilm import nn
from minilm.amp import GradScaler
from minilm.optim import SGD, build_optimizer, decay_groups
from minilm.tensor import Tensor
from minilm.train.evaluation import evaluate_batches, note_best
from minilm.train.step import NonFinite, train_step

X = np.random.default_rng(0).normal(size=(8, 3)).astype(np.float32)
Y = np.array([0, 1, 1, 0, 1, 0, 0, 1])


def model_and_optimizer():
    minilm.manual_seed(0)
    model = nn.Linear(3, 2)
    return model, SGD(model.parameters(), lr=0.1)


def micro_batches(model, pieces):
    """micro_batch_loss for train_step: the cross-entropy of the next of `pieces` equal row slices."""
    rows = iter(np.array_split(np.arange(len(X)), pieces))

    def loss():
        r = next(rows)
        return F.cross_entropy(model(Tensor(X[r])), Tensor(Y[r]))
    return loss


def test_accumulated_micro_batches_take_the_step_of_the_whole_batch():
    weights, results = [], []
    for pieces in (1, 2, 4):
        model, optimizer = model_and_optimizer()
        results.append(train_step(micro_batches(model, pieces), model, optimizer, GradScaler(enabled=False),
                                  accumulation_steps=pieces, grad_clip=math.inf))
        weights.append(model.weight.numpy().copy())
        assert all(p.grad is None for p in model.parameters())        # zeroed after the step
    for (loss, norm), w in zip(results[1:], weights[1:]):
        assert loss == pytest.approx(results[0][0], rel=1e-6) and norm == pytest.approx(results[0][1], rel=1e-5)
        np.testing.assert_allclose(w, weights[0], rtol=1e-5, atol=1e-7)


def test_no_clipping_means_no_norm():
    model, optimizer = model_and_optimizer()
    loss, norm = train_step(micro_batches(model, 1), model, optimizer, GradScaler(enabled=False))
    assert norm is None and math.isfinite(loss)


def test_a_non_finite_loss_leaves_the_weights_and_clears_the_gradients():
    model, optimizer = model_and_optimizer()
    before = model.weight.numpy().copy()
    loss_of = micro_batches(model, 2)
    with pytest.raises(NonFinite, match="the loss became nan") as stopped:
        train_step(lambda: loss_of() * float("nan"), model, optimizer, GradScaler(enabled=False), 2, math.inf)
    assert stopped.value.what == "loss" and math.isnan(stopped.value.value)
    np.testing.assert_array_equal(model.weight.numpy(), before)
    assert all(p.grad is None for p in model.parameters())


def test_evaluate_batches_weighs_each_batch_by_its_targets_and_restores_training_mode():
    model, _ = model_and_optimizer()
    model.train()
    batches = [(X[:6], Y[:6]), (X[6:], Y[6:])]
    sums = evaluate_batches(model, batches, lambda b: (model(Tensor(b[0])), F.cross_entropy(model(Tensor(b[0])),
                                                                                           Tensor(b[1])), b[1]))
    whole = F.cross_entropy(model(Tensor(X)), Tensor(Y)).item()
    assert sums["count"] == 8 and sums["loss"] / sums["count"] == pytest.approx(whole, rel=1e-6)
    assert model.training


def test_the_optimizer_builder_decays_only_matrices():
    model, _ = model_and_optimizer()
    decayed, kept = decay_groups(model.parameters(), 0.1)
    assert [p.ndim for p in decayed["params"]] == [2] and [p.ndim for p in kept["params"]] == [1]
    with pytest.raises(ValueError, match="optimizer must be one of 'adamw', 'adam', 'sgd', 'rmsprop', 'muon', got 'lion'"):
        build_optimizer(model.parameters(), "lion")
    assert note_best(1.0, 2.0, 3) == (True, 1.0, 0) and note_best(3.0, 2.0, 3) == (False, 2.0, 4)
