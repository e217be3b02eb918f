"""A GPT with qk_norm on Llama's blocks (the shakespeare-speedrun preset) is a Qwen3ForCausalLM.

fixtures/make_qwen3_fixtures.py wrote qwen3_minilm/ with minilm's save_pretrained and
qwen3_transformers/ with transformers, and transformers' logits of both on the same ids
(qwen3_logits.safetensors). Here: minilm computes those logits from both folders, writes the
committed export again byte for byte, and refuses a Qwen3 it cannot compute exactly.
"""
import json
import os
import shutil

import numpy as np
import pytest
from safetensors.numpy import save_file

import minilm
from helpers import FIXTURES
from minilm.autograd import no_grad
from minilm.hf import read_safetensors
from minilm.models import GPT, GPTConfig

HF = os.path.join(FIXTURES, "hf")
LOGITS = minilm.load(os.path.join(HF, "qwen3_logits.safetensors"))


def logits_of(model):
    with no_grad():
        return model(minilm.tensor(LOGITS["ids"]))[0].numpy()


@pytest.mark.parametrize("name", ["qwen3_minilm", "qwen3_transformers"])
def test_logits_equal_transformers_qwen3(name):
    model = GPT.from_pretrained(os.path.join(HF, name))
    assert model.config.qk_norm and (model.config.norm, model.config.pos, model.config.mlp) == ("rmsnorm", "rope", "swiglu")
    expected = LOGITS[name]
    assert np.abs(logits_of(model) - expected).max() / np.abs(expected).max() < 1e-5


def test_the_qk_norm_is_what_makes_the_logits_match():
    """The same weights without QK-norm compute other logits: the fixture tests the norm, not only Llama."""
    model = GPT.from_pretrained(os.path.join(HF, "qwen3_minilm"))
    model.config.qk_norm = False
    for block in model.transformer.h:
        block.attn.qk_norm = False
    expected = LOGITS["qwen3_minilm"]
    assert np.abs(logits_of(model) - expected).max() / np.abs(expected).max() > 1e-2


def test_export_writes_the_committed_folder_again(tmp_path):
    model = GPT.from_pretrained(os.path.join(HF, "qwen3_minilm"))
    model.save_pretrained(tmp_path / "again")
    committed = os.path.join(HF, "qwen3_minilm")
    assert json.loads((tmp_path / "again" / "config.json").read_text()) == \
        json.load(open(os.path.join(committed, "config.json")))
    written, expected = (read_safetensors(os.path.join(f, "model.safetensors")) for f in (tmp_path / "again", committed))
    assert sorted(written) == sorted(expected)
    assert all(np.array_equal(written[k], expected[k]) for k in expected)
    assert np.all(written["model.layers.1.self_attn.k_norm.weight"] == 1)


def test_a_qk_norm_model_with_biases_is_refused_in_one_line(tmp_path):
    model = GPT(GPTConfig(vocab_size=11, n_layer=1, n_head=2, n_embd=8, norm="rmsnorm", pos="rope", mlp="swiglu",
                          qk_norm=True, bias=True))
    with pytest.raises(ValueError, match="Qwen3 has no feed-forward biases.*--no-bias"):
        model.save_pretrained(str(tmp_path / "hf"))
    assert not (tmp_path / "hf").exists()


def copy_of(tmp_path, **changes):
    folder = tmp_path / "qwen3"
    shutil.copytree(os.path.join(HF, "qwen3_transformers"), folder)
    config = json.loads((folder / "config.json").read_text())
    config.update(changes)
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def test_learned_qk_norm_gains_are_refused(tmp_path):
    folder = copy_of(tmp_path)
    weights = read_safetensors(folder / "model.safetensors")
    weights["model.layers.1.self_attn.q_norm.weight"][0] = 1.5
    save_file(weights, str(folder / "model.safetensors"))
    with pytest.raises(ValueError, match="q_norm.weight is not all ones: minilm's QK-norm has no learned gain"):
        GPT.from_pretrained(folder)


@pytest.mark.parametrize("changes,message", [
    (dict(attention_bias=True), "attention_bias true"),
    (dict(layer_types=["full_attention", "sliding_attention"]), "layer_types \\['sliding_attention'\\]"),
    (dict(use_sliding_window=True, sliding_window=8), "sliding_window 8"),
])
def test_unsupported_qwen3_configs_are_refused(tmp_path, changes, message):
    with pytest.raises(ValueError, match=message):
        GPT.from_pretrained(copy_of(tmp_path, **changes))
