"""GPT with the speedrun recipe's pieces (qk_norm, relu2, zero_init_proj, logit_softcap, value_residual):
float64 gradients, the key/value cache, each piece off by default, and a clear refusal to export them."""
import numpy as np
import pytest

import minilm
from minilm.autograd import no_grad
from minilm.models import GPT, GPTConfig
from minilm.nn import ReLUSquared

RECIPE = dict(vocab_size=11, block_size=8, n_layer=3, n_head=2, n_embd=8, pos="rope", norm="rmsnorm", bias=False,
              mlp="relu2", qk_norm=True, logit_softcap=3.0, value_residual=True, tie_embeddings=False)
R = np.random.default_rng(5)


def test_each_piece_is_off_by_default():
    c = GPTConfig()
    assert (c.qk_norm, c.zero_init_proj, c.logit_softcap, c.value_residual, c.mlp) == (False, False, 0.0, False, "gelu")
    assert not any("value_mix" in name for name in GPT(GPTConfig(n_layer=2)).state_dict())


def test_relu_squared_gradcheck_float64():
    x = minilm.tensor(R.standard_normal((4, 5)) + 0.05, requires_grad=True, dtype="float64")   # no 0 exactly
    assert minilm.gradcheck(lambda x: ReLUSquared()(x).sum(), [x])
    np.testing.assert_allclose(ReLUSquared()(x).numpy(), np.maximum(x.numpy(), 0) ** 2)


def test_the_whole_recipe_gradcheck_float64():
    """Every parameter's gradient (the mixing scalars l included) against finite differences."""
    minilm.manual_seed(0)
    model = GPT(GPTConfig(**RECIPE)).to(dtype=np.float64)
    for p in model.parameters():                    # untrained weights are too small to exercise the cap
        p.data *= 4
    idx, targets = R.integers(0, 11, (2, 6)), R.integers(0, 11, (2, 6))
    names = [n for n, _ in model.named_parameters()]
    assert "transformer.h.1.attn.value_mix" in names and "transformer.h.0.attn.value_mix" not in names
    params = list(model.parameters())
    assert minilm.gradcheck(lambda *p: model(idx, targets)[1], params, mode="directional")
    mixes = [model.transformer.h[i].attn.value_mix for i in (1, 2)]
    assert minilm.gradcheck(lambda *p: model(idx, targets)[1], mixes)
    capped = model(idx)[0].numpy()
    model.config.logit_softcap = 0.0
    uncapped = model(idx)[0].numpy()
    np.testing.assert_allclose(capped, 3.0 * np.tanh(uncapped / 3.0), atol=1e-12)
    assert np.abs(uncapped).max() > 1.5                          # where tanh is far from linear


def test_zero_init_projections_make_every_block_the_identity_at_first():
    model = GPT(GPTConfig(**{**RECIPE, "zero_init_proj": True}))
    zeroed = [n for n, p in model.named_parameters() if not p.numpy().any()]
    assert zeroed == [f"transformer.h.{i}.{m}.c_proj.weight" for i in range(3) for m in ("attn", "mlp")] \
        + ["lm_head.weight"]
    tied = GPT(GPTConfig(**{**RECIPE, "zero_init_proj": True, "tie_embeddings": True}))
    assert tied.transformer.wte.weight.numpy().any()                  # a tied head keeps the embedding's init


def test_kv_cache_decoding_with_the_recipe_equals_recomputing():
    minilm.manual_seed(1)
    model = GPT(GPTConfig(**RECIPE)).eval()
    ids = R.integers(0, 11, (2, 8))
    with no_grad():
        full = model(minilm.tensor(ids))[0].numpy()
        caches = model.new_caches()
        steps = [model(minilm.tensor(ids[:, :3]), caches=caches)[0].numpy()]
        steps += [model(minilm.tensor(ids[:, t:t + 1]), caches=caches)[0].numpy() for t in range(3, 8)]
    np.testing.assert_allclose(np.concatenate(steps, axis=1), full, atol=1e-5)


@pytest.mark.parametrize("option,shown", [(dict(qk_norm=True), "qk_norm"), (dict(mlp="relu2"), "mlp 'relu2'"),
                                          (dict(logit_softcap=15.0), "logit_softcap 15"),
                                          (dict(value_residual=True), "value_residual")])
def test_export_refuses_what_transformers_cannot_compute(tmp_path, option, shown):
    model = GPT(GPTConfig(vocab_size=11, n_layer=2, n_head=2, n_embd=8, **option))
    with pytest.raises(ValueError, match=f"no {shown}"):
        model.save_pretrained(str(tmp_path / "hf"))
    assert not (tmp_path / "hf").exists()
    GPT(GPTConfig(vocab_size=11, n_layer=2, n_head=2, n_embd=8, zero_init_proj=True,
                  tie_embeddings=False)).save_pretrained(str(tmp_path / "ok"))       # only an initialisation


def test_bad_softcap_is_one_clear_error():
    with pytest.raises(ValueError, match="logit_softcap must be >= 0"):
        GPTConfig(logit_softcap=-1.0)
