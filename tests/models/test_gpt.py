"""GPT: nanoGPT compatibility, learning, the KV cache, generation and errors."""
import numpy as np
import pytest

import minilm
from minilm.models import GPT, GPTConfig
from helpers import fixture

R = np.random.default_rng(6)


def tiny(**kw):
    cfg = dict(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=16)
    cfg.update(kw)
    return GPT(GPTConfig(**cfg))


def test_nanogpt_state_dict_loads_and_matches():
    d = fixture("gpt_nanogpt.safetensors")
    model = tiny()
    model.load_state_dict({k[6:]: v for k, v in d.items() if k.startswith("state.")})
    logits, loss = model(minilm.tensor(d["idx"]), minilm.tensor(d["targets"]))
    np.testing.assert_allclose(logits.numpy(), d["logits"], atol=1e-5)
    np.testing.assert_allclose(loss.item(), d["loss"][0], atol=1e-5)
    loss.backward()
    grads = dict(model.named_parameters())
    for name in ("transformer.wte.weight", "transformer.h.0.attn.c_attn.weight", "transformer.h.1.mlp.c_fc.bias",
                 "transformer.ln_f.weight"):
        np.testing.assert_allclose(grads[name].grad, d[f"grad.{name}"], atol=1e-5)


def test_names_tying_and_init():
    model = tiny(n_layer=3)
    sd = model.state_dict()
    assert "lm_head.weight" in sd and sd["lm_head.weight"] is sd["transformer.wte.weight"]
    assert model.lm_head.weight is model.transformer.wte.weight
    proj = model.transformer.h[0].attn.c_proj.weight.numpy()
    assert abs(proj.std() - 0.02 / np.sqrt(6)) < 0.004
    assert np.all(model.transformer.h[0].attn.c_attn.bias.numpy() == 0)


def test_configure_optimizers_decays_only_matrices():
    model = tiny()
    opt = model.configure_optimizers(0.1, 1e-3, (0.9, 0.99))
    decay, no_decay = opt.param_groups
    assert decay["weight_decay"] == 0.1 and all(p.ndim >= 2 for p in decay["params"])
    assert no_decay["weight_decay"] == 0.0 and all(p.ndim < 2 for p in no_decay["params"])


def test_gradcheck_small_gpt():
    model = tiny(vocab_size=7, block_size=4, n_layer=1, n_head=2, n_embd=4).to(dtype=np.float64)
    idx, targets = R.integers(0, 7, (2, 4)), R.integers(0, 7, (2, 4))
    params = list(model.parameters())
    assert minilm.gradcheck(lambda *p: model(idx, targets)[1], params, mode="directional")
    assert minilm.gradcheck(lambda w: model(idx, targets)[1], [model.transformer.h[0].mlp.c_fc.weight])


def test_overfits_a_fixed_batch():
    model = tiny(vocab_size=20, block_size=16, n_embd=32)
    opt = model.configure_optimizers(0.0, 3e-3, (0.9, 0.99))
    seq = R.integers(0, 20, (4, 17))
    x, y = minilm.tensor(seq[:, :-1]), minilm.tensor(seq[:, 1:])
    for _ in range(200):
        _, loss = model(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.05


def test_kv_cache_gives_the_same_logits_as_a_full_forward():
    model = tiny(block_size=16).eval()
    idx = R.integers(0, 11, (2, 12))
    with minilm.no_grad():
        full, _ = model(idx)
        caches = model.new_caches()
        steps = [model(idx[:, :5], caches=caches)[0].numpy()]
        for t in range(5, 12):
            steps.append(model(idx[:, t:t + 1], caches=caches)[0].numpy())
    np.testing.assert_allclose(np.concatenate(steps, 1), full.numpy(), atol=1e-5)


def test_generate_greedy_sampling_and_long_outputs():
    model = tiny()
    prompt = np.array([[1, 2, 3]])
    a = model.generate(prompt, 20, temperature=0.8, top_k=5, top_p=0.9, seed=3)
    b = model.generate(prompt, 20, temperature=0.8, top_k=5, top_p=0.9, seed=3)
    assert a.shape == (1, 23) and np.array_equal(a, b) and np.array_equal(a[:, :3], prompt)
    greedy = model.generate(prompt, 3, temperature=0)
    with minilm.no_grad():
        first = model(prompt)[0].numpy()[0, -1].argmax()
    assert greedy[0, 3] == first
    assert model.training


def test_errors_name_the_problem():
    model = tiny()
    with pytest.raises(ValueError, match="length T=9.*block_size is 8.*crop"):
        model(np.zeros((1, 9), np.int64))
    with pytest.raises(IndexError, match="token id 11 is out of range for a vocabulary of size 11"):
        model(np.array([[1, 11]]))


def test_cached_generation_equals_recomputing_the_whole_sequence():
    """Greedy decoding with the KV cache picks the tokens a full forward over the prefix picks."""
    model = tiny(block_size=12)
    idx = np.array([[1, 2, 3], [4, 5, 6]])
    cached = model.generate(idx, 9, temperature=0)                # fills the block exactly: no crop
    naive = idx
    with minilm.no_grad():
        for _ in range(9):
            logits, _ = model.eval()(naive)
            naive = np.concatenate([naive, logits.numpy()[:, -1].argmax(-1)[:, None]], axis=1)
    np.testing.assert_array_equal(cached, naive)
    longer = model.generate(idx, 30, temperature=0)               # past block_size: the window restarts
    assert longer.shape == (2, 33) and np.array_equal(longer[:, :12], cached)
