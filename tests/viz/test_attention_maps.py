"""attention_maps: the model's own attention probabilities, per layer and head."""
import numpy as np
import pytest

import minilm
from minilm.models import GPT, LSTMLM, GPTConfig, Seq2SeqTransformer
from minilm import autograd
from minilm.viz import attention_maps, attention_probabilities, plot_attention

IDX = np.array([3, 1, 4, 1, 5, 9, 2])


@pytest.fixture
def gpt():
    model = GPT(GPTConfig(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=8))
    for p in model.parameters():                      # larger weights: sharper, more varied maps
        p.data[...] = np.random.default_rng(1).normal(0, 0.5, p.shape)
    return model


def composed_from_q_and_k(model, idx):
    """softmax(q k^T / sqrt(hs)) + causal mask, from the model's own modules, layer by layer."""
    T, nh = len(idx), model.config.n_head
    x = model.transformer.wte(minilm.tensor(idx[None])) + model.transformer.wpe(minilm.tensor(np.arange(T)))
    maps = []
    for block in model.transformer.h:
        qkv = block.attn.c_attn(block.ln_1(x)).numpy()[0].astype(np.float64)      # (T, 3C)
        C = qkv.shape[1] // 3
        q = qkv[:, :C].reshape(T, nh, -1).transpose(1, 0, 2)                       # (nh, T, hs)
        k = qkv[:, C:2 * C].reshape(T, nh, -1).transpose(1, 0, 2)
        scores = q @ k.transpose(0, 2, 1) / np.sqrt(q.shape[-1])                   # (nh, T, T)
        scores[:, np.triu(np.ones((T, T), bool), 1)] = -np.inf
        p = np.exp(scores - scores.max(-1, keepdims=True))
        maps.append(p / p.sum(-1, keepdims=True))
        x = block(x)
    return np.stack(maps)


def test_rows_are_distributions_causal_and_equal_to_the_models_q_and_k(gpt):
    maps = attention_maps(gpt, IDX)
    assert maps.shape == (2, 2, len(IDX), len(IDX))
    np.testing.assert_allclose(maps.sum(-1), 1, atol=1e-5)
    assert np.all(maps[..., np.triu(np.ones((7, 7), bool), 1)] == 0)
    np.testing.assert_allclose(maps, composed_from_q_and_k(gpt, IDX), atol=1e-5)
    assert maps.std() > 0.05                                      # not uniform: the test has teeth
    np.testing.assert_array_equal(attention_maps(gpt, IDX[None]), maps)


def test_the_model_is_left_as_it_was(gpt):
    gpt.train()
    attention_maps(gpt, IDX)
    assert gpt.training and autograd.op_observer is None
    assert all(p.requires_grad for p in gpt.parameters()) and all(p.grad is None for p in gpt.parameters())


def test_encoder_decoder_attention_by_module():
    minilm.manual_seed(0)
    model = Seq2SeqTransformer(9, 9, d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1,
                               dim_feedforward=16)
    src, tgt = np.array([[1, 2, 3, 4, 5]]), np.array([[1, 6, 7]])
    found = attention_probabilities(model, src, tgt)
    assert list(found) == ["encoder.layers.0.self_attn", "decoder.layers.0.self_attn",
                           "decoder.layers.0.multihead_attn"]
    shapes = [p.shape[-2:] for p in found.values()]
    assert shapes == [(5, 5), (3, 3), (3, 5)]
    for p in found.values():
        np.testing.assert_allclose(p.sum(-1), 1, atol=1e-5)
    assert np.all(found["decoder.layers.0.self_attn"][..., np.triu(np.ones((3, 3), bool), 1)] == 0)


def test_clear_errors():
    with pytest.raises(ValueError, match="no attention"):
        attention_maps(LSTMLM(11, 8, 8, 1), IDX)
    with pytest.raises(ValueError, match=r"one sequence .* got shape \(2, 7\)"):
        attention_maps(GPT(GPTConfig(vocab_size=11, block_size=8, n_layer=1, n_head=2, n_embd=8)),
                       np.stack([IDX, IDX]))


def test_plot_has_a_heatmap_per_layer_and_head_and_a_colour_bar(gpt, tmp_path):
    pytest.importorskip("matplotlib")
    maps = attention_maps(gpt, IDX)
    figure = plot_attention(maps, list("abcdefg"), tmp_path / "att.png", heads=[1])
    heatmaps = [ax for ax in figure.axes if ax.images]
    assert [ax.get_title() for ax in heatmaps] == ["layer 0, head 1", "layer 1, head 1"]
    assert [t.get_text() for t in heatmaps[0].get_xticklabels()] == list("abcdefg")
    assert any(ax.get_ylabel() == "attention probability" for ax in figure.axes)      # the colour bar
    assert (tmp_path / "att.png").read_bytes().startswith(b"\x89PNG")


def test_shared_key_value_heads_frozen_weights_and_no_grad():
    """Grouped-query attention gives one map per query head; frozen weights and no_grad() change nothing."""
    model = GPT(GPTConfig(vocab_size=11, block_size=8, n_layer=2, n_head=4, n_kv_head=2, n_embd=16))
    want = attention_maps(model, IDX)
    for p in model.parameters():
        p.requires_grad = False
    with minilm.no_grad():
        got = attention_maps(model, IDX)
    assert got.shape == (2, 4, 7, 7) and minilm.autograd.is_grad_enabled()
    assert not any(p.requires_grad for p in model.parameters())
    np.testing.assert_array_equal(got, want)
