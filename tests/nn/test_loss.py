"""Losses: every function and module against PyTorch (fixtures/make_loss_fixtures.py), and gradchecked."""
import numpy as np
import pytest

import minilm
import minilm.functional as F
from minilm import nn
from helpers import fixture, t64

R = np.random.default_rng(11)
D = fixture("losses.safetensors")

# case -> (the function, its module, keyword constants the fixture holds)
CASES = {
    "mse": (F.mse_loss, nn.MSELoss, {}),
    "l1": (F.l1_loss, nn.L1Loss, {}),
    "smooth_l1": (F.smooth_l1_loss, nn.SmoothL1Loss, {}),
    "smooth_l1_beta": (lambda *a, **k: F.smooth_l1_loss(*a, beta=0.5, **k),
                       lambda **k: nn.SmoothL1Loss(beta=0.5, **k), {}),
    "bce": (F.binary_cross_entropy, nn.BCELoss, {}),
    "bce_weight": (F.binary_cross_entropy, nn.BCELoss, {"weight"}),
    "bce_logits": (F.binary_cross_entropy_with_logits, nn.BCEWithLogitsLoss, {}),
    "bce_logits_pos": (F.binary_cross_entropy_with_logits, nn.BCEWithLogitsLoss, {"weight", "pos_weight"}),
    "nll": (F.nll_loss, nn.NLLLoss, {}),
    "nll_weight": (F.nll_loss, nn.NLLLoss, {"weight"}),
    "nll_spatial": (F.nll_loss, nn.NLLLoss, {}),
    "ce": (F.cross_entropy, nn.CrossEntropyLoss, {}),
    "ce_weight": (F.cross_entropy, nn.CrossEntropyLoss, {"weight"}),
    "ce_weight_smooth": (lambda *a, **k: F.cross_entropy(*a, label_smoothing=0.2, **k),
                         lambda **k: nn.CrossEntropyLoss(label_smoothing=0.2, **k), {"weight"}),
    "ce_weight_spatial": (lambda *a, **k: F.cross_entropy(*a, label_smoothing=0.1, **k),
                          lambda **k: nn.CrossEntropyLoss(label_smoothing=0.1, **k), {"weight"}),
    "ce_smooth": (lambda *a, **k: F.cross_entropy(*a, label_smoothing=0.1, **k),
                  lambda **k: nn.CrossEntropyLoss(label_smoothing=0.1, **k), {}),
}


def run_case(name, reduction, use_module):
    function, module, constant_names = CASES[name]
    constants = {k: D[f"{name}.{k}"] for k in constant_names}
    x = t64(D[f"{name}.input"])
    real_target = f"{name}.{reduction}.grad_target" in D
    target = t64(D[f"{name}.target"]) if real_target else D[f"{name}.target"].astype(np.int64)
    if use_module:
        loss = module(reduction=reduction, **constants)(x, target)
    else:
        loss = function(x, target, reduction=reduction, **constants)
    gy = D[f"{name}.{reduction}.gy"].reshape(loss.shape)
    loss.backward(minilm.tensor(gy))
    return loss, x, target if real_target else None


@pytest.mark.parametrize("use_module", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_loss_matches_pytorch(name, reduction, use_module):
    loss, x, target = run_case(name, reduction, use_module)
    np.testing.assert_allclose(loss.numpy().reshape(-1), D[f"{name}.{reduction}.loss"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(x.grad, D[f"{name}.{reduction}.grad_input"], rtol=1e-12, atol=1e-12)
    if target is not None:
        np.testing.assert_allclose(target.grad, D[f"{name}.{reduction}.grad_target"], rtol=1e-12, atol=1e-12)


def test_edge_cases_are_pytorchs():
    """BCE of a certain wrong answer costs 100 (log clamped), a certain right one 0; logits of +-100 stay finite."""
    bce = F.binary_cross_entropy(t64(D["bce.input"]), t64(D["bce.target"]), reduction="none").numpy()
    np.testing.assert_array_equal(bce[0, :2], [100.0, 100.0])
    np.testing.assert_array_equal(bce[1, :2], [0.0, 0.0])
    logits = F.binary_cross_entropy_with_logits(t64(D["bce_logits.input"]), t64(D["bce_logits.target"]),
                                                reduction="none").numpy()
    np.testing.assert_allclose(logits[0, :2], [100.0, 100.0])
    assert np.all(logits[1, :2] < 1e-40)
    big = F.binary_cross_entropy_with_logits(t64([1000.0, -1000.0]), t64([0.0, 1.0]), reduction="none")
    np.testing.assert_array_equal(big.numpy(), [1000.0, 1000.0])


def probabilities(shape):
    return t64(R.uniform(0.05, 0.95, shape))


def away_from_kinks(shape, kinks):
    """Differences d = x - y at least 0.1 from every point where the loss is not smooth."""
    y = R.standard_normal(shape)
    d = R.uniform(0.15, 2.0, shape) * R.choice([-1, 1], shape)
    for k in kinks:
        d = np.where(np.abs(np.abs(d) - k) < 0.1, d + 0.2 * np.sign(d), d)
    return t64(y + d), t64(y)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("make", [
    lambda r: (F.mse_loss, away_from_kinks((3, 4), [])),
    lambda r: (F.l1_loss, away_from_kinks((3, 4), [0.0])),
    lambda r: (F.smooth_l1_loss, away_from_kinks((3, 4), [0.0, 1.0])),
    lambda r: (lambda x, y, reduction: F.smooth_l1_loss(x, y, reduction, beta=0.4), away_from_kinks((3, 4), [0.0, 0.4])),
    lambda r: (F.binary_cross_entropy, (probabilities((3, 4)), probabilities((3, 4)))),
    lambda r: (lambda x, y, reduction, weight=R.uniform(0.5, 2, (3, 4)):
               F.binary_cross_entropy(x, y, weight=weight, reduction=reduction),
               (probabilities((3, 4)), probabilities((3, 4)))),
    lambda r: (lambda x, y, reduction: F.binary_cross_entropy_with_logits(x, y, reduction=reduction,
                                                                          pos_weight=np.array([0.5, 1, 2, 3.0])),
               (t64(R.standard_normal((3, 4)) * 3), probabilities((3, 4)))),
])
def test_real_valued_losses_gradcheck(make, reduction):
    fn, (x, y) = make(reduction)
    assert minilm.gradcheck(lambda x, y: fn(x, y, reduction=reduction), [x, y])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_class_id_losses_gradcheck(reduction):
    x = t64(R.standard_normal((5, 4)))
    ids = np.array([0, 3, -100, 1, 2])
    weight = np.array([0.5, 2.0, 1.0, 3.0])
    assert minilm.gradcheck(lambda x: F.nll_loss(x, ids, weight=weight, reduction=reduction), [x])
    assert minilm.gradcheck(lambda x: F.cross_entropy(x, ids, weight=weight, reduction=reduction), [x])
    assert minilm.gradcheck(lambda x: F.cross_entropy(x, ids, weight=weight, reduction=reduction,
                                                      label_smoothing=0.3), [x])
    spatial = t64(R.standard_normal((2, 4, 3)))
    assert minilm.gradcheck(lambda x: F.nll_loss(x, np.array([[0, 1, 3], [2, -100, 0]]), reduction=reduction),
                            [spatial])


def test_weights_are_buffers_that_move_with_the_module():
    criterion = nn.BCEWithLogitsLoss(pos_weight=[2.0, 1.0])
    assert set(criterion.state_dict()) == {"pos_weight"}
    assert nn.MSELoss().state_dict() == {}
    assert "reduction='sum'" in repr(nn.L1Loss(reduction="sum"))


def test_bad_arguments_are_clear():
    x = t64(R.standard_normal((3, 4)))
    with pytest.raises(ValueError, match=r"mse_loss: input of shape \(3, 4\) and target of shape \(4,\) differ"):
        F.mse_loss(x, t64(np.zeros(4)))
    with pytest.raises(ValueError, match="reduction must be 'mean', 'sum' or 'none', got 'avg'"):
        F.l1_loss(x, x.detach(), reduction="avg")
    with pytest.raises(ValueError, match="reduction must be"):
        nn.NLLLoss(reduction="average")
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\].*with_logits"):
        F.binary_cross_entropy(x, t64(np.zeros((3, 4))))
    with pytest.raises(ValueError, match="nll_loss: target id 9 is out of range for 4 classes"):
        F.nll_loss(x, np.array([0, 9, 1]))
    with pytest.raises(ValueError, match=r"weight must have one entry per class, shape \(4,\)"):
        F.nll_loss(x, np.array([0, 1, 1]), weight=np.ones(3))
    with pytest.raises(ValueError, match="beta must be >= 0"):
        F.smooth_l1_loss(x, x.detach(), beta=-1)


def grads_of(loss_fn, *inputs):
    for x in inputs:
        x.grad = None
    loss = loss_fn(*inputs)
    loss.backward()
    return [loss.numpy()] + [x.grad.copy() for x in inputs]


def test_fused_logit_losses_equal_their_composites():
    """BCE with logits is BCE of the sigmoid; cross_entropy is nll_loss of log_softmax (values and gradients)."""
    z, y = t64(R.standard_normal((4, 3)) * 3), probabilities((4, 3))
    for a, b in zip(grads_of(F.binary_cross_entropy_with_logits, z, y),
                    grads_of(lambda z, y: F.binary_cross_entropy(F.sigmoid(z), y), z, y)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    logits, ids = t64(R.standard_normal((5, 4))), np.array([0, 3, -100, 1, 2])
    for a, b in zip(grads_of(lambda x: F.cross_entropy(x, ids), logits),
                    grads_of(lambda x: F.nll_loss(F.log_softmax(x, dim=1), ids), logits)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
