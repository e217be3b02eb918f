"""Muon (minilm/optim/muon.py): the Newton-Schulz band, one step written out independently, the reference's
steps (tests/fixtures/make_muon_fixtures.py), and the split of a model's parameters."""
import os

import numpy as np
import pytest

import minilm
from minilm import nn, optim
from minilm.models import GPT, LSTMLM, GPTConfig
from minilm.optim.muon import NEWTON_SCHULZ_COEFFICIENTS

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "muon.safetensors")
BAND = (0.68, 1.21)          # the singular values after 5 steps, for those >= 0.002 ||G||_F (muon.py)


def polynomial_on_singular_values(G, steps=5):
    """U p(p(...p(S))) V^T from the SVD of G / ||G||_F, in float64: what the iteration computes, by another road."""
    a, b, c = NEWTON_SCHULZ_COEFFICIENTS
    G = G.astype(np.float64)
    U, s, Vt = np.linalg.svd(G / (np.linalg.norm(G) + 1e-7), full_matrices=False)
    for _ in range(steps):
        s = a * s + b * s ** 3 + c * s ** 5
    return (U * s) @ Vt


@pytest.mark.parametrize("shape", [(32, 128), (128, 32), (40, 64), (100, 30), (16, 16)])
def test_newton_schulz_singular_values_lie_in_the_band(shape):
    rng = np.random.default_rng(sum(shape))
    G = rng.standard_normal(shape).astype(np.float32)
    if shape[0] == shape[1]:       # a square Gaussian's smallest singular value can be ~0: set them, 1 to 0.01
        (U, _), (V, _) = np.linalg.qr(G), np.linalg.qr(rng.standard_normal(shape))
        G = ((U * np.logspace(0, -2, shape[0])) @ V.T).astype(np.float32)
    s_in = np.linalg.svd(G.astype(np.float64), compute_uv=False)
    assert s_in.min() >= 0.002 * np.linalg.norm(G)           # the band's premise holds for this matrix
    X = optim.newton_schulz(G)
    assert X.shape == G.shape and X.dtype == np.float32
    s_out = np.linalg.svd(X.astype(np.float64), compute_uv=False)
    assert BAND[0] - 1e-3 <= s_out.min() and s_out.max() <= BAND[1] + 1e-3, (s_out.min(), s_out.max())
    # the same singular vectors as G: the polynomial acts on the singular values alone
    np.testing.assert_allclose(X, polynomial_on_singular_values(G), atol=2e-5)


def test_one_muon_step_equals_the_update_written_out():
    """Two steps of a Muon group and an AdamW group, against numpy in float64 (the orthogonalisation by SVD)."""
    rng = np.random.default_rng(0)
    W0, b0 = rng.standard_normal((12, 5)).astype(np.float32), rng.standard_normal(12).astype(np.float32)
    grads = [(rng.standard_normal((12, 5)).astype(np.float32), rng.standard_normal(12).astype(np.float32))
             for _ in range(2)]
    W, b = nn.Parameter(W0.copy()), nn.Parameter(b0.copy())
    opt = optim.Muon([{"params": [W], "weight_decay": 0.1},
                      {"params": [b], "use_muon": False, "lr": 1e-2, "weight_decay": 0.0}],
                     lr=0.05, momentum=0.9, betas=(0.9, 0.95), eps=1e-8)
    w, bias, m, am, av = W0.astype(np.float64), b0.astype(np.float64), 0.0, 0.0, 0.0
    for t, (gw, gb) in enumerate(grads, 1):
        W.grad, b.grad = gw.copy(), gb.copy()
        opt.step()
        m = 0.9 * m + 0.1 * gw
        nesterov = 0.1 * gw + 0.9 * m
        w = w * (1 - 0.05 * 0.1) - 0.05 * np.sqrt(12 / 5) * polynomial_on_singular_values(nesterov)
        am, av = 0.9 * am + 0.1 * gb, 0.95 * av + 0.05 * gb * gb
        bias = bias - 1e-2 * (am / (1 - 0.9 ** t)) / (np.sqrt(av / (1 - 0.95 ** t)) + 1e-8)
        np.testing.assert_allclose(W.numpy(), w, atol=2e-6)
        np.testing.assert_allclose(b.numpy(), bias, rtol=1e-5, atol=1e-6)


def test_three_steps_match_the_reference_implementation():
    """The public reference Muon with its auxiliary Adam (float32 Newton-Schulz) to float32 rounding."""
    ref = minilm.load(FIXTURE)
    names = ["tall", "wide", "square", "embedding", "bias"]
    params = {n: nn.Parameter(ref[f"{n}.init"].copy()) for n in names}
    opt = optim.Muon([{"params": [params[n] for n in ("tall", "wide", "square")]},
                      {"params": [params["embedding"], params["bias"]], "use_muon": False, "lr": 3e-3}],
                     lr=0.02, momentum=0.95, weight_decay=0.1, betas=(0.9, 0.95), eps=1e-10)
    for step in range(3):
        for n in names:
            params[n].grad = ref[f"{n}.grad.{step}"].copy()
        opt.step()
        for n in names:
            np.testing.assert_allclose(params[n].numpy(), ref[f"{n}.after.{step}"], rtol=1e-5, atol=2e-6,
                                       err_msg=f"{n} after step {step}")


def test_the_split_gives_muon_the_hidden_matrices_only():
    for tie in (True, False):
        model = GPT(GPTConfig(n_layer=2, n_head=2, n_embd=16, tie_embeddings=tie))
        opt = optim.build_optimizer(model, "muon", lr=1e-3, weight_decay=0.1, muon_lr=0.03)
        names = {id(p): n for n, p in model.named_parameters()}
        muon = [names[id(p)] for p in opt.param_groups[0]["params"]]
        assert opt.param_groups[0]["use_muon"] and opt.param_groups[0]["lr"] == 0.03
        assert muon == [n for n, p in model.named_parameters() if p.ndim == 2 and n.startswith("transformer.h.")]
        adamw = [names[id(p)] for g in opt.param_groups[1:] for p in g["params"]]
        assert not any(g["use_muon"] for g in opt.param_groups[1:])
        assert "transformer.wte.weight" in adamw and ("lm_head.weight" in adamw) == (not tie)
        assert sorted(muon + adamw) == sorted(names.values())
        assert {g["lr"] for g in opt.param_groups[1:]} == {1e-3}
    lstm = optim.build_optimizer(LSTMLM(20, 8, 16, 1), "muon")
    assert [p.shape for p in lstm.param_groups[0]["params"]] == [(64, 8), (64, 16)]
    assert "muon: 2 hidden matrices" in optim.describe_split(lstm)


def test_muon_refuses_what_it_cannot_step():
    with pytest.raises(ValueError, match="use_muon=False"):
        optim.Muon([nn.Parameter(np.zeros(3, np.float32))])
    with pytest.raises(TypeError, match="needs the model"):
        optim.build_optimizer(GPT(GPTConfig(n_layer=1, n_embd=16, n_head=2)).parameters(), "muon")
