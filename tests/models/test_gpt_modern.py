"""GPT with the Llama-style options: rope + rmsnorm + swiglu + grouped-query attention."""
import numpy as np
import pytest

import minilm
from minilm.autograd import no_grad
from minilm.models import GPT, GPTConfig

MODERN = dict(vocab_size=23, block_size=16, n_layer=2, n_head=4, n_kv_head=2, n_embd=16, norm="rmsnorm",
              pos="rope", mlp="swiglu", bias=False, tie_embeddings=False)


def test_defaults_are_the_gpt2_model_of_before():
    names = set(GPT(GPTConfig(vocab_size=10, n_layer=1)).state_dict())
    assert "transformer.wpe.weight" in names and "transformer.h.0.ln_1.bias" in names
    config = GPTConfig()
    assert (config.norm, config.pos, config.mlp, config.n_kv_head, config.intermediate_size) == \
        ("layernorm", "learned", "gelu", 4, 512)


def test_modern_blocks_have_their_shapes():
    model = GPT(GPTConfig(**MODERN))
    state = model.state_dict()
    assert "transformer.wpe.weight" not in state and "transformer.h.0.ln_1.bias" not in state
    assert state["transformer.h.0.attn.c_attn.weight"].shape == (16 + 2 * 2 * 4, 16)   # q: 4 heads, k, v: 2
    assert state["transformer.h.0.mlp.c_fc.weight"].shape == (2 * 48, 16)              # gate and up, I = 8C/3
    assert model.lm_head.weight is not model.transformer.wte.weight


def test_kv_cache_decoding_with_rope_equals_recomputing():
    minilm.manual_seed(0)
    model = GPT(GPTConfig(**MODERN)).eval()
    ids = np.random.default_rng(0).integers(0, 23, (2, 12))
    with no_grad():
        full = model(minilm.tensor(ids))[0].numpy()
        caches = model.new_caches()
        steps = [model(minilm.tensor(ids[:, :5]), caches=caches)[0].numpy()]
        steps += [model(minilm.tensor(ids[:, t:t + 1]), caches=caches)[0].numpy() for t in range(5, 12)]
    np.testing.assert_allclose(np.concatenate(steps, axis=1), full, atol=1e-5)
    assert caches[0].k.shape[:2] == (2, 2)                                # only the n_kv_head heads


def test_the_kv_cache_grows_as_positions_come():
    minilm.manual_seed(0)
    model = GPT(GPTConfig(**{**MODERN, "block_size": 1000, "n_layer": 1})).eval()
    ids = np.random.default_rng(2).integers(0, 23, (1, 70))
    with no_grad():
        full = model(minilm.tensor(ids))[0].numpy()
        caches = model.new_caches()
        steps = [model(minilm.tensor(ids[:, t:t + 1]), caches=caches)[0].numpy() for t in range(70)]
    np.testing.assert_allclose(np.concatenate(steps, axis=1), full, atol=1e-5)
    assert caches[0].k.shape[2] == 128                                    # 64, then doubled; not 1000


def test_greedy_generation_equals_recomputing_the_whole_sequence():
    minilm.manual_seed(1)
    model = GPT(GPTConfig(**MODERN)).eval()
    for p in model.parameters():                                          # sharper logits: no near-ties
        p.data *= 3
    prompt = np.array([[1, 2, 3]])
    generated = model.generate(prompt, 10, temperature=0)
    ids = prompt
    with no_grad():
        for _ in range(10):
            logits = model(minilm.tensor(ids))[0].numpy()
            ids = np.concatenate([ids, logits[:, -1].argmax(-1)[:, None]], axis=1)
    np.testing.assert_array_equal(generated, ids)


@pytest.mark.parametrize("n_kv_head", [4, 2, 1])
def test_a_modern_gpt_learns(n_kv_head):
    minilm.manual_seed(0)
    model = GPT(GPTConfig(**{**MODERN, "n_kv_head": n_kv_head}))
    optimizer = model.configure_optimizers(0.0, 1e-2)
    seq = np.tile(np.arange(17) % 7, (4, 1))
    losses = []
    for _ in range(30):
        _, loss = model(minilm.tensor(seq[:, :-1]), minilm.tensor(seq[:, 1:]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0]


def test_bad_options_are_one_clear_error():
    with pytest.raises(ValueError, match="n_kv_head 3 must divide n_head 4"):
        GPTConfig(n_head=4, n_kv_head=3)
    with pytest.raises(ValueError, match="GPTConfig.norm must be one of"):
        GPTConfig(norm="batchnorm")
