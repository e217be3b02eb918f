"""GPT.from_pretrained / save_pretrained against folders written by transformers (fixtures/hf/).

The logits of fixtures/hf/logits.safetensors were computed by transformers on the same ids
(fixtures/make_hf_fixtures.py, which also checks that transformers loads what save_pretrained
writes). Here: minilm reads GPT-2 (float32, Conv1D), Llama with GQA tied (bfloat16) and untied
(float16, sharded), and refuses what it cannot compute exactly.
"""
import json
import os
import shutil

import numpy as np
import pytest

import minilm
from helpers import FIXTURES
from minilm.autograd import no_grad
from minilm.hf import read_safetensors
from minilm.models import GPT, GPTConfig

HF = os.path.join(FIXTURES, "hf")
LOGITS = minilm.load(os.path.join(HF, "logits.safetensors"))


def logits_of(model, ids=LOGITS["ids"]):
    with no_grad():
        return model(minilm.tensor(ids))[0].numpy()


@pytest.mark.parametrize("name", ["gpt2", "llama_tied", "llama_untied"])
def test_logits_equal_transformers(name):
    model = GPT.from_pretrained(os.path.join(HF, name))
    expected = LOGITS[name]
    error = np.abs(logits_of(model) - expected).max() / np.abs(expected).max()
    assert error < 1e-5, error


def test_configs_are_mapped():
    gpt2 = GPT.from_pretrained(os.path.join(HF, "gpt2")).config
    assert (gpt2.mlp, gpt2.norm, gpt2.pos, gpt2.tie_embeddings, gpt2.bias) == ("gelu_tanh", "layernorm", "learned", True, True)
    llama = GPT.from_pretrained(os.path.join(HF, "llama_untied")).config
    assert (llama.n_head, llama.n_kv_head, llama.rope_theta, llama.tie_embeddings) == (4, 2, 5000.0, False)
    assert (llama.norm, llama.pos, llama.mlp, llama.bias, llama.intermediate_size) == ("rmsnorm", "rope", "swiglu", False, 40)


def test_bfloat16_weights_decode_to_the_float32_values():
    stored = read_safetensors(os.path.join(HF, "llama_tied", "model.safetensors"))
    model = GPT.from_pretrained(os.path.join(HF, "llama_tied"))
    np.testing.assert_array_equal(model.transformer.wte.weight.numpy(), stored["model.embed_tokens.weight"])
    assert model.lm_head.weight is model.transformer.wte.weight                       # tied
    assert stored["model.embed_tokens.weight"].dtype == np.float32


@pytest.mark.parametrize("options", [dict(), dict(mlp="gelu_tanh", tie_embeddings=False),
                                     dict(norm="rmsnorm", pos="rope", mlp="swiglu", bias=False, n_kv_head=2),
                                     dict(norm="rmsnorm", pos="rope", mlp="swiglu", bias=True, n_kv_head=1,
                                          tie_embeddings=False)])
def test_save_pretrained_then_from_pretrained_is_the_same_model(tmp_path, options):
    minilm.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=30, block_size=12, n_layer=2, n_head=4, n_embd=16, **options))
    for p in model.parameters():
        p.data += np.random.default_rng(0).standard_normal(p.shape).astype(np.float32) * 0.1
    model.save_pretrained(tmp_path / "out")
    config = json.loads((tmp_path / "out" / "config.json").read_text())
    assert config["architectures"] == ["LlamaForCausalLM" if options.get("pos") == "rope" else "GPT2LMHeadModel"]
    again = GPT.from_pretrained(tmp_path / "out")
    ids = np.random.default_rng(1).integers(0, 30, (2, 12))
    np.testing.assert_allclose(logits_of(again, ids), logits_of(model, ids), rtol=1e-5, atol=1e-6)


def test_save_pretrained_refuses_to_overwrite_and_mixed_models(tmp_path):
    model = GPT(GPTConfig(vocab_size=10, block_size=8, n_layer=1, n_head=2, n_embd=8))
    model.save_pretrained(tmp_path)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        model.save_pretrained(tmp_path)
    model.save_pretrained(tmp_path, overwrite=True)
    mixed = GPT(GPTConfig(vocab_size=10, block_size=8, n_layer=1, n_head=2, n_embd=8, pos="rope"))
    with pytest.raises(ValueError, match="a mix that transformers has no architecture for"):
        mixed.save_pretrained(tmp_path / "mixed")


def copy_with_config(tmp_path, name, **changes):
    folder = tmp_path / name
    shutil.copytree(os.path.join(HF, name), folder)
    config = json.loads((folder / "config.json").read_text())
    config.update(changes)
    (folder / "config.json").write_text(json.dumps(config))
    return folder


@pytest.mark.parametrize("changes,message", [
    (dict(rope_scaling={"rope_type": "linear", "factor": 2.0}), "rope type 'linear'"),
    (dict(rope_parameters={"rope_type": "yarn", "rope_theta": 1e4, "factor": 4.0}), "rope type 'yarn'"),
    (dict(sliding_window=8), "sliding_window 8"),
    (dict(attention_bias=True), "attention_bias True with mlp_bias False"),
    (dict(hidden_act="gelu"), "hidden_act 'gelu'"),
    (dict(head_dim=16), "head_dim 16"),
    (dict(model_type="t5"), "GPT.from_pretrained reads 'gpt2', 'qwen3' and Llama-layout models"),
])
def test_unsupported_llama_configs_are_refused(tmp_path, changes, message):
    with pytest.raises(ValueError, match=message):
        GPT.from_pretrained(copy_with_config(tmp_path, "llama_tied", **changes))


def test_a_missing_field_and_a_pickle_only_folder_are_one_clear_error(tmp_path):
    folder = copy_with_config(tmp_path, "llama_tied")
    config = json.loads((folder / "config.json").read_text())
    del config["hidden_size"]
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="has no 'hidden_size'"):
        GPT.from_pretrained(folder)
    os.replace(folder / "model.safetensors", folder / "pytorch_model.bin")   # (bytes do not matter: never read)
    with pytest.raises(ValueError, match="a PyTorch pickle"):
        GPT.from_pretrained(folder)


def test_unsupported_gpt2_configs_are_refused(tmp_path):
    with pytest.raises(ValueError, match="scale_attn_by_inverse_layer_idx"):
        GPT.from_pretrained(copy_with_config(tmp_path / "a", "gpt2", scale_attn_by_inverse_layer_idx=True))
    with pytest.raises(ValueError, match="activation_function 'relu'"):
        GPT.from_pretrained(copy_with_config(tmp_path / "b", "gpt2", activation_function="relu"))


def test_weights_without_a_place_are_refused(tmp_path):
    """e.g. Qwen2's q/k/v biases under a Llama config: silently dropping them would be wrong."""
    from safetensors.numpy import save_file
    folder = copy_with_config(tmp_path, "llama_tied")
    weights = read_safetensors(folder / "model.safetensors")
    weights["model.layers.0.self_attn.q_proj.bias"] = np.ones(32, np.float32)
    save_file(weights, str(folder / "model.safetensors"))
    with pytest.raises(ValueError, match="q_proj.bias"):
        GPT.from_pretrained(folder)


def test_gpt2_without_the_transformer_prefix_with_mask_buffers_and_a_stored_tied_head(tmp_path):
    """As the hub's GPT2Model-era files are: h.0.attn.c_attn.weight, h.0.attn.bias (a causal mask)."""
    from safetensors.numpy import save_file
    folder = copy_with_config(tmp_path, "gpt2")
    weights = read_safetensors(folder / "model.safetensors")
    renamed = {name.removeprefix("transformer."): array for name, array in weights.items()}
    renamed["h.0.attn.bias"] = np.tril(np.ones((1, 1, 16, 16), np.float32))
    renamed["lm_head.weight"] = renamed["wte.weight"]
    save_file(renamed, str(folder / "model.safetensors"))
    error = np.abs(logits_of(GPT.from_pretrained(folder)) - LOGITS["gpt2"]).max() / np.abs(LOGITS["gpt2"]).max()
    assert error < 1e-5
    renamed["lm_head.weight"] = renamed["wte.weight"] + 1
    save_file(renamed, str(folder / "model.safetensors"))
    with pytest.raises(ValueError, match="lm_head.weight differs"):
        GPT.from_pretrained(folder)
